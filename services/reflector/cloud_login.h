// Cloud registry logins (ImageRepository.spec.provider aws, gcp, azure):
// the registry credentials a cloud hands out in exchange for the workload's
// identity, cached. The exchanges themselves are per cloud (aws_login.h);
// this file holds what they share: the environment they read, the shape of
// a login and of an exchange's error, and CloudLogins, the cache in front of
// them that the registry client asks.
//
// Caching: one login per (provider, identity, registry host), shared by all
// repositories of that registry, kept until 80% of its lifetime and at most
// CloudLoginOptions::max_duration, in an LRU of max_entries. Concurrent
// askers of one key wait for a single exchange. Metrics:
// ia_cloud_login_exchanges_total{provider,result} and
// ia_cloud_login_cache_hits_total{provider}.
//
// A failed exchange is UNAUTHENTICATED (Flux's reason AuthenticationFailed)
// with "<provider>: <step>: <cloud's error code>: <cloud's message>", never
// a token, key or signature.
//
// CloudLogins is thread-safe; the functions are pure.
#ifndef SERVICES_REFLECTOR_CLOUD_LOGIN_H_
#define SERVICES_REFLECTOR_CLOUD_LOGIN_H_

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/cloud_hosts.h"
#include "services/reflector/http_transport.h"
#include "services/reflector/registry_client.h"

namespace ia::reflector {

// Reads an environment variable: its value, nullopt when unset. Exchanges
// read it on every call, so a rotated token file or a changed variable is
// seen by the next exchange.
using Environment =
    std::function<std::optional<std::string>(const std::string& name)>;

// The process's environment (getenv).
Environment ProcessEnvironment();
// A fixed environment, for tests.
Environment EnvironmentOf(std::map<std::string, std::string> variables);

// A registry login a cloud handed out and when it stops working.
struct CloudLogin {
  RegistryCredentials credentials;
  absl::Time expires = absl::InfinitePast();
};

// UNAUTHENTICATED "<provider>: <step>: <code>: <message>" ("" parts left
// out), e.g. "aws: AssumeRoleWithWebIdentity: InvalidIdentityToken: ...".
// `message` is the cloud's, cut to 300 characters, control characters
// replaced by spaces.
absl::Status ExchangeError(absl::string_view provider, absl::string_view step,
                           absl::string_view code, absl::string_view message);

// When a login obtained at `obtained` and expiring at `expires` is
// exchanged again: at 80% of its lifetime, at most `max_duration` after it
// was obtained, and never after `expires`.
absl::Time RefreshTime(absl::Time obtained, absl::Time expires,
                       absl::Duration max_duration);

// The most --token-cache-max-duration may be (and its default).
inline constexpr absl::Duration kMaxTokenCacheDuration = absl::Hours(1);
inline constexpr int kDefaultTokenCacheSize = 100;

struct CloudLoginOptions {
  absl::Duration max_duration = kMaxTokenCacheDuration;
  int max_entries = kDefaultTokenCacheSize;
  Environment environment;  // ProcessEnvironment() when empty
  Clock* clock = nullptr;   // RealClock() when null
};

class CloudLogins {
 public:
  // Exchanges go out over `transport` (not null).
  CloudLogins(std::unique_ptr<HttpTransport> transport,
              CloudLoginOptions options);
  CloudLogins(const CloudLogins&) = delete;
  CloudLogins& operator=(const CloudLogins&) = delete;

  // The credentials `provider`'s login gives for registry `host`: cached
  // while fresh, else exchanged (one exchange at a time per key; other
  // callers wait for it and share its result, a failure included). Fails
  // as ExchangeError says; INVALID_ARGUMENT for kGeneric or a host that is
  // not `provider`'s.
  // `insecure`: the registry speaks plain HTTP (spec.insecure), so do the
  // exchanges that go to the registry itself (ACR's).
  absl::StatusOr<RegistryCredentials> Credentials(RegistryProvider provider,
                                                  const std::string& host,
                                                  bool insecure = false);

  // Drops the cached login of `provider` for `host` (the registry refused
  // it); the next Credentials exchanges again.
  void Forget(RegistryProvider provider, const std::string& host);

 private:
  struct Entry {
    CloudLogin login;
    absl::Time refresh;
    std::list<std::string>::iterator lru;
  };
  struct Flight {
    bool done = false;
    absl::StatusOr<CloudLogin> result = absl::UnknownError("not done");
  };

  std::string Key(RegistryProvider provider, const std::string& host) const;
  absl::StatusOr<CloudLogin> Exchange(RegistryProvider provider,
                                      const std::string& host, bool insecure);
  void Store(const std::string& key, const CloudLogin& login, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::unique_ptr<HttpTransport> transport_;
  const CloudLoginOptions options_;
  Clock* const clock_;

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::list<std::string> lru_ ABSL_GUARDED_BY(mu_);  // most recent first
  absl::flat_hash_map<std::string, std::shared_ptr<Flight>> flights_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace ia::reflector

#endif  // SERVICES_REFLECTOR_CLOUD_LOGIN_H_
