// The executor of the template engine: walks the tree (template_tree.h)
// against the data, with Go's variable scoping, truthiness and error
// messages, bounded by TemplateOptions; calls go through the function table
// (template_functions.h).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "services/automation/template.h"
#include "services/automation/template_functions.h"
#include "services/automation/template_tree.h"

namespace ia::automation {
namespace {

constexpr absl::string_view kMissingFieldPayload =
    "type.googleapis.com/imageautomation.TemplateMissingField";

}  // namespace

namespace template_internal {
namespace {

enum class Flow { kNormal, kBreak, kContinue };

// How deep the walk may recurse (nested actions and template calls
// together), keeping the C++ stack bounded whatever the template.
constexpr int kMaxWalkDepth = 2000;

class Executor {
 public:
  Executor(const Template::Tree& tree, const TemplateOptions& options,
           std::string* out)
      : tree_(tree), options_(options), out_(out) {}

  // Runs the top-level template against `data`.
  absl::Status Run(const TemplateValue& data) {
    const auto it = tree_.templates.find(tree_.name);
    if (it == tree_.templates.end()) return absl::OkStatus();
    current_ = &tree_.name;
    vars_.emplace_back("$", data);
    return Walk(data, *it->second).status();
  }

 private:
  absl::StatusOr<Flow> Walk(const TemplateValue& dot, const NodeList& list) {
    if (++walk_depth_ > kMaxWalkDepth) {
      return Error(absl::StrCat("exceeded maximum template depth (",
                                kMaxTemplateCallDepth, ")"));
    }
    absl::StatusOr<Flow> flow = WalkList(dot, list);
    --walk_depth_;
    return flow;
  }

  absl::StatusOr<Flow> WalkList(const TemplateValue& dot,
                                const NodeList& list) {
    for (const Node& node : list) {
      At(node.begin, node.begin);
      RETURN_IF_ERROR(Step());
      switch (node.kind) {
        case NodeKind::kText:
          RETURN_IF_ERROR(Write(node.text));
          break;
        case NodeKind::kAction: {
          ASSIGN_OR_RETURN(TemplateValue v, EvalPipeline(dot, node.pipe));
          if (node.pipe.decl.empty()) RETURN_IF_ERROR(Write(v.ToString()));
          break;
        }
        case NodeKind::kIf:
        case NodeKind::kWith: {
          const size_t mark = vars_.size();
          ASSIGN_OR_RETURN(TemplateValue v, EvalPipeline(dot, node.pipe));
          Flow flow = Flow::kNormal;
          if (v.Truth()) {
            ASSIGN_OR_RETURN(
                flow, Walk(node.kind == NodeKind::kWith ? v : dot, node.list));
          } else if (!node.else_list.empty()) {
            ASSIGN_OR_RETURN(flow, Walk(dot, node.else_list));
          }
          vars_.resize(mark);
          if (flow != Flow::kNormal) return flow;
          break;
        }
        case NodeKind::kRange:
          RETURN_IF_ERROR(WalkRange(dot, node));
          break;
        case NodeKind::kBreak:
          return Flow::kBreak;
        case NodeKind::kContinue:
          return Flow::kContinue;
        case NodeKind::kTemplate:
          RETURN_IF_ERROR(WalkTemplate(dot, node));
          break;
      }
    }
    return Flow::kNormal;
  }

  // {{template "name" pipeline}}: the named template with the pipeline's
  // value as dot and $, and no other variables (Go has no dynamic scope).
  absl::Status WalkTemplate(const TemplateValue& dot, const Node& node) {
    At(node.begin, node.end);
    const auto it = tree_.templates.find(node.text);
    if (it == tree_.templates.end()) {
      return Error(absl::StrCat("template \"", node.text, "\" not defined"));
    }
    if (call_depth_ >= kMaxTemplateCallDepth) {
      return Error(absl::StrCat("exceeded maximum template depth (",
                                kMaxTemplateCallDepth, ")"));
    }
    TemplateValue new_dot;
    if (!node.pipe.cmds.empty()) {
      ASSIGN_OR_RETURN(new_dot, EvalPipeline(dot, node.pipe));
    }
    std::vector<std::pair<std::string, TemplateValue>> saved_vars =
        std::move(vars_);
    vars_.clear();
    vars_.emplace_back("$", new_dot);
    const std::string* saved_current = current_;
    current_ = &it->first;
    ++call_depth_;
    absl::StatusOr<Flow> flow = Walk(new_dot, *it->second);
    --call_depth_;
    current_ = saved_current;
    vars_ = std::move(saved_vars);
    return flow.status();
  }
  // The node errors are about: its span (the context) and where it is.
  void At(size_t begin, size_t end, size_t pos = std::string::npos) {
    ctx_begin_ = begin;
    ctx_end_ = end;
    ctx_pos_ = pos == std::string::npos ? begin : pos;
  }

  // "can't evaluate field NAME in type TYPE", with the pair as a payload
  // (MissingFieldOf).
  absl::Status FieldError(absl::string_view name,
                          absl::string_view type) const {
    absl::Status status =
        Error(absl::StrCat("can't evaluate field ", name, " in type ", type));
    status.SetPayload(kMissingFieldPayload,
                      absl::Cord(absl::StrCat(type, "\n", name)));
    return status;
  }

  absl::Status Error(absl::string_view msg) const {
    std::string ctx;
    if (ctx_end_ > ctx_begin_) {
      ctx = tree_.source.substr(ctx_begin_, ctx_end_ - ctx_begin_);
      if (ctx.size() > 40) ctx = absl::StrCat(ctx.substr(0, 37), "...");
    }
    return absl::InvalidArgumentError(absl::StrCat(
        Location(tree_.name, tree_.source, ctx_pos_), "executing \"",
        current_ != nullptr ? *current_ : tree_.name, "\"",
        ctx.empty() ? "" : absl::StrCat(" at <", ctx, ">"), ": ", msg));
  }

  absl::Status Step() {
    if (++steps_ > options_.max_steps) {
      return Error(absl::StrCat("template execution exceeded ",
                                options_.max_steps, " steps"));
    }
    return absl::OkStatus();
  }

  absl::Status Write(absl::string_view s) {
    if (out_->size() + s.size() > options_.max_output_bytes) {
      return Error(absl::StrCat("template output exceeds the limit of ",
                                options_.max_output_bytes, " bytes"));
    }
    out_->append(s.data(), s.size());
    return absl::OkStatus();
  }

  absl::Status WalkRange(const TemplateValue& dot, const Node& node) {
    const size_t mark = vars_.size();
    ASSIGN_OR_RETURN(TemplateValue v, EvalPipeline(dot, node.pipe));
    const size_t iter_mark = vars_.size();
    const auto& decl = node.pipe.decl;
    auto one = [&](const TemplateValue& index,
                   const TemplateValue& elem) -> absl::StatusOr<Flow> {
      At(node.begin, node.begin);
      RETURN_IF_ERROR(Step());
      if (node.pipe.is_assign) {
        RETURN_IF_ERROR(SetVar(decl.back(), elem));
        if (decl.size() > 1) RETURN_IF_ERROR(SetVar(decl[0], index));
      } else {
        if (!decl.empty()) vars_[iter_mark - 1].second = elem;
        if (decl.size() > 1) vars_[iter_mark - 2].second = index;
      }
      absl::StatusOr<Flow> flow = Walk(elem, node.list);
      vars_.resize(iter_mark);
      return flow;
    };
    size_t iterations = 0;
    switch (v.kind()) {
      case TemplateValue::Kind::kList:
        for (const TemplateValue& item : v.list_items()) {
          ASSIGN_OR_RETURN(
              Flow f,
              one(TemplateValue::Int(static_cast<int64_t>(iterations)), item));
          ++iterations;
          if (f == Flow::kBreak) break;
        }
        break;
      case TemplateValue::Kind::kMap: {
        // As Go (fmtsort.Sort): a snapshot of the entries, so a body that
        // sets or unsets entries of the dict it ranges over sees none of it.
        const std::vector<std::pair<TemplateValue, TemplateValue>> entries =
            v.map_entries();
        for (const auto& [key, value] : entries) {
          ASSIGN_OR_RETURN(Flow f, one(key, value));
          ++iterations;
          if (f == Flow::kBreak) break;
        }
        break;
      }
      case TemplateValue::Kind::kInt:
        if (decl.size() > 1) {
          return Error(absl::StrCat("can't use ", v.int_value(),
                                    " to iterate over more than one variable"));
        }
        for (int64_t i = 0; i < v.int_value(); ++i) {
          ASSIGN_OR_RETURN(Flow f,
                           one(TemplateValue::Int(i), TemplateValue::Int(i)));
          ++iterations;
          if (f == Flow::kBreak) break;
        }
        break;
      case TemplateValue::Kind::kInvalid:
        break;  // Like Go: a nil value ranges zero times.
      default:
        At(node.pipe.begin, node.pipe.end);
        return Error(absl::StrCat("range can't iterate over ", v.ToString()));
    }
    if (iterations == 0 && !node.else_list.empty()) {
      ASSIGN_OR_RETURN(Flow f, Walk(dot, node.else_list));
      (void)f;  // As in Go, break/continue in the else ends this range.
    }
    vars_.resize(mark);
    return absl::OkStatus();
  }

  absl::Status SetVar(const std::string& name, const TemplateValue& v) {
    for (auto it = vars_.rbegin(); it != vars_.rend(); ++it) {
      if (it->first == name) {
        it->second = v;
        return absl::OkStatus();
      }
    }
    return Error(absl::StrCat("undefined variable: ", name));
  }

  absl::StatusOr<TemplateValue> VarValue(const std::string& name) {
    for (auto it = vars_.rbegin(); it != vars_.rend(); ++it) {
      if (it->first == name) return it->second;
    }
    return Error(absl::StrCat("undefined variable: ", name));
  }

  absl::StatusOr<TemplateValue> EvalPipeline(const TemplateValue& dot,
                                             const Pipeline& pipe) {
    TemplateValue value;
    bool has_value = false;
    for (const Command& cmd : pipe.cmds) {
      ASSIGN_OR_RETURN(value,
                       EvalCommand(dot, cmd, has_value ? &value : nullptr));
      has_value = true;
    }
    for (const std::string& var : pipe.decl) {
      if (pipe.is_assign) {
        RETURN_IF_ERROR(SetVar(var, value));
      } else {
        vars_.emplace_back(var, value);
      }
    }
    return value;
  }

  absl::StatusOr<TemplateValue> EvalCommand(const TemplateValue& dot,
                                            const Command& cmd,
                                            const TemplateValue* final) {
    const Arg& first = cmd.args[0];
    if (first.kind == ArgKind::kFunction) {
      return Call(dot, first, cmd, final);
    }
    if (first.is_nil) {
      At(first.begin, first.end);
      return Error("nil is not a command");
    }
    if (cmd.args.size() > 1 || final != nullptr) {
      At(first.begin, first.end);
      if (first.kind == ArgKind::kField) {
        return Error(absl::StrCat(first.fields.back(),
                                  " is not a method but has arguments"));
      }
      return Error(absl::StrCat("can't give argument to non-function ",
                                SourceOf(first)));
    }
    return EvalArg(dot, 'a', first);
  }

  std::string SourceOf(const Arg& arg) const {
    return tree_.source.substr(arg.begin, arg.end - arg.begin);
  }

  // Go's validateType: a value passed for a parameter of type `param`.
  absl::StatusOr<TemplateValue> Validate(TemplateValue v, char param) {
    if (param == 'v' || param == 'a') return v;
    if (!v.is_valid()) {
      // A nil map or slice of the parameter's type (Go's reflect.Zero).
      if (param == 'm') {
        return TemplateValue::NilMap(TemplateValue(), ParamTypeName(param));
      }
      if (param == 'S') return TemplateValue::NilList(ParamTypeName(param));
      return Error(
          absl::StrCat("invalid value; expected ", ParamTypeName(param)));
    }
    if (v.TypeName() != ParamTypeName(param)) {
      return Error(absl::StrCat("wrong type for value; expected ",
                                ParamTypeName(param), "; got ", v.TypeName()));
    }
    return v;
  }

  // Go's evalArg: the value of `arg` for a parameter of type `param`
  // (template_functions.h), a literal converted to it.
  absl::StatusOr<TemplateValue> EvalArg(const TemplateValue& dot, char param,
                                        const Arg& arg) {
    At(arg.begin, arg.end, arg.pos);
    switch (arg.kind) {
      case ArgKind::kDot:
        return Validate(dot, param);
      case ArgKind::kLiteral:
        return Literal(param, arg);
      case ArgKind::kField: {
        ASSIGN_OR_RETURN(TemplateValue v, EvalFields(dot, arg));
        return Validate(std::move(v), param);
      }
      case ArgKind::kVariable: {
        ASSIGN_OR_RETURN(TemplateValue v, VarValue(arg.name));
        ASSIGN_OR_RETURN(v, EvalFields(v, arg));
        return Validate(std::move(v), param);
      }
      case ArgKind::kPipe: {
        ASSIGN_OR_RETURN(TemplateValue v, EvalPipeline(dot, *arg.pipe));
        At(arg.begin, arg.end, arg.pos);
        ASSIGN_OR_RETURN(v, EvalFields(v, arg));
        return Validate(std::move(v), param);
      }
      case ArgKind::kFunction: {
        Command alone;
        alone.args.push_back(arg);
        alone.begin = arg.begin;
        alone.end = arg.end;
        ASSIGN_OR_RETURN(TemplateValue v, Call(dot, arg, alone, nullptr));
        At(arg.begin, arg.end);
        return Validate(std::move(v), param);
      }
    }
    return TemplateValue();
  }

  // A literal for a parameter of type `param`, as Go's evalArg converts it.
  absl::StatusOr<TemplateValue> Literal(char param, const Arg& arg) {
    const LiteralKind lit = arg.literal_kind;
    const NumberConst& n = arg.number;
    if (lit == LiteralKind::kNil) {
      if (param == 'v' || param == 'a') return TemplateValue();
      if (param == 'm' || param == 'S') return Validate(TemplateValue(), param);
      return Error(absl::StrCat("cannot assign nil to ", ParamTypeName(param)));
    }
    auto found = [&](absl::string_view what) {
      return Error(absl::StrCat("expected ", what, "; found ", SourceOf(arg)));
    };
    switch (param) {
      case 'v':
      case 'a':
        if (lit == LiteralKind::kNumber && n.ideal_overflows) {
          return Error(absl::StrCat(SourceOf(arg), " overflows int"));
        }
        return arg.literal;
      case 's':
        if (lit != LiteralKind::kString) return found("string");
        return arg.literal;
      case 'b':
        if (lit != LiteralKind::kBool) return found("bool");
        return arg.literal;
      case 'i':
      case 'I':
        if (lit != LiteralKind::kNumber || !n.is_int) return found("integer");
        return param == 'i' ? TemplateValue::Int(n.int_value)
                            : TemplateValue::TypedInt(n.int_value, "int64");
      case 'u':  // Go's SetUint: a uint32 keeps the low 32 bits.
        if (lit != LiteralKind::kNumber || !n.is_int || n.int_value < 0) {
          return found("unsigned integer");
        }
        return TemplateValue::TypedInt(n.int_value & 0xffffffff, "uint32");
      case 'f':
        if (lit != LiteralKind::kNumber || !n.is_float) return found("float");
        return TemplateValue::Float(n.float_value);
      default:
        return Error(absl::StrCat("can't handle ", SourceOf(arg),
                                  " for arg of type ", ParamTypeName(param)));
    }
  }

  absl::StatusOr<TemplateValue> EvalFields(TemplateValue v, const Arg& arg) {
    for (const std::string& name : arg.fields) {
      switch (v.kind()) {
        case TemplateValue::Kind::kInvalid:
          continue;  // Go: a field of nil data is "no value".
        case TemplateValue::Kind::kStruct: {
          const TemplateValue* f = v.FindField(name);
          if (f == nullptr) return FieldError(name, v.TypeName());
          v = *f;
          continue;
        }
        case TemplateValue::Kind::kMap: {
          const bool string_keys =
              v.map_entries().empty()
                  ? absl::string_view(v.TypeName()).substr(0, 11) ==
                        "map[string]"
                  : v.map_entries().front().first.kind() ==
                        TemplateValue::Kind::kString;
          if (string_keys) {
            const TemplateValue* e = v.FindKey(TemplateValue::String(name));
            v = e != nullptr ? *e : TemplateValue();
            continue;
          }
          break;
        }
        default:
          break;
      }
      return FieldError(name, v.TypeName());
    }
    return v;
  }

  // Go's evalCall: the arity first, then each argument converted to its
  // parameter's type (and and/or short-circuit), then the call; an error
  // of the function is "error calling NAME: ...".
  absl::StatusOr<TemplateValue> Call(const TemplateValue& dot, const Arg& fn,
                                     const Command& cmd,
                                     const TemplateValue* final) {
    RETURN_IF_ERROR(Step());
    const std::string& name = fn.name;
    At(fn.begin, cmd.end);
    const TemplateFunction* function = FindTemplateFunction(name);
    if (function == nullptr) {
      return Error(absl::StrCat("\"", name, "\" is not a defined function"));
    }
    const size_t explicit_args = cmd.args.size() - 1;
    const size_t n = explicit_args + (final != nullptr ? 1 : 0);
    if (!ArityAccepts(*function, n)) {
      // Go reports the explicit arguments for a variadic function.
      return Error(absl::StrCat("wrong number of args for ", name, ": want ",
                                ArityText(*function), " got ",
                                function->variadic ? explicit_args : n));
    }
    auto get = [&](size_t i) -> absl::StatusOr<TemplateValue> {
      if (i < explicit_args) {
        return EvalArg(dot, function->param(i), cmd.args[i + 1]);
      }
      At(fn.begin, cmd.end);
      return Validate(*final, function->param(i));
    };
    const CallContext context{name, options_.max_output_bytes,
                              static_cast<size_t>(options_.max_steps)};
    std::vector<TemplateValue> args;
    args.reserve(n);
    const bool short_circuit = function->evaluation != ArgEvaluation::kAll;
    const bool stop_on = function->evaluation == ArgEvaluation::kUntilTrue;
    for (size_t i = 0; i < n; ++i) {
      ASSIGN_OR_RETURN(TemplateValue v, get(i));
      args.push_back(std::move(v));
      if (short_circuit && args.back().Truth() == stop_on) break;
    }
    absl::StatusOr<TemplateValue> result = function->impl(args, context);
    if (!result.ok()) {
      At(fn.begin, cmd.end);
      return Error(absl::StrCat("error calling ", name, ": ",
                                result.status().message()));
    }
    return result;
  }

  const Template::Tree& tree_;
  const TemplateOptions& options_;
  std::string* out_;
  std::vector<std::pair<std::string, TemplateValue>> vars_;
  int64_t steps_ = 0;
  size_t ctx_begin_ = 0, ctx_end_ = 0, ctx_pos_ = 0;
  const std::string* current_ = nullptr;  // The template being executed.
  int call_depth_ = 0;
  int walk_depth_ = 0;
};

}  // namespace
}  // namespace template_internal

absl::StatusOr<std::string> Template::Execute(
    const TemplateValue& data, const TemplateOptions& options) const {
  std::string out;
  if (tree_ == nullptr) return out;
  template_internal::Executor executor(*tree_, options, &out);
  RETURN_IF_ERROR(executor.Run(data));
  return out;
}

std::optional<MissingField> MissingFieldOf(const absl::Status& status) {
  const absl::optional<absl::Cord> payload =
      status.GetPayload(kMissingFieldPayload);
  if (!payload.has_value()) return std::nullopt;
  const std::string text(*payload);
  const size_t newline = text.find('\n');
  if (newline == std::string::npos) return std::nullopt;
  return MissingField{.type = text.substr(0, newline),
                      .field = text.substr(newline + 1)};
}

}  // namespace ia::automation
