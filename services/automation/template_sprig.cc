// The conversions Sprig's functions share. See template_sprig.h.
#include "services/automation/template_sprig.h"

#include <cmath>
#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/automation/template_functions.h"
#include "services/automation/template_tree.h"

namespace ia::automation::template_internal {

using Kind = TemplateValue::Kind;

std::string Strval(const TemplateValue& v) {
  if (v.kind() == Kind::kString) return v.string_value();
  return FmtValue(v);
}

namespace {

// Go's int64(f) on amd64: out of range (and NaN) gives the minimum.
int64_t TruncateFloat(double f) {
  if (std::isnan(f) || f >= 9.2233720368547758e18 ||
      f < -9.2233720368547758e18) {
    return INT64_MIN;
  }
  return static_cast<int64_t>(f);
}

// cast's trimZeroDecimal: "3.00" -> "3"; anything else unchanged.
std::string TrimZeroDecimal(const std::string& s) {
  bool found_zero = false;
  for (size_t i = s.size(); i > 0; --i) {
    switch (s[i - 1]) {
      case '.':
        if (found_zero) return s.substr(0, i - 1);
        break;
      case '0':
        found_zero = true;
        break;
      default:
        return s;
    }
  }
  return s;
}

// strconv.ParseInt(s, 0, 64).
bool ParseGoInt64(const std::string& text, int64_t* out) {
  absl::string_view s = text;
  bool neg = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return false;
  int base = 10;
  if (s.size() >= 2 && s[0] == '0') {
    const char c = absl::ascii_tolower(s[1]);
    if (c == 'x' && s.size() >= 3) {
      base = 16;
      s.remove_prefix(2);
    } else if (c == 'b' && s.size() >= 3) {
      base = 2;
      s.remove_prefix(2);
    } else if (c == 'o' && s.size() >= 3) {
      base = 8;
      s.remove_prefix(2);
    } else {
      base = 8;
      s.remove_prefix(1);
    }
  }
  uint64_t n = 0;
  char prev = '0';
  for (const char ch : s) {
    if (ch == '_') {
      if (prev == '_') return false;
      prev = ch;
      continue;
    }
    prev = ch;
    const char c = absl::ascii_tolower(ch);
    int d = 0;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'z') {
      d = c - 'a' + 10;
    } else {
      return false;
    }
    if (d >= base) return false;
    if (n > (UINT64_MAX - d) / base) return false;
    n = n * base + d;
  }
  if (prev == '_' || (!s.empty() && s[0] == '_' && base == 10)) return false;
  if (!neg && n > static_cast<uint64_t>(INT64_MAX)) return false;
  if (neg && n > static_cast<uint64_t>(INT64_MAX) + 1) return false;
  *out = neg ? static_cast<int64_t>(0 - n) : static_cast<int64_t>(n);
  return true;
}

}  // namespace

int64_t CastInt64(const TemplateValue& v) {
  switch (v.kind()) {
    case Kind::kInt:
      return v.int_value();
    case Kind::kFloat:
      return TruncateFloat(v.float_value());
    case Kind::kBool:
      return v.bool_value() ? 1 : 0;
    case Kind::kString: {
      int64_t i = 0;
      return ParseGoInt64(TrimZeroDecimal(v.string_value()), &i) ? i : 0;
    }
    default:
      return 0;
  }
}

double CastFloat64(const TemplateValue& v) {
  switch (v.kind()) {
    case Kind::kInt:
      return static_cast<double>(v.int_value());
    case Kind::kFloat:
      return v.float_value();
    case Kind::kBool:
      return v.bool_value() ? 1 : 0;
    case Kind::kString: {
      // strconv.ParseFloat: also "inf", "+Infinity", "NaN" in any case.
      std::string lower = absl::AsciiStrToLower(v.string_value());
      const bool neg = !lower.empty() && lower[0] == '-';
      if (!lower.empty() && (lower[0] == '+' || lower[0] == '-')) {
        lower.erase(0, 1);
      }
      if (lower == "inf" || lower == "infinity") {
        return neg ? -INFINITY : INFINITY;
      }
      if (lower == "nan" && v.string_value().size() == 3) return NAN;
      return ParseGoFloat(v.string_value()).value_or(0);
    }
    default:
      return 0;
  }
}

bool SprigEmpty(const TemplateValue& v) {
  switch (v.kind()) {
    case Kind::kStruct:
      return false;
    default:
      return !v.Truth();
  }
}

std::string KindName(const TemplateValue& v) {
  switch (v.kind()) {
    case Kind::kInvalid:
      return "invalid";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return v.TypeName();
    case Kind::kFloat:
      return "float64";
    case Kind::kString:
      return "string";
    case Kind::kList:
      return "slice";
    case Kind::kMap:
      return "map";
    case Kind::kStruct:
      return "struct";
  }
  return "invalid";
}

absl::Status NilDereference() {
  return absl::InvalidArgumentError(
      "runtime error: invalid memory address or nil pointer dereference");
}

bool DeepEqual(const TemplateValue& a, const TemplateValue& b) {
  if (a.kind() != b.kind() || a.TypeName() != b.TypeName()) return false;
  switch (a.kind()) {
    case Kind::kList: {
      const auto& x = a.list_items();
      const auto& y = b.list_items();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!DeepEqual(x[i], y[i])) return false;
      }
      return true;
    }
    case Kind::kMap: {
      const auto& x = a.map_entries();
      const auto& y = b.map_entries();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!DeepEqual(x[i].first, y[i].first) ||
            !DeepEqual(x[i].second, y[i].second)) {
          return false;
        }
      }
      return true;
    }
    case Kind::kStruct: {
      const auto& x = a.struct_fields();
      const auto& y = b.struct_fields();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!DeepEqual(x[i].value, y[i].value)) return false;
      }
      return true;
    }
    default:
      return TemplateValue::Compare(a, b) == 0;
  }
}

void SetMapEntry(const TemplateValue& map, const std::string& key,
                 TemplateValue value) {
  map.MutateMapInPlace(TemplateValue::String(key), &value);
}

void EraseMapEntry(const TemplateValue& map, const std::string& key) {
  map.MutateMapInPlace(TemplateValue::String(key), nullptr);
}

}  // namespace ia::automation::template_internal
