// HttpResponse's header lookups and the typed failures of a transport: the
// kind travels in a Status payload, so that no caller reads the message.
#include "services/reflector/http_transport.h"

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ia::reflector {
namespace {

constexpr char kFailurePayload[] = "ia.reflector/HttpFailure";

absl::StatusCode CodeOf(HttpFailure kind) {
  switch (kind) {
    case HttpFailure::kTimeout:
      return absl::StatusCode::kDeadlineExceeded;
    case HttpFailure::kTooLarge:
      return absl::StatusCode::kResourceExhausted;
    case HttpFailure::kTlsMaterial:
    case HttpFailure::kBadUrl:
      return absl::StatusCode::kInvalidArgument;
    case HttpFailure::kConnection:
    case HttpFailure::kUntrustedCertificate:
      break;
  }
  return absl::StatusCode::kUnavailable;
}

}  // namespace

std::string HttpResponse::Header(absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return "";
}

std::string HttpResponse::JoinedHeader(absl::string_view name) const {
  std::vector<absl::string_view> values;
  for (const auto& [key, value] : headers) {
    if (key == name) values.push_back(value);
  }
  return absl::StrJoin(values, ", ");
}

absl::Status HttpFailureStatus(HttpFailure kind, absl::string_view detail) {
  absl::Status status(CodeOf(kind), detail);
  status.SetPayload(kFailurePayload,
                    absl::Cord(absl::StrCat(static_cast<int>(kind))));
  return status;
}

HttpFailure HttpFailureOf(const absl::Status& status) {
  auto payload = status.GetPayload(kFailurePayload);
  int kind = 0;
  if (!payload.has_value() || !absl::SimpleAtoi(std::string(*payload), &kind) ||
      kind < static_cast<int>(HttpFailure::kConnection) ||
      kind > static_cast<int>(HttpFailure::kBadUrl)) {
    return HttpFailure::kConnection;
  }
  return static_cast<HttpFailure>(kind);
}

}  // namespace ia::reflector
