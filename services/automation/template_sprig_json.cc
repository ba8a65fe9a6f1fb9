// Sprig's JSON and semver functions (defaults.go, semver.go): toJson,
// toPrettyJson and toRawJson encode as Go's encoding/json does (map keys
// sorted, struct fields in order, HTML characters escaped except by
// toRawJson, floats in Go's shortest form); fromJson decodes objects to
// map[string]interface {}, arrays to []interface {} and numbers to float64;
// semver parses as Masterminds' NewVersion and semverCompare checks with
// our semver engine (common/semver.h). Rows of the function table
// (template_functions.h).
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/semver.h"
#include "common/status_macros.h"
#include "services/automation/template_functions.h"
#include "services/automation/template_lex.h"

namespace ia::automation::template_internal {
namespace {

using Args = std::vector<TemplateValue>;
using Result = absl::StatusOr<TemplateValue>;
using Kind = TemplateValue::Kind;

// --- Encoding ---------------------------------------------------------------

void JsonString(const std::string& s, bool html, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      ++i;
      switch (b) {
        case '"':
          out->append("\\\"");
          continue;
        case '\\':
          out->append("\\\\");
          continue;
        case '\n':
          out->append("\\n");
          continue;
        case '\r':
          out->append("\\r");
          continue;
        case '\t':
          out->append("\\t");
          continue;
        case '\b':
          out->append("\\b");
          continue;
        case '\f':
          out->append("\\f");
          continue;
        default:
          break;
      }
      if (b < 0x20 || (html && (b == '<' || b == '>' || b == '&'))) {
        out->append("\\u00");
        out->push_back(kHex[b >> 4]);
        out->push_back(kHex[b & 0xF]);
      } else {
        out->push_back(static_cast<char>(b));
      }
      continue;
    }
    const size_t start = i;
    uint32_t r = 0;
    DecodeUtf8(s, &i, &r);
    if (r == 0xFFFD && i - start == 1) {
      out->append("\\ufffd");
    } else if (r == 0x2028 || r == 0x2029) {
      out->append(r == 0x2028 ? "\\u2028" : "\\u2029");
    } else {
      out->append(s, start, i - start);
    }
  }
  out->push_back('"');
}

// Go's float encoding: %f with the shortest digits, or %e (exponent
// without a leading zero) below 1e-6 and from 1e21.
absl::Status JsonFloat(double f, std::string* out) {
  if (!std::isfinite(f)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "json: unsupported value: ", TemplateValue::FormatFloat(f)));
  }
  const double abs = std::fabs(f);
  std::string s = TemplateValue::FormatFloat(f);  // %v: shortest digits.
  const bool exp_form = abs != 0 && (abs < 1e-6 || abs >= 1e21);
  const size_t e = s.find('e');
  if (!exp_form && e != std::string::npos) {
    // Rewrite d.ddde±XX without the exponent.
    const int exp = std::atoi(s.c_str() + e + 1);
    std::string mantissa = s.substr(0, e);
    std::string sign;
    if (mantissa[0] == '-') {
      sign = "-";
      mantissa.erase(0, 1);
    }
    std::string digits;
    for (const char c : mantissa) {
      if (c != '.') digits.push_back(c);
    }
    const int point = exp + 1;
    if (point <= 0) {
      s = absl::StrCat(sign, "0.", std::string(-point, '0'), digits);
    } else if (static_cast<size_t>(point) >= digits.size()) {
      s = absl::StrCat(sign, digits, std::string(point - digits.size(), '0'));
    } else {
      s = absl::StrCat(sign, digits.substr(0, point), ".",
                       digits.substr(point));
    }
  } else if (exp_form && e != std::string::npos) {
    // "1e-07" -> "1e-7".
    if (s.size() >= e + 4 && s[e + 2] == '0') s.erase(e + 2, 1);
  }
  out->append(s);
  return absl::OkStatus();
}

absl::Status Encode(const TemplateValue& v, bool html, int indent, int depth,
                    std::string* out) {
  auto newline = [&](int d) {
    if (indent > 0) {
      out->push_back('\n');
      out->append(static_cast<size_t>(d * indent), ' ');
    }
  };
  if (v.is_nil()) {
    out->append("null");
    return absl::OkStatus();
  }
  switch (v.kind()) {
    case Kind::kInvalid:
      out->append("null");
      return absl::OkStatus();
    case Kind::kBool:
      out->append(v.bool_value() ? "true" : "false");
      return absl::OkStatus();
    case Kind::kInt:
      absl::StrAppend(out, v.int_value());
      return absl::OkStatus();
    case Kind::kFloat:
      return JsonFloat(v.float_value(), out);
    case Kind::kString:
      JsonString(v.string_value(), html, out);
      return absl::OkStatus();
    case Kind::kList: {
      out->push_back('[');
      bool first = true;
      for (const TemplateValue& item : v.list_items()) {
        if (!first) out->push_back(',');
        first = false;
        newline(depth + 1);
        RETURN_IF_ERROR(Encode(item, html, indent, depth + 1, out));
      }
      if (!first) newline(depth);
      out->push_back(']');
      return absl::OkStatus();
    }
    case Kind::kMap:
    case Kind::kStruct: {
      // Struct fields (embedded ones promoted) or map entries, in order.
      std::vector<std::pair<std::string, const TemplateValue*>> members;
      if (v.kind() == Kind::kMap) {
        for (const auto& [k, val] : v.map_entries()) {
          members.emplace_back(
              k.kind() == Kind::kString ? k.string_value() : k.ToString(),
              &val);
        }
      } else {
        auto add = [&](auto&& self, const TemplateValue& s) -> void {
          for (const TemplateField& f : s.struct_fields()) {
            if (f.method) continue;
            if (f.embedded) {
              self(self, f.value);
            } else {
              members.emplace_back(f.name, &f.value);
            }
          }
        };
        add(add, v);
      }
      out->push_back('{');
      bool first = true;
      for (const auto& [name, val] : members) {
        if (!first) out->push_back(',');
        first = false;
        newline(depth + 1);
        JsonString(name, html, out);
        out->push_back(':');
        if (indent > 0) out->push_back(' ');
        RETURN_IF_ERROR(Encode(*val, html, indent, depth + 1, out));
      }
      if (!first) newline(depth);
      out->push_back('}');
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

Result ToJson(const Args& a, const CallContext& context) {
  const absl::string_view name = context.name;
  const bool must = name.substr(0, 4) == "must";
  const bool raw = absl::StrContains(name, "Raw");
  const bool pretty = absl::StrContains(name, "Pretty");
  std::string out;
  const absl::Status status = Encode(a[0], !raw, pretty ? 2 : 0, 0, &out);
  if (!status.ok()) {
    if (must || raw) return status;
    return TemplateValue::String("");
  }
  return BuiltString(std::move(out), context);
}

// --- Decoding
// -----------------------------------------------------------------

class JsonParser {
 public:
  explicit JsonParser(const std::string& s) : s_(s) {}

  Result Parse() {
    ASSIGN_OR_RETURN(TemplateValue v, Value(0));
    Space();
    if (i_ != s_.size()) return Bad("after top-level value");
    return v;
  }

 private:
  absl::Status Bad(absl::string_view where) const {
    if (i_ >= s_.size()) {
      return absl::InvalidArgumentError("unexpected end of JSON input");
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid character ", GoQuote(std::string(1, s_[i_])), " ", where));
  }
  void Space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' ||
                              s_[i_] == '\n' || s_[i_] == '\r')) {
      ++i_;
    }
  }
  bool Literal(const std::string& word) {
    if (s_.compare(i_, word.size(), word) != 0) return false;
    i_ += word.size();
    return true;
  }

  Result Value(int depth) {
    if (depth > 1000) return absl::InvalidArgumentError("exceeded max depth");
    Space();
    if (i_ >= s_.size()) return Bad("");
    const char c = s_[i_];
    if (c == '{') return Object(depth);
    if (c == '[') return Array(depth);
    if (c == '"') {
      ASSIGN_OR_RETURN(std::string s, String());
      return TemplateValue::String(std::move(s));
    }
    if (Literal("true")) return TemplateValue::Bool(true);
    if (Literal("false")) return TemplateValue::Bool(false);
    if (Literal("null")) return TemplateValue();
    if (c == '-' || (c >= '0' && c <= '9')) return Number();
    return Bad("looking for beginning of value");
  }

  Result Number() {
    const size_t start = i_;
    if (s_[i_] == '-') ++i_;
    if (i_ < s_.size() && s_[i_] == '0') {
      ++i_;
    } else if (i_ < s_.size() && s_[i_] >= '1' && s_[i_] <= '9') {
      while (i_ < s_.size() && absl::ascii_isdigit(s_[i_])) ++i_;
    } else {
      return Bad("in numeric literal");
    }
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (i_ >= s_.size() || !absl::ascii_isdigit(s_[i_])) {
        return Bad("after decimal point in numeric literal");
      }
      while (i_ < s_.size() && absl::ascii_isdigit(s_[i_])) ++i_;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (i_ >= s_.size() || !absl::ascii_isdigit(s_[i_])) {
        return Bad("in exponent of numeric literal");
      }
      while (i_ < s_.size() && absl::ascii_isdigit(s_[i_])) ++i_;
    }
    const std::string text = s_.substr(start, i_ - start);
    const double f = std::strtod(text.c_str(), nullptr);
    if (!std::isfinite(f)) {
      return absl::InvalidArgumentError(
          absl::StrCat("json: cannot unmarshal number ", text,
                       " into Go value of type float64"));
    }
    return TemplateValue::Float(f);
  }

  absl::StatusOr<std::string> String() {
    ++i_;  // The quote.
    std::string out;
    for (;;) {
      if (i_ >= s_.size()) return Bad("");
      const auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        ++i_;
        return out;
      }
      if (c < 0x20) return Bad("in string literal");
      if (c != '\\') {
        if (c < 0x80) {
          out.push_back(static_cast<char>(c));
          ++i_;
        } else {
          const size_t start = i_;
          uint32_t r = 0;
          DecodeUtf8(s_, &i_, &r);
          if (r == 0xFFFD && i_ - start == 1) {
            AppendUtf8(0xFFFD, &out);
          } else {
            out.append(s_, start, i_ - start);
          }
        }
        continue;
      }
      ++i_;
      if (i_ >= s_.size()) return Bad("");
      const char e = s_[i_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out.push_back(e);
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          ASSIGN_OR_RETURN(uint32_t r, Hex4());
          if (r >= 0xD800 && r < 0xDC00) {
            // A surrogate pair, or U+FFFD when the low half is missing.
            if (s_.compare(i_, 2, "\\u") == 0) {
              const size_t save = i_;
              i_ += 2;
              ASSIGN_OR_RETURN(uint32_t low, Hex4());
              if (low >= 0xDC00 && low < 0xE000) {
                r = 0x10000 + ((r - 0xD800) << 10) + (low - 0xDC00);
              } else {
                i_ = save;
                r = 0xFFFD;
              }
            } else {
              r = 0xFFFD;
            }
          } else if (r >= 0xDC00 && r < 0xE000) {
            r = 0xFFFD;
          }
          AppendUtf8(r, &out);
          break;
        }
        default:
          --i_;
          return Bad("in string escape code");
      }
    }
  }

  absl::StatusOr<uint32_t> Hex4() {
    uint32_t r = 0;
    for (int k = 0; k < 4; ++k, ++i_) {
      if (i_ >= s_.size() || !absl::ascii_isxdigit(s_[i_])) {
        return Bad("in \\u hexadecimal character escape");
      }
      const char c = absl::ascii_tolower(s_[i_]);
      r = r * 16 + (c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return r;
  }

  Result Array(int depth) {
    ++i_;
    std::vector<TemplateValue> items;
    Space();
    if (i_ < s_.size() && s_[i_] == ']') {
      ++i_;
      return AnyList(std::move(items));
    }
    for (;;) {
      ASSIGN_OR_RETURN(TemplateValue v, Value(depth + 1));
      items.push_back(std::move(v));
      Space();
      if (i_ < s_.size() && s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (i_ < s_.size() && s_[i_] == ']') {
        ++i_;
        return AnyList(std::move(items));
      }
      return Bad("after array element");
    }
  }

  Result Object(int depth) {
    ++i_;
    std::vector<std::pair<TemplateValue, TemplateValue>> entries;
    Space();
    if (i_ < s_.size() && s_[i_] == '}') {
      ++i_;
      return AnyMap(std::move(entries));
    }
    for (;;) {
      Space();
      if (i_ >= s_.size() || s_[i_] != '"') {
        return Bad("looking for beginning of object key string");
      }
      ASSIGN_OR_RETURN(std::string key, String());
      Space();
      if (i_ >= s_.size() || s_[i_] != ':') return Bad("after object key");
      ++i_;
      ASSIGN_OR_RETURN(TemplateValue v, Value(depth + 1));
      entries.emplace_back(TemplateValue::String(std::move(key)), std::move(v));
      Space();
      if (i_ < s_.size() && s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (i_ < s_.size() && s_[i_] == '}') {
        ++i_;
        return AnyMap(std::move(entries));  // The last of equal keys wins.
      }
      return Bad("after object key:value pair");
    }
  }

  const std::string& s_;
  size_t i_ = 0;
};

Result FromJson(const Args& a, const CallContext& context) {
  JsonParser parser(a[0].string_value());
  Result v = parser.Parse();
  if (!v.ok() && context.name == "fromJson") return TemplateValue();
  return v;
}

// --- Semver
// -----------------------------------------------------------------------

// Masterminds' NewVersion: "v" optional, minor and patch optional, then
// -prerelease and +metadata of [0-9A-Za-z-] dot-separated identifiers; no
// numeric prerelease identifier with a leading zero.
absl::StatusOr<Version> LooseVersion(const std::string& text) {
  const absl::Status invalid =
      absl::InvalidArgumentError("Invalid Semantic Version");
  absl::string_view s = text;
  if (!s.empty() && s[0] == 'v') s.remove_prefix(1);
  Version v;
  const size_t plus = s.find('+');
  absl::string_view core = s.substr(0, plus);
  if (plus != absl::string_view::npos)
    v.build = std::string(s.substr(plus + 1));
  const size_t dash = core.find('-');
  if (dash != absl::string_view::npos) {
    v.prerelease = std::string(core.substr(dash + 1));
    core = core.substr(0, dash);
  }
  auto ident_list_ok = [](absl::string_view list) {
    for (absl::string_view id : absl::StrSplit(list, '.')) {
      if (id.empty()) return false;
      for (const char c : id) {
        if (!absl::ascii_isalnum(c) && c != '-') return false;
      }
    }
    return true;
  };
  if ((dash != absl::string_view::npos && !ident_list_ok(v.prerelease)) ||
      (plus != absl::string_view::npos && !ident_list_ok(v.build))) {
    return invalid;
  }
  const std::vector<absl::string_view> parts = absl::StrSplit(core, '.');
  if (parts.empty() || parts.size() > 3) return invalid;
  uint64_t* fields[] = {&v.major, &v.minor, &v.patch};
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].empty()) return invalid;
    for (const char c : parts[i]) {
      if (!absl::ascii_isdigit(c)) return invalid;
    }
    if (!absl::SimpleAtoi(parts[i], fields[i])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Error parsing version segment: strconv.ParseUint: parsing \"",
          parts[i], "\": value out of range"));
    }
  }
  for (absl::string_view id : absl::StrSplit(v.prerelease, '.')) {
    if (id.size() > 1 && id[0] == '0' &&
        id.find_first_not_of("0123456789") == absl::string_view::npos) {
      return absl::InvalidArgumentError("Version segment starts with 0");
    }
  }
  return v;
}

std::string VersionString(const Version& v) {
  std::string s = absl::StrCat(v.major, ".", v.minor, ".", v.patch);
  if (!v.prerelease.empty()) absl::StrAppend(&s, "-", v.prerelease);
  if (!v.build.empty()) absl::StrAppend(&s, "+", v.build);
  return s;
}

Result SemverFn(const Args& a, const CallContext&) {
  ASSIGN_OR_RETURN(const Version v, LooseVersion(a[0].string_value()));
  auto u64 = [](uint64_t x) {
    return TemplateValue::TypedInt(static_cast<int64_t>(x), "uint64");
  };
  auto method = [](std::string name, TemplateValue value) {
    return TemplateField{std::move(name), std::move(value), false, true};
  };
  return TemplateValue::Struct(
      "*semver.Version",
      {method("Major", u64(v.major)), method("Minor", u64(v.minor)),
       method("Patch", u64(v.patch)),
       method("Prerelease", TemplateValue::String(v.prerelease)),
       method("Metadata", TemplateValue::String(v.build)),
       method("Original", TemplateValue::String(a[0].string_value())),
       method("String", TemplateValue::String(VersionString(v)))},
      VersionString(v));
}

Result SemverCompare(const Args& a, const CallContext&) {
  absl::StatusOr<SemverRange> range = SemverRange::Parse(a[0].string_value());
  if (!range.ok()) return range.status();
  ASSIGN_OR_RETURN(const Version v, LooseVersion(a[1].string_value()));
  return TemplateValue::Bool(range->Contains(v));
}

constexpr TemplateFunction kJson[] = {
    {"toJson", "a", false, ToJson},
    {"mustToJson", "a", false, ToJson},
    {"toPrettyJson", "a", false, ToJson},
    {"mustToPrettyJson", "a", false, ToJson},
    {"toRawJson", "a", false, ToJson},
    {"mustToRawJson", "a", false, ToJson},
    {"fromJson", "s", false, FromJson},
    {"mustFromJson", "s", false, FromJson},
    {"semver", "s", false, SemverFn},
    {"semverCompare", "ss", false, SemverCompare},
};

}  // namespace

absl::Span<const TemplateFunction> SprigJsonFunctions() { return kJson; }

}  // namespace ia::automation::template_internal
