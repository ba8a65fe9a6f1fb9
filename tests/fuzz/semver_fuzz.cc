// Fuzz target: semver ranges and versions (common/semver.h), as the policy
// engine calls them: a range from an ImagePolicy's spec and tags from a
// registry. Input: RANGE \0 TAG \0 TAG.
//
// Properties: ValidateSemverRange agrees with SemverRange::Parse; version
// precedence is an order (reflexive, antisymmetric) and ignores build
// metadata only where the comparison says so.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/semver.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

int Sign(int v) { return (v > 0) - (v < 0); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ia::fuzz::FuzzInput input(data, size);
  const absl::string_view range_text = input.Next();
  const absl::string_view tag_a = input.Next();
  const absl::string_view tag_b = input.Next();

  absl::StatusOr<ia::SemverRange> range = ia::SemverRange::Parse(range_text);
  IA_FUZZ_CHECK("ValidateSemverRange agrees with Parse",
                ia::ValidateSemverRange(range_text).ok() == range.ok());

  const std::optional<ia::Version> a = ia::ParseTagVersion(tag_a);
  const std::optional<ia::Version> b = ia::ParseTagVersion(tag_b);
  if (range.ok()) {
    IA_FUZZ_CHECK_EQ("a range keeps its text", range->text(),
                     std::string(range_text));
    for (const std::optional<ia::Version>& v : {a, b}) {
      if (!v.has_value()) continue;
      range->Contains(*v);
      range->Contains(*v, ia::PrereleaseRule::kPerComparator);
    }
  }
  if (a.has_value()) {
    IA_FUZZ_CHECK("a version equals itself", ia::CompareVersions(*a, *a) == 0);
    ia::Version without_build = *a;
    without_build.build.clear();
    IA_FUZZ_CHECK("build metadata is ignored",
                  ia::CompareVersions(*a, without_build) == 0);
    // A version's own text, printed back, parses to the same version.
    std::string printed = absl::StrCat(a->major, ".", a->minor, ".", a->patch);
    if (!a->prerelease.empty()) absl::StrAppend(&printed, "-", a->prerelease);
    if (!a->build.empty()) absl::StrAppend(&printed, "+", a->build);
    const std::optional<ia::Version> again = ia::ParseTagVersion(printed);
    IA_FUZZ_CHECK("a printed version parses", again.has_value());
    IA_FUZZ_CHECK_EQ("a printed version keeps its prerelease",
                     again->prerelease, a->prerelease);
    IA_FUZZ_CHECK_EQ("a printed version keeps its build", again->build,
                     a->build);
    IA_FUZZ_CHECK("a printed version keeps its numbers",
                  again->major == a->major && again->minor == a->minor &&
                      again->patch == a->patch);
  }
  if (a.has_value() && b.has_value()) {
    IA_FUZZ_CHECK("precedence is antisymmetric",
                  Sign(ia::CompareVersions(*a, *b)) ==
                      -Sign(ia::CompareVersions(*b, *a)));
    IA_FUZZ_CHECK(
        "prerelease order is antisymmetric",
        Sign(ia::ComparePrereleases(a->prerelease, b->prerelease)) ==
            -Sign(ia::ComparePrereleases(b->prerelease, a->prerelease)));
  }
  return 0;
}
