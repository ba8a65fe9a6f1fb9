// The four object kinds as one type, and helpers that work on any of them:
// keys, conditions, API versions.
//
// Pure functions; thread-compatible.
#ifndef COMMON_OBJECTS_H_
#define COMMON_OBJECTS_H_

#include <string>
#include <variant>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "imageautomation/v1/objects.pb.h"

namespace ia {

namespace v1 = ::imageautomation::v1;

// Any object a manifest can hold.
using AnyObject = std::variant<v1::ImageRepository, v1::ImagePolicy,
                               v1::ImageUpdateAutomation, v1::GitRepository>;

inline constexpr absl::string_view kDefaultNamespace = "flux-system";
inline constexpr absl::string_view kImageApiGroup = "image.toolkit.fluxcd.io";
inline constexpr absl::string_view kSourceApiGroup = "source.toolkit.fluxcd.io";
// The apiVersion objects are stored and printed with.
inline constexpr absl::string_view kImageApiVersion =
    "image.toolkit.fluxcd.io/v1";
inline constexpr absl::string_view kSourceApiVersion =
    "source.toolkit.fluxcd.io/v1";

// Kind name of each message type: "ImageRepository", ...
template <typename T>
absl::string_view KindOf();
template <>
inline absl::string_view KindOf<v1::ImageRepository>() {
  return "ImageRepository";
}
template <>
inline absl::string_view KindOf<v1::ImagePolicy>() {
  return "ImagePolicy";
}
template <>
inline absl::string_view KindOf<v1::ImageUpdateAutomation>() {
  return "ImageUpdateAutomation";
}
template <>
inline absl::string_view KindOf<v1::GitRepository>() {
  return "GitRepository";
}

absl::string_view KindOf(const AnyObject& object);
const v1::ObjectMeta& MetaOf(const AnyObject& object);

// "namespace/name", the key of work queues and stores.
std::string KeyOf(const v1::ObjectMeta& meta);
std::string KeyOf(absl::string_view ns, absl::string_view name);
// Splits "namespace/name"; false when there is no '/'.
bool SplitKey(absl::string_view key, std::string* ns, std::string* name);

// "ImageRepository flux-system/app": how messages name an object.
std::string DisplayName(absl::string_view kind, const v1::ObjectMeta& meta);

// The annotation `flux reconcile` sets to ask for a reconcile now; handled
// requests are copied to status.lastHandledReconcileAt.
inline constexpr absl::string_view kReconcileRequestedAt =
    "reconcile.fluxcd.io/requestedAt";

// Condition types and status values (kstatus).
inline constexpr absl::string_view kReady = "Ready";
inline constexpr absl::string_view kReconciling = "Reconciling";
inline constexpr absl::string_view kStalled = "Stalled";
inline constexpr absl::string_view kTrue = "True";
inline constexpr absl::string_view kFalse = "False";
inline constexpr absl::string_view kUnknown = "Unknown";

// Sets (adds or replaces) the condition `type` in `conditions`. The
// last_transition_time is `now` when the status changes (or the condition is
// new) and kept otherwise, as metav1 conditions are.
void SetCondition(google::protobuf::RepeatedPtrField<v1::Condition>* conditions,
                  absl::string_view type, absl::string_view status,
                  absl::string_view reason, absl::string_view message,
                  int64_t observed_generation, absl::Time now);
// Removes the condition `type` if present.
void RemoveCondition(
    google::protobuf::RepeatedPtrField<v1::Condition>* conditions,
    absl::string_view type);
// The condition `type`, or nullptr.
const v1::Condition* FindCondition(
    const google::protobuf::RepeatedPtrField<v1::Condition>& conditions,
    absl::string_view type);

google::protobuf::Timestamp ToProtoTime(absl::Time t);
// `t` rounded down to a whole second, the precision of Kubernetes times
// (metav1.Time) such as creationTimestamp and lastTransitionTime.
absl::Time WholeSeconds(absl::Time t);
absl::Time FromProtoTime(const google::protobuf::Timestamp& t);

}  // namespace ia

#endif  // COMMON_OBJECTS_H_
