#include "common/cloud_hosts.h"

#include "absl/strings/match.h"
#include "re2/re2.h"

namespace ia {
namespace {

// Anchored forms of the ECR credential helper's host pattern, as Flux uses
// it: account, "-fips", region, partition domain.
const RE2& EcrPattern() {
  static const RE2* const pattern = new RE2(
      R"(^([0-9]+)\.dkr[.-]ecr(-fips)?\.([a-z0-9-]+)\.)"
      R"((amazonaws\.com|amazonaws\.com\.cn|amazonaws\.eu|sc2s\.sgov\.gov|)"
      R"(c2s\.ic\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov|on\.aws)$)");
  return *pattern;
}

const RE2& GcpPattern() {
  static const RE2* const pattern =
      new RE2(R"(^(([a-z0-9.-]+\.)?gcr\.io|[a-z0-9.-]+-docker\.pkg\.dev|)"
              R"(docker\.s3nsregistry\.fr)$)");
  return *pattern;
}

const RE2& AzurePattern() {
  static const RE2* const pattern =
      new RE2(R"(^[a-z0-9.-]+\.azurecr\.(io|cn|de|us)$)");
  return *pattern;
}

re2::StringPiece Piece(absl::string_view s) {
  return re2::StringPiece(s.data(), s.size());
}

}  // namespace

std::optional<RegistryProvider> ParseRegistryProvider(absl::string_view name) {
  if (name.empty() || name == "generic") return RegistryProvider::kGeneric;
  if (name == "aws") return RegistryProvider::kAws;
  if (name == "gcp") return RegistryProvider::kGcp;
  if (name == "azure") return RegistryProvider::kAzure;
  return std::nullopt;
}

absl::string_view RegistryProviderName(RegistryProvider provider) {
  switch (provider) {
    case RegistryProvider::kAws:
      return "aws";
    case RegistryProvider::kGcp:
      return "gcp";
    case RegistryProvider::kAzure:
      return "azure";
    case RegistryProvider::kGeneric:
      break;
  }
  return "generic";
}

std::optional<EcrHost> ParseEcrHost(absl::string_view host) {
  EcrHost ecr;
  if (host == "public.ecr.aws") {
    ecr.is_public = true;
    ecr.region = "us-east-1";
    ecr.domain = "amazonaws.com";
    return ecr;
  }
  std::string fips;
  if (!RE2::FullMatch(Piece(host), EcrPattern(), &ecr.account, &fips,
                      &ecr.region, &ecr.domain)) {
    return std::nullopt;
  }
  ecr.fips = !fips.empty();
  return ecr;
}

bool HostMatchesProvider(RegistryProvider provider, absl::string_view host) {
  switch (provider) {
    case RegistryProvider::kAws:
      return ParseEcrHost(host).has_value();
    case RegistryProvider::kGcp:
      return RE2::FullMatch(Piece(host), GcpPattern());
    case RegistryProvider::kAzure:
      return RE2::FullMatch(Piece(host), AzurePattern());
    case RegistryProvider::kGeneric:
      break;
  }
  return true;
}

absl::string_view ProviderHostPatterns(RegistryProvider provider) {
  switch (provider) {
    case RegistryProvider::kAws:
      return "<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn] (or another "
             "ECR partition) or public.ecr.aws";
    case RegistryProvider::kGcp:
      return "gcr.io, <region>.gcr.io, <region>-docker.pkg.dev or "
             "docker.s3nsregistry.fr";
    case RegistryProvider::kAzure:
      return "<name>.azurecr.io (or .cn, .de, .us)";
    case RegistryProvider::kGeneric:
      break;
  }
  return "any host";
}

}  // namespace ia
