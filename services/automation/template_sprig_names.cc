// Sprig's functions on names and paths: snakecase and kebabcase
// (huandu/xstrings' ToSnakeCase and ToKebabCase: words split at case
// changes, digits and connectors, joined by '_' or '-' in lower case;
// "HTTPServer" -> "http_server", "http2xx" -> "http_2xx", "Bld4Floor3rd" ->
// "bld4_floor_3rd"; letters judged as ASCII and Latin-1), and base, dir,
// clean, ext, isAbs and their os* twins (Go's path package, '/'-separated
// on Linux as filepath is), and urlParse and urlJoin (Go's net/url as the
// Go of the reference renderer, 1.19, parses and prints a URL).
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "services/automation/template_functions.h"
#include "services/automation/template_lex.h"
#include "services/automation/template_sprig.h"

namespace ia::automation::template_internal {
namespace {

enum class Word {
  kInvalid,
  kNumber,
  kUpper,
  kAlphabet,
  kConnector,
  kPunct,
  kOther
};

bool IsSpace(uint32_t r) {
  return r == ' ' || (r >= '\t' && r <= '\r') || r == 0x85 || r == 0xA0;
}
bool IsConnector(uint32_t r) { return r == '-' || r == '_' || IsSpace(r); }
bool IsUpper(uint32_t r) {
  return (r >= 'A' && r <= 'Z') || (r >= 0xC0 && r <= 0xDE && r != 0xD7);
}
bool IsLower(uint32_t r) {
  return (r >= 'a' && r <= 'z') || (r >= 0xDF && r <= 0xFF && r != 0xF7);
}
bool IsLetter(uint32_t r) {
  return IsUpper(r) || IsLower(r) || r == 0xAA || r == 0xB5 || r == 0xBA;
}
bool IsNumber(uint32_t r) { return r >= '0' && r <= '9'; }
// Go's unicode.IsPunct for ASCII: the punctuation, not the symbols
// ($ + < = > ^ ` | ~).
bool IsPunct(uint32_t r) {
  return r < 0x80 &&
         std::string("!\"#%&'()*,-./:;?@[\\]_{}").find(static_cast<char>(r)) !=
             std::string::npos;
}
uint32_t Lower(uint32_t r) { return IsUpper(r) ? r + 32 : r; }

// xstrings' nextWord over runes [pos, end): the word's type and its end.
Word NextWord(const std::vector<uint32_t>& s, size_t pos, size_t* end) {
  size_t i = pos;
  const size_t n = s.size();
  if (i >= n) {
    *end = i;
    return Word::kInvalid;
  }
  const uint32_t r = s[i++];
  Word wt;
  if (IsConnector(r)) {
    wt = Word::kConnector;
    while (i < n && IsConnector(s[i])) ++i;
  } else if (IsPunct(r)) {
    wt = Word::kPunct;
    while (i < n && IsPunct(s[i])) ++i;
  } else if (IsUpper(r)) {
    wt = Word::kUpper;
    if (i < n) {
      if (IsUpper(s[i])) {
        while (i < n && IsUpper(s[i])) ++i;
        // "HTTPStatus": the last capital starts the next word.
        if (i < n && IsLetter(s[i])) --i;
      } else if (IsLetter(s[i])) {
        while (i < n && IsLetter(s[i]) && !IsUpper(s[i])) ++i;
      }
    }
  } else if (IsLetter(r)) {
    wt = Word::kAlphabet;
    while (i < n && IsLetter(s[i]) && !IsUpper(s[i])) ++i;
  } else if (IsNumber(r)) {
    wt = Word::kNumber;
    while (i < n && IsNumber(s[i])) ++i;
  } else {
    wt = Word::kOther;
    while (i < n && !IsConnector(s[i]) && !IsLetter(s[i]) && !IsNumber(s[i]) &&
           !IsPunct(s[i])) {
      ++i;
    }
  }
  *end = i;
  return wt;
}

void ToLower(std::vector<uint32_t>* out, Word wt,
             const std::vector<uint32_t>& s, size_t b, size_t e,
             uint32_t connector) {
  for (size_t i = b; i < e; ++i) {
    const uint32_t r = s[i];
    if (wt != Word::kUpper && wt != Word::kConnector) {
      out->push_back(r);
    } else if (IsConnector(r)) {
      out->push_back(connector);
    } else {
      out->push_back(Lower(r));
    }
  }
}

std::string CamelCaseToLowerCase(const std::string& str, uint32_t connector) {
  std::vector<uint32_t> s;
  {
    size_t i = 0;
    uint32_t r = 0;
    while (DecodeUtf8(str, &i, &r)) s.push_back(r);
  }
  std::vector<uint32_t> out;
  size_t b = 0, e = 0;
  Word wt = NextWord(s, 0, &e);
  auto next = [&]() {
    b = e;
    wt = NextWord(s, b, &e);
  };
  auto lower = [&](Word t, size_t x, size_t y) {
    ToLower(&out, t, s, x, y, connector);
  };
  while (e < s.size()) {
    if (wt != Word::kConnector) lower(wt, b, e);
    const Word prev = wt;
    const size_t last_b = b, last_e = e;
    next();
    switch (prev) {
      case Word::kNumber:
        while (wt == Word::kAlphabet || wt == Word::kNumber) {
          lower(wt, b, e);
          next();
        }
        if (wt != Word::kInvalid && wt != Word::kPunct &&
            wt != Word::kConnector) {
          out.push_back(connector);
        }
        break;
      case Word::kConnector:
        lower(prev, last_b, last_e);
        break;
      case Word::kPunct:
        break;
      default: {
        if (wt != Word::kNumber) {
          if (wt != Word::kConnector && wt != Word::kPunct) {
            out.push_back(connector);
          }
          break;
        }
        if (e >= s.size()) break;
        const size_t num_b = b, num_e = e;
        next();
        if (wt != Word::kAlphabet) {
          lower(Word::kNumber, num_b, num_e);
          if (wt != Word::kConnector && wt != Word::kPunct) {
            out.push_back(connector);
          }
          break;
        }
        out.push_back(connector);
        lower(Word::kNumber, num_b, num_e);
        while (wt == Word::kAlphabet || wt == Word::kNumber) {
          lower(wt, b, e);
          next();
        }
        if (wt != Word::kInvalid && wt != Word::kConnector &&
            wt != Word::kPunct) {
          out.push_back(connector);
        }
      }
    }
  }
  lower(wt, b, e);
  std::string result;
  for (const uint32_t r : out) AppendUtf8(r, &result);
  return result;
}

absl::StatusOr<TemplateValue> CaseFn(const std::vector<TemplateValue>& a,
                                     const CallContext& context) {
  return TemplateValue::String(CamelCaseToLowerCase(
      a[0].string_value(), context.name == "snakecase" ? '_' : '-'));
}

const std::string& S(const std::vector<TemplateValue>& a, size_t i) {
  return a[i].string_value();
}

// Go's path package.
std::string CleanPath(const std::string& path) {
  if (path.empty()) return ".";
  const bool rooted = path[0] == '/';
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!out.empty() && out.back() != "..") {
        out.pop_back();
      } else if (!rooted) {
        out.emplace_back("..");
      }
      continue;
    }
    out.emplace_back(part);
  }
  std::string joined = absl::StrJoin(out, "/");
  if (rooted) return "/" + joined;
  return joined.empty() ? "." : joined;
}

absl::StatusOr<TemplateValue> Base(const std::vector<TemplateValue>& a,
                                   const CallContext&) {
  std::string p = S(a, 0);
  if (p.empty()) return TemplateValue::String(".");
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  if (p == "/") return TemplateValue::String("/");
  const size_t slash = p.rfind('/');
  return TemplateValue::String(
      slash == std::string::npos ? p : p.substr(slash + 1));
}
absl::StatusOr<TemplateValue> Dir(const std::vector<TemplateValue>& a,
                                  const CallContext&) {
  const std::string& p = S(a, 0);
  const size_t slash = p.rfind('/');
  return TemplateValue::String(
      CleanPath(slash == std::string::npos ? "" : p.substr(0, slash + 1)));
}
absl::StatusOr<TemplateValue> Clean(const std::vector<TemplateValue>& a,
                                    const CallContext&) {
  return TemplateValue::String(CleanPath(S(a, 0)));
}
absl::StatusOr<TemplateValue> Ext(const std::vector<TemplateValue>& a,
                                  const CallContext&) {
  const std::string& p = S(a, 0);
  for (size_t i = p.size(); i > 0 && p[i - 1] != '/'; --i) {
    if (p[i - 1] == '.') return TemplateValue::String(p.substr(i - 1));
  }
  return TemplateValue::String("");
}
absl::StatusOr<TemplateValue> IsAbs(const std::vector<TemplateValue>& a,
                                    const CallContext&) {
  return TemplateValue::Bool(absl::StartsWith(S(a, 0), "/"));
}

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
    url->path = "*";
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
  absl::StatusOr<GoUrl> u = ParseUrl(S(a, 0));
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

constexpr TemplateFunction kNames[] = {
    {"snakecase", "s", false, CaseFn},  {"kebabcase", "s", false, CaseFn},
    {"base", "s", false, Base},         {"dir", "s", false, Dir},
    {"clean", "s", false, Clean},       {"ext", "s", false, Ext},
    {"isAbs", "s", false, IsAbs},       {"osBase", "s", false, Base},
    {"osClean", "s", false, Clean},     {"osDir", "s", false, Dir},
    {"osExt", "s", false, Ext},         {"osIsAbs", "s", false, IsAbs},
    {"urlParse", "s", false, UrlParse}, {"urlJoin", "m", false, UrlJoin},
};

}  // namespace

absl::Span<const TemplateFunction> SprigNameFunctions() { return kNames; }

}  // namespace ia::automation::template_internal
