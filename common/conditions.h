// Conditions as kstatus and Flux's controllers write them: the reasons Flux
// uses (so `flux get` and scripts reading them see the same words), and the
// two shapes every reconciler writes at the end of a reconcile, Ready and
// not Ready (optionally Stalled: terminal until the spec changes).
//
// Pure functions over a status' condition list; thread-compatible.
#ifndef COMMON_CONDITIONS_H_
#define COMMON_CONDITIONS_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/objects.h"

namespace ia {

// Reasons, as Flux's controllers spell them (fluxcd/pkg/apis/meta and the
// image controllers' API packages), plus ours where Flux has none.
namespace reason {
inline constexpr absl::string_view kSucceeded = "Succeeded";
inline constexpr absl::string_view kFailure = "Failure";
inline constexpr absl::string_view kDependencyNotReady = "DependencyNotReady";
inline constexpr absl::string_view kProgressing = "Progressing";
// ImageRepository.
inline constexpr absl::string_view kAuthenticationFailed =
    "AuthenticationFailed";
inline constexpr absl::string_view kReadOperationFailed = "ReadOperationFailed";
inline constexpr absl::string_view kImageURLInvalid = "ImageURLInvalid";
// Ours: an exclusionList pattern that RE2 does not compile (Stalled).
inline constexpr absl::string_view kInvalidExclusionList =
    "InvalidExclusionList";
// ImagePolicy.
inline constexpr absl::string_view kInvalidPolicy = "InvalidPolicy";
// Ours: digestReflectionPolicy could not get the selected tag's digest.
inline constexpr absl::string_view kDigestLookupFailed = "DigestLookupFailed";
// ImageUpdateAutomation and GitRepository.
inline constexpr absl::string_view kInvalidSourceConfiguration =
    "InvalidSourceConfiguration";
inline constexpr absl::string_view kGitOperationFailed = "GitOperationFailed";
inline constexpr absl::string_view kUpdateFailed = "UpdateFailed";
// spec.git.commit.messageTemplate does not parse.
inline constexpr absl::string_view kInvalidMessageTemplate =
    "InvalidMessageTemplate";
}  // namespace reason

using Conditions = google::protobuf::RepeatedPtrField<v1::Condition>;

// Ready=True with `reason` and `message`; Stalled and Reconciling removed.
void SetReady(Conditions* conditions, absl::string_view reason,
              absl::string_view message, int64_t observed_generation,
              absl::Time now);

// Ready=False with `reason` and `message`; Reconciling removed. With
// `stalled`, also Stalled=True with the same reason and message (a terminal
// problem, not retried until the spec changes); without, Stalled removed.
void SetNotReady(Conditions* conditions, absl::string_view reason,
                 absl::string_view message, bool stalled,
                 int64_t observed_generation, absl::Time now);

// What a reconcile saw of its object when it read it: the generation and
// the pending reconcile request. A reconcile takes it at its read and records
// it at its status write (MarkObserved), so that a spec changed meanwhile is
// not reported as observed (the object UpdateStatus hands to `mutate` is the
// one stored at write time, possibly newer).
struct Observed {
  int64_t generation = 0;
  std::string requested_at;  // kReconcileRequestedAt's value; "" when none
};

// The Observed of `object` as it is now. For any of the four kinds.
template <typename T>
Observed ObservedOf(const T& object) {
  Observed observed{.generation = object.metadata().generation()};
  const auto& annotations = object.metadata().annotations();
  auto it = annotations.find(std::string(kReconcileRequestedAt));
  if (it != annotations.end()) observed.requested_at = it->second;
  return observed;
}

// Records in `object`'s status that `observed` (its generation, and its
// reconcile request if any) has been handled. For any of the four kinds.
template <typename T>
void MarkObserved(T* object, const Observed& observed) {
  if (!observed.requested_at.empty()) {
    object->mutable_status()->set_last_handled_reconcile_at(
        observed.requested_at);
  }
  object->mutable_status()->set_observed_generation(observed.generation);
}

}  // namespace ia

#endif  // COMMON_CONDITIONS_H_
