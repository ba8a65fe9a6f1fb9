#include "common/semver.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace ia {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsIdentChar(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         c == '-';
}

// Go's regexp \s: [\t\n\f\r ].
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

// A character of a range's version part: digits, x, X, * and (a quirk of
// Masterminds' pattern, kept so that the same strings are accepted) '|'.
bool IsPartChar(char c) {
  return IsDigit(c) || c == 'x' || c == 'X' || c == '*' || c == '|';
}

bool IsWildcard(absl::string_view s) {
  return s == "x" || s == "X" || s == "*";
}

bool AllDigits(absl::string_view s) {
  for (char c : s) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

// Parses decimal digits (leading zeros allowed) into a uint64; false when
// empty, not all digits, or out of range (as Go's strconv.ParseUint).
bool ParseUint64(absl::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  uint64_t value = 0;
  for (char c : s) {
    if (!IsDigit(c)) return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return false;
    value = value * 10 + digit;
  }
  *out = value;
  return true;
}

// Non-empty dot-separated identifiers of [0-9A-Za-z-]; with `prerelease`,
// numeric identifiers have no leading zero.
bool ValidIdentifiers(absl::string_view s, bool prerelease) {
  if (s.empty()) return false;
  size_t start = 0;
  while (true) {
    size_t end = s.find('.', start);
    if (end == absl::string_view::npos) end = s.size();
    const absl::string_view id = s.substr(start, end - start);
    if (id.empty()) return false;
    for (char c : id) {
      if (!IsIdentChar(c)) return false;
    }
    if (prerelease && id.size() > 1 && id[0] == '0' && AllDigits(id)) {
      return false;
    }
    if (end == s.size()) return true;
    start = end + 1;
  }
}

int ComparePrereleasePart(absl::string_view s, absl::string_view o) {
  if (s == o) return 0;
  if (s.empty()) return -1;
  if (o.empty()) return 1;
  uint64_t si = 0;
  uint64_t oi = 0;
  const bool s_num = ParseUint64(s, &si);
  const bool o_num = ParseUint64(o, &oi);
  if (!s_num && !o_num) return s > o ? 1 : -1;
  if (!o_num) return -1;
  if (!s_num) return 1;
  return si > oi ? 1 : (si < oi ? -1 : 0);
}

int CompareUint(uint64_t a, uint64_t b) { return a < b ? -1 : (a > b ? 1 : 0); }

// The pieces of one version in a range, as Masterminds' pattern splits it:
// v?PART(.PART)?(.PART)?(-PRE)?(+BUILD)?, PART of IsPartChar.
struct RangeVersion {
  absl::string_view text;        // all of it
  absl::string_view major;       // without dots
  absl::string_view minor;       // "" when absent
  absl::string_view patch;       // "" when absent
  absl::string_view prerelease;  // without '-'
  absl::string_view build;       // without '+'
  bool has_minor = false;
  bool has_patch = false;
};

size_t ScanRun(absl::string_view s, size_t pos, bool (*pred)(char)) {
  while (pos < s.size() && pred(s[pos])) ++pos;
  return pos;
}

// Scans IDENT(.IDENT)* greedily from `pos`; returns the end.
size_t ScanIdentifiers(absl::string_view s, size_t pos) {
  pos = ScanRun(s, pos, IsIdentChar);
  while (pos + 1 < s.size() && s[pos] == '.' && IsIdentChar(s[pos + 1])) {
    pos = ScanRun(s, pos + 1, IsIdentChar);
  }
  return pos;
}

// Scans a range version starting exactly at `pos`. Returns its end, or npos
// when none starts there. Greedy, which is what the pattern does in every
// place a version appears (what may follow a version never starts with a
// character a version could continue with).
size_t ScanRangeVersion(absl::string_view s, size_t pos, RangeVersion* out) {
  const size_t begin = pos;
  if (pos < s.size() && s[pos] == 'v') ++pos;
  if (pos >= s.size() || !IsPartChar(s[pos])) return absl::string_view::npos;
  RangeVersion v;
  size_t end = ScanRun(s, pos, IsPartChar);
  v.major = s.substr(pos, end - pos);
  pos = end;
  if (pos + 1 < s.size() && s[pos] == '.' && IsPartChar(s[pos + 1])) {
    end = ScanRun(s, pos + 1, IsPartChar);
    v.minor = s.substr(pos + 1, end - pos - 1);
    v.has_minor = true;
    pos = end;
    if (pos + 1 < s.size() && s[pos] == '.' && IsPartChar(s[pos + 1])) {
      end = ScanRun(s, pos + 1, IsPartChar);
      v.patch = s.substr(pos + 1, end - pos - 1);
      v.has_patch = true;
      pos = end;
    }
  }
  if (pos + 1 < s.size() && s[pos] == '-' && IsIdentChar(s[pos + 1])) {
    end = ScanIdentifiers(s, pos + 1);
    v.prerelease = s.substr(pos + 1, end - pos - 1);
    pos = end;
  }
  if (pos + 1 < s.size() && s[pos] == '+' && IsIdentChar(s[pos + 1])) {
    end = ScanIdentifiers(s, pos + 1);
    v.build = s.substr(pos + 1, end - pos - 1);
    pos = end;
  }
  v.text = s.substr(begin, pos - begin);
  *out = v;
  return pos;
}

size_t SkipSpaces(absl::string_view s, size_t pos) {
  return ScanRun(s, pos, IsSpace);
}

// Rewrites every hyphen range "A - B" (spaces required around '-') into
// ">= A, <= B " as Masterminds v3.4 does, spaces around it included.
std::string RewriteHyphenRanges(absl::string_view s) {
  std::string out;
  size_t copied = 0;
  size_t pos = 0;
  while (pos < s.size()) {
    RangeVersion a;
    RangeVersion b;
    size_t p = SkipSpaces(s, pos);
    size_t end = ScanRangeVersion(s, p, &a);
    bool ok = end != absl::string_view::npos;
    if (ok) {
      p = SkipSpaces(s, end);
      ok = p > end && p < s.size() && s[p] == '-';
    }
    if (ok) {
      const size_t dash = p;
      p = SkipSpaces(s, dash + 1);
      ok = p > dash + 1;
    }
    if (ok) {
      end = ScanRangeVersion(s, p, &b);
      ok = end != absl::string_view::npos;
    }
    if (!ok) {
      ++pos;
      continue;
    }
    end = SkipSpaces(s, end);
    absl::StrAppend(&out, s.substr(copied, pos - copied), ">= ", a.text,
                    ", <= ", b.text, " ");
    copied = end;
    pos = end;
  }
  absl::StrAppend(&out, s.substr(copied));
  return out;
}

}  // namespace

std::optional<Version> ParseTagVersion(absl::string_view tag) {
  // fluxcd/pkg/version.ParseVersion: at least two dots (SplitN(tag, ".", 3)
  // has three parts), then Masterminds' loose NewVersion, whose pattern is
  // v?N(.N)?(.N)?(-PRE)?(+BUILD)? over the whole tag with digits-only N
  // (leading zeros allowed, within uint64). One pass, left to right; it runs
  // once per tag per selection, so it allocates nothing for tags that are
  // not versions, nor for short prerelease and build strings.
  const size_t first_dot = tag.find('.');
  if (first_dot == absl::string_view::npos ||
      tag.find('.', first_dot + 1) == absl::string_view::npos) {
    return std::nullopt;
  }
  const char* p = tag.data();
  const char* const end = p + tag.size();
  if (p != end && *p == 'v') ++p;
  // One or more digits, within uint64 (leading zeros allowed, as Go's
  // strconv.ParseUint reads them).
  auto number = [&p, end](uint64_t* out) {
    const char* const start = p;
    uint64_t value = 0;
    for (; p != end && IsDigit(*p); ++p) {
      const uint64_t digit = static_cast<uint64_t>(*p - '0');
      if (value > (UINT64_MAX - digit) / 10) return false;
      value = value * 10 + digit;
    }
    if (p == start) return false;
    *out = value;
    return true;
  };
  Version v;
  if (!number(&v.major)) return std::nullopt;
  // A '.' after the major or minor must start the next number: the
  // pattern has no other place for it before the prerelease.
  if (p != end && *p == '.') {
    ++p;
    if (!number(&v.minor)) return std::nullopt;
    if (p != end && *p == '.') {
      ++p;
      if (!number(&v.patch)) return std::nullopt;
    }
  }
  if (p != end && *p == '-') {
    const char* const start = ++p;
    while (p != end && *p != '+') ++p;
    const absl::string_view pre(start, static_cast<size_t>(p - start));
    if (!ValidIdentifiers(pre, /*prerelease=*/true)) return std::nullopt;
    v.prerelease.assign(pre.data(), pre.size());
  }
  if (p != end && *p == '+') {
    ++p;
    const absl::string_view build(p, static_cast<size_t>(end - p));
    if (!ValidIdentifiers(build, /*prerelease=*/false)) return std::nullopt;
    v.build.assign(build.data(), build.size());
    p = end;
  }
  if (p != end) return std::nullopt;
  return v;
}

int ComparePrereleases(absl::string_view a, absl::string_view b) {
  size_t ia = 0;
  size_t ib = 0;
  // Like splitting both on '.' and padding the shorter with "".
  while (true) {
    const bool a_done = ia > a.size();
    const bool b_done = ib > b.size();
    if (a_done && b_done) return 0;
    absl::string_view pa;
    absl::string_view pb;
    if (!a_done) {
      size_t end = a.find('.', ia);
      if (end == absl::string_view::npos) end = a.size();
      pa = a.substr(ia, end - ia);
      ia = end + 1;
    }
    if (!b_done) {
      size_t end = b.find('.', ib);
      if (end == absl::string_view::npos) end = b.size();
      pb = b.substr(ib, end - ib);
      ib = end + 1;
    }
    const int d = ComparePrereleasePart(pa, pb);
    if (d != 0) return d;
  }
}

int CompareVersions(const Version& a, const Version& b) {
  if (int d = CompareUint(a.major, b.major); d != 0) return d;
  if (int d = CompareUint(a.minor, b.minor); d != 0) return d;
  if (int d = CompareUint(a.patch, b.patch); d != 0) return d;
  if (a.prerelease.empty() && b.prerelease.empty()) return 0;
  if (a.prerelease.empty()) return 1;
  if (b.prerelease.empty()) return -1;
  return ComparePrereleases(a.prerelease, b.prerelease);
}

// Builds SemverRange; a friend so that it can fill the private parts.
class SemverRangeParser {
 public:
  static absl::StatusOr<SemverRange> Parse(absl::string_view range) {
    SemverRange result;
    result.text_ = std::string(range);
    const std::string rewritten = RewriteHyphenRanges(range);
    absl::string_view rest = rewritten;
    while (true) {
      const size_t bar = rest.find("||");
      const absl::string_view segment = rest.substr(0, bar);
      SemverRange::Group group;
      if (absl::Status s = ParseGroup(segment, &group); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "invalid semver range \"", range, "\": ", s.message()));
      }
      result.groups_.push_back(std::move(group));
      if (bar == absl::string_view::npos) break;
      rest = rest.substr(bar + 2);
    }
    return result;
  }

 private:
  static absl::Status ParseGroup(absl::string_view s,
                                 SemverRange::Group* group) {
    if (SkipSpaces(s, 0) == s.size()) {
      return absl::InvalidArgumentError(s.empty() ? "empty constraint"
                                                  : "blank constraint");
    }
    size_t pos = SkipSpaces(s, 0);
    while (true) {
      const size_t start = pos;
      SemverRange::Op op = ParseOp(s, &pos);
      pos = SkipSpaces(s, pos);
      RangeVersion rv;
      const size_t end = ScanRangeVersion(s, pos, &rv);
      if (end == absl::string_view::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("improper constraint at \"", s.substr(start), "\""));
      }
      SemverRange::Comparator c;
      c.op = op;
      RETURN_IF_ERROR(MakeComparator(rv, &c));
      if (!c.version.prerelease.empty()) group->has_prerelease = true;
      group->comparators.push_back(std::move(c));
      pos = SkipSpaces(s, end);
      if (pos == s.size()) return absl::OkStatus();
      if (s[pos] == ',') {
        pos = SkipSpaces(s, pos + 1);
      } else if (pos == end) {
        return absl::InvalidArgumentError(
            absl::StrCat("improper constraint at \"", s.substr(start), "\""));
      }
    }
  }

  // Reads an operator at *pos (possibly none, meaning "=").
  static SemverRange::Op ParseOp(absl::string_view s, size_t* pos) {
    using Op = SemverRange::Op;
    struct Entry {
      absl::string_view text;
      Op op;
    };
    // Two-character operators first: the second character never starts a
    // version, so the longest operator is the only one that can match.
    static constexpr Entry kOps[] = {
        {">=", Op::kGreaterEqual}, {"=>", Op::kGreaterEqual},
        {"<=", Op::kLessEqual},    {"=<", Op::kLessEqual},
        {"~>", Op::kTilde},        {"!=", Op::kNotEqual},
        {"=", Op::kEqual},         {">", Op::kGreater},
        {"<", Op::kLess},          {"~", Op::kTilde},
        {"^", Op::kCaret},
    };
    const absl::string_view at = s.substr(*pos);
    for (const Entry& e : kOps) {
      if (at.substr(0, e.text.size()) == e.text) {
        *pos += e.text.size();
        return e.op;
      }
    }
    return Op::kEqual;
  }

  // Turns a range version into the comparator's version and wildcard flags,
  // as Masterminds' parseConstraint does: everything after the first
  // wildcard (or missing part) is ignored, build metadata included.
  static absl::Status MakeComparator(const RangeVersion& rv,
                                     SemverRange::Comparator* c) {
    Version& v = c->version;
    absl::string_view major = rv.major;
    absl::string_view minor = "0";
    absl::string_view patch = "0";
    absl::string_view build;
    if (IsWildcard(rv.major)) {
      major = "0";
      c->dirty = true;
    } else if (!rv.has_minor || IsWildcard(rv.minor)) {
      c->dirty = c->minor_dirty = true;
    } else if (!rv.has_patch || IsWildcard(rv.patch)) {
      c->dirty = c->patch_dirty = true;
      minor = rv.minor;
    } else {
      minor = rv.minor;
      patch = rv.patch;
      build = rv.build;
    }
    if (!ParseUint64(major, &v.major) || !ParseUint64(minor, &v.minor) ||
        !ParseUint64(patch, &v.patch)) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", rv.text, "\" is not a version"));
    }
    if (!rv.prerelease.empty() &&
        !ValidIdentifiers(rv.prerelease, /*prerelease=*/true)) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", rv.text,
                       "\": a numeric prerelease identifier has a "
                       "leading zero"));
    }
    v.prerelease = std::string(rv.prerelease);
    v.build = std::string(build);
    return absl::OkStatus();
  }
};

absl::StatusOr<SemverRange> SemverRange::Parse(absl::string_view range) {
  return SemverRangeParser::Parse(range);
}

bool SemverRange::CheckTilde(const Comparator& c, const Version& v) {
  if (CompareVersions(v, c.version) < 0) return false;
  const Version& k = c.version;
  if (k.major == 0 && k.minor == 0 && k.patch == 0 && !c.minor_dirty &&
      !c.patch_dirty) {
    return true;
  }
  if (v.major != k.major) return false;
  if (v.minor != k.minor && !c.minor_dirty) return false;
  return true;
}

bool SemverRange::Check(const Comparator& c, const Version& v,
                        bool include_pre) {
  if (!v.prerelease.empty() && !include_pre) return false;
  const Version& k = c.version;
  switch (c.op) {
    case Op::kEqual:
      if (c.dirty) return CheckTilde(c, v);
      return CompareVersions(v, k) == 0;
    case Op::kNotEqual:
      if (c.dirty) {
        if (k.major != v.major) return true;
        if (k.minor != v.minor && !c.minor_dirty) return true;
        if (c.minor_dirty) return false;
        if (k.patch != v.patch && !c.patch_dirty) return true;
        if (c.patch_dirty) {
          if (!v.prerelease.empty() || !k.prerelease.empty()) {
            return ComparePrereleases(v.prerelease, k.prerelease) != 0;
          }
          return false;
        }
      }
      return CompareVersions(v, k) != 0;
    case Op::kGreater:
      if (!c.dirty) return CompareVersions(v, k) > 0;
      if (v.major > k.major) return true;
      if (v.major < k.major) return false;
      if (c.minor_dirty) return false;
      if (c.patch_dirty) return v.minor > k.minor;
      return CompareVersions(v, k) > 0;
    case Op::kLess:
      return CompareVersions(v, k) < 0;
    case Op::kGreaterEqual:
      return CompareVersions(v, k) >= 0;
    case Op::kLessEqual:
      if (!c.dirty) return CompareVersions(v, k) <= 0;
      if (v.major > k.major) return false;
      if (v.major == k.major && v.minor > k.minor && !c.minor_dirty) {
        return false;
      }
      return true;
    case Op::kTilde:
      return CheckTilde(c, v);
    case Op::kCaret:
      if (CompareVersions(v, k) < 0) return false;
      if (k.major > 0 || c.minor_dirty) return v.major == k.major;
      if (v.major > 0) return false;
      if (k.minor > 0 || c.patch_dirty) return v.minor == k.minor;
      if (v.minor > 0) return false;
      return v.patch == k.patch;
  }
  return false;
}

bool SemverRange::Contains(const Version& v, PrereleaseRule rule) const {
  for (const Group& group : groups_) {
    bool all = true;
    for (const Comparator& c : group.comparators) {
      // v3.2 also let any prerelease through a plain (wildcard-free) "!=".
      const bool include_pre = rule == PrereleaseRule::kGroup
                                   ? group.has_prerelease
                                   : !c.version.prerelease.empty() ||
                                         (c.op == Op::kNotEqual && !c.dirty);
      if (!Check(c, v, include_pre)) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

absl::Status ValidateSemverRange(absl::string_view range) {
  return SemverRange::Parse(range).status();
}

}  // namespace ia
