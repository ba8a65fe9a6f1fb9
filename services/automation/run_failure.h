// Why an automation run failed, as types: the step of the run that failed
// (working out its inputs, or a GitPhase of UpdateBranch) and what that
// means for status: the Flux reason (common/conditions.h), whether only a
// spec change can help (Stalled), and whether the run is tried again on its
// interval. Failures are never recognised by their message.
//
// Pure functions and values; thread-safe.
#ifndef SERVICES_AUTOMATION_RUN_FAILURE_H_
#define SERVICES_AUTOMATION_RUN_FAILURE_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "services/automation/git_types.h"

namespace ia::automation {

// The step of a run that failed, in the order a run takes them.
enum class RunStep {
  kReadSource,       // the store could not read the GitRepository
  kSourceNotFound,   // spec.sourceRef names no GitRepository
  kPushOptions,      // spec.git.push.options set (libgit2 cannot send them)
  kCheckoutRef,      // the ref to check out is not supported
  kPushBranch,       // no branch to push to
  kMessageTemplate,  // spec.git.commit.messageTemplate does not parse
  kRemote,           // the GitRepository's secret or timeout
  kCommitOptions,    // the signing key's secret
  kReadSelections,   // the store could not list the selections
  kOpenCheckout,     // the clone could not be opened or made
  kUpdateBranch,     // UpdateBranch failed, in RunFailure::phase
};

// One failed run: where, and the error (its message goes to status as is).
struct RunFailure {
  RunStep step;
  absl::Status status;
  GitPhase phase = GitPhase::kNone;  // for kUpdateBranch
};

// What a failure means for the automation's status and its next run.
struct FailureClass {
  absl::string_view reason;  // Ready=False's reason (a reason:: constant)
  bool stalled = false;      // Stalled=True: only a spec change can help
  bool retry = true;         // run again after the interval
  // The GitRepository's Ready condition records it (a Git operation failed).
  bool source_failed = false;

  bool operator==(const FailureClass&) const = default;
};

// The classification of a failure of `step` (in `phase` for kUpdateBranch).
FailureClass ClassifyFailure(RunStep step, GitPhase phase = GitPhase::kNone);

// "source-not-found", ... for logs and test names.
absl::string_view RunStepName(RunStep step);

}  // namespace ia::automation

#endif  // SERVICES_AUTOMATION_RUN_FAILURE_H_
