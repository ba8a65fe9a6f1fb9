#include "services/automation/run_failure.h"

#include "common/conditions.h"

namespace ia::automation {
namespace {

// What each step's failure means, one row per step (kUpdateBranch's depend
// on the phase: UpdateBranchClass).
struct StepClass {
  RunStep step;
  FailureClass failure;
};

// source_failed: a Git operation on the GitRepository's remote or clone
// failed, which its Ready condition records. Reading the GitRepository from
// the store is not one.
constexpr StepClass kStepClasses[] = {
    {RunStep::kReadSource,
     {.reason = reason::kGitOperationFailed, .source_failed = false}},
    {RunStep::kSourceNotFound,
     {.reason = reason::kDependencyNotReady, .source_failed = false}},
    // Only a spec change can help: Stalled, not tried again.
    {RunStep::kPushOptions,
     {.reason = reason::kInvalidSourceConfiguration,
      .stalled = true,
      .retry = false,
      .source_failed = false}},
    {RunStep::kCheckoutRef,
     {.reason = reason::kInvalidSourceConfiguration,
      .stalled = true,
      .retry = false,
      .source_failed = false}},
    {RunStep::kPushBranch,
     {.reason = reason::kInvalidSourceConfiguration,
      .stalled = true,
      .retry = false,
      .source_failed = false}},
    {RunStep::kMessageTemplate,
     {.reason = reason::kInvalidMessageTemplate,
      .stalled = true,
      .retry = false,
      .source_failed = false}},
    // A secret may appear later: tried again.
    {RunStep::kRemote,
     {.reason = reason::kInvalidSourceConfiguration, .source_failed = false}},
    {RunStep::kCommitOptions,
     {.reason = reason::kInvalidSourceConfiguration, .source_failed = false}},
    {RunStep::kReadSelections,
     {.reason = reason::kUpdateFailed, .source_failed = false}},
    {RunStep::kOpenCheckout,
     {.reason = reason::kGitOperationFailed, .source_failed = true}},
};

// UpdateBranch's failures: the rewrite (setters, commit message) is ours,
// every other phase is Git's.
FailureClass UpdateBranchClass(GitPhase phase) {
  if (phase == GitPhase::kRewrite) {
    return {.reason = reason::kUpdateFailed, .source_failed = false};
  }
  // The signing key in the secret cannot be used (wrong passphrase, a
  // refused key): not Git's failure, and running again with the same secret
  // cannot help, so Stalled. Still tried again on the interval: secrets are
  // files nobody watches, and a corrected secret must be picked up without
  // a spec change.
  if (phase == GitPhase::kSigningKey) {
    return {.reason = reason::kInvalidSourceConfiguration,
            .stalled = true,
            .retry = true,
            .source_failed = false};
  }
  return {.reason = reason::kGitOperationFailed, .source_failed = true};
}

}  // namespace

FailureClass ClassifyFailure(RunStep step, GitPhase phase) {
  if (step == RunStep::kUpdateBranch) return UpdateBranchClass(phase);
  for (const StepClass& row : kStepClasses) {
    if (row.step == step) return row.failure;
  }
  return {.reason = reason::kFailure};
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
