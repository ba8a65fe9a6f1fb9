#include "services/reflector/push_events.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/objects.h"

namespace ia::reflector {
namespace {

using ::testing::HasSubstr;

TEST(ParsePushEvents, DistributionEnvelopeKeepsTaggedPushesOnly) {
  bool envelope = false;
  auto pushes = ParsePushEvents(R"({"events":[
    {"action":"pull","target":{"repository":"team/app","tag":"1.0.0"}},
    {"action":"push","target":{"repository":"team/app","digest":"sha256:aa"}},
    {"action":"push","target":{"repository":"team/app","tag":"1.3.0"},
     "request":{"host":"registry.local:5000"}},
    {"action":"push","target":{"repository":"nginx","tag":"1.25"}}]})",
                                &envelope);
  ASSERT_TRUE(pushes.ok()) << pushes.status();
  EXPECT_TRUE(envelope);
  ASSERT_EQ(pushes->size(), 2u);
  EXPECT_EQ((*pushes)[0].host, "registry.local:5000");
  EXPECT_EQ((*pushes)[0].path, "team/app");
  EXPECT_EQ((*pushes)[0].tag, "1.3.0");
  EXPECT_EQ((*pushes)[1].host, "");
  EXPECT_EQ((*pushes)[1].path, "nginx");
}

TEST(ParsePushEvents, GenericFormsNormaliseTheImage) {
  bool envelope = true;
  auto one = ParsePushEvents(R"({"image":"nginx","tag":"1.25"})", &envelope);
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_FALSE(envelope);
  EXPECT_EQ((*one)[0].host, "docker.io");
  EXPECT_EQ((*one)[0].path, "library/nginx");
  auto tagged = ParsePushEvents(R"([{"image":"ghcr.io/org/app:2.0.0"}])");
  ASSERT_TRUE(tagged.ok()) << tagged.status();
  EXPECT_EQ((*tagged)[0].host, "ghcr.io");
  EXPECT_EQ((*tagged)[0].tag, "2.0.0");
}

TEST(ParsePushEvents, ErrorsSayWhere) {
  struct Case {
    const char* body;
    const char* message;
  } cases[] = {
      {"not json", "not valid JSON"},
      {"42", "expected {\"image\""},
      {R"({"image":"app"})", "tag: required"},
      {R"({"image":"Bad/App","tag":"1"})", "image:"},
      {R"({"image":7,"tag":"1"})", "image: must be a string"},
      {R"({"events":{}})", "events: must be an array"},
      {R"({"events":[{"action":"push"}]})", "events[0].target"},
      {R"({"events":[{"action":"push","target":{"repository":"a","tag":"-x"}}]})",
       "events[0].target.tag"},
      {R"([{"image":"a","tag":"1"},{"image":"b"}])", "[1].tag"},
  };
  for (const Case& c : cases) {
    auto result = ParsePushEvents(c.body);
    ASSERT_FALSE(result.ok()) << c.body;
    EXPECT_TRUE(absl::IsInvalidArgument(result.status()));
    EXPECT_THAT(result.status().message(), HasSubstr(c.message)) << c.body;
  }
}

TEST(MatchPush, Table) {
  struct Case {
    const char* name;
    const char* image;
    PushedTag push;
    PushMatch want;
    bool suspend = false;
  } cases[] = {
      {"same host and path",
       "registry.local:5000/team/app",
       {"registry.local:5000", "team/app", "1.3.0"},
       PushMatch::kAddTag},
      {"no host: path only",
       "registry.local:5000/team/app",
       {"", "team/app", "1.3.0"},
       PushMatch::kAddTag},
      {"Docker Hub's registry host",
       "nginx",
       {"registry-1.docker.io", "library/nginx", "1.25"},
       PushMatch::kAddTag},
      {"other path",
       "registry.local/team/app",
       {"registry.local", "team/other", "1.0"},
       PushMatch::kNone},
      {"other host",
       "registry.local/team/app",
       {"mirror.local", "team/app", "1.0"},
       PushMatch::kScanOnly},
      {"excluded by the default exclusion list",
       "registry.local/team/app",
       {"registry.local", "team/app", "1.0.sig"},
       PushMatch::kExcluded},
      {"suspended",
       "registry.local/team/app",
       {"registry.local", "team/app", "1.0"},
       PushMatch::kNone,
       true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ::imageautomation::v1::ImageRepository repository =
        testing::TestRepository("app", c.image, "1h");
    repository.mutable_spec()->add_exclusion_list("^.*\\.sig$");
    repository.mutable_spec()->set_suspend(c.suspend);
    EXPECT_EQ(static_cast<int>(MatchPush(repository, c.push)),
              static_cast<int>(c.want));
  }
}

}  // namespace
}  // namespace ia::reflector
