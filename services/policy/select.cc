#include "services/policy/select.h"

#include <re2/re2.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/duration.h"
#include "common/status_macros.h"
#include "common/validation.h"
#include "services/policy/expand.h"

namespace ia::policy {
namespace {

std::string Quote(absl::string_view s) { return absl::StrCat("\"", s, "\""); }

bool IsDigitIn(char c, bool hex) {
  if (c >= '0' && c <= '9') return true;
  const char l = absl::ascii_tolower(static_cast<unsigned char>(c));
  return hex && l >= 'a' && l <= 'f';
}

// Go's strconv.underscoreOK: '_' only between digits (or after a base
// prefix), never last.
bool UnderscoresOk(absl::string_view s) {
  char saw = '^';
  size_t i = 0;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  bool hex = false;
  if (s.size() >= 2 && s[0] == '0') {
    const char l = absl::ascii_tolower(static_cast<unsigned char>(s[1]));
    if (l == 'b' || l == 'o' || l == 'x') {
      i = 2;
      saw = '0';
      hex = l == 'x';
    }
  }
  for (; i < s.size(); ++i) {
    if (IsDigitIn(s[i], hex)) {
      saw = '0';
      continue;
    }
    if (s[i] == '_') {
      if (saw != '0') return false;
      saw = '_';
      continue;
    }
    if (saw == '_') return false;
    saw = '!';
  }
  return saw != '_';
}

// Go's syntax of a float literal for ParseFloat (readFloat), over all of s.
bool GoFloatSyntax(absl::string_view s, bool* underscores) {
  size_t i = 0;
  *underscores = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  bool hex = false;
  if (i + 2 < s.size() && s[i] == '0' &&
      absl::ascii_tolower(static_cast<unsigned char>(s[i + 1])) == 'x') {
    hex = true;
    i += 2;
  }
  bool saw_dot = false;
  bool saw_digits = false;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '_') {
      *underscores = true;
    } else if (c == '.') {
      if (saw_dot) break;
      saw_dot = true;
    } else if (IsDigitIn(c, hex)) {
      saw_digits = true;
    } else {
      break;
    }
  }
  if (!saw_digits) return false;
  const char exp_char = hex ? 'p' : 'e';
  if (i < s.size() &&
      absl::ascii_tolower(static_cast<unsigned char>(s[i])) == exp_char) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
    for (; i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_'); ++i) {
      if (s[i] == '_') *underscores = true;
    }
  } else if (hex) {
    return false;
  }
  return i == s.size();
}

// A candidate tag's value (the tag itself or the extracted text).
struct Candidate {
  const std::string* tag;
  absl::string_view value;
};

}  // namespace

std::optional<double> ParseGoFloat(absl::string_view s) {
  // Infinity and NaN, as Go's strconv.special.
  absl::string_view body = s;
  bool signed_ = false;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    signed_ = true;
    body.remove_prefix(1);
  }
  const std::string lower = absl::AsciiStrToLower(body);
  if (lower == "inf" || lower == "infinity") {
    return s[0] == '-' ? -HUGE_VAL : HUGE_VAL;
  }
  if (!signed_ && lower == "nan") return std::nan("");

  bool underscores = false;
  if (!GoFloatSyntax(s, &underscores)) return std::nullopt;
  if (underscores && !UnderscoresOk(s)) return std::nullopt;
  std::string clean;
  clean.reserve(s.size());
  for (char c : s) {
    if (c != '_') clean.push_back(c);
  }
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(clean.c_str(), &end);
  if (end != clean.c_str() + clean.size()) return std::nullopt;
  if (std::isinf(value)) return std::nullopt;  // Go: value out of range
  return value;
}

absl::StatusOr<CompiledPolicy> CompiledPolicy::Compile(
    const v1::ImagePolicySpec& spec) {
  CompiledPolicy p;
  const v1::ImagePolicyChoice& choice = spec.policy();
  const int chosen = static_cast<int>(choice.has_semver()) +
                     static_cast<int>(choice.has_alphabetical()) +
                     static_cast<int>(choice.has_numerical());
  if (chosen != 1) {
    return FieldError("spec.policy",
                      chosen == 0
                          ? "one of semver, alphabetical, numerical must be set"
                          : "only one of semver, alphabetical, numerical may "
                            "be set");
  }
  auto order = [&p](absl::string_view path,
                    absl::string_view value) -> absl::Status {
    if (value.empty() || value == "asc") {
      p.ascending_ = true;
    } else if (value == "desc") {
      p.ascending_ = false;
    } else {
      return FieldError(path, absl::StrCat(Quote(value),
                                           " is not a valid order (use asc or "
                                           "desc)"));
    }
    return absl::OkStatus();
  };
  if (choice.has_semver()) {
    p.kind_ = Kind::kSemver;
    absl::StatusOr<SemverRange> range =
        SemverRange::Parse(choice.semver().range());
    if (!range.ok()) {
      return FieldError("spec.policy.semver.range", range.status().message());
    }
    p.range_ = *std::move(range);
  } else if (choice.has_alphabetical()) {
    p.kind_ = Kind::kAlphabetical;
    RETURN_IF_ERROR(
        order("spec.policy.alphabetical.order", choice.alphabetical().order()));
  } else {
    p.kind_ = Kind::kNumerical;
    RETURN_IF_ERROR(
        order("spec.policy.numerical.order", choice.numerical().order()));
  }

  const v1::TagFilter& filter = spec.filter_tags();
  if (!filter.pattern().empty() || !filter.extract().empty()) {
    RE2::Options options;
    options.set_log_errors(false);
    auto re = std::make_shared<const RE2>(filter.pattern(), options);
    if (!re->ok()) {
      return FieldError(
          "spec.filterTags.pattern",
          absl::StrCat("invalid regular expression ", Quote(filter.pattern()),
                       ": ", re->error()));
    }
    absl::Status references = CheckTemplateReferences(*re, filter.extract());
    if (!references.ok()) {
      return FieldError("spec.filterTags.extract", references.message());
    }
    p.filter_ = std::move(re);
    p.extract_ = filter.extract();
  }

  if (!spec.min_age().empty()) {
    absl::StatusOr<absl::Duration> min_age = ParseDuration(spec.min_age());
    if (!min_age.ok()) {
      return FieldError("spec.minAge", min_age.status().message());
    }
    p.min_age_ = *min_age;
    p.min_age_text_ = spec.min_age();
  }
  return p;
}

absl::StatusOr<std::string> CompiledPolicy::Select(
    const std::vector<std::string>& tags) const {
  if (tags.empty()) return absl::NotFoundError("no tags to select from");
  if (filter_ == nullptr) {
    // Every tag is a candidate, valued as itself: no list to build. Equal
    // values are equal tags, so there is nothing to merge.
    ASSIGN_OR_RETURN(
        const size_t best,
        Choose(
            tags.size(),
            [&tags](size_t i) { return absl::string_view(tags[i]); },
            /*merge_equal_values=*/false, /*tag_of=*/
            [&tags](size_t i) -> const std::string& { return tags[i]; }));
    return tags[best];
  }

  // The candidates and their values; extracted values live in `extracted`
  // (reserved up front so that views into it stay valid).
  std::vector<Candidate> candidates;
  std::vector<std::string> extracted;
  const int n = filter_->NumberOfCapturingGroups() + 1;
  std::vector<re2::StringPiece> groups(static_cast<size_t>(n));
  if (!extract_.empty()) extracted.reserve(tags.size());
  for (const std::string& tag : tags) {
    if (!filter_->Match(tag, 0, tag.size(), RE2::UNANCHORED, groups.data(),
                        n)) {
      continue;
    }
    if (extract_.empty()) {
      candidates.push_back({&tag, tag});
      continue;
    }
    std::string value;
    ExpandTemplate(*filter_, extract_, groups, &value);
    extracted.push_back(std::move(value));
    candidates.push_back({&tag, extracted.back()});
  }
  if (candidates.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no tag matched the filter pattern ",
                     Quote(filter_->pattern()), " (", tags.size(), " tags)"));
  }
  auto tag_of = [&candidates](size_t i) -> const std::string& {
    return *candidates[i].tag;
  };
  if (extract_.empty()) {
    ASSIGN_OR_RETURN(
        const size_t best,
        Choose(
            candidates.size(),
            [&candidates](size_t i) { return candidates[i].value; },
            /*merge_equal_values=*/false, tag_of));
    return tag_of(best);
  }

  // With extract, Flux keeps a map from value to tag: each value is one
  // candidate, at the place it first appeared, standing for the last tag
  // that produced it. Choose finds the winning value without building the
  // map; the tag is then the last one that produced that value.
  absl::StatusOr<size_t> best = Choose(
      candidates.size(),
      [&candidates](size_t i) { return candidates[i].value; },
      /*merge_equal_values=*/true, tag_of);
  if (!best.ok() && absl::IsUnimplemented(best.status())) {
    // NaN among numerical values with repeats: merge for real, then choose.
    std::vector<Candidate> merged;
    absl::flat_hash_map<absl::string_view, size_t> by_value;
    for (const Candidate& c : candidates) {
      auto [it, inserted] = by_value.try_emplace(c.value, merged.size());
      if (inserted) {
        merged.push_back(c);
      } else {
        merged[it->second].tag = c.tag;
      }
    }
    ASSIGN_OR_RETURN(
        const size_t index,
        Choose(
            merged.size(), [&merged](size_t i) { return merged[i].value; },
            /*merge_equal_values=*/false,
            [&merged](size_t i) -> const std::string& {
              return *merged[i].tag;
            }));
    return *merged[index].tag;
  }
  RETURN_IF_ERROR(best.status());
  const absl::string_view value = candidates[*best].value;
  size_t last = *best;
  for (size_t i = *best + 1; i < candidates.size(); ++i) {
    if (candidates[i].value == value) last = i;
  }
  return tag_of(last);
}

template <typename ValueOf, typename TagOf>
absl::StatusOr<size_t> CompiledPolicy::Choose(size_t count,
                                              const ValueOf& value_of,
                                              bool merge_equal_values,
                                              const TagOf& tag_of) const {
  constexpr size_t kNone = static_cast<size_t>(-1);
  size_t best = kNone;
  switch (kind_) {
    case Kind::kSemver: {
      // The first candidate with the highest version: the first of equal
      // versions, and (with repeated values) the value's first appearance.
      std::optional<Version> best_version;
      size_t versions = 0;
      for (size_t i = 0; i < count; ++i) {
        std::optional<Version> v = ParseTagVersion(value_of(i));
        if (!v.has_value()) continue;
        ++versions;
        if (!range_->Contains(*v)) continue;
        // Strictly greater: the first of equal versions stays.
        if (!best_version.has_value() ||
            CompareVersions(*v, *best_version) > 0) {
          best = i;
          best_version = std::move(v);
        }
      }
      if (best == kNone) {
        return absl::NotFoundError(absl::StrCat(
            "no tag satisfies semver range ", Quote(range_->text()), " (",
            count, " candidates, ", versions, " of them versions)"));
      }
      break;
    }
    case Kind::kAlphabetical: {
      // Distinct values cannot tie; the first of a repeated value stays.
      best = 0;
      for (size_t i = 1; i < count; ++i) {
        const int d = value_of(i).compare(value_of(best));
        if (ascending_ ? d > 0 : d < 0) best = i;
      }
      break;
    }
    case Kind::kNumerical: {
      double best_value = 0;
      // With repeated values: the values at best_value seen so far, so that
      // a repeat (which Flux's map holds once, at its first appearance) is
      // not taken for a new equal value. A repeat can never be strictly
      // better: its first appearance raised best_value to it already. NaN
      // breaks that (it replaces whatever is kept), so it is left to the
      // caller (UNIMPLEMENTED).
      absl::flat_hash_set<absl::string_view> at_best;
      for (size_t i = 0; i < count; ++i) {
        const absl::string_view value = value_of(i);
        const std::optional<double> v = ParseGoFloat(value);
        if (!v.has_value()) {
          const std::string& tag = tag_of(i);
          std::string what = absl::StrCat("tag ", Quote(tag));
          if (value != tag) {
            absl::StrAppend(&what, " (extracted value ", Quote(value), ")");
          }
          return absl::FailedPreconditionError(
              absl::StrCat("numerical policy: ", what, " is not a number"));
        }
        if (merge_equal_values && std::isnan(*v)) {
          return absl::UnimplementedError("NaN among repeated values");
        }
        // Flux's scan: each value replaces the one kept unless it is
        // strictly worse, so the last of equal values wins, and NaN (which
        // compares false with everything) always replaces and is replaced.
        if (best != kNone && (ascending_ ? *v < best_value : *v > best_value)) {
          continue;
        }
        if (merge_equal_values) {
          if (best != kNone && *v == best_value) {
            if (!at_best.insert(value).second) continue;  // a repeat
          } else {
            at_best.clear();
            at_best.insert(value);
          }
        }
        best = i;
        best_value = *v;
      }
      break;
    }
  }
  return best;
}

MaturedSelection CompiledPolicy::SelectMatured(
    const std::vector<std::string>& tags,
    const std::vector<absl::Time>& first_seen, absl::Time now) const {
  MaturedSelection out;
  // Tags first seen at or before the cutoff are old enough.
  const absl::Time cutoff = now - min_age_;
  std::vector<size_t> young;
  if (min_age_ > absl::ZeroDuration()) {
    for (size_t i = 0; i < tags.size(); ++i) {
      if (i >= first_seen.size() || first_seen[i] > cutoff) young.push_back(i);
    }
  }
  if (young.empty()) {
    out.tag = Select(tags);
    return out;
  }
  auto matures = [&](size_t i) {
    return (i < first_seen.size() ? first_seen[i] : now) + min_age_;
  };

  std::vector<std::string> matured;
  matured.reserve(tags.size() - young.size());
  for (size_t i = 0, y = 0; i < tags.size(); ++i) {
    if (y < young.size() && young[y] == i) {
      ++y;
    } else {
      matured.push_back(tags[i]);
    }
  }
  out.tag = Select(matured);

  // The tag chosen without minAge, if another: one of the young ones.
  absl::StatusOr<std::string> unaged = Select(tags);
  if (unaged.ok() && (!out.tag.ok() || *unaged != *out.tag)) {
    for (size_t i : young) {
      if (tags[i] == *unaged) {
        out.held_back = *unaged;
        out.held_back_until = matures(i);
        break;
      }
    }
  }

  // When the answer can change: the first young tag to mature that would be
  // preferred over the current answer (or would fail the policy, as a
  // numerical policy does on a non-number), or would qualify at all when
  // nothing does now. The pair keeps the input order, which ties depend on.
  size_t answer_at = tags.size();
  if (out.tag.ok()) {
    answer_at = static_cast<size_t>(
        std::find(tags.begin(), tags.end(), *out.tag) - tags.begin());
  }
  for (size_t i : young) {
    const absl::Time at = matures(i);
    if (at >= out.next_change) continue;
    bool changes;
    if (out.tag.ok()) {
      absl::StatusOr<std::string> pair = answer_at < i
                                             ? Select({*out.tag, tags[i]})
                                             : Select({tags[i], *out.tag});
      changes = !pair.ok() || *pair != *out.tag;
    } else {
      changes =
          Select({tags[i]}).status().code() != absl::StatusCode::kNotFound;
    }
    if (changes) out.next_change = at;
  }

  if (!out.tag.ok() && absl::IsNotFound(out.tag.status())) {
    std::string message =
        matured.empty()
            ? absl::StrCat("no tag is older than spec.minAge ", min_age_text_)
            : std::string(out.tag.status().message());
    absl::StrAppend(&message, "; ", young.size(),
                    young.size() == 1 ? " tag" : " tags",
                    " held back by minAge");
    if (!out.held_back.empty()) {
      absl::StrAppend(&message, ", ", out.held_back, " until ",
                      FormatStatusTime(out.held_back_until));
    }
    out.tag = absl::NotFoundError(message);
  }
  return out;
}

std::string FormatStatusTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

absl::StatusOr<std::string> SelectTag(const v1::ImagePolicySpec& spec,
                                      const std::vector<std::string>& tags) {
  ASSIGN_OR_RETURN(const CompiledPolicy policy, CompiledPolicy::Compile(spec));
  return policy.Select(tags);
}

absl::Status ValidatePolicySpec(const v1::ImagePolicySpec& spec) {
  return CompiledPolicy::Compile(spec).status();
}

}  // namespace ia::policy
