// Tests of spec.minAge in the selection engine: which tags are old enough,
// what is held back, when the answer can next change, and the check of the
// duration.
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/policy/select.h"

namespace ia::policy {
namespace {

using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

v1::ImagePolicySpec Semver(const std::string& range,
                           const std::string& min_age = "1h") {
  v1::ImagePolicySpec spec;
  spec.mutable_policy()->mutable_semver()->set_range(range);
  spec.set_min_age(min_age);
  return spec;
}

CompiledPolicy Compiled(const v1::ImagePolicySpec& spec) {
  absl::StatusOr<CompiledPolicy> policy = CompiledPolicy::Compile(spec);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return *std::move(policy);
}

TEST(MinAgeTest, InvalidDurationIsInvalidArgumentNamingSpecMinAge) {
  absl::Status status = ValidatePolicySpec(Semver("*", "2 days"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("spec.minAge: invalid duration \"2 days\""));
  EXPECT_TRUE(ValidatePolicySpec(Semver("*", "30m")).ok());
  EXPECT_TRUE(ValidatePolicySpec(Semver("*", "0s")).ok());
  EXPECT_TRUE(ValidatePolicySpec(Semver("*", "")).ok());
  EXPECT_EQ(Compiled(Semver("*", "1h30m")).min_age(), absl::Minutes(90));
}

TEST(MinAgeTest, WithoutMinAgeItIsSelect) {
  const CompiledPolicy policy = Compiled(Semver("*", ""));
  const MaturedSelection s =
      policy.SelectMatured({"1.0.0", "2.0.0"}, {kNow, kNow}, kNow);
  ASSERT_TRUE(s.tag.ok());
  EXPECT_EQ(*s.tag, "2.0.0");
  EXPECT_EQ(s.held_back, "");
  EXPECT_EQ(s.next_change, absl::InfiniteFuture());
}

TEST(MinAgeTest, YoungTagsAreHeldBackUntilTheyMature) {
  const CompiledPolicy policy = Compiled(Semver(">=1.0.0"));
  // "latest" matures first but can never change a semver answer.
  const std::vector<std::string> tags = {"1.2.3", "1.3.0", "latest", "1.4.0"};
  const std::vector<absl::Time> seen = {
      kNow - absl::Hours(2), kNow - absl::Minutes(30), kNow - absl::Minutes(59),
      kNow - absl::Minutes(10)};
  const MaturedSelection s = policy.SelectMatured(tags, seen, kNow);
  ASSERT_TRUE(s.tag.ok()) << s.tag.status();
  EXPECT_EQ(*s.tag, "1.2.3");
  EXPECT_EQ(s.held_back, "1.4.0");
  EXPECT_EQ(s.held_back_until, kNow + absl::Minutes(50));
  EXPECT_EQ(s.next_change, kNow + absl::Minutes(30));  // 1.3.0

  // Exactly minAge old counts as old enough.
  const MaturedSelection later =
      policy.SelectMatured(tags, seen, kNow + absl::Minutes(30));
  ASSERT_TRUE(later.tag.ok());
  EXPECT_EQ(*later.tag, "1.3.0");
  EXPECT_EQ(later.next_change, kNow + absl::Minutes(50));

  const MaturedSelection all =
      policy.SelectMatured(tags, seen, kNow + absl::Hours(1));
  ASSERT_TRUE(all.tag.ok());
  EXPECT_EQ(*all.tag, "1.4.0");
  EXPECT_EQ(all.held_back, "");
  EXPECT_EQ(all.next_change, absl::InfiniteFuture());
}

TEST(MinAgeTest, YoungTagsThatWouldNotWinDoNotSchedule) {
  const CompiledPolicy policy = Compiled(Semver("<2.0.0"));
  const MaturedSelection s =
      policy.SelectMatured({"1.5.0", "1.4.0", "2.0.0", "nightly"},
                           {kNow - absl::Hours(3), kNow, kNow, kNow}, kNow);
  ASSERT_TRUE(s.tag.ok());
  EXPECT_EQ(*s.tag, "1.5.0");
  EXPECT_EQ(s.held_back, "");
  EXPECT_EQ(s.next_change, absl::InfiniteFuture());
}

// An equal version that is young changes the answer when it matures only
// where the order puts it first (semver keeps the first of equal versions).
TEST(MinAgeTest, AYoungEqualVersionSchedulesOnlyWhenItWouldWinTheTie) {
  const CompiledPolicy policy = Compiled(Semver(">=1.0.0"));
  const absl::Time old = kNow - absl::Hours(2);
  const absl::Time young = kNow - absl::Minutes(20);
  MaturedSelection s =
      policy.SelectMatured({"v1.2.4", "1.2.4"}, {young, old}, kNow);
  ASSERT_TRUE(s.tag.ok());
  EXPECT_EQ(*s.tag, "1.2.4");
  EXPECT_EQ(s.held_back, "v1.2.4");
  EXPECT_EQ(s.next_change, kNow + absl::Minutes(40));

  s = policy.SelectMatured({"1.2.4", "v1.2.4"}, {old, young}, kNow);
  ASSERT_TRUE(s.tag.ok());
  EXPECT_EQ(*s.tag, "1.2.4");
  EXPECT_EQ(s.held_back, "");
  EXPECT_EQ(s.next_change, absl::InfiniteFuture());
}

TEST(MinAgeTest, NothingOldEnoughIsNotFoundNamingTheHeldBackTag) {
  const CompiledPolicy policy = Compiled(Semver(">=1.0.0"));
  const MaturedSelection s =
      policy.SelectMatured({"1.0.0", "2.0.0", "latest"},
                           {kNow - absl::Minutes(20), kNow - absl::Minutes(10),
                            kNow - absl::Minutes(50)},
                           kNow);
  ASSERT_EQ(s.tag.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.tag.status().message(),
            "no tag is older than spec.minAge 1h; 3 tags held back by minAge, "
            "2.0.0 until 2023-11-14T23:03:20Z");
  EXPECT_EQ(s.held_back, "2.0.0");
  EXPECT_EQ(s.next_change, kNow + absl::Minutes(40));  // 1.0.0
}

TEST(MinAgeTest, NumericalFailureFromAYoungTagIsScheduled) {
  v1::ImagePolicySpec spec;
  spec.mutable_policy()->mutable_numerical()->set_order("asc");
  spec.set_min_age("5m");
  const CompiledPolicy policy = Compiled(spec);
  const MaturedSelection s = policy.SelectMatured(
      {"10", "20", "oops"}, {kNow - absl::Hours(1), kNow, kNow}, kNow);
  ASSERT_TRUE(s.tag.ok()) << s.tag.status();
  EXPECT_EQ(*s.tag, "10");
  EXPECT_EQ(s.next_change, kNow + absl::Minutes(5));
  EXPECT_EQ(policy
                .SelectMatured({"10", "20", "oops"},
                               {kNow - absl::Hours(1), kNow, kNow},
                               kNow + absl::Minutes(5))
                .tag.status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(MinAgeTest, SelectIgnoresMinAge) {
  const CompiledPolicy policy = Compiled(Semver(">=1.0.0", "24h"));
  absl::StatusOr<std::string> tag = policy.Select({"1.0.0", "1.1.0"});
  ASSERT_TRUE(tag.ok());
  EXPECT_EQ(*tag, "1.1.0");
}

}  // namespace
}  // namespace ia::policy
