// ObjectStore<T>: the objects of one kind (T is one of the four messages in
// objects.h), kept in the service's Store under the bucket named after the
// kind and the key "namespace/name", with Kubernetes apply semantics:
//
//  - Apply validates and defaults the object (validation.h), replaces spec,
//    labels and annotations, keeps status, sets generation to 1 on create and
//    bumps it when the spec changes, and answers created/configured/unchanged;
//  - UpdateStatus changes status only, and writes only when it changed;
//  - every Apply, Delete and reconcile request calls the change listener
//    with the key, so the owning controller can enqueue it.
//
// Thread-safe: read-modify-write operations are serialised.
#ifndef COMMON_OBJECT_STORE_H_
#define COMMON_OBJECT_STORE_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/objects.h"
#include "common/status_macros.h"
#include "common/store.h"
#include "common/validation.h"

namespace ia {

// The annotation `flux reconcile` sets to ask for a reconcile now; handled
// requests are copied to status.lastHandledReconcileAt.
inline constexpr absl::string_view kReconcileRequestedAt =
    "reconcile.fluxcd.io/requestedAt";

// Parts of ObjectStore that do not depend on the kind.
namespace object_store_internal {
// Serialises deterministically (so that equal messages give equal bytes).
std::string Serialize(const google::protobuf::Message& message);
// Prepares `object` (already validated) to replace `existing` (null when
// new) and returns the kubectl-style action.
std::string MergeForApply(const google::protobuf::Message* existing_spec,
                          const v1::ObjectMeta* existing_meta,
                          const google::protobuf::Message& new_spec,
                          v1::ObjectMeta* meta, absl::Time now);
std::string NewUid();
absl::Status NotFound(absl::string_view kind, absl::string_view ns,
                      absl::string_view name);
}  // namespace object_store_internal

template <typename T>
class ObjectStore {
 public:
  struct Applied {
    T object;
    std::string action;  // "created", "configured" or "unchanged"
  };

  // `store` and `clock` must outlive this object.
  ObjectStore(Store* store, const Clock* clock)
      : store_(store), clock_(clock) {}

  // Called with the key after every change; set before serving.
  void SetChangeListener(std::function<void(const std::string& key)> listener) {
    listener_ = std::move(listener);
  }

  // A check of the owning service run on Apply after ValidateAndDefault
  // (e.g. the policy service's semver range parser). Its message names the
  // field; Apply prefixes the object's name. Set before serving.
  void SetValidator(std::function<absl::Status(const T&)> validate) {
    validator_ = std::move(validate);
  }

  absl::StatusOr<Applied> Apply(T object) {
    RETURN_IF_ERROR(ValidateAndDefault(&object));
    if (validator_) {
      absl::Status valid = validator_(object);
      if (!valid.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(DisplayName(KindOf<T>(), object.metadata()), ": ",
                         valid.message()));
      }
    }
    object.clear_status();
    const std::string key = KeyOf(object.metadata());
    Applied applied;
    {
      absl::MutexLock lock(&mu_);
      ASSIGN_OR_RETURN(std::optional<T> existing, ReadLocked(key));
      if (existing.has_value()) {
        // Keep a pending reconcile request the applied object does not carry.
        const auto& old_annotations = existing->metadata().annotations();
        auto* annotations = object.mutable_metadata()->mutable_annotations();
        auto it = old_annotations.find(std::string(kReconcileRequestedAt));
        if (it != old_annotations.end() &&
            !annotations->contains(std::string(kReconcileRequestedAt))) {
          (*annotations)[it->first] = it->second;
        }
        *object.mutable_status() = existing->status();
      }
      applied.action = object_store_internal::MergeForApply(
          existing ? &existing->spec() : nullptr,
          existing ? &existing->metadata() : nullptr, object.spec(),
          object.mutable_metadata(), clock_->Now());
      if (applied.action != "unchanged") {
        RETURN_IF_ERROR(store_->Put(KindOf<T>(), key,
                                    object_store_internal::Serialize(object)));
      }
      applied.object = std::move(object);
    }
    if (applied.action != "unchanged") Notify(key);
    return applied;
  }

  absl::StatusOr<T> Get(absl::string_view ns, absl::string_view name) const {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(std::optional<T> object, ReadLocked(KeyOf(ns, name)));
    if (!object) return object_store_internal::NotFound(KindOf<T>(), ns, name);
    return *std::move(object);
  }

  // Objects of namespace `ns` (every namespace when empty), sorted by
  // namespace, then name.
  absl::StatusOr<std::vector<T>> List(absl::string_view ns) const {
    const std::string prefix = ns.empty() ? "" : absl::StrCat(ns, "/");
    ASSIGN_OR_RETURN(auto rows, store_->List(KindOf<T>(), prefix));
    std::vector<T> objects;
    objects.reserve(rows.size());
    for (const auto& [key, value] : rows) {
      T object;
      if (!object.ParseFromString(value)) return Corrupt(key);
      objects.push_back(std::move(object));
    }
    return objects;
  }

  absl::Status Delete(absl::string_view ns, absl::string_view name) {
    const std::string key = KeyOf(ns, name);
    {
      absl::MutexLock lock(&mu_);
      ASSIGN_OR_RETURN(bool existed, store_->Delete(KindOf<T>(), key));
      if (!existed)
        return object_store_internal::NotFound(KindOf<T>(), ns, name);
    }
    Notify(key);
    return absl::OkStatus();
  }

  // Records a reconcile request (the annotation flux sets) and returns its
  // value, an RFC 3339 time.
  absl::StatusOr<std::string> RequestReconcile(absl::string_view ns,
                                               absl::string_view name) {
    const std::string key = KeyOf(ns, name);
    const std::string requested_at = absl::FormatTime(
        "%Y-%m-%dT%H:%M:%E9SZ", clock_->Now(), absl::UTCTimeZone());
    {
      absl::MutexLock lock(&mu_);
      ASSIGN_OR_RETURN(std::optional<T> object, ReadLocked(key));
      if (!object)
        return object_store_internal::NotFound(KindOf<T>(), ns, name);
      (*object->mutable_metadata()
            ->mutable_annotations())[std::string(kReconcileRequestedAt)] =
          requested_at;
      RETURN_IF_ERROR(store_->Put(KindOf<T>(), key,
                                  object_store_internal::Serialize(*object)));
    }
    Notify(key);
    return requested_at;
  }

  // Reads the object under `key`, lets `mutate` change its status, and
  // stores it if the status changed. NOT_FOUND when the object is gone.
  // `mutate` runs under the store's lock: it must not call back into it.
  absl::StatusOr<T> UpdateStatus(const std::string& key,
                                 const std::function<void(T*)>& mutate) {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(std::optional<T> object, ReadLocked(key));
    if (!object) {
      std::string ns, name;
      SplitKey(key, &ns, &name);
      return object_store_internal::NotFound(KindOf<T>(), ns, name);
    }
    const std::string before =
        object_store_internal::Serialize(object->status());
    mutate(&*object);
    if (object_store_internal::Serialize(object->status()) != before) {
      RETURN_IF_ERROR(store_->Put(KindOf<T>(), key,
                                  object_store_internal::Serialize(*object)));
    }
    return *std::move(object);
  }

  // The object under `key`, or nullopt when it does not exist.
  absl::StatusOr<std::optional<T>> Find(const std::string& key) const {
    absl::MutexLock lock(&mu_);
    return ReadLocked(key);
  }

 private:
  absl::StatusOr<std::optional<T>> ReadLocked(const std::string& key) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                     store_->Get(KindOf<T>(), key));
    if (!bytes) return std::optional<T>();
    T object;
    if (!object.ParseFromString(*bytes)) return Corrupt(key);
    return std::optional<T>(std::move(object));
  }

  absl::Status Corrupt(absl::string_view key) const {
    return absl::DataLossError(
        absl::StrCat("stored ", KindOf<T>(), " ", key, " cannot be parsed"));
  }

  void Notify(const std::string& key) {
    if (listener_) listener_(key);
  }

  Store* const store_;
  const Clock* const clock_;
  mutable absl::Mutex mu_;
  std::function<void(const std::string&)> listener_;
  std::function<absl::Status(const T&)> validator_;
};

// Records in `object`'s status that its current generation and its pending
// reconcile request (if any) have been handled. For any of the four kinds.
template <typename T>
void MarkObserved(T* object) {
  const auto& annotations = object->metadata().annotations();
  auto it = annotations.find(std::string(kReconcileRequestedAt));
  if (it != annotations.end()) {
    object->mutable_status()->set_last_handled_reconcile_at(it->second);
  }
  object->mutable_status()->set_observed_generation(
      object->metadata().generation());
}

}  // namespace ia

#endif  // COMMON_OBJECT_STORE_H_
