#include "services/reflector/registry_headers.h"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace ia::reflector {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

// A token character of a challenge: anything but separators we split on.
bool IsTokenChar(char c) {
  return !IsSpace(c) && c != ',' && c != '=' && c != '"' && c != ';' &&
         c != '\r' && c != '\n';
}

void SkipSpaces(absl::string_view s, size_t* pos) {
  while (*pos < s.size() && IsSpace(s[*pos])) ++*pos;
}

std::string ReadToken(absl::string_view s, size_t* pos) {
  const size_t start = *pos;
  while (*pos < s.size() && IsTokenChar(s[*pos])) ++*pos;
  return std::string(s.substr(start, *pos - start));
}

// A quoted-string starting at s[*pos] == '"', with backslash escapes;
// tolerates a missing closing quote.
std::string ReadQuoted(absl::string_view s, size_t* pos) {
  std::string out;
  ++*pos;  // the opening quote
  while (*pos < s.size()) {
    const char c = s[*pos];
    ++*pos;
    if (c == '"') break;
    if (c == '\\' && *pos < s.size()) {
      out.push_back(s[*pos]);
      ++*pos;
      continue;
    }
    out.push_back(c);
  }
  return out;
}

// A parameter value: quoted, or a token (which may hold '=' as token68 and
// base64 padding do).
std::string ReadValue(absl::string_view s, size_t* pos) {
  if (*pos < s.size() && s[*pos] == '"') return ReadQuoted(s, pos);
  const size_t start = *pos;
  while (*pos < s.size() && !IsSpace(s[*pos]) && s[*pos] != ',' &&
         s[*pos] != ';') {
    ++*pos;
  }
  return std::string(s.substr(start, *pos - start));
}

int DefaultPort(absl::string_view scheme) {
  return scheme == "https" ? 443 : 80;
}

bool HasScheme(absl::string_view link) {
  if (link.empty() || !absl::ascii_isalpha(link[0])) return false;
  for (size_t i = 1; i < link.size(); ++i) {
    const char c = link[i];
    if (c == ':') return true;
    if (!absl::ascii_isalnum(c) && c != '+' && c != '-' && c != '.')
      return false;
  }
  return false;
}

}  // namespace

std::string AuthChallenge::Param(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? "" : it->second;
}

std::vector<AuthChallenge> ParseWwwAuthenticate(absl::string_view header) {
  std::vector<AuthChallenge> challenges;
  size_t pos = 0;
  while (pos < header.size()) {
    while (pos < header.size() &&
           (IsSpace(header[pos]) || header[pos] == ',')) {
      ++pos;
    }
    if (pos >= header.size()) break;
    std::string token = ReadToken(header, &pos);
    if (token.empty()) {
      ++pos;  // a stray separator or quote
      continue;
    }
    SkipSpaces(header, &pos);
    if (pos < header.size() && header[pos] == '=' && !challenges.empty()) {
      ++pos;
      SkipSpaces(header, &pos);
      std::string value = ReadValue(header, &pos);
      challenges.back().params[absl::AsciiStrToLower(token)] = std::move(value);
      continue;
    }
    if (pos < header.size() && header[pos] == '=') {
      // A parameter before any scheme: not a challenge; skip its value.
      ++pos;
      SkipSpaces(header, &pos);
      ReadValue(header, &pos);
      continue;
    }
    AuthChallenge challenge;
    challenge.scheme = absl::AsciiStrToLower(token);
    challenges.push_back(std::move(challenge));
  }
  return challenges;
}

std::optional<std::string> ParseNextLink(absl::string_view header) {
  size_t pos = 0;
  while (pos < header.size()) {
    const size_t open = header.find('<', pos);
    if (open == absl::string_view::npos) break;
    const size_t close = header.find('>', open + 1);
    if (close == absl::string_view::npos) break;
    std::string target(header.substr(open + 1, close - open - 1));
    pos = close + 1;
    // Parameters up to the next link: ;name=value;name="value"...
    bool next = false;
    while (pos < header.size()) {
      SkipSpaces(header, &pos);
      if (pos >= header.size()) break;
      if (header[pos] == ',') {
        ++pos;
        break;
      }
      if (header[pos] != ';') {
        ++pos;
        continue;
      }
      ++pos;
      SkipSpaces(header, &pos);
      std::string name = absl::AsciiStrToLower(ReadToken(header, &pos));
      SkipSpaces(header, &pos);
      std::string value;
      if (pos < header.size() && header[pos] == '=') {
        ++pos;
        SkipSpaces(header, &pos);
        value = ReadValue(header, &pos);
      }
      if (name == "rel") {
        for (absl::string_view rel :
             absl::StrSplit(value, ' ', absl::SkipEmpty())) {
          if (absl::EqualsIgnoreCase(rel, "next")) next = true;
        }
      }
    }
    if (next) return target;
  }
  return std::nullopt;
}

std::string UrlParts::Origin() const {
  std::string origin = absl::StrCat(scheme, "://", host);
  if (port != DefaultPort(scheme)) absl::StrAppend(&origin, ":", port);
  return origin;
}

absl::StatusOr<UrlParts> ParseUrl(absl::string_view url) {
  UrlParts parts;
  absl::string_view rest = url;
  if (absl::StartsWithIgnoreCase(rest, "https://")) {
    parts.scheme = "https";
    rest.remove_prefix(8);
  } else if (absl::StartsWithIgnoreCase(rest, "http://")) {
    parts.scheme = "http";
    rest.remove_prefix(7);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", url, "\" is not an http or https URL"));
  }
  const size_t end = rest.find_first_of("/?#");
  absl::string_view authority = rest.substr(0, end);
  rest = end == absl::string_view::npos ? "" : rest.substr(end);
  if (authority.find('@') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        "a URL with user information is not accepted");
  }
  absl::string_view host = authority;
  absl::string_view port;
  if (absl::StartsWith(authority, "[")) {
    const size_t bracket = authority.find(']');
    if (bracket == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", url, "\" has an unclosed '[' in its host"));
    }
    host = authority.substr(0, bracket + 1);
    absl::string_view after = authority.substr(bracket + 1);
    if (!after.empty() && !absl::ConsumePrefix(&after, ":")) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", url, "\" has text after its ']'"));
    }
    port = after;
  } else if (const size_t colon = authority.rfind(':');
             colon != absl::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", url, "\" has no host"));
  }
  // RFC 3986: a reg-name (unreserved, sub-delims, %-escapes) or an IP
  // literal in brackets; nothing that could split the URL or a header.
  const absl::string_view allowed =
      host.front() == '[' ? "[]:.%" : "-._~!$&'()*+,;=%";
  for (const char c : host) {
    if (!absl::ascii_isalnum(c) && allowed.find(c) == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", url, "\" has an invalid host"));
    }
  }
  parts.host = absl::AsciiStrToLower(host);
  parts.port = DefaultPort(parts.scheme);
  if (!port.empty() && (!absl::SimpleAtoi(port, &parts.port) ||
                        parts.port <= 0 || parts.port > 65535)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", url, "\" has an invalid port"));
  }
  if (const size_t hash = rest.find('#'); hash != absl::string_view::npos) {
    rest = rest.substr(0, hash);
  }
  parts.path_and_query =
      absl::StartsWith(rest, "/") ? std::string(rest) : absl::StrCat("/", rest);
  return parts;
}

absl::StatusOr<std::string> ResolveNextLink(absl::string_view base,
                                            absl::string_view link) {
  absl::StatusOr<UrlParts> base_parts = ParseUrl(base);
  if (!base_parts.ok()) return base_parts.status();
  if (absl::StartsWith(link, "//")) {
    return ResolveNextLink(base, absl::StrCat(base_parts->scheme, ":", link));
  }
  if (HasScheme(link)) {
    absl::StatusOr<UrlParts> parts = ParseUrl(link);
    if (!parts.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the next link is not usable: ", parts.status().message()));
    }
    if (parts->scheme != base_parts->scheme ||
        parts->host != base_parts->host || parts->port != base_parts->port) {
      return absl::InvalidArgumentError(
          absl::StrCat("the next link points to ", parts->Origin(), ", not to ",
                       base_parts->Origin(), "; refusing to follow it"));
    }
    return absl::StrCat(parts->Origin(), parts->path_and_query);
  }
  const std::string origin = base_parts->Origin();
  if (absl::StartsWith(link, "/")) return absl::StrCat(origin, link);
  absl::string_view path = base_parts->path_and_query;
  path = path.substr(0, path.find('?'));
  if (absl::StartsWith(link, "?")) return absl::StrCat(origin, path, link);
  path = path.substr(0, path.rfind('/') + 1);
  return absl::StrCat(origin, path, link);
}

std::optional<absl::Duration> ParseRetryAfter(absl::string_view value,
                                              absl::Time now) {
  value = absl::StripAsciiWhitespace(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(),
                  [](char c) { return absl::ascii_isdigit(c); })) {
    int64_t seconds = 0;
    if (!absl::SimpleAtoi(value, &seconds)) return absl::InfiniteDuration();
    return absl::Seconds(seconds);
  }
  static constexpr const char* kFormats[] = {
      "%a, %d %b %Y %H:%M:%S GMT",  // IMF-fixdate
      "%A, %d-%b-%y %H:%M:%S GMT",  // RFC 850
      "%a %b %d %H:%M:%S %Y",       // asctime
  };
  const std::string text(value);
  for (const char* format : kFormats) {
    absl::Time when;
    std::string error;
    if (absl::ParseTime(format, text, absl::UTCTimeZone(), &when, &error)) {
      return when > now ? when - now : absl::ZeroDuration();
    }
  }
  return std::nullopt;
}

}  // namespace ia::reflector
