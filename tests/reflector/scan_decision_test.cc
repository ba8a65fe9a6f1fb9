// DecideScan as a table: an ImageRepository in some state, what the
// reflector stored, a time; no store, clock or server.
#include "services/reflector/scan_decision.h"

#include <functional>
#include <string>
#include <vector>

#include "common/object_store.h"
#include "common/objects.h"
#include "gtest/gtest.h"
#include "tests/support/objects.h"

namespace ia::reflector {
namespace {

const absl::Time kLastScan = absl::FromUnixSeconds(1'700'000'000);

// flux-system/app, interval 10m, generation 2, last scanned at kLastScan
// successfully with the default exclusion list: not due until 10m later.
v1::ImageRepository Scanned() {
  v1::ImageRepository repository =
      testing::TestRepository("app", "registry.local/team/app", "10m");
  repository.mutable_metadata()->set_generation(2);
  repository.mutable_spec()->add_exclusion_list("^.*\\.sig$");
  v1::ImageRepositoryStatus* status = repository.mutable_status();
  status->set_observed_generation(2);
  *status->mutable_last_scan_result()->mutable_scan_time() =
      ToProtoTime(kLastScan);
  status->add_observed_exclusion_list("^.*\\.sig$");
  SetCondition(status->mutable_conditions(), kReady, kTrue, "Succeeded",
               "successful scan: found 1 tags", 2, kLastScan);
  return repository;
}

struct Case {
  std::string name;
  std::function<void(v1::ImageRepository*)> change;
  bool tag_set_stored = true;
  std::optional<absl::Duration> confirm_in;  // confirm_at - kLastScan
  absl::Duration since_scan;                 // now - kLastScan
  double jitter = 0;
  bool scan;
  ScanReason reason;
  absl::Duration requeue_after;
};

TEST(DecideScan, Table) {
  const absl::Duration kAfterScan = absl::Minutes(10);
  const std::vector<Case> cases = {
      {.name = "fresh scan, not due",
       .since_scan = absl::Minutes(4),
       .scan = false,
       .reason = ScanReason::kNotDue,
       .requeue_after = absl::Minutes(6)},
      {.name = "interval passed",
       .since_scan = absl::Minutes(10),
       .scan = true,
       .reason = ScanReason::kIntervalPassed,
       .requeue_after = kAfterScan},
      {.name = "jitter spreads the next scan up to 10% later",
       .since_scan = absl::Minutes(11),
       .jitter = 0.5,
       .scan = true,
       .reason = ScanReason::kIntervalPassed,
       .requeue_after = absl::Seconds(630)},
      {.name = "never scanned",
       .change =
           [](v1::ImageRepository* r) {
             r->mutable_status()->clear_last_scan_result();
             r->mutable_status()->set_observed_generation(0);
           },
       .tag_set_stored = false,
       .since_scan = absl::ZeroDuration(),
       .scan = true,
       .reason = ScanReason::kNeverScanned,
       .requeue_after = kAfterScan},
      {.name = "spec changed",
       .change =
           [](v1::ImageRepository* r) {
             r->mutable_metadata()->set_generation(3);
           },
       .since_scan = absl::Minutes(1),
       .scan = true,
       .reason = ScanReason::kSpecChanged,
       .requeue_after = kAfterScan},
      {.name = "reconcile requested",
       .change =
           [](v1::ImageRepository* r) {
             (*r->mutable_metadata()->mutable_annotations())[std::string(
                 kReconcileRequestedAt)] = "2023-11-14T22:15:00Z";
           },
       .since_scan = absl::Minutes(1),
       .scan = true,
       .reason = ScanReason::kReconcileRequested,
       .requeue_after = kAfterScan},
      {.name = "reconcile request already handled",
       .change =
           [](v1::ImageRepository* r) {
             (*r->mutable_metadata()->mutable_annotations())[std::string(
                 kReconcileRequestedAt)] = "2023-11-14T22:15:00Z";
             r->mutable_status()->set_last_handled_reconcile_at(
                 "2023-11-14T22:15:00Z");
           },
       .since_scan = absl::Minutes(1),
       .scan = false,
       .reason = ScanReason::kNotDue,
       .requeue_after = absl::Minutes(9)},
      {.name = "exclusion list changed",
       .change =
           [](v1::ImageRepository* r) {
             r->mutable_spec()->add_exclusion_list("^rc");
           },
       .since_scan = absl::Minutes(1),
       .scan = true,
       .reason = ScanReason::kExclusionListChanged,
       .requeue_after = kAfterScan},
      {.name = "last scan failed",
       .change =
           [](v1::ImageRepository* r) {
             SetCondition(r->mutable_status()->mutable_conditions(), kReady,
                          kFalse, "ReadOperationFailed", "boom", 2, kLastScan);
           },
       .since_scan = absl::Minutes(1),
       .scan = true,
       .reason = ScanReason::kLastScanFailed,
       .requeue_after = kAfterScan},
      {.name = "tag set lost",
       .tag_set_stored = false,
       .since_scan = absl::Minutes(1),
       .scan = true,
       .reason = ScanReason::kTagSetMissing,
       .requeue_after = kAfterScan},
      {.name = "push confirmation pending comes before the interval",
       .confirm_in = absl::Minutes(2),
       .since_scan = absl::Minutes(1) + absl::Seconds(55),
       .scan = false,
       .reason = ScanReason::kNotDue,
       .requeue_after = absl::Seconds(5)},
      {.name = "push confirmation due",
       .confirm_in = absl::Minutes(2),
       .since_scan = absl::Minutes(2),
       .scan = true,
       .reason = ScanReason::kPushConfirmation,
       .requeue_after = kAfterScan},
      {.name = "a failed scan's retry waits for the push confirmation",
       .change =
           [](v1::ImageRepository* r) {
             SetCondition(r->mutable_status()->mutable_conditions(), kReady,
                          kFalse, "AuthenticationFailed", "no", 2, kLastScan);
           },
       .confirm_in = absl::Minutes(2),
       .since_scan = absl::Minutes(1) + absl::Seconds(57),
       .scan = false,
       .reason = ScanReason::kAwaitingConfirmation,
       .requeue_after = absl::Seconds(3)},
      {.name = "the interval waits for the push confirmation",
       .confirm_in = absl::Minutes(10) + absl::Seconds(5),
       .since_scan = absl::Minutes(10) + absl::Seconds(1),
       .scan = false,
       .reason = ScanReason::kAwaitingConfirmation,
       .requeue_after = absl::Seconds(4)},
      {.name = "a spec change does not wait for the push confirmation",
       .change =
           [](v1::ImageRepository* r) {
             r->mutable_metadata()->set_generation(3);
           },
       .confirm_in = absl::Minutes(2),
       .since_scan = absl::Minutes(1),
       .scan = true,
       .reason = ScanReason::kSpecChanged,
       .requeue_after = kAfterScan},
      // Clock jumps (a wall clock set by NTP or by hand).
      {.name = "clock jumped forward a week: one scan, then an interval",
       .since_scan = absl::Hours(7 * 24),
       .scan = true,
       .reason = ScanReason::kIntervalPassed,
       .requeue_after = kAfterScan},
      {.name = "clock jumped back a day: next look within one interval",
       .since_scan = -absl::Hours(24),
       .scan = false,
       .reason = ScanReason::kNotDue,
       .requeue_after = absl::Minutes(10)},
      {.name = "clock jumped back a day with a push confirmation pending",
       .confirm_in = absl::Minutes(2),
       .since_scan = -absl::Hours(24),
       .scan = false,
       .reason = ScanReason::kNotDue,
       .requeue_after = absl::Minutes(10)},
      {.name = "clock jumped back while a failed scan awaits a confirmation",
       .change =
           [](v1::ImageRepository* r) {
             SetCondition(r->mutable_status()->mutable_conditions(), kReady,
                          kFalse, "AuthenticationFailed", "no", 2, kLastScan);
           },
       .confirm_in = absl::Minutes(2),
       .since_scan = -absl::Hours(24),
       .scan = false,
       .reason = ScanReason::kAwaitingConfirmation,
       .requeue_after = absl::Minutes(10)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    v1::ImageRepository repository = Scanned();
    if (c.change) c.change(&repository);
    StoredScanState stored{.tag_set_stored = c.tag_set_stored};
    if (c.confirm_in) stored.confirm_at = kLastScan + *c.confirm_in;
    auto decision =
        DecideScan(repository, stored, kLastScan + c.since_scan, c.jitter);
    ASSERT_TRUE(decision.ok()) << decision.status();
    EXPECT_EQ(decision->scan, c.scan);
    EXPECT_EQ(ScanReasonName(decision->reason), ScanReasonName(c.reason));
    EXPECT_EQ(decision->requeue_after, c.requeue_after);
  }
}

TEST(DecideScan, BadIntervalIsAnError) {
  v1::ImageRepository repository = Scanned();
  repository.mutable_spec()->set_interval("5x");
  EXPECT_FALSE(
      DecideScan(repository, {.tag_set_stored = true}, kLastScan, 0).ok());
}

}  // namespace
}  // namespace ia::reflector
