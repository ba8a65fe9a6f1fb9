// The automation module over its real gRPC API (in-process channel) against
// real Git remotes (a bare repository over file:// and over smart HTTP with
// Basic auth), on a fake clock: selections published the way the policy
// service publishes them become exactly one commit on the remote, with the
// message template, author and Flux's status fields; failures say why.
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "imageautomation/v1/automation.grpc.pb.h"
#include "services/automation/automation_service.h"
#include "tests/automation/ssh_key_util.h"
#include "tests/support/git_server.h"
#include "tests/support/harness.h"
#include "tests/support/module_host.h"

namespace ia::automation {
namespace {

using testing::BareRepo;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kDeployment[] =
    "apiVersion: apps/v1\n"
    "kind: Deployment\n"
    "metadata:\n"
    "  name: my-app\n"
    "  namespace: apps\n"
    "spec:\n"
    "  template:\n"
    "    spec:\n"
    "      containers:\n"
    "        - name: app\n"
    "          # the image is set by automation\n"
    "          image: registry.local/team/app:1.0.0 # {\"$imagepolicy\": "
    "\"apps:app\"}\n";

constexpr char kValues[] =
    "web:\n"
    "  tag: 1.0.0 # {\"$imagepolicy\": \"apps:web:tag\"}\n";

class AutomationModuleTest : public ::testing::Test {
 protected:
  AutomationModuleTest() : host_(dir_.Join("host"), "automation") {}

  void SetUp() override {
    auto repo = BareRepo::Create(dir_.Join("remote/repo.git"), "main");
    ASSERT_TRUE(repo.ok()) << repo.status();
    repo_ = std::make_unique<BareRepo>(*std::move(repo));
    auto seed = repo_->Commit("main", {{"deploy/app.yaml", kDeployment},
                                       {"deploy/values.yaml", kValues},
                                       {"README.md", "untouched\n"}});
    ASSERT_TRUE(seed.ok()) << seed.status();
    seed_ = *seed;
    absl::Status started = host_.Start(MakeModule);
    ASSERT_TRUE(started.ok()) << started;
    stub_ = v1::Automation::NewStub(host_.channel());
  }

  void ApplySource(const std::string& url, const std::string& secret = "") {
    v1::ApplyGitRepositoryRequest request;
    v1::GitRepository* source = request.mutable_object();
    source->set_api_version("source.toolkit.fluxcd.io/v1");
    source->set_kind("GitRepository");
    source->mutable_metadata()->set_namespace_("apps");
    source->mutable_metadata()->set_name("repo");
    source->mutable_spec()->set_url(url);
    source->mutable_spec()->mutable_ref()->set_branch("main");
    if (!secret.empty())
      source->mutable_spec()->mutable_secret_ref()->set_name(secret);
    grpc::ClientContext context;
    v1::ApplyGitRepositoryResponse response;
    grpc::Status status =
        stub_->ApplyGitRepository(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  v1::ImageUpdateAutomation Automation(const std::string& name) {
    v1::ImageUpdateAutomation a;
    a.set_api_version("image.toolkit.fluxcd.io/v1");
    a.set_kind("ImageUpdateAutomation");
    a.mutable_metadata()->set_namespace_("apps");
    a.mutable_metadata()->set_name(name);
    a.mutable_spec()->mutable_source_ref()->set_name("repo");
    a.mutable_spec()->set_interval("1h");
    v1::GitSpec* git = a.mutable_spec()->mutable_git();
    git->mutable_commit()->mutable_author()->set_name("Image Bot");
    git->mutable_commit()->mutable_author()->set_email("bot@example.com");
    git->mutable_commit()->set_message_template(
        "Automated update by {{ .AutomationObject }}\n"
        "{{ range .Changed.Changes }}\n- {{ .OldValue }} -> {{ .NewValue }}{{ "
        "end }}\n");
    git->mutable_push()->set_branch("main");
    a.mutable_spec()->mutable_update()->set_path("./deploy");
    return a;
  }

  void ApplyAutomation(const v1::ImageUpdateAutomation& automation) {
    v1::ApplyImageUpdateAutomationRequest request;
    *request.mutable_object() = automation;
    grpc::ClientContext context;
    v1::ApplyImageUpdateAutomationResponse response;
    grpc::Status status =
        stub_->ApplyImageUpdateAutomation(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  v1::ImageUpdateAutomation Get(const std::string& name) {
    v1::ObjectKey key;
    key.set_namespace_("apps");
    key.set_name(name);
    grpc::ClientContext context;
    v1::ImageUpdateAutomation object;
    EXPECT_TRUE(stub_->GetImageUpdateAutomation(&context, key, &object).ok());
    return object;
  }

  static v1::Condition Ready(const v1::ImageUpdateAutomation& a) {
    for (const auto& c : a.status().conditions()) {
      if (c.type() == "Ready") return c;
    }
    return v1::Condition();
  }

  // One event, then its acknowledgement (the in-process transport does not
  // buffer: writing on without reading acks would block both sides).
  template <typename Stream>
  static void SendAndAwaitAck(Stream* stream, const v1::SelectionEvent& event) {
    ASSERT_TRUE(stream->Write(event));
    v1::PublishSelectionsAck ack;
    ASSERT_TRUE(stream->Read(&ack));
    EXPECT_EQ(ack.sequence(), event.sequence());
  }

  // Publishes `selections` as the policy service does (a snapshot), waiting
  // for every acknowledgement.
  void Publish(const std::map<std::string, std::string>& selections,
               v1::SelectionEvent::Type type = v1::SelectionEvent::SNAPSHOT) {
    grpc::ClientContext context;
    auto stream = stub_->PublishSelections(&context);
    uint64_t sequence = 0;
    for (const auto& [policy, tag] : selections) {
      v1::SelectionEvent event;
      event.set_sequence(++sequence);
      event.set_type(type);
      v1::Selection* s = event.mutable_selection();
      s->mutable_policy()->set_namespace_("apps");
      s->mutable_policy()->set_name(policy);
      s->mutable_latest_ref()->set_name("registry.local/team/" + policy);
      s->mutable_latest_ref()->set_tag(tag);
      (*s->mutable_policy_labels())["policy"] = policy;
      SendAndAwaitAck(stream.get(), event);
    }
    if (type == v1::SelectionEvent::SNAPSHOT) {
      v1::SelectionEvent end;
      end.set_sequence(++sequence);
      end.set_type(v1::SelectionEvent::SNAPSHOT_END);
      SendAndAwaitAck(stream.get(), end);
    }
    stream->WritesDone();
    EXPECT_TRUE(stream->Finish().ok());
  }

  std::vector<std::string> RemoteLog() {
    auto log = repo_->Log("main");
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? *log : std::vector<std::string>{};
  }

  testing::TempDir dir_;
  testing::ModuleHost host_;
  std::unique_ptr<BareRepo> repo_;
  std::string seed_;
  std::unique_ptr<v1::Automation::Stub> stub_;
};

TEST_F(AutomationModuleTest, SelectionBecomesOneCommitWithFluxStatus) {
  ApplySource(repo_->FileUrl());
  ApplyAutomation(Automation("auto"));
  // Nothing selected yet: a run that changes nothing.
  ASSERT_TRUE(
      host_.Eventually([&] { return Ready(Get("auto")).status() == "True"; }));
  EXPECT_EQ(Ready(Get("auto")).message(), "repository up-to-date");
  EXPECT_EQ(RemoteLog().size(), 1u);

  Publish({{"app", "1.3.0"}, {"web", "1.3.0"}});
  host_.AdvanceUntil(absl::Milliseconds(50),
                     [&] { return RemoteLog().size() == 2; });
  const std::string head = RemoteLog().front();

  EXPECT_EQ(*repo_->ReadFile("main", "deploy/app.yaml"),
            absl::StrReplaceAll(kDeployment, {{"app:1.0.0", "app:1.3.0"}}));
  EXPECT_EQ(*repo_->ReadFile("main", "deploy/values.yaml"),
            absl::StrReplaceAll(kValues, {{"1.0.0", "1.3.0"}}));
  EXPECT_EQ(*repo_->Message(head),
            "Automated update by apps/auto\n\n"
            "- registry.local/team/app:1.0.0 -> registry.local/team/app:1.3.0\n"
            "- 1.0.0 -> 1.3.0\n");
  auto author = repo_->Log("main", "%an <%ae>");
  EXPECT_EQ(author->front(), "Image Bot <bot@example.com>");
  // Only the two marked lines changed.
  auto stat = repo_->Show({"--numstat", "--format=", head});
  EXPECT_EQ(*stat, "1\t1\tdeploy/app.yaml\n1\t1\tdeploy/values.yaml\n");

  ASSERT_TRUE(host_.Eventually(
      [&] { return Get("auto").status().last_push_commit() == head; }));
  const v1::ImageUpdateAutomation automation = Get("auto");
  EXPECT_EQ(Ready(automation).message(),
            absl::StrCat("pushed commit '", head.substr(0, 12),
                         "' to branch 'main'"));
  EXPECT_EQ(automation.status().observed_source_revision(),
            "main@sha1:" + seed_);
  EXPECT_EQ(automation.status().observed_policies().at("app").tag(), "1.3.0");
  EXPECT_TRUE(automation.status().has_last_push_time());
  EXPECT_TRUE(automation.status().has_last_automation_run_time());

  // The same selections again: nothing to commit.
  Publish({{"app", "1.3.0"}, {"web", "1.3.0"}});
  host_.AdvanceUntil(absl::Minutes(10), [&] {
    return Get("auto").status().observed_source_revision() ==
           "main@sha1:" + head;
  });
  EXPECT_EQ(RemoteLog().size(), 2u);
  EXPECT_EQ(Ready(Get("auto")).message(), "repository up-to-date");
}

TEST_F(AutomationModuleTest, UpdatesArrivingTogetherMakeOneCommit) {
  ApplySource(repo_->FileUrl());
  ApplyAutomation(Automation("auto"));
  Publish({});
  ASSERT_TRUE(
      host_.Eventually([&] { return Ready(Get("auto")).status() == "True"; }));
  // Two policies of one repository change with its tag set.
  Publish({{"app", "1.5.0"}, {"web", "1.5.0"}}, v1::SelectionEvent::UPDATED);
  host_.AdvanceUntil(absl::Milliseconds(50),
                     [&] { return RemoteLog().size() == 2; });
  host_.AdvanceUntil(absl::Minutes(1), [&] {
    return Get("auto").status().last_push_commit() == RemoteLog().front();
  });
  EXPECT_EQ(RemoteLog().size(), 2u);
  EXPECT_THAT(*repo_->ReadFile("main", "deploy/app.yaml"),
              HasSubstr("app:1.5.0"));
  EXPECT_THAT(*repo_->ReadFile("main", "deploy/values.yaml"),
              HasSubstr("tag: 1.5.0"));
}

TEST_F(AutomationModuleTest, TwoAutomationsOnOneBranchLoseNothing) {
  // Each automation owns one policy (by label); both push to main at once.
  ApplySource(repo_->FileUrl());
  for (const char* policy : {"app", "web"}) {
    v1::ImageUpdateAutomation a = Automation(std::string(policy) + "-auto");
    (*a.mutable_spec()
          ->mutable_policy_selector()
          ->mutable_match_labels())["policy"] = policy;
    ApplyAutomation(a);
  }
  Publish({{"app", "2.0.0"}, {"web", "2.0.0"}});
  host_.AdvanceUntil(absl::Milliseconds(50),
                     [&] { return RemoteLog().size() == 3; });
  EXPECT_THAT(*repo_->ReadFile("main", "deploy/app.yaml"),
              HasSubstr("app:2.0.0"));
  EXPECT_THAT(*repo_->ReadFile("main", "deploy/values.yaml"),
              HasSubstr("tag: 2.0.0"));
  auto messages = repo_->Log("main", "%s");
  EXPECT_THAT(*messages, ::testing::UnorderedElementsAre(
                             "Automated update by apps/app-auto",
                             "Automated update by apps/web-auto", "seed"));
}

TEST_F(AutomationModuleTest, MissingSourceAndBadTemplateSayWhy) {
  v1::ImageUpdateAutomation automation = Automation("auto");
  ApplyAutomation(automation);
  ASSERT_TRUE(host_.Eventually(
      [&] { return Ready(Get("auto")).reason() == "DependencyNotReady"; }));
  EXPECT_THAT(Ready(Get("auto")).message(),
              HasSubstr("GitRepository apps/repo not found"));

  // Applying the source runs the automation again.
  ApplySource(repo_->FileUrl());
  ASSERT_TRUE(
      host_.Eventually([&] { return Ready(Get("auto")).status() == "True"; }));

  automation.mutable_spec()
      ->mutable_git()
      ->mutable_commit()
      ->set_message_template("{{ range .Changed.Changes }");
  ApplyAutomation(automation);
  ASSERT_TRUE(host_.Eventually(
      [&] { return Ready(Get("auto")).reason() == "InvalidMessageTemplate"; }));
  const v1::ImageUpdateAutomation stalled = Get("auto");
  EXPECT_THAT(Ready(stalled).message(),
              HasSubstr("spec.git.commit.messageTemplate"));
  bool is_stalled = false;
  for (const auto& c : stalled.status().conditions()) {
    is_stalled |= c.type() == "Stalled" && c.status() == "True";
  }
  EXPECT_TRUE(is_stalled);
  Publish({{"app", "3.0.0"}});
  EXPECT_EQ(RemoteLog().size(), 1u);
}

TEST_F(AutomationModuleTest, HttpBasicAuthFromTheSecretAndNoPasswordInStatus) {
  testing::GitHttpOptions options;
  options.project_root = dir_.Join("remote");
  auto server = testing::GitHttpServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  dir_.WriteFile("host/secrets/apps/git-creds/username", options.username);
  dir_.WriteFile("host/secrets/apps/git-creds/password", "wrong-Passw0rd");
  ApplySource((*server)->Url("repo.git"), "git-creds");
  ApplyAutomation(Automation("auto"));
  ASSERT_TRUE(host_.Eventually(
      [&] { return Ready(Get("auto")).reason() == "GitOperationFailed"; }));
  EXPECT_THAT(Ready(Get("auto")).message(), Not(HasSubstr("wrong-Passw0rd")));

  dir_.WriteFile("host/secrets/apps/git-creds/password", options.password);
  Publish({{"app", "1.4.0"}});
  host_.AdvanceUntil(absl::Milliseconds(50),
                     [&] { return RemoteLog().size() == 2; });
  EXPECT_THAT(*repo_->ReadFile("main", "deploy/app.yaml"),
              HasSubstr("app:1.4.0"));
}

// signingKey type ssh: a wrong passphrase in the secret stalls the
// automation with a clear message (and nothing pushed); once the secret is
// corrected, the next run on the interval pushes a commit that git verifies.
TEST_F(AutomationModuleTest, SshSigningKeyWithAWrongPassphraseStalls) {
  auto key =
      ssh_testing::GenerateSshKey(dir_, {"ed25519", 0}, "right-ssh-pass");
  ASSERT_TRUE(key.ok()) << key.status();
  dir_.WriteFile("host/secrets/apps/ssh-sign/identity", key->private_key);
  dir_.WriteFile("host/secrets/apps/ssh-sign/password", "wrong-ssh-pass");
  ApplySource(repo_->FileUrl());
  v1::ImageUpdateAutomation automation = Automation("auto");
  v1::SigningKey* signing = automation.mutable_spec()
                                ->mutable_git()
                                ->mutable_commit()
                                ->mutable_signing_key();
  signing->mutable_secret_ref()->set_name("ssh-sign");
  signing->set_type("ssh");
  ApplyAutomation(automation);
  // Nothing to commit yet: the key is not needed.
  ASSERT_TRUE(
      host_.Eventually([&] { return Ready(Get("auto")).status() == "True"; }));
  Publish({{"app", "1.4.0"}});
  host_.AdvanceUntil(absl::Milliseconds(50), [&] {
    return Ready(Get("auto")).reason() == "InvalidSourceConfiguration";
  });
  ASSERT_EQ(Ready(Get("auto")).reason(), "InvalidSourceConfiguration");
  const v1::ImageUpdateAutomation stalled = Get("auto");
  EXPECT_THAT(Ready(stalled).message(), HasSubstr("wrong passphrase"));
  EXPECT_THAT(Ready(stalled).message(), Not(HasSubstr("wrong-ssh-pass")));
  bool is_stalled = false;
  for (const auto& c : stalled.status().conditions()) {
    is_stalled |= c.type() == "Stalled" && c.status() == "True";
  }
  EXPECT_TRUE(is_stalled);
  EXPECT_EQ(RemoteLog().size(), 1u);

  // Retried on the interval: the corrected secret is picked up.
  dir_.WriteFile("host/secrets/apps/ssh-sign/password", "right-ssh-pass");
  host_.AdvanceUntil(absl::Minutes(10),
                     [&] { return RemoteLog().size() == 2; });
  ASSERT_EQ(RemoteLog().size(), 2u);
  ASSERT_TRUE(
      host_.Eventually([&] { return Ready(Get("auto")).status() == "True"; }));
  const v1::ImageUpdateAutomation healed = Get("auto");
  for (const auto& c : healed.status().conditions()) {
    EXPECT_FALSE(c.type() == "Stalled" && c.status() == "True");
  }
  const std::string allowed = dir_.WriteFile(
      "allowed_signers", "bot@example.com " + key->public_line + "\n");
  auto verified = repo_->Run({"-c", "gpg.format=ssh", "-c",
                              "gpg.ssh.allowedSignersFile=" + allowed,
                              "verify-commit", "main"});
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
}

// A connected policy service does not hold the shutdown back: Drain() ends
// its stream with UNAVAILABLE at once, before the server's Shutdown()
// deadline (1 s in ModuleHost) would cancel it.
TEST_F(AutomationModuleTest, StoppingEndsAConnectedPublisherAtOnce) {
  grpc::ClientContext context;
  auto stream =
      v1::Automation::NewStub(host_.TcpChannel())->PublishSelections(&context);
  v1::SelectionEvent event;
  event.set_sequence(1);
  event.set_type(v1::SelectionEvent::UPDATED);
  event.mutable_selection()->mutable_policy()->set_namespace_("apps");
  event.mutable_selection()->mutable_policy()->set_name("app");
  event.mutable_selection()->mutable_latest_ref()->set_tag("1.3.0");
  SendAndAwaitAck(stream.get(), event);

  // The publisher waits for the server's end, as the policy service does.
  grpc::Status status;
  std::thread publisher([&] {
    v1::PublishSelectionsAck ack;
    EXPECT_FALSE(stream->Read(&ack));
    status = stream->Finish();
  });
  host_.Stop();
  publisher.join();
  // Drain's own status: without Drain, Shutdown's deadline would cancel the
  // call instead ("Cancelling all calls"), a full grace later.
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
  EXPECT_EQ(status.error_message(), "server shutting down");
  // The acknowledged event was stored.
  auto stored = host_.store().Get("Selection", "apps/app");
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_TRUE(stored->has_value());
}

// A publisher that cancels its call leaves nothing behind: its stream ends
// and the service stops at once.
TEST_F(AutomationModuleTest, ACancelledPublisherEndsItsStream) {
  grpc::ClientContext context;
  auto stream =
      v1::Automation::NewStub(host_.TcpChannel())->PublishSelections(&context);
  v1::SelectionEvent event;
  event.set_sequence(1);
  event.set_type(v1::SelectionEvent::SNAPSHOT_END);
  SendAndAwaitAck(stream.get(), event);
  context.TryCancel();
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);

  const absl::Time start = absl::Now();
  host_.Stop();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(800));
}

}  // namespace
}  // namespace ia::automation
