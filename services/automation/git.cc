#include "services/automation/git.h"

#include <git2.h>

#include <filesystem>
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
#include "services/automation/git_commit.h"
#include "services/automation/git_libgit2.h"
#include "services/automation/git_remote_call.h"
#include "services/automation/git_transport.h"

namespace ia::automation {
namespace {

namespace gi = git_internal;
using gi::CommitPtr;
using gi::LocalError;
using gi::ObjectPtr;
using gi::OidHex;
using gi::RemotePtr;
using gi::RepoPtr;

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
    gi::RemoteCall call;
    git_fetch_options options = GIT_FETCH_OPTIONS_INIT;
    call.Prepare(&remote_, &url_, display_url_, &options.callbacks,
                 &options.custom_headers);
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
    if (rc != 0) return gi::RemoteError(rc, call, "fetching from");
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> Checkout(const GitRef& ref) override {
    RETURN_IF_ERROR(Fetch());
    ASSIGN_OR_RETURN(Target target, Resolve(ref));
    RETURN_IF_ERROR(ResetTo(target.oid, target.branch));
    return OidHex(target.oid);
  }

  std::string worktree() const override { return dir_; }

  UpdateBranchResult UpdateBranch(const GitRef& ref, const RewriteFunc& rewrite,
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

  // Pushes `refspecs`. OK, or ABORTED when the remote refused an update
  // (the reason in the message), or the error.
  absl::Status Push(const std::vector<std::string>& specs) {
    RemotePtr remote;
    ASSIGN_OR_RETURN(remote, Origin());
    gi::RemoteCall call;
    git_push_options options = GIT_PUSH_OPTIONS_INIT;
    call.Prepare(&remote_, &url_, display_url_, &options.callbacks,
                 &options.custom_headers);
    std::vector<const char*> ptrs;
    for (const auto& s : specs) ptrs.push_back(s.c_str());
    git_strarray refspecs = {const_cast<char**>(ptrs.data()), ptrs.size()};
    int rc;
    {
      gi::IoDeadline deadline(call.deadline);
      rc = git_remote_push(remote.get(), &refspecs, &options);
    }
    if (rc == GIT_ENONFASTFORWARD && call.status.ok()) {
      return absl::AbortedError(gi::LastGitError(rc));
    }
    if (rc != 0) return gi::RemoteError(rc, call, "pushing to");
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

UpdateBranchResult GitCheckoutImpl::UpdateBranch(const GitRef& ref,
                                                 const RewriteFunc& rewrite,
                                                 const CommitOptions& commit,
                                                 const PushOptions& push) {
  // The error of `phase`, when `status` is one.
  const auto failed = [](GitPhase phase, absl::Status status) {
    return UpdateBranchResult(phase, std::move(status));
  };
  if (push.max_attempts < 1) {
    return failed(
        GitPhase::kOptions,
        absl::InvalidArgumentError(absl::StrCat(
            "max_attempts must be at least 1, not ", push.max_attempts)));
  }
  if (absl::StartsWith(push.refspec, "+")) {
    return failed(GitPhase::kOptions,
                  absl::InvalidArgumentError(absl::StrCat(
                      "git.push.refspec \"", push.refspec,
                      "\" forces the update; force pushes are refused")));
  }
  const bool on_branch =
      ref.commit.empty() && ref.semver.empty() && ref.tag.empty();
  const std::string checkout_branch =
      on_branch ? (ref.branch.empty() ? "master" : ref.branch) : ref.branch;
  // Which branch to push to is the caller's decision (PushBranchFor).
  const std::string& push_branch = push.branch;
  if (push_branch.empty()) {
    return failed(GitPhase::kOptions,
                  absl::InvalidArgumentError("no branch to push to"));
  }
  if (!ValidBranchName(push_branch)) {
    return failed(GitPhase::kOptions, absl::InvalidArgumentError(absl::StrCat(
                                          "git.push.branch \"", push_branch,
                                          "\" is not a valid branch name")));
  }
  std::vector<std::string> specs = {
      absl::StrCat("refs/heads/", push_branch, ":refs/heads/", push_branch)};
  if (!push.refspec.empty()) specs.push_back(push.refspec);

  UpdateResult result;
  std::string last_rejection;
  for (int attempt = 1; attempt <= push.max_attempts; ++attempt) {
    if (absl::Status fetched = Fetch(); !fetched.ok()) {
      return failed(GitPhase::kFetch, std::move(fetched));
    }
    // Automation commits accumulate on an existing push branch; after a
    // rejection, start again from wherever the branch is now.
    git_oid base;
    auto push_head = RemoteBranch(push_branch);
    if (push_head.ok() && (push_branch != checkout_branch || attempt > 1)) {
      base = *push_head;
    } else {
      absl::StatusOr<Target> target = Resolve(ref);
      if (!target.ok()) return failed(GitPhase::kCheckout, target.status());
      base = target->oid;
    }
    if (absl::Status reset = ResetTo(base, push_branch); !reset.ok()) {
      return failed(GitPhase::kCheckout, std::move(reset));
    }
    result.base_commit = OidHex(base);
    absl::StatusOr<Rewritten> rewritten = rewrite(dir_);
    if (!rewritten.ok()) return failed(GitPhase::kRewrite, rewritten.status());
    GitPhase commit_phase = GitPhase::kCommit;
    absl::StatusOr<std::optional<git_oid>> made = gi::CommitWorktree(
        repo_.get(), dir_, base, commit, *rewritten, &commit_phase);
    if (!made.ok()) return failed(commit_phase, made.status());
    if (!made->has_value()) {
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
      result.pushed_commit = OidHex(**made);
      log::Info("git: pushed")
          .With("url", display_url_)
          .With("branch", push_branch)
          .With("commit", result.pushed_commit)
          .With("attempt", attempt);
      return result;
    }
    if (!absl::IsAborted(pushed)) {
      return failed(GitPhase::kPush, std::move(pushed));
    }
    last_rejection = std::string(pushed.message());
    log::Info("git: push rejected, starting again from the new remote head")
        .With("url", display_url_)
        .With("branch", push_branch)
        .With("attempt", attempt)
        .With("reason", last_rejection);
  }
  return failed(
      GitPhase::kPushRejected,
      absl::AbortedError(absl::StrCat(
          "pushing to branch \"", push_branch, "\" of ", display_url_,
          ": rejected ", push.max_attempts,
          " times (the branch kept moving); last: ", last_rejection)));
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
          .With("error", gi::LastGitError(-1));
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

namespace {

class LibGit2CheckoutFactory final : public GitCheckoutFactory {
 public:
  explicit LibGit2CheckoutFactory(std::string root) : root_(std::move(root)) {}

  absl::StatusOr<std::unique_ptr<GitCheckout>> Open(
      absl::string_view ns, absl::string_view name,
      const GitRemote& remote) override {
    return OpenGitCheckout(
        (std::filesystem::path(root_) / std::string(ns) / std::string(name))
            .string(),
        remote);
  }

 private:
  const std::string root_;
};

}  // namespace

std::unique_ptr<GitCheckoutFactory> MakeGitCheckoutFactory(std::string root) {
  return std::make_unique<LibGit2CheckoutFactory>(std::move(root));
}

}  // namespace ia::automation
