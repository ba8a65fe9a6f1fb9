#include "common/image_ref.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace ia {
namespace {

constexpr absl::string_view kDockerHub = "docker.io";
constexpr size_t kMaxNameLength = 255;
constexpr size_t kMaxTagLength = 128;

bool IsLowerAlnum(char c) {
  return absl::ascii_islower(c) || absl::ascii_isdigit(c);
}

// path-component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
bool ValidPathComponent(absl::string_view c) {
  if (c.empty() || !IsLowerAlnum(c.front()) || !IsLowerAlnum(c.back()))
    return false;
  size_t i = 0;
  while (i < c.size()) {
    if (IsLowerAlnum(c[i])) {
      ++i;
      continue;
    }
    // A separator: ".", "_", "__" or one or more "-", between alphanumerics.
    size_t j = i;
    if (c[i] == '.') {
      j = i + 1;
    } else if (c[i] == '_') {
      j = i + 1;
      if (j < c.size() && c[j] == '_') ++j;
    } else if (c[i] == '-') {
      while (j < c.size() && c[j] == '-') ++j;
    } else {
      return false;
    }
    if (j >= c.size() || !IsLowerAlnum(c[j])) return false;
    i = j;
  }
  return true;
}

// host [":" port]: DNS labels of letters, digits and '-', or a bracketed
// IPv6 address; the port all digits.
bool ValidDomain(absl::string_view d) {
  absl::string_view host = d;
  if (absl::StartsWith(d, "[")) {
    const size_t close = d.find(']');
    if (close == absl::string_view::npos) return false;
    for (char c : d.substr(1, close - 1)) {
      if (!absl::ascii_isxdigit(c) && c != ':') return false;
    }
    absl::string_view rest = d.substr(close + 1);
    if (rest.empty()) return close > 1;
    if (rest.front() != ':' || rest.size() == 1) return false;
    for (char c : rest.substr(1)) {
      if (!absl::ascii_isdigit(c)) return false;
    }
    return true;
  }
  const size_t colon = d.find(':');
  if (colon != absl::string_view::npos) {
    host = d.substr(0, colon);
    absl::string_view port = d.substr(colon + 1);
    if (port.empty()) return false;
    for (char c : port) {
      if (!absl::ascii_isdigit(c)) return false;
    }
  }
  if (host.empty()) return false;
  for (absl::string_view label : absl::StrSplit(host, '.')) {
    if (label.empty() || label.front() == '-' || label.back() == '-')
      return false;
    for (char c : label) {
      if (!absl::ascii_isalnum(c) && c != '-') return false;
    }
  }
  return true;
}

}  // namespace

bool IsValidTag(absl::string_view t) {
  if (t.empty() || t.size() > kMaxTagLength) return false;
  auto word = [](char c) { return absl::ascii_isalnum(c) || c == '_'; };
  if (!word(t.front())) return false;
  for (char c : t) {
    if (!word(c) && c != '.' && c != '-') return false;
  }
  return true;
}

namespace {

bool ValidDigest(absl::string_view d) {
  const size_t colon = d.find(':');
  if (colon == absl::string_view::npos || colon == 0) return false;
  absl::string_view algorithm = d.substr(0, colon), hex = d.substr(colon + 1);
  for (char c : algorithm) {
    if (!IsLowerAlnum(c) && c != '+' && c != '.' && c != '_' && c != '-')
      return false;
  }
  if (hex.size() < 32) return false;
  for (char c : hex) {
    if (!absl::ascii_isxdigit(c) || absl::ascii_isupper(c)) return false;
  }
  if (algorithm == "sha256" && hex.size() != 64) return false;
  if (algorithm == "sha512" && hex.size() != 128) return false;
  return true;
}

absl::Status Invalid(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("\"", text, "\" is not a valid image name: ", why));
}

}  // namespace

std::string ImageReference::CanonicalName() const {
  if (domain == kDockerHub) return absl::StrCat("index.docker.io/", path);
  return Name();
}

std::string ImageReference::RegistryHost() const {
  if (domain == kDockerHub) return "registry-1.docker.io";
  return domain;
}

absl::StatusOr<ImageReference> ParseImageReference(absl::string_view text) {
  if (text.empty()) return Invalid(text, "it is empty");
  if (absl::StrContains(text, "://")) {
    return Invalid(text, "it must not have a scheme such as https://");
  }
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return Invalid(text, "it must not contain spaces or control characters");
    }
  }
  ImageReference ref;
  absl::string_view rest = text;
  if (const size_t at = rest.find('@'); at != absl::string_view::npos) {
    ref.digest = std::string(rest.substr(at + 1));
    rest = rest.substr(0, at);
    if (!ValidDigest(ref.digest)) {
      return Invalid(
          text,
          absl::StrCat("invalid digest \"", ref.digest,
                       "\" (expected algorithm:hex, e.g. sha256:<64 hex>)"));
    }
  }
  // The tag is after the last ':' that follows the last '/' (a domain may
  // have a port).
  const size_t slash = rest.rfind('/');
  const size_t colon = rest.rfind(':');
  if (colon != absl::string_view::npos &&
      (slash == absl::string_view::npos || colon > slash)) {
    ref.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (!IsValidTag(ref.tag)) {
      return Invalid(
          text,
          absl::StrCat("invalid tag \"", ref.tag,
                       "\" (letters, digits, '_', '.', '-'; at most 128)"));
    }
  }
  std::vector<absl::string_view> parts = absl::StrSplit(rest, '/');
  size_t first_path = 0;
  // As docker: the first component names a registry when it cannot be a
  // path component (it holds '.', ':' or upper case) or is "localhost".
  if (parts.size() > 1 &&
      (absl::StrContains(parts[0], '.') || absl::StrContains(parts[0], ':') ||
       parts[0] == "localhost" ||
       parts[0] != absl::AsciiStrToLower(parts[0]))) {
    ref.domain = std::string(parts[0]);
    if (!ValidDomain(parts[0])) {
      return Invalid(text, absl::StrCat("\"", parts[0],
                                        "\" is not a valid registry host"));
    }
    first_path = 1;
  } else {
    ref.domain = std::string(kDockerHub);
  }
  if (ref.domain == "index.docker.io" || ref.domain == "registry-1.docker.io") {
    ref.domain = std::string(kDockerHub);
  }
  std::vector<absl::string_view> path(parts.begin() + first_path, parts.end());
  for (absl::string_view component : path) {
    if (component.empty()) return Invalid(text, "a path component is empty");
    if (!ValidPathComponent(component)) {
      return Invalid(text,
                     absl::StrCat("\"", component,
                                  "\" must be lower case letters and digits "
                                  "separated by '.', '_', '__' or '-'"));
    }
  }
  if (ref.domain == kDockerHub && path.size() == 1) {
    ref.path = absl::StrCat("library/", path[0]);
  } else {
    ref.path = absl::StrJoin(path, "/");
  }
  if (rest.size() > kMaxNameLength) {
    return Invalid(text, "it must be at most 255 characters");
  }
  // As docker, the limit holds for the name with its defaults too.
  if (ref.Name().size() > kMaxNameLength) {
    return Invalid(text, absl::StrCat("its full name \"", ref.Name(),
                                      "\" must be at most 255 characters"));
  }
  return ref;
}

}  // namespace ia
