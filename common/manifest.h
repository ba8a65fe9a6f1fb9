// Manifests: Flux YAML (one or many documents per file) into the proto
// objects, and the objects back into Flux-shaped JSON and YAML.
//
// Parsing maps YAML keys onto proto fields by their JSON names (which are
// Flux's field names), walking the message descriptors, so every field of
// the API is read the same way. It checks shape (a mapping where a mapping
// belongs, a bool where a bool belongs, no unknown fields); meaning is
// checked by validation.h. Errors name the source, line, object and field:
//   apps.yaml:14: ImageRepository flux-system/app: spec.intervall: unknown
//   field
//
// What a manifest may hold besides our fields:
//  - `status` is ignored (services write it; it is never applied);
//  - metadata the Kubernetes API server writes (resourceVersion, uid,
//    generation, creationTimestamp, managedFields, finalizers, ...) is
//    ignored silently, so `kubectl get -o yaml` output applies as is;
//  - Flux fields we do not implement (GitRepository spec.verify, .ignore,
//    .include, .recurseSubmodules, .sparseCheckout, .serviceAccountName,
//    .gitImplementation, .accessFrom; metadata.generateName) are ignored
//    with a warning; ImageRepository spec.serviceAccountName and
//    spec.accessFrom are stored with a warning that they are not used;
//  - `kind: List` (as kubectl prints several objects) is read item by item.
// A scalar given for a string field is taken as written (`range: 1.2` is
// "1.2"); null means "not set"; bools are true/false only.
//
// Printing walks the messages in field order (apiVersion, kind, metadata,
// spec, status), leaves out unset and empty fields, sorts map keys, prints
// int64 as numbers and times as RFC 3339, and in YAML quotes any string that
// a YAML reader would otherwise take for a number, bool, null or time.
//
// Pure functions (LoadManifests reads files); thread-safe.
#ifndef COMMON_MANIFEST_H_
#define COMMON_MANIFEST_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/objects.h"

namespace ia {

// One object read from a manifest.
struct ManifestObject {
  AnyObject object;
  // Where it came from: "path/to/file.yaml:LINE" (the document's first line).
  std::string source;
  // Fields Flux has that we accept and ignore, e.g. "spec.verify is not
  // supported and is ignored".
  std::vector<std::string> warnings;
};

// The result of reading manifests: the good objects, and one error per bad
// document (or per unreadable file). A bad document never hides the others.
struct ManifestSet {
  std::vector<ManifestObject> objects;
  std::vector<absl::Status> errors;
};

// A check that lives with the code interpreting a kind's fields (e.g. the
// policy engine's ValidatePolicySpec), run on each object after
// validation.h's. Its error names the field ("spec.x: problem", with the
// field path payload of FieldError) but not the object.
using ObjectCheck = std::function<absl::Status(const AnyObject&)>;

// Parses YAML text holding any number of documents ('---' separated; empty
// documents are skipped). `source_name` prefixes positions in messages.
// Objects are parsed and validated (validation.h, then `check` when given),
// with defaults filled in.
ManifestSet ParseManifests(absl::string_view yaml,
                           absl::string_view source_name,
                           const ObjectCheck& check = nullptr);

// Reads a file, or every *.yaml / *.yml file under a directory (recursively,
// in path order; hidden entries skipped, such as a mounted ConfigMap's
// "..data"; links to files followed, links to directories not). A path that
// cannot be read gives an error naming it (NOT_FOUND when missing).
// `check` as for ParseManifests.
ManifestSet LoadManifests(const std::string& path,
                          const ObjectCheck& check = nullptr);

// The object in Flux's JSON shape (apiVersion, kind, metadata, spec, status),
// pretty-printed, fields absent when unset.
std::string ToJson(const AnyObject& object);
// The same as YAML.
std::string ToYaml(const AnyObject& object);

// Parses one object from the JSON or YAML shape above, without validation
// (no defaults either). Status and the metadata we model (generation, uid,
// creationTimestamp) are read; other server metadata is ignored; unknown
// fields are errors ("line 3: ImagePolicy flux-system/app: spec.x: unknown
// field"). INVALID_ARGUMENT unless the text holds exactly one object of a
// supported kind. Used by imagectl to read its own output back.
absl::StatusOr<AnyObject> ObjectFromYaml(absl::string_view yaml);

}  // namespace ia

#endif  // COMMON_MANIFEST_H_
