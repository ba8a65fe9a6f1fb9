// The parser of the template engine: tokens (template_lex.h) to the tree
// (template_tree.h), with Go's scoping of variables, its error messages and
// a bound on nesting. See template.h for the grammar.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
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
  return absl::StrCat("template: ", name, ":", line, ":", offset - line_start,
                      ": ");
}

std::string LineLocation(const std::string& name, const std::string& source,
                         size_t offset) {
  offset = std::min(offset, source.size());
  const int line = 1 + static_cast<int>(std::count(
                           source.begin(), source.begin() + offset, '\n'));
  return absl::StrCat("template: ", name, ":", line, ": ");
}

namespace {

// Whether a list of nodes is empty as Go's parse.IsEmptyTree says: only
// space in its text and no actions.
bool IsEmptyList(const NodeList& list) {
  for (const Node& node : list) {
    if (node.kind != NodeKind::kText) return false;
    for (const char c : node.text) {
      if (!absl::ascii_isspace(c)) return false;
    }
  }
  return true;
}

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
  Parser(Template::Tree& tree, std::vector<Token> tokens)
      : tree_(tree), tokens_(std::move(tokens)) {}

  // How many tokens the parser has read.
  size_t consumed() const { return max_consumed_; }

  // The whole template: the top-level list, with {{define}}s (allowed only
  // there) and {{block}}s added to tree.templates.
  absl::Status ParseRoot() {
    top_level_ = true;
    auto root = std::make_shared<NodeList>();
    Stop stop;
    RETURN_IF_ERROR(ItemList(root.get(), &stop));
    if (stop == Stop::kEnd) return Error(last_.pos, "unexpected {{end}}");
    if (stop == Stop::kElse) return Error(last_.pos, "unexpected {{else}}");
    return Add(tree_.name, std::move(root));
  }

 private:
  enum class Stop { kEOF, kEnd, kElse };

  absl::Status Error(size_t offset, absl::string_view msg) const {
    return absl::InvalidArgumentError(
        absl::StrCat(LineLocation(tree_.name, tree_.source, offset), msg));
  }

  // Adds a template as Go's Tree.add does: an empty body never replaces
  // one, and two non-empty bodies of one name are an error.
  absl::Status Add(const std::string& name, std::shared_ptr<NodeList> list) {
    auto& slot = tree_.templates[name];
    if (slot == nullptr || IsEmptyList(*slot)) {
      slot = std::move(list);
      return absl::OkStatus();
    }
    if (!IsEmptyList(*list)) {
      return Error(last_.pos,
                   absl::StrFormat("template: multiple definition of "
                                   "template \"%s\"",
                                   name));
    }
    return absl::OkStatus();
  }

  // A template's name: a quoted or raw string.
  absl::StatusOr<std::string> TemplateName(absl::string_view context) {
    const Token t = NextNonSpace();
    if (t.type != Tok::kString) return Unexpected(t, context);
    return t.val;
  }

  // The body of a {{define}} or {{block}}: a list of its own, with a fresh
  // variable scope, up to its {{end}}; added under `name`.
  absl::Status Definition(const std::string& name, absl::string_view context) {
    RETURN_IF_ERROR(EnterDepth(last_.pos));
    std::vector<std::string> saved_vars = std::move(vars_);
    vars_ = {"$"};
    const int saved_range_depth = range_depth_;
    const bool saved_top = top_level_;
    range_depth_ = 0;
    top_level_ = false;
    auto body = std::make_shared<NodeList>();
    Stop stop;
    RETURN_IF_ERROR(ItemList(body.get(), &stop));
    if (stop != Stop::kEnd) {
      return Error(
          last_.pos,
          absl::StrCat("unexpected ", stop == Stop::kEOF ? "EOF" : "{{else}}",
                       " in ", context));
    }
    vars_ = std::move(saved_vars);
    range_depth_ = saved_range_depth;
    top_level_ = saved_top;
    --depth_;
    return Add(name, std::move(body));
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
    max_consumed_ = std::max(max_consumed_, i_);
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
      if (t.val == "define" && top_level_) {
        ASSIGN_OR_RETURN(const std::string name, TemplateName("define clause"));
        RETURN_IF_ERROR(ExpectRightDelim("define clause"));
        return Definition(name, "define clause");
      }
      if (t.val == "template" || t.val == "block") {
        const bool is_block = t.val == "block";
        const absl::string_view context =
            is_block ? "block clause" : "template clause";
        Node node;
        node.kind = NodeKind::kTemplate;
        ASSIGN_OR_RETURN(node.text, TemplateName(context));
        node.begin = last_.pos;
        node.end = last_.end;
        if (is_block || PeekNonSpace().type != Tok::kRightDelim) {
          RETURN_IF_ERROR(ParsePipeline(context, Tok::kRightDelim, &node.pipe));
        } else {
          Next();
        }
        if (is_block) RETURN_IF_ERROR(Definition(node.text, context));
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
      return Unexpected(t, "command");
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
    const bool saved_top = top_level_;
    top_level_ = false;  // {{define}} only at the top level.
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
    top_level_ = saved_top;
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
        case Tok::kChar:
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

  // A declared ($x :=) or assigned ($x =) variable. As in Go, an
  // assignment is not checked here: assigning an undeclared variable fails
  // only when executed.
  absl::Status Declare(const Token& v, Pipeline* pipe) {
    if (!pipe->is_assign) vars_.push_back(v.val);
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
    arg.pos = Peek().pos;
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
    arg.begin = arg.pos = t.pos;
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
        arg.literal_kind = LiteralKind::kNil;
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
        arg.literal_kind = LiteralKind::kBool;
        break;
      case Tok::kString:
        arg.literal = TemplateValue::String(t.val);
        arg.literal_kind = LiteralKind::kString;
        break;
      case Tok::kChar: {
        // A character is an int of its code point, whatever the context.
        int64_t r = 0;
        (void)absl::SimpleAtoi(t.val, &r);
        arg.literal_kind = LiteralKind::kNumber;
        arg.number.is_int = arg.number.is_uint = arg.number.is_float = true;
        arg.number.int_value = r;
        arg.number.float_value = static_cast<double>(r);
        arg.literal = TemplateValue::Int(r);
        break;
      }
      case Tok::kNumber: {
        absl::StatusOr<NumberConst> n = ParseNumber(t.val);
        if (!n.ok()) return Error(t.pos, n.status().message());
        arg.literal_kind = LiteralKind::kNumber;
        arg.number = *n;
        arg.literal = n->ideal_float ? TemplateValue::Float(n->float_value)
                                     : TemplateValue::Int(n->int_value);
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

  Template::Tree& tree_;
  std::vector<Token> tokens_;
  bool top_level_ = false;
  size_t max_consumed_ = 0;
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
  // A lexical error reached by the parser is the error; a parse error
  // before it wins, as Go's lexer runs alongside its parser.
  const auto lex_error = std::find_if(
      tokens.begin(), tokens.end(), [](const template_internal::Token& t) {
        return t.type == template_internal::Tok::kError;
      });
  const size_t lex_error_index = lex_error - tokens.begin();
  const std::string lex_message =
      lex_error != tokens.end() ? lex_error->val : "";
  template_internal::Parser parser(*tree, std::move(tokens));
  if (absl::Status parsed = parser.ParseRoot(); !parsed.ok()) {
    if (!lex_message.empty() && parser.consumed() > lex_error_index) {
      return absl::InvalidArgumentError(lex_message);
    }
    return parsed;
  }
  Template t;
  t.tree_ = std::move(tree);
  return t;
}

}  // namespace ia::automation
