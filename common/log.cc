#include "common/log.h"

#include <cstdio>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace ia::log {
namespace {

struct Config {
  absl::Mutex mu;
  std::string logger ABSL_GUARDED_BY(mu);
  Level min_level ABSL_GUARDED_BY(mu) = Level::kInfo;
};

Config& GlobalConfig() {
  static Config* config = new Config();
  return *config;
}

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

std::string Quote(absl::string_view s) {
  return nlohmann::json(std::string(s))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

bool ParseLevel(absl::string_view text, Level* level) {
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    if (text == LevelName(l)) {
      *level = l;
      return true;
    }
  }
  return false;
}

void Init(absl::string_view logger, Level min_level) {
  Config& config = GlobalConfig();
  absl::MutexLock lock(&config.mu);
  config.logger = std::string(logger);
  config.min_level = min_level;
}

Entry::Entry(Level level, absl::string_view msg) : level_(level), msg_(msg) {
  Config& config = GlobalConfig();
  absl::MutexLock lock(&config.mu);
  enabled_ = level >= config.min_level;
}

Entry& Entry::With(absl::string_view key, absl::string_view value) {
  if (enabled_) fields_.emplace_back(std::string(key), Quote(value));
  return *this;
}
Entry& Entry::With(absl::string_view key, const char* value) {
  return With(key, absl::string_view(value));
}
Entry& Entry::With(absl::string_view key, const std::string& value) {
  return With(key, absl::string_view(value));
}
Entry& Entry::With(absl::string_view key, int64_t value) {
  if (enabled_) fields_.emplace_back(std::string(key), std::to_string(value));
  return *this;
}
Entry& Entry::With(absl::string_view key, int value) {
  return With(key, static_cast<int64_t>(value));
}
Entry& Entry::With(absl::string_view key, bool value) {
  if (enabled_)
    fields_.emplace_back(std::string(key), value ? "true" : "false");
  return *this;
}
Entry& Entry::With(absl::string_view key, const absl::Status& status) {
  if (!status.ok()) With(key, status.message());
  return *this;
}

Entry::~Entry() {
  if (!enabled_) return;
  Config& config = GlobalConfig();
  std::string line = "{\"level\":";
  line += Quote(LevelName(level_));
  line += ",\"ts\":";
  line += Quote(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                 absl::UTCTimeZone()));
  {
    absl::MutexLock lock(&config.mu);
    line += ",\"logger\":";
    line += Quote(config.logger);
  }
  line += ",\"msg\":";
  line += Quote(msg_);
  for (const auto& [key, value] : fields_) {
    line += ",";
    line += Quote(key);
    line += ":";
    line += value;
  }
  line += "}\n";
  absl::MutexLock lock(&config.mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace ia::log
