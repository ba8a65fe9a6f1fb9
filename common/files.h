// Reading a whole file, once for the whole code base: manifests, PEM files
// named by flags, secrets, tokens, templates.
//
// Thread-safe (no shared state).
#ifndef COMMON_FILES_H_
#define COMMON_FILES_H_

#include <string>

#include "absl/status/statusor.h"

namespace ia {

// The bytes of the file at `path`. On failure, the status carries the
// errno's code (NOT_FOUND, PERMISSION_DENIED, ...) and the message
// "cannot read PATH: REASON"; callers that must not show the path (secrets)
// word their own message from the code.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

}  // namespace ia

#endif  // COMMON_FILES_H_
