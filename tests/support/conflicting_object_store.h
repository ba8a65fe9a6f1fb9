// ConflictingObjectStore<T>: an ObjectStore<T> adapter for tests of the
// port's contract (common/object_store.h) as the Kubernetes adapter will hold
// a reconciler to it. It forwards to another store, but
//  - it can let the object change just before the next status write (a
//    concurrent Apply, as another client's `kubectl apply`), and
//  - it calls every `mutate` twice, first on a copy it throws away, as an
//    adapter with optimistic concurrency does after a resourceVersion
//    conflict.
// A reconciler that keeps the contract writes the same status through it as
// through the store it wraps, and records the generation it read.
//
// Thread-compatible (tests drive it from one thread), but for Reconciled,
// which the controller calls from its workers.
#ifndef TESTS_SUPPORT_CONFLICTING_OBJECT_STORE_H_
#define TESTS_SUPPORT_CONFLICTING_OBJECT_STORE_H_

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/object_store.h"

namespace ia::testing {

template <typename T>
class ConflictingObjectStore final : public ObjectStore<T> {
 public:
  using Applied = typename ObjectStore<T>::Applied;

  // `inner` must outlive this object.
  explicit ConflictingObjectStore(ObjectStore<T>* inner) : inner_(inner) {}

  // Runs `change` once, just before the next UpdateStatus reads the object.
  void BeforeNextStatusWrite(std::function<void()> change) {
    change_ = std::move(change);
  }
  // How many times a `mutate` has run (twice per UpdateStatus).
  int mutate_calls() const { return mutate_calls_; }

  void SetChangeListener(
      std::function<void(const std::string& key)> listener) override {
    inner_->SetChangeListener(std::move(listener));
  }
  void SetValidator(std::function<absl::Status(const T&)> validate) override {
    inner_->SetValidator(std::move(validate));
  }
  absl::StatusOr<Applied> Apply(T object) override {
    return inner_->Apply(std::move(object));
  }
  absl::StatusOr<T> Get(absl::string_view ns,
                        absl::string_view name) const override {
    return inner_->Get(ns, name);
  }
  absl::StatusOr<std::vector<T>> List(absl::string_view ns) const override {
    return inner_->List(ns);
  }
  absl::Status Delete(absl::string_view ns, absl::string_view name) override {
    return inner_->Delete(ns, name);
  }
  absl::StatusOr<std::string> RequestReconcile(
      absl::string_view ns, absl::string_view name) override {
    return inner_->RequestReconcile(ns, name);
  }
  absl::StatusOr<T> UpdateStatus(
      const std::string& key, const std::function<void(T*)>& mutate) override {
    if (change_) {
      std::function<void()> change = std::move(change_);
      change_ = nullptr;
      change();
    }
    return inner_->UpdateStatus(key, [&](T* object) {
      T lost = *object;  // the attempt a conflict throws away
      mutate(&lost);
      mutate(object);
      mutate_calls_ += 2;
    });
  }
  absl::StatusOr<std::optional<T>> Find(const std::string& key) const override {
    return inner_->Find(key);
  }
  void Reconciled(const std::string& key) override {
    {
      absl::MutexLock lock(&mu_);
      reconciled_.push_back(key);
    }
    inner_->Reconciled(key);
  }
  // The keys Reconciled was called with, in order.
  std::vector<std::string> reconciled() const {
    absl::MutexLock lock(&mu_);
    return reconciled_;
  }

 private:
  ObjectStore<T>* const inner_;
  std::function<void()> change_;
  int mutate_calls_ = 0;
  mutable absl::Mutex mu_;  // Reconciled comes from the controller's workers
  std::vector<std::string> reconciled_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ia::testing

#endif  // TESTS_SUPPORT_CONFLICTING_OBJECT_STORE_H_
