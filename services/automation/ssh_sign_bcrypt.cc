#include "services/automation/ssh_sign_bcrypt.h"

#include <openssl/bn.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"

namespace ia::automation::ssh_internal {
namespace {

constexpr int kStateWords = 18 + 4 * 256;
constexpr int kFractionBits = kStateWords * 32;
constexpr int kGuardBits = 64;

using BigNum = std::unique_ptr<BIGNUM, decltype(&BN_free)>;

BigNum NewBigNum() { return BigNum(BN_new(), &BN_free); }

// arctan(1/x) * 2^bits, by its Taylor series, each term truncated (the
// error, under one unit per term, stays inside the guard bits).
BigNum ArctanInverse(BN_ULONG x, int bits) {
  BigNum sum = NewBigNum();
  BigNum term = NewBigNum();
  BigNum part = NewBigNum();
  BN_zero(sum.get());
  BN_one(term.get());
  BN_lshift(term.get(), term.get(), bits);
  BN_div_word(term.get(), x);
  const BN_ULONG x2 = x * x;
  for (BN_ULONG k = 0; !BN_is_zero(term.get()); ++k) {
    BN_copy(part.get(), term.get());
    BN_div_word(part.get(), 2 * k + 1);
    if (k % 2 == 0) {
      BN_add(sum.get(), sum.get(), part.get());
    } else {
      BN_sub(sum.get(), sum.get(), part.get());
    }
    BN_div_word(term.get(), x2);
  }
  return sum;
}

// pi = 16 arctan(1/5) - 4 arctan(1/239) (Machin), its fraction as words.
std::array<uint32_t, kStateWords> ComputePiWords() {
  const int bits = kFractionBits + kGuardBits;
  BigNum pi = ArctanInverse(5, bits);
  BN_mul_word(pi.get(), 16);
  BigNum b = ArctanInverse(239, bits);
  BN_mul_word(b.get(), 4);
  BN_sub(pi.get(), pi.get(), b.get());
  BN_rshift(pi.get(), pi.get(), kGuardBits);
  BN_mask_bits(pi.get(), kFractionBits);  // drop the integer part, 3
  std::vector<unsigned char> bytes(kFractionBits / 8);
  BN_bn2binpad(pi.get(), bytes.data(), static_cast<int>(bytes.size()));
  std::array<uint32_t, kStateWords> words;
  for (int i = 0; i < kStateWords; ++i) {
    const unsigned char* p = &bytes[4 * i];
    words[i] = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
               (uint32_t{p[2]} << 8) | p[3];
  }
  return words;
}

struct Blowfish {
  uint32_t p[18];
  uint32_t s[4][256];

  void Init() {
    const uint32_t* init = BlowfishInitialState();
    std::memcpy(p, init, sizeof(p));
    std::memcpy(s, init + 18, sizeof(s));
  }

  uint32_t F(uint32_t x) const {
    return ((s[0][x >> 24] + s[1][(x >> 16) & 0xff]) ^ s[2][(x >> 8) & 0xff]) +
           s[3][x & 0xff];
  }

  void Encrypt(uint32_t* left, uint32_t* right) const {
    uint32_t l = *left, r = *right;
    for (int i = 0; i < 16; ++i) {
      l ^= p[i];
      r ^= F(l);
      std::swap(l, r);
    }
    std::swap(l, r);
    r ^= p[16];
    l ^= p[17];
    *left = l;
    *right = r;
  }

  // The next 32-bit big-endian word of `data`, read cyclically.
  static uint32_t StreamWord(const unsigned char* data, size_t size,
                             size_t* at) {
    uint32_t word = 0;
    for (int i = 0; i < 4; ++i) {
      if (*at >= size) *at = 0;
      word = (word << 8) | data[(*at)++];
    }
    return word;
  }

  // bcrypt's ExpandKey(state, salt, key); `salt` may be empty (expand0).
  void Expand(const unsigned char* salt, size_t salt_size,
              const unsigned char* key, size_t key_size) {
    size_t at = 0;
    for (uint32_t& word : p) word ^= StreamWord(key, key_size, &at);
    at = 0;
    uint32_t l = 0, r = 0;
    auto next = [&](uint32_t* a, uint32_t* b) {
      if (salt_size > 0) {
        l ^= StreamWord(salt, salt_size, &at);
        r ^= StreamWord(salt, salt_size, &at);
      }
      Encrypt(&l, &r);
      *a = l;
      *b = r;
    };
    for (int i = 0; i < 18; i += 2) next(&p[i], &p[i + 1]);
    for (auto& box : s) {
      for (int k = 0; k < 256; k += 2) next(&box[k], &box[k + 1]);
    }
  }
};

constexpr size_t kHashSize = 32;

// bcrypt_hash: the EksBlowfish of the two SHA-512 digests, encrypting
// "OxychromaticBlowfishSwatDynamite" 64 times; words out little-endian.
void BcryptHash(const unsigned char* sha2pass, const unsigned char* sha2salt,
                unsigned char* out) {
  static constexpr char kText[] = "OxychromaticBlowfishSwatDynamite";
  auto state = std::make_unique<Blowfish>();
  state->Init();
  state->Expand(sha2salt, SHA512_DIGEST_LENGTH, sha2pass, SHA512_DIGEST_LENGTH);
  for (int i = 0; i < 64; ++i) {
    state->Expand(nullptr, 0, sha2salt, SHA512_DIGEST_LENGTH);
    state->Expand(nullptr, 0, sha2pass, SHA512_DIGEST_LENGTH);
  }
  uint32_t data[8];
  size_t at = 0;
  for (uint32_t& word : data) {
    word = Blowfish::StreamWord(reinterpret_cast<const unsigned char*>(kText),
                                kHashSize, &at);
  }
  for (int i = 0; i < 64; ++i) {
    for (int j = 0; j < 8; j += 2) state->Encrypt(&data[j], &data[j + 1]);
  }
  for (int i = 0; i < 8; ++i) {
    out[4 * i + 3] = static_cast<unsigned char>(data[i] >> 24);
    out[4 * i + 2] = static_cast<unsigned char>(data[i] >> 16);
    out[4 * i + 1] = static_cast<unsigned char>(data[i] >> 8);
    out[4 * i + 0] = static_cast<unsigned char>(data[i]);
  }
}

}  // namespace

const uint32_t* BlowfishInitialState() {
  static const std::array<uint32_t, kStateWords> kWords = ComputePiWords();
  return kWords.data();
}

absl::StatusOr<std::string> BcryptPbkdf(absl::string_view passphrase,
                                        absl::string_view salt, uint32_t rounds,
                                        size_t length) {
  if (rounds == 0 || salt.empty() || length == 0 || length > 1024) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bcrypt: invalid parameters (rounds ", rounds, ", salt of ",
        salt.size(), " bytes, ", length, " bytes asked)"));
  }
  const size_t stride = (length + kHashSize - 1) / kHashSize;
  size_t amount = (length + stride - 1) / stride;
  unsigned char sha2pass[SHA512_DIGEST_LENGTH];
  SHA512(reinterpret_cast<const unsigned char*>(passphrase.data()),
         passphrase.size(), sha2pass);
  std::string key(length, '\0');
  std::string count_salt(salt);
  count_salt.append(4, '\0');
  size_t left = length;
  for (uint32_t count = 1; left > 0; ++count) {
    for (int i = 0; i < 4; ++i) {
      count_salt[salt.size() + i] = static_cast<char>(count >> (24 - 8 * i));
    }
    unsigned char sha2salt[SHA512_DIGEST_LENGTH];
    SHA512(reinterpret_cast<const unsigned char*>(count_salt.data()),
           count_salt.size(), sha2salt);
    unsigned char block[kHashSize], out[kHashSize];
    BcryptHash(sha2pass, sha2salt, block);
    std::memcpy(out, block, kHashSize);
    for (uint32_t round = 1; round < rounds; ++round) {
      SHA512(block, kHashSize, sha2salt);
      BcryptHash(sha2pass, sha2salt, block);
      for (size_t i = 0; i < kHashSize; ++i) out[i] ^= block[i];
    }
    amount = std::min(amount, left);
    size_t i = 0;
    for (; i < amount; ++i) {
      const size_t dest = i * stride + (count - 1);
      if (dest >= length) break;
      key[dest] = static_cast<char>(out[i]);
    }
    left -= i;
  }
  return key;
}

}  // namespace ia::automation::ssh_internal
