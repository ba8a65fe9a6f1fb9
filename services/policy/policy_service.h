// The policy service: owns ImagePolicy objects, selects a tag for each from
// the reflector's tag sets, and publishes selections (WatchSelections, and
// a push to the automation service).
//
// This file is the service's entry point for main.cc and tests; the gRPC
// implementation and the wiring live in policy_service.cc. The parts:
//   select.h, expand.h, decide.h  the selection engine (pure; its own
//                                 target, ia_policy_engine)
//   policy_reconciler.h           the reconcile: reads, decides, writes
//   tag_set_watcher.h             tag sets from the reflector
//   selection_book.h              selections as published (store + Feed)
//   selection_publisher.h         the push to the automation service
#ifndef SERVICES_POLICY_POLICY_SERVICE_H_
#define SERVICES_POLICY_POLICY_SERVICE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/service_host.h"

namespace ia::policy {

// Where the policy service finds the other two (its own flags).
struct Peers {
  std::string reflector;   // --reflector
  std::string automation;  // --automation
  // --peer-token-file: a bearer token presented to both peers (read at each
  // call); empty: the client certificate (--tls-cert) alone identifies
  // this service.
  std::string token_file;
};

// Makes the module RunService() hosts.
absl::StatusOr<std::unique_ptr<ServiceModule>> MakeModule(
    const ServiceContext& context, const Peers& peers);

}  // namespace ia::policy

#endif  // SERVICES_POLICY_POLICY_SERVICE_H_
