// The GCP registry login against FakeGcp over real HTTP on loopback: the
// metadata server (Metadata-Flavor checked by the fake), an external_account
// file with and without service account impersonation, a JSON subject
// token, and each failure step with Google's error code, never a token.
#include "services/reflector/gcp_login.h"

#include <map>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/reflector/curl_transport.h"
#include "tests/support/fake_gcp.h"
#include "tests/support/harness.h"

namespace ia::reflector {
namespace {

using ::ia::testing::FakeGcp;
using ::ia::testing::TempDir;
using ::testing::IsEmpty;
using ::testing::StartsWith;

constexpr char kAudience[] =
    "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/"
    "pool/providers/cluster";
constexpr char kServiceAccount[] = "reflector@project.iam.gserviceaccount.com";

std::string Msg(const absl::Status& status) {
  return std::string(status.message());
}

class GcpLoginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(gcp_.Start().ok());
    gcp_.SetAccessToken("ya29.access-token");
    gcp_.SetFederation(kAudience, "cluster-oidc-token");
    gcp_.SetServiceAccount(kServiceAccount);
    transport_ = MakeCurlTransport();
  }

  // An external_account file; `impersonate` adds the impersonation URL.
  std::string CredentialsFile(bool impersonate,
                              const std::string& subject = "cluster-oidc-token",
                              bool json_format = false) {
    nlohmann::json config = {
        {"type", "external_account"},
        {"audience", kAudience},
        {"subject_token_type", "urn:ietf:params:oauth:token-type:jwt"},
        {"token_url", gcp_.url() + "/v1/token"},
        {"credential_source",
         {{"file",
           dir_.WriteFile("subject",
                          json_format
                              ? nlohmann::json{{"id_token", subject}}.dump()
                              : subject)}}}};
    if (json_format) {
      config["credential_source"]["format"] = {
          {"type", "json"}, {"subject_token_field_name", "id_token"}};
    }
    if (impersonate) {
      config["service_account_impersonation_url"] =
          absl::StrCat(gcp_.url(), "/v1/projects/-/serviceAccounts/",
                       kServiceAccount, ":generateAccessToken");
    }
    return dir_.WriteFile("credentials.json", config.dump());
  }

  absl::StatusOr<CloudLogin> Login(std::map<std::string, std::string> env) {
    absl::StatusOr<CloudLogin> login =
        GcpLogin(*transport_, EnvironmentOf(std::move(env)), absl::Now());
    if (!login.ok()) {
      for (const std::string& secret : gcp_.Secrets()) {
        EXPECT_FALSE(absl::StrContains(login.status().message(), secret))
            << login.status();
      }
    }
    return login;
  }

  FakeGcp gcp_;
  TempDir dir_;
  std::unique_ptr<HttpTransport> transport_;
};

TEST_F(GcpLoginTest, MetadataServer) {
  const absl::Time before = absl::Now();
  absl::StatusOr<CloudLogin> login =
      Login({{"GCE_METADATA_HOST", gcp_.host()}});
  ASSERT_TRUE(login.ok()) << login.status();
  EXPECT_THAT(gcp_.Rejections(), IsEmpty());
  EXPECT_EQ(gcp_.metadata_calls(), 1);
  EXPECT_EQ(login->credentials.username, "oauth2accesstoken");
  EXPECT_EQ(login->credentials.password, "ya29.access-token");
  EXPECT_GE(login->expires, before + absl::Hours(1) - absl::Seconds(1));
  EXPECT_LE(login->expires, absl::Now() + absl::Hours(1));
}

TEST_F(GcpLoginTest, ExternalAccountWithImpersonation) {
  absl::StatusOr<CloudLogin> login =
      Login({{"GOOGLE_APPLICATION_CREDENTIALS", CredentialsFile(true)}});
  ASSERT_TRUE(login.ok()) << login.status();
  EXPECT_THAT(gcp_.Rejections(), IsEmpty());
  EXPECT_EQ(gcp_.sts_calls(), 1);
  EXPECT_EQ(gcp_.impersonation_calls(), 1);
  EXPECT_EQ(login->credentials.password, "ya29.access-token");
}

TEST_F(GcpLoginTest, ExternalAccountDirectWithAJsonSubjectToken) {
  gcp_.SetServiceAccount("");
  absl::StatusOr<CloudLogin> login = Login(
      {{"GOOGLE_APPLICATION_CREDENTIALS",
        CredentialsFile(false, "cluster-oidc-token", /*json_format=*/true)}});
  ASSERT_TRUE(login.ok()) << login.status();
  EXPECT_EQ(gcp_.impersonation_calls(), 0);
  EXPECT_EQ(login->credentials.password, "ya29.access-token");
}

TEST_F(GcpLoginTest, FailuresNameTheStepAndGooglesCode) {
  EXPECT_EQ(Msg(Login({{"GOOGLE_APPLICATION_CREDENTIALS",
                        CredentialsFile(true, "another-token")}})
                    .status()),
            "gcp: STS token exchange: invalid_grant: The provided subject "
            "token is invalid.");
  gcp_.SetServiceAccount("other@project.iam.gserviceaccount.com");
  EXPECT_EQ(
      Msg(Login({{"GOOGLE_APPLICATION_CREDENTIALS", CredentialsFile(true)}})
              .status()),
      "gcp: generateAccessToken: PERMISSION_DENIED: Permission "
      "'iam.serviceAccounts.getAccessToken' denied on resource (or it "
      "may not exist).");
  const std::string key_file = dir_.WriteFile(
      "key.json", R"({"type":"service_account","private_key":"x"})");
  EXPECT_THAT(
      Msg(Login({{"GOOGLE_APPLICATION_CREDENTIALS", key_file}}).status()),
      StartsWith(absl::StrCat("gcp: credentials file: ", key_file,
                              ": credentials of type \"service_account\" are "
                              "not supported")));
  EXPECT_THAT(Msg(Login({{"GCE_METADATA_HOST",
                          absl::StrCat("127.0.0.1:", ia::testing::FreePort())}})
                      .status()),
              StartsWith("gcp: metadata token: no answer from 127.0.0.1: "));
  EXPECT_TRUE(absl::IsUnauthenticated(
      Login({{"GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent"}}).status()));
}

}  // namespace
}  // namespace ia::reflector
