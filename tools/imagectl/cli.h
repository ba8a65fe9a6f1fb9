// imagectl's command line: CLI11 wiring of the verbs in commands.h, the
// global flags (service addresses, --timeout, TLS) and the exit codes.
//
//   imagectl apply -f FILE|DIR [-f ...]
//   imagectl get image repository|policy|update [NAME] [-n NS|-A] [-o
//   table|yaml|json] imagectl get source git [NAME] ... imagectl
//   delete|reconcile image repository|policy|update NAME [-n NS] imagectl
//   delete|reconcile source git NAME [-n NS] imagectl create image
//   repository|policy|update NAME ... [--export] imagectl create source git
//   NAME ... [--export]
//
// Service addresses come from --reflector/--policy/--automation, else
// IMAGECTL_REFLECTOR/IMAGECTL_POLICY/IMAGECTL_AUTOMATION, else
// 127.0.0.1:50051/50052/50053.
//
// Thread-compatible; Run() may be called many times (tests do).
#ifndef TOOLS_IMAGECTL_CLI_H_
#define TOOLS_IMAGECTL_CLI_H_

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/imagectl/clients.h"

namespace ia::imagectl {

// What Run() takes from outside the arguments; replaceable in tests.
struct RunEnvironment {
  // Looks up an environment variable; std::getenv by default.
  std::function<std::optional<std::string>(const std::string&)> getenv;
  // Makes the client from the resolved options; MakeGrpcObjectClient by
  // default.
  std::function<absl::StatusOr<std::unique_ptr<ObjectClient>>(
      const ClientOptions&)>
      make_client;
};

// The process environment and the gRPC client.
RunEnvironment DefaultRunEnvironment();

// Runs imagectl with `args` (without the program name) and returns the exit
// code (commands.h ExitCode): help goes to `out`, usage errors to `err`.
int Run(const std::vector<std::string>& args, const RunEnvironment& env,
        std::ostream& out, std::ostream& err);

// main()'s entry: argv as given to main, the default environment.
int Run(int argc, const char* const* argv, std::ostream& out,
        std::ostream& err);

}  // namespace ia::imagectl

#endif  // TOOLS_IMAGECTL_CLI_H_
