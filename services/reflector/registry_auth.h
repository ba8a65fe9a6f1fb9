// Registry authentication as docker does it, without the I/O: which
// challenge of a 401 to answer (Bearer before Basic), the Basic
// Authorization value, the token request's URL and the reading of its
// reply, and AuthCache, which remembers per registry host what scheme it
// asked for and caches Bearer tokens per host, scope and credentials until
// they expire. The registry client does the requests around these.
//
// The functions are pure and thread-safe; AuthCache is thread-safe and
// takes `now` from its caller.
#ifndef SERVICES_REFLECTOR_REGISTRY_AUTH_H_
#define SERVICES_REFLECTOR_REGISTRY_AUTH_H_

#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/reflector/registry_client.h"

namespace ia::reflector {

// A token reply without expires_in is good for this long (the distribution
// token specification's default).
inline constexpr absl::Duration kDefaultTokenLifetime = absl::Seconds(60);

enum class AuthScheme { kUnknown, kBasic, kBearer };

// The challenge a client answers among those of a 401's WWW-Authenticate
// header (all its values joined): the first Bearer one, else the first
// Basic one; scheme kUnknown when there is neither. realm, service and
// scope are the Bearer challenge's parameters ("" when absent).
struct Challenge {
  AuthScheme scheme = AuthScheme::kUnknown;
  std::string realm;
  std::string service;
  std::string scope;
};
Challenge ChooseChallenge(absl::string_view www_authenticate);

// "Basic base64(username:password)".
std::string BasicAuthorization(const RegistryCredentials& credentials);

// The scope a repository is read with: "repository:<path>:pull".
std::string PullScope(absl::string_view repository_path);

// The token request's URL: `realm` with service= and one scope= per
// space-separated scope, percent-escaped, appended to its query.
std::string TokenUrl(absl::string_view realm, absl::string_view service,
                     absl::string_view scope);

// A token service's answer: the token and how long it is good for.
struct TokenGrant {
  std::string token;
  absl::Duration lifetime = kDefaultTokenLifetime;
};

// Reads a token reply: JSON with a non-empty "token" or "access_token"
// (in that order of preference) and an optional positive "expires_in"
// (seconds). nullopt when there is no token in it.
std::optional<TokenGrant> ParseTokenReply(absl::string_view body);

// What a registry host asked for when it last challenged.
struct HostAuth {
  AuthScheme scheme = AuthScheme::kUnknown;
  std::string realm;    // Bearer
  std::string service;  // Bearer
};

class AuthCache {
 public:
  AuthCache() = default;
  AuthCache(const AuthCache&) = delete;
  AuthCache& operator=(const AuthCache&) = delete;

  // The key of a token: host, scope and credentials (the password hashed).
  static std::string TokenKey(
      absl::string_view host, absl::string_view scope,
      const std::optional<RegistryCredentials>& credentials);

  // What `host` asked for last; scheme kUnknown when it never challenged.
  HostAuth ForHost(const std::string& host) const;
  // Records that `host` asked for `auth`.
  void Learn(const std::string& host, const HostAuth& auth);

  // The token under `key` while it is good at `now` (an expired one is
  // dropped); nullopt otherwise.
  std::optional<std::string> Token(const std::string& key, absl::Time now);
  // Keeps `token` under `key` until `now + lifetime`. Expired tokens are
  // swept when the cache grows past a thousand entries.
  void PutToken(const std::string& key, std::string token, absl::Time now,
                absl::Duration lifetime);
  // Forgets the token under `key` (the registry refused it).
  void ForgetToken(const std::string& key);

 private:
  struct CachedToken {
    std::string token;
    absl::Time expires;
  };

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, HostAuth> hosts_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, CachedToken> tokens_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ia::reflector

#endif  // SERVICES_REFLECTOR_REGISTRY_AUTH_H_
