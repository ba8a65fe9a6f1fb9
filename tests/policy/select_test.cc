// Tests of tag selection: semver, alphabetical, numerical, filterTags, ties,
// errors; and Go's ParseFloat syntax. (Go's Expand: expand_test.cc.)
#include "services/policy/select.h"

#include <re2/re2.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "common/semver.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ia::policy {
namespace {

using ::testing::HasSubstr;

v1::ImagePolicySpec Semver(const std::string& range) {
  v1::ImagePolicySpec spec;
  spec.mutable_policy()->mutable_semver()->set_range(range);
  return spec;
}

v1::ImagePolicySpec Alpha(const std::string& order) {
  v1::ImagePolicySpec spec;
  spec.mutable_policy()->mutable_alphabetical()->set_order(order);
  return spec;
}

v1::ImagePolicySpec Numeric(const std::string& order) {
  v1::ImagePolicySpec spec;
  spec.mutable_policy()->mutable_numerical()->set_order(order);
  return spec;
}

v1::ImagePolicySpec Filter(v1::ImagePolicySpec spec, const std::string& pattern,
                           const std::string& extract = "") {
  spec.mutable_filter_tags()->set_pattern(pattern);
  spec.mutable_filter_tags()->set_extract(extract);
  return spec;
}

std::string Select(const v1::ImagePolicySpec& spec,
                   const std::vector<std::string>& tags) {
  absl::StatusOr<std::string> tag = SelectTag(spec, tags);
  // Code and message (payloads such as the field path left out).
  return tag.ok() ? *tag
                  : absl::StrCat(absl::StatusCodeToString(tag.status().code()),
                                 ": ", tag.status().message());
}

TEST(SelectSemverTest, HighestInRangeOriginalTag) {
  const std::vector<std::string> tags = {"v1.0.0", "1.2.0",      "v1.10.0",
                                         "1.9.0",  "2.0.0",      "latest",
                                         "1.11",   "v1.3.0-rc.1"};
  EXPECT_EQ(Select(Semver(">=1.0.0 <2.0.0"), tags), "v1.10.0");
  EXPECT_EQ(Select(Semver("*"), tags), "2.0.0");
  EXPECT_EQ(Select(Semver("~1.2"), tags), "1.2.0");
  EXPECT_EQ(Select(Semver(">=1.3.0-0 <2.0.0"), tags), "v1.10.0");
  EXPECT_EQ(Select(Semver("1.3.0-rc.1"), tags), "v1.3.0-rc.1");
  EXPECT_EQ(Select(Semver(">=1.0.0-rc.1 <1.4.0"), {"1.3.0-rc9", "1.3.0-rc10"}),
            "1.3.0-rc9");
}

// Ties follow Flux's code given the input order (select.h): one row per
// ordered input.
struct TieCase {
  v1::ImagePolicySpec spec;
  std::vector<std::string> tags;
  std::string want;
};

TEST(SelectTiesTest, AsFluxGivenTheInputOrder) {
  const std::vector<TieCase> cases = {
      // semver: the first of equal versions.
      {Semver("*"), {"1.2.4", "v1.2.4"}, "1.2.4"},
      {Semver("*"), {"v1.2.4", "1.2.4"}, "v1.2.4"},
      {Semver("*"), {"1.0.0+b.1", "1.0.0+b.2", "1.0.0"}, "1.0.0+b.1"},
      {Semver("*"), {"1.0.0", "1.0.0+b.2", "1.0.0+b.1"}, "1.0.0"},
      {Semver(">=0.0.0-0"),
       {"1.2-rc.1", "1.2.0-rc.1", "v01.02.00-rc.1"},
       "1.2-rc.1"},
      {Semver(">=0.0.0-0"), {"v01.02.00-rc.1", "1.2-rc.1"}, "v01.02.00-rc.1"},
      {Semver("*"), {"0.9.0", "v2025.07.03", "2025.7.3"}, "v2025.07.03"},
      {Semver("*"), {"0.9.0", "2025.7.3", "v2025.07.03"}, "2025.7.3"},
      // A higher version later still wins.
      {Semver("*"), {"1.2.4", "v1.2.4", "1.2.5"}, "1.2.5"},
      // numerical: the last of equal numbers.
      {Numeric("asc"), {"15.0", "15"}, "15"},
      {Numeric("asc"), {"15", "15.0"}, "15.0"},
      {Numeric("asc"), {"1.0", "1", "01"}, "01"},
      {Numeric("desc"), {"3", "1.0", "2", "1"}, "1"},
      {Numeric("desc"), {"3", "1", "2", "1.0"}, "1.0"},
      {Numeric("asc"), {"1e1", "10", "2"}, "10"},
      // numerical: NaN compares false, so it replaces and is replaced.
      {Numeric("asc"), {"NaN", "2"}, "2"},
      {Numeric("asc"), {"2", "NaN"}, "NaN"},
      {Numeric("desc"), {"2", "NaN", "1"}, "1"},
      {Numeric("asc"), {"5", "NaN", "1"}, "1"},
      {Numeric("asc"), {"NaN"}, "NaN"},
      // extract: each value stands for the last tag that produced it.
      {Filter(Alpha("asc"), "-(.*)$", "$1"), {"a-1", "b-1", "c-0"}, "b-1"},
      {Filter(Alpha("asc"), "-(.*)$", "$1"), {"b-1", "a-1", "c-0"}, "a-1"},
      {Filter(Alpha("desc"), "-(.*)$", "$1"), {"b-0", "a-0", "c-1"}, "a-0"},
      {Filter(Semver("*"), "^(?:app|web)-(.*)$", "$1"),
       {"web-1.0.0", "app-1.0.0", "app-0.9.0"},
       "app-1.0.0"},
      {Filter(Numeric("asc"), "^b(\\d+)-", "$1"),
       {"b7-x", "b7-y", "b3-z"},
       "b7-y"},
      // extract: a repeated value counts once, where it first appeared.
      {Filter(Numeric("asc"), "^n-(.*)-", "$1"),
       {"n-15-a", "n-15.0-b", "n-15-c"},
       "n-15.0-b"},
      {Filter(Numeric("asc"), "^n-(.*)-", "$1"),
       {"n-15-a", "n-15.0-b", "n-15-c", "n-16-d", "n-16-e"},
       "n-16-e"},
      {Filter(Numeric("asc"), "^n-(.*)-", "$1"),
       {"n-NaN-a", "n-2-b", "n-NaN-c"},
       "n-2-b"},
      {Filter(Numeric("desc"), "^n-(.*)-", "$1"),
       {"n-2-a", "n-NaN-b", "n-2-c", "n-1-d"},
       "n-1-d"},
      {Filter(Semver("*"), "^a-(.*)-", "$1"),
       {"a-1.0.0-x", "a-v1.0.0-y", "a-1.0.0-z"},
       "a-1.0.0-z"},
      // extract: distinct values that tie for the policy keep the order in
      // which the values first appeared (Flux: Go's map order).
      {Filter(Semver("*"), "^app-(.*)$", "$1"),
       {"app-v1.2.4", "app-1.2.4"},
       "app-v1.2.4"},
      {Filter(Numeric("asc"), "^n-(.*)$", "$1"), {"n-15", "n-15.0"}, "n-15.0"},
      // A pattern without extract keeps the input order.
      {Filter(Semver("*"), "^v?1"), {"1.2.4", "v1.2.4"}, "1.2.4"},
  };
  for (const TieCase& c : cases) {
    EXPECT_EQ(Select(c.spec, c.tags), c.want)
        << c.spec.ShortDebugString() << " over " << absl::StrJoin(c.tags, " ");
  }
}

// Flux's applyPolicy written out plainly: the map from extracted value to
// the last tag (values in first-appearance order here), then the policy's
// Latest over the values. Select finds the same without building the map.
std::string FluxWithExtract(const std::string& policy,
                            const std::vector<std::string>& tags) {
  std::vector<std::string> values;
  std::map<std::string, std::string> tag_of;
  for (const std::string& tag : tags) {
    const std::string value = tag.substr(0, tag.find('/'));
    if (tag_of.count(value) == 0) values.push_back(value);
    tag_of[value] = tag;
  }
  std::string latest;
  if (policy == "semver") {
    std::optional<Version> best;
    for (const std::string& v : values) {
      std::optional<Version> parsed = ParseTagVersion(v);
      if (!parsed.has_value()) continue;
      if (!best.has_value() || CompareVersions(*parsed, *best) > 0) {
        best = parsed;
        latest = v;
      }
    }
    if (!best.has_value()) return "<none>";
  } else if (policy == "alphabetical") {
    latest = *std::max_element(values.begin(), values.end());
  } else {
    double kept = 0;
    for (size_t i = 0; i < values.size(); ++i) {
      const std::optional<double> v = ParseGoFloat(values[i]);
      if (!v.has_value()) return "<error>";
      if (i > 0 && *v < kept) continue;
      latest = values[i];
      kept = *v;
    }
  }
  return tag_of[latest];
}

TEST(SelectTiesTest, ExtractAgreesWithFluxsMapOverGeneratedTags) {
  const std::vector<std::string> numbers = {"1",   "01",  "1.0",   "2", "2.0",
                                            "1e0", "NaN", "0x2p0", "3"};
  const std::vector<std::string> versions = {
      "1.2.4", "v1.2.4", "1.2.4+b", "1.2.5", "01.2.5", "1.2", "x", "v2.0.0"};
  const std::vector<std::string> words = {"a", "b", "ab", "B", "a0"};
  std::mt19937 rng(7);
  for (int round = 0; round < 3000; ++round) {
    const int kind = round % 3;
    const std::vector<std::string>& pool =
        kind == 0 ? versions : (kind == 1 ? words : numbers);
    v1::ImagePolicySpec spec = kind == 0   ? Semver(">=0.0.0")
                               : kind == 1 ? Alpha("asc")
                                           : Numeric("asc");
    spec = Filter(spec, "^([^/]*)/", "$1");
    std::vector<std::string> tags;
    const int n = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < n; ++i) {
      tags.push_back(absl::StrCat(pool[rng() % pool.size()], "/", i));
    }
    const std::string want = FluxWithExtract(
        kind == 0 ? "semver" : (kind == 1 ? "alphabetical" : "numerical"),
        tags);
    absl::StatusOr<std::string> got = SelectTag(spec, tags);
    const std::string got_text =
        got.ok() ? *got
                 : (absl::IsNotFound(got.status()) ? "<none>" : "<error>");
    EXPECT_EQ(got_text, want) << absl::StrJoin(tags, " ");
  }
}

TEST(SelectSemverTest, NothingQualifies) {
  absl::StatusOr<std::string> tag =
      SelectTag(Semver(">=3.0.0"), {"1.0.0", "latest"});
  ASSERT_EQ(tag.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(tag.status().message()),
              HasSubstr("no tag satisfies semver range \">=3.0.0\""));
  EXPECT_EQ(SelectTag(Semver("*"), {}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(SelectSemverTest, BadRangeIsInvalidArgumentQuotingIt) {
  absl::StatusOr<std::string> tag = SelectTag(Semver(">=1.0 <"), {"1.0.0"});
  ASSERT_EQ(tag.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(tag.status().message()),
              HasSubstr("spec.policy.semver.range"));
  EXPECT_THAT(std::string(tag.status().message()), HasSubstr("\">=1.0 <\""));
}

TEST(SelectAlphabeticalTest, ByteOrder) {
  const std::vector<std::string> tags = {"b", "a", "C", "ab", "ba"};
  EXPECT_EQ(Select(Alpha("asc"), tags), "ba");
  EXPECT_EQ(Select(Alpha(""), tags), "ba");
  EXPECT_EQ(Select(Alpha("desc"), tags), "C");
  EXPECT_EQ(Select(Alpha("up"), tags),
            "INVALID_ARGUMENT: spec.policy.alphabetical.order: \"up\" is not a "
            "valid order (use asc or desc)");
}

TEST(SelectNumericalTest, AscLargestDescSmallest) {
  const std::vector<std::string> tags = {"1",  "10",  "9.5",
                                         "-3", "1e2", "0x10p0"};
  EXPECT_EQ(Select(Numeric("asc"), tags), "1e2");
  EXPECT_EQ(Select(Numeric("desc"), tags), "-3");
}

TEST(SelectNumericalTest, NotANumberNamesTheTag) {
  absl::StatusOr<std::string> tag = SelectTag(Numeric("asc"), {"1", "v2"});
  ASSERT_EQ(tag.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(tag.status().message()),
              HasSubstr("tag \"v2\" is not a number"));
  tag = SelectTag(Filter(Numeric("asc"), "^b-(.*)", "$1"), {"b-x"});
  EXPECT_THAT(std::string(tag.status().message()),
              HasSubstr("tag \"b-x\" (extracted value \"x\") is not a number"));
}

TEST(SelectFilterTest, ExtractOrdersAndReturnsTheOriginalTag) {
  const std::vector<std::string> tags = {"main-abc-1700000000",
                                         "main-def-1700000100",
                                         "dev-xyz-1800000000", "main-ghi-900"};
  EXPECT_EQ(
      Select(Filter(Numeric("asc"), "^main-[a-f0-9]+-(?P<ts>[0-9]+)", "$ts"),
             tags),
      "main-def-1700000100");
  EXPECT_EQ(Select(Filter(Alpha("asc"), "^main-[a-z]+-(?P<ts>[0-9]+)", "${ts}"),
                   tags),
            "main-ghi-900");
  // Unanchored.
  EXPECT_EQ(Select(Filter(Alpha("asc"), "xyz"), tags), "dev-xyz-1800000000");
  // Semver over extracted values.
  EXPECT_EQ(Select(Filter(Semver("^1"), "^app-(.*)$", "$1"),
                   {"app-1.2.0", "app-1.10.0", "other-1.99.0", "app-2.0.0"}),
            "app-1.10.0");
}

TEST(SelectFilterTest, NoMatchAndBadRegex) {
  absl::StatusOr<std::string> tag =
      SelectTag(Filter(Alpha("asc"), "^release-"), {"1.0", "2.0"});
  ASSERT_EQ(tag.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(tag.status().message()),
              HasSubstr("no tag matched the filter pattern \"^release-\""));
  tag = SelectTag(Filter(Alpha("asc"), "([a-z"), {"a"});
  ASSERT_EQ(tag.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(tag.status().message()),
              HasSubstr("invalid regular expression \"([a-z\""));
}

TEST(SelectSpecTest, ExactlyOnePolicy) {
  v1::ImagePolicySpec none;
  EXPECT_EQ(ValidatePolicySpec(none).code(),
            absl::StatusCode::kInvalidArgument);
  v1::ImagePolicySpec two = Semver("*");
  two.mutable_policy()->mutable_alphabetical();
  EXPECT_EQ(ValidatePolicySpec(two).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidatePolicySpec(Semver("^1.2")).ok());
}

TEST(ParseGoFloatTest, AsStrconvParseFloat) {
  const std::vector<std::pair<std::string, double>> ok = {
      {"1_000", 1000}, {"0x1p4", 16}, {"0x_1p4", 16},   {"1e-400", 0},
      {".5", 0.5},     {"5.", 5},     {"1.5e+3", 1500}, {"-2", -2},
      {"+3", 3},       {"007", 7},    {"1_0.5_0", 10.5}};
  for (const auto& [s, want] : ok) {
    const std::optional<double> v = ParseGoFloat(s);
    ASSERT_TRUE(v.has_value()) << s;
    EXPECT_EQ(*v, want) << s;
  }
  EXPECT_TRUE(std::isinf(*ParseGoFloat("+inf")));
  EXPECT_LT(*ParseGoFloat("-Infinity"), 0);
  EXPECT_TRUE(std::isnan(*ParseGoFloat("NaN")));
  for (const char* s :
       {"1e400", "+nan", "infin", "1e", "0x1", "1_", "_1", " 1", "0b1", "", "-",
        ".", "1.2.3", "v1", "1__0", "1_.5", "0x", "abc"}) {
    EXPECT_FALSE(ParseGoFloat(s).has_value()) << s;
  }
}

}  // namespace
}  // namespace ia::policy
