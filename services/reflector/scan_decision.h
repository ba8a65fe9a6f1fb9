// The scan decision: whether an ImageRepository's registry is scanned now,
// why, and when to look at it again, as a pure function of the object, what
// the reflector stored about it and `now` (Flux's `shouldScan(obj, now)`).
//
// A repository is scanned when it has never been scanned, its spec changed
// (a new generation, e.g. its exclusion list), a reconcile was requested,
// its last scan failed, its tag set is not stored, a push notification's
// confirming scan is due, or its interval has passed since its last good
// scan. A scan's successor comes after the interval plus up to 10% jitter,
// so that repositories applied together spread out.
//
// Clock jumps: after a jump forward each repository is due and scans once,
// then waits its interval again (no burst of repeated scans); after a jump
// back (the last scan seemingly in the future) no wait is longer than the
// interval, so no interval is missed by the size of the jump.
//
// A push notification's confirming scan waits until it is due (the
// registry's listing may lag the push): while one is pending, a failed last
// scan, a missing tag set or a passed interval wait for it too; a new
// object, a spec change or a reconcile request scan at once.
//
// Pure functions; thread-compatible.
#ifndef SERVICES_REFLECTOR_SCAN_DECISION_H_
#define SERVICES_REFLECTOR_SCAN_DECISION_H_

#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "imageautomation/v1/objects.pb.h"

namespace ia::reflector {

namespace v1 = ::imageautomation::v1;

enum class ScanReason {
  kNeverScanned,          // status has no lastScanResult.scanTime
  kSpecChanged,           // metadata.generation not yet observed
  kReconcileRequested,    // the requestedAt annotation not yet handled
  kLastScanFailed,        // Ready is not True
  kExclusionListChanged,  // spec.exclusionList != status' observed list
  kTagSetMissing,         // no tag set stored for the repository
  kPushConfirmation,      // a push notification's confirming scan is due
  kIntervalPassed,        // spec.interval since the last good scan
  kNotDue,                // none of the above: wait
  kAwaitingConfirmation,  // due, but a pending confirming scan comes first
};

// "never_scanned", "spec_changed", ... for logs.
absl::string_view ScanReasonName(ScanReason reason);

// What the reflector keeps about a repository besides its status.
struct StoredScanState {
  // A tag set is stored for the repository.
  bool tag_set_stored = false;
  // When a push notification's confirming scan is due; nullopt: none.
  std::optional<absl::Time> confirm_at;
};

struct ScanDecision {
  bool scan = false;
  ScanReason reason = ScanReason::kNotDue;
  // When to reconcile again: with `scan`, after the scan (whatever its
  // result): the interval plus jitter; without, when the next scan is due.
  absl::Duration requeue_after = absl::ZeroDuration();
};

// Decides for `repository` (not suspended) at `now`. `jitter` in [0, 1)
// picks the spread: the requeue after a scan is interval * (1 + jitter/10).
// INVALID_ARGUMENT when spec.interval does not parse (Apply validates it).
absl::StatusOr<ScanDecision> DecideScan(const v1::ImageRepository& repository,
                                        const StoredScanState& stored,
                                        absl::Time now, double jitter);

}  // namespace ia::reflector

#endif  // SERVICES_REFLECTOR_SCAN_DECISION_H_
