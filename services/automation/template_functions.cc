// The template functions: Go's text/template builtins, the helpers every
// implementation shares, and the lookup over the whole table
// (template_functions.h).
#include "services/automation/template_functions.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "services/automation/template_lex.h"

namespace ia::automation::template_internal {

using Kind = TemplateValue::Kind;

std::string ParamTypeName(char param) {
  switch (param) {
    case 'v':
      return "reflect.Value";
    case 'a':
      return "interface {}";
    case 's':
      return "string";
    case 'i':
      return "int";
    case 'I':
      return "int64";
    case 'u':
      return "uint32";
    case 'f':
      return "float64";
    case 'b':
      return "bool";
    case 'm':
      return "map[string]interface {}";
    case 'S':
      return "[]string";
    default:
      return "?";
  }
}

std::string GoQuote(absl::string_view s) {
  std::string out = "\"";
  const std::string str(s);
  size_t i = 0;
  while (i < str.size()) {
    const size_t start = i;
    uint32_t r = 0;
    DecodeUtf8(str, &i, &r);
    const bool bad = r == 0xFFFD && i - start == 1 &&
                     static_cast<unsigned char>(str[start]) >= 0x80;
    if (bad) {
      absl::StrAppendFormat(&out, "\\x%02x",
                            static_cast<unsigned char>(str[start]));
      continue;
    }
    switch (r) {
      case '"':
        out.append("\\\"");
        continue;
      case '\\':
        out.append("\\\\");
        continue;
      case '\a':
        out.append("\\a");
        continue;
      case '\b':
        out.append("\\b");
        continue;
      case '\f':
        out.append("\\f");
        continue;
      case '\n':
        out.append("\\n");
        continue;
      case '\r':
        out.append("\\r");
        continue;
      case '\t':
        out.append("\\t");
        continue;
      case '\v':
        out.append("\\v");
        continue;
      default:
        break;
    }
    if (r < 0x20 || r == 0x7f) {
      absl::StrAppendFormat(&out, "\\x%02x", r);
    } else if (r >= 0x80 && r < 0xA0) {
      absl::StrAppendFormat(&out, "\\u%04x", r);
    } else {
      out.append(str, start, i - start);
    }
  }
  out.push_back('"');
  return out;
}

std::string FmtValue(const TemplateValue& v) {
  return v.is_valid() ? v.ToString() : "<nil>";
}

absl::StatusOr<TemplateValue> BuiltString(std::string s,
                                          const CallContext& context) {
  RETURN_IF_ERROR(CheckBuildSize(s.size(), context.max_string_bytes, context));
  return TemplateValue::String(std::move(s));
}

absl::Status CheckBuildSize(size_t size, size_t limit,
                            const CallContext& context) {
  if (size > limit) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the value built by ", context.name, " exceeds the limit of ", limit));
  }
  return absl::OkStatus();
}

TemplateValue AnyList(std::vector<TemplateValue> items) {
  return TemplateValue::List(std::move(items), "[]interface {}");
}

TemplateValue AnyMap(std::vector<std::pair<TemplateValue, TemplateValue>> e) {
  return TemplateValue::Map(std::move(e), TemplateValue(),
                            "map[string]interface {}");
}

TemplateValue StringList(const std::vector<std::string>& items) {
  std::vector<TemplateValue> values;
  values.reserve(items.size());
  for (const std::string& s : items) values.push_back(TemplateValue::String(s));
  return TemplateValue::List(std::move(values), "[]string");
}

namespace {

absl::Status Fail(absl::string_view msg) {
  return absl::InvalidArgumentError(msg);
}

// and, or: the executor evaluated the arguments up to the deciding one;
// that last one is the value (Go returns an operand, not a bool).
absl::StatusOr<TemplateValue> LastArg(const std::vector<TemplateValue>& args,
                                      const CallContext&) {
  return args.empty() ? TemplateValue() : args.back();
}

absl::StatusOr<TemplateValue> Not(const std::vector<TemplateValue>& args,
                                  const CallContext&) {
  return TemplateValue::Bool(!args[0].Truth());
}

absl::StatusOr<TemplateValue> Len(const std::vector<TemplateValue>& args,
                                  const CallContext&) {
  switch (args[0].kind()) {
    case Kind::kString:
      return TemplateValue::Int(
          static_cast<int64_t>(args[0].string_value().size()));
    case Kind::kList:
      return TemplateValue::Int(
          static_cast<int64_t>(args[0].list_items().size()));
    case Kind::kMap:
      return TemplateValue::Int(
          static_cast<int64_t>(args[0].map_entries().size()));
    case Kind::kInvalid:
      return Fail("reflect: call of reflect.Value.Type on zero Value");
    default:
      return Fail(absl::StrCat("len of type ", args[0].TypeName()));
  }
}

// Go's call. Template values hold no functions, so every callee fails as
// Go's does on a non-function (the wording of the Go the reference renderer
// is built with, 1.19: newer Go also names the callee's expression).
absl::StatusOr<TemplateValue> Call(const std::vector<TemplateValue>& args,
                                   const CallContext&) {
  if (!args[0].is_valid()) return Fail("call of nil");
  return Fail(absl::StrCat("non-function of type ", args[0].TypeName()));
}

// The key type of a map, from its Go type name ("map[K]V") or its keys.
std::string MapKeyType(const TemplateValue& map) {
  if (!map.map_entries().empty()) {
    return map.map_entries().front().first.TypeName();
  }
  const std::string type = map.TypeName();
  if (type.rfind("map[", 0) == 0) {
    int depth = 0;
    for (size_t i = 3; i < type.size(); ++i) {
      if (type[i] == '[') ++depth;
      if (type[i] == ']' && --depth == 0) return type.substr(4, i - 4);
    }
  }
  return "string";
}

absl::StatusOr<TemplateValue> Index(const std::vector<TemplateValue>& args,
                                    const CallContext&) {
  TemplateValue item = args[0];
  if (!item.is_valid()) return Fail("index of untyped nil");
  for (size_t i = 1; i < args.size(); ++i) {
    const TemplateValue& key = args[i];
    switch (item.kind()) {
      case Kind::kList:
      case Kind::kString: {
        if (!key.is_valid()) return Fail("cannot index slice/array with nil");
        if (key.kind() != Kind::kInt) {
          return Fail(absl::StrCat("cannot index slice/array with type ",
                                   key.TypeName()));
        }
        const bool list = item.kind() == Kind::kList;
        const size_t size =
            list ? item.list_items().size() : item.string_value().size();
        if (key.int_value() < 0 ||
            static_cast<uint64_t>(key.int_value()) > size) {
          return Fail(absl::StrCat("index out of range: ", key.int_value()));
        }
        if (static_cast<uint64_t>(key.int_value()) == size) {
          return Fail(list ? "reflect: slice index out of range"
                           : "reflect: string index out of range");
        }
        const auto k = static_cast<size_t>(key.int_value());
        item = list ? item.list_items()[k]
                    : TemplateValue::TypedInt(
                          static_cast<unsigned char>(item.string_value()[k]),
                          "uint8");
        break;
      }
      case Kind::kMap: {
        const std::string key_type = MapKeyType(item);
        if (!key.is_valid()) {
          if (key_type != "interface {}") {
            return Fail(
                absl::StrCat("value is nil; should be of type ", key_type));
          }
          item = item.map_zero();
          break;
        }
        if (key_type != "interface {}" && key.TypeName() != key_type) {
          return Fail(absl::StrCat("value has type ", key.TypeName(),
                                   "; should be ", key_type));
        }
        const TemplateValue* e = item.FindKey(key);
        item = e != nullptr ? *e : item.map_zero();
        break;
      }
      default:
        return Fail(absl::StrCat("can't index item of type ", item.TypeName()));
    }
    if (!item.is_valid() && i + 1 < args.size()) {
      return Fail("index of untyped nil");
    }
  }
  return item;
}

// Go's basicKind: the comparable scalar kinds; anything else (and nil) is
// kInvalid here.
Kind BasicKind(const TemplateValue& v) {
  switch (v.kind()) {
    case Kind::kBool:
    case Kind::kInt:
    case Kind::kFloat:
    case Kind::kString:
      return v.kind();
    default:
      return Kind::kInvalid;
  }
}

constexpr absl::string_view kBadType = "invalid type for comparison";
constexpr absl::string_view kIncompatible = "incompatible types for comparison";

absl::StatusOr<bool> Equal(const TemplateValue& a, const TemplateValue& b) {
  const Kind k1 = BasicKind(a);
  const Kind k2 = BasicKind(b);
  if (k1 != k2) {
    if (a.is_valid() && b.is_valid()) return Fail(kIncompatible);
    return false;
  }
  if (k1 != Kind::kInvalid) return TemplateValue::Compare(a, b) == 0;
  // Go's canCompare: the same kind, or one side nil.
  if (a.is_valid() && b.is_valid() && a.kind() != b.kind()) {
    return Fail(absl::StrCat("non-comparable types ", FmtValue(a), ": ",
                             a.TypeName(), ", ", b.TypeName(), ": ",
                             FmtValue(b)));
  }
  if (a.is_nil() || b.is_nil()) return a.is_nil() && b.is_nil();
  if (a.kind() == Kind::kList || a.kind() == Kind::kMap) {
    return Fail(
        absl::StrCat("non-comparable type ", FmtValue(b), ": ", b.TypeName()));
  }
  if (a.TypeName() != b.TypeName()) return false;
  return TemplateValue::Compare(a, b) == 0;
}

absl::StatusOr<bool> Less(const TemplateValue& a, const TemplateValue& b) {
  const Kind k1 = BasicKind(a);
  const Kind k2 = BasicKind(b);
  if (k1 == Kind::kInvalid || k2 == Kind::kInvalid) return Fail(kBadType);
  if (k1 != k2) return Fail(kIncompatible);
  if (k1 == Kind::kBool) return Fail(kBadType);
  return TemplateValue::Compare(a, b) < 0;
}

// eq, ne, lt, le, gt, ge (told apart by context.name), as Go 1.18+.
absl::StatusOr<TemplateValue> Comparison(const std::vector<TemplateValue>& args,
                                         const CallContext& context) {
  const absl::string_view name = context.name;
  const TemplateValue& a = args[0];
  if (name == "eq") {
    if (args.size() < 2) return Fail("missing argument for comparison");
    for (size_t i = 1; i < args.size(); ++i) {
      ASSIGN_OR_RETURN(const bool eq, Equal(a, args[i]));
      if (eq) return TemplateValue::Bool(true);
    }
    return TemplateValue::Bool(false);
  }
  const TemplateValue& b = args[1];
  if (name == "ne") {
    ASSIGN_OR_RETURN(const bool eq, Equal(a, b));
    return TemplateValue::Bool(!eq);
  }
  ASSIGN_OR_RETURN(const bool lt, Less(a, b));
  if (name == "lt") return TemplateValue::Bool(lt);
  if (name == "ge") return TemplateValue::Bool(!lt);
  bool le = lt;
  if (!le) {
    ASSIGN_OR_RETURN(le, Equal(a, b));
  }
  return TemplateValue::Bool(name == "le" ? le : !le);
}

// print and println (told apart by context.name): fmt.Sprint puts a space
// between operands when neither is a string, fmt.Sprintln between all of
// them and a newline at the end.
absl::StatusOr<TemplateValue> Print(const std::vector<TemplateValue>& args,
                                    const CallContext& context) {
  const bool ln = context.name == "println";
  std::string s;
  for (size_t i = 0; i < args.size(); ++i) {
    const bool both_non_string = i > 0 && args[i].kind() != Kind::kString &&
                                 args[i - 1].kind() != Kind::kString;
    if (i > 0 && (ln || both_non_string)) s.push_back(' ');
    s.append(FmtValue(args[i]));
    RETURN_IF_ERROR(
        CheckBuildSize(s.size(), context.max_string_bytes, context));
  }
  if (ln) s.push_back('\n');
  return BuiltString(std::move(s), context);
}

absl::StatusOr<TemplateValue> Printf(const std::vector<TemplateValue>& args,
                                     const CallContext& context) {
  ASSIGN_OR_RETURN(std::string s, GoSprintf(args[0].string_value(), args, 1,
                                            context.max_string_bytes));
  return BuiltString(std::move(s), context);
}

// Go's evalArgs for html, js and urlquery: one string as is, else
// fmt.Sprint of the operands (a missing value as "<no value>").
std::string EvalArgs(const std::vector<TemplateValue>& args) {
  if (args.size() == 1 && args[0].kind() == Kind::kString) {
    return args[0].string_value();
  }
  std::string s;
  for (size_t i = 0; i < args.size(); ++i) {
    const bool both_non_string = i > 0 && args[i].kind() != Kind::kString &&
                                 args[i - 1].kind() != Kind::kString;
    if (both_non_string) s.push_back(' ');
    s.append(args[i].is_valid() ? args[i].ToString() : "<no value>");
  }
  return s;
}

// html, js and urlquery (told apart by context.name): Go's
// HTMLEscapeString, JSEscapeString and url.QueryEscape of EvalArgs.
absl::StatusOr<TemplateValue> Escape(const std::vector<TemplateValue>& args,
                                     const CallContext& context) {
  const std::string in = EvalArgs(args);
  std::string out;
  if (context.name == "html") {
    for (const char c : in) {
      switch (c) {
        case '"':
          out += "&#34;";
          break;
        case '\'':
          out += "&#39;";
          break;
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '\0':
          out += "\xEF\xBF\xBD";
          break;
        default:
          out.push_back(c);
      }
    }
  } else if (context.name == "js") {
    size_t i = 0;
    while (i < in.size()) {
      const auto c = static_cast<unsigned char>(in[i]);
      if (c >= 0x80) {
        const size_t start = i;
        uint32_t r = 0;
        DecodeUtf8(in, &i, &r);
        const bool printable = r != 0xFFFD && !(r >= 0x80 && r < 0xA0) &&
                               r != 0xAD && r != 0x2028 && r != 0x2029;
        if (printable) {
          out.append(in, start, i - start);
        } else {
          absl::StrAppendFormat(&out, "\\u%04X", r);
        }
        continue;
      }
      ++i;
      switch (c) {
        case '\\':
          out += "\\\\";
          break;
        case '\'':
          out += "\\'";
          break;
        case '"':
          out += "\\\"";
          break;
        case '<':
          out += "\\u003C";
          break;
        case '>':
          out += "\\u003E";
          break;
        case '&':
          out += "\\u0026";
          break;
        case '=':
          out += "\\u003D";
          break;
        default:
          if (c < ' ') {
            absl::StrAppendFormat(&out, "\\u00%02X", c);
          } else {
            out.push_back(static_cast<char>(c));
          }
      }
    }
  } else {
    for (const char ch : in) {
      const auto c = static_cast<unsigned char>(ch);
      if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' ||
          c == '~') {
        out.push_back(static_cast<char>(c));
      } else if (c == ' ') {
        out.push_back('+');
      } else {
        absl::StrAppendFormat(&out, "%%%02X", c);
      }
    }
  }
  return BuiltString(std::move(out), context);
}

// The builtins: name, parameter types, variadic, implementation,
// evaluation.
constexpr TemplateFunction kBuiltins[] = {
    {"and", "vv", true, LastArg, ArgEvaluation::kUntilFalse},
    {"or", "vv", true, LastArg, ArgEvaluation::kUntilTrue},
    {"not", "v", false, Not},
    {"len", "v", false, Len},
    {"index", "vv", true, Index},
    {"call", "vv", true, Call},
    {"eq", "vv", true, Comparison},
    {"ne", "vv", false, Comparison},
    {"lt", "vv", false, Comparison},
    {"le", "vv", false, Comparison},
    {"gt", "vv", false, Comparison},
    {"ge", "vv", false, Comparison},
    {"print", "a", true, Print},
    {"println", "a", true, Print},
    {"printf", "sa", true, Printf},
    {"html", "a", true, Escape},
    {"js", "a", true, Escape},
    {"urlquery", "a", true, Escape},
};

}  // namespace

absl::Span<const TemplateFunction> BuiltinFunctions() { return kBuiltins; }

std::vector<const TemplateFunction*> TemplateFunctions() {
  std::vector<const TemplateFunction*> all;
  for (auto part :
       {BuiltinFunctions(), SprigStringFunctions(), SprigListFunctions(),
        SprigValueFunctions(), SprigEncodingFunctions(), SprigNameFunctions(),
        SprigJsonFunctions(), SprigCryptoFunctions(), SprigUrlFunctions()}) {
    for (const TemplateFunction& f : part) all.push_back(&f);
  }
  return all;
}

const TemplateFunction* FindTemplateFunction(absl::string_view name) {
  static const auto* const kByName = [] {
    auto* by_name =
        new absl::flat_hash_map<absl::string_view, const TemplateFunction*>();
    // Later parts win, as Sprig's functions replace Go's builtins of the
    // same name (slice).
    for (const TemplateFunction* f : TemplateFunctions()) {
      (*by_name)[f->name] = f;
    }
    return by_name;
  }();
  const auto it = kByName->find(name);
  return it == kByName->end() ? nullptr : it->second;
}

bool ArityAccepts(const TemplateFunction& function, size_t count) {
  return function.variadic ? count >= function.min_args()
                           : count == function.min_args();
}

std::string ArityText(const TemplateFunction& function) {
  return function.variadic ? absl::StrCat("at least ", function.min_args())
                           : absl::StrCat(function.min_args());
}

}  // namespace ia::automation::template_internal
