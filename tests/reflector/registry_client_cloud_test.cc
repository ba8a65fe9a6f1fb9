// The registry client with spec.provider aws: the ECR login (FakeAws) as
// Basic credentials for the registry (FakeRegistry under the ECR host name,
// reached through the transport's test-only connect-to), shared by scans
// and digest lookups; a secret wins over the provider; a refused login is
// exchanged again; a failed exchange fails the scan with its message and
// sends nothing to the registry.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/reflector/cloud_login.h"
#include "services/reflector/curl_transport.h"
#include "services/reflector/registry_client.h"
#include "tests/support/fake_aws.h"
#include "tests/support/fake_registry.h"
#include "tests/support/harness.h"

namespace ia::reflector {
namespace {

using ::ia::testing::FakeAws;
using ::ia::testing::FakeRegistry;
using ::ia::testing::TempDir;
using ::testing::ElementsAre;

constexpr char kRole[] = "arn:aws:iam::123456789012:role/image-reflector";
constexpr char kHost[] = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

class RegistryClientCloudTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(registry_.Start().ok());
    ASSERT_TRUE(aws_.Start().ok());
    registry_.SetTags("team/app", {"1.0.0", "1.1.0"});
    registry_.RequireBasic("AWS", "ecr-password");
    aws_.SetRegistryLogin("AWS", "ecr-password");
    aws_.SetWebIdentity(kRole, "sa-token");

    CloudLoginOptions logins;
    logins.environment = EnvironmentOf(
        {{"AWS_ENDPOINT_URL", aws_.url()},
         {"AWS_EC2_METADATA_SERVICE_ENDPOINT", aws_.url()},
         {"AWS_ROLE_ARN", kRole},
         {"AWS_WEB_IDENTITY_TOKEN_FILE", dir_.WriteFile("token", "sa-token")}});
    RegistryClientConfig config;
    config.requests_per_second = 0;
    config.cloud_logins =
        std::make_shared<CloudLogins>(MakeCurlTransport(), logins);
    CurlTransportOptions curl;
    curl.test_connect_to = {
        absl::StrCat(kHost, ":80:127.0.0.1:", registry_.port())};
    client_ = MakeRegistryClient(config, MakeCurlTransport(curl));

    image_.domain = kHost;
    image_.path = "team/app";
    options_.insecure = true;
    options_.provider = RegistryProvider::kAws;
  }

  FakeRegistry registry_;
  FakeAws aws_;
  TempDir dir_;
  std::unique_ptr<RegistryClient> client_;
  ImageReference image_;
  RegistryOptions options_;
};

TEST_F(RegistryClientCloudTest, ScansAndLooksUpDigestsWithOneEcrLogin) {
  absl::StatusOr<std::vector<std::string>> tags =
      client_->ListTags(image_, options_, nullptr);
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_THAT(*tags, ElementsAre("1.0.0", "1.1.0"));
  absl::StatusOr<std::string> digest =
      client_->Digest(image_, "1.1.0", options_);
  ASSERT_TRUE(digest.ok()) << digest.status();
  EXPECT_EQ(aws_.sts_calls(), 1);
  EXPECT_EQ(aws_.ecr_calls(), 1);
}

TEST_F(RegistryClientCloudTest, ASecretWinsOverTheProvider) {
  registry_.RequireBasic("ci", "from-the-secret");
  options_.credentials = RegistryCredentials{"ci", "from-the-secret"};
  ASSERT_TRUE(client_->ListTags(image_, options_, nullptr).ok());
  EXPECT_EQ(aws_.sts_calls(), 0);
}

TEST_F(RegistryClientCloudTest, ARefusedLoginIsExchangedAgain) {
  ASSERT_TRUE(client_->ListTags(image_, options_, nullptr).ok());
  // ECR's passwords rotate; the registry no longer takes the cached one.
  registry_.RequireBasic("AWS", "rotated");
  aws_.SetRegistryLogin("AWS", "rotated");
  EXPECT_TRUE(absl::IsUnauthenticated(
      client_->ListTags(image_, options_, nullptr).status()));
  absl::StatusOr<std::vector<std::string>> tags =
      client_->ListTags(image_, options_, nullptr);
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_EQ(aws_.ecr_calls(), 2);
}

TEST_F(RegistryClientCloudTest, AFailedExchangeFailsBeforeTheRegistry) {
  aws_.SetWebIdentity(kRole, "another-token");
  const absl::Status failed =
      client_->ListTags(image_, options_, nullptr).status();
  EXPECT_TRUE(absl::IsUnauthenticated(failed));
  EXPECT_EQ(failed.message(),
            "aws: AssumeRoleWithWebIdentity: InvalidIdentityToken: Couldn't "
            "retrieve verification key from your identity provider");
  EXPECT_EQ(client_->Digest(image_, "1.0.0", options_).status().message(),
            failed.message());
  EXPECT_EQ(registry_.TotalRequests(), 0);
}

TEST_F(RegistryClientCloudTest, AClientWithoutCloudLoginsRefusesAProvider) {
  std::unique_ptr<RegistryClient> plain =
      MakeRegistryClient(RegistryClientConfig{}, MakeCurlTransport());
  EXPECT_TRUE(absl::IsFailedPrecondition(
      plain->ListTags(image_, options_, nullptr).status()));
}

}  // namespace
}  // namespace ia::reflector
