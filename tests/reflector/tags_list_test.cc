#include "services/reflector/tags_list.h"

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ia::reflector {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

absl::StatusOr<std::vector<std::string>> Parse(absl::string_view body,
                                               int64_t max_tags = 1000) {
  std::vector<std::string> tags;
  absl::Status status = ParseTagsList(body, max_tags, &tags);
  if (!status.ok()) return status;
  return tags;
}

TEST(TagsListTest, ReadsTheTagsOfAPage) {
  auto tags = Parse(R"({"name":"team/app","tags":["1.0.0","latest","v2"]})");
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_THAT(*tags, ElementsAre("1.0.0", "latest", "v2"));
}

TEST(TagsListTest, AppendsToWhatEarlierPagesFound) {
  std::vector<std::string> tags = {"a"};
  ASSERT_TRUE(ParseTagsList(R"({"tags":["b"]})", 10, &tags).ok());
  EXPECT_THAT(tags, ElementsAre("a", "b"));
}

TEST(TagsListTest, WhitespaceAndOtherMembersAnywhere) {
  auto tags = Parse(
      " \r\n\t{ \"extra\" : {\"a\": [1, -2.5e+3, true, false, null, {}, []]},"
      " \"tags\" :\n [ \"x\" ,\"y\" ] , \"name\": \"n\", \"z\": 0 } \n");
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_THAT(*tags, ElementsAre("x", "y"));
}

TEST(TagsListTest, NoTagsWhenAbsentNullOrEmpty) {
  for (absl::string_view body :
       {R"({})", R"({"name":"a"})", R"({"tags":null})", R"({"tags":[]})"}) {
    auto tags = Parse(body);
    ASSERT_TRUE(tags.ok()) << body << ": " << tags.status();
    EXPECT_THAT(*tags, IsEmpty()) << body;
  }
}

TEST(TagsListTest, TheLastTagsMemberWins) {
  auto tags = Parse(R"({"tags":["a","b"],"tags":["c"]})");
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_THAT(*tags, ElementsAre("c"));
  tags = Parse(R"({"tags":["a"],"tags":null})");
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_THAT(*tags, IsEmpty());
}

TEST(TagsListTest, DecodesEscapes) {
  auto tags =
      Parse(R"({"t\u0061gs":["a\"b","c\\d","e\/f","\b\f\n\r\t","\u00e9\u20ac",)"
            R"("\ud83d\ude00","\u0041"]})");
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_THAT(*tags,
              ElementsAre("a\"b", "c\\d", "e/f", "\b\f\n\r\t",
                          "\xc3\xa9\xe2\x82\xac", "\xf0\x9f\x98\x80", "A"));
}

TEST(TagsListTest, KeepsValidUtf8) {
  auto tags = Parse(
      "{\"tags\":[\"caf\xc3\xa9\",\"\xe2\x82\xac\","
      "\"\xf0\x9f\x98\x80\"]}");
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_THAT(*tags,
              ElementsAre("caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"));
}

TEST(TagsListTest, RejectsMalformedRepliesSayingWhy) {
  struct Case {
    std::string body;
    std::string why;
  };
  const std::vector<Case> cases = {
      {"", "expected a JSON object but the reply ends at byte 0"},
      {" \n", "expected a JSON object but the reply ends at byte 2"},
      {"[\"a\"]", "not a JSON object"},
      {"{\"tags\":[\"a\",\"b\"", "reply ends at byte"},
      {"{\"tags\":[\"a\" \"b\"]}", "expected ',' or ']' at byte 13"},
      {"{\"tags\":[\"a\",]}", "holds a value that is not a string"},
      {"{\"tags\":[1]}", "holds a value that is not a string"},
      {"{\"tags\":\"a\"}", "\"tags\" is not an array"},
      {"{\"tags\":{}}", "\"tags\" is not an array"},
      {"{\"tags\":[]} x", "expected the end of the reply"},
      {"{\"tags\":[]}{}", "expected the end of the reply"},
      {"{\"tags\":[],}", "expected a member name"},
      {"{tags:[]}", "expected a member name"},
      {"{\"tags\" []}", "expected ':'"},
      {"{\"a\":tru,\"tags\":[]}", "expected a JSON value"},
      {"{\"a\":01}", "expected ',' or '}'"},
      {"{\"a\":1.}", "expected a digit"},
      {"{\"a\":-}", "expected a digit"},
      {"{\"a\":1e}", "expected a digit"},
      {"{\"tags\":[\"a\\x\"]}", "invalid escape in a string at byte 11"},
      {"{\"tags\":[\"\\u12g4\"]}", "invalid \\u escape"},
      {"{\"tags\":[\"\\ud83d\"]}", "high surrogate without its pair"},
      {"{\"tags\":[\"\\ud83d\\u0041\"]}", "high surrogate without its pair"},
      {"{\"tags\":[\"\\ude00\"]}", "lone low surrogate"},
      {"{\"tags\":[\"a\nb\"]}", "control character"},
      {"{\"tags\":[\"\xc3\"]}", "invalid UTF-8"},
      {"{\"tags\":[\"\xc0\xaf\"]}", "invalid UTF-8"},          // overlong
      {"{\"tags\":[\"\xed\xa0\x80\"]}", "invalid UTF-8"},      // surrogate
      {"{\"tags\":[\"\xf4\x90\x80\x80\"]}", "invalid UTF-8"},  // > U+10FFFF
      {"{\"tags\":[\"\xff\"]}", "invalid UTF-8"},
      {std::string("{\"tags\":[\"a\0\"]}", 14), "control character"},
      {"{\"a\":\"\xc3\"}", "invalid UTF-8"},
      {std::string(100, '['), "not a JSON object"},
      {"{\"a\":" + std::string(100, '[') + std::string(100, ']') + "}",
       "nesting deeper than 64"},
  };
  for (const Case& c : cases) {
    auto tags = Parse(c.body);
    EXPECT_EQ(tags.status().code(), absl::StatusCode::kDataLoss) << c.body;
    EXPECT_THAT(tags.status().message(), HasSubstr(c.why)) << c.body;
  }
}

TEST(TagsListTest, StopsAtTheLimit) {
  auto tags = Parse(R"({"tags":["a","b","c"]})", /*max_tags=*/2);
  EXPECT_EQ(tags.status().code(), absl::StatusCode::kResourceExhausted);
  tags = Parse(R"({"tags":["a","b"]})", /*max_tags=*/2);
  ASSERT_TRUE(tags.ok()) << tags.status();
  // The limit counts the names of earlier pages too.
  std::vector<std::string> names = {"x"};
  EXPECT_EQ(ParseTagsList(R"({"tags":["a","b"]})", 2, &names).code(),
            absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace ia::reflector
