#include "tools/imagectl/clients.h"

#include <grpcpp/grpcpp.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/defaults.h"
#include "common/grpc_status.h"
#include "common/tls_credentials.h"
#include "imageautomation/v1/automation.grpc.pb.h"
#include "imageautomation/v1/policy.grpc.pb.h"
#include "imageautomation/v1/reflector.grpc.pb.h"

namespace ia::imagectl {

absl::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kImageRepository:
      return KindOf<v1::ImageRepository>();
    case Kind::kImagePolicy:
      return KindOf<v1::ImagePolicy>();
    case Kind::kImageUpdateAutomation:
      return KindOf<v1::ImageUpdateAutomation>();
    case Kind::kGitRepository:
      return KindOf<v1::GitRepository>();
  }
  return "";
}

Kind KindOfObject(const AnyObject& object) {
  switch (object.index()) {
    case 0:
      return Kind::kImageRepository;
    case 1:
      return Kind::kImagePolicy;
    case 2:
      return Kind::kImageUpdateAutomation;
    default:
      return Kind::kGitRepository;
  }
}

Service OwnerOf(Kind kind) {
  switch (kind) {
    case Kind::kImageRepository:
      return Service::kReflector;
    case Kind::kImagePolicy:
      return Service::kPolicy;
    case Kind::kImageUpdateAutomation:
    case Kind::kGitRepository:
      return Service::kAutomation;
  }
  return Service::kAutomation;
}

absl::string_view ServiceName(Service service) {
  switch (service) {
    case Service::kReflector:
      return "reflector";
    case Service::kPolicy:
      return "policy";
    case Service::kAutomation:
      return "automation";
  }
  return "";
}

absl::string_view ServiceBinary(Service service) {
  switch (service) {
    case Service::kReflector:
      return "image-reflector";
    case Service::kPolicy:
      return "image-policy";
    case Service::kAutomation:
      return "image-automation";
  }
  return "";
}

absl::string_view ServiceFlag(Service service) {
  switch (service) {
    case Service::kReflector:
      return "--reflector";
    case Service::kPolicy:
      return "--policy";
    case Service::kAutomation:
      return "--automation";
  }
  return "";
}

absl::string_view ServiceEnvVar(Service service) {
  switch (service) {
    case Service::kReflector:
      return "IMAGECTL_REFLECTOR";
    case Service::kPolicy:
      return "IMAGECTL_POLICY";
    case Service::kAutomation:
      return "IMAGECTL_AUTOMATION";
  }
  return "";
}

absl::string_view DefaultAddress(Service service) {
  switch (service) {
    case Service::kReflector:
      return defaults::kReflectorAddress;
    case Service::kPolicy:
      return defaults::kPolicyAddress;
    case Service::kAutomation:
      return defaults::kAutomationAddress;
  }
  return "";
}

namespace {

// Reduces gRPC's description of a failed connection ("failed to connect to
// all addresses; last error: UNKNOWN: ipv4:127.0.0.1:50051: Failed to
// connect to remote host: Connection refused") to a few words.
std::string ShortReason(absl::StatusCode code, absl::string_view detail,
                        absl::Duration timeout) {
  if (code == absl::StatusCode::kDeadlineExceeded) {
    return absl::StrCat("no answer within ", absl::FormatDuration(timeout));
  }
  const std::string lower = absl::AsciiStrToLower(detail);
  struct Pattern {
    absl::string_view needle;
    absl::string_view reason;
  };
  static constexpr Pattern kPatterns[] = {
      {"connection refused", "connection refused"},
      {"dns resolution failed", "cannot resolve the host name"},
      {"name or service not known", "cannot resolve the host name"},
      {"could not resolve", "cannot resolve the host name"},
      {"domain name not found", "cannot resolve the host name"},
      {"handshake", "TLS handshake failed"},
      {"ssl_error", "TLS handshake failed"},
      {"certificate", "TLS handshake failed"},
      {"no route to host", "no route to host"},
      {"network is unreachable", "network is unreachable"},
      {"connection reset", "connection reset by the server"},
      {"socket closed", "connection closed by the server"},
      {"connection closed", "connection closed by the server"},
      {"deadline", "timed out"},
      {"timed out", "timed out"},
  };
  for (const Pattern& p : kPatterns) {
    if (absl::StrContains(lower, p.needle)) return std::string(p.reason);
  }
  if (detail.empty()) return "unavailable";
  return std::string(detail);
}

v1::ObjectKey MakeKey(absl::string_view ns, absl::string_view name) {
  v1::ObjectKey key;
  key.set_namespace_(std::string(ns));
  key.set_name(std::string(name));
  return key;
}

v1::ListRequest MakeListRequest(absl::string_view ns) {
  v1::ListRequest request;
  request.set_namespace_(std::string(ns));
  return request;
}

template <typename T>
absl::StatusOr<AnyObject> ToAny(absl::StatusOr<T> result) {
  if (!result.ok()) return result.status();
  return AnyObject(*std::move(result));
}

template <typename List>
absl::StatusOr<std::vector<AnyObject>> ItemsOf(absl::StatusOr<List> result) {
  if (!result.ok()) return result.status();
  std::vector<AnyObject> items;
  items.reserve(result->items_size());
  for (auto& item : *result->mutable_items())
    items.emplace_back(std::move(item));
  return items;
}

template <typename Response>
absl::StatusOr<ApplyOutcome> ToOutcome(absl::StatusOr<Response> result) {
  if (!result.ok()) return result.status();
  ApplyOutcome outcome{
      AnyObject(std::move(*result->mutable_object())),
      result->result().action(),
      {result->result().warnings().begin(), result->result().warnings().end()}};
  return outcome;
}

class GrpcObjectClient : public ObjectClient {
 public:
  GrpcObjectClient(const ClientOptions& options,
                   const std::shared_ptr<grpc::ChannelCredentials>& credentials)
      : options_(options) {
    grpc::ChannelArguments args;
    if (!options.tls_server_name.empty()) {
      args.SetSslTargetNameOverride(options.tls_server_name);
    }
    auto channel = [&](Service s) {
      return grpc::CreateCustomChannel(options.addresses[static_cast<int>(s)],
                                       credentials, args);
    };
    reflector_ = v1::Reflector::NewStub(channel(Service::kReflector));
    policy_ = v1::Policy::NewStub(channel(Service::kPolicy));
    automation_ = v1::Automation::NewStub(channel(Service::kAutomation));
  }

  absl::StatusOr<ApplyOutcome> Apply(const AnyObject& object) override {
    switch (KindOfObject(object)) {
      case Kind::kImageRepository: {
        v1::ApplyImageRepositoryRequest request;
        *request.mutable_object() = std::get<v1::ImageRepository>(object);
        return ToOutcome(Call(Service::kReflector, reflector_.get(),
                              &v1::Reflector::Stub::ApplyImageRepository,
                              request));
      }
      case Kind::kImagePolicy: {
        v1::ApplyImagePolicyRequest request;
        *request.mutable_object() = std::get<v1::ImagePolicy>(object);
        return ToOutcome(Call(Service::kPolicy, policy_.get(),
                              &v1::Policy::Stub::ApplyImagePolicy, request));
      }
      case Kind::kImageUpdateAutomation: {
        v1::ApplyImageUpdateAutomationRequest request;
        *request.mutable_object() = std::get<v1::ImageUpdateAutomation>(object);
        return ToOutcome(Call(Service::kAutomation, automation_.get(),
                              &v1::Automation::Stub::ApplyImageUpdateAutomation,
                              request));
      }
      case Kind::kGitRepository: {
        v1::ApplyGitRepositoryRequest request;
        *request.mutable_object() = std::get<v1::GitRepository>(object);
        return ToOutcome(Call(Service::kAutomation, automation_.get(),
                              &v1::Automation::Stub::ApplyGitRepository,
                              request));
      }
    }
    return absl::InternalError("unknown kind");
  }

  absl::StatusOr<AnyObject> Get(Kind kind, absl::string_view ns,
                                absl::string_view name) override {
    const v1::ObjectKey key = MakeKey(ns, name);
    switch (kind) {
      case Kind::kImageRepository:
        return ToAny(Call(Service::kReflector, reflector_.get(),
                          &v1::Reflector::Stub::GetImageRepository, key));
      case Kind::kImagePolicy:
        return ToAny(Call(Service::kPolicy, policy_.get(),
                          &v1::Policy::Stub::GetImagePolicy, key));
      case Kind::kImageUpdateAutomation:
        return ToAny(Call(Service::kAutomation, automation_.get(),
                          &v1::Automation::Stub::GetImageUpdateAutomation,
                          key));
      case Kind::kGitRepository:
        return ToAny(Call(Service::kAutomation, automation_.get(),
                          &v1::Automation::Stub::GetGitRepository, key));
    }
    return absl::InternalError("unknown kind");
  }

  absl::StatusOr<std::vector<AnyObject>> List(Kind kind,
                                              absl::string_view ns) override {
    const v1::ListRequest request = MakeListRequest(ns);
    switch (kind) {
      case Kind::kImageRepository:
        return ItemsOf(Call(Service::kReflector, reflector_.get(),
                            &v1::Reflector::Stub::ListImageRepositories,
                            request));
      case Kind::kImagePolicy:
        return ItemsOf(Call(Service::kPolicy, policy_.get(),
                            &v1::Policy::Stub::ListImagePolicies, request));
      case Kind::kImageUpdateAutomation:
        return ItemsOf(Call(Service::kAutomation, automation_.get(),
                            &v1::Automation::Stub::ListImageUpdateAutomations,
                            request));
      case Kind::kGitRepository:
        return ItemsOf(Call(Service::kAutomation, automation_.get(),
                            &v1::Automation::Stub::ListGitRepositories,
                            request));
    }
    return absl::InternalError("unknown kind");
  }

  absl::Status Delete(Kind kind, absl::string_view ns,
                      absl::string_view name) override {
    const v1::ObjectKey key = MakeKey(ns, name);
    absl::StatusOr<v1::DeleteResponse> result;
    switch (kind) {
      case Kind::kImageRepository:
        result = Call(Service::kReflector, reflector_.get(),
                      &v1::Reflector::Stub::DeleteImageRepository, key);
        break;
      case Kind::kImagePolicy:
        result = Call(Service::kPolicy, policy_.get(),
                      &v1::Policy::Stub::DeleteImagePolicy, key);
        break;
      case Kind::kImageUpdateAutomation:
        result = Call(Service::kAutomation, automation_.get(),
                      &v1::Automation::Stub::DeleteImageUpdateAutomation, key);
        break;
      case Kind::kGitRepository:
        result = Call(Service::kAutomation, automation_.get(),
                      &v1::Automation::Stub::DeleteGitRepository, key);
        break;
    }
    return result.status();
  }

  absl::StatusOr<std::string> Reconcile(Kind kind, absl::string_view ns,
                                        absl::string_view name) override {
    const v1::ObjectKey key = MakeKey(ns, name);
    absl::StatusOr<v1::ReconcileResponse> result;
    switch (kind) {
      case Kind::kImageRepository:
        result = Call(Service::kReflector, reflector_.get(),
                      &v1::Reflector::Stub::ReconcileImageRepository, key);
        break;
      case Kind::kImagePolicy:
        result = Call(Service::kPolicy, policy_.get(),
                      &v1::Policy::Stub::ReconcileImagePolicy, key);
        break;
      case Kind::kImageUpdateAutomation:
        result =
            Call(Service::kAutomation, automation_.get(),
                 &v1::Automation::Stub::ReconcileImageUpdateAutomation, key);
        break;
      case Kind::kGitRepository:
        result = Call(Service::kAutomation, automation_.get(),
                      &v1::Automation::Stub::ReconcileGitRepository, key);
        break;
    }
    if (!result.ok()) return result.status();
    return result->requested_at();
  }

 private:
  // One unary RPC with the configured deadline; fails fast (no
  // wait-for-ready) so that a stopped service is reported at once.
  template <typename Stub, typename Request, typename Response>
  absl::StatusOr<Response> Call(
      Service service, Stub* stub,
      grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                   Response*),
      const Request& request) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
    Response response;
    const grpc::Status status = (stub->*method)(&context, request, &response);
    if (status.ok()) return response;
    absl::Status error = FromGrpcStatus(status);
    const absl::StatusCode code = error.code();
    if (code == absl::StatusCode::kUnavailable ||
        code == absl::StatusCode::kDeadlineExceeded) {
      return absl::Status(
          code, UnreachableMessage(
                    service, options_.addresses[static_cast<int>(service)],
                    code, status.error_message(), options_.timeout));
    }
    return error;
  }

  ClientOptions options_;
  std::unique_ptr<v1::Reflector::Stub> reflector_;
  std::unique_ptr<v1::Policy::Stub> policy_;
  std::unique_ptr<v1::Automation::Stub> automation_;
};

}  // namespace

std::string UnreachableMessage(Service service, absl::string_view address,
                               absl::StatusCode code, absl::string_view detail,
                               absl::Duration timeout) {
  return absl::StrCat("cannot reach the ", ServiceName(service), " at ",
                      address, " (", ShortReason(code, detail, timeout),
                      "): is ", ServiceBinary(service), " running? Set ",
                      ServiceFlag(service), " or ", ServiceEnvVar(service));
}

absl::StatusOr<std::unique_ptr<ObjectClient>> MakeGrpcObjectClient(
    const ClientOptions& options) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MakeChannelCredentials(options.tls_ca_file, options.tls_cert_file,
                             options.tls_key_file);
  if (!credentials.ok()) return credentials.status();
  credentials = WithBearerToken(
      *std::move(credentials),
      !options.tls_ca_file.empty() || !options.tls_cert_file.empty(),
      options.token, options.token_file,
      options.token_file.empty() ? "--token" : "--token-file");
  if (!credentials.ok()) return credentials.status();
  return std::unique_ptr<ObjectClient>(
      std::make_unique<GrpcObjectClient>(options, *credentials));
}

}  // namespace ia::imagectl
