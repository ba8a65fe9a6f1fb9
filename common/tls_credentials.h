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

namespace grpc {
class ServerCredentials;
class ChannelCredentials;
}  // namespace grpc

namespace ia {

// Server credentials: TLS with `tls_cert`/`tls_key`, plus mTLS with
// `tls_ca` (clients must present a certificate signed by it); insecure when
// neither certificate nor key is given (`tls_ca` alone configures only the
// calls a service makes). INVALID_ARGUMENT naming the flag when a file is
// unreadable or the pair is incomplete.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const std::string& tls_ca, const std::string& tls_cert,
    const std::string& tls_key);

// Channel credentials for calling a service: `tls_ca` verifies the server,
// `tls_cert`/`tls_key` are presented as the client certificate; insecure
// when none is given. Errors as above.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MakeChannelCredentials(const std::string& tls_ca, const std::string& tls_cert,
                       const std::string& tls_key);

}  // namespace ia

#endif  // COMMON_TLS_CREDENTIALS_H_
