// gRPC TLS credentials from PEM files named by flags (--tls-ca, --tls-cert,
// --tls-key), built in one place for the services (their server and the
// calls they make to each other) and for imagectl.
//
// Thread-safe (no shared state).
#ifndef COMMON_TLS_CREDENTIALS_H_
#define COMMON_TLS_CREDENTIALS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace grpc {
class ServerCredentials;
class ChannelCredentials;
}  // namespace grpc

namespace ia {

// Server credentials: TLS with `tls_cert`/`tls_key`, plus mTLS with
// `tls_ca` (a client certificate must be signed by it, and must be
// presented unless `client_certificate_optional`, for callers that
// authenticate with a bearer token instead); insecure when neither
// certificate nor key is given (`tls_ca` alone configures only the calls a
// service makes). INVALID_ARGUMENT naming the flag when a file is
// unreadable or the pair is incomplete.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const std::string& tls_ca, const std::string& tls_cert,
    const std::string& tls_key, bool client_certificate_optional = false);

// Channel credentials for calling a service: `tls_ca` verifies the server,
// `tls_cert`/`tls_key` are presented as the client certificate; insecure
// when none is given. Errors as above.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MakeChannelCredentials(const std::string& tls_ca, const std::string& tls_cert,
                       const std::string& tls_key);

// `credentials` that also send `authorization: Bearer TOKEN` on every call,
// the token read from `token_file` (--token-file, --peer-token-file) at
// each call so that a rotated file takes effect, or `token` when
// `token_file` is empty. `credentials` itself when both are empty.
// FAILED_PRECONDITION when `tls` is false (a token is never sent in clear
// text), INVALID_ARGUMENT naming `flag` when the file cannot be read or is
// empty.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> WithBearerToken(
    std::shared_ptr<grpc::ChannelCredentials> credentials, bool tls,
    const std::string& token, const std::string& token_file,
    absl::string_view flag);

}  // namespace ia

#endif  // COMMON_TLS_CREDENTIALS_H_
