#include "common/secrets.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ia {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class SecretsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ia-secrets-XXXXXX";
    dir_ = mkdtemp(tmpl);
    Write("flux-system/regcred/.dockerconfigjson", "{\"auths\":{}}");
    Write("flux-system/regcred/username", "bot");
    Write("flux-system/regcred/password", "s3cr3t-value");
    // Kubernetes mounts keys as symlinks into a timestamped folder.
    Write("flux-system/mounted/..2026_11_25/token", "t0ken");
    std::filesystem::create_directory_symlink(
        "..2026_11_25", dir_ + "/flux-system/mounted/..data");
    std::filesystem::create_symlink("..data/token",
                                    dir_ + "/flux-system/mounted/token");
    Write("outside", "not a secret of anyone");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Write(const std::string& rel, const std::string& content) {
    const std::filesystem::path p = dir_ + "/" + rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << content;
  }

  std::string dir_;
};

TEST_F(SecretsTest, ReadsEveryKeyAndOneKey) {
  Secrets secrets(dir_);
  auto all = secrets.Read("flux-system", "regcred");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 3u);
  EXPECT_EQ(all->at(".dockerconfigjson"), "{\"auths\":{}}");
  EXPECT_EQ(secrets.ReadKey("flux-system", "regcred", "username")->value(),
            "bot");
  EXPECT_FALSE(
      secrets.ReadKey("flux-system", "regcred", "ca.crt")->has_value());
}

TEST_F(SecretsTest, ReadsKubernetesStyleSymlinkedKeysButNotItsBookkeeping) {
  auto all = Secrets(dir_).Read("flux-system", "mounted");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 1u);
  EXPECT_EQ(all->at("token"), "t0ken");
}

TEST_F(SecretsTest, NamesCannotLeaveTheFolderAndErrorsHoldNoValues) {
  Secrets secrets(dir_);
  EXPECT_EQ(secrets.Read("flux-system", "..").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(secrets.Read("..", "outside").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(secrets.ReadKey("flux-system", "regcred", "../../outside")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  auto missing = secrets.Read("flux-system", "nope");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("secret flux-system/nope"));
  EXPECT_THAT(missing.status().message(), Not(HasSubstr("s3cr3t")));
  auto unset = Secrets("").Read("flux-system", "regcred");
  EXPECT_EQ(unset.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(unset.status().message(), HasSubstr("--secrets-dir"));
}

}  // namespace
}  // namespace ia
