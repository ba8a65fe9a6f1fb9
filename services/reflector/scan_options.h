// How to reach one ImageRepository's registry: its spec and the secrets it
// names turned into RegistryOptions for the registry client.
#ifndef SERVICES_REFLECTOR_SCAN_OPTIONS_H_
#define SERVICES_REFLECTOR_SCAN_OPTIONS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "common/defaults.h"
#include "common/image_ref.h"
#include "common/secrets.h"
#include "imageautomation/v1/objects.pb.h"
#include "services/reflector/registry_client.h"

namespace ia::reflector {

namespace v1 = ::imageautomation::v1;

// Service-wide settings (flags) that the objects do not carry.
struct ScanLimits {
  int page_size = defaults::kRegistryPageSize;
  int64_t max_tags = defaults::kScanMaxTags;
  int64_t max_reply_bytes = defaults::kScanMaxReplyBytes;
};

// Reads spec.secretRef (`.dockerconfigjson`: the entry for the image's
// registry host), spec.certSecretRef (`ca.crt`, `tls.crt` + `tls.key`; the
// older `caFile`, `certFile`, `keyFile` too), spec.proxySecretRef
// (`address`, `username`, `password`), spec.insecure and spec.timeout.
// Errors name the field and the secret, never a value:
//   UNAUTHENTICATED      spec.secretRef unreadable or malformed (Flux's
//                        reason AuthenticationFailed);
//   FAILED_PRECONDITION  spec.certSecretRef / spec.proxySecretRef unreadable
//                        or incomplete.
absl::StatusOr<RegistryOptions> RegistryOptionsFor(
    const v1::ImageRepository& repository, const ImageReference& image,
    const Secrets& secrets, const ScanLimits& limits);

}  // namespace ia::reflector

#endif  // SERVICES_REFLECTOR_SCAN_OPTIONS_H_
