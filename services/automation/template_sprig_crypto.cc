// Sprig's cryptographic functions (crypto.go), with OpenSSL's libcrypto:
// derivePassword (Master Password's algorithm: scrypt of the password
// salted with the user, then HMAC-SHA256 of the site and counter picking a
// template and its characters), and encryptAES and decryptAES (AES-256-CBC,
// the key the password's first 32 bytes padded with zeros, PKCS#7 padding,
// a random IV before the ciphertext, all in standard base64); and bcrypt
// and htpasswd (bcrypt of cost 10 with a random salt, "$2a$" as Go's
// x/crypto writes it, by libcrypt); genPrivateKey (RSA 4096, DSA
// 2048/256, ECDSA P-256 in their traditional PEM forms, ed25519 as PKCS#8,
// as Go's encoders write them).
#include <crypt.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "services/automation/template_functions.h"
#include "services/automation/template_sprig.h"

namespace ia::automation::template_internal {
namespace {

using Args = std::vector<TemplateValue>;
using Result = absl::StatusOr<TemplateValue>;

constexpr absl::string_view kSeed = "com.lyndir.masterpassword";

// Master Password's templates of each password type.
std::vector<absl::string_view> Templates(absl::string_view type) {
  if (type == "maximum") {
    return {"anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"};
  }
  if (type == "long") {
    return {"CvcvnoCvcvCvcv", "CvcvCvcvnoCvcv", "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv", "CvccCvcvnoCvcv", "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv", "CvcvCvccnoCvcv", "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc", "CvcvCvcvnoCvcc", "CvcvCvcvCvccno",
            "CvccnoCvccCvcv", "CvccCvccnoCvcv", "CvccCvccCvcvno",
            "CvcvnoCvccCvcc", "CvcvCvccnoCvcc", "CvcvCvccCvccno",
            "CvccnoCvcvCvcc", "CvccCvcvnoCvcc", "CvccCvcvCvccno"};
  }
  if (type == "medium") return {"CvcnoCvc", "CvcCvcno"};
  if (type == "short") return {"Cvcn"};
  if (type == "basic") return {"aaanaaan", "aannaaan", "aaannaaa"};
  if (type == "pin") return {"nnnn"};
  return {};
}

// The characters a template character stands for.
absl::string_view Characters(char c) {
  switch (c) {
    case 'V':
      return "AEIOU";
    case 'C':
      return "BCDFGHJKLMNPQRSTVWXYZ";
    case 'v':
      return "aeiou";
    case 'c':
      return "bcdfghjklmnpqrstvwxyz";
    case 'A':
      return "AEIOUBCDFGHJKLMNPQRSTVWXYZ";
    case 'a':
      return "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz";
    case 'n':
      return "0123456789";
    case 'o':
      return "@&%?,=[]_:-+*$#!'^~;()/.";
    default:  // 'x'
      return "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#"
             "$%^&*()";
  }
}

void AppendBigEndian32(uint32_t v, std::string* out) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

// Sprig's derivePassword(counter, type, password, user, site); an unknown
// type or a failed derivation is a message in place of the password, as
// Sprig returns it.
Result DerivePassword(const Args& a, const CallContext&) {
  const uint32_t counter = static_cast<uint32_t>(a[0].int_value());
  const std::string& type = a[1].string_value();
  const std::string& password = a[2].string_value();
  const std::string& user = a[3].string_value();
  const std::string& site = a[4].string_value();
  const std::vector<absl::string_view> templates = Templates(type);
  if (templates.empty()) {
    return TemplateValue::String(
        absl::StrCat("cannot find password template ", type));
  }
  std::string salt(kSeed);
  AppendBigEndian32(static_cast<uint32_t>(user.size()), &salt);
  salt += user;
  unsigned char key[64];
  // scrypt N=32768, r=8, p=2 needs 32 MiB and a little more: above
  // OpenSSL's default limit, so the limit is raised to 64 MiB.
  if (EVP_PBE_scrypt(password.data(), password.size(),
                     reinterpret_cast<const unsigned char*>(salt.data()),
                     salt.size(), 32768, 8, 2, uint64_t{64} << 20, key,
                     sizeof(key)) != 1) {
    return TemplateValue::String("failed to derive password: scrypt failed");
  }
  std::string message(kSeed);
  AppendBigEndian32(static_cast<uint32_t>(site.size()), &message);
  message += site;
  AppendBigEndian32(counter, &message);
  unsigned char seed[32];
  unsigned int seed_size = 0;
  if (HMAC(EVP_sha256(), key, sizeof(key),
           reinterpret_cast<const unsigned char*>(message.data()),
           message.size(), seed, &seed_size) == nullptr) {
    return TemplateValue::String("failed to derive password: hmac failed");
  }
  const absl::string_view chosen = templates[seed[0] % templates.size()];
  std::string out;
  for (size_t i = 0; i < chosen.size(); ++i) {
    const absl::string_view chars = Characters(chosen[i]);
    out += chars[seed[i + 1] % chars.size()];
  }
  return TemplateValue::String(std::move(out));
}

// AES-256-CBC without padding over whole blocks of `in`; false when
// libcrypto fails.
bool AesCbc(bool encrypt, const std::string& password, const unsigned char* iv,
            const std::string& in, std::string* out) {
  unsigned char key[32] = {};
  for (size_t i = 0; i < password.size() && i < sizeof(key); ++i) {
    key[i] = static_cast<unsigned char>(password[i]);
  }
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) return false;
  out->assign(in.size() + 16, '\0');
  int n = 0;
  int final_n = 0;
  auto* dst = reinterpret_cast<unsigned char*>(out->data());
  const bool ok =
      EVP_CipherInit_ex(ctx, EVP_aes_256_cbc(), nullptr, key, iv,
                        encrypt ? 1 : 0) == 1 &&
      EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
      EVP_CipherUpdate(ctx, dst, &n,
                       reinterpret_cast<const unsigned char*>(in.data()),
                       static_cast<int>(in.size())) == 1 &&
      EVP_CipherFinal_ex(ctx, dst + n, &final_n) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) return false;
  out->resize(static_cast<size_t>(n + final_n));
  return true;
}

// Sprig's encryptAES(password, plaintext); "" stays "".
Result EncryptAes(const Args& a, const CallContext& context) {
  const std::string& plaintext = a[1].string_value();
  if (plaintext.empty()) return TemplateValue::String("");
  std::string content = plaintext;
  const size_t padding = 16 - content.size() % 16;
  content.append(padding, static_cast<char>(padding));
  unsigned char iv[16];
  std::string ciphertext;
  if (RAND_bytes(iv, sizeof(iv)) != 1 ||
      !AesCbc(true, a[0].string_value(), iv, content, &ciphertext)) {
    return absl::InternalError("encryptAES: libcrypto failed");
  }
  return BuiltString(
      absl::Base64Escape(absl::StrCat(
          absl::string_view(reinterpret_cast<char*>(iv), 16), ciphertext)),
      context);
}

// Sprig's decryptAES(password, base64); "" stays "". As Sprig, the padding
// is not checked: the last byte says how many to drop. Go's panics for a
// short input, partial blocks and a padding longer than the text.
Result DecryptAes(const Args& a, const CallContext&) {
  const std::string& crypt64 = a[1].string_value();
  if (crypt64.empty()) return TemplateValue::String("");
  ASSIGN_OR_RETURN(const std::string crypt, GoBase64Decode(crypt64));
  if (crypt.size() < 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("runtime error: slice bounds out of range [:16] with "
                     "capacity ",
                     crypt.size()));
  }
  const std::string body = crypt.substr(16);
  if (body.size() % 16 != 0) {
    return absl::InvalidArgumentError("crypto/cipher: input not full blocks");
  }
  if (body.empty()) {
    return absl::InvalidArgumentError("runtime error: index out of range [-1]");
  }
  std::string plain;
  if (!AesCbc(false, a[0].string_value(),
              reinterpret_cast<const unsigned char*>(crypt.data()), body,
              &plain)) {
    return absl::InternalError("decryptAES: libcrypto failed");
  }
  const int64_t keep = static_cast<int64_t>(plain.size()) -
                       static_cast<unsigned char>(plain.back());
  if (keep < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("runtime error: slice bounds out of range [:", keep, "]"));
  }
  plain.resize(static_cast<size_t>(keep));
  return TemplateValue::String(std::move(plain));
}

// Go's bcrypt.GenerateFromPassword(input, 10), or Sprig's message in its
// place when hashing fails. As Go's (the reference's) x/crypto, only the
// first 72 bytes count; a NUL byte ends the password here.
std::string BcryptHash(const std::string& input) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2a$", 10, nullptr, 0, salt, sizeof(salt)) == nullptr) {
    return "failed to encrypt string with bcrypt: no salt";
  }
  auto data = std::make_unique<crypt_data>();
  const char* hash = crypt_rn(input.c_str(), salt, data.get(),
                              static_cast<int>(sizeof(*data)));
  if (hash == nullptr || hash[0] == '*') {
    return "failed to encrypt string with bcrypt: hashing failed";
  }
  return hash;
}

Result Bcrypt(const Args& a, const CallContext&) {
  return TemplateValue::String(BcryptHash(a[0].string_value()));
}

// Sprig's htpasswd(user, password): "user:<bcrypt>", or Sprig's message
// for a user with a ':'.
Result Htpasswd(const Args& a, const CallContext&) {
  const std::string& user = a[0].string_value();
  if (absl::StrContains(user, ':')) {
    return TemplateValue::String(absl::StrCat("invalid username: ", user));
  }
  return TemplateValue::String(
      absl::StrCat(user, ":", BcryptHash(a[1].string_value())));
}

// A new key of OpenSSL algorithm `name` (`setup` sets its generation
// parameters), or nullptr.
EVP_PKEY* NewKey(const char* name, EVP_PKEY* params,
                 void (*setup)(EVP_PKEY_CTX*)) {
  EVP_PKEY_CTX* ctx = params != nullptr
                          ? EVP_PKEY_CTX_new_from_pkey(nullptr, params, nullptr)
                          : EVP_PKEY_CTX_new_from_name(nullptr, name, nullptr);
  EVP_PKEY* key = nullptr;
  if (ctx != nullptr && EVP_PKEY_keygen_init(ctx) == 1) {
    if (setup != nullptr) setup(ctx);
    if (EVP_PKEY_generate(ctx, &key) != 1) key = nullptr;
  }
  EVP_PKEY_CTX_free(ctx);
  return key;
}

// DSA parameters L=2048, N=256 (Go's dsa.L2048N256), or nullptr.
EVP_PKEY* DsaParams() {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "DSA", nullptr);
  EVP_PKEY* params = nullptr;
  if (ctx != nullptr && EVP_PKEY_paramgen_init(ctx) == 1 &&
      EVP_PKEY_CTX_set_dsa_paramgen_bits(ctx, 2048) == 1 &&
      EVP_PKEY_CTX_set_dsa_paramgen_q_bits(ctx, 256) == 1 &&
      EVP_PKEY_generate(ctx, &params) != 1) {
    params = nullptr;
  }
  EVP_PKEY_CTX_free(ctx);
  return params;
}

// Sprig's genPrivateKey(type): "" or "rsa", "dsa", "ecdsa", "ed25519";
// Sprig's "Unknown type X" for another; a message for a failure.
Result GenPrivateKey(const Args& a, const CallContext&) {
  const std::string& type = a[0].string_value();
  EVP_PKEY* key = nullptr;
  bool traditional = true;
  if (type.empty() || type == "rsa") {
    key = NewKey("RSA", nullptr, [](EVP_PKEY_CTX* ctx) {
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 4096);
    });
  } else if (type == "dsa") {
    EVP_PKEY* params = DsaParams();
    if (params == nullptr) {
      return TemplateValue::String("failed to generate dsa params");
    }
    key = NewKey("DSA", params, nullptr);
    EVP_PKEY_free(params);
  } else if (type == "ecdsa") {
    key = NewKey("EC", nullptr, [](EVP_PKEY_CTX* ctx) {
      EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, NID_X9_62_prime256v1);
    });
  } else if (type == "ed25519") {
    key = NewKey("ED25519", nullptr, nullptr);
    traditional = false;
  } else {
    return TemplateValue::String(absl::StrCat("Unknown type ", type));
  }
  if (key == nullptr) {
    return TemplateValue::String("failed to generate private key");
  }
  BIO* bio = BIO_new(BIO_s_mem());
  const bool ok =
      bio != nullptr &&
      (traditional ? PEM_write_bio_PrivateKey_traditional(
                         bio, key, nullptr, nullptr, 0, nullptr, nullptr)
                   : PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0,
                                              nullptr, nullptr)) == 1;
  std::string pem;
  if (ok) {
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);  // NOLINT(runtime/int)
    pem.assign(data, static_cast<size_t>(size));
  }
  BIO_free(bio);
  EVP_PKEY_free(key);
  if (!ok) return TemplateValue::String("failed to generate private key");
  return TemplateValue::String(std::move(pem));
}

constexpr TemplateFunction kCrypto[] = {
    {"derivePassword", "ussss", false, DerivePassword},
    {"encryptAES", "ss", false, EncryptAes},
    {"bcrypt", "s", false, Bcrypt},
    {"genPrivateKey", "s", false, GenPrivateKey},
    {"htpasswd", "ss", false, Htpasswd},
    {"decryptAES", "ss", false, DecryptAes},
};

}  // namespace

absl::Span<const TemplateFunction> SprigCryptoFunctions() { return kCrypto; }

}  // namespace ia::automation::template_internal
