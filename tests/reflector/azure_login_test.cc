// The ACR login against FakeAzure (Entra ID, IMDS) and FakeRegistry as ACR
// (its /oauth2/exchange and Bearer token flow), over real HTTP on loopback
// under the registry's real host name: workload identity, client secret and
// managed identity, then a scan and a digest lookup through the registry
// client on the refresh token; each failure step with Entra's or ACR's code,
// never a token.
#include "services/reflector/azure_login.h"

#include <map>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/reflector/curl_transport.h"
#include "services/reflector/registry_client.h"
#include "tests/support/fake_azure.h"
#include "tests/support/fake_registry.h"
#include "tests/support/harness.h"

namespace ia::reflector {
namespace {

using ::ia::testing::FakeAzure;
using ::ia::testing::FakeRegistry;
using ::ia::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::StartsWith;

constexpr char kHost[] = "myacr.azurecr.io";
constexpr char kTenant[] = "72f988bf-86f1-41af-91ab-2d7cd011db47";
constexpr char kClient[] = "5e1f0c2a-0000-4000-8000-00000000c11e";

std::string Msg(const absl::Status& status) {
  return std::string(status.message());
}

class AzureLoginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(azure_.Start().ok());
    ASSERT_TRUE(registry_.Start().ok());
    azure_.SetApplication(kTenant, kClient, "projected-sa-token",
                          "client-secret-value");
    refresh_token_ = azure_.MakeRefreshToken(absl::Hours(3));
    registry_.ServeAcrExchange(
        [this](const std::string& token) { return azure_.IsValid(token); },
        refresh_token_);
    FakeRegistry::BearerOptions bearer;
    bearer.credentials = {{kAcrUser, refresh_token_}};
    registry_.RequireBearer(bearer);
    registry_.SetTags("team/app", {"1.0.0", "2.0.0"});
    CurlTransportOptions curl;
    curl.test_connect_to = {
        absl::StrCat(kHost, ":80:127.0.0.1:", registry_.port())};
    transport_ = MakeCurlTransport(curl);
  }

  std::map<std::string, std::string> WorkloadEnv() {
    return {{"AZURE_TENANT_ID", kTenant},
            {"AZURE_CLIENT_ID", kClient},
            {"AZURE_AUTHORITY_HOST", azure_.url() + "/"},
            {"AZURE_POD_IDENTITY_AUTHORITY_HOST", azure_.url()},
            {"AZURE_FEDERATED_TOKEN_FILE",
             dir_.WriteFile("azure-identity-token", "projected-sa-token\n")}};
  }

  absl::StatusOr<CloudLogin> Login(std::map<std::string, std::string> env) {
    absl::StatusOr<CloudLogin> login = AcrLogin(
        *transport_, EnvironmentOf(std::move(env)), kHost, true, absl::Now());
    if (!login.ok()) {
      for (const std::string& secret : azure_.Secrets()) {
        EXPECT_FALSE(absl::StrContains(login.status().message(), secret))
            << login.status();
      }
    }
    return login;
  }

  FakeAzure azure_;
  FakeRegistry registry_;
  TempDir dir_;
  std::string refresh_token_;
  std::unique_ptr<HttpTransport> transport_;
};

TEST_F(AzureLoginTest, WorkloadIdentityThenTheRegistrysExchange) {
  const absl::Time before = absl::Now();
  absl::StatusOr<CloudLogin> login = Login(WorkloadEnv());
  ASSERT_TRUE(login.ok()) << login.status();
  EXPECT_THAT(azure_.Rejections(), IsEmpty());
  EXPECT_EQ(registry_.acr_exchanges(), 1);
  EXPECT_EQ(login->credentials.username, kAcrUser);
  EXPECT_EQ(login->credentials.password, refresh_token_);
  EXPECT_GE(login->expires, before + absl::Hours(3) - absl::Seconds(2));
  EXPECT_LE(login->expires, absl::Now() + absl::Hours(3));
}

TEST_F(AzureLoginTest, ClientSecretAndManagedIdentity) {
  std::map<std::string, std::string> env = WorkloadEnv();
  env["AZURE_CLIENT_SECRET"] = "client-secret-value";
  ASSERT_TRUE(Login(env).ok());
  env.erase("AZURE_CLIENT_SECRET");
  env.erase("AZURE_FEDERATED_TOKEN_FILE");
  absl::StatusOr<CloudLogin> login = Login(env);
  ASSERT_TRUE(login.ok()) << login.status();
  EXPECT_EQ(azure_.imds_calls(), 1);
  EXPECT_EQ(azure_.token_calls(), 1);
  EXPECT_THAT(azure_.Rejections(), IsEmpty());
}

TEST_F(AzureLoginTest, ScansAndLooksUpDigestsThroughAcrsTokenFlow) {
  CloudLoginOptions options;
  options.environment = EnvironmentOf(WorkloadEnv());
  RegistryClientConfig config;
  config.requests_per_second = 0;
  CurlTransportOptions curl;
  curl.test_connect_to = {
      absl::StrCat(kHost, ":80:127.0.0.1:", registry_.port())};
  config.cloud_logins =
      std::make_shared<CloudLogins>(MakeCurlTransport(curl), options);
  std::unique_ptr<RegistryClient> client =
      MakeRegistryClient(config, MakeCurlTransport(curl));
  ImageReference image;
  image.domain = kHost;
  image.path = "team/app";
  RegistryOptions registry;
  registry.insecure = true;
  registry.provider = RegistryProvider::kAzure;
  absl::StatusOr<std::vector<std::string>> tags =
      client->ListTags(image, registry, nullptr);
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_THAT(*tags, ElementsAre("1.0.0", "2.0.0"));
  ASSERT_TRUE(client->Digest(image, "2.0.0", registry).ok());
  EXPECT_EQ(registry_.acr_exchanges(), 1);
}

TEST_F(AzureLoginTest, FailuresNameTheStepAndTheCode) {
  std::map<std::string, std::string> env = WorkloadEnv();
  dir_.WriteFile("azure-identity-token", "someone-elses-token");
  EXPECT_EQ(Msg(Login(env).status()),
            "azure: workload identity: invalid_client: AADSTS700213: No "
            "matching federated identity record found for presented "
            "assertion.");
  dir_.WriteFile("azure-identity-token", "projected-sa-token");
  env["AZURE_CLIENT_ID"] = "unknown-client";
  EXPECT_THAT(Msg(Login(env).status()),
              StartsWith("azure: workload identity: unauthorized_client: "
                         "AADSTS700016: "));
  env = WorkloadEnv();
  env.erase("AZURE_FEDERATED_TOKEN_FILE");
  env["AZURE_CLIENT_SECRET"] = "wrong-secret";
  EXPECT_EQ(Msg(Login(env).status()),
            "azure: client credentials: invalid_client: AADSTS7000215: "
            "Invalid client secret provided.");
  // The registry refuses the Entra token.
  registry_.ServeAcrExchange([](const std::string&) { return false; },
                             refresh_token_);
  EXPECT_EQ(Msg(Login(WorkloadEnv()).status()),
            "azure: ACR exchange: UNAUTHORIZED: The access token is invalid "
            "or expired");
  // A refresh token without expiry.
  registry_.ServeAcrExchange([](const std::string&) { return true; },
                             "not-a-jwt");
  EXPECT_EQ(Msg(Login(WorkloadEnv()).status()),
            "azure: ACR exchange: the refresh token has no expiry (exp)");
  env = WorkloadEnv();
  env["AZURE_AUTHORITY_HOST"] =
      absl::StrCat("http://127.0.0.1:", ia::testing::FreePort());
  EXPECT_THAT(Msg(Login(env).status()),
              StartsWith("azure: workload identity: no answer from "
                         "127.0.0.1: "));
}

TEST(JwtExpiryTest, ReadsTheExpClaim) {
  EXPECT_EQ(JwtExpiry("eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE3MDAwMDAwMDB9.sig"),
            absl::FromUnixSeconds(1700000000));
  EXPECT_FALSE(JwtExpiry("eyJhbGciOiJIUzI1NiJ9.e30.sig").has_value());
  EXPECT_FALSE(JwtExpiry("opaque").has_value());
}

}  // namespace
}  // namespace ia::reflector
