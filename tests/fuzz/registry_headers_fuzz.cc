// Fuzz target: the registry's HTTP headers (services/reflector/
// registry_headers.h): WWW-Authenticate, Link (and resolving its next link
// against the URL requested) and Retry-After, as the registry client reads
// every reply. Input: WWW_AUTHENTICATE \0 LINK \0 BASE_URL \0 RETRY_AFTER.
//
// Properties: challenge schemes and parameter names come back in lower case;
// a resolved next link is an http(s) URL on the base's origin; a
// Retry-After is never negative.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/time/time.h"
#include "services/reflector/registry_headers.h"
#include "tests/fuzz/fuzz_input.h"

namespace reflector = ia::reflector;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ia::fuzz::FuzzInput input(data, size);
  const absl::string_view www_authenticate = input.Next();
  const absl::string_view link = input.Next();
  const absl::string_view base = input.Next();
  const absl::string_view retry_after = input.Next();

  for (const reflector::AuthChallenge& challenge :
       reflector::ParseWwwAuthenticate(www_authenticate)) {
    IA_FUZZ_CHECK_EQ("schemes are lower case", challenge.scheme,
                     absl::AsciiStrToLower(challenge.scheme));
    for (const auto& [name, value] : challenge.params) {
      IA_FUZZ_CHECK_EQ("parameter names are lower case", name,
                       absl::AsciiStrToLower(name));
      IA_FUZZ_CHECK_EQ("Param finds a parameter", challenge.Param(name), value);
    }
  }

  absl::StatusOr<reflector::UrlParts> base_parts = reflector::ParseUrl(base);
  if (base_parts.ok()) {
    IA_FUZZ_CHECK("a URL is http or https", base_parts->scheme == "http" ||
                                                base_parts->scheme == "https");
    IA_FUZZ_CHECK("a URL has a host", !base_parts->host.empty());
    absl::StatusOr<reflector::UrlParts> origin =
        reflector::ParseUrl(base_parts->Origin());
    IA_FUZZ_CHECK("an origin parses", origin.ok());
    IA_FUZZ_CHECK_EQ("an origin keeps the host", origin->host,
                     base_parts->host);
    IA_FUZZ_CHECK("an origin keeps the port", origin->port == base_parts->port);
  }
  const std::optional<std::string> next = reflector::ParseNextLink(link);
  // The link itself, too, whether or not the header named a next one.
  for (const absl::string_view target :
       {next.has_value() ? absl::string_view(*next) : link, link}) {
    absl::StatusOr<std::string> resolved =
        reflector::ResolveNextLink(base, target);
    if (!resolved.ok()) continue;
    IA_FUZZ_CHECK("a link resolves only against a URL", base_parts.ok());
    absl::StatusOr<reflector::UrlParts> parts = reflector::ParseUrl(*resolved);
    IA_FUZZ_CHECK("a resolved link is a URL", parts.ok());
    IA_FUZZ_CHECK_EQ("a resolved link stays on the base's origin",
                     parts->Origin(), base_parts->Origin());
  }

  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  const std::optional<absl::Duration> wait =
      reflector::ParseRetryAfter(retry_after, now);
  IA_FUZZ_CHECK("Retry-After is never negative",
                !wait.has_value() || *wait >= absl::ZeroDuration());
  return 0;
}
