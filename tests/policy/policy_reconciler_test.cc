// The policy reconciler built from fakes: an in-memory Store behind the
// ObjectStore and the SelectionBook, a fake clock, a fake tag set source and
// a gMock of the reflector's StubInterface for GetTagDigest. No server, no
// thread: each test calls Reconcile and looks at the status and the Feed.
#include "services/policy/policy_reconciler.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/feed.h"
#include "common/kv_object_store.h"
#include "common/object_store.h"
#include "common/store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/policy/select.h"
#include "tests/policy/mock_reflector_stub.h"
#include "tests/support/conflicting_object_store.h"
#include "tests/support/objects.h"

namespace ia::policy {
namespace {

using ::ia::policy::testing::MockReflectorStub;
using ::testing::_;
using ::testing::Return;

constexpr char kKey[] = "flux-system/app";

// Tag sets set by the test.
class FakeTagSets final : public TagSetSource {
 public:
  void Set(const std::string& key, v1::TagSet tag_set) {
    absl::MutexLock lock(&mu_);
    tag_sets_[key] = std::make_shared<const v1::TagSet>(std::move(tag_set));
  }
  void SetSynced(bool synced) {
    absl::MutexLock lock(&mu_);
    synced_ = synced;
  }
  std::shared_ptr<const v1::TagSet> Get(const std::string& key) const override {
    absl::MutexLock lock(&mu_);
    auto it = tag_sets_.find(key);
    return it == tag_sets_.end() ? nullptr : it->second;
  }
  bool synced() const override {
    absl::MutexLock lock(&mu_);
    return synced_;
  }

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<const v1::TagSet>> tag_sets_
      ABSL_GUARDED_BY(mu_);
  bool synced_ ABSL_GUARDED_BY(mu_) = true;
};

class PolicyReconcilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::Open(":memory:");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    policies_ =
        std::make_unique<KvObjectStore<v1::ImagePolicy>>(store_.get(), &clock_);
    policies_->SetValidator([](const v1::ImagePolicy& policy) {
      return ValidatePolicySpec(policy.spec());
    });
    book_ = std::make_unique<SelectionBook>(store_.get(), &feed_);
    reconciler_ = std::make_unique<PolicyReconciler>(
        PolicyReconciler::Ports{.policies = policies_.get(),
                                .tag_sets = &tag_sets_,
                                .reflector = &reflector_,
                                .selections = book_.get(),
                                .index = &index_,
                                .clock = &clock_});
  }

  // Applies ImagePolicy flux-system/app (semver `range`) after `edit`.
  void Apply(const std::string& range,
             const std::function<void(v1::ImagePolicySpec*)>& edit = {}) {
    v1::ImagePolicy policy = ia::testing::SemverPolicy("app", "app", range);
    if (edit) edit(policy.mutable_spec());
    auto applied = policies_->Apply(policy);
    ASSERT_TRUE(applied.ok()) << applied.status();
  }

  // The tag set of flux-system/app: tags first seen `age` before now.
  void SetTags(
      const std::vector<std::pair<std::string, absl::Duration>>& tags) {
    v1::TagSet set;
    set.mutable_repository()->set_namespace_("flux-system");
    set.mutable_repository()->set_name("app");
    set.set_image("registry.example/app");
    set.set_revision(absl::StrCat("rev-", ++revision_));
    for (const auto& [name, age] : tags) {
      v1::Tag* tag = set.add_tags();
      tag->set_name(name);
      *tag->mutable_first_seen() = ToProtoTime(clock_.Now() - age);
    }
    tag_sets_.Set(kKey, std::move(set));
  }

  v1::ImagePolicy Stored() {
    auto found = policies_->Find(kKey);
    EXPECT_TRUE(found.ok() && found->has_value());
    return found.ok() && found->has_value() ? **found : v1::ImagePolicy();
  }
  static const v1::Condition* Ready(const v1::ImagePolicy& policy) {
    for (const auto& c : policy.status().conditions()) {
      if (c.type() == "Ready") return &c;
    }
    return nullptr;
  }
  std::shared_ptr<const v1::Selection> Published() {
    return book_->Current(kKey);
  }

  FakeClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ObjectStore<v1::ImagePolicy>> policies_;
  FakeTagSets tag_sets_;
  ::testing::StrictMock<MockReflectorStub> reflector_;
  Feed feed_;
  std::unique_ptr<SelectionBook> book_;
  PolicyIndex index_;
  std::unique_ptr<PolicyReconciler> reconciler_;
  int revision_ = 0;
};

TEST_F(PolicyReconcilerTest, SelectsPublishesAndWritesStatus) {
  Apply(">=1.0.0");
  SetTags({{"1.0.0", absl::Hours(2)}, {"1.2.3", absl::Hours(2)}});
  absl::StatusOr<ReconcileResult> result = reconciler_->Reconcile(kKey);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->requeue_after, absl::ZeroDuration());

  const v1::ImagePolicy p = Stored();
  ASSERT_NE(Ready(p), nullptr);
  EXPECT_EQ(Ready(p)->status(), "True");
  EXPECT_EQ(Ready(p)->reason(), "Succeeded");
  EXPECT_EQ(Ready(p)->message(),
            "Latest image tag for registry.example/app resolved to 1.2.3");
  EXPECT_EQ(p.status().latest_ref().tag(), "1.2.3");
  EXPECT_EQ(p.status().observed_generation(), 1);
  ASSERT_NE(Published(), nullptr);
  EXPECT_EQ(Published()->latest_ref().tag(), "1.2.3");
  EXPECT_EQ(Published()->tag_set_revision(), "rev-1");
  EXPECT_EQ(index_.PoliciesOf(kKey), std::vector<std::string>{kKey});
}

// The no-downgrade rule end to end: kept while the previous tag is there
// and the spec is the same; stepped down once it is gone.
// The port's contract (common/object_store.h): the spec changes while the
// reconcile runs, and every status mutate runs twice, as with Kubernetes
// after a resourceVersion conflict. The status records the generation the
// reconcile read, and the same selection as without the conflict.
TEST_F(PolicyReconcilerTest, KeepsThePortsContractUnderConflicts) {
  ia::testing::ConflictingObjectStore<v1::ImagePolicy> conflicting(
      policies_.get());
  PolicyReconciler reconciler(PolicyReconciler::Ports{.policies = &conflicting,
                                                      .tag_sets = &tag_sets_,
                                                      .reflector = &reflector_,
                                                      .selections = book_.get(),
                                                      .index = &index_,
                                                      .clock = &clock_});
  Apply(">=1.0.0");
  SetTags({{"1.0.0", absl::Hours(2)}, {"1.2.3", absl::Hours(2)}});
  conflicting.BeforeNextStatusWrite([&] { Apply(">=1.0.0 <2.0.0"); });
  ASSERT_TRUE(reconciler.Reconcile(kKey).ok());
  EXPECT_GT(conflicting.mutate_calls(), 0);
  v1::ImagePolicy stored = Stored();
  EXPECT_EQ(stored.metadata().generation(), 2);
  EXPECT_EQ(stored.status().observed_generation(), 1)
      << "generation 2 was never reconciled";
  ASSERT_NE(Ready(stored), nullptr);
  EXPECT_EQ(Ready(stored)->observed_generation(), 1);
  EXPECT_EQ(stored.status().latest_ref().tag(), "1.2.3");
  EXPECT_FALSE(stored.status().has_observed_previous_ref());

  ASSERT_TRUE(reconciler.Reconcile(kKey).ok());
  stored = Stored();
  EXPECT_EQ(stored.status().observed_generation(), 2);
  EXPECT_EQ(Ready(stored)->observed_generation(), 2);
}

TEST_F(PolicyReconcilerTest, NoDowngrade) {
  Apply(">=1.0.0", [](v1::ImagePolicySpec* spec) { spec->set_min_age("1h"); });
  SetTags({{"1.2.3", absl::Hours(2)}, {"1.3.0", absl::Hours(2)}});
  ASSERT_TRUE(reconciler_->Reconcile(kKey).ok());
  ASSERT_EQ(Stored().status().latest_ref().tag(), "1.3.0");

  // 1.3.0 counts as young again (say the reflector lost its first_seen):
  // minAge alone would select 1.2.3.
  SetTags({{"1.2.3", absl::Hours(2)}, {"1.3.0", absl::Minutes(10)}});
  absl::StatusOr<ReconcileResult> result = reconciler_->Reconcile(kKey);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->requeue_after, absl::Minutes(50));
  v1::ImagePolicy p = Stored();
  EXPECT_EQ(p.status().latest_ref().tag(), "1.3.0");
  EXPECT_EQ(Ready(p)->message(),
            "Latest image tag for registry.example/app resolved to 1.3.0; "
            "kept 1.3.0 over lower 1.2.3");
  EXPECT_EQ(Published()->latest_ref().tag(), "1.3.0");

  // 1.3.0 is gone from the tag set: step down, and say so.
  SetTags({{"1.2.3", absl::Hours(2)}});
  ASSERT_TRUE(reconciler_->Reconcile(kKey).ok());
  p = Stored();
  EXPECT_EQ(p.status().latest_ref().tag(), "1.2.3");
  EXPECT_EQ(Ready(p)->message(),
            "Latest image tag for registry.example/app resolved to 1.2.3 "
            "(previously registry.example/app:1.3.0); stepped down from "
            "1.3.0: it is no longer in the tag set");
  EXPECT_EQ(Published()->latest_ref().tag(), "1.2.3");
  EXPECT_EQ(Published()->previous_ref().tag(), "1.3.0");
}

// GetTagDigest goes through the stub: asked once per selected tag with
// IfNotPresent; a failure is DigestLookupFailed and an error to retry.
TEST_F(PolicyReconcilerTest, DigestLookupThroughTheStub) {
  Apply(">=1.0.0", [](v1::ImagePolicySpec* spec) {
    spec->set_digest_reflection_policy("IfNotPresent");
  });
  SetTags({{"1.2.3", absl::Hours(2)}});
  EXPECT_CALL(reflector_, GetTagDigest(_, _, _))
      .WillOnce([](grpc::ClientContext*, const v1::GetTagDigestRequest& request,
                   v1::GetTagDigestResponse* response) {
        EXPECT_EQ(request.repository().namespace_(), "flux-system");
        EXPECT_EQ(request.repository().name(), "app");
        EXPECT_EQ(request.tag(), "1.2.3");
        response->set_digest("sha256:aaa");
        return grpc::Status::OK;
      });
  ASSERT_TRUE(reconciler_->Reconcile(kKey).ok());
  EXPECT_EQ(Stored().status().latest_ref().digest(), "sha256:aaa");
  EXPECT_EQ(Published()->latest_ref().digest(), "sha256:aaa");
  // Same tag again: reused, no call (the mock is strict).
  ASSERT_TRUE(reconciler_->Reconcile(kKey).ok());
  ::testing::Mock::VerifyAndClearExpectations(&reflector_);

  SetTags({{"1.2.3", absl::Hours(2)}, {"1.3.0", absl::Hours(1)}});
  EXPECT_CALL(reflector_, GetTagDigest(_, _, _))
      .WillOnce(Return(
          grpc::Status(grpc::StatusCode::UNAVAILABLE, "registry unreachable")));
  absl::StatusOr<ReconcileResult> result = reconciler_->Reconcile(kKey);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(result.status().message(), "registry unreachable");
  const v1::ImagePolicy p = Stored();
  EXPECT_EQ(Ready(p)->status(), "False");
  EXPECT_EQ(Ready(p)->reason(), "DigestLookupFailed");
  EXPECT_EQ(Ready(p)->message(),
            "cannot get the digest of registry.example/app:1.3.0 from the "
            "reflector: registry unreachable");
  // The previous selection stays published.
  EXPECT_EQ(Published()->latest_ref().tag(), "1.2.3");
}

TEST_F(PolicyReconcilerTest, HoldsTheLastSelectionUntilSynced) {
  Apply(">=1.0.0");
  SetTags({{"1.2.3", absl::Hours(2)}});
  ASSERT_TRUE(reconciler_->Reconcile(kKey).ok());
  const v1::ImagePolicy before = Stored();

  // As after a restart: no tag set yet, not synced.
  FakeTagSets empty;
  empty.SetSynced(false);
  PolicyReconciler restarted({.policies = policies_.get(),
                              .tag_sets = &empty,
                              .reflector = &reflector_,
                              .selections = book_.get(),
                              .index = &index_,
                              .clock = &clock_});
  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(restarted.Reconcile(kKey).ok());
  EXPECT_EQ(Stored().SerializeAsString(), before.SerializeAsString());

  // Synced without a tag set: the repository has none.
  empty.SetSynced(true);
  ASSERT_TRUE(restarted.Reconcile(kKey).ok());
  EXPECT_EQ(Ready(Stored())->reason(), "DependencyNotReady");
  EXPECT_EQ(Ready(Stored())->message(),
            "waiting for ImageRepository flux-system/app tags");
}

TEST_F(PolicyReconcilerTest, FailureKeepsThePublishedSelection) {
  Apply(">=1.0.0");
  SetTags({{"1.2.3", absl::Hours(2)}});
  ASSERT_TRUE(reconciler_->Reconcile(kKey).ok());
  SetTags({{"latest", absl::Hours(2)}});
  ASSERT_TRUE(reconciler_->Reconcile(kKey).ok());
  const v1::ImagePolicy p = Stored();
  EXPECT_EQ(Ready(p)->reason(), "Failure");
  EXPECT_EQ(Ready(p)->message(),
            "no tag satisfies semver range \">=1.0.0\" (1 candidates, 0 of "
            "them versions)");
  EXPECT_EQ(Published()->latest_ref().tag(), "1.2.3");
}

TEST_F(PolicyReconcilerTest, DeletedPolicyLosesItsSelection) {
  Apply(">=1.0.0");
  SetTags({{"1.2.3", absl::Hours(2)}});
  ASSERT_TRUE(reconciler_->Reconcile(kKey).ok());
  ASSERT_NE(Published(), nullptr);
  ASSERT_TRUE(policies_->Delete("flux-system", "app").ok());
  ASSERT_TRUE(reconciler_->Reconcile(kKey).ok());
  EXPECT_EQ(Published(), nullptr);
  EXPECT_TRUE(index_.AllPolicies().empty());
  auto rows = store_->List("Selection");
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE(rows->empty());
}

TEST_F(PolicyReconcilerTest, SuspendedPolicyIsLeftAlone) {
  Apply(">=1.0.0", [](v1::ImagePolicySpec* spec) { spec->set_suspend(true); });
  SetTags({{"1.2.3", absl::Hours(2)}});
  ASSERT_TRUE(reconciler_->Reconcile(kKey).ok());
  EXPECT_FALSE(Stored().has_status());
  EXPECT_EQ(Published(), nullptr);
}

}  // namespace
}  // namespace ia::policy
