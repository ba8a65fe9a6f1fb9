// Validation and defaulting of the four object kinds. Each check mirrors a
// rule of Flux's CRD schemas (patterns, enums, CEL rules) or something Flux's
// controllers would stall on at run time; a few checks go further where
// Flux would accept an object that can never work. Every error names the
// object, the field and the problem, and carries the field path as a
// payload. Fields a service interprets are checked by that service's code on
// Apply (ImagePolicy spec.filterTags: services/policy/select.h). The checks
// of single fields these validators are built from: validation_fields.h.
#include "common/validation.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "common/cloud_hosts.h"
#include "common/image_ref.h"
#include "common/status_macros.h"
#include "common/validation_fields.h"

namespace ia {
namespace {

using validation_internal::Begin;
using validation_internal::CheckDuration;
using validation_internal::CheckGitRef;
using validation_internal::CheckLabels;
using validation_internal::CheckLocalRef;
using validation_internal::CheckMetadata;
using validation_internal::CheckObjectRefName;
using validation_internal::CheckOrder;
using validation_internal::CheckRefName;
using validation_internal::CheckRefNamespace;
using validation_internal::CheckSelector;
using validation_internal::CheckTypeMeta;
using validation_internal::CompileRegexp;
using validation_internal::Dns1123LabelProblem;
using validation_internal::Dns1123SubdomainProblem;
using validation_internal::DurationRule;
using validation_internal::GitUrlProblem;
using validation_internal::HasAnyRef;
using validation_internal::ImageProblem;
using validation_internal::ImageVersions;
using validation_internal::IsBlank;
using validation_internal::Quote;
using validation_internal::RelativePathProblem;
using validation_internal::Reporter;
using validation_internal::SourceVersions;

constexpr int kMaxExclusionListSize = 25;
constexpr absl::string_view kDefaultExclusion = "^.*\\.sig$";

}  // namespace

std::string FieldPathOf(const absl::Status& status) {
  const absl::optional<absl::Cord> payload =
      status.GetPayload(kFieldPathPayload);
  if (!payload.has_value()) return "";
  return std::string(*payload);
}

absl::Status FieldError(absl::string_view path, absl::string_view problem) {
  absl::Status status =
      absl::InvalidArgumentError(absl::StrCat(path, ": ", problem));
  status.SetPayload(kFieldPathPayload, absl::Cord(path));
  return status;
}

absl::Status ValidateObjectName(absl::string_view ns, absl::string_view name) {
  auto error = [](absl::string_view path, absl::string_view message) {
    return FieldError(path, message);
  };
  if (name.empty()) return error("metadata.name", "required");
  std::string problem = Dns1123SubdomainProblem(name);
  if (!problem.empty()) {
    return error("metadata.name",
                 absl::StrCat(Quote(name), " is not a valid name: ", problem));
  }
  if (!ns.empty()) {
    problem = Dns1123LabelProblem(ns);
    if (!problem.empty()) {
      return error(
          "metadata.namespace",
          absl::StrCat(Quote(ns), " is not a valid namespace: ", problem));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateAndDefault(v1::ImageRepository* object) {
  const Reporter r = Begin(object);
  RETURN_IF_ERROR(CheckTypeMeta(r, object, kImageApiGroup, ImageVersions(),
                                kImageApiVersion));
  RETURN_IF_ERROR(CheckMetadata(r, object->mutable_metadata()));
  v1::ImageRepositorySpec* spec = object->mutable_spec();
  if (spec->image().empty()) {
    return r.Error("spec.image", "required (e.g. \"docker.io/myorg/my-app\")");
  }
  std::string problem = ImageProblem(spec->image());
  if (!problem.empty()) return r.Error("spec.image", problem);
  RETURN_IF_ERROR(
      CheckDuration(r, "spec.interval", spec->interval(), {.required = true}));
  RETURN_IF_ERROR(CheckDuration(r, "spec.timeout", spec->timeout(),
                                {.allow_hours = false}));
  RETURN_IF_ERROR(CheckLocalRef(r, "spec.secretRef", spec->has_secret_ref(),
                                spec->secret_ref()));
  RETURN_IF_ERROR(CheckLocalRef(r, "spec.certSecretRef",
                                spec->has_cert_secret_ref(),
                                spec->cert_secret_ref()));
  RETURN_IF_ERROR(CheckLocalRef(r, "spec.proxySecretRef",
                                spec->has_proxy_secret_ref(),
                                spec->proxy_secret_ref()));
  if (spec->service_account_name().size() > 253) {
    return r.Error("spec.serviceAccountName", "must be at most 253 characters");
  }
  if (spec->exclusion_list_size() > kMaxExclusionListSize) {
    return r.Error("spec.exclusionList",
                   absl::StrCat("at most ", kMaxExclusionListSize,
                                " entries are allowed, got ",
                                spec->exclusion_list_size()));
  }
  if (spec->exclusion_list_size() == 0) {
    spec->add_exclusion_list(std::string(kDefaultExclusion));
  }
  for (int i = 0; i < spec->exclusion_list_size(); ++i) {
    const std::string path = absl::StrCat("spec.exclusionList[", i, "]");
    if (spec->exclusion_list(i).empty()) {
      return r.Error(path,
                     "must not be empty (an empty pattern would exclude "
                     "every tag)");
    }
    RETURN_IF_ERROR(CompileRegexp(r, path, spec->exclusion_list(i)).status());
  }
  if (spec->provider().empty()) spec->set_provider("generic");
  const std::optional<RegistryProvider> provider =
      ParseRegistryProvider(spec->provider());
  if (!provider.has_value()) {
    return r.Error("spec.provider",
                   absl::StrCat(Quote(spec->provider()),
                                " is not a valid provider (use generic, aws, "
                                "azure or gcp)"));
  }
  // The provider's login is only for its own registries (as Flux decides).
  if (absl::StatusOr<ImageReference> image = ParseImageReference(spec->image());
      image.ok() && !HostMatchesProvider(*provider, image->domain)) {
    return r.Error(
        "spec.provider",
        absl::StrCat(Quote(spec->provider()), " does not match the host ",
                     Quote(image->domain), " of spec.image (", spec->provider(),
                     " is for ", ProviderHostPatterns(*provider), ")"));
  }
  for (int i = 0; i < spec->access_from().namespace_selectors_size(); ++i) {
    RETURN_IF_ERROR(CheckLabels(
        r,
        absl::StrCat("spec.accessFrom.namespaceSelectors[", i, "].matchLabels"),
        spec->access_from().namespace_selectors(i).match_labels()));
  }
  return absl::OkStatus();
}

absl::Status ValidateAndDefault(v1::ImagePolicy* object) {
  const Reporter r = Begin(object);
  RETURN_IF_ERROR(CheckTypeMeta(r, object, kImageApiGroup, ImageVersions(),
                                kImageApiVersion));
  RETURN_IF_ERROR(CheckMetadata(r, object->mutable_metadata()));
  v1::ImagePolicySpec* spec = object->mutable_spec();
  RETURN_IF_ERROR(CheckObjectRefName(r, "spec.imageRepositoryRef.name",
                                     spec->image_repository_ref().name()));
  RETURN_IF_ERROR(CheckRefNamespace(r, "spec.imageRepositoryRef.namespace",
                                    spec->image_repository_ref().namespace_()));

  v1::ImagePolicyChoice* policy = spec->mutable_policy();
  const int chosen = static_cast<int>(policy->has_semver()) +
                     static_cast<int>(policy->has_alphabetical()) +
                     static_cast<int>(policy->has_numerical());
  if (chosen == 0) {
    return r.Error("spec.policy",
                   "one of semver, alphabetical, numerical must be set");
  }
  if (chosen > 1) {
    return r.Error("spec.policy",
                   "only one of semver, alphabetical, numerical may be set");
  }
  if (policy->has_semver() && IsBlank(policy->semver().range())) {
    return r.Error("spec.policy.semver.range",
                   "required (e.g. \">=1.0.0 <2.0.0\")");
  }
  if (policy->has_alphabetical()) {
    RETURN_IF_ERROR(
        CheckOrder(r, "spec.policy.alphabetical.order",
                   policy->mutable_alphabetical()->mutable_order()));
  }
  if (policy->has_numerical()) {
    RETURN_IF_ERROR(CheckOrder(r, "spec.policy.numerical.order",
                               policy->mutable_numerical()->mutable_order()));
  }

  // spec.filterTags (pattern and extract) is checked by the policy engine,
  // which interprets it (services/policy/select.h ValidatePolicySpec, run on
  // Apply).

  if (spec->digest_reflection_policy().empty()) {
    spec->set_digest_reflection_policy("Never");
  }
  const std::string& reflect = spec->digest_reflection_policy();
  if (reflect != "Never" && reflect != "IfNotPresent" && reflect != "Always") {
    return r.Error("spec.digestReflectionPolicy",
                   absl::StrCat(Quote(reflect),
                                " is not valid (use Never, IfNotPresent or "
                                "Always)"));
  }
  if (reflect == "Always") {
    if (spec->interval().empty()) {
      return r.Error("spec.interval",
                     "required when spec.digestReflectionPolicy is Always "
                     "(e.g. \"10m\")");
    }
    RETURN_IF_ERROR(CheckDuration(r, "spec.interval", spec->interval(), {}));
  } else if (!spec->interval().empty()) {
    return r.Error("spec.interval",
                   "only allowed when spec.digestReflectionPolicy is Always");
  }
  RETURN_IF_ERROR(
      CheckDuration(r, "spec.minAge", spec->min_age(), {.positive = false}));
  return absl::OkStatus();
}

absl::Status ValidateAndDefault(v1::ImageUpdateAutomation* object) {
  const Reporter r = Begin(object);
  RETURN_IF_ERROR(CheckTypeMeta(r, object, kImageApiGroup, ImageVersions(),
                                kImageApiVersion));
  RETURN_IF_ERROR(CheckMetadata(r, object->mutable_metadata()));
  v1::ImageUpdateAutomationSpec* spec = object->mutable_spec();

  v1::CrossNamespaceSourceReference* source = spec->mutable_source_ref();
  if (source->kind().empty()) source->set_kind("GitRepository");
  if (source->kind() != "GitRepository") {
    return r.Error("spec.sourceRef.kind",
                   absl::StrCat(Quote(source->kind()),
                                " is not supported (only GitRepository)"));
  }
  if (!source->api_version().empty()) {
    bool ok = false;
    for (absl::string_view v : SourceVersions()) {
      ok = ok || source->api_version() == absl::StrCat(kSourceApiGroup, "/", v);
    }
    if (!ok) {
      return r.Error(
          "spec.sourceRef.apiVersion",
          absl::StrCat(Quote(source->api_version()), " is not supported (use ",
                       kSourceApiVersion, ")"));
    }
  }
  RETURN_IF_ERROR(CheckObjectRefName(r, "spec.sourceRef.name", source->name()));
  RETURN_IF_ERROR(
      CheckRefNamespace(r, "spec.sourceRef.namespace", source->namespace_()));

  RETURN_IF_ERROR(
      CheckDuration(r, "spec.interval", spec->interval(), {.required = true}));

  // Flux marks spec.git optional but cannot run a GitRepository automation
  // without it (the commit author is required).
  if (!spec->has_git()) {
    return r.Error("spec.git",
                   "required (at least spec.git.commit.author.email)");
  }
  const v1::GitSpec& git = spec->git();
  if (git.has_checkout()) {
    if (!HasAnyRef(git.checkout().ref())) {
      return r.Error("spec.git.checkout.ref",
                     "one of branch, tag, semver, name, commit must be set");
    }
    RETURN_IF_ERROR(
        CheckGitRef(r, "spec.git.checkout.ref", git.checkout().ref()));
  }
  const v1::CommitSpec& commit = git.commit();
  if (commit.author().email().empty()) {
    return r.Error("spec.git.commit.author.email", "required");
  }
  for (const auto& [field, value] :
       {std::pair<absl::string_view, absl::string_view>{
            "spec.git.commit.author.name", commit.author().name()},
        {"spec.git.commit.author.email", commit.author().email()}}) {
    if (value.find_first_of("<>\n\r") != absl::string_view::npos) {
      return r.Error(field, absl::StrCat(Quote(value),
                                         " must not contain '<', '>' or a "
                                         "line break"));
    }
  }
  if (commit.has_signing_key()) {
    RETURN_IF_ERROR(CheckLocalRef(r, "spec.git.commit.signingKey.secretRef",
                                  true, commit.signing_key().secret_ref()));
    const std::string& type = commit.signing_key().type();
    if (!type.empty() && type != "gpg" && type != "ssh") {
      return r.Error("spec.git.commit.signingKey.type",
                     absl::StrCat(Quote(type),
                                  " must be \"gpg\" (OpenPGP, the default) or "
                                  "\"ssh\""));
    }
  }
  if (git.has_push()) {
    if (!git.push().branch().empty()) {
      RETURN_IF_ERROR(
          CheckRefName(r, "spec.git.push.branch", git.push().branch()));
    }
    const std::string& refspec = git.push().refspec();
    if (!refspec.empty() &&
        (refspec.front() == '+' || refspec.front() == ':')) {
      return r.Error("spec.git.push.refspec",
                     absl::StrCat(Quote(refspec),
                                  " must not start with '+' (force) or ':' "
                                  "(delete)"));
    }
  }

  if (spec->has_policy_selector()) {
    RETURN_IF_ERROR(
        CheckSelector(r, "spec.policySelector", spec->policy_selector()));
  }

  v1::UpdateStrategy* update = spec->mutable_update();
  if (update->strategy().empty()) update->set_strategy("Setters");
  if (update->strategy() != "Setters") {
    return r.Error("spec.update.strategy",
                   absl::StrCat(Quote(update->strategy()),
                                " is not supported (only Setters)"));
  }
  if (update->path().empty()) update->set_path("./");
  const std::string problem = RelativePathProblem(update->path());
  if (!problem.empty()) return r.Error("spec.update.path", problem);
  return absl::OkStatus();
}

absl::Status ValidateAndDefault(v1::GitRepository* object) {
  const Reporter r = Begin(object);
  RETURN_IF_ERROR(CheckTypeMeta(r, object, kSourceApiGroup, SourceVersions(),
                                kSourceApiVersion));
  RETURN_IF_ERROR(CheckMetadata(r, object->mutable_metadata()));
  v1::GitRepositorySpec* spec = object->mutable_spec();
  if (spec->url().empty()) {
    return r.Error("spec.url",
                   "required (e.g. \"https://github.com/org/repo\")");
  }
  const std::string problem = GitUrlProblem(spec->url());
  if (!problem.empty()) return r.Error("spec.url", problem);
  RETURN_IF_ERROR(CheckLocalRef(r, "spec.secretRef", spec->has_secret_ref(),
                                spec->secret_ref()));
  RETURN_IF_ERROR(CheckLocalRef(r, "spec.proxySecretRef",
                                spec->has_proxy_secret_ref(),
                                spec->proxy_secret_ref()));
  RETURN_IF_ERROR(CheckDuration(r, "spec.interval", spec->interval(), {}));
  if (spec->timeout().empty()) spec->set_timeout("60s");
  RETURN_IF_ERROR(CheckDuration(r, "spec.timeout", spec->timeout(),
                                {.allow_hours = false}));
  RETURN_IF_ERROR(CheckGitRef(r, "spec.ref", spec->ref()));
  if (!spec->provider().empty() && spec->provider() != "generic") {
    if (spec->provider() == "aws" || spec->provider() == "azure" ||
        spec->provider() == "github") {
      return r.Error("spec.provider",
                     absl::StrCat(Quote(spec->provider()),
                                  " is not supported (only generic: use "
                                  "spec.secretRef for credentials)"));
    }
    return r.Error("spec.provider",
                   absl::StrCat(Quote(spec->provider()),
                                " is not a valid provider (use generic)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateAndDefault(AnyObject* object) {
  return std::visit([](auto& o) { return ValidateAndDefault(&o); }, *object);
}

}  // namespace ia
