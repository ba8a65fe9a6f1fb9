// ServiceHost: what the three service binaries share around their own
// logic, so that each main.cc is a few lines. In order, Run():
//   1. sets up logging, creates --data-dir and opens the store in it;
//   2. makes the service's module, applies the --manifests objects it owns
//      (a bad document is logged and skipped; the rest still apply);
//   3. starts the module's controllers;
//   4. builds the gRPC server: the module's services, grpc.health.v1.Health,
//      server reflection, TLS or mTLS when --tls-* are given; marks SERVING;
//   5. serves /healthz, /readyz, /metrics (Prometheus) and the module's own
//      handlers on --http-listen when given;
//   6. on SIGTERM or SIGINT: NOT_SERVING, ends the module's streams,
//      Shutdown(deadline), stops the module's controllers, closes the store.
//
// Call BlockTerminationSignals() first thing in main, before any thread
// exists, so that the signals reach Run() and nothing else.
#ifndef COMMON_SERVICE_HOST_H_
#define COMMON_SERVICE_HOST_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/objects.h"
#include "common/service_context.h"
#include "common/tls_credentials.h"

namespace grpc {
class Service;
class ServerCredentials;
class ChannelCredentials;
}  // namespace grpc

namespace ia {

class HttpServer;

// Parses the command line with Abseil's flags, accepting the brief's
// spelling `--data-dir` as well as Abseil's `--data_dir` (dashes in a flag's
// name are read as underscores). Exits with a message on a bad flag.
void ParseServiceFlags(int argc, char** argv);

// Reads the shared flags after ParseServiceFlags(). `default_listen` is
// the service's --listen default (brief §2).
ServiceConfig ServiceConfigFromFlags(absl::string_view name,
                                     absl::string_view default_listen);

// What a service plugs into the host.
class ServiceModule {
 public:
  virtual ~ServiceModule() = default;
  // The gRPC services to register, with their full names (for health).
  virtual std::vector<std::pair<grpc::Service*, std::string>> Services() = 0;
  // Applies an object from --manifests. Returns false (doing nothing) for a
  // kind this service does not own.
  virtual bool Owns(const AnyObject& object) const = 0;
  virtual absl::Status ApplyManifest(const AnyObject& object) = 0;
  // Starts and stops background work (controllers, client streams).
  virtual void Start() = 0;
  virtual void Stop() = 0;
  // Adds the module's handlers to the --http-listen server (called only
  // when the flag is set, before the server starts).
  virtual void RegisterHttp(HttpServer& http) {}
  // Called on SIGTERM before the gRPC server shuts down: ends the module's
  // long-lived streams so that Shutdown() need not wait for them.
  virtual void Drain() {}
};

using ModuleFactory =
    std::function<absl::StatusOr<std::unique_ptr<ServiceModule>>(
        const ServiceContext& context)>;

// Blocks SIGTERM and SIGINT in the calling thread and every thread it
// starts later. Call first thing in main.
void BlockTerminationSignals();

// Runs the service until SIGTERM/SIGINT as described above. Returns the
// process exit code (0 after a clean stop; 1 when start-up fails, with the
// reason logged).
int RunService(const ServiceConfig& config, const ModuleFactory& factory);

}  // namespace ia

#endif  // COMMON_SERVICE_HOST_H_
