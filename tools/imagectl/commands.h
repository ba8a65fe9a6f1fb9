// The verbs of imagectl (apply, get, delete, reconcile, create), written
// against ObjectClient and two output streams so that tests drive them with
// a fake client. Each returns the process exit code and writes results to
// `out`, errors (one line each, prefixed "imagectl: ") and warnings to `err`.
//
// Thread-compatible.
#ifndef TOOLS_IMAGECTL_COMMANDS_H_
#define TOOLS_IMAGECTL_COMMANDS_H_

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/objects.h"
#include "tools/imagectl/clients.h"

namespace ia::imagectl {

// Exit codes (the contract `imagectl --help` documents).
enum ExitCode : int {
  kExitOk = 0,
  // The operation failed: not found, refused by the service, partial apply.
  kExitFailed = 1,
  // Usage error or invalid input, found before anything was sent.
  kExitUsage = 2,
  // A service could not be reached.
  kExitUnreachable = 3,
};

// The exit code for an error returned by an ObjectClient.
int ExitCodeFor(const absl::Status& status);

// Makes the client on first use, so that verbs that need no service (create
// --export) never build channels or read TLS files.
class ClientProvider {
 public:
  using Factory =
      std::function<absl::StatusOr<std::unique_ptr<ObjectClient>>()>;
  explicit ClientProvider(Factory factory) : factory_(std::move(factory)) {}

  // The client; the factory's error (INVALID_ARGUMENT: bad TLS files) when
  // it cannot be made. The pointer lives as long as this provider.
  absl::StatusOr<ObjectClient*> Get();

 private:
  Factory factory_;
  std::unique_ptr<ObjectClient> client_;
};

// Where a verb writes.
struct Io {
  std::ostream& out;
  std::ostream& err;
};

enum class OutputFormat { kTable, kYaml, kJson };

struct GetArgs {
  Kind kind = Kind::kImageRepository;
  // Empty lists every object.
  std::string name;
  std::string ns{kDefaultNamespace};
  bool all_namespaces = false;
  OutputFormat format = OutputFormat::kTable;
};

// `apply -f PATH...`: loads every path, prints each bad document's error,
// sends each object to its owner and prints "<Kind> <ns>/<name> <action>".
// Goes on past failures; the exit code is the worst seen (3 > 2 > 1).
int RunApply(const std::vector<std::string>& paths, ClientProvider& clients,
             Io io);

// `get ...`: a table, YAML documents or JSON (one object, or a List).
int RunGet(const GetArgs& args, ClientProvider& clients, Io io);

// `delete ...`: prints "deleted <Kind> <ns>/<name>".
int RunDelete(Kind kind, const std::string& ns, const std::string& name,
              ClientProvider& clients, Io io);

// `reconcile ...`: prints that a reconcile was requested, and when.
int RunReconcile(Kind kind, const std::string& ns, const std::string& name,
                 ClientProvider& clients, Io io);

// `create ...`: `built` is the object from create.h (or its error, a usage
// error). With `export_only` prints it as flux --export does; else applies
// it and prints the outcome as RunApply does.
int RunCreate(const absl::StatusOr<AnyObject>& built, bool export_only,
              ClientProvider& clients, Io io);

}  // namespace ia::imagectl

#endif  // TOOLS_IMAGECTL_COMMANDS_H_
