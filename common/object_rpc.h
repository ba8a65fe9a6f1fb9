// The object RPCs every service serves (Apply, Get, List, Delete,
// Reconcile), written once over ObjectStore<T>. Each first checks that the
// caller's grant covers the request's namespace (CheckNamespace in
// common/authn.h; the verb itself was checked before the handler ran).
//
// Thread-safe as ObjectStore is.
#ifndef COMMON_OBJECT_RPC_H_
#define COMMON_OBJECT_RPC_H_

#include <string>

#include "absl/status/status.h"
#include "common/authn.h"
#include "common/grpc_status.h"
#include "common/log.h"
#include "common/object_store.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"

namespace ia {

// The namespace of a request key: "" means flux-system.
inline std::string NamespaceOf(const v1::ObjectKey& key) {
  return key.namespace_().empty() ? std::string(kDefaultNamespace)
                                  : key.namespace_();
}

template <typename T, typename Response>
grpc::Status ApplyRpc(const grpc::ServerContextBase* context,
                      ObjectStore<T>& objects, const T& object,
                      Response* response) {
  const std::string& ns = object.metadata().namespace_();
  if (grpc::Status allowed =
          CheckNamespace(*context, Verb::kWrite,
                         ns.empty() ? std::string(kDefaultNamespace) : ns);
      !allowed.ok()) {
    return allowed;
  }
  auto applied = objects.Apply(object);
  if (!applied.ok()) {
    log::Warn("apply refused")
        .With("kind", KindOf<T>())
        .With("error", applied.status());
    return ToGrpcStatus(applied.status());
  }
  log::Info("object applied")
      .With("kind", KindOf<T>())
      .With("name", KeyOf(applied->object.metadata()))
      .With("action", applied->action)
      .With("generation", applied->object.metadata().generation());
  *response->mutable_object() = std::move(applied->object);
  response->mutable_result()->set_action(applied->action);
  return grpc::Status::OK;
}

template <typename T>
grpc::Status GetRpc(const grpc::ServerContextBase* context,
                    const ObjectStore<T>& objects, const v1::ObjectKey& key,
                    T* response) {
  if (grpc::Status allowed =
          CheckNamespace(*context, Verb::kRead, NamespaceOf(key));
      !allowed.ok()) {
    return allowed;
  }
  auto object = objects.Get(NamespaceOf(key), key.name());
  if (!object.ok()) return ToGrpcStatus(object.status());
  *response = *std::move(object);
  return grpc::Status::OK;
}

template <typename T, typename List>
grpc::Status ListRpc(const grpc::ServerContextBase* context,
                     const ObjectStore<T>& objects,
                     const v1::ListRequest& request, List* response) {
  if (grpc::Status allowed =
          CheckNamespace(*context, Verb::kRead, request.namespace_());
      !allowed.ok()) {
    return allowed;
  }
  auto list = objects.List(request.namespace_());
  if (!list.ok()) return ToGrpcStatus(list.status());
  for (T& object : *list) *response->add_items() = std::move(object);
  return grpc::Status::OK;
}

template <typename T>
grpc::Status DeleteRpc(const grpc::ServerContextBase* context,
                       ObjectStore<T>& objects, const v1::ObjectKey& key) {
  if (grpc::Status allowed =
          CheckNamespace(*context, Verb::kWrite, NamespaceOf(key));
      !allowed.ok()) {
    return allowed;
  }
  absl::Status status = objects.Delete(NamespaceOf(key), key.name());
  if (status.ok()) {
    log::Info("object deleted")
        .With("kind", KindOf<T>())
        .With("name", KeyOf(NamespaceOf(key), key.name()));
  }
  return ToGrpcStatus(status);
}

template <typename T>
grpc::Status ReconcileRpc(const grpc::ServerContextBase* context,
                          ObjectStore<T>& objects, const v1::ObjectKey& key,
                          v1::ReconcileResponse* response) {
  if (grpc::Status allowed =
          CheckNamespace(*context, Verb::kReconcile, NamespaceOf(key));
      !allowed.ok()) {
    return allowed;
  }
  auto requested_at = objects.RequestReconcile(NamespaceOf(key), key.name());
  if (!requested_at.ok()) return ToGrpcStatus(requested_at.status());
  response->set_requested_at(*requested_at);
  return grpc::Status::OK;
}

}  // namespace ia

#endif  // COMMON_OBJECT_RPC_H_
