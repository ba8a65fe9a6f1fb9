// The setters' scalar tokens: locate, decode, render. See setters_scalar.h.
#include "services/automation/setters_scalar.h"

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "services/automation/setters.h"

namespace ia::automation {
namespace setters_internal {
namespace {

// Decodes a one-line single-quoted token ('...'); nullopt when malformed.
std::optional<std::string> DecodeSingle(absl::string_view token) {
  if (token.size() < 2 || token.front() != '\'' || token.back() != '\'') {
    return std::nullopt;
  }
  std::string out;
  absl::string_view body = token.substr(1, token.size() - 2);
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\'') {
      if (i + 1 >= body.size() || body[i + 1] != '\'') return std::nullopt;
      ++i;
    }
    out.push_back(body[i]);
  }
  return out;
}

void AppendUtf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Decodes a one-line double-quoted token ("..."); nullopt when malformed.
std::optional<std::string> DecodeDouble(absl::string_view token) {
  if (token.size() < 2 || token.front() != '"' || token.back() != '"') {
    return std::nullopt;
  }
  absl::string_view body = token.substr(1, token.size() - 2);
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '"') return std::nullopt;
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (++i >= body.size()) return std::nullopt;
    int hex_digits = 0;
    switch (body[i]) {
      case '0':
        out.push_back('\0');
        break;
      case 'a':
        out.push_back('\a');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 't':
      case '\t':
        out.push_back('\t');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'v':
        out.push_back('\v');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 'e':
        out.push_back('\x1b');
        break;
      case ' ':
        out.push_back(' ');
        break;
      case '"':
        out.push_back('"');
        break;
      case '/':
        out.push_back('/');
        break;
      case '\\':
        out.push_back('\\');
        break;
      case 'N':
        AppendUtf8(0x85, out);
        break;
      case '_':
        AppendUtf8(0xA0, out);
        break;
      case 'L':
        AppendUtf8(0x2028, out);
        break;
      case 'P':
        AppendUtf8(0x2029, out);
        break;
      case 'x':
        hex_digits = 2;
        break;
      case 'u':
        hex_digits = 4;
        break;
      case 'U':
        hex_digits = 8;
        break;
      default:
        return std::nullopt;
    }
    if (hex_digits > 0) {
      if (i + hex_digits >= body.size()) return std::nullopt;
      uint32_t cp = 0;
      for (int k = 1; k <= hex_digits; ++k) {
        const char h = body[i + k];
        cp <<= 4;
        if (h >= '0' && h <= '9')
          cp |= h - '0';
        else if (h >= 'a' && h <= 'f')
          cp |= h - 'a' + 10;
        else if (h >= 'A' && h <= 'F')
          cp |= h - 'A' + 10;
        else
          return std::nullopt;
      }
      AppendUtf8(cp, out);
      i += hex_digits;
    }
  }
  return out;
}

std::string EncodeDouble(absl::string_view value) {
  std::string out = "\"";
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          char buffer[8];
          std::snprintf(buffer, sizeof(buffer), "\\x%02X", u);
          out += buffer;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
  return out;
}

bool IsPrintable(absl::string_view value) {
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

std::string EncodeSingle(absl::string_view value) {
  std::string out = "'";
  for (const char c : value) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

bool AllOf(absl::string_view s, absl::string_view allowed, bool need_digit) {
  if (s.empty()) return false;
  bool digit = false;
  for (const char c : s) {
    if (allowed.find(c) == absl::string_view::npos) return false;
    if (c != '_') digit = true;
  }
  return digit || !need_digit;
}

// Integers as Go's strconv.ParseInt(s, 0, 64) reads them (what yaml.v3
// resolves), plus overflowing decimal ones.
bool IsInt(absl::string_view s) {
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  if (s.size() > 2 && s[0] == '0') {
    const char p = absl::ascii_tolower(s[1]);
    if (p == 'x') return AllOf(s.substr(2), "0123456789abcdefABCDEF_", true);
    if (p == 'o') return AllOf(s.substr(2), "01234567_", true);
    if (p == 'b') return AllOf(s.substr(2), "01_", true);
  }
  return AllOf(s, "0123456789_", true) && s.front() != '_';
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, or .inf / .nan.
bool IsFloat(absl::string_view s) {
  static const std::set<std::string, std::less<>> kSpecial = {
      ".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN"};
  absl::string_view unsigned_s = s;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) unsigned_s.remove_prefix(1);
  if (kSpecial.count(unsigned_s) > 0) return true;
  size_t i = 0;
  auto digits = [&]() {
    const size_t begin = i;
    while (i < unsigned_s.size() && absl::ascii_isdigit(unsigned_s[i])) ++i;
    return i - begin;
  };
  const size_t whole = digits();
  if (i < unsigned_s.size() && unsigned_s[i] == '.') {
    ++i;
    const size_t fraction = digits();
    if (whole == 0 && fraction == 0) return false;
  } else if (whole == 0) {
    return false;
  }
  if (i < unsigned_s.size() && (unsigned_s[i] == 'e' || unsigned_s[i] == 'E')) {
    ++i;
    if (i < unsigned_s.size() && (unsigned_s[i] == '+' || unsigned_s[i] == '-'))
      ++i;
    if (digits() == 0) return false;
  }
  return i == unsigned_s.size();
}

// YYYY-M-D at the start: yaml.v3 reads such plain scalars as timestamps.
bool LooksLikeTimestamp(absl::string_view s) {
  size_t i = 0;
  auto digits = [&](size_t min, size_t max) {
    size_t n = 0;
    while (i < s.size() && absl::ascii_isdigit(s[i]) && n < max) ++i, ++n;
    return n >= min;
  };
  return digits(4, 4) && i < s.size() && s[i++] == '-' && digits(1, 2) &&
         i < s.size() && s[i++] == '-' && digits(1, 2);
}

// YAML 1.1 sexagesimal numbers ("1:20"), which yaml.v3 quotes.
bool IsBase60(absl::string_view s) {
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  if (s.empty() || !absl::ascii_isdigit(s[0])) return false;
  std::vector<absl::string_view> parts = absl::StrSplit(s, ':');
  if (parts.size() < 2) return false;
  if (!AllOf(parts[0], "0123456789_", true)) return false;
  for (size_t k = 1; k < parts.size(); ++k) {
    absl::string_view p = parts[k];
    if (k + 1 == parts.size()) {
      const size_t dot = p.find('.');
      if (dot != absl::string_view::npos) {
        if (!p.substr(dot + 1).empty() &&
            !AllOf(p.substr(dot + 1), "0123456789_", false)) {
          return false;
        }
        p = p.substr(0, dot);
      }
    }
    if (p.empty() || p.size() > 2 || !AllOf(p, "0123456789", true)) {
      return false;
    }
    if (p.size() == 2 && p[0] > '5') return false;
  }
  return true;
}

}  // namespace

// Where the token of the scalar starting (with its properties) at `pos`
// ends; nullopt when it is not a one-line plain or quoted scalar.
std::optional<Scalar> LocateToken(absl::string_view content, size_t pos,
                                  bool in_flow) {
  size_t i = pos;
  // Skip properties: &anchor and !tag, each followed by spaces.
  while (i < content.size() && (content[i] == '&' || content[i] == '!')) {
    while (i < content.size() && !IsSpace(content[i]) && content[i] != '\n' &&
           content[i] != '\r') {
      ++i;
    }
    while (i < content.size() && IsSpace(content[i])) ++i;
  }
  if (i >= content.size()) return std::nullopt;
  Scalar s;
  s.start = i;
  s.in_flow = in_flow;
  const char first = content[i];
  if (first == '|' || first == '>') return std::nullopt;
  if (first == '\'' || first == '"') {
    s.style = first == '\'' ? Style::kSingle : Style::kDouble;
    size_t j = i + 1;
    for (; j < content.size(); ++j) {
      const char c = content[j];
      if (c == '\n' || c == '\r') return std::nullopt;  // multi-line
      if (first == '"' && c == '\\') {
        ++j;
        continue;
      }
      if (c == first) {
        if (first == '\'' && j + 1 < content.size() && content[j + 1] == '\'') {
          ++j;
          continue;
        }
        break;
      }
    }
    if (j >= content.size()) return std::nullopt;
    s.end = j + 1;
    return s;
  }
  s.style = Style::kPlain;
  size_t j = i;
  for (; j < content.size(); ++j) {
    const char c = content[j];
    if (c == '\n' || c == '\r') break;
    if (c == '#' && j > i && IsSpace(content[j - 1])) break;
    if (c == ':' &&
        (j + 1 >= content.size() || IsSpace(content[j + 1]) ||
         content[j + 1] == '\n' || content[j + 1] == '\r' ||
         (in_flow && absl::string_view(",[]{}").find(content[j + 1]) !=
                         absl::string_view::npos))) {
      break;
    }
    if (in_flow &&
        absl::string_view(",[]{}").find(c) != absl::string_view::npos) {
      break;
    }
  }
  while (j > i && IsSpace(content[j - 1])) --j;
  s.end = j;
  return s;
}

std::optional<std::string> DecodeToken(absl::string_view token, Style style) {
  switch (style) {
    case Style::kPlain:
      return std::string(token);
    case Style::kSingle:
      return DecodeSingle(token);
    case Style::kDouble:
      return DecodeDouble(token);
  }
  return std::nullopt;
}

std::string Render(const Scalar& s, absl::string_view value) {
  switch (s.style) {
    case Style::kPlain:
      return NeedsQuotes(value, s.in_flow) ? EncodeDouble(value)
                                           : std::string(value);
    case Style::kSingle:
      return IsPrintable(value) ? EncodeSingle(value) : EncodeDouble(value);
    case Style::kDouble:
      return EncodeDouble(value);
  }
  return std::string(value);
}

}  // namespace setters_internal

bool NeedsQuotes(absl::string_view v, bool in_flow) {
  using setters_internal::IsBase60;
  using setters_internal::IsFloat;
  using setters_internal::IsInt;
  using setters_internal::IsPrintable;
  using setters_internal::IsSpace;
  using setters_internal::LooksLikeTimestamp;
  static const std::set<std::string, std::less<>> kWords = {
      "~",     "null",  "Null",  "NULL", "true", "True", "TRUE",
      "false", "False", "FALSE", "y",    "Y",    "yes",  "Yes",
      "YES",   "n",     "N",     "no",   "No",   "NO",   "on",
      "On",    "ON",    "off",   "Off",  "OFF",  "<<",   "="};
  if (v.empty() || kWords.count(v) > 0) return true;
  if (IsInt(v) || IsFloat(v) || IsBase60(v) || LooksLikeTimestamp(v)) {
    return true;
  }
  if (absl::string_view("-?:,[]{}#&*!|>'\"%@`").find(v.front()) !=
      absl::string_view::npos) {
    return true;
  }
  if (IsSpace(v.front()) || IsSpace(v.back()) || v.back() == ':') return true;
  if (absl::StrContains(v, ": ") || absl::StrContains(v, " #") ||
      absl::StrContains(v, ":\t") || absl::StrContains(v, "\t#")) {
    return true;
  }
  if (!IsPrintable(v)) return true;
  if (in_flow && v.find_first_of(",[]{}") != absl::string_view::npos) {
    return true;
  }
  return false;
}

}  // namespace ia::automation
