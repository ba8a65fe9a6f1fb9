#include "services/reflector/tag_sets.h"

#include "common/objects.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ia::reflector {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Names(const v1::TagSet& tag_set) {
  std::vector<std::string> names;
  for (const auto& tag : tag_set.tags()) names.push_back(tag.name());
  return names;
}

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

TEST(Exclusions, MatchUnanchoredAndReportBadPatterns) {
  auto exclusions = Exclusions::Compile({"^.*\\.sig$", "dev"});
  ASSERT_TRUE(exclusions.ok());
  EXPECT_TRUE(exclusions->Excludes("sha256-abc.sig"));
  EXPECT_TRUE(exclusions->Excludes("1.0.0-dev.1"));
  EXPECT_FALSE(exclusions->Excludes("1.0.0"));
  auto bad = Exclusions::Compile({"ok", "a("});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("spec.exclusionList[1]"));
}

TEST(MergeScan, SortsDeduplicatesExcludesAndKeepsFirstSeen) {
  auto exclusions = *Exclusions::Compile({"^.*\\.sig$"});
  v1::TagSet first =
      MergeScan(nullptr, {"b", "a", "a.sig", "b"}, exclusions, kT0, kT0);
  EXPECT_THAT(Names(first), ElementsAre("a", "b"));
  EXPECT_EQ(FromProtoTime(first.tags(0).first_seen()), kT0);

  const absl::Time t1 = kT0 + absl::Hours(1);
  v1::TagSet second = MergeScan(&first, {"c", "a"}, exclusions, t1, t1);
  EXPECT_THAT(Names(second), ElementsAre("a", "c"));
  EXPECT_EQ(FromProtoTime(second.tags(0).first_seen()), kT0);
  EXPECT_EQ(FromProtoTime(second.tags(1).first_seen()), t1);
  EXPECT_NE(first.revision(), second.revision());
}

TEST(MergeScan, KeepsTagsPushedAfterTheScanStarted) {
  auto exclusions = *Exclusions::Compile({});
  v1::TagSet stored = MergeScan(nullptr, {"1.0.0"}, exclusions, kT0, kT0);
  const absl::Time scan_start = kT0 + absl::Minutes(1);
  // A push notification lands while the scan runs...
  ASSERT_TRUE(AddTag(&stored, "2.0.0", scan_start + absl::Seconds(1)));
  // ...and one landed before it started (the registry has dropped it since).
  ASSERT_TRUE(AddTag(&stored, "0.9.0", scan_start - absl::Seconds(1)));
  v1::TagSet merged = MergeScan(&stored, {"1.0.0"}, exclusions, scan_start,
                                scan_start + absl::Seconds(2));
  EXPECT_THAT(Names(merged), ElementsAre("1.0.0", "2.0.0"));
  // Within the scan's first second (first-seen times are whole seconds).
  v1::TagSet again = MergeScan(nullptr, {"1.0.0"}, exclusions, kT0, kT0);
  ASSERT_TRUE(AddTag(&again, "3.0.0", scan_start + absl::Milliseconds(300)));
  merged = MergeScan(&again, {"1.0.0"}, exclusions,
                     scan_start + absl::Milliseconds(200),
                     scan_start + absl::Seconds(1));
  EXPECT_THAT(Names(merged), ElementsAre("1.0.0", "3.0.0"));
}

TEST(MergeScan, KeepsTagsFirstSeenSinceKeepSince) {
  auto exclusions = *Exclusions::Compile({});
  v1::TagSet stored = MergeScan(nullptr, {"1.0.0"}, exclusions, kT0, kT0);
  const absl::Time scan_start = kT0 + absl::Minutes(1);
  // Pushed 3 s and 10 s before the scan; the first is not yet confirmed.
  ASSERT_TRUE(AddTag(&stored, "2.0.0", scan_start - absl::Seconds(3)));
  ASSERT_TRUE(AddTag(&stored, "0.9.0", scan_start - absl::Seconds(10)));
  v1::TagSet merged =
      MergeScan(&stored, {"1.0.0"}, exclusions,
                /*keep_since=*/scan_start - absl::Seconds(3), scan_start);
  EXPECT_THAT(Names(merged), ElementsAre("1.0.0", "2.0.0"));
}

TEST(Revision, ChangesExactlyWhenNamesDo) {
  auto exclusions = *Exclusions::Compile({});
  v1::TagSet a = MergeScan(nullptr, {"x", "y"}, exclusions, kT0, kT0);
  v1::TagSet b =
      MergeScan(nullptr, {"y", "x"}, exclusions, kT0, kT0 + absl::Hours(1));
  v1::TagSet c = MergeScan(nullptr, {"xy"}, exclusions, kT0, kT0);
  EXPECT_EQ(a.revision(), b.revision());
  EXPECT_NE(a.revision(), c.revision());
  EXPECT_EQ(a.revision().size(), 32u);
}

TEST(MergeScan, FirstSeenIsKeptToTheSecond) {
  auto exclusions = *Exclusions::Compile({});
  const absl::Time now = kT0 + absl::Milliseconds(1234);
  v1::TagSet set = MergeScan(nullptr, {"a"}, exclusions, now, now);
  EXPECT_EQ(set.tags(0).first_seen().seconds(), absl::ToUnixSeconds(kT0) + 1);
  EXPECT_EQ(set.tags(0).first_seen().nanos(), 0);
  ASSERT_TRUE(AddTag(&set, "b", now));
  EXPECT_EQ(set.tags(1).first_seen().nanos(), 0);
}

TEST(AddTag, InsertsInOrderOnce) {
  v1::TagSet set;
  EXPECT_TRUE(AddTag(&set, "b", kT0));
  EXPECT_TRUE(AddTag(&set, "a", kT0));
  EXPECT_TRUE(AddTag(&set, "c", kT0));
  EXPECT_FALSE(AddTag(&set, "b", kT0));
  EXPECT_THAT(Names(set), ElementsAre("a", "b", "c"));
}

TEST(LatestTags, TenInDescendingByteOrder) {
  auto exclusions = *Exclusions::Compile({});
  std::vector<std::string> tags;
  for (char c = 'a'; c <= 'l'; ++c) tags.push_back(std::string(1, c));
  v1::TagSet set = MergeScan(nullptr, tags, exclusions, kT0, kT0);
  EXPECT_THAT(LatestTags(set),
              ElementsAre("l", "k", "j", "i", "h", "g", "f", "e", "d", "c"));
  EXPECT_THAT(LatestTags(set, 2), ElementsAre("l", "k"));
}

}  // namespace
}  // namespace ia::reflector
