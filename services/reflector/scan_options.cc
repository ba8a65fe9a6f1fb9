#include "services/reflector/scan_options.h"

#include "absl/strings/str_cat.h"
#include "common/cloud_hosts.h"
#include "common/duration.h"
#include "common/objects.h"

namespace ia::reflector {
namespace {

// The first of `keys` present in `data`, or "".
std::string FirstOf(const std::map<std::string, std::string>& data,
                    std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    auto it = data.find(key);
    if (it != data.end()) return it->second;
  }
  return "";
}

absl::Status FieldError(absl::StatusCode code, absl::string_view field,
                        absl::string_view ns, absl::string_view name,
                        absl::string_view what) {
  return absl::Status(
      code, absl::StrCat(field, ": secret ", ns, "/", name, ": ", what));
}

}  // namespace

absl::StatusOr<RegistryOptions> RegistryOptionsFor(
    const v1::ImageRepository& repository, const ImageReference& image,
    const Secrets& secrets, const ScanLimits& limits) {
  const v1::ImageRepositorySpec& spec = repository.spec();
  const std::string& ns = repository.metadata().namespace_();
  RegistryOptions options;
  options.insecure = spec.insecure();
  // Validation accepted only these words; anything else is generic.
  options.provider = ParseRegistryProvider(spec.provider())
                         .value_or(RegistryProvider::kGeneric);
  options.page_size = limits.page_size;
  options.max_tags = limits.max_tags;
  options.max_reply_bytes = limits.max_reply_bytes;
  const std::string& timeout =
      spec.timeout().empty() ? spec.interval() : spec.timeout();
  auto parsed = ParseDuration(timeout);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        spec.timeout().empty() ? "spec.interval: " : "spec.timeout: ",
        parsed.status().message()));
  }
  options.timeout = *parsed;

  if (!spec.secret_ref().name().empty()) {
    const std::string& name = spec.secret_ref().name();
    auto config = secrets.ReadKey(ns, name, ".dockerconfigjson");
    if (!config.ok()) {
      return FieldError(absl::StatusCode::kUnauthenticated, "spec.secretRef",
                        ns, name, config.status().message());
    }
    if (!config->has_value()) {
      return FieldError(absl::StatusCode::kUnauthenticated, "spec.secretRef",
                        ns, name, "has no .dockerconfigjson key");
    }
    auto credentials = CredentialsFromDockerConfig(**config, image.domain);
    if (!credentials.ok()) {
      return FieldError(absl::StatusCode::kUnauthenticated, "spec.secretRef",
                        ns, name, credentials.status().message());
    }
    // No entry for this registry: go on anonymously, as docker does.
    options.credentials = *credentials;
  }

  if (!spec.cert_secret_ref().name().empty()) {
    const std::string& name = spec.cert_secret_ref().name();
    auto data = secrets.Read(ns, name);
    if (!data.ok()) {
      return FieldError(absl::StatusCode::kFailedPrecondition,
                        "spec.certSecretRef", ns, name,
                        data.status().message());
    }
    options.ca_pem = FirstOf(*data, {"ca.crt", "caFile"});
    options.client_cert_pem = FirstOf(*data, {"tls.crt", "certFile"});
    options.client_key_pem = FirstOf(*data, {"tls.key", "keyFile"});
    if (options.client_cert_pem.empty() != options.client_key_pem.empty()) {
      return FieldError(absl::StatusCode::kFailedPrecondition,
                        "spec.certSecretRef", ns, name,
                        "tls.crt and tls.key must be given together");
    }
    if (options.ca_pem.empty() && options.client_cert_pem.empty()) {
      return FieldError(absl::StatusCode::kFailedPrecondition,
                        "spec.certSecretRef", ns, name,
                        "has neither ca.crt nor tls.crt and tls.key");
    }
  }

  if (!spec.proxy_secret_ref().name().empty()) {
    const std::string& name = spec.proxy_secret_ref().name();
    auto data = secrets.Read(ns, name);
    if (!data.ok()) {
      return FieldError(absl::StatusCode::kFailedPrecondition,
                        "spec.proxySecretRef", ns, name,
                        data.status().message());
    }
    options.proxy_url = FirstOf(*data, {"address"});
    if (options.proxy_url.empty()) {
      return FieldError(absl::StatusCode::kFailedPrecondition,
                        "spec.proxySecretRef", ns, name, "has no address key");
    }
    options.proxy_username = FirstOf(*data, {"username"});
    options.proxy_password = FirstOf(*data, {"password"});
  }
  return options;
}

}  // namespace ia::reflector
