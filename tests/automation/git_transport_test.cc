// The parts of the Git layer libgit2 leaves to us, tested directly: URL
// parsing and redaction, known_hosts matching, the SHA256 fingerprint.
#include "services/automation/git_transport.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/automation/git_test_util.h"
#include "tests/support/harness.h"

namespace ia::automation::git_internal {
namespace {

using ::ia::automation::testing::ReadText;
using ::ia::testing::RunCommand;
using ::ia::testing::TempDir;
using ::testing::HasSubstr;

// ParseGitUrl and RedactUrl: tests/unit/git_url_test.cc.
TEST(RedactMessageTest, RedactsCredentials) {
  EXPECT_EQ(
      RedactMessage("failed 'https://u:pw1234@h/r.git' and http://x@y/z", {}),
      "failed 'https://h/r.git' and http://y/z");
  EXPECT_EQ(RedactMessage("from ssh://git:pw@h:22/r.git: no", {}),
            "from ssh://git@h:22/r.git: no");
  EXPECT_EQ(RedactMessage("token abcd1234 leaked; short abc kept",
                          {"abcd1234", "abc", ""}),
            "token *** leaked; short abc kept");
}

class KnownHostsTest : public ::testing::Test {
 protected:
  // A fresh ed25519 key: its known_hosts fields and blob.
  struct Key {
    std::string type, base64, blob;
  };
  Key NewKey(const std::string& name) {
    const std::string path = tmp_.Join(name);
    auto r = RunCommand("/usr/bin/ssh-keygen",
                        {"-q", "-t", "ed25519", "-N", "", "-f", path});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> f = absl::StrSplit(ReadText(path + ".pub"), ' ');
    Key key{f[0], f[1], ""};
    absl::Base64Unescape(key.base64, &key.blob);
    return key;
  }
  TempDir tmp_;
};

TEST_F(KnownHostsTest, MatchesPlainPatternsAndPorts) {
  const Key key = NewKey("a");
  const Key other = NewKey("b");
  const std::string line =
      absl::StrCat("[127.0.0.1]:2222 ", key.type, " ", key.base64, "\n");
  EXPECT_TRUE(CheckSshHostKey(line, "127.0.0.1", 2222, key.blob).ok());
  auto wrong_port = CheckSshHostKey(line, "127.0.0.1", 2223, key.blob);
  EXPECT_TRUE(absl::IsFailedPrecondition(wrong_port));
  EXPECT_THAT(wrong_port.message(), HasSubstr("host key of [127.0.0.1]:2223"));
  EXPECT_THAT(wrong_port.message(), HasSubstr("is not in known_hosts"));
  auto changed = CheckSshHostKey(line, "127.0.0.1", 2222, other.blob);
  EXPECT_TRUE(absl::IsFailedPrecondition(changed));
  EXPECT_THAT(changed.message(), HasSubstr("does not match known_hosts"));
  EXPECT_THAT(changed.message(), HasSubstr(SshFingerprint(other.blob)));

  // Port 22 (or none) is written without brackets; lists, wildcards, negation.
  const std::string list =
      absl::StrCat("# comment\n\n", "git.example,other.example ", key.type, " ",
                   key.base64, " c\n", "*.corp.example,!bad.corp.example ",
                   key.type, " ", key.base64, "\n");
  EXPECT_TRUE(CheckSshHostKey(list, "git.example", 22, key.blob).ok());
  EXPECT_TRUE(CheckSshHostKey(list, "other.example", 0, key.blob).ok());
  EXPECT_TRUE(CheckSshHostKey(list, "a.corp.example", 22, key.blob).ok());
  EXPECT_FALSE(CheckSshHostKey(list, "bad.corp.example", 22, key.blob).ok());
  EXPECT_FALSE(CheckSshHostKey(list, "git.example", 2222, key.blob).ok());
  // The key is one of several for the host: accepted.
  const std::string two = absl::StrCat("h ", other.type, " ", other.base64,
                                       "\nh ", key.type, " ", key.base64, "\n");
  EXPECT_TRUE(CheckSshHostKey(two, "h", 22, key.blob).ok());
}

TEST_F(KnownHostsTest, MatchesHashedHostsAndHonoursRevoked) {
  const Key key = NewKey("a");
  const std::string file = tmp_.WriteFile(
      "known_hosts",
      absl::StrCat("[127.0.0.1]:2222 ", key.type, " ", key.base64, "\n"));
  auto r = RunCommand("/usr/bin/ssh-keygen", {"-H", "-f", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string hashed = ReadText(file);
  ASSERT_THAT(hashed, HasSubstr("|1|"));
  EXPECT_TRUE(CheckSshHostKey(hashed, "127.0.0.1", 2222, key.blob).ok());
  EXPECT_FALSE(CheckSshHostKey(hashed, "127.0.0.2", 2222, key.blob).ok());

  const std::string revoked =
      absl::StrCat("@revoked * ", key.type, " ", key.base64, "\n", "h ",
                   key.type, " ", key.base64, "\n");
  auto status = CheckSshHostKey(revoked, "h", 22, key.blob);
  EXPECT_TRUE(absl::IsFailedPrecondition(status));
  EXPECT_THAT(status.message(), HasSubstr("@revoked"));
}

TEST_F(KnownHostsTest, FingerprintIsOpenSshs) {
  const Key key = NewKey("a");
  auto r = RunCommand("/usr/bin/ssh-keygen",
                      {"-l", "-E", "sha256", "-f", tmp_.Join("a.pub")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(SshFingerprint(key.blob) + " "));
}

}  // namespace
}  // namespace ia::automation::git_internal
