// The automation service: owns ImageUpdateAutomation and GitRepository
// objects, receives selections from the policy service, and (in its
// controller) rewrites, commits and pushes.
//
// This file is the service's entry point for main.cc and tests; the gRPC
// implementation and the controllers live in automation_service.cc.
#ifndef SERVICES_AUTOMATION_AUTOMATION_SERVICE_H_
#define SERVICES_AUTOMATION_AUTOMATION_SERVICE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/service_host.h"

namespace ia::automation {

// Bucket of the store holding one v1::Selection per policy key, as last
// published by the policy service.
inline constexpr absl::string_view kSelectionBucket = "Selection";

absl::StatusOr<std::unique_ptr<ServiceModule>> MakeModule(
    const ServiceContext& context);

}  // namespace ia::automation

#endif  // SERVICES_AUTOMATION_AUTOMATION_SERVICE_H_
