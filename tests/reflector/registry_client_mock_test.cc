// The registry client's protocol, authentication, retries and budget over a
// MockHttpTransport: no server, no wall clock. (registry_client_test.cc
// runs the same client over libcurl against a fake registry.)
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/reflector/http_transport.h"
#include "services/reflector/registry_client.h"
#include "tests/reflector/mock_http_transport.h"
#include "tests/support/jump_clock.h"

namespace ia::reflector {
namespace {

using ::testing::_;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::InSequence;
using ::testing::Return;
using ::testing::StrictMock;

constexpr char kTags[] = "https://registry.example/v2/org/app/tags/list?n=1000";
constexpr char kName[] = "registry.example/org/app";

using ::ia::testing::JumpClock;

std::string Basic(const std::string& user, const std::string& password) {
  return absl::StrCat("Basic ",
                      absl::Base64Escape(absl::StrCat(user, ":", password)));
}

class RegistryClientMockTest : public ::testing::Test {
 protected:
  RegistryClientMockTest() {
    image_.domain = "registry.example";
    image_.path = "org/app";
    options_.timeout = absl::Seconds(30);
  }

  // A client over transport_ on clock_, without a budget unless given.
  std::unique_ptr<RegistryClient> Client(RegistryClientConfig config = {
                                             .requests_per_second = 0}) {
    config.clock = &clock_;
    auto transport = std::make_unique<StrictMock<MockHttpTransport>>();
    transport_ = transport.get();
    return MakeRegistryClient(config, std::move(transport));
  }

  JumpClock clock_;
  ImageReference image_;
  RegistryOptions options_;
  StrictMock<MockHttpTransport>* transport_ = nullptr;  // owned by the client
};

TEST_F(RegistryClientMockTest, BearerChallengeThenTokenThenTheRetriedRequest) {
  auto client = Client();
  options_.credentials = RegistryCredentials{"alice", "s3cret"};
  const std::string token_url =
      "https://auth.example/token?service=registry.example"
      "&scope=repository%3Aorg%2Fapp%3Apull";
  {
    InSequence in_order;
    EXPECT_CALL(*transport_, Send(AllOf(IsRequest("GET", kTags),
                                        HasHeader("Accept", "application/json"),
                                        LacksHeader("Authorization"))))
        .WillOnce(Return(HttpReply(
            401, "",
            {{"www-authenticate",
              R"(Bearer realm="https://auth.example/token",)"
              R"(service="registry.example",scope="repository:org/app:pull")"}})));
    EXPECT_CALL(
        *transport_,
        Send(AllOf(IsRequest("GET", token_url),
                   HasHeader("Authorization", Basic("alice", "s3cret")))))
        .WillOnce(Return(HttpReply(200, R"({"token":"t1","expires_in":300})")));
    EXPECT_CALL(*transport_,
                Send(AllOf(IsRequest("GET", kTags),
                           HasHeader("Authorization", "Bearer t1"))))
        .Times(2)
        .WillRepeatedly(
            Return(HttpReply(200, R"({"tags":["1.0.0","1.1.0"]})")));
  }
  ScanStats stats;
  auto tags = client->ListTags(image_, options_, &stats);
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_THAT(*tags, ElementsAre("1.0.0", "1.1.0"));
  EXPECT_EQ(stats.requests, 3);
  EXPECT_EQ(stats.pages, 1);

  // The host's realm is known and the token cached: one request.
  ScanStats again;
  ASSERT_TRUE(client->ListTags(image_, options_, &again).ok());
  EXPECT_EQ(again.requests, 1);
}

TEST_F(RegistryClientMockTest, BasicChallengeThenBasicProactively) {
  auto client = Client();
  options_.credentials = RegistryCredentials{"bob", "pw"};
  {
    InSequence in_order;
    EXPECT_CALL(*transport_, Send(LacksHeader("Authorization")))
        .WillOnce(Return(
            HttpReply(401, "", {{"www-authenticate", R"(Basic realm="r")"}})));
    EXPECT_CALL(*transport_,
                Send(HasHeader("Authorization", Basic("bob", "pw"))))
        .Times(2)
        .WillRepeatedly(Return(HttpReply(200, R"({"tags":[]})")));
  }
  ASSERT_TRUE(client->ListTags(image_, options_, nullptr).ok());
  ASSERT_TRUE(client->ListTags(image_, options_, nullptr).ok());
}

TEST_F(RegistryClientMockTest, A401WithoutAChallengeIsUnauthenticated) {
  auto client = Client();
  EXPECT_CALL(*transport_, Send(_)).WillOnce(Return(HttpReply(401)));
  auto tags = client->ListTags(image_, options_, nullptr);
  EXPECT_EQ(tags.status(),
            absl::UnauthenticatedError(
                "authentication failed for registry.example/org/app: the "
                "registry answered 401 without a Basic or Bearer challenge"));
}

TEST_F(RegistryClientMockTest, A429IsRetriedAfterRetryAfter) {
  auto client = Client();
  {
    InSequence in_order;
    EXPECT_CALL(*transport_, Send(IsRequest("GET", kTags)))
        .WillOnce(Return(HttpReply(429, "", {{"retry-after", "7"}})));
    EXPECT_CALL(*transport_, Send(IsRequest("GET", kTags)))
        .WillOnce(Return(HttpReply(200, R"({"tags":["a"]})")));
  }
  ScanStats stats;
  auto tags = client->ListTags(image_, options_, &stats);
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_THAT(clock_.waits(), ElementsAre(absl::Seconds(7)));
  EXPECT_EQ(stats.retries, 1);
  EXPECT_EQ(stats.requests, 2);
}

TEST_F(RegistryClientMockTest, A503BacksOffExponentiallyThenGivesUp) {
  auto client = Client({.requests_per_second = 0,
                        .max_retries = 3,
                        .initial_backoff = absl::Seconds(1),
                        .max_backoff = absl::Seconds(3)});
  EXPECT_CALL(*transport_, Send(_))
      .Times(4)
      .WillRepeatedly(Return(HttpReply(503)));
  auto tags = client->ListTags(image_, options_, nullptr);
  EXPECT_THAT(clock_.waits(), ElementsAre(absl::Seconds(1), absl::Seconds(2),
                                          absl::Seconds(3)));
  EXPECT_EQ(tags.status(),
            absl::UnavailableError(
                "registry.example answered GET /v2/org/app/tags/list?n=1000 "
                "for registry.example/org/app with HTTP 503 4 times; giving "
                "up"));
}

TEST_F(RegistryClientMockTest, ARetryAfterPastTheTimeoutIsDeadlineExceeded) {
  auto client = Client();
  EXPECT_CALL(*transport_, Send(_))
      .WillOnce(Return(HttpReply(429, "", {{"retry-after", "60"}})));
  auto tags = client->ListTags(image_, options_, nullptr);
  EXPECT_EQ(tags.status(),
            absl::DeadlineExceededError(
                "waiting 1m to retry after HTTP 429 for "
                "registry.example/org/app did not finish within the timeout "
                "of 30s"));
}

TEST_F(RegistryClientMockTest, FollowsLinkPagination) {
  auto client = Client();
  options_.page_size = 2;
  const std::string first = "https://registry.example/v2/org/app/tags/list?n=2";
  const std::string second =
      "https://registry.example/v2/org/app/tags/list?n=2&last=b";
  {
    InSequence in_order;
    EXPECT_CALL(*transport_, Send(IsRequest("GET", first)))
        .WillOnce(Return(HttpReply(
            200, R"({"tags":["a","b"]})",
            {{"link", R"(</v2/org/app/tags/list?n=2&last=b>; rel="next")"}})));
    EXPECT_CALL(*transport_, Send(IsRequest("GET", second)))
        .WillOnce(Return(HttpReply(200, R"({"tags":["c"]})")));
  }
  ScanStats stats;
  auto tags = client->ListTags(image_, options_, &stats);
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_THAT(*tags, ElementsAre("a", "b", "c"));
  EXPECT_EQ(stats.pages, 2);
}

TEST_F(RegistryClientMockTest, ANextLinkToAnotherHostIsRefused) {
  auto client = Client();
  EXPECT_CALL(*transport_, Send(_))
      .WillOnce(Return(HttpReply(
          200, R"({"tags":["a"]})",
          {{"link",
            R"(<https://elsewhere.example/v2/x?last=a>; rel="next")"}})));
  auto tags = client->ListTags(image_, options_, nullptr);
  EXPECT_EQ(tags.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      std::string(tags.status().message()),
      ::testing::StartsWith("listing tags of registry.example/org/app: "));
}

TEST_F(RegistryClientMockTest, TheReplyCapGoesToTheTransport) {
  auto client = Client();
  options_.max_reply_bytes = 1024;
  EXPECT_CALL(*transport_, Send(Field(&HttpRequest::max_reply_bytes, 1024)))
      .WillOnce(Return(HttpFailureStatus(HttpFailure::kTooLarge, "too big")));
  auto tags = client->ListTags(image_, options_, nullptr);
  EXPECT_EQ(tags.status(),
            absl::ResourceExhaustedError(
                "the reply of registry.example to GET "
                "/v2/org/app/tags/list?n=1000 for registry.example/org/app is "
                "larger than the limit of 1024 bytes"));
}

TEST_F(RegistryClientMockTest, MoreThanMaxTagsIsResourceExhausted) {
  auto client = Client();
  options_.max_tags = 2;
  EXPECT_CALL(*transport_, Send(_))
      .WillOnce(Return(HttpReply(200, R"({"tags":["a","b","c"]})")));
  EXPECT_EQ(client->ListTags(image_, options_, nullptr).status(),
            absl::ResourceExhaustedError(
                "registry.example/org/app has more than 2 tags, the limit per "
                "scan"));
}

TEST_F(RegistryClientMockTest, TransportFailuresNameTheRequest) {
  const std::string what = "GET /v2/org/app/tags/list?n=1000";
  struct Case {
    HttpFailure failure;
    absl::Status want;
  };
  const std::vector<Case> cases = {
      {HttpFailure::kConnection,
       absl::UnavailableError(absl::StrCat(what, " on registry.example for ",
                                           kName, " failed: detail"))},
      {HttpFailure::kTimeout,
       absl::DeadlineExceededError(
           absl::StrCat(what, " on registry.example for ", kName,
                        " did not finish within the timeout of 30s"))},
      {HttpFailure::kTlsMaterial,
       absl::InvalidArgumentError(
           "the TLS material for registry.example is not usable: detail")},
      {HttpFailure::kUntrustedCertificate,
       absl::UnavailableError(
           "the TLS certificate of registry.example is not trusted (detail); "
           "give its CA in spec.certSecretRef")},
      {HttpFailure::kBadUrl,
       absl::InvalidArgumentError(
           absl::StrCat(what, " on registry.example for ", kName, ": detail"))},
  };
  for (const Case& c : cases) {
    auto client = Client();
    EXPECT_CALL(*transport_, Send(_))
        .WillOnce(Return(HttpFailureStatus(c.failure, "detail")));
    ScanStats stats;
    EXPECT_EQ(client->ListTags(image_, options_, &stats).status(), c.want);
    EXPECT_EQ(stats.requests, 1);
  }
}

TEST_F(RegistryClientMockTest, ARequestCarriesTheOptionsAndTheTimeLeft) {
  auto client = Client();
  options_.insecure = true;
  options_.ca_pem = "-----BEGIN CERTIFICATE-----ca-----END CERTIFICATE-----";
  options_.client_cert_pem = "-----BEGIN CERTIFICATE-----c-----END ";
  options_.client_key_pem = "-----BEGIN KEY-----k-----END KEY-----";
  options_.proxy_url = "http://proxy.example:3128";
  options_.proxy_username = "p";
  options_.proxy_password = "q";
  HttpRequest sent;
  EXPECT_CALL(*transport_, Send(_))
      .WillOnce(::testing::DoAll(::testing::SaveArg<0>(&sent),
                                 Return(HttpReply(200, "{}"))));
  ASSERT_TRUE(client->ListTags(image_, options_, nullptr).ok());
  EXPECT_EQ(sent.url, "http://registry.example/v2/org/app/tags/list?n=1000");
  EXPECT_EQ(sent.timeout, absl::Seconds(30));
  EXPECT_EQ(sent.ca_pem, options_.ca_pem);
  EXPECT_EQ(sent.client_cert_pem, options_.client_cert_pem);
  EXPECT_EQ(sent.client_key_pem, options_.client_key_pem);
  EXPECT_EQ(sent.proxy_url, options_.proxy_url);
  EXPECT_EQ(sent.proxy_username, "p");
  EXPECT_EQ(sent.proxy_password, "q");
}

TEST_F(RegistryClientMockTest, DigestIsAHeadOnTheManifest) {
  auto client = Client();
  EXPECT_CALL(
      *transport_,
      Send(AllOf(
          IsRequest("HEAD",
                    "https://registry.example/v2/org/app/manifests/1.0.0"),
          HasHeader("Accept",
                    "application/vnd.docker.distribution.manifest.v2+json, "
                    "application/vnd.docker.distribution.manifest.list.v2+"
                    "json, application/vnd.oci.image.manifest.v1+json, "
                    "application/vnd.oci.image.index.v1+json"))))
      .WillOnce(Return(
          HttpReply(200, "", {{"docker-content-digest", "sha256:abc"}})));
  auto digest = client->Digest(image_, "1.0.0", options_);
  ASSERT_TRUE(digest.ok()) << digest.status();
  EXPECT_EQ(*digest, "sha256:abc");
}

TEST_F(RegistryClientMockTest, DigestOfANonTagAsksNothing) {
  auto client = Client();
  EXPECT_CALL(*transport_, Send(_)).Times(0);
  for (const char* tag : {"", ".hidden", "-dash", "a/b", "x:y"}) {
    auto digest = client->Digest(image_, tag, options_);
    EXPECT_TRUE(absl::IsInvalidArgument(digest.status())) << tag;
    EXPECT_THAT(digest.status().message(),
                ::testing::HasSubstr("is not a valid tag of"))
        << tag;
  }
}

TEST_F(RegistryClientMockTest, TheBudgetSpacesRequestsToOneHost) {
  auto client = Client({.requests_per_second = 1});
  EXPECT_CALL(*transport_, Send(_))
      .Times(3)
      .WillRepeatedly(Return(HttpReply(200, "{}")));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client->ListTags(image_, options_, nullptr).ok());
  }
  EXPECT_THAT(clock_.waits(), ElementsAre(absl::Seconds(1), absl::Seconds(1)));
}

}  // namespace
}  // namespace ia::reflector
