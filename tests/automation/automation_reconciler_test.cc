// AutomationReconciler on fakes: an in-memory Store, a fake clock, and a
// fake GitCheckoutFactory whose checkouts record what they were asked and
// can fail in a given phase. No Git remote, no server: what the reconciler
// decides and writes to status, for a run that pushes and for each way a
// run fails.
#include "services/automation/automation_reconciler.h"

#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "common/conditions.h"
#include "common/kv_object_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/harness.h"

namespace ia::automation {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kDeployment[] =
    "spec:\n"
    "  image: registry.local/app:1.0.0 # {\"$imagepolicy\": \"apps:app\"}\n";
constexpr char kPushed[] = "0123456789abcdef0123456789abcdef01234567";
constexpr char kBase[] = "fedcba9876543210fedcba9876543210fedcba98";

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// What the fake checkouts were asked, shared by all of them.
struct GitCalls {
  std::vector<std::string> opened;  // "ns/name url"
  std::vector<std::string> branches_pushed;
  std::vector<std::string> messages;
};

// A checkout over a plain folder: UpdateBranch runs the rewrite on it and
// "pushes" whenever the rewrite changed a file; `fail` makes it fail in
// that phase instead (before the rewrite for kOptions, kFetch and
// kCheckout, after it for the others).
class FakeCheckout final : public GitCheckout {
 public:
  FakeCheckout(std::string worktree, GitCalls* calls,
               std::optional<GitPhase> fail,
               std::function<void()> on_update_branch)
      : worktree_(std::move(worktree)),
        calls_(calls),
        fail_(fail),
        on_update_branch_(std::move(on_update_branch)) {}

  absl::Status Fetch() override { return absl::OkStatus(); }
  absl::StatusOr<std::string> Checkout(const GitRef&) override {
    return std::string(kBase);
  }
  std::string worktree() const override { return worktree_; }

  UpdateBranchResult UpdateBranch(const GitRef& ref, const RewriteFunc& rewrite,
                                  const CommitOptions& commit,
                                  const PushOptions& push) override {
    if (on_update_branch_) on_update_branch_();
    const auto failure = [&](GitPhase phase) {
      return UpdateBranchResult(
          phase, absl::UnavailableError(
                     absl::StrCat("fake failure in ", GitPhaseName(phase))));
    };
    if (fail_ == GitPhase::kOptions || fail_ == GitPhase::kFetch ||
        fail_ == GitPhase::kCheckout) {
      return failure(*fail_);
    }
    absl::StatusOr<Rewritten> rewritten = rewrite(worktree_);
    if (!rewritten.ok()) {
      return UpdateBranchResult(GitPhase::kRewrite, rewritten.status());
    }
    if (fail_.has_value()) return failure(*fail_);
    UpdateResult result{.base_commit = kBase};
    if (rewritten->files.empty()) return result;
    calls_->branches_pushed.push_back(push.branch);
    calls_->messages.push_back(rewritten->message);
    result.pushed_commit = kPushed;
    result.attempts = 1;
    return result;
  }

 private:
  std::string worktree_;
  GitCalls* calls_;
  std::optional<GitPhase> fail_;
  std::function<void()> on_update_branch_;
};

class FakeGitCheckoutFactory final : public GitCheckoutFactory {
 public:
  FakeGitCheckoutFactory(std::string worktree, GitCalls* calls)
      : worktree_(std::move(worktree)), calls_(calls) {}

  absl::StatusOr<std::unique_ptr<GitCheckout>> Open(
      absl::string_view ns, absl::string_view name,
      const GitRemote& remote) override {
    calls_->opened.push_back(absl::StrCat(ns, "/", name, " ", remote.url));
    if (!open_error.ok()) return open_error;
    return std::make_unique<FakeCheckout>(worktree_, calls_, fail,
                                          on_update_branch);
  }

  absl::Status open_error = absl::OkStatus();
  std::optional<GitPhase> fail;
  // Called first thing in each UpdateBranch (on the run's thread).
  std::function<void()> on_update_branch;

 private:
  std::string worktree_;
  GitCalls* calls_;
};

class AutomationReconcilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::Open(":memory:");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    automations_ = std::make_unique<KvObjectStore<v1::ImageUpdateAutomation>>(
        store_.get(), &clock_);
    sources_ = std::make_unique<KvObjectStore<v1::GitRepository>>(store_.get(),
                                                                  &clock_);
    selections_ = std::make_unique<SelectionStore>(store_.get());
    secrets_ = std::make_unique<Secrets>(dir_.Join("secrets"));
    dir_.WriteFile("worktree/deploy/app.yaml", kDeployment);
    git_ = std::make_unique<FakeGitCheckoutFactory>(dir_.Join("worktree"),
                                                    &calls_);
    reconciler_ =
        std::make_unique<AutomationReconciler>(AutomationReconciler::Ports{
            .automations = automations_.get(),
            .sources = sources_.get(),
            .git = git_.get(),
            .selections = selections_.get(),
            .clock = &clock_,
            .secrets = secrets_.get(),
            .enqueue_automation = [this](const std::string& key) {
              enqueued_.push_back(key);
            }});
  }

  void ApplySource() {
    v1::GitRepository source;
    source.set_api_version("source.toolkit.fluxcd.io/v1");
    source.set_kind("GitRepository");
    source.mutable_metadata()->set_namespace_("apps");
    source.mutable_metadata()->set_name("repo");
    source.mutable_spec()->set_url("https://git.local/repo.git");
    source.mutable_spec()->set_interval("1m");
    source.mutable_spec()->mutable_ref()->set_branch("main");
    auto applied = sources_->Apply(source);
    ASSERT_TRUE(applied.ok()) << applied.status();
  }

  v1::ImageUpdateAutomation Automation() {
    v1::ImageUpdateAutomation a;
    a.set_api_version("image.toolkit.fluxcd.io/v1");
    a.set_kind("ImageUpdateAutomation");
    a.mutable_metadata()->set_namespace_("apps");
    a.mutable_metadata()->set_name("auto");
    a.mutable_spec()->mutable_source_ref()->set_kind("GitRepository");
    a.mutable_spec()->mutable_source_ref()->set_name("repo");
    a.mutable_spec()->set_interval("1h");
    v1::GitSpec* git = a.mutable_spec()->mutable_git();
    git->mutable_commit()->mutable_author()->set_name("Image Bot");
    git->mutable_commit()->mutable_author()->set_email("bot@example.com");
    git->mutable_commit()->set_message_template(
        "Update{{ range .Changed.Changes }} {{ .NewValue }}{{ end }}");
    git->mutable_push()->set_branch("main");
    a.mutable_spec()->mutable_update()->set_path("./deploy");
    return a;
  }

  void ApplyAutomation(const v1::ImageUpdateAutomation& automation) {
    auto applied = automations_->Apply(automation);
    ASSERT_TRUE(applied.ok()) << applied.status();
  }

  void StoreSelection(const std::string& policy, const std::string& tag) {
    v1::Selection selection;
    selection.mutable_policy()->set_namespace_("apps");
    selection.mutable_policy()->set_name(policy);
    selection.mutable_latest_ref()->set_name("registry.local/" + policy);
    selection.mutable_latest_ref()->set_tag(tag);
    ASSERT_TRUE(store_
                    ->Put(kSelectionBucket, "apps/" + policy,
                          selection.SerializeAsString())
                    .ok());
  }

  template <typename T>
  static v1::Condition Condition(const T& object, absl::string_view type) {
    for (const auto& c : object.status().conditions()) {
      if (c.type() == type) return c;
    }
    return v1::Condition();
  }

  v1::ImageUpdateAutomation GetAutomation() {
    return *automations_->Get("apps", "auto");
  }
  v1::GitRepository GetSource() { return *sources_->Get("apps", "repo"); }

  testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ObjectStore<v1::ImageUpdateAutomation>> automations_;
  std::unique_ptr<ObjectStore<v1::GitRepository>> sources_;
  std::unique_ptr<SelectionStore> selections_;
  std::unique_ptr<Secrets> secrets_;
  GitCalls calls_;
  std::unique_ptr<FakeGitCheckoutFactory> git_;
  std::vector<std::string> enqueued_;
  std::unique_ptr<AutomationReconciler> reconciler_;
};

TEST_F(AutomationReconcilerTest, ASelectionBecomesAPushAndReadyStatus) {
  ApplySource();
  ApplyAutomation(Automation());
  StoreSelection("app", "1.3.0");

  auto result = reconciler_->ReconcileAutomation("apps/auto");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->requeue_after, absl::Hours(1));
  EXPECT_THAT(calls_.opened,
              ElementsAre("apps/repo https://git.local/repo.git"));
  EXPECT_THAT(calls_.branches_pushed, ElementsAre("main"));
  EXPECT_THAT(calls_.messages, ElementsAre("Update registry.local/app:1.3.0"));
  EXPECT_THAT(ReadText(dir_.Join("worktree/deploy/app.yaml")),
              HasSubstr("registry.local/app:1.3.0"));

  const v1::ImageUpdateAutomation automation = GetAutomation();
  const v1::Condition ready = Condition(automation, kReady);
  EXPECT_EQ(ready.status(), "True");
  EXPECT_EQ(ready.reason(), "Succeeded");
  EXPECT_EQ(ready.message(), "pushed commit '0123456789ab' to branch 'main'");
  EXPECT_EQ(automation.status().last_push_commit(), kPushed);
  EXPECT_EQ(automation.status().observed_source_revision(),
            absl::StrCat("main@sha1:", kBase));
  EXPECT_EQ(automation.status().observed_policies().at("app").tag(), "1.3.0");
  const v1::Condition source_ready = Condition(GetSource(), kReady);
  EXPECT_EQ(source_ready.status(), "True");
  EXPECT_EQ(
      source_ready.message(),
      absl::StrCat("stored artifact for revision 'main@sha1:", kBase, "'"));
}

TEST_F(AutomationReconcilerTest, NothingToChangeIsUpToDate) {
  ApplySource();
  ApplyAutomation(Automation());
  auto result = reconciler_->ReconcileAutomation("apps/auto");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(calls_.branches_pushed, IsEmpty());
  EXPECT_EQ(Condition(GetAutomation(), kReady).message(),
            "repository up-to-date");
}

// Each phase UpdateBranch can fail in: the reason, Stalled, the requeue and
// what the GitRepository records. The fake fails with UNAVAILABLE: in the
// network phases (fetch, push) that is a Git host down, retried with the
// queue's backoff (the error goes back to the controller); elsewhere the
// run waits for the interval.
TEST_F(AutomationReconcilerTest, AFailingPhaseIsClassifiedByItsType) {
  struct Case {
    GitPhase phase;
    std::string reason;
    bool backoff = false;
  };
  const std::vector<Case> cases = {
      {GitPhase::kFetch, "GitOperationFailed", true},
      {GitPhase::kCheckout, "GitOperationFailed"},
      {GitPhase::kCommit, "GitOperationFailed"},
      {GitPhase::kSign, "GitOperationFailed"},
      {GitPhase::kPush, "GitOperationFailed", true},
      {GitPhase::kPushRejected, "GitOperationFailed"},
  };
  ApplySource();
  ApplyAutomation(Automation());
  StoreSelection("app", "1.3.0");
  for (const Case& c : cases) {
    SCOPED_TRACE(GitPhaseName(c.phase));
    dir_.WriteFile("worktree/deploy/app.yaml", kDeployment);
    git_->fail = c.phase;
    auto result = reconciler_->ReconcileAutomation("apps/auto");
    if (c.backoff) {
      EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
    } else {
      ASSERT_TRUE(result.ok()) << result.status();
      EXPECT_EQ(result->requeue_after, absl::Hours(1));
    }
    const v1::ImageUpdateAutomation automation = GetAutomation();
    const std::string message =
        absl::StrCat("fake failure in ", GitPhaseName(c.phase));
    EXPECT_EQ(Condition(automation, kReady).status(), "False");
    EXPECT_EQ(Condition(automation, kReady).reason(), c.reason);
    EXPECT_EQ(Condition(automation, kReady).message(), message);
    EXPECT_EQ(Condition(automation, kStalled).type(), "");
    EXPECT_EQ(Condition(GetSource(), kReady).reason(), c.reason);
    EXPECT_EQ(Condition(GetSource(), kReady).message(), message);
  }
}

TEST_F(AutomationReconcilerTest, ASetterErrorIsAnUpdateFailure) {
  ApplySource();
  v1::ImageUpdateAutomation automation = Automation();
  automation.mutable_spec()->mutable_update()->set_path("./no-such-folder");
  ApplyAutomation(automation);
  auto result = reconciler_->ReconcileAutomation("apps/auto");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->requeue_after, absl::Hours(1));
  const v1::Condition ready = Condition(GetAutomation(), kReady);
  EXPECT_EQ(ready.reason(), "UpdateFailed");
  EXPECT_THAT(ready.message(), HasSubstr("spec.update.path: "));
  // Not a Git failure: the GitRepository keeps what it had.
  EXPECT_NE(Condition(GetSource(), kReady).reason(), "UpdateFailed");
}

TEST_F(AutomationReconcilerTest, ABadTemplateStallsBeforeAnyGitWork) {
  ApplySource();
  v1::ImageUpdateAutomation automation = Automation();
  automation.mutable_spec()
      ->mutable_git()
      ->mutable_commit()
      ->set_message_template("{{ range .Changed.Changes }");
  ApplyAutomation(automation);
  auto result = reconciler_->ReconcileAutomation("apps/auto");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->requeue_after, absl::ZeroDuration());
  EXPECT_THAT(calls_.opened, IsEmpty());
  const v1::ImageUpdateAutomation stalled = GetAutomation();
  EXPECT_EQ(Condition(stalled, kReady).reason(), "InvalidMessageTemplate");
  EXPECT_THAT(Condition(stalled, kReady).message(),
              HasSubstr("spec.git.commit.messageTemplate: unable to create "
                        "commit message template from spec: "));
  EXPECT_EQ(Condition(stalled, kStalled).status(), "True");
}

TEST_F(AutomationReconcilerTest, ACloneThatDoesNotOpenIsAGitFailure) {
  ApplySource();
  ApplyAutomation(Automation());
  git_->open_error = absl::UnauthenticatedError("refused");
  auto result = reconciler_->ReconcileAutomation("apps/auto");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(Condition(GetAutomation(), kReady).reason(), "GitOperationFailed");
  EXPECT_EQ(Condition(GetSource(), kReady).message(), "refused");
}

TEST_F(AutomationReconcilerTest, AMissingSourceWaitsAndItsArrivalRunsAgain) {
  ApplyAutomation(Automation());
  auto result = reconciler_->ReconcileAutomation("apps/auto");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->requeue_after, absl::Hours(1));
  EXPECT_EQ(Condition(GetAutomation(), kReady).reason(), "DependencyNotReady");
  EXPECT_EQ(Condition(GetAutomation(), kReady).message(),
            "spec.sourceRef: GitRepository apps/repo not found");

  ApplySource();
  ASSERT_TRUE(reconciler_->ReconcileSource("apps/repo").ok());
  EXPECT_THAT(enqueued_, ElementsAre("apps/auto"));
  const v1::Condition waiting = Condition(GetSource(), kReady);
  EXPECT_EQ(waiting.status(), "Unknown");
  EXPECT_EQ(waiting.reason(), "Progressing");
  EXPECT_EQ(waiting.message(), "waiting for the first fetch");
}

// A GitRepository deleted and applied again while a run still works in its
// clone: a run of the new one waits for the old run, never sharing the
// clone with it.
TEST_F(AutomationReconcilerTest, ARecreatedSourceWaitsForTheRunInItsClone) {
  ApplySource();
  ApplyAutomation(Automation());
  v1::ImageUpdateAutomation second = Automation();
  second.mutable_metadata()->set_name("auto-2");
  ApplyAutomation(second);

  absl::Mutex mu;
  int in_clone = 0;
  int most_in_clone = 0;
  int runs = 0;
  absl::Notification first_inside, release_first;
  git_->on_update_branch = [&] {
    bool first;
    {
      absl::MutexLock lock(&mu);
      first = runs++ == 0;
      most_in_clone = std::max(most_in_clone, ++in_clone);
    }
    if (first) {
      first_inside.Notify();
      release_first.WaitForNotificationWithTimeout(absl::Seconds(20));
    }
    absl::MutexLock lock(&mu);
    --in_clone;
  };
  auto reconcile = [&](const std::string& key) {
    auto result = reconciler_->ReconcileAutomation(key);
    EXPECT_TRUE(result.ok()) << result.status();
  };

  std::thread first_run(reconcile, "apps/auto");
  ASSERT_TRUE(first_inside.WaitForNotificationWithTimeout(absl::Seconds(20)));
  ASSERT_TRUE(sources_->Delete("apps", "repo").ok());
  ASSERT_TRUE(reconciler_->ReconcileSource("apps/repo").ok());
  ApplySource();
  std::thread second_run(reconcile, "apps/auto-2");
  // The second run must not reach the clone while the first is in it.
  const bool second_entered = testing::Eventually(
      [&] {
        absl::MutexLock lock(&mu);
        return runs == 2;
      },
      absl::Milliseconds(300), absl::Milliseconds(5));
  release_first.Notify();
  first_run.join();
  second_run.join();
  EXPECT_FALSE(second_entered);
  EXPECT_EQ(most_in_clone, 1);
  EXPECT_EQ(runs, 2);
}

TEST_F(AutomationReconcilerTest, ASuspendedAutomationDoesNothing) {
  ApplySource();
  v1::ImageUpdateAutomation automation = Automation();
  automation.mutable_spec()->set_suspend(true);
  ApplyAutomation(automation);
  auto result = reconciler_->ReconcileAutomation("apps/auto");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->requeue_after, absl::ZeroDuration());
  EXPECT_THAT(calls_.opened, IsEmpty());
  EXPECT_FALSE(GetAutomation().status().has_last_automation_run_time());
}

}  // namespace
}  // namespace ia::automation
