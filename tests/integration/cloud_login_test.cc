// The image-reflector binary scanning cloud registries: an ECR repository
// with `provider: aws` through IRSA, as the reference chapter does, against
// FakeAws (STS, ECR's GetAuthorizationToken with the SigV4 signature
// recomputed), and Artifact Registry with `provider: gcp` through workload
// identity federation against FakeGcp; behind them Debian's real
// docker-registry whose htpasswd holds the login the cloud hands out. ACR
// with `provider: azure` through Entra workload identity against FakeAzure
// and FakeRegistry playing ACR's exchange and token flow.
//
// The ECR host name (123456789012.dkr.ecr.us-east-1.amazonaws.com) reaches
// the loopback registry through the reflector's test-only environment
// variable IA_TEST_CONNECT_TO (libcurl's CURLOPT_CONNECT_TO: the URL, the
// Host header and the TLS name stay the real one; the registry's
// certificate is for that name and its CA comes in spec.certSecretRef); the
// cloud endpoints are the SDKs' own overrides (AWS_ENDPOINT_URL_STS,
// AWS_ENDPOINT_URL_ECR, the URLs in the external_account file,
// GCE_METADATA_HOST, AZURE_AUTHORITY_HOST). The variables are set in this
// process before the reflector starts (it inherits them) and removed after each
// test.
#include <stdlib.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/objects.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "imageautomation/v1/reflector.grpc.pb.h"
#include "tests/support/docker_registry.h"
#include "tests/support/fake_aws.h"
#include "tests/support/fake_azure.h"
#include "tests/support/fake_gcp.h"
#include "tests/support/fake_registry.h"
#include "tests/support/harness.h"
#include "tests/support/objects.h"

namespace ia::testing {
namespace {

namespace v1 = ::imageautomation::v1;
using ::testing::HasSubstr;

constexpr char kEcrHost[] = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
constexpr char kRole[] = "arn:aws:iam::123456789012:role/image-reflector";
constexpr char kServiceAccountToken[] = "eyJhbGciOiJSUzI1NiJ9.projected.sa";
constexpr char kEcrPassword[] = "eyJwYXlsb2FkIjoiRUNSIn0-minted";

// What the tests of every provider share: a docker-registry holding the
// login the cloud hands out, the reflector, and the helpers.
class CloudReflectorTest : public ::testing::Test {
 protected:
  // Starts a docker-registry whose htpasswd holds `user`:`password`, and
  // points `registry_host` at it for the reflector: HTTPS on port 443 with
  // a certificate for that name when `tls` (the repositories then trust
  // its CA through spec.certSecretRef), else plain HTTP on port 80.
  void StartRegistry(const std::string& user, const std::string& password,
                     const std::string& registry_host, bool tls = false) {
    DockerRegistryOptions options;
    options.user = {{user, password}};
    options.tls = tls;
    if (tls) options.dns_names = {registry_host};
    registry_ = std::make_unique<DockerRegistry>(options);
    absl::Status started = registry_->Start();
    ASSERT_TRUE(started.ok()) << started;
    push_.user = options.user;
    push_.ca_pem = registry_->ca_pem();
    tls_ = tls;
    if (tls) {
      dir_.WriteFile("secrets/flux-system/registry-ca/ca.crt",
                     registry_->ca_pem());
    }
    const std::string port =
        registry_->host().substr(registry_->host().rfind(':') + 1);
    SetEnv(
        "IA_TEST_CONNECT_TO",
        absl::StrCat(registry_host, tls ? ":443" : ":80", ":127.0.0.1:", port));
  }

  // Sets a variable of this process (so of the reflector it starts) until
  // the test ends.
  void SetEnv(const std::string& name, const std::string& value) {
    setenv(name.c_str(), value.c_str(), 1);
    set_.push_back(name);
  }

  void TearDown() override {
    for (const std::string& name : set_) unsetenv(name.c_str());
    if (HasFailure() && reflector_ != nullptr) {
      std::cerr << "--- reflector log:\n" << reflector_->Log();
    }
    // Before the fakes stop: they would wait for its idle connections.
    reflector_.reset();
  }

  void StartReflector(std::vector<std::string> extra = {}) {
    http_port_ = FreePort();
    extra.push_back(absl::StrCat("--http-listen=127.0.0.1:", http_port_));
    extra.push_back("--log-level=debug");
    extra.push_back("--secrets-dir=" + dir_.Join("secrets"));
    reflector_ = std::make_unique<Service>(
        ServiceOptions{IA_REFLECTOR_BIN, dir_.Join("data"), extra},
        dir_.Join("reflector.log"));
    absl::Status started = reflector_->Start();
    ASSERT_TRUE(started.ok()) << started;
    stub_ = v1::Reflector::NewStub(reflector_->Channel());
  }

  static std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(60));
    return context;
  }

  static v1::ObjectKey Key(const std::string& name) {
    v1::ObjectKey key;
    key.set_namespace_("flux-system");
    key.set_name(name);
    return key;
  }

  grpc::Status Apply(const std::string& name, const std::string& image,
                     const std::string& provider) {
    v1::ApplyImageRepositoryRequest request;
    *request.mutable_object() = TestRepository(name, image, "1h");
    request.mutable_object()->mutable_spec()->set_provider(provider);
    if (tls_) {
      request.mutable_object()
          ->mutable_spec()
          ->mutable_cert_secret_ref()
          ->set_name("registry-ca");
    } else {
      request.mutable_object()->mutable_spec()->set_insecure(true);
    }
    v1::ApplyImageRepositoryResponse response;
    return stub_->ApplyImageRepository(Context().get(), request, &response);
  }

  // The Ready condition of `name` once it is True or False.
  v1::Condition WaitReady(const std::string& name) {
    v1::Condition ready;
    EXPECT_TRUE(Eventually([&] {
      v1::ImageRepository got;
      if (!stub_->GetImageRepository(Context().get(), Key(name), &got).ok()) {
        return false;
      }
      const v1::Condition* c = FindCondition(got.status().conditions(), kReady);
      if (c == nullptr || c->status() == kUnknown) return false;
      ready = *c;
      return true;
    })) << name
        << ": Ready never became True or False";
    return ready;
  }

  absl::StatusOr<std::string> Digest(const std::string& name,
                                     const std::string& tag) {
    v1::GetTagDigestRequest request;
    *request.mutable_repository() = Key(name);
    request.set_tag(tag);
    v1::GetTagDigestResponse response;
    grpc::Status status =
        stub_->GetTagDigest(Context().get(), request, &response);
    if (!status.ok()) return absl::UnknownError(status.error_message());
    return response.digest();
  }

  // Not one line of the reflector's log holds one of `secrets`.
  void ExpectNoSecretInLog(const std::vector<std::string>& secrets) {
    const std::string log = reflector_->Log();
    for (const std::string& secret : secrets) {
      EXPECT_FALSE(absl::StrContains(log, secret))
          << "the reflector's log holds a secret of length " << secret.size();
    }
  }

  TempDir dir_;
  std::unique_ptr<DockerRegistry> registry_;
  PushOptions push_;
  int http_port_ = 0;
  std::unique_ptr<Service> reflector_;
  std::unique_ptr<v1::Reflector::Stub> stub_;
  std::vector<std::string> set_;
  bool tls_ = false;
};

class CloudLoginTest : public CloudReflectorTest {
 protected:
  void SetUp() override {
    // HTTPS under the ECR host name, as ECR serves.
    StartRegistry("AWS", kEcrPassword, kEcrHost, /*tls=*/true);
    ASSERT_TRUE(aws_.Start().ok());
    aws_.SetWebIdentity(kRole, kServiceAccountToken);
    aws_.SetRegistryLogin("AWS", kEcrPassword);
    SetEnv("AWS_ROLE_ARN", kRole);
    SetEnv("AWS_ROLE_SESSION_NAME", "image-reflector-test");
    SetEnv("AWS_WEB_IDENTITY_TOKEN_FILE",
           dir_.WriteFile("sa/token", kServiceAccountToken));
    SetEnv("AWS_ENDPOINT_URL_STS", aws_.url());
    SetEnv("AWS_ENDPOINT_URL_ECR", aws_.url());
    // Never the real 169.254.169.254, whatever happens.
    SetEnv("AWS_EC2_METADATA_SERVICE_ENDPOINT", aws_.url());
  }

  grpc::Status Apply(const std::string& name, const std::string& image) {
    return CloudReflectorTest::Apply(name, image, "aws");
  }
  void ExpectNoSecretInLog() {
    CloudReflectorTest::ExpectNoSecretInLog(aws_.Secrets());
  }

  FakeAws aws_;
};

TEST_F(CloudLoginTest, ScansEcrThroughIrsaAndLooksUpDigestsOnOneLogin) {
  constexpr int kRepositories = 4;
  std::vector<std::string> digests;
  for (int i = 0; i < kRepositories; ++i) {
    absl::StatusOr<std::string> digest =
        PushImageTags(registry_->url(), absl::StrCat("team/app", i),
                      {"1.0.0", "1.1.0", "2.0.0"}, push_);
    ASSERT_TRUE(digest.ok()) << digest.status();
    digests.push_back(*digest);
  }
  // Slow answers, so that the concurrent first scans overlap the exchange.
  aws_.SetDelay(absl::Milliseconds(300));
  StartReflector({"--workers=4"});
  for (int i = 0; i < kRepositories; ++i) {
    grpc::Status applied =
        Apply(absl::StrCat("app", i), absl::StrCat(kEcrHost, "/team/app", i));
    ASSERT_TRUE(applied.ok()) << applied.error_message();
  }
  for (int i = 0; i < kRepositories; ++i) {
    const v1::Condition ready = WaitReady(absl::StrCat("app", i));
    EXPECT_EQ(ready.status(), kTrue)
        << ready.reason() << ": " << ready.message();
    EXPECT_EQ(ready.message(), "successful scan: found 3 tags");
  }

  // The policy service's digest lookup goes through the same login.
  absl::StatusOr<std::string> looked_up = Digest("app2", "1.1.0");
  ASSERT_TRUE(looked_up.ok()) << looked_up.status();
  EXPECT_EQ(*looked_up, digests[2]);

  EXPECT_EQ(aws_.sts_calls(), 1);
  EXPECT_EQ(aws_.ecr_calls(), 1);
  EXPECT_TRUE(aws_.Rejections().empty());
  const HttpReply metrics = HttpGet(http_port_, "/metrics");
  EXPECT_THAT(metrics.body,
              HasSubstr("ia_cloud_login_exchanges_total{provider=\"aws\","
                        "result=\"success\"} 1\n"));
  // Scans that waited for the exchange in flight shared its result; the
  // digest lookup at least was served from the cache.
  const std::string hits = "ia_cloud_login_cache_hits_total{provider=\"aws\"} ";
  ASSERT_THAT(metrics.body, HasSubstr(hits));
  EXPECT_GE(
      std::stoi(metrics.body.substr(metrics.body.find(hits) + hits.size())), 1);
  ExpectNoSecretInLog();
}

TEST_F(CloudLoginTest, ExchangesAgainAfterTheCacheDuration) {
  ASSERT_TRUE(
      PushImageTags(registry_->url(), "team/app", {"1.0.0"}, push_).ok());
  StartReflector({"--token-cache-max-duration=1s"});
  ASSERT_TRUE(Apply("app", absl::StrCat(kEcrHost, "/team/app")).ok());
  ASSERT_EQ(WaitReady("app").status(), kTrue);
  EXPECT_EQ(aws_.ecr_calls(), 1);
  absl::SleepFor(absl::Milliseconds(1100));
  absl::StatusOr<std::string> looked_up = Digest("app", "1.0.0");
  ASSERT_TRUE(looked_up.ok()) << looked_up.status();
  EXPECT_EQ(aws_.sts_calls(), 2);
  EXPECT_EQ(aws_.ecr_calls(), 2);
  ExpectNoSecretInLog();
}

TEST_F(CloudLoginTest, AFailedExchangeIsAuthenticationFailedWithItsStep) {
  ASSERT_TRUE(
      PushImageTags(registry_->url(), "team/app", {"1.0.0"}, push_).ok());
  // The projected token is not one STS takes.
  dir_.WriteFile("sa/token", "eyJhbGciOiJSUzI1NiJ9.expired.sa");
  StartReflector();
  ASSERT_TRUE(Apply("app", absl::StrCat(kEcrHost, "/team/app")).ok());
  const v1::Condition ready = WaitReady("app");
  EXPECT_EQ(ready.status(), kFalse);
  EXPECT_EQ(ready.reason(), "AuthenticationFailed");
  EXPECT_THAT(ready.message(),
              HasSubstr("aws: AssumeRoleWithWebIdentity: "
                        "InvalidIdentityToken: Couldn't retrieve verification "
                        "key from your identity provider"));
  EXPECT_EQ(aws_.ecr_calls(), 0);
  // The refused token is a secret too: it must not be in the log either.
  aws_.SetWebIdentity(kRole, "eyJhbGciOiJSUzI1NiJ9.expired.sa");
  ExpectNoSecretInLog();
}

TEST_F(CloudLoginTest, AHostThatIsNotEcrIsASpecProviderError) {
  StartReflector();
  grpc::Status applied = Apply("app", "ghcr.io/org/app");
  EXPECT_EQ(applied.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(applied.error_message(),
              HasSubstr("ImageRepository flux-system/app: spec.provider: "
                        "\"aws\" does not match the host \"ghcr.io\""));
  EXPECT_EQ(aws_.sts_calls(), 0);
}

// GCP: workload identity federation from a cluster outside Google Cloud
// (an external_account file: subject token -> STS -> generateAccessToken),
// then Artifact Registry's login oauth2accesstoken:<token>.
constexpr char kGarHost[] = "europe-docker.pkg.dev";
constexpr char kGcpAccessToken[] = "ya29.c.b0AXv0zTP-minted-access-token";
constexpr char kAudience[] =
    "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/"
    "pool/providers/cluster";
constexpr char kGcpServiceAccount[] =
    "reflector@project.iam.gserviceaccount.com";

class GcpCloudLoginTest : public CloudReflectorTest {
 protected:
  void SetUp() override {
    StartRegistry("oauth2accesstoken", kGcpAccessToken, kGarHost);
    ASSERT_TRUE(gcp_.Start().ok());
    gcp_.SetAccessToken(kGcpAccessToken);
    gcp_.SetFederation(kAudience, kServiceAccountToken);
    gcp_.SetServiceAccount(kGcpServiceAccount);
    const std::string config = absl::StrCat(
        R"({"type":"external_account","audience":")", kAudience,
        R"(","subject_token_type":"urn:ietf:params:oauth:token-type:jwt",)",
        R"("token_url":")", gcp_.url(), R"(/v1/token",)",
        R"("service_account_impersonation_url":")", gcp_.url(),
        "/v1/projects/-/serviceAccounts/", kGcpServiceAccount,
        R"(:generateAccessToken","credential_source":{"file":")",
        dir_.WriteFile("sa/token", kServiceAccountToken), R"("}})");
    SetEnv("GOOGLE_APPLICATION_CREDENTIALS",
           dir_.WriteFile("gcp/credentials.json", config));
    // Never the real metadata server, whatever happens.
    SetEnv("GCE_METADATA_HOST", gcp_.host());
  }

  FakeGcp gcp_;
};

TEST_F(GcpCloudLoginTest, ScansArtifactRegistryThroughFederation) {
  absl::StatusOr<std::string> digest = PushImageTags(
      registry_->url(), "project/repo/app", {"1.0.0", "1.1.0"}, push_);
  ASSERT_TRUE(digest.ok()) << digest.status();
  StartReflector();
  grpc::Status applied =
      Apply("app", absl::StrCat(kGarHost, "/project/repo/app"), "gcp");
  ASSERT_TRUE(applied.ok()) << applied.error_message();
  const v1::Condition ready = WaitReady("app");
  EXPECT_EQ(ready.status(), kTrue) << ready.reason() << ": " << ready.message();
  EXPECT_EQ(ready.message(), "successful scan: found 2 tags");
  absl::StatusOr<std::string> looked_up = Digest("app", "1.1.0");
  ASSERT_TRUE(looked_up.ok()) << looked_up.status();
  EXPECT_EQ(*looked_up, *digest);
  EXPECT_EQ(gcp_.sts_calls(), 1);
  EXPECT_EQ(gcp_.impersonation_calls(), 1);
  EXPECT_TRUE(gcp_.Rejections().empty());
  ExpectNoSecretInLog(gcp_.Secrets());
}

TEST_F(GcpCloudLoginTest, AFailedExchangeNamesGooglesError) {
  gcp_.SetServiceAccount("other@project.iam.gserviceaccount.com");
  StartReflector();
  ASSERT_TRUE(
      Apply("app", absl::StrCat(kGarHost, "/project/repo/app"), "gcp").ok());
  const v1::Condition ready = WaitReady("app");
  EXPECT_EQ(ready.status(), kFalse);
  EXPECT_EQ(ready.reason(), "AuthenticationFailed");
  EXPECT_THAT(ready.message(),
              HasSubstr("gcp: generateAccessToken: PERMISSION_DENIED: "));
  ExpectNoSecretInLog(gcp_.Secrets());
}

// Azure: Entra workload identity (AKS), then ACR's exchange and token flow,
// served by FakeRegistry as ACR (Debian's registry has no such flow).
constexpr char kAcrHost[] = "myacr.azurecr.io";
constexpr char kTenant[] = "72f988bf-86f1-41af-91ab-2d7cd011db47";
constexpr char kClient[] = "5e1f0c2a-0000-4000-8000-00000000c11e";

class AzureCloudLoginTest : public CloudReflectorTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(azure_.Start().ok());
    ASSERT_TRUE(acr_.Start().ok());
    azure_.SetApplication(kTenant, kClient, kServiceAccountToken);
    refresh_token_ = azure_.MakeRefreshToken(absl::Hours(3));
    acr_.ServeAcrExchange(
        [this](const std::string& token) { return azure_.IsValid(token); },
        refresh_token_);
    FakeRegistry::BearerOptions bearer;
    bearer.credentials = {
        {"00000000-0000-0000-0000-000000000000", refresh_token_}};
    acr_.RequireBearer(bearer);
    acr_.SetTags("team/app", {"1.0.0", "1.1.0", "1.2.0"});
    acr_.SetDigest("team/app", "1.2.0", "sha256:" + std::string(64, 'c'));
    SetEnv("AZURE_TENANT_ID", kTenant);
    SetEnv("AZURE_CLIENT_ID", kClient);
    SetEnv("AZURE_AUTHORITY_HOST", azure_.url() + "/");
    // Never the real 169.254.169.254, whatever happens.
    SetEnv("AZURE_POD_IDENTITY_AUTHORITY_HOST", azure_.url());
    SetEnv("AZURE_FEDERATED_TOKEN_FILE",
           dir_.WriteFile("azure/token", kServiceAccountToken));
    SetEnv("IA_TEST_CONNECT_TO",
           absl::StrCat(kAcrHost, ":80:127.0.0.1:", acr_.port()));
  }

  FakeAzure azure_;
  FakeRegistry acr_;
  std::string refresh_token_;
};

TEST_F(AzureCloudLoginTest, ScansAcrThroughWorkloadIdentity) {
  StartReflector();
  grpc::Status applied =
      Apply("app", absl::StrCat(kAcrHost, "/team/app"), "azure");
  ASSERT_TRUE(applied.ok()) << applied.error_message();
  const v1::Condition ready = WaitReady("app");
  EXPECT_EQ(ready.status(), kTrue) << ready.reason() << ": " << ready.message();
  EXPECT_EQ(ready.message(), "successful scan: found 3 tags");
  absl::StatusOr<std::string> digest = Digest("app", "1.2.0");
  ASSERT_TRUE(digest.ok()) << digest.status();
  EXPECT_EQ(*digest, "sha256:" + std::string(64, 'c'));
  EXPECT_EQ(azure_.token_calls(), 1);
  EXPECT_EQ(acr_.acr_exchanges(), 1);
  EXPECT_TRUE(azure_.Rejections().empty());
  ExpectNoSecretInLog(azure_.Secrets());
}

TEST_F(AzureCloudLoginTest, AFailedExchangeNamesEntrasError) {
  dir_.WriteFile("azure/token", "eyJhbGciOiJSUzI1NiJ9.other.sa");
  StartReflector();
  ASSERT_TRUE(Apply("app", absl::StrCat(kAcrHost, "/team/app"), "azure").ok());
  const v1::Condition ready = WaitReady("app");
  EXPECT_EQ(ready.status(), kFalse);
  EXPECT_EQ(ready.reason(), "AuthenticationFailed");
  EXPECT_THAT(ready.message(),
              HasSubstr("azure: workload identity: invalid_client: "
                        "AADSTS700213: "));
  EXPECT_EQ(acr_.acr_exchanges(), 0);
  std::vector<std::string> secrets = azure_.Secrets();
  secrets.push_back("eyJhbGciOiJSUzI1NiJ9.other.sa");
  ExpectNoSecretInLog(secrets);
}

}  // namespace
}  // namespace ia::testing
