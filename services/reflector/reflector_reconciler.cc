#include "services/reflector/reflector_reconciler.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/conditions.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/status_macros.h"
#include "google/protobuf/wrappers.pb.h"

namespace ia::reflector {
namespace {

// Metrics, registered at start so that /metrics shows them before any scan.
metrics::CounterFamily& scans_metric = metrics::Registry::Default().AddCounter(
    "ia_scans_total",
    "Registry scans, by result: success or the error's code (unauthenticated, "
    "not_found, unavailable, ...).",
    {"result"});
metrics::HistogramFamily& scan_duration_metric =
    metrics::Registry::Default().AddHistogram("ia_scan_duration_seconds",
                                              "Time a registry scan took.", {},
                                              metrics::DurationBuckets());
metrics::GaugeFamily& tags_stored_metric =
    metrics::Registry::Default().AddGauge("ia_tags_stored",
                                          "Tags stored for an ImageRepository.",
                                          {"namespace", "name"});

void CountScan(const absl::Status& status,
               const metrics::Stopwatch& stopwatch) {
  scan_duration_metric.WithLabels({}).Observe(stopwatch.Seconds());
  scans_metric
      .WithLabels({status.ok() ? std::string("success")
                               : absl::AsciiStrToLower(
                                     absl::StatusCodeToString(status.code()))})
      .Increment();
}

// Sets ia_tags_stored of the repository `key` ("namespace/name"), or drops
// it when `tags` is negative.
void SetTagsStored(absl::string_view key, int tags) {
  std::pair<std::string, std::string> parts =
      absl::StrSplit(key, absl::MaxSplits('/', 1));
  if (tags < 0) {
    tags_stored_metric.Remove({parts.first, parts.second});
  } else {
    tags_stored_metric.WithLabels({parts.first, parts.second}).Set(tags);
  }
}

// The condition reason for a failure to reach the registry, by its code.
absl::string_view FailureReason(const absl::Status& status) {
  if (absl::IsUnauthenticated(status) || absl::IsPermissionDenied(status)) {
    return reason::kAuthenticationFailed;
  }
  return reason::kReadOperationFailed;
}

double UniformJitter() {
  thread_local absl::BitGen gen;
  return absl::Uniform(gen, 0.0, 1.0);
}

void FillIdentity(const v1::ImageRepository& repository,
                  const ImageReference& image, v1::TagSet* tag_set) {
  tag_set->mutable_repository()->set_namespace_(
      repository.metadata().namespace_());
  tag_set->mutable_repository()->set_name(repository.metadata().name());
  tag_set->set_image(repository.spec().image());
  tag_set->set_canonical_image_name(image.CanonicalName());
}

// lastScanResult of a set with `revision`, `count` tags and `latest`,
// except scanTime.
void SetScanResult(const std::string& revision, int count,
                   std::vector<std::string> latest,
                   v1::ImageRepositoryStatus* status) {
  v1::ScanResult* result = status->mutable_last_scan_result();
  result->set_revision(revision);
  result->set_tag_count(count);
  result->clear_latest_tags();
  for (std::string& tag : latest) result->add_latest_tags(std::move(tag));
}

// lastScanResult from `tag_set`, except scanTime.
void SetScanResult(const v1::TagSet& tag_set,
                   v1::ImageRepositoryStatus* status) {
  SetScanResult(tag_set.revision(), tag_set.tags_size(), LatestTags(tag_set),
                status);
}

// The feed holds tag sets in their stored form (tag_set_store.h): a
// million stored tags cost their compressed bytes, not a million messages.
std::shared_ptr<const google::protobuf::StringValue> Encoded(
    const v1::TagSet& tag_set) {
  auto value = std::make_shared<google::protobuf::StringValue>();
  *value->mutable_value() = EncodeTagSet(tag_set);
  return value;
}

}  // namespace

ImageRepositoryReconciler::ImageRepositoryReconciler(ReconcilerPorts ports,
                                                     ReconcilerOptions options)
    : ports_(ports), options_(std::move(options)) {}

void ImageRepositoryReconciler::PublishStored() {
  auto stored = ports_.tag_sets->List();
  if (!stored.ok()) {
    log::Error("cannot read stored tag sets").With("error", stored.status());
    return;
  }
  for (auto& [key, bytes] : *stored) {
    v1::TagSet tag_set;
    if (!DecodeTagSet(bytes, &tag_set)) {
      log::Error("stored tag set cannot be parsed; dropped until the next scan")
          .With("name", key);
      continue;
    }
    SetTagsStored(key, tag_set.tags_size());
    RememberStored(key, tag_set);
    // The stored bytes themselves, not a second serialization: with a
    // million tags, two copies at once were the reflector's peak.
    auto value = std::make_shared<google::protobuf::StringValue>();
    *value->mutable_value() = std::move(bytes);
    ports_.tag_set_feed->Publish(key, std::move(value));
  }
}

absl::StatusOr<ReconcileResult> ImageRepositoryReconciler::Reconcile(
    const std::string& key) {
  ASSIGN_OR_RETURN(auto found, ports_.repositories->Find(key));
  if (!found) {
    // Deleted: its tag set goes with it.
    absl::MutexLock lock(&WriteLock(key));
    DropPushes(key);
    {
      absl::MutexLock confirm_lock(&confirm_mu_);
      unconfirmed_.erase(key);
    }
    ForgetStored(key);
    RETURN_IF_ERROR(ports_.tag_sets->Delete(key));
    ports_.tag_set_feed->Remove(key);
    SetTagsStored(key, -1);
    return ReconcileResult{};
  }
  const v1::ImageRepository& repository = *found;
  const Observed observed = ObservedOf(repository);
  if (repository.spec().suspend()) {
    DropPushes(key);
    log::Debug("suspended; not scanning").With("name", key);
    return ReconcileResult{};
  }
  // Validated on Apply, so these parse; a failure is still reported.
  auto image = ParseImageReference(repository.spec().image());
  if (!image.ok()) {
    DropPushes(key);
    RETURN_IF_ERROR(
        ReportFailure(key, observed, reason::kImageURLInvalid,
                      absl::StrCat("spec.image: ", image.status().message()),
                      /*stalled=*/true));
    return ReconcileResult{};
  }
  auto exclusions = Exclusions::Of(repository);
  if (!exclusions.ok()) {
    DropPushes(key);
    RETURN_IF_ERROR(ReportFailure(key, observed, reason::kInvalidExclusionList,
                                  exclusions.status().message(),
                                  /*stalled=*/true, &*image));
    return ReconcileResult{};
  }

  {
    absl::MutexLock lock(&WriteLock(key));
    RETURN_IF_ERROR(ApplyPushesLocked(key, repository, *image, *exclusions));
  }

  StoredScanState state{.confirm_at = ConfirmAt(key)};
  if (StoredSummaryOf(key).has_value()) {
    state.tag_set_stored = true;
  } else {
    auto stored = ports_.tag_sets->Get(key);
    state.tag_set_stored = stored.ok() && stored->has_value();
  }
  const double jitter = options_.jitter ? options_.jitter() : UniformJitter();
  const absl::Time now = ports_.clock->Now();
  ASSIGN_OR_RETURN(ScanDecision decision,
                   DecideScan(repository, state, now, jitter));
  if (!decision.scan) {
    return ReconcileResult{.requeue_after = decision.requeue_after};
  }
  // This scan confirms the pushes that are due; the registry's listing may
  // not show a later one yet, so it stays pending and its tag is kept.
  ConfirmDue(key, now);
  ASSIGN_OR_RETURN(ReconcileResult result,
                   Scan(key, repository, *image, *exclusions, decision));
  // A confirmation due before the next scan brings that scan forward.
  if (std::optional<absl::Duration> until = UntilConfirm(
          key, ports_.clock->Now(), /*at_least=*/absl::Milliseconds(1));
      until.has_value() && *until < result.requeue_after) {
    result.requeue_after = *until;
  }
  return result;
}

absl::StatusOr<std::optional<absl::Duration>>
ImageRepositoryReconciler::ReconcilePushes(const std::string& key) {
  {
    absl::MutexLock lock(&WriteLock(key));
    // Read under the lock: a repository deleted meanwhile gets no set.
    ASSIGN_OR_RETURN(auto found, ports_.repositories->Find(key));
    if (!found || found->spec().suspend()) {
      DropPushes(key);
      return std::optional<absl::Duration>();
    }
    auto image = ParseImageReference(found->spec().image());
    auto exclusions = Exclusions::Of(*found);
    if (!image.ok() || !exclusions.ok()) {
      // Reconcile reports it.
      DropPushes(key);
      return std::optional<absl::Duration>();
    }
    RETURN_IF_ERROR(ApplyPushesLocked(key, *found, *image, *exclusions));
  }
  return UntilConfirm(key, ports_.clock->Now(),
                      /*at_least=*/absl::ZeroDuration());
}

absl::StatusOr<ReconcileResult> ImageRepositoryReconciler::Scan(
    const std::string& key, const v1::ImageRepository& repository,
    const ImageReference& image, const Exclusions& exclusions,
    const ScanDecision& decision) {
  const ReconcileResult next{.requeue_after = decision.requeue_after};
  const Observed observed = ObservedOf(repository);
  auto options =
      RegistryOptionsFor(repository, image, *ports_.secrets, options_.limits);
  if (!options.ok()) {
    RETURN_IF_ERROR(ReportFailure(key, observed,
                                  FailureReason(options.status()),
                                  options.status().message(),
                                  /*stalled=*/false, &image));
    return next;
  }

  ScanStats stats;
  const absl::Time scan_start = ports_.clock->Now();
  const metrics::Stopwatch scan_stopwatch;
  auto tags = ports_.registry->ListTags(image, *options, &stats);
  CountScan(tags.status(), scan_stopwatch);
  const absl::Time scan_end = ports_.clock->Now();
  if (!tags.ok()) {
    log::Warn("scan failed")
        .With("name", key)
        .With("image", repository.spec().image())
        .With("reason", ScanReasonName(decision.reason))
        .With("requests", stats.requests)
        .With("error", tags.status());
    RETURN_IF_ERROR(ReportFailure(key, observed, FailureReason(tags.status()),
                                  tags.status().message(),
                                  /*stalled=*/false, &image));
    // A registry down, answering 5xx or too slow: tried again with the
    // queue's backoff (as Flux does), not only after the interval.
    if (tags.status().code() == absl::StatusCode::kUnavailable ||
        tags.status().code() == absl::StatusCode::kDeadlineExceeded) {
      return tags.status();
    }
    return next;
  }
  const size_t scanned = tags->size();
  std::vector<std::string> listed = ListedNames(*std::move(tags), exclusions);
  const std::string listed_revision = RevisionOf(listed);

  // Merged into the set stored now, not when the scan started: pushes
  // applied meanwhile are in it. Their tags, and those of pushes not yet
  // confirmed, are kept even if the listing does not show them yet.
  absl::MutexLock lock(&WriteLock(key));
  // Compare before merge: when the stored set holds exactly the listed
  // names (and the image is the same), the merge would give it back
  // unchanged (every name kept with its first_seen, none to drop, none
  // pushed to keep), so it is neither read nor written.
  std::optional<StoredSummary> summary = StoredSummaryOf(key);
  const bool unchanged = summary.has_value() &&
                         summary->revision == listed_revision &&
                         summary->image == repository.spec().image();
  std::string revision = listed_revision;
  int stored_count = static_cast<int>(listed.size());
  std::vector<std::string> latest = LatestTags(listed);
  if (!unchanged) {
    ASSIGN_OR_RETURN(std::optional<v1::TagSet> previous, LoadTagSet(key));
    absl::Time keep_since = scan_start;
    if (std::optional<absl::Time> earliest = EarliestUnconfirmed(key);
        earliest.has_value() && *earliest < keep_since) {
      keep_since = *earliest;
    }
    v1::TagSet tag_set = MergeListed(previous ? &*previous : nullptr,
                                     std::move(listed), keep_since, scan_end);
    FillIdentity(repository, image, &tag_set);
    tag_set.mutable_scan_time()->CopyFrom(ToProtoTime(scan_end));
    const bool changed = !previous.has_value() ||
                         previous->revision() != tag_set.revision() ||
                         previous->image() != tag_set.image();
    previous.reset();
    if (changed) RETURN_IF_ERROR(StoreTagSet(key, tag_set));
    revision = tag_set.revision();
    stored_count = tag_set.tags_size();
    latest = LatestTags(tag_set);
  }
  log::Info("scanned")
      .With("name", key)
      .With("image", repository.spec().image())
      .With("reason", ScanReasonName(decision.reason))
      .With("tags", static_cast<int64_t>(scanned))
      .With("stored", stored_count)
      .With("revision", revision)
      .With("requests", stats.requests)
      .With("duration", absl::FormatDuration(scan_end - scan_start));

  RETURN_IF_ERROR(
      ports_.repositories
          ->UpdateStatus(
              key,
              [&](v1::ImageRepository* r) {
                MarkObserved(r, observed);
                v1::ImageRepositoryStatus* status = r->mutable_status();
                status->set_canonical_image_name(image.CanonicalName());
                SetScanResult(revision, stored_count, latest, status);
                *status->mutable_last_scan_result()->mutable_scan_time() =
                    ToProtoTime(scan_end);
                *status->mutable_observed_exclusion_list() =
                    r->spec().exclusion_list();
                SetReady(status->mutable_conditions(), reason::kSucceeded,
                         absl::StrCat("successful scan: found ", stored_count,
                                      " tags"),
                         r->metadata().generation(), scan_end);
              })
          .status());
  return next;
}

absl::Status ImageRepositoryReconciler::ApplyPushesLocked(
    const std::string& key, const v1::ImageRepository& repository,
    const ImageReference& image, const Exclusions& exclusions) {
  std::vector<PendingPush> pushes = ports_.pushes->Take(key);
  if (pushes.empty()) return absl::OkStatus();

  std::vector<PushOutcome> outcomes(pushes.size(), PushOutcome::kKnown);
  std::vector<bool> excluded(pushes.size(), false);
  std::optional<v1::TagSet> tag_set;
  absl::Status written;
  bool added = false;
  for (size_t i = 0; i < pushes.size() && written.ok(); ++i) {
    if (pushes[i].tag.empty()) {
      outcomes[i] = PushOutcome::kScanOnly;
      continue;
    }
    if (exclusions.Excludes(pushes[i].tag)) {  // the spec changed
      excluded[i] = true;
      continue;
    }
    if (!tag_set.has_value()) {
      auto stored = LoadTagSet(key);
      if (!stored.ok()) {
        written = stored.status();
        break;
      }
      tag_set = stored->has_value() ? **std::move(stored) : v1::TagSet();
      FillIdentity(repository, image, &*tag_set);
    }
    // First seen when the push was received, not when it is applied.
    if (AddTag(&*tag_set, pushes[i].tag, pushes[i].received_at)) {
      outcomes[i] = PushOutcome::kAdded;
      added = true;
    }
  }
  if (added && written.ok()) {
    SetRevision(&*tag_set);
    written = StoreTagSet(key, *tag_set);
    if (written.ok()) {
      written =
          ports_.repositories
              ->UpdateStatus(key,
                             [&](v1::ImageRepository* r) {
                               SetScanResult(*tag_set, r->mutable_status());
                             })
              .status();
    }
  }
  // A new tag or another host's push asks for a confirming scan; so does
  // any push not excluded when the set could not be written (a scan finds
  // what it lacks).
  for (size_t i = 0; i < pushes.size(); ++i) {
    if (outcomes[i] != PushOutcome::kKnown || (!written.ok() && !excluded[i])) {
      AddUnconfirmed(key, pushes[i].received_at);
    }
    pushes[i].ticket->Complete(written.ok()
                                   ? absl::StatusOr<PushOutcome>(outcomes[i])
                                   : absl::StatusOr<PushOutcome>(written));
  }
  return written;
}

void ImageRepositoryReconciler::DropPushes(const std::string& key) {
  for (PendingPush& push : ports_.pushes->Take(key)) {
    push.ticket->Complete(PushOutcome::kKnown);
  }
}

absl::Mutex& ImageRepositoryReconciler::WriteLock(const std::string& key) {
  absl::MutexLock lock(&write_locks_mu_);
  return write_locks_[key];
}

void ImageRepositoryReconciler::AddUnconfirmed(const std::string& key,
                                               absl::Time received_at) {
  absl::MutexLock lock(&confirm_mu_);
  unconfirmed_[key].insert(received_at);
}

void ImageRepositoryReconciler::ConfirmDue(const std::string& key,
                                           absl::Time now) {
  absl::MutexLock lock(&confirm_mu_);
  auto it = unconfirmed_.find(key);
  if (it == unconfirmed_.end()) return;
  std::set<absl::Time>& pushed = it->second;
  // Due: received_at + delay <= now.
  pushed.erase(pushed.begin(),
               pushed.upper_bound(now - options_.confirm_scan_delay));
  if (pushed.empty()) unconfirmed_.erase(it);
}

std::optional<absl::Time> ImageRepositoryReconciler::EarliestUnconfirmed(
    const std::string& key) {
  absl::MutexLock lock(&confirm_mu_);
  auto it = unconfirmed_.find(key);
  if (it == unconfirmed_.end() || it->second.empty()) return std::nullopt;
  return *it->second.begin();
}

std::optional<absl::Time> ImageRepositoryReconciler::ConfirmAt(
    const std::string& key) {
  std::optional<absl::Time> earliest = EarliestUnconfirmed(key);
  if (!earliest.has_value()) return std::nullopt;
  return *earliest + options_.confirm_scan_delay;
}

std::optional<absl::Duration> ImageRepositoryReconciler::UntilConfirm(
    const std::string& key, absl::Time now, absl::Duration at_least) {
  std::optional<absl::Time> at = ConfirmAt(key);
  if (!at.has_value()) return std::nullopt;
  return std::max(*at - now, at_least);
}

absl::Status ImageRepositoryReconciler::ReportFailure(
    const std::string& key, const Observed& observed, absl::string_view reason,
    absl::string_view message, bool stalled, const ImageReference* image) {
  const absl::Time now = ports_.clock->Now();
  return ports_.repositories
      ->UpdateStatus(key,
                     [&](v1::ImageRepository* r) {
                       MarkObserved(r, observed);
                       if (image != nullptr) {
                         r->mutable_status()->set_canonical_image_name(
                             image->CanonicalName());
                       }
                       SetNotReady(r->mutable_status()->mutable_conditions(),
                                   reason, message, stalled,
                                   r->metadata().generation(), now);
                     })
      .status();
}

absl::StatusOr<std::optional<v1::TagSet>> ImageRepositoryReconciler::LoadTagSet(
    const std::string& key) {
  ASSIGN_OR_RETURN(auto bytes, ports_.tag_sets->Get(key));
  if (!bytes.has_value()) return std::optional<v1::TagSet>();
  v1::TagSet tag_set;
  if (!DecodeTagSet(*bytes, &tag_set)) {
    log::Error("stored tag set cannot be parsed; replaced by this scan")
        .With("name", key);
    return std::optional<v1::TagSet>();
  }
  RememberStored(key, tag_set);
  return std::optional<v1::TagSet>(std::move(tag_set));
}

absl::Status ImageRepositoryReconciler::StoreTagSet(const std::string& key,
                                                    const v1::TagSet& tag_set) {
  auto value = Encoded(tag_set);
  RETURN_IF_ERROR(ports_.tag_sets->Put(key, value->value()));
  ports_.tag_set_feed->Publish(key, std::move(value));
  SetTagsStored(key, tag_set.tags_size());
  RememberStored(key, tag_set);
  return absl::OkStatus();
}

void ImageRepositoryReconciler::RememberStored(const std::string& key,
                                               const v1::TagSet& tag_set) {
  absl::MutexLock lock(&stored_mu_);
  stored_[key] = StoredSummary{tag_set.revision(), tag_set.image()};
}

void ImageRepositoryReconciler::ForgetStored(const std::string& key) {
  absl::MutexLock lock(&stored_mu_);
  stored_.erase(key);
}

std::optional<ImageRepositoryReconciler::StoredSummary>
ImageRepositoryReconciler::StoredSummaryOf(const std::string& key) {
  absl::MutexLock lock(&stored_mu_);
  auto it = stored_.find(key);
  if (it == stored_.end()) return std::nullopt;
  return it->second;
}

}  // namespace ia::reflector
