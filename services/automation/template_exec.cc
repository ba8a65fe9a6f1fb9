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

class Executor {
 public:
  Executor(const Template::Tree& tree, const TemplateOptions& options,
           const TemplateValue& data, std::string* out)
      : tree_(tree), options_(options), out_(out) {
    vars_.emplace_back("$", data);
  }

  absl::StatusOr<Flow> Walk(const TemplateValue& dot,
                            const std::vector<Node>& list) {
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
      }
    }
    return Flow::kNormal;
  }

 private:
  void At(size_t begin, size_t end) {
    ctx_begin_ = begin;
    ctx_end_ = end;
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
        Location(tree_.name, tree_.source, ctx_begin_), "executing \"",
        tree_.name, "\"", ctx.empty() ? "" : absl::StrCat(" at <", ctx, ">"),
        ": ", msg));
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
      case TemplateValue::Kind::kMap:
        for (const auto& [key, value] : v.map_entries()) {
          ASSIGN_OR_RETURN(Flow f, one(key, value));
          ++iterations;
          if (f == Flow::kBreak) break;
        }
        break;
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
      return Error(absl::StrCat(
          "can't give argument to non-function ",
          tree_.source.substr(first.begin, first.end - first.begin)));
    }
    return EvalArg(dot, first);
  }

  absl::StatusOr<TemplateValue> EvalArg(const TemplateValue& dot,
                                        const Arg& arg) {
    At(arg.begin, arg.end);
    switch (arg.kind) {
      case ArgKind::kDot:
        return dot;
      case ArgKind::kLiteral:
        return arg.literal;
      case ArgKind::kField:
        return EvalFields(dot, arg);
      case ArgKind::kVariable: {
        ASSIGN_OR_RETURN(TemplateValue v, VarValue(arg.name));
        return EvalFields(v, arg);
      }
      case ArgKind::kPipe: {
        ASSIGN_OR_RETURN(TemplateValue v, EvalPipeline(dot, *arg.pipe));
        At(arg.begin, arg.end);
        return EvalFields(v, arg);
      }
      case ArgKind::kFunction: {
        Command alone;
        alone.args.push_back(arg);
        alone.begin = arg.begin;
        alone.end = arg.end;
        return Call(dot, arg, alone, nullptr);
      }
    }
    return TemplateValue();
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

  absl::StatusOr<TemplateValue> Call(const TemplateValue& dot, const Arg& fn,
                                     const Command& cmd,
                                     const TemplateValue* final) {
    RETURN_IF_ERROR(Step());
    const std::string& name = fn.name;
    const TemplateFunction* function = FindTemplateFunction(name);
    if (function == nullptr) {
      At(fn.begin, cmd.end);
      return Error(absl::StrCat("function \"", name, "\" not defined"));
    }
    const size_t n = cmd.args.size() - 1 + (final != nullptr ? 1 : 0);
    auto get = [&](size_t i) -> absl::StatusOr<TemplateValue> {
      if (i + 1 < cmd.args.size()) return EvalArg(dot, cmd.args[i + 1]);
      return *final;
    };
    auto arity = [&]() {
      At(fn.begin, cmd.end);
      return Error(absl::StrCat("wrong number of args for ", name, ": want ",
                                ArityText(*function), " got ", n));
    };
    const CallContext context{name, options_.max_output_bytes};
    std::vector<TemplateValue> args;
    args.reserve(n);
    if (function->evaluation != ArgEvaluation::kAll) {
      // Short-circuit (and, or): the arity first, then the arguments up to
      // the deciding one.
      if (!ArityAccepts(*function, n)) return arity();
      const bool stop_on = function->evaluation == ArgEvaluation::kUntilTrue;
      for (size_t i = 0; i < n; ++i) {
        ASSIGN_OR_RETURN(TemplateValue v, get(i));
        args.push_back(std::move(v));
        if (args.back().Truth() == stop_on) break;
      }
      absl::StatusOr<TemplateValue> result = function->impl(args, context);
      if (!result.ok()) {
        At(fn.begin, cmd.end);
        return Error(result.status().message());
      }
      return result;
    }
    for (size_t i = 0; i < n; ++i) {
      ASSIGN_OR_RETURN(TemplateValue v, get(i));
      args.push_back(std::move(v));
    }
    At(fn.begin, cmd.end);
    if (!ArityAccepts(*function, n)) return arity();
    absl::StatusOr<TemplateValue> result = function->impl(args, context);
    if (!result.ok()) return Error(result.status().message());
    return result;
  }

  const Template::Tree& tree_;
  const TemplateOptions& options_;
  std::string* out_;
  std::vector<std::pair<std::string, TemplateValue>> vars_;
  int64_t steps_ = 0;
  size_t ctx_begin_ = 0, ctx_end_ = 0;
};

}  // namespace
}  // namespace template_internal

absl::StatusOr<std::string> Template::Execute(
    const TemplateValue& data, const TemplateOptions& options) const {
  std::string out;
  if (tree_ == nullptr) return out;
  template_internal::Executor executor(*tree_, options, data, &out);
  ASSIGN_OR_RETURN(template_internal::Flow flow,
                   executor.Walk(data, tree_->root));
  (void)flow;
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
