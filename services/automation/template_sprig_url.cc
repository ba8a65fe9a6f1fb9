// Sprig's urlParse and urlJoin: Go's net/url as the Go of the reference
// renderer (1.19) parses and prints a URL (Parse, its escaping rules,
// URL.String, Hostname, Userinfo), with Sprig's panics as errors.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "services/automation/template_functions.h"
#include "services/automation/template_sprig.h"

namespace ia::automation::template_internal {
namespace {

// Go's net/url encodings (the modes of shouldEscape).
enum class UrlMode {
  kPath,
  kUserPassword,
  kQueryComponent,
  kFragment,
  kHost,
  kZone
};

bool IsAlnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}

// net/url's shouldEscape.
bool ShouldEscape(unsigned char c, UrlMode mode) {
  if (IsAlnum(c)) return false;
  if ((mode == UrlMode::kHost || mode == UrlMode::kZone) &&
      absl::string_view("!$&'()*+,;=:[]<>\"").find(static_cast<char>(c)) !=
          absl::string_view::npos) {
    return false;
  }
  switch (c) {
    case '-':
    case '_':
    case '.':
    case '~':
      return false;
    case '$':
    case '&':
    case '+':
    case ',':
    case '/':
    case ':':
    case ';':
    case '=':
    case '?':
    case '@':
      switch (mode) {
        case UrlMode::kPath:
          return c == '?';
        case UrlMode::kUserPassword:
          return c == '@' || c == '/' || c == '?' || c == ':';
        case UrlMode::kQueryComponent:
          return true;
        case UrlMode::kFragment:
          return false;
        default:
          break;
      }
      break;
    default:
      break;
  }
  if (mode == UrlMode::kFragment &&
      (c == '!' || c == '(' || c == ')' || c == '*')) {
    return false;
  }
  return true;
}

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
         (c >= 'A' && c <= 'F');
}
int Unhex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// net/url's unescape; the error is Go's error text.
absl::StatusOr<std::string> UrlUnescape(absl::string_view s, UrlMode mode) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '%') {
      if (i + 2 >= s.size() || !IsHex(s[i + 1]) || !IsHex(s[i + 2])) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid URL escape ", GoQuote(s.substr(i, 3))));
      }
      const int v = Unhex(s[i + 1]) << 4 | Unhex(s[i + 2]);
      const bool pct25 = s.substr(i, 3) == "%25";
      if ((mode == UrlMode::kHost && Unhex(s[i + 1]) < 8 && !pct25) ||
          (mode == UrlMode::kZone && !pct25 && v != ' ' &&
           ShouldEscape(static_cast<unsigned char>(v), UrlMode::kHost))) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid URL escape ", GoQuote(s.substr(i, 3))));
      }
      i += 3;
    } else {
      if ((mode == UrlMode::kHost || mode == UrlMode::kZone) && c < 0x80 &&
          ShouldEscape(c, mode)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "invalid character ", GoQuote(s.substr(i, 1)), " in host name"));
      }
      ++i;
    }
  }
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      out += static_cast<char>(Unhex(s[i + 1]) << 4 | Unhex(s[i + 2]));
      i += 2;
    } else if (s[i] == '+' && mode == UrlMode::kQueryComponent) {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

// net/url's escape.
std::string UrlEscape(absl::string_view s, UrlMode mode) {
  constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == ' ' && mode == UrlMode::kQueryComponent) {
      out += '+';
    } else if (ShouldEscape(c, mode)) {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

// The fields of a Go url.URL that urlParse and urlJoin use.
struct GoUrl {
  std::string scheme, opaque, host, path, raw_path, raw_query, fragment,
      raw_fragment;
  bool has_user = false;
  std::string username, password;
  bool password_set = false;
  bool omit_host = false;
  bool force_query = false;
};

bool ValidOptionalPort(absl::string_view port) {
  if (port.empty()) return true;
  if (port[0] != ':') return false;
  return port.substr(1).find_first_not_of("0123456789") ==
         absl::string_view::npos;
}

absl::StatusOr<std::string> ParseHost(absl::string_view host) {
  if (absl::StartsWith(host, "[")) {
    const size_t i = host.rfind(']');
    if (i == absl::string_view::npos) {
      return absl::InvalidArgumentError("missing ']' in host");
    }
    const absl::string_view colon_port = host.substr(i + 1);
    if (!ValidOptionalPort(colon_port)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid port ", GoQuote(colon_port), " after host"));
    }
    const size_t zone = host.substr(0, i).find("%25");
    if (zone != absl::string_view::npos) {
      ASSIGN_OR_RETURN(std::string h1,
                       UrlUnescape(host.substr(0, zone), UrlMode::kHost));
      ASSIGN_OR_RETURN(std::string h2, UrlUnescape(host.substr(zone, i - zone),
                                                   UrlMode::kZone));
      ASSIGN_OR_RETURN(std::string h3,
                       UrlUnescape(host.substr(i), UrlMode::kHost));
      return h1 + h2 + h3;
    }
  } else if (const size_t i = host.rfind(':'); i != absl::string_view::npos) {
    const absl::string_view colon_port = host.substr(i);
    if (!ValidOptionalPort(colon_port)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid port ", GoQuote(colon_port), " after host"));
    }
  }
  return UrlUnescape(host, UrlMode::kHost);
}

bool ValidUserinfo(absl::string_view s) {
  for (const char c : s) {
    if (IsAlnum(static_cast<unsigned char>(c))) continue;
    if (absl::string_view("-._:~!$&'()*+,;=%@").find(c) ==
        absl::string_view::npos) {
      return false;
    }
  }
  return true;
}

absl::Status ParseAuthority(absl::string_view authority, GoUrl* url) {
  const size_t at = authority.rfind('@');
  ASSIGN_OR_RETURN(url->host, ParseHost(at == absl::string_view::npos
                                            ? authority
                                            : authority.substr(at + 1)));
  if (at == absl::string_view::npos) return absl::OkStatus();
  const absl::string_view userinfo = authority.substr(0, at);
  if (!ValidUserinfo(userinfo)) {
    return absl::InvalidArgumentError("net/url: invalid userinfo");
  }
  const size_t colon = userinfo.find(':');
  ASSIGN_OR_RETURN(url->username, UrlUnescape(userinfo.substr(0, colon),
                                              UrlMode::kUserPassword));
  if (colon != absl::string_view::npos) {
    ASSIGN_OR_RETURN(url->password, UrlUnescape(userinfo.substr(colon + 1),
                                                UrlMode::kUserPassword));
    url->password_set = true;
  }
  url->has_user = true;
  return absl::OkStatus();
}

// net/url's parse(raw, false): the URL without its fragment.
absl::Status ParseNoFragment(absl::string_view raw, GoUrl* url) {
  for (const char c : raw) {
    if (static_cast<unsigned char>(c) < ' ' || c == 0x7f) {
      return absl::InvalidArgumentError(
          "net/url: invalid control character in URL");
    }
  }
  if (raw == "*") {
    url->path.assign(1, '*');  // (= "*" trips GCC 12's -Wrestrict)
    return absl::OkStatus();
  }
  absl::string_view rest = raw;
  for (size_t i = 0; i < raw.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(raw[i]);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) continue;
    if ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.') {
      if (i == 0) break;
      continue;
    }
    if (c == ':') {
      if (i == 0) {
        return absl::InvalidArgumentError("missing protocol scheme");
      }
      url->scheme = absl::AsciiStrToLower(raw.substr(0, i));
      rest = raw.substr(i + 1);
    }
    break;
  }
  if (absl::EndsWith(rest, "?") &&
      std::count(rest.begin(), rest.end(), '?') == 1) {
    url->force_query = true;
    rest.remove_suffix(1);
  } else if (const size_t q = rest.find('?'); q != absl::string_view::npos) {
    url->raw_query = std::string(rest.substr(q + 1));
    rest = rest.substr(0, q);
  }
  if (!absl::StartsWith(rest, "/")) {
    if (!url->scheme.empty()) {
      url->opaque = std::string(rest);
      return absl::OkStatus();
    }
    if (absl::StrContains(rest.substr(0, rest.find('/')), ':')) {
      return absl::InvalidArgumentError(
          "first path segment in URL cannot contain colon");
    }
  }
  if ((!url->scheme.empty() || !absl::StartsWith(rest, "///")) &&
      absl::StartsWith(rest, "//")) {
    absl::string_view authority = rest.substr(2);
    rest = "";
    if (const size_t slash = authority.find('/');
        slash != absl::string_view::npos) {
      rest = authority.substr(slash);
      authority = authority.substr(0, slash);
    }
    RETURN_IF_ERROR(ParseAuthority(authority, url));
  } else if (!url->scheme.empty() && absl::StartsWith(rest, "/")) {
    url->omit_host = true;
  }
  ASSIGN_OR_RETURN(url->path, UrlUnescape(rest, UrlMode::kPath));
  if (UrlEscape(url->path, UrlMode::kPath) != rest) {
    url->raw_path = std::string(rest);
  }
  return absl::OkStatus();
}

// net/url's Parse; the error is url.Error's text ("parse \"x\": ...").
absl::StatusOr<GoUrl> ParseUrl(absl::string_view raw) {
  GoUrl url;
  const size_t hash = raw.find('#');
  const absl::string_view before = raw.substr(0, hash);
  if (absl::Status s = ParseNoFragment(before, &url); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("parse ", GoQuote(before), ": ", s.message()));
  }
  if (hash == absl::string_view::npos || hash + 1 == raw.size()) return url;
  const absl::string_view frag = raw.substr(hash + 1);
  absl::StatusOr<std::string> f = UrlUnescape(frag, UrlMode::kFragment);
  if (!f.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("parse ", GoQuote(raw), ": ", f.status().message()));
  }
  url.fragment = *f;
  if (UrlEscape(url.fragment, UrlMode::kFragment) != frag) {
    url.raw_fragment = std::string(frag);
  }
  return url;
}

// net/url's validEncoded.
bool ValidEncoded(absl::string_view s, UrlMode mode) {
  for (const char c : s) {
    if (absl::string_view("!$&'()*+,;=:@[]%").find(c) !=
        absl::string_view::npos) {
      continue;
    }
    if (ShouldEscape(static_cast<unsigned char>(c), mode)) return false;
  }
  return true;
}

// URL.EscapedPath and EscapedFragment: the raw form when it is a valid
// encoding of the decoded one.
std::string Escaped(const std::string& raw, const std::string& decoded,
                    UrlMode mode) {
  if (!raw.empty() && ValidEncoded(raw, mode)) {
    absl::StatusOr<std::string> d = UrlUnescape(raw, mode);
    if (d.ok() && *d == decoded) return raw;
  }
  if (mode == UrlMode::kPath && decoded == "*") return "*";
  return UrlEscape(decoded, mode);
}

std::string UserinfoString(const GoUrl& u) {
  if (!u.has_user) return "";
  std::string s = UrlEscape(u.username, UrlMode::kUserPassword);
  if (u.password_set) {
    absl::StrAppend(&s, ":", UrlEscape(u.password, UrlMode::kUserPassword));
  }
  return s;
}

// URL.String.
std::string UrlString(const GoUrl& u) {
  std::string buf;
  if (!u.scheme.empty()) absl::StrAppend(&buf, u.scheme, ":");
  if (!u.opaque.empty()) {
    buf += u.opaque;
  } else {
    if (!u.scheme.empty() || !u.host.empty() || u.has_user) {
      if (!(u.omit_host && u.host.empty() && !u.has_user)) {
        if (!u.host.empty() || !u.path.empty() || u.has_user) buf += "//";
        if (u.has_user) absl::StrAppend(&buf, UserinfoString(u), "@");
        if (!u.host.empty()) buf += UrlEscape(u.host, UrlMode::kHost);
      }
    }
    const std::string path = Escaped(u.raw_path, u.path, UrlMode::kPath);
    if (!path.empty() && path[0] != '/' && !u.host.empty()) buf += '/';
    if (buf.empty() &&
        absl::StrContains(absl::string_view(path).substr(0, path.find('/')),
                          ':')) {
      buf += "./";
    }
    buf += path;
  }
  if (u.force_query || !u.raw_query.empty()) {
    absl::StrAppend(&buf, "?", u.raw_query);
  }
  if (!u.fragment.empty()) {
    absl::StrAppend(&buf, "#",
                    Escaped(u.raw_fragment, u.fragment, UrlMode::kFragment));
  }
  return buf;
}

// URL.Hostname: the host without a port and IPv6 brackets.
std::string Hostname(const std::string& host_port) {
  absl::string_view host = host_port;
  const size_t colon = host.rfind(':');
  if (colon != absl::string_view::npos &&
      ValidOptionalPort(host.substr(colon))) {
    host = host.substr(0, colon);
  }
  if (absl::StartsWith(host, "[") && absl::EndsWith(host, "]")) {
    host = host.substr(1, host.size() - 2);
  }
  return std::string(host);
}

// Sprig's urlParse: a dict of scheme, host, hostname, path, query, opaque,
// fragment and userinfo; Go's panic when the URL does not parse.
absl::StatusOr<TemplateValue> UrlParse(const std::vector<TemplateValue>& a,
                                       const CallContext&) {
  absl::StatusOr<GoUrl> u = ParseUrl(a[0].string_value());
  if (!u.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unable to parse url: ", u.status().message()));
  }
  std::vector<std::pair<TemplateValue, TemplateValue>> entries;
  auto add = [&](const char* key, std::string value) {
    entries.emplace_back(TemplateValue::String(key),
                         TemplateValue::String(std::move(value)));
  };
  add("scheme", u->scheme);
  add("host", u->host);
  add("hostname", Hostname(u->host));
  add("path", u->path);
  add("query", u->raw_query);
  add("opaque", u->opaque);
  add("fragment", u->fragment);
  add("userinfo", UserinfoString(*u));
  return AnyMap(std::move(entries));
}

// Sprig's dictGetOrEmpty: the string at `key`, "" when absent; Go's panic
// when the value is nil or not a string.
absl::StatusOr<std::string> DictString(const TemplateValue& dict,
                                       const char* key) {
  const TemplateValue* v = dict.FindKey(TemplateValue::String(key));
  if (v == nullptr) return std::string();
  if (!v->is_valid()) return NilDereference();
  if (v->kind() != TemplateValue::Kind::kString) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unable to parse ", key, " key, must be of type string, but ",
        KindName(*v), " found"));
  }
  return v->string_value();
}

// Sprig's urlJoin: the URL of a dict's scheme, host, path, query, opaque,
// fragment and userinfo (read as Go reads "proto://USERINFO@host").
absl::StatusOr<TemplateValue> UrlJoin(const std::vector<TemplateValue>& a,
                                      const CallContext& context) {
  GoUrl u;
  ASSIGN_OR_RETURN(u.scheme, DictString(a[0], "scheme"));
  ASSIGN_OR_RETURN(u.host, DictString(a[0], "host"));
  ASSIGN_OR_RETURN(u.path, DictString(a[0], "path"));
  ASSIGN_OR_RETURN(u.raw_query, DictString(a[0], "query"));
  ASSIGN_OR_RETURN(u.opaque, DictString(a[0], "opaque"));
  ASSIGN_OR_RETURN(u.fragment, DictString(a[0], "fragment"));
  ASSIGN_OR_RETURN(const std::string userinfo, DictString(a[0], "userinfo"));
  if (!userinfo.empty()) {
    absl::StatusOr<GoUrl> temp =
        ParseUrl(absl::StrCat("proto://", userinfo, "@host"));
    if (!temp.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unable to parse userinfo in dict: ", temp.status().message()));
    }
    u.has_user = temp->has_user;
    u.username = temp->username;
    u.password = temp->password;
    u.password_set = temp->password_set;
  }
  return BuiltString(UrlString(u), context);
}

constexpr TemplateFunction kUrls[] = {
    {"urlParse", "s", false, UrlParse},
    {"urlJoin", "m", false, UrlJoin},
};

}  // namespace

absl::Span<const TemplateFunction> SprigUrlFunctions() { return kUrls; }

}  // namespace ia::automation::template_internal
