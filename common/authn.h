// The gRPC edge of authentication and authorization (common/authz.h decides;
// this file finds who is calling and enforces the answer):
//
//  - AuthGate, a grpc::AuthMetadataProcessor set on the TLS listener: finds
//    the caller's identity (a bearer token from --auth-tokens-file, else
//    the client certificate: SAN URI such as spiffe://..., else DNS SAN,
//    else CN), maps the method to its verb, and refuses the call before any
//    handler runs: UNAUTHENTICATED without an identity (or with an unknown
//    token), PERMISSION_DENIED naming the identity and the verb. It counts
//    each decision in ia_authz_decisions_total{service,verb,result}.
//  - CheckNamespace(), called by handlers with the verb and the request's
//    namespace: PERMISSION_DENIED when the caller's grant is limited to
//    other namespaces. gRPC gives the processor no per-call place to leave
//    the identity in (a connection's AuthContext is shared by its calls),
//    so the check finds it again from the call's metadata, through the
//    gate activated for the process (AuthGate::Activate).
//  - MakeAuditInterceptorFactory(): one audit line per write and reconcile
//    call (identity, verb, object, result) through common/log.h.
//
// The gate works the same for sync, callback and streaming methods: the
// processor runs on the call's initial metadata, before the method's
// handler. It needs TLS credentials (gRPC runs processors only there).
//
// Thread-safe.
#ifndef COMMON_AUTHN_H_
#define COMMON_AUTHN_H_

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "common/auth_tokens.h"
#include "common/authz.h"
#include "grpcpp/security/auth_context.h"
#include "grpcpp/security/auth_metadata_processor.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_interceptor.h"
#include "grpcpp/support/status.h"

namespace ia {

// The identity of a TLS peer's client certificate: its first URI SAN, else
// its first DNS SAN, else its CN; "" without a certificate.
std::string IdentityFromCertificate(const grpc::AuthContext& context);

// The caller's identity as the active gate sees it (the certificate's when
// no gate is active); "" when anonymous.
std::string CallerIdentity(const grpc::ServerContextBase& context);

class AuthGate final : public grpc::AuthMetadataProcessor {
 public:
  // `policy` null: every identified or anonymous call is allowed (the gate
  // then only authenticates tokens). `tokens` null: certificates only.
  AuthGate(std::string service, std::shared_ptr<const AuthzPolicy> policy,
           std::shared_ptr<TokenFile> tokens);

  // Blocking (the default): gRPC runs Process on its own thread pool, as
  // a token lookup may read the tokens file again.
  grpc::Status Process(const InputMetadata& auth_metadata,
                       grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override;

  // The identity of a call this gate let through: its bearer token's, else
  // its client certificate's; "" when none.
  std::string Identify(const grpc::ServerContextBase& context) const;
  const AuthzPolicy* policy() const { return policy_.get(); }

  // Makes `gate` the one CheckNamespace and the audit consult (null: none,
  // every namespace allowed). The service host calls it once at start.
  static void Activate(std::shared_ptr<const AuthGate> gate);

 private:
  const std::string service_;
  const std::shared_ptr<const AuthzPolicy> policy_;
  const std::shared_ptr<TokenFile> tokens_;
};

// OK when the caller's grant for `verb` covers `ns` (the request's
// namespace; "" on a List or Watch means every namespace) or when no gate
// with a policy is active;
// PERMISSION_DENIED naming the identity, the verb and the namespace
// otherwise.
grpc::Status CheckNamespace(const grpc::ServerContextBase& context, Verb verb,
                            absl::string_view ns);

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeAuditInterceptorFactory();

}  // namespace ia

#endif  // COMMON_AUTHN_H_
