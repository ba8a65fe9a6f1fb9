// HttpTransport: the registry client's one way onto the network. It sends
// one HTTP request and returns the reply, whatever its status; it neither
// retries, nor authenticates, nor follows redirects. libcurl is the
// production implementation (curl_transport.h); tests use a gMock double
// (tests/reflector/mock_http_transport.h) and need no server.
//
// A request that got no HTTP reply fails with a Status whose message is the
// transport's own description of the failure (e.g. libcurl's error text,
// without the request: callers name it) and whose kind HttpFailureOf()
// reads back as a type, never from the text.
//
// Implementations are thread-safe: one transport serves concurrent scans.
#ifndef SERVICES_REFLECTOR_HTTP_TRANSPORT_H_
#define SERVICES_REFLECTOR_HTTP_TRANSPORT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ia::reflector {

// One HTTP request with the limits and the TLS and proxy settings it goes
// out with. PEM strings are file contents; empty means unset.
struct HttpRequest {
  std::string method = "GET";  // GET and HEAD (no body read); others send body
  std::string url;             // absolute http(s) URL
  // Sent in this order, as "name: value".
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  absl::Duration timeout = absl::Minutes(1);  // the whole transfer
  int64_t max_reply_bytes = 0;  // cap on the reply's body; <= 0: none

  std::string ca_pem;  // trusted in addition to the system CAs
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string proxy_url;  // empty: no proxy, not even from the environment
  std::string proxy_username;
  std::string proxy_password;

  // AWS Signature Version 4: when `aws_sigv4` is set
  // ("aws:amz:<region>:<service>"), the transport signs the request (its
  // method, URL, headers and body) with the access key and secret; a session
  // token goes in an "x-amz-security-token" header of `headers`.
  std::string aws_sigv4;
  std::string aws_access_key_id;
  std::string aws_secret_access_key;
};

// One HTTP reply: the status of the final response (after any 100 Continue
// or proxy CONNECT reply), its headers with names in lower case and values
// trimmed, in the order received, and its body (empty for HEAD).
struct HttpResponse {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The first value of header `name` (lower case), or "".
  std::string Header(absl::string_view name) const;
  // Every value of header `name`, joined with ", " as HTTP allows.
  std::string JoinedHeader(absl::string_view name) const;
};

// Why a request got no HTTP reply. Each kind has one Status code.
enum class HttpFailure {
  kConnection,            // UNAVAILABLE: refused, reset, DNS, TLS handshake
  kTimeout,               // DEADLINE_EXCEEDED: request.timeout passed
  kTooLarge,              // RESOURCE_EXHAUSTED: over request.max_reply_bytes
  kTlsMaterial,           // INVALID_ARGUMENT: CA or client cert unusable
  kUntrustedCertificate,  // UNAVAILABLE: the server's certificate not trusted
  kBadUrl,                // INVALID_ARGUMENT: malformed URL or scheme
};

// The Status a transport returns for a failure of `kind`, with `detail` as
// its message.
absl::Status HttpFailureStatus(HttpFailure kind, absl::string_view detail);

// The kind of a transport's failure; kConnection for a Status that
// HttpFailureStatus did not make.
HttpFailure HttpFailureOf(const absl::Status& status);

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;

  // Sends `request` and returns the reply, any HTTP status included. Fails
  // (see HttpFailure) only when there is no complete reply.
  virtual absl::StatusOr<HttpResponse> Send(const HttpRequest& request) = 0;
};

}  // namespace ia::reflector

#endif  // SERVICES_REFLECTOR_HTTP_TRANSPORT_H_
