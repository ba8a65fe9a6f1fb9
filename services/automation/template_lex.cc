// The lexer of the template engine. See template_lex.h.
#include "services/automation/template_lex.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "services/automation/template_tree.h"

namespace ia::automation::template_internal {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsAlnum(char c) {
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsKeyword(absl::string_view w) {
  return w == "if" || w == "else" || w == "end" || w == "range" ||
         w == "with" || w == "define" || w == "template" || w == "block" ||
         w == "break" || w == "continue";
}

}  // namespace

bool DecodeUtf8(const std::string& s, size_t* i, uint32_t* r) {
  if (*i >= s.size()) return false;
  const auto b0 = static_cast<unsigned char>(s[*i]);
  int len = 0;
  uint32_t cp = 0;
  if (b0 < 0x80) {
    *r = b0;
    ++*i;
    return true;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
  }
  bool ok = len > 0 && *i + len <= s.size();
  for (int k = 1; ok && k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[*i + k]);
    if ((b & 0xC0) != 0x80) ok = false;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (!ok) {
    *r = 0xFFFD;
    ++*i;
    return true;
  }
  *r = cp;
  *i += len;
  return true;
}

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// One escape of a Go string or character literal at *i (a backslash), as
// strconv.UnquoteChar reads it; advances *i past it. *is_byte for \x and
// octal escapes (a raw byte, not a code point). False on a bad escape.
bool UnquoteEscape(const std::string& s, size_t* i, char quote, uint32_t* r,
                   bool* is_byte) {
  size_t j = *i + 1;
  if (j >= s.size()) return false;
  const char c = s[j++];
  *is_byte = false;
  switch (c) {
    case 'a':
      *r = 7;
      break;
    case 'b':
      *r = 8;
      break;
    case 'f':
      *r = 12;
      break;
    case 'n':
      *r = 10;
      break;
    case 'r':
      *r = 13;
      break;
    case 't':
      *r = 9;
      break;
    case 'v':
      *r = 11;
      break;
    case '\\':
      *r = '\\';
      break;
    case '\'':
    case '"':
      if (c != quote) return false;
      *r = c;
      break;
    case 'x':
    case 'u':
    case 'U': {
      const int digits = c == 'x' ? 2 : c == 'u' ? 4 : 8;
      uint32_t v = 0;
      for (int k = 0; k < digits; ++k, ++j) {
        if (j >= s.size() || HexValue(s[j]) < 0) return false;
        v = v * 16 + HexValue(s[j]);
      }
      if (c == 'x') {
        *is_byte = true;
      } else if (v > 0x10FFFF || (v >= 0xD800 && v < 0xE000)) {
        return false;
      }
      *r = v;
      break;
    }
    default:
      if (c >= '0' && c <= '7') {
        uint32_t v = c - '0';
        for (int k = 0; k < 2; ++k, ++j) {
          if (j >= s.size() || s[j] < '0' || s[j] > '7') return false;
          v = v * 8 + (s[j] - '0');
        }
        if (v > 255) return false;
        *r = v;
        *is_byte = true;
        break;
      }
      return false;
  }
  *i = j;
  return true;
}

}  // namespace

void AppendUtf8(uint32_t r, std::string* out) {
  if (r < 0x80) {
    out->push_back(static_cast<char>(r));
  } else if (r < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (r >> 6)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else if (r < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (r >> 12)));
    out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (r >> 18)));
    out->push_back(static_cast<char>(0x80 | ((r >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  }
}

namespace {

class Lexer {
 public:
  Lexer(const std::string& name, const std::string& src)
      : name_(name), src_(src) {}

  absl::StatusOr<std::vector<Token>> Run() {
    size_t pos = 0;
    const size_t n = src_.size();
    while (pos < n) {
      const size_t open = src_.find("{{", pos);
      if (open == std::string::npos) {
        Emit(Tok::kText, src_.substr(pos), pos, n);
        break;
      }
      const bool left_trim =
          open + 3 < n && src_[open + 2] == '-' && IsSpace(src_[open + 3]);
      size_t text_end = open;
      if (left_trim) {
        while (text_end > pos && IsSpace(src_[text_end - 1])) --text_end;
      }
      if (text_end > pos) {
        Emit(Tok::kText, src_.substr(pos, text_end - pos), pos, text_end);
      }
      size_t p = open + 2 + (left_trim ? 2 : 0);
      if (src_.compare(p, 2, "/*") == 0) {
        ASSIGN_OR_RETURN(pos, Comment(open, p));
        continue;
      }
      Emit(Tok::kLeftDelim, "{{", open, open + 2);
      ASSIGN_OR_RETURN(pos, InsideAction(open, p));
    }
    Emit(Tok::kEOF, "", n, n);
    return std::move(tokens_);
  }

  // The tokens emitted so far (after Run failed).
  std::vector<Token> TakeTokens() { return std::move(tokens_); }

 private:
  absl::Status Error(size_t offset, absl::string_view msg) {
    return absl::InvalidArgumentError(
        absl::StrCat(LineLocation(name_, src_, offset), msg));
  }

  void Emit(Tok type, std::string val, size_t pos, size_t end) {
    tokens_.push_back(Token{type, std::move(val), pos, end});
  }

  // Length of the right delimiter at `p` ("}}" or " -}}"), 0 if none;
  // sets *trim for the trimming form.
  size_t RightDelimAt(size_t p, bool* trim) const {
    if (p + 4 <= src_.size() && IsSpace(src_[p]) && src_[p + 1] == '-' &&
        src_.compare(p + 2, 2, "}}") == 0) {
      *trim = true;
      return 4;
    }
    *trim = false;
    return src_.compare(p, 2, "}}") == 0 ? 2 : 0;
  }

  size_t SkipSpaces(size_t p) const {
    while (p < src_.size() && IsSpace(src_[p])) ++p;
    return p;
  }

  // A comment starting at `p` ("/*"); returns the position after it.
  absl::StatusOr<size_t> Comment(size_t open, size_t p) {
    const size_t close = src_.find("*/", p + 2);
    if (close == std::string::npos) return Error(open, "unclosed comment");
    bool trim = false;
    const size_t len = RightDelimAt(close + 2, &trim);
    if (len == 0) {
      return Error(close, "comment ends before closing delimiter");
    }
    const size_t after = close + 2 + len;
    return trim ? SkipSpaces(after) : after;
  }

  // Tokens of one action; `p` is just after "{{" (and its trim marker).
  // Returns the position after the closing delimiter (and trimmed space).
  absl::StatusOr<size_t> InsideAction(size_t open, size_t p) {
    const size_t n = src_.size();
    for (;;) {
      bool trim = false;
      if (const size_t len = RightDelimAt(p, &trim); len > 0) {
        Emit(Tok::kRightDelim, "}}", p, p + len);
        return trim ? SkipSpaces(p + len) : p + len;
      }
      if (p >= n) return Error(open, "unclosed action");
      const char c = src_[p];
      if (IsSpace(c)) {
        size_t q = p;
        while (q < n && IsSpace(src_[q])) ++q;
        // Leave the space of a " -}}" trim marker to the delimiter (when it
        // is the only space, the next iteration matches the delimiter).
        if (q < n && src_[q] == '-' && src_.compare(q + 1, 2, "}}") == 0) --q;
        if (q > p) Emit(Tok::kSpace, " ", p, q);
        p = q;
        continue;
      }
      if (c == '"' || c == '`') {
        ASSIGN_OR_RETURN(p, Quote(p));
        continue;
      }
      if (c == '$' || c == '.') {
        size_t q = p + 1;
        if (c == '.' && q < n && IsDigit(src_[q])) {
          ASSIGN_OR_RETURN(p, Number(p));  // ".5"
          continue;
        }
        while (q < n && IsAlnum(src_[q])) ++q;
        RETURN_IF_ERROR(CheckTerminator(q));
        if (c == '$') {
          Emit(Tok::kVariable, src_.substr(p, q - p), p, q);
        } else if (q == p + 1) {
          Emit(Tok::kDot, ".", p, q);
        } else {
          Emit(Tok::kField, src_.substr(p, q - p), p, q);
        }
        p = q;
        continue;
      }
      if (IsDigit(c) || c == '-' || c == '+') {
        ASSIGN_OR_RETURN(p, Number(p));
        continue;
      }
      if (c == '\'') {
        ASSIGN_OR_RETURN(p, Char(p));
        continue;
      }
      if (IsAlnum(c)) {
        size_t q = p;
        while (q < n && IsAlnum(src_[q])) ++q;
        RETURN_IF_ERROR(CheckTerminator(q));
        std::string word = src_.substr(p, q - p);
        Tok type = Tok::kIdentifier;
        if (word == "true" || word == "false") {
          type = Tok::kBool;
        } else if (word == "nil") {
          type = Tok::kNil;
        } else if (IsKeyword(word)) {
          type = Tok::kKeyword;
        }
        Emit(type, std::move(word), p, q);
        p = q;
        continue;
      }
      switch (c) {
        case '(':
          Emit(Tok::kLeftParen, "(", p, p + 1);
          ++p;
          continue;
        case ')':
          Emit(Tok::kRightParen, ")", p, p + 1);
          ++p;
          continue;
        case '|':
          Emit(Tok::kPipe, "|", p, p + 1);
          ++p;
          continue;
        case ',':
          Emit(Tok::kComma, ",", p, p + 1);
          ++p;
          continue;
        case '=':
          Emit(Tok::kAssign, "=", p, p + 1);
          ++p;
          continue;
        case ':':
          if (p + 1 < n && src_[p + 1] == '=') {
            Emit(Tok::kDeclare, ":=", p, p + 2);
            p += 2;
            continue;
          }
          return Error(p, "expected :=");
        default:
          break;
      }
      if (c > 0x20 && c < 0x7f) {
        // Go's lexer passes other printable characters to the parser,
        // which reports them in context: unexpected "}" in operand.
        Emit(Tok::kOther, std::string(1, c), p, p + 1);
        ++p;
        continue;
      }
      return Error(p, absl::StrFormat("unrecognized character in action: %s",
                                      DescribeChar(c)));
    }
  }

  static std::string DescribeChar(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) return absl::StrFormat("U+%04X '%c'", u, c);
    return absl::StrFormat("U+%04X", u);
  }

  // Go requires a word to end at a space, punctuation or delimiter.
  absl::Status CheckTerminator(size_t q) const {
    if (q >= src_.size()) return absl::OkStatus();
    const char c = src_[q];
    if (IsSpace(c) || c == '.' || c == ',' || c == '|' || c == ':' ||
        c == ')' || c == '(' || c == '=' || src_.compare(q, 2, "}}") == 0) {
      return absl::OkStatus();
    }
    return absl::InvalidArgumentError(absl::StrCat(
        LineLocation(name_, src_, q), "bad character ", DescribeChar(c)));
  }

  // Accepts one of `chars` at *p.
  bool Accept(size_t* p, absl::string_view chars) const {
    if (*p < src_.size() && chars.find(src_[*p]) != absl::string_view::npos) {
      ++*p;
      return true;
    }
    return false;
  }
  void AcceptRun(size_t* p, absl::string_view chars) const {
    while (Accept(p, chars)) {
    }
  }

  // A number at `p`, scanned as Go's lexer does (sign, base prefix, digits
  // with underscores, fraction, exponent); its value is read by the parser.
  absl::StatusOr<size_t> Number(size_t p) {
    size_t q = p;
    Accept(&q, "+-");
    absl::string_view digits = "0123456789_";
    if (Accept(&q, "0")) {
      if (Accept(&q, "xX")) {
        digits = "0123456789abcdefABCDEF_";
      } else if (Accept(&q, "oO")) {
        digits = "01234567_";
      } else if (Accept(&q, "bB")) {
        digits = "01_";
      }
    }
    AcceptRun(&q, digits);
    if (Accept(&q, ".")) AcceptRun(&q, digits);
    if (digits.size() == 11 && Accept(&q, "eE")) {
      Accept(&q, "+-");
      AcceptRun(&q, "0123456789_");
    }
    if (digits.size() == 23 && Accept(&q, "pP")) {
      Accept(&q, "+-");
      AcceptRun(&q, "0123456789_");
    }
    Accept(&q, "i");
    if (q < src_.size() && IsAlnum(src_[q])) {
      return Error(p, absl::StrFormat("bad number syntax: \"%s\"",
                                      src_.substr(p, q + 1 - p)));
    }
    Emit(Tok::kNumber, src_.substr(p, q - p), p, q);
    return q;
  }

  // A character constant at `p` ('a', '\n', '\u00e9'); the parser reads
  // its value.
  absl::StatusOr<size_t> Char(size_t p) {
    size_t q = p + 1;
    for (;;) {
      if (q >= src_.size() || src_[q] == '\n') {
        return Error(p, "unterminated character constant");
      }
      if (src_[q] == '\\') {
        q += 2;
        continue;
      }
      if (src_[q] == '\'') break;
      ++q;
    }
    // One character (or escape) between the quotes, as strconv.UnquoteChar.
    size_t i = p + 1;
    uint32_t r = 0;
    bool is_byte = false;
    if (src_[i] == '\\') {
      if (!UnquoteEscape(src_, &i, '\'', &r, &is_byte)) {
        return Error(p, "invalid syntax");
      }
    } else if (!DecodeUtf8(src_, &i, &r)) {
      return Error(p, "invalid syntax");
    }
    if (i != q) {
      return Error(p, absl::StrCat("malformed character constant: ",
                                   src_.substr(p, q + 1 - p)));
    }
    Emit(Tok::kChar, absl::StrCat(r), p, q + 1);
    return q + 1;
  }

  // A "quoted" or `raw` string at `p`; returns the position after it.
  absl::StatusOr<size_t> Quote(size_t p) {
    const size_t n = src_.size();
    const char q = src_[p];
    std::string val;
    size_t i = p + 1;
    if (q == '`') {
      const size_t close = src_.find('`', i);
      if (close == std::string::npos) {
        return Error(p, "unterminated raw quoted string");
      }
      // strconv.Unquote drops carriage returns from a raw string.
      std::string raw = src_.substr(i, close - i);
      raw.erase(std::remove(raw.begin(), raw.end(), '\r'), raw.end());
      Emit(Tok::kString, std::move(raw), p, close + 1);
      return close + 1;
    }
    size_t close = i;
    for (;; ++close) {
      if (close >= n || src_[close] == '\n') {
        return Error(p, "unterminated quoted string");
      }
      if (src_[close] == '\\') {
        ++close;
        if (close >= n || src_[close] == '\n') {
          return Error(p, "unterminated quoted string");
        }
        continue;
      }
      if (src_[close] == '"') break;
    }
    while (i < close) {
      if (src_[i] != '\\') {
        val.push_back(src_[i++]);
        continue;
      }
      uint32_t r = 0;
      bool is_byte = false;
      if (!UnquoteEscape(src_, &i, '"', &r, &is_byte)) {
        return Error(p, "invalid syntax");
      }
      if (is_byte) {
        val.push_back(static_cast<char>(r));
      } else {
        AppendUtf8(r, &val);
      }
    }
    Emit(Tok::kString, std::move(val), p, close + 1);
    return close + 1;
  }

  const std::string& name_;
  const std::string& src_;
  std::vector<Token> tokens_;
};

}  // namespace

absl::StatusOr<std::vector<Token>> Lex(const std::string& name,
                                       const std::string& source) {
  Lexer lexer(name, source);
  absl::StatusOr<std::vector<Token>> tokens = lexer.Run();
  if (tokens.ok()) return tokens;
  std::vector<Token> partial = lexer.TakeTokens();
  const size_t pos = partial.empty() ? 0 : partial.back().end;
  partial.push_back(
      Token{Tok::kError, std::string(tokens.status().message()), pos, pos});
  partial.push_back(Token{Tok::kEOF, "", source.size(), source.size()});
  return partial;
}

}  // namespace ia::automation::template_internal
