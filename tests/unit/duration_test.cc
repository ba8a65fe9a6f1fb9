#include "common/duration.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/time/time.h"

namespace ia {
namespace {

using ::testing::HasSubstr;

struct ParseCase {
  const char* text;
  absl::Duration want;
};

class DurationParseTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(DurationParseTest, Parses) {
  const absl::StatusOr<absl::Duration> d = ParseDuration(GetParam().text);
  ASSERT_TRUE(d.ok()) << GetParam().text << ": " << d.status();
  EXPECT_EQ(*d, GetParam().want) << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(
    Duration, DurationParseTest,
    ::testing::Values(ParseCase{"0s", absl::ZeroDuration()},
                      ParseCase{"30s", absl::Seconds(30)},
                      ParseCase{"1m", absl::Minutes(1)},
                      ParseCase{"1h", absl::Hours(1)},
                      ParseCase{"500ms", absl::Milliseconds(500)},
                      ParseCase{"1h30m", absl::Minutes(90)},
                      ParseCase{"1h30m15s", absl::Seconds(5415)},
                      ParseCase{"1.5h", absl::Minutes(90)},
                      ParseCase{"2.25m", absl::Seconds(135)},
                      ParseCase{"0.5s", absl::Milliseconds(500)},
                      ParseCase{"1.5ms", absl::Microseconds(1500)},
                      // Go truncates fractions below a nanosecond.
                      ParseCase{"1.0000000009s", absl::Seconds(1)},
                      ParseCase{"007s", absl::Seconds(7)},
                      // Units may repeat and come in any order, as in Go.
                      ParseCase{"1s1s", absl::Seconds(2)},
                      ParseCase{"1m1h", absl::Minutes(61)},
                      ParseCase{"2562047h", absl::Hours(2562047)}));

struct ErrorCase {
  const char* text;
  const char* message;  // A part of the expected message.
};

class DurationErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(DurationErrorTest, Rejects) {
  const absl::StatusOr<absl::Duration> d = ParseDuration(GetParam().text);
  ASSERT_FALSE(d.ok()) << GetParam().text;
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      std::string(d.status().message()),
      HasSubstr(absl::StrCat("invalid duration \"", GetParam().text, "\": ")));
  EXPECT_THAT(std::string(d.status().message()), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Duration, DurationErrorTest,
    ::testing::Values(ErrorCase{"5x", "unknown unit \"x\" (use ms, s, m or h)"},
                      ErrorCase{"", "empty"},
                      ErrorCase{"5",
                                "missing unit after \"5\" (use ms, s, m or h)"},
                      ErrorCase{"1.5", "missing unit after \"1.5\""},
                      ErrorCase{"1h30", "missing unit after \"30\""},
                      ErrorCase{"-5s", "a sign is not allowed"},
                      ErrorCase{"+5s", "a sign is not allowed"},
                      ErrorCase{".5s", "expected a number at \".5s\""},
                      ErrorCase{"1.s", "expected digits after \".\""},
                      ErrorCase{"s", "expected a number at \"s\""},
                      ErrorCase{"5us", "unknown unit \"us\""},
                      ErrorCase{"5ns", "unknown unit \"ns\""},
                      ErrorCase{"1d", "unknown unit \"d\""},
                      ErrorCase{"5 s", "unknown unit \" s\""},
                      ErrorCase{"5s ", "unknown unit \"s \""},
                      ErrorCase{"5M", "unknown unit \"M\""},
                      ErrorCase{"1h 30m", "unknown unit \"h \""},
                      ErrorCase{"2562048h", "too large"},
                      ErrorCase{"99999999999999999999s", "too large"}));

struct FormatCase {
  absl::Duration d;
  const char* want;
};

class DurationFormatTest : public ::testing::TestWithParam<FormatCase> {};

TEST_P(DurationFormatTest, FormatsAsGo) {
  EXPECT_EQ(ia::FormatDuration(GetParam().d), GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(
    Duration, DurationFormatTest,
    ::testing::Values(
        FormatCase{absl::ZeroDuration(), "0s"},
        FormatCase{absl::Nanoseconds(1), "1ns"},
        FormatCase{absl::Nanoseconds(1100), "1.1\xC2\xB5s"},
        FormatCase{absl::Microseconds(2200), "2.2ms"},
        FormatCase{absl::Milliseconds(500), "500ms"},
        FormatCase{absl::Milliseconds(3300), "3.3s"},
        FormatCase{absl::Seconds(30), "30s"},
        FormatCase{absl::Minutes(1), "1m0s"},
        FormatCase{absl::Seconds(61), "1m1s"},
        FormatCase{absl::Minutes(90), "1h30m0s"},
        FormatCase{absl::Hours(1), "1h0m0s"},
        FormatCase{absl::Hours(4) + absl::Minutes(5) + absl::Seconds(6),
                   "4h5m6s"},
        FormatCase{absl::Hours(1) + absl::Milliseconds(1), "1h0m0.001s"},
        FormatCase{-absl::Minutes(1), "-1m0s"},
        FormatCase{absl::Nanoseconds(9223372036854775807),
                   "2562047h47m16.854775807s"},
        FormatCase{absl::InfiniteDuration(), "2562047h47m16.854775807s"},
        FormatCase{-absl::InfiniteDuration(), "-2562047h47m16.854775808s"}));

TEST(DurationRoundTrip, FormatThenParseGivesTheSameDuration) {
  for (const char* text :
       {"1m", "1h30m", "90s", "1.5h", "500ms", "36h", "1h0m0.001s", "3.3s"}) {
    const absl::StatusOr<absl::Duration> d = ParseDuration(text);
    ASSERT_TRUE(d.ok()) << text;
    const absl::StatusOr<absl::Duration> again =
        ParseDuration(ia::FormatDuration(*d));
    ASSERT_TRUE(again.ok()) << ia::FormatDuration(*d);
    EXPECT_EQ(*again, *d) << text;
  }
}

}  // namespace
}  // namespace ia
