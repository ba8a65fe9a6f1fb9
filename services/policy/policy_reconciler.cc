#include "services/policy/policy_reconciler.h"

#include <chrono>
#include <memory>
#include <utility>
#include <variant>

#include "common/conditions.h"
#include "common/grpc_status.h"
#include "common/metrics.h"
#include "common/status_macros.h"
#include "grpcpp/client_context.h"
#include "services/policy/decide.h"
#include "services/policy/select.h"

namespace ia::policy {
namespace {

// Registered at start so that /metrics shows it before any selection.
metrics::CounterFamily& selections_metric =
    metrics::Registry::Default().AddCounter(
        "ia_selections_total",
        "Tag selections by ImagePolicies, by result: changed (a new selection "
        "published), unchanged, failure (no tag qualifies).",
        {"result"});

}  // namespace

absl::StatusOr<ReconcileResult> PolicyReconciler::Reconcile(
    const std::string& key) {
  ObjectStore<v1::ImagePolicy>& policies = *ports_.policies;
  ASSIGN_OR_RETURN(auto found, policies.Find(key));
  if (!found) {
    ports_.index->Remove(key);
    RETURN_IF_ERROR(ports_.selections->Remove(key));
    return ReconcileResult{};
  }
  const v1::ImagePolicy& policy = *found;
  // Indexed before the tag set is read, so that a tag set arriving now
  // enqueues this policy again.
  const std::string repository = RepositoryKeyOf(policy);
  ports_.index->Set(key, repository);
  if (policy.spec().suspend()) return ReconcileResult{};
  const int64_t generation = policy.metadata().generation();
  const Observed observed = ObservedOf(policy);
  const absl::Time now = ports_.clock->Now();

  const absl::StatusOr<CompiledPolicy> compiled =
      CompiledPolicy::Compile(policy.spec());
  const bool synced = ports_.tag_sets->synced();
  const std::shared_ptr<const v1::TagSet> tag_set =
      ports_.tag_sets->Get(repository);
  const std::shared_ptr<const v1::Selection> published =
      ports_.selections->Current(key);
  ASSIGN_OR_RETURN(SelectionDecision decision,
                   DecideSelection({.policy = &policy,
                                    .compiled = &compiled,
                                    .tag_set = tag_set.get(),
                                    .synced = synced,
                                    .published = published.get(),
                                    .now = now}));

  auto write_not_ready = [&](const NotReady& not_ready) {
    return policies
        .UpdateStatus(key,
                      [&](v1::ImagePolicy* p) {
                        MarkObserved(p, observed);
                        SetNotReady(p->mutable_status()->mutable_conditions(),
                                    not_ready.reason, not_ready.message,
                                    not_ready.stalled, generation, now);
                      })
        .status();
  };

  if (std::holds_alternative<HoldSelection>(decision)) {
    return ReconcileResult{};
  }
  if (const auto* not_ready = std::get_if<NotReady>(&decision)) {
    if (not_ready->reason == reason::kFailure) {
      selections_metric.WithLabels({"failure"}).Increment();
    }
    RETURN_IF_ERROR(write_not_ready(*not_ready));
    return ReconcileResult{.requeue_after = not_ready->requeue_after};
  }

  Selected& selected = std::get<Selected>(decision);
  if (selected.digest == DigestStep::kLookUp) {
    absl::StatusOr<std::string> digest =
        TagDigest(repository, selected.latest.tag());
    if (!digest.ok()) {
      // The selection waits for its digest; retried by the backoff.
      RETURN_IF_ERROR(
          write_not_ready(DigestLookupFailed(selected, digest.status())));
      return digest.status();
    }
    CompleteWithDigest(&selected, *std::move(digest), policy.status());
  }

  ASSIGN_OR_RETURN(
      const bool changed,
      ports_.selections->Publish(key, policy, selected.latest, *tag_set, now));
  selections_metric.WithLabels({changed ? "changed" : "unchanged"}).Increment();
  RETURN_IF_ERROR(
      policies
          .UpdateStatus(key,
                        [&](v1::ImagePolicy* p) {
                          RecordSelection(p->mutable_status(), selected.latest);
                          MarkObserved(p, observed);
                          SetReady(p->mutable_status()->mutable_conditions(),
                                   reason::kSucceeded, selected.message,
                                   generation, now);
                        })
          .status());
  return ReconcileResult{.requeue_after = selected.requeue_after};
}

absl::StatusOr<std::string> PolicyReconciler::TagDigest(
    const std::string& repository, const std::string& tag) {
  v1::GetTagDigestRequest request;
  std::string ns, name;
  SplitKey(repository, &ns, &name);
  request.mutable_repository()->set_namespace_(ns);
  request.mutable_repository()->set_name(name);
  request.set_tag(tag);
  grpc::ClientContext context;
  // A network deadline, not a decision: on the real clock.
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(60));
  v1::GetTagDigestResponse response;
  RETURN_IF_ERROR(FromGrpcStatus(
      ports_.reflector->GetTagDigest(&context, request, &response)));
  return response.digest();
}

}  // namespace ia::policy
