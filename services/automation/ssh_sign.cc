#include "services/automation/ssh_sign.h"

#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "services/automation/ssh_sign_wire.h"

namespace ia::automation {
namespace ssh_internal {

constexpr absl::string_view kMagic = "SSHSIG";
constexpr uint32_t kSigVersion = 1;
constexpr size_t kArmorLine = 70;

std::string SshSigSignedData(absl::string_view sig_namespace,
                             absl::string_view hash_name,
                             absl::string_view message_hash) {
  SshWriter out;
  out.PutRaw(kMagic);
  out.PutString(sig_namespace);
  out.PutString("");  // reserved
  out.PutString(hash_name);
  out.PutString(message_hash);
  return out.Take();
}

std::string ArmorSshSignature(absl::string_view blob) {
  const std::string base64 = absl::Base64Escape(blob);
  std::string out = "-----BEGIN SSH SIGNATURE-----\n";
  for (size_t at = 0; at < base64.size(); at += kArmorLine) {
    absl::StrAppend(&out, absl::string_view(base64).substr(at, kArmorLine),
                    "\n");
  }
  absl::StrAppend(&out, "-----END SSH SIGNATURE-----\n");
  return out;
}

}  // namespace ssh_internal

namespace {

absl::Status SignError(absl::string_view what) {
  ERR_clear_error();
  return absl::InternalError(
      absl::StrCat("signing the commit with the SSH key: ", what));
}

// The raw signature of `data` by `key` (DER for ECDSA), per its algorithm.
absl::StatusOr<std::string> RawSignature(const ssh_internal::SshPrivateKey& key,
                                         absl::string_view data) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  absl::Cleanup free_ctx = [ctx] { EVP_MD_CTX_free(ctx); };
  const char* digest = key.digest.empty() ? nullptr : key.digest.c_str();
  if (ctx == nullptr ||
      EVP_DigestSignInit_ex(ctx, nullptr, digest, nullptr, nullptr,
                            key.pkey.get(), nullptr) != 1) {
    return SignError("cannot start the signature");
  }
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  size_t size = 0;
  if (EVP_DigestSign(ctx, nullptr, &size, in, data.size()) != 1) {
    return SignError("cannot size the signature");
  }
  std::string sig(size, '\0');
  if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &size,
                     in, data.size()) != 1) {
    return SignError("the signature failed");
  }
  sig.resize(size);
  return sig;
}

std::string BnBytes(const BIGNUM* bn) {
  std::string out(BN_num_bytes(bn), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

// The signature as SSH encodes it: string algorithm, string bytes (for
// ECDSA, the bytes are mpint r and mpint s).
absl::StatusOr<std::string> SshSignature(const ssh_internal::SshPrivateKey& key,
                                         absl::string_view data) {
  ASSIGN_OR_RETURN(std::string raw, RawSignature(key, data));
  ssh_internal::SshWriter out;
  out.PutString(key.signature_type);
  if (key.key_type.rfind("ecdsa-", 0) == 0) {
    const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(raw.size()));
    if (sig == nullptr) return SignError("the ECDSA signature does not decode");
    absl::Cleanup free_sig = [sig] { ECDSA_SIG_free(sig); };
    ssh_internal::SshWriter rs;
    rs.PutMpint(BnBytes(ECDSA_SIG_get0_r(sig)));
    rs.PutMpint(BnBytes(ECDSA_SIG_get0_s(sig)));
    out.PutString(rs.data());
  } else {
    out.PutString(raw);
  }
  return out.Take();
}

}  // namespace

absl::StatusOr<SshSigner> SshSigner::Load(absl::string_view identity,
                                          absl::string_view password) {
  ASSIGN_OR_RETURN(ssh_internal::SshPrivateKey key,
                   ssh_internal::ParseSshPrivateKey(identity, password));
  return SshSigner(std::move(key));
}

absl::StatusOr<std::string> SshSigner::Sign(absl::string_view payload) const {
  unsigned char hash[SHA512_DIGEST_LENGTH];
  SHA512(reinterpret_cast<const unsigned char*>(payload.data()), payload.size(),
         hash);
  const std::string signed_data = ssh_internal::SshSigSignedData(
      kSshSigNamespace, kSshSigHash,
      absl::string_view(reinterpret_cast<const char*>(hash), sizeof(hash)));
  ASSIGN_OR_RETURN(std::string signature, SshSignature(key_, signed_data));
  ssh_internal::SshWriter blob;
  blob.PutRaw(ssh_internal::kMagic);
  blob.PutUint32(ssh_internal::kSigVersion);
  blob.PutString(key_.public_blob);
  blob.PutString(kSshSigNamespace);
  blob.PutString("");  // reserved
  blob.PutString(kSshSigHash);
  blob.PutString(signature);
  return ssh_internal::ArmorSshSignature(blob.data());
}

std::string SshSigner::PublicKeyLine() const {
  return absl::StrCat(key_.key_type, " ", absl::Base64Escape(key_.public_blob));
}

}  // namespace ia::automation
