// Secrets: read-only access to Kubernetes-style secrets mounted as files,
// --secrets-dir DIR laid out as DIR/<namespace>/<name>/<key> (what a pod
// gets from a Secret volume per namespace). Values are read when needed,
// never stored, and never appear in a returned error: errors name the
// secret and the key only.
//
// Names are checked (DNS-1123, as Kubernetes allows), so a reference can
// never reach outside DIR; keys may hold letters, digits, '-', '_' and '.'
// (as Kubernetes allows) but must not be "." or "..". Files behind symlinks
// are read, as Kubernetes mounts keys through symlinks (..data/).
//
// Thread-safe (no mutable state).
#ifndef COMMON_SECRETS_H_
#define COMMON_SECRETS_H_

#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ia {

class Secrets {
 public:
  // `dir` may be empty: every read then fails with FAILED_PRECONDITION
  // saying that --secrets-dir is not set.
  explicit Secrets(std::string dir) : dir_(std::move(dir)) {}

  // Every key of the secret. NOT_FOUND when the secret does not exist,
  // INVALID_ARGUMENT for an invalid name.
  absl::StatusOr<std::map<std::string, std::string>> Read(
      absl::string_view ns, absl::string_view name) const;

  // One key; nullopt when the secret exists but lacks the key.
  absl::StatusOr<std::optional<std::string>> ReadKey(
      absl::string_view ns, absl::string_view name,
      absl::string_view key) const;

 private:
  absl::StatusOr<std::string> SecretPath(absl::string_view ns,
                                         absl::string_view name) const;
  std::string dir_;
};

}  // namespace ia

#endif  // COMMON_SECRETS_H_
