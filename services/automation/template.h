// A hand-written subset of Go's text/template, for commit message templates
// (ImageUpdateAutomation .spec.git.commit.messageTemplate).
//
// A Template is parsed once into a tree and executed many times against a
// TemplateValue (template_value.h), a small immutable variant standing in
// for Go's reflected data.
//
// The engine's parts: template_value.{h,cc} (the data), template_lex.{h,cc}
// (tokens), template_parse.cc (the tree, template_tree.h), template_exec.cc
// (the walk) and template_functions.{h,cc} (the function table: name, arity,
// implementation).
//
// Supported syntax: text; {{ pipeline }}; {{- and -}} trimming (the dash must
// be followed / preceded by a space, tab or newline; all adjacent spaces,
// tabs, CRs and newlines are trimmed); comments {{/* */}}; . and .Field.Sub;
// $ (the data), $var, $var.Field; (pipeline).Field; string, raw string,
// integer, bool and nil literals; pipelines with |; declarations $x := p and
// assignments $x = p with Go's scoping (if, with and range open a scope; a
// range body's declarations are reset on each iteration); {{ if }} / {{ else
// if }} / {{ else }} / {{ end }} with Go truthiness; {{ with }} / {{ else with
// }} / {{ else }}; {{ range p }}, {{ range $v := p }}, {{ range $k, $v := p }}
// over lists, maps (sorted keys) and non-negative ints, with {{ else }},
// {{ break }} and {{ continue }}. Functions: and, or (short-circuit, return an
// operand as Go does), not, len, index, eq, ne, lt, le, gt, ge, print,
// println, printf (verbs %s %v %d %q %t %%).
// Not supported: define/template/block, method calls with arguments, floats,
// character literals, html/js/urlquery/call/slice, Sprig functions.
//
// Semantics follow Go: a missing map key read as .Key yields the invalid
// value and prints "<no value>"; `index` of a missing key yields the map's
// zero value; an unknown struct field is an execution error "can't evaluate
// field X in type T"; `range` over nil is zero iterations; `range` over a
// string, bool or struct is an error.
//
// Safety: parsing is bounded in nesting depth (kMaxTemplateDepth) so neither
// parse nor execution recursion can be driven deep by the template; execution
// is bounded by TemplateOptions (output bytes, evaluation steps, and the size
// of any string built by print/printf), so a hostile template ends in an
// error, never in a crash or runaway memory.
//
// Thread-safety: TemplateValue and Template are immutable after construction;
// Execute is const and may be called from many threads at once.
#ifndef SERVICES_AUTOMATION_TEMPLATE_H_
#define SERVICES_AUTOMATION_TEMPLATE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/automation/template_value.h"

namespace ia::automation {

// Deepest nesting of if/with/range and parentheses a template may use.
inline constexpr int kMaxTemplateDepth = 64;

struct TemplateOptions {
  // Output longer than this fails the execution.
  size_t max_output_bytes = 1 << 20;
  // Nodes walked, loop iterations and function calls, all counted.
  int64_t max_steps = 1'000'000;
};

// A parsed template.
class Template {
 public:
  // Parses `text`. `name` appears in errors, as in Go: `template: NAME:3:7:
  // unexpected "}" in operand`. INVALID_ARGUMENT on any syntax error,
  // undefined variable or function, or nesting deeper than
  // kMaxTemplateDepth.
  static absl::StatusOr<Template> Parse(absl::string_view name,
                                        absl::string_view text);

  // Renders against `data` (which is `.` and `$` at the start). On an
  // execution error (bad field, wrong function arguments, range over a
  // non-iterable, a limit of `options` reached) returns INVALID_ARGUMENT
  // with a message like Go's: `template: NAME:3:7: executing "NAME" at
  // <.Foo>: can't evaluate field Foo in type T`.
  absl::StatusOr<std::string> Execute(
      const TemplateValue& data, const TemplateOptions& options = {}) const;

  struct Tree;  // Defined in template_tree.h.

 private:
  std::shared_ptr<const Tree> tree_;
};

// A field that Execute could not find: the type as errors name it
// ("source.TemplateData") and the field ("Updated").
struct MissingField {
  std::string type;
  std::string field;
};

// The field an Execute error is about when it is "can't evaluate field X in
// type T" (carried as a payload, not read from the message); nullopt for any
// other status.
std::optional<MissingField> MissingFieldOf(const absl::Status& status);

}  // namespace ia::automation

#endif  // SERVICES_AUTOMATION_TEMPLATE_H_
