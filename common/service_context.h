// What a service's modules are given by the host that runs them: the shared
// flags (ServiceConfig) and the ports every module may use (ServiceContext:
// the store, the clock, the secrets reader). Kept apart from
// service_host.h, so that the runtime (controllers, object stores) can name
// them without depending on the gRPC server.
//
// Plain structs; the pointed-to objects say their own thread-safety.
#ifndef COMMON_SERVICE_CONTEXT_H_
#define COMMON_SERVICE_CONTEXT_H_

#include <string>

#include "absl/time/time.h"
#include "common/clock.h"
#include "common/defaults.h"
#include "common/secrets.h"
#include "common/store.h"

namespace ia {

// The flags every service takes (defined in service_host.cc).
struct ServiceConfig {
  std::string name;              // "reflector", "policy" or "automation"
  std::string listen;            // --listen
  std::string http_listen;       // --http-listen (empty: no HTTP server)
  std::string data_dir;          // --data-dir
  std::string manifests;         // --manifests (empty: none)
  std::string secrets_dir;       // --secrets-dir
  std::string tls_cert;          // --tls-cert
  std::string tls_key;           // --tls-key
  std::string tls_ca;            // --tls-ca
  std::string auth_tokens_file;  // --auth-tokens-file (empty: none)
  std::string authz_policy;      // --authz-policy (empty: none)
  bool insecure_allow_anonymous = false;  // --insecure-allow-anonymous
  int workers = defaults::kWorkers;       // --workers
  absl::Duration shutdown_grace = defaults::kShutdownGrace;  // --shutdown-grace
  std::string log_level = "info";                            // --log-level
};

// Everything a module may use; owned by the host and valid until the
// module is destroyed.
struct ServiceContext {
  const ServiceConfig* config;
  Store* store;
  const Clock* clock;
  const Secrets* secrets;  // --secrets-dir
};

}  // namespace ia

#endif  // COMMON_SERVICE_CONTEXT_H_
