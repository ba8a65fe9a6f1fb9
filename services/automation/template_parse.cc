// The parser of the template engine: tokens (template_lex.h) to the tree
// (template_tree.h), with Go's scoping of variables, its error messages and
// a bound on nesting. See template.h for the grammar.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "services/automation/template.h"
#include "services/automation/template_functions.h"
#include "services/automation/template_lex.h"
#include "services/automation/template_tree.h"

namespace ia::automation {
namespace template_internal {

std::string Location(const std::string& name, const std::string& source,
                     size_t offset) {
  offset = std::min(offset, source.size());
  int line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (source[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return absl::StrCat("template: ", name, ":", line, ":",
                      offset - line_start + 1, ": ");
}

namespace {

std::string Describe(const Token& t) {
  switch (t.type) {
    case Tok::kEOF:
      return "EOF";
    case Tok::kRightDelim:
      return "\"}}\"";
    case Tok::kLeftDelim:
      return "\"{{\"";
    case Tok::kKeyword:
      return absl::StrCat("<", t.val, ">");
    case Tok::kSpace:
      return "space";
    default:
      return absl::StrCat("\"", t.val, "\"");
  }
}

class Parser {
 public:
  Parser(const Template::Tree& tree, std::vector<Token> tokens)
      : tree_(tree), tokens_(std::move(tokens)) {}

  absl::Status ParseRoot(std::vector<Node>* out) {
    Stop stop;
    RETURN_IF_ERROR(ItemList(out, &stop));
    if (stop == Stop::kEnd) return Error(last_.pos, "unexpected {{end}}");
    if (stop == Stop::kElse) return Error(last_.pos, "unexpected {{else}}");
    return absl::OkStatus();
  }

 private:
  enum class Stop { kEOF, kEnd, kElse };

  absl::Status Error(size_t offset, absl::string_view msg) const {
    return absl::InvalidArgumentError(
        absl::StrCat(Location(tree_.name, tree_.source, offset), msg));
  }
  absl::Status Unexpected(const Token& t, absl::string_view context) const {
    return Error(t.pos,
                 absl::StrCat("unexpected ", Describe(t), " in ", context));
  }

  // The index may run past the end; reads clamp to the final EOF token, so
  // every Next() can be undone by one --i_.
  const Token& Next() {
    const Token& t = tokens_[std::min(i_, tokens_.size() - 1)];
    ++i_;
    last_ = t;
    return t;
  }
  const Token& Peek() const {
    return tokens_[std::min(i_, tokens_.size() - 1)];
  }
  const Token& NextNonSpace() {
    while (Peek().type == Tok::kSpace) Next();
    return Next();
  }
  const Token& PeekNonSpace() {
    while (Peek().type == Tok::kSpace) Next();
    return Peek();
  }

  absl::Status EnterDepth(size_t offset) {
    if (++depth_ > kMaxTemplateDepth) {
      return Error(offset, absl::StrCat("template nesting is deeper than ",
                                        kMaxTemplateDepth));
    }
    return absl::OkStatus();
  }

  // Text and actions until {{end}}, {{else}} (left just after the keyword)
  // or EOF.
  absl::Status ItemList(std::vector<Node>* out, Stop* stop) {
    for (;;) {
      const Token t = Next();
      switch (t.type) {
        case Tok::kEOF:
          *stop = Stop::kEOF;
          return absl::OkStatus();
        case Tok::kText: {
          Node node;
          node.kind = NodeKind::kText;
          node.text = t.val;
          node.begin = t.pos;
          node.end = t.end;
          out->push_back(std::move(node));
          break;
        }
        case Tok::kLeftDelim: {
          std::optional<Stop> s;
          RETURN_IF_ERROR(Action(t, out, &s));
          if (s) {
            *stop = *s;
            return absl::OkStatus();
          }
          break;
        }
        default:
          return Unexpected(t, "input");
      }
    }
  }

  absl::Status ExpectRightDelim(absl::string_view context) {
    const Token t = NextNonSpace();
    if (t.type != Tok::kRightDelim) return Unexpected(t, context);
    return absl::OkStatus();
  }

  absl::Status Action(const Token& open, std::vector<Node>* out,
                      std::optional<Stop>* stop) {
    const Token t = PeekNonSpace();
    if (t.type == Tok::kKeyword) {
      Next();
      if (t.val == "end") {
        RETURN_IF_ERROR(ExpectRightDelim("end"));
        *stop = Stop::kEnd;
        last_ = t;
        return absl::OkStatus();
      }
      if (t.val == "else") {
        *stop = Stop::kElse;
        last_ = t;
        return absl::OkStatus();
      }
      if (t.val == "if" || t.val == "with" || t.val == "range") {
        Node node;
        RETURN_IF_ERROR(Control(t, &node));
        out->push_back(std::move(node));
        return absl::OkStatus();
      }
      if (t.val == "break" || t.val == "continue") {
        if (range_depth_ == 0) {
          return Error(t.pos,
                       absl::StrCat("{{", t.val, "}} outside {{range}}"));
        }
        RETURN_IF_ERROR(ExpectRightDelim(t.val));
        Node node;
        node.kind = t.val == "break" ? NodeKind::kBreak : NodeKind::kContinue;
        node.begin = t.pos;
        out->push_back(std::move(node));
        return absl::OkStatus();
      }
      return Error(t.pos, absl::StrCat("{{", t.val, "}} is not supported"));
    }
    Node node;
    node.kind = NodeKind::kAction;
    node.begin = open.pos;
    RETURN_IF_ERROR(ParsePipeline("command", Tok::kRightDelim, &node.pipe));
    out->push_back(std::move(node));
    return absl::OkStatus();
  }

  // if / with / range, the keyword token `kw` already consumed.
  absl::Status Control(const Token& kw, Node* node) {
    RETURN_IF_ERROR(EnterDepth(kw.pos));
    const size_t vars_mark = vars_.size();
    node->kind = kw.val == "if"     ? NodeKind::kIf
                 : kw.val == "with" ? NodeKind::kWith
                                    : NodeKind::kRange;
    node->begin = kw.pos;
    RETURN_IF_ERROR(ParsePipeline(kw.val, Tok::kRightDelim, &node->pipe));
    const bool is_range = node->kind == NodeKind::kRange;
    if (is_range) ++range_depth_;
    Stop stop;
    RETURN_IF_ERROR(ItemList(&node->list, &stop));
    if (is_range) --range_depth_;
    if (stop == Stop::kEOF) {
      return Error(kw.pos, absl::StrCat("unexpected EOF: {{", kw.val,
                                        "}} has no matching {{end}}"));
    }
    if (stop == Stop::kElse) {
      const Token& t = PeekNonSpace();
      if (!is_range && t.type == Tok::kKeyword && t.val == kw.val) {
        // {{else if ...}} is {{else}}{{if ...}} sharing one {{end}}.
        const Token nested_kw = Next();
        Node nested;
        RETURN_IF_ERROR(Control(nested_kw, &nested));
        node->else_list.push_back(std::move(nested));
      } else {
        RETURN_IF_ERROR(ExpectRightDelim("else"));
        RETURN_IF_ERROR(ItemList(&node->else_list, &stop));
        if (stop != Stop::kEnd) {
          return Error(last_.pos,
                       absl::StrCat("expected end; found ",
                                    stop == Stop::kEOF ? "EOF" : "{{else}}"));
        }
      }
    }
    vars_.resize(vars_mark);
    --depth_;
    return absl::OkStatus();
  }

  bool Defined(absl::string_view var) const {
    return std::find(vars_.begin(), vars_.end(), var) != vars_.end();
  }

  absl::Status ParsePipeline(absl::string_view context, Tok end,
                             Pipeline* pipe) {
    pipe->begin = PeekNonSpace().pos;
    // Declarations: $x := ..., $x = ..., range $k, $v := ...
    if (Peek().type == Tok::kVariable) {
      const size_t save = i_;
      const Token v = Next();
      const Token& after = PeekNonSpace();
      if (after.type == Tok::kDeclare || after.type == Tok::kAssign) {
        pipe->is_assign = after.type == Tok::kAssign;
        Next();
        RETURN_IF_ERROR(Declare(v, pipe));
      } else if (after.type == Tok::kComma) {
        Next();
        if (context != "range") {
          return Error(after.pos,
                       absl::StrCat("too many declarations in ", context));
        }
        const Token v2 = NextNonSpace();
        if (v2.type != Tok::kVariable) {
          return Error(v2.pos, "range can only initialize variables");
        }
        const Token op = NextNonSpace();
        if (op.type != Tok::kDeclare && op.type != Tok::kAssign) {
          return Unexpected(op, "range declaration");
        }
        pipe->is_assign = op.type == Tok::kAssign;
        RETURN_IF_ERROR(Declare(v, pipe));
        RETURN_IF_ERROR(Declare(v2, pipe));
      } else {
        i_ = save;
      }
    }
    bool after_pipe = false;
    for (;;) {
      const Token t = NextNonSpace();
      if (t.type == end) {
        if (pipe->cmds.empty()) {
          return Error(t.pos, absl::StrCat("missing value for ", context));
        }
        if (after_pipe) return Error(t.pos, "missing command after |");
        pipe->end = pipe->cmds.back().end;
        return absl::OkStatus();
      }
      switch (t.type) {
        case Tok::kBool:
        case Tok::kDot:
        case Tok::kField:
        case Tok::kIdentifier:
        case Tok::kNumber:
        case Tok::kNil:
        case Tok::kString:
        case Tok::kVariable:
        case Tok::kLeftParen: {
          --i_;  // Back up to `t`.
          Command cmd;
          RETURN_IF_ERROR(ParseCommand(&cmd, &after_pipe));
          pipe->cmds.push_back(std::move(cmd));
          break;
        }
        default:
          return Unexpected(t, context);
      }
    }
  }

  absl::Status Declare(const Token& v, Pipeline* pipe) {
    if (pipe->is_assign) {
      if (!Defined(v.val)) {
        return Error(v.pos, absl::StrFormat("undefined variable %s", v.val));
      }
    } else {
      vars_.push_back(v.val);
    }
    pipe->decl.push_back(v.val);
    return absl::OkStatus();
  }

  absl::Status ParseCommand(Command* cmd, bool* ended_by_pipe) {
    cmd->begin = Peek().pos;
    *ended_by_pipe = false;
    for (;;) {
      std::optional<Arg> arg;
      RETURN_IF_ERROR(Operand(&arg));
      if (arg) cmd->args.push_back(std::move(*arg));
      const Token t = Next();
      if (t.type == Tok::kSpace) continue;
      if (t.type == Tok::kRightDelim || t.type == Tok::kRightParen) {
        --i_;
        break;
      }
      if (t.type == Tok::kPipe) {
        *ended_by_pipe = true;
        break;
      }
      return Unexpected(t, "operand");
    }
    if (cmd->args.empty()) return Error(cmd->begin, "empty command");
    cmd->end = cmd->args.back().end;
    return absl::OkStatus();
  }

  absl::Status Operand(std::optional<Arg>* out) {
    RETURN_IF_ERROR(Term(out));
    if (!*out || Peek().type != Tok::kField) return absl::OkStatus();
    Arg& arg = **out;
    if (arg.kind != ArgKind::kField && arg.kind != ArgKind::kVariable &&
        arg.kind != ArgKind::kPipe) {
      return Error(Peek().pos, absl::StrCat("unexpected . after term \"",
                                            tree_.source.substr(
                                                arg.begin, arg.end - arg.begin),
                                            "\""));
    }
    while (Peek().type == Tok::kField) {
      const Token f = Next();
      arg.fields.push_back(f.val.substr(1));
      arg.end = f.end;
    }
    return absl::OkStatus();
  }

  absl::Status Term(std::optional<Arg>* out) {
    const Token t = Next();
    Arg arg;
    arg.begin = t.pos;
    arg.end = t.end;
    switch (t.type) {
      case Tok::kIdentifier:
        if (FindTemplateFunction(t.val) == nullptr) {
          return Error(t.pos,
                       absl::StrFormat("function \"%s\" not defined", t.val));
        }
        arg.kind = ArgKind::kFunction;
        arg.name = t.val;
        break;
      case Tok::kDot:
        arg.kind = ArgKind::kDot;
        break;
      case Tok::kNil:
        arg.kind = ArgKind::kLiteral;  // The invalid value.
        arg.is_nil = true;
        break;
      case Tok::kVariable:
        if (!Defined(t.val)) {
          return Error(t.pos,
                       absl::StrFormat("undefined variable \"%s\"", t.val));
        }
        arg.kind = ArgKind::kVariable;
        arg.name = t.val;
        break;
      case Tok::kField:
        arg.kind = ArgKind::kField;
        arg.fields.push_back(t.val.substr(1));
        break;
      case Tok::kBool:
        arg.literal = TemplateValue::Bool(t.val == "true");
        break;
      case Tok::kString:
        arg.literal = TemplateValue::String(t.val);
        break;
      case Tok::kNumber: {
        int64_t i = 0;
        absl::string_view digits = t.val;
        if (!digits.empty() && digits[0] == '+') digits.remove_prefix(1);
        if (!absl::SimpleAtoi(digits, &i)) {
          const bool is_float =
              t.val.find_first_of(".eE") != std::string::npos &&
              t.val.find_first_of("xX") == std::string::npos;
          return Error(
              t.pos, is_float
                         ? absl::StrFormat("floating-point numbers "
                                           "are not supported: %s",
                                           t.val)
                         : absl::StrFormat("bad number syntax: \"%s\"", t.val));
        }
        arg.literal = TemplateValue::Int(i);
        break;
      }
      case Tok::kLeftParen: {
        RETURN_IF_ERROR(EnterDepth(t.pos));
        auto pipe = std::make_shared<Pipeline>();
        RETURN_IF_ERROR(
            ParsePipeline("parenthesized pipeline", Tok::kRightParen, &*pipe));
        --depth_;
        arg.kind = ArgKind::kPipe;
        arg.pipe = std::move(pipe);
        arg.end = last_.end;
        break;
      }
      default:
        --i_;  // Not a term: back up.
        return absl::OkStatus();
    }
    *out = std::move(arg);
    return absl::OkStatus();
  }

  const Template::Tree& tree_;
  std::vector<Token> tokens_;
  size_t i_ = 0;
  Token last_{Tok::kEOF, "", 0, 0};
  std::vector<std::string> vars_{"$"};
  int depth_ = 0;
  int range_depth_ = 0;
};

}  // namespace
}  // namespace template_internal

absl::StatusOr<Template> Template::Parse(absl::string_view name,
                                         absl::string_view text) {
  auto tree = std::make_shared<Tree>();
  tree->name = std::string(name);
  tree->source = std::string(text);
  ASSIGN_OR_RETURN(std::vector<template_internal::Token> tokens,
                   template_internal::Lex(tree->name, tree->source));
  template_internal::Parser parser(*tree, std::move(tokens));
  RETURN_IF_ERROR(parser.ParseRoot(&tree->root));
  Template t;
  t.tree_ = std::move(tree);
  return t;
}

}  // namespace ia::automation
