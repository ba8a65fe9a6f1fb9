#include "common/tls_credentials.h"

#include <map>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
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

// Reads a token: the first line of a file, without blanks around it.
absl::StatusOr<std::string> ReadToken(const std::string& path,
                                      absl::string_view flag) {
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": ", text.status().message()));
  }
  absl::string_view token = *text;
  token = token.substr(0, token.find('\n'));
  token = absl::StripAsciiWhitespace(token);
  if (token.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": ", path, " holds no token"));
  }
  return std::string(token);
}

// Adds the token to each call's metadata; the file is read at each call.
class BearerTokenPlugin final : public grpc::MetadataCredentialsPlugin {
 public:
  BearerTokenPlugin(std::string token, std::string token_file, std::string flag)
      : token_(std::move(token)),
        token_file_(std::move(token_file)),
        flag_(std::move(flag)) {}

  grpc::Status GetMetadata(
      grpc::string_ref, grpc::string_ref, const grpc::AuthContext&,
      std::multimap<grpc::string, grpc::string>* metadata) override {
    std::string token = token_;
    if (!token_file_.empty()) {
      absl::StatusOr<std::string> read = ReadToken(token_file_, flag_);
      if (!read.ok()) {
        return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                            std::string(read.status().message()));
      }
      token = *std::move(read);
    }
    metadata->insert({"authorization", absl::StrCat("Bearer ", token)});
    return grpc::Status::OK;
  }

 private:
  const std::string token_;
  const std::string token_file_;
  const std::string flag_;
};

absl::Status IncompletePair() {
  return absl::InvalidArgumentError(
      "--tls-cert and --tls-key must be given together");
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const std::string& tls_ca, const std::string& tls_cert,
    const std::string& tls_key, bool client_certificate_optional) {
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
        client_certificate_optional
            ? GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY
            : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
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

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> WithBearerToken(
    std::shared_ptr<grpc::ChannelCredentials> credentials, bool tls,
    const std::string& token, const std::string& token_file,
    absl::string_view flag) {
  if (token.empty() && token_file.empty()) return credentials;
  if (!tls) {
    return absl::FailedPreconditionError(absl::StrCat(
        flag,
        ": a token is only sent over TLS; add --tls-ca (the CA that signed "
        "the service's certificate)"));
  }
  if (!token_file.empty()) {
    // Fail now, not at the first call, when the file is unusable.
    absl::StatusOr<std::string> read = ReadToken(token_file, flag);
    if (!read.ok()) return read.status();
  }
  return grpc::CompositeChannelCredentials(
      credentials,
      grpc::MetadataCredentialsFromPlugin(std::make_unique<BearerTokenPlugin>(
          token, token_file, std::string(flag))));
}

}  // namespace ia
