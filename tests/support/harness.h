// Test harness shared by the test binaries: temporary folders, free loopback
// ports, the real service binaries as child processes, and gRPC probes
// (health, server reflection) that speak the wire protocol directly.
//
// Not thread-safe; one test uses one harness object at a time.
#ifndef TESTS_SUPPORT_HARNESS_H_
#define TESTS_SUPPORT_HARNESS_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.pb.h"
#include "grpcpp/grpcpp.h"

namespace ia::testing {

// A fresh folder under $TMPDIR, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string Join(const std::string& name) const { return path_ + "/" + name; }
  // Writes `content` to Join(name), creating parent folders.
  std::string WriteFile(const std::string& name,
                        const std::string& content) const;

 private:
  std::string path_;
};

// Polls `done` every `poll` until it holds or `timeout` passes (a bound
// against hanging, not a measurement): whether it held.
bool Eventually(const std::function<bool()>& done,
                absl::Duration timeout = absl::Seconds(60),
                absl::Duration poll = absl::Milliseconds(20));

// A TCP port on 127.0.0.1 that nothing listened on a moment ago.
int FreePort();

// A child process; its stdout and stderr go to `log_path`.
class Process {
 public:
  Process(const std::string& binary, const std::vector<std::string>& args,
          const std::string& log_path);
  ~Process();  // SIGKILLs the child if it is still running.
  pid_t pid() const { return pid_; }
  // Sends SIGTERM and waits up to `timeout`; returns the exit status as
  // waitpid gives it, or -1 on timeout (the child is then SIGKILLed).
  int Terminate(absl::Duration timeout = absl::Seconds(30));
  // SIGKILL and reap.
  void Kill();
  bool Running();
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  std::string log_path_;
};

// The result of running a command to completion.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `binary` with `args` and optional environment additions, capturing
// stdout and stderr separately.
CommandResult RunCommand(const std::string& binary,
                         const std::vector<std::string>& args,
                         const std::vector<std::string>& env = {});

// One of the service binaries, started on free ports with its own data dir.
struct ServiceOptions {
  std::string binary;              // IA_REFLECTOR_BIN, ...
  std::string data_dir;            // required
  std::vector<std::string> extra;  // more flags
  // How the harness talks to it; insecure when null.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
};

class Service {
 public:
  Service(ServiceOptions options, std::string log_path);
  ~Service();
  // Starts the binary (again) on the same port and data dir; waits until
  // its health check answers SERVING.
  absl::Status Start(absl::Duration timeout = absl::Seconds(30));
  int Terminate() { return process_->Terminate(); }
  void Kill() { process_->Kill(); }
  const std::string& address() const { return address_; }
  std::shared_ptr<grpc::Channel> Channel() const;
  std::string Log() const { return process_ ? process_->Log() : ""; }

 private:
  ServiceOptions options_;
  std::string log_path_;
  std::string address_;
  std::unique_ptr<Process> process_;
};

// Writes the ImageRepository flux-system/app (image registry.example/app)
// and its tag set (revision "rev-1", `tags` in the given order) into the
// store of a reflector whose --data-dir is `data_dir`, as a previous run
// would have left them: until the reflector scans registries itself, this
// is how tests give it tags.
absl::Status SeedReflectorStore(const std::string& data_dir,
                                const std::vector<std::string>& tags);

// The reply to an HTTP GET: status 0 when nothing answered.
struct HttpReply {
  int status = 0;
  std::string content_type;
  std::string body;
};

// One HTTP/1.0 GET of `path` from 127.0.0.1:`port` over a plain socket.
HttpReply HttpGet(int port, const std::string& path);

// grpc.health.v1.Health/Check: the ServingStatus number, or the RPC error.
absl::StatusOr<int> HealthCheck(std::shared_ptr<grpc::Channel> channel,
                                const std::string& service);

// Server reflection (grpc.reflection.v1alpha), as grpcurl uses it.
absl::StatusOr<std::vector<std::string>> ReflectionListServices(
    std::shared_ptr<grpc::Channel> channel);
// The file descriptors that define `symbol` (and its dependencies).
absl::StatusOr<std::vector<google::protobuf::FileDescriptorProto>>
ReflectionFileContainingSymbol(std::shared_ptr<grpc::Channel> channel,
                               const std::string& symbol);

}  // namespace ia::testing

#endif  // TESTS_SUPPORT_HARNESS_H_
