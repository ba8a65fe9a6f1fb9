// Go's text/template, hand-written, with Sprig's hermetic text functions:
// the engine of commit message templates (ImageUpdateAutomation
// .spec.git.commit.messageTemplate), which Flux renders with
// text/template.New(...).Funcs(sprig.HermeticTxtFuncMap()).
//
// A Template is parsed once into a tree and executed many times against a
// TemplateValue (template_value.h), a small immutable variant standing in
// for Go's reflected data.
//
// The engine's parts: template_value.{h,cc} (the data), template_lex.{h,cc}
// (tokens), template_parse.cc (the tree, template_tree.h), template_exec.cc
// (the walk), template_functions.{h,cc} (the function table: name,
// parameter types, implementation; Go's builtins), template_fmt.cc (fmt's
// verbs) and template_sprig_*.cc (Sprig's functions, by topic).
//
// The language is Go's: text; {{ pipeline }}; {{- and -}} trimming;
// comments {{/* */}}; . and .Field.Sub; $ and $var.Field; (pipeline).Field;
// string, raw string, character ('a', '\n'), number (as Go reads them: 1,
// -2, 0x1F, 0o17, 017, 0b11, 1_000, 1.5, 1e3, .5, 0x1p4; no complex) bool
// and nil literals; pipelines with |; $x := p and $x = p with Go's scoping;
// if / else if / else; with / else with / else; range over lists, maps
// (sorted keys) and non-negative ints, with one or two variables, else,
// break and continue; define, template and block (with Go's rule that two
// non-empty definitions of a name are an error). Literals are converted to
// the parameter types of the function they are passed to as Go does, and
// other values must have that type ("wrong type for value; expected int;
// got int64"). Builtins: and, or (short-circuit, returning an operand),
// not, len, index, eq (several operands), ne, lt, le, gt, ge (Go 1.18+
// rules: numbers of one kind, strings; "incompatible types for
// comparison"), print, println, printf (fmt verbs, flags, width,
// precision), html, js, urlquery. Not supported: call, methods with
// arguments, complex numbers. Sprig's functions: every one of
// sprig.HermeticTxtFuncMap() but the date/time ones (duration is there),
// the random and crypto ones and urlParse/urlJoin (a template using one fails
// to parse, naming it).
//
// Semantics follow Go: a missing map key read as .Key yields the invalid
// value and prints "<no value>"; `index` of a missing key yields the map's
// zero value; an unknown struct field is an execution error "can't evaluate
// field X in type T"; `range` over nil is zero iterations; `range` over a
// string, bool or struct is an error; fmt's %v prints maps as map[k:v ...]
// in key order, lists as [a b], nil inside them as <nil>, floats in their
// shortest form (1e+06, 0.5).
//
// Errors: parse errors name the line as Go does (`template: NAME:3:
// unexpected "}" in operand`); execution errors the line, the column
// (bytes from 0, as Go counts) and the action (`template: NAME:3:7:
// executing "NAME" at <.Foo>: ...`).
//
// Safety: a template can never hang, crash or exhaust memory. Parsing is
// bounded in nesting depth (kMaxTemplateDepth); {{template}} calls in depth
// (kMaxTemplateCallDepth, so a recursive template stops with "exceeded
// maximum template depth"); execution by TemplateOptions: output bytes,
// steps (nodes walked, loop iterations and function calls, all counted),
// and the size of any string, list or map a function builds.
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

// Deepest nesting of if/with/range/define/block and parentheses a template
// may use.
inline constexpr int kMaxTemplateDepth = 64;

// Deepest chain of {{template}} calls an execution may make (Go allows
// 100000; a recursive template stops here with Go's words).
inline constexpr int kMaxTemplateCallDepth = 100;

struct TemplateOptions {
  // Output longer than this fails the execution.
  size_t max_output_bytes = 1 << 20;
  // Nodes walked, loop iterations and function calls, all counted.
  int64_t max_steps = 1'000'000;
};

// A parsed template.
class Template {
 public:
  // Parses `text`. `name` appears in errors, as in Go: `template: NAME:3:
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
