// The policy module (MakeModule) on a FakeClock, its Policy API served on a
// loopback port, watching a fake reflector over loopback gRPC (a fake
// because the test must choose the tags' first_seen times, push new tag
// sets and count digest lookups; it speaks the real protocol: snapshot,
// SNAPSHOT_END, UPDATED, GetTagDigest).
//  - spec.minAge: held-back tags are selected when they mature, by a
//    requeue alone (no new tag set), and tags that arrive without
//    first_seen count as seen when the policy service first received them.
//  - spec.digestReflectionPolicy: IfNotPresent asks once per selected tag,
//    Always again every spec.interval, Never not at all; a failed lookup
//    is reported and retried.
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/objects.h"
#include "common/secrets.h"
#include "common/service_host.h"
#include "common/store.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "imageautomation/v1/policy.grpc.pb.h"
#include "imageautomation/v1/reflector.grpc.pb.h"
#include "services/policy/policy_service.h"
#include "tests/support/harness.h"
#include "tests/support/objects.h"

namespace ia::policy {
namespace {

namespace v1 = ::imageautomation::v1;
using ::ia::testing::FreePort;
using ::ia::testing::SemverPolicy;
using ::ia::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

// A tag: name and first_seen (nullopt: sent without one).
struct TestTag {
  std::string name;
  std::optional<absl::Time> first_seen;
};

v1::TagSet MakeTagSet(const std::string& revision,
                      const std::vector<TestTag>& tags) {
  v1::TagSet set;
  set.mutable_repository()->set_namespace_("flux-system");
  set.mutable_repository()->set_name("app");
  set.set_image("registry.example/app");
  set.set_revision(revision);
  for (const TestTag& t : tags) {
    v1::Tag* tag = set.add_tags();
    tag->set_name(t.name);
    if (t.first_seen) *tag->mutable_first_seen() = ToProtoTime(*t.first_seen);
  }
  return set;
}

// Serves Reflector.WatchTagSets: the current tag set as the snapshot, then
// every Update() as an UPDATED event.
class FakeReflector final : public v1::Reflector::Service {
 public:
  explicit FakeReflector(v1::TagSet initial) : current_(std::move(initial)) {}

  void Update(v1::TagSet tag_set) {
    absl::MutexLock lock(&mu_);
    current_ = tag_set;
    pending_.push_back(std::move(tag_set));
  }

  // The digest of `tag` is "sha256:" + tag + "-" + generation; a digest
  // of "fail" fails the lookup.
  void SetDigestGeneration(int generation) {
    absl::MutexLock lock(&mu_);
    digest_generation_ = generation;
  }
  void FailDigests(bool fail) {
    absl::MutexLock lock(&mu_);
    fail_digests_ = fail;
  }
  int digest_lookups() {
    absl::MutexLock lock(&mu_);
    return digest_lookups_;
  }

  grpc::Status GetTagDigest(grpc::ServerContext*,
                            const v1::GetTagDigestRequest* request,
                            v1::GetTagDigestResponse* response) override {
    absl::MutexLock lock(&mu_);
    ++digest_lookups_;
    if (fail_digests_) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "registry unreachable");
    }
    response->set_digest(
        absl::StrCat("sha256:", request->tag(), "-", digest_generation_));
    return grpc::Status::OK;
  }

  grpc::Status WatchTagSets(
      grpc::ServerContext* context, const v1::WatchTagSetsRequest*,
      grpc::ServerWriter<v1::TagSetEvent>* writer) override {
    {
      absl::MutexLock lock(&mu_);
      pending_.clear();
      v1::TagSetEvent event;
      event.set_type(v1::TagSetEvent::SNAPSHOT);
      *event.mutable_tag_set() = current_;
      if (!writer->Write(event)) return grpc::Status::CANCELLED;
    }
    v1::TagSetEvent end;
    end.set_type(v1::TagSetEvent::SNAPSHOT_END);
    if (!writer->Write(end)) return grpc::Status::CANCELLED;
    while (!context->IsCancelled()) {
      v1::TagSetEvent event;
      {
        absl::MutexLock lock(&mu_);
        mu_.AwaitWithTimeout(absl::Condition(this, &FakeReflector::HasPending),
                             absl::Milliseconds(20));
        if (pending_.empty()) continue;
        event.set_type(v1::TagSetEvent::UPDATED);
        *event.mutable_tag_set() = std::move(pending_.front());
        pending_.pop_front();
      }
      if (!writer->Write(event)) break;
    }
    return grpc::Status::OK;
  }

 private:
  bool HasPending() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !pending_.empty();
  }

  mutable absl::Mutex mu_;
  int digest_generation_ ABSL_GUARDED_BY(mu_) = 1;
  bool fail_digests_ ABSL_GUARDED_BY(mu_) = false;
  int digest_lookups_ ABSL_GUARDED_BY(mu_) = 0;
  v1::TagSet current_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::TagSet> pending_ ABSL_GUARDED_BY(mu_);
};

class MinAgeServiceTest : public ::testing::Test {
 protected:
  const absl::Time t0 = absl::FromUnixSeconds(1'700'000'000);

  void TearDown() override {
    if (policy_server_)
      policy_server_->Shutdown(
          absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    if (module_) module_->Stop();
    if (reflector_server_) {
      reflector_server_->Shutdown(
          absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    }
  }

  // Starts the fake reflector with `initial`, then the policy module
  // watching it, serving Policy on a loopback port.
  void Start(v1::TagSet initial) {
    reflector_ = std::make_unique<FakeReflector>(std::move(initial));
    const std::string reflector_address =
        absl::StrCat("127.0.0.1:", FreePort());
    grpc::ServerBuilder rb;
    rb.AddListeningPort(reflector_address, grpc::InsecureServerCredentials());
    rb.RegisterService(reflector_.get());
    reflector_server_ = rb.BuildAndStart();
    ASSERT_NE(reflector_server_, nullptr);

    auto store = Store::Open(dir_.Join("state.db"));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    config_.name = "policy";
    config_.data_dir = dir_.path();
    config_.workers = 1;
    context_ = ServiceContext{&config_, store_.get(), &clock_, &secrets_};
    auto module = MakeModule(context_, Peers{reflector_address, ""});
    ASSERT_TRUE(module.ok()) << module.status();
    module_ = *std::move(module);

    const std::string policy_address = absl::StrCat("127.0.0.1:", FreePort());
    grpc::ServerBuilder pb;
    pb.AddListeningPort(policy_address, grpc::InsecureServerCredentials());
    for (const auto& [service, name] : module_->Services()) {
      pb.RegisterService(service);
    }
    policy_server_ = pb.BuildAndStart();
    ASSERT_NE(policy_server_, nullptr);
    module_->Start();
    stub_ = v1::Policy::NewStub(grpc::CreateChannel(
        policy_address, grpc::InsecureChannelCredentials()));
  }

  grpc::Status Apply(const std::string& range, const std::string& min_age,
                     const std::string& digest_policy = "",
                     const std::string& interval = "") {
    v1::ApplyImagePolicyRequest request;
    v1::ImagePolicy* policy = request.mutable_object();
    *policy = SemverPolicy("app", "app", range);
    policy->mutable_spec()->set_min_age(min_age);
    policy->mutable_spec()->set_digest_reflection_policy(digest_policy);
    policy->mutable_spec()->set_interval(interval);
    v1::ApplyImagePolicyResponse response;
    grpc::ClientContext context;
    return stub_->ApplyImagePolicy(&context, request, &response);
  }

  // Polls the policy until `done` holds; a generous deadline only guards
  // against a hang.
  v1::ImagePolicy WaitFor(
      const std::function<bool(const v1::ImagePolicy&)>& done) {
    v1::ImagePolicy policy;
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      v1::ObjectKey key;
      key.set_namespace_("flux-system");
      key.set_name("app");
      grpc::ClientContext context;
      policy.Clear();
      if (stub_->GetImagePolicy(&context, key, &policy).ok() && done(policy)) {
        break;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    return policy;
  }

  // Advances the clock by `step` until `tag` is selected (20 s at most).
  v1::ImagePolicy AdvanceUntilSelected(const std::string& tag,
                                       absl::Duration step) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    v1::ImagePolicy p = WaitFor([](const v1::ImagePolicy&) { return true; });
    while (!Selected(tag)(p) && absl::Now() < deadline) {
      clock_.Advance(step);
      absl::SleepFor(absl::Milliseconds(10));
      p = WaitFor([](const v1::ImagePolicy&) { return true; });
    }
    return p;
  }

  static const v1::Condition* Ready(const v1::ImagePolicy& policy) {
    for (const auto& c : policy.status().conditions()) {
      if (c.type() == "Ready") return &c;
    }
    return nullptr;
  }
  static std::function<bool(const v1::ImagePolicy&)> Selected(
      const std::string& tag) {
    return [tag](const v1::ImagePolicy& p) {
      const v1::Condition* ready = Ready(p);
      return p.status().latest_ref().tag() == tag && ready != nullptr &&
             ready->status() == "True";
    };
  }

  TempDir dir_;
  FakeClock clock_{absl::FromUnixSeconds(1'700'000'000)};
  ServiceConfig config_;
  Secrets secrets_{""};
  std::unique_ptr<Store> store_;
  ServiceContext context_{};
  std::unique_ptr<FakeReflector> reflector_;
  std::unique_ptr<grpc::Server> reflector_server_;
  std::unique_ptr<ServiceModule> module_;
  std::unique_ptr<grpc::Server> policy_server_;
  std::unique_ptr<v1::Policy::Stub> stub_;
};

TEST_F(MinAgeServiceTest, HeldBackTagIsSelectedWhenItMatures) {
  Start(MakeTagSet("rev-1", {{"1.2.3", t0 - absl::Hours(2)},
                             {"1.3.0", t0 - absl::Minutes(30)},
                             {"2.0.0", t0 - absl::Hours(3)}}));
  ASSERT_TRUE(Apply(">=1.0.0 <2.0.0", "1h").ok());

  v1::ImagePolicy p = WaitFor(Selected("1.2.3"));
  ASSERT_TRUE(Selected("1.2.3")(p)) << p.DebugString();
  EXPECT_EQ(Ready(p)->message(),
            "Latest image tag for registry.example/app resolved to 1.2.3; "
            "1.3.0 held back by minAge 1h until 2023-11-14T22:43:20Z");

  // No new tag set: only the clock moves. The requeue at 1.3.0's maturity
  // selects it.
  p = AdvanceUntilSelected("1.3.0", absl::Minutes(5));
  ASSERT_TRUE(Selected("1.3.0")(p)) << p.DebugString();
  EXPECT_EQ(Ready(p)->message(),
            "Latest image tag for registry.example/app resolved to 1.3.0 "
            "(previously registry.example/app:1.2.3)");
}

TEST_F(MinAgeServiceTest, NothingOldEnoughIsFailureUntilATagMatures) {
  Start(MakeTagSet("rev-1", {{"1.0.0", t0 - absl::Minutes(50)}}));
  ASSERT_TRUE(Apply(">=1.0.0", "1h").ok());

  v1::ImagePolicy p = WaitFor([](const v1::ImagePolicy& p) {
    return Ready(p) != nullptr && Ready(p)->reason() == "Failure";
  });
  ASSERT_NE(Ready(p), nullptr) << p.DebugString();
  EXPECT_EQ(Ready(p)->status(), "False");
  EXPECT_EQ(Ready(p)->message(),
            "no tag is older than spec.minAge 1h; 1 tag held back by minAge, "
            "1.0.0 until 2023-11-14T22:23:20Z");
  EXPECT_FALSE(p.status().has_latest_ref());

  // The requeue is measured from when the reconcile returned, which the
  // test cannot see: move the clock in steps until the tag matures.
  p = AdvanceUntilSelected("1.0.0", absl::Minutes(1));
  EXPECT_TRUE(Selected("1.0.0")(p)) << p.DebugString();
}

TEST_F(MinAgeServiceTest, TagWithoutFirstSeenCountsAsSeenWhenFirstReceived) {
  // 1.3.0 comes without first_seen: seen at t0 (the fake clock's now), so
  // it matures at t0 + 1h, however often the tag set is sent again.
  Start(MakeTagSet("rev-1", {{"1.2.3", t0 - absl::Hours(2)}, {"1.3.0", {}}}));
  ASSERT_TRUE(Apply(">=1.0.0 <2.0.0", "1h").ok());
  v1::ImagePolicy p = WaitFor(Selected("1.2.3"));
  ASSERT_TRUE(Selected("1.2.3")(p)) << p.DebugString();
  EXPECT_THAT(
      Ready(p)->message(),
      HasSubstr("1.3.0 held back by minAge 1h until 2023-11-14T23:13:20Z"));

  // 40 minutes later a new tag set, still without a time for 1.3.0: it
  // keeps the time it was first received at.
  clock_.Advance(absl::Minutes(40));
  reflector_->Update(MakeTagSet("rev-2", {{"1.2.3", t0 - absl::Hours(2)},
                                          {"1.2.4", t0 - absl::Hours(2)},
                                          {"1.3.0", {}}}));
  p = WaitFor(Selected("1.2.4"));
  ASSERT_TRUE(Selected("1.2.4")(p)) << p.DebugString();
  EXPECT_THAT(
      Ready(p)->message(),
      HasSubstr("1.3.0 held back by minAge 1h until 2023-11-14T23:13:20Z"));

  p = AdvanceUntilSelected("1.3.0", absl::Minutes(5));
  EXPECT_TRUE(Selected("1.3.0")(p)) << p.DebugString();
  EXPECT_THAT(Ready(p)->message(), Not(HasSubstr("held back")));
}

TEST_F(MinAgeServiceTest, InvalidMinAgeIsRefusedNamingTheField) {
  Start(MakeTagSet("rev-1", {{"1.0.0", t0 - absl::Hours(2)}}));
  const grpc::Status status = Apply(">=1.0.0", "1 day");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("spec.minAge"));
}

using DigestReflectionTest = MinAgeServiceTest;

TEST_F(DigestReflectionTest, IfNotPresentAsksOncePerSelectedTag) {
  Start(MakeTagSet("rev-1", {{"1.2.3", t0 - absl::Hours(2)}}));
  ASSERT_TRUE(Apply(">=1.0.0", "", "IfNotPresent").ok());
  v1::ImagePolicy p = WaitFor([](const v1::ImagePolicy& p) {
    return p.status().latest_ref().digest() == "sha256:1.2.3-1";
  });
  EXPECT_EQ(p.status().latest_ref().digest(), "sha256:1.2.3-1")
      << p.DebugString();
  EXPECT_EQ(reflector_->digest_lookups(), 1);

  // Another tag set with the same selection: no new lookup.
  reflector_->SetDigestGeneration(2);
  reflector_->Update(MakeTagSet("rev-2", {{"1.2.3", t0 - absl::Hours(2)},
                                          {"0.9.0", t0 - absl::Hours(2)}}));
  clock_.Advance(absl::Hours(1));
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(reflector_->digest_lookups(), 1);

  // A new selection: looked up.
  reflector_->Update(MakeTagSet("rev-3", {{"1.2.3", t0 - absl::Hours(2)},
                                          {"1.3.0", t0 - absl::Hours(2)}}));
  p = WaitFor([](const v1::ImagePolicy& p) {
    return p.status().latest_ref().digest() == "sha256:1.3.0-2";
  });
  EXPECT_EQ(p.status().latest_ref().tag(), "1.3.0");
  EXPECT_EQ(p.status().latest_ref().digest(), "sha256:1.3.0-2");
}

TEST_F(DigestReflectionTest, AlwaysRefreshesEveryInterval) {
  Start(MakeTagSet("rev-1", {{"1.2.3", t0 - absl::Hours(2)}}));
  ASSERT_TRUE(Apply(">=1.0.0", "", "Always", "10m").ok());
  WaitFor([](const v1::ImagePolicy& p) {
    return p.status().latest_ref().digest() == "sha256:1.2.3-1";
  });
  // The tag was re-pushed: a new digest under the same tag.
  reflector_->SetDigestGeneration(2);
  v1::ImagePolicy p;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (p.status().latest_ref().digest() != "sha256:1.2.3-2" &&
         absl::Now() < deadline) {
    clock_.Advance(absl::Minutes(1));
    p = WaitFor([](const v1::ImagePolicy&) { return true; });
  }
  EXPECT_EQ(p.status().latest_ref().digest(), "sha256:1.2.3-2");
  EXPECT_EQ(p.status().latest_ref().tag(), "1.2.3");
}

TEST_F(DigestReflectionTest, NeverAsksAndFailureIsReportedThenRetried) {
  Start(MakeTagSet("rev-1", {{"1.2.3", t0 - absl::Hours(2)}}));
  ASSERT_TRUE(Apply(">=1.0.0", "", "Never").ok());
  v1::ImagePolicy p = WaitFor(Selected("1.2.3"));
  EXPECT_EQ(p.status().latest_ref().digest(), "");
  EXPECT_EQ(reflector_->digest_lookups(), 0);

  reflector_->FailDigests(true);
  ASSERT_TRUE(Apply(">=1.0.0", "", "IfNotPresent").ok());
  p = WaitFor([](const v1::ImagePolicy& p) {
    return Ready(p) != nullptr && Ready(p)->reason() == "DigestLookupFailed";
  });
  ASSERT_NE(Ready(p), nullptr);
  EXPECT_THAT(Ready(p)->message(), HasSubstr("registry unreachable"));
  reflector_->FailDigests(false);
  // Retried by the controller's backoff.
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (p.status().latest_ref().digest().empty() && absl::Now() < deadline) {
    clock_.Advance(absl::Seconds(30));
    p = WaitFor([](const v1::ImagePolicy&) { return true; });
  }
  EXPECT_EQ(p.status().latest_ref().digest(), "sha256:1.2.3-1");
}

}  // namespace
}  // namespace ia::policy
