// RegistryClient: the reflector's only way to the outside world. Speaks the
// Docker Registry HTTP API v2 / OCI distribution API over an HttpTransport
// (http_transport.h; libcurl in production):
//
//   GET  /v2/<path>/tags/list?n=<page_size>   (Link: <...>; rel="next" pages)
//   HEAD /v2/<path>/manifests/<tag>           (Docker-Content-Digest)
//
// Authentication follows what docker does: a request goes out anonymously
// (or with Basic credentials once the registry asked for Basic); a 401 with
// `WWW-Authenticate: Bearer realm=...,service=...,scope=...` is answered by
// fetching a token from the realm (with Basic credentials when there are
// any) and retrying with `Authorization: Bearer <token>`. Tokens are cached
// per registry host, scope and credentials until they expire.
//
// Manners: every request to one registry host draws from a budget shared by
// all repositories on that host (Config::requests_per_second); 429 and 503
// are retried after Retry-After (seconds or an HTTP date) or a capped
// exponential backoff; connections are reused, HTTP/2 is used where the
// registry offers it; a reply larger than RegistryOptions::max_reply_bytes
// and more than max_tags tags end the scan with an error instead of eating
// memory. A next link to another host is refused, not followed.
//
// Errors (the message names the registry host and repository, never a
// credential):
//   UNAUTHENTICATED    credentials missing or rejected (Flux reason
//                      AuthenticationFailed); also PERMISSION_DENIED (403).
//   NOT_FOUND          the repository does not exist on the registry.
//   UNAVAILABLE        connection failed or reset, 5xx, 429 past the retries.
//   DEADLINE_EXCEEDED  the whole operation took longer than options.timeout.
//   DATA_LOSS          a malformed or truncated reply (bad JSON, wrong shape).
//   RESOURCE_EXHAUSTED a reply over max_reply_bytes or more than max_tags.
//   INVALID_ARGUMENT   a next link to another host, bad TLS material, ...
//
// Thread-safe: one client serves all scans of the reflector.
#ifndef SERVICES_REFLECTOR_REGISTRY_CLIENT_H_
#define SERVICES_REFLECTOR_REGISTRY_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/cloud_hosts.h"
#include "common/defaults.h"
#include "common/image_ref.h"

namespace ia::reflector {

// Username and password for one registry (Basic, and the token endpoint).
struct RegistryCredentials {
  std::string username;
  std::string password;
};

// What one ImageRepository's spec and secrets say about how to reach its
// registry. PEM strings are the secret files' contents; empty means unset.
struct RegistryOptions {
  std::optional<RegistryCredentials> credentials;
  // spec.provider: without credentials, a cloud provider's login is asked
  // for (RegistryClientConfig::cloud_logins).
  RegistryProvider provider = RegistryProvider::kGeneric;
  bool insecure = false;        // plain HTTP instead of HTTPS
  std::string ca_pem;           // trusted in addition to the system CAs
  std::string client_cert_pem;  // client certificate (mTLS)
  std::string client_key_pem;
  std::string proxy_url;  // e.g. "http://proxy:3128"; empty = none
  std::string proxy_username;
  std::string proxy_password;
  absl::Duration timeout = absl::Minutes(1);    // the whole ListTags / Digest
  int page_size = defaults::kRegistryPageSize;  // ?n= on tags/list
  int64_t max_tags = defaults::kScanMaxTags;    // cap per scan
  int64_t max_reply_bytes = defaults::kScanMaxReplyBytes;  // one reply's body
};

// Counters of one ListTags call, for logs and metrics.
struct ScanStats {
  int requests = 0;  // HTTP requests sent, token requests and retries included
  int pages = 0;
  int retries = 0;  // 429/503 retries
};

class RegistryClient {
 public:
  virtual ~RegistryClient() = default;

  // Every tag of `image` (its domain and path; tag and digest are ignored),
  // in the order the registry sent them. `stats` may be null.
  virtual absl::StatusOr<std::vector<std::string>> ListTags(
      const ImageReference& image, const RegistryOptions& options,
      ScanStats* stats) = 0;

  // The digest ("sha256:...") of `tag`, from Docker-Content-Digest of a
  // HEAD on the manifest, accepting Docker and OCI manifests and indexes.
  virtual absl::StatusOr<std::string> Digest(
      const ImageReference& image, absl::string_view tag,
      const RegistryOptions& options) = 0;
};

class CloudLogins;  // services/reflector/cloud_login.h

struct RegistryClientConfig {
  // Budget per registry host, shared by all repositories: requests per
  // second (a token bucket with a burst of the same size). <= 0: no limit.
  double requests_per_second = defaults::kRegistryRequestsPerSecond;
  // 429/503 retries per request before UNAVAILABLE.
  int max_retries = 5;
  absl::Duration initial_backoff = absl::Milliseconds(500);
  absl::Duration max_backoff = absl::Seconds(30);
  // Used for token expiry, the budget and waiting; RealClock when null.
  Clock* clock = nullptr;
  // The logins of spec.provider aws, gcp, azure. When null, the libcurl
  // MakeRegistryClient makes one with the settings below (and a
  // client over another transport refuses cloud providers).
  std::shared_ptr<CloudLogins> cloud_logins;
  absl::Duration token_cache_max_duration = absl::Hours(1);
  int token_cache_max_size = 100;
  // Test-only: CurlTransportOptions::test_connect_to of the libcurl
  // transports the libcurl MakeRegistryClient makes.
  std::vector<std::string> test_connect_to;
};

class HttpTransport;  // services/reflector/http_transport.h

// The client over libcurl (MakeCurlTransport()).
std::unique_ptr<RegistryClient> MakeRegistryClient(RegistryClientConfig config);

// The client over `transport` (a test double, say), which must not be null.
std::unique_ptr<RegistryClient> MakeRegistryClient(
    RegistryClientConfig config, std::unique_ptr<HttpTransport> transport);

// Finds the credentials for `registry_host` (an ImageReference's domain) in
// a `.dockerconfigjson` document: `auths` keyed by host, by host with a
// scheme or path ("https://index.docker.io/v1/"), each with `auth`
// (base64 "user:password") or `username` + `password`. Docker Hub's
// aliases (docker.io, index.docker.io, registry-1.docker.io) find each
// other. nullopt when no entry matches; INVALID_ARGUMENT (naming the field,
// never a value) when the document or a matching entry is malformed.
absl::StatusOr<std::optional<RegistryCredentials>> CredentialsFromDockerConfig(
    absl::string_view docker_config_json, absl::string_view registry_host);

}  // namespace ia::reflector

#endif  // SERVICES_REFLECTOR_REGISTRY_CLIENT_H_
