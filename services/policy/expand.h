// The `extract` template of spec.filterTags, read as Go's Regexp.Expand
// reads a template (regexp.extract): the one parser of that grammar, used
// both to expand a match (selection) and to check, on Apply, that every
// reference names a group the pattern defines.
//
// Grammar: `$$` is a literal '$'; `$name` takes the longest run of letters,
// digits and '_' (Unicode letters and decimal digits, as Go); `${name}` the
// braced name (it must be such a run, closed by '}'); a '$' followed by
// anything else is literal text. A name is a group number only when it is
// all ASCII digits, below 1e8 and without a leading zero ("01" is the NAME
// "01", not group 1); otherwise it names a named group.
//
// Pure functions; thread-safe.
#ifndef SERVICES_POLICY_EXPAND_H_
#define SERVICES_POLICY_EXPAND_H_

#include <re2/re2.h>

#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ia::policy {

// One `$` reference of a template.
struct TemplateReference {
  // As written, e.g. "$1", "${ts}".
  absl::string_view text;
  // The name inside, e.g. "1", "ts".
  absl::string_view name;
  // The group number when `name` is one (see the file comment), else -1.
  int number = -1;
};

// Walks `tmpl` from left to right, calling `literal` with each run of
// literal text (a "$$" yields "$") and `reference` with each reference.
void ParseTemplate(absl::string_view tmpl,
                   absl::FunctionRef<void(absl::string_view)> literal,
                   absl::FunctionRef<void(const TemplateReference&)> reference);

// The group of `re` a reference means: its number, or the number of the
// named group; -1 when `re` defines no such group.
int GroupOf(const RE2& re, const TemplateReference& ref);

// OK when every reference of `tmpl` names a group `re` defines. Otherwise
// INVALID_ARGUMENT about the first one that does not, e.g.
//   "$ts" refers to group "ts", which the pattern does not define
// (a reference to a missing group would expand to "" for every tag).
absl::Status CheckTemplateReferences(const RE2& re, absl::string_view tmpl);

// Appends to `out` the expansion of `tmpl` for a match of `re` whose groups
// are `groups` (groups[0] the whole match; a group whose data() is null did
// not participate; re2::StringPiece, which Debian's RE2 does not alias to
// absl::string_view), as Go's Regexp.Expand: a reference to an unknown
// group or to a group that did not match expands to "".
void ExpandTemplate(const RE2& re, absl::string_view tmpl,
                    const std::vector<re2::StringPiece>& groups,
                    std::string* out);

}  // namespace ia::policy

#endif  // SERVICES_POLICY_EXPAND_H_
