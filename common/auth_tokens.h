// Bearer tokens for the gRPC API, from an --auth-tokens-file: one token and
// the identity it stands for per line, separated by blanks; blank lines and
// lines starting with '#' are ignored:
//
//   # token                            identity
//   3f9c0a7e5b...                      ci-deployer
//
// A token is compared in constant time with every token in the file. The
// file is read again when its modification time or size changes (checked
// at most once per `recheck_every`, on use), so tokens rotate without a
// restart; a file that became unreadable or invalid keeps the last good tokens
// and logs why (never a token).
//
// Thread-safe.
#ifndef COMMON_AUTH_TOKENS_H_
#define COMMON_AUTH_TOKENS_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace ia {

struct TokenEntry {
  std::string token;
  std::string identity;
};

// Parses a tokens file's text; `source` names it in errors.
// INVALID_ARGUMENT naming the line ("tokens: line 3: want TOKEN IDENTITY")
// when a line has not exactly two fields, a token is shorter than 16
// characters or appears twice. Errors never quote a token.
absl::StatusOr<std::vector<TokenEntry>> ParseTokens(absl::string_view text,
                                                    absl::string_view source);

// Whether `a` equals `b`, in a time that depends only on their lengths'
// maximum (not on where they differ).
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

class TokenFile {
 public:
  // Reads `path` at once. INVALID_ARGUMENT (as ParseTokens) or the read
  // error when it cannot.
  static absl::StatusOr<std::unique_ptr<TokenFile>> Open(
      std::string path, std::chrono::steady_clock::duration recheck_every =
                            std::chrono::seconds(1));

  // The identity of `token`, or nullopt when no line has it. Reloads the
  // file first when it changed (see above).
  std::optional<std::string> IdentityOf(absl::string_view token);

 private:
  struct Stamp {
    int64_t mtime_ns = 0;
    int64_t size = -1;
    bool operator==(const Stamp& o) const {
      return mtime_ns == o.mtime_ns && size == o.size;
    }
  };
  TokenFile(std::string path, std::chrono::steady_clock::duration recheck)
      : path_(std::move(path)), recheck_every_(recheck) {}
  // Reads the file when its stamp differs from the loaded one.
  absl::Status ReloadIfChanged() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  const std::chrono::steady_clock::duration recheck_every_;
  absl::Mutex mu_;
  std::vector<TokenEntry> entries_ ABSL_GUARDED_BY(mu_);
  Stamp stamp_ ABSL_GUARDED_BY(mu_);
  std::chrono::steady_clock::time_point last_check_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ia

#endif  // COMMON_AUTH_TOKENS_H_
