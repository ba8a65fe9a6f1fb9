#include "common/git_url.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ia {
namespace {

using ::testing::HasSubstr;

TEST(ParseGitUrlTest, Forms) {
  struct Case {
    std::string url;
    std::string scheme, user, password, host;
    int port;
    std::string path;
    bool scp;
  };
  const std::vector<Case> cases = {
      {"https://user:p%40ss@git.example:8443/org/repo.git", "https", "user",
       "p@ss", "git.example", 8443, "/org/repo.git", false},
      {"HTTP://host", "http", "", "", "host", 0, "/", false},
      {"ssh://git@[::1]:2222/repo.git", "ssh", "git", "", "::1", 2222,
       "/repo.git", false},
      {"git@github.com:org/repo.git", "ssh", "git", "", "github.com", 0,
       "org/repo.git", true},
      {"host:repo.git", "ssh", "", "", "host", 0, "repo.git", true},
      {"file:///srv/git/repo.git", "file", "", "", "", 0, "/srv/git/repo.git",
       false},
  };
  for (const Case& c : cases) {
    absl::StatusOr<GitUrl> url = ParseGitUrl(c.url);
    ASSERT_TRUE(url.ok()) << c.url << ": " << url.status();
    EXPECT_EQ(url->scheme, c.scheme) << c.url;
    EXPECT_EQ(url->user, c.user) << c.url;
    EXPECT_EQ(url->password, c.password) << c.url;
    EXPECT_EQ(url->host, c.host) << c.url;
    EXPECT_EQ(url->port, c.port) << c.url;
    EXPECT_EQ(url->path, c.path) << c.url;
    EXPECT_EQ(url->scp, c.scp) << c.url;
  }
}

TEST(ParseGitUrlTest, SaysWhatIsWrongWithoutTheCredentials) {
  struct Case {
    std::string url;
    std::string problem;
  };
  const std::vector<Case> cases = {
      {"ftp://host/repo", "has the unsupported scheme \"ftp\""},
      {"/srv/git/repo.git", "is not a URL"},
      {"repo", "is not a URL"},
      {"https:///path", "has no host"},
      {"git@:x", "has no host"},
      {":x", "has no host"},
      {"git@github.com:", "has no path"},
      {"file://", "has no path"},
      {"file://srv/repo", "needs an absolute path"},
      {"https://host:0/r", "has an invalid port"},
      {"https://host:x/r", "has an invalid port"},
      {"ssh://[::1/r", "has an unclosed '['"},
      {"https://host/a b", "must not contain spaces or control characters"},
      {"https://user:secret@host:x/r", "has an invalid port"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<GitUrl> url = ParseGitUrl(c.url);
    ASSERT_TRUE(absl::IsInvalidArgument(url.status())) << c.url;
    EXPECT_THAT(url.status().message(), HasSubstr(c.problem)) << c.url;
    EXPECT_THAT(url.status().message(), HasSubstr("(use https://")) << c.url;
    EXPECT_THAT(url.status().message(), ::testing::Not(HasSubstr("secret")))
        << c.url;
  }
}

TEST(RedactUrlTest, DropsPasswordsAndHttpUserInfo) {
  EXPECT_EQ(RedactUrl("https://user:secret@host/repo.git"),
            "https://host/repo.git");
  EXPECT_EQ(RedactUrl("http://token@host:8080/repo.git"),
            "http://host:8080/repo.git");
  EXPECT_EQ(RedactUrl("ssh://git:secret@host:22/repo.git"),
            "ssh://git@host:22/repo.git");
  EXPECT_EQ(RedactUrl("ssh://git@host/repo.git"), "ssh://git@host/repo.git");
  EXPECT_EQ(RedactUrl("git@host:org/repo.git"), "git@host:org/repo.git");
  EXPECT_EQ(RedactUrl("https://host/a@b"), "https://host/a@b");
}

}  // namespace
}  // namespace ia
