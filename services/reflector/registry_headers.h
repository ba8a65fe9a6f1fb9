// The HTTP header grammar the registry client needs, as pure functions:
// WWW-Authenticate challenges (RFC 7235), Link headers (RFC 8288) and their
// resolution against the registry's URL, and Retry-After (RFC 9110: seconds
// or an HTTP date). Internal to the reflector; tested directly.
//
// Pure functions; thread-safe.
#ifndef SERVICES_REFLECTOR_REGISTRY_HEADERS_H_
#define SERVICES_REFLECTOR_REGISTRY_HEADERS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ia::reflector {

// One challenge of a WWW-Authenticate header: `Bearer realm="...",
// service="...",scope="..."` gives scheme "bearer" (lower case) and the
// parameters with lower-case names and unquoted values.
struct AuthChallenge {
  std::string scheme;
  std::map<std::string, std::string> params;
  // The parameter, or "" when absent.
  std::string Param(const std::string& name) const;
};

// Every challenge in `header`, in order. Malformed parts are skipped, so
// the result may be empty.
std::vector<AuthChallenge> ParseWwwAuthenticate(absl::string_view header);

// The target of the first link with rel="next" (or rel=next, or a rel list
// holding "next") in a Link header, as written (still relative or absolute);
// nullopt when there is none.
std::optional<std::string> ParseNextLink(absl::string_view header);

// An absolute URL split into its origin and the rest.
struct UrlParts {
  std::string scheme;          // "http" or "https", lower case
  std::string host;            // "127.0.0.1", "[::1]", lower case
  int port = 0;                // the explicit port, or the scheme's default
  std::string path_and_query;  // "/v2/app/tags/list?n=2" ("/" when empty)
  // "https://host:port" (the port only when not the scheme's default).
  std::string Origin() const;
};

// Splits an http(s) URL. INVALID_ARGUMENT for another scheme or no host.
absl::StatusOr<UrlParts> ParseUrl(absl::string_view url);

// Resolves a next link found in a reply to `base` (the absolute URL that was
// requested): "/v2/..." against base's origin, "tags/list?..." against
// base's folder, "?last=x" against base's path. An absolute link must have
// base's scheme, host and port: INVALID_ARGUMENT otherwise, naming the host
// it pointed to.
absl::StatusOr<std::string> ResolveNextLink(absl::string_view base,
                                            absl::string_view link);

// How long a Retry-After header asks to wait, measured from `now`: delay
// seconds ("120") or an HTTP date ("Wed, 21 Oct 2015 07:28:00 GMT", also
// the obsolete RFC 850 and asctime forms). A date in the past gives zero.
// nullopt when the value is neither.
std::optional<absl::Duration> ParseRetryAfter(absl::string_view value,
                                              absl::Time now);

}  // namespace ia::reflector

#endif  // SERVICES_REFLECTOR_REGISTRY_HEADERS_H_
