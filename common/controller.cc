// Controller: see controller.h. Worker threads loop on WorkQueue::Get(); the
// queue guarantees that one key is never reconciled by two of them at once.
#include "common/controller.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace ia {
namespace {

metrics::CounterFamily& ReconcileTotal() {
  static auto& family = metrics::Registry::Default().AddCounter(
      "ia_reconcile_total", "Reconciles, by controller and result.",
      {"controller", "result"});
  return family;
}

metrics::HistogramFamily& ReconcileDuration() {
  static auto& family = metrics::Registry::Default().AddHistogram(
      "ia_reconcile_duration_seconds",
      "Time spent in a reconcile, by controller.", {"controller"},
      metrics::DurationBuckets());
  return family;
}

}  // namespace

Controller::Controller(Options options, ReconcileFunc reconcile)
    : options_(std::move(options)),
      reconcile_(std::move(reconcile)),
      queue_(options_.clock, options_.backoff),
      depth_metric_(
          metrics::Registry::Default()
              .AddCallbackGauge("ia_workqueue_depth",
                                "Keys ready to be reconciled, by controller.",
                                {"controller"})
              .Register({options_.name},
                        [this] { return static_cast<double>(queue_.Len()); })) {
  ReconcileDuration().WithLabels({options_.name});
  for (const char* result : {"success", "requeue_after", "error"}) {
    ReconcileTotal().WithLabels({options_.name, result});
  }
}

Controller::~Controller() { Stop(); }

void Controller::Start() {
  absl::MutexLock lock(&lifecycle_mu_);
  if (started_) return;
  started_ = true;
  if (queue_.ShuttingDown()) return;  // Stopped before it was started.
  const int n = std::max(1, options_.workers);
  workers_.reserve(n);
  for (int i = 0; i < n; ++i) workers_.emplace_back([this] { Work(); });
}

void Controller::Stop() {
  absl::MutexLock lock(&lifecycle_mu_);
  // Workers never take lifecycle_mu_, so joining under it cannot deadlock.
  queue_.ShutDown();
  for (std::thread& worker : workers_) worker.join();
  workers_.clear();
}

void Controller::Enqueue(const std::string& key) { queue_.Add(key); }

void Controller::EnqueueAfter(const std::string& key, absl::Duration delay) {
  queue_.AddAfter(key, delay);
}

void Controller::Work() {
  while (std::optional<std::string> key = queue_.Get()) {
    ProcessOne(*key);
    queue_.Done(*key);
  }
}

void Controller::ProcessOne(const std::string& key) {
  absl::StatusOr<ReconcileResult> result;
  const metrics::Stopwatch stopwatch;
  try {
    result = reconcile_(key);
  } catch (const std::exception& e) {
    result = absl::InternalError(
        absl::StrCat("reconcile threw an exception: ", e.what()));
  } catch (...) {
    result = absl::InternalError("reconcile threw a non-standard exception");
  }
  ReconcileDuration().WithLabels({options_.name}).Observe(stopwatch.Seconds());
  ReconcileTotal()
      .WithLabels({options_.name, !result.ok() ? "error"
                                  : result->requeue_after > absl::ZeroDuration()
                                      ? "requeue_after"
                                      : "success"})
      .Increment();
  if (!result.ok()) {
    log::Error("reconcile failed; will retry")
        .With("controller", options_.name)
        .With("name", key)
        .With("failures", queue_.Failures(key) + 1)
        .With("error", result.status());
    queue_.AddRateLimited(key);
    return;
  }
  log::Debug("reconciled")
      .With("controller", options_.name)
      .With("name", key)
      .With("requeue_after", absl::FormatDuration(result->requeue_after));
  queue_.Forget(key);
  if (result->requeue_after > absl::ZeroDuration()) {
    queue_.AddAfter(key, result->requeue_after);
  }
}

}  // namespace ia
