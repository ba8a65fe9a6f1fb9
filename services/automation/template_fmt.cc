// fmt.Sprintf for templates (printf, and Sprig functions that format): Go's
// verbs, flags, width and precision over TemplateValue. See GoSprintf in
// template_functions.h.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "services/automation/template_functions.h"
#include "services/automation/template_lex.h"

namespace ia::automation::template_internal {
namespace {

using Kind = TemplateValue::Kind;

struct Spec {
  bool minus = false, plus = false, space = false, zero = false, sharp = false;
  int width = -1;
  int precision = -1;
  char verb = 'v';
};

size_t RuneCount(const std::string& s) {
  size_t n = 0;
  size_t i = 0;
  uint32_t r = 0;
  while (DecodeUtf8(s, &i, &r)) ++n;
  return n;
}

// Pads `s` to the width, on the left (or right with '-'), with spaces or,
// for numbers with '0', zeros after the sign.
std::string Pad(std::string s, const Spec& spec, bool numeric) {
  if (spec.width < 0) return s;
  const size_t count = RuneCount(s);
  if (count >= static_cast<size_t>(spec.width)) return s;
  const size_t fill = spec.width - count;
  if (spec.minus) return s + std::string(fill, ' ');
  if (spec.zero) {
    // Zeros go after a number's sign (strings are zero-padded too).
    const size_t sign =
        numeric && !s.empty() && (s[0] == '-' || s[0] == '+' || s[0] == ' ')
            ? 1
            : 0;
    return s.substr(0, sign) + std::string(fill, '0') + s.substr(sign);
  }
  return std::string(fill, ' ') + s;
}

void FormatOne(const TemplateValue& v, const Spec& spec, bool top,
               std::string* out);

// fmt's badVerb: %!d(string=abc), the value printed with %v and the same
// flags, width and precision.
std::string BadVerb(const TemplateValue& v, const Spec& spec) {
  const std::string verb(1, spec.verb);
  if (!v.is_valid()) return absl::StrCat("%!", verb, "(<nil>)");
  Spec as_v = spec;
  as_v.verb = 'v';
  std::string value;
  FormatOne(v, as_v, false, &value);
  return absl::StrCat("%!", verb, "(", v.TypeName(), "=", value, ")");
}

// A code point, or U+FFFD for what is none (as Go's %c and %q).
uint32_t ValidRune(int64_t r) {
  if (r < 0 || r > 0x10FFFF || (r >= 0xD800 && r < 0xE000)) return 0xFFFD;
  return static_cast<uint32_t>(r);
}

std::string Signed(const std::string& digits, bool negative, const Spec& spec) {
  if (negative) return "-" + digits;
  if (spec.plus) return "+" + digits;
  if (spec.space) return " " + digits;
  return digits;
}

std::string FormatInt(int64_t i, const Spec& spec) {
  const bool neg = i < 0;
  const uint64_t u = neg ? 0 - static_cast<uint64_t>(i) : i;
  std::string digits;
  switch (spec.verb) {
    case 'x':
      digits = absl::StrFormat("%x", u);
      if (spec.sharp) digits = "0x" + digits;
      break;
    case 'X':
      digits = absl::StrFormat("%X", u);
      if (spec.sharp) digits = "0X" + digits;
      break;
    case 'o':
      digits = absl::StrFormat("%o", u);
      if (spec.sharp) digits = "0" + digits;
      break;
    case 'b': {
      uint64_t x = u;
      do {
        digits.insert(digits.begin(), static_cast<char>('0' + (x & 1)));
        x >>= 1;
      } while (x != 0);
      break;
    }
    default:
      digits = absl::StrCat(u);
  }
  if (spec.precision >= 0 &&
      digits.size() < static_cast<size_t>(spec.precision)) {
    digits.insert(0, spec.precision - digits.size(), '0');
  }
  return Signed(digits, neg, spec);
}

std::string FormatFloatVerb(double f, const Spec& spec) {
  std::string s;
  const int prec = spec.precision;
  switch (spec.verb) {
    case 'e':
    case 'E':
    case 'f':
    case 'F': {
      const std::string fmt =
          absl::StrCat("%.", prec < 0 ? 6 : prec,
                       std::string(1, spec.verb == 'F' ? 'f' : spec.verb));
      char buf[512];
      std::snprintf(buf, sizeof(buf), fmt.c_str(), f);
      s = buf;
      break;
    }
    default:  // v g G
      if (prec < 0) {
        s = TemplateValue::FormatFloat(f);
        if (spec.verb == 'G') {
          for (char& c : s) {
            if (c == 'e') c = 'E';
          }
        }
      } else {
        char buf[512];
        const std::string fmt =
            absl::StrCat("%.", prec, spec.verb == 'G' ? "G" : "g");
        std::snprintf(buf, sizeof(buf), fmt.c_str(), f);
        s = buf;
      }
  }
  if (!s.empty() && s[0] == '-') return s;
  if (spec.plus) return "+" + s;
  if (spec.space) return " " + s;
  return s;
}

std::string FormatString(const std::string& str, const Spec& spec) {
  std::string s = str;
  if (spec.precision >= 0) {
    size_t i = 0;
    uint32_t r = 0;
    for (int n = 0; n < spec.precision && DecodeUtf8(str, &i, &r); ++n) {
    }
    s = str.substr(0, i);
  }
  switch (spec.verb) {
    case 'q':
      return spec.sharp && s.find('`') == std::string::npos ? "`" + s + "`"
                                                            : GoQuote(s);
    case 'x':
    case 'X': {
      std::string out;
      for (const char c : s) {
        const auto byte = static_cast<unsigned char>(c);
        if (spec.verb == 'x') {
          absl::StrAppendFormat(&out, "%02x", byte);
        } else {
          absl::StrAppendFormat(&out, "%02X", byte);
        }
      }
      return out;
    }
    default:
      return s;
  }
}

// One operand under one verb; composites apply the verb to each element as
// fmt does.
void FormatOne(const TemplateValue& v, const Spec& spec, bool top,
               std::string* out) {
  const char verb = spec.verb;
  switch (v.kind()) {
    case Kind::kInvalid:
      // Inside a composite nil is <nil> whatever the verb, unpadded.
      if (!top) {
        out->append("<nil>");
      } else {
        out->append(verb == 'v' ? Pad("<nil>", spec, false) : BadVerb(v, spec));
      }
      return;
    case Kind::kBool:
      if (verb == 'v' || verb == 't') {
        out->append(Pad(v.bool_value() ? "true" : "false", spec, false));
      } else {
        out->append(BadVerb(v, spec));
      }
      return;
    case Kind::kInt:
      switch (verb) {
        case 'v':
        case 'd':
        case 'x':
        case 'X':
        case 'o':
        case 'b':
          out->append(Pad(FormatInt(v.int_value(), spec), spec, true));
          return;
        case 'c': {
          std::string s;
          AppendUtf8(ValidRune(v.int_value()), &s);
          out->append(Pad(s, spec, false));
          return;
        }
        case 'q': {
          std::string s;
          AppendUtf8(ValidRune(v.int_value()), &s);
          std::string q = GoQuote(s);
          q[0] = q.back() = '\'';
          out->append(Pad(q, spec, false));
          return;
        }
        default:
          out->append(BadVerb(v, spec));
          return;
      }
    case Kind::kFloat:
      if (verb == 'x' || verb == 'X') {
        // strconv's %x: a hex mantissa and a two-digit binary exponent.
        char buf[64];
        std::snprintf(buf, sizeof(buf), verb == 'x' ? "%a" : "%A",
                      v.float_value());
        std::string s = buf;
        const size_t p = s.find_first_of("pP");
        if (p != std::string::npos && s.size() == p + 3) s.insert(p + 2, "0");
        out->append(Pad(s, spec, true));
        return;
      }
      if (std::string("vfFeEgG").find(verb) != std::string::npos) {
        out->append(Pad(FormatFloatVerb(v.float_value(), spec), spec, true));
      } else {
        out->append(BadVerb(v, spec));
      }
      return;
    case Kind::kString:
      if (std::string("vsqxX").find(verb) != std::string::npos) {
        out->append(Pad(FormatString(v.string_value(), spec), spec, false));
      } else {
        out->append(BadVerb(v, spec));
      }
      return;
    case Kind::kList: {
      std::string s = "[";
      bool first = true;
      for (const TemplateValue& item : v.list_items()) {
        if (!first) s.push_back(' ');
        first = false;
        FormatOne(item, spec, false, &s);
      }
      s.push_back(']');
      out->append(s);
      return;
    }
    case Kind::kMap: {
      std::string s = "map[";
      bool first = true;
      for (const auto& [key, value] : v.map_entries()) {
        if (!first) s.push_back(' ');
        first = false;
        FormatOne(key, spec, false, &s);
        s.push_back(':');
        FormatOne(value, spec, false, &s);
      }
      s.push_back(']');
      out->append(s);
      return;
    }
    case Kind::kStruct: {
      // A String() method serves %v %s %q %x %X; other verbs, and types
      // without one, print the fields with the verb.
      if (v.has_string_form() &&
          std::string("vsqxX").find(verb) != std::string::npos) {
        out->append(Pad(FormatString(v.ToString(), spec), spec, false));
        return;
      }
      std::string fields = "{";
      bool first = true;
      for (const TemplateField& f : v.struct_fields()) {
        if (f.method) continue;
        if (!first) fields.push_back(' ');
        first = false;
        FormatOne(f.value, spec, false, &fields);
      }
      fields.push_back('}');
      out->append(fields);
      return;
    }
  }
  (void)top;
}

}  // namespace

absl::StatusOr<std::string> GoSprintf(const std::string& format,
                                      const std::vector<TemplateValue>& args,
                                      size_t first, size_t max_bytes) {
  std::string out;
  size_t next = first;
  const size_t n = format.size();
  for (size_t i = 0; i < n;) {
    if (out.size() > max_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the value built by printf exceeds the limit of ", max_bytes));
    }
    if (format[i] != '%') {
      out.push_back(format[i++]);
      continue;
    }
    ++i;
    Spec spec;
    for (; i < n; ++i) {
      const char c = format[i];
      if (c == '-') {
        spec.minus = true;
      } else if (c == '+') {
        spec.plus = true;
      } else if (c == ' ') {
        spec.space = true;
      } else if (c == '0') {
        spec.zero = !spec.minus;
      } else if (c == '#') {
        spec.sharp = true;
      } else {
        break;
      }
    }
    auto number = [&]() {
      int v = -1;
      while (i < n && format[i] >= '0' && format[i] <= '9') {
        v = (v < 0 ? 0 : v) * 10 + (format[i++] - '0');
        if (v > 1'000'000) v = 1'000'000;
      }
      return v;
    };
    spec.width = number();
    if (i < n && format[i] == '.') {
      ++i;
      spec.precision = number();
      if (spec.precision < 0) spec.precision = 0;
    }
    if (i >= n) {
      out.append("%!(NOVERB)");
      break;
    }
    // The verb is one UTF-8 character.
    size_t verb_end = i;
    uint32_t verb_rune = 0;
    DecodeUtf8(format, &verb_end, &verb_rune);
    const std::string verb_text = format.substr(i, verb_end - i);
    i = verb_end;
    if (verb_rune == '%') {
      out.push_back('%');
      continue;
    }
    if (next >= args.size()) {
      absl::StrAppend(&out, "%!", verb_text, "(MISSING)");
      continue;
    }
    const TemplateValue& a = args[next++];
    if (verb_rune > 0x7f ||
        std::string("vsdqtxXobceEfFgGT").find(static_cast<char>(verb_rune)) ==
            std::string::npos) {
      absl::StrAppend(&out, "%!", verb_text, "(",
                      a.is_valid()
                          ? absl::StrCat(a.TypeName(), "=", a.ToString())
                          : "<nil>",
                      ")");
      continue;
    }
    spec.verb = static_cast<char>(verb_rune);
    if (spec.verb == 'T') {
      out.append(Pad(a.TypeName(), spec, false));
      continue;
    }
    if (spec.verb == 'v' && spec.plus) spec.plus = false;  // %+v: fields.
    FormatOne(a, spec, true, &out);
  }
  if (next < args.size()) {
    out.append("%!(EXTRA ");
    for (size_t k = next; k < args.size(); ++k) {
      if (k > next) out.append(", ");
      if (args[k].is_valid()) {
        absl::StrAppend(&out, args[k].TypeName(), "=", args[k].ToString());
      } else {
        out.append("<nil>");
      }
    }
    out.push_back(')');
  }
  if (out.size() > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the value built by printf exceeds the limit of ", max_bytes));
  }
  return out;
}

}  // namespace ia::automation::template_internal
