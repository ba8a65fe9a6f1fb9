// SSH private keys for commit signing, read from the `identity` key of a
// signingKey secret: the OpenSSH format ("-----BEGIN OPENSSH PRIVATE
// KEY-----", openssh-key-v1, as ssh-keygen writes it; passphrase-protected
// ones use bcrypt_pbkdf and AES in CTR or CBC mode) and PEM (PKCS#1, SEC 1,
// PKCS#8, encrypted or not, read by OpenSSL). The key is held in memory
// only.
//
// Accepted: ed25519, ECDSA on P-256/384/521, RSA of 2048 bits or more.
// Refused: DSA and shorter RSA keys (OpenSSH no longer accepts their
// signatures), security-key (sk-*) keys and anything else.
//
// Pure functions; an SshPrivateKey is immutable and thread-safe.
#ifndef SERVICES_AUTOMATION_SSH_SIGN_KEY_H_
#define SERVICES_AUTOMATION_SSH_SIGN_KEY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace ia::automation::ssh_internal {

struct SshPrivateKey {
  std::shared_ptr<evp_pkey_st> pkey;
  // The public key's algorithm: "ssh-ed25519", "ecdsa-sha2-nistp256", ...,
  // "ssh-rsa".
  std::string key_type;
  // The signature's algorithm: as key_type, but "rsa-sha2-512" for RSA.
  std::string signature_type;
  // The digest the signature algorithm uses: "SHA256", "SHA384", "SHA512",
  // or empty for ed25519 (which hashes internally).
  std::string digest;
  // The public key in SSH wire form (what authorized_keys base64-encodes).
  std::string public_blob;
};

// The private key in `text`, decrypted with `passphrase` when it is
// protected. On failure (messages never hold the key or the passphrase):
//   FAILED_PRECONDITION  the key is protected and the passphrase is missing
//                        or wrong;
//   INVALID_ARGUMENT     not a key in a known format, a cipher or KDF we do
//                        not know, or a refused algorithm or size.
absl::StatusOr<SshPrivateKey> ParseSshPrivateKey(absl::string_view text,
                                                 absl::string_view passphrase);

}  // namespace ia::automation::ssh_internal

#endif  // SERVICES_AUTOMATION_SSH_SIGN_KEY_H_
