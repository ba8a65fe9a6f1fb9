// ImageRepositoryReconciler: makes one ImageRepository's stored tag set and
// status match its registry. Reconcile(key) reads the object, the stored
// tag set and the pending push notifications, asks DecideScan
// (scan_decision.h) whether to scan, scans through the RegistryClient when
// it says so, and writes: the tag set (stored and published to the
// WatchTagSets feed) and status. ReconcilePushes(key) only applies pending
// push notifications, so that a push never waits for a scan. The
// reconciler is the only writer of both.
//
// Built from ports only (the object store, the tag-set store and feed, the
// registry client, the secrets reader, the clock and the push inbox), so a
// test builds one with an in-memory store, a fake clock and a registry that
// answers from memory.
//
// Thread-safe. Reconcile of one key never runs twice at once (the
// Controller's work queue keeps that rule), and neither does
// ReconcilePushes (its own queue); the two may run at once for one key.
// They meet only at the read-modify-write of the key's tag set (and the
// status written with it), which holds the key's write lock: a push's
// store read and write, or a scan's re-read, merge and write, never the
// registry I/O.
#ifndef SERVICES_REFLECTOR_REFLECTOR_RECONCILER_H_
#define SERVICES_REFLECTOR_REFLECTOR_RECONCILER_H_

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/conditions.h"
#include "common/controller.h"
#include "common/defaults.h"
#include "common/feed.h"
#include "common/image_ref.h"
#include "common/object_store.h"
#include "common/secrets.h"
#include "imageautomation/v1/reflector.pb.h"
#include "services/reflector/push_inbox.h"
#include "services/reflector/registry_client.h"
#include "services/reflector/scan_decision.h"
#include "services/reflector/scan_options.h"
#include "services/reflector/tag_set_store.h"
#include "services/reflector/tag_sets.h"

namespace ia::reflector {

// What the reconciler reads and writes; none owned, all must outlive it.
struct ReconcilerPorts {
  ObjectStore<v1::ImageRepository>* repositories;
  TagSetStore* tag_sets;
  // WatchTagSets' feed: each repository's v1::TagSet in its stored form
  // (EncodeTagSet), in a google.protobuf.StringValue.
  Feed* tag_set_feed;
  RegistryClient* registry;
  const Secrets* secrets;
  const Clock* clock;
  PushInbox* pushes;
};

struct ReconcilerOptions {
  ScanLimits limits;
  // A push notification's confirming scan comes this long after it.
  absl::Duration confirm_scan_delay = defaults::kPushConfirmScanDelay;
  // Draws DecideScan's jitter, in [0, 1); uniformly at random when null.
  std::function<double()> jitter;
};

class ImageRepositoryReconciler {
 public:
  ImageRepositoryReconciler(ReconcilerPorts ports, ReconcilerOptions options);

  // Reconciles the repository `key` ("namespace/name"):
  //  - deleted: drops its tag set (store and feed);
  //  - suspended: nothing;
  //  - spec.image or spec.exclusionList invalid: Ready=False and
  //    Stalled=True (ImageURLInvalid, InvalidExclusionList), no requeue;
  //  - pending pushes: adds their tags to the set (first seen when each
  //    push was received), stores and publishes it, updates
  //    lastScanResult, completes their tickets and schedules a confirming
  //    scan;
  //  - then scans if DecideScan says so: Ready=True "successful scan: found
  //    N tags" or Ready=False (AuthenticationFailed, ReadOperationFailed)
  //    keeping the last good tag set, and requeues as the decision says.
  //    The scan confirms the pushes whose confirmation is due when it
  //    starts; the tags of the others are kept by its merge (MergeScan's
  //    keep_since) even if the listing does not show them yet, and the
  //    requeue comes no later than the earliest of them is due.
  // An error when the store cannot be read or written (the controller
  // retries with backoff); registry failures are status, not errors.
  absl::StatusOr<ReconcileResult> Reconcile(const std::string& key);

  // Applies `key`'s pending push notifications as Reconcile does, without
  // scanning, and completes their tickets; a repository deleted, suspended
  // or invalid drops them (kKnown). Returns how long until the earliest
  // pending push confirmation is due (zero: now), when the caller queues
  // the key for Reconcile; nullopt when none is pending. An error when the
  // store cannot be read or written (the tickets carry it too; pushes not
  // yet taken stay pending).
  absl::StatusOr<std::optional<absl::Duration>> ReconcilePushes(
      const std::string& key);

  // Publishes every stored tag set to the feed, so that subscribers get
  // them before any scan. Call once, before the controller starts. A set
  // that cannot be read is logged and skipped until its next scan.
  void PublishStored();

 private:
  // The lock serialising the writes of `key`'s tag set (see the file
  // comment). One per key ever seen; never freed (a mutex per repository).
  absl::Mutex& WriteLock(const std::string& key);
  // Applies `key`'s pending pushes (see Reconcile) to `repository`. The
  // caller holds WriteLock(key).
  absl::Status ApplyPushesLocked(const std::string& key,
                                 const v1::ImageRepository& repository,
                                 const ImageReference& image,
                                 const Exclusions& exclusions);
  // Completes every pending push of `key` as kKnown (it no longer applies).
  void DropPushes(const std::string& key);
  // Scans and records the result; see Reconcile. Takes WriteLock(key)
  // after the registry answered.
  absl::StatusOr<ReconcileResult> Scan(const std::string& key,
                                       const v1::ImageRepository& repository,
                                       const ImageReference& image,
                                       const Exclusions& exclusions,
                                       const ScanDecision& decision);
  // Ready=False (and Stalled=True when `stalled`) with `reason` and
  // `message`; the last good tag set and lastScanResult stay.
  // canonicalImageName is set when `image` is known.
  absl::Status ReportFailure(const std::string& key, const Observed& observed,
                             absl::string_view reason,
                             absl::string_view message, bool stalled,
                             const ImageReference* image = nullptr);
  // The stored set of `key`; nullopt when none (or unparsable: logged, and
  // replaced by the next write).
  absl::StatusOr<std::optional<v1::TagSet>> LoadTagSet(const std::string& key);
  // Stores and publishes `tag_set` under `key`.
  absl::Status StoreTagSet(const std::string& key, const v1::TagSet& tag_set);

  // What is known of the set stored under each key without reading it: its
  // revision and spec.image. Filled when a set is read or written; a key
  // missing here is read from the store.
  struct StoredSummary {
    std::string revision;
    std::string image;
  };
  void RememberStored(const std::string& key, const v1::TagSet& tag_set);
  void ForgetStored(const std::string& key);
  std::optional<StoredSummary> StoredSummaryOf(const std::string& key);

  // Push confirmations: each push that added a tag (or asked for a scan)
  // stays unconfirmed until a scan starts at or after its received time
  // plus options_.confirm_scan_delay.
  void AddUnconfirmed(const std::string& key, absl::Time received_at);
  // Confirms the pushes of `key` that are due at `now`; later ones stay.
  void ConfirmDue(const std::string& key, absl::Time now);
  // When the earliest pending confirmation of `key` is due; nullopt: none.
  std::optional<absl::Time> ConfirmAt(const std::string& key);
  // The received time of the earliest unconfirmed push of `key`.
  std::optional<absl::Time> EarliestUnconfirmed(const std::string& key);
  // How long from `now` until ConfirmAt(key), at least `at_least`.
  std::optional<absl::Duration> UntilConfirm(const std::string& key,
                                             absl::Time now,
                                             absl::Duration at_least);

  const ReconcilerPorts ports_;
  const ReconcilerOptions options_;
  absl::Mutex write_locks_mu_;
  std::map<std::string, absl::Mutex> write_locks_
      ABSL_GUARDED_BY(write_locks_mu_);
  absl::Mutex stored_mu_;
  std::map<std::string, StoredSummary> stored_ ABSL_GUARDED_BY(stored_mu_);
  absl::Mutex confirm_mu_;
  // The received times of each repository's unconfirmed pushes.
  std::map<std::string, std::set<absl::Time>> unconfirmed_
      ABSL_GUARDED_BY(confirm_mu_);
};

}  // namespace ia::reflector

#endif  // SERVICES_REFLECTOR_REFLECTOR_RECONCILER_H_
