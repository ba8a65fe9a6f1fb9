// Structured logging: one JSON object per line on stderr, in the shape
// Flux's controllers log (level, ts, logger, msg, then fields), e.g.
//   {"level":"info","ts":"2026-11-25T10:00:00.123Z","logger":"reflector",
//    "msg":"object applied","kind":"ImageRepository","name":"flux-system/app"}
//
// Secret values must never be passed to a log call: log the secret's name,
// never its content.
//
// Thread-safe: lines from different threads never interleave.
#ifndef COMMON_LOG_H_
#define COMMON_LOG_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ia::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Parses "debug", "info", "warn" or "error".
bool ParseLevel(absl::string_view text, Level* level);

// Sets the logger name written on every line and the lowest level written.
// Call once at start; before that, lines go out with logger "" at info.
void Init(absl::string_view logger, Level min_level);

// One line under construction; written when destroyed (at the end of the
// full expression that made it):
//   log::Info("scan finished").With("name", key).With("tags", n);
class Entry {
 public:
  Entry(Level level, absl::string_view msg);
  ~Entry();
  Entry(const Entry&) = delete;
  Entry& operator=(const Entry&) = delete;

  Entry& With(absl::string_view key, absl::string_view value);
  Entry& With(absl::string_view key, const char* value);
  Entry& With(absl::string_view key, const std::string& value);
  Entry& With(absl::string_view key, int64_t value);
  Entry& With(absl::string_view key, int value);
  Entry& With(absl::string_view key, bool value);
  // Writes the status message under `key` (and nothing when it is OK).
  Entry& With(absl::string_view key, const absl::Status& status);

 private:
  bool enabled_;
  Level level_;
  std::string msg_;
  // Field name and its JSON-encoded value.
  std::vector<std::pair<std::string, std::string>> fields_;
};

inline Entry Debug(absl::string_view msg) { return Entry(Level::kDebug, msg); }
inline Entry Info(absl::string_view msg) { return Entry(Level::kInfo, msg); }
inline Entry Warn(absl::string_view msg) { return Entry(Level::kWarn, msg); }
inline Entry Error(absl::string_view msg) { return Entry(Level::kError, msg); }

}  // namespace ia::log

#endif  // COMMON_LOG_H_
