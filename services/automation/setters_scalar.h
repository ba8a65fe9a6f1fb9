// The scalar tokens in a YAML file's raw bytes, for the setters' byte-exact
// rewrite (setters.h): where a one-line plain, single- or double-quoted
// scalar's token starts and ends (after any anchor or tag), what it decodes
// to, and how a new value is written in the same style (double-quoted when
// the plain form would read as another type or the single-quoted one cannot
// hold it). The libyaml event walk (setters.cc) finds the scalars; this file
// reads and writes their bytes. Internal to the setters.
//
// Thread-safety: pure functions.
#ifndef SERVICES_AUTOMATION_SETTERS_SCALAR_H_
#define SERVICES_AUTOMATION_SETTERS_SCALAR_H_

#include <cstddef>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace ia::automation::setters_internal {

enum class Style { kPlain, kSingle, kDouble };

// A scalar found in the raw bytes: [start, end) is its token (quotes
// included), after any anchor or tag.
struct Scalar {
  size_t start = 0;
  size_t end = 0;
  int line = 0;  // 1-based
  Style style = Style::kPlain;
  bool in_flow = false;
  std::string value;  // as parsed
  size_t document = 0;
};

// A YAML blank inside a line.
inline bool IsSpace(char c) { return c == ' ' || c == '\t'; }

// Where the token of the scalar starting (with its properties) at `pos`
// ends; nullopt when it is not a one-line plain or quoted scalar.
std::optional<Scalar> LocateToken(absl::string_view content, size_t pos,
                                  bool in_flow);

// What the token decodes to in its style; nullopt when it is malformed (or
// spans lines).
std::optional<std::string> DecodeToken(absl::string_view token, Style style);

// `value` written as the token of `s`'s style: plain when it stays a string
// (else double-quoted), single-quoted when printable (else double-quoted),
// double-quoted.
std::string Render(const Scalar& s, absl::string_view value);

}  // namespace ia::automation::setters_internal

#endif  // SERVICES_AUTOMATION_SETTERS_SCALAR_H_
