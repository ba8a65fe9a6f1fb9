// KvObjectStore<T>: the first adapter of the ObjectStore<T> port
// (object_store.h): the objects of one kind kept in the service's Store
// (SQLite, store.h) under the bucket named after the kind and the key
// "namespace/name".
//
// Apply, Delete and RequestReconcile write at once and then call the change
// listener on the calling thread; UpdateStatus calls `mutate` exactly once
// (a Store has no concurrent writer to conflict with) and never calls the
// listener; Delete removes the object at once (no finalizers: the owning
// reconciler's "object gone" path is its clean-up).
//
// Thread-safe: read-modify-write operations are serialised.
#ifndef COMMON_KV_OBJECT_STORE_H_
#define COMMON_KV_OBJECT_STORE_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/object_store.h"
#include "common/objects.h"
#include "common/status_macros.h"
#include "common/store.h"
#include "common/validation.h"

namespace ia {

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
class KvObjectStore final : public ObjectStore<T> {
 public:
  using Applied = typename ObjectStore<T>::Applied;

  // `store` and `clock` must outlive this object.
  KvObjectStore(Store* store, const Clock* clock)
      : store_(store), clock_(clock) {}

  void SetChangeListener(
      std::function<void(const std::string& key)> listener) override {
    listener_ = std::move(listener);
  }

  void SetValidator(std::function<absl::Status(const T&)> validate) override {
    validator_ = std::move(validate);
  }

  absl::StatusOr<Applied> Apply(T object) override {
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

  absl::StatusOr<T> Get(absl::string_view ns,
                        absl::string_view name) const override {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(std::optional<T> object, ReadLocked(KeyOf(ns, name)));
    if (!object) return object_store_internal::NotFound(KindOf<T>(), ns, name);
    return *std::move(object);
  }

  absl::StatusOr<std::vector<T>> List(absl::string_view ns) const override {
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

  absl::Status Delete(absl::string_view ns, absl::string_view name) override {
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

  absl::StatusOr<std::string> RequestReconcile(
      absl::string_view ns, absl::string_view name) override {
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

  absl::StatusOr<T> UpdateStatus(
      const std::string& key, const std::function<void(T*)>& mutate) override {
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

  absl::StatusOr<std::optional<T>> Find(const std::string& key) const override {
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

}  // namespace ia

#endif  // COMMON_KV_OBJECT_STORE_H_
