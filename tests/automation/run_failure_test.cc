// The classification of a run's failures: reason, Stalled, retried.
#include "services/automation/run_failure.h"

#include <string>
#include <vector>

#include "common/conditions.h"
#include "gtest/gtest.h"

namespace ia::automation {
namespace {

struct ClassifyCase {
  RunStep step;
  GitPhase phase;
  FailureClass want;
};

constexpr FailureClass Stalled(absl::string_view reason) {
  return {.reason = reason, .stalled = true, .retry = false};
}
constexpr FailureClass Retried(absl::string_view reason,
                               bool source_failed = false) {
  return {.reason = reason,
          .stalled = false,
          .retry = true,
          .source_failed = source_failed};
}

TEST(ClassifyFailure, Table) {
  const std::vector<ClassifyCase> cases = {
      // A store read: the GitRepository's status does not record it.
      {RunStep::kReadSource, GitPhase::kNone,
       Retried(reason::kGitOperationFailed)},
      {RunStep::kSourceNotFound, GitPhase::kNone,
       Retried(reason::kDependencyNotReady)},
      {RunStep::kPushOptions, GitPhase::kNone,
       Stalled(reason::kInvalidSourceConfiguration)},
      {RunStep::kCheckoutRef, GitPhase::kNone,
       Stalled(reason::kInvalidSourceConfiguration)},
      {RunStep::kPushBranch, GitPhase::kNone,
       Stalled(reason::kInvalidSourceConfiguration)},
      {RunStep::kMessageTemplate, GitPhase::kNone,
       Stalled(reason::kInvalidMessageTemplate)},
      // A secret may appear later: tried again.
      {RunStep::kRemote, GitPhase::kNone,
       Retried(reason::kInvalidSourceConfiguration)},
      {RunStep::kCommitOptions, GitPhase::kNone,
       Retried(reason::kInvalidSourceConfiguration)},
      {RunStep::kReadSelections, GitPhase::kNone,
       Retried(reason::kUpdateFailed)},
      {RunStep::kOpenCheckout, GitPhase::kNone,
       Retried(reason::kGitOperationFailed, true)},
      {RunStep::kUpdateBranch, GitPhase::kOptions,
       Retried(reason::kGitOperationFailed, true)},
      {RunStep::kUpdateBranch, GitPhase::kFetch,
       Retried(reason::kGitOperationFailed, true)},
      {RunStep::kUpdateBranch, GitPhase::kCheckout,
       Retried(reason::kGitOperationFailed, true)},
      {RunStep::kUpdateBranch, GitPhase::kRewrite,
       Retried(reason::kUpdateFailed)},
      {RunStep::kUpdateBranch, GitPhase::kCommit,
       Retried(reason::kGitOperationFailed, true)},
      {RunStep::kUpdateBranch, GitPhase::kSign,
       Retried(reason::kGitOperationFailed, true)},
      // Stalled, and retried so that a corrected secret is picked up.
      {RunStep::kUpdateBranch,
       GitPhase::kSigningKey,
       {.reason = reason::kInvalidSourceConfiguration,
        .stalled = true,
        .retry = true,
        .source_failed = false}},
      {RunStep::kUpdateBranch, GitPhase::kPush,
       Retried(reason::kGitOperationFailed, true)},
      {RunStep::kUpdateBranch, GitPhase::kPushRejected,
       Retried(reason::kGitOperationFailed, true)},
  };
  for (const ClassifyCase& c : cases) {
    SCOPED_TRACE(std::string(RunStepName(c.step)) + "/" +
                 std::string(GitPhaseName(c.phase)));
    const FailureClass got = ClassifyFailure(c.step, c.phase);
    EXPECT_EQ(got.reason, c.want.reason);
    EXPECT_EQ(got.stalled, c.want.stalled);
    EXPECT_EQ(got.retry, c.want.retry);
    EXPECT_EQ(got.source_failed, c.want.source_failed);
  }
}

}  // namespace
}  // namespace ia::automation
