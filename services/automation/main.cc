// image-automation: rewrites image references in Git, commits and pushes.
#include "absl/flags/usage.h"
#include "common/defaults.h"
#include "common/service_host.h"
#include "services/automation/automation_service.h"

int main(int argc, char** argv) {
  ia::BlockTerminationSignals();
  absl::SetProgramUsageMessage(
      "Rewrites the image references marked in a Git repository to the tags "
      "the policy service selects, commits and pushes.");
  ia::ParseServiceFlags(argc, argv);
  return ia::RunService(ia::ServiceConfigFromFlags(
                            "automation", ia::defaults::kAutomationAddress),
                        ia::automation::MakeModule);
}
