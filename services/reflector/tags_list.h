// TagsList: reads one page of a registry's tags/list reply (the Docker
// Registry HTTP API V2 and OCI distribution spec shape,
// {"name": "...", "tags": ["...", ...]}) straight into tag names, in one
// pass over the bytes, without building a JSON document: a scan of 1,000
// repositories spent a fifth of its CPU in a DOM.
//
// Strict JSON (RFC 8259): the whole body must be one object, strings must
// be valid UTF-8 with valid escapes (\uXXXX pairs decoded to UTF-8), and
// members other than "tags" may hold any JSON value (skipped, nesting up to
// kMaxTagsListDepth). "tags" absent or null means no tags; when the key
// appears twice the last one wins, as in common JSON libraries.
//
// Pure functions; thread-safe.
#ifndef SERVICES_REFLECTOR_TAGS_LIST_H_
#define SERVICES_REFLECTOR_TAGS_LIST_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ia::reflector {

// Deepest nesting of arrays and objects accepted in skipped members.
inline constexpr int kMaxTagsListDepth = 64;

// Appends the tags of the page `body` to `tags`. On success returns OK.
// When `tags` would hold more than `max_tags` names, RESOURCE_EXHAUSTED
// (whatever else the page holds). When `body` is not such a reply,
// DATA_LOSS whose message says why and where ("expected ',' or ']' at byte
// 42", "\"tags\" is not an array"); the caller names the registry and the
// request. On error `tags` holds some of the page's names: discard it.
absl::Status ParseTagsList(absl::string_view body, int64_t max_tags,
                           std::vector<std::string>* tags);

}  // namespace ia::reflector

#endif  // SERVICES_REFLECTOR_TAGS_LIST_H_
