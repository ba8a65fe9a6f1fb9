#include "services/automation/run_failure.h"

#include "common/conditions.h"

namespace ia::automation {
namespace {

// Terminal until the spec changes: not tried again.
FailureClass Stalled(absl::string_view reason) {
  return {.reason = reason, .stalled = true, .retry = false};
}

// Tried again after the interval (a secret may appear, a remote recover).
FailureClass Transient(absl::string_view reason) {
  return {.reason = reason,
          .stalled = false,
          .retry = true,
          .source_failed = reason == reason::kGitOperationFailed};
}

}  // namespace

FailureClass ClassifyFailure(RunStep step, GitPhase phase) {
  switch (step) {
    case RunStep::kReadSource:
      return Transient(reason::kGitOperationFailed);
    case RunStep::kSourceNotFound:
      return Transient(reason::kDependencyNotReady);
    case RunStep::kPushOptions:
    case RunStep::kCheckoutRef:
    case RunStep::kPushBranch:
      return Stalled(reason::kInvalidSourceConfiguration);
    case RunStep::kMessageTemplate:
      return Stalled(reason::kInvalidMessageTemplate);
    case RunStep::kRemote:
    case RunStep::kCommitOptions:
      return Transient(reason::kInvalidSourceConfiguration);
    case RunStep::kReadSelections:
      return Transient(reason::kUpdateFailed);
    case RunStep::kOpenCheckout:
      return Transient(reason::kGitOperationFailed);
    case RunStep::kUpdateBranch:
      // The rewrite (setters, commit message) is ours; every other phase is
      // Git's.
      return Transient(phase == GitPhase::kRewrite
                           ? reason::kUpdateFailed
                           : reason::kGitOperationFailed);
  }
  return Transient(reason::kFailure);
}

absl::string_view RunStepName(RunStep step) {
  switch (step) {
    case RunStep::kReadSource:
      return "read-source";
    case RunStep::kSourceNotFound:
      return "source-not-found";
    case RunStep::kPushOptions:
      return "push-options";
    case RunStep::kCheckoutRef:
      return "checkout-ref";
    case RunStep::kPushBranch:
      return "push-branch";
    case RunStep::kMessageTemplate:
      return "message-template";
    case RunStep::kRemote:
      return "remote";
    case RunStep::kCommitOptions:
      return "commit-options";
    case RunStep::kReadSelections:
      return "read-selections";
    case RunStep::kOpenCheckout:
      return "open-checkout";
    case RunStep::kUpdateBranch:
      return "update-branch";
  }
  return "unknown";
}

}  // namespace ia::automation
