// OpenPGP signatures of commits, with gpgme. The key comes from the
// automation's signingKey secret (`git.asc`, an ASCII-armored secret key)
// and is imported into a private GnuPG home made for the one signature and
// removed after it (with its gpg-agent): the user's keyrings are never read
// or written.
#ifndef SERVICES_AUTOMATION_GPG_SIGN_H_
#define SERVICES_AUTOMATION_GPG_SIGN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ia::automation {

// A detached, ASCII-armored signature of `payload` (for a commit: the buffer
// git_commit_create_buffer made) by the first secret key of `armored_key`,
// unlocked with `passphrase` when it has one. INVALID_ARGUMENT when the key
// does not import or holds no secret key, FAILED_PRECONDITION when it cannot
// sign (e.g. a wrong or missing passphrase); messages never hold the key or
// the passphrase.
absl::StatusOr<std::string> SignDetached(absl::string_view payload,
                                         absl::string_view armored_key,
                                         absl::string_view passphrase);

}  // namespace ia::automation

#endif  // SERVICES_AUTOMATION_GPG_SIGN_H_
