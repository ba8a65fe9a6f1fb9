#include "services/automation/ssh_sign_key.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <cstring>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "services/automation/ssh_sign_bcrypt.h"
#include "services/automation/ssh_sign_wire.h"

namespace ia::automation::ssh_internal {
namespace {

constexpr absl::string_view kWhat =
    "spec.git.commit.signingKey: the SSH key (secret key 'identity')";
constexpr absl::string_view kOpensshBegin =
    "-----BEGIN OPENSSH PRIVATE KEY-----";
constexpr absl::string_view kOpensshEnd = "-----END OPENSSH PRIVATE KEY-----";
constexpr absl::string_view kOpensshMagic{"openssh-key-v1\0", 15};

absl::Status Invalid(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(kWhat, ": ", why));
}

absl::Status PassphraseMissing() {
  return absl::FailedPreconditionError(absl::StrCat(
      kWhat,
      " is protected by a passphrase and the secret has no 'password' key"));
}

absl::Status PassphraseWrong() {
  return absl::FailedPreconditionError(
      absl::StrCat(kWhat,
                   " does not decrypt with the secret's 'password': wrong "
                   "passphrase"));
}

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using BnPtr = std::unique_ptr<BIGNUM, decltype(&BN_free)>;

std::shared_ptr<evp_pkey_st> Share(EVP_PKEY* pkey) {
  return std::shared_ptr<evp_pkey_st>(pkey, &EVP_PKEY_free);
}

// A copy of secret bytes that is wiped when it goes.
class SecretBytes {
 public:
  explicit SecretBytes(std::string bytes) : bytes_(std::move(bytes)) {}
  ~SecretBytes() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  std::string& str() { return bytes_; }

 private:
  std::string bytes_;
};

struct EcCurve {
  absl::string_view ssh_name;      // in "ecdsa-sha2-<name>"
  absl::string_view openssl_name;  // OpenSSL's group name
  absl::string_view nist_name;     // the other spelling OpenSSL accepts
  absl::string_view digest;
};

constexpr EcCurve kCurves[] = {
    {"nistp256", "prime256v1", "P-256", "SHA256"},
    {"nistp384", "secp384r1", "P-384", "SHA384"},
    {"nistp521", "secp521r1", "P-521", "SHA512"},
};

const EcCurve* CurveBySshName(absl::string_view name) {
  for (const EcCurve& c : kCurves) {
    if (c.ssh_name == name) return &c;
  }
  return nullptr;
}

std::string BnBytes(const BIGNUM* bn) {
  std::string out(BN_num_bytes(bn), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

absl::StatusOr<std::string> BnParam(const EVP_PKEY* pkey, const char* name) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1) {
    return Invalid(absl::StrCat("the RSA key has no ", name));
  }
  BnPtr bn(raw, &BN_clear_free);
  return BnBytes(bn.get());
}

// Fills in the algorithm, digest and public blob from `key.pkey`, refusing
// the algorithms and sizes we do not sign with.
absl::Status Describe(SshPrivateKey& key) {
  EVP_PKEY* pkey = key.pkey.get();
  SshWriter blob;
  if (EVP_PKEY_is_a(pkey, "ED25519")) {
    unsigned char pub[32];
    size_t size = sizeof(pub);
    if (EVP_PKEY_get_raw_public_key(pkey, pub, &size) != 1 || size != 32) {
      return Invalid("the ed25519 public key cannot be read");
    }
    key.key_type = key.signature_type = "ssh-ed25519";
    blob.PutString(key.key_type);
    blob.PutString(absl::string_view(reinterpret_cast<const char*>(pub), size));
  } else if (EVP_PKEY_is_a(pkey, "EC")) {
    char group[64] = {0};
    size_t size = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                       sizeof(group), &size) != 1) {
      return Invalid("the ECDSA key has no curve");
    }
    const EcCurve* curve = nullptr;
    for (const EcCurve& c : kCurves) {
      if (absl::EqualsIgnoreCase(c.openssl_name, group) ||
          absl::EqualsIgnoreCase(c.nist_name, group)) {
        curve = &c;
      }
    }
    if (curve == nullptr) {
      return Invalid(
          absl::StrCat("ECDSA keys on curve ", group,
                       " are not supported (use P-256, P-384 or P-521)"));
    }
    EVP_PKEY_set_utf8_string_param(
        pkey, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "uncompressed");
    unsigned char point[1 + 2 * 66];
    if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, point,
                                        sizeof(point), &size) != 1) {
      return Invalid("the ECDSA public key cannot be read");
    }
    key.key_type = key.signature_type =
        absl::StrCat("ecdsa-sha2-", curve->ssh_name);
    key.digest = std::string(curve->digest);
    blob.PutString(key.key_type);
    blob.PutString(curve->ssh_name);
    blob.PutString(
        absl::string_view(reinterpret_cast<const char*>(point), size));
  } else if (EVP_PKEY_is_a(pkey, "RSA")) {
    const int bits = EVP_PKEY_get_bits(pkey);
    if (bits < 2048) {
      return Invalid(absl::StrCat(
          "RSA keys of ", bits,
          " bits are refused: signing needs at least 2048 bits (OpenSSH "
          "refuses shorter keys)"));
    }
    ASSIGN_OR_RETURN(std::string n, BnParam(pkey, OSSL_PKEY_PARAM_RSA_N));
    ASSIGN_OR_RETURN(std::string e, BnParam(pkey, OSSL_PKEY_PARAM_RSA_E));
    key.key_type = "ssh-rsa";
    key.signature_type = "rsa-sha2-512";
    key.digest = "SHA512";
    blob.PutString(key.key_type);
    blob.PutMpint(e);
    blob.PutMpint(n);
  } else if (EVP_PKEY_is_a(pkey, "DSA")) {
    return Invalid(
        "DSA keys (ssh-dss) are refused: OpenSSH no longer accepts DSA "
        "signatures; use an ed25519, ECDSA or RSA (2048 bits or more) key");
  } else {
    return Invalid(absl::StrCat("keys of type ", EVP_PKEY_get0_type_name(pkey),
                                " are not supported (use ed25519, ECDSA or "
                                "RSA of 2048 bits or more)"));
  }
  key.public_blob = blob.Take();
  return absl::OkStatus();
}

absl::StatusOr<PkeyPtr> FromParams(const char* type, OSSL_PARAM_BLD* bld) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  absl::Cleanup free_params = [params] { OSSL_PARAM_free(params); };
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  absl::Cleanup free_ctx = [ctx] { EVP_PKEY_CTX_free(ctx); };
  EVP_PKEY* pkey = nullptr;
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx) != 1 ||
      EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) != 1) {
    ERR_clear_error();
    return Invalid(absl::StrCat("the ", type, " key's numbers are not valid"));
  }
  return PkeyPtr(pkey, &EVP_PKEY_free);
}

BnPtr Bn(absl::string_view bytes) {
  return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                         static_cast<int>(bytes.size()), nullptr),
               &BN_clear_free);
}

// One key of the (decrypted) private section, after its type name.
absl::StatusOr<PkeyPtr> ReadPrivateFields(absl::string_view type,
                                          SshReader& in) {
  const absl::Status truncated =
      Invalid(absl::StrCat("the ", type, " private key is truncated"));
  if (type == "ssh-ed25519") {
    absl::string_view pub, priv;
    if (!in.ReadString(&pub) || !in.ReadString(&priv)) return truncated;
    // OpenSSH stores the seed followed by the public key.
    if (pub.size() != 32 || priv.size() != 64 || priv.substr(32) != pub) {
      return Invalid("the ed25519 private key is not valid");
    }
    EVP_PKEY* pkey = EVP_PKEY_new_raw_private_key(
        EVP_PKEY_ED25519, nullptr,
        reinterpret_cast<const unsigned char*>(priv.data()), 32);
    if (pkey == nullptr) {
      ERR_clear_error();
      return Invalid("the ed25519 private key is not valid");
    }
    return PkeyPtr(pkey, &EVP_PKEY_free);
  }
  if (absl::StartsWith(type, "ecdsa-sha2-")) {
    absl::string_view curve_name, point, scalar;
    if (!in.ReadString(&curve_name) || !in.ReadString(&point) ||
        !in.ReadString(&scalar)) {
      return truncated;
    }
    const EcCurve* curve = CurveBySshName(curve_name);
    if (curve == nullptr || type != absl::StrCat("ecdsa-sha2-", curve_name)) {
      return Invalid(absl::StrCat("ECDSA keys on curve ", curve_name,
                                  " are not supported"));
    }
    BnPtr d = Bn(scalar);
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    absl::Cleanup free_bld = [bld] { OSSL_PARAM_BLD_free(bld); };
    const std::string group(curve->nist_name);
    if (d == nullptr || bld == nullptr ||
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                        group.c_str(), 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
                                         point.data(), point.size()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d.get()) != 1) {
      return absl::InternalError("signing the commit: OpenSSL parameters");
    }
    return FromParams("EC", bld);
  }
  if (type == "ssh-rsa") {
    absl::string_view n, e, d, iqmp, p, q;
    if (!in.ReadString(&n) || !in.ReadString(&e) || !in.ReadString(&d) ||
        !in.ReadString(&iqmp) || !in.ReadString(&p) || !in.ReadString(&q)) {
      return truncated;
    }
    BnPtr bn_n = Bn(n), bn_e = Bn(e), bn_d = Bn(d), bn_p = Bn(p), bn_q = Bn(q),
          bn_iqmp = Bn(iqmp);
    BnPtr dp(BN_new(), &BN_clear_free), dq(BN_new(), &BN_clear_free),
        tmp(BN_new(), &BN_clear_free);
    BN_CTX* bn_ctx = BN_CTX_new();
    absl::Cleanup free_ctx = [bn_ctx] { BN_CTX_free(bn_ctx); };
    // OpenSSH stores no CRT exponents: d mod (p-1) and d mod (q-1).
    if (!bn_n || !bn_e || !bn_d || !bn_p || !bn_q || !bn_iqmp || !dp || !dq ||
        !tmp || bn_ctx == nullptr ||
        !BN_sub(tmp.get(), bn_p.get(), BN_value_one()) ||
        !BN_mod(dp.get(), bn_d.get(), tmp.get(), bn_ctx) ||
        !BN_sub(tmp.get(), bn_q.get(), BN_value_one()) ||
        !BN_mod(dq.get(), bn_d.get(), tmp.get(), bn_ctx)) {
      ERR_clear_error();
      return Invalid("the RSA private key's numbers are not valid");
    }
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    absl::Cleanup free_bld = [bld] { OSSL_PARAM_BLD_free(bld); };
    const std::pair<const char*, const BIGNUM*> fields[] = {
        {OSSL_PKEY_PARAM_RSA_N, bn_n.get()},
        {OSSL_PKEY_PARAM_RSA_E, bn_e.get()},
        {OSSL_PKEY_PARAM_RSA_D, bn_d.get()},
        {OSSL_PKEY_PARAM_RSA_FACTOR1, bn_p.get()},
        {OSSL_PKEY_PARAM_RSA_FACTOR2, bn_q.get()},
        {OSSL_PKEY_PARAM_RSA_EXPONENT1, dp.get()},
        {OSSL_PKEY_PARAM_RSA_EXPONENT2, dq.get()},
        {OSSL_PKEY_PARAM_RSA_COEFFICIENT1, bn_iqmp.get()},
    };
    for (const auto& [name, value] : fields) {
      if (bld == nullptr || OSSL_PARAM_BLD_push_BN(bld, name, value) != 1) {
        return absl::InternalError("signing the commit: OpenSSL parameters");
      }
    }
    return FromParams("RSA", bld);
  }
  if (type == "ssh-dss") {
    return Invalid(
        "DSA keys (ssh-dss) are refused: OpenSSH no longer accepts DSA "
        "signatures; use an ed25519, ECDSA or RSA (2048 bits or more) key");
  }
  return Invalid(absl::StrCat("keys of type ", type,
                              " are not supported (use ed25519, ECDSA or RSA "
                              "of 2048 bits or more)"));
}

// The private half matches the public one (for RSA: d, p, q and the CRT
// numbers agree with n and e), so that a damaged key is refused here
// rather than making signatures nobody can verify.
absl::Status CheckPair(EVP_PKEY* pkey) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr);
  absl::Cleanup free_ctx = [ctx] { EVP_PKEY_CTX_free(ctx); };
  const bool ok = ctx != nullptr && EVP_PKEY_pairwise_check(ctx) == 1;
  ERR_clear_error();
  if (!ok) return Invalid("the private key does not match its public key");
  return absl::OkStatus();
}

struct Cipher {
  absl::string_view name;
  const EVP_CIPHER* (*evp)();
  size_t key_size;
  size_t iv_size;
};

constexpr Cipher kCiphers[] = {
    {"aes128-ctr", &EVP_aes_128_ctr, 16, 16},
    {"aes192-ctr", &EVP_aes_192_ctr, 24, 16},
    {"aes256-ctr", &EVP_aes_256_ctr, 32, 16},
    {"aes128-cbc", &EVP_aes_128_cbc, 16, 16},
    {"aes192-cbc", &EVP_aes_192_cbc, 24, 16},
    {"aes256-cbc", &EVP_aes_256_cbc, 32, 16},
};

// The private section of an openssh-key-v1 key, decrypted.
absl::Status Decrypt(absl::string_view cipher_name, absl::string_view kdf_name,
                     absl::string_view kdf_options,
                     absl::string_view passphrase, absl::string_view sealed,
                     std::string* plain) {
  const Cipher* cipher = nullptr;
  for (const Cipher& c : kCiphers) {
    if (c.name == cipher_name) cipher = &c;
  }
  if (cipher == nullptr) {
    return Invalid(absl::StrCat(
        "cipher ", cipher_name,
        " is not supported (aes128/192/256-ctr and -cbc are; ssh-keygen "
        "writes aes256-ctr)"));
  }
  if (kdf_name != "bcrypt") {
    return Invalid(absl::StrCat("key derivation ", kdf_name,
                                " is not supported (bcrypt is)"));
  }
  SshReader options(kdf_options);
  absl::string_view salt;
  uint32_t rounds = 0;
  if (!options.ReadString(&salt) || !options.ReadUint32(&rounds) ||
      rounds == 0 || salt.empty()) {
    return Invalid("the bcrypt options are not valid");
  }
  if (passphrase.empty()) return PassphraseMissing();
  if (sealed.size() % 16 != 0) {
    return Invalid("the encrypted private section has a partial block");
  }
  ASSIGN_OR_RETURN(std::string derived,
                   BcryptPbkdf(passphrase, salt, rounds,
                               cipher->key_size + cipher->iv_size));
  SecretBytes key_iv(std::move(derived));
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  absl::Cleanup free_ctx = [ctx] { EVP_CIPHER_CTX_free(ctx); };
  const auto* kiv = reinterpret_cast<const unsigned char*>(key_iv.str().data());
  plain->assign(sealed.size(), '\0');
  int out = 0;
  if (ctx == nullptr ||
      EVP_DecryptInit_ex(ctx, cipher->evp(), nullptr, kiv,
                         kiv + cipher->key_size) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
      EVP_DecryptUpdate(ctx, reinterpret_cast<unsigned char*>(plain->data()),
                        &out,
                        reinterpret_cast<const unsigned char*>(sealed.data()),
                        static_cast<int>(sealed.size())) != 1 ||
      static_cast<size_t>(out) != sealed.size()) {
    ERR_clear_error();
    return absl::InternalError("signing the commit: AES decryption failed");
  }
  return absl::OkStatus();
}

absl::StatusOr<SshPrivateKey> ParseOpenssh(absl::string_view text,
                                           absl::string_view passphrase) {
  const size_t begin = text.find(kOpensshBegin) + kOpensshBegin.size();
  const size_t end = text.find(kOpensshEnd, begin);
  if (end == absl::string_view::npos) {
    return Invalid("the OpenSSH private key has no END line");
  }
  std::string base64;
  for (char c : text.substr(begin, end - begin)) {
    if (!absl::ascii_isspace(static_cast<unsigned char>(c))) base64 += c;
  }
  std::string decoded;
  if (!absl::Base64Unescape(base64, &decoded)) {
    return Invalid("the OpenSSH private key is not valid base64");
  }
  SecretBytes raw(std::move(decoded));
  SshReader in(raw.str());
  absl::string_view magic, cipher, kdf, kdf_options, public_blob, sealed;
  uint32_t keys = 0;
  if (!in.ReadBytes(kOpensshMagic.size(), &magic) || magic != kOpensshMagic) {
    return Invalid("not an openssh-key-v1 private key");
  }
  if (!in.ReadString(&cipher) || !in.ReadString(&kdf) ||
      !in.ReadString(&kdf_options) || !in.ReadUint32(&keys)) {
    return Invalid("the OpenSSH private key's header is truncated");
  }
  if (keys != 1) {
    return Invalid(absl::StrCat("the OpenSSH private key file holds ", keys,
                                " keys; exactly one is needed"));
  }
  if (!in.ReadString(&public_blob) || !in.ReadString(&sealed)) {
    return Invalid("the OpenSSH private key is truncated");
  }
  const bool encrypted = cipher != "none";
  SecretBytes plain("");
  if (encrypted) {
    RETURN_IF_ERROR(
        Decrypt(cipher, kdf, kdf_options, passphrase, sealed, &plain.str()));
  } else {
    if (kdf != "none") {
      return Invalid("an unencrypted OpenSSH private key names a KDF");
    }
    plain.str() = std::string(sealed);
  }
  SshReader section(plain.str());
  uint32_t check1 = 0, check2 = 0;
  if (!section.ReadUint32(&check1) || !section.ReadUint32(&check2)) {
    return Invalid("the OpenSSH private section is truncated");
  }
  if (check1 != check2) {
    if (encrypted) return PassphraseWrong();
    return Invalid("the OpenSSH private section's check numbers differ");
  }
  absl::string_view type;
  if (!section.ReadString(&type)) {
    return Invalid("the OpenSSH private section is truncated");
  }
  ASSIGN_OR_RETURN(PkeyPtr pkey, ReadPrivateFields(type, section));
  absl::string_view comment;
  if (!section.ReadString(&comment)) {
    return Invalid("the OpenSSH private section is truncated");
  }
  // Then padding to the cipher's block: 1, 2, 3, ...
  const absl::string_view padding = section.rest();
  for (size_t i = 0; i < padding.size(); ++i) {
    if (static_cast<unsigned char>(padding[i]) != i + 1) {
      return Invalid("the OpenSSH private section's padding is not valid");
    }
  }
  RETURN_IF_ERROR(CheckPair(pkey.get()));
  SshPrivateKey key;
  key.pkey = Share(pkey.release());
  RETURN_IF_ERROR(Describe(key));
  if (key.public_blob != public_blob) {
    return Invalid("the private key does not match the file's public key");
  }
  return key;
}

struct PemPassphrase {
  absl::string_view value;
  bool asked = false;
};

int PemPassphraseCallback(char* buf, int size, int, void* hook) {
  auto* p = static_cast<PemPassphrase*>(hook);
  p->asked = true;
  if (p->value.empty() || p->value.size() > static_cast<size_t>(size)) {
    return -1;
  }
  std::memcpy(buf, p->value.data(), p->value.size());
  return static_cast<int>(p->value.size());
}

absl::StatusOr<SshPrivateKey> ParsePem(absl::string_view text,
                                       absl::string_view passphrase) {
  BIO* bio = BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
  if (bio == nullptr) return absl::InternalError("signing the commit: BIO");
  absl::Cleanup free_bio = [bio] { BIO_free(bio); };
  PemPassphrase pass{passphrase};
  EVP_PKEY* pkey =
      PEM_read_bio_PrivateKey(bio, nullptr, &PemPassphraseCallback, &pass);
  ERR_clear_error();
  if (pkey == nullptr) {
    if (pass.asked) {
      return passphrase.empty() ? PassphraseMissing() : PassphraseWrong();
    }
    return Invalid(
        "not a private key in the OpenSSH (openssh-key-v1) or PEM format");
  }
  SshPrivateKey key;
  key.pkey = Share(pkey);
  RETURN_IF_ERROR(Describe(key));
  return key;
}

}  // namespace

absl::StatusOr<SshPrivateKey> ParseSshPrivateKey(absl::string_view text,
                                                 absl::string_view passphrase) {
  if (absl::StrContains(text, kOpensshBegin)) {
    return ParseOpenssh(text, passphrase);
  }
  return ParsePem(text, passphrase);
}

}  // namespace ia::automation::ssh_internal
