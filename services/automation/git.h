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
// clang-format off
// Errors:
//   UNAUTHENTICATED     the remote refused the credentials (or wanted some).
//   PERMISSION_DENIED   the HTTP remote answered 403 (e.g. a wrong bearer token).
//   NOT_FOUND           the HTTP remote answered 404 (no such repository).
//   FAILED_PRECONDITION an SSH host key unknown to or different from
//                       known_hosts (the message says which), a TLS
//                       certificate not trusted (nor by ca.crt), or no such
//                       ref (the message names it).
//   ABORTED             the push was still rejected after the retries.
//   UNAVAILABLE         the remote cannot be reached.
//   DEADLINE_EXCEEDED   an operation took longer than GitRemote::timeout.
//   INVALID_ARGUMENT    a bad URL, key, ref or template of a ref.
// clang-format on
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
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/automation/git_types.h"

namespace ia::automation {

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

// What UpdateBranch returns: its UpdateResult, or the error together with
// the phase it happened in. Used as an absl::StatusOr<UpdateResult>.
class UpdateBranchResult : public absl::StatusOr<UpdateResult> {
 public:
  UpdateBranchResult(UpdateResult result)  // NOLINT: implicit, as StatusOr
      : absl::StatusOr<UpdateResult>(std::move(result)) {}
  // `error` must not be OK.
  UpdateBranchResult(GitPhase phase, absl::Status error)
      : absl::StatusOr<UpdateResult>(std::move(error)), phase_(phase) {}

  // kNone when ok().
  GitPhase failed_phase() const { return phase_; }

 private:
  GitPhase phase_ = GitPhase::kNone;
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
  // `push.branch` (INVALID_ARGUMENT in phase kOptions when empty); retried from
  // the new remote head when the push is rejected because the branch moved.
  // When push.branch differs from the checked-out branch and already exists on
  // the remote, the rewrite starts from push.branch's head instead, so
  // automation commits accumulate there (as Flux does). On failure the result
  // names the phase that failed (the rewrite's own error is returned as it is,
  // in phase kRewrite).
  virtual UpdateBranchResult UpdateBranch(const GitRef& ref,
                                          const RewriteFunc& rewrite,
                                          const CommitOptions& commit,
                                          const PushOptions& push) = 0;
};

// Opens the clone in `dir`, or clones `remote` into it when `dir` holds
// none. A clone whose origin URL differs from remote.url is re-cloned.
absl::StatusOr<std::unique_ptr<GitCheckout>> OpenGitCheckout(
    const std::string& dir, const GitRemote& remote);

// The port through which the automation service gets its clones: one per
// GitRepository, named by its namespace and name. Implementations are
// thread-safe; the checkouts they return are not (see GitCheckout).
class GitCheckoutFactory {
 public:
  virtual ~GitCheckoutFactory() = default;

  // The clone of GitRepository `ns`/`name` with `remote` as its origin,
  // opened, or cloned when there is none (or its origin URL changed).
  // Errors as above (e.g. UNAUTHENTICATED when the first fetch is refused).
  virtual absl::StatusOr<std::unique_ptr<GitCheckout>> Open(
      absl::string_view ns, absl::string_view name,
      const GitRemote& remote) = 0;
};

// The libgit2 factory: clones live in `root`/<namespace>/<name>
// (OpenGitCheckout).
std::unique_ptr<GitCheckoutFactory> MakeGitCheckoutFactory(std::string root);

}  // namespace ia::automation

#endif  // SERVICES_AUTOMATION_GIT_H_
