// image-reflector: scans container registries and streams tag sets.
#include "absl/flags/usage.h"
#include "common/service_host.h"
#include "services/reflector/reflector_service.h"

int main(int argc, char** argv) {
  ia::BlockTerminationSignals();
  absl::SetProgramUsageMessage(
      "Scans container registries for the ImageRepository objects it owns "
      "and streams their tag sets over gRPC.");
  ia::ParseServiceFlags(argc, argv);
  return ia::RunService(
      ia::ServiceConfigFromFlags("reflector", "127.0.0.1:50051"),
      ia::reflector::MakeModule);
}
