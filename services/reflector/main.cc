// image-reflector: scans container registries and streams tag sets.
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "common/defaults.h"
#include "common/files.h"
#include "common/service_host.h"
#include "services/reflector/cloud_login.h"
#include "services/reflector/curl_transport.h"
#include "services/reflector/reflector_service.h"

ABSL_FLAG(int, registry_page_size, ia::defaults::kRegistryPageSize,
          "tags asked for per page of a registry's tags/list (?n=); Quay "
          "allows 100, ECR 1000");
ABSL_FLAG(double, registry_requests_per_second,
          ia::defaults::kRegistryRequestsPerSecond,
          "request budget per registry host, shared by all repositories on it "
          "(0: no limit)");
ABSL_FLAG(int64_t, scan_max_tags, ia::defaults::kScanMaxTags,
          "a scan that finds more tags fails instead of storing them");
ABSL_FLAG(int64_t, scan_max_reply_bytes, ia::defaults::kScanMaxReplyBytes,
          "a registry reply with a larger body fails the scan");
ABSL_FLAG(std::string, registry_events_token_file, "",
          "file holding a token that POST /v1/registry-events must present as "
          "'Authorization: Bearer TOKEN' (empty: no check)");

ABSL_FLAG(absl::Duration, token_cache_max_duration, absl::Hours(1),
          "a cloud registry login (spec.provider aws, gcp, azure) is used at "
          "most this long before it is exchanged again (at most 1h)");
ABSL_FLAG(int, token_cache_max_size, 100,
          "cloud registry logins kept, one per provider, identity and "
          "registry host (least recently used dropped first)");

int main(int argc, char** argv) {
  ia::BlockTerminationSignals();
  absl::SetProgramUsageMessage(
      "Scans container registries for the ImageRepository objects it owns "
      "and streams their tag sets over gRPC.");
  ia::ParseServiceFlags(argc, argv);
  ia::reflector::ReflectorOptions options;
  options.limits.page_size = absl::GetFlag(FLAGS_registry_page_size);
  options.limits.max_tags = absl::GetFlag(FLAGS_scan_max_tags);
  options.limits.max_reply_bytes = absl::GetFlag(FLAGS_scan_max_reply_bytes);
  options.registry_config.requests_per_second =
      absl::GetFlag(FLAGS_registry_requests_per_second);
  options.registry_config.token_cache_max_duration =
      absl::GetFlag(FLAGS_token_cache_max_duration);
  options.registry_config.token_cache_max_size =
      absl::GetFlag(FLAGS_token_cache_max_size);
  // Test-only (curl_transport.h): cloud registry hosts reach loopback.
  options.registry_config.test_connect_to =
      ia::reflector::TestConnectToFromEnvironment();
  if (!options.registry_config.test_connect_to.empty()) {
    std::cerr << "image-reflector: IA_TEST_CONNECT_TO is set: registry hosts "
                 "are redirected (a test-only setting)\n";
  }
  if (options.registry_config.token_cache_max_duration <=
          absl::ZeroDuration() ||
      options.registry_config.token_cache_max_duration >
          ia::reflector::kMaxTokenCacheDuration ||
      options.registry_config.token_cache_max_size < 1) {
    std::cerr << "image-reflector: --token-cache-max-duration must be in "
                 "(0, 1h] and --token-cache-max-size positive\n";
    return 2;
  }
  if (options.limits.page_size < 1 || options.limits.max_tags < 1 ||
      options.limits.max_reply_bytes < 1) {
    std::cerr << "image-reflector: --registry-page-size, --scan-max-tags and "
                 "--scan-max-reply-bytes must be positive\n";
    return 2;
  }
  if (const std::string path = absl::GetFlag(FLAGS_registry_events_token_file);
      !path.empty()) {
    const absl::StatusOr<std::string> token = ia::ReadFileToString(path);
    if (token.ok()) {
      options.events_token = std::string(absl::StripAsciiWhitespace(*token));
    }
    if (options.events_token.empty()) {
      std::cerr << "image-reflector: --registry-events-token-file: cannot read "
                   "a token from "
                << path << "\n";
      return 2;
    }
  }
  return ia::RunService(
      ia::ServiceConfigFromFlags("reflector", ia::defaults::kReflectorAddress),
      [&options](const ia::ServiceContext& context) {
        return ia::reflector::MakeModule(context, options);
      });
}
