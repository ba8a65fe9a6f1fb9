// bench_fake_registry: the FakeRegistry of tests/support serving
// --repositories x --tags generated tags over the real tags/list protocol
// (?n= and Link pagination), for tools/bench-reflector.sh. Not a test.
//
//   bench_fake_registry --repositories=1000 --tags=1000 [--max_page_size=N]
//                       [--urls_file=FILE --page_size=N]
//
// Repositories are bench/repo-0000, bench/repo-0001, ...; each serves the
// same tag names in the same order: half semver ("1.4.17"), half CI style
// ("main-1a2b3c4-1700000123"). Anonymous access.
//
// Prints "port N" on stdout once it serves. On SIGUSR1 it prints
// "stats requests=R connections=C" (totals since start); on SIGTERM or
// SIGINT it prints the same line and exits 0.
//
// With --urls_file it writes, before serving, one curl config entry
// (url + output /dev/null) for every page a client asking ?n=page-size
// fetches, with the same last= values the Link headers carry, so that curl
// can fetch exactly the pages a scan fetches.
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tests/support/fake_registry.h"

ABSL_FLAG(int, repositories, 1000, "how many repositories to serve");
ABSL_FLAG(int, tags, 1000, "tags per repository");
ABSL_FLAG(int, max_page_size, 0,
          "the server's own cap on tags per page (0: only ?n= limits a page)");
ABSL_FLAG(std::string, urls_file, "",
          "write a curl config listing every page URL of a scan with "
          "--page-size to this file");
ABSL_FLAG(int, page_size, 1000, "the ?n= of the URLs in --urls-file");

namespace {

std::string RepositoryName(int i) {
  return absl::StrFormat("bench/repo-%04d", i);
}

std::vector<std::string> TagNames(int count) {
  std::vector<std::string> tags;
  tags.reserve(count);
  for (int i = 0; i < count; ++i) {
    if (i % 2 == 0) {
      tags.push_back(absl::StrCat(i / 200, ".", (i / 20) % 10, ".", i % 20));
    } else {
      tags.push_back(absl::StrFormat(
          "main-%07x-%d", (i * 2654435761u) & 0xfffffff, 1700000000 + i * 37));
    }
  }
  return tags;
}

bool WriteUrls(const std::string& path, const std::string& base_url,
               int repositories, const std::vector<std::string>& tags,
               int page_size) {
  std::ofstream out(path);
  for (int r = 0; r < repositories; ++r) {
    const std::string prefix = absl::StrCat(base_url, "/v2/", RepositoryName(r),
                                            "/tags/list?n=", page_size);
    for (size_t start = 0; start == 0 || start < tags.size();
         start += page_size) {
      out << "url = \"" << prefix;
      if (start > 0) out << "&last=" << tags[start - 1];
      out << "\"\noutput = \"/dev/null\"\n";
    }
  }
  out.close();
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Serves generated repositories and tags over the registry tags/list "
      "protocol for tools/bench-reflector.sh.");
  absl::ParseCommandLine(argc, argv);
  const int repositories = absl::GetFlag(FLAGS_repositories);
  const int tag_count = absl::GetFlag(FLAGS_tags);
  const int page_size = absl::GetFlag(FLAGS_page_size);
  if (repositories < 1 || tag_count < 1 || page_size < 1) {
    std::cerr << "bench_fake_registry: --repositories, --tags and --page-size "
                 "must be positive\n";
    return 2;
  }

  // Signals are taken by sigwait below; the server's threads inherit the
  // mask and never see them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGUSR1);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  ia::testing::FakeRegistry registry;
  const std::vector<std::string> tags = TagNames(tag_count);
  for (int r = 0; r < repositories; ++r)
    registry.SetTags(RepositoryName(r), tags);
  registry.SetMaxPageSize(absl::GetFlag(FLAGS_max_page_size));
  if (absl::Status s = registry.Start(); !s.ok()) {
    std::cerr << "bench_fake_registry: " << s << "\n";
    return 1;
  }
  if (const std::string path = absl::GetFlag(FLAGS_urls_file); !path.empty()) {
    if (!WriteUrls(path, registry.url(), repositories, tags, page_size)) {
      std::cerr << "bench_fake_registry: cannot write " << path << "\n";
      return 1;
    }
  }
  std::cout << "port " << registry.port() << std::endl;

  const auto print_stats = [&registry] {
    std::cout << "stats requests=" << registry.TotalRequests()
              << " connections=" << registry.Connections() << std::endl;
  };
  while (true) {
    int signal = 0;
    if (sigwait(&signals, &signal) != 0) continue;
    print_stats();
    if (signal != SIGUSR1) break;
  }
  registry.Stop();
  return 0;
}
