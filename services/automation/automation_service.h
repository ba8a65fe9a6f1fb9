// The automation service: owns ImageUpdateAutomation and GitRepository
// objects, receives selections from the policy service, and (in its
// controller) rewrites, commits and pushes.
//
// This file is the service's entry point for main.cc and tests; the gRPC
// implementation and the wiring live in automation_service.cc, the work of
// a run in automation_reconciler.h.
#ifndef SERVICES_AUTOMATION_AUTOMATION_SERVICE_H_
#define SERVICES_AUTOMATION_AUTOMATION_SERVICE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "common/service_host.h"

namespace ia::automation {

absl::StatusOr<std::unique_ptr<ServiceModule>> MakeModule(
    const ServiceContext& context);

}  // namespace ia::automation

#endif  // SERVICES_AUTOMATION_AUTOMATION_SERVICE_H_
