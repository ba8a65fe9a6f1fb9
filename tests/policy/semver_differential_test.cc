// Differential test of the semver engine against semver-ref, the reference
// selection built on Masterminds/semver (shared/tools/semver-ref). The
// binary's path comes from the SEMVER_REF environment variable; without it
// the test is skipped.
//
// Generated tags (strict and loose, equal versions spelled differently, in
// descending, ascending and shuffled order) and ranges (fixed seed) are run
// through both; every answer must agree, except where the documented
// Masterminds 3.2-vs-3.4 prerelease rule explains it (semver-ref is built
// on 3.2; we follow 3.4): such cases must then agree with our engine run under
// the 3.2 rule.
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/semver.h"
#include "gtest/gtest.h"
#include "services/policy/select.h"

namespace ia::policy {
namespace {

constexpr char kInvalid[] = "<invalid range>";
constexpr char kNone[] = "<none>";

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// Runs semver-ref over `tags`; its one line of output.
std::string RunReference(const std::string& ref, const std::string& range,
                         const std::vector<std::string>& tags,
                         const std::string& tags_file) {
  {
    std::ofstream f(tags_file, std::ios::trunc);
    for (const std::string& t : tags) f << t << "\n";
  }
  const std::string cmd =
      absl::StrCat(ShellQuote(ref), " -- ", ShellQuote(range), " < ",
                   ShellQuote(tags_file), " 2>/dev/null");
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return "<popen failed>";
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) {
    out.pop_back();
  }
  return out;
}

// Our selection under `rule`, in semver-ref's words: the highest version
// in the range, the first of equal versions in input order.
std::string Ours(const std::string& range, const std::vector<std::string>& tags,
                 PrereleaseRule rule) {
  absl::StatusOr<SemverRange> r = SemverRange::Parse(range);
  if (!r.ok()) return kInvalid;
  std::optional<Version> best;
  const std::string* best_tag = nullptr;
  for (const std::string& t : tags) {
    std::optional<Version> v = ParseTagVersion(t);
    if (!v.has_value() || !r->Contains(*v, rule)) continue;
    if (!best.has_value() || CompareVersions(*v, *best) > 0) {
      best = std::move(v);
      best_tag = &t;
    }
  }
  return best_tag == nullptr ? kNone : *best_tag;
}

class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  int Int(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(Int(static_cast<int>(v.size())))];
  }

  std::string Tag() {
    static const std::vector<std::string> kPre = {
        "alpha",   "alpha.1", "alpha.2", "beta", "beta.2", "rc.1",
        "rc.10",   "rc9",     "rc10",    "0",    "1",      "2",
        "alpha-1", "x.7.z",   "1.a",     "a.1.b"};
    static const std::vector<std::string> kBuild = {"build.1", "sha.5114f85",
                                                    "001", "exp-1"};
    static const std::vector<std::string> kOdd = {"latest",
                                                  "1.2",
                                                  "1",
                                                  "01.2.3",
                                                  "1.02.3",
                                                  "1.0.0.1",
                                                  "vv1.0.0",
                                                  "V1.0.0",
                                                  "1.2.3-",
                                                  "1.2.3-01",
                                                  "1.2.3+",
                                                  "1.2.3-a..b",
                                                  "1.2.3-a.",
                                                  "1.2.3 ",
                                                  " 1.2.3",
                                                  "1.2.3-rc.1+b+c",
                                                  "1.2.x",
                                                  "*",
                                                  "",
                                                  "18446744073709551615.0.0",
                                                  "18446744073709551616.0.0",
                                                  "1.0.0-99999999999999999999",
                                                  "1.0.0-99999999999999999998",
                                                  "1.0.0-\xc3\xa9",
                                                  "main-abc123",
                                                  "v",
                                                  "1.-2.3",
                                                  "1.2.3_4"};
    if (Int(12) == 0) return Pick(kOdd);
    if (Int(5) == 0) return LooseTag();
    std::string t = Int(4) == 0 ? "v" : "";
    absl::StrAppend(&t, Int(4), ".", Int(4), ".", Int(4));
    if (Int(3) == 0) absl::StrAppend(&t, "-", Pick(kPre));
    if (Int(6) == 0) absl::StrAppend(&t, "+", Pick(kBuild));
    return t;
  }

  // What Flux v1.2 reads loosely, and its near misses: leading zeros,
  // one or two numeric parts with the remaining dots in the prerelease or
  // build, four numeric parts.
  std::string LooseTag() {
    static const std::vector<std::string> kPre = {
        "rc.1", "rc1", "beta.5", "a.b.c", "0", "01", "1.2", "x", "rc.01"};
    static const std::vector<std::string> kBuild = {"3.4", "b", "001", "a.b"};
    auto number = [this]() {
      std::string n = Int(3) == 0 ? std::string(1 + Int(2), '0') : "";
      absl::StrAppend(&n, Int(4));
      return n;
    };
    std::string t = Int(3) == 0 ? "v" : "";
    const int parts = 1 + Int(4);
    for (int i = 0; i < parts; ++i) {
      if (i > 0) t += ".";
      t += number();
    }
    if (Int(2) == 0) absl::StrAppend(&t, "-", Pick(kPre));
    if (Int(4) == 0) absl::StrAppend(&t, "+", Pick(kBuild));
    return t;
  }

  // Spellings of one version that Flux reads as equal: with or without
  // "v", leading zeros, a missing patch, different build metadata.
  std::vector<std::string> EqualSpellings() {
    const int major = Int(4);
    const int minor = Int(4);
    const std::string pre = Int(2) == 0 ? "" : "-rc.1";
    std::vector<std::string> out = {
        absl::StrCat(major, ".", minor, ".0", pre),
        absl::StrCat("v", major, ".", minor, ".0", pre),
        absl::StrCat("0", major, ".0", minor, ".00", pre),
        absl::StrCat(major, ".", minor, ".0", pre, "+b.1"),
        absl::StrCat(major, ".", minor, ".0", pre, "+b.2"),
    };
    if (!pre.empty()) out.push_back(absl::StrCat(major, ".", minor, pre));
    std::shuffle(out.begin(), out.end(), rng_);
    out.resize(static_cast<size_t>(2 + Int(static_cast<int>(out.size()) - 1)));
    return out;
  }

  template <typename T>
  void Shuffle(std::vector<T>* v) {
    std::shuffle(v->begin(), v->end(), rng_);
  }

  std::string PartialVersion() {
    static const std::vector<std::string> kWild = {"x", "X", "*"};
    std::string v = Int(8) == 0 ? "v" : "";
    const int parts = 1 + Int(3);
    for (int i = 0; i < parts; ++i) {
      if (i > 0) v += ".";
      if (Int(6) == 0) {
        v += Pick(kWild);
      } else {
        absl::StrAppend(&v, Int(4));
      }
    }
    if (Int(5) == 0) {
      static const std::vector<std::string> kPre = {"0", "alpha", "rc.1",
                                                    "beta.2", "rc9"};
      absl::StrAppend(&v, "-", Pick(kPre));
    }
    if (Int(15) == 0) v += "+meta";
    return v;
  }

  std::string Comparator() {
    static const std::vector<std::string> kOps = {
        "", "=", "!=", ">", "<", ">=", "<=", "=>", "=<", "~", "~>", "^"};
    std::string c = Pick(kOps);
    if (!c.empty() && Int(4) == 0) c += " ";
    return c + PartialVersion();
  }

  std::string AndGroup() {
    if (Int(8) == 0) {
      return absl::StrCat(PartialVersion(), " - ", PartialVersion());
    }
    static const std::vector<std::string> kAnd = {" ", ", ", ",", "  ", " , "};
    std::string g = Comparator();
    const int more = Int(3);
    for (int i = 0; i < more; ++i) g += Pick(kAnd) + Comparator();
    return g;
  }

  std::string Range() {
    static const std::vector<std::string> kOdd = {"",
                                                  " ",
                                                  ">=",
                                                  "1.2.3.4",
                                                  ">1<2",
                                                  "1 - ",
                                                  "==1",
                                                  "a",
                                                  ">=1.0,",
                                                  "||",
                                                  "1||",
                                                  "x.|",
                                                  "1.|",
                                                  "1.x.|",
                                                  "1.2.|",
                                                  "~=1",
                                                  "01.2.3",
                                                  ">=1.0.0-01",
                                                  "v",
                                                  "vx",
                                                  ">= 1.2 < 2",
                                                  "1.2 - 1.4.5",
                                                  ">=1.2.3 - 2",
                                                  "1 -2",
                                                  "^*",
                                                  "~*",
                                                  "<=*",
                                                  "!=*",
                                                  ">*",
                                                  "<*",
                                                  "!=1.x",
                                                  "!=1.2.x",
                                                  "!=1.2.x-0",
                                                  "^0.0",
                                                  "^0",
                                                  "^0.0.x",
                                                  "^0.x",
                                                  "~0",
                                                  "~0.0",
                                                  ">=1.0.0-0 <2.0.0",
                                                  "1.2.3-rc.1",
                                                  "=1.2.3+build",
                                                  ">18446744073709551616",
                                                  "1|2",
                                                  "> 1 , < 3",
                                                  "\t>=1\n",
                                                  ">=1 ||  <0.5",
                                                  "1.2-1.4",
                                                  ">= 1.0 ,,<2"};
    if (Int(10) == 0) return Pick(kOdd);
    static const std::vector<std::string> kOr = {" || ", "||", " ||"};
    std::string r = AndGroup();
    if (Int(4) == 0) r += Pick(kOr) + AndGroup();
    return r;
  }

 private:
  std::mt19937 rng_;
};

TEST(SemverDifferentialTest, AgreesWithMasterminds) {
  const char* ref = std::getenv("SEMVER_REF");
  if (ref == nullptr || *ref == '\0') {
    GTEST_SKIP() << "SEMVER_REF is not set: build the reference with "
                    "shared/tools/semver-ref/build.sh OUT and set "
                    "SEMVER_REF=OUT to run this test";
  }
  const std::string tags_file =
      absl::StrCat(testing::TempDir(), "/semver_differential_tags.txt");
  Generator gen(20240601);
  std::vector<std::string> pool;
  for (int i = 0; i < 600; ++i) pool.push_back(gen.Tag());

  constexpr int kRanges = 1500;
  int agree = 0;
  int invalid = 0;
  int none = 0;
  int prerelease_rule = 0;
  std::vector<std::string> failures;
  for (int i = 0; i < kRanges; ++i) {
    const std::string range = gen.Range();
    std::vector<std::string> tags;
    const int n = 20 + gen.Int(60);
    for (int j = 0; j < n; ++j) tags.push_back(gen.Pick(pool));
    // Equal versions spelled differently, so that ties are decided by the
    // order; the list in one of three orders (Flux's policies see descending
    // byte order; `imagectl select` and Evaluate any order).
    for (const std::string& t : gen.EqualSpellings()) tags.push_back(t);
    switch (i % 3) {
      case 0:
        std::sort(tags.begin(), tags.end(), std::greater<>());
        break;
      case 1:
        std::sort(tags.begin(), tags.end());
        break;
      default:
        gen.Shuffle(&tags);
        break;
    }

    const std::string expected = RunReference(ref, range, tags, tags_file);
    const std::string ours = Ours(range, tags, PrereleaseRule::kGroup);
    if (ours == expected) {
      ++agree;
      if (expected == kInvalid) ++invalid;
      if (expected == kNone) ++none;
    } else if (Ours(range, tags, PrereleaseRule::kPerComparator) == expected) {
      ++prerelease_rule;
    } else if (failures.size() < 25) {
      failures.push_back(absl::StrCat("range \"", range, "\": semver-ref ",
                                      expected, ", ours ", ours,
                                      "; tags: ", absl::StrJoin(tags, " ")));
    }
    // SelectTag (the service's path) agrees with the helper.
    if (ours != kInvalid) {
      v1::ImagePolicySpec spec;
      spec.mutable_policy()->mutable_semver()->set_range(range);
      absl::StatusOr<std::string> selected = SelectTag(spec, tags);
      EXPECT_EQ(selected.ok() ? *selected : std::string(kNone), ours) << range;
    }
  }
  std::cout << "semver differential: " << kRanges << " ranges over a pool of "
            << pool.size() << " tags: " << agree << " agree (" << invalid
            << " invalid ranges, " << none << " with no tag), "
            << prerelease_rule
            << " differ only by the 3.2-vs-3.4 prerelease rule, "
            << (kRanges - agree - prerelease_rule) << " disagree\n";
  EXPECT_TRUE(failures.empty()) << absl::StrJoin(failures, "\n");
}

// Which tags are versions at all: each tag alone under a range that admits
// every version, prereleases included.
TEST(SemverDifferentialTest, ParsesTagsAsFluxDoes) {
  const char* ref = std::getenv("SEMVER_REF");
  if (ref == nullptr || *ref == '\0') {
    GTEST_SKIP() << "SEMVER_REF is not set (see AgreesWithMasterminds)";
  }
  const std::string tags_file =
      absl::StrCat(testing::TempDir(), "/semver_differential_parse.txt");
  Generator gen(20260612);
  std::set<std::string> tags;
  while (tags.size() < 400) tags.insert(gen.LooseTag());
  for (int i = 0; i < 200; ++i) tags.insert(gen.Tag());
  int versions = 0;
  std::vector<std::string> failures;
  for (const std::string& tag : tags) {
    const bool reference =
        RunReference(ref, ">=0.0.0-0", {tag}, tags_file) == tag;
    const bool ours = ParseTagVersion(tag).has_value();
    if (reference) ++versions;
    if (reference != ours && failures.size() < 25) {
      failures.push_back(absl::StrCat(
          "\"", tag, "\": semver-ref ", reference ? "version" : "not a version",
          ", ours ", ours ? "version" : "not a version"));
    }
  }
  std::cout << "semver parse differential: " << tags.size() << " tags, "
            << versions << " versions by semver-ref\n";
  EXPECT_TRUE(failures.empty()) << absl::StrJoin(failures, "\n");
}

}  // namespace
}  // namespace ia::policy
