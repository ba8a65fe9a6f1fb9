// The Git layer's transports against real servers on loopback: smart HTTP
// (lighttpd + git http-backend) with Basic auth, a bearer token and HTTPS
// with a private CA; sshd with identities and known_hosts; timeouts against a
// port that never answers. And no credential in any error or log line.
#include <filesystem>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/automation/git.h"
#include "tests/automation/git_test_util.h"
#include "tests/support/git_server.h"

namespace ia::automation {
namespace {

using ::ia::automation::testing::BotCommit;
using ::ia::automation::testing::ReadText;
using ::ia::automation::testing::StderrCapture;
using ::ia::automation::testing::WriteFileRewrite;
using ::ia::testing::BareRepo;
using ::ia::testing::GitHttpServer;
using ::ia::testing::GitSshServer;
using ::ia::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

class GitRemoteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto repo = BareRepo::Create(tmp_.Join("root/repo.git"));
    ASSERT_TRUE(repo.ok()) << repo.status();
    repo_.emplace(std::move(*repo));
    auto seed = repo_->Commit("main", {{"app.yaml", "image: app:1.0.0\n"}});
    ASSERT_TRUE(seed.ok()) << seed.status();
    seed_ = *seed;
  }

  // Clones, checks out main, pushes a change: the whole round trip.
  void RoundTrip(const GitRemote& remote, const std::string& dir) {
    auto checkout = OpenGitCheckout(tmp_.Join(dir), remote);
    ASSERT_TRUE(checkout.ok()) << checkout.status();
    auto head = (*checkout)->Checkout(GitRef{.branch = "main"});
    ASSERT_TRUE(head.ok()) << head.status();
    EXPECT_EQ(*head, *repo_->RevParse("main"));
    auto result = (*checkout)->UpdateBranch(
        GitRef{.branch = "main"},
        WriteFileRewrite("app.yaml", "image: app:" + dir + "\n",
                         "update " + dir),
        BotCommit(), PushOptions{.branch = "main"});
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->attempts, 1);
    EXPECT_EQ(*repo_->RevParse("main"), result->pushed_commit);
    EXPECT_EQ(*repo_->ReadFile("main", "app.yaml"), "image: app:" + dir + "\n");
  }

  TempDir tmp_;
  std::optional<BareRepo> repo_;
  std::string seed_;
};

// --- HTTP -------------------------------------------------------------------

TEST_F(GitRemoteTest, HttpBasicAuthFetchesAndPushes) {
  auto server = GitHttpServer::Start({.project_root = tmp_.Join("root")});
  ASSERT_TRUE(server.ok()) << server.status();
  const auto& o = (*server)->options();
  RoundTrip(GitRemote{(*server)->Url("repo.git"),
                      GitAuth{.username = o.username, .password = o.password}},
            "basic");
  EXPECT_THAT((*server)->WaitForAccessLog([](const std::string& log) {
    return absl::StrContains(log, "POST /git/repo.git/git-receive-pack");
  }),
              HasSubstr("POST /git/repo.git/git-receive-pack"));
}

TEST_F(GitRemoteTest,
       HttpWrongOrMissingPasswordIsUnauthenticatedAndNeverShown) {
  auto server = GitHttpServer::Start({.project_root = tmp_.Join("root")});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string wrong = "Wr0ng-Passw0rd-Value";
  StderrCapture logs;
  auto checkout = OpenGitCheckout(
      tmp_.Join("wrong"),
      GitRemote{(*server)->Url("repo.git"),
                GitAuth{.username = "git-user", .password = wrong}});
  const std::string logged = logs.Finish();
  EXPECT_TRUE(absl::IsUnauthenticated(checkout.status())) << checkout.status();
  EXPECT_THAT(checkout.status().message(),
              HasSubstr((*server)->Url("repo.git")));
  EXPECT_THAT(std::string(checkout.status().message()), Not(HasSubstr(wrong)));
  EXPECT_THAT(logged, Not(HasSubstr(wrong)));

  auto anonymous = OpenGitCheckout(tmp_.Join("anonymous"),
                                   GitRemote{(*server)->Url("repo.git")});
  EXPECT_TRUE(absl::IsUnauthenticated(anonymous.status()))
      << anonymous.status();
}

TEST_F(GitRemoteTest, CredentialsInTheUrlAreUsedButNeverStoredOrShown) {
  auto server = GitHttpServer::Start({.project_root = tmp_.Join("root")});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string password = (*server)->options().password;
  StderrCapture logs;
  RoundTrip(GitRemote{(*server)->UrlWithCredentials("repo.git")}, "inurl");
  const std::string config = ReadText(tmp_.Join("inurl/.git/config"));
  EXPECT_THAT(config, HasSubstr((*server)->Url("repo.git")));
  EXPECT_THAT(config, Not(HasSubstr(password)));

  const std::string wrong_url =
      absl::StrCat("http://git-user:Wr0ng-in-url@127.0.0.1:", (*server)->port(),
                   "/git/repo.git");
  auto checkout = OpenGitCheckout(tmp_.Join("wrong"), GitRemote{wrong_url});
  const std::string logged = logs.Finish();
  EXPECT_TRUE(absl::IsUnauthenticated(checkout.status())) << checkout.status();
  EXPECT_THAT(std::string(checkout.status().message()),
              Not(HasSubstr("Wr0ng-in-url")));
  EXPECT_THAT(std::string(checkout.status().message()),
              Not(HasSubstr("git-user:")));
  EXPECT_THAT(logged, Not(HasSubstr(password)));
  EXPECT_THAT(logged, Not(HasSubstr("Wr0ng-in-url")));
}

TEST_F(GitRemoteTest, BearerTokenReachesTheServer) {
  auto server = GitHttpServer::Start({.project_root = tmp_.Join("root")});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string token = (*server)->options().bearer_token;
  RoundTrip(GitRemote{(*server)->BearerUrl("repo.git"),
                      GitAuth{.bearer_token = token}},
            "bearer");
  const std::string header = "\"Bearer " + token + "\"";
  EXPECT_THAT((*server)->WaitForAccessLog([&](const std::string& log) {
    return absl::StrContains(log, header);
  }),
              HasSubstr(header));

  const std::string wrong = "not-the-right-token";
  auto checkout = OpenGitCheckout(tmp_.Join("wrong"),
                                  GitRemote{(*server)->BearerUrl("repo.git"),
                                            GitAuth{.bearer_token = wrong}});
  EXPECT_FALSE(checkout.ok());
  EXPECT_TRUE(absl::IsPermissionDenied(checkout.status())) << checkout.status();
  EXPECT_THAT(std::string(checkout.status().message()), Not(HasSubstr(wrong)));
}

TEST_F(GitRemoteTest, HttpsWithACustomCa) {
  auto server =
      GitHttpServer::Start({.project_root = tmp_.Join("root"), .tls = true});
  ASSERT_TRUE(server.ok()) << server.status();
  const auto& o = (*server)->options();
  GitAuth auth{.username = o.username,
               .password = o.password,
               .ca_pem = (*server)->ca_pem()};
  ASSERT_THAT((*server)->Url("repo.git"), HasSubstr("https://"));
  RoundTrip(GitRemote{(*server)->Url("repo.git"), auth}, "https");

  // Without the CA, or with another one, the certificate is not trusted.
  auth.ca_pem.clear();
  auto untrusted = OpenGitCheckout(tmp_.Join("no-ca"),
                                   GitRemote{(*server)->Url("repo.git"), auth});
  EXPECT_TRUE(absl::IsFailedPrecondition(untrusted.status()))
      << untrusted.status();
  EXPECT_THAT(untrusted.status().message(), HasSubstr("not trusted"));

  auto other =
      GitHttpServer::Start({.project_root = tmp_.Join("root"), .tls = true});
  ASSERT_TRUE(other.ok()) << other.status();
  auth.ca_pem = (*other)->ca_pem();
  auto wrong_ca = OpenGitCheckout(tmp_.Join("wrong-ca"),
                                  GitRemote{(*server)->Url("repo.git"), auth});
  EXPECT_TRUE(absl::IsFailedPrecondition(wrong_ca.status()))
      << wrong_ca.status();
  EXPECT_THAT(wrong_ca.status().message(), HasSubstr("not trusted by ca.crt"));
}

// --- SSH --------------------------------------------------------------------

TEST_F(GitRemoteTest, SshWithIdentityAndKnownHosts) {
  auto server = GitSshServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  RoundTrip(GitRemote{(*server)->Url(repo_->path()),
                      GitAuth{.ssh_identity = (*server)->client_key(),
                              .known_hosts = (*server)->known_hosts()}},
            "ssh");
  EXPECT_THAT((*server)->Log(), HasSubstr("Accepted publickey"));
}

TEST_F(GitRemoteTest, SshWithAPassphraseProtectedIdentity) {
  const std::string passphrase = "key-passphrase-123";
  auto server = GitSshServer::Start({.client_key_passphrase = passphrase});
  ASSERT_TRUE(server.ok()) << server.status();
  GitAuth auth{.ssh_identity = (*server)->client_key(),
               .ssh_passphrase = passphrase,
               .known_hosts = (*server)->known_hosts()};
  RoundTrip(GitRemote{(*server)->Url(repo_->path()), auth}, "sshpass");

  auth.ssh_passphrase = "wrong-passphrase-456";
  auto wrong = OpenGitCheckout(tmp_.Join("wrong"),
                               GitRemote{(*server)->Url(repo_->path()), auth});
  EXPECT_TRUE(absl::IsUnauthenticated(wrong.status())) << wrong.status();
  EXPECT_THAT(std::string(wrong.status().message()),
              Not(HasSubstr("wrong-passphrase-456")));
}

TEST_F(GitRemoteTest, SshRefusesAnUnknownHost) {
  auto server = GitSshServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  // known_hosts knows the key, but for another port (so another host).
  std::string other_port = (*server)->known_hosts();
  other_port.replace(other_port.find(']') + 2,
                     std::to_string((*server)->port()).size(), "1");
  auto checkout =
      OpenGitCheckout(tmp_.Join("unknown"),
                      GitRemote{(*server)->Url(repo_->path()),
                                GitAuth{.ssh_identity = (*server)->client_key(),
                                        .known_hosts = other_port}});
  EXPECT_TRUE(absl::IsFailedPrecondition(checkout.status()))
      << checkout.status();
  EXPECT_THAT(
      checkout.status().message(),
      HasSubstr(absl::StrCat("host key of [127.0.0.1]:", (*server)->port(),
                             " (ssh-ed25519 key SHA256:")));
  EXPECT_THAT(checkout.status().message(), HasSubstr("is not in known_hosts"));
  EXPECT_THAT((*server)->Log(), Not(HasSubstr("Accepted publickey")));
}

TEST_F(GitRemoteTest, SshRefusesAChangedHostKey) {
  auto server = GitSshServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  auto checkout = OpenGitCheckout(
      tmp_.Join("changed"),
      GitRemote{(*server)->Url(repo_->path()),
                GitAuth{.ssh_identity = (*server)->client_key(),
                        .known_hosts = (*server)->known_hosts_other_key()}});
  EXPECT_TRUE(absl::IsFailedPrecondition(checkout.status()))
      << checkout.status();
  EXPECT_THAT(checkout.status().message(),
              HasSubstr("does not match known_hosts"));
  EXPECT_THAT((*server)->Log(), Not(HasSubstr("Accepted publickey")));
}

TEST_F(GitRemoteTest, SshWithoutKnownHostsIsRefused) {
  auto server = GitSshServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  auto checkout = OpenGitCheckout(
      tmp_.Join("none"),
      GitRemote{(*server)->Url(repo_->path()),
                GitAuth{.ssh_identity = (*server)->client_key()}});
  EXPECT_TRUE(absl::IsFailedPrecondition(checkout.status()))
      << checkout.status();
  EXPECT_THAT(checkout.status().message(), HasSubstr("known_hosts"));
}

TEST_F(GitRemoteTest, SshWithAnotherIdentityIsUnauthenticated) {
  auto server = GitSshServer::Start();
  auto other = GitSshServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE(other.ok()) << other.status();
  auto checkout = OpenGitCheckout(
      tmp_.Join("other"),
      GitRemote{(*server)->Url(repo_->path()),
                GitAuth{.ssh_identity = (*other)->client_key(),
                        .known_hosts = (*server)->known_hosts()}});
  EXPECT_TRUE(absl::IsUnauthenticated(checkout.status())) << checkout.status();
}

// --- Timeouts ---------------------------------------------------------------

TEST_F(GitRemoteTest, TimeoutAppliesToAServerThatNeverAnswers) {
  ::ia::testing::SilentServer silent;
  for (const std::string& url :
       {absl::StrCat("http://127.0.0.1:", silent.port(), "/git/repo.git"),
        absl::StrCat("https://127.0.0.1:", silent.port(), "/git/repo.git"),
        absl::StrCat("ssh://git@127.0.0.1:", silent.port(), "/repo.git")}) {
    SCOPED_TRACE(url);
    GitRemote remote{url, GitAuth{.known_hosts = "x"}, absl::Milliseconds(500)};
    auto checkout = OpenGitCheckout(tmp_.Join("silent"), remote);
    EXPECT_TRUE(absl::IsDeadlineExceeded(checkout.status()))
        << checkout.status();
    EXPECT_THAT(checkout.status().message(), HasSubstr("timeout of 500ms"));
    std::filesystem::remove_all(tmp_.Join("silent"));
  }
}

TEST_F(GitRemoteTest, AnUnreachableRemoteIsUnavailable) {
  const int port = ::ia::testing::FreePort();  // nothing listens there
  auto checkout = OpenGitCheckout(
      tmp_.Join("closed"),
      GitRemote{absl::StrCat("http://127.0.0.1:", port, "/git/repo.git")});
  EXPECT_TRUE(absl::IsUnavailable(checkout.status())) << checkout.status();
}

TEST_F(GitRemoteTest, BadUrlsAreInvalidArgument) {
  for (const std::string url : {"", "ftp://host/repo.git", "not a url",
                                "https://user:hidden-pass@/repo.git"}) {
    auto checkout = OpenGitCheckout(tmp_.Join("bad"), GitRemote{url});
    EXPECT_TRUE(absl::IsInvalidArgument(checkout.status()))
        << url << ": " << checkout.status();
    EXPECT_THAT(std::string(checkout.status().message()),
                Not(HasSubstr("hidden-pass")));
  }
}

}  // namespace
}  // namespace ia::automation
