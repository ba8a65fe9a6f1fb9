// The lexer of the Go text/template subset (template.h): a template's
// source cut into text and the tokens of its actions, with {{- -}} trimming
// and comments applied. Internal to the template engine; the parser
// (template_parse.cc) reads its tokens.
//
// Thread-safety: Lex is a pure function.
#ifndef SERVICES_AUTOMATION_TEMPLATE_LEX_H_
#define SERVICES_AUTOMATION_TEMPLATE_LEX_H_

#include <cstddef>
#include <cstdint>
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
  kChar,
  kLeftParen,
  kRightParen,
  kPipe,
  kDeclare,
  kAssign,
  kComma,
  kOther,  // Any other printable ASCII character (an error for the parser).
  kError,  // A lexical error: `val` is the whole message; EOF follows.
  kEOF,
};

struct Token {
  Tok type;
  // Text; identifier; unquoted string; "$x"; ".Field"; a number or
  // character constant as written.
  std::string val;
  size_t pos = 0, end = 0;
};

// The tokens of `source`, ending with one kEOF token. A lexical error (an
// unclosed action, comment or string, an unrecognized character, a word
// not ended by a space, punctuation or delimiter) ends the tokens with a
// kError token carrying Go's words and location (`template: NAME:1:
// unclosed action`): as Go's lexer runs alongside its parser, a parse error
// before that point is the one reported.
// Decodes one UTF-8 character of `s` at *i into *r and advances *i; a bad
// byte reads as U+FFFD and one byte, as Go's decoder does. False at the end.
bool DecodeUtf8(const std::string& s, size_t* i, uint32_t* r);

// Appends code point `r` encoded in UTF-8.
void AppendUtf8(uint32_t r, std::string* out);

absl::StatusOr<std::vector<Token>> Lex(const std::string& name,
                                       const std::string& source);

}  // namespace ia::automation::template_internal

#endif  // SERVICES_AUTOMATION_TEMPLATE_LEX_H_
