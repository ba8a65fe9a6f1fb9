// The parse tree of a Template (template.h), shared by the parser
// (template_parse.cc) that builds it and the executor (template_exec.cc)
// that walks it, and Go's error location prefix both use. Internal to the
// template engine.
//
// Thread-safety: a Tree is immutable once parsed and may be walked from many
// threads at once.
#ifndef SERVICES_AUTOMATION_TEMPLATE_TREE_H_
#define SERVICES_AUTOMATION_TEMPLATE_TREE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/automation/template.h"
#include "services/automation/template_value.h"

namespace ia::automation {
namespace template_internal {

enum class ArgKind { kDot, kField, kVariable, kFunction, kLiteral, kPipe };

struct Pipeline;

// Which literal an Arg of kind kLiteral is: Go converts a literal to the
// type of the parameter it is passed for, by what it is.
enum class LiteralKind { kBool, kString, kNumber, kNil };

// A number constant as Go's parser reads one (parse.NumberNode): which
// types it can be, and its value as each.
struct NumberConst {
  bool is_int = false;   // Fits int64.
  bool is_uint = false;  // Fits uint64.
  bool is_float = false;
  int64_t int_value = 0;
  double float_value = 0;
  // Where no parameter type says (interface{} or a command alone), Go makes
  // it a float64 (when written with . e E p P and not a hex integer or a
  // character) or an int; `ideal_overflows` when it is only a uint64.
  bool ideal_float = false;
  bool ideal_overflows = false;
};

// A number constant as parse.newNumber reads `text` (a number token of the
// lexer); INVALID_ARGUMENT with Go's words ("illegal number syntax: \"0x\"",
// "integer overflow: \"09\"") when it is none.
absl::StatusOr<NumberConst> ParseNumber(absl::string_view text);

// strconv.ParseFloat(s, 64) for numbers (decimal or hex with a p exponent,
// underscores between digits); nullopt when it fails or overflows. The
// words Inf and NaN are not read here.
std::optional<double> ParseGoFloat(absl::string_view s);

// An operand: `.`, `.A.B`, `$x.A`, `fn`, a literal or `(pipeline).A`.
struct Arg {
  ArgKind kind = ArgKind::kLiteral;
  std::string name;                 // "$x" or the function's name.
  std::vector<std::string> fields;  // The field chain that follows.
  // For a literal: its value where no parameter type says (Go's
  // idealConstant for a number; the invalid value for nil), and what it is.
  TemplateValue literal;
  LiteralKind literal_kind = LiteralKind::kBool;
  NumberConst number;
  bool is_nil = false;
  std::shared_ptr<const Pipeline> pipe;
  size_t begin = 0, end = 0;  // Source span, for error context.
  // Where errors about it point: `begin`, or for a chain of fields (.A.B,
  // $x.A, (p).A) the second field, as Go's parser places a chain.
  size_t pos = 0;
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

enum class NodeKind {
  kText,
  kAction,
  kIf,
  kWith,
  kRange,
  kBreak,
  kContinue,
  kTemplate,  // {{template "name" pipeline}} (and the call of a block).
};

struct Node {
  NodeKind kind = NodeKind::kText;
  std::string text;  // The text; for kTemplate, the template's name.
  Pipeline pipe;
  std::vector<Node> list;
  std::vector<Node> else_list;
  size_t begin = 0, end = 0;
};

// Go's "template: NAME:LINE:COL: " prefix of execution errors for a byte
// offset of `source` (COL counts bytes from 0, as Go's ErrorContext does).
std::string Location(const std::string& name, const std::string& source,
                     size_t offset);

// Go's "template: NAME:LINE: " prefix of parse errors.
std::string LineLocation(const std::string& name, const std::string& source,
                         size_t offset);

using NodeList = std::vector<Node>;

}  // namespace template_internal

struct Template::Tree {
  std::string name;
  std::string source;
  // Every template by name: the top-level one under `name` (unless it is
  // empty and a {{define}} of that name replaced it, as in Go), and each
  // {{define}} and {{block}}.
  std::map<std::string, std::shared_ptr<const template_internal::NodeList>>
      templates;
};

}  // namespace ia::automation

#endif  // SERVICES_AUTOMATION_TEMPLATE_TREE_H_
