// The functions a template may call (template.h), as one table: each entry
// a name, its parameter types (Go's signature, which decides how
// text/template converts and checks each argument), how its arguments are
// evaluated and an implementation. The parser accepts exactly the names in
// the table; the executor checks the arity, evaluates and converts the
// arguments and calls the implementation. The table holds Go's
// text/template builtins (template_functions.cc) and Sprig's hermetic text
// functions (template_sprig_*.cc); a new function is one implementation and
// one row.
//
// Thread-safety: the table is immutable; implementations are pure
// functions (but randInt and shuffle, which draw from a generator of the
// calling thread's own) and may be called from many threads at once.
#ifndef SERVICES_AUTOMATION_TEMPLATE_FUNCTIONS_H_
#define SERVICES_AUTOMATION_TEMPLATE_FUNCTIONS_H_

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "services/automation/template_value.h"

namespace ia::automation::template_internal {

// What an implementation may consult besides its arguments.
struct CallContext {
  // The name the function was called by (one implementation may serve
  // several names, as the comparisons do).
  absl::string_view name;
  // The longest string a function may build
  // (TemplateOptions::max_output_bytes).
  size_t max_string_bytes = 0;
  // The most items a list or map a function builds may hold
  // (TemplateOptions::max_steps).
  size_t max_items = 0;
};

// A function's evaluated and converted arguments in; its value out. On
// failure an INVALID_ARGUMENT whose message is what Go's function returns
// or panics with (e.g. "len of type int"): the executor makes it "error
// calling len: len of type int" and adds the location and context.
using TemplateFunctionImpl = absl::StatusOr<TemplateValue> (*)(
    const std::vector<TemplateValue>& args, const CallContext& context);

// How the executor evaluates a call's arguments.
enum class ArgEvaluation {
  // All of them, left to right, before the arity check and the call.
  kAll,
  // Left to right, stopping after the first false one (Go's `and`); the
  // arity is checked first. The implementation gets those evaluated.
  kUntilFalse,
  // Left to right, stopping after the first true one (Go's `or`).
  kUntilTrue,
};

// The Go type of a parameter, one character each in TemplateFunction::params:
//   v  reflect.Value (the builtins): any value, the invalid one included
//   a  interface{}: any value; nil and a missing value arrive invalid
//   s  string     i  int     I  int64     f  float64     b  bool
//   m  map[string]interface {}            S  []string
// A literal argument is converted to the parameter's type as Go does (a
// number literal for `i` is an int, for `f` a float64, for `a` whatever
// the literal reads as); any other value must already have that type, else
// Go's "wrong type for value; expected string; got int".
std::string ParamTypeName(char param);

struct TemplateFunction {
  absl::string_view name;
  // One character per parameter (see ParamTypeName). When variadic, the
  // last one may repeat any number of times (Go's ...T). A call with
  // another count fails with Go's "wrong number of args for NAME: want 2
  // got 1" (or "want at least 1").
  absl::string_view params;
  bool variadic = false;
  TemplateFunctionImpl impl = nullptr;
  ArgEvaluation evaluation = ArgEvaluation::kAll;

  // The number of fixed parameters.
  size_t min_args() const { return params.size() - (variadic ? 1 : 0); }
  // The type of argument `i`.
  char param(size_t i) const {
    return i < params.size() ? params[i] : params.back();
  }
};

// The rows of each part of the table (the builtins here, Sprig's by
// topic in template_sprig_*.cc).
absl::Span<const TemplateFunction> BuiltinFunctions();
absl::Span<const TemplateFunction> SprigStringFunctions();
absl::Span<const TemplateFunction> SprigListFunctions();
absl::Span<const TemplateFunction> SprigValueFunctions();
absl::Span<const TemplateFunction> SprigEncodingFunctions();
absl::Span<const TemplateFunction> SprigNameFunctions();
absl::Span<const TemplateFunction> SprigJsonFunctions();
absl::Span<const TemplateFunction> SprigCryptoFunctions();
absl::Span<const TemplateFunction> SprigUrlFunctions();

// Every function, in the order of the table.
std::vector<const TemplateFunction*> TemplateFunctions();

// The function called `name`; nullptr when there is none.
const TemplateFunction* FindTemplateFunction(absl::string_view name);

// Whether `count` arguments fit `function`'s arity.
bool ArityAccepts(const TemplateFunction& function, size_t count);

// Go's description of the arity for its error: "1", "at least 2".
std::string ArityText(const TemplateFunction& function);

// Helpers for implementations.

// A string a function built, or an error when it exceeds the limit.
absl::StatusOr<TemplateValue> BuiltString(std::string s,
                                          const CallContext& context);

// An error that `size` more bytes (or items) would exceed the limit.
absl::Status CheckBuildSize(size_t size, size_t limit,
                            const CallContext& context);

// Go's strconv.Quote: `"a\"b\n"` with \x, \u escapes for what is not
// printable.
std::string GoQuote(absl::string_view s);

// fmt's %v of one operand: nil prints "<nil>".
std::string FmtValue(const TemplateValue& v);

// fmt.Sprintf(format, args[first:]...) for the verbs v s d q t x X o b c e
// E f F g G T and %%, with the flags - + space 0 # and width and precision
// (not * or argument indexes), and fmt's %!verb(type=value), %!v(MISSING)
// and %!(EXTRA ...) for mismatches. An error when the result would exceed
// `max_bytes`.
absl::StatusOr<std::string> GoSprintf(const std::string& format,
                                      const std::vector<TemplateValue>& args,
                                      size_t first, size_t max_bytes);

// A list of Go type []interface {} and a map of Go type
// map[string]interface {} (Sprig's list and dict).
TemplateValue AnyList(std::vector<TemplateValue> items);
TemplateValue AnyMap(std::vector<std::pair<TemplateValue, TemplateValue>> e);
TemplateValue StringList(const std::vector<std::string>& items);

}  // namespace ia::automation::template_internal

#endif  // SERVICES_AUTOMATION_TEMPLATE_FUNCTIONS_H_
