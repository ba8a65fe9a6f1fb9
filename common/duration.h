// Durations as Flux writes them (metav1.Duration in a CRD with the pattern
// ^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$): "30s", "1m", "1h30m", "1.5h", "500ms".
//
// Pure functions; thread-safe.
#ifndef COMMON_DURATION_H_
#define COMMON_DURATION_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ia {

// Parses `text`. INVALID_ARGUMENT with a message that quotes the text and
// says what is wrong, e.g. `invalid duration "5x": unknown unit "x" (use ms,
// s, m or h)`, for anything else (empty, negative, no unit, ...).
absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text);

// Formats as Go's time.Duration.String() does: "1m0s", "1h30m0s", "500ms",
// "0s". Infinite or out-of-range durations are clamped to Go's limits (about
// 292 years). Call it qualified (ia::FormatDuration): with an absl::Duration
// argument, argument-dependent lookup also finds absl::FormatDuration.
std::string FormatDuration(absl::Duration d);

}  // namespace ia

#endif  // COMMON_DURATION_H_
