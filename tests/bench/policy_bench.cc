// Benchmark of tag selection (services/policy/select.h) over a generated,
// deterministic set of 1,000,000 tags, reporting ns per tag (the counter
// ns_per_tag, and items_per_second).
//
//   policy_bench [benchmark flags]        semver ranges, alphabetical,
//                                         numerical, filterTags+extract
//   policy_bench --range=R [--range=R2]   these semver ranges instead of
//                                         the default three
//   policy_bench --write_tags=FILE        writes the tag set, one a line
//   policy_bench --select=R               prints the tag the semver range R
//                                         selects from the tag set
//   policy_bench --tags=N ...             N tags instead of 1,000,000
//
// The tag set mixes what registries hold: versions with and without a
// leading "v", prereleases, build metadata, and tags that are not versions
// ("latest", "main-<sha>-<unix time>", "pr-<n>", dates, build numbers,
// "1.2", "1.0.0.1", "01.2.3"), in a shuffled order. Every version occurs
// once (no two tags have the same precedence), so every selection has one
// answer whatever the tie rule: tools/bench-policy.sh compares ours with
// semver-ref's.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "services/policy/select.h"
#include "tests/bench/bench_rng.h"

namespace ia::policy {
namespace {

using ::ia::bench::Rng;

std::string Hex(Rng& rng, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < digits; ++i) s.push_back(kHex[rng.Below(16)]);
  return s;
}

// A version tag for the j-th distinct version: 7 majors x 100 minors x 1000
// patches, written plain, with "v", with a prerelease or build metadata.
std::string VersionTag(uint64_t j, Rng& rng) {
  const uint64_t major = j / 100000;
  const uint64_t minor = (j / 1000) % 100;
  const uint64_t patch = j % 1000;
  std::string tag =
      absl::StrCat(rng.Below(4) == 0 ? "v" : "", major, ".", minor, ".", patch);
  const uint64_t form = rng.Below(100);
  if (form < 65) return tag;  // a release
  if (form < 75) return absl::StrCat(tag, "-rc.", 1 + rng.Below(20));
  if (form < 80) return absl::StrCat(tag, "-beta.", 1 + rng.Below(9));
  if (form < 83) return absl::StrCat(tag, "-alpha");
  if (form < 86) return absl::StrCat(tag, "-rc", 1 + rng.Below(12));
  if (form < 94) return absl::StrCat(tag, "+build.", rng.Below(100000));
  if (form < 97) return absl::StrCat(tag, "+sha.", Hex(rng, 7));
  return absl::StrCat(tag, "-rc.", 1 + rng.Below(5), "+b", rng.Below(1000));
}

// The i-th tag that is not a version (i makes each one distinct).
std::string OtherTag(uint64_t i, Rng& rng) {
  const uint64_t kind = rng.Below(100);
  if (kind < 40) {
    return absl::StrCat("main-", Hex(rng, 7), "-", 1700000000 + i * 37);
  }
  if (kind < 50) return absl::StrCat("pr-", i, "-", Hex(rng, 7));
  if (kind < 62) {
    // A date and time, e.g. 20240315-142301.
    const uint64_t day = i % 3650;
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%04d%02d%02d-%06d",
                  static_cast<int>(2015 + day / 365),
                  static_cast<int>(1 + (day % 365) / 31 % 12),
                  static_cast<int>(1 + day % 28),
                  static_cast<int>(i % 1000000));
    return buf;
  }
  if (kind < 80) return absl::StrCat(i);               // a build number
  if (kind < 85) return absl::StrCat(i % 50, ".", i);  // "1.2": not a version
  if (kind < 90) return absl::StrCat("1.0.", i % 100, ".", i);
  if (kind < 93) return absl::StrCat("0", 1 + i % 9, ".2.", i);
  return absl::StrCat("sha-", Hex(rng, 12), "-", i);
}

// The benchmark's tag set: 70% versions, 30% other tags, shuffled.
std::vector<std::string> MakeTags(size_t n) {
  Rng rng(20240601);
  std::vector<std::string> tags;
  tags.reserve(n);
  for (const char* t : {"latest", "main", "stable", "edge", "dev"}) {
    if (tags.size() < n) tags.push_back(t);
  }
  const size_t versions = n * 7 / 10;
  // Distinct versions spread over the whole space (a multiplier coprime to
  // 700000 makes j -> j*k mod 700000 a permutation).
  for (size_t j = 0; j < versions && tags.size() < n; ++j) {
    tags.push_back(VersionTag((j * 3571) % 700000, rng));
  }
  for (uint64_t i = 0; tags.size() < n; ++i) tags.push_back(OtherTag(i, rng));
  for (size_t i = tags.size(); i > 1; --i) {
    std::swap(tags[i - 1], tags[rng.Below(i)]);
  }
  // Copied in their final order, as the policy service copies a tag set's
  // names (read from the wire in order) before each selection: the heap
  // blocks of long tags then follow the list, as they would there.
  return std::vector<std::string>(tags.begin(), tags.end());
}

size_t g_tag_count = 1000000;

const std::vector<std::string>& Tags() {
  static const std::vector<std::string>* const kTags =
      new std::vector<std::string>(MakeTags(g_tag_count));
  return *kTags;
}

// The tags that parse as numbers (what a numerical policy without a filter
// can select from).
const std::vector<std::string>& NumericTags() {
  static const std::vector<std::string>* const kTags = [] {
    auto* tags = new std::vector<std::string>();
    for (const std::string& t : Tags()) {
      if (ParseGoFloat(t).has_value()) tags->push_back(t);
    }
    return tags;
  }();
  return *kTags;
}

v1::ImagePolicySpec SemverSpec(const std::string& range) {
  v1::ImagePolicySpec spec;
  spec.mutable_policy()->mutable_semver()->set_range(range);
  return spec;
}

// Times Select of `spec` over `tags`; ns_per_tag and items/s per tag.
void RunSelect(benchmark::State& state, const v1::ImagePolicySpec& spec,
               const std::vector<std::string>* tags) {
  absl::StatusOr<CompiledPolicy> policy = CompiledPolicy::Compile(spec);
  if (!policy.ok()) {
    state.SkipWithError(std::string(policy.status().message()).c_str());
    return;
  }
  std::string selected;
  for (auto _ : state) {
    absl::StatusOr<std::string> tag = policy->Select(*tags);
    if (!tag.ok()) {
      state.SkipWithError(std::string(tag.status().message()).c_str());
      return;
    }
    selected = *std::move(tag);
    benchmark::DoNotOptimize(selected);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(tags->size()));
  state.counters["ns_per_tag"] =
      benchmark::Counter(static_cast<double>(tags->size()),
                         benchmark::Counter::kIsIterationInvariantRate |
                             benchmark::Counter::kInvert);
  state.SetLabel(absl::StrCat(tags->size(), " tags -> ", selected));
}

void RegisterAll(const std::vector<std::string>& ranges) {
  for (const std::string& range : ranges) {
    benchmark::RegisterBenchmark(absl::StrCat("Semver/", range).c_str(),
                                 [range](benchmark::State& state) {
                                   RunSelect(state, SemverSpec(range), &Tags());
                                 })
        ->Unit(benchmark::kMillisecond);
  }
  v1::ImagePolicySpec alpha;
  alpha.mutable_policy()->mutable_alphabetical()->set_order("asc");
  benchmark::RegisterBenchmark(
      "Alphabetical/asc",
      [alpha](benchmark::State& state) { RunSelect(state, alpha, &Tags()); })
      ->Unit(benchmark::kMillisecond);

  v1::ImagePolicySpec numeric;
  numeric.mutable_policy()->mutable_numerical()->set_order("asc");
  benchmark::RegisterBenchmark("Numerical/asc/numeric-subset",
                               [numeric](benchmark::State& state) {
                                 RunSelect(state, numeric, &NumericTags());
                               })
      ->Unit(benchmark::kMillisecond);

  // Flux's documented pattern: order main-<sha>-<timestamp> builds by time.
  v1::ImagePolicySpec extract = numeric;
  extract.mutable_filter_tags()->set_pattern(
      "^main-[a-fA-F0-9]+-(?P<ts>[0-9]+)$");
  extract.mutable_filter_tags()->set_extract("$ts");
  benchmark::RegisterBenchmark("FilterExtract/numerical/main-sha-ts",
                               [extract](benchmark::State& state) {
                                 RunSelect(state, extract, &Tags());
                               })
      ->Unit(benchmark::kMillisecond);

  v1::ImagePolicySpec dates = alpha;
  dates.mutable_filter_tags()->set_pattern("^([0-9]{8})-([0-9]{6})$");
  dates.mutable_filter_tags()->set_extract("$1$2");
  benchmark::RegisterBenchmark(
      "FilterExtract/alphabetical/date-time",
      [dates](benchmark::State& state) { RunSelect(state, dates, &Tags()); })
      ->Unit(benchmark::kMillisecond);

  v1::ImagePolicySpec filtered = SemverSpec(">=1.0.0");
  filtered.mutable_filter_tags()->set_pattern("^v(.*)$");
  filtered.mutable_filter_tags()->set_extract("$1");
  benchmark::RegisterBenchmark("FilterExtract/semver/v-prefixed",
                               [filtered](benchmark::State& state) {
                                 RunSelect(state, filtered, &Tags());
                               })
      ->Unit(benchmark::kMillisecond);
}

// Returns the value of `--name=value` in arg, or nullptr.
const char* FlagValue(const char* arg, const char* name) {
  const size_t n = std::strlen(name);
  if (std::strncmp(arg, "--", 2) != 0 || std::strncmp(arg + 2, name, n) != 0 ||
      arg[2 + n] != '=') {
    return nullptr;
  }
  return arg + 3 + n;
}

int Main(int argc, char** argv) {
  std::vector<std::string> ranges;
  std::string write_tags;
  std::string select;
  bool has_select = false;
  // Our flags out, the rest left for Google Benchmark.
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (const char* v = FlagValue(argv[i], "range")) {
      ranges.emplace_back(v);
    } else if (const char* v = FlagValue(argv[i], "write_tags")) {
      write_tags = v;
    } else if (const char* v = FlagValue(argv[i], "select")) {
      select = v;
      has_select = true;
    } else if (const char* v = FlagValue(argv[i], "tags")) {
      g_tag_count = std::strtoull(v, nullptr, 10);
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;

  if (!write_tags.empty()) {
    std::ofstream out(write_tags, std::ios::trunc);
    for (const std::string& t : Tags()) out << t << '\n';
    out.close();
    if (!out) {
      std::cerr << "policy_bench: cannot write " << write_tags << "\n";
      return 1;
    }
    return 0;
  }
  if (has_select) {
    absl::StatusOr<std::string> tag = SelectTag(SemverSpec(select), Tags());
    if (!tag.ok()) {
      std::cout << "<none>\n";
      std::cerr << "policy_bench: " << tag.status().message() << "\n";
      return tag.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
    }
    std::cout << *tag << "\n";
    return 0;
  }

  if (ranges.empty()) {
    ranges = {">=1.0.0 <2.0.0", "^1.2", "~1.2.3 || >=3.0.0-rc.1"};
  }
  RegisterAll(ranges);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  Tags();  // generated before any timing
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace
}  // namespace ia::policy

int main(int argc, char** argv) { return ia::policy::Main(argc, argv); }
