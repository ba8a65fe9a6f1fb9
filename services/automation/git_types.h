// The small value types of an automation's Git work, shared by the plan of
// a run (run_inputs.h) and the Git layer (git.h) so that neither includes
// the other: a remote and its credentials, the ref to check out, the commit
// author and signing key, where to push, the phases of an update. Plain
// structs; thread-compatible.
#ifndef SERVICES_AUTOMATION_GIT_TYPES_H_
#define SERVICES_AUTOMATION_GIT_TYPES_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ia::automation {

// Credentials and trust for one remote, from the GitRepository's secretRef
// (keys `username`/`password`, `bearerToken`, `ca.crt`, `identity`,
// `identity.pub`, `password` as the identity's passphrase, `known_hosts`).
// Empty strings mean unset.
struct GitAuth {
  std::string username;
  std::string password;
  std::string bearer_token;  // HTTPS: Authorization: Bearer
  std::string ca_pem;        // HTTPS: trusted in addition to the system CAs
  std::string ssh_identity;  // SSH: private key (PEM / OpenSSH format)
  std::string ssh_passphrase;
  std::string known_hosts;  // SSH: required; the host key must match
};

struct GitRemote {
  // https://, http://, ssh://user@host[:port]/path, user@host:path, file://
  std::string url;
  GitAuth auth;
  absl::Duration timeout = absl::Seconds(60);
};

// What to check out; exactly one field set (a GitRepository's spec.ref or
// an automation's git.checkout.ref). All empty means branch "master".
struct GitRef {
  std::string branch;
  std::string tag;
  std::string semver;  // highest tag satisfying this range
  std::string commit;  // full SHA-1; with `branch`, that commit on the branch
};

struct GitSignature {
  std::string name;
  std::string email;
};

// The format of CommitOptions::signing_key (spec.git.commit.signingKey.type).
enum class SigningKeyType {
  kGpg,  // ASCII-armored OpenPGP private key (`git.asc`), signed with gpgme
  kSsh,  // SSH private key (`identity`), an SSHSIG signature (ssh_sign.h)
};

struct CommitOptions {
  GitSignature author;
  // The signing key from the secret (`git.asc` or `identity`, per
  // signing_type) and its passphrase (`passphrase` or `password`); the
  // commit is signed when the key is set.
  std::string signing_key;
  std::string signing_passphrase;
  SigningKeyType signing_type = SigningKeyType::kGpg;
};

struct PushOptions {
  // The branch to push to (required; an automation's is PushBranchFor's);
  // created from the checked-out commit when it does not exist on the
  // remote.
  std::string branch;
  // Extra refspec pushed together with the branch, e.g.
  // "refs/heads/auto:refs/heads/auto-review"; empty means none.
  std::string refspec;
  int max_attempts = 5;  // pushes tried before ABORTED
};

// The phase of UpdateBranch a failure happened in, so that callers classify
// failures by type and never by their message.
enum class GitPhase {
  kNone,          // no failure
  kOptions,       // invalid PushOptions: refspec, branch (no Git work)
  kFetch,         // fetching from the remote
  kCheckout,      // resolving the ref or resetting the worktree to it
  kRewrite,       // the caller's RewriteFunc returned an error
  kCommit,        // staging the files or making the commit
  kSign,          // signing the commit (gpgme, or OpenSSL for SSH keys)
  kSigningKey,    // the SSH signing key cannot be used: it does not parse,
                  // is refused (DSA, short RSA), or its passphrase is
                  // missing or wrong; only a new key or secret can help
  kPush,          // pushing failed (not a rejection)
  kPushRejected,  // the push was still rejected after the retries (ABORTED)
};

// "fetch", "checkout", ... for logs and test names.
absl::string_view GitPhaseName(GitPhase phase);

}  // namespace ia::automation

#endif  // SERVICES_AUTOMATION_GIT_TYPES_H_
