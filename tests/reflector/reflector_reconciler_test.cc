// ImageRepositoryReconciler built from fakes: an in-memory store, a fake
// clock, a registry that answers from memory, no secrets. Each test calls
// Reconcile by hand, as the controller would, and checks what it wrote and
// when it asks to come back. No server, no threads, no wall clock.
#include "services/reflector/reflector_reconciler.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/kv_object_store.h"
#include "gmock/gmock.h"
#include "google/protobuf/wrappers.pb.h"
#include "gtest/gtest.h"
#include "tests/support/objects.h"

namespace ia::reflector {
namespace {

using ::testing::ElementsAre;

class FakeRegistry : public RegistryClient {
 public:
  std::vector<std::string> tags;
  absl::Status error;
  int scans = 0;
  // Runs while a scan is in flight (after the listing was read).
  std::function<void()> during_scan;

  absl::StatusOr<std::vector<std::string>> ListTags(const ImageReference&,
                                                    const RegistryOptions&,
                                                    ScanStats*) override {
    ++scans;
    if (!error.ok()) return error;
    std::vector<std::string> listed = tags;
    if (during_scan) during_scan();
    return listed;
  }
  absl::StatusOr<std::string> Digest(const ImageReference&, absl::string_view,
                                     const RegistryOptions&) override {
    return absl::UnimplementedError("not in these tests");
  }
};

constexpr char kKey[] = "flux-system/app";

// The tag-set store of the reconciler, counting its reads and writes.
class CountingTagSetStore : public TagSetStore {
 public:
  explicit CountingTagSetStore(std::unique_ptr<TagSetStore> inner)
      : inner_(std::move(inner)) {}
  int gets = 0;
  int puts = 0;

  absl::StatusOr<std::optional<std::string>> Get(
      const std::string& key) override {
    ++gets;
    return inner_->Get(key);
  }
  absl::Status Put(const std::string& key,
                   absl::string_view serialized) override {
    ++puts;
    return inner_->Put(key, serialized);
  }
  absl::Status Delete(const std::string& key) override {
    return inner_->Delete(key);
  }
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> List()
      override {
    return inner_->List();
  }

 private:
  std::unique_ptr<TagSetStore> inner_;
};

class ReflectorReconcilerTest : public ::testing::Test {
 protected:
  ReflectorReconcilerTest() {
    auto store = Store::Open(":memory:");
    EXPECT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    repositories_ = std::make_unique<KvObjectStore<v1::ImageRepository>>(
        store_.get(), &clock_);
    auto tag_sets = std::make_unique<CountingTagSetStore>(
        MakeStoreTagSetStore(store_.get()));
    counted_ = tag_sets.get();
    tag_sets_ = std::move(tag_sets);
    MakeReconciler();
  }

  // A reconciler over the fixture's ports, as after a restart.
  void MakeReconciler() {
    reconciler_ = std::make_unique<ImageRepositoryReconciler>(
        ReconcilerPorts{.repositories = repositories_.get(),
                        .tag_sets = tag_sets_.get(),
                        .tag_set_feed = &feed_,
                        .registry = &registry_,
                        .secrets = &secrets_,
                        .clock = &clock_,
                        .pushes = &pushes_},
        ReconcilerOptions{.confirm_scan_delay = absl::Seconds(5),
                          .jitter = [] { return 0.0; }});
  }

  void Apply(const std::string& interval = "10m") {
    auto applied = repositories_->Apply(
        testing::TestRepository("app", "registry.local/team/app", interval));
    ASSERT_TRUE(applied.ok()) << applied.status();
  }

  // Reconciles kKey; returns its requeue_after.
  absl::Duration Reconcile() {
    auto result = reconciler_->Reconcile(kKey);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->requeue_after : absl::InfiniteDuration();
  }

  v1::ImageRepository Get() {
    auto object = repositories_->Get("flux-system", "app");
    EXPECT_TRUE(object.ok()) << object.status();
    return object.ok() ? *object : v1::ImageRepository();
  }

  static const v1::Condition* Ready(const v1::ImageRepository& object) {
    for (const v1::Condition& c : object.status().conditions()) {
      if (c.type() == kReady) return &c;
    }
    return nullptr;
  }

  // The tag set stored for kKey (empty when none).
  v1::TagSet Stored() {
    v1::TagSet tag_set;
    auto bytes = tag_sets_->Get(kKey);
    EXPECT_TRUE(bytes.ok()) << bytes.status();
    if (bytes.ok() && bytes->has_value()) {
      EXPECT_TRUE(DecodeTagSet(**bytes, &tag_set));
    }
    return tag_set;
  }

  // The outcome of `ticket`, which must be complete.
  static PushOutcome OutcomeOf(PushTicket& ticket) {
    auto outcome = ticket.Wait(absl::ZeroDuration());
    if (!outcome.has_value()) {
      ADD_FAILURE() << "the push was not applied";
      return PushOutcome::kKnown;
    }
    if (!outcome->ok()) {
      ADD_FAILURE() << outcome->status();
      return PushOutcome::kKnown;
    }
    return **outcome;
  }

  // The tag names the feed publishes for kKey.
  std::vector<std::string> Published() {
    std::vector<std::string> names;
    auto value = feed_.Get(kKey);
    if (value == nullptr) return names;
    v1::TagSet tag_set;
    EXPECT_TRUE(DecodeTagSet(
        static_cast<const google::protobuf::StringValue&>(*value).value(),
        &tag_set));
    for (const v1::Tag& tag : tag_set.tags()) names.push_back(tag.name());
    return names;
  }

  FakeClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ObjectStore<v1::ImageRepository>> repositories_;
  std::unique_ptr<TagSetStore> tag_sets_;
  CountingTagSetStore* counted_ = nullptr;
  Feed feed_;
  FakeRegistry registry_;
  Secrets secrets_{""};
  PushInbox pushes_;
  std::unique_ptr<ImageRepositoryReconciler> reconciler_;
};

TEST_F(ReflectorReconcilerTest, ScansWhenDueAndNotBefore) {
  registry_.tags = {"1.0.0", "1.1.0", "1.1.0.sig"};
  Apply("10m");
  EXPECT_EQ(Reconcile(), absl::Minutes(10));
  EXPECT_EQ(registry_.scans, 1);
  v1::ImageRepository object = Get();
  ASSERT_NE(Ready(object), nullptr);
  EXPECT_EQ(Ready(object)->status(), "True");
  EXPECT_EQ(Ready(object)->reason(), "Succeeded");
  EXPECT_EQ(Ready(object)->message(), "successful scan: found 2 tags");
  EXPECT_EQ(object.status().last_scan_result().tag_count(), 2);
  EXPECT_THAT(Published(), ElementsAre("1.0.0", "1.1.0"));

  clock_.Advance(absl::Minutes(4));
  EXPECT_EQ(Reconcile(), absl::Minutes(6));
  EXPECT_EQ(registry_.scans, 1);

  registry_.tags.push_back("1.2.0");
  clock_.Advance(absl::Minutes(6));
  EXPECT_EQ(Reconcile(), absl::Minutes(10));
  EXPECT_EQ(registry_.scans, 2);
  EXPECT_THAT(Published(), ElementsAre("1.0.0", "1.1.0", "1.2.0"));
}

TEST_F(ReflectorReconcilerTest, AnUnchangedListingNeitherReadsNorWritesTheSet) {
  registry_.tags = {"1.1.0", "1.0.0", "1.1.0.sig", "1.0.0"};
  v1::ImageRepository applied =
      testing::TestRepository("app", "registry.local/team/app", "1m");
  applied.mutable_spec()->add_exclusion_list("\\.sig$");
  ASSERT_TRUE(repositories_->Apply(applied).ok());
  Reconcile();
  const v1::TagSet first = Stored();
  ASSERT_EQ(counted_->puts, 1);

  // The same names in another order, with the excluded one and a
  // duplicate: the stored set is not even read.
  registry_.tags = {"1.0.0", "1.1.0.sig", "1.1.0", "1.1.0"};
  const int gets = counted_->gets;
  clock_.Advance(absl::Minutes(1));
  Reconcile();
  EXPECT_EQ(registry_.scans, 2);
  EXPECT_EQ(counted_->gets, gets);
  EXPECT_EQ(counted_->puts, 1);
  v1::ImageRepository object = Get();
  EXPECT_EQ(object.status().last_scan_result().tag_count(), 2);
  EXPECT_EQ(object.status().last_scan_result().revision(), first.revision());
  EXPECT_THAT(object.status().last_scan_result().latest_tags(),
              ElementsAre("1.1.0", "1.0.0"));
  EXPECT_EQ(object.status().last_scan_result().scan_time().seconds(),
            absl::ToUnixSeconds(clock_.Now()));

  // After a restart the stored sets published at start are known too.
  MakeReconciler();
  reconciler_->PublishStored();
  const int gets_after_restart = counted_->gets;
  clock_.Advance(absl::Minutes(1));
  Reconcile();
  EXPECT_EQ(registry_.scans, 3);
  EXPECT_EQ(counted_->gets, gets_after_restart);
  EXPECT_EQ(counted_->puts, 1);

  // A changed listing is merged and written, first_seen kept.
  registry_.tags = {"1.0.0", "1.2.0"};
  clock_.Advance(absl::Minutes(1));
  Reconcile();
  EXPECT_EQ(counted_->puts, 2);
  const v1::TagSet merged = Stored();
  ASSERT_EQ(merged.tags_size(), 2);
  EXPECT_EQ(merged.tags(0).name(), "1.0.0");
  EXPECT_EQ(merged.tags(0).first_seen().seconds(),
            first.tags(0).first_seen().seconds());
  EXPECT_EQ(merged.tags(1).name(), "1.2.0");
  EXPECT_EQ(Get().status().last_scan_result().revision(), merged.revision());
}

TEST_F(ReflectorReconcilerTest, FailedScanKeepsTagsAndIsRetried) {
  registry_.tags = {"1.0.0"};
  Apply("1m");
  Reconcile();
  registry_.error = absl::UnauthenticatedError("authentication failed");
  clock_.Advance(absl::Minutes(1));
  EXPECT_EQ(Reconcile(), absl::Minutes(1));
  v1::ImageRepository object = Get();
  ASSERT_NE(Ready(object), nullptr);
  EXPECT_EQ(Ready(object)->status(), "False");
  EXPECT_EQ(Ready(object)->reason(), "AuthenticationFailed");
  EXPECT_EQ(Ready(object)->message(), "authentication failed");
  EXPECT_EQ(object.status().last_scan_result().tag_count(), 1);
  EXPECT_THAT(Published(), ElementsAre("1.0.0"));

  // A failed scan is retried whenever the repository is reconciled.
  registry_.error = absl::OkStatus();
  Reconcile();
  EXPECT_EQ(registry_.scans, 3);
  EXPECT_EQ(Ready(Get())->status(), "True");
}

TEST_F(ReflectorReconcilerTest, PushAddsTheTagAtOnceAndAConfirmingScanFollows) {
  registry_.tags = {"1.0.0"};
  Apply("1h");
  Reconcile();

  auto ticket = pushes_.Record(kKey, "1.3.0", clock_.Now());
  EXPECT_EQ(Reconcile(), absl::Seconds(5));
  EXPECT_EQ(registry_.scans, 1);  // no scan yet
  auto outcome = ticket->Wait(absl::ZeroDuration());
  ASSERT_TRUE(outcome.has_value());
  ASSERT_TRUE(outcome->ok());
  EXPECT_EQ(**outcome, PushOutcome::kAdded);
  EXPECT_THAT(Published(), ElementsAre("1.0.0", "1.3.0"));
  EXPECT_EQ(Get().status().last_scan_result().tag_count(), 2);

  // The same tag again is known: nothing written, no new confirmation.
  auto again = pushes_.Record(kKey, "1.3.0", clock_.Now());
  EXPECT_EQ(Reconcile(), absl::Seconds(5));
  EXPECT_EQ(OutcomeOf(*again), PushOutcome::kKnown);

  registry_.tags = {"1.0.0", "1.3.0"};
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(Reconcile(), absl::Hours(1));
  EXPECT_EQ(registry_.scans, 2);
  EXPECT_THAT(Published(), ElementsAre("1.0.0", "1.3.0"));
  // Confirmed: the next one waits for the interval.
  EXPECT_EQ(Reconcile(), absl::Hours(1));
  EXPECT_EQ(registry_.scans, 2);
}

TEST_F(ReflectorReconcilerTest, PushFromAnotherHostOnlyAsksForAScan) {
  registry_.tags = {"1.0.0"};
  Apply("1h");
  Reconcile();
  auto ticket = pushes_.Record(kKey, "", clock_.Now());
  EXPECT_EQ(Reconcile(), absl::Seconds(5));
  EXPECT_EQ(OutcomeOf(*ticket), PushOutcome::kScanOnly);
  clock_.Advance(absl::Seconds(5));
  Reconcile();
  EXPECT_EQ(registry_.scans, 2);
}

TEST_F(ReflectorReconcilerTest, APushedTagIsFirstSeenWhenThePushWasReceived) {
  registry_.tags = {"1.0.0"};
  Apply("1h");
  Reconcile();
  const absl::Time received = clock_.Now();
  auto ticket = pushes_.Record(kKey, "1.3.0", received);
  clock_.Advance(absl::Seconds(3));
  ASSERT_TRUE(reconciler_->ReconcilePushes(kKey).ok());
  EXPECT_EQ(OutcomeOf(*ticket), PushOutcome::kAdded);
  v1::TagSet stored = Stored();
  ASSERT_EQ(stored.tags_size(), 2);
  EXPECT_EQ(stored.tags(1).name(), "1.3.0");
  EXPECT_EQ(stored.tags(1).first_seen().seconds(),
            absl::ToUnixSeconds(received));
}

TEST_F(ReflectorReconcilerTest, ReconcilePushesAppliesWithoutScanning) {
  registry_.tags = {"1.0.0"};
  Apply("1h");
  Reconcile();
  auto ticket = pushes_.Record(kKey, "1.3.0", clock_.Now());
  auto confirm_after = reconciler_->ReconcilePushes(kKey);
  ASSERT_TRUE(confirm_after.ok()) << confirm_after.status();
  EXPECT_EQ(*confirm_after, absl::Seconds(5));
  EXPECT_EQ(OutcomeOf(*ticket), PushOutcome::kAdded);
  EXPECT_EQ(registry_.scans, 1);
  EXPECT_THAT(Published(), ElementsAre("1.0.0", "1.3.0"));
  EXPECT_EQ(Get().status().last_scan_result().tag_count(), 2);

  // Nothing new: still says when the confirmation is due.
  clock_.Advance(absl::Seconds(2));
  confirm_after = reconciler_->ReconcilePushes(kKey);
  ASSERT_TRUE(confirm_after.ok()) << confirm_after.status();
  EXPECT_EQ(*confirm_after, absl::Seconds(3));

  // The confirming scan sees the tag; nothing is pending after it.
  registry_.tags = {"1.0.0", "1.3.0"};
  clock_.Advance(absl::Seconds(3));
  EXPECT_EQ(Reconcile(), absl::Hours(1));
  EXPECT_EQ(registry_.scans, 2);
  confirm_after = reconciler_->ReconcilePushes(kKey);
  ASSERT_TRUE(confirm_after.ok()) << confirm_after.status();
  EXPECT_EQ(*confirm_after, std::nullopt);
}

TEST_F(ReflectorReconcilerTest, APushAppliedDuringAScanIsKeptByItsMerge) {
  registry_.tags = {"1.0.0"};
  Apply("1h");
  Reconcile();
  std::shared_ptr<PushTicket> ticket;
  registry_.during_scan = [&] {
    // The listing is read; the push lane applies a push meanwhile. It must
    // not wait for the scan (it would never return here).
    clock_.Advance(absl::Seconds(1));
    ticket = pushes_.Record(kKey, "1.3.0", clock_.Now());
    auto applied = reconciler_->ReconcilePushes(kKey);
    EXPECT_TRUE(applied.ok()) << applied.status();
  };
  clock_.Advance(absl::Hours(1));
  Reconcile();
  EXPECT_EQ(registry_.scans, 2);
  ASSERT_NE(ticket, nullptr);
  EXPECT_EQ(OutcomeOf(*ticket), PushOutcome::kAdded);
  // The listing did not show it; the merge into the set stored at the end
  // of the scan keeps it.
  EXPECT_THAT(Published(), ElementsAre("1.0.0", "1.3.0"));
  EXPECT_EQ(Get().status().last_scan_result().tag_count(), 2);
}

TEST_F(ReflectorReconcilerTest, AScanForAnotherReasonLeavesAPushUnconfirmed) {
  registry_.tags = {"1.0.0"};
  Apply("1h");
  Reconcile();
  auto ticket = pushes_.Record(kKey, "1.3.0", clock_.Now());
  clock_.Advance(absl::Seconds(2));
  // A spec change scans at once, in the reconcile that applies the push;
  // the registry's listing does not show the pushed tag yet.
  Apply("2h");
  EXPECT_EQ(Reconcile(), absl::Seconds(3));  // the confirmation still comes
  EXPECT_EQ(registry_.scans, 2);
  EXPECT_EQ(OutcomeOf(*ticket), PushOutcome::kAdded);
  EXPECT_THAT(Published(), ElementsAre("1.0.0", "1.3.0"));

  // The confirming scan is the registry's word.
  clock_.Advance(absl::Seconds(3));
  EXPECT_EQ(Reconcile(), absl::Hours(2));
  EXPECT_EQ(registry_.scans, 3);
  EXPECT_THAT(Published(), ElementsAre("1.0.0"));
}

TEST_F(ReflectorReconcilerTest, AConfirmingScanLeavesLaterPushesPending) {
  registry_.tags = {"1.0.0"};
  Apply("1h");
  Reconcile();
  pushes_.Record(kKey, "1.3.0", clock_.Now());
  EXPECT_EQ(Reconcile(), absl::Seconds(5));
  clock_.Advance(absl::Seconds(3));
  pushes_.Record(kKey, "1.4.0", clock_.Now());
  EXPECT_EQ(Reconcile(), absl::Seconds(2));
  EXPECT_EQ(registry_.scans, 1);

  // 1.3.0's confirmation is due; 1.4.0's comes 3 s later. The listing
  // shows neither: 1.3.0 goes, 1.4.0 stays until its own confirmation.
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(Reconcile(), absl::Seconds(3));
  EXPECT_EQ(registry_.scans, 2);
  EXPECT_THAT(Published(), ElementsAre("1.0.0", "1.4.0"));

  registry_.tags = {"1.0.0", "1.4.0"};
  clock_.Advance(absl::Seconds(3));
  EXPECT_EQ(Reconcile(), absl::Hours(1));
  EXPECT_EQ(registry_.scans, 3);
  EXPECT_THAT(Published(), ElementsAre("1.0.0", "1.4.0"));
}

TEST_F(ReflectorReconcilerTest, ReconcilePushesDropsThePushesOfADeletedRepo) {
  registry_.tags = {"1.0.0"};
  Apply("1h");
  Reconcile();
  ASSERT_TRUE(repositories_->Delete("flux-system", "app").ok());
  auto ticket = pushes_.Record(kKey, "1.3.0", clock_.Now());
  auto confirm_after = reconciler_->ReconcilePushes(kKey);
  ASSERT_TRUE(confirm_after.ok()) << confirm_after.status();
  EXPECT_EQ(*confirm_after, std::nullopt);
  EXPECT_EQ(OutcomeOf(*ticket), PushOutcome::kKnown);
  EXPECT_THAT(Published(), ElementsAre("1.0.0"));  // Reconcile drops it
}

TEST_F(ReflectorReconcilerTest, SuspendedRepositoryIsNotScanned) {
  v1::ImageRepository repository =
      testing::TestRepository("app", "registry.local/team/app", "1m");
  repository.mutable_spec()->set_suspend(true);
  ASSERT_TRUE(repositories_->Apply(repository).ok());
  auto ticket = pushes_.Record(kKey, "1.3.0", clock_.Now());
  EXPECT_EQ(Reconcile(), absl::ZeroDuration());
  EXPECT_EQ(registry_.scans, 0);
  EXPECT_EQ(OutcomeOf(*ticket), PushOutcome::kKnown);
}

TEST_F(ReflectorReconcilerTest, DeletedRepositoryLosesItsTagSet) {
  registry_.tags = {"1.0.0"};
  Apply();
  Reconcile();
  ASSERT_TRUE(tag_sets_->Get(kKey)->has_value());
  ASSERT_TRUE(repositories_->Delete("flux-system", "app").ok());
  EXPECT_EQ(Reconcile(), absl::ZeroDuration());
  EXPECT_FALSE(tag_sets_->Get(kKey)->has_value());
  EXPECT_EQ(feed_.Get(kKey), nullptr);
}

}  // namespace
}  // namespace ia::reflector
