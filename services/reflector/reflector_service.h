// The reflector service: owns ImageRepository objects, keeps each one's tag
// set, and streams tag sets to subscribers (the policy service).
//
// This file is the service's entry point for main.cc and tests. The module
// (reflector_service.cc) only wires ports together: the reconciler
// (reflector_reconciler.h) decides with scan_decision.h and writes tag sets
// and status, the gRPC service (reflector_rpc.h) and the push webhook
// (push_webhook.h) read and queue.
#ifndef SERVICES_REFLECTOR_REFLECTOR_SERVICE_H_
#define SERVICES_REFLECTOR_REFLECTOR_SERVICE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/defaults.h"
#include "common/service_host.h"
#include "services/reflector/registry_client.h"
#include "services/reflector/scan_options.h"
#include "services/reflector/tag_set_store.h"

namespace ia::reflector {

// The reflector's own settings (its flags).
struct ReflectorOptions {
  // The registry client; MakeRegistryClient(registry_config) when null.
  std::shared_ptr<RegistryClient> registry;
  RegistryClientConfig registry_config;
  ScanLimits limits;
  // When not empty, POST /v1/registry-events must carry
  // `Authorization: Bearer <events_token>`.
  std::string events_token;
  // A push notification adds its tag at once and asks for a confirming
  // scan this long after.
  absl::Duration confirm_scan_delay = defaults::kPushConfirmScanDelay;
  // How long (real time) the webhook waits for a generic post's pushes to
  // be applied before answering them as pending.
  absl::Duration push_answer_wait = defaults::kPushAnswerWait;
};

// Makes the module RunService() hosts. Objects already in the store are
// queued for reconciliation when the module starts; a repository whose last
// scan is younger than its interval is not scanned again until it is due.
absl::StatusOr<std::unique_ptr<ServiceModule>> MakeModule(
    const ServiceContext& context, ReflectorOptions options = {});

}  // namespace ia::reflector

#endif  // SERVICES_REFLECTOR_REFLECTOR_SERVICE_H_
