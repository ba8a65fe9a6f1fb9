// The stored form of tag sets (tag_set_store.h): compact, read back
// exactly, and the bare serialized form of earlier versions still read.
#include "services/reflector/tag_set_store.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"

namespace ia::reflector {
namespace {

namespace v1 = ::imageautomation::v1;

// A set like a CI registry's: semver tags and commit-hash tags.
v1::TagSet BigSet() {
  v1::TagSet tag_set;
  tag_set.mutable_repository()->set_namespace_("apps");
  tag_set.mutable_repository()->set_name("app");
  tag_set.set_image("registry.local/team/app");
  tag_set.set_revision("0123456789abcdef0123456789abcdef");
  for (int i = 0; i < 1000; ++i) {
    v1::Tag* tag = tag_set.add_tags();
    tag->set_name(i % 2 == 0
                      ? absl::StrCat(i / 200, ".", (i / 20) % 10, ".", i % 20)
                      : absl::StrFormat("main-%07x-%d",
                                        (i * 2654435761u) & 0xfffffff,
                                        1700000000 + i * 37));
    tag->mutable_first_seen()->set_seconds(1700000000 + (i / 100) * 60);
  }
  return tag_set;
}

TEST(TagSetStoredFormTest, RoundTripsAndIsSmallerThanTheMessage) {
  const v1::TagSet tag_set = BigSet();
  const std::string stored = EncodeTagSet(tag_set);
  EXPECT_LT(stored.size(), tag_set.ByteSizeLong() / 3);
  v1::TagSet back;
  ASSERT_TRUE(DecodeTagSet(stored, &back));
  EXPECT_EQ(back.SerializeAsString(), tag_set.SerializeAsString());

  v1::TagSet empty;
  ASSERT_TRUE(DecodeTagSet(EncodeTagSet(v1::TagSet()), &empty));
  EXPECT_EQ(empty.tags_size(), 0);
}

TEST(TagSetStoredFormTest, ReadsTheBareMessageOfEarlierVersions) {
  const v1::TagSet tag_set = BigSet();
  v1::TagSet back;
  ASSERT_TRUE(DecodeTagSet(tag_set.SerializeAsString(), &back));
  EXPECT_EQ(back.tags_size(), 1000);
  EXPECT_EQ(back.revision(), tag_set.revision());
}

TEST(TagSetStoredFormTest, RejectsDamagedBytes) {
  const std::string stored = EncodeTagSet(BigSet());
  v1::TagSet back;
  EXPECT_FALSE(DecodeTagSet(stored.substr(0, stored.size() / 2), &back));
  EXPECT_FALSE(DecodeTagSet(stored.substr(0, 1), &back));
  std::string other_format = stored;
  other_format[1] = 2;
  EXPECT_FALSE(DecodeTagSet(other_format, &back));
  std::string flipped = stored;
  flipped[stored.size() / 2] ^= 0x55;
  EXPECT_FALSE(DecodeTagSet(flipped, &back));
  EXPECT_FALSE(DecodeTagSet(std::string("\x0a\x05"
                                        "ab"),
                            &back));
}

}  // namespace
}  // namespace ia::reflector
