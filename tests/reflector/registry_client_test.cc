// The libcurl registry client against FakeRegistry (real HTTP on loopback):
// pagination, authentication, retries, the budget, caps and faults, digests,
// proxies; and CredentialsFromDockerConfig.
#include "services/reflector/registry_client.h"

#include <cstdlib>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/fake_registry.h"
#include "tests/support/harness.h"
#include "tests/support/jump_clock.h"

namespace ia::reflector {
namespace {

using ::ia::testing::FakeRegistry;
using ::ia::testing::RecordedRequest;
using ::ia::testing::RegistryFault;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

using ::ia::testing::JumpClock;

std::string Basic(const std::string& user, const std::string& password) {
  return absl::StrCat("Basic ",
                      absl::Base64Escape(absl::StrCat(user, ":", password)));
}

std::vector<std::string> Tags(int n, const std::string& prefix = "1.0.") {
  std::vector<std::string> tags;
  for (int i = 0; i < n; ++i) tags.push_back(absl::StrCat(prefix, i));
  return tags;
}

class RegistryClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(registry_.Start().ok());
    registry_.SetTags("app", {"1.0.0", "1.1.0", "2.0.0"});
    options_.insecure = true;
    options_.timeout = absl::Seconds(30);
  }

  // A client on clock_ with no budget unless the test sets one.
  std::unique_ptr<RegistryClient> Client(RegistryClientConfig config = {}) {
    if (config.clock == nullptr) config.clock = &clock_;
    if (!budget_set_) config.requests_per_second = 0;
    return MakeRegistryClient(config);
  }

  ImageReference Image(const std::string& path = "app") const {
    ImageReference image;
    image.domain = registry_.host();
    image.path = path;
    return image;
  }

  std::vector<std::string> Queries(const std::string& path) const {
    std::vector<std::string> out;
    for (const RecordedRequest& r : registry_.Received()) {
      if (r.path == path) out.push_back(r.query);
    }
    return out;
  }

  FakeRegistry registry_;
  JumpClock clock_;
  RegistryOptions options_;
  bool budget_set_ = false;
};

// --- Listing and pagination.

TEST_F(RegistryClientTest, ListsTagsAnonymouslyWithThePageSize) {
  auto client = Client();
  ScanStats stats;
  auto tags = client->ListTags(Image(), options_, &stats);
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_THAT(*tags, ElementsAre("1.0.0", "1.1.0", "2.0.0"));
  EXPECT_EQ(stats.requests, 1);
  EXPECT_EQ(stats.pages, 1);
  EXPECT_EQ(stats.retries, 0);
  EXPECT_THAT(Queries("/v2/app/tags/list"), ElementsAre("n=1000"));
  EXPECT_EQ(registry_.Received()[0].authorization, "");
}

// Docker distribution never compresses its replies; registries behind some
// CDNs do. The client asks for compression and reads brotli or gzip.
TEST_F(RegistryClientTest, ReadsCompressedReplies) {
  std::vector<std::string> many;
  for (int i = 0; i < 500; ++i) many.push_back(absl::StrCat("1.0.", i));
  registry_.SetTags("big", many);
  registry_.SetJsonContentType("application/json");  // compressed by the fake
  auto tags = Client()->ListTags(Image("big"), options_, nullptr);
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_EQ(*tags, many);
  const std::string accepted = registry_.Received().back().accept_encoding;
  EXPECT_TRUE(absl::StrContains(accepted, "br") ||
              absl::StrContains(accepted, "gzip"))
      << accepted;
}

TEST_F(RegistryClientTest, FollowsRelativeNextLinks) {
  registry_.SetTags("org/app", Tags(5));
  options_.page_size = 2;
  ScanStats stats;
  auto tags = Client()->ListTags(Image("org/app"), options_, &stats);
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_EQ(*tags, Tags(5));
  EXPECT_EQ(stats.pages, 3);
  EXPECT_EQ(stats.requests, 3);
  EXPECT_THAT(Queries("/v2/org/app/tags/list"),
              ElementsAre("n=2", "n=2&last=1.0.1", "n=2&last=1.0.3"));
}

TEST_F(RegistryClientTest, FollowsAbsoluteNextLinksOnTheSameOrigin) {
  registry_.SetTags("app", Tags(5));
  registry_.SetAbsoluteLinks(true);
  options_.page_size = 2;
  ScanStats stats;
  auto tags = Client()->ListTags(Image(), options_, &stats);
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_EQ(*tags, Tags(5));
  EXPECT_EQ(stats.pages, 3);
}

TEST_F(RegistryClientTest, FollowsTheServersOwnPagesWithoutPageSize) {
  registry_.SetTags("app", Tags(7));
  registry_.SetMaxPageSize(3);
  options_.page_size = 0;
  ScanStats stats;
  auto tags = Client()->ListTags(Image(), options_, &stats);
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_EQ(*tags, Tags(7));
  EXPECT_EQ(stats.pages, 3);
  EXPECT_EQ(Queries("/v2/app/tags/list")[0], "");
}

TEST_F(RegistryClientTest, RefusesANextLinkToAnotherHost) {
  FakeRegistry other;
  ASSERT_TRUE(other.Start().ok());
  other.SetTags("app", Tags(5));
  registry_.SetTags("app", Tags(5));
  const std::string elsewhere = absl::StrCat("http://localhost:", other.port(),
                                             "/v2/app/tags/list?last=1.0.1");
  registry_.SetNextLinkOverride(elsewhere);
  options_.page_size = 2;
  auto tags = Client()->ListTags(Image(), options_, nullptr);
  EXPECT_EQ(tags.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(tags.status().message()),
              HasSubstr(absl::StrCat("localhost:", other.port())));
  EXPECT_THAT(std::string(tags.status().message()), HasSubstr(Image().Name()));
  EXPECT_EQ(other.TotalRequests(), 0);
}

TEST_F(RegistryClientTest, ANextLinkBackToAReadPageIsDataLoss) {
  registry_.SetTags("app", Tags(5));
  registry_.SetNextLinkOverride("/v2/app/tags/list?n=2");
  options_.page_size = 2;
  auto tags = Client()->ListTags(Image(), options_, nullptr);
  EXPECT_EQ(tags.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(registry_.TotalRequests(), 1);
}

TEST_F(RegistryClientTest, NullTagsIsAnEmptyList) {
  registry_.SetNullTags("empty");
  auto tags = Client()->ListTags(Image("empty"), options_, nullptr);
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_TRUE(tags->empty());
}

TEST_F(RegistryClientTest, MissingRepositoryIsNotFound) {
  auto tags = Client()->ListTags(Image("nope"), options_, nullptr);
  EXPECT_EQ(tags.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(tags.status().message()),
              HasSubstr(absl::StrCat(registry_.host(), "/nope")));
}

// --- Basic authentication.

TEST_F(RegistryClientTest, BasicAfterAChallengeThenProactively) {
  registry_.RequireBasic("alice", "s3cret");
  options_.credentials = RegistryCredentials{"alice", "s3cret"};
  auto client = Client();
  ScanStats stats;
  auto tags = client->ListTags(Image(), options_, &stats);
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_EQ(stats.requests, 2);
  std::vector<RecordedRequest> received = registry_.Received();
  ASSERT_EQ(received.size(), 2u);
  EXPECT_EQ(received[0].authorization, "");
  EXPECT_EQ(received[1].authorization, Basic("alice", "s3cret"));

  // Once the host is known to want Basic, it is sent at once.
  ScanStats again;
  ASSERT_TRUE(client->ListTags(Image(), options_, &again).ok());
  EXPECT_EQ(again.requests, 1);
  EXPECT_EQ(registry_.Received().back().authorization,
            Basic("alice", "s3cret"));
}

TEST_F(RegistryClientTest, BasicWithoutCredentialsIsUnauthenticated) {
  registry_.RequireBasic("alice", "s3cret");
  auto tags = Client()->ListTags(Image(), options_, nullptr);
  EXPECT_EQ(tags.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(tags.status().message()),
              HasSubstr(absl::StrCat("authentication failed for ",
                                     registry_.host(), "/app")));
}

TEST_F(RegistryClientTest,
       WrongBasicPasswordIsUnauthenticatedWithoutTheSecret) {
  registry_.RequireBasic("alice", "s3cret");
  options_.credentials = RegistryCredentials{"alice", "wrong-pa55"};
  auto client = Client();
  for (int i = 0; i < 2; ++i) {  // after a challenge, then proactively
    auto tags = client->ListTags(Image(), options_, nullptr);
    EXPECT_EQ(tags.status().code(), absl::StatusCode::kUnauthenticated);
    const std::string message(tags.status().message());
    EXPECT_THAT(message, HasSubstr(absl::StrCat("authentication failed for ",
                                                registry_.host(), "/app")));
    EXPECT_THAT(message, Not(HasSubstr("wrong-pa55")));
  }
  EXPECT_EQ(registry_.TotalRequests(), 3);  // 401, Basic 401; Basic 401
}

// --- Bearer tokens.

TEST_F(RegistryClientTest, AnonymousBearerTokenIsFetchedAndCached) {
  registry_.RequireBearer({});
  auto client = Client();
  ScanStats stats;
  auto tags = client->ListTags(Image(), options_, &stats);
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_EQ(stats.requests, 3);  // 401, token, the list
  EXPECT_EQ(registry_.Requests("/token"), 1);
  EXPECT_THAT(Queries("/token"),
              ElementsAre("service=fake&scope=repository%3Aapp%3Apull"));
  std::vector<RecordedRequest> received = registry_.Received();
  EXPECT_EQ(received[1].authorization, "");  // anonymous token request
  EXPECT_EQ(received[2].authorization, "Bearer fake-token-1");

  ScanStats again;
  ASSERT_TRUE(client->ListTags(Image(), options_, &again).ok());
  EXPECT_EQ(again.requests, 1);
  EXPECT_EQ(registry_.Requests("/token"), 1);
  // Digest of the same repository uses the same token.
  ASSERT_TRUE(client->Digest(Image(), "1.0.0", options_).ok());
  EXPECT_EQ(registry_.Requests("/token"), 1);
}

TEST_F(RegistryClientTest, BearerTokenWithBasicCredentialsAndAccessTokenField) {
  FakeRegistry::BearerOptions bearer;
  bearer.credentials = {{"bob", "hunter2"}};
  bearer.access_token = true;
  registry_.RequireBearer(bearer);
  options_.credentials = RegistryCredentials{"bob", "hunter2"};
  auto tags = Client()->ListTags(Image(), options_, nullptr);
  ASSERT_TRUE(tags.ok()) << tags.status();
  std::vector<RecordedRequest> received = registry_.Received();
  ASSERT_EQ(received.size(), 3u);
  EXPECT_EQ(received[1].path, "/token");
  EXPECT_EQ(received[1].authorization, Basic("bob", "hunter2"));
  EXPECT_EQ(received[2].authorization, "Bearer fake-token-1");
}

TEST_F(RegistryClientTest, WrongPasswordAtTheTokenEndpointIsUnauthenticated) {
  FakeRegistry::BearerOptions bearer;
  bearer.credentials = {{"bob", "hunter2"}};
  registry_.RequireBearer(bearer);
  options_.credentials = RegistryCredentials{"bob", "nope-nope"};
  auto tags = Client()->ListTags(Image(), options_, nullptr);
  EXPECT_EQ(tags.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(tags.status().message()),
              HasSubstr(absl::StrCat("authentication failed for ",
                                     registry_.host(), "/app")));
  EXPECT_THAT(std::string(tags.status().message()),
              Not(HasSubstr("nope-nope")));
}

TEST_F(RegistryClientTest, TokenIsRefetchedWhenExpiresInHasPassed) {
  FakeRegistry::BearerOptions bearer;
  bearer.expires_in = 300;
  registry_.RequireBearer(bearer);
  auto client = Client();
  ASSERT_TRUE(client->ListTags(Image(), options_, nullptr).ok());
  clock_.Advance(absl::Seconds(299));
  ASSERT_TRUE(client->ListTags(Image(), options_, nullptr).ok());
  EXPECT_EQ(registry_.Requests("/token"), 1);
  clock_.Advance(absl::Seconds(2));
  ASSERT_TRUE(client->ListTags(Image(), options_, nullptr).ok());
  EXPECT_EQ(registry_.Requests("/token"), 2);
  // The expired token was not sent: the realm was known, so a fresh token
  // was fetched before the request.
  EXPECT_EQ(registry_.Received().back().authorization, "Bearer fake-token-2");
  EXPECT_EQ(registry_.Requests("/v2/app/tags/list"), 4);
}

TEST_F(RegistryClientTest, TokenWithoutExpiresInLastsSixtySeconds) {
  FakeRegistry::BearerOptions bearer;
  bearer.expires_in = 0;  // left out of the reply
  registry_.RequireBearer(bearer);
  auto client = Client();
  ASSERT_TRUE(client->ListTags(Image(), options_, nullptr).ok());
  clock_.Advance(absl::Seconds(59));
  ASSERT_TRUE(client->ListTags(Image(), options_, nullptr).ok());
  EXPECT_EQ(registry_.Requests("/token"), 1);
  clock_.Advance(absl::Seconds(2));
  ASSERT_TRUE(client->ListTags(Image(), options_, nullptr).ok());
  EXPECT_EQ(registry_.Requests("/token"), 2);
}

TEST_F(RegistryClientTest, TokensAreCachedPerScopeAndCredentials) {
  FakeRegistry::BearerOptions bearer;
  registry_.RequireBearer(bearer);
  registry_.SetTags("other", {"x"});
  auto client = Client();
  ASSERT_TRUE(client->ListTags(Image(), options_, nullptr).ok());
  ASSERT_TRUE(client->ListTags(Image("other"), options_, nullptr).ok());
  EXPECT_EQ(registry_.Requests("/token"), 2);  // two scopes
  RegistryOptions with_user = options_;
  with_user.credentials = RegistryCredentials{"carol", "pw"};
  ASSERT_TRUE(client->ListTags(Image(), with_user, nullptr).ok());
  EXPECT_EQ(registry_.Requests("/token"), 3);  // other credentials
  ASSERT_TRUE(client->ListTags(Image(), with_user, nullptr).ok());
  ASSERT_TRUE(client->ListTags(Image(), options_, nullptr).ok());
  EXPECT_EQ(registry_.Requests("/token"), 3);
}

TEST_F(RegistryClientTest, ARefusedCachedTokenIsReplacedOnce) {
  registry_.RequireBearer({});
  auto client = Client();
  ASSERT_TRUE(client->ListTags(Image(), options_, nullptr).ok());
  registry_.RevokeTokens();
  auto tags = client->ListTags(Image(), options_, nullptr);
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_EQ(registry_.Requests("/token"), 2);
  EXPECT_EQ(registry_.Received().back().authorization, "Bearer fake-token-2");
}

// --- Retries.

TEST_F(RegistryClientTest, RetriesA429AfterRetryAfterSeconds) {
  registry_.AddFault("/v2/app/tags/list", RegistryFault::Status(429, "7"));
  ScanStats stats;
  auto tags = Client()->ListTags(Image(), options_, &stats);
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_THAT(clock_.waits(), ElementsAre(absl::Seconds(7)));
  EXPECT_EQ(stats.retries, 1);
  EXPECT_EQ(stats.requests, 2);
}

TEST_F(RegistryClientTest, RetriesA503AfterRetryAfterDate) {
  const std::string date =
      absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT",
                       clock_.Now() + absl::Seconds(12), absl::UTCTimeZone());
  registry_.AddFault("/v2/app/tags/list", RegistryFault::Status(503, date));
  auto tags = Client()->ListTags(Image(), options_, nullptr);
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_THAT(clock_.waits(), ElementsAre(absl::Seconds(12)));
}

TEST_F(RegistryClientTest, BacksOffExponentiallyUpToTheCap) {
  registry_.AddFault("/v2/app/tags/list", RegistryFault::Status(429), 4);
  RegistryClientConfig config;
  config.initial_backoff = absl::Seconds(1);
  config.max_backoff = absl::Seconds(3);
  ScanStats stats;
  auto tags = Client(config)->ListTags(Image(), options_, &stats);
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_THAT(clock_.waits(), ElementsAre(absl::Seconds(1), absl::Seconds(2),
                                          absl::Seconds(3), absl::Seconds(3)));
  EXPECT_EQ(stats.retries, 4);
}

TEST_F(RegistryClientTest, GivesUpAfterMaxRetries) {
  registry_.AddFault("/v2/app/tags/list", RegistryFault::Status(429, "1"), 3);
  RegistryClientConfig config;
  config.max_retries = 2;
  auto tags = Client(config)->ListTags(Image(), options_, nullptr);
  EXPECT_EQ(tags.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(tags.status().message()), HasSubstr("429"));
  EXPECT_EQ(registry_.TotalRequests(), 3);
}

TEST_F(RegistryClientTest, RetriesTheTokenRequestToo) {
  registry_.RequireBearer({});
  registry_.AddFault("/token", RegistryFault::Status(503, "2"));
  auto tags = Client()->ListTags(Image(), options_, nullptr);
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_EQ(registry_.Requests("/token"), 2);
}

TEST_F(RegistryClientTest, ARetryAfterPastTheTimeoutIsDeadlineExceeded) {
  registry_.AddFault("/v2/app/tags/list", RegistryFault::Status(429, "10"));
  options_.timeout = absl::Seconds(5);
  auto tags = Client()->ListTags(Image(), options_, nullptr);
  EXPECT_EQ(tags.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(clock_.waits().empty());
}

// --- The budget per host.

TEST_F(RegistryClientTest, BudgetIsSharedByAllRepositoriesOfAHost) {
  FakeRegistry other;  // another host; outlives the client's connections
  ASSERT_TRUE(other.Start().ok());
  other.SetTags("app", Tags(2));
  budget_set_ = true;
  RegistryClientConfig config;
  config.requests_per_second = 2;  // burst 2, then one every 0.5s
  auto client = Client(config);
  registry_.SetTags("app", Tags(4));
  registry_.SetTags("other", Tags(2));
  options_.page_size = 1;
  ASSERT_TRUE(client->ListTags(Image(), options_, nullptr).ok());
  EXPECT_EQ(clock_.waited(), absl::Seconds(1));  // 4 requests: 2 waited
  ASSERT_TRUE(client->ListTags(Image("other"), options_, nullptr).ok());
  EXPECT_EQ(clock_.waited(), absl::Seconds(2));  // no new burst for it

  // Another host has its own budget.
  ImageReference image;
  image.domain = other.host();
  image.path = "app";
  ASSERT_TRUE(client->ListTags(image, options_, nullptr).ok());
  EXPECT_EQ(clock_.waited(), absl::Seconds(2));

  // Time refills the bucket (up to the burst).
  clock_.Advance(absl::Seconds(10));
  ASSERT_TRUE(client->ListTags(Image("other"), options_, nullptr).ok());
  EXPECT_EQ(clock_.waited(), absl::Seconds(2));
}

TEST_F(RegistryClientTest, BudgetWaitPastTheTimeoutIsDeadlineExceeded) {
  budget_set_ = true;
  RegistryClientConfig config;
  config.requests_per_second = 0.1;  // one request per 10s
  registry_.SetTags("app", Tags(3));
  options_.page_size = 1;
  options_.timeout = absl::Seconds(5);
  auto tags = Client(config)->ListTags(Image(), options_, nullptr);
  EXPECT_EQ(tags.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(registry_.TotalRequests(), 1);
}

// --- Faults and caps.

TEST_F(RegistryClientTest, ServerErrorIsUnavailableWithTheStatus) {
  registry_.AddFault("/v2/app/tags/list", RegistryFault::Status(500));
  auto tags = Client()->ListTags(Image(), options_, nullptr);
  EXPECT_EQ(tags.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(tags.status().message()), HasSubstr("HTTP 500"));
  EXPECT_THAT(std::string(tags.status().message()), HasSubstr(Image().Name()));
  EXPECT_EQ(registry_.TotalRequests(), 1);  // 500 is not retried
}

TEST_F(RegistryClientTest, ConnectionResetIsUnavailable) {
  registry_.AddFault("/v2/app/tags/list",
                     RegistryFault::Of(RegistryFault::Kind::kReset));
  auto client = Client();
  auto tags = client->ListTags(Image(), options_, nullptr);
  EXPECT_EQ(tags.status().code(), absl::StatusCode::kUnavailable)
      << tags.status();
  EXPECT_THAT(std::string(tags.status().message()),
              HasSubstr(registry_.host()));
  // The client recovers on a new connection.
  ASSERT_TRUE(client->ListTags(Image(), options_, nullptr).ok());
}

TEST_F(RegistryClientTest, ConnectionRefusedIsUnavailable) {
  ImageReference image;
  image.domain = absl::StrCat("127.0.0.1:", ::ia::testing::FreePort());
  image.path = "app";
  auto tags = Client()->ListTags(image, options_, nullptr);
  EXPECT_EQ(tags.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(RegistryClientTest, TruncatedJsonIsDataLoss) {
  registry_.AddFault("/v2/app/tags/list",
                     RegistryFault::Of(RegistryFault::Kind::kTruncatedJson));
  auto tags = Client()->ListTags(Image(), options_, nullptr);
  EXPECT_EQ(tags.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(tags.status().message()), HasSubstr(Image().Name()));
}

TEST_F(RegistryClientTest, MalformedJsonIsDataLoss) {
  registry_.AddFault("/v2/app/tags/list",
                     RegistryFault::Of(RegistryFault::Kind::kMalformedJson));
  auto tags = Client()->ListTags(Image(), options_, nullptr);
  EXPECT_EQ(tags.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(tags.status().message()),
              HasSubstr(registry_.host()));
}

TEST_F(RegistryClientTest, ABodyOverTheCapIsRefusedWithoutReadingIt) {
  constexpr int64_t kHuge = int64_t{256} << 20;
  options_.max_reply_bytes = 1000;
  for (bool chunked : {false, true}) {
    SCOPED_TRACE(chunked ? "chunked" : "Content-Length");
    registry_.AddFault("/v2/app/tags/list",
                       RegistryFault::LargeBody(kHuge, chunked));
    auto tags = Client()->ListTags(Image(), options_, nullptr);
    EXPECT_EQ(tags.status().code(), absl::StatusCode::kResourceExhausted);
    EXPECT_THAT(std::string(tags.status().message()), HasSubstr("1000 bytes"));
  }
  EXPECT_LT(registry_.LargeBodyBytesSent(), kHuge);
}

TEST_F(RegistryClientTest, MoreThanMaxTagsIsResourceExhausted) {
  registry_.SetTags("app", Tags(5));
  options_.max_tags = 4;
  options_.page_size = 2;
  auto tags = Client()->ListTags(Image(), options_, nullptr);
  EXPECT_EQ(tags.status().code(), absl::StatusCode::kResourceExhausted);
  options_.max_tags = 5;
  EXPECT_TRUE(Client()->ListTags(Image(), options_, nullptr).ok());
}

TEST_F(RegistryClientTest, ASlowReplyEndsAtTheTimeout) {
  registry_.AddFault("/v2/app/tags/list",
                     RegistryFault::Slow(absl::Seconds(60)));
  options_.timeout = absl::Milliseconds(300);
  RegistryClientConfig config;
  config.clock = RealClock();
  auto tags = Client(config)->ListTags(Image(), options_, nullptr);
  EXPECT_EQ(tags.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string(tags.status().message()), HasSubstr(Image().Name()));
}

TEST_F(RegistryClientTest, ReusesOneConnection) {
  registry_.SetTags("app", Tags(5));
  options_.page_size = 1;
  auto client = Client();
  ASSERT_TRUE(client->ListTags(Image(), options_, nullptr).ok());
  ASSERT_TRUE(client->ListTags(Image(), options_, nullptr).ok());
  ASSERT_TRUE(client->Digest(Image(), "1.0.0", options_).ok());
  EXPECT_EQ(registry_.TotalRequests(), 11);
  EXPECT_EQ(registry_.Connections(), 1);
}

TEST_F(RegistryClientTest, ConcurrentScansShareTheClient) {
  registry_.RequireBearer({});
  for (int i = 0; i < 8; ++i)
    registry_.SetTags(absl::StrCat("app", i), Tags(20));
  options_.page_size = 5;
  auto client = Client();
  std::vector<std::thread> threads;
  std::vector<absl::Status> results(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      for (int round = 0; round < 3 && results[i].ok(); ++round) {
        auto tags =
            client->ListTags(Image(absl::StrCat("app", i)), options_, nullptr);
        results[i] = tags.ok() && *tags == Tags(20)
                         ? absl::OkStatus()
                         : absl::InternalError("wrong");
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const absl::Status& s : results) EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(registry_.Requests("/token"), 8);  // one per repository
}

// --- Digest.

TEST_F(RegistryClientTest, DigestFromAHeadWithManifestTypes) {
  const std::string digest = "sha256:" + std::string(64, 'a');
  registry_.SetDigest("app", "1.1.0", digest);
  auto got = Client()->Digest(Image(), "1.1.0", options_);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, digest);
  RecordedRequest head = registry_.Received().back();
  EXPECT_EQ(head.method, "HEAD");
  EXPECT_EQ(head.path, "/v2/app/manifests/1.1.0");
  for (const char* type :
       {"application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json"}) {
    EXPECT_THAT(head.accept, HasSubstr(type));
  }
}

TEST_F(RegistryClientTest, DigestOfAMissingTagIsNotFound) {
  auto got = Client()->Digest(Image(), "9.9.9", options_);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(got.status().message()), HasSubstr("9.9.9"));
  EXPECT_EQ(Client()->Digest(Image(), "bad/tag", options_).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(RegistryClientTest, DigestFollowsTheBearerFlow) {
  FakeRegistry::BearerOptions bearer;
  bearer.credentials = {{"bob", "hunter2"}};
  registry_.RequireBearer(bearer);
  options_.credentials = RegistryCredentials{"bob", "hunter2"};
  auto got = Client()->Digest(Image(), "1.0.0", options_);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->rfind("sha256:", 0), 0u);
  options_.credentials = RegistryCredentials{"bob", "wrong"};
  EXPECT_EQ(Client()->Digest(Image(), "1.0.0", options_).status().code(),
            absl::StatusCode::kUnauthenticated);
}

// --- Proxy and TLS options.

TEST_F(RegistryClientTest, GoesThroughTheProxyWithItsCredentials) {
  // The fake serves absolute-form requests as a proxy would forward them.
  options_.proxy_url = registry_.url();
  options_.proxy_username = "proxy-user";
  options_.proxy_password = "proxy-pass";
  ImageReference image;
  image.domain = "registry.invalid:5000";  // never resolved: the proxy is asked
  image.path = "app";
  auto tags = Client()->ListTags(image, options_, nullptr);
  ASSERT_TRUE(tags.ok()) << tags.status();
  RecordedRequest r = registry_.Received().front();
  EXPECT_EQ(r.proxied_host, "registry.invalid:5000");
  EXPECT_EQ(r.path, "/v2/app/tags/list");
  EXPECT_EQ(r.proxy_authorization, Basic("proxy-user", "proxy-pass"));
}

TEST_F(RegistryClientTest, NoProxyUnlessOneIsGiven) {
  // A proxy from the environment would refuse the connection.
  const std::string dead =
      absl::StrCat("http://127.0.0.1:", ::ia::testing::FreePort());
  setenv("http_proxy", dead.c_str(), 1);
  auto tags = Client()->ListTags(Image(), options_, nullptr);
  unsetenv("http_proxy");
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_EQ(registry_.Received().front().proxied_host, "");
}

TEST_F(RegistryClientTest, BadTlsMaterialIsInvalidArgument) {
  options_.insecure = false;
  options_.ca_pem = "not a certificate";
  EXPECT_EQ(Client()->ListTags(Image(), options_, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  options_.ca_pem.clear();
  options_.client_cert_pem =
      "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n";
  EXPECT_EQ(Client()->ListTags(Image(), options_, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);  // no key
  EXPECT_EQ(registry_.TotalRequests(), 0);
}

// --- CredentialsFromDockerConfig.

std::string AuthsOf(const std::string& key, const std::string& entry) {
  return absl::StrCat(R"({"auths":{")", key, R"(":)", entry, "}}");
}

std::string AuthEntry(const std::string& user, const std::string& password) {
  return absl::StrCat(R"({"auth":")", absl::Base64Escape(user + ":" + password),
                      R"("})");
}

TEST(DockerConfigTest, ByHostWithAuth) {
  auto c = CredentialsFromDockerConfig(
      AuthsOf("ghcr.io", AuthEntry("u", "p:w")), "ghcr.io");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(c->has_value());
  EXPECT_EQ((*c)->username, "u");
  EXPECT_EQ((*c)->password, "p:w");
}

TEST(DockerConfigTest, ByUrlWithSchemeAndPathAndPort) {
  auto c = CredentialsFromDockerConfig(
      AuthsOf("https://Registry.Example:5000/v2/", AuthEntry("u", "p")),
      "registry.example:5000");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(c->has_value());
  EXPECT_EQ((*c)->username, "u");
  auto none = CredentialsFromDockerConfig(
      AuthsOf("https://registry.example:5000/", AuthEntry("u", "p")),
      "registry.example");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST(DockerConfigTest, UsernameAndPassword) {
  auto c = CredentialsFromDockerConfig(
      AuthsOf("127.0.0.1:5000", R"({"username":"robot","password":"tok"})"),
      "127.0.0.1:5000");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(c->has_value());
  EXPECT_EQ((*c)->username, "robot");
  EXPECT_EQ((*c)->password, "tok");
}

TEST(DockerConfigTest, DockerHubAliasesFindEachOther) {
  for (const char* key : {"https://index.docker.io/v1/", "docker.io",
                          "index.docker.io", "registry-1.docker.io"}) {
    for (const char* host :
         {"docker.io", "index.docker.io", "registry-1.docker.io"}) {
      auto c = CredentialsFromDockerConfig(AuthsOf(key, AuthEntry("hub", "pw")),
                                           host);
      ASSERT_TRUE(c.ok()) << c.status();
      ASSERT_TRUE(c->has_value()) << key << " for " << host;
      EXPECT_EQ((*c)->username, "hub");
    }
  }
  auto other = CredentialsFromDockerConfig(
      AuthsOf("https://index.docker.io/v1/", AuthEntry("hub", "pw")),
      "ghcr.io");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());
}

TEST(DockerConfigTest, TheExactHostWinsOverAnAlias) {
  const std::string config = absl::StrCat(
      R"({"auths":{"docker.io":)", AuthEntry("alias", "a"),
      R"(,"registry-1.docker.io":)", AuthEntry("exact", "e"), "}}");
  auto c = CredentialsFromDockerConfig(config, "registry-1.docker.io");
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ((*c)->username, "exact");
}

TEST(DockerConfigTest, NoEntryOrNoAuthsIsNullopt) {
  for (const char* config : {R"({"auths":{}})", "{}", R"({"auths":null})"}) {
    auto c = CredentialsFromDockerConfig(config, "ghcr.io");
    ASSERT_TRUE(c.ok()) << config;
    EXPECT_FALSE(c->has_value()) << config;
  }
}

TEST(DockerConfigTest, MalformedIsInvalidArgumentWithoutTheValue) {
  EXPECT_EQ(CredentialsFromDockerConfig("{not json", "h").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CredentialsFromDockerConfig(R"({"auths":[]})", "h").status().code(),
            absl::StatusCode::kInvalidArgument);
  auto bad64 = CredentialsFromDockerConfig(
      AuthsOf("h", R"({"auth":"%%secret%%"})"), "h");
  EXPECT_EQ(bad64.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad64.status().message()),
              HasSubstr("auths[\"h\"].auth"));
  EXPECT_THAT(std::string(bad64.status().message()), Not(HasSubstr("secret")));
  auto no_colon = CredentialsFromDockerConfig(
      AuthsOf("h", absl::StrCat(R"({"auth":")",
                                absl::Base64Escape("justatoken"), R"("})")),
      "h");
  EXPECT_EQ(no_colon.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(no_colon.status().message()),
              Not(HasSubstr("justatoken")));
  EXPECT_EQ(CredentialsFromDockerConfig(AuthsOf("h", R"({"email":"x"})"), "h")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  // A malformed entry for another host does not matter.
  auto other =
      CredentialsFromDockerConfig(AuthsOf("other", R"({"auth":7})"), "h");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());
}

}  // namespace
}  // namespace ia::reflector
