// WorkQueue: the queue of a controller loop, keyed by "namespace/name"
// strings, with the semantics of client-go's rate-limited delaying queue:
//
//  - a key is queued at most once: adding a queued key again is a no-op;
//  - a key handed out by Get() is "processing" until Done(key); adding it in
//    the meantime marks it dirty, and Done() queues it again, so one key is
//    never reconciled by two workers at once and no add is lost;
//  - AddAfter() queues a key once a delay has passed on the queue's Clock
//    (the earliest pending delay for a key wins);
//  - AddRateLimited() queues a key after a per-key exponential backoff
//    (base * 2^failures, capped at max); Forget() resets the failure count.
//
// Unlike client-go, Get() returns nullopt as soon as ShutDown() is called,
// even if keys are still queued: a stopping service does not drain its queue
// (reconciles are level-based, so the next start picks the work up again).
// client-go's overall token-bucket limit (10 qps) is not modelled.
//
// Thread-safe. Get() blocks until a key is ready or ShutDown() is called.
#ifndef COMMON_WORK_QUEUE_H_
#define COMMON_WORK_QUEUE_H_

#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace ia {

struct Backoff {
  absl::Duration base = absl::Milliseconds(500);
  absl::Duration max = absl::Minutes(5);
};

class WorkQueue {
 public:
  // `clock` must outlive the queue.
  WorkQueue(const Clock* clock, Backoff backoff);
  // Shuts the queue down. No thread may still be inside Get().
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues `key` now.
  void Add(const std::string& key);
  // Queues `key` once `delay` has passed; a non-positive delay is Add().
  // If `key` already waits for a delay, the earlier due time is kept.
  void AddAfter(const std::string& key, absl::Duration delay);
  // Queues `key` after its backoff and counts one more failure for it: the
  // n-th failure since the last Forget() waits base * 2^(n-1), at most max.
  void AddRateLimited(const std::string& key);
  // Forgets the failures of `key` (after a successful reconcile).
  void Forget(const std::string& key);
  // Failures counted for `key` since the last Forget().
  int Failures(const std::string& key) const;

  // The next ready key, blocking until there is one; nullopt once the queue
  // is shut down. The caller must call Done(key) when finished with it.
  std::optional<std::string> Get();
  // Like Get(), but returns nullopt at once when no key is ready.
  std::optional<std::string> TryGet();
  // Marks `key` as no longer processing (queues it again if it was added
  // while processing).
  void Done(const std::string& key);

  // Wakes every Get() with nullopt; later adds are ignored.
  void ShutDown();
  bool ShuttingDown() const;

  // Keys that a Get() would hand out now without waiting (including delayed
  // keys whose time has come), not counting processing ones.
  size_t Len() const;
  // Keys still waiting for a delay to pass.
  size_t DelayedLen() const;
  // Keys handed out by Get() and not yet Done().
  size_t ProcessingLen() const;

 private:
  void AddLocked(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddAfterLocked(const std::string& key, absl::Duration delay)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves the delayed keys whose due time has passed to the ready queue.
  void PromoteDueLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Pops the first ready key and marks it processing; nullopt if none.
  std::optional<std::string> PopLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock* const clock_;
  const Backoff backoff_;
  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  // As in client-go: `dirty_` holds every key that needs processing;
  // `ready_` (FIFO) holds those of them that are not processing right now.
  std::deque<std::string> ready_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> dirty_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> processing_ ABSL_GUARDED_BY(mu_);
  // Delayed keys: due time -> key, and key -> its due time (one per key).
  std::multimap<absl::Time, std::string> delayed_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::Time> due_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, int> failures_ ABSL_GUARDED_BY(mu_);
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace ia

#endif  // COMMON_WORK_QUEUE_H_
