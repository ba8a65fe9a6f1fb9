// Table tests of the semver engine: tag parsing, precedence, every range form
// and the edge cases in Masterminds' and Flux's documentation.
#include "common/semver.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ia {
namespace {

using ::testing::HasSubstr;

TEST(ParseTagVersionTest, AcceptsStrictVersionsWithOneV) {
  for (const char* tag :
       {"1.2.3", "v1.2.3", "0.0.0", "1.2.3-rc.1", "1.2.3-alpha-1.0",
        "1.2.3+build.001", "v1.2.3-rc.1+sha.5114f85",
        "18446744073709551615.0.0", "1.0.0-99999999999999999999"}) {
    EXPECT_TRUE(ParseTagVersion(tag).has_value()) << tag;
  }
  const std::optional<Version> v = ParseTagVersion("v10.20.30-rc.1+b.2");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->major, 10u);
  EXPECT_EQ(v->minor, 20u);
  EXPECT_EQ(v->patch, 30u);
  EXPECT_EQ(v->prerelease, "rc.1");
  EXPECT_EQ(v->build, "b.2");
}

// fluxcd/pkg/version.ParseVersion: two dots, then Masterminds' loose
// pattern (leading zeros, missing minor or patch when the prerelease or
// build holds the dots).
struct LooseCase {
  const char* tag;
  uint64_t major, minor, patch;
  const char* prerelease;
  const char* build;
};

TEST(ParseTagVersionTest, AcceptsFluxLooseVersions) {
  const std::vector<LooseCase> cases = {
      {"v2025.07.03", 2025, 7, 3, "", ""},
      {"2025.07.03", 2025, 7, 3, "", ""},
      {"v1.02.3", 1, 2, 3, "", ""},
      {"01.2.3", 1, 2, 3, "", ""},
      {"1.2.03", 1, 2, 3, "", ""},
      {"000.000.000", 0, 0, 0, "", ""},
      {"1.2-rc.1", 1, 2, 0, "rc.1", ""},
      {"v1.2-beta.5", 1, 2, 0, "beta.5", ""},
      {"1.2+3.4", 1, 2, 0, "", "3.4"},
      {"1-rc.1.2", 1, 0, 0, "rc.1.2", ""},
      {"v7+a.b.c", 7, 0, 0, "", "a.b.c"},
      {"1.2-a.b+c", 1, 2, 0, "a.b", "c"},
      {"1-a.b+c.d", 1, 0, 0, "a.b", "c.d"},
      {"1-a+b.c.d", 1, 0, 0, "a", "b.c.d"},
      {"1.2.3--", 1, 2, 3, "-", ""},
      {"1.2.3-0a.01b", 1, 2, 3, "0a.01b", ""},
      {"1.2.3+01", 1, 2, 3, "", "01"},
      {"00000000000000000000001.2.3", 1, 2, 3, "", ""},
  };
  for (const LooseCase& c : cases) {
    const std::optional<Version> v = ParseTagVersion(c.tag);
    ASSERT_TRUE(v.has_value()) << c.tag;
    EXPECT_EQ(v->major, c.major) << c.tag;
    EXPECT_EQ(v->minor, c.minor) << c.tag;
    EXPECT_EQ(v->patch, c.patch) << c.tag;
    EXPECT_EQ(v->prerelease, c.prerelease) << c.tag;
    EXPECT_EQ(v->build, c.build) << c.tag;
  }
}

TEST(ParseTagVersionTest, RejectsWhatFluxRejects) {
  for (const char* tag : {"",
                          "1.2",
                          "1",
                          "1.0.0.1",
                          "v1.2",
                          "1.2-rc1",
                          "1+a.b",
                          "1.2.3.4-rc",
                          "vv1.2.3",
                          "V1.2.3",
                          "1.2.3-",
                          "1.2.3+",
                          "1.2.3-01",
                          "1.2-rc.01",
                          "1.2.3-a..b",
                          "1.2.3-a.",
                          "1.2.3+a+b",
                          " 1.2.3",
                          "1.2.3 ",
                          "latest",
                          "1.2.x",
                          "*",
                          "v",
                          "1..2",
                          "1.2.",
                          ".1.2",
                          "1.2.3a",
                          "1.2a.3",
                          "a.b.c",
                          "1.-2.3",
                          "1.2.3-\xc3\xa9",
                          "1.2.3_4",
                          "v.1.2",
                          "1.2.3+a.",
                          "1.2.-3",
                          "18446744073709551616.0.0",
                          "1.18446744073709551616.0"}) {
    EXPECT_FALSE(ParseTagVersion(tag).has_value()) << tag;
  }
}

int Cmp(const char* a, const char* b) {
  return CompareVersions(*ParseTagVersion(a), *ParseTagVersion(b));
}

TEST(CompareVersionsTest, SemVerPrecedence) {
  // The chain from semver.org, each lower than the next.
  const std::vector<const char*> chain = {
      "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
      "1.0.0-beta",  "1.0.0-beta.2",  "1.0.0-beta.11",
      "1.0.0-rc.1",  "1.0.0",         "1.0.1",
      "1.1.0",       "2.0.0",         "10.0.0"};
  for (size_t i = 0; i + 1 < chain.size(); ++i) {
    EXPECT_LT(Cmp(chain[i], chain[i + 1]), 0)
        << chain[i] << " " << chain[i + 1];
    EXPECT_GT(Cmp(chain[i + 1], chain[i]), 0);
  }
  EXPECT_GT(Cmp("1.0.0-rc9", "1.0.0-rc10"), 0);    // alphanumeric: byte order
  EXPECT_LT(Cmp("1.0.0-rc.9", "1.0.0-rc.10"), 0);  // numeric
  EXPECT_LT(Cmp("1.0.0-1", "1.0.0-a"), 0);         // numeric < alphanumeric
  EXPECT_EQ(Cmp("1.0.0+a", "1.0.0+b"), 0);         // build ignored
  EXPECT_EQ(Cmp("v1.0.0", "1.0.0"), 0);
  // Beyond uint64 a numeric identifier counts as alphanumeric (Masterminds).
  EXPECT_GT(Cmp("1.0.0-99999999999999999999", "1.0.0-5"), 0);
  EXPECT_LT(Cmp("1.0.0-99999999999999999999", "1.0.0-a"), 0);
}

struct RangeCase {
  const char* range;
  std::vector<const char*> in;
  std::vector<const char*> out;
};

class RangeTest : public testing::TestWithParam<RangeCase> {};

TEST_P(RangeTest, Contains) {
  const RangeCase& c = GetParam();
  absl::StatusOr<SemverRange> r = SemverRange::Parse(c.range);
  ASSERT_TRUE(r.ok()) << r.status();
  for (const char* v : c.in) {
    EXPECT_TRUE(r->Contains(*ParseTagVersion(v))) << c.range << " ∌ " << v;
  }
  for (const char* v : c.out) {
    EXPECT_FALSE(r->Contains(*ParseTagVersion(v))) << c.range << " ∋ " << v;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Forms, RangeTest,
    testing::Values(
        // Plain comparators and aliases.
        RangeCase{"1.2.3", {"1.2.3", "1.2.3+b"}, {"1.2.4", "1.2.3-rc.1"}},
        RangeCase{"=1.2.3", {"1.2.3"}, {"1.2.2"}},
        RangeCase{"!=1.2.3", {"1.2.4", "0.1.0"}, {"1.2.3", "1.2.4-rc.1"}},
        RangeCase{">1.2.3", {"1.2.4", "2.0.0"}, {"1.2.3", "1.3.0-rc.1"}},
        RangeCase{"<1.2.3", {"1.2.2", "0.0.1"}, {"1.2.3", "1.2.3-rc.1"}},
        RangeCase{">=1.2.3", {"1.2.3", "9.0.0"}, {"1.2.2"}},
        RangeCase{"=>1.2.3", {"1.2.3"}, {"1.2.2"}},
        RangeCase{"<=1.2.3", {"1.2.3", "1.0.0"}, {"1.2.4"}},
        RangeCase{"=<1.2.3", {"1.2.3"}, {"1.2.4"}},
        RangeCase{"v1.2.3", {"1.2.3"}, {"1.2.4"}},
        // AND by space or comma, OR.
        RangeCase{">=1.0.0 <2.0.0", {"1.0.0", "1.9.9"}, {"2.0.0", "0.9.0"}},
        RangeCase{">=1.0.0, <2.0.0", {"1.5.0"}, {"2.0.0"}},
        RangeCase{">= 1.0.0 , < 2.0.0", {"1.5.0"}, {"2.0.0"}},
        RangeCase{"<1.0.0 || >=3.0.0", {"0.5.0", "3.0.0"}, {"1.0.0", "2.9.9"}},
        // Tilde.
        RangeCase{"~1.2.3", {"1.2.3", "1.2.9"}, {"1.3.0", "1.2.2"}},
        RangeCase{"~>1.2", {"1.2.0", "1.2.9"}, {"1.3.0"}},
        RangeCase{"~1", {"1.0.0", "1.9.0"}, {"2.0.0", "0.9.0"}},
        RangeCase{"~0", {"0.0.0", "0.9.0"}, {"1.0.0"}},
        RangeCase{"~*", {"0.0.0", "5.0.0"}, {"1.0.0-rc.1"}},
        // Caret with the 0.x rules.
        RangeCase{"^1.2.3", {"1.2.3", "1.9.0"}, {"2.0.0", "1.2.2"}},
        RangeCase{"^1.2", {"1.2.0", "1.9.0"}, {"2.0.0", "1.1.0"}},
        RangeCase{"^1", {"1.0.0", "1.9.9"}, {"2.0.0"}},
        RangeCase{"^0.2.3", {"0.2.3", "0.2.9"}, {"0.3.0", "0.2.2"}},
        RangeCase{"^0.2", {"0.2.0", "0.2.9"}, {"0.3.0"}},
        RangeCase{"^0.0.3", {"0.0.3"}, {"0.0.4", "0.0.2", "0.1.0"}},
        RangeCase{"^0.0", {"0.0.0", "0.0.9"}, {"0.1.0"}},
        RangeCase{"^0.0.x", {"0.0.0", "0.0.9"}, {"0.1.0"}},
        RangeCase{"^0", {"0.0.0", "0.9.9"}, {"1.0.0"}},
        // Wildcards and partial versions.
        RangeCase{"*", {"0.0.0", "9.9.9"}, {"1.0.0-rc.1"}},
        RangeCase{"x", {"1.0.0"}, {}},
        RangeCase{"1.x", {"1.0.0", "1.9.9"}, {"2.0.0", "0.9.9"}},
        RangeCase{"1.2.X", {"1.2.0", "1.2.9"}, {"1.3.0"}},
        RangeCase{"1.2", {"1.2.0", "1.2.9"}, {"1.3.0"}},
        RangeCase{"1", {"1.0.0", "1.9.9"}, {"2.0.0"}},
        RangeCase{">1", {"2.0.0"}, {"1.9.9"}},
        RangeCase{">1.2", {"1.3.0"}, {"1.2.9"}},
        RangeCase{"<=1.2", {"1.2.9", "0.1.0"}, {"1.3.0"}},
        RangeCase{"<1.x", {"0.9.9"}, {"1.0.0"}},
        RangeCase{"!=1.x", {"2.0.0", "0.1.0"}, {"1.5.0"}},
        RangeCase{"!=1.2.x", {"1.3.0"}, {"1.2.5"}},
        // Hyphen ranges.
        RangeCase{"1.2 - 1.4.5", {"1.2.0", "1.4.5"}, {"1.4.6", "1.1.9"}},
        RangeCase{"1.2.3 - 2", {"1.2.3", "2.9.9"}, {"3.0.0"}},
        RangeCase{"1 - 2 || 5", {"1.0.0", "5.0.0"}, {"3.0.0"}},
        // Prereleases: only when a comparator of the AND group has one (v3.4).
        // (2.0.0-rc.1 < 2.0.0, so the upper bound admits it: as Masterminds.)
        RangeCase{">=1.3.0-0 <2.0.0",
                  {"1.3.0-rc.1", "1.5.0-beta", "2.0.0-rc.1"},
                  {"2.0.0", "1.2.9-rc.1"}},
        RangeCase{">=1.0.0-rc.1",
                  {"1.0.0-rc.1", "1.0.0-rc.2", "1.5.0-alpha"},
                  {"1.0.0-beta"}},
        RangeCase{"^1.2.3-alpha", {"1.2.3-beta", "1.2.4-rc.1"}, {"2.0.0-rc.1"}},
        RangeCase{
            ">=1.0.0 <2.0.0 || >=3.0.0-0", {"3.1.0-rc.1"}, {"1.5.0-rc.1"}},
        RangeCase{"~1.2.3-0", {"1.2.3-rc.1", "1.2.9"}, {"1.3.0-rc.1"}}));

TEST(RangeTest, PrereleaseRuleOfV32IsPerComparator) {
  const SemverRange r = *SemverRange::Parse(">=1.3.0-0 <2.0.0");
  const Version rc = *ParseTagVersion("1.3.0-rc.1");
  EXPECT_TRUE(r.Contains(rc, PrereleaseRule::kGroup));
  EXPECT_FALSE(r.Contains(rc, PrereleaseRule::kPerComparator));
}

TEST(RangeTest, InvalidRangesAreRefusedQuotingThem) {
  for (const char* range :
       {"", " ", "||", "1 ||", ">=", "1.2.3.4", ">1<2", "==1", "~=1", "a",
        ">=1.0,", ",>1", "1.|", "1|2", ">=1.0.0-01", ">18446744073709551616",
        ">= 1.0 ,,<2", "1 -", "latest"}) {
    absl::StatusOr<SemverRange> r = SemverRange::Parse(range);
    ASSERT_FALSE(r.ok()) << "\"" << range << "\"";
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(r.status().message()),
                HasSubstr(std::string("\"") + range + "\""));
  }
  EXPECT_FALSE(ValidateSemverRange(">=1 <").ok());
  EXPECT_TRUE(ValidateSemverRange(">=1.0.0 <2.0.0").ok());
}

TEST(RangeTest, AcceptsMastermindsQuirks) {
  // Masterminds ignores what follows a wildcard and accepts leading zeros
  // and a 'v' in ranges.
  for (const char* range : {"x.|", "1.x.|", "01.2.3", "v1.x", "1.2-1.4",
                            "\t>=1\n", "1.2.3+build", "=1.2.3-rc.1"}) {
    EXPECT_TRUE(SemverRange::Parse(range).ok()) << range;
  }
}

}  // namespace
}  // namespace ia
