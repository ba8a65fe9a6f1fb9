// Git for the automation service, over libgit2 (Debian's 1.5, built with
// HTTPS and SSH). A GitCheckout is one persistent clone of a GitRepository
// under the service's --data-dir: opened (or cloned) once, then brought up
// to date by fetch, so a run only transfers what is new.
//
// UpdateBranch() is the whole write path of an automation run: check out
// the base, let the caller rewrite files, commit when anything changed, push
// without force; when the remote branch moved meanwhile, fetch, start again
// from its new head and re-apply the rewrite, a bounded number of times.
// Nobody's commit is ever overwritten.
//
// Credentials are used by libgit2 callbacks only: never logged, never part
// of a returned error (errors name the URL without userinfo).
//
// Errors:
//   UNAUTHENTICATED     the remote refused the credentials (or wanted some).
//   PERMISSION_DENIED   the HTTP remote answered 403 (e.g. a wrong bearer
//   token). NOT_FOUND           the HTTP remote answered 404 (no such
//   repository). FAILED_PRECONDITION an SSH host key unknown to or different
//   from
//                       known_hosts (the message says which), a TLS
//                       certificate not trusted (nor by ca.crt), or no such
//                       ref (the message names it).
//   ABORTED             the push was still rejected after the retries.
//   UNAVAILABLE         the remote cannot be reached.
//   DEADLINE_EXCEEDED   an operation took longer than GitRemote::timeout.
//   INVALID_ARGUMENT    a bad URL, key, ref or template of a ref.
//
// The timeout bounds each network operation (a fetch, a push): connecting,
// and every read and write, for HTTP, HTTPS and SSH alike.
//
// Not thread-safe: one GitCheckout is used by one run at a time (the
// controller serialises runs per repository). Distinct GitCheckouts may be
// used from distinct threads at once.
#ifndef SERVICES_AUTOMATION_GIT_H_
#define SERVICES_AUTOMATION_GIT_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
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

struct CommitOptions {
  GitSignature author;
  // ASCII-armored OpenPGP private key (the `git.asc` secret) and its
  // passphrase; the commit is signed with gpgme when set.
  std::string signing_key;
  std::string signing_passphrase;
};

struct PushOptions {
  // The branch to push to; created from the checked-out commit when it does
  // not exist on the remote. Empty means the checked-out branch.
  std::string branch;
  // Extra refspec pushed together with the branch, e.g.
  // "refs/heads/auto:refs/heads/auto-review"; empty means none.
  std::string refspec;
  // Push options ("-o key=value"). libgit2 1.5 cannot send them: a
  // non-empty map is reported by UpdateBranch as INVALID_ARGUMENT.
  std::vector<std::pair<std::string, std::string>> options;
  int max_attempts = 5;  // pushes tried before ABORTED
};

// What a rewrite did to the worktree.
struct Rewritten {
  // The commit message for it (used only when the tree then differs from
  // the base commit).
  std::string message;
  // The files it wrote, created or removed, relative to the worktree and
  // '/'-separated: only these are staged, so nothing else in the worktree
  // is ever committed (and the rest of the worktree needs no scan).
  std::vector<std::string> files;
};

// Called with the checkout's worktree folder; rewrites files in place and
// says which. Called again after a rejected push, on the new head; an error
// ends UpdateBranch with it.
using RewriteFunc =
    std::function<absl::StatusOr<Rewritten>(const std::string& worktree)>;

struct UpdateResult {
  // The commit the final rewrite started from.
  std::string base_commit;
  // The pushed commit; empty when the rewrite changed nothing (no commit,
  // no push).
  std::string pushed_commit;
  int attempts = 0;  // pushes tried
};

class GitCheckout {
 public:
  virtual ~GitCheckout() = default;

  // Fetches every branch and tag of the remote.
  virtual absl::Status Fetch() = 0;

  // Fetches, then resets the worktree to `ref` (discarding local changes);
  // returns the commit's SHA-1.
  virtual absl::StatusOr<std::string> Checkout(const GitRef& ref) = 0;

  // The folder holding the checked-out files.
  virtual std::string worktree() const = 0;

  // Fetch, checkout `ref`, `rewrite`, commit if anything changed, push to
  // `push.branch`; retried from the new remote head when the push is
  // rejected because the branch moved. When push.branch differs from the
  // checked-out branch and already exists on the remote, the rewrite starts
  // from push.branch's head instead, so automation commits accumulate there
  // (as Flux does).
  virtual absl::StatusOr<UpdateResult> UpdateBranch(
      const GitRef& ref, const RewriteFunc& rewrite,
      const CommitOptions& commit, const PushOptions& push) = 0;
};

// Opens the clone in `dir`, or clones `remote` into it when `dir` holds
// none. A clone whose origin URL differs from remote.url is re-cloned.
absl::StatusOr<std::unique_ptr<GitCheckout>> OpenGitCheckout(
    const std::string& dir, const GitRemote& remote);

}  // namespace ia::automation

#endif  // SERVICES_AUTOMATION_GIT_H_
