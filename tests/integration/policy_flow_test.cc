// Selections flow through the real services: the reflector's tag sets reach
// the policy service over WatchTagSets, the policy selects a tag, records it
// in status, serves it on WatchSelections and pushes it to the automation
// service over PublishSelections; a restart of the policy service changes
// nothing; the policy service converges when its peers start after it.

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "imageautomation/v1/automation.grpc.pb.h"
#include "imageautomation/v1/policy.grpc.pb.h"
#include "imageautomation/v1/reflector.grpc.pb.h"
#include "tests/support/harness.h"
#include "tests/support/objects.h"

namespace ia::testing {
namespace {

namespace v1 = ::imageautomation::v1;
using ::testing::HasSubstr;

grpc::Status ApplyPolicy(v1::Policy::Stub* stub, const std::string& name,
                         const std::string& repository,
                         const std::string& range) {
  v1::ApplyImagePolicyRequest request;
  *request.mutable_object() = SemverPolicy(name, repository, range);
  v1::ApplyImagePolicyResponse response;
  grpc::ClientContext context;
  return stub->ApplyImagePolicy(&context, request, &response);
}

const v1::Condition* Ready(const v1::ImagePolicy& policy) {
  for (const auto& c : policy.status().conditions()) {
    if (c.type() == "Ready") return &c;
  }
  return nullptr;
}

// Polls the policy until `done` holds (or 20s pass); returns the last read.
v1::ImagePolicy WaitForPolicy(
    v1::Policy::Stub* stub, const std::string& name,
    const std::function<bool(const v1::ImagePolicy&)>& done) {
  v1::ImagePolicy policy;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    v1::ObjectKey key;
    key.set_namespace_("flux-system");
    key.set_name(name);
    grpc::ClientContext context;
    policy.Clear();
    if (stub->GetImagePolicy(&context, key, &policy).ok() && done(policy))
      break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return policy;
}

bool Selected(const v1::ImagePolicy& policy, const std::string& tag) {
  const v1::Condition* ready = Ready(policy);
  return policy.status().latest_ref().tag() == tag && ready != nullptr &&
         ready->status() == "True";
}

// Polls the automation's ListSelections until `done` holds (or 20s pass).
v1::SelectionList WaitForSelections(
    v1::Automation::Stub* stub,
    const std::function<bool(const v1::SelectionList&)>& done) {
  v1::SelectionList list;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    grpc::ClientContext context;
    list.Clear();
    if (stub->ListSelections(&context, v1::ListRequest(), &list).ok() &&
        done(list)) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return list;
}

bool HasAppAt(const v1::SelectionList& list, const std::string& tag) {
  return list.items_size() == 1 && list.items(0).policy().name() == "app" &&
         list.items(0).latest_ref().tag() == tag;
}

// The three services on a seeded reflector store (flux-system/app with
// tags 1.2.3, 1.3.0, 2.0.0), made but not started: each test starts them
// in the order it needs.
class PolicyFlow : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(
        SeedReflectorStore(dir.Join("reflector"), {"1.2.3", "1.3.0", "2.0.0"})
            .ok());
  }

  TempDir dir;
  Service reflector{ServiceOptions{IA_REFLECTOR_BIN, dir.Join("reflector"), {}},
                    dir.Join("reflector.log")};
  Service automation{
      ServiceOptions{IA_AUTOMATION_BIN, dir.Join("automation"), {}},
      dir.Join("automation.log")};
  Service policy{ServiceOptions{IA_POLICY_BIN,
                                dir.Join("policy"),
                                {"--reflector=" + reflector.address(),
                                 "--automation=" + automation.address()}},
                 dir.Join("policy.log")};
};

TEST_F(PolicyFlow, SelectsPublishesAndSurvivesRestart) {
  ASSERT_TRUE(reflector.Start().ok()) << reflector.Log();
  ASSERT_TRUE(automation.Start().ok()) << automation.Log();
  ASSERT_TRUE(policy.Start().ok()) << policy.Log();
  auto policies = v1::Policy::NewStub(policy.Channel());
  auto automations = v1::Automation::NewStub(automation.Channel());

  ASSERT_TRUE(ApplyPolicy(policies.get(), "app", "app", ">=1.0.0 <2.0.0").ok());
  v1::ImagePolicy app = WaitForPolicy(policies.get(), "app", [](const auto& p) {
    return Selected(p, "1.3.0");
  });
  ASSERT_TRUE(Selected(app, "1.3.0")) << app.DebugString() << policy.Log();
  EXPECT_EQ(app.status().latest_ref().name(), "registry.example/app");
  EXPECT_FALSE(app.status().has_observed_previous_ref());
  EXPECT_EQ(Ready(app)->reason(), "Succeeded");
  EXPECT_EQ(Ready(app)->message(),
            "Latest image tag for registry.example/app resolved to 1.3.0");

  v1::SelectionList list = WaitForSelections(
      automations.get(), [](const auto& l) { return HasAppAt(l, "1.3.0"); });
  ASSERT_TRUE(HasAppAt(list, "1.3.0")) << list.DebugString() << policy.Log();
  const v1::Selection published = list.items(0);
  EXPECT_EQ(published.policy().namespace_(), "flux-system");
  EXPECT_EQ(published.latest_ref().name(), "registry.example/app");
  EXPECT_EQ(published.tag_set_revision(), "rev-1");
  EXPECT_EQ(published.policy_generation(), 1);

  {
    grpc::ClientContext context;
    auto stream =
        policies->WatchSelections(&context, v1::WatchSelectionsRequest());
    v1::SelectionEvent event;
    ASSERT_TRUE(stream->Read(&event));
    EXPECT_EQ(event.type(), v1::SelectionEvent::SNAPSHOT);
    EXPECT_EQ(event.selection().policy().name(), "app");
    EXPECT_EQ(event.selection().latest_ref().tag(), "1.3.0");
    ASSERT_TRUE(stream->Read(&event));
    EXPECT_EQ(event.type(), v1::SelectionEvent::SNAPSHOT_END);
    context.TryCancel();
  }

  // A policy whose repository has no tag set waits for it; the first one
  // keeps its selection.
  ASSERT_TRUE(ApplyPolicy(policies.get(), "other", "missing", ">=1.0.0").ok());
  v1::ImagePolicy other =
      WaitForPolicy(policies.get(), "other",
                    [](const auto& p) { return Ready(p) != nullptr; });
  ASSERT_NE(Ready(other), nullptr) << policy.Log();
  EXPECT_EQ(Ready(other)->status(), "False");
  EXPECT_EQ(Ready(other)->reason(), "DependencyNotReady");
  EXPECT_EQ(Ready(other)->message(),
            "waiting for ImageRepository flux-system/missing tags");
  EXPECT_TRUE(Selected(
      WaitForPolicy(policies.get(), "app", [](const auto&) { return true; }),
      "1.3.0"));

  // Restart: the same status, the same single selection at the automation,
  // not published again (its selected_at is unchanged).
  const v1::ImagePolicy before =
      WaitForPolicy(policies.get(), "app", [](const auto&) { return true; });
  ASSERT_EQ(policy.Terminate(), 0) << policy.Log();
  ASSERT_TRUE(policy.Start().ok()) << policy.Log();
  policies = v1::Policy::NewStub(policy.Channel());
  // Let the restarted service resync and reconcile.
  absl::SleepFor(absl::Seconds(2));
  const v1::ImagePolicy after =
      WaitForPolicy(policies.get(), "app", [](const auto&) { return true; });
  EXPECT_EQ(after.status().SerializeAsString(),
            before.status().SerializeAsString())
      << before.DebugString() << after.DebugString();
  list = WaitForSelections(automations.get(),
                           [](const auto& l) { return HasAppAt(l, "1.3.0"); });
  ASSERT_TRUE(HasAppAt(list, "1.3.0")) << list.DebugString();
  EXPECT_EQ(list.items(0).SerializeAsString(), published.SerializeAsString());
  EXPECT_THAT(automation.Log(), HasSubstr("selection publisher connected"));
}

TEST_F(PolicyFlow, ConvergesWhenPeersStartLater) {
  // The policy service starts first and serves with both peers down.
  ASSERT_TRUE(policy.Start().ok()) << policy.Log();
  auto policies = v1::Policy::NewStub(policy.Channel());
  ASSERT_TRUE(ApplyPolicy(policies.get(), "app", "app", ">=1.0.0 <2.0.0").ok());
  v1::ImagePolicy app = WaitForPolicy(
      policies.get(), "app", [](const auto& p) { return Ready(p) != nullptr; });
  ASSERT_NE(Ready(app), nullptr) << policy.Log();
  EXPECT_EQ(Ready(app)->reason(), "DependencyNotReady");

  ASSERT_TRUE(reflector.Start().ok()) << reflector.Log();
  app = WaitForPolicy(policies.get(), "app",
                      [](const auto& p) { return Selected(p, "1.3.0"); });
  ASSERT_TRUE(Selected(app, "1.3.0")) << app.DebugString() << policy.Log();

  ASSERT_TRUE(automation.Start().ok()) << automation.Log();
  auto automations = v1::Automation::NewStub(automation.Channel());
  v1::SelectionList list = WaitForSelections(
      automations.get(), [](const auto& l) { return HasAppAt(l, "1.3.0"); });
  EXPECT_TRUE(HasAppAt(list, "1.3.0")) << list.DebugString() << policy.Log();
}

}  // namespace
}  // namespace ia::testing
