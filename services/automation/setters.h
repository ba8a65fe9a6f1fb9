// Setters: the byte-exact YAML rewrite of image automation. A "marker" is a
// line comment holding the JSON object {"$imagepolicy": "NS:NAME"} (any JSON
// spacing; also "NS:NAME:tag", "NS:NAME:name", "NS:NAME:digest") after a
// scalar; the scalar becomes the policy's latest image name:tag[@digest], its
// tag, its name or its digest. Only the marked scalar's bytes change: every
// other byte of the file (comments, blank lines, block scalars, indentation,
// CRLF, quoting) stays as it was.
//
// How: libyaml's event parser reads the file (the parser go-yaml, and so
// Flux, is a port of: a file that does not parse is reported with go-yaml's
// words and skipped, and block-scalar content is never mistaken for a
// comment); no tree is built. Each scalar event gives its position and its
// style. From there a small scanner finds the scalar's token in the raw
// bytes (after any anchor or tag), checks that it ends where the parser's
// token ends and decodes to exactly what the parser read (else the scalar is
// not touched), and looks at the rest of its line for a comment.
// The comment of a line applies to the last value scalar that ends on that
// line ({image: x} # marker applies to x). Edits are byte splices.
//
// ApplySettersToContent is pure. ComputeSetterUpdates reads files (safely, see
// safe_files.h) but never writes; WriteSetterUpdates writes the result
// atomically. All functions are thread-safe (no shared state).
#ifndef SERVICES_AUTOMATION_SETTERS_H_
#define SERVICES_AUTOMATION_SETTERS_H_

#include <compare>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/automation/safe_files.h"

namespace ia::automation {

// A policy's latest image: name as the ImageRepository's spec.image is
// written, the selected tag, and the digest when known ("sha256:...").
struct ImageRef {
  std::string name;
  std::string tag;
  std::string digest;

  // name:tag[@digest] (name[@digest] without a tag).
  std::string Full() const;
  bool operator==(const ImageRef&) const = default;
};

// Policies by key "NS:NAME".
using PolicyMap = std::map<std::string, ImageRef>;

// The Kubernetes object (YAML document) holding a marker; empty fields when
// the document has none (a top-level sequence, a Kustomization without
// metadata). Ordered as Flux's template ranges over objects.
struct ObjectId {
  std::string api_version;
  std::string kind;
  std::string name;
  std::string ns;

  auto operator<=>(const ObjectId&) const = default;
  bool operator==(const ObjectId&) const = default;
};

// One scalar changed by a marker.
struct Change {
  std::string file;          // relative to the checkout root, '/' separated
  std::string file_in_path;  // relative to update.path (Flux's template key)
  int line = 0;              // 1-based line of the scalar
  ObjectId object;
  std::string setter;  // the marker's value, e.g. "flux-system:app:tag"
  std::string old_value;
  std::string new_value;

  bool operator==(const Change&) const = default;
};

// A marker left alone, and why (policy not selected, other namespace, no
// digest known, malformed marker, unknown field, an empty value with no
// bytes of its own such as a flow key's implicit value).
struct IgnoredMarker {
  std::string file;
  int line = 0;
  std::string setter;  // as written; the raw comment when not valid JSON
  std::string reason;

  bool operator==(const IgnoredMarker&) const = default;
};

// A file that was not rewritten: it does not parse, or it cannot be read
// safely (a symlink, unreadable). `line` is 1-based, 0 when not about a line.
struct SkippedFile {
  std::string file;
  int line = 0;
  std::string reason;
  // A symlink met while walking: never followed, which is expected and not
  // a failure.
  bool symlink = false;

  bool operator==(const SkippedFile&) const = default;
};

struct SetterOptions {
  // Markers naming another namespace are ignored (and reported); empty
  // accepts every namespace (imagectl rewrite).
  std::string automation_namespace;
};

// The outcome of one file's bytes.
struct ContentResult {
  std::string content;  // the new bytes (== input when nothing changed)
  bool changed = false;
  std::vector<Change> changes;  // `file` fields as given
  std::vector<IgnoredMarker> ignored;
  bool skipped = false;  // did not parse: content unchanged, see `skip`
  SkippedFile skip;
};

// Applies the markers of one file's bytes. `file` is only copied into the
// records (both Change::file and Change::file_in_path). Never fails: a file
// that does not parse comes back with skipped = true.
ContentResult ApplySettersToContent(absl::string_view file,
                                    absl::string_view content,
                                    const PolicyMap& policies,
                                    const SetterOptions& options);

struct SetterResult {
  std::vector<FileUpdate> updates;  // sorted by file
  std::vector<Change> changes;      // by file, then position
  std::vector<IgnoredMarker> ignored;
  std::vector<SkippedFile> skipped;
};

// Whether the setters read a file with this name: *.yaml, *.yml or
// "Kustomization".
bool IsSetterCandidateName(absl::string_view file_name);

// Reads every candidate file under `root`/`update_path` that contains
// "$imagepolicy" (quoted, as Flux screens) and applies the markers. Writes
// nothing. Symlinks are never followed while walking and `update_path` may
// not leave `root` (see safe_files.h). INVALID_ARGUMENT when update_path is
// absolute or leaves the root, NOT_FOUND when it does not exist; files that
// cannot be read or parsed are reported in `skipped`, not errors.
absl::StatusOr<SetterResult> ComputeSetterUpdates(absl::string_view root,
                                                  absl::string_view update_path,
                                                  const PolicyMap& policies,
                                                  const SetterOptions& options);

// Writes the updates under `root` with WriteFilesUnderRoot (safe_files.h):
// each file replaced atomically, its mode kept, never through a symlink;
// none replaced when one cannot be written.
absl::Status WriteSetterUpdates(absl::string_view root,
                                const std::vector<FileUpdate>& updates,
                                Durability durability = Durability::kDurable);

// Whether `value` must be double-quoted to stay a string when written as a
// plain scalar (it would read as null, bool, int, float, timestamp, or it
// holds YAML indicators). `in_flow` adds the flow indicators ,[]{}.
bool NeedsQuotes(absl::string_view value, bool in_flow);

}  // namespace ia::automation

#endif  // SERVICES_AUTOMATION_SETTERS_H_
