// GET /metrics on the real binaries: each service serves the Prometheus text
// format with its metric names (and the process metrics) from the start, and
// the counters move as the services work: a scan of a fake registry (one
// repository found, one missing), the policy's selection, the automation's
// commit and push to a file:// remote, the streams between the services, and
// the tag count of a deleted repository going away.

#include <chrono>
#include <functional>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "imageautomation/v1/reflector.grpc.pb.h"
#include "tests/support/fake_registry.h"
#include "tests/support/git_server.h"
#include "tests/support/harness.h"

namespace ia::testing {
namespace {

namespace v1 = ::imageautomation::v1;
using ::testing::HasSubstr;
using ::testing::Not;

// The value of the sample `series` (name and labels exactly as rendered,
// e.g. `ia_scans_total{result="success"}`), or -1 when absent.
double Sample(const std::string& text, absl::string_view series) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    double value = 0;
    if (absl::ConsumePrefix(&line, series) && absl::ConsumePrefix(&line, " ") &&
        absl::SimpleAtod(line, &value)) {
      return value;
    }
  }
  return -1;
}

// Checks the shape of the text format: HELP then TYPE once per family,
// every sample "name[{labels}] value" of a declared family.
void ExpectWellFormed(const std::string& text) {
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  std::set<std::string> typed;
  std::string current;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::ConsumePrefix(&line, "# HELP ")) {
      current = std::string(line.substr(0, line.find(' ')));
      continue;
    }
    if (absl::ConsumePrefix(&line, "# TYPE ")) {
      std::vector<std::string> parts = absl::StrSplit(line, ' ');
      ASSERT_EQ(parts.size(), 2u) << line;
      EXPECT_EQ(parts[0], current) << "TYPE without its HELP";
      EXPECT_TRUE(typed.insert(parts[0]).second) << parts[0] << " twice";
      EXPECT_THAT((std::vector<std::string>{"counter", "gauge", "histogram"}),
                  ::testing::Contains(parts[1]));
      continue;
    }
    const size_t space = line.rfind(' ');
    ASSERT_NE(space, absl::string_view::npos) << line;
    const absl::string_view series = line.substr(0, space);
    const absl::string_view value = line.substr(space + 1);
    double number = 0;
    EXPECT_TRUE(absl::SimpleAtod(value, &number) || value == "+Inf" ||
                value == "NaN")
        << line;
    const std::string name(series.substr(0, series.find('{')));
    EXPECT_TRUE(absl::StartsWith(name, current))
        << line << " outside " << current;
    if (series.find('{') != absl::string_view::npos) {
      EXPECT_EQ(series.back(), '}') << line;
    }
  }
}

// A service with --http-listen on a port of its own.
struct HttpService {
  HttpService(const std::string& binary, const TempDir& dir,
              const std::string& name, std::vector<std::string> extra) {
    do {
      http_port = FreePort();
      std::vector<std::string> flags = extra;
      flags.push_back(absl::StrCat("--http-listen=127.0.0.1:", http_port));
      service = std::make_unique<Service>(
          ServiceOptions{binary, dir.Join(name + "-data"), flags},
          dir.Join(name + ".log"));
    } while (absl::EndsWith(service->address(), absl::StrCat(":", http_port)));
  }
  std::string Metrics() const { return HttpGet(http_port, "/metrics").body; }

  int http_port = 0;
  std::unique_ptr<Service> service;
};

const std::vector<std::string> kCommonNames = {
    "ia_reconcile_total",           "ia_reconcile_duration_seconds",
    "ia_workqueue_depth",           "ia_store_errors_total",
    "process_cpu_seconds_total",    "process_resident_memory_bytes",
    "process_virtual_memory_bytes", "process_open_fds",
    "process_start_time_seconds"};

void ExpectNames(const std::string& text,
                 const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    EXPECT_THAT(text, HasSubstr("\n# TYPE " + name + " ")) << name;
  }
}

TEST(Metrics, EveryServiceServesItsMetricsFromTheStart) {
  TempDir dir;
  // The policy service's peers: addresses where nothing listens.
  const std::string nowhere = absl::StrCat("127.0.0.1:", FreePort());
  struct Case {
    std::string binary;
    std::string name;
    std::vector<std::string> extra;
    std::vector<std::string> names;
  };
  const std::vector<Case> cases = {
      {IA_REFLECTOR_BIN,
       "reflector",
       {},
       {"ia_scans_total", "ia_scan_duration_seconds",
        "ia_registry_requests_total", "ia_tags_stored",
        "ia_stream_subscribers"}},
      {IA_POLICY_BIN,
       "policy",
       {"--reflector=" + nowhere, "--automation=" + nowhere},
       {"ia_selections_total", "ia_stream_subscribers"}},
      {IA_AUTOMATION_BIN,
       "automation",
       {},
       {"ia_automation_runs_total", "ia_git_commits_total",
        "ia_git_pushes_total", "ia_git_push_attempts_total"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    HttpService s(c.binary, dir, c.name, c.extra);
    ASSERT_TRUE(s.service->Start().ok()) << s.service->Log();
    HttpReply reply;
    ASSERT_TRUE(Eventually([&] {
      reply = HttpGet(s.http_port, "/metrics");
      return reply.status != 0;
    }));
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.content_type, "text/plain; version=0.0.4; charset=utf-8");
    ExpectWellFormed(reply.body);
    ExpectNames(reply.body, kCommonNames);
    ExpectNames(reply.body, c.names);
    EXPECT_GT(Sample(reply.body, "process_resident_memory_bytes"), 0);
    EXPECT_EQ(HttpGet(s.http_port, "/healthz").status, 200);
    EXPECT_EQ(HttpGet(s.http_port, "/readyz").status, 200);
    EXPECT_EQ(s.service->Terminate(), 0);
  }
}

TEST(Metrics, CountersMoveAsTheServicesWork) {
  TempDir dir;
  FakeRegistry registry;
  ASSERT_TRUE(registry.Start().ok());
  registry.SetTags("team/app", {"1.0.0", "1.1.0", "0.9.0"});
  const std::string image = registry.host() + "/team/app";

  auto remote = BareRepo::Create(dir.Join("fleet.git"));
  ASSERT_TRUE(remote.ok()) << remote.status();
  ASSERT_TRUE(
      remote
          ->Commit("main",
                   {{"apps/app.yaml",
                     "image: " + image +
                         ":1.0.0 # {\"$imagepolicy\": \"flux-system:app\"}\n"}})
          .ok());

  dir.WriteFile(
      "manifests/objects.yaml",
      absl::StrCat(R"(apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {name: app, namespace: flux-system}
spec: {image: ")",
                   image, R"(", interval: 1h, insecure: true}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {name: gone, namespace: flux-system}
spec: {image: ")",
                   registry.host(),
                   R"(/team/gone", interval: 1h, insecure: true}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: app, namespace: flux-system}
spec:
  imageRepositoryRef: {name: app}
  policy: {semver: {range: ">=1.0.0"}}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: fleet, namespace: flux-system}
spec: {url: ")",
                   remote->FileUrl(), R"(", interval: 1h, ref: {branch: main}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata: {name: fleet, namespace: flux-system}
spec:
  interval: 1h
  sourceRef: {kind: GitRepository, name: fleet}
  git:
    checkout: {ref: {branch: main}}
    commit: {author: {name: bot, email: bot@example.com}}
    push: {branch: main}
  update: {path: ./apps, strategy: Setters}
)"));
  const std::string manifests = "--manifests=" + dir.Join("manifests");

  HttpService automation(IA_AUTOMATION_BIN, dir, "automation", {manifests});
  ASSERT_TRUE(automation.service->Start().ok()) << automation.service->Log();
  HttpService reflector(IA_REFLECTOR_BIN, dir, "reflector", {manifests});
  ASSERT_TRUE(reflector.service->Start().ok()) << reflector.service->Log();
  HttpService policy(IA_POLICY_BIN, dir, "policy",
                     {manifests, "--reflector=" + reflector.service->address(),
                      "--automation=" + automation.service->address()});
  ASSERT_TRUE(policy.service->Start().ok()) << policy.service->Log();

  // The reflector: one good scan, one of a repository the registry lacks.
  std::string text;
  EXPECT_TRUE(Eventually([&] {
    text = reflector.Metrics();
    return Sample(text, R"(ia_scans_total{result="success"})") >= 1 &&
           Sample(text, R"(ia_scans_total{result="not_found"})") >= 1;
  })) << text;
  ExpectWellFormed(text);
  EXPECT_GE(Sample(text, "ia_scan_duration_seconds_count"), 2);
  EXPECT_EQ(Sample(text, R"(ia_scan_duration_seconds_bucket{le="+Inf"})"),
            Sample(text, "ia_scan_duration_seconds_count"));
  EXPECT_GE(
      Sample(text, R"(ia_registry_requests_total{code="2xx",result="ok"})"), 1);
  EXPECT_GE(
      Sample(text,
             R"(ia_registry_requests_total{code="4xx",result="not_found"})"),
      1);
  EXPECT_EQ(
      Sample(text, R"(ia_tags_stored{namespace="flux-system",name="app"})"), 3);
  EXPECT_GE(
      Sample(
          text,
          R"(ia_reconcile_total{controller="imagerepository",result="requeue_after"})"),
      2);
  EXPECT_GE(
      Sample(
          text,
          R"(ia_reconcile_duration_seconds_count{controller="imagerepository"})"),
      2);
  EXPECT_GE(Sample(text, R"(ia_workqueue_depth{controller="imagerepository"})"),
            0);
  // The policy service watches the tag sets.
  EXPECT_TRUE(Eventually([&] {
    text = reflector.Metrics();
    return Sample(text, R"(ia_stream_subscribers{feed="tag_sets"})") == 1;
  })) << text;

  // The policy: one selection published, and its publisher subscribed to
  // the selections.
  EXPECT_TRUE(Eventually([&] {
    text = policy.Metrics();
    return Sample(text, R"(ia_selections_total{result="changed"})") >= 1 &&
           Sample(text, R"(ia_stream_subscribers{feed="selections"})") == 1;
  })) << text;
  ExpectWellFormed(text);
  EXPECT_GE(
      Sample(
          text,
          R"(ia_reconcile_total{controller="imagepolicy",result="success"})"),
      1);

  // The automation: the run that committed 1.1.0 and pushed it.
  EXPECT_TRUE(Eventually([&] {
    text = automation.Metrics();
    return Sample(text, "ia_git_commits_total") >= 1;
  })) << text
      << automation.service->Log();
  ExpectWellFormed(text);
  EXPECT_EQ(Sample(text, "ia_git_commits_total"), 1);
  EXPECT_EQ(Sample(text, R"(ia_git_pushes_total{result="success"})"), 1);
  EXPECT_EQ(Sample(text, R"(ia_git_pushes_total{result="failure"})"), -1);
  EXPECT_GE(Sample(text, "ia_git_push_attempts_total"), 1);
  EXPECT_GE(Sample(text, R"(ia_automation_runs_total{result="success"})"), 1);
  auto pushed = remote->ReadFile("main", "apps/app.yaml");
  ASSERT_TRUE(pushed.ok());
  EXPECT_THAT(*pushed, HasSubstr(image + ":1.1.0"));

  // A deleted repository's tag count goes with it.
  auto stub = v1::Reflector::NewStub(reflector.service->Channel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(60));
  v1::ObjectKey key;
  key.set_namespace_("flux-system");
  key.set_name("app");
  v1::DeleteResponse deleted;
  ASSERT_TRUE(stub->DeleteImageRepository(&context, key, &deleted).ok());
  EXPECT_TRUE(Eventually([&] {
    text = reflector.Metrics();
    return !absl::StrContains(
        text, R"(ia_tags_stored{namespace="flux-system",name="app"})");
  })) << text;
  EXPECT_THAT(text, Not(HasSubstr("ia_tags_stored{")));

  if (HasFailure()) {
    std::cerr << "--- reflector log:\n"
              << reflector.service->Log() << "--- policy log:\n"
              << policy.service->Log() << "--- automation log:\n"
              << automation.service->Log();
  }
}

}  // namespace
}  // namespace ia::testing
