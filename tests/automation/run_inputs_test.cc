#include "services/automation/run_inputs.h"

#include <functional>
#include <optional>
#include <variant>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/harness.h"

namespace ia::automation {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Key;
using ::testing::Not;

v1::Selection MakeSelection(const std::string& ns, const std::string& name,
                            const std::string& tag,
                            std::map<std::string, std::string> labels = {}) {
  v1::Selection s;
  s.mutable_policy()->set_namespace_(ns);
  s.mutable_policy()->set_name(name);
  s.mutable_latest_ref()->set_name("registry.local/" + name);
  s.mutable_latest_ref()->set_tag(tag);
  for (auto& [k, v] : labels) (*s.mutable_policy_labels())[k] = v;
  return s;
}

v1::ImageUpdateAutomation MakeAutomation() {
  v1::ImageUpdateAutomation a;
  a.mutable_metadata()->set_namespace_("apps");
  a.mutable_metadata()->set_name("auto");
  a.mutable_spec()->mutable_source_ref()->set_name("repo");
  a.mutable_spec()
      ->mutable_git()
      ->mutable_commit()
      ->mutable_author()
      ->set_email("bot@example.com");
  return a;
}

TEST(SelectPolicies, NamespaceAndSelector) {
  v1::ImageUpdateAutomation automation = MakeAutomation();
  std::vector<v1::Selection> selections = {
      MakeSelection("apps", "web", "1.2.0", {{"team", "a"}}),
      MakeSelection("apps", "api", "2.0.0", {{"team", "b"}}),
      MakeSelection("other", "web", "9.9.9", {{"team", "a"}}),
  };
  SelectedPolicies all = SelectPolicies(automation, selections);
  EXPECT_THAT(all.policies, ElementsAre(Key("apps:api"), Key("apps:web")));
  EXPECT_EQ(all.policies["apps:web"].Full(), "registry.local/web:1.2.0");
  EXPECT_EQ(all.observed["web"].tag(), "1.2.0");

  (*automation.mutable_spec()
        ->mutable_policy_selector()
        ->mutable_match_labels())["team"] = "a";
  SelectedPolicies team_a = SelectPolicies(automation, selections);
  EXPECT_THAT(team_a.policies, ElementsAre(Key("apps:web")));
}

TEST(MatchesSelector, Expressions) {
  google::protobuf::Map<std::string, std::string> labels;
  labels["tier"] = "web";
  v1::LabelSelector selector;
  auto* req = selector.add_match_expressions();
  req->set_key("tier");
  req->set_operator_("In");
  req->add_values("web");
  req->add_values("api");
  EXPECT_TRUE(MatchesSelector(selector, labels));
  req->set_operator_("NotIn");
  EXPECT_FALSE(MatchesSelector(selector, labels));
  req->set_operator_("Exists");
  EXPECT_TRUE(MatchesSelector(selector, labels));
  req->set_operator_("DoesNotExist");
  EXPECT_FALSE(MatchesSelector(selector, labels));
  req->set_key("missing");
  EXPECT_TRUE(MatchesSelector(selector, labels));
}

TEST(CheckoutRefFor, AutomationOverridesSourceAndDefaults) {
  v1::ImageUpdateAutomation automation = MakeAutomation();
  v1::GitRepository source;
  auto ref = CheckoutRefFor(automation, source);
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->branch, "master");
  source.mutable_spec()->mutable_ref()->set_branch("main");
  EXPECT_EQ(CheckoutRefFor(automation, source)->branch, "main");
  source.mutable_spec()->mutable_ref()->set_name("refs/tags/v1");
  ref = CheckoutRefFor(automation, source);
  EXPECT_EQ(ref->tag, "v1");
  automation.mutable_spec()
      ->mutable_git()
      ->mutable_checkout()
      ->mutable_ref()
      ->set_name("refs/pull/1/head");
  ref = CheckoutRefFor(automation, source);
  ASSERT_FALSE(ref.ok());
  EXPECT_THAT(ref.status().message(), HasSubstr("spec.git.checkout.ref.name"));
}

TEST(PushBranchFor, DefaultsToCheckoutBranch) {
  v1::ImageUpdateAutomation automation = MakeAutomation();
  EXPECT_EQ(*PushBranchFor(automation, GitRef{.branch = "main"}), "main");
  auto tag = PushBranchFor(automation, GitRef{.tag = "v1"});
  ASSERT_FALSE(tag.ok());
  EXPECT_THAT(tag.status().message(), HasSubstr("spec.git.push.branch"));
  automation.mutable_spec()->mutable_git()->mutable_push()->set_branch("auto");
  EXPECT_EQ(*PushBranchFor(automation, GitRef{.tag = "v1"}), "auto");
}

TEST(RemoteFor, SecretsByScheme) {
  testing::TempDir dir;
  Secrets secrets(dir.Join("secrets"));
  v1::GitRepository source;
  source.mutable_metadata()->set_namespace_("apps");
  source.mutable_spec()->set_url("https://git.local/repo.git");
  source.mutable_spec()->set_timeout("5s");
  auto remote = RemoteFor(source, secrets);
  ASSERT_TRUE(remote.ok());
  EXPECT_EQ(remote->timeout, absl::Seconds(5));

  source.mutable_spec()->mutable_secret_ref()->set_name("creds");
  auto missing = RemoteFor(source, secrets);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("spec.secretRef"));

  dir.WriteFile("secrets/apps/creds/username", "git");
  auto half = RemoteFor(source, secrets);
  EXPECT_THAT(half.status().message(), HasSubstr("both username and password"));
  dir.WriteFile("secrets/apps/creds/password", "hunter2");
  remote = RemoteFor(source, secrets);
  ASSERT_TRUE(remote.ok());
  EXPECT_EQ(remote->auth.password, "hunter2");

  source.mutable_spec()->set_url("ssh://git@127.0.0.1:2222/repo.git");
  auto no_key = RemoteFor(source, secrets);
  ASSERT_FALSE(no_key.ok());
  EXPECT_THAT(no_key.status().message(), HasSubstr("identity"));
  EXPECT_THAT(no_key.status().message(), Not(HasSubstr("hunter2")));
  dir.WriteFile("secrets/apps/creds/identity", "KEY");
  dir.WriteFile("secrets/apps/creds/known_hosts",
                "[127.0.0.1]:2222 ssh-ed25519 AAAA");
  remote = RemoteFor(source, secrets);
  ASSERT_TRUE(remote.ok()) << remote.status();
  EXPECT_EQ(remote->auth.ssh_identity, "KEY");
  EXPECT_EQ(remote->auth.ssh_passphrase, "hunter2");
}

TEST(CommitOptionsFor, AuthorAndSigningKey) {
  testing::TempDir dir;
  Secrets secrets(dir.Join("secrets"));
  v1::ImageUpdateAutomation automation = MakeAutomation();
  auto options = CommitOptionsFor(automation, secrets);
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->author.email, "bot@example.com");
  EXPECT_TRUE(options->signing_key.empty());
  automation.mutable_spec()
      ->mutable_git()
      ->mutable_commit()
      ->mutable_signing_key()
      ->mutable_secret_ref()
      ->set_name("gpg");
  EXPECT_THAT(CommitOptionsFor(automation, secrets).status().message(),
              HasSubstr("spec.git.commit.signingKey.secretRef"));
  dir.WriteFile("secrets/apps/gpg/git.asc", "ARMORED");
  dir.WriteFile("secrets/apps/gpg/passphrase", "pw");
  options = CommitOptionsFor(automation, secrets);
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->signing_key, "ARMORED");
  EXPECT_EQ(options->signing_passphrase, "pw");
  EXPECT_EQ(options->signing_type, SigningKeyType::kGpg);
}

TEST(CommitOptionsFor, SshSigningKeyReadsIdentityAndPassword) {
  testing::TempDir dir;
  Secrets secrets(dir.Join("secrets"));
  v1::ImageUpdateAutomation automation = MakeAutomation();
  auto* key = automation.mutable_spec()
                  ->mutable_git()
                  ->mutable_commit()
                  ->mutable_signing_key();
  key->mutable_secret_ref()->set_name("ssh");
  key->set_type("ssh");
  // A gpg key in the secret is not what type ssh reads.
  dir.WriteFile("secrets/apps/ssh/git.asc", "ARMORED");
  EXPECT_THAT(CommitOptionsFor(automation, secrets).status().message(),
              HasSubstr("secret apps/ssh has no identity key"));
  dir.WriteFile("secrets/apps/ssh/identity", "PRIVATE");
  dir.WriteFile("secrets/apps/ssh/passphrase", "not-read");
  auto options = CommitOptionsFor(automation, secrets);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->signing_type, SigningKeyType::kSsh);
  EXPECT_EQ(options->signing_key, "PRIVATE");
  EXPECT_EQ(options->signing_passphrase, "");
  dir.WriteFile("secrets/apps/ssh/password", "pw");
  options = CommitOptionsFor(automation, secrets);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->signing_passphrase, "pw");
}

TEST(RevisionString, AsFluxWritesIt) {
  EXPECT_EQ(RevisionString(GitRef{.branch = "main"}, "abc"), "main@sha1:abc");
  EXPECT_EQ(RevisionString(GitRef{.tag = "v1"}, "abc"), "v1@sha1:abc");
  EXPECT_EQ(RevisionString(GitRef{.commit = "abc"}, "abc"), "sha1:abc");
}

v1::GitRepository MakeSource() {
  v1::GitRepository source;
  source.mutable_metadata()->set_namespace_("apps");
  source.mutable_metadata()->set_name("repo");
  source.mutable_spec()->set_url("https://git.local/repo.git");
  source.mutable_spec()->mutable_ref()->set_branch("main");
  return source;
}

// One row of PlanRun's table: what differs from a plan that works, and the
// step that then fails (nullopt: a plan) with a part of its message.
struct PlanCase {
  std::string name;
  std::function<void(v1::ImageUpdateAutomation*, v1::GitRepository*)> edit =
      [](v1::ImageUpdateAutomation*, v1::GitRepository*) {};
  absl::StatusOr<bool> source_exists = true;
  absl::Status selections_read = absl::OkStatus();
  std::optional<RunStep> failed_step;
  std::string message;
};

TEST(PlanRun, FailsAtTheFirstStepThatFailsOrPlans) {
  const std::vector<PlanCase> cases = {
      {.name = "plan"},
      {.name = "source unreadable",
       .source_exists = absl::InternalError("disk on fire"),
       .failed_step = RunStep::kReadSource,
       .message = "disk on fire"},
      {.name = "source missing",
       .source_exists = false,
       .selections_read = absl::InternalError("not reached"),
       .failed_step = RunStep::kSourceNotFound,
       .message = "spec.sourceRef: GitRepository apps/repo not found"},
      {.name = "push options",
       .edit =
           [](v1::ImageUpdateAutomation* a, v1::GitRepository*) {
             (*a->mutable_spec()
                   ->mutable_git()
                   ->mutable_push()
                   ->mutable_options())["ci.skip"] = "";
           },
       .failed_step = RunStep::kPushOptions,
       .message = "spec.git.push.options: push options are not supported"},
      {.name = "unsupported ref name",
       .edit =
           [](v1::ImageUpdateAutomation*, v1::GitRepository* s) {
             s->mutable_spec()->mutable_ref()->set_name("refs/pull/1/head");
           },
       .failed_step = RunStep::kCheckoutRef,
       .message = "GitRepository spec.ref.name"},
      {.name = "tag without a push branch",
       .edit =
           [](v1::ImageUpdateAutomation*, v1::GitRepository* s) {
             s->mutable_spec()->mutable_ref()->Clear();
             s->mutable_spec()->mutable_ref()->set_tag("v1");
           },
       .failed_step = RunStep::kPushBranch,
       .message = "spec.git.push.branch: required"},
      {.name = "template that does not parse",
       .edit =
           [](v1::ImageUpdateAutomation* a, v1::GitRepository*) {
             a->mutable_spec()
                 ->mutable_git()
                 ->mutable_commit()
                 ->set_message_template("{{ range .Changed.Changes }");
           },
       .failed_step = RunStep::kMessageTemplate,
       .message = "spec.git.commit.messageTemplate: unable to create commit "
                  "message template from spec: template: commit message:1:"},
      {.name = "template that parses but reads a removed field",
       .edit =
           [](v1::ImageUpdateAutomation* a, v1::GitRepository*) {
             a->mutable_spec()
                 ->mutable_git()
                 ->mutable_commit()
                 ->set_message_template("{{ .Updated }}");
           }},
      {.name = "ssh without a secret",
       .edit =
           [](v1::ImageUpdateAutomation*, v1::GitRepository* s) {
             s->mutable_spec()->set_url("ssh://git@git.local/repo.git");
           },
       .selections_read = absl::InternalError("not reached"),
       .failed_step = RunStep::kRemote,
       .message = "GitRepository spec.secretRef: required for an SSH URL"},
      {.name = "signing key secret missing",
       .edit =
           [](v1::ImageUpdateAutomation* a, v1::GitRepository*) {
             a->mutable_spec()
                 ->mutable_git()
                 ->mutable_commit()
                 ->mutable_signing_key()
                 ->mutable_secret_ref()
                 ->set_name("gpg");
           },
       .failed_step = RunStep::kCommitOptions,
       .message = "spec.git.commit.signingKey.secretRef"},
      {.name = "selections unreadable",
       .selections_read = absl::InternalError("list failed"),
       .failed_step = RunStep::kReadSelections,
       .message = "list failed"},
  };
  testing::TempDir dir;
  const Secrets secrets(dir.Join("secrets"));
  for (const PlanCase& c : cases) {
    SCOPED_TRACE(c.name);
    v1::ImageUpdateAutomation automation = MakeAutomation();
    automation.mutable_spec()->mutable_update()->set_path("./deploy");
    (*automation.mutable_spec()
          ->mutable_git()
          ->mutable_commit()
          ->mutable_message_template_values())["env"] = "prod";
    v1::GitRepository source = MakeSource();
    c.edit(&automation, &source);
    absl::StatusOr<std::optional<v1::GitRepository>> found = std::nullopt;
    if (!c.source_exists.ok()) {
      found = c.source_exists.status();
    } else if (*c.source_exists) {
      found = source;
    }
    absl::StatusOr<std::vector<v1::Selection>> selections =
        std::vector<v1::Selection>{MakeSelection("apps", "app", "1.3.0"),
                                   MakeSelection("other", "app", "9.9.9")};
    if (!c.selections_read.ok()) selections = c.selections_read;

    std::variant<RunPlan, RunFailure> planned =
        PlanRun(automation, found, selections, secrets);
    if (c.failed_step.has_value()) {
      const RunFailure* failure = std::get_if<RunFailure>(&planned);
      ASSERT_NE(failure, nullptr);
      EXPECT_EQ(RunStepName(failure->step), RunStepName(*c.failed_step));
      EXPECT_THAT(failure->status.message(), HasSubstr(c.message));
      continue;
    }
    const RunPlan* plan = std::get_if<RunPlan>(&planned);
    ASSERT_NE(plan, nullptr) << std::get<RunFailure>(planned).status;
    EXPECT_EQ(plan->source_namespace, "apps");
    EXPECT_EQ(plan->source_name, "repo");
    EXPECT_EQ(plan->remote.url, "https://git.local/repo.git");
    EXPECT_EQ(plan->checkout.branch, "main");
    EXPECT_EQ(plan->push.branch, "main");
    EXPECT_EQ(plan->commit.author.email, "bot@example.com");
    EXPECT_THAT(plan->selected.policies, ElementsAre(Key("apps:app")));
    EXPECT_EQ(plan->update_path, "./deploy");
    EXPECT_EQ(plan->message_data.automation_namespace, "apps");
    EXPECT_EQ(plan->message_data.automation_name, "auto");
    EXPECT_EQ(plan->message_data.values.at("env"), "prod");
  }
}

TEST(SourceKeyFor, DefaultsToTheAutomationsNamespace) {
  v1::ImageUpdateAutomation automation = MakeAutomation();
  EXPECT_EQ(SourceKeyFor(automation), "apps/repo");
  automation.mutable_spec()->mutable_source_ref()->set_namespace_("flux");
  EXPECT_EQ(SourceKeyFor(automation), "flux/repo");
}

}  // namespace
}  // namespace ia::automation
