// Tag selection: the decision an ImagePolicy makes over a repository's tags,
// as Flux's image-reflector-controller makes it (policy semver, alphabetical
// or numerical, after filterTags), as pure functions: tags in, tag out.
//
// filterTags: the RE2 pattern is unanchored; a tag is a candidate when it
// matches, and its value is `extract` expanded from the leftmost match as Go's
// Regexp.Expand does (ExpandTemplate), or the tag itself when extract is
// empty. The policy orders the values and returns the original tag.
//
// Policies:
//   semver{range}      the highest version (semver.h) among values that are
//                      versions and satisfy the range.
//   alphabetical{order} byte order of values; asc picks the last, desc the
//                      first.
//   numerical{order}   every value must parse as a Go float64 (ParseGoFloat);
//                      asc picks the largest, desc the smallest. NaN (which Go
//                      accepts) is never preferred over a number.
//
// Ties (Flux leaves them to Go's map order): when candidates are equal for
// the policy (the same version, e.g. "v1.0.0" and "1.0.0" or differing build
// metadata; the same extracted value; numbers that are equal), the tag that
// is greatest in byte order wins, whatever the order of the input.
//
// Errors: INVALID_ARGUMENT for a bad spec only (no or several policies, bad
// order, range or regex; the message quotes it); NOT_FOUND when no tag
// qualifies (no tags, no tag matched the filter, nothing in the range);
// FAILED_PRECONDITION when the numerical policy meets a value that is not a
// number (the message names the tag), as Flux fails the policy then.
//
// CompiledPolicy is immutable after Compile: thread-safe for concurrent
// Select calls. The free functions are thread-safe.
#ifndef SERVICES_POLICY_SELECT_H_
#define SERVICES_POLICY_SELECT_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/objects.h"
#include "services/policy/semver.h"

#include <re2/re2.h>

namespace ia::policy {

// A spec's policy and filter, checked and compiled once.
class CompiledPolicy {
 public:
  // Compiles spec.policy and spec.filterTags (other fields are ignored).
  // INVALID_ARGUMENT naming the field when the spec is not usable.
  static absl::StatusOr<CompiledPolicy> Compile(const v1::ImagePolicySpec& spec);

  // Selects from `tags` (see the file comment). Returns the original tag.
  absl::StatusOr<std::string> Select(const std::vector<std::string>& tags) const;

 private:
  enum class Kind { kSemver, kAlphabetical, kNumerical };

  CompiledPolicy() = default;

  Kind kind_ = Kind::kSemver;
  bool ascending_ = true;
  std::optional<SemverRange> range_;
  std::shared_ptr<const re2::RE2> filter_;  // null: no filterTags
  std::string extract_;
};

// Compile + Select in one call: what Policy.Evaluate and `imagectl select`
// use.
absl::StatusOr<std::string> SelectTag(const v1::ImagePolicySpec& spec,
                                      const std::vector<std::string>& tags);

// OK when Compile accepts `spec`: for validation at Apply time.
absl::Status ValidatePolicySpec(const v1::ImagePolicySpec& spec);

// Appends to `out` the expansion of `tmpl` for a match of `re` whose groups
// are `groups` (groups[0] the whole match; a group whose data() is null did
// not participate; re2::StringPiece, which Debian's RE2 does not alias to
// absl::string_view), as Go's Regexp.Expand: `$$` is '$'; `$name` takes the
// longest run of letters, digits and '_'; `${name}` the braced name; a name
// of digits without a leading zero is a group number; an unknown name or a
// group that did not match expands to ""; a '$' not followed by a valid
// reference is kept as is.
void ExpandTemplate(const re2::RE2& re, absl::string_view tmpl,
                    const std::vector<re2::StringPiece>& groups,
                    std::string* out);

// Parses `s` as Go's strconv.ParseFloat(s, 64) does: decimal and hexadecimal
// (0x...p...) floats with an optional sign, '_' between digits, "inf",
// "infinity" (signed or not) and "nan", case-insensitive. nullopt on a syntax
// error or when the value overflows float64 (Go's ErrRange).
std::optional<double> ParseGoFloat(absl::string_view s);

}  // namespace ia::policy

#endif  // SERVICES_POLICY_SELECT_H_
