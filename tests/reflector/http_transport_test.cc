// HttpTransport's shared parts: typed failures and header lookups.
#include "services/reflector/http_transport.h"

#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace ia::reflector {
namespace {

TEST(HttpFailureTest, KindsRoundTripWithTheirCodes) {
  struct Case {
    HttpFailure kind;
    absl::StatusCode code;
  };
  const std::vector<Case> cases = {
      {HttpFailure::kConnection, absl::StatusCode::kUnavailable},
      {HttpFailure::kTimeout, absl::StatusCode::kDeadlineExceeded},
      {HttpFailure::kTooLarge, absl::StatusCode::kResourceExhausted},
      {HttpFailure::kTlsMaterial, absl::StatusCode::kInvalidArgument},
      {HttpFailure::kUntrustedCertificate, absl::StatusCode::kUnavailable},
      {HttpFailure::kBadUrl, absl::StatusCode::kInvalidArgument},
  };
  for (const Case& c : cases) {
    const absl::Status status = HttpFailureStatus(c.kind, "what happened");
    EXPECT_EQ(status.code(), c.code);
    EXPECT_EQ(status.message(), "what happened");
    EXPECT_EQ(HttpFailureOf(status), c.kind);
  }
}

TEST(HttpFailureTest, AnyOtherStatusIsAConnectionFailure) {
  EXPECT_EQ(HttpFailureOf(absl::DeadlineExceededError("x")),
            HttpFailure::kConnection);
  EXPECT_EQ(HttpFailureOf(absl::UnknownError("x")), HttpFailure::kConnection);
}

TEST(HttpResponseTest, HeaderAndJoinedHeader) {
  HttpResponse response;
  response.headers = {{"link", "<a>"}, {"x", "1"}, {"link", "<b>"}};
  EXPECT_EQ(response.Header("link"), "<a>");
  EXPECT_EQ(response.JoinedHeader("link"), "<a>, <b>");
  EXPECT_EQ(response.Header("none"), "");
  EXPECT_EQ(response.JoinedHeader("none"), "");
}

}  // namespace
}  // namespace ia::reflector
