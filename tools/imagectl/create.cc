#include "tools/imagectl/create.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/duration.h"
#include "common/status_macros.h"
#include "common/validation.h"
#include "services/policy/select.h"

namespace ia::imagectl {
namespace {

absl::Status Required(absl::string_view value, absl::string_view flag,
                      absl::string_view what) {
  if (!value.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(flag, " is required: ", what));
}

absl::Status FillMeta(const CreateCommonFlags& flags, v1::ObjectMeta* meta) {
  meta->set_name(flags.name);
  meta->set_namespace_(flags.ns);
  return ParseLabels(flags.labels, meta);
}

// Runs validation on a copy: the caller keeps the object without defaults.
template <typename T>
absl::Status ValidateCopy(const T& object) {
  T copy = object;
  return ValidateAndDefault(&copy);
}

absl::Status CheckOrder(absl::string_view flag, absl::string_view order) {
  if (order == "asc" || order == "desc") return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(flag, " must be asc or desc, not \"", order, "\""));
}

}  // namespace

absl::Status ParseLabels(const std::vector<std::string>& labels,
                         v1::ObjectMeta* meta) {
  for (const std::string& label : labels) {
    const size_t eq = label.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid --label \"", label, "\": use key=value"));
    }
    (*meta->mutable_labels())[label.substr(0, eq)] = label.substr(eq + 1);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> NormalizeDuration(absl::string_view flag,
                                              absl::string_view text) {
  absl::StatusOr<absl::Duration> d = ia::ParseDuration(text);
  if (!d.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": ", d.status().message()));
  }
  return ia::FormatDuration(*d);
}

absl::StatusOr<v1::ImageRepository> BuildImageRepository(
    const ImageRepositoryFlags& flags) {
  RETURN_IF_ERROR(
      Required(flags.image, "--image",
               "the image repository to scan, e.g. ghcr.io/org/app"));
  v1::ImageRepository repo;
  repo.set_api_version(std::string(kImageApiVersion));
  repo.set_kind(std::string(KindOf<v1::ImageRepository>()));
  RETURN_IF_ERROR(FillMeta(flags.common, repo.mutable_metadata()));
  v1::ImageRepositorySpec& spec = *repo.mutable_spec();
  spec.set_image(flags.image);
  ASSIGN_OR_RETURN(*spec.mutable_interval(),
                   NormalizeDuration("--interval", flags.common.interval));
  if (!flags.scan_timeout.empty()) {
    ASSIGN_OR_RETURN(*spec.mutable_timeout(),
                     NormalizeDuration("--scan-timeout", flags.scan_timeout));
  }
  if (!flags.secret_ref.empty())
    spec.mutable_secret_ref()->set_name(flags.secret_ref);
  if (!flags.cert_secret_ref.empty()) {
    spec.mutable_cert_secret_ref()->set_name(flags.cert_secret_ref);
  }
  if (!flags.proxy_secret_ref.empty()) {
    spec.mutable_proxy_secret_ref()->set_name(flags.proxy_secret_ref);
  }
  if (!flags.provider.empty()) spec.set_provider(flags.provider);
  spec.set_insecure(flags.insecure);
  for (const std::string& e : flags.exclusion_list) spec.add_exclusion_list(e);
  RETURN_IF_ERROR(ValidateCopy(repo));
  return repo;
}

absl::StatusOr<v1::ImagePolicy> BuildImagePolicy(
    const ImagePolicyFlags& flags) {
  RETURN_IF_ERROR(Required(flags.image_ref, "--image-ref",
                           "the name of the ImageRepository to select from"));
  v1::ImagePolicy policy;
  policy.set_api_version(std::string(kImageApiVersion));
  policy.set_kind(std::string(KindOf<v1::ImagePolicy>()));
  RETURN_IF_ERROR(FillMeta(flags.common, policy.mutable_metadata()));
  v1::ImagePolicySpec& spec = *policy.mutable_spec();
  spec.mutable_image_repository_ref()->set_name(flags.image_ref);
  if (!flags.image_ref_namespace.empty()) {
    spec.mutable_image_repository_ref()->set_namespace_(
        flags.image_ref_namespace);
  }

  std::vector<absl::string_view> chosen;
  if (!flags.select_semver.empty()) chosen.push_back("--select-semver");
  if (!flags.select_alpha.empty()) chosen.push_back("--select-alpha");
  if (!flags.select_numeric.empty()) chosen.push_back("--select-numeric");
  if (chosen.empty()) {
    return absl::InvalidArgumentError(
        "a policy is required: give one of --select-semver, --select-alpha "
        "or --select-numeric");
  }
  if (chosen.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "only one policy may be given, not ", absl::StrJoin(chosen, " and ")));
  }
  if (!flags.select_semver.empty()) {
    spec.mutable_policy()->mutable_semver()->set_range(flags.select_semver);
  } else if (!flags.select_alpha.empty()) {
    RETURN_IF_ERROR(CheckOrder("--select-alpha", flags.select_alpha));
    spec.mutable_policy()->mutable_alphabetical()->set_order(
        flags.select_alpha);
  } else {
    RETURN_IF_ERROR(CheckOrder("--select-numeric", flags.select_numeric));
    spec.mutable_policy()->mutable_numerical()->set_order(flags.select_numeric);
  }

  if (!flags.filter_regex.empty()) {
    spec.mutable_filter_tags()->set_pattern(flags.filter_regex);
    if (!flags.filter_extract.empty()) {
      spec.mutable_filter_tags()->set_extract(flags.filter_extract);
    }
  } else if (!flags.filter_extract.empty()) {
    return absl::InvalidArgumentError("--filter-extract needs --filter-regex");
  }

  if (!flags.reflect_digest.empty()) {
    spec.set_digest_reflection_policy(flags.reflect_digest);
  }
  // The interval refreshes digests, so it belongs with --reflect-digest=Always
  // (where the --interval default applies); given otherwise, it is passed on
  // for validation to refuse.
  if (flags.common.interval_set || flags.reflect_digest == "Always") {
    ASSIGN_OR_RETURN(*spec.mutable_interval(),
                     NormalizeDuration("--interval", flags.common.interval));
  }
  RETURN_IF_ERROR(ValidateCopy(policy));
  // What the policy service checks on Apply after ValidateAndDefault (the
  // policy engine interprets filterTags, ranges and minAge): the same
  // message, before any RPC.
  if (absl::Status valid = policy::ValidatePolicySpec(spec); !valid.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(DisplayName(KindOf<v1::ImagePolicy>(), policy.metadata()),
                     ": ", valid.message()));
  }
  return policy;
}

absl::StatusOr<v1::ImageUpdateAutomation> BuildImageUpdate(
    const ImageUpdateFlags& flags) {
  RETURN_IF_ERROR(Required(flags.git_repo_ref, "--git-repo-ref",
                           "the name of the GitRepository to update"));
  RETURN_IF_ERROR(Required(flags.checkout_branch, "--checkout-branch",
                           "the branch to check out"));
  RETURN_IF_ERROR(
      Required(flags.author_name, "--author-name", "the commit author's name"));
  RETURN_IF_ERROR(Required(flags.author_email, "--author-email",
                           "the commit author's email"));
  v1::ImageUpdateAutomation update;
  update.set_api_version(std::string(kImageApiVersion));
  update.set_kind(std::string(KindOf<v1::ImageUpdateAutomation>()));
  RETURN_IF_ERROR(FillMeta(flags.common, update.mutable_metadata()));
  v1::ImageUpdateAutomationSpec& spec = *update.mutable_spec();
  v1::CrossNamespaceSourceReference& source = *spec.mutable_source_ref();
  source.set_kind(std::string(KindOf<v1::GitRepository>()));
  source.set_name(flags.git_repo_ref);
  if (!flags.git_repo_namespace.empty())
    source.set_namespace_(flags.git_repo_namespace);
  v1::GitSpec& git = *spec.mutable_git();
  git.mutable_checkout()->mutable_ref()->set_branch(flags.checkout_branch);
  git.mutable_commit()->mutable_author()->set_name(flags.author_name);
  git.mutable_commit()->mutable_author()->set_email(flags.author_email);
  if (!flags.commit_template.empty()) {
    git.mutable_commit()->set_message_template(flags.commit_template);
  }
  if (!flags.push_branch.empty())
    git.mutable_push()->set_branch(flags.push_branch);
  ASSIGN_OR_RETURN(*spec.mutable_interval(),
                   NormalizeDuration("--interval", flags.common.interval));
  if (!flags.git_repo_path.empty()) {
    spec.mutable_update()->set_path(flags.git_repo_path);
    spec.mutable_update()->set_strategy("Setters");
  }
  RETURN_IF_ERROR(ValidateCopy(update));
  return update;
}

absl::StatusOr<v1::GitRepository> BuildGitRepository(
    const GitRepositoryFlags& flags) {
  RETURN_IF_ERROR(Required(flags.url, "--url", "the Git repository's address"));
  if (flags.branch.empty() && flags.tag.empty() && flags.tag_semver.empty() &&
      flags.commit.empty() && flags.ref_name.empty()) {
    return absl::InvalidArgumentError(
        "a Git reference is required: give one of --branch, --tag, "
        "--tag-semver, "
        "--commit or --ref-name");
  }
  v1::GitRepository repo;
  repo.set_api_version(std::string(kSourceApiVersion));
  repo.set_kind(std::string(KindOf<v1::GitRepository>()));
  RETURN_IF_ERROR(FillMeta(flags.common, repo.mutable_metadata()));
  v1::GitRepositorySpec& spec = *repo.mutable_spec();
  spec.set_url(flags.url);
  ASSIGN_OR_RETURN(*spec.mutable_interval(),
                   NormalizeDuration("--interval", flags.common.interval));
  if (!flags.fetch_timeout.empty()) {
    ASSIGN_OR_RETURN(*spec.mutable_timeout(),
                     NormalizeDuration("--fetch-timeout", flags.fetch_timeout));
  }
  // The same precedence as flux: a commit (optionally on a branch), else a
  // reference name, else a semver range, else a tag, else a branch.
  v1::GitRepositoryRef& ref = *spec.mutable_ref();
  if (!flags.commit.empty()) {
    ref.set_commit(flags.commit);
    ref.set_branch(flags.branch);
  } else if (!flags.ref_name.empty()) {
    ref.set_name(flags.ref_name);
  } else if (!flags.tag_semver.empty()) {
    ref.set_semver(flags.tag_semver);
  } else if (!flags.tag.empty()) {
    ref.set_tag(flags.tag);
  } else {
    ref.set_branch(flags.branch);
  }
  if (!flags.secret_ref.empty())
    spec.mutable_secret_ref()->set_name(flags.secret_ref);
  RETURN_IF_ERROR(ValidateCopy(repo));
  return repo;
}

}  // namespace ia::imagectl
