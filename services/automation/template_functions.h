// The functions a template may call (template.h), as one table: each entry
// a name, an arity and an implementation. The parser accepts exactly the
// names in the table; the executor checks the arity, evaluates the
// arguments and calls the implementation. Today the table holds Go's
// text/template builtins that the engine supports (and, or, not, len, index,
// eq, ne, lt, le, gt, ge, print, println, printf); a new function is one
// implementation and one row. Internal to the template engine.
//
// Thread-safety: the table is immutable; implementations are pure
// functions and may be called from many threads at once.
#ifndef SERVICES_AUTOMATION_TEMPLATE_FUNCTIONS_H_
#define SERVICES_AUTOMATION_TEMPLATE_FUNCTIONS_H_

#include <cstddef>
#include <string>
#include <vector>

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
};

// A function's evaluated arguments in; its value out. On failure an
// INVALID_ARGUMENT whose message is Go's bare text (e.g. "error calling
// len: len of type int"): the executor adds the location and context.
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

struct TemplateFunction {
  absl::string_view name;
  // The arity: exactly min_args, or at least min_args when variadic. A call
  // with another count fails with Go's "wrong number of args for NAME: want
  // 2 got 1" (or "want at least 1").
  size_t min_args = 0;
  bool variadic = false;
  ArgEvaluation evaluation = ArgEvaluation::kAll;
  TemplateFunctionImpl impl = nullptr;
};

// Every function, in the order of the table.
absl::Span<const TemplateFunction> TemplateFunctions();

// The function called `name`; nullptr when there is none.
const TemplateFunction* FindTemplateFunction(absl::string_view name);

// Whether `count` arguments fit `function`'s arity.
bool ArityAccepts(const TemplateFunction& function, size_t count);

// Go's description of the arity for its error: "1", "at least 2".
std::string ArityText(const TemplateFunction& function);

}  // namespace ia::automation::template_internal

#endif  // SERVICES_AUTOMATION_TEMPLATE_FUNCTIONS_H_
