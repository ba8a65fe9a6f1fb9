#include "common/authn.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "common/log.h"
#include "common/metrics.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "grpc/grpc_security_constants.h"

namespace ia {
namespace {

// The gate of this process's listener, for the checks that run in
// handlers (CheckNamespace) and for the audit lines. gRPC's AuthContext is
// shared by every call on a connection, so nothing per call is kept there:
// the identity is found again from the call's own metadata.
struct Active {
  absl::Mutex mu;
  std::shared_ptr<const AuthGate> gate ABSL_GUARDED_BY(mu);
};

Active& TheActive() {
  static Active* active = new Active();  // never destroyed
  return *active;
}

std::shared_ptr<const AuthGate> ActiveGate() {
  Active& active = TheActive();
  absl::MutexLock lock(&active.mu);
  return active.gate;
}

metrics::CounterFamily& Decisions() {
  static auto& family = metrics::Registry::Default().AddCounter(
      "ia_authz_decisions_total",
      "gRPC calls the authorization gate allowed or denied, by service, verb "
      "and result (allowed, denied, unauthenticated).",
      {"service", "verb", "result"});
  return family;
}

std::string FirstValue(const grpc::AuthContext& context, const char* name) {
  std::vector<grpc::string_ref> values = context.FindPropertyValues(name);
  if (values.empty()) return "";
  return std::string(values[0].data(), values[0].size());
}

std::string ToString(grpc::string_ref ref) {
  return std::string(ref.data(), ref.size());
}

// "ImageRepository" from "/imageautomation.v1.Reflector/ApplyImageRepository".
std::string KindOfMethod(absl::string_view method) {
  const size_t slash = method.rfind('/');
  absl::string_view name =
      slash == absl::string_view::npos ? method : method.substr(slash + 1);
  for (absl::string_view prefix : {"Apply", "Delete", "Reconcile"}) {
    if (absl::ConsumePrefix(&name, prefix)) break;
  }
  return std::string(name);
}

// "namespace/name" of a write request: an Apply request's object metadata,
// or an ObjectKey; "" when the message has neither.
std::string ObjectOf(const google::protobuf::Message& message) {
  namespace pb = google::protobuf;
  const pb::Message* key = &message;
  const pb::Descriptor* descriptor = message.GetDescriptor();
  if (const pb::FieldDescriptor* object = descriptor->FindFieldByName("object");
      object != nullptr && object->message_type() != nullptr) {
    const pb::Message& o = message.GetReflection()->GetMessage(message, object);
    const pb::FieldDescriptor* metadata =
        o.GetDescriptor()->FindFieldByName("metadata");
    if (metadata == nullptr || metadata->message_type() == nullptr) return "";
    key = &o.GetReflection()->GetMessage(o, metadata);
  }
  const pb::FieldDescriptor* ns =
      key->GetDescriptor()->FindFieldByName("namespace");
  const pb::FieldDescriptor* name =
      key->GetDescriptor()->FindFieldByName("name");
  if (ns == nullptr || name == nullptr ||
      ns->type() != pb::FieldDescriptor::TYPE_STRING ||
      name->type() != pb::FieldDescriptor::TYPE_STRING) {
    return "";
  }
  std::string namespace_ = key->GetReflection()->GetString(*key, ns);
  if (namespace_.empty()) namespace_ = "flux-system";
  return absl::StrCat(namespace_, "/",
                      key->GetReflection()->GetString(*key, name));
}

class AuditInterceptor final : public grpc::experimental::Interceptor {
 public:
  AuditInterceptor(grpc::experimental::ServerRpcInfo* info, Verb verb)
      : info_(info), verb_(verb) {}

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_MESSAGE)) {
      if (const auto* message = static_cast<const google::protobuf::Message*>(
              methods->GetRecvMessage());
          message != nullptr && object_.empty()) {
        object_ = ObjectOf(*message);
      }
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      const std::string identity = CallerIdentity(*info_->server_context());
      log::Info("audit")
          .With("identity", identity.empty() ? "anonymous" : identity)
          .With("verb", VerbName(verb_))
          .With("method", info_->method())
          .With("object",
                absl::StrCat(KindOfMethod(info_->method()), " ", object_))
          .With("result", status.ok() ? "OK" : "refused")
          .With("code", static_cast<int>(status.error_code()));
    }
    methods->Proceed();
  }

 private:
  grpc::experimental::ServerRpcInfo* const info_;
  const Verb verb_;
  std::string object_;
};

class AuditInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    const std::optional<Verb> verb = VerbOfMethod(info->method());
    if (!verb || (*verb != Verb::kWrite && *verb != Verb::kReconcile)) {
      return nullptr;
    }
    return new AuditInterceptor(info, *verb);
  }
};

}  // namespace

std::string IdentityFromCertificate(const grpc::AuthContext& context) {
  for (const char* name :
       {GRPC_PEER_URI_PROPERTY_NAME, GRPC_PEER_DNS_PROPERTY_NAME,
        GRPC_X509_CN_PROPERTY_NAME}) {
    std::string value = FirstValue(context, name);
    if (!value.empty()) return value;
  }
  return "";
}

AuthGate::AuthGate(std::string service,
                   std::shared_ptr<const AuthzPolicy> policy,
                   std::shared_ptr<TokenFile> tokens)
    : service_(std::move(service)),
      policy_(std::move(policy)),
      tokens_(std::move(tokens)) {}

grpc::Status AuthGate::Process(const InputMetadata& auth_metadata,
                               grpc::AuthContext* context, OutputMetadata*,
                               OutputMetadata*) {
  std::string method;
  if (auto it = auth_metadata.find(":path"); it != auth_metadata.end()) {
    method = ToString(it->second);
  }
  const std::optional<Verb> verb = VerbOfMethod(method);
  const absl::string_view verb_name = verb ? VerbName(*verb) : "none";

  // Who is calling: a bearer token wins over the certificate.
  std::string identity;
  if (auto it = auth_metadata.find("authorization");
      it != auth_metadata.end()) {
    // Left in the call's metadata (not "consumed"): CheckNamespace and the
    // audit find the identity again from it.
    const std::string value = ToString(it->second);
    absl::string_view token = value;
    std::optional<std::string> found;
    if (tokens_ != nullptr && absl::ConsumePrefix(&token, "Bearer ")) {
      found = tokens_->IdentityOf(token);
    }
    if (!found) {
      Decisions()
          .WithLabels({service_, verb_name, "unauthenticated"})
          .Increment();
      log::Warn("call refused: unknown bearer token").With("method", method);
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          tokens_ == nullptr
                              ? "this service takes no bearer tokens "
                                "(no --auth-tokens-file)"
                              : "the bearer token is not known");
    }
    identity = *std::move(found);
  } else {
    identity = IdentityFromCertificate(*context);
  }

  Grant grant;
  if (policy_ == nullptr) {
    grant.allowed = grant.every_namespace = verb.has_value();
  } else if (verb) {
    grant = policy_->GrantFor(identity, *verb);
  }
  if (!verb) {
    Decisions().WithLabels({service_, verb_name, "denied"}).Increment();
    return grpc::Status(
        grpc::StatusCode::PERMISSION_DENIED,
        absl::StrCat("method ", method, " is not in the method table"));
  }
  if (!grant.allowed && identity.empty()) {
    Decisions()
        .WithLabels({service_, verb_name, "unauthenticated"})
        .Increment();
    return grpc::Status(
        grpc::StatusCode::UNAUTHENTICATED,
        absl::StrCat("no identity: present a client certificate or "
                     "'authorization: Bearer TOKEN' to ",
                     VerbName(*verb)));
  }
  if (!grant.allowed) {
    Decisions().WithLabels({service_, verb_name, "denied"}).Increment();
    if (*verb == Verb::kWrite || *verb == Verb::kReconcile) {
      log::Warn("audit")
          .With("identity", identity)
          .With("verb", verb_name)
          .With("method", method)
          .With("result", "denied");
    }
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        absl::StrCat("identity \"", identity, "\" may not ",
                                     verb_name, " (", method, ")"));
  }
  Decisions().WithLabels({service_, verb_name, "allowed"}).Increment();
  return grpc::Status::OK;
}

std::string AuthGate::Identify(const grpc::ServerContextBase& context) const {
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    absl::string_view token(it->second.data(), it->second.size());
    if (tokens_ == nullptr || !absl::ConsumePrefix(&token, "Bearer ")) {
      return "";
    }
    return tokens_->IdentityOf(token).value_or("");
  }
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  return auth == nullptr ? "" : IdentityFromCertificate(*auth);
}

void AuthGate::Activate(std::shared_ptr<const AuthGate> gate) {
  Active& active = TheActive();
  absl::MutexLock lock(&active.mu);
  active.gate = std::move(gate);
}

std::string CallerIdentity(const grpc::ServerContextBase& context) {
  if (std::shared_ptr<const AuthGate> gate = ActiveGate()) {
    return gate->Identify(context);
  }
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  return auth == nullptr ? "" : IdentityFromCertificate(*auth);
}

grpc::Status CheckNamespace(const grpc::ServerContextBase& context, Verb verb,
                            absl::string_view ns) {
  std::shared_ptr<const AuthGate> gate = ActiveGate();
  if (gate == nullptr || gate->policy() == nullptr) return grpc::Status::OK;
  const std::string identity = gate->Identify(context);
  const Grant grant = gate->policy()->GrantFor(identity, verb);
  if (GrantCovers(grant, ns)) return grpc::Status::OK;
  return grpc::Status(
      grpc::StatusCode::PERMISSION_DENIED,
      absl::StrCat("identity \"", identity, "\" may not ", VerbName(verb), " ",
                   ns.empty() ? std::string("every namespace")
                              : absl::StrCat("in namespace \"", ns, "\""),
                   " (allowed: ", absl::StrJoin(grant.namespaces, ", "), ")"));
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeAuditInterceptorFactory() {
  return std::make_unique<AuditInterceptorFactory>();
}

}  // namespace ia
