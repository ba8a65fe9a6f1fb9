// Internals of the Git layer: owning pointers to libgit2's objects and the
// two helpers every libgit2 call site needs (an object id as hex, libgit2's
// last error as a Status). Included only by the git*.cc files.
//
// Thread-compatible (libgit2's last error is per thread).
#ifndef SERVICES_AUTOMATION_GIT_LIBGIT2_H_
#define SERVICES_AUTOMATION_GIT_LIBGIT2_H_

#include <git2.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace ia::automation::git_internal {

// libgit2's last error message for a call that returned `rc`.
inline std::string LastGitError(int rc) {
  const git_error* e = git_error_last();
  if (e != nullptr && e->message != nullptr && *e->message) return e->message;
  return absl::StrCat("libgit2 error ", rc);
}

// Owning pointers to libgit2 objects.
template <typename T, void (*Free)(T*)>
struct GitFree {
  void operator()(T* p) const { Free(p); }
};
using RepoPtr = std::unique_ptr<git_repository,
                                GitFree<git_repository, git_repository_free>>;
using RemotePtr =
    std::unique_ptr<git_remote, GitFree<git_remote, git_remote_free>>;
using CommitPtr =
    std::unique_ptr<git_commit, GitFree<git_commit, git_commit_free>>;
using ObjectPtr =
    std::unique_ptr<git_object, GitFree<git_object, git_object_free>>;
using ReferencePtr =
    std::unique_ptr<git_reference, GitFree<git_reference, git_reference_free>>;
using IndexPtr = std::unique_ptr<git_index, GitFree<git_index, git_index_free>>;
using TreePtr = std::unique_ptr<git_tree, GitFree<git_tree, git_tree_free>>;
using SignaturePtr =
    std::unique_ptr<git_signature, GitFree<git_signature, git_signature_free>>;

inline std::string OidHex(const git_oid& oid) {
  char hex[GIT_OID_HEXSZ + 1];
  git_oid_tostr(hex, sizeof(hex), &oid);
  return hex;
}

// The error of a local libgit2 call (no network): INTERNAL, naming `what`.
inline absl::Status LocalError(int rc, absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", LastGitError(rc)));
}

}  // namespace ia::automation::git_internal

#endif  // SERVICES_AUTOMATION_GIT_LIBGIT2_H_
