// imagectl's view of the three services: one small interface, ObjectClient,
// over the object RPCs (Apply/Get/List/Delete/Reconcile) of the Reflector,
// Policy and Automation services, routed by object kind to the service that
// owns the kind. The gRPC implementation is made by MakeGrpcObjectClient();
// tests use a fake.
//
// Errors are absl::Status with the gRPC code kept. UNAVAILABLE and
// DEADLINE_EXCEEDED (the service could not be reached, or did not answer in
// time) carry a complete user-facing message that names the service, its
// address and how to point imagectl elsewhere; other codes carry the
// service's message unchanged.
//
// An ObjectClient is thread-compatible: use one from one thread at a time.
#ifndef TOOLS_IMAGECTL_CLIENTS_H_
#define TOOLS_IMAGECTL_CLIENTS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/objects.h"

namespace ia::imagectl {

// The object kinds imagectl handles.
enum class Kind {
  kImageRepository,
  kImagePolicy,
  kImageUpdateAutomation,
  kGitRepository
};

// The three services.
enum class Service { kReflector = 0, kPolicy = 1, kAutomation = 2 };
inline constexpr int kServiceCount = 3;

// "ImageRepository", ...
absl::string_view KindName(Kind kind);
// The kind of an object.
Kind KindOfObject(const AnyObject& object);
// The service that owns `kind`: reflector for ImageRepository, policy for
// ImagePolicy, automation for ImageUpdateAutomation and GitRepository.
Service OwnerOf(Kind kind);

// "reflector", "policy", "automation".
absl::string_view ServiceName(Service service);
// "image-reflector", ...: the binary serving it.
absl::string_view ServiceBinary(Service service);
// "--reflector", ...
absl::string_view ServiceFlag(Service service);
// "IMAGECTL_REFLECTOR", ...
absl::string_view ServiceEnvVar(Service service);
// "127.0.0.1:50051", "127.0.0.1:50052", "127.0.0.1:50053".
absl::string_view DefaultAddress(Service service);

// What an Apply did.
struct ApplyOutcome {
  // The object as stored.
  AnyObject object;
  // "created", "configured" or "unchanged".
  std::string action;
  // Fields the service accepted but ignores.
  std::vector<std::string> warnings;
};

// The object RPCs of the three services.
class ObjectClient {
 public:
  virtual ~ObjectClient() = default;

  // Creates or updates `object` at its owner.
  virtual absl::StatusOr<ApplyOutcome> Apply(const AnyObject& object) = 0;
  // The object `ns`/`name` of `kind`; NOT_FOUND when there is none.
  virtual absl::StatusOr<AnyObject> Get(Kind kind, absl::string_view ns,
                                        absl::string_view name) = 0;
  // Objects of `kind` in `ns` (every namespace when `ns` is empty), sorted
  // by namespace, then name.
  virtual absl::StatusOr<std::vector<AnyObject>> List(Kind kind,
                                                      absl::string_view ns) = 0;
  // Deletes the object; NOT_FOUND when there is none.
  virtual absl::Status Delete(Kind kind, absl::string_view ns,
                              absl::string_view name) = 0;
  // Asks for a reconcile now; returns the requested-at value (RFC 3339).
  virtual absl::StatusOr<std::string> Reconcile(Kind kind, absl::string_view ns,
                                                absl::string_view name) = 0;
};

// How to reach the services.
struct ClientOptions {
  // Address ("host:port") of each service, indexed by Service.
  std::string addresses[kServiceCount];
  // Deadline of each RPC.
  absl::Duration timeout = absl::Seconds(10);
  // PEM files. When all are empty the channels are insecure (plaintext).
  // With tls_ca_file only, the server is verified against that CA; with
  // tls_cert_file and tls_key_file, imagectl also presents a client
  // certificate (mTLS). Without tls_ca_file the system roots are used.
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  // Overrides the name the server certificate is checked against (for
  // certificates issued to "localhost" while dialling 127.0.0.1, say).
  std::string tls_server_name;
  // A bearer token sent on every call (`authorization: Bearer TOKEN`),
  // given as is (--token, IMAGECTL_TOKEN) or read from a file at each call
  // (--token-file). Only over TLS (tls_ca_file or a client certificate).
  std::string token;
  std::string token_file;
};

// Makes the gRPC client. Channels connect lazily, on the first RPC.
// INVALID_ARGUMENT when a TLS file or the token file cannot be read or only
// one of tls_cert_file / tls_key_file is given; FAILED_PRECONDITION when a
// token is given without TLS.
absl::StatusOr<std::unique_ptr<ObjectClient>> MakeGrpcObjectClient(
    const ClientOptions& options);

// The message of an UNAVAILABLE / DEADLINE_EXCEEDED answer, e.g.
//   cannot reach the reflector at 127.0.0.1:50051 (connection refused): is
//   image-reflector running? Set --reflector or IMAGECTL_REFLECTOR
// `detail` is gRPC's message; it is reduced to a short reason when
// recognised. Exposed for tests.
std::string UnreachableMessage(Service service, absl::string_view address,
                               absl::StatusCode code, absl::string_view detail,
                               absl::Duration timeout);

}  // namespace ia::imagectl

#endif  // TOOLS_IMAGECTL_CLIENTS_H_
