#include "common/objects.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/time/time.h"

namespace ia {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

TEST(ObjectsKind, NamesEachKind) {
  EXPECT_EQ(KindOf(AnyObject(v1::ImageRepository())), "ImageRepository");
  EXPECT_EQ(KindOf(AnyObject(v1::ImagePolicy())), "ImagePolicy");
  EXPECT_EQ(KindOf(AnyObject(v1::ImageUpdateAutomation())),
            "ImageUpdateAutomation");
  EXPECT_EQ(KindOf(AnyObject(v1::GitRepository())), "GitRepository");
}

TEST(ObjectsKeys, BuildsAndSplitsKeys) {
  v1::ImagePolicy policy;
  policy.mutable_metadata()->set_name("app");
  policy.mutable_metadata()->set_namespace_("apps");
  const AnyObject object = policy;
  EXPECT_EQ(MetaOf(object).name(), "app");
  EXPECT_EQ(KeyOf(MetaOf(object)), "apps/app");
  EXPECT_EQ(KeyOf("ns", "n"), "ns/n");
  EXPECT_EQ(DisplayName("ImagePolicy", policy.metadata()),
            "ImagePolicy apps/app");
  std::string ns, name;
  ASSERT_TRUE(SplitKey("apps/app", &ns, &name));
  EXPECT_EQ(ns, "apps");
  EXPECT_EQ(name, "app");
  EXPECT_FALSE(SplitKey("no-slash", &ns, &name));
}

TEST(ObjectsConditions, AddsAndFinds) {
  google::protobuf::RepeatedPtrField<v1::Condition> conditions;
  EXPECT_EQ(FindCondition(conditions, kReady), nullptr);
  SetCondition(&conditions, kReady, kTrue, "Succeeded", "ok", 3, kT0);
  const v1::Condition* ready = FindCondition(conditions, kReady);
  ASSERT_NE(ready, nullptr);
  EXPECT_EQ(ready->status(), "True");
  EXPECT_EQ(ready->reason(), "Succeeded");
  EXPECT_EQ(ready->message(), "ok");
  EXPECT_EQ(ready->observed_generation(), 3);
  EXPECT_EQ(FromProtoTime(ready->last_transition_time()), kT0);
}

TEST(ObjectsConditions, KeepsTransitionTimeWhileStatusIsUnchanged) {
  google::protobuf::RepeatedPtrField<v1::Condition> conditions;
  SetCondition(&conditions, kReady, kFalse, "Failure", "first", 1, kT0);
  SetCondition(&conditions, kReady, kFalse, "Other", "second", 2,
               kT0 + absl::Minutes(5));
  ASSERT_EQ(conditions.size(), 1);
  EXPECT_EQ(conditions[0].reason(), "Other");
  EXPECT_EQ(conditions[0].message(), "second");
  EXPECT_EQ(conditions[0].observed_generation(), 2);
  EXPECT_EQ(FromProtoTime(conditions[0].last_transition_time()), kT0);

  SetCondition(&conditions, kReady, kTrue, "Succeeded", "third", 2,
               kT0 + absl::Minutes(9));
  EXPECT_EQ(FromProtoTime(conditions[0].last_transition_time()),
            kT0 + absl::Minutes(9));
}

TEST(ObjectsConditions, RemovesOnlyTheGivenType) {
  google::protobuf::RepeatedPtrField<v1::Condition> conditions;
  SetCondition(&conditions, kReady, kTrue, "R", "", 1, kT0);
  SetCondition(&conditions, kStalled, kTrue, "S", "", 1, kT0);
  SetCondition(&conditions, kReconciling, kTrue, "C", "", 1, kT0);
  RemoveCondition(&conditions, kStalled);
  RemoveCondition(&conditions, "Absent");
  ASSERT_EQ(conditions.size(), 2);
  EXPECT_NE(FindCondition(conditions, kReady), nullptr);
  EXPECT_NE(FindCondition(conditions, kReconciling), nullptr);
  EXPECT_EQ(FindCondition(conditions, kStalled), nullptr);
}

TEST(ObjectsTime, ConvertsBothWaysIncludingBeforeTheEpoch) {
  for (absl::Time t :
       {kT0, kT0 + absl::Nanoseconds(123456789),
        absl::UnixEpoch() - absl::Nanoseconds(1),
        absl::UnixEpoch() - absl::Seconds(90) + absl::Milliseconds(250)}) {
    const google::protobuf::Timestamp ts = ToProtoTime(t);
    EXPECT_GE(ts.nanos(), 0);
    EXPECT_LT(ts.nanos(), 1'000'000'000);
    EXPECT_EQ(FromProtoTime(ts), t);
  }
  const google::protobuf::Timestamp ts =
      ToProtoTime(absl::UnixEpoch() - absl::Nanoseconds(1));
  EXPECT_EQ(ts.seconds(), -1);
  EXPECT_EQ(ts.nanos(), 999'999'999);
}

}  // namespace
}  // namespace ia
