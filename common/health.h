// HealthService: grpc.health.v1.Health (Check and Watch) on the gRPC
// callback API, compiled from proto/grpc/health/v1/health.proto so that the
// service is in the descriptor pool and server reflection can describe it
// (gRPC's built-in health service is not).
//
// The overall status is under the service name ""; each registered service
// has its own. Watch streams the current status and then each change.
// Thread-safe; reactors never block.
#ifndef COMMON_HEALTH_H_
#define COMMON_HEALTH_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"

namespace grpc {
class Service;
}  // namespace grpc

namespace ia {

class HealthService {
 public:
  HealthService();
  ~HealthService();
  HealthService(const HealthService&) = delete;
  HealthService& operator=(const HealthService&) = delete;

  // Sets the status of `service` ("" for the server) to SERVING or
  // NOT_SERVING, and tells its watchers.
  void SetServing(absl::string_view service, bool serving);
  // Sets every known service, and the server, to NOT_SERVING, and ends
  // every Watch stream (for shutdown).
  void Shutdown();

  // The gRPC service to register with a ServerBuilder.
  grpc::Service* service();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ia

#endif  // COMMON_HEALTH_H_
