// bcrypt_pbkdf, the key derivation of passphrase-protected OpenSSH private
// keys (openssh-key-v1, kdfname "bcrypt"), written from its definition in
// OpenBSD's bcrypt_pbkdf(3): SHA-512 of the passphrase and of salt||count
// feed a Blowfish whose state is expanded 64 times per round (bcrypt's
// EksBlowfish), and the output bytes are spread across the blocks.
//
// Blowfish's initial state is, by its definition, the fractional hex digits
// of pi; they are computed once (with OpenSSL's BIGNUM) rather than carried
// as a table.
//
// Pure functions; thread-safe.
#ifndef SERVICES_AUTOMATION_SSH_SIGN_BCRYPT_H_
#define SERVICES_AUTOMATION_SSH_SIGN_BCRYPT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ia::automation::ssh_internal {

// The first 1042 32-bit words of pi's fractional part in hex: Blowfish's
// P-array (18 words) followed by its four S-boxes (256 words each).
const uint32_t* BlowfishInitialState();

// `length` bytes derived from `passphrase` and `salt` with `rounds` rounds.
// INVALID_ARGUMENT when rounds is 0, the salt is empty or length is 0 or
// over 1024.
absl::StatusOr<std::string> BcryptPbkdf(absl::string_view passphrase,
                                        absl::string_view salt, uint32_t rounds,
                                        size_t length);

}  // namespace ia::automation::ssh_internal

#endif  // SERVICES_AUTOMATION_SSH_SIGN_BCRYPT_H_
