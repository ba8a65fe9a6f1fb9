// The selection decision of an ImagePolicy reconcile, apart from the I/O
// around it (policy_reconciler.h reads the inputs and carries the decision
// out): given the policy, its compiled spec, the repository's tag set, what
// was published before and `now`, what the reconcile does.
//
// The rules, in order:
//  - InvalidPolicy: the spec does not compile; Ready=False and Stalled (not
//    retried until the spec changes).
//  - Synced hold: no tag set yet and the tag set watcher has not received
//    its first snapshot (just started), and the status holds a selection for
//    the policy's generation: the last selection stands, status unchanged.
//  - DependencyNotReady: no tag set ("waiting for ImageRepository <ns/name>
//    tags") or an empty one ("ImageRepository <ns/name> has no tags").
//  - Failure: no tag qualifies (the previous selection stays published).
//  - Otherwise a selection, subject to:
//    minAge: tags first seen less than minAge ago are held back; the
//      reconcile is requeued when one of them would change the answer, and
//      the status message names the held-back tag;
//    no downgrade: when the previous selection (published, else in status)
//      is of the same image and the new tag is lower by the policy's own
//      order, the previous tag is kept while it is still in the tag set and
//      the spec did not change (generation of the published selection);
//      otherwise the selection steps down and the message says why;
//    digestReflectionPolicy: Never (no digest), IfNotPresent (reuse the
//      previous digest for the same image and tag, else look it up), Always
//      (look it up, and requeue after min(spec.interval, the minAge wait)).
//
// Pure functions; thread-safe.
#ifndef SERVICES_POLICY_DECIDE_H_
#define SERVICES_POLICY_DECIDE_H_

#include <string>
#include <variant>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/objects.h"
#include "imageautomation/v1/policy.pb.h"
#include "imageautomation/v1/reflector.pb.h"
#include "services/policy/select.h"

namespace ia::policy {

// The ImageRepository key ("namespace/name") a policy selects from; the
// namespace defaults to the policy's own.
std::string RepositoryKeyOf(const v1::ImagePolicy& policy);

// Same name, tag and digest.
bool SameRef(const v1::ImageRef& a, const v1::ImageRef& b);

// What a reconcile knows when it decides. Pointers are not owned and must
// be valid for the call.
struct SelectionInputs {
  // The policy as stored (spec, metadata.generation, status). Never null.
  const v1::ImagePolicy* policy = nullptr;
  // CompiledPolicy::Compile(policy->spec()). Never null.
  const absl::StatusOr<CompiledPolicy>* compiled = nullptr;
  // The latest tag set of RepositoryKeyOf(*policy); null when none is known.
  const v1::TagSet* tag_set = nullptr;
  // Whether the tag set source has received its first snapshot (from then
  // on a missing tag set means the reflector has none).
  bool synced = false;
  // The selection last published for this policy; null when none.
  const v1::Selection* published = nullptr;
  absl::Time now;
};

// Keep the last selection: status unchanged, nothing published, no requeue.
struct HoldSelection {};

// Ready=False with `reason` (a reason:: constant) and `message`; with
// `stalled`, also Stalled=True. Nothing is published.
struct NotReady {
  absl::string_view reason;
  std::string message;
  bool stalled = false;
  // Zero: no requeue (a new tag set or spec enqueues the policy).
  absl::Duration requeue_after = absl::ZeroDuration();
};

// What the no-downgrade rule did.
enum class DowngradeRule {
  // Not applicable: no previous tag, the same tag, another image, or the new
  // tag is not lower.
  kNotApplied,
  // The new tag is lower: the previous one is kept.
  kKeptPrevious,
  // The new tag is lower but the spec changed: it is selected.
  kSteppedDownSpecChanged,
  // The new tag is lower but the previous one left the tag set: selected.
  kSteppedDownPreviousGone,
};

// Where the selected tag's digest comes from.
enum class DigestStep {
  kNone,    // digestReflectionPolicy Never: no digest
  kReuse,   // IfNotPresent, same image and tag as before: latest.digest set
  kLookUp,  // ask the reflector, then CompleteWithDigest()
};

// Publish `latest` and set Ready=True (reason Succeeded) with `message`.
struct Selected {
  // Image and tag; the digest when `digest` is kReuse.
  v1::ImageRef latest;
  DigestStep digest = DigestStep::kNone;
  DowngradeRule downgrade = DowngradeRule::kNotApplied;
  // The previous tag the no-downgrade rule compared with; "" when
  // kNotApplied.
  std::string previous_tag;
  // Zero: no requeue.
  absl::Duration requeue_after = absl::ZeroDuration();
  // The Ready message, exact once the digest is known (with kLookUp,
  // CompleteWithDigest() recomputes it).
  std::string message;
  // What the message says after "(previously ...)": the no-downgrade note
  // and the held-back tag.
  std::string message_suffix;
};

using SelectionDecision = std::variant<HoldSelection, NotReady, Selected>;

// Decides (see the file comment). An error only when spec.interval does not
// parse with digestReflectionPolicy Always (which Apply refuses).
absl::StatusOr<SelectionDecision> DecideSelection(const SelectionInputs& in);

// Sets the digest of a kLookUp decision and its message, given the status
// the decision was made with.
void CompleteWithDigest(Selected* selected, std::string digest,
                        const v1::ImagePolicyStatus& status);

// The NotReady of a failed digest lookup (DigestLookupFailed).
NotReady DigestLookupFailed(const Selected& selected,
                            const absl::Status& error);

// Records `latest` in `status`: when it differs from status.latestRef, the
// old one becomes observedPreviousRef (cleared when there was none).
void RecordSelection(v1::ImagePolicyStatus* status, const v1::ImageRef& latest);

// The Ready message for `latest`, given the status after RecordSelection:
//   Latest image tag for <image> resolved to <tag>[ (previously
//   <image>:<tag>)]<suffix>
std::string ReadyMessage(const v1::ImagePolicyStatus& recorded,
                         const v1::ImageRef& latest, absl::string_view suffix);

}  // namespace ia::policy

#endif  // SERVICES_POLICY_DECIDE_H_
