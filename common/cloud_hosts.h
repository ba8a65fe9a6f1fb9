// Which cloud registry a host is, by the host patterns Flux uses to choose a
// login for ImageRepository.spec.provider: Amazon ECR (private, in every
// partition, and ECR Public), Google Container and Artifact Registry, Azure
// Container Registry. Validation rejects a provider whose pattern the image's
// host does not match; the reflector reads the ECR region from the host.
//
// Pure functions; thread-safe.
#ifndef COMMON_CLOUD_HOSTS_H_
#define COMMON_CLOUD_HOSTS_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace ia {

enum class RegistryProvider { kGeneric, kAws, kGcp, kAzure };

// "generic", "aws", "gcp", "azure" (spec.provider's words); nullopt for any
// other word. "" is generic (the default).
std::optional<RegistryProvider> ParseRegistryProvider(absl::string_view name);
absl::string_view RegistryProviderName(RegistryProvider provider);

// An Amazon ECR registry host, taken apart.
struct EcrHost {
  bool is_public = false;  // public.ecr.aws (always region us-east-1)
  std::string account;     // "123456789012"; empty for public
  std::string region;      // "us-east-1", "cn-north-1"
  std::string domain;      // "amazonaws.com", "amazonaws.com.cn", ...
  bool fips = false;       // <account>.dkr.ecr-fips.<region>.amazonaws.com
};

// `host` (no port) as an ECR registry: `<account>.dkr.ecr[-fips].<region>.
// <partition domain>` for the partitions the ECR credential helper knows
// (amazonaws.com, amazonaws.com.cn, amazonaws.eu, sc2s.sgov.gov,
// c2s.ic.gov, cloud.adc-e.uk, csp.hci.ic.gov, on.aws), or public.ecr.aws.
// nullopt when it is neither.
std::optional<EcrHost> ParseEcrHost(absl::string_view host);

// Whether `host` is one that `provider`'s login is for (any host for
// generic): gcp gcr.io, *.gcr.io, *-docker.pkg.dev, docker.s3nsregistry.fr;
// azure *.azurecr.io, .cn, .de, .us; aws ParseEcrHost.
bool HostMatchesProvider(RegistryProvider provider, absl::string_view host);

// The hosts `provider` accepts, for error messages.
absl::string_view ProviderHostPatterns(RegistryProvider provider);

}  // namespace ia

#endif  // COMMON_CLOUD_HOSTS_H_
