#include "services/reflector/scan_decision.h"

#include <algorithm>
#include <string>

#include "common/duration.h"
#include "common/objects.h"
#include "common/status_macros.h"

namespace ia::reflector {
namespace {

bool ReadyIsTrue(const v1::ImageRepositoryStatus& status) {
  for (const v1::Condition& condition : status.conditions()) {
    if (condition.type() == kReady && condition.status() != kTrue) {
      return false;
    }
  }
  return true;
}

bool ReconcileRequested(const v1::ImageRepository& repository) {
  const auto& annotations = repository.metadata().annotations();
  auto requested = annotations.find(std::string(kReconcileRequestedAt));
  return requested != annotations.end() &&
         requested->second != repository.status().last_handled_reconcile_at();
}

bool ExclusionListChanged(const v1::ImageRepository& repository) {
  const auto& observed = repository.status().observed_exclusion_list();
  const auto& wanted = repository.spec().exclusion_list();
  return !std::equal(observed.begin(), observed.end(), wanted.begin(),
                     wanted.end());
}

}  // namespace

absl::string_view ScanReasonName(ScanReason reason) {
  switch (reason) {
    case ScanReason::kNeverScanned:
      return "never_scanned";
    case ScanReason::kSpecChanged:
      return "spec_changed";
    case ScanReason::kReconcileRequested:
      return "reconcile_requested";
    case ScanReason::kLastScanFailed:
      return "last_scan_failed";
    case ScanReason::kExclusionListChanged:
      return "exclusion_list_changed";
    case ScanReason::kTagSetMissing:
      return "tag_set_missing";
    case ScanReason::kPushConfirmation:
      return "push_confirmation";
    case ScanReason::kIntervalPassed:
      return "interval_passed";
    case ScanReason::kNotDue:
      return "not_due";
    case ScanReason::kAwaitingConfirmation:
      return "awaiting_confirmation";
  }
  return "unknown";
}

absl::StatusOr<ScanDecision> DecideScan(const v1::ImageRepository& repository,
                                        const StoredScanState& stored,
                                        absl::Time now, double jitter) {
  ASSIGN_OR_RETURN(absl::Duration interval,
                   ParseDuration(repository.spec().interval()));
  const absl::Duration after_scan = interval + (jitter / 10) * interval;
  auto scan = [&](ScanReason reason) {
    return ScanDecision{
        .scan = true, .reason = reason, .requeue_after = after_scan};
  };
  const v1::ImageRepositoryStatus& status = repository.status();

  // What the owner asked for is done at once.
  if (!status.has_last_scan_result() ||
      !status.last_scan_result().has_scan_time()) {
    return scan(ScanReason::kNeverScanned);
  }
  if (status.observed_generation() != repository.metadata().generation()) {
    return scan(ScanReason::kSpecChanged);
  }
  if (ReconcileRequested(repository)) {
    return scan(ScanReason::kReconcileRequested);
  }
  if (ExclusionListChanged(repository)) {
    return scan(ScanReason::kExclusionListChanged);
  }

  // The rest waits for a pending push confirmation.
  if (stored.confirm_at.has_value() && *stored.confirm_at <= now) {
    return scan(ScanReason::kPushConfirmation);
  }
  // A clock that went back makes the last scan look to be in the future;
  // the next scan still comes within an interval of now, not the jump later.
  const absl::Time due =
      std::min(FromProtoTime(status.last_scan_result().scan_time()) + interval,
               now + interval);
  std::optional<ScanReason> reason;
  if (!ReadyIsTrue(status)) {
    reason = ScanReason::kLastScanFailed;
  } else if (!stored.tag_set_stored) {
    reason = ScanReason::kTagSetMissing;
  } else if (due <= now) {
    reason = ScanReason::kIntervalPassed;
  }
  if (reason.has_value()) {
    if (!stored.confirm_at.has_value()) return scan(*reason);
    return ScanDecision{
        .scan = false,
        .reason = ScanReason::kAwaitingConfirmation,
        .requeue_after = std::min(*stored.confirm_at - now, interval)};
  }
  const absl::Time next =
      stored.confirm_at.has_value() ? std::min(due, *stored.confirm_at) : due;
  return ScanDecision{.scan = false,
                      .reason = ScanReason::kNotDue,
                      .requeue_after = next - now};
}

}  // namespace ia::reflector
