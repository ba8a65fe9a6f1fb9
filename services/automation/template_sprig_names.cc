// Sprig's functions on names and paths: snakecase and kebabcase
// (huandu/xstrings' ToSnakeCase and ToKebabCase: words split at case
// changes, digits and connectors, joined by '_' or '-' in lower case;
// "HTTPServer" -> "http_server", "http2xx" -> "http_2xx", "Bld4Floor3rd" ->
// "bld4_floor_3rd"; letters judged as ASCII and Latin-1), and base, dir,
// clean, ext, isAbs and their os* twins (Go's path package, '/'-separated
// on Linux as filepath is).
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/automation/template_functions.h"
#include "services/automation/template_lex.h"

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

constexpr TemplateFunction kNames[] = {
    {"snakecase", "s", false, CaseFn}, {"kebabcase", "s", false, CaseFn},
    {"base", "s", false, Base},        {"dir", "s", false, Dir},
    {"clean", "s", false, Clean},      {"ext", "s", false, Ext},
    {"isAbs", "s", false, IsAbs},      {"osBase", "s", false, Base},
    {"osClean", "s", false, Clean},    {"osDir", "s", false, Dir},
    {"osExt", "s", false, Ext},        {"osIsAbs", "s", false, IsAbs},
};

}  // namespace

absl::Span<const TemplateFunction> SprigNameFunctions() { return kNames; }

}  // namespace ia::automation::template_internal
