#include "services/policy/decide.h"

#include <algorithm>
#include <functional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/conditions.h"
#include "common/duration.h"

namespace ia::policy {
namespace {

bool SameTag(const v1::ImageRef& a, const v1::ImageRef& b) {
  return a.name() == b.name() && a.tag() == b.tag();
}

// The message of a selection of `latest`, from the status before it.
std::string MessageFor(const v1::ImagePolicyStatus& before,
                       const v1::ImageRef& latest, absl::string_view suffix) {
  v1::ImagePolicyStatus recorded = before;
  RecordSelection(&recorded, latest);
  return ReadyMessage(recorded, latest, suffix);
}

}  // namespace

std::string RepositoryKeyOf(const v1::ImagePolicy& policy) {
  const auto& ref = policy.spec().image_repository_ref();
  return KeyOf(ref.namespace_().empty() ? policy.metadata().namespace_()
                                        : ref.namespace_(),
               ref.name());
}

bool SameRef(const v1::ImageRef& a, const v1::ImageRef& b) {
  return a.name() == b.name() && a.tag() == b.tag() && a.digest() == b.digest();
}

absl::StatusOr<SelectionDecision> DecideSelection(const SelectionInputs& in) {
  const v1::ImagePolicy& policy = *in.policy;
  const int64_t generation = policy.metadata().generation();
  const std::string repository = RepositoryKeyOf(policy);
  const absl::Time now = in.now;

  if (!in.compiled->ok()) {
    // Terminal until the spec changes: not retried.
    return NotReady{.reason = reason::kInvalidPolicy,
                    .message = absl::StrCat("invalid policy: ",
                                            in.compiled->status().message()),
                    .stalled = true};
  }
  const CompiledPolicy& compiled = **in.compiled;

  const v1::TagSet* tag_set = in.tag_set;
  if (tag_set == nullptr && !in.synced && policy.status().has_latest_ref() &&
      policy.status().observed_generation() == generation) {
    // Just started, tag sets not received yet: the last selection stands
    // (status unchanged); the first snapshot enqueues every policy.
    return HoldSelection{};
  }
  if (tag_set == nullptr || tag_set->tags_size() == 0) {
    // The watcher enqueues this policy when the tag set arrives.
    return NotReady{
        .reason = reason::kDependencyNotReady,
        .message =
            tag_set == nullptr
                ? absl::StrCat("waiting for ImageRepository ", repository,
                               " tags")
                : absl::StrCat("ImageRepository ", repository, " has no tags")};
  }

  // Flux's policies see the tags as its database stores them: sorted in
  // descending byte order (image-reflector-controller sorts the scanned
  // list in place for latestTags before it stores it). The tag set is kept
  // in ascending byte order (reflector.proto), so read it from the end;
  // ties (select.h) depend on this order.
  std::vector<std::string> tags;
  std::vector<absl::Time> first_seen;
  tags.reserve(tag_set->tags_size());
  first_seen.reserve(tag_set->tags_size());
  for (auto it = tag_set->tags().rbegin(); it != tag_set->tags().rend(); ++it) {
    const v1::Tag& tag = *it;
    tags.push_back(tag.name());
    // The watcher stamps tags that come without a time; should one still
    // lack it, it counts as just seen.
    first_seen.push_back(tag.has_first_seen() ? FromProtoTime(tag.first_seen())
                                              : now);
  }
  if (!std::is_sorted(tags.begin(), tags.end(), std::greater<>())) {
    // Not from our reflector (which keeps the order): sort it here.
    std::vector<size_t> order(tags.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&tags](size_t a, size_t b) { return tags[a] > tags[b]; });
    std::vector<std::string> sorted_tags;
    std::vector<absl::Time> sorted_first_seen;
    sorted_tags.reserve(tags.size());
    sorted_first_seen.reserve(tags.size());
    for (size_t i : order) {
      sorted_tags.push_back(std::move(tags[i]));
      sorted_first_seen.push_back(first_seen[i]);
    }
    tags = std::move(sorted_tags);
    first_seen = std::move(sorted_first_seen);
  }
  const MaturedSelection matured =
      compiled.SelectMatured(tags, first_seen, now);
  // minAge: look again when a held-back tag becomes old enough, without
  // waiting for a new tag set.
  absl::Duration again = absl::ZeroDuration();
  if (matured.next_change != absl::InfiniteFuture()) {
    again = std::max(matured.next_change - now, absl::Nanoseconds(1));
  }
  if (!matured.tag.ok()) {
    // Nothing qualifies (or numerical met a non-number): Flux's Failure.
    // The previous selection stays. A new tag set or spec enqueues the
    // policy again, so there is nothing to retry meanwhile (but for tags
    // held back by minAge).
    return NotReady{.reason = reason::kFailure,
                    .message = std::string(matured.tag.status().message()),
                    .requeue_after = again};
  }

  Selected out;
  // No silent downgrade: keep the previous tag when the new one is lower
  // by the policy's own order while the previous one is still there and
  // the spec did not change.
  const v1::ImageRef previous = in.published != nullptr
                                    ? in.published->latest_ref()
                                    : policy.status().latest_ref();
  std::string tag = *matured.tag;
  std::string note;
  if (!previous.tag().empty() && previous.tag() != tag &&
      previous.name() == tag_set->image()) {
    // The spec changed since the previous selection unless it was made at
    // this generation, or a reconcile at this generation already kept it
    // (Ready=True for it): an edit that left the selection alone (a new
    // interval, an added minAge) does not switch the rule off.
    const v1::Condition* ready =
        FindCondition(policy.status().conditions(), kReady);
    const bool confirmed_at_generation =
        in.published != nullptr &&
        policy.status().observed_generation() == generation &&
        ready != nullptr && ready->status() == kTrue &&
        policy.status().latest_ref().name() == previous.name() &&
        policy.status().latest_ref().tag() == previous.tag();
    const bool spec_changed =
        in.published == nullptr ||
        (in.published->policy_generation() != generation &&
         !confirmed_at_generation);
    const bool still_there =
        std::find(tags.begin(), tags.end(), previous.tag()) != tags.end();
    // Lower: the previous tag wins in either order (a tie, which the order
    // decides, is not lower).
    absl::StatusOr<std::string> higher = compiled.Select({previous.tag(), tag});
    absl::StatusOr<std::string> higher_after =
        compiled.Select({tag, previous.tag()});
    const bool lower = higher.ok() && *higher == previous.tag() &&
                       higher_after.ok() && *higher_after == previous.tag();
    if (lower) {
      out.previous_tag = previous.tag();
      if (still_there && !spec_changed) {
        out.downgrade = DowngradeRule::kKeptPrevious;
        note = absl::StrCat("; kept ", previous.tag(), " over lower ", tag);
        tag = previous.tag();
      } else {
        out.downgrade = spec_changed ? DowngradeRule::kSteppedDownSpecChanged
                                     : DowngradeRule::kSteppedDownPreviousGone;
        note = absl::StrCat("; stepped down from ", previous.tag(), ": ",
                            spec_changed ? "the spec changed"
                                         : "it is no longer in the tag set");
      }
    }
  }

  out.latest.set_name(tag_set->image());
  out.latest.set_tag(tag);
  // digestReflectionPolicy: IfNotPresent asks the reflector once per
  // selected tag, Always on every evaluation and again each spec.interval.
  const std::string& reflect = policy.spec().digest_reflection_policy();
  if (reflect == "IfNotPresent" || reflect == "Always") {
    if (reflect == "IfNotPresent" && SameTag(previous, out.latest) &&
        !previous.digest().empty()) {
      out.digest = DigestStep::kReuse;
      out.latest.set_digest(previous.digest());
    } else {
      out.digest = DigestStep::kLookUp;
    }
    if (reflect == "Always") {
      absl::StatusOr<absl::Duration> interval =
          ParseDuration(policy.spec().interval());
      if (!interval.ok()) return interval.status();
      if (again == absl::ZeroDuration() || *interval < again) {
        again = *interval;
      }
    }
  }
  out.requeue_after = again;

  out.message_suffix = std::move(note);
  if (!matured.held_back.empty() && matured.held_back != tag) {
    absl::StrAppend(&out.message_suffix, "; ", matured.held_back,
                    " held back by minAge ", compiled.min_age_text(), " until ",
                    FormatStatusTime(matured.held_back_until));
  }
  out.message = MessageFor(policy.status(), out.latest, out.message_suffix);
  return out;
}

void CompleteWithDigest(Selected* selected, std::string digest,
                        const v1::ImagePolicyStatus& status) {
  selected->latest.set_digest(std::move(digest));
  selected->message =
      MessageFor(status, selected->latest, selected->message_suffix);
}

NotReady DigestLookupFailed(const Selected& selected,
                            const absl::Status& error) {
  return NotReady{
      .reason = reason::kDigestLookupFailed,
      .message = absl::StrCat(
          "cannot get the digest of ", selected.latest.name(), ":",
          selected.latest.tag(), " from the reflector: ", error.message())};
}

void RecordSelection(v1::ImagePolicyStatus* status,
                     const v1::ImageRef& latest) {
  if (status->has_latest_ref() && SameRef(status->latest_ref(), latest)) {
    return;
  }
  if (status->has_latest_ref()) {
    *status->mutable_observed_previous_ref() = status->latest_ref();
  } else {
    status->clear_observed_previous_ref();
  }
  *status->mutable_latest_ref() = latest;
}

std::string ReadyMessage(const v1::ImagePolicyStatus& recorded,
                         const v1::ImageRef& latest, absl::string_view suffix) {
  std::string message = absl::StrCat("Latest image tag for ", latest.name(),
                                     " resolved to ", latest.tag());
  if (recorded.has_observed_previous_ref() &&
      !SameRef(recorded.observed_previous_ref(), latest)) {
    absl::StrAppend(&message, " (previously ",
                    recorded.observed_previous_ref().name(), ":",
                    recorded.observed_previous_ref().tag(), ")");
  }
  absl::StrAppend(&message, suffix);
  return message;
}

}  // namespace ia::policy
