#include "common/conditions.h"
#include "common/kv_object_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ia {
namespace {

using ::testing::HasSubstr;

v1::ImageRepository Repository(const std::string& interval) {
  v1::ImageRepository r;
  r.mutable_metadata()->set_name("app");
  r.mutable_spec()->set_image("registry.example/team/app");
  r.mutable_spec()->set_interval(interval);
  return r;
}

class ObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::Open(":memory:");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    objects_ = std::make_unique<KvObjectStore<v1::ImageRepository>>(
        store_.get(), &clock_);
    objects_->SetChangeListener(
        [this](const std::string& key) { changes_.push_back(key); });
  }

  FakeClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ObjectStore<v1::ImageRepository>> objects_;
  std::vector<std::string> changes_;
};

TEST_F(ObjectStoreTest, ApplyCreatesWithDefaultsAndGenerationOne) {
  clock_.Advance(absl::Milliseconds(1500));
  auto applied = objects_->Apply(Repository("1m"));
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(applied->action, "created");
  const auto& meta = applied->object.metadata();
  EXPECT_EQ(meta.namespace_(), "flux-system");
  EXPECT_EQ(meta.generation(), 1);
  EXPECT_FALSE(meta.uid().empty());
  // Whole seconds, as metav1.Time.
  EXPECT_EQ(FromProtoTime(meta.creation_timestamp()),
            WholeSeconds(clock_.Now()));
  EXPECT_EQ(meta.creation_timestamp().nanos(), 0);
  EXPECT_EQ(applied->object.api_version(), "image.toolkit.fluxcd.io/v1");
  EXPECT_THAT(changes_, ::testing::ElementsAre("flux-system/app"));
}

TEST_F(ObjectStoreTest, GenerationMovesOnlyWithTheSpecAndStatusIsKept) {
  ASSERT_TRUE(objects_->Apply(Repository("1m")).ok());
  ASSERT_TRUE(
      objects_
          ->UpdateStatus("flux-system/app",
                         [](v1::ImageRepository* r) {
                           r->mutable_status()->set_canonical_image_name("x");
                         })
          .ok());
  auto again = objects_->Apply(Repository("1m"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->action, "unchanged");
  EXPECT_EQ(again->object.metadata().generation(), 1);

  auto labelled = Repository("1m");
  (*labelled.mutable_metadata()->mutable_labels())["team"] = "a";
  auto configured = objects_->Apply(labelled);
  ASSERT_TRUE(configured.ok());
  EXPECT_EQ(configured->action, "configured");
  EXPECT_EQ(configured->object.metadata().generation(), 1);

  auto changed = objects_->Apply(Repository("2m"));
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed->action, "configured");
  EXPECT_EQ(changed->object.metadata().generation(), 2);
  EXPECT_EQ(changed->object.status().canonical_image_name(), "x");
  // The applied object's status is ignored.
  auto with_status = Repository("2m");
  with_status.mutable_status()->set_canonical_image_name("forged");
  auto kept = objects_->Apply(with_status);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->object.status().canonical_image_name(), "x");
}

TEST_F(ObjectStoreTest, InvalidApplyChangesNothing) {
  ASSERT_TRUE(objects_->Apply(Repository("1m")).ok());
  changes_.clear();
  auto bad = objects_->Apply(Repository("5x"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("spec.interval"));
  EXPECT_TRUE(changes_.empty());
  auto got = objects_->Get("flux-system", "app");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->spec().interval(), "1m");
}

TEST_F(ObjectStoreTest, TheOwnersValidatorRunsOnApplyNamingTheObject) {
  objects_->SetValidator([](const v1::ImageRepository& r) {
    return r.spec().image().find("forbidden") == std::string::npos
               ? absl::OkStatus()
               : absl::InvalidArgumentError("spec.image: forbidden here");
  });
  auto bad = Repository("1m");
  bad.mutable_spec()->set_image("registry.example/forbidden");
  auto applied = objects_->Apply(bad);
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(applied.status().message(),
            "ImageRepository flux-system/app: spec.image: forbidden here");
  EXPECT_TRUE(changes_.empty());
  EXPECT_TRUE(objects_->Apply(Repository("1m")).ok());
}

TEST_F(ObjectStoreTest, GetListDeleteAndNotFound) {
  ASSERT_TRUE(objects_->Apply(Repository("1m")).ok());
  auto other = Repository("1m");
  other.mutable_metadata()->set_namespace_("apps");
  ASSERT_TRUE(objects_->Apply(other).ok());
  EXPECT_EQ(objects_->List("").value().size(), 2u);
  EXPECT_EQ(objects_->List("apps").value().size(), 1u);
  EXPECT_EQ(objects_->List("app").value().size(), 0u);  // a prefix of "apps"

  auto missing = objects_->Get("flux-system", "nope");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "ImageRepository flux-system/nope not found");

  changes_.clear();
  EXPECT_TRUE(objects_->Delete("apps", "app").ok());
  EXPECT_THAT(changes_, ::testing::ElementsAre("apps/app"));
  EXPECT_EQ(objects_->Delete("apps", "app").code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ObjectStoreTest, ReconcileRequestIsRecordedAndSurvivesApply) {
  ASSERT_TRUE(objects_->Apply(Repository("1m")).ok());
  auto requested = objects_->RequestReconcile("flux-system", "app");
  ASSERT_TRUE(requested.ok());
  auto got = objects_->Get("flux-system", "app").value();
  EXPECT_EQ(got.metadata().annotations().at(std::string(kReconcileRequestedAt)),
            *requested);
  // An apply of the manifest (which lacks the annotation) keeps the request.
  auto applied = objects_->Apply(Repository("1m"));
  ASSERT_TRUE(applied.ok());
  EXPECT_EQ(applied->action, "unchanged");

  MarkObserved(&got, ObservedOf(got));
  EXPECT_EQ(got.status().last_handled_reconcile_at(), *requested);
  EXPECT_EQ(got.status().observed_generation(), 1);
}

TEST_F(ObjectStoreTest, UpdateStatusWritesOnlyChanges) {
  ASSERT_TRUE(objects_->Apply(Repository("1m")).ok());
  auto updated =
      objects_->UpdateStatus("flux-system/app", [&](v1::ImageRepository* r) {
        SetCondition(r->mutable_status()->mutable_conditions(), kReady, kTrue,
                     "Succeeded", "ok", 1, clock_.Now());
      });
  ASSERT_TRUE(updated.ok());
  const auto first = FindCondition(updated->status().conditions(), kReady)
                         ->last_transition_time();
  clock_.Advance(absl::Minutes(1));
  updated =
      objects_->UpdateStatus("flux-system/app", [&](v1::ImageRepository* r) {
        SetCondition(r->mutable_status()->mutable_conditions(), kReady, kTrue,
                     "Succeeded", "still ok", 1, clock_.Now());
      });
  ASSERT_TRUE(updated.ok());
  const auto* ready = FindCondition(updated->status().conditions(), kReady);
  EXPECT_EQ(ready->message(), "still ok");
  EXPECT_EQ(ready->last_transition_time().seconds(), first.seconds());
  EXPECT_EQ(
      objects_->UpdateStatus("flux-system/gone", [](v1::ImageRepository*) {})
          .status()
          .code(),
      absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace ia
