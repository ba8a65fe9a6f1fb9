// A verifier of AWS Signature Version 4, written from AWS's specification
// ("Create a signed AWS API request"), for the fakes of AWS services: it
// recomputes a request's signature from the secret the fake issued, as AWS
// does, so a test fails when what the client signs is wrong. Not for
// production: nothing here signs.
//
// Pure functions; thread-safe.
#ifndef TESTS_SUPPORT_SIGV4_H_
#define TESTS_SUPPORT_SIGV4_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ia::testing {

// The parts of "Authorization: AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/
// SERVICE/aws4_request, SignedHeaders=a;b, Signature=hex".
struct SigV4Authorization {
  std::string access_key_id;
  std::string date;  // "20260101"
  std::string region;
  std::string service;
  std::string signed_headers;  // "content-type;host;x-amz-date"
  std::string signature;
};
absl::StatusOr<SigV4Authorization> ParseSigV4Authorization(
    absl::string_view header);

// One request as the server received it; header names in lower case.
struct SigV4Request {
  std::string method;
  std::string path;   // "/"
  std::string query;  // raw, "" when none
  std::map<std::string, std::string> headers;
  std::string body;
};

// The signature (hex) of `request` for the scope of `auth` by `secret`.
std::string SigV4Signature(const SigV4Request& request,
                           const SigV4Authorization& auth,
                           absl::string_view secret);

// OK when `request` carries a valid signature by `secret` for `region` and
// `service`, made within 15 minutes of `now`, and signs host, x-amz-date and
// every x-amz-* header it carries; else PERMISSION_DENIED saying what is
// wrong (AWS's own words where it has them).
absl::Status VerifySigV4(const SigV4Request& request, absl::string_view secret,
                         absl::string_view region, absl::string_view service,
                         absl::Time now);

}  // namespace ia::testing

#endif  // TESTS_SUPPORT_SIGV4_H_
