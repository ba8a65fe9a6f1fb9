// Parsing and printing of Flux durations. The grammar is the one Flux's CRDs
// enforce with ^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$, which is a subset of Go's
// time.ParseDuration; values are computed as Go computes them (integer
// nanoseconds, fractions truncated), and printed as Go's Duration.String().
#include "common/duration.h"

#include <cstdint>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ia {
namespace {

constexpr int64_t kNanosPerMilli = 1'000'000;
constexpr int64_t kNanosPerSecond = 1'000'000'000;
constexpr int64_t kNanosPerMinute = 60 * kNanosPerSecond;
constexpr int64_t kNanosPerHour = 60 * kNanosPerMinute;

absl::Status Invalid(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid duration \"", text, "\": ", why));
}

// Nanoseconds in one `unit`, or 0 when the unit is not one Flux accepts.
int64_t UnitNanos(absl::string_view unit) {
  if (unit == "ms") return kNanosPerMilli;
  if (unit == "s") return kNanosPerSecond;
  if (unit == "m") return kNanosPerMinute;
  if (unit == "h") return kNanosPerHour;
  return 0;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Writes `v` as Go's fmtFrac does: the fraction of `v` below 10^prec, without
// trailing zeros (and without the '.' when it is zero). Returns v / 10^prec.
uint64_t FormatFraction(uint64_t v, int prec, std::string* out) {
  std::string digits;
  bool print = false;
  for (int i = 0; i < prec; ++i) {
    const int digit = static_cast<int>(v % 10);
    print = print || digit != 0;
    if (print) digits.insert(digits.begin(), static_cast<char>('0' + digit));
    v /= 10;
  }
  if (print) *out = absl::StrCat(".", digits, *out);
  return v;
}

}  // namespace

absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text) {
  if (text.empty())
    return Invalid(text, "empty (e.g. \"30s\", \"5m\", \"1h\")");
  if (text[0] == '-' || text[0] == '+') {
    return Invalid(text, "a sign is not allowed; durations are positive");
  }
  // Total in nanoseconds; 128 bits so that overflow is detected, not wrapped.
  unsigned __int128 total = 0;
  constexpr unsigned __int128 kMax = std::numeric_limits<int64_t>::max();
  size_t i = 0;
  while (i < text.size()) {
    // [0-9]+
    const size_t int_start = i;
    while (i < text.size() && IsDigit(text[i])) ++i;
    if (i == int_start) {
      return Invalid(text, absl::StrCat("expected a number at \"",
                                        text.substr(int_start), "\""));
    }
    const absl::string_view int_part = text.substr(int_start, i - int_start);
    // (\.[0-9]+)?
    absl::string_view frac_part;
    if (i < text.size() && text[i] == '.') {
      ++i;
      const size_t frac_start = i;
      while (i < text.size() && IsDigit(text[i])) ++i;
      if (i == frac_start) {
        return Invalid(text, "expected digits after \".\"");
      }
      frac_part = text.substr(frac_start, i - frac_start);
    }
    // (ms|s|m|h): the unit is every character up to the next number.
    const size_t unit_start = i;
    while (i < text.size() && !IsDigit(text[i]) && text[i] != '.') ++i;
    const absl::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) {
      return Invalid(text, absl::StrCat("missing unit after \"", int_part,
                                        frac_part.empty() ? "" : ".", frac_part,
                                        "\" (use ms, s, m or h)"));
    }
    const int64_t scale = UnitNanos(unit);
    if (scale == 0) {
      return Invalid(text, absl::StrCat("unknown unit \"", unit,
                                        "\" (use ms, s, m or h)"));
    }
    unsigned __int128 value = 0;
    for (char c : int_part) {
      value = value * 10 + static_cast<unsigned>(c - '0');
      if (value > kMax) return Invalid(text, "too large");
    }
    value *= static_cast<uint64_t>(scale);
    // Fractions are truncated to whole nanoseconds, as Go does.
    unsigned __int128 frac = 0;
    unsigned __int128 frac_scale = 1;
    for (char c : frac_part) {
      if (frac_scale > kMax) break;  // Digits beyond any precision.
      frac = frac * 10 + static_cast<unsigned>(c - '0');
      frac_scale *= 10;
    }
    value += frac * static_cast<uint64_t>(scale) / frac_scale;
    total += value;
    if (total > kMax) return Invalid(text, "too large");
  }
  return absl::Nanoseconds(static_cast<int64_t>(total));
}

std::string FormatDuration(absl::Duration d) {
  int64_t nanos;
  if (d >= absl::Nanoseconds(std::numeric_limits<int64_t>::max())) {
    nanos = std::numeric_limits<int64_t>::max();
  } else if (d <= absl::Nanoseconds(std::numeric_limits<int64_t>::min())) {
    nanos = std::numeric_limits<int64_t>::min();
  } else {
    nanos = absl::ToInt64Nanoseconds(d);
  }
  if (nanos == 0) return "0s";
  const bool negative = nanos < 0;
  // Magnitude as unsigned, so that INT64_MIN is representable.
  uint64_t u = negative ? 0 - static_cast<uint64_t>(nanos)
                        : static_cast<uint64_t>(nanos);
  std::string out;
  if (u < static_cast<uint64_t>(kNanosPerSecond)) {
    // Below one second Go uses a smaller unit so that the value reads well.
    if (u < 1000) {
      out = absl::StrCat(u, "ns");
    } else if (u < 1000 * 1000) {
      out = "\xC2\xB5s";  // "µs", as Go writes it.
      u = FormatFraction(u, 3, &out);
      out = absl::StrCat(u, out);
    } else {
      out = "ms";
      u = FormatFraction(u, 6, &out);
      out = absl::StrCat(u, out);
    }
  } else {
    out = "s";
    u = FormatFraction(u, 9, &out);
    // u is whole seconds now.
    out = absl::StrCat(u % 60, out);
    u /= 60;
    if (u > 0) {
      out = absl::StrCat(u % 60, "m", out);
      u /= 60;
      // Go stops at hours: days have different lengths.
      if (u > 0) out = absl::StrCat(u, "h", out);
    }
  }
  if (negative) out = absl::StrCat("-", out);
  return out;
}

}  // namespace ia
