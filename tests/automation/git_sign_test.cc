// Signed commits: UpdateBranch signs with gpgme (OpenPGP) or an SSHSIG
// signature (SSH keys) when a signing key is given, and `git verify-commit`
// accepts the pushed commit with only the public key (a GnuPG keyring, or
// an allowed-signers file with gpg.format=ssh).
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/automation/git.h"
#include "services/automation/gpg_sign.h"
#include "tests/automation/git_test_util.h"
#include "tests/automation/ssh_key_util.h"
#include "tests/support/git_server.h"

namespace ia::automation {
namespace {

using ::ia::automation::testing::BotCommit;
using ::ia::automation::testing::WriteFileRewrite;
using ::ia::ssh_testing::GenerateSshKey;
using ::ia::ssh_testing::SshKeySpec;
using ::ia::testing::BareRepo;
using ::ia::testing::GpgHome;
using ::ia::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

class GitSignTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto repo = BareRepo::Create(tmp_.Join("remote/repo.git"));
    ASSERT_TRUE(repo.ok()) << repo.status();
    repo_.emplace(std::move(*repo));
    auto seed = repo_->Commit("main", {{"app.yaml", "image: app:1.0.0\n"}});
    ASSERT_TRUE(seed.ok()) << seed.status();
    seed_ = *seed;
    auto checkout =
        OpenGitCheckout(tmp_.Join("clone"), GitRemote{repo_->FileUrl()});
    ASSERT_TRUE(checkout.ok()) << checkout.status();
    checkout_ = std::move(*checkout);
  }

  UpdateBranchResult Update(const std::string& key,
                            const std::string& passphrase,
                            SigningKeyType type = SigningKeyType::kGpg) {
    CommitOptions commit = BotCommit();
    commit.signing_key = key;
    commit.signing_passphrase = passphrase;
    commit.signing_type = type;
    return checkout_->UpdateBranch(
        GitRef{.branch = "main"},
        WriteFileRewrite("app.yaml", "image: app:1.3.0\n", "Signed update\n"),
        commit, PushOptions{.branch = "main"});
  }

  TempDir tmp_;
  std::optional<BareRepo> repo_;
  std::string seed_;
  std::unique_ptr<GitCheckout> checkout_;
};

TEST_F(GitSignTest, PushedCommitVerifiesWithThePublicKey) {
  auto key = GpgHome::Generate("Image Bot <image-bot@example.com>");
  ASSERT_TRUE(key.ok()) << key.status();
  auto verifier = GpgHome::WithPublicKeyOf(**key);
  ASSERT_TRUE(verifier.ok()) << verifier.status();

  auto result = Update((*key)->armored_secret_key(), "");
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(*repo_->RevParse("main"), result->pushed_commit);
  EXPECT_THAT(*repo_->CatCommit("main"),
              HasSubstr("\ngpgsig -----BEGIN PGP SIGNATURE-----"));
  EXPECT_EQ(*repo_->Message("main"), "Signed update\n");
  auto verified = repo_->VerifyCommit("main", (*verifier)->path());
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_THAT(verified.err, HasSubstr("Good signature"));
  EXPECT_THAT(verified.err, HasSubstr((*key)->fingerprint()));

  // An unsigned commit does not verify: the check above means something.
  auto unsigned_result = checkout_->UpdateBranch(
      GitRef{.branch = "main"},
      WriteFileRewrite("app.yaml", "image: app:1.4.0\n", "unsigned"),
      BotCommit(), PushOptions{.branch = "main"});
  ASSERT_TRUE(unsigned_result.ok()) << unsigned_result.status();
  EXPECT_NE(repo_->VerifyCommit("main", (*verifier)->path()).exit_code, 0);
}

TEST_F(GitSignTest, PassphraseProtectedKey) {
  const std::string passphrase = "signing-pass-789";
  auto key = GpgHome::Generate("Image Bot <image-bot@example.com>", passphrase);
  ASSERT_TRUE(key.ok()) << key.status();
  auto verifier = GpgHome::WithPublicKeyOf(**key);
  ASSERT_TRUE(verifier.ok()) << verifier.status();

  auto wrong = Update((*key)->armored_secret_key(), "not-the-passphrase");
  EXPECT_TRUE(absl::IsFailedPrecondition(wrong.status())) << wrong.status();
  EXPECT_EQ(wrong.failed_phase(), GitPhase::kSign);
  EXPECT_THAT(std::string(wrong.status().message()),
              Not(HasSubstr("not-the-passphrase")));
  auto missing = Update((*key)->armored_secret_key(), "");
  EXPECT_TRUE(absl::IsFailedPrecondition(missing.status())) << missing.status();
  EXPECT_EQ(*repo_->RevParse("main"), seed_);  // nothing pushed

  auto result = Update((*key)->armored_secret_key(), passphrase);
  ASSERT_TRUE(result.ok()) << result.status();
  auto verified = repo_->VerifyCommit("main", (*verifier)->path());
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
}

TEST_F(GitSignTest, AKeyThatIsNotASecretKeyIsInvalidArgument) {
  auto key = GpgHome::Generate("Image Bot <image-bot@example.com>");
  ASSERT_TRUE(key.ok()) << key.status();
  auto public_only = Update((*key)->armored_public_key(), "");
  EXPECT_TRUE(absl::IsInvalidArgument(public_only.status()))
      << public_only.status();
  EXPECT_EQ(public_only.failed_phase(), GitPhase::kSign);
  auto garbage = SignDetached("payload", "not a key", "");
  EXPECT_TRUE(absl::IsInvalidArgument(garbage.status())) << garbage.status();
  EXPECT_EQ(*repo_->RevParse("main"), seed_);
}

// `git verify-commit` of the remote's main with gpg.format=ssh and an
// allowed-signers file naming the bot for `public_line`.
::ia::testing::CommandResult VerifySshCommit(const BareRepo& repo,
                                             const TempDir& dir,
                                             const std::string& public_line) {
  const std::string allowed = dir.WriteFile(
      "allowed_signers", "image-bot@example.com " + public_line + "\n");
  return repo.Run({"-c", "gpg.format=ssh", "-c",
                   "gpg.ssh.allowedSignersFile=" + allowed, "verify-commit",
                   "-v", "main"});
}

TEST_F(GitSignTest, SshSignedCommitVerifiesForEveryKeyType) {
  std::vector<std::pair<SshKeySpec, bool>> keys = {
      {{"ed25519", 0}, false}, {{"ecdsa", 256}, false},
      {{"ecdsa", 384}, false}, {{"ecdsa", 521}, false},
      {{"rsa", 2048}, false},  {{"rsa", 2048}, true},  // PEM
      {{"ecdsa", 256}, true}};
  int version = 1;
  for (const auto& [spec, pem] : keys) {
    SCOPED_TRACE(spec.Name() + (pem ? " PEM" : ""));
    TempDir dir;
    auto key = GenerateSshKey(dir, spec, "", pem);
    ASSERT_TRUE(key.ok()) << key.status();
    CommitOptions commit = BotCommit();
    commit.signing_key = key->private_key;
    commit.signing_type = SigningKeyType::kSsh;
    auto result = checkout_->UpdateBranch(
        GitRef{.branch = "main"},
        WriteFileRewrite("app.yaml",
                         absl::StrCat("image: app:2.0.", version++, "\n"),
                         "SSH signed update\n"),
        commit, PushOptions{.branch = "main"});
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_EQ(*repo_->RevParse("main"), result->pushed_commit);
    EXPECT_THAT(*repo_->CatCommit("main"),
                HasSubstr("\ngpgsig -----BEGIN SSH SIGNATURE-----\n"));
    EXPECT_EQ(*repo_->Message("main"), "SSH signed update\n");
    auto verified = VerifySshCommit(*repo_, dir, key->public_line);
    EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
    EXPECT_THAT(verified.err,
                HasSubstr("Good \"git\" signature for image-bot@example.com"));
    // Another key's allowed-signers file does not verify it.
    TempDir other_dir;
    auto other = GenerateSshKey(other_dir, {"ed25519", 0}, "");
    ASSERT_TRUE(other.ok()) << other.status();
    EXPECT_NE(VerifySshCommit(*repo_, other_dir, other->public_line).exit_code,
              0);
  }
}

TEST_F(GitSignTest, SshPassphraseProtectedKey) {
  TempDir dir;
  const std::string passphrase = "ssh-signing-pass-42";
  auto key = GenerateSshKey(dir, {"ed25519", 0}, passphrase);
  ASSERT_TRUE(key.ok()) << key.status();

  auto wrong =
      Update(key->private_key, "not-the-passphrase", SigningKeyType::kSsh);
  EXPECT_TRUE(absl::IsFailedPrecondition(wrong.status())) << wrong.status();
  EXPECT_EQ(wrong.failed_phase(), GitPhase::kSigningKey);
  EXPECT_THAT(std::string(wrong.status().message()),
              Not(HasSubstr("not-the-passphrase")));
  auto missing = Update(key->private_key, "", SigningKeyType::kSsh);
  EXPECT_TRUE(absl::IsFailedPrecondition(missing.status())) << missing.status();
  EXPECT_EQ(missing.failed_phase(), GitPhase::kSigningKey);
  EXPECT_EQ(*repo_->RevParse("main"), seed_);  // nothing pushed

  auto result = Update(key->private_key, passphrase, SigningKeyType::kSsh);
  ASSERT_TRUE(result.ok()) << result.status();
  auto verified = VerifySshCommit(*repo_, dir, key->public_line);
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
}

TEST_F(GitSignTest, SshDsaAndShortRsaKeysAreRefused) {
  TempDir dir;
  for (const SshKeySpec& spec :
       {SshKeySpec{"dsa", 0}, SshKeySpec{"rsa", 1024}}) {
    SCOPED_TRACE(spec.Name());
    auto key = GenerateSshKey(dir, spec, "");
    ASSERT_TRUE(key.ok()) << key.status();
    auto refused = Update(key->private_key, "", SigningKeyType::kSsh);
    EXPECT_TRUE(absl::IsInvalidArgument(refused.status())) << refused.status();
    EXPECT_EQ(refused.failed_phase(), GitPhase::kSigningKey);
    EXPECT_THAT(std::string(refused.status().message()),
                HasSubstr("are refused"));
  }
  EXPECT_EQ(*repo_->RevParse("main"), seed_);
}

}  // namespace
}  // namespace ia::automation
