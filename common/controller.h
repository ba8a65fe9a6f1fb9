// Controller: the reconcile loop every service runs, after
// controller-runtime. Keys ("namespace/name") go into a WorkQueue; N worker
// threads take them and call the service's Reconcile function, which is
// level-based and idempotent: it reads the current object, makes the world
// match it, writes status, and says when to look again.
//
//  - OK with requeue_after > 0: failures forgotten, key queued again after it;
//  - OK with requeue_after == 0: failures forgotten, nothing queued;
//  - an error: key queued again with backoff (WorkQueue::AddRateLimited).
// Terminal problems (Stalled) are not errors: Reconcile records them in
// status and returns OK without a requeue, so they are not retried until the
// object changes. A Reconcile that throws counts as an error (a safety net:
// adapters turn exceptions into Status themselves).
//
// Reconcile never runs on a gRPC thread. Thread-safe.
//
// Metrics (common/metrics.h), labelled controller=options.name:
// ia_reconcile_total{controller,result="success|requeue_after|error"},
// ia_reconcile_duration_seconds{controller} (wall time of each Reconcile)
// and ia_workqueue_depth{controller} (WorkQueue::Len()).
#ifndef COMMON_CONTROLLER_H_
#define COMMON_CONTROLLER_H_

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "common/work_queue.h"

namespace ia {

struct ReconcileResult {
  absl::Duration requeue_after = absl::ZeroDuration();
};

using ReconcileFunc =
    std::function<absl::StatusOr<ReconcileResult>(const std::string& key)>;

class Controller {
 public:
  struct Options {
    std::string name;  // for logs, e.g. "imagerepository"
    int workers = 2;
    Backoff backoff;
    const Clock* clock = RealClock();
  };

  Controller(Options options, ReconcileFunc reconcile);
  // Stops if still running.
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Starts options.workers threads (at least one). Keys enqueued before
  // Start() wait for it. Later calls, and calls after Stop(), do nothing.
  void Start();
  // Shuts the queue down and joins the workers, waiting for reconciles in
  // flight to return; keys still queued are dropped. Idempotent. Must not be
  // called from a Reconcile function.
  void Stop();

  // Queues `key` for a reconcile (ignored after Stop()).
  void Enqueue(const std::string& key);
  // Queues `key` once `delay` has passed on the controller's clock.
  void EnqueueAfter(const std::string& key, absl::Duration delay);

  WorkQueue& queue() { return queue_; }

 private:
  // One worker thread: takes keys until the queue shuts down.
  void Work();
  // Reconciles `key` once and queues it again as its result says.
  void ProcessOne(const std::string& key);

  const Options options_;
  const ReconcileFunc reconcile_;
  WorkQueue queue_;
  // ia_workqueue_depth of queue_; declared after it, so unregistered first.
  metrics::CallbackRegistration depth_metric_;
  absl::Mutex lifecycle_mu_;
  bool started_ ABSL_GUARDED_BY(lifecycle_mu_) = false;
  std::vector<std::thread> workers_ ABSL_GUARDED_BY(lifecycle_mu_);
};

}  // namespace ia

#endif  // COMMON_CONTROLLER_H_
