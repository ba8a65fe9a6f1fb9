#include "services/automation/automation_reconciler.h"

#include <algorithm>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/conditions.h"
#include "common/duration.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/status_macros.h"
#include "services/automation/commit_message.h"
#include "services/automation/safe_files.h"
#include "services/automation/setters.h"

namespace ia::automation {
namespace {

// Metrics, registered at start so that /metrics shows them before any run.
metrics::CounterFamily& runs_metric = metrics::Registry::Default().AddCounter(
    "ia_automation_runs_total",
    "ImageUpdateAutomation runs, by result: success or the Flux reason of the "
    "failure (GitOperationFailed, UpdateFailed, ...).",
    {"result"});
metrics::CounterFamily& commits_metric =
    metrics::Registry::Default().AddCounter("ia_git_commits_total",
                                            "Commits pushed by automations.");
metrics::CounterFamily& pushes_metric = metrics::Registry::Default().AddCounter(
    "ia_git_pushes_total",
    "Runs that pushed a commit (success) or had changes and failed to push "
    "them (failure: rejected past the retries, refused, or the commit could "
    "not be made).",
    {"result"});
metrics::CounterFamily& push_attempts_metric =
    metrics::Registry::Default().AddCounter(
        "ia_git_push_attempts_total",
        "Pushes tried, a rejected push retried on the new head included.");

}  // namespace

absl::StatusOr<ReconcileResult> AutomationReconciler::ReconcileAutomation(
    const std::string& key) {
  ASSIGN_OR_RETURN(auto found, ports_.automations->Find(key));
  if (!found || found->spec().suspend()) return ReconcileResult{};
  const v1::ImageUpdateAutomation& automation = *found;
  const Observed observed = ObservedOf(automation);
  ASSIGN_OR_RETURN(absl::Duration interval,
                   ParseDuration(automation.spec().interval()));

  const absl::Time start = ports_.clock->Now();
  RunOutcome outcome;
  const std::optional<RunFailure> error = Run(automation, &outcome);
  const absl::Time end = ports_.clock->Now();
  std::optional<FailureClass> failure;
  if (error.has_value()) failure = ClassifyFailure(error->step, error->phase);
  runs_metric
      .WithLabels({failure.has_value() ? std::string(failure->reason)
                                       : std::string("success")})
      .Increment();
  if (failure.has_value()) {
    log::Warn("automation run failed")
        .With("name", key)
        .With("step", RunStepName(error->step))
        .With("phase", GitPhaseName(error->phase))
        .With("reason", failure->reason)
        .With("error", error->status);
  } else if (!outcome.pushed_commit.empty()) {
    log::Info("pushed")
        .With("name", key)
        .With("commit", outcome.pushed_commit)
        .With("branch", outcome.push_branch)
        .With("changes", outcome.changes)
        .With("attempts", outcome.attempts)
        .With("duration", absl::FormatDuration(end - start));
  }

  RETURN_IF_ERROR(
      ports_.automations
          ->UpdateStatus(
              key,
              [&](v1::ImageUpdateAutomation* a) {
                MarkObserved(a, observed);
                v1::ImageUpdateAutomationStatus* status = a->mutable_status();
                auto* conditions = status->mutable_conditions();
                const int64_t generation = observed.generation;
                if (failure.has_value()) {
                  SetNotReady(conditions, failure->reason,
                              error->status.message(), failure->stalled,
                              generation, end);
                  return;
                }
                *status->mutable_last_automation_run_time() = ToProtoTime(end);
                status->set_observed_source_revision(outcome.source_revision);
                status->mutable_observed_policies()->clear();
                for (const auto& [name, ref] : outcome.observed_policies) {
                  (*status->mutable_observed_policies())[name] = ref;
                }
                std::string message = "repository up-to-date";
                if (!outcome.pushed_commit.empty()) {
                  status->set_last_push_commit(outcome.pushed_commit);
                  *status->mutable_last_push_time() = ToProtoTime(end);
                  message = absl::StrCat(
                      "pushed commit '", outcome.pushed_commit.substr(0, 12),
                      "' to branch '", outcome.push_branch, "'");
                }
                SetReady(conditions, reason::kSucceeded, message, generation,
                         end);
              })
          .status());
  if (!outcome.source_key.empty()) {
    RETURN_IF_ERROR(
        RecordSourceFetch(outcome.source_key, outcome, failure, error));
  }
  if (failure.has_value() && !failure->retry) return ReconcileResult{};
  // A Git host down, unreachable or too slow while cloning, fetching or
  // pushing (by step, phase and status code, not text): run again with the
  // queue's backoff, not only after the interval.
  if (failure.has_value() &&
      (error->step == RunStep::kOpenCheckout ||
       (error->step == RunStep::kUpdateBranch &&
        (error->phase == GitPhase::kFetch ||
         error->phase == GitPhase::kPush))) &&
      (error->status.code() == absl::StatusCode::kUnavailable ||
       error->status.code() == absl::StatusCode::kDeadlineExceeded)) {
    return error->status;
  }
  return ReconcileResult{.requeue_after = interval};
}

std::optional<RunFailure> AutomationReconciler::Run(
    const v1::ImageUpdateAutomation& automation, RunOutcome* outcome) {
  const std::string source_key = SourceKeyFor(automation);
  const auto source = ports_.sources->Find(source_key);
  const auto selections = ports_.selections->List("");
  std::variant<RunPlan, RunFailure> planned =
      PlanRun(automation, source, selections, *ports_.secrets);
  if (source.ok() && source->has_value()) {
    outcome->source_key = source_key;
    outcome->source_observed = ObservedOf(**source);
  }
  if (auto* failure = std::get_if<RunFailure>(&planned)) {
    return std::move(*failure);
  }
  RunPlan& plan = std::get<RunPlan>(planned);
  outcome->push_branch = plan.push.branch;
  outcome->observed_policies = plan.selected.observed;

  std::shared_ptr<CheckoutSlot> slot = Slot(source_key);
  absl::MutexLock lock(&slot->mu);
  auto git =
      ports_.git->Open(plan.source_namespace, plan.source_name, plan.remote);
  if (!git.ok()) return RunFailure{RunStep::kOpenCheckout, git.status()};

  const std::string automation_key = KeyOf(automation.metadata());
  const std::string& ns = automation.metadata().namespace_();
  int64_t changes = 0;
  RewriteFunc rewrite =
      [&](const std::string& worktree) -> absl::StatusOr<Rewritten> {
    auto result = ComputeSetterUpdates(
        worktree, plan.update_path, plan.selected.policies, SetterOptions{ns});
    if (!result.ok()) {
      return absl::Status(
          result.status().code(),
          absl::StrCat("spec.update.path: ", result.status().message()));
    }
    for (const SkippedFile& skipped : result->skipped) {
      if (skipped.symlink) continue;
      log::Warn("file skipped")
          .With("automation", automation_key)
          .With("file", skipped.file)
          .With("line", skipped.line)
          .With("reason", skipped.reason);
    }
    // Nothing else reads the worktree while the run holds the repository's
    // lock, and the next run's forced checkout repairs a file a crash left
    // half written: in place, no new inodes, no waiting for the disk.
    RETURN_IF_ERROR(
        WriteSetterUpdates(worktree, result->updates, Durability::kInPlace));
    changes = static_cast<int64_t>(result->changes.size());
    Rewritten rewritten;
    if (result->changes.empty()) return rewritten;
    for (FileUpdate& update : result->updates) {
      rewritten.files.push_back(std::move(update.file));
    }
    CommitMessageData data = plan.message_data;
    data.changes = std::move(result->changes);
    ASSIGN_OR_RETURN(rewritten.message,
                     RenderCommitMessage(plan.message_template, data));
    return rewritten;
  };
  UpdateBranchResult result =
      (*git)->UpdateBranch(plan.checkout, rewrite, plan.commit, plan.push);
  if (!result.ok()) {
    if (result.failed_phase() != GitPhase::kRewrite && changes > 0) {
      pushes_metric.WithLabels({"failure"}).Increment();
      if (result.failed_phase() == GitPhase::kPushRejected) {
        push_attempts_metric.WithLabels({}).Increment(plan.push.max_attempts);
      }
    }
    return RunFailure{RunStep::kUpdateBranch, result.status(),
                      result.failed_phase()};
  }
  outcome->fetched = true;
  outcome->source_revision = RevisionString(plan.checkout, result->base_commit);
  outcome->pushed_commit = result->pushed_commit;
  outcome->attempts = result->attempts;
  push_attempts_metric.WithLabels({}).Increment(result->attempts);
  if (!result->pushed_commit.empty()) {
    commits_metric.WithLabels({}).Increment();
    pushes_metric.WithLabels({"success"}).Increment();
  }
  outcome->changes = result->pushed_commit.empty() ? 0 : changes;
  return std::nullopt;
}

absl::Status AutomationReconciler::RecordSourceFetch(
    const std::string& source_key, const RunOutcome& outcome,
    const std::optional<FailureClass>& failure,
    const std::optional<RunFailure>& error) {
  const absl::Time now = ports_.clock->Now();
  auto updated =
      ports_.sources->UpdateStatus(source_key, [&](v1::GitRepository* source) {
        MarkObserved(source, outcome.source_observed);
        auto* conditions = source->mutable_status()->mutable_conditions();
        const int64_t generation = outcome.source_observed.generation;
        if (outcome.fetched) {
          source->mutable_status()->set_observed_revision(
              outcome.source_revision);
          SetReady(conditions, reason::kSucceeded,
                   absl::StrCat("stored artifact for revision '",
                                outcome.source_revision, "'"),
                   generation, now);
        } else if (failure.has_value() && failure->source_failed) {
          SetNotReady(conditions, failure->reason, error->status.message(),
                      /*stalled=*/false, generation, now);
        }
      });
  if (absl::IsNotFound(updated.status())) return absl::OkStatus();
  return updated.status();
}

std::shared_ptr<AutomationReconciler::CheckoutSlot> AutomationReconciler::Slot(
    const std::string& source_key) {
  absl::MutexLock lock(&slots_mu_);
  auto& slot = slots_[source_key];
  if (slot == nullptr) slot = std::make_shared<CheckoutSlot>();
  return slot;
}

absl::StatusOr<ReconcileResult> AutomationReconciler::ReconcileSource(
    const std::string& key) {
  ASSIGN_OR_RETURN(auto found, ports_.sources->Find(key));
  ASSIGN_OR_RETURN(auto automations, ports_.automations->List(""));
  bool used = false;
  for (const auto& automation : automations) {
    if (SourceKeyFor(automation) != key) continue;
    used = true;
    ports_.enqueue_automation(KeyOf(automation.metadata()));
  }
  if (!found) {
    // Forget the slot only when no run holds it: a run still using the
    // old clone must keep excluding the runs of a re-applied repository.
    absl::MutexLock lock(&slots_mu_);
    auto slot = slots_.find(key);
    if (slot != slots_.end() && slot->second.use_count() == 1) {
      slots_.erase(slot);
    }
    return ReconcileResult{};
  }
  const Observed observed = ObservedOf(*found);
  const absl::Time now = ports_.clock->Now();
  RETURN_IF_ERROR(
      ports_.sources
          ->UpdateStatus(key,
                         [&](v1::GitRepository* source) {
                           MarkObserved(source, observed);
                           // Read here, not before: a run may have recorded
                           // its fetch since (RecordSourceFetch).
                           const bool has_ready =
                               FindCondition(source->status().conditions(),
                                             kReady) != nullptr;
                           if (has_ready && used) return;
                           SetCondition(
                               source->mutable_status()->mutable_conditions(),
                               kReady, kUnknown, reason::kProgressing,
                               used ? "waiting for the first fetch"
                                    : "not used by any ImageUpdateAutomation",
                               observed.generation, now);
                         })
          .status());
  return ReconcileResult{};
}

}  // namespace ia::automation
