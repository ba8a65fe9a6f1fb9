// Internals of the Git layer (git.cc): making the commit of one
// UpdateBranch attempt: staging exactly the files the rewrite names,
// committing them on top of the base commit, signed when a key is given
// (OpenPGP with gpgme, or SSHSIG with ssh_sign.h), and moving HEAD's branch
// to it. Split from git.cc, which keeps
// refs, checkout, the push and its retries.
//
// Not thread-safe: the repository is used by one run at a time.
#ifndef SERVICES_AUTOMATION_GIT_COMMIT_H_
#define SERVICES_AUTOMATION_GIT_COMMIT_H_

#include <git2.h>

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "services/automation/git.h"
#include "services/automation/git_types.h"

namespace ia::automation::git_internal {

// Stages the files `rewritten` names (relative to the worktree `dir`; a
// file that no longer exists is removed from the index) and commits them on
// top of `base` with rewritten.message as it is, by options.author, signed
// when options.signing_key is set; HEAD's branch follows. Returns the new
// commit, or nullopt when the tree did not change. On failure `*phase` is
// kSigningKey when the SSH key cannot be used (SshSigner::Load's errors),
// kSign when signing failed (SignDetached's errors, gpg_sign.h, or
// SshSigner::Sign's), else kCommit: INVALID_ARGUMENT for an author without
// a name or email, INTERNAL for libgit2's.
absl::StatusOr<std::optional<git_oid>> CommitWorktree(
    git_repository* repo, const std::string& dir, const git_oid& base,
    const CommitOptions& options, const Rewritten& rewritten, GitPhase* phase);

}  // namespace ia::automation::git_internal

#endif  // SERVICES_AUTOMATION_GIT_COMMIT_H_
