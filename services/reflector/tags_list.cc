#include "services/reflector/tags_list.h"

#include <cstddef>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace ia::reflector {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Appends code point `cp` (a Unicode scalar value) as UTF-8.
void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

// One pass over a reply; `pos_` only moves forward.
class Scanner {
 public:
  Scanner(absl::string_view body, int64_t max_tags,
          std::vector<std::string>* tags)
      : body_(body), max_tags_(max_tags), tags_(tags) {}

  absl::Status Page() {
    const size_t start_size = tags_->size();
    SkipSpace();
    if (!Consume('{')) {
      return AtEnd() ? Expected("a JSON object") : Bad("not a JSON object");
    }
    SkipSpace();
    if (!Consume('}')) {
      std::string key;
      for (;;) {
        SkipSpace();
        if (Peek() != '"') return Expected("a member name");
        key.clear();
        RETURN_IF_ERROR(String(&key));
        SkipSpace();
        if (!Consume(':')) return Expected("':'");
        SkipSpace();
        if (key == "tags") {
          // The last "tags" wins.
          tags_->resize(start_size);
          RETURN_IF_ERROR(Tags());
        } else {
          RETURN_IF_ERROR(Value(/*depth=*/1));
        }
        SkipSpace();
        if (Consume('}')) break;
        if (!Consume(',')) return Expected("',' or '}'");
      }
    }
    SkipSpace();
    if (pos_ != body_.size()) return Expected("the end of the reply");
    return absl::OkStatus();
  }

 private:
  char Peek() const { return pos_ < body_.size() ? body_[pos_] : '\0'; }
  bool AtEnd() const { return pos_ >= body_.size(); }
  bool Consume(char c) {
    if (pos_ < body_.size() && body_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void SkipSpace() {
    while (pos_ < body_.size() && IsSpace(body_[pos_])) ++pos_;
  }

  absl::Status Bad(absl::string_view why) const {
    return absl::DataLossError(why);
  }
  // "expected WHAT at byte N", or "... but the reply ends at byte N".
  absl::Status Expected(absl::string_view what) const {
    if (AtEnd()) {
      return absl::DataLossError(absl::StrCat("not valid JSON: expected ", what,
                                              " but the reply ends at byte ",
                                              body_.size(), " (truncated?)"));
    }
    return absl::DataLossError(
        absl::StrCat("not valid JSON: expected ", what, " at byte ", pos_));
  }
  absl::Status BadString(absl::string_view why, size_t at) const {
    return absl::DataLossError(
        absl::StrCat("not valid JSON: ", why, " at byte ", at));
  }

  // "tags": null or an array of strings.
  absl::Status Tags() {
    if (Literal("null")) return absl::OkStatus();
    if (!Consume('[')) {
      if (!AtEnd() && (Peek() == '{' || Peek() == '"' || Peek() == '-' ||
                       IsDigit(Peek()) || Peek() == 't' || Peek() == 'f')) {
        return Bad("\"tags\" is not an array");
      }
      return Expected("a JSON value");
    }
    SkipSpace();
    if (Consume(']')) return absl::OkStatus();
    for (;;) {
      SkipSpace();
      if (Peek() != '"') {
        if (AtEnd()) return Expected("a tag");
        return Bad("\"tags\" holds a value that is not a string");
      }
      if (static_cast<int64_t>(tags_->size()) >= max_tags_) {
        return absl::ResourceExhaustedError("more tags than the limit");
      }
      std::string& tag = tags_->emplace_back();
      RETURN_IF_ERROR(String(&tag));
      SkipSpace();
      if (Consume(']')) return absl::OkStatus();
      if (!Consume(',')) return Expected("',' or ']'");
    }
  }

  bool Literal(absl::string_view word) {
    if (body_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  // Any JSON value, skipped.
  absl::Status Value(int depth) {
    if (depth > kMaxTagsListDepth) {
      return BadString(absl::StrCat("nesting deeper than ", kMaxTagsListDepth),
                       pos_);
    }
    const char c = Peek();
    if (c == '"') return String(nullptr);
    if (c == '{') {
      ++pos_;
      SkipSpace();
      if (Consume('}')) return absl::OkStatus();
      for (;;) {
        SkipSpace();
        if (Peek() != '"') return Expected("a member name");
        RETURN_IF_ERROR(String(nullptr));
        SkipSpace();
        if (!Consume(':')) return Expected("':'");
        SkipSpace();
        RETURN_IF_ERROR(Value(depth + 1));
        SkipSpace();
        if (Consume('}')) return absl::OkStatus();
        if (!Consume(',')) return Expected("',' or '}'");
      }
    }
    if (c == '[') {
      ++pos_;
      SkipSpace();
      if (Consume(']')) return absl::OkStatus();
      for (;;) {
        SkipSpace();
        RETURN_IF_ERROR(Value(depth + 1));
        SkipSpace();
        if (Consume(']')) return absl::OkStatus();
        if (!Consume(',')) return Expected("',' or ']'");
      }
    }
    if (c == '-' || IsDigit(c)) return Number();
    if (Literal("true") || Literal("false") || Literal("null")) {
      return absl::OkStatus();
    }
    return Expected("a JSON value");
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  absl::Status Number() {
    Consume('-');
    if (Consume('0')) {
    } else if (IsDigit(Peek())) {
      while (IsDigit(Peek())) ++pos_;
    } else {
      return Expected("a digit");
    }
    if (Consume('.')) {
      if (!IsDigit(Peek())) return Expected("a digit");
      while (IsDigit(Peek())) ++pos_;
    }
    if (Consume('e') || Consume('E')) {
      if (!Consume('+')) Consume('-');
      if (!IsDigit(Peek())) return Expected("a digit");
      while (IsDigit(Peek())) ++pos_;
    }
    return absl::OkStatus();
  }

  // Four hex digits after "\u".
  bool Hex4(uint32_t* value) {
    if (body_.size() - pos_ < 4) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = body_[pos_ + i];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= c - '0';
      } else if (c >= 'a' && c <= 'f') {
        v |= c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        v |= c - 'A' + 10;
      } else {
        return false;
      }
    }
    pos_ += 4;
    *value = v;
    return true;
  }

  // The length of the well-formed UTF-8 sequence at pos_ (a lead byte
  // >= 0x80), or 0.
  size_t Utf8Length() const {
    const auto byte = [&](size_t i) -> unsigned {
      return pos_ + i < body_.size()
                 ? static_cast<unsigned char>(body_[pos_ + i])
                 : 0u;
    };
    const auto cont = [&](size_t i) { return (byte(i) & 0xc0) == 0x80; };
    const unsigned b0 = byte(0);
    if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
    if (b0 >= 0xe0 && b0 <= 0xef) {
      const unsigned lo = b0 == 0xe0 ? 0xa0 : 0x80;
      const unsigned hi = b0 == 0xed ? 0x9f : 0xbf;
      return byte(1) >= lo && byte(1) <= hi && cont(2) ? 3 : 0;
    }
    if (b0 >= 0xf0 && b0 <= 0xf4) {
      const unsigned lo = b0 == 0xf0 ? 0x90 : 0x80;
      const unsigned hi = b0 == 0xf4 ? 0x8f : 0xbf;
      return byte(1) >= lo && byte(1) <= hi && cont(2) && cont(3) ? 4 : 0;
    }
    return 0;
  }

  // A string at pos_ (the opening quote), decoded into `out` (skipped when
  // null).
  absl::Status String(std::string* out) {
    ++pos_;  // '"'
    for (;;) {
      // The plain run up to the next quote, escape, control or non-ASCII
      // byte, copied at once.
      size_t run = pos_;
      while (run < body_.size()) {
        const auto c = static_cast<unsigned char>(body_[run]);
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
        ++run;
      }
      if (out != nullptr) out->append(body_.data() + pos_, run - pos_);
      pos_ = run;
      if (AtEnd()) return Expected("'\"'");
      const auto c = static_cast<unsigned char>(body_[pos_]);
      if (c == '"') {
        ++pos_;
        return absl::OkStatus();
      }
      if (c < 0x20) {
        return BadString("control character in a string (not escaped)", pos_);
      }
      if (c >= 0x80) {
        const size_t n = Utf8Length();
        if (n == 0) return BadString("invalid UTF-8 in a string", pos_);
        if (out != nullptr) out->append(body_.data() + pos_, n);
        pos_ += n;
        continue;
      }
      // An escape.
      const size_t at = pos_;
      ++pos_;
      if (AtEnd()) return Expected("an escape");
      const char e = body_[pos_++];
      char plain = 0;
      switch (e) {
        case '"':
        case '\\':
        case '/':
          plain = e;
          break;
        case 'b':
          plain = '\b';
          break;
        case 'f':
          plain = '\f';
          break;
        case 'n':
          plain = '\n';
          break;
        case 'r':
          plain = '\r';
          break;
        case 't':
          plain = '\t';
          break;
        case 'u': {
          uint32_t cp;
          if (!Hex4(&cp)) return BadString("invalid \\u escape", at);
          if (cp >= 0xdc00 && cp <= 0xdfff) {
            return BadString("\\u escape of a lone low surrogate", at);
          }
          if (cp >= 0xd800 && cp <= 0xdbff) {
            uint32_t low;
            if (!Literal("\\u") || !Hex4(&low) || low < 0xdc00 ||
                low > 0xdfff) {
              return BadString(
                  "\\u escape of a high surrogate without its pair", at);
            }
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          }
          if (out != nullptr) AppendUtf8(cp, out);
          continue;
        }
        default:
          return BadString("invalid escape in a string", at);
      }
      if (out != nullptr) out->push_back(plain);
    }
  }

  const absl::string_view body_;
  const int64_t max_tags_;
  std::vector<std::string>* const tags_;
  size_t pos_ = 0;
};

}  // namespace

absl::Status ParseTagsList(absl::string_view body, int64_t max_tags,
                           std::vector<std::string>* tags) {
  return Scanner(body, max_tags, tags).Page();
}

}  // namespace ia::reflector
