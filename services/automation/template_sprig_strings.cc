// Sprig's string functions (strings.go, goutils, xstrings): their rows of
// the function table (template_functions.h), with Sprig's argument order
// (the subject last, so that `"foo" | contains "f"` works) and quirks;
// and the random randInt and shuffle, which draw from a generator of the
// calling thread's own.
#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"
#include "services/automation/template_functions.h"
#include "services/automation/template_lex.h"
#include "services/automation/template_sprig.h"

namespace ia::automation::template_internal {
namespace {

using Args = std::vector<TemplateValue>;
using Result = absl::StatusOr<TemplateValue>;
using Kind = TemplateValue::Kind;

const std::string& S(const Args& a, size_t i) { return a[i].string_value(); }
int64_t I(const Args& a, size_t i) { return a[i].int_value(); }
TemplateValue Str(std::string s) { return TemplateValue::String(std::move(s)); }

// Unicode whitespace as Go's unicode.IsSpace, for ASCII and the Latin-1
// spaces.
bool IsSpaceRune(uint32_t r) {
  return r == ' ' || (r >= '\t' && r <= '\r') || r == 0x85 || r == 0xA0 ||
         r == 0x1680 || (r >= 0x2000 && r <= 0x200a) || r == 0x2028 ||
         r == 0x2029 || r == 0x202f || r == 0x205f || r == 0x3000;
}

std::vector<uint32_t> Runes(const std::string& s) {
  std::vector<uint32_t> out;
  size_t i = 0;
  uint32_t r = 0;
  while (DecodeUtf8(s, &i, &r)) out.push_back(r);
  return out;
}

std::string FromRunes(const std::vector<uint32_t>& runes) {
  std::string out;
  for (const uint32_t r : runes) AppendUtf8(r, &out);
  return out;
}

uint32_t ToUpperRune(uint32_t r) {
  if (r >= 'a' && r <= 'z') return r - 32;
  if ((r >= 0xE0 && r <= 0xFE && r != 0xF7)) return r - 32;
  return r;
}
uint32_t ToLowerRune(uint32_t r) {
  if (r >= 'A' && r <= 'Z') return r + 32;
  if ((r >= 0xC0 && r <= 0xDE && r != 0xD7)) return r + 32;
  return r;
}
bool IsUpperRune(uint32_t r) { return ToLowerRune(r) != r; }
bool IsLowerRune(uint32_t r) { return ToUpperRune(r) != r; }

std::string MapRunes(const std::string& s, uint32_t (*f)(uint32_t)) {
  std::vector<uint32_t> runes = Runes(s);
  for (uint32_t& r : runes) r = f(r);
  return FromRunes(runes);
}

// strings.TrimSpace.
std::string TrimSpace(const std::string& s) {
  const std::vector<uint32_t> runes = Runes(s);
  size_t b = 0, e = runes.size();
  while (b < e && IsSpaceRune(runes[b])) ++b;
  while (e > b && IsSpaceRune(runes[e - 1])) --e;
  return FromRunes(std::vector<uint32_t>(runes.begin() + b, runes.begin() + e));
}

// strings.Trim(s, cutset).
std::string TrimCutset(const std::string& s, const std::string& cutset) {
  const std::vector<uint32_t> cut = Runes(cutset);
  auto in = [&](uint32_t r) {
    return std::find(cut.begin(), cut.end(), r) != cut.end();
  };
  const std::vector<uint32_t> runes = Runes(s);
  size_t b = 0, e = runes.size();
  while (b < e && in(runes[b])) ++b;
  while (e > b && in(runes[e - 1])) --e;
  return FromRunes(std::vector<uint32_t>(runes.begin() + b, runes.begin() + e));
}

// strings.Title: the first letter of each word upper-cased; a word starts
// after a separator (a space, or ASCII punctuation other than '_').
std::string Title(const std::string& s) {
  std::vector<uint32_t> runes = Runes(s);
  uint32_t prev = ' ';
  for (uint32_t& r : runes) {
    bool sep;
    if (prev <= 0x7F) {
      sep = !(absl::ascii_isalnum(static_cast<char>(prev)) || prev == '_');
    } else {
      sep = IsSpaceRune(prev);
    }
    const uint32_t cur = r;
    if (sep) r = ToUpperRune(r);
    prev = cur;
  }
  return FromRunes(runes);
}

Result Upper(const Args& a, const CallContext&) {
  return Str(MapRunes(S(a, 0), ToUpperRune));
}
Result Lower(const Args& a, const CallContext&) {
  return Str(MapRunes(S(a, 0), ToLowerRune));
}
Result TitleFn(const Args& a, const CallContext&) {
  return Str(Title(S(a, 0)));
}
Result Untitle(const Args& a, const CallContext&) {
  std::vector<uint32_t> runes = Runes(S(a, 0));
  bool next = true;
  for (uint32_t& r : runes) {
    if (IsSpaceRune(r)) {
      next = true;
    } else if (next) {
      r = ToLowerRune(r);
      next = false;
    }
  }
  return Str(FromRunes(runes));
}
Result Trim(const Args& a, const CallContext&) {
  return Str(TrimSpace(S(a, 0)));
}
Result TrimAll(const Args& a, const CallContext&) {
  return Str(TrimCutset(S(a, 1), S(a, 0)));
}
Result TrimSuffix(const Args& a, const CallContext&) {
  return Str(std::string(absl::StripSuffix(S(a, 1), S(a, 0))));
}
Result TrimPrefix(const Args& a, const CallContext&) {
  return Str(std::string(absl::StripPrefix(S(a, 1), S(a, 0))));
}
Result NoSpace(const Args& a, const CallContext&) {
  std::vector<uint32_t> runes = Runes(S(a, 0));
  runes.erase(std::remove_if(runes.begin(), runes.end(), IsSpaceRune),
              runes.end());
  return Str(FromRunes(runes));
}
Result Initials(const Args& a, const CallContext&) {
  std::string out;
  bool gap = true;
  for (const char c : S(a, 0)) {
    const auto b = static_cast<unsigned char>(c);
    if (IsSpaceRune(b)) {
      gap = true;
    } else if (gap) {
      AppendUtf8(b, &out);
      gap = false;
    }
  }
  return Str(std::move(out));
}
Result SwapCase(const Args& a, const CallContext&) {
  std::vector<uint32_t> runes = Runes(S(a, 0));
  for (uint32_t& r : runes) {
    if (IsUpperRune(r)) {
      r = ToLowerRune(r);
    } else if (IsLowerRune(r)) {
      r = ToUpperRune(r);
    }
  }
  return Str(FromRunes(runes));
}

bool IsConnector(uint32_t r) { return r == '-' || r == '_' || IsSpaceRune(r); }

// xstrings.ToCamelCase.
Result CamelCase(const Args& a, const CallContext&) {
  const std::vector<uint32_t> runes = Runes(S(a, 0));
  std::vector<uint32_t> out;
  size_t i = 0;
  uint32_t r0 = 0;
  for (; i < runes.size(); ++i) {
    r0 = runes[i];
    if (!IsConnector(r0)) {
      r0 = ToUpperRune(r0);
      break;
    }
    out.push_back(r0);
  }
  if (i >= runes.size()) return Str(FromRunes(out));
  ++i;
  if (i == runes.size()) {
    out.push_back(r0);
    return Str(FromRunes(out));
  }
  for (; i < runes.size(); ++i) {
    const uint32_t r1 = r0;
    r0 = runes[i];
    if (IsConnector(r0) && IsConnector(r1)) {
      out.push_back(r1);
      continue;
    }
    if (IsConnector(r1)) {
      r0 = ToUpperRune(r0);
    } else {
      r0 = ToLowerRune(r0);
      out.push_back(r1);
    }
  }
  out.push_back(r0);
  return Str(FromRunes(out));
}

// strings.Repeat, bounded.
Result Repeat(const Args& a, const CallContext& context) {
  const int64_t count = I(a, 0);
  if (count < 0)
    return absl::InvalidArgumentError("strings: negative Repeat count");
  const std::string& s = S(a, 1);
  if (!s.empty()) {
    RETURN_IF_ERROR(
        CheckBuildSize(count > static_cast<int64_t>(context.max_string_bytes)
                           ? context.max_string_bytes + 1
                           : s.size() * static_cast<size_t>(count),
                       context.max_string_bytes, context));
  }
  std::string out;
  for (int64_t i = 0; i < count && !s.empty(); ++i) out += s;
  return Str(std::move(out));
}

Result Substr(const Args& a, const CallContext&) {
  const int64_t start = I(a, 0), end = I(a, 1);
  const std::string& s = S(a, 2);
  const auto len = static_cast<int64_t>(s.size());
  auto out_of_range = [&](int64_t lo, int64_t hi) {
    return absl::InvalidArgumentError(absl::StrCat(
        "runtime error: slice bounds out of range [",
        lo > hi ? absl::StrCat(lo, ":", hi) : absl::StrCat(":", hi), "]",
        lo > hi ? "" : absl::StrCat(" with length ", len)));
  };
  if (start < 0) {
    if (end < 0 || end > len) return out_of_range(0, end);
    return Str(s.substr(0, end));
  }
  if (end < 0 || end > len) {
    if (start > len) {
      return absl::InvalidArgumentError(absl::StrCat(
          "runtime error: slice bounds out of range [", start, ":", len, "]"));
    }
    return Str(s.substr(start));
  }
  if (start > end) return out_of_range(start, end);
  return Str(s.substr(start, end - start));
}

Result Trunc(const Args& a, const CallContext&) {
  const int64_t c = I(a, 0);
  const std::string& s = S(a, 1);
  const auto len = static_cast<int64_t>(s.size());
  if (c < 0 && len + c > 0) return Str(s.substr(len + c));
  if (c >= 0 && len > c) return Str(s.substr(0, c));
  return Str(s);
}

// goutils.AbbreviateFull (byte offsets, as in Go).
std::string AbbreviateFull(const std::string& str, int64_t offset,
                           int64_t max_width) {
  if (str.empty() || max_width < 4) return str;
  const auto len = static_cast<int64_t>(str.size());
  if (len <= max_width) return str;
  offset = std::min(offset, len);
  if (len - offset < max_width - 3) offset = len - (max_width - 3);
  if (offset <= 4) return str.substr(0, max_width - 3) + "...";
  if (max_width < 7) return "";
  if (offset + max_width - 3 < len) {
    return "..." + AbbreviateFull(str.substr(offset), 0, max_width - 3);
  }
  return "..." + str.substr(len - (max_width - 3));
}

Result Abbrev(const Args& a, const CallContext&) {
  if (I(a, 0) < 4) return Str(S(a, 1));
  return Str(AbbreviateFull(S(a, 1), 0, I(a, 0)));
}
Result AbbrevBoth(const Args& a, const CallContext&) {
  const int64_t left = I(a, 0), right = I(a, 1);
  if (right < 4 || (left > 0 && right < 7)) return Str(S(a, 2));
  return Str(AbbreviateFull(S(a, 2), left, right));
}

// goutils.WrapCustom (byte-based, as in Go).
std::string WrapCustom(const std::string& str, int64_t width,
                       std::string newline, bool long_words) {
  if (str.empty()) return "";
  if (newline.empty()) newline = "\n";
  if (width < 1) width = 1;
  const auto len = static_cast<int64_t>(str.size());
  int64_t offset = 0;
  std::string out;
  while (len - offset > width) {
    if (str[offset] == ' ') {
      ++offset;
      continue;
    }
    const int64_t end = width + offset + 1;
    const size_t last = str.substr(offset, end - offset).rfind(' ');
    if (last != std::string::npos) {
      const int64_t at = offset + static_cast<int64_t>(last);
      out += str.substr(offset, at - offset) + newline;
      offset = at + 1;
    } else if (long_words) {
      out += str.substr(offset, width) + newline;
      offset += width;
    } else {
      const size_t next = str.find(' ', width + offset);
      if (next == std::string::npos) {
        out += str.substr(offset);
        offset = len;
      } else {
        out += str.substr(offset, next - offset) + newline;
        offset = static_cast<int64_t>(next) + 1;
      }
    }
  }
  out += str.substr(offset);
  return out;
}

Result Wrap(const Args& a, const CallContext&) {
  return Str(WrapCustom(S(a, 1), I(a, 0), "", false));
}
Result WrapWith(const Args& a, const CallContext&) {
  return Str(WrapCustom(S(a, 2), I(a, 0), S(a, 1), true));
}
Result Contains(const Args& a, const CallContext&) {
  return TemplateValue::Bool(absl::StrContains(S(a, 1), S(a, 0)));
}
Result HasPrefix(const Args& a, const CallContext&) {
  return TemplateValue::Bool(absl::StartsWith(S(a, 1), S(a, 0)));
}
Result HasSuffix(const Args& a, const CallContext&) {
  return TemplateValue::Bool(absl::EndsWith(S(a, 1), S(a, 0)));
}

Result Quote(const Args& a, const CallContext& context) {
  std::vector<std::string> out;
  for (const TemplateValue& v : a) {
    if (v.is_valid()) out.push_back(GoQuote(Strval(v)));
  }
  return BuiltString(absl::StrJoin(out, " "), context);
}
Result Squote(const Args& a, const CallContext& context) {
  std::vector<std::string> out;
  for (const TemplateValue& v : a) {
    if (v.is_valid()) out.push_back(absl::StrCat("'", FmtValue(v), "'"));
  }
  return BuiltString(absl::StrJoin(out, " "), context);
}
Result Cat(const Args& a, const CallContext& context) {
  std::vector<std::string> out;
  for (const TemplateValue& v : a) {
    if (v.is_valid()) out.push_back(FmtValue(v));
  }
  return BuiltString(absl::StrJoin(out, " "), context);
}

Result Indent(const Args& a, const CallContext& context) {
  const int64_t spaces = I(a, 0);
  if (spaces < 0)
    return absl::InvalidArgumentError("strings: negative Repeat count");
  const std::string& v = S(a, 1);
  const size_t lines = 1 + std::count(v.begin(), v.end(), '\n');
  if (spaces > static_cast<int64_t>(context.max_string_bytes) ||
      v.size() + lines * static_cast<size_t>(spaces) >
          context.max_string_bytes) {
    return CheckBuildSize(context.max_string_bytes + 1,
                          context.max_string_bytes, context);
  }
  const std::string pad(spaces, ' ');
  std::string out = pad + absl::StrReplaceAll(v, {{"\n", "\n" + pad}});
  if (context.name == "nindent") out.insert(0, "\n");
  return BuiltString(std::move(out), context);
}

Result Replace(const Args& a, const CallContext& context) {
  const std::string& old = S(a, 0);
  const std::string& src = S(a, 2);
  if (old.empty()) {
    // strings.Replace with an empty old inserts `new` around every rune.
    std::string out = S(a, 1);
    size_t i = 0;
    uint32_t r = 0;
    while (i < src.size()) {
      const size_t start = i;
      DecodeUtf8(src, &i, &r);
      out += src.substr(start, i - start) + S(a, 1);
      RETURN_IF_ERROR(
          CheckBuildSize(out.size(), context.max_string_bytes, context));
    }
    return Str(std::move(out));
  }
  return BuiltString(absl::StrReplaceAll(src, {{old, S(a, 1)}}), context);
}

Result Plural(const Args& a, const CallContext&) {
  return Str(I(a, 2) == 1 ? S(a, 0) : S(a, 1));
}

Result ToString(const Args& a, const CallContext&) { return Str(Strval(a[0])); }

// strings.Split(orig, sep), as Go splits (an empty sep splits into runes).
std::vector<std::string> GoSplit(const std::string& orig,
                                 const std::string& sep, int64_t n) {
  std::vector<std::string> parts;
  if (n == 0) return parts;
  if (sep.empty()) {
    size_t i = 0;
    uint32_t r = 0;
    while (i < orig.size()) {
      if (n > 0 && static_cast<int64_t>(parts.size()) == n - 1) {
        parts.push_back(orig.substr(i));
        return parts;
      }
      const size_t start = i;
      DecodeUtf8(orig, &i, &r);
      parts.push_back(orig.substr(start, i - start));
    }
    return parts;
  }
  size_t start = 0;
  for (;;) {
    if (n > 0 && static_cast<int64_t>(parts.size()) == n - 1) break;
    const size_t at = orig.find(sep, start);
    if (at == std::string::npos) break;
    parts.push_back(orig.substr(start, at - start));
    start = at + sep.size();
  }
  parts.push_back(orig.substr(start));
  return parts;
}

TemplateValue IndexedMap(const std::vector<std::string>& parts) {
  std::map<std::string, std::string> m;
  for (size_t i = 0; i < parts.size(); ++i) m[absl::StrCat("_", i)] = parts[i];
  return TemplateValue::StringMap(m);
}

Result SplitFn(const Args& a, const CallContext&) {
  return IndexedMap(GoSplit(S(a, 1), S(a, 0), -1));
}
Result SplitN(const Args& a, const CallContext&) {
  return IndexedMap(GoSplit(S(a, 2), S(a, 0), I(a, 1)));
}
Result SplitList(const Args& a, const CallContext&) {
  return StringList(GoSplit(S(a, 1), S(a, 0), -1));
}

}  // namespace

// Sprig's strslice: a list's non-nil items as strings, nil as no strings,
// any other value as one string.
std::vector<std::string> StrSlice(const TemplateValue& v) {
  std::vector<std::string> out;
  if (v.kind() == Kind::kList) {
    for (const TemplateValue& item : v.list_items()) {
      if (item.is_valid()) out.push_back(Strval(item));
    }
  } else if (v.is_valid()) {
    out.push_back(Strval(v));
  }
  return out;
}

namespace {

Result ToStrings(const Args& a, const CallContext&) {
  return StringList(StrSlice(a[0]));
}
Result Join(const Args& a, const CallContext& context) {
  return BuiltString(absl::StrJoin(StrSlice(a[1]), S(a, 0)), context);
}
Result SortAlpha(const Args& a, const CallContext&) {
  if (a[0].kind() != Kind::kList) return StringList({Strval(a[0])});
  std::vector<std::string> items = StrSlice(a[0]);
  std::sort(items.begin(), items.end());
  return StringList(items);
}

// The calling thread's random generator, seeded from the system's source.
std::mt19937_64& Random() {
  thread_local std::mt19937_64 generator(std::random_device{}());
  return generator;
}

// Go's rand.Intn(n): uniform in [0, n); Go's panic when n <= 0.
absl::StatusOr<int64_t> Intn(int64_t n) {
  if (n <= 0) return absl::InvalidArgumentError("invalid argument to Intn");
  return std::uniform_int_distribution<int64_t>(0, n - 1)(Random());
}

// Sprig's randInt: uniform in [min, max) (Go's int arithmetic wraps).
Result RandInt(const Args& a, const CallContext&) {
  const int64_t min = a[0].int_value();
  const int64_t span = static_cast<int64_t>(
      static_cast<uint64_t>(a[1].int_value()) - static_cast<uint64_t>(min));
  ASSIGN_OR_RETURN(const int64_t r, Intn(span));
  return TemplateValue::Int(static_cast<int64_t>(static_cast<uint64_t>(r) +
                                                 static_cast<uint64_t>(min)));
}

// xstrings' Shuffle: the string's runes (a bad UTF-8 byte reads as U+FFFD)
// in a random order (Fisher-Yates).
Result Shuffle(const Args& a, const CallContext&) {
  const std::string& s = S(a, 0);
  if (s.empty()) return TemplateValue::String("");
  std::vector<uint32_t> runes;
  size_t i = 0;
  uint32_t r = 0;
  while (DecodeUtf8(s, &i, &r)) runes.push_back(r);
  for (size_t j = runes.size() - 1; j > 0; --j) {
    ASSIGN_OR_RETURN(const int64_t k, Intn(static_cast<int64_t>(j + 1)));
    std::swap(runes[j], runes[static_cast<size_t>(k)]);
  }
  std::string out;
  for (const uint32_t rune : runes) AppendUtf8(rune, &out);
  return TemplateValue::String(std::move(out));
}

constexpr TemplateFunction kStrings[] = {
    {"abbrev", "is", false, Abbrev},
    {"randInt", "ii", false, RandInt},
    {"shuffle", "s", false, Shuffle},
    {"abbrevboth", "iis", false, AbbrevBoth},
    {"trunc", "is", false, Trunc},
    {"trim", "s", false, Trim},
    {"upper", "s", false, Upper},
    {"lower", "s", false, Lower},
    {"title", "s", false, TitleFn},
    {"untitle", "s", false, Untitle},
    {"substr", "iis", false, Substr},
    {"repeat", "is", false, Repeat},
    {"trimall", "ss", false, TrimAll},
    {"trimAll", "ss", false, TrimAll},
    {"trimSuffix", "ss", false, TrimSuffix},
    {"trimPrefix", "ss", false, TrimPrefix},
    {"nospace", "s", false, NoSpace},
    {"initials", "s", false, Initials},
    {"swapcase", "s", false, SwapCase},
    {"camelcase", "s", false, CamelCase},
    {"wrap", "is", false, Wrap},
    {"wrapWith", "iss", false, WrapWith},
    {"contains", "ss", false, Contains},
    {"hasPrefix", "ss", false, HasPrefix},
    {"hasSuffix", "ss", false, HasSuffix},
    {"quote", "a", true, Quote},
    {"squote", "a", true, Squote},
    {"cat", "a", true, Cat},
    {"indent", "is", false, Indent},
    {"nindent", "is", false, Indent},
    {"replace", "sss", false, Replace},
    {"plural", "ssi", false, Plural},
    {"toString", "a", false, ToString},
    {"split", "ss", false, SplitFn},
    {"splitList", "ss", false, SplitList},
    {"splitn", "sis", false, SplitN},
    {"toStrings", "a", false, ToStrings},
    {"join", "sa", false, Join},
    {"sortAlpha", "a", false, SortAlpha},
};

}  // namespace

absl::Span<const TemplateFunction> SprigStringFunctions() { return kStrings; }

}  // namespace ia::automation::template_internal
