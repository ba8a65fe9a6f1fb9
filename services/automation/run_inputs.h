// What one automation run needs, worked out from the objects and secrets
// before any Git work: the policies its markers may use, the remote and its
// credentials, the ref to check out, the branch to push to, the commit
// author and signing key; PlanRun puts them together into the run's plan,
// or says which step failed (run_failure.h). Pure functions: no I/O but
// the secrets read through the ia::Secrets passed in (no clock: nothing
// here depends on the time). Errors name the object's field and never a
// secret's value. Thread-safe.
#ifndef SERVICES_AUTOMATION_RUN_INPUTS_H_
#define SERVICES_AUTOMATION_RUN_INPUTS_H_

#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "common/secrets.h"
#include "imageautomation/v1/objects.pb.h"
#include "imageautomation/v1/policy.pb.h"
#include "services/automation/commit_message.h"
#include "services/automation/git_types.h"
#include "services/automation/run_failure.h"
#include "services/automation/setters.h"

namespace ia::automation {

namespace v1 = ::imageautomation::v1;

// Kubernetes label selector semantics: every matchLabels pair and every
// matchExpressions requirement (In, NotIn, Exists, DoesNotExist) holds. An
// empty selector matches everything.
bool MatchesSelector(
    const v1::LabelSelector& selector,
    const google::protobuf::Map<std::string, std::string>& labels);

struct SelectedPolicies {
  // "NS:NAME" -> image, for the setters.
  PolicyMap policies;
  // Policy name -> image, for status.observedPolicies (as Flux keys it).
  std::map<std::string, v1::ImageRef> observed;
};

// The selections of policies in the automation's namespace that its
// spec.policySelector matches.
SelectedPolicies SelectPolicies(const v1::ImageUpdateAutomation& automation,
                                const std::vector<v1::Selection>& selections);

// The ref to check out: spec.git.checkout.ref when set, else the
// GitRepository's spec.ref, else branch "master" (Flux's default).
// INVALID_ARGUMENT naming the field for a `name` that is neither
// refs/heads/... nor refs/tags/....
absl::StatusOr<GitRef> CheckoutRefFor(
    const v1::ImageUpdateAutomation& automation,
    const v1::GitRepository& source);

// spec.git.push.branch, else the checked-out branch. INVALID_ARGUMENT when
// neither exists (a tag or commit checkout without a push branch).
absl::StatusOr<std::string> PushBranchFor(
    const v1::ImageUpdateAutomation& automation, const GitRef& checkout);

// The remote of `source` with the credentials of its spec.secretRef
// (`username`+`password`, `bearerToken`, `ca.crt`, `identity` with
// `password` as its passphrase, `known_hosts`) and spec.timeout (default
// 60s). FAILED_PRECONDITION naming spec.secretRef when the secret cannot be
// read or lacks what the URL's scheme needs (an SSH URL without identity or
// known_hosts).
absl::StatusOr<GitRemote> RemoteFor(const v1::GitRepository& source,
                                    const Secrets& secrets);

// Author and signing key (spec.git.commit.signingKey.secretRef: `git.asc`
// and optional `passphrase` for type gpg or empty, `identity` and optional
// `password` for type ssh). FAILED_PRECONDITION naming the field when the
// secret cannot be read or has no key of that name.
absl::StatusOr<CommitOptions> CommitOptionsFor(
    const v1::ImageUpdateAutomation& automation, const Secrets& secrets);

// The revision as Flux writes it: "main@sha1:<hex>" for a branch,
// "v1.0.0@sha1:<hex>" for a tag, "sha1:<hex>" otherwise.
std::string RevisionString(const GitRef& ref, const std::string& commit);

// "namespace/name" of the GitRepository spec.sourceRef names (its
// namespace defaults to the automation's).
std::string SourceKeyFor(const v1::ImageUpdateAutomation& automation);

// Everything one run does, decided before any Git work.
struct RunPlan {
  std::string source_namespace;
  std::string source_name;
  GitRemote remote;
  GitRef checkout;
  PushOptions push;  // branch and refspec
  CommitOptions commit;
  SelectedPolicies selected;
  std::string update_path;  // spec.update.path
  std::string message_template;
  // The commit message's data, but for the changes (the rewrite adds them).
  CommitMessageData message_data;
};

// The plan of a run of `automation`, from what the caller read: its
// GitRepository (`source`: nullopt when there is none) and the stored
// selections, each with the error of reading it, and the secrets. On
// failure, the first step that failed, in the order Run takes them: the
// source, spec problems only a spec change can fix (push options, the
// checkout ref, the push branch, a message template that does not parse),
// then secrets, then the selections.
std::variant<RunPlan, RunFailure> PlanRun(
    const v1::ImageUpdateAutomation& automation,
    const absl::StatusOr<std::optional<v1::GitRepository>>& source,
    const absl::StatusOr<std::vector<v1::Selection>>& selections,
    const Secrets& secrets);

}  // namespace ia::automation

#endif  // SERVICES_AUTOMATION_RUN_INPUTS_H_
