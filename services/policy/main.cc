// image-policy: selects a tag per ImagePolicy and publishes the selections.
#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "common/defaults.h"
#include "common/service_host.h"
#include "services/policy/policy_service.h"

ABSL_FLAG(std::string, reflector, std::string(ia::defaults::kReflectorAddress),
          "gRPC address of the reflector service (tag sets come from it)");
ABSL_FLAG(std::string, automation,
          std::string(ia::defaults::kAutomationAddress),
          "gRPC address of the automation service (selections go to it)");

ABSL_FLAG(std::string, peer_token_file, "",
          "file holding a bearer token this service presents to the "
          "reflector and the automation service (with TLS); default: its "
          "client certificate (--tls-cert) alone");

int main(int argc, char** argv) {
  ia::BlockTerminationSignals();
  absl::SetProgramUsageMessage(
      "Selects the latest allowed tag for each ImagePolicy it owns and "
      "publishes the selections over gRPC.");
  ia::ParseServiceFlags(argc, argv);
  const ia::policy::Peers peers{absl::GetFlag(FLAGS_reflector),
                                absl::GetFlag(FLAGS_automation),
                                absl::GetFlag(FLAGS_peer_token_file)};
  return ia::RunService(
      ia::ServiceConfigFromFlags("policy", ia::defaults::kPolicyAddress),
      [&peers](const ia::ServiceContext& context) {
        return ia::policy::MakeModule(context, peers);
      });
}
