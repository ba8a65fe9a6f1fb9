// SSH signatures of commits, as `git commit -S` makes them with
// gpg.format=ssh: an SSHSIG signature (OpenSSH's PROTOCOL.sshsig) in
// namespace "git" over the SHA-512 of the commit buffer, armoured as
// "-----BEGIN SSH SIGNATURE-----" with base64 lines of 70 characters (as
// `ssh-keygen -Y sign` writes it), for the commit's gpgsig header. The key
// is an `identity` from the automation's signingKey secret, with its
// `password` (ssh_sign_key.h says which keys are accepted); signatures are
// made with OpenSSL: ed25519, ecdsa-sha2-nistp256/384/521 (SHA-256/384/512
// per curve) and rsa-sha2-512.
//
// An SshSigner is immutable and thread-safe.
#ifndef SERVICES_AUTOMATION_SSH_SIGN_H_
#define SERVICES_AUTOMATION_SSH_SIGN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/automation/ssh_sign_key.h"

namespace ia::automation {

// The namespace and hash git signs commits with.
inline constexpr absl::string_view kSshSigNamespace = "git";
inline constexpr absl::string_view kSshSigHash = "sha512";

class SshSigner {
 public:
  // A signer with the private key `identity` (OpenSSH or PEM), decrypted
  // with `password` when it is protected. The errors of ParseSshPrivateKey:
  // FAILED_PRECONDITION for a missing or wrong passphrase, INVALID_ARGUMENT
  // for a key that does not parse or is refused (DSA, RSA under 2048 bits).
  static absl::StatusOr<SshSigner> Load(absl::string_view identity,
                                        absl::string_view password);

  // The armoured SSHSIG signature of `payload`, ending in a newline.
  // INTERNAL when OpenSSL fails to sign.
  absl::StatusOr<std::string> Sign(absl::string_view payload) const;

  // The public key as authorized_keys and allowed-signers files write it:
  // "ssh-ed25519 AAAA...".
  std::string PublicKeyLine() const;
  // "ssh-ed25519", "ecdsa-sha2-nistp256", ..., "ssh-rsa".
  const std::string& key_type() const { return key_.key_type; }

 private:
  explicit SshSigner(ssh_internal::SshPrivateKey key) : key_(std::move(key)) {}

  ssh_internal::SshPrivateKey key_;
};

namespace ssh_internal {

// What an SSHSIG signature signs: "SSHSIG", then as SSH strings the
// namespace, an empty reserved field, the hash's name and the message's
// hash.
std::string SshSigSignedData(absl::string_view sig_namespace,
                             absl::string_view hash_name,
                             absl::string_view message_hash);

// `blob` armoured: BEGIN line, base64 in lines of 70, END line, newline.
std::string ArmorSshSignature(absl::string_view blob);

}  // namespace ssh_internal
}  // namespace ia::automation

#endif  // SERVICES_AUTOMATION_SSH_SIGN_H_
