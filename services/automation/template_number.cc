// Number constants as Go's template parser reads them (parse.newNumber):
// strconv's ParseUint, ParseInt and ParseFloat rules (base prefixes 0x 0o
// 0b and a leading 0, underscores between digits, hex floats with a p
// exponent) and which Go types a literal can take. See template_tree.h.
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "services/automation/template_tree.h"

namespace ia::automation::template_internal {
namespace {

// Go's underscoreOK: underscores only between digits, or between a base
// prefix and a digit.
bool UnderscoreOk(absl::string_view s) {
  char saw = '^';
  size_t i = 0;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  bool hex = false;
  if (s.size() >= 2 && s[0] == '0' &&
      (absl::ascii_tolower(s[1]) == 'b' || absl::ascii_tolower(s[1]) == 'o' ||
       absl::ascii_tolower(s[1]) == 'x')) {
    i = 2;
    saw = '0';
    hex = absl::ascii_tolower(s[1]) == 'x';
  }
  for (; i < s.size(); ++i) {
    const char c = absl::ascii_tolower(s[i]);
    if ((c >= '0' && c <= '9') || (hex && c >= 'a' && c <= 'f')) {
      saw = '0';
      continue;
    }
    if (c == '_') {
      if (saw != '0') return false;
      saw = '_';
      continue;
    }
    if (saw == '_') return false;
    saw = '!';
  }
  return saw != '_';
}

// strconv.ParseUint(s, 0, 64).
std::optional<uint64_t> ParseGoUint(absl::string_view s0) {
  absl::string_view s = s0;
  if (s.empty()) return std::nullopt;
  int base = 10;
  if (s[0] == '0') {
    const char c = s.size() >= 3 ? absl::ascii_tolower(s[1]) : '\0';
    if (c == 'b') {
      base = 2;
      s.remove_prefix(2);
    } else if (c == 'o') {
      base = 8;
      s.remove_prefix(2);
    } else if (c == 'x') {
      base = 16;
      s.remove_prefix(2);
    } else {
      base = 8;
      s.remove_prefix(1);
    }
  }
  uint64_t n = 0;
  bool underscores = false;
  for (const char ch : s) {
    const char c = absl::ascii_tolower(ch);
    int d = 0;
    if (c == '_') {
      underscores = true;
      continue;
    } else if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'z') {
      d = c - 'a' + 10;
    } else {
      return std::nullopt;
    }
    if (d >= base) return std::nullopt;
    if (n > (UINT64_MAX - d) / base) return std::nullopt;
    n = n * base + d;
  }
  if (underscores && !UnderscoreOk(s0)) return std::nullopt;
  return n;
}

// strconv.ParseInt(s, 0, 64).
std::optional<int64_t> ParseGoInt(absl::string_view s) {
  if (s.empty()) return std::nullopt;
  bool neg = false;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  const std::optional<uint64_t> u = ParseGoUint(s);
  if (!u.has_value()) return std::nullopt;
  if (!neg && *u > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  if (neg && *u > static_cast<uint64_t>(INT64_MAX) + 1) return std::nullopt;
  return neg ? static_cast<int64_t>(0 - *u) : static_cast<int64_t>(*u);
}

}  // namespace

std::optional<double> ParseGoFloat(absl::string_view s) {
  if (!UnderscoreOk(s)) return std::nullopt;
  std::string clean;
  for (const char c : s) {
    if (c != '_') clean.push_back(c);
  }
  absl::string_view body = clean;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    body.remove_prefix(1);
  }
  const bool hex =
      body.size() >= 2 && body[0] == '0' && absl::ascii_tolower(body[1]) == 'x';
  size_t i = hex ? 2 : 0;
  auto is_digit = [&](char c) {
    return hex ? absl::ascii_isxdigit(c) : absl::ascii_isdigit(c);
  };
  size_t mantissa_digits = 0;
  while (i < body.size() && is_digit(body[i])) ++i, ++mantissa_digits;
  if (i < body.size() && body[i] == '.') {
    ++i;
    while (i < body.size() && is_digit(body[i])) ++i, ++mantissa_digits;
  }
  if (mantissa_digits == 0) return std::nullopt;
  const char exp_char = hex ? 'p' : 'e';
  if (i < body.size() && absl::ascii_tolower(body[i]) == exp_char) {
    ++i;
    if (i < body.size() && (body[i] == '+' || body[i] == '-')) ++i;
    size_t exp_digits = 0;
    while (i < body.size() && absl::ascii_isdigit(body[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return std::nullopt;
  } else if (hex) {
    return std::nullopt;  // A hex mantissa needs a 'p' exponent.
  }
  if (i != body.size()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const double f = std::strtod(clean.c_str(), &end);
  if (errno == ERANGE && std::isinf(f)) return std::nullopt;
  return f;
}

absl::StatusOr<NumberConst> ParseNumber(absl::string_view text) {
  NumberConst n;
  if (!text.empty() && text.back() == 'i') {
    return absl::InvalidArgumentError(
        absl::StrFormat("complex numbers are not supported: %s", text));
  }
  const std::optional<uint64_t> u =
      !text.empty() && text[0] != '-' && text[0] != '+' ? ParseGoUint(text)
                                                        : std::nullopt;
  uint64_t uint_value = 0;
  if (u.has_value()) {
    n.is_uint = true;
    uint_value = *u;
  }
  if (const std::optional<int64_t> i = ParseGoInt(text); i.has_value()) {
    n.is_int = true;
    n.int_value = *i;
    if (*i == 0) n.is_uint = true;
  }
  if (n.is_int) {
    n.is_float = true;
    n.float_value = static_cast<double>(n.int_value);
  } else if (n.is_uint) {
    n.is_float = true;
    n.float_value = static_cast<double>(uint_value);
  } else if (const std::optional<double> f = ParseGoFloat(text);
             f.has_value()) {
    if (text.find_first_of(".eEpP") == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrFormat("integer overflow: \"%s\"", text));
    }
    n.is_float = true;
    n.float_value = *f;
    if (*f >= -9.2233720368547758e18 && *f < 9.2233720368547758e18 &&
        static_cast<double>(static_cast<int64_t>(*f)) == *f) {
      n.is_int = true;
      n.int_value = static_cast<int64_t>(*f);
    }
    if (*f >= 0 && *f < 1.8446744073709552e19 &&
        static_cast<double>(static_cast<uint64_t>(*f)) == *f) {
      n.is_uint = true;
    }
  }
  if (!n.is_int && !n.is_uint && !n.is_float) {
    return absl::InvalidArgumentError(
        absl::StrFormat("illegal number syntax: \"%s\"", text));
  }
  const bool hex_int = text.size() >= 2 && text[0] == '0' &&
                       absl::ascii_tolower(text[1]) == 'x' &&
                       text.find_first_of("pP") == absl::string_view::npos;
  n.ideal_float = n.is_float && !hex_int &&
                  text.find_first_of(".eEpP") != absl::string_view::npos;
  n.ideal_overflows = !n.ideal_float && !n.is_int;
  return n;
}

}  // namespace ia::automation::template_internal
