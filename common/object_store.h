// ObjectStore<T>: the port through which a service reads the objects of one
// kind it owns (T is one of the four messages in objects.h) and writes their
// status. Reconcilers, the object RPCs and the manifest loader talk to this
// interface only. Adapters:
//
//  - KvObjectStore<T> (kv_object_store.h): the service's own Store (SQLite),
//    standalone mode;
//  - the Kubernetes API (a later adapter): the cluster's custom resources.
//
// The contract, which both adapters keep:
//
//  - Apply validates and defaults the object (validation.h, then the
//    owner's validator), replaces spec, labels and annotations, keeps
//    status, sets generation to 1 on create and bumps it when the spec
//    changes, and answers created/configured/unchanged.
//  - The change listener is called with the key after every change of an
//    object's spec, metadata or existence (Apply, Delete, a reconcile
//    request; with Kubernetes, every watch event that is not only a status
//    change), never for a status write. It may be called on any thread, and
//    more than once for one change: the controller's queue de-duplicates.
//  - UpdateStatus is optimistic: `mutate` gets the stored object and changes
//    its status; if the object changed meanwhile (Kubernetes: the write is
//    refused for an old resourceVersion), the adapter reads it again and
//    calls `mutate` again. So `mutate` must be a function of the object it
//    is given (and of values captured before the call), with no side effect.
//    Writes happen only when the status changed.
//  - Find answers nullopt, and List leaves out, an object that is gone or
//    being deleted. Clean-up is the reconciler's "object gone" path; the
//    controller calls Reconciled(key) after every reconcile that returned
//    OK, and an adapter with finalizers (Kubernetes) removes its finalizer
//    there once the object is being deleted, so deletion never skips the
//    clean-up.
//  - A reconcile records the generation it read, not the stored one
//    (conditions.h: ObservedOf at the read, MarkObserved at the write).
//
// Thread-safe: every method may be called from any thread, but for
// SetChangeListener and SetValidator, which are called once, before serving.
#ifndef COMMON_OBJECT_STORE_H_
#define COMMON_OBJECT_STORE_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/objects.h"

namespace ia {

template <typename T>
class ObjectStore {
 public:
  struct Applied {
    T object;
    std::string action;  // "created", "configured" or "unchanged"
  };

  virtual ~ObjectStore() = default;

  // Called with the key after every change (see above); set before serving.
  virtual void SetChangeListener(
      std::function<void(const std::string& key)> listener) = 0;

  // A check of the owning service run on Apply after ValidateAndDefault
  // (e.g. the policy service's semver range parser). Its message names the
  // field; Apply prefixes the object's name. Set before serving.
  virtual void SetValidator(std::function<absl::Status(const T&)> validate) = 0;

  // Creates or updates the object as described above. INVALID_ARGUMENT,
  // naming the object and the field, when validation fails (nothing
  // changes); the store's error otherwise.
  virtual absl::StatusOr<Applied> Apply(T object) = 0;

  // The object, or NOT_FOUND ("ImagePolicy ns/name not found").
  virtual absl::StatusOr<T> Get(absl::string_view ns,
                                absl::string_view name) const = 0;

  // Objects of namespace `ns` (every namespace when empty), sorted by
  // namespace, then name.
  virtual absl::StatusOr<std::vector<T>> List(absl::string_view ns) const = 0;

  // Deletes the object; NOT_FOUND when there is none.
  virtual absl::Status Delete(absl::string_view ns, absl::string_view name) = 0;

  // Records a reconcile request (the annotation flux sets) and returns its
  // value, an RFC 3339 time. NOT_FOUND when there is no such object.
  virtual absl::StatusOr<std::string> RequestReconcile(
      absl::string_view ns, absl::string_view name) = 0;

  // Lets `mutate` change the status of the object under `key` and stores
  // it if the status changed (see the contract above: `mutate` may run more
  // than once). Returns the object as stored; NOT_FOUND when it is gone.
  // `mutate` must not call back into the store.
  virtual absl::StatusOr<T> UpdateStatus(
      const std::string& key, const std::function<void(T*)>& mutate) = 0;

  // The object under `key`, or nullopt when it does not exist.
  virtual absl::StatusOr<std::optional<T>> Find(
      const std::string& key) const = 0;

  // Called by the controller after a reconcile of `key` returned OK: an
  // adapter with finalizers releases a deleted object here. Nothing to do
  // for an adapter that deletes at once.
  virtual void Reconciled(const std::string& key) {}
};

}  // namespace ia

#endif  // COMMON_OBJECT_STORE_H_
