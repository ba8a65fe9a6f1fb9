// The template functions: Go's text/template builtins, as the table of
// template_functions.h.
#include "services/automation/template_functions.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ia::automation::template_internal {
namespace {

std::string GoQuote(absl::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\r':
        out.append("\\r");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          absl::StrAppendFormat(&out, "\\x%02x", static_cast<unsigned char>(c));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
  return out;
}

// The value as an argument of fmt: nil prints "<nil>".
std::string ArgString(const TemplateValue& v) {
  return v.is_valid() ? v.ToString() : "<nil>";
}

bool IsBasic(const TemplateValue& v) {
  return v.kind() == TemplateValue::Kind::kBool ||
         v.kind() == TemplateValue::Kind::kInt ||
         v.kind() == TemplateValue::Kind::kString;
}

// A string a function built, or an error when it exceeds the limit.
absl::StatusOr<TemplateValue> Built(std::string s, const CallContext& context) {
  if (s.size() > context.max_string_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("string built by ", context.name, " exceeds the limit of ",
                     context.max_string_bytes, " bytes"));
  }
  return TemplateValue::String(std::move(s));
}

// and, or: the executor evaluated the arguments up to the deciding one;
// that last one is the value (Go returns an operand, not a bool).
absl::StatusOr<TemplateValue> LastArg(const std::vector<TemplateValue>& args,
                                      const CallContext& context) {
  return args.empty() ? TemplateValue() : args.back();
}

absl::StatusOr<TemplateValue> Not(const std::vector<TemplateValue>& args,
                                  const CallContext& context) {
  return TemplateValue::Bool(!args[0].Truth());
}

absl::StatusOr<TemplateValue> Len(const std::vector<TemplateValue>& args,
                                  const CallContext& context) {
  switch (args[0].kind()) {
    case TemplateValue::Kind::kString:
      return TemplateValue::Int(
          static_cast<int64_t>(args[0].string_value().size()));
    case TemplateValue::Kind::kList:
      return TemplateValue::Int(
          static_cast<int64_t>(args[0].list_items().size()));
    case TemplateValue::Kind::kMap:
      return TemplateValue::Int(
          static_cast<int64_t>(args[0].map_entries().size()));
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("error calling len: len of type ", args[0].TypeName()));
  }
}

absl::StatusOr<TemplateValue> Index(const std::vector<TemplateValue>& args,
                                    const CallContext& context) {
  TemplateValue item = args[0];
  for (size_t i = 1; i < args.size(); ++i) {
    const TemplateValue& key = args[i];
    switch (item.kind()) {
      case TemplateValue::Kind::kList:
      case TemplateValue::Kind::kString: {
        if (key.kind() != TemplateValue::Kind::kInt) {
          return absl::InvalidArgumentError(
              absl::StrCat("error calling index: cannot index slice"
                           "/array with type ",
                           key.TypeName()));
        }
        const size_t size = item.kind() == TemplateValue::Kind::kList
                                ? item.list_items().size()
                                : item.string_value().size();
        if (key.int_value() < 0 ||
            static_cast<uint64_t>(key.int_value()) >= size) {
          return absl::InvalidArgumentError(
              absl::StrCat("error calling index: index out of "
                           "range: ",
                           key.int_value()));
        }
        const auto k = static_cast<size_t>(key.int_value());
        item = item.kind() == TemplateValue::Kind::kList
                   ? item.list_items()[k]
                   : TemplateValue::Int(
                         static_cast<unsigned char>(item.string_value()[k]));
        break;
      }
      case TemplateValue::Kind::kMap: {
        const TemplateValue* e = item.FindKey(key);
        if (e == nullptr && !item.map_entries().empty() &&
            item.map_entries().front().first.kind() != key.kind()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "error calling index: value has type ", key.TypeName(),
              "; should be ", item.map_entries().front().first.TypeName()));
        }
        item = e != nullptr ? *e : item.map_zero();
        break;
      }
      case TemplateValue::Kind::kInvalid:
        return absl::InvalidArgumentError(
            "error calling index: index of untyped nil");
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("error calling index: can't index item of "
                         "type ",
                         item.TypeName()));
    }
  }
  return item;
}

// eq, ne, lt, le, gt, ge (told apart by context.name); the table checks the
// arity (eq: at least 2, the others: 2).
absl::StatusOr<TemplateValue> Comparison(const std::vector<TemplateValue>& args,
                                         const CallContext& context) {
  const absl::string_view name = context.name;
  const bool is_eq = name == "eq";
  const TemplateValue& a = args[0];
  for (size_t i = 1; i < args.size(); ++i) {
    const TemplateValue& b = args[i];
    const bool comparable =
        a.kind() == b.kind() &&
        (IsBasic(a) || (a.kind() == TemplateValue::Kind::kStruct &&
                        (name == "eq" || name == "ne")));
    if (!comparable) {
      if (!a.is_valid() || !b.is_valid()) {
        if (name == "eq" || name == "ne") {
          // Go 1.18+: nil compares equal only to nil.
          const bool equal = !a.is_valid() && !b.is_valid();
          if (is_eq && equal) return TemplateValue::Bool(true);
          if (!is_eq) return TemplateValue::Bool(!equal);
          continue;
        }
        return absl::InvalidArgumentError(absl::StrCat(
            "error calling ", name, ": invalid type for comparison"));
      }
      if (a.kind() != b.kind()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "error calling ", name, ": incompatible types for comparison"));
      }
      return absl::InvalidArgumentError(absl::StrCat(
          "error calling ", name, ": invalid type for comparison"));
    }
    if (name == "lt" || name == "le" || name == "gt" || name == "ge") {
      if (a.kind() == TemplateValue::Kind::kBool) {
        return absl::InvalidArgumentError(absl::StrCat(
            "error calling ", name, ": invalid type for comparison"));
      }
    }
    const int c = TemplateValue::Compare(a, b);
    if (name == "eq") {
      if (c == 0) return TemplateValue::Bool(true);
      continue;
    }
    if (name == "ne") return TemplateValue::Bool(c != 0);
    if (name == "lt") return TemplateValue::Bool(c < 0);
    if (name == "le") return TemplateValue::Bool(c <= 0);
    if (name == "gt") return TemplateValue::Bool(c > 0);
    return TemplateValue::Bool(c >= 0);
  }
  return TemplateValue::Bool(false);
}

// fmt.Sprintf for the verbs %v %s %d %q %t %% (no flags or widths).
std::string Sprintf(const std::string& format,
                    const std::vector<TemplateValue>& args) {
  std::string out;
  size_t next = 1;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out.push_back(format[i]);
      continue;
    }
    if (i + 1 >= format.size()) {
      out.append("%!(NOVERB)");
      break;
    }
    const char verb = format[++i];
    if (verb == '%') {
      out.push_back('%');
      continue;
    }
    if (next >= args.size()) {
      absl::StrAppend(&out, "%!", std::string(1, verb), "(MISSING)");
      continue;
    }
    const TemplateValue& a = args[next++];
    const auto kind = a.kind();
    const bool ok = verb == 'v' ||
                    (verb == 's' && kind != TemplateValue::Kind::kInt &&
                     kind != TemplateValue::Kind::kBool && a.is_valid()) ||
                    (verb == 'd' && kind == TemplateValue::Kind::kInt) ||
                    (verb == 'q' && kind == TemplateValue::Kind::kString) ||
                    (verb == 't' && kind == TemplateValue::Kind::kBool);
    if (!ok) {
      absl::StrAppend(&out, "%!", std::string(1, verb), "(",
                      a.is_valid()
                          ? absl::StrCat(a.TypeName(), "=", a.ToString())
                          : "<nil>",
                      ")");
    } else if (verb == 'q') {
      out.append(GoQuote(a.string_value()));
    } else {
      out.append(ArgString(a));
    }
  }
  if (next < args.size()) {
    out.append("%!(EXTRA ");
    for (size_t i = next; i < args.size(); ++i) {
      if (i > next) out.append(", ");
      absl::StrAppend(&out, args[i].TypeName(), "=", ArgString(args[i]));
    }
    out.push_back(')');
  }
  return out;
}

// print and println (told apart by context.name): fmt.Sprint puts a space
// between operands when neither is a string, fmt.Sprintln between all of
// them and a newline at the end.
absl::StatusOr<TemplateValue> Print(const std::vector<TemplateValue>& args,
                                    const CallContext& context) {
  const bool ln = context.name == "println";
  std::string s;
  for (size_t i = 0; i < args.size(); ++i) {
    const bool both_non_string =
        i > 0 && args[i].kind() != TemplateValue::Kind::kString &&
        args[i - 1].kind() != TemplateValue::Kind::kString;
    if (i > 0 && (ln || both_non_string)) s.push_back(' ');
    s.append(ArgString(args[i]));
  }
  if (ln) s.push_back('\n');
  return Built(std::move(s), context);
}

absl::StatusOr<TemplateValue> Printf(const std::vector<TemplateValue>& args,
                                     const CallContext& context) {
  if (args[0].kind() != TemplateValue::Kind::kString) {
    return absl::InvalidArgumentError(absl::StrCat(
        "wrong type for value; expected string; got ", args[0].TypeName()));
  }
  return Built(Sprintf(args[0].string_value(), args), context);
}

// The table: name, arity (minimum, variadic), argument evaluation,
// implementation.
constexpr TemplateFunction kFunctions[] = {
    {"and", 1, true, ArgEvaluation::kUntilFalse, LastArg},
    {"or", 1, true, ArgEvaluation::kUntilTrue, LastArg},
    {"not", 1, false, ArgEvaluation::kAll, Not},
    {"len", 1, false, ArgEvaluation::kAll, Len},
    {"index", 1, true, ArgEvaluation::kAll, Index},
    {"eq", 2, true, ArgEvaluation::kAll, Comparison},
    {"ne", 2, false, ArgEvaluation::kAll, Comparison},
    {"lt", 2, false, ArgEvaluation::kAll, Comparison},
    {"le", 2, false, ArgEvaluation::kAll, Comparison},
    {"gt", 2, false, ArgEvaluation::kAll, Comparison},
    {"ge", 2, false, ArgEvaluation::kAll, Comparison},
    {"print", 0, true, ArgEvaluation::kAll, Print},
    {"println", 0, true, ArgEvaluation::kAll, Print},
    {"printf", 1, true, ArgEvaluation::kAll, Printf},
};

}  // namespace

absl::Span<const TemplateFunction> TemplateFunctions() { return kFunctions; }

const TemplateFunction* FindTemplateFunction(absl::string_view name) {
  static const auto* const kByName = [] {
    auto* by_name =
        new absl::flat_hash_map<absl::string_view, const TemplateFunction*>();
    for (const TemplateFunction& f : kFunctions) by_name->emplace(f.name, &f);
    return by_name;
  }();
  const auto it = kByName->find(name);
  return it == kByName->end() ? nullptr : it->second;
}

bool ArityAccepts(const TemplateFunction& function, size_t count) {
  return function.variadic ? count >= function.min_args
                           : count == function.min_args;
}

std::string ArityText(const TemplateFunction& function) {
  return function.variadic ? absl::StrCat("at least ", function.min_args)
                           : absl::StrCat(function.min_args);
}

}  // namespace ia::automation::template_internal
