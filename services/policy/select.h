// Tag selection: the decision an ImagePolicy makes over a repository's tags,
// as Flux's image-reflector-controller makes it (policy semver, alphabetical
// or numerical, after filterTags), as pure functions: tags in, tag out.
//
// filterTags: the RE2 pattern is unanchored; a tag is a candidate when it
// matches, and its value is `extract` expanded from the leftmost match as Go's
// Regexp.Expand does (expand.h), or the tag itself when extract is empty. The
// policy orders the values and returns the original tag. Compile refuses an
// extract that refers to a group the pattern does not define.
//
// Policies:
//   semver{range}      the highest version (semver.h) among values that are
//                      versions and satisfy the range.
//   alphabetical{order} byte order of values; asc picks the last, desc the
//                      first.
//   numerical{order}   every value must parse as a Go float64 (ParseGoFloat);
//                      asc picks the largest, desc the smallest.
//
// Ties follow Flux's code given the order of `tags` (Flux hands its policies
// the tags as its database stores them: sorted in descending byte order, see
// services/policy/decide.h):
//   semver        the first of equal versions ("1.2.4" before "v1.2.4" gives
//                 "1.2.4"; build metadata is ignored).
//   numerical     Flux's scan: each value replaces the one kept unless it is
//                 strictly worse, so the last of equal numbers wins ("15.0"
//                 then "15" gives "15"); NaN, which Go accepts and which
//                 compares false with everything, always replaces the kept
//                 value and is replaced by the next one.
//   alphabetical  no ties: values are distinct (below).
//   extract       each extracted value stands for the last tag that produced
//                 it (Flux keeps a map from value to tag), placed where the
//                 value first appeared.
//   filterTags    Flux hands the values (extracted or not) to the policy in
//                 Go's map order, which is random; keeping them in input
//                 order is our choice, so that the answer is stable.
//
// Errors: INVALID_ARGUMENT for a bad spec only (no or several policies, bad
// order, range, regex or extract reference; the message names the field and
// quotes the value); NOT_FOUND when no tag
// qualifies (no tags, no tag matched the filter, nothing in the range);
// FAILED_PRECONDITION when the numerical policy meets a value that is not a
// number (the message names the tag), as Flux fails the policy then.
//
// minAge (our extension, spec.minAge): SelectMatured first drops the tags
// the reflector has known for less than minAge (first seen after now -
// minAge), then selects as Select does; it also says which tag is held back
// (the one Select would pick without minAge) and when the selection may next
// change as tags mature, so that the caller can look again then. Select
// itself ignores minAge (there are no times), as Policy.Evaluate and
// `imagectl select` do.
//
// CompiledPolicy is immutable after Compile: thread-safe for concurrent
// Select calls. The free functions are thread-safe.
#ifndef SERVICES_POLICY_SELECT_H_
#define SERVICES_POLICY_SELECT_H_

#include <re2/re2.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/objects.h"
#include "common/semver.h"

namespace ia::policy {

// What SelectMatured decided.
struct MaturedSelection {
  // Select's answer over the tags old enough for minAge. When none of them
  // qualifies, NOT_FOUND; its message then also names the held-back tag.
  absl::StatusOr<std::string> tag;
  // The tag Select would pick without minAge when that is not `tag` (it is
  // too young), and when it becomes old enough; "" and InfiniteFuture when
  // nothing is held back.
  std::string held_back;
  absl::Time held_back_until = absl::InfiniteFuture();
  // The earliest time at which a tag too young now, which would change the
  // answer (preferred over `tag`, or the first to qualify at all), becomes
  // old enough; InfiniteFuture when no such tag.
  absl::Time next_change = absl::InfiniteFuture();
};

// A spec's policy, filter and minAge, checked and compiled once.
class CompiledPolicy {
 public:
  // Compiles spec.policy, spec.filterTags and spec.minAge (other fields are
  // ignored). INVALID_ARGUMENT naming the field when the spec is not usable.
  static absl::StatusOr<CompiledPolicy> Compile(
      const v1::ImagePolicySpec& spec);

  // Selects from `tags` (see the file comment). Returns the original tag.
  // minAge is not applied.
  absl::StatusOr<std::string> Select(
      const std::vector<std::string>& tags) const;

  // Selects from the tags known for at least minAge at `now`: tags[i] was
  // first seen at first_seen[i] (the vectors have the same size). Without
  // minAge (unset or 0) the same as Select, with nothing held back.
  MaturedSelection SelectMatured(const std::vector<std::string>& tags,
                                 const std::vector<absl::Time>& first_seen,
                                 absl::Time now) const;

  // spec.minAge (zero when unset), and as written.
  absl::Duration min_age() const { return min_age_; }
  const std::string& min_age_text() const { return min_age_text_; }

 private:
  enum class Kind { kSemver, kAlphabetical, kNumerical };

  CompiledPolicy() = default;

  // Picks among `count` candidates (count > 0) by the policy and the tie
  // rules (file comment); returns the winner's index. value_of(i) is what
  // the policy orders (absl::string_view), tag_of(i) the original tag
  // (const std::string&, for messages). With `merge_equal_values`, a value
  // that repeats counts once, at its first appearance (the winner is that
  // appearance); UNIMPLEMENTED when a numerical policy meets NaN then, for
  // the caller to merge the values itself. Defined and used in select.cc.
  template <typename ValueOf, typename TagOf>
  absl::StatusOr<size_t> Choose(size_t count, const ValueOf& value_of,
                                bool merge_equal_values,
                                const TagOf& tag_of) const;

  Kind kind_ = Kind::kSemver;
  bool ascending_ = true;
  std::optional<SemverRange> range_;
  std::shared_ptr<const re2::RE2> filter_;  // null: no filterTags
  std::string extract_;
  absl::Duration min_age_ = absl::ZeroDuration();
  std::string min_age_text_;
};

// A time as status messages write it: RFC 3339 in UTC, to the second.
std::string FormatStatusTime(absl::Time t);

// Compile + Select in one call: what Policy.Evaluate and `imagectl select`
// use.
absl::StatusOr<std::string> SelectTag(const v1::ImagePolicySpec& spec,
                                      const std::vector<std::string>& tags);

// OK when Compile accepts `spec`: the ImagePolicy checks of the code that
// interprets them (policy, filterTags pattern and extract, minAge), run on
// Apply after common/validation.h. INVALID_ARGUMENT "<field>: <problem>",
// e.g. "spec.filterTags.extract: \"$ts\" refers to group \"ts\", which the
// pattern does not define".
absl::Status ValidatePolicySpec(const v1::ImagePolicySpec& spec);

// Parses `s` as Go's strconv.ParseFloat(s, 64) does: decimal and hexadecimal
// (0x...p...) floats with an optional sign, '_' between digits, "inf",
// "infinity" (signed or not) and "nan", case-insensitive. nullopt on a syntax
// error or when the value overflows float64 (Go's ErrRange).
std::optional<double> ParseGoFloat(absl::string_view s);

}  // namespace ia::policy

#endif  // SERVICES_POLICY_SELECT_H_
