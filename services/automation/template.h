// A hand-written subset of Go's text/template, for commit message templates
// (ImageUpdateAutomation .spec.git.commit.messageTemplate).
//
// A Template is parsed once into a tree and executed many times against a
// TemplateValue, a small immutable variant standing in for Go's reflected
// data: nil ("<no value>"), bool, int, string, list, map (entries kept sorted
// by key, as Go's text/template and fmt visit them) and struct (named fields,
// optionally embedded, optionally "method" fields that are callable but not
// printed, and an optional String() form).
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
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ia::automation {

struct TemplateField;

// A value the template can read. Cheap to copy (composites share their
// immutable contents).
class TemplateValue {
 public:
  enum class Kind { kInvalid, kBool, kInt, kString, kList, kMap, kStruct };

  // The invalid value: Go's "no value" (a missing key, an unset interface).
  TemplateValue() = default;

  static TemplateValue Bool(bool b);
  static TemplateValue Int(int64_t i);
  static TemplateValue String(std::string s);
  // `type_name` is the Go type shown in errors, e.g. "[]update.Change".
  static TemplateValue List(std::vector<TemplateValue> items,
                            std::string type_name = "[]interface {}");
  // Entries are sorted by key (Compare); for equal keys the last one wins.
  // `zero` is what `index` returns for a missing key (Go's zero value of
  // the element type).
  static TemplateValue Map(
      std::vector<std::pair<TemplateValue, TemplateValue>> entries,
      TemplateValue zero, std::string type_name);
  // A Go map[string]string.
  static TemplateValue StringMap(const std::map<std::string, std::string>& m);
  // A struct. `string_form`, when set, is what fmt would print through the
  // type's String() method (e.g. types.NamespacedName -> "namespace/name").
  static TemplateValue Struct(std::string type_name,
                              std::vector<TemplateField> fields,
                              std::optional<std::string> string_form = {});

  Kind kind() const { return kind_; }
  bool is_valid() const { return kind_ != Kind::kInvalid; }
  bool bool_value() const { return bool_; }
  int64_t int_value() const { return int_; }
  const std::string& string_value() const;
  const std::vector<TemplateValue>& list_items() const;
  const std::vector<std::pair<TemplateValue, TemplateValue>>& map_entries()
      const;
  const std::vector<TemplateField>& struct_fields() const;
  // Go's zero value of a map's element type (invalid for other kinds).
  const TemplateValue& map_zero() const;

  // The Go type name: "string", "int", "bool", "<nil>" or the composite's.
  std::string TypeName() const;

  // Looks a field up by name, through embedded structs (Go's promotion).
  // nullptr when this is not a struct or has no such field.
  const TemplateValue* FindField(absl::string_view name) const;
  // Looks a map key up; nullptr when absent or this is not a map.
  const TemplateValue* FindKey(const TemplateValue& key) const;

  // Go's truthiness: false, 0, "", empty list or map, and nil are false.
  bool Truth() const;

  // What fmt.Sprint (%v) prints; the invalid value prints "<no value>" at
  // the top level and "<nil>" inside a composite, as text/template does.
  std::string ToString() const;

  // A total order matching Go's fmtsort for the kinds used as map keys:
  // bools false < true, ints numerically, strings bytewise, structs field
  // by field; different kinds order by Kind. Returns <0, 0 or >0.
  static int Compare(const TemplateValue& a, const TemplateValue& b);

 private:
  struct Composite;
  void AppendTo(std::string* out, bool top) const;

  Kind kind_ = Kind::kInvalid;
  bool bool_ = false;
  int64_t int_ = 0;
  std::shared_ptr<const std::string> string_;
  std::shared_ptr<const Composite> composite_;
};

// A named struct field. An `embedded` struct field's own fields are
// reachable directly (Go's promoted fields). A `method` field stands for a
// Go method without arguments (e.g. Result.Objects): it can be read but is
// not part of the struct's printed form.
struct TemplateField {
  std::string name;
  TemplateValue value;
  bool embedded = false;
  bool method = false;
};

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

  struct Tree;  // Defined in template.cc.

 private:
  std::shared_ptr<const Tree> tree_;
};

}  // namespace ia::automation

#endif  // SERVICES_AUTOMATION_TEMPLATE_H_
