#include "services/automation/git_commit.h"

#include <filesystem>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "services/automation/git_libgit2.h"
#include "services/automation/gpg_sign.h"
#include "services/automation/ssh_sign.h"

namespace ia::automation::git_internal {
namespace {

// The signature for the gpgsig header of `buffer`, with the key of
// `options`: OpenPGP (gpgme) or SSHSIG. `*phase` says which step failed:
// kSigningKey when the SSH key cannot be used, else kSign.
absl::StatusOr<std::string> SignCommit(absl::string_view buffer,
                                       const CommitOptions& options,
                                       GitPhase* phase) {
  if (options.signing_type == SigningKeyType::kGpg) {
    *phase = GitPhase::kSign;
    return SignDetached(buffer, options.signing_key,
                        options.signing_passphrase);
  }
  *phase = GitPhase::kSigningKey;
  ASSIGN_OR_RETURN(
      SshSigner signer,
      SshSigner::Load(options.signing_key, options.signing_passphrase));
  *phase = GitPhase::kSign;
  return signer.Sign(buffer);
}

}  // namespace

absl::StatusOr<std::optional<git_oid>> CommitWorktree(
    git_repository* repo, const std::string& dir, const git_oid& base,
    const CommitOptions& options, const Rewritten& rewritten, GitPhase* phase) {
  *phase = GitPhase::kCommit;
  if (rewritten.files.empty()) return std::nullopt;
  git_index* raw_index = nullptr;
  if (int rc = git_repository_index(&raw_index, repo); rc != 0) {
    return LocalError(rc, "opening the index");
  }
  IndexPtr index(raw_index);
  for (const std::string& file : rewritten.files) {
    std::error_code ec;
    const bool exists =
        std::filesystem::symlink_status(std::filesystem::path(dir) / file, ec)
            .type() != std::filesystem::file_type::not_found;
    const int rc = exists ? git_index_add_bypath(index.get(), file.c_str())
                          : git_index_remove_bypath(index.get(), file.c_str());
    if (rc != 0) return LocalError(rc, absl::StrCat("staging ", file));
  }
  if (int rc = git_index_write(index.get()); rc != 0) {
    return LocalError(rc, "writing the index");
  }
  git_oid tree_oid;
  if (int rc = git_index_write_tree(&tree_oid, index.get()); rc != 0) {
    return LocalError(rc, "writing the tree");
  }
  git_commit* raw_parent = nullptr;
  if (int rc = git_commit_lookup(&raw_parent, repo, &base); rc != 0) {
    return LocalError(rc, "reading the base commit");
  }
  CommitPtr parent(raw_parent);
  if (git_oid_equal(&tree_oid, git_commit_tree_id(parent.get())))
    return std::nullopt;

  if (options.author.name.empty() || options.author.email.empty()) {
    return absl::InvalidArgumentError(
        "the commit author needs a name and an email (git.commit.author)");
  }
  git_signature* raw_sig = nullptr;
  if (int rc = git_signature_now(&raw_sig, options.author.name.c_str(),
                                 options.author.email.c_str());
      rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the commit author is not valid: ", LastGitError(rc)));
  }
  SignaturePtr sig(raw_sig);
  git_tree* raw_tree = nullptr;
  if (int rc = git_tree_lookup(&raw_tree, repo, &tree_oid); rc != 0) {
    return LocalError(rc, "reading the new tree");
  }
  TreePtr tree(raw_tree);
  const git_commit* parents[] = {parent.get()};
  git_oid commit_oid;
  if (options.signing_key.empty()) {
    if (int rc = git_commit_create(
            &commit_oid, repo, nullptr, sig.get(), sig.get(), nullptr,
            rewritten.message.c_str(), tree.get(), 1, parents);
        rc != 0) {
      return LocalError(rc, "creating the commit");
    }
  } else {
    git_buf buffer = GIT_BUF_INIT;
    if (int rc = git_commit_create_buffer(&buffer, repo, sig.get(), sig.get(),
                                          nullptr, rewritten.message.c_str(),
                                          tree.get(), 1, parents);
        rc != 0) {
      return LocalError(rc, "creating the commit");
    }
    absl::Cleanup free_buffer = [&buffer] { git_buf_dispose(&buffer); };
    ASSIGN_OR_RETURN(
        std::string signature,
        SignCommit(absl::string_view(buffer.ptr, buffer.size), options, phase));
    *phase = GitPhase::kCommit;
    if (int rc = git_commit_create_with_signature(&commit_oid, repo, buffer.ptr,
                                                  signature.c_str(), "gpgsig");
        rc != 0) {
      return LocalError(rc, "creating the signed commit");
    }
  }
  // HEAD is on the local branch: move it (the index already matches).
  git_reference* head = nullptr;
  if (int rc = git_repository_head(&head, repo); rc != 0) {
    return LocalError(rc, "reading HEAD");
  }
  ReferencePtr head_ref(head);
  git_reference* moved = nullptr;
  if (int rc = git_reference_set_target(&moved, head_ref.get(), &commit_oid,
                                        "commit");
      rc != 0) {
    return LocalError(rc, "moving the branch to the new commit");
  }
  git_reference_free(moved);
  return commit_oid;
}

}  // namespace ia::automation::git_internal
