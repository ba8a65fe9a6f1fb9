// AutomationReconciler: what the automation service does for one
// ImageUpdateAutomation or GitRepository key, built from explicit ports so
// that tests can run it with fakes: the two object stores, the Git checkout
// factory, the stored selections, the clock and the secrets.
//
// ReconcileAutomation reads (the automation, its GitRepository, the
// selections, the secrets), decides (PlanRun, then ClassifyFailure of what
// failed), does the Git work (GitCheckout::UpdateBranch with the setters'
// rewrite) and writes status (SetReady/SetNotReady on the automation; the
// GitRepository's Ready follows the fetches of the runs that use it). It is
// the only writer of both kinds' status.
//
// Thread-safe: runs for automations sharing a GitRepository take that
// repository's lock, so they never race on its clone.
#ifndef SERVICES_AUTOMATION_AUTOMATION_RECONCILER_H_
#define SERVICES_AUTOMATION_AUTOMATION_RECONCILER_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/conditions.h"
#include "common/controller.h"
#include "common/object_store.h"
#include "common/secrets.h"
#include "services/automation/git.h"
#include "services/automation/run_failure.h"
#include "services/automation/run_inputs.h"
#include "services/automation/selection_store.h"

namespace ia::automation {

class AutomationReconciler {
 public:
  // Every pointer must outlive the reconciler.
  struct Ports {
    ObjectStore<v1::ImageUpdateAutomation>* automations = nullptr;
    ObjectStore<v1::GitRepository>* sources = nullptr;
    GitCheckoutFactory* git = nullptr;
    const SelectionStore* selections = nullptr;
    const Clock* clock = nullptr;
    const Secrets* secrets = nullptr;
    // Queues a reconcile of the automation with this key (its controller).
    std::function<void(const std::string& key)> enqueue_automation;
  };

  explicit AutomationReconciler(Ports ports) : ports_(std::move(ports)) {}

  // Runs the automation under `key`: fetch, rewrite with the stored
  // selections, commit when something changed, push; then records the run
  // in its status. Nothing for a missing or suspended automation. Requeued
  // after its interval unless the failure stalls it. An error only when
  // the store fails (or the interval does not parse), to be retried with
  // backoff.
  absl::StatusOr<ReconcileResult> ReconcileAutomation(const std::string& key);

  // A GitRepository has no work of its own (the automations fetch it): a
  // change to it queues the automations that use it, and its Ready says
  // whether any does until their first fetch.
  absl::StatusOr<ReconcileResult> ReconcileSource(const std::string& key);

 private:
  // One clone per GitRepository; runs that use it hold its mutex. A slot
  // is dropped (with its repository) only while no run holds a reference
  // to it: slots_ then owns the only one, under slots_mu_, and Slot() hands
  // out new references only under slots_mu_.
  struct CheckoutSlot {
    absl::Mutex mu;
  };

  // What a run did (also when it failed part-way).
  struct RunOutcome {
    std::string source_key;    // set once the source was found
    Observed source_observed;  // the source as the run read it
    std::string source_revision;
    std::string pushed_commit;
    std::string push_branch;
    int64_t changes = 0;
    int attempts = 0;
    std::map<std::string, v1::ImageRef> observed_policies;
    bool fetched = false;  // the remote answered
  };

  std::optional<RunFailure> Run(const v1::ImageUpdateAutomation& automation,
                                RunOutcome* outcome);
  absl::Status RecordSourceFetch(const std::string& source_key,
                                 const RunOutcome& outcome,
                                 const std::optional<FailureClass>& failure,
                                 const std::optional<RunFailure>& error);
  std::shared_ptr<CheckoutSlot> Slot(const std::string& source_key);

  const Ports ports_;
  absl::Mutex slots_mu_;
  std::map<std::string, std::shared_ptr<CheckoutSlot>> slots_
      ABSL_GUARDED_BY(slots_mu_);
};

}  // namespace ia::automation

#endif  // SERVICES_AUTOMATION_AUTOMATION_RECONCILER_H_
