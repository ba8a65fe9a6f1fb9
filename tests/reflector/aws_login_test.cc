// The ECR login against FakeAws over real HTTP on loopback, through the
// libcurl transport (so libcurl's SigV4 signature is recomputed and checked
// by the fake): each source of the credential chain, ECR and ECR Public,
// the region taken from the host, and each failure step with its message,
// which never holds a secret.
#include "services/reflector/aws_login.h"

#include <map>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/reflector/curl_transport.h"
#include "tests/support/fake_aws.h"
#include "tests/support/harness.h"

namespace ia::reflector {
namespace {

using ::ia::testing::FakeAws;
using ::ia::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

std::string Msg(const absl::Status& status) {
  return std::string(status.message());
}

constexpr char kRole[] = "arn:aws:iam::123456789012:role/image-reflector";
constexpr char kHost[] = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

class AwsLoginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(aws_.Start().ok());
    aws_.SetRegistryLogin("AWS", "ecr-password-1");
    transport_ = MakeCurlTransport();
  }

  // The endpoints of every AWS service point at the fake; IMDS too, so that
  // nothing ever goes to 169.254.169.254.
  std::map<std::string, std::string> BaseEnv() const {
    return {{"AWS_ENDPOINT_URL", aws_.url()},
            {"AWS_EC2_METADATA_SERVICE_ENDPOINT", aws_.url()}};
  }

  std::map<std::string, std::string> WebIdentityEnv(const std::string& token) {
    aws_.SetWebIdentity(kRole, "the-projected-service-account-token");
    std::map<std::string, std::string> env = BaseEnv();
    env["AWS_ROLE_ARN"] = kRole;
    env["AWS_WEB_IDENTITY_TOKEN_FILE"] = dir_.WriteFile("token", token);
    return env;
  }

  absl::StatusOr<CloudLogin> Login(std::map<std::string, std::string> env,
                                   const std::string& host = kHost) {
    absl::StatusOr<CloudLogin> login =
        EcrLogin(*transport_, EnvironmentOf(std::move(env)),
                 *ParseEcrHost(host), absl::Now());
    if (!login.ok()) {
      for (const std::string& secret : aws_.Secrets()) {
        EXPECT_FALSE(absl::StrContains(login.status().message(), secret))
            << "the error holds a secret: " << login.status();
      }
    }
    return login;
  }

  FakeAws aws_;
  TempDir dir_;
  std::unique_ptr<HttpTransport> transport_;
};

TEST_F(AwsLoginTest, StaticKeysSignGetAuthorizationToken) {
  aws_.AddStaticKey("AKIAEXAMPLEKEY000001", "static-secret-key");
  std::map<std::string, std::string> env = BaseEnv();
  env["AWS_ACCESS_KEY_ID"] = "AKIAEXAMPLEKEY000001";
  env["AWS_SECRET_ACCESS_KEY"] = "static-secret-key";
  const absl::Time before = absl::Now();
  absl::StatusOr<CloudLogin> login = Login(env);
  ASSERT_TRUE(login.ok()) << login.status();
  EXPECT_THAT(aws_.Rejections(), IsEmpty());
  EXPECT_EQ(aws_.ecr_calls(), 1);
  EXPECT_EQ(login->credentials.username, "AWS");
  EXPECT_EQ(login->credentials.password, "ecr-password-1");
  EXPECT_GE(login->expires, before + absl::Hours(12) - absl::Seconds(1));
  EXPECT_LE(login->expires, absl::Now() + absl::Hours(12) + absl::Seconds(1));
}

TEST_F(AwsLoginTest, WebIdentityAssumesTheRoleThenSignsWithTheSessionToken) {
  absl::StatusOr<CloudLogin> login =
      Login(WebIdentityEnv("the-projected-service-account-token\n"));
  ASSERT_TRUE(login.ok()) << login.status();
  EXPECT_THAT(aws_.Rejections(), IsEmpty());
  EXPECT_EQ(aws_.sts_calls(), 1);
  EXPECT_EQ(aws_.ecr_calls(), 1);
  EXPECT_EQ(login->credentials.password, "ecr-password-1");
}

TEST_F(AwsLoginTest, TheRegionComesFromTheHost) {
  aws_.SetRegion("eu-west-1");
  std::map<std::string, std::string> env =
      WebIdentityEnv("the-projected-service-account-token");
  ASSERT_TRUE(Login(env, "123456789012.dkr.ecr.eu-west-1.amazonaws.com").ok());
  // Signed for us-east-1, the fake in eu-west-1 refuses it.
  absl::StatusOr<CloudLogin> wrong = Login(env);
  ASSERT_FALSE(wrong.ok());
  EXPECT_THAT(Msg(wrong.status()),
              StartsWith("aws: GetAuthorizationToken: "
                         "InvalidSignatureException: SignatureDoesNotMatch"));
}

TEST_F(AwsLoginTest, EcrPublicUsesItsOwnServiceInUsEast1) {
  aws_.SetRegistryLogin("AWS", "public-password");
  absl::StatusOr<CloudLogin> login = Login(
      WebIdentityEnv("the-projected-service-account-token"), "public.ecr.aws");
  ASSERT_TRUE(login.ok()) << login.status();
  EXPECT_THAT(aws_.Rejections(), IsEmpty());
  EXPECT_EQ(login->credentials.password, "public-password");
}

TEST_F(AwsLoginTest, PodIdentityRereadsItsTokenFileOnEveryCall) {
  std::map<std::string, std::string> env = BaseEnv();
  env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = aws_.url() + "/v1/credentials";
  env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] =
      dir_.WriteFile("eks-pod-identity-token", "pod-token-1");
  aws_.SetPodIdentityToken("pod-token-1");
  ASSERT_TRUE(Login(env).ok());
  // The kubelet rotates the token: the next call must send the new one.
  dir_.WriteFile("eks-pod-identity-token", "pod-token-2");
  aws_.SetPodIdentityToken("pod-token-2");
  absl::StatusOr<CloudLogin> login = Login(env);
  ASSERT_TRUE(login.ok()) << login.status();
  EXPECT_EQ(aws_.pod_identity_calls(), 2);
  EXPECT_THAT(aws_.Rejections(), IsEmpty());
}

TEST_F(AwsLoginTest, InstanceMetadataV2) {
  aws_.SetInstanceRole("node-role");
  absl::StatusOr<CloudLogin> login = Login(BaseEnv());
  ASSERT_TRUE(login.ok()) << login.status();
  EXPECT_EQ(aws_.imds_calls(), 3);  // token, role, credentials
  EXPECT_THAT(aws_.Rejections(), IsEmpty());
}

TEST_F(AwsLoginTest, FailuresNameTheStepAndTheCloudsCode) {
  // STS refuses the token.
  absl::StatusOr<CloudLogin> login = Login(WebIdentityEnv("stolen-token"));
  EXPECT_TRUE(absl::IsUnauthenticated(login.status()));
  EXPECT_EQ(Msg(login.status()),
            "aws: AssumeRoleWithWebIdentity: InvalidIdentityToken: Couldn't "
            "retrieve verification key from your identity provider");

  // Another role than the one the token may assume.
  std::map<std::string, std::string> env =
      WebIdentityEnv("the-projected-service-account-token");
  env["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/other";
  EXPECT_EQ(Msg(Login(env).status()),
            "aws: AssumeRoleWithWebIdentity: AccessDenied: Not authorized to "
            "perform sts:AssumeRoleWithWebIdentity");

  // An unknown key, then a wrong secret.
  env = BaseEnv();
  env["AWS_ACCESS_KEY_ID"] = "AKIAUNKNOWN";
  env["AWS_SECRET_ACCESS_KEY"] = "whatever-secret";
  EXPECT_EQ(Msg(Login(env).status()),
            "aws: GetAuthorizationToken: UnrecognizedClientException: The "
            "security token included in the request is invalid.");
  aws_.AddStaticKey("AKIAEXAMPLEKEY000002", "right-secret");
  env["AWS_ACCESS_KEY_ID"] = "AKIAEXAMPLEKEY000002";
  env["AWS_SECRET_ACCESS_KEY"] = "wrong-secret";
  EXPECT_THAT(Msg(Login(env).status()),
              StartsWith("aws: GetAuthorizationToken: "
                         "InvalidSignatureException: SignatureDoesNotMatch"));

  // ECR's own refusal.
  env["AWS_SECRET_ACCESS_KEY"] = "right-secret";
  aws_.SetEcrError(400, "com.amazonaws.ecr#AccessDeniedException",
                   "User is not authorized to perform: "
                   "ecr:GetAuthorizationToken");
  EXPECT_EQ(Msg(Login(env).status()),
            "aws: GetAuthorizationToken: AccessDeniedException: User is not "
            "authorized to perform: ecr:GetAuthorizationToken");
  aws_.SetEcrError(0, "", "");

  // The Pod Identity agent refuses the token.
  env = BaseEnv();
  env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = aws_.url() + "/v1/credentials";
  env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "not-the-pod-token";
  aws_.SetPodIdentityToken("the-pod-token");
  EXPECT_EQ(Msg(Login(env).status()),
            "aws: container credentials: AccessDeniedException: Unauthorized");

  // A container endpoint over plain HTTP elsewhere than loopback or the
  // agents is refused before any request.
  env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://192.0.2.1/creds";
  EXPECT_THAT(Msg(Login(env).status()),
              StartsWith("aws: container credentials: "
                         "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https"));

  // No instance role.
  EXPECT_THAT(Msg(Login(BaseEnv()).status()),
              StartsWith("aws: IMDS role: HTTP 404"));

  // Nothing configured and IMDS off.
  EXPECT_THAT(Msg(Login({{"AWS_EC2_METADATA_DISABLED", "true"}}).status()),
              StartsWith("aws: credentials: no credentials"));

  // STS down.
  env = WebIdentityEnv("the-projected-service-account-token");
  env["AWS_ENDPOINT_URL_STS"] =
      absl::StrCat("http://127.0.0.1:", ia::testing::FreePort());
  EXPECT_THAT(Msg(Login(env).status()),
              StartsWith("aws: AssumeRoleWithWebIdentity: no answer from "
                         "127.0.0.1: "));
}

TEST_F(AwsLoginTest, ExpiredCredentialsAreRefusedByEcr) {
  aws_.SetCredentialLifetime(absl::Seconds(1));
  std::map<std::string, std::string> env =
      WebIdentityEnv("the-projected-service-account-token");
  // The chain's own check: credentials that expire at once are not used.
  aws_.SetCredentialLifetime(-absl::Seconds(5));
  EXPECT_EQ(Msg(Login(env).status()),
            "aws: credentials: ExpiredToken: the credentials handed out have "
            "already expired");
  EXPECT_EQ(aws_.ecr_calls(), 0);
}

TEST(AwsParseTest, StsReplyDecodesEntities) {
  HttpResponse reply;
  reply.status = 200;
  reply.body =
      "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
      "<Credentials><SessionToken>a&amp;b&lt;c</SessionToken>"
      "<SecretAccessKey>s</SecretAccessKey><Expiration>2026-01-02T03:04:05Z"
      "</Expiration><AccessKeyId>ASIA1</AccessKeyId></Credentials>"
      "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>";
  absl::StatusOr<AwsCredentials> credentials = ParseStsReply(reply);
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  EXPECT_EQ(credentials->session_token, "a&b<c");
  EXPECT_EQ(credentials->access_key_id, "ASIA1");
  EXPECT_EQ(*credentials->expires,
            absl::FromCivil(absl::CivilSecond(2026, 1, 2, 3, 4, 5),
                            absl::UTCTimeZone()));
  reply.body = "<AssumeRoleWithWebIdentityResponse/>";
  EXPECT_THAT(Msg(ParseStsReply(reply).status()),
              HasSubstr("the answer has no Credentials"));
}

TEST(AwsParseTest, EcrReplyShapes) {
  HttpResponse reply;
  reply.status = 200;
  const std::string token = absl::Base64Escape("AWS:pass:with:colons");
  reply.body = absl::StrCat(R"({"authorizationData":[{"authorizationToken":")",
                            token, R"(","expiresAt":1767322800.5}]})");
  absl::StatusOr<CloudLogin> login = ParseEcrReply(reply, false);
  ASSERT_TRUE(login.ok()) << login.status();
  EXPECT_EQ(login->credentials.username, "AWS");
  EXPECT_EQ(login->credentials.password, "pass:with:colons");
  EXPECT_EQ(login->expires, absl::FromUnixMillis(1767322800500));
  // ECR Public answers an object, not a list.
  EXPECT_FALSE(ParseEcrReply(reply, true).ok());
  reply.body = absl::StrCat(R"({"authorizationData":{"authorizationToken":")",
                            token, R"(","expiresAt":1767322800}})");
  EXPECT_TRUE(ParseEcrReply(reply, true).ok());
  // An error named only by the header.
  reply.status = 400;
  reply.body = "not json";
  reply.headers = {
      {"x-amzn-errortype", "ThrottlingException:http://internal.amazon.com/"}};
  EXPECT_EQ(Msg(ParseEcrReply(reply, false).status()),
            "aws: GetAuthorizationToken: ThrottlingException");
}

}  // namespace
}  // namespace ia::reflector
