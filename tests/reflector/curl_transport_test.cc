// The libcurl HttpTransport against FakeRegistry on loopback: what a reply
// looks like, connection reuse, and each kind of failure.
#include "services/reflector/curl_transport.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/fake_registry.h"
#include "tests/support/harness.h"

namespace ia::reflector {
namespace {

using ::ia::testing::FakeRegistry;
using ::ia::testing::RegistryFault;
using ::testing::Pair;

class CurlTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(registry_.Start().ok());
    registry_.SetTags("app", {"1.0.0", "1.1.0"});
  }

  HttpRequest Get(const std::string& path) const {
    HttpRequest request;
    request.url = absl::StrCat(registry_.url(), path);
    request.headers = {{"Accept", "application/json"}};
    request.timeout = absl::Seconds(30);
    return request;
  }

  FakeRegistry registry_;
  std::unique_ptr<HttpTransport> transport_ = MakeCurlTransport();
};

// ia_registry_requests_total{code="2xx",result="ok"} now.
double OkRequests() {
  const std::string text = metrics::Registry::Default().Render();
  const std::string key =
      "ia_registry_requests_total{code=\"2xx\",result=\"ok\"} ";
  const size_t at = text.find(key);
  return at == std::string::npos ? 0 : std::stod(text.substr(at + key.size()));
}

TEST_F(CurlTransportTest, CountsRegistryRequestsUnlessToldNotTo) {
  const double before = OkRequests();
  ASSERT_TRUE(transport_->Send(Get("/v2/app/tags/list")).ok());
  EXPECT_EQ(OkRequests(), before + 1);
  CurlTransportOptions options;
  options.count_as_registry_requests = false;
  std::unique_ptr<HttpTransport> uncounted = MakeCurlTransport(options);
  ASSERT_TRUE(uncounted->Send(Get("/v2/app/tags/list")).ok());
  EXPECT_EQ(OkRequests(), before + 1);
}

TEST_F(CurlTransportTest, ReturnsStatusHeadersInLowerCaseAndBody) {
  absl::StatusOr<HttpResponse> reply =
      transport_->Send(Get("/v2/app/tags/list"));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 200);
  EXPECT_THAT(reply->body, ::testing::HasSubstr("1.1.0"));
  EXPECT_THAT(reply->headers,
              ::testing::Contains(Pair("content-type", ::testing::_)));
  EXPECT_EQ(registry_.Received().back().accept, "application/json");
}

TEST_F(CurlTransportTest, AnHttpErrorIsAReplyNotAFailure) {
  registry_.AddFault("", RegistryFault::Status(429, "3"));
  absl::StatusOr<HttpResponse> reply =
      transport_->Send(Get("/v2/app/tags/list"));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 429);
  EXPECT_EQ(reply->Header("retry-after"), "3");
}

TEST_F(CurlTransportTest, HeadReadsNoBodyAndConnectionsAreReused) {
  HttpRequest head = Get("/v2/app/manifests/1.0.0");
  head.method = "HEAD";
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<HttpResponse> reply = transport_->Send(head);
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->body, "");
    EXPECT_NE(reply->Header("docker-content-digest"), "");
  }
  EXPECT_EQ(registry_.Connections(), 1);
}

TEST_F(CurlTransportTest, Failures) {
  HttpRequest large = Get("/v2/app/tags/list");
  large.max_reply_bytes = 1000;
  registry_.AddFault("", RegistryFault::LargeBody(int64_t{1} << 20, false));
  EXPECT_EQ(HttpFailureOf(transport_->Send(large).status()),
            HttpFailure::kTooLarge);
  registry_.AddFault("", RegistryFault::LargeBody(int64_t{1} << 20, true));
  EXPECT_EQ(HttpFailureOf(transport_->Send(large).status()),
            HttpFailure::kTooLarge);

  HttpRequest slow = Get("/v2/app/tags/list");
  slow.timeout = absl::Milliseconds(200);
  registry_.AddFault("", RegistryFault::Slow(absl::Seconds(30)));
  absl::Status timeout = transport_->Send(slow).status();
  EXPECT_EQ(timeout.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(HttpFailureOf(timeout), HttpFailure::kTimeout);

  HttpRequest refused = Get("");
  refused.url = absl::StrCat("http://127.0.0.1:", ia::testing::FreePort(),
                             "/v2/app/tags/list");
  absl::Status connection = transport_->Send(refused).status();
  EXPECT_EQ(connection.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(HttpFailureOf(connection), HttpFailure::kConnection);

  HttpRequest ftp = Get("");
  ftp.url = "ftp://127.0.0.1/x";
  EXPECT_EQ(HttpFailureOf(transport_->Send(ftp).status()),
            HttpFailure::kBadUrl);
}

}  // namespace
}  // namespace ia::reflector
