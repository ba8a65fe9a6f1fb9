// Sprig's default, conversion, math, reflection and flow functions
// (defaults.go, numeric.go, reflect.go, functions.go): their rows of the
// function table (template_functions.h). The float functions (addf, subf,
// mulf, divf, add1f) compute in decimal as Sprig's shopspring/decimal
// does, so that 0.1 + 0.2 is 0.3.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "services/automation/template_functions.h"
#include "services/automation/template_sprig.h"

namespace ia::automation::template_internal {
namespace {

using Args = std::vector<TemplateValue>;
using Result = absl::StatusOr<TemplateValue>;
using Kind = TemplateValue::Kind;

TemplateValue Int64(int64_t i) { return TemplateValue::TypedInt(i, "int64"); }

// --- Defaults -------------------------------------------------------------

Result Default(const Args& a, const CallContext&) {
  if (a.size() < 2 || SprigEmpty(a[1])) return a[0];
  return a[1];
}
Result Empty(const Args& a, const CallContext&) {
  return TemplateValue::Bool(SprigEmpty(a[0]));
}
Result Coalesce(const Args& a, const CallContext&) {
  for (const TemplateValue& v : a) {
    if (!SprigEmpty(v)) return v;
  }
  return TemplateValue();
}
Result All(const Args& a, const CallContext&) {
  return TemplateValue::Bool(std::none_of(a.begin(), a.end(), SprigEmpty));
}
Result Any(const Args& a, const CallContext&) {
  return TemplateValue::Bool(!std::all_of(a.begin(), a.end(), SprigEmpty));
}
Result Ternary(const Args& a, const CallContext&) {
  return a[2].bool_value() ? a[0] : a[1];
}
Result Fail(const Args& a, const CallContext&) {
  return absl::InvalidArgumentError(a[0].string_value());
}

// A deep copy: maps are the only values a template can mutate (set, unset,
// merge), so they are rebuilt.
TemplateValue Copy(const TemplateValue& v) {
  switch (v.kind()) {
    case Kind::kList: {
      std::vector<TemplateValue> items;
      for (const TemplateValue& item : v.list_items()) {
        items.push_back(Copy(item));
      }
      return TemplateValue::List(std::move(items), v.TypeName());
    }
    case Kind::kMap: {
      std::vector<std::pair<TemplateValue, TemplateValue>> entries;
      for (const auto& [k, val] : v.map_entries()) {
        entries.emplace_back(k, Copy(val));
      }
      return TemplateValue::Map(std::move(entries), v.map_zero(), v.TypeName());
    }
    default:
      return v;
  }
}
Result DeepCopy(const Args& a, const CallContext&) {
  if (!a[0].is_valid()) {
    return absl::InvalidArgumentError("deepCopy error: copy: nil value");
  }
  return Copy(a[0]);
}

// --- Reflection -------------------------------------------------------------

std::string TypeOf(const TemplateValue& v) {
  return v.is_valid() ? v.TypeName() : "<nil>";
}
Result TypeOfFn(const Args& a, const CallContext&) {
  return TemplateValue::String(TypeOf(a[0]));
}
Result TypeIs(const Args& a, const CallContext&) {
  return TemplateValue::Bool(a[0].string_value() == TypeOf(a[1]));
}
Result TypeIsLike(const Args& a, const CallContext&) {
  const std::string t = TypeOf(a[1]);
  return TemplateValue::Bool(a[0].string_value() == t ||
                             a[0].string_value() == "*" + t);
}
Result KindOf(const Args& a, const CallContext&) {
  return TemplateValue::String(KindName(a[0]));
}
Result KindIs(const Args& a, const CallContext&) {
  return TemplateValue::Bool(a[0].string_value() == KindName(a[1]));
}
Result DeepEqualFn(const Args& a, const CallContext&) {
  return TemplateValue::Bool(DeepEqual(a[0], a[1]));
}

// --- Conversion
// ---------------------------------------------------------------

// strconv.Atoi: decimal only, errors read as 0.
Result Atoi(const Args& a, const CallContext&) {
  const std::string& s = a[0].string_value();
  int64_t i = 0;
  const bool digits_only =
      !s.empty() &&
      std::all_of(s.begin() + (s[0] == '+' || s[0] == '-' ? 1 : 0), s.end(),
                  [](char c) { return c >= '0' && c <= '9'; }) &&
      s.size() > (s[0] == '+' || s[0] == '-' ? 1u : 0u);
  if (!digits_only || !absl::SimpleAtoi(s, &i)) i = 0;
  return TemplateValue::Int(i);
}
Result ToInt(const Args& a, const CallContext&) {
  return TemplateValue::Int(CastInt64(a[0]));
}
Result ToInt64(const Args& a, const CallContext&) {
  return Int64(CastInt64(a[0]));
}
Result ToFloat64(const Args& a, const CallContext&) {
  return TemplateValue::Float(CastFloat64(a[0]));
}
Result ToDecimal(const Args& a, const CallContext&) {
  // strconv.ParseInt(fmt.Sprint(v), 8, 64).
  std::string s = FmtValue(a[0]);
  bool neg = false;
  absl::string_view d = s;
  if (!d.empty() && (d[0] == '+' || d[0] == '-')) {
    neg = d[0] == '-';
    d.remove_prefix(1);
  }
  if (d.empty()) return Int64(0);
  uint64_t n = 0;
  for (const char c : d) {
    if (c < '0' || c > '7') return Int64(0);
    if (n > (UINT64_MAX >> 3)) return Int64(0);
    n = n * 8 + (c - '0');
  }
  if (n > static_cast<uint64_t>(INT64_MAX) + (neg ? 1 : 0)) return Int64(0);
  return Int64(neg ? static_cast<int64_t>(0 - n) : static_cast<int64_t>(n));
}

// --- Integer math
// -------------------------------------------------------------

Result Add1(const Args& a, const CallContext&) {
  return Int64(
      static_cast<int64_t>(static_cast<uint64_t>(CastInt64(a[0])) + 1));
}
Result Add(const Args& a, const CallContext&) {
  uint64_t sum = 0;
  for (const TemplateValue& v : a) sum += static_cast<uint64_t>(CastInt64(v));
  return Int64(static_cast<int64_t>(sum));
}
Result Sub(const Args& a, const CallContext&) {
  return Int64(static_cast<int64_t>(static_cast<uint64_t>(CastInt64(a[0])) -
                                    static_cast<uint64_t>(CastInt64(a[1]))));
}
Result Mul(const Args& a, const CallContext&) {
  uint64_t product = static_cast<uint64_t>(CastInt64(a[0]));
  for (size_t i = 1; i < a.size(); ++i) {
    product *= static_cast<uint64_t>(CastInt64(a[i]));
  }
  return Int64(static_cast<int64_t>(product));
}
Result DivMod(const Args& a, const CallContext& context) {
  const int64_t x = CastInt64(a[0]), y = CastInt64(a[1]);
  if (y == 0) {
    return absl::InvalidArgumentError("runtime error: integer divide by zero");
  }
  const bool div = context.name == "div";
  if (x == INT64_MIN && y == -1) return Int64(div ? INT64_MIN : 0);
  return Int64(div ? x / y : x % y);
}
Result MaxMin(const Args& a, const CallContext& context) {
  const bool max = context.name != "min";
  int64_t best = CastInt64(a[0]);
  for (size_t i = 1; i < a.size(); ++i) {
    const int64_t v = CastInt64(a[i]);
    if (max ? v > best : v < best) best = v;
  }
  return Int64(best);
}

// --- Float math
// -----------------------------------------------------------------

Result MaxMinF(const Args& a, const CallContext& context) {
  const bool max = context.name == "maxf";
  double best = CastFloat64(a[0]);
  for (size_t i = 1; i < a.size(); ++i) {
    const double v = CastFloat64(a[i]);
    if (std::isnan(v) || std::isnan(best)) {
      best = NAN;
    } else {
      best = max ? std::fmax(best, v) : std::fmin(best, v);
    }
  }
  return TemplateValue::Float(best);
}
Result Floor(const Args& a, const CallContext&) {
  return TemplateValue::Float(std::floor(CastFloat64(a[0])));
}
Result Ceil(const Args& a, const CallContext&) {
  return TemplateValue::Float(std::ceil(CastFloat64(a[0])));
}
Result Round(const Args& a, const CallContext&) {
  const double round_on = a.size() > 2 ? a[2].float_value() : .5;
  const double val = CastFloat64(a[0]);
  const double pow = std::pow(10, static_cast<double>(a[1].int_value()));
  const double digit = pow * val;
  double whole = 0;
  const double frac = std::modf(digit, &whole);
  const double r = frac >= round_on ? std::ceil(digit) : std::floor(digit);
  return TemplateValue::Float(r / pow);
}

// A decimal m * 10^e, as shopspring/decimal holds numbers.
struct Decimal {
  __int128 m = 0;
  int e = 0;
};

Decimal FromFloat(double f) {
  Decimal d;
  if (f == 0 || !std::isfinite(f)) return d;
  // The shortest digits that read back as f, as NewFromFloat takes them.
  char buf[64];
  // The shortest precision that round-trips.
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof(buf), "%.*e", prec - 1, f);
    if (std::strtod(buf, nullptr) == f) break;
  }
  std::string s = buf;
  const size_t epos = s.find('e');
  const int exp = std::atoi(s.c_str() + epos + 1);
  std::string digits;
  bool neg = false;
  for (size_t i = 0; i < epos; ++i) {
    if (s[i] == '-') neg = true;
    if (s[i] >= '0' && s[i] <= '9') digits.push_back(s[i]);
  }
  for (const char c : digits) d.m = d.m * 10 + (c - '0');
  if (neg) d.m = -d.m;
  d.e = exp - static_cast<int>(digits.size()) + 1;
  return d;
}

double ToDouble(const Decimal& d) {
  __int128 m = d.m;
  const bool neg = m < 0;
  if (neg) m = -m;
  std::string digits;
  do {
    digits.insert(digits.begin(),
                  static_cast<char>('0' + static_cast<int>(m % 10)));
    m /= 10;
  } while (m != 0);
  const std::string s = absl::StrCat(neg ? "-" : "", digits, "e", d.e);
  return std::strtod(s.c_str(), nullptr);
}

bool ScaleUp(Decimal* d, int to_e) {
  while (d->e > to_e) {
    if (d->m > (static_cast<__int128>(1) << 120) / 10 ||
        d->m < -(static_cast<__int128>(1) << 120) / 10) {
      return false;
    }
    d->m *= 10;
    --d->e;
  }
  return true;
}

// a op b in decimal; false when the digits would not fit (the caller then
// falls back to float arithmetic).
bool DecimalOp(char op, const Decimal& a, const Decimal& b, Decimal* out) {
  Decimal x = a, y = b;
  switch (op) {
    case '+':
    case '-': {
      const int e = std::min(x.e, y.e);
      if (!ScaleUp(&x, e) || !ScaleUp(&y, e)) return false;
      out->m = op == '+' ? x.m + y.m : x.m - y.m;
      out->e = e;
      return true;
    }
    case '*': {
      const __int128 limit = static_cast<__int128>(1) << 62;
      if (x.m > limit || x.m < -limit || y.m > limit || y.m < -limit) {
        return false;
      }
      out->m = x.m * y.m;
      out->e = x.e + y.e;
      return true;
    }
    default:
      return false;
  }
}

// a / b rounded half away from zero to 16 decimal places, as
// shopspring/decimal's Div (DivisionPrecision 16); false when the digits
// would not fit.
bool DecimalDivide(const Decimal& a, const Decimal& b, Decimal* out) {
  constexpr int kPlaces = 16;
  const __int128 limit = static_cast<__int128>(1) << 122;
  __int128 n = a.m, d = b.m;
  for (int k = a.e - b.e + kPlaces; k != 0;) {
    if (k > 0) {
      if (n > limit / 10 || n < -limit / 10) return false;
      n *= 10;
      --k;
    } else {
      if (d > limit / 10 || d < -limit / 10) return false;
      d *= 10;
      ++k;
    }
  }
  __int128 q = n / d;
  const __int128 r = n % d;
  const __int128 abs_r2 = (r < 0 ? -r : r) * 2;
  const __int128 abs_d = d < 0 ? -d : d;
  if (abs_r2 >= abs_d) q += ((n < 0) != (d < 0)) ? -1 : 1;
  out->m = q;
  out->e = -kPlaces;
  return true;
}

Result FloatOp(const Args& a, const CallContext& context) {
  const absl::string_view name = context.name;
  const char op = name == "addf" || name == "add1f" ? '+'
                  : name == "subf"                  ? '-'
                  : name == "mulf"                  ? '*'
                                                    : '/';
  // addf sums from 0; add1f adds 1; the others fold over their operands.
  std::vector<double> operands;
  if (name == "addf") operands.push_back(0);
  for (const TemplateValue& v : a) operands.push_back(CastFloat64(v));
  if (name == "add1f") operands.push_back(1);
  for (const double f : operands) {
    if (!std::isfinite(f)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Cannot create a Decimal from ", TemplateValue::FormatFloat(f)));
    }
  }
  if (op == '/') {
    double fallback = operands[0];
    Decimal acc = FromFloat(operands[0]);
    bool exact = true;
    for (size_t i = 1; i < operands.size(); ++i) {
      if (operands[i] == 0) {
        return absl::InvalidArgumentError("decimal division by 0");
      }
      fallback /= operands[i];
      Decimal next;
      exact = exact && DecimalDivide(acc, FromFloat(operands[i]), &next);
      if (exact) acc = next;
    }
    return TemplateValue::Float(exact ? ToDouble(acc) : fallback);
  }
  Decimal acc = FromFloat(operands[0]);
  double fallback = operands[0];
  bool exact = true;
  for (size_t i = 1; i < operands.size(); ++i) {
    Decimal next;
    exact = exact && DecimalOp(op, acc, FromFloat(operands[i]), &next);
    if (exact) acc = next;
    fallback = op == '+'   ? fallback + operands[i]
               : op == '-' ? fallback - operands[i]
                           : fallback * operands[i];
  }
  return TemplateValue::Float(exact ? ToDouble(acc) : fallback);
}

Result Hello(const Args&, const CallContext&) {
  return TemplateValue::String("Hello!");
}

// Go's time.Duration.String of `ns` nanoseconds: "1h2m3.5s", "1.5ms", "0s".
std::string DurationString(int64_t ns) {
  if (ns == 0) return "0s";
  const bool neg = ns < 0;
  uint64_t u = neg ? 0 - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  // Digits of u / 10^prec with the fraction's trailing zeros dropped.
  auto frac = [](uint64_t v, int prec, uint64_t* rest) {
    std::string digits;
    bool print = false;
    for (int i = 0; i < prec; ++i) {
      const uint64_t d = v % 10;
      print = print || d != 0;
      if (print) digits.insert(digits.begin(), static_cast<char>('0' + d));
      v /= 10;
    }
    *rest = v;
    return print ? "." + digits : std::string();
  };
  std::string out;
  if (u < 1'000'000'000) {
    int prec = 0;
    std::string unit;
    if (u < 1'000) {
      unit = "ns";
    } else if (u < 1'000'000) {
      prec = 3;
      unit = "\xc2\xb5s";
    } else {
      prec = 6;
      unit = "ms";
    }
    uint64_t whole = 0;
    const std::string f = frac(u, prec, &whole);
    out = absl::StrCat(whole, f, unit);
  } else {
    uint64_t secs = 0;
    const std::string f = frac(u, 9, &secs);
    out = absl::StrCat(secs % 60, f, "s");
    uint64_t mins = secs / 60;
    if (mins > 0) {
      out = absl::StrCat(mins % 60, "m", out);
      const uint64_t hours = mins / 60;
      if (hours > 0) out = absl::StrCat(hours, "h", out);
    }
  }
  return neg ? "-" + out : out;
}

// Sprig's duration: seconds as a Go duration string; only an int64 or a
// decimal string counts, anything else is 0.
Result Duration(const Args& a, const CallContext&) {
  int64_t secs = 0;
  if (a[0].kind() == Kind::kInt && a[0].TypeName() == "int64") {
    secs = a[0].int_value();
  } else if (a[0].kind() == Kind::kString) {
    const std::string& s = a[0].string_value();
    const size_t sign = !s.empty() && (s[0] == '+' || s[0] == '-') ? 1 : 0;
    if (s.size() > sign &&
        s.find_first_not_of("0123456789", sign) == std::string::npos &&
        !absl::SimpleAtoi(s, &secs)) {
      secs = 0;
    }
  }
  const uint64_t ns = static_cast<uint64_t>(secs) * 1'000'000'000ULL;
  return TemplateValue::String(DurationString(static_cast<int64_t>(ns)));
}

// Go's time.ParseDuration: "[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+" with units
// ns, us, µs, μs, ms, s, m and h; "0" alone needs no unit. False on any
// error (overflow included).
bool GoParseDuration(absl::string_view s, int64_t* out) {
  constexpr uint64_t kLimit = uint64_t{1} << 63;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") {
    *out = 0;
    return true;
  }
  if (s.empty()) return false;
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  uint64_t d = 0;
  while (!s.empty()) {
    if (s[0] != '.' && !is_digit(s[0])) return false;
    uint64_t v = 0;
    size_t i = 0;
    for (; i < s.size() && is_digit(s[i]); ++i) {
      if (v > kLimit / 10) return false;
      v = v * 10 + static_cast<uint64_t>(s[i] - '0');
      if (v > kLimit) return false;
    }
    const bool pre = i > 0;
    s.remove_prefix(i);
    uint64_t f = 0;
    double scale = 1;
    bool post = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      bool overflow = false;
      i = 0;
      for (; i < s.size() && is_digit(s[i]); ++i) {
        if (overflow) continue;
        if (f > (kLimit - 1) / 10) {
          overflow = true;
          continue;
        }
        const uint64_t y = f * 10 + static_cast<uint64_t>(s[i] - '0');
        if (y > kLimit) {
          overflow = true;
          continue;
        }
        f = y;
        scale *= 10;
      }
      post = i > 0;
      s.remove_prefix(i);
    }
    if (!pre && !post) return false;
    i = 0;
    while (i < s.size() && s[i] != '.' && !is_digit(s[i])) ++i;
    if (i == 0) return false;
    const absl::string_view u = s.substr(0, i);
    s.remove_prefix(i);
    uint64_t unit = 0;
    if (u == "ns") {
      unit = 1;
    } else if (u == "us" || u == "\xc2\xb5s" || u == "\xce\xbcs") {
      unit = 1'000;
    } else if (u == "ms") {
      unit = 1'000'000;
    } else if (u == "s") {
      unit = 1'000'000'000;
    } else if (u == "m") {
      unit = 60'000'000'000;
    } else if (u == "h") {
      unit = 3'600'000'000'000;
    } else {
      return false;
    }
    if (v > kLimit / unit) return false;
    v *= unit;
    if (f > 0) {
      v += static_cast<uint64_t>(static_cast<double>(f) *
                                 (static_cast<double>(unit) / scale));
      if (v > kLimit) return false;
    }
    d += v;
    if (d > kLimit) return false;
  }
  if (neg) {
    *out = static_cast<int64_t>(0 - d);
    return true;
  }
  if (d > kLimit - 1) return false;
  *out = static_cast<int64_t>(d);
  return true;
}

// Sprig's durationRound: a duration (a Go duration string or an int64 of
// nanoseconds; anything else, and an unparsable string, is 0) in whole
// units of the largest unit it strictly exceeds, truncated: "2h30m" ->
// "2h", "3600s" -> "60m" (an hour is not more than an hour), "1s" -> "0s";
// y is 365 days, mo 30 days.
Result DurationRound(const Args& a, const CallContext&) {
  int64_t d = 0;
  if (a[0].kind() == Kind::kInt && a[0].TypeName() == "int64") {
    d = a[0].int_value();
  } else if (a[0].kind() == Kind::kString &&
             !GoParseDuration(a[0].string_value(), &d)) {
    d = 0;
  }
  uint64_t u = static_cast<uint64_t>(d);
  if (d < 0) u = 0 - u;
  constexpr uint64_t kSecond = 1'000'000'000;
  constexpr uint64_t kMinute = 60 * kSecond;
  constexpr uint64_t kHour = 60 * kMinute;
  constexpr uint64_t kDay = 24 * kHour;
  struct Unit {
    uint64_t size;
    const char* suffix;
  };
  constexpr Unit kUnits[] = {{365 * kDay, "y"}, {30 * kDay, "mo"},
                             {kDay, "d"},       {kHour, "h"},
                             {kMinute, "m"},    {kSecond, "s"}};
  for (const Unit& unit : kUnits) {
    if (u > unit.size) {
      return TemplateValue::String(absl::StrCat(u / unit.size, unit.suffix));
    }
  }
  return TemplateValue::String("0s");
}

constexpr TemplateFunction kValues[] = {
    {"hello", "", false, Hello},
    {"duration", "a", false, Duration},
    {"durationRound", "a", false, DurationRound},
    {"default", "aa", true, Default},
    {"empty", "a", false, Empty},
    {"coalesce", "a", true, Coalesce},
    {"all", "a", true, All},
    {"any", "a", true, Any},
    {"ternary", "aab", false, Ternary},
    {"fail", "s", false, Fail},
    {"deepCopy", "a", false, DeepCopy},
    {"mustDeepCopy", "a", false, DeepCopy},
    {"typeOf", "a", false, TypeOfFn},
    {"typeIs", "sa", false, TypeIs},
    {"typeIsLike", "sa", false, TypeIsLike},
    {"kindOf", "a", false, KindOf},
    {"kindIs", "sa", false, KindIs},
    {"deepEqual", "aa", false, DeepEqualFn},
    {"atoi", "s", false, Atoi},
    {"int", "a", false, ToInt},
    {"int64", "a", false, ToInt64},
    {"float64", "a", false, ToFloat64},
    {"toDecimal", "a", false, ToDecimal},
    {"add1", "a", false, Add1},
    {"add", "a", true, Add},
    {"sub", "aa", false, Sub},
    {"mul", "aa", true, Mul},
    {"div", "aa", false, DivMod},
    {"mod", "aa", false, DivMod},
    {"max", "aa", true, MaxMin},
    {"biggest", "aa", true, MaxMin},
    {"min", "aa", true, MaxMin},
    {"maxf", "aa", true, MaxMinF},
    {"minf", "aa", true, MaxMinF},
    {"floor", "a", false, Floor},
    {"ceil", "a", false, Ceil},
    {"round", "aif", true, Round},
    {"add1f", "a", false, FloatOp},
    {"addf", "a", true, FloatOp},
    {"subf", "aa", true, FloatOp},
    {"mulf", "aa", true, FloatOp},
    {"divf", "aa", true, FloatOp},
};

}  // namespace

absl::Span<const TemplateFunction> SprigValueFunctions() { return kValues; }

}  // namespace ia::automation::template_internal
