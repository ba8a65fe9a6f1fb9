// Validation and defaulting of the four object kinds: what Flux's CRD
// schemas and controllers reject, we reject on Apply, with a message that
// names the object, the field and what is wrong:
//   ImageRepository flux-system/app: spec.interval: invalid duration "5x": ...
//   ImagePolicy flux-system/app: spec.policy: only one of semver, alphabetical,
//   numerical may be set
//
// Defaults filled in (as Flux's CRD defaults): metadata.namespace
// "flux-system", apiVersion (normalised to .../v1: v1beta2 and v1beta1 are
// accepted) and kind, exclusionList ["^.*\\.sig$"], provider "generic",
// policy order "asc", digestReflectionPolicy "Never", sourceRef.kind
// "GitRepository", update.strategy "Setters", update.path "./", GitRepository
// timeout "60s". Nothing else is rewritten (an ImageRepository's timeout
// stays empty, meaning "the interval").
//
// Each error carries the dotted path of the field it is about (e.g.
// "spec.exclusionList[2]") as a payload, so that manifest.h can point at the
// line of that field; read it with FieldPathOf().
//
// Pure functions; thread-safe.
#ifndef COMMON_VALIDATION_H_
#define COMMON_VALIDATION_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/objects.h"

namespace ia {

// Fills defaults into `object` and validates it. INVALID_ARGUMENT with the
// message above on the first problem found. Status fields are not looked at.
absl::Status ValidateAndDefault(v1::ImageRepository* object);
absl::Status ValidateAndDefault(v1::ImagePolicy* object);
absl::Status ValidateAndDefault(v1::ImageUpdateAutomation* object);
absl::Status ValidateAndDefault(v1::GitRepository* object);
absl::Status ValidateAndDefault(AnyObject* object);

// Checks that `name` is a DNS-1123 subdomain (what Kubernetes allows as an
// object name) and `ns` a DNS-1123 label or empty (empty means
// "flux-system"). INVALID_ARGUMENT naming the field, e.g.
//   metadata.name: "My_App" is not a valid name: ...
absl::Status ValidateObjectName(absl::string_view ns, absl::string_view name);

// The payload type URL under which errors of this file carry the field path.
inline constexpr absl::string_view kFieldPathPayload =
    "type.googleapis.com/imageautomation.FieldPath";

// The field path an error of ValidateAndDefault is about ("spec.interval"),
// or "" when it carries none.
std::string FieldPathOf(const absl::Status& status);

// INVALID_ARGUMENT "<path>: <problem>" carrying `path` as the field path
// payload: how the checks that live with the code interpreting a field (the
// policy engine's, for instance) report, so that a manifest error still
// points at the field's line.
absl::Status FieldError(absl::string_view path, absl::string_view problem);

}  // namespace ia

#endif  // COMMON_VALIDATION_H_
