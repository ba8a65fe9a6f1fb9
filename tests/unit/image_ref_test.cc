#include "common/image_ref.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ia {
namespace {

using ::testing::HasSubstr;

struct Case {
  const char* text;
  const char* domain;
  const char* path;
  const char* tag;
  const char* digest;
  const char* canonical;
};

class ParseTest : public ::testing::TestWithParam<Case> {};

TEST_P(ParseTest, SplitsAndCanonicalises) {
  const Case& c = GetParam();
  auto ref = ParseImageReference(c.text);
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->domain, c.domain);
  EXPECT_EQ(ref->path, c.path);
  EXPECT_EQ(ref->tag, c.tag);
  EXPECT_EQ(ref->digest, c.digest);
  EXPECT_EQ(ref->CanonicalName(), c.canonical);
}

const std::string kSha = "sha256:" + std::string(64, 'a');

INSTANTIATE_TEST_SUITE_P(
    Grammar, ParseTest,
    ::testing::Values(
        Case{"nginx", "docker.io", "library/nginx", "", "",
             "index.docker.io/library/nginx"},
        Case{"nginx:1.25", "docker.io", "library/nginx", "1.25", "",
             "index.docker.io/library/nginx"},
        Case{"docker.io/myorg/my-app", "docker.io", "myorg/my-app", "", "",
             "index.docker.io/myorg/my-app"},
        Case{"index.docker.io/nginx", "docker.io", "library/nginx", "", "",
             "index.docker.io/library/nginx"},
        Case{"registry-1.docker.io/org/app", "docker.io", "org/app", "", "",
             "index.docker.io/org/app"},
        Case{"ghcr.io/stefanprodan/podinfo:6.5.0", "ghcr.io",
             "stefanprodan/podinfo", "6.5.0", "",
             "ghcr.io/stefanprodan/podinfo"},
        Case{"localhost:5000/team/app", "localhost:5000", "team/app", "", "",
             "localhost:5000/team/app"},
        Case{"localhost/app", "localhost", "app", "", "", "localhost/app"},
        Case{"127.0.0.1:5000/a/b/c:v1", "127.0.0.1:5000", "a/b/c", "v1", "",
             "127.0.0.1:5000/a/b/c"},
        Case{"[::1]:5000/app", "[::1]:5000", "app", "", "", "[::1]:5000/app"},
        Case{"123456789.dkr.ecr.us-east-1.amazonaws.com/my-app",
             "123456789.dkr.ecr.us-east-1.amazonaws.com", "my-app", "", "",
             "123456789.dkr.ecr.us-east-1.amazonaws.com/my-app"},
        Case{"quay.io/a__b/c.d_e---f", "quay.io", "a__b/c.d_e---f", "", "",
             "quay.io/a__b/c.d_e---f"},
        Case{"org/app", "docker.io", "org/app", "", "",
             "index.docker.io/org/app"}));

TEST(ImageReference, DigestWithAndWithoutTag) {
  auto ref = ParseImageReference("ghcr.io/org/app:1.0@" + kSha);
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->tag, "1.0");
  EXPECT_EQ(ref->digest, kSha);
  ref = ParseImageReference("ghcr.io/org/app@" + kSha);
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->tag, "");
  EXPECT_EQ(ref->RegistryHost(), "ghcr.io");
  EXPECT_EQ(ParseImageReference("nginx")->RegistryHost(),
            "registry-1.docker.io");
}

TEST(ImageReference, ErrorsQuoteTheTextAndSayWhatIsWrong) {
  auto r = ParseImageReference("https://ghcr.io/org/app");
  EXPECT_THAT(r.status().message(), HasSubstr("scheme"));
  r = ParseImageReference("ghcr.io/Org/app");
  EXPECT_THAT(r.status().message(), HasSubstr("\"Org\""));
  r = ParseImageReference("ghcr.io/org/app:-bad");
  EXPECT_THAT(r.status().message(), HasSubstr("invalid tag \"-bad\""));
  r = ParseImageReference("ghcr.io/org/app@sha256:abc");
  EXPECT_THAT(r.status().message(), HasSubstr("invalid digest"));
  r = ParseImageReference("ghcr.io/org//app");
  EXPECT_THAT(r.status().message(), HasSubstr("a path component is empty"));
  r = ParseImageReference("Example/app");  // upper case: a registry host
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->domain, "Example");
  r = ParseImageReference("bad_host.io:x/app");
  EXPECT_FALSE(r.ok());
  r = ParseImageReference("");
  EXPECT_FALSE(r.ok());
  r = ParseImageReference("a" + std::string(300, 'b'));
  EXPECT_THAT(r.status().message(), HasSubstr("255"));
  r = ParseImageReference("my app");
  EXPECT_THAT(r.status().message(), HasSubstr("spaces"));
}

}  // namespace
}  // namespace ia

namespace ia {
namespace {

TEST(IsValidTagTest, FollowsTheDistributionGrammar) {
  struct Case {
    std::string tag;
    bool valid;
  };
  const std::vector<Case> cases = {
      {"1.2.3", true},
      {"v1.2.3-rc.1", true},
      {"_private", true},
      {"latest", true},
      {"a", true},
      {std::string(128, 'a'), true},
      {"", false},
      {std::string(129, 'a'), false},
      {".hidden", false},
      {"-dash", false},
      {"has space", false},
      {"plus+build", false},
      {"colon:tag", false},
      {"slash/tag", false},
      {"\xc3\xa9t\xc3\xa9", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(IsValidTag(c.tag), c.valid) << "tag \"" << c.tag << "\"";
  }
}

}  // namespace
}  // namespace ia
