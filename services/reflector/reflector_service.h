// The reflector service: owns ImageRepository objects, keeps each one's tag
// set, and streams tag sets to subscribers (the policy service).
//
// This file is the service's entry point for main.cc and tests; the gRPC
// implementation and the controller live in reflector_service.cc.
#ifndef SERVICES_REFLECTOR_REFLECTOR_SERVICE_H_
#define SERVICES_REFLECTOR_REFLECTOR_SERVICE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/service_host.h"

namespace ia::reflector {

// Bucket of the store holding one v1::TagSet per repository key.
inline constexpr absl::string_view kTagSetBucket = "TagSet";

// Makes the module RunService() hosts. Objects already in the store are
// queued for reconciliation when the module starts.
absl::StatusOr<std::unique_ptr<ServiceModule>> MakeModule(
    const ServiceContext& context);

}  // namespace ia::reflector

#endif  // SERVICES_REFLECTOR_REFLECTOR_SERVICE_H_
