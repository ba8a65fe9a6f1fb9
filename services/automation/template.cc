// A subset of Go's text/template: lexer, parser and executor. See
// template.h for what is supported and how it differs from Go.
#include "services/automation/template.h"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace ia::automation {

// ---------------------------------------------------------------------------
// TemplateValue

struct TemplateValue::Composite {
  std::string type_name;
  std::vector<TemplateValue> items;
  std::vector<std::pair<TemplateValue, TemplateValue>> entries;
  TemplateValue zero;
  std::vector<TemplateField> fields;
  std::optional<std::string> string_form;
};

namespace {

const std::string& EmptyString() {
  static const std::string* const kEmpty = new std::string();
  return *kEmpty;
}

}  // namespace

TemplateValue TemplateValue::Bool(bool b) {
  TemplateValue v;
  v.kind_ = Kind::kBool;
  v.bool_ = b;
  return v;
}

TemplateValue TemplateValue::Int(int64_t i) {
  TemplateValue v;
  v.kind_ = Kind::kInt;
  v.int_ = i;
  return v;
}

TemplateValue TemplateValue::String(std::string s) {
  TemplateValue v;
  v.kind_ = Kind::kString;
  v.string_ = std::make_shared<const std::string>(std::move(s));
  return v;
}

TemplateValue TemplateValue::List(std::vector<TemplateValue> items,
                                  std::string type_name) {
  auto c = std::make_shared<Composite>();
  c->type_name = std::move(type_name);
  c->items = std::move(items);
  TemplateValue v;
  v.kind_ = Kind::kList;
  v.composite_ = std::move(c);
  return v;
}

TemplateValue TemplateValue::Map(
    std::vector<std::pair<TemplateValue, TemplateValue>> entries,
    TemplateValue zero, std::string type_name) {
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) {
                     return Compare(a.first, b.first) < 0;
                   });
  auto c = std::make_shared<Composite>();
  for (auto& e : entries) {
    if (!c->entries.empty() && Compare(c->entries.back().first, e.first) == 0) {
      c->entries.back().second = std::move(e.second);  // The last one wins.
    } else {
      c->entries.push_back(std::move(e));
    }
  }
  c->zero = std::move(zero);
  c->type_name = std::move(type_name);
  TemplateValue v;
  v.kind_ = Kind::kMap;
  v.composite_ = std::move(c);
  return v;
}

TemplateValue TemplateValue::StringMap(
    const std::map<std::string, std::string>& m) {
  std::vector<std::pair<TemplateValue, TemplateValue>> entries;
  entries.reserve(m.size());
  for (const auto& [k, val] : m) entries.emplace_back(String(k), String(val));
  return Map(std::move(entries), String(""), "map[string]string");
}

TemplateValue TemplateValue::Struct(std::string type_name,
                                    std::vector<TemplateField> fields,
                                    std::optional<std::string> string_form) {
  auto c = std::make_shared<Composite>();
  c->type_name = std::move(type_name);
  c->fields = std::move(fields);
  c->string_form = std::move(string_form);
  TemplateValue v;
  v.kind_ = Kind::kStruct;
  v.composite_ = std::move(c);
  return v;
}

const std::string& TemplateValue::string_value() const {
  return string_ ? *string_ : EmptyString();
}

const std::vector<TemplateValue>& TemplateValue::list_items() const {
  static const auto* const kEmpty = new std::vector<TemplateValue>();
  return kind_ == Kind::kList ? composite_->items : *kEmpty;
}

const std::vector<std::pair<TemplateValue, TemplateValue>>&
TemplateValue::map_entries() const {
  static const auto* const kEmpty =
      new std::vector<std::pair<TemplateValue, TemplateValue>>();
  return kind_ == Kind::kMap ? composite_->entries : *kEmpty;
}

const std::vector<TemplateField>& TemplateValue::struct_fields() const {
  static const auto* const kEmpty = new std::vector<TemplateField>();
  return kind_ == Kind::kStruct ? composite_->fields : *kEmpty;
}

const TemplateValue& TemplateValue::map_zero() const {
  static const auto* const kInvalid = new TemplateValue();
  return kind_ == Kind::kMap ? composite_->zero : *kInvalid;
}

std::string TemplateValue::TypeName() const {
  switch (kind_) {
    case Kind::kInvalid:
      return "<nil>";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kString:
      return "string";
    default:
      return composite_->type_name;
  }
}

const TemplateValue* TemplateValue::FindField(absl::string_view name) const {
  if (kind_ != Kind::kStruct) return nullptr;
  for (const TemplateField& f : composite_->fields) {
    if (f.name == name) return &f.value;
  }
  // Go promotes the fields of embedded structs (shallowest first; the
  // shapes used here have no ambiguity).
  for (const TemplateField& f : composite_->fields) {
    if (!f.embedded) continue;
    if (const TemplateValue* v = f.value.FindField(name)) return v;
  }
  return nullptr;
}

const TemplateValue* TemplateValue::FindKey(const TemplateValue& key) const {
  if (kind_ != Kind::kMap) return nullptr;
  const auto& entries = composite_->entries;
  auto it = std::lower_bound(entries.begin(), entries.end(), key,
                             [](const auto& e, const TemplateValue& k) {
                               return Compare(e.first, k) < 0;
                             });
  if (it == entries.end() || Compare(it->first, key) != 0) return nullptr;
  return &it->second;
}

bool TemplateValue::Truth() const {
  switch (kind_) {
    case Kind::kInvalid:
      return false;
    case Kind::kBool:
      return bool_;
    case Kind::kInt:
      return int_ != 0;
    case Kind::kString:
      return !string_value().empty();
    case Kind::kList:
      return !composite_->items.empty();
    case Kind::kMap:
      return !composite_->entries.empty();
    case Kind::kStruct:
      return true;
  }
  return false;
}

std::string TemplateValue::ToString() const {
  std::string out;
  AppendTo(&out, /*top=*/true);
  return out;
}

void TemplateValue::AppendTo(std::string* out, bool top) const {
  switch (kind_) {
    case Kind::kInvalid:
      out->append(top ? "<no value>" : "<nil>");
      return;
    case Kind::kBool:
      out->append(bool_ ? "true" : "false");
      return;
    case Kind::kInt:
      absl::StrAppend(out, int_);
      return;
    case Kind::kString:
      out->append(string_value());
      return;
    case Kind::kList: {
      out->push_back('[');
      bool first = true;
      for (const TemplateValue& item : composite_->items) {
        if (!first) out->push_back(' ');
        first = false;
        item.AppendTo(out, false);
      }
      out->push_back(']');
      return;
    }
    case Kind::kMap: {
      out->append("map[");
      bool first = true;
      for (const auto& [k, v] : composite_->entries) {
        if (!first) out->push_back(' ');
        first = false;
        k.AppendTo(out, false);
        out->push_back(':');
        v.AppendTo(out, false);
      }
      out->push_back(']');
      return;
    }
    case Kind::kStruct: {
      if (composite_->string_form) {
        out->append(*composite_->string_form);
        return;
      }
      out->push_back('{');
      bool first = true;
      for (const TemplateField& f : composite_->fields) {
        if (f.method) continue;
        if (!first) out->push_back(' ');
        first = false;
        f.value.AppendTo(out, false);
      }
      out->push_back('}');
      return;
    }
  }
}

int TemplateValue::Compare(const TemplateValue& a, const TemplateValue& b) {
  if (a.kind_ != b.kind_) return a.kind_ < b.kind_ ? -1 : 1;
  switch (a.kind_) {
    case Kind::kInvalid:
      return 0;
    case Kind::kBool:
      return static_cast<int>(a.bool_) - static_cast<int>(b.bool_);
    case Kind::kInt:
      return a.int_ < b.int_ ? -1 : (a.int_ > b.int_ ? 1 : 0);
    case Kind::kString:
      return a.string_value().compare(b.string_value());
    case Kind::kStruct: {
      const auto& fa = a.composite_->fields;
      const auto& fb = b.composite_->fields;
      for (size_t i = 0; i < fa.size() && i < fb.size(); ++i) {
        if (fa[i].method || fb[i].method) continue;
        const int c = Compare(fa[i].value, fb[i].value);
        if (c != 0) return c;
      }
      return fa.size() < fb.size() ? -1 : (fa.size() > fb.size() ? 1 : 0);
    }
    case Kind::kList:
    case Kind::kMap:
      return 0;  // Not valid Go map keys; never compared in practice.
  }
  return 0;
}

// ---------------------------------------------------------------------------
// Parse tree

namespace {

enum class ArgKind { kDot, kField, kVariable, kFunction, kLiteral, kPipe };

struct Pipeline;

// An operand: `.`, `.A.B`, `$x.A`, `fn`, a literal or `(pipeline).A`.
struct Arg {
  ArgKind kind = ArgKind::kLiteral;
  std::string name;                 // "$x" or the function's name.
  std::vector<std::string> fields;  // The field chain that follows.
  TemplateValue literal;
  bool is_nil = false;
  std::shared_ptr<const Pipeline> pipe;
  size_t begin = 0, end = 0;  // Source span, for error context.
};

struct Command {
  std::vector<Arg> args;
  size_t begin = 0, end = 0;
};

struct Pipeline {
  std::vector<std::string> decl;  // Declared or assigned variables.
  bool is_assign = false;
  std::vector<Command> cmds;  // Separated by |.
  size_t begin = 0, end = 0;
};

enum class NodeKind { kText, kAction, kIf, kWith, kRange, kBreak, kContinue };

struct Node {
  NodeKind kind = NodeKind::kText;
  std::string text;
  Pipeline pipe;
  std::vector<Node> list;
  std::vector<Node> else_list;
  size_t begin = 0, end = 0;
};

}  // namespace

struct Template::Tree {
  std::string name;
  std::string source;
  std::vector<Node> root;
};

namespace {

// Go's "template: NAME:LINE:COL: " prefix for a byte offset of `source`.
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

// ---------------------------------------------------------------------------
// Lexer

enum class Tok {
  kText,
  kLeftDelim,
  kRightDelim,
  kSpace,
  kField,
  kVariable,
  kDot,
  kIdentifier,
  kKeyword,
  kBool,
  kNil,
  kString,
  kNumber,
  kLeftParen,
  kRightParen,
  kPipe,
  kDeclare,
  kAssign,
  kComma,
  kEOF,
};

struct Token {
  Tok type;
  std::string val;  // Text; identifier; unquoted string; "$x"; ".Field".
  size_t pos = 0, end = 0;
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsAlnum(char c) {
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsKeyword(absl::string_view w) {
  return w == "if" || w == "else" || w == "end" || w == "range" ||
         w == "with" || w == "define" || w == "template" || w == "block" ||
         w == "break" || w == "continue";
}

class Lexer {
 public:
  Lexer(const std::string& name, const std::string& src)
      : name_(name), src_(src) {}

  absl::StatusOr<std::vector<Token>> Run() {
    size_t pos = 0;
    const size_t n = src_.size();
    while (pos < n) {
      const size_t open = src_.find("{{", pos);
      if (open == std::string::npos) {
        Emit(Tok::kText, src_.substr(pos), pos, n);
        break;
      }
      const bool left_trim =
          open + 3 < n && src_[open + 2] == '-' && IsSpace(src_[open + 3]);
      size_t text_end = open;
      if (left_trim) {
        while (text_end > pos && IsSpace(src_[text_end - 1])) --text_end;
      }
      if (text_end > pos) {
        Emit(Tok::kText, src_.substr(pos, text_end - pos), pos, text_end);
      }
      size_t p = open + 2 + (left_trim ? 2 : 0);
      if (src_.compare(p, 2, "/*") == 0) {
        ASSIGN_OR_RETURN(pos, Comment(open, p));
        continue;
      }
      Emit(Tok::kLeftDelim, "{{", open, open + 2);
      ASSIGN_OR_RETURN(pos, InsideAction(open, p));
    }
    Emit(Tok::kEOF, "", n, n);
    return std::move(tokens_);
  }

 private:
  absl::Status Error(size_t offset, absl::string_view msg) {
    return absl::InvalidArgumentError(
        absl::StrCat(Location(name_, src_, offset), msg));
  }

  void Emit(Tok type, std::string val, size_t pos, size_t end) {
    tokens_.push_back(Token{type, std::move(val), pos, end});
  }

  // Length of the right delimiter at `p` ("}}" or " -}}"), 0 if none;
  // sets *trim for the trimming form.
  size_t RightDelimAt(size_t p, bool* trim) const {
    if (p + 4 <= src_.size() && IsSpace(src_[p]) && src_[p + 1] == '-' &&
        src_.compare(p + 2, 2, "}}") == 0) {
      *trim = true;
      return 4;
    }
    *trim = false;
    return src_.compare(p, 2, "}}") == 0 ? 2 : 0;
  }

  size_t SkipSpaces(size_t p) const {
    while (p < src_.size() && IsSpace(src_[p])) ++p;
    return p;
  }

  // A comment starting at `p` ("/*"); returns the position after it.
  absl::StatusOr<size_t> Comment(size_t open, size_t p) {
    const size_t close = src_.find("*/", p + 2);
    if (close == std::string::npos) return Error(open, "unclosed comment");
    bool trim = false;
    const size_t len = RightDelimAt(close + 2, &trim);
    if (len == 0) {
      return Error(close, "comment ends before closing delimiter");
    }
    const size_t after = close + 2 + len;
    return trim ? SkipSpaces(after) : after;
  }

  // Tokens of one action; `p` is just after "{{" (and its trim marker).
  // Returns the position after the closing delimiter (and trimmed space).
  absl::StatusOr<size_t> InsideAction(size_t open, size_t p) {
    const size_t n = src_.size();
    for (;;) {
      bool trim = false;
      if (const size_t len = RightDelimAt(p, &trim); len > 0) {
        Emit(Tok::kRightDelim, "}}", p, p + len);
        return trim ? SkipSpaces(p + len) : p + len;
      }
      if (p >= n) return Error(open, "unclosed action");
      const char c = src_[p];
      if (IsSpace(c)) {
        size_t q = p;
        while (q < n && IsSpace(src_[q])) ++q;
        // Leave the space of a " -}}" trim marker to the delimiter (when it
        // is the only space, the next iteration matches the delimiter).
        if (q < n && src_[q] == '-' && src_.compare(q + 1, 2, "}}") == 0) --q;
        if (q > p) Emit(Tok::kSpace, " ", p, q);
        p = q;
        continue;
      }
      if (c == '"' || c == '`') {
        ASSIGN_OR_RETURN(p, Quote(p));
        continue;
      }
      if (c == '$' || c == '.') {
        size_t q = p + 1;
        while (q < n && IsAlnum(src_[q])) ++q;
        if (c == '.' && q > p + 1 && IsDigit(src_[p + 1])) {
          return Error(p, "floating-point numbers are not supported");
        }
        RETURN_IF_ERROR(CheckTerminator(q));
        if (c == '$') {
          Emit(Tok::kVariable, src_.substr(p, q - p), p, q);
        } else if (q == p + 1) {
          Emit(Tok::kDot, ".", p, q);
        } else {
          Emit(Tok::kField, src_.substr(p, q - p), p, q);
        }
        p = q;
        continue;
      }
      if (IsDigit(c) || c == '-' || c == '+') {
        size_t q = p + 1;
        while (q < n && (IsAlnum(src_[q]) || src_[q] == '.')) ++q;
        Emit(Tok::kNumber, src_.substr(p, q - p), p, q);
        p = q;
        continue;
      }
      if (IsAlnum(c)) {
        size_t q = p;
        while (q < n && IsAlnum(src_[q])) ++q;
        RETURN_IF_ERROR(CheckTerminator(q));
        std::string word = src_.substr(p, q - p);
        Tok type = Tok::kIdentifier;
        if (word == "true" || word == "false") {
          type = Tok::kBool;
        } else if (word == "nil") {
          type = Tok::kNil;
        } else if (IsKeyword(word)) {
          type = Tok::kKeyword;
        }
        Emit(type, std::move(word), p, q);
        p = q;
        continue;
      }
      switch (c) {
        case '(':
          Emit(Tok::kLeftParen, "(", p, p + 1);
          ++p;
          continue;
        case ')':
          Emit(Tok::kRightParen, ")", p, p + 1);
          ++p;
          continue;
        case '|':
          Emit(Tok::kPipe, "|", p, p + 1);
          ++p;
          continue;
        case ',':
          Emit(Tok::kComma, ",", p, p + 1);
          ++p;
          continue;
        case '=':
          Emit(Tok::kAssign, "=", p, p + 1);
          ++p;
          continue;
        case ':':
          if (p + 1 < n && src_[p + 1] == '=') {
            Emit(Tok::kDeclare, ":=", p, p + 2);
            p += 2;
            continue;
          }
          return Error(p, "expected :=");
        default:
          break;
      }
      return Error(p, absl::StrFormat("unrecognized character in action: %s",
                                      DescribeChar(c)));
    }
  }

  static std::string DescribeChar(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) return absl::StrFormat("U+%04X '%c'", u, c);
    return absl::StrFormat("U+%04X", u);
  }

  // Go requires a word to end at a space, punctuation or delimiter.
  absl::Status CheckTerminator(size_t q) const {
    if (q >= src_.size()) return absl::OkStatus();
    const char c = src_[q];
    if (IsSpace(c) || c == '.' || c == ',' || c == '|' || c == ':' ||
        c == ')' || c == '(' || c == '=' || src_.compare(q, 2, "}}") == 0) {
      return absl::OkStatus();
    }
    return absl::InvalidArgumentError(absl::StrCat(
        Location(name_, src_, q), "bad character ", DescribeChar(c)));
  }

  // A "quoted" or `raw` string at `p`; returns the position after it.
  absl::StatusOr<size_t> Quote(size_t p) {
    const size_t n = src_.size();
    const char q = src_[p];
    std::string val;
    size_t i = p + 1;
    if (q == '`') {
      const size_t close = src_.find('`', i);
      if (close == std::string::npos) {
        return Error(p, "unterminated raw quoted string");
      }
      Emit(Tok::kString, src_.substr(i, close - i), p, close + 1);
      return close + 1;
    }
    for (;; ++i) {
      if (i >= n || src_[i] == '\n') {
        return Error(p, "unterminated quoted string");
      }
      const char c = src_[i];
      if (c == '"') break;
      if (c != '\\') {
        val.push_back(c);
        continue;
      }
      if (++i >= n) return Error(p, "unterminated quoted string");
      switch (src_[i]) {
        case 'n':
          val.push_back('\n');
          break;
        case 't':
          val.push_back('\t');
          break;
        case 'r':
          val.push_back('\r');
          break;
        case '\\':
          val.push_back('\\');
          break;
        case '"':
          val.push_back('"');
          break;
        case '\'':
          val.push_back('\'');
          break;
        default:
          return Error(i - 1, absl::StrFormat("unsupported escape \\%c in "
                                              "quoted string",
                                              src_[i]));
      }
    }
    Emit(Tok::kString, std::move(val), p, i + 1);
    return i + 1;
  }

  const std::string& name_;
  const std::string& src_;
  std::vector<Token> tokens_;
};

// ---------------------------------------------------------------------------
// Parser

bool IsFunction(absl::string_view name) {
  static constexpr absl::string_view kFunctions[] = {
      "and", "or", "not", "len", "index", "eq",      "ne",
      "lt",  "le", "gt",  "ge",  "print", "println", "printf"};
  return std::find(std::begin(kFunctions), std::end(kFunctions), name) !=
         std::end(kFunctions);
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
        if (!IsFunction(t.val)) {
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

// ---------------------------------------------------------------------------
// Executor

enum class Flow { kNormal, kBreak, kContinue };

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
          if (f == nullptr) {
            return Error(absl::StrCat("can't evaluate field ", name,
                                      " in type ", v.TypeName()));
          }
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
      return Error(absl::StrCat("can't evaluate field ", name, " in type ",
                                v.TypeName()));
    }
    return v;
  }

  absl::StatusOr<TemplateValue> Call(const TemplateValue& dot, const Arg& fn,
                                     const Command& cmd,
                                     const TemplateValue* final) {
    RETURN_IF_ERROR(Step());
    const std::string& name = fn.name;
    const size_t n = cmd.args.size() - 1 + (final != nullptr ? 1 : 0);
    auto get = [&](size_t i) -> absl::StatusOr<TemplateValue> {
      if (i + 1 < cmd.args.size()) return EvalArg(dot, cmd.args[i + 1]);
      return *final;
    };
    auto arity = [&](absl::string_view want) {
      At(fn.begin, cmd.end);
      return Error(absl::StrCat("wrong number of args for ", name, ": want ",
                                want, " got ", n));
    };
    if (name == "and" || name == "or") {
      if (n == 0) return arity("at least 1");
      TemplateValue v;
      for (size_t i = 0; i < n; ++i) {
        ASSIGN_OR_RETURN(v, get(i));
        if (v.Truth() != (name == "and")) break;
      }
      return v;
    }
    std::vector<TemplateValue> args;
    args.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      ASSIGN_OR_RETURN(TemplateValue v, get(i));
      args.push_back(std::move(v));
    }
    At(fn.begin, cmd.end);
    if (name == "not") {
      if (n != 1) return arity("1");
      return TemplateValue::Bool(!args[0].Truth());
    }
    if (name == "len") {
      if (n != 1) return arity("1");
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
          return Error(absl::StrCat("error calling len: len of type ",
                                    args[0].TypeName()));
      }
    }
    if (name == "index") {
      if (n < 1) return arity("at least 1");
      return Index(args);
    }
    if (name == "eq" || name == "ne" || name == "lt" || name == "le" ||
        name == "gt" || name == "ge") {
      return Comparison(name, args);
    }
    std::string s;
    if (name == "print" || name == "println") {
      for (size_t i = 0; i < n; ++i) {
        const bool both_non_string =
            i > 0 && args[i].kind() != TemplateValue::Kind::kString &&
            args[i - 1].kind() != TemplateValue::Kind::kString;
        if (i > 0 && (name == "println" || both_non_string)) s.push_back(' ');
        s.append(ArgString(args[i]));
      }
      if (name == "println") s.push_back('\n');
    } else if (name == "printf") {
      if (n < 1) return arity("at least 1");
      if (args[0].kind() != TemplateValue::Kind::kString) {
        return Error(absl::StrCat("wrong type for value; expected string; got ",
                                  args[0].TypeName()));
      }
      s = Sprintf(args[0].string_value(), args);
    } else {
      return Error(absl::StrCat("function \"", name, "\" not defined"));
    }
    if (s.size() > options_.max_output_bytes) {
      return Error(absl::StrCat("string built by ", name,
                                " exceeds the limit of ",
                                options_.max_output_bytes, " bytes"));
    }
    return TemplateValue::String(std::move(s));
  }

  absl::StatusOr<TemplateValue> Index(const std::vector<TemplateValue>& args) {
    TemplateValue item = args[0];
    for (size_t i = 1; i < args.size(); ++i) {
      const TemplateValue& key = args[i];
      switch (item.kind()) {
        case TemplateValue::Kind::kList:
        case TemplateValue::Kind::kString: {
          if (key.kind() != TemplateValue::Kind::kInt) {
            return Error(
                absl::StrCat("error calling index: cannot index slice"
                             "/array with type ",
                             key.TypeName()));
          }
          const size_t size = item.kind() == TemplateValue::Kind::kList
                                  ? item.list_items().size()
                                  : item.string_value().size();
          if (key.int_value() < 0 ||
              static_cast<uint64_t>(key.int_value()) >= size) {
            return Error(
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
            return Error(absl::StrCat(
                "error calling index: value has type ", key.TypeName(),
                "; should be ", item.map_entries().front().first.TypeName()));
          }
          item = e != nullptr ? *e : item.map_zero();
          break;
        }
        case TemplateValue::Kind::kInvalid:
          return Error("error calling index: index of untyped nil");
        default:
          return Error(
              absl::StrCat("error calling index: can't index item of "
                           "type ",
                           item.TypeName()));
      }
    }
    return item;
  }

  absl::StatusOr<TemplateValue> Comparison(
      const std::string& name, const std::vector<TemplateValue>& args) {
    const bool is_eq = name == "eq";
    if (is_eq ? args.size() < 2 : args.size() != 2) {
      return Error(absl::StrCat("wrong number of args for ", name, ": want ",
                                is_eq ? "at least 2" : "2", " got ",
                                args.size()));
    }
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
          return Error(absl::StrCat("error calling ", name,
                                    ": invalid type for comparison"));
        }
        if (a.kind() != b.kind()) {
          return Error(absl::StrCat("error calling ", name,
                                    ": incompatible types for comparison"));
        }
        return Error(absl::StrCat("error calling ", name,
                                  ": invalid type for comparison"));
      }
      if (name == "lt" || name == "le" || name == "gt" || name == "ge") {
        if (a.kind() == TemplateValue::Kind::kBool) {
          return Error(absl::StrCat("error calling ", name,
                                    ": invalid type for comparison"));
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
  static std::string Sprintf(const std::string& format,
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

  const Template::Tree& tree_;
  const TemplateOptions& options_;
  std::string* out_;
  std::vector<std::pair<std::string, TemplateValue>> vars_;
  int64_t steps_ = 0;
  size_t ctx_begin_ = 0, ctx_end_ = 0;
};

}  // namespace

// ---------------------------------------------------------------------------
// Template

absl::StatusOr<Template> Template::Parse(absl::string_view name,
                                         absl::string_view text) {
  auto tree = std::make_shared<Tree>();
  tree->name = std::string(name);
  tree->source = std::string(text);
  Lexer lexer(tree->name, tree->source);
  ASSIGN_OR_RETURN(std::vector<Token> tokens, lexer.Run());
  Parser parser(*tree, std::move(tokens));
  RETURN_IF_ERROR(parser.ParseRoot(&tree->root));
  Template t;
  t.tree_ = std::move(tree);
  return t;
}

absl::StatusOr<std::string> Template::Execute(
    const TemplateValue& data, const TemplateOptions& options) const {
  std::string out;
  if (tree_ == nullptr) return out;
  Executor executor(*tree_, options, data, &out);
  ASSIGN_OR_RETURN(Flow flow, executor.Walk(data, tree_->root));
  (void)flow;
  return out;
}

}  // namespace ia::automation
