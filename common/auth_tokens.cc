#include "common/auth_tokens.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/files.h"
#include "common/log.h"

namespace ia {
namespace {

constexpr size_t kMinTokenLength = 16;

}  // namespace

absl::StatusOr<std::vector<TokenEntry>> ParseTokens(absl::string_view text,
                                                    absl::string_view source) {
  std::vector<TokenEntry> entries;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    const std::string at = absl::StrCat(source, ": line ", line_number, ": ");
    if (fields.size() != 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          at, "want TOKEN IDENTITY (two fields), found ", fields.size()));
    }
    if (fields[0].size() < kMinTokenLength) {
      return absl::InvalidArgumentError(
          absl::StrCat(at, "the token of ", fields[1], " is shorter than ",
                       kMinTokenLength, " characters"));
    }
    for (const TokenEntry& e : entries) {
      if (e.token == fields[0]) {
        return absl::InvalidArgumentError(
            absl::StrCat(at, "the token of ", fields[1],
                         " is also the token of ", e.identity));
      }
    }
    entries.push_back({std::string(fields[0]), std::string(fields[1])});
  }
  return entries;
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  const size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? a[i] : 0;
    const unsigned char y = i < b.size() ? b[i] : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

absl::StatusOr<std::unique_ptr<TokenFile>> TokenFile::Open(
    std::string path, std::chrono::steady_clock::duration recheck_every) {
  std::unique_ptr<TokenFile> file(
      new TokenFile(std::move(path), recheck_every));
  {
    absl::MutexLock lock(&file->mu_);
    absl::Status status = file->ReloadIfChanged();
    if (!status.ok()) return status;
    file->last_check_ = std::chrono::steady_clock::now();
  }
  return file;
}

absl::Status TokenFile::ReloadIfChanged() {
  struct stat st;
  if (stat(path_.c_str(), &st) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--auth-tokens-file: cannot read ", path_, ": ", std::strerror(errno)));
  }
  const Stamp stamp{
      static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
      static_cast<int64_t>(st.st_size)};
  if (stamp == stamp_) return absl::OkStatus();
  absl::StatusOr<std::string> text = ReadFileToString(path_);
  if (!text.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--auth-tokens-file: ", text.status().message()));
  }
  absl::StatusOr<std::vector<TokenEntry>> entries = ParseTokens(*text, path_);
  if (!entries.ok()) return entries.status();
  entries_ = *std::move(entries);
  stamp_ = stamp;
  return absl::OkStatus();
}

std::optional<std::string> TokenFile::IdentityOf(absl::string_view token) {
  absl::MutexLock lock(&mu_);
  const auto now = std::chrono::steady_clock::now();
  if (now - last_check_ >= recheck_every_) {
    last_check_ = now;
    absl::Status status = ReloadIfChanged();
    if (!status.ok()) {
      log::Error("tokens file not reloaded; keeping the last good tokens")
          .With("error", status);
    }
  }
  // Every entry is compared, so the time taken does not tell which matched.
  std::optional<std::string> identity;
  for (const TokenEntry& entry : entries_) {
    if (ConstantTimeEquals(entry.token, token) && !identity) {
      identity = entry.identity;
    }
  }
  return identity;
}

}  // namespace ia
