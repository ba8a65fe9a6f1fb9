// The lexer of the Go text/template subset (template.h): a template's
// source cut into text and the tokens of its actions, with {{- -}} trimming
// and comments applied. Internal to the template engine; the parser
// (template_parse.cc) reads its tokens.
//
// Thread-safety: Lex is a pure function.
#ifndef SERVICES_AUTOMATION_TEMPLATE_LEX_H_
#define SERVICES_AUTOMATION_TEMPLATE_LEX_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ia::automation::template_internal {

enum class Tok {
  kText,
  kLeftDelim,
  kRightDelim,
  kSpace,
  kField,
  kVariable,
  kDot,
  kIdentifier,
  kKeyword,
  kBool,
  kNil,
  kString,
  kNumber,
  kLeftParen,
  kRightParen,
  kPipe,
  kDeclare,
  kAssign,
  kComma,
  kEOF,
};

struct Token {
  Tok type;
  std::string val;  // Text; identifier; unquoted string; "$x"; ".Field".
  size_t pos = 0, end = 0;
};

// The tokens of `source`, ending with one kEOF token. INVALID_ARGUMENT with
// Go's words and location (`template: NAME:1:4: unclosed action`) on an
// unclosed action, comment or string, an unrecognized character or a word
// not ended by a space, punctuation or delimiter.
absl::StatusOr<std::vector<Token>> Lex(const std::string& name,
                                       const std::string& source);

}  // namespace ia::automation::template_internal

#endif  // SERVICES_AUTOMATION_TEMPLATE_LEX_H_
