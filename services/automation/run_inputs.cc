#include "services/automation/run_inputs.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/duration.h"
#include "common/git_url.h"
#include "common/objects.h"

namespace ia::automation {
namespace {

bool Contains(const google::protobuf::RepeatedPtrField<std::string>& values,
              const std::string& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

}  // namespace

bool MatchesSelector(
    const v1::LabelSelector& selector,
    const google::protobuf::Map<std::string, std::string>& labels) {
  for (const auto& [key, value] : selector.match_labels()) {
    auto it = labels.find(key);
    if (it == labels.end() || it->second != value) return false;
  }
  for (const v1::LabelSelectorRequirement& req : selector.match_expressions()) {
    auto it = labels.find(req.key());
    const bool has = it != labels.end();
    if (req.operator_() == "In") {
      if (!has || !Contains(req.values(), it->second)) return false;
    } else if (req.operator_() == "NotIn") {
      if (has && Contains(req.values(), it->second)) return false;
    } else if (req.operator_() == "Exists") {
      if (!has) return false;
    } else if (req.operator_() == "DoesNotExist") {
      if (has) return false;
    } else {
      return false;  // validation refuses other operators
    }
  }
  return true;
}

SelectedPolicies SelectPolicies(const v1::ImageUpdateAutomation& automation,
                                const std::vector<v1::Selection>& selections) {
  SelectedPolicies selected;
  const std::string& ns = automation.metadata().namespace_();
  for (const v1::Selection& selection : selections) {
    if (selection.policy().namespace_() != ns) continue;
    if (!MatchesSelector(automation.spec().policy_selector(),
                         selection.policy_labels())) {
      continue;
    }
    const v1::ImageRef& ref = selection.latest_ref();
    if (ref.name().empty() || ref.tag().empty()) continue;
    selected.policies[absl::StrCat(ns, ":", selection.policy().name())] =
        ImageRef{ref.name(), ref.tag(), ref.digest()};
    selected.observed[selection.policy().name()] = ref;
  }
  return selected;
}

absl::StatusOr<GitRef> CheckoutRefFor(
    const v1::ImageUpdateAutomation& automation,
    const v1::GitRepository& source) {
  const bool own = automation.spec().git().has_checkout();
  const v1::GitRepositoryRef& ref =
      own ? automation.spec().git().checkout().ref() : source.spec().ref();
  const std::string field =
      own ? "spec.git.checkout.ref" : "GitRepository spec.ref";
  GitRef out;
  out.branch = ref.branch();
  out.tag = ref.tag();
  out.semver = ref.semver();
  out.commit = ref.commit();
  if (!ref.name().empty()) {
    if (absl::StartsWith(ref.name(), "refs/heads/")) {
      out.branch = ref.name().substr(std::string("refs/heads/").size());
    } else if (absl::StartsWith(ref.name(), "refs/tags/")) {
      out.tag = ref.name().substr(std::string("refs/tags/").size());
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".name: \"", ref.name(),
          "\" is not supported (use refs/heads/BRANCH or refs/tags/TAG)"));
    }
  }
  if (out.branch.empty() && out.tag.empty() && out.semver.empty() &&
      out.commit.empty()) {
    out.branch = "master";
  }
  return out;
}

absl::StatusOr<std::string> PushBranchFor(
    const v1::ImageUpdateAutomation& automation, const GitRef& checkout) {
  const std::string& branch = automation.spec().git().push().branch();
  if (!branch.empty()) return branch;
  if (!checkout.branch.empty()) return checkout.branch;
  return absl::InvalidArgumentError(
      "spec.git.push.branch: required when the checkout is a tag, a semver "
      "range or a commit without a branch");
}

absl::StatusOr<GitRemote> RemoteFor(const v1::GitRepository& source,
                                    const Secrets& secrets) {
  GitRemote remote;
  remote.url = source.spec().url();
  if (!source.spec().timeout().empty()) {
    auto timeout = ParseDuration(source.spec().timeout());
    if (!timeout.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "GitRepository spec.timeout: ", timeout.status().message()));
    }
    remote.timeout = *timeout;
  }
  // A URL that does not parse fails at the fetch with the parser's message.
  absl::StatusOr<GitUrl> url = ParseGitUrl(remote.url);
  const bool ssh = url.ok() && url->scheme == "ssh";
  const std::string& name = source.spec().secret_ref().name();
  if (name.empty()) {
    if (ssh) {
      return absl::FailedPreconditionError(
          "GitRepository spec.secretRef: required for an SSH URL (identity and "
          "known_hosts)");
    }
    return remote;
  }
  const std::string& ns = source.metadata().namespace_();
  auto data = secrets.Read(ns, name);
  if (!data.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "GitRepository spec.secretRef: ", data.status().message()));
  }
  auto get = [&](const char* key) {
    auto it = data->find(key);
    return it == data->end() ? std::string() : it->second;
  };
  GitAuth& auth = remote.auth;
  auth.bearer_token = get("bearerToken");
  auth.ca_pem = get("ca.crt");
  if (ssh) {
    auth.ssh_identity = get("identity");
    auth.ssh_passphrase = get("password");
    auth.known_hosts = get("known_hosts");
    auth.username = get("username");
    for (const auto& [key, value] : {std::pair<const char*, const std::string*>{
                                         "identity", &auth.ssh_identity},
                                     {"known_hosts", &auth.known_hosts}}) {
      if (value->empty()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "GitRepository spec.secretRef: secret ", ns, "/", name, " has no ",
            key, " key (an SSH URL needs identity and known_hosts)"));
      }
    }
  } else {
    auth.username = get("username");
    auth.password = get("password");
    if (auth.username.empty() != auth.password.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("GitRepository spec.secretRef: secret ", ns, "/", name,
                       " must have both username and password, or neither"));
    }
  }
  return remote;
}

absl::StatusOr<CommitOptions> CommitOptionsFor(
    const v1::ImageUpdateAutomation& automation, const Secrets& secrets) {
  const v1::CommitSpec& commit = automation.spec().git().commit();
  CommitOptions options;
  options.author.name =
      commit.author().name().empty() ? "FluxBot" : commit.author().name();
  options.author.email = commit.author().email();
  const std::string& name = commit.signing_key().secret_ref().name();
  if (name.empty()) return options;
  // Flux's secret keys: `git.asc` + `passphrase` for OpenPGP (type empty or
  // "gpg"), `identity` + `password` for SSH.
  const bool ssh = commit.signing_key().type() == "ssh";
  options.signing_type = ssh ? SigningKeyType::kSsh : SigningKeyType::kGpg;
  const char* key_name = ssh ? "identity" : "git.asc";
  const char* passphrase_name = ssh ? "password" : "passphrase";
  const std::string& ns = automation.metadata().namespace_();
  auto key = secrets.ReadKey(ns, name, key_name);
  if (!key.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "spec.git.commit.signingKey.secretRef: ", key.status().message()));
  }
  if (!key->has_value() || (*key)->empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("spec.git.commit.signingKey.secretRef: secret ", ns, "/",
                     name, " has no ", key_name, " key"));
  }
  options.signing_key = **key;
  auto passphrase = secrets.ReadKey(ns, name, passphrase_name);
  if (passphrase.ok() && passphrase->has_value()) {
    options.signing_passphrase = **passphrase;
  }
  return options;
}

std::string RevisionString(const GitRef& ref, const std::string& commit) {
  if (!ref.branch.empty()) return absl::StrCat(ref.branch, "@sha1:", commit);
  if (!ref.tag.empty()) return absl::StrCat(ref.tag, "@sha1:", commit);
  return absl::StrCat("sha1:", commit);
}

std::string SourceKeyFor(const v1::ImageUpdateAutomation& automation) {
  const v1::CrossNamespaceSourceReference& ref = automation.spec().source_ref();
  return KeyOf(ref.namespace_().empty() ? automation.metadata().namespace_()
                                        : ref.namespace_(),
               ref.name());
}

std::variant<RunPlan, RunFailure> PlanRun(
    const v1::ImageUpdateAutomation& automation,
    const absl::StatusOr<std::optional<v1::GitRepository>>& source,
    const absl::StatusOr<std::vector<v1::Selection>>& selections,
    const Secrets& secrets) {
  const v1::ImageUpdateAutomationSpec& spec = automation.spec();
  const std::string& ns = automation.metadata().namespace_();
  RunPlan plan;
  plan.source_namespace = spec.source_ref().namespace_().empty()
                              ? ns
                              : spec.source_ref().namespace_();
  plan.source_name = spec.source_ref().name();
  if (!source.ok()) return RunFailure{RunStep::kReadSource, source.status()};
  if (!source->has_value()) {
    return RunFailure{
        RunStep::kSourceNotFound,
        absl::NotFoundError(absl::StrCat(
            "spec.sourceRef: GitRepository ",
            KeyOf(plan.source_namespace, plan.source_name), " not found"))};
  }
  const v1::GitRepository& repository = **source;

  // Problems only a spec change can fix, found before any Git work.
  if (!spec.git().push().options().empty()) {
    return RunFailure{
        RunStep::kPushOptions,
        absl::InvalidArgumentError(
            "spec.git.push.options: push options are not supported "
            "(libgit2 1.5 cannot send them); remove them")};
  }
  auto checkout = CheckoutRefFor(automation, repository);
  if (!checkout.ok())
    return RunFailure{RunStep::kCheckoutRef, checkout.status()};
  plan.checkout = *std::move(checkout);
  auto push_branch = PushBranchFor(automation, plan.checkout);
  if (!push_branch.ok()) {
    return RunFailure{RunStep::kPushBranch, push_branch.status()};
  }
  plan.push.branch = *std::move(push_branch);
  plan.push.refspec = spec.git().push().refspec();
  plan.message_template = spec.git().commit().message_template();
  if (absl::Status parsed = CheckCommitMessageTemplate(plan.message_template);
      !parsed.ok()) {
    return RunFailure{
        RunStep::kMessageTemplate,
        absl::InvalidArgumentError(absl::StrCat(
            "spec.git.commit.messageTemplate: ", parsed.message()))};
  }

  auto remote = RemoteFor(repository, secrets);
  if (!remote.ok()) return RunFailure{RunStep::kRemote, remote.status()};
  plan.remote = *std::move(remote);
  auto commit = CommitOptionsFor(automation, secrets);
  if (!commit.ok()) return RunFailure{RunStep::kCommitOptions, commit.status()};
  plan.commit = *std::move(commit);

  if (!selections.ok()) {
    return RunFailure{RunStep::kReadSelections, selections.status()};
  }
  plan.selected = SelectPolicies(automation, *selections);
  plan.update_path = spec.update().path();
  plan.message_data.automation_namespace = ns;
  plan.message_data.automation_name = automation.metadata().name();
  plan.message_data.values.insert(
      spec.git().commit().message_template_values().begin(),
      spec.git().commit().message_template_values().end());
  return plan;
}

}  // namespace ia::automation
