// The reflector module over its real gRPC API (in-process channel) and its
// real HTTP webhook, with a registry client that answers from memory, on a
// fake clock: when scans happen, what they store and stream, what status
// says, and what push notifications do.
#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "imageautomation/v1/reflector.grpc.pb.h"
#include "services/reflector/reflector_service.h"
#include "tests/support/harness.h"
#include "tests/support/module_host.h"
#include "tests/support/objects.h"

namespace ia::reflector {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Answers ListTags from a map of repository path -> tags or error.
class MemoryRegistry : public RegistryClient {
 public:
  void Set(const std::string& path, std::vector<std::string> tags) {
    absl::MutexLock lock(&mu_);
    tags_[path] = std::move(tags);
    errors_.erase(path);
  }
  void Fail(const std::string& path, absl::Status status) {
    absl::MutexLock lock(&mu_);
    errors_[path] = std::move(status);
  }
  int scans(const std::string& path) {
    absl::MutexLock lock(&mu_);
    return scans_[path];
  }
  RegistryOptions last_options() {
    absl::MutexLock lock(&mu_);
    return last_options_;
  }
  // Scans of `path` wait in ListTags (after reading its tags) until
  // Release(path).
  void Hold(const std::string& path) {
    absl::MutexLock lock(&mu_);
    held_.insert(path);
  }
  void Release(const std::string& path) {
    absl::MutexLock lock(&mu_);
    held_.erase(path);
    released_.SignalAll();
  }
  // A scan of `path` is waiting in ListTags.
  bool Waiting(const std::string& path) {
    absl::MutexLock lock(&mu_);
    return waiting_.count(path) > 0;
  }

  absl::StatusOr<std::vector<std::string>> ListTags(
      const ImageReference& image, const RegistryOptions& options,
      ScanStats* stats) override {
    absl::MutexLock lock(&mu_);
    ++scans_[image.path];
    last_options_ = options;
    if (stats != nullptr) stats->requests = 1;
    if (auto it = errors_.find(image.path); it != errors_.end())
      return it->second;
    auto it = tags_.find(image.path);
    if (it == tags_.end()) {
      return absl::NotFoundError(
          absl::StrCat("repository ", image.path, " not found"));
    }
    std::vector<std::string> listed = it->second;
    waiting_.insert(image.path);
    while (held_.count(image.path) > 0) released_.Wait(&mu_);
    waiting_.erase(image.path);
    return listed;
  }
  // "sha256:<path>:<tag>" for a known tag.
  absl::StatusOr<std::string> Digest(const ImageReference& image,
                                     absl::string_view tag,
                                     const RegistryOptions& options) override {
    absl::MutexLock lock(&mu_);
    last_options_ = options;
    if (auto it = errors_.find(image.path); it != errors_.end())
      return it->second;
    auto it = tags_.find(image.path);
    if (it == tags_.end() || std::find(it->second.begin(), it->second.end(),
                                       tag) == it->second.end()) {
      return absl::NotFoundError(absl::StrCat("manifest ", tag, " not found"));
    }
    return absl::StrCat("sha256:", image.path, ":", tag);
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, std::vector<std::string>> tags_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Status> errors_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> scans_ ABSL_GUARDED_BY(mu_);
  RegistryOptions last_options_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> held_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> waiting_ ABSL_GUARDED_BY(mu_);
  absl::CondVar released_;
};

class ReflectorModuleTest : public ::testing::Test {
 protected:
  ReflectorModuleTest()
      : host_(dir_.path(), "reflector"),
        registry_(std::make_shared<MemoryRegistry>()) {}

  void StartModule(absl::string_view events_token = "") {
    ReflectorOptions options;
    options.registry = registry_;
    options.events_token = std::string(events_token);
    options.confirm_scan_delay = absl::Seconds(5);
    ASSERT_TRUE(host_
                    .Start([&](const ServiceContext& context) {
                      return MakeModule(context, options);
                    })
                    .ok());
    stub_ = v1::Reflector::NewStub(host_.channel());
  }

  void StopModule() { host_.Stop(); }

  // Applies flux-system/`name`; `customize` may change the spec further.
  void Apply(
      const std::string& name, const std::string& image,
      const std::string& interval = "10m",
      const std::function<void(v1::ImageRepositorySpec*)>& customize = {}) {
    v1::ApplyImageRepositoryRequest request;
    v1::ImageRepository* object = request.mutable_object();
    *object = testing::TestRepository(name, image, interval);
    if (customize) customize(object->mutable_spec());
    grpc::ClientContext context;
    v1::ApplyImageRepositoryResponse response;
    grpc::Status status =
        stub_->ApplyImageRepository(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  v1::ImageRepository Get(const std::string& name) {
    v1::ObjectKey key;
    key.set_namespace_("flux-system");
    key.set_name(name);
    grpc::ClientContext context;
    v1::ImageRepository object;
    grpc::Status status = stub_->GetImageRepository(&context, key, &object);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return object;
  }

  static std::string ReadyMessage(const v1::ImageRepository& object,
                                  std::string* reason = nullptr) {
    for (const auto& c : object.status().conditions()) {
      if (c.type() == "Ready") {
        if (reason != nullptr) *reason = c.reason();
        return c.status() + ": " + c.message();
      }
    }
    return "";
  }

  template <typename F>
  bool Eventually(F done) {
    return testing::ModuleHost::Eventually(done);
  }
  template <typename F>
  absl::Time AdvanceUntil(absl::Duration step, F done) {
    return host_.AdvanceUntil(step, done);
  }

  std::vector<std::string> StoredTags(const std::string& name) {
    v1::ListTagsRequest request;
    request.mutable_repository()->set_namespace_("flux-system");
    request.mutable_repository()->set_name(name);
    grpc::ClientContext context;
    v1::ListTagsResponse response;
    EXPECT_TRUE(stub_->ListTags(&context, request, &response).ok());
    std::vector<std::string> tags;
    for (const auto& tag : response.tags()) tags.push_back(tag.name());
    return tags;
  }

  httplib::Result Post(const std::string& body, const std::string& token = "") {
    httplib::Client client("127.0.0.1", host_.http_port());
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    return client.Post("/v1/registry-events", headers, body,
                       "application/json");
  }

  testing::TempDir dir_;
  testing::ModuleHost host_;
  std::shared_ptr<MemoryRegistry> registry_;
  std::unique_ptr<v1::Reflector::Stub> stub_;
};

TEST_F(ReflectorModuleTest, ScanStoresTagsAndReportsFluxStatus) {
  std::vector<std::string> tags;
  for (int i = 0; i < 12; ++i) tags.push_back(absl::StrCat("1.0.", i));
  tags.push_back("1.0.3.sig");  // excluded by the default exclusionList
  tags.push_back("1.0.3");      // duplicate
  registry_->Set("team/app", tags);
  StartModule();
  Apply("app", "registry.local:5000/team/app");

  ASSERT_TRUE(Eventually([&] {
    return !Get("app").status().last_scan_result().revision().empty();
  }));
  v1::ImageRepository object = Get("app");
  std::string reason;
  EXPECT_EQ(ReadyMessage(object, &reason),
            "True: successful scan: found 12 tags");
  EXPECT_EQ(reason, "Succeeded");
  EXPECT_EQ(object.status().canonical_image_name(),
            "registry.local:5000/team/app");
  EXPECT_EQ(object.status().last_scan_result().tag_count(), 12);
  EXPECT_THAT(object.status().last_scan_result().latest_tags(),
              ElementsAre("1.0.9", "1.0.8", "1.0.7", "1.0.6", "1.0.5", "1.0.4",
                          "1.0.3", "1.0.2", "1.0.11", "1.0.10"));
  EXPECT_THAT(object.status().observed_exclusion_list(),
              ElementsAre("^.*\\.sig$"));
  EXPECT_EQ(object.status().observed_generation(),
            object.metadata().generation());
  EXPECT_EQ(StoredTags("app").size(), 12u);
}

TEST_F(ReflectorModuleTest, ScansOnlyWhenDueAndOnRequest) {
  registry_->Set("team/app", {"1.0.0"});
  StartModule();
  Apply("app", "registry.local/team/app", "10m");
  ASSERT_TRUE(Eventually([&] { return registry_->scans("team/app") == 1; }));

  const absl::Time first = host_.clock().Now();

  // Scanned again once the interval has passed, never before.
  registry_->Set("team/app", {"1.0.0", "1.1.0"});
  const absl::Time second = AdvanceUntil(
      absl::Seconds(30), [&] { return registry_->scans("team/app") == 2; });
  EXPECT_GE(second - first, absl::Minutes(10));
  ASSERT_TRUE(Eventually([&] { return StoredTags("app").size() == 2; }));

  // `imagectl reconcile` scans at once.
  grpc::ClientContext context;
  v1::ObjectKey key;
  key.set_namespace_("flux-system");
  key.set_name("app");
  v1::ReconcileResponse response;
  ASSERT_TRUE(stub_->ReconcileImageRepository(&context, key, &response).ok());
  ASSERT_TRUE(Eventually([&] { return registry_->scans("team/app") == 3; }));
}

TEST_F(ReflectorModuleTest, RestartServesStoredTagsWithoutRescanning) {
  registry_->Set("team/app", {"1.0.0", "2.0.0"});
  StartModule();
  Apply("app", "registry.local/team/app", "1h");
  // The tag set is stored before the status records the scan: wait for both.
  ASSERT_TRUE(Eventually([&] {
    return StoredTags("app").size() == 2 &&
           !Get("app").status().last_scan_result().revision().empty();
  }));
  const std::string revision =
      Get("app").status().last_scan_result().revision();
  StopModule();

  auto fresh = std::make_shared<MemoryRegistry>();
  registry_ = fresh;
  StartModule();
  // The stream's snapshot has the stored set at once.
  grpc::ClientContext context;
  auto stream = stub_->WatchTagSets(&context, v1::WatchTagSetsRequest());
  v1::TagSetEvent event;
  ASSERT_TRUE(stream->Read(&event));
  EXPECT_EQ(event.type(), v1::TagSetEvent::SNAPSHOT);
  EXPECT_EQ(event.tag_set().revision(), revision);
  EXPECT_EQ(event.tag_set().tags_size(), 2);
  EXPECT_EQ(event.tag_set().image(), "registry.local/team/app");
  context.TryCancel();
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(fresh->scans("team/app"), 0);
}

TEST_F(ReflectorModuleTest, FirstSeenIsKeptAcrossScans) {
  registry_->Set("team/app", {"1.0.0"});
  StartModule();
  Apply("app", "registry.local/team/app", "1m");
  ASSERT_TRUE(Eventually([&] { return StoredTags("app").size() == 1; }));
  const absl::Time first = host_.clock().Now();
  registry_->Set("team/app", {"1.0.0", "1.1.0"});
  AdvanceUntil(absl::Seconds(30),
               [&] { return StoredTags("app").size() == 2; });

  v1::ListTagsRequest request;
  request.mutable_repository()->set_name("app");
  request.mutable_repository()->set_namespace_("flux-system");
  grpc::ClientContext context;
  v1::ListTagsResponse response;
  ASSERT_TRUE(stub_->ListTags(&context, request, &response).ok());
  ASSERT_EQ(response.tags_size(), 2);
  EXPECT_EQ(response.tags(0).first_seen().seconds(),
            absl::ToUnixSeconds(first));
  EXPECT_GT(response.tags(1).first_seen().seconds(),
            absl::ToUnixSeconds(first));
}

TEST_F(ReflectorModuleTest, FailedScanKeepsTagsAndSaysWhy) {
  registry_->Set("team/app", {"1.0.0", "1.1.0"});
  registry_->Set("team/other", {"3.0.0"});
  StartModule();
  Apply("app", "registry.local/team/app", "1m");
  Apply("other", "registry.local/team/other", "1m");
  ASSERT_TRUE(Eventually([&] { return StoredTags("app").size() == 2; }));

  registry_->Fail("team/app",
                  absl::UnauthenticatedError(
                      "authentication failed for registry.local/team/app"));
  std::string reason;
  AdvanceUntil(absl::Seconds(30), [&] {
    return ReadyMessage(Get("app"), &reason).rfind("False:", 0) == 0;
  });
  EXPECT_EQ(reason, "AuthenticationFailed");
  EXPECT_THAT(ReadyMessage(Get("app")), HasSubstr("authentication failed"));
  EXPECT_EQ(StoredTags("app").size(), 2u);
  EXPECT_EQ(Get("app").status().last_scan_result().tag_count(), 2);

  registry_->Fail("team/app", absl::DataLossError("malformed reply"));
  AdvanceUntil(absl::Seconds(30), [&] {
    ReadyMessage(Get("app"), &reason);
    return reason == "ReadOperationFailed";
  });
  // The other repository is unaffected.
  EXPECT_EQ(ReadyMessage(Get("other")), "True: successful scan: found 1 tags");
}

TEST_F(ReflectorModuleTest, MissingSecretIsAuthenticationFailed) {
  registry_->Set("team/app", {"1.0.0"});
  StartModule();
  Apply("app", "registry.local/team/app", "1m",
        [](v1::ImageRepositorySpec* spec) {
          spec->mutable_secret_ref()->set_name("regcred");
        });
  std::string reason;
  ASSERT_TRUE(Eventually([&] {
    return !ReadyMessage(Get("app"), &reason).empty() &&
           reason != "Progressing";
  }));
  EXPECT_EQ(reason, "AuthenticationFailed");
  EXPECT_THAT(ReadyMessage(Get("app")), HasSubstr("spec.secretRef"));
  EXPECT_THAT(ReadyMessage(Get("app")), HasSubstr("regcred"));
  EXPECT_EQ(registry_->scans("team/app"), 0);
}

TEST_F(ReflectorModuleTest, DockerConfigCredentialsReachTheClient) {
  registry_->Set("team/app", {"1.0.0"});
  dir_.WriteFile(
      "secrets/flux-system/regcred/.dockerconfigjson",
      R"({"auths":{"registry.local":{"username":"u","password":"p"}}})");
  StartModule();
  Apply("app", "registry.local/team/app", "1m",
        [](v1::ImageRepositorySpec* spec) {
          spec->set_timeout("20s");
          spec->mutable_secret_ref()->set_name("regcred");
        });
  ASSERT_TRUE(Eventually([&] { return registry_->scans("team/app") == 1; }));
  RegistryOptions options = registry_->last_options();
  ASSERT_TRUE(options.credentials.has_value());
  EXPECT_EQ(options.credentials->username, "u");
  EXPECT_EQ(options.credentials->password, "p");
  EXPECT_EQ(options.timeout, absl::Seconds(20));
}

TEST_F(ReflectorModuleTest, PushNotificationAddsTagAtOnceAndStreamsIt) {
  registry_->Set("team/app", {"1.0.0"});
  StartModule();
  Apply("app", "registry.local:5000/team/app", "1h");
  // Status is written after the tag set is stored and published.
  ASSERT_TRUE(Eventually(
      [&] { return Get("app").status().last_scan_result().tag_count() == 1; }));

  grpc::ClientContext context;
  // A push that never arrives fails the Read below instead of hanging.
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  auto stream = stub_->WatchTagSets(&context, v1::WatchTagSetsRequest());
  v1::TagSetEvent event;
  ASSERT_TRUE(stream->Read(&event));  // snapshot
  ASSERT_TRUE(stream->Read(&event));
  ASSERT_EQ(event.type(), v1::TagSetEvent::SNAPSHOT_END);

  // Docker distribution's envelope, as its notifications endpoint posts it.
  auto result = Post(R"({"events":[
    {"id":"1","action":"pull","target":{"repository":"team/app","tag":"1.0.0"}},
    {"id":"2","action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json",
      "repository":"team/app","tag":"1.3.0","digest":"sha256:00"},
     "request":{"host":"registry.local:5000","method":"PUT"}}]})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 202) << result->body;
  // A registry is answered at once, so the push is still pending then.
  EXPECT_THAT(result->body,
              HasSubstr(R"("pending":["flux-system/app:1.3.0"])"));

  // The outcome: the tag set with the pushed tag, streamed.
  ASSERT_TRUE(stream->Read(&event));
  EXPECT_EQ(event.type(), v1::TagSetEvent::UPDATED);
  ASSERT_EQ(event.tag_set().tags_size(), 2);
  EXPECT_EQ(event.tag_set().tags(1).name(), "1.3.0");
  // Status is written after the set is stored and streamed.
  EXPECT_TRUE(Eventually(
      [&] { return Get("app").status().last_scan_result().tag_count() == 2; }));
  EXPECT_EQ(registry_->scans("team/app"), 1);  // no scan was needed

  // A confirming scan follows; the registry knows the tag by now.
  registry_->Set("team/app", {"1.0.0", "1.3.0"});
  const absl::Time pushed = host_.clock().Now();
  const absl::Time confirmed = AdvanceUntil(
      absl::Seconds(1), [&] { return registry_->scans("team/app") == 2; });
  EXPECT_LT(confirmed - pushed,
            absl::Minutes(1));  // long before the 1h interval
  EXPECT_EQ(StoredTags("app").size(), 2u);
  context.TryCancel();
}

TEST_F(ReflectorModuleTest, GenericPushFormAndItsErrors) {
  registry_->Set("team/app", {"1.0.0"});
  StartModule("s3cret");
  Apply("app", "registry.local/team/app", "1h");
  ASSERT_TRUE(Eventually([&] { return StoredTags("app").size() == 1; }));

  // Without the token: refused, nothing changes.
  auto result = Post(R"({"image":"registry.local/team/app","tag":"1.2.0"})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 401);
  result =
      Post(R"({"image":"registry.local/team/app","tag":"1.2.0"})", "wrong");
  EXPECT_EQ(result->status, 401);

  result = Post(R"({"image":"registry.local/team/app",)", "s3cret");
  EXPECT_EQ(result->status, 400);
  EXPECT_THAT(result->body, HasSubstr("not valid JSON"));
  result =
      Post(R"({"image":"registry.local/team/app","tag":"bad tag!"})", "s3cret");
  EXPECT_EQ(result->status, 400);
  EXPECT_THAT(result->body, HasSubstr("tag"));
  result = Post(R"({"image":"registry.local/team/unknown","tag":"1.2.0"})",
                "s3cret");
  EXPECT_EQ(result->status, 404);
  // Excluded by the default exclusionList: accepted, not recorded.
  result = Post(R"({"image":"registry.local/team/app","tag":"1.2.0.sig"})",
                "s3cret");
  EXPECT_EQ(result->status, 202);
  EXPECT_THAT(result->body, HasSubstr(R"("updated":[])"));
  EXPECT_THAT(result->body, HasSubstr(R"("pending":[])"));
  EXPECT_THAT(StoredTags("app"), ElementsAre("1.0.0"));

  result =
      Post(R"({"image":"registry.local/team/app","tag":"1.2.0"})", "s3cret");
  EXPECT_EQ(result->status, 202) << result->body;
  // Updated, or pending if the machine is slow: either way it is stored.
  EXPECT_THAT(result->body, HasSubstr("flux-system/app:1.2.0"));
  ASSERT_TRUE(Eventually([&] {
    return StoredTags("app") == std::vector<std::string>{"1.0.0", "1.2.0"};
  }));
}

TEST_F(ReflectorModuleTest, APushDoesNotWaitForAScanInFlight) {
  registry_->Set("team/app", {"1.0.0"});
  StartModule();
  Apply("app", "registry.local/team/app", "1h");
  ASSERT_TRUE(Eventually(
      [&] { return Get("app").status().last_scan_result().tag_count() == 1; }));

  // A scan that stays in flight (a slow registry, up to spec.timeout).
  registry_->Hold("team/app");
  grpc::ClientContext context;
  v1::ObjectKey key;
  key.set_namespace_("flux-system");
  key.set_name("app");
  v1::ReconcileResponse response;
  ASSERT_TRUE(stub_->ReconcileImageRepository(&context, key, &response).ok());
  ASSERT_TRUE(Eventually([&] { return registry_->Waiting("team/app"); }));

  auto result = Post(R"({"image":"registry.local/team/app","tag":"1.3.0"})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 202) << result->body;
  const bool stored = Eventually([&] {
    return StoredTags("app") == std::vector<std::string>{"1.0.0", "1.3.0"};
  });
  EXPECT_TRUE(registry_->Waiting("team/app"));
  registry_->Release("team/app");
  ASSERT_TRUE(stored) << "the push waited for the scan";

  // The scan's listing lacks the pushed tag; its merge keeps it. (Its
  // status, written after its tag set, marks the request handled.)
  ASSERT_TRUE(Eventually([&] {
    return !Get("app").status().last_handled_reconcile_at().empty();
  }));
  EXPECT_EQ(registry_->scans("team/app"), 2);
  EXPECT_THAT(StoredTags("app"), ElementsAre("1.0.0", "1.3.0"));
  EXPECT_EQ(Get("app").status().last_scan_result().tag_count(), 2);
}

TEST_F(ReflectorModuleTest, DeleteRemovesTagSet) {
  registry_->Set("team/app", {"1.0.0"});
  StartModule();
  Apply("app", "registry.local/team/app", "1h");
  ASSERT_TRUE(Eventually([&] { return StoredTags("app").size() == 1; }));
  grpc::ClientContext context;
  v1::ObjectKey key;
  key.set_namespace_("flux-system");
  key.set_name("app");
  v1::DeleteResponse response;
  ASSERT_TRUE(stub_->DeleteImageRepository(&context, key, &response).ok());
  ASSERT_TRUE(Eventually([&] {
    auto stored = host_.store().Get(kTagSetBucket, "flux-system/app");
    return stored.ok() && !stored->has_value();
  }));
}

TEST_F(ReflectorModuleTest,
       GetTagDigestAsksTheRegistryWithTheRepositorysSettings) {
  registry_->Set("team/app", {"1.0.0"});
  StartModule();
  Apply("app", "registry.local/team/app", "1h");
  auto digest = [&](const std::string& name, const std::string& tag,
                    v1::GetTagDigestResponse* response) {
    v1::GetTagDigestRequest request;
    request.mutable_repository()->set_namespace_("flux-system");
    request.mutable_repository()->set_name(name);
    request.set_tag(tag);
    grpc::ClientContext context;
    return stub_->GetTagDigest(&context, request, response);
  };
  v1::GetTagDigestResponse response;
  grpc::Status status = digest("app", "1.0.0", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.digest(), "sha256:team/app:1.0.0");
  EXPECT_EQ(digest("app", "9.9.9", &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(digest("nope", "1.0.0", &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
  registry_->Fail("team/app",
                  absl::UnauthenticatedError("authentication failed"));
  EXPECT_EQ(digest("app", "1.0.0", &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace
}  // namespace ia::reflector
