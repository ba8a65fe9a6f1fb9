// The lexer of the template engine. See template_lex.h.
#include "services/automation/template_lex.h"

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

 private:
  absl::Status Error(size_t offset, absl::string_view msg) {
    return absl::InvalidArgumentError(
        absl::StrCat(Location(name_, src_, offset), msg));
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
        while (q < n && IsAlnum(src_[q])) ++q;
        if (c == '.' && q > p + 1 && IsDigit(src_[p + 1])) {
          return Error(p, "floating-point numbers are not supported");
        }
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
        size_t q = p + 1;
        while (q < n && (IsAlnum(src_[q]) || src_[q] == '.')) ++q;
        Emit(Tok::kNumber, src_.substr(p, q - p), p, q);
        p = q;
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
        Location(name_, src_, q), "bad character ", DescribeChar(c)));
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
      Emit(Tok::kString, src_.substr(i, close - i), p, close + 1);
      return close + 1;
    }
    for (;; ++i) {
      if (i >= n || src_[i] == '\n') {
        return Error(p, "unterminated quoted string");
      }
      const char c = src_[i];
      if (c == '"') break;
      if (c != '\\') {
        val.push_back(c);
        continue;
      }
      if (++i >= n) return Error(p, "unterminated quoted string");
      switch (src_[i]) {
        case 'n':
          val.push_back('\n');
          break;
        case 't':
          val.push_back('\t');
          break;
        case 'r':
          val.push_back('\r');
          break;
        case '\\':
          val.push_back('\\');
          break;
        case '"':
          val.push_back('"');
          break;
        case '\'':
          val.push_back('\'');
          break;
        default:
          return Error(i - 1, absl::StrFormat("unsupported escape \\%c in "
                                              "quoted string",
                                              src_[i]));
      }
    }
    Emit(Tok::kString, std::move(val), p, i + 1);
    return i + 1;
  }

  const std::string& name_;
  const std::string& src_;
  std::vector<Token> tokens_;
};

}  // namespace

absl::StatusOr<std::vector<Token>> Lex(const std::string& name,
                                       const std::string& source) {
  Lexer lexer(name, source);
  return lexer.Run();
}

}  // namespace ia::automation::template_internal
