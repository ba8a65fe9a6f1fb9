// Semantic versions and version ranges, with the rules of Masterminds/semver
// v3.4+ (the library Flux's image-reflector-controller uses), hand-written.
//
// A tag is a version under Flux v1.2's rule (fluxcd/pkg/version ParseVersion
// v0.16, then Masterminds' loose NewVersion): it holds at least two dots
// (strings.SplitN(tag, ".", 3) gives three parts) and the whole tag reads as
// v?MAJOR(.MINOR)?(.PATCH)?(-PRE)?(+BUILD)? with one optional leading "v";
// MAJOR, MINOR and PATCH are digits (leading zeros allowed, within uint64; a
// missing one is 0); PRE and BUILD are non-empty dot-separated identifiers of
// [0-9A-Za-z-], and a numeric PRE identifier has no leading zero. So
// "v2025.07.03", "1.02.3", "1.2-rc.1" (1.2.0-rc.1) and "1.2+3.4" are
// versions; "1.2", "1.0.0.1", "1.2.3-01" and "V1.2.3" are not.
//
// Precedence is SemVer 2.0's as Masterminds implements it: build metadata is
// ignored; a prerelease is lower than its release; prerelease identifiers
// compare numerically when both are numeric (and fit in uint64, else they
// count as alphanumeric, as in Masterminds), a numeric one is lower than an
// alphanumeric one, alphanumeric ones compare in byte order (so "rc9" >
// "rc10"), and a shorter list of equal identifiers is lower.
//
// A range is what Masterminds.NewConstraint accepts, with its quirks:
// comparators `= != > < >= <= => =< ~ ~> ^` or none (meaning `=`), joined by
// spaces or commas (AND) and `||` (OR); partial versions and `x`/`X`/`*`
// wildcards (`1`, `1.2`, `1.2.x`, `*`); hyphen ranges `A - B` (rewritten to
// `>= A, <= B`); `^` with the 0.x rules (^0.2.3 := >=0.2.3 <0.3.0, ^0.0.3 :=
// >=0.0.3 <0.0.4, ^0.0 := >=0.0.0 <0.1.0, ^0 := >=0.0.0 <1.0.0). A version
// with a prerelease satisfies an AND group only if some comparator of that
// group carries a prerelease (the v3.4 rule; v3.2 asked each comparator).
//
// Everything here is a pure value type: thread-compatible, and const methods
// may be called from many threads at once.
#ifndef COMMON_SEMVER_H_
#define COMMON_SEMVER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ia {

// A parsed version. `prerelease` and `build` are without their '-'/'+'.
struct Version {
  uint64_t major = 0;
  uint64_t minor = 0;
  uint64_t patch = 0;
  std::string prerelease;
  std::string build;
};

// Parses `tag` under Flux's rule (above). nullopt when the tag is not a
// version.
std::optional<Version> ParseTagVersion(absl::string_view tag);

// Compares by SemVer precedence (build metadata ignored): <0, 0 or >0.
int CompareVersions(const Version& a, const Version& b);

// Compares two prerelease strings (without '-') identifier by identifier, as
// Masterminds does; "" is lower than any identifier list.
int ComparePrereleases(absl::string_view a, absl::string_view b);

// How a prerelease version is admitted by an AND group.
enum class PrereleaseRule {
  // Masterminds v3.4+ (what Flux uses; the default): when any comparator of
  // the group carries a prerelease.
  kGroup,
  // Masterminds v3.2 and earlier: each comparator must carry a prerelease
  // itself (and a wildcard-free "!=" lets any prerelease through). Only for
  // comparing against that version in tests.
  kPerComparator,
};

// A parsed range. Copyable; immutable after Parse.
class SemverRange {
 public:
  // Parses `range`. INVALID_ARGUMENT quoting the range (and saying what is
  // wrong) when Masterminds would refuse it, e.g. "", ">=1.0 <", "1.2.3.4".
  static absl::StatusOr<SemverRange> Parse(absl::string_view range);

  // Whether `v` satisfies the range.
  bool Contains(const Version& v,
                PrereleaseRule rule = PrereleaseRule::kGroup) const;

  // The range as given to Parse.
  const std::string& text() const { return text_; }

 private:
  enum class Op {
    kEqual,  // "" and "=": equal, or ~ when the version has wildcards
    kNotEqual,
    kGreater,
    kLess,
    kGreaterEqual,
    kLessEqual,
    kTilde,
    kCaret,
  };
  struct Comparator {
    Op op = Op::kEqual;
    Version version;           // wildcards are 0
    bool dirty = false;        // some part is a wildcard or missing
    bool minor_dirty = false;  // the minor (and patch) is
    bool patch_dirty = false;  // only the patch is
  };
  struct Group {
    std::vector<Comparator> comparators;
    bool has_prerelease = false;
  };

  static bool Check(const Comparator& c, const Version& v, bool include_pre);
  static bool CheckTilde(const Comparator& c, const Version& v);

  std::string text_;
  std::vector<Group> groups_;

  friend class SemverRangeParser;
};

// OK when `range` parses; else the INVALID_ARGUMENT of SemverRange::Parse.
// For validating specs at Apply time.
absl::Status ValidateSemverRange(absl::string_view range);

}  // namespace ia

#endif  // COMMON_SEMVER_H_
