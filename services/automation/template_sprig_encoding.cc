// Sprig's encoding, hashing, JSON and regular-expression functions
// (strings.go, crypto.go, defaults.go, regex.go): their rows of the
// function table (template_functions.h). Regular expressions are RE2, the
// syntax Go's regexp implements; replacements expand $1 and ${name} as Go's
// Regexp.Expand does.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "re2/re2.h"
#include "services/automation/template_functions.h"
#include "services/automation/template_lex.h"
#include "services/automation/template_sprig.h"

namespace ia::automation::template_internal {
namespace {

using Args = std::vector<TemplateValue>;
using Result = absl::StatusOr<TemplateValue>;
using Kind = TemplateValue::Kind;

TemplateValue Str(std::string s) { return TemplateValue::String(std::move(s)); }
const std::string& S(const Args& a, size_t i) { return a[i].string_value(); }

// --- Base64 and base32 -------------------------------------------------------

Result B64Enc(const Args& a, const CallContext&) {
  return Str(absl::Base64Escape(S(a, 0)));
}

// Go's base64 and base32 StdEncoding.DecodeString, quantum by quantum: \r
// and \n are skipped; padding is required; on a bad byte the result is
// Go's error "illegal base64 data at input byte N" (Sprig's b64dec and
// b32dec return the error's text as the result).
absl::StatusOr<std::string> DecodeBaseOr(const std::string& src, int bits) {
  const std::string alphabet =
      bits == 6
          ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
          : "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const size_t quantum = bits == 6 ? 4 : 8;
  auto illegal = [&](size_t at) {
    return absl::InvalidArgumentError(absl::StrCat(
        "illegal base", bits == 6 ? 64 : 32, " data at input byte ", at));
  };
  auto skip_newlines = [&](size_t si) {
    while (si < src.size() && (src[si] == '\n' || src[si] == '\r')) ++si;
    return si;
  };
  std::string out;
  size_t si = 0;
  for (;;) {
    uint64_t acc = 0;
    size_t j = 0;
    size_t dlen = quantum;
    bool end = false;
    for (; j < quantum; ++j) {
      si = skip_newlines(si);
      if (si == src.size()) {
        if (j == 0) return out;
        return illegal(si - j);
      }
      const char in = src[si++];
      if (in == '=') {
        // Padding: how many '=' a quantum of j characters needs.
        size_t pads;
        if (bits == 6) {
          if (j < 2) return illegal(si - 1);
          pads = 4 - j;
        } else {
          if (j != 2 && j != 4 && j != 5 && j != 7) return illegal(si - 1);
          pads = 8 - j;
        }
        for (size_t k = 1; k < pads; ++k) {
          si = skip_newlines(si);
          if (si == src.size()) return illegal(src.size());
          if (src[si] != '=') return illegal(si - 1);
          ++si;
        }
        si = skip_newlines(si);
        if (si < src.size()) return illegal(si);
        dlen = j;
        end = true;
        break;
      }
      const size_t v = alphabet.find(in);
      if (v == std::string::npos) return illegal(si - 1);
      acc = (acc << bits) | v;
    }
    // The bytes of this quantum: j characters of `bits` bits each.
    const size_t total_bits = dlen * bits;
    acc <<= (quantum - dlen) * bits;
    const size_t nbytes = total_bits / 8;
    const size_t qbits = quantum * bits;
    for (size_t k = 0; k < nbytes; ++k) {
      out.push_back(static_cast<char>((acc >> (qbits - 8 * (k + 1))) & 0xFF));
    }
    if (end) return out;
  }
}

std::string DecodeBase(const std::string& src, int bits) {
  absl::StatusOr<std::string> out = DecodeBaseOr(src, bits);
  return out.ok() ? *std::move(out) : std::string(out.status().message());
}

Result B64Dec(const Args& a, const CallContext&) {
  return Str(DecodeBase(S(a, 0), 6));
}

Result B32Enc(const Args& a, const CallContext&) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const std::string& in = S(a, 0);
  std::string out;
  uint64_t acc = 0;
  int nbits = 0;
  for (const char c : in) {
    acc = (acc << 8) | static_cast<unsigned char>(c);
    nbits += 8;
    while (nbits >= 5) {
      nbits -= 5;
      out.push_back(kAlphabet[(acc >> nbits) & 31]);
    }
  }
  if (nbits > 0) out.push_back(kAlphabet[(acc << (5 - nbits)) & 31]);
  while (out.size() % 8 != 0) out.push_back('=');
  return Str(std::move(out));
}

Result B32Dec(const Args& a, const CallContext&) {
  return Str(DecodeBase(S(a, 0), 5));
}

// --- Hashes
// -------------------------------------------------------------------

uint32_t Rotl(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }
uint32_t Rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

// The message padded to 64-byte blocks with its bit length, big-endian.
std::string Padded(const std::string& in) {
  std::string m = in;
  m.push_back(static_cast<char>(0x80));
  while (m.size() % 64 != 56) m.push_back('\0');
  const uint64_t bits = static_cast<uint64_t>(in.size()) * 8;
  for (int i = 7; i >= 0; --i) m.push_back(static_cast<char>(bits >> (i * 8)));
  return m;
}

uint32_t Word(const std::string& m, size_t at) {
  return (static_cast<uint32_t>(static_cast<unsigned char>(m[at])) << 24) |
         (static_cast<uint32_t>(static_cast<unsigned char>(m[at + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<unsigned char>(m[at + 2])) << 8) |
         static_cast<uint32_t>(static_cast<unsigned char>(m[at + 3]));
}

std::string Sha1Hex(const std::string& in) {
  uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  const std::string m = Padded(in);
  for (size_t block = 0; block < m.size(); block += 64) {
    uint32_t w[80];
    for (int i = 0; i < 16; ++i) w[i] = Word(m, block + i * 4);
    for (int i = 16; i < 80; ++i) {
      w[i] = Rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; ++i) {
      uint32_t f, k;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5A827999;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ED9EBA1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8F1BBCDC;
      } else {
        f = b ^ c ^ d;
        k = 0xCA62C1D6;
      }
      const uint32_t t = Rotl(a, 5) + f + e + k + w[i];
      e = d;
      d = c;
      c = Rotl(b, 30);
      b = a;
      a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
  }
  std::string out;
  for (const uint32_t x : h) absl::StrAppendFormat(&out, "%08x", x);
  return out;
}

std::string Sha256Hex(const std::string& in) {
  static constexpr uint32_t k[64] = {
      0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
      0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
      0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
      0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
      0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
      0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
      0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
      0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
      0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
      0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
      0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  const std::string m = Padded(in);
  for (size_t block = 0; block < m.size(); block += 64) {
    uint32_t w[64];
    for (int i = 0; i < 16; ++i) w[i] = Word(m, block + i * 4);
    for (int i = 16; i < 64; ++i) {
      const uint32_t s0 =
          Rotr(w[i - 15], 7) ^ Rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const uint32_t s1 =
          Rotr(w[i - 2], 17) ^ Rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t v[8];
    for (int i = 0; i < 8; ++i) v[i] = h[i];
    for (int i = 0; i < 64; ++i) {
      const uint32_t s1 = Rotr(v[4], 6) ^ Rotr(v[4], 11) ^ Rotr(v[4], 25);
      const uint32_t ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
      const uint32_t t1 = v[7] + s1 + ch + k[i] + w[i];
      const uint32_t s0 = Rotr(v[0], 2) ^ Rotr(v[0], 13) ^ Rotr(v[0], 22);
      const uint32_t maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
      const uint32_t t2 = s0 + maj;
      for (int j = 7; j > 0; --j) v[j] = v[j - 1];
      v[4] += t1;
      v[0] = t1 + t2;
    }
    for (int i = 0; i < 8; ++i) h[i] += v[i];
  }
  std::string out;
  for (const uint32_t x : h) absl::StrAppendFormat(&out, "%08x", x);
  return out;
}

Result Sha1Sum(const Args& a, const CallContext&) {
  return Str(Sha1Hex(S(a, 0)));
}
Result Sha256Sum(const Args& a, const CallContext&) {
  return Str(Sha256Hex(S(a, 0)));
}
Result Adler32Sum(const Args& a, const CallContext&) {
  uint32_t s1 = 1, s2 = 0;
  for (const char c : S(a, 0)) {
    s1 = (s1 + static_cast<unsigned char>(c)) % 65521;
    s2 = (s2 + s1) % 65521;
  }
  return Str(absl::StrCat((s2 << 16) | s1));
}

// --- Regular expressions -----------------------------------------------------

// Compiles `pattern` as Go's regexp.Compile would accept it (RE2 syntax,
// UTF-8); the error text is RE2's.
absl::StatusOr<std::unique_ptr<RE2>> Compile(const std::string& pattern) {
  RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_unique<RE2>(pattern, options);
  if (!re->ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("error parsing regexp: ", re->error()));
  }
  return re;
}

// The next match of `re` in `s` at or after `pos`: submatch spans as byte
// offsets (-1 when a group did not take part), or empty when none.
std::vector<std::pair<int64_t, int64_t>> MatchAt(const RE2& re,
                                                 const std::string& s,
                                                 size_t pos) {
  const int groups = re.NumberOfCapturingGroups() + 1;
  std::vector<re2::StringPiece> sub(groups);
  if (!re.Match(s, pos, s.size(), RE2::UNANCHORED, sub.data(), groups)) {
    return {};
  }
  std::vector<std::pair<int64_t, int64_t>> spans;
  for (const re2::StringPiece& m : sub) {
    if (m.data() == nullptr) {
      spans.emplace_back(-1, -1);
    } else {
      const int64_t b = m.data() - s.data();
      spans.emplace_back(b, b + static_cast<int64_t>(m.size()));
    }
  }
  return spans;
}

size_t RuneWidth(const std::string& s, size_t pos) {
  if (pos >= s.size()) return 0;
  size_t i = pos;
  uint32_t r = 0;
  DecodeUtf8(s, &i, &r);
  return i - pos;
}

// Go's Regexp.allMatches: up to n (all when negative) non-overlapping
// matches, an empty match right after a match skipped.
std::vector<std::vector<std::pair<int64_t, int64_t>>> AllMatches(
    const RE2& re, const std::string& s, int64_t n) {
  std::vector<std::vector<std::pair<int64_t, int64_t>>> out;
  if (n < 0) n = static_cast<int64_t>(s.size()) + 1;
  int64_t prev_end = -1;
  size_t pos = 0;
  while (static_cast<int64_t>(out.size()) < n && pos <= s.size()) {
    auto m = MatchAt(re, s, pos);
    if (m.empty()) break;
    bool accept = true;
    if (m[0].second == static_cast<int64_t>(pos)) {
      if (m[0].first == prev_end) accept = false;
      const size_t w = RuneWidth(s, pos);
      pos = w > 0 ? pos + w : s.size() + 1;
    } else {
      pos = m[0].second;
    }
    prev_end = m[0].second;
    if (accept) out.push_back(std::move(m));
  }
  return out;
}

bool IsWordChar(char c) {
  return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
         (c >= 'A' && c <= 'Z');
}

// Go's Regexp.Expand of `templ` for one match.
void Expand(const RE2& re, const std::string& templ, const std::string& src,
            const std::vector<std::pair<int64_t, int64_t>>& m,
            std::string* out) {
  const auto& names = re.NamedCapturingGroups();
  auto group = [&](int i) {
    if (i >= 0 && static_cast<size_t>(i) < m.size() && m[i].first >= 0) {
      out->append(src, m[i].first, m[i].second - m[i].first);
    }
  };
  size_t i = 0;
  while (i < templ.size()) {
    const size_t dollar = templ.find('$', i);
    if (dollar == std::string::npos) {
      out->append(templ, i, std::string::npos);
      return;
    }
    out->append(templ, i, dollar - i);
    i = dollar + 1;
    if (i < templ.size() && templ[i] == '$') {
      out->push_back('$');
      ++i;
      continue;
    }
    std::string name;
    size_t end = i;
    bool ok = false;
    if (i < templ.size() && templ[i] == '{') {
      size_t j = i + 1;
      while (j < templ.size() && IsWordChar(templ[j])) ++j;
      if (j > i + 1 && j < templ.size() && templ[j] == '}') {
        name = templ.substr(i + 1, j - i - 1);
        end = j + 1;
        ok = true;
      }
    } else {
      size_t j = i;
      while (j < templ.size() && IsWordChar(templ[j])) ++j;
      if (j > i) {
        name = templ.substr(i, j - i);
        end = j;
        ok = true;
      }
    }
    if (!ok) {
      out->push_back('$');  // Malformed: the $ stays.
      continue;
    }
    i = end;
    bool digits = true;
    int num = 0;
    for (const char c : name) {
      if (c < '0' || c > '9') {
        digits = false;
        break;
      }
      num = num > 100000 ? num : num * 10 + (c - '0');
    }
    if (digits) {
      group(num);
    } else if (const auto it = names.find(name); it != names.end()) {
      group(it->second);
    }
  }
}

// Go's Regexp.ReplaceAllString (expand) or ReplaceAllLiteralString.
std::string ReplaceAll(const RE2& re, const std::string& src,
                       const std::string& repl, bool literal) {
  std::string buf;
  int64_t last_end = 0;
  size_t search = 0;
  while (search <= src.size()) {
    const auto m = MatchAt(re, src, search);
    if (m.empty()) break;
    buf.append(src, last_end, m[0].first - last_end);
    if (m[0].second > last_end || m[0].first == 0) {
      if (literal) {
        buf += repl;
      } else {
        Expand(re, repl, src, m, &buf);
      }
    }
    last_end = m[0].second;
    const size_t w = RuneWidth(src, search);
    if (static_cast<int64_t>(search + w) > m[0].second) {
      search += w;
    } else if (static_cast<int64_t>(search + 1) > m[0].second) {
      ++search;
    } else {
      search = m[0].second;
    }
  }
  buf.append(src, last_end, std::string::npos);
  return buf;
}

// Go's Regexp.Split.
std::vector<std::string> Split(const RE2& re, const std::string& s, int64_t n) {
  std::vector<std::string> out;
  if (n == 0) return out;
  if (!re.pattern().empty() && s.empty()) return {""};
  const auto matches = AllMatches(re, s, n);
  int64_t beg = 0, end = 0;
  for (const auto& m : matches) {
    if (n > 0 && static_cast<int64_t>(out.size()) == n - 1) break;
    end = m[0].first;
    if (m[0].second != 0) out.push_back(s.substr(beg, end - beg));
    beg = m[0].second;
  }
  if (end != static_cast<int64_t>(s.size())) out.push_back(s.substr(beg));
  return out;
}

// The regex functions share one implementation: the name says which, and
// whether a bad pattern is an error (must*, and the ones that use
// regexp.MustCompile) or false (regexMatch).
Result Regex(const Args& a, const CallContext& context) {
  std::string name(context.name);
  const bool must = name.rfind("must", 0) == 0;
  if (must) {
    name = "r" + name.substr(5);
  }
  absl::StatusOr<std::unique_ptr<RE2>> re = Compile(S(a, 0));
  if (!re.ok()) {
    if (name == "regexMatch" && !must) return TemplateValue::Bool(false);
    if (must) return re.status();
    return absl::InvalidArgumentError(absl::StrCat(
        "regexp: Compile(", GoQuote(S(a, 0)), "): ", re.status().message()));
  }
  const std::string& s = S(a, 1);
  if (name == "regexMatch") {
    return TemplateValue::Bool(!MatchAt(**re, s, 0).empty());
  }
  if (name == "regexFind") {
    const auto m = MatchAt(**re, s, 0);
    return Str(m.empty() ? "" : s.substr(m[0].first, m[0].second - m[0].first));
  }
  if (name == "regexFindAll") {
    std::vector<std::string> out;
    for (const auto& m : AllMatches(**re, s, a[2].int_value())) {
      out.push_back(s.substr(m[0].first, m[0].second - m[0].first));
    }
    if (out.empty()) return TemplateValue::NilList("[]string");
    return StringList(out);
  }
  if (name == "regexSplit") {
    if (a[2].int_value() == 0) return TemplateValue::NilList("[]string");
    return StringList(Split(**re, s, a[2].int_value()));
  }
  const bool literal = name == "regexReplaceAllLiteral";
  return BuiltString(ReplaceAll(**re, s, S(a, 2), literal), context);
}

Result QuoteMeta(const Args& a, const CallContext&) {
  std::string out;
  for (const char c : S(a, 0)) {
    if (std::string("\\.+*?()|[]{}^$").find(c) != std::string::npos) {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  return Str(std::move(out));
}

constexpr TemplateFunction kEncoding[] = {
    {"b64enc", "s", false, B64Enc},
    {"b64dec", "s", false, B64Dec},
    {"b32enc", "s", false, B32Enc},
    {"b32dec", "s", false, B32Dec},
    {"sha1sum", "s", false, Sha1Sum},
    {"sha256sum", "s", false, Sha256Sum},
    {"adler32sum", "s", false, Adler32Sum},
    {"regexMatch", "ss", false, Regex},
    {"mustRegexMatch", "ss", false, Regex},
    {"regexFindAll", "ssi", false, Regex},
    {"mustRegexFindAll", "ssi", false, Regex},
    {"regexFind", "ss", false, Regex},
    {"mustRegexFind", "ss", false, Regex},
    {"regexReplaceAll", "sss", false, Regex},
    {"mustRegexReplaceAll", "sss", false, Regex},
    {"regexReplaceAllLiteral", "sss", false, Regex},
    {"mustRegexReplaceAllLiteral", "sss", false, Regex},
    {"regexSplit", "ssi", false, Regex},
    {"mustRegexSplit", "ssi", false, Regex},
    {"regexQuoteMeta", "s", false, QuoteMeta},
};

}  // namespace

absl::StatusOr<std::string> GoBase64Decode(const std::string& src) {
  return DecodeBaseOr(src, 6);
}

absl::Span<const TemplateFunction> SprigEncodingFunctions() {
  return kEncoding;
}

}  // namespace ia::automation::template_internal
