// ModuleHost: one service's module run in the test process as RunService()
// would run it (its store, secrets, data dir, gRPC services and HTTP
// handlers), on a FakeClock, reached over an in-process gRPC channel and a
// loopback HTTP port. For tests of a module's controller logic that need
// to move time by hand; the real binaries are tested in tests/integration.
//
// Not thread-safe; one test drives one host.
#ifndef TESTS_SUPPORT_MODULE_HOST_H_
#define TESTS_SUPPORT_MODULE_HOST_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/http_server.h"
#include "common/secrets.h"
#include "common/service_host.h"
#include "common/store.h"
#include "grpcpp/grpcpp.h"

namespace ia::testing {

class ModuleHost {
 public:
  using Factory = std::function<absl::StatusOr<std::unique_ptr<ServiceModule>>(
      const ServiceContext& context)>;

  // Everything lives under `dir`: the store (dir/state.db), --data-dir
  // (dir/data) and --secrets-dir (dir/secrets).
  ModuleHost(std::string dir, std::string service_name);
  ~ModuleHost();  // Stop()s.

  // Makes the module, starts it, serves its gRPC services in-process and
  // on a free loopback port, and its HTTP handlers on another.
  absl::Status Start(const Factory& factory);
  // Drains and stops the module as SIGTERM would; the store stays open, so
  // Start() again is a restart.
  void Stop();

  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  // A channel to the same services over loopback TCP, for tests of how
  // streams end when the server shuts down (the in-process transport ends
  // them with the server, whatever the module does).
  std::shared_ptr<grpc::Channel> TcpChannel() const;
  int http_port() const { return http_->port(); }
  FakeClock& clock() { return clock_; }
  Store& store() { return *store_; }
  ServiceConfig& config() { return config_; }
  const std::string& secrets_dir() const { return secrets_dir_; }

  // Waits in real time (up to 20 s) until `done` holds.
  static bool Eventually(const std::function<bool()>& done);
  // Advances the fake clock by `step` every few real milliseconds until
  // `done` holds (the controller measures requeues from when a reconcile
  // returns, which a test cannot observe); returns the clock's time then.
  absl::Time AdvanceUntil(absl::Duration step,
                          const std::function<bool()>& done);

 private:
  std::string dir_;
  std::string secrets_dir_;
  ServiceConfig config_;
  FakeClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Secrets> secrets_;
  std::unique_ptr<ServiceModule> module_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  int grpc_port_ = 0;
  std::unique_ptr<HttpServer> http_;
};

}  // namespace ia::testing

#endif  // TESTS_SUPPORT_MODULE_HOST_H_
