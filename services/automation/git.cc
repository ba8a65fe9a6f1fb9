#include "services/automation/git.h"

#include <git2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/semver.h"
#include "common/status_macros.h"
#include "services/automation/git_transport.h"
#include "services/automation/gpg_sign.h"

namespace ia::automation {
namespace {

namespace gi = git_internal;

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

std::string OidHex(const git_oid& oid) {
  char hex[GIT_OID_HEXSZ + 1];
  git_oid_tostr(hex, sizeof(hex), &oid);
  return hex;
}

// libgit2's last error message for a call that returned `rc`.
std::string LastGitError(int rc) {
  const git_error* e = git_error_last();
  if (e != nullptr && e->message != nullptr && *e->message) return e->message;
  return absl::StrCat("libgit2 error ", rc);
}

// The error of a local libgit2 call (no network): INTERNAL, naming `what`.
absl::Status LocalError(int rc, absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", LastGitError(rc)));
}

// What the callbacks of one network operation share.
struct RemoteCall {
  const GitRemote* remote = nullptr;
  const gi::GitUrl* url = nullptr;
  std::string display_url;
  absl::Time deadline;
  // Why a callback stopped the operation; OK when none did.
  absl::Status status;
  int userpass_calls = 0;
  int ssh_key_calls = 0;
  // Push: refs the server refused, with its reason.
  std::vector<std::pair<std::string, std::string>> rejected;
  std::string bearer_header;
  const char* header_ptr = nullptr;
  // A private copy of the SSH identity when libgit2 cannot take it from
  // memory; removed when the call ends.
  std::string identity_dir;

  ~RemoteCall() {
    if (!identity_dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(identity_dir, ec);
    }
  }

  bool Expired() const { return absl::Now() >= deadline; }

  int Stop(absl::Status s) {
    if (status.ok()) status = std::move(s);
    return GIT_EUSER;
  }

  int StopIfExpired() {
    if (!Expired()) return 0;
    return Stop(absl::DeadlineExceededError(
        absl::StrCat("no result within the timeout of ",
                     absl::FormatDuration(remote->timeout),
                     " (GitRepository spec.timeout)")));
  }

  std::string SshUser(const char* from_url) const {
    if (from_url != nullptr && *from_url) return from_url;
    if (!url->user.empty()) return url->user;
    return "git";
  }

  int SshKeyCredential(git_credential** out, const char* user_from_url) {
    const GitAuth& auth = remote->auth;
    if (auth.ssh_identity.empty()) {
      return Stop(absl::UnauthenticatedError(
          "the SSH remote asks for a key and the secret has no identity"));
    }
    if (++ssh_key_calls > 1) {
      return Stop(absl::UnauthenticatedError(absl::StrCat(
          "the SSH remote refused the identity of the secret for user \"",
          SshUser(user_from_url), "\"")));
    }
    const std::string user = SshUser(user_from_url);
    const char* passphrase =
        auth.ssh_passphrase.empty() ? nullptr : auth.ssh_passphrase.c_str();
    if (git_credential_ssh_key_memory_new(out, user.c_str(), nullptr,
                                          auth.ssh_identity.c_str(),
                                          passphrase) == 0) {
      return 0;
    }
    // Built without in-memory keys: a 0600 file in a fresh 0700 folder.
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl =
        absl::StrCat(tmp != nullptr && *tmp ? tmp : "/tmp", "/ia-ssh-XXXXXX");
    if (mkdtemp(tmpl.data()) == nullptr) {
      return Stop(
          absl::InternalError("cannot create a folder for the SSH identity"));
    }
    identity_dir = tmpl;
    const std::string path = identity_dir + "/identity";
    {
      std::ofstream f(path, std::ios::binary);
      f << auth.ssh_identity;
    }
    chmod(path.c_str(), 0600);
    if (git_credential_ssh_key_new(out, user.c_str(), nullptr, path.c_str(),
                                   passphrase) != 0) {
      return Stop(absl::InvalidArgumentError(
          absl::StrCat("the SSH identity of the secret cannot be used: ",
                       LastGitError(-1))));
    }
    return 0;
  }
};

int CredentialsCallback(git_credential** out, const char* /*url*/,
                        const char* user_from_url, unsigned int allowed,
                        void* payload) {
  auto* call = static_cast<RemoteCall*>(payload);
  if (int rc = call->StopIfExpired(); rc != 0) return rc;
  const GitAuth& auth = call->remote->auth;
  if (allowed & (GIT_CREDENTIAL_SSH_KEY | GIT_CREDENTIAL_SSH_MEMORY)) {
    return call->SshKeyCredential(out, user_from_url);
  }
  if (allowed & GIT_CREDENTIAL_USERNAME) {
    return git_credential_username_new(out,
                                       call->SshUser(user_from_url).c_str());
  }
  if (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) {
    if (auth.username.empty() && auth.password.empty()) {
      return call->Stop(absl::UnauthenticatedError(
          auth.bearer_token.empty()
              ? "the remote requires credentials: set username and password "
                "(or "
                "bearerToken) in the GitRepository's secret"
              : "the remote refused the bearer token of the secret"));
    }
    if (++call->userpass_calls > 1) {
      return call->Stop(absl::UnauthenticatedError(
          "the remote refused the username and password of the secret"));
    }
    return git_credential_userpass_plaintext_new(out, auth.username.c_str(),
                                                 auth.password.c_str());
  }
  return call->Stop(
      absl::UnauthenticatedError("the remote asks for a kind of credentials "
                                 "this service does not support"));
}

int CertificateCallback(git_cert* cert, int valid, const char* host,
                        void* payload) {
  auto* call = static_cast<RemoteCall*>(payload);
  if (int rc = call->StopIfExpired(); rc != 0) return rc;
  const GitAuth& auth = call->remote->auth;
  if (cert->cert_type == GIT_CERT_HOSTKEY_LIBSSH2) {
    const auto* key = reinterpret_cast<const git_cert_hostkey*>(cert);
    if (auth.known_hosts.empty()) {
      return call->Stop(absl::FailedPreconditionError(
          "SSH needs known_hosts in the GitRepository's secret to check the "
          "host key"));
    }
    if (!(key->type & GIT_CERT_SSH_RAW) || key->hostkey == nullptr) {
      return call->Stop(absl::FailedPreconditionError(
          "cannot check the SSH host key: libgit2 gave no raw key"));
    }
    absl::Status status =
        gi::CheckSshHostKey(auth.known_hosts, host, call->url->port,
                            absl::string_view(key->hostkey, key->hostkey_len));
    return status.ok() ? 0 : call->Stop(std::move(status));
  }
  if (cert->cert_type == GIT_CERT_X509) {
    if (valid) return 0;
    if (auth.ca_pem.empty()) {
      return call->Stop(absl::FailedPreconditionError(absl::StrCat(
          "TLS certificate of ", host,
          " is not trusted; for a private CA put it in ca.crt of the secret")));
    }
    const auto* x509 = reinterpret_cast<const git_cert_x509*>(cert);
    absl::Status status = gi::CheckTlsCertificate(
        absl::string_view(static_cast<const char*>(x509->data), x509->len),
        auth.ca_pem, host);
    return status.ok() ? 0 : call->Stop(std::move(status));
  }
  return valid ? 0 : GIT_PASSTHROUGH;
}

int SidebandCallback(const char*, int, void* payload) {
  return static_cast<RemoteCall*>(payload)->StopIfExpired();
}

int TransferCallback(const git_indexer_progress*, void* payload) {
  return static_cast<RemoteCall*>(payload)->StopIfExpired();
}

int PushTransferCallback(unsigned int, unsigned int, size_t, void* payload) {
  return static_cast<RemoteCall*>(payload)->StopIfExpired();
}

int PackCallback(int, uint32_t, uint32_t, void* payload) {
  return static_cast<RemoteCall*>(payload)->StopIfExpired();
}

int PushUpdateReferenceCallback(const char* refname, const char* status,
                                void* payload) {
  if (status != nullptr) {
    static_cast<RemoteCall*>(payload)->rejected.emplace_back(refname, status);
  }
  return 0;
}

// The status of a failed network operation: the callbacks' reason, else a
// timeout, else libgit2's error mapped to a code.
absl::Status RemoteError(int rc, const RemoteCall& call,
                         absl::string_view what) {
  absl::StatusCode code;
  std::string detail;
  if (!call.status.ok()) {
    code = call.status.code();
    detail = std::string(call.status.message());
  } else if (call.Expired()) {
    code = absl::StatusCode::kDeadlineExceeded;
    detail = absl::StrCat("no result within the timeout of ",
                          absl::FormatDuration(call.remote->timeout),
                          " (GitRepository spec.timeout): ", LastGitError(rc));
  } else {
    const git_error* e = git_error_last();
    const int klass = e != nullptr ? e->klass : GIT_ERROR_NONE;
    detail = LastGitError(rc);
    if (rc == GIT_EAUTH || absl::StrContains(detail, "status code: 401") ||
        (klass == GIT_ERROR_SSH && absl::StrContains(detail, "authenticat"))) {
      code = absl::StatusCode::kUnauthenticated;
    } else if (absl::StrContains(detail, "status code: 403")) {
      code = absl::StatusCode::kPermissionDenied;
    } else if (absl::StrContains(detail, "status code: 404")) {
      code = absl::StatusCode::kNotFound;
    } else if (rc == GIT_ECERTIFICATE) {
      code = absl::StatusCode::kFailedPrecondition;
    } else if (klass == GIT_ERROR_NET || klass == GIT_ERROR_SSH ||
               klass == GIT_ERROR_HTTP || klass == GIT_ERROR_SSL ||
               klass == GIT_ERROR_OS) {
      code = absl::StatusCode::kUnavailable;
    } else {
      code = absl::StatusCode::kInternal;
    }
  }
  const GitAuth& auth = call.remote->auth;
  return absl::Status(
      code,
      gi::RedactMessage(absl::StrCat(what, " ", call.display_url, ": ", detail),
                        {auth.password, auth.bearer_token, auth.ssh_passphrase,
                         call.url->password}));
}

bool ValidBranchName(const std::string& name) {
  int valid = 0;
  return !name.empty() &&
         git_reference_name_is_valid(
             &valid, absl::StrCat("refs/heads/", name).c_str()) == 0 &&
         valid;
}

// What a GitRef resolves to: a commit, and the local branch to put HEAD on
// (empty: detached).
struct Target {
  git_oid oid;
  std::string branch;
};

class GitCheckoutImpl : public GitCheckout {
 public:
  GitCheckoutImpl(std::string dir, GitRemote remote, gi::GitUrl url,
                  std::string display_url, RepoPtr repo)
      : dir_(std::move(dir)),
        remote_(std::move(remote)),
        url_(std::move(url)),
        display_url_(std::move(display_url)),
        repo_(std::move(repo)) {}

  absl::Status Fetch() override {
    RemotePtr remote;
    ASSIGN_OR_RETURN(remote, Origin());
    RemoteCall call;
    git_fetch_options options = GIT_FETCH_OPTIONS_INIT;
    PrepareCall(&call, &options.callbacks, &options.custom_headers);
    options.prune = GIT_FETCH_PRUNE;
    options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_ALL;
    const char* specs[] = {"+refs/heads/*:refs/remotes/origin/*",
                           "+refs/tags/*:refs/tags/*"};
    git_strarray refspecs = {const_cast<char**>(specs), 2};
    int rc;
    {
      gi::IoDeadline deadline(call.deadline);
      rc = git_remote_fetch(remote.get(), &refspecs, &options, "fetch");
    }
    if (rc != 0) return RemoteError(rc, call, "fetching from");
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> Checkout(const GitRef& ref) override {
    RETURN_IF_ERROR(Fetch());
    ASSIGN_OR_RETURN(Target target, Resolve(ref));
    RETURN_IF_ERROR(ResetTo(target.oid, target.branch));
    return OidHex(target.oid);
  }

  std::string worktree() const override { return dir_; }

  absl::StatusOr<UpdateResult> UpdateBranch(const GitRef& ref,
                                            const RewriteFunc& rewrite,
                                            const CommitOptions& commit,
                                            const PushOptions& push) override;

 private:
  // An in-memory remote for origin's URL. Not git_remote_lookup: that
  // applies url.*.insteadOf by matching every config entry against a
  // regular expression, and Debian's libgit2 1.5 leaks the PCRE2 match data
  // of each entry that does not match (~20 KiB each, every fetch and push).
  // The refspecs are always given explicitly, so nothing of the named
  // remote's configuration is needed.
  absl::StatusOr<RemotePtr> Origin() {
    git_remote* remote = nullptr;
    git_remote_create_options options = GIT_REMOTE_CREATE_OPTIONS_INIT;
    options.repository = repo_.get();
    options.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF |
                    GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
    if (int rc = git_remote_create_with_opts(&remote, display_url_.c_str(),
                                             &options);
        rc != 0) {
      return LocalError(rc, absl::StrCat("the remote of the clone in ", dir_));
    }
    return RemotePtr(remote);
  }

  void PrepareCall(RemoteCall* call, git_remote_callbacks* callbacks,
                   git_strarray* headers) {
    call->remote = &remote_;
    call->url = &url_;
    call->display_url = display_url_;
    call->deadline = remote_.timeout > absl::ZeroDuration()
                         ? absl::Now() + remote_.timeout
                         : absl::InfiniteFuture();
    callbacks->credentials = CredentialsCallback;
    callbacks->certificate_check = CertificateCallback;
    callbacks->sideband_progress = SidebandCallback;
    callbacks->transfer_progress = TransferCallback;
    callbacks->push_transfer_progress = PushTransferCallback;
    callbacks->pack_progress = PackCallback;
    callbacks->push_update_reference = PushUpdateReferenceCallback;
    callbacks->payload = call;
    if (!remote_.auth.bearer_token.empty()) {
      call->bearer_header =
          absl::StrCat("Authorization: Bearer ", remote_.auth.bearer_token);
      call->header_ptr = call->bearer_header.c_str();
      headers->strings = const_cast<char**>(&call->header_ptr);
      headers->count = 1;
    }
  }

  absl::StatusOr<git_oid> RemoteBranch(const std::string& branch) {
    git_oid oid;
    const std::string name = absl::StrCat("refs/remotes/origin/", branch);
    if (int rc = git_reference_name_to_id(&oid, repo_.get(), name.c_str());
        rc != 0) {
      if (rc == GIT_ENOTFOUND) {
        return absl::FailedPreconditionError(absl::StrCat(
            "branch \"", branch, "\" not found in ", display_url_));
      }
      return LocalError(rc, absl::StrCat("reading ", name));
    }
    return oid;
  }

  absl::StatusOr<git_oid> PeelToCommit(const std::string& spec,
                                       absl::string_view what) {
    git_object* obj = nullptr;
    int rc = git_revparse_single(&obj, repo_.get(), spec.c_str());
    if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC || rc == GIT_EAMBIGUOUS) {
      return absl::FailedPreconditionError(
          absl::StrCat(what, " not found in ", display_url_));
    }
    if (rc != 0) return LocalError(rc, absl::StrCat("resolving ", what));
    ObjectPtr object(obj);
    git_object* peeled = nullptr;
    if (int prc = git_object_peel(&peeled, object.get(), GIT_OBJECT_COMMIT);
        prc != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          what, " of ", display_url_, " does not point to a commit"));
    }
    ObjectPtr commit(peeled);
    return *git_object_id(commit.get());
  }

  absl::StatusOr<Target> Resolve(const GitRef& ref) {
    // Flux's precedence: commit, semver, tag, branch.
    if (!ref.commit.empty()) {
      git_oid oid;
      if (ref.commit.size() != GIT_OID_HEXSZ ||
          git_oid_fromstr(&oid, ref.commit.c_str()) != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("checkout ref commit \"", ref.commit,
                         "\" is not a full 40-character SHA-1"));
      }
      git_commit* c = nullptr;
      if (git_commit_lookup(&c, repo_.get(), &oid) != 0) {
        return absl::FailedPreconditionError(absl::StrCat(
            "commit ", ref.commit, " not found in ", display_url_));
      }
      git_commit_free(c);
      if (!ref.branch.empty()) {
        ASSIGN_OR_RETURN(git_oid head, RemoteBranch(ref.branch));
        if (!git_oid_equal(&head, &oid) &&
            git_graph_descendant_of(repo_.get(), &head, &oid) != 1) {
          return absl::FailedPreconditionError(
              absl::StrCat("commit ", ref.commit, " is not on branch \"",
                           ref.branch, "\" of ", display_url_));
        }
      }
      return Target{oid, ""};
    }
    if (!ref.semver.empty()) return ResolveSemver(ref.semver);
    if (!ref.tag.empty()) {
      ASSIGN_OR_RETURN(git_oid oid,
                       PeelToCommit(absl::StrCat("refs/tags/", ref.tag),
                                    absl::StrCat("tag \"", ref.tag, "\"")));
      return Target{oid, ""};
    }
    const std::string branch = ref.branch.empty() ? "master" : ref.branch;
    if (!ValidBranchName(branch)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "checkout ref branch \"", branch, "\" is not a valid branch name"));
    }
    ASSIGN_OR_RETURN(git_oid oid, RemoteBranch(branch));
    return Target{oid, branch};
  }

  absl::StatusOr<Target> ResolveSemver(const std::string& range_text) {
    auto range = SemverRange::Parse(range_text);
    if (!range.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("checkout ref semver: ", range.status().message()));
    }
    git_strarray tags = {nullptr, 0};
    if (int rc = git_tag_list(&tags, repo_.get()); rc != 0) {
      return LocalError(rc, "listing tags");
    }
    absl::Cleanup free_tags = [&tags] { git_strarray_dispose(&tags); };
    std::optional<Version> best;
    std::string best_tag;
    for (size_t i = 0; i < tags.count; ++i) {
      auto version = ParseTagVersion(tags.strings[i]);
      if (!version || !range->Contains(*version)) continue;
      if (!best || CompareVersions(*version, *best) > 0) {
        best = std::move(version);
        best_tag = tags.strings[i];
      }
    }
    if (!best) {
      return absl::FailedPreconditionError(
          absl::StrCat("no tag of ", display_url_,
                       " matches the semver range \"", range_text, "\""));
    }
    ASSIGN_OR_RETURN(git_oid oid,
                     PeelToCommit(absl::StrCat("refs/tags/", best_tag),
                                  absl::StrCat("tag \"", best_tag, "\"")));
    return Target{oid, ""};
  }

  // Resets index and worktree to `oid` (dropping local changes and untracked
  // files) and puts HEAD on local `branch` at that commit, or detaches it.
  absl::Status ResetTo(const git_oid& oid, const std::string& branch) {
    git_commit* raw = nullptr;
    if (int rc = git_commit_lookup(&raw, repo_.get(), &oid); rc != 0) {
      return LocalError(rc, absl::StrCat("reading commit ", OidHex(oid)));
    }
    CommitPtr commit(raw);
    git_checkout_options checkout = GIT_CHECKOUT_OPTIONS_INIT;
    checkout.checkout_strategy =
        GIT_CHECKOUT_FORCE | GIT_CHECKOUT_REMOVE_UNTRACKED;
    if (int rc = git_checkout_tree(repo_.get(),
                                   reinterpret_cast<git_object*>(commit.get()),
                                   &checkout);
        rc != 0) {
      return LocalError(rc, absl::StrCat("checking out ", OidHex(oid)));
    }
    if (int rc = git_repository_set_head_detached(repo_.get(), &oid); rc != 0) {
      return LocalError(rc, "detaching HEAD");
    }
    if (int rc =
            git_reset(repo_.get(), reinterpret_cast<git_object*>(commit.get()),
                      GIT_RESET_HARD, &checkout);
        rc != 0) {
      return LocalError(
          rc, absl::StrCat("resetting the worktree to ", OidHex(oid)));
    }
    if (branch.empty()) return absl::OkStatus();
    git_reference* ref = nullptr;
    if (int rc = git_branch_create(&ref, repo_.get(), branch.c_str(),
                                   commit.get(), 1);
        rc != 0) {
      return LocalError(rc, absl::StrCat("creating local branch ", branch));
    }
    git_reference_free(ref);
    if (int rc = git_repository_set_head(
            repo_.get(), absl::StrCat("refs/heads/", branch).c_str());
        rc != 0) {
      return LocalError(rc, absl::StrCat("checking out local branch ", branch));
    }
    return absl::OkStatus();
  }

  // Stages the files `rewritten` names and commits them on top of `base`
  // with its message as it is (HEAD's branch follows); nullopt when the tree
  // did not change.
  absl::StatusOr<std::optional<git_oid>> CommitWorktree(
      const git_oid& base, const CommitOptions& options,
      const Rewritten& rewritten) {
    if (rewritten.files.empty()) return std::nullopt;
    git_index* raw_index = nullptr;
    if (int rc = git_repository_index(&raw_index, repo_.get()); rc != 0) {
      return LocalError(rc, "opening the index");
    }
    IndexPtr index(raw_index);
    for (const std::string& file : rewritten.files) {
      std::error_code ec;
      const bool exists = std::filesystem::symlink_status(
                              std::filesystem::path(dir_) / file, ec)
                              .type() != std::filesystem::file_type::not_found;
      const int rc = exists
                         ? git_index_add_bypath(index.get(), file.c_str())
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
    if (int rc = git_commit_lookup(&raw_parent, repo_.get(), &base); rc != 0) {
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
    if (int rc = git_tree_lookup(&raw_tree, repo_.get(), &tree_oid); rc != 0) {
      return LocalError(rc, "reading the new tree");
    }
    TreePtr tree(raw_tree);
    const git_commit* parents[] = {parent.get()};
    git_oid commit_oid;
    if (options.signing_key.empty()) {
      if (int rc = git_commit_create(
              &commit_oid, repo_.get(), nullptr, sig.get(), sig.get(), nullptr,
              rewritten.message.c_str(), tree.get(), 1, parents);
          rc != 0) {
        return LocalError(rc, "creating the commit");
      }
    } else {
      git_buf buffer = GIT_BUF_INIT;
      if (int rc = git_commit_create_buffer(
              &buffer, repo_.get(), sig.get(), sig.get(), nullptr,
              rewritten.message.c_str(), tree.get(), 1, parents);
          rc != 0) {
        return LocalError(rc, "creating the commit");
      }
      absl::Cleanup free_buffer = [&buffer] { git_buf_dispose(&buffer); };
      ASSIGN_OR_RETURN(
          std::string signature,
          SignDetached(absl::string_view(buffer.ptr, buffer.size),
                       options.signing_key, options.signing_passphrase));
      if (int rc = git_commit_create_with_signature(
              &commit_oid, repo_.get(), buffer.ptr, signature.c_str(),
              "gpgsig");
          rc != 0) {
        return LocalError(rc, "creating the signed commit");
      }
    }
    // HEAD is on the local branch: move it (the index already matches).
    git_reference* head = nullptr;
    if (int rc = git_repository_head(&head, repo_.get()); rc != 0) {
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

  // Pushes `refspecs`. OK, or ABORTED when the remote refused an update
  // (the reason in the message), or the error.
  absl::Status Push(const std::vector<std::string>& specs) {
    RemotePtr remote;
    ASSIGN_OR_RETURN(remote, Origin());
    RemoteCall call;
    git_push_options options = GIT_PUSH_OPTIONS_INIT;
    PrepareCall(&call, &options.callbacks, &options.custom_headers);
    std::vector<const char*> ptrs;
    for (const auto& s : specs) ptrs.push_back(s.c_str());
    git_strarray refspecs = {const_cast<char**>(ptrs.data()), ptrs.size()};
    int rc;
    {
      gi::IoDeadline deadline(call.deadline);
      rc = git_remote_push(remote.get(), &refspecs, &options);
    }
    if (rc == GIT_ENONFASTFORWARD && call.status.ok()) {
      return absl::AbortedError(LastGitError(rc));
    }
    if (rc != 0) return RemoteError(rc, call, "pushing to");
    if (!call.rejected.empty()) {
      std::vector<std::string> reasons;
      for (const auto& [ref, why] : call.rejected)
        reasons.push_back(absl::StrCat(ref, ": ", why));
      return absl::AbortedError(absl::StrJoin(reasons, "; "));
    }
    return absl::OkStatus();
  }

  std::string dir_;
  GitRemote remote_;
  gi::GitUrl url_;
  std::string display_url_;
  RepoPtr repo_;
};

absl::StatusOr<UpdateResult> GitCheckoutImpl::UpdateBranch(
    const GitRef& ref, const RewriteFunc& rewrite, const CommitOptions& commit,
    const PushOptions& push) {
  if (!push.options.empty()) {
    return absl::InvalidArgumentError(
        "git.push.options are not supported: libgit2 1.5 cannot send push "
        "options; "
        "remove them from the ImageUpdateAutomation");
  }
  if (push.max_attempts < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_attempts must be at least 1, not ", push.max_attempts));
  }
  if (absl::StartsWith(push.refspec, "+")) {
    return absl::InvalidArgumentError(
        absl::StrCat("git.push.refspec \"", push.refspec,
                     "\" forces the update; force pushes are refused"));
  }
  const bool on_branch =
      ref.commit.empty() && ref.semver.empty() && ref.tag.empty();
  const std::string checkout_branch =
      on_branch ? (ref.branch.empty() ? "master" : ref.branch) : ref.branch;
  const std::string push_branch =
      push.branch.empty() ? checkout_branch : push.branch;
  if (push_branch.empty()) {
    return absl::InvalidArgumentError(
        "git.push.branch is required when the checkout is a tag, a semver "
        "range or a commit");
  }
  if (!ValidBranchName(push_branch)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "git.push.branch \"", push_branch, "\" is not a valid branch name"));
  }
  std::vector<std::string> specs = {
      absl::StrCat("refs/heads/", push_branch, ":refs/heads/", push_branch)};
  if (!push.refspec.empty()) specs.push_back(push.refspec);

  UpdateResult result;
  std::string last_rejection;
  for (int attempt = 1; attempt <= push.max_attempts; ++attempt) {
    RETURN_IF_ERROR(Fetch());
    // Automation commits accumulate on an existing push branch; after a
    // rejection, start again from wherever the branch is now.
    git_oid base;
    auto push_head = RemoteBranch(push_branch);
    if (push_head.ok() && (push_branch != checkout_branch || attempt > 1)) {
      base = *push_head;
    } else {
      ASSIGN_OR_RETURN(Target target, Resolve(ref));
      base = target.oid;
    }
    RETURN_IF_ERROR(ResetTo(base, push_branch));
    result.base_commit = OidHex(base);
    ASSIGN_OR_RETURN(Rewritten rewritten, rewrite(dir_));
    ASSIGN_OR_RETURN(std::optional<git_oid> made,
                     CommitWorktree(base, commit, rewritten));
    if (!made) {
      result.pushed_commit.clear();
      log::Info("git: nothing to commit")
          .With("url", display_url_)
          .With("branch", push_branch)
          .With("base", result.base_commit);
      return result;
    }
    ++result.attempts;
    absl::Status pushed = Push(specs);
    if (pushed.ok()) {
      result.pushed_commit = OidHex(*made);
      log::Info("git: pushed")
          .With("url", display_url_)
          .With("branch", push_branch)
          .With("commit", result.pushed_commit)
          .With("attempt", attempt);
      return result;
    }
    if (!absl::IsAborted(pushed)) return pushed;
    last_rejection = std::string(pushed.message());
    log::Info("git: push rejected, starting again from the new remote head")
        .With("url", display_url_)
        .With("branch", push_branch)
        .With("attempt", attempt)
        .With("reason", last_rejection);
  }
  return absl::AbortedError(
      absl::StrCat("pushing to branch \"", push_branch, "\" of ", display_url_,
                   ": rejected ", push.max_attempts,
                   " times (the branch kept moving); last: ", last_rejection));
}

}  // namespace

absl::StatusOr<std::unique_ptr<GitCheckout>> OpenGitCheckout(
    const std::string& dir, const GitRemote& remote) {
  gi::EnsureLibgit2();
  ASSIGN_OR_RETURN(gi::GitUrl url, gi::ParseGitUrl(remote.url));
  GitRemote effective = remote;
  // Credentials in an http(s) URL are used like the secret's (the secret
  // wins) and never stored in the clone's config.
  if ((url.scheme == "http" || url.scheme == "https") &&
      effective.auth.username.empty() && effective.auth.password.empty()) {
    effective.auth.username = url.user;
    effective.auth.password = url.password;
  }
  const std::string origin_url = gi::RedactUrl(remote.url);

  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::path(dir) / ".git", ec)) {
    git_repository* raw = nullptr;
    if (git_repository_open(&raw, dir.c_str()) == 0) {
      RepoPtr repo(raw);
      // origin's URL from the config by its exact name (see Origin() for
      // why not git_remote_lookup).
      git_config* config = nullptr;
      git_buf value = GIT_BUF_INIT;
      bool has_origin = false;
      std::string current;
      if (git_repository_config_snapshot(&config, repo.get()) == 0) {
        if (git_config_get_string_buf(&value, config, "remote.origin.url") ==
            0) {
          has_origin = true;
          current.assign(value.ptr, value.size);
        }
        git_buf_dispose(&value);
        git_config_free(config);
      }
      if (has_origin) {
        if (current == origin_url) {
          return std::make_unique<GitCheckoutImpl>(dir, std::move(effective),
                                                   std::move(url), origin_url,
                                                   std::move(repo));
        }
        log::Info("git: origin URL changed, cloning again")
            .With("dir", dir)
            .With("old_url", current)
            .With("url", origin_url);
      }
    } else {
      log::Warn("git: the clone does not open, cloning again")
          .With("dir", dir)
          .With("error", LastGitError(-1));
    }
    std::filesystem::remove_all(dir, ec);
    if (ec) {
      return absl::InternalError(
          absl::StrCat("removing the old clone in ", dir, ": ", ec.message()));
    }
  }
  std::filesystem::create_directories(dir, ec);
  git_repository* raw = nullptr;
  if (int rc = git_repository_init(&raw, dir.c_str(), 0); rc != 0) {
    return LocalError(rc, absl::StrCat("creating a repository in ", dir));
  }
  RepoPtr repo(raw);
  // origin written to the config directly (git_remote_create leaks in
  // libgit2 1.5, see Origin()); what `git clone` would have written.
  git_config* config = nullptr;
  int rc = git_repository_config(&config, repo.get());
  if (rc == 0) {
    rc = git_config_set_string(config, "remote.origin.url", origin_url.c_str());
    if (rc == 0) {
      rc = git_config_set_string(config, "remote.origin.fetch",
                                 "+refs/heads/*:refs/remotes/origin/*");
    }
    git_config_free(config);
  }
  if (rc != 0) {
    return LocalError(
        rc, absl::StrCat("adding the remote ", origin_url, " in ", dir));
  }
  auto checkout = std::make_unique<GitCheckoutImpl>(
      dir, std::move(effective), std::move(url), origin_url, std::move(repo));
  RETURN_IF_ERROR(checkout->Fetch());
  log::Info("git: cloned").With("dir", dir).With("url", origin_url);
  return checkout;
}

}  // namespace ia::automation
