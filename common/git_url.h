// GitUrl: the one parser of Git remote URLs (GitRepository spec.url), used
// where the field is checked on Apply, where a run decides between SSH and
// HTTP credentials, and where the automation service connects:
//
//   https://[user[:password]@]host[:port]/path    (also http://)
//   ssh://[user@]host[:port]/path                  (IPv6 hosts in brackets)
//   [user@]host:path                               (scp-like, always SSH)
//   file:///absolute/path
//
// Schemes are case-insensitive. Pure functions; thread-safe.
#ifndef COMMON_GIT_URL_H_
#define COMMON_GIT_URL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ia {

// The parts of a Git URL that matter here. `scp` is true for the
// "user@host:path" form (always SSH).
struct GitUrl {
  std::string scheme;    // "https", "http", "ssh", "file"
  std::string user;      // percent-decoded
  std::string password;  // percent-decoded
  std::string host;      // without brackets for IPv6
  int port = 0;          // 0: the scheme's default
  std::string path;
  bool scp = false;
};

// Parses `url`. INVALID_ARGUMENT when it is none of the forms above, with a
// message naming the URL without its credentials and what is wrong, e.g.
//   Git URL "ftp://host/repo" has the unsupported scheme "ftp" (use https://,
//   http://, ssh://[user@]host[:port]/path, user@host:path or file:///path)
absl::StatusOr<GitUrl> ParseGitUrl(absl::string_view url);

// `url` without a password, and for http(s) without any userinfo: what may
// be logged, returned in errors and stored as the clone's origin. Text that
// is not a URL with a scheme is returned as it is.
std::string RedactUrl(absl::string_view url);

}  // namespace ia

#endif  // COMMON_GIT_URL_H_
