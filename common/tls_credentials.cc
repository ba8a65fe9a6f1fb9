#include "common/tls_credentials.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace ia {
namespace {

// "--tls-ca: cannot read /etc/ca.pem: No such file or directory".
absl::StatusOr<std::string> ReadPem(absl::string_view flag,
                                    const std::string& path) {
  absl::StatusOr<std::string> pem = ReadFileToString(path);
  if (!pem.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": ", pem.status().message()));
  }
  return pem;
}

absl::Status IncompletePair() {
  return absl::InvalidArgumentError(
      "--tls-cert and --tls-key must be given together");
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const std::string& tls_ca, const std::string& tls_cert,
    const std::string& tls_key) {
  if (tls_cert.empty() && tls_key.empty()) {
    return grpc::InsecureServerCredentials();
  }
  if (tls_cert.empty() || tls_key.empty()) return IncompletePair();
  grpc::SslServerCredentialsOptions options;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  absl::StatusOr<std::string> cert = ReadPem("--tls-cert", tls_cert);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPem("--tls-key", tls_key);
  if (!key.ok()) return key.status();
  pair.cert_chain = *std::move(cert);
  pair.private_key = *std::move(key);
  options.pem_key_cert_pairs.push_back(std::move(pair));
  if (!tls_ca.empty()) {
    absl::StatusOr<std::string> ca = ReadPem("--tls-ca", tls_ca);
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *std::move(ca);
    options.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MakeChannelCredentials(const std::string& tls_ca, const std::string& tls_cert,
                       const std::string& tls_key) {
  if (tls_ca.empty() && tls_cert.empty() && tls_key.empty()) {
    return grpc::InsecureChannelCredentials();
  }
  if (tls_cert.empty() != tls_key.empty()) return IncompletePair();
  grpc::SslCredentialsOptions options;
  if (!tls_ca.empty()) {
    absl::StatusOr<std::string> ca = ReadPem("--tls-ca", tls_ca);
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *std::move(ca);
  }
  if (!tls_cert.empty()) {
    absl::StatusOr<std::string> cert = ReadPem("--tls-cert", tls_cert);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadPem("--tls-key", tls_key);
    if (!key.ok()) return key.status();
    options.pem_cert_chain = *std::move(cert);
    options.pem_private_key = *std::move(key);
  }
  return grpc::SslCredentials(options);
}

}  // namespace ia
