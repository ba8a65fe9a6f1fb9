// The image-reflector binary against Debian's real docker-registry on
// loopback, with htpasswd auth and the registry's push notifications posted
// to the reflector's webhook: a scan through a .dockerconfigjson secret
// (Flux's status, the default .sig exclusion), a push that reaches
// WatchTagSets through the notification long before the 1h interval, a
// restart that serves the stored tag set without scanning, a wrong password
// that fails with AuthenticationFailed and keeps the last good tags, and
// imagectl's table; and a registry outage during a stream of pushes.
#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/objects.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "imageautomation/v1/reflector.grpc.pb.h"
#include "tests/support/docker_registry.h"
#include "tests/support/harness.h"
#include "tests/support/objects.h"

namespace ia::testing {
namespace {

namespace v1 = ::imageautomation::v1;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kUser[] = "ci";
constexpr char kPassword[] = "Corr3ct-horse-battery";
constexpr char kRepositoryPath[] = "team/app";

// Lines of a JSON-lines log that contain every one of `parts`.
int CountLines(const std::string& log, const std::vector<std::string>& parts) {
  int count = 0;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    bool all = true;
    for (const std::string& part : parts)
      all = all && absl::StrContains(line, part);
    if (all) ++count;
  }
  return count;
}

class ReflectorRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The registry needs the webhook's URL before it starts, so the
    // reflector's HTTP port is chosen first.
    http_port_ = FreePort();
    const std::string webhook_host = absl::StrCat("127.0.0.1:", http_port_);
    DockerRegistryOptions options;
    options.user = {{kUser, kPassword}};
    options.notification_urls = {
        absl::StrCat("http://", webhook_host, "/v1/registry-events")};
    registry_ = std::make_unique<DockerRegistry>(options);
    absl::Status started = registry_->Start();
    ASSERT_TRUE(started.ok()) << started;
    ASSERT_NE(registry_->host(), webhook_host)
        << "the registry took the port chosen for the webhook; run again";
    push_.user = options.user;
    image_ = absl::StrCat(registry_->host(), "/", kRepositoryPath);
    WriteSecret(kPassword);

    do {
      reflector_ = std::make_unique<Service>(
          ServiceOptions{
              IA_REFLECTOR_BIN,
              dir_.Join("data"),
              {"--http-listen=" + webhook_host,
               "--secrets-dir=" + dir_.Join("secrets"), "--log-level=debug"}},
          dir_.Join("reflector.log"));
    } while (reflector_->address() == webhook_host);
    started = reflector_->Start();
    ASSERT_TRUE(started.ok()) << started;
    stub_ = v1::Reflector::NewStub(reflector_->Channel());
  }

  void TearDown() override {
    if (HasFailure()) {
      if (reflector_ != nullptr)
        std::cerr << "--- reflector log:\n" << reflector_->Log();
      if (registry_ != nullptr)
        std::cerr << "--- registry log:\n" << registry_->Log();
    }
  }

  // flux-system/regcred/.dockerconfigjson for the registry, as Kubernetes
  // mounts a kubernetes.io/dockerconfigjson secret.
  void WriteSecret(const std::string& password) {
    dir_.WriteFile(
        "secrets/flux-system/regcred/.dockerconfigjson",
        absl::StrCat(R"({"auths":{")", registry_->host(), R"(":{"auth":")",
                     absl::Base64Escape(absl::StrCat(kUser, ":", password)),
                     R"("}}})"));
  }

  // Pushes `tags` of one image to team/app; notifications go out for each.
  void Push(const std::vector<std::string>& tags, const std::string& variant) {
    PushOptions options = push_;
    options.variant = variant;
    absl::StatusOr<std::string> digest =
        PushImageTags(registry_->url(), kRepositoryPath, tags, options);
    ASSERT_TRUE(digest.ok()) << digest.status();
  }

  // Pushes `tags` before the ImageRepository exists and waits until the
  // reflector has had the registry's notification of each (unmatched), so
  // that no late notification races the first scan.
  void PushBeforeApply(const std::vector<std::string>& tags,
                       const std::string& variant) {
    Push(tags, variant);
    for (const std::string& tag : tags) {
      // In the log line's "unmatched" list, a JSON array inside a string.
      const std::string entry = absl::StrCat(kRepositoryPath, ":", tag, "\\\"");
      ASSERT_TRUE(Eventually([&] {
        return CountLines(reflector_->Log(),
                          {R"("msg":"registry events")", entry}) > 0;
      })) << "no notification of "
          << tag;
    }
  }

  static v1::ObjectKey Key() {
    v1::ObjectKey key;
    key.set_namespace_("flux-system");
    key.set_name("app");
    return key;
  }

  static std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(60));
    return context;
  }

  // Applies flux-system/app for team/app with secretRef regcred, over HTTP
  // (insecure), scanned every hour.
  void Apply() {
    v1::ApplyImageRepositoryRequest request;
    v1::ImageRepository* object = request.mutable_object();
    *object = TestRepository("app", image_, "1h");
    object->mutable_spec()->set_insecure(true);
    object->mutable_spec()->mutable_secret_ref()->set_name("regcred");
    v1::ApplyImageRepositoryResponse response;
    grpc::Status status =
        stub_->ApplyImageRepository(Context().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  v1::ImageRepository Get() {
    v1::ImageRepository got;
    grpc::Status status =
        stub_->GetImageRepository(Context().get(), Key(), &got);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return got;
  }

  // The Ready condition once it is True or False (not Unknown).
  v1::Condition WaitReady() {
    v1::Condition ready;
    EXPECT_TRUE(Eventually([&] {
      const v1::ImageRepository got = Get();
      const v1::Condition* c = FindCondition(got.status().conditions(), kReady);
      if (c == nullptr || c->status() == kUnknown) return false;
      ready = *c;
      return true;
    })) << "Ready never became True or False";
    return ready;
  }

  std::vector<std::string> StoredTags() {
    v1::ListTagsRequest request;
    *request.mutable_repository() = Key();
    v1::ListTagsResponse response;
    grpc::Status status = stub_->ListTags(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::string> tags;
    for (const v1::Tag& tag : response.tags()) tags.push_back(tag.name());
    return tags;
  }

  // tags/list requests for team/app in the registry's request log.
  int RegistryTagListRequests() {
    return CountLines(registry_->Log(),
                      {absl::StrCat("/v2/", kRepositoryPath, "/tags/list")});
  }

  static int Scans(const std::string& log) {
    return CountLines(log,
                      {R"("msg":"scanned")", R"("name":"flux-system/app")"});
  }

  TempDir dir_;
  int http_port_ = 0;
  std::unique_ptr<DockerRegistry> registry_;
  PushOptions push_;
  std::string image_;
  std::unique_ptr<Service> reflector_;
  std::unique_ptr<v1::Reflector::Stub> stub_;
};

TEST_F(ReflectorRegistryTest,
       ScansFollowsPushNotificationsAndRestartsWithoutRescan) {
  std::vector<std::string> tags;
  for (int i = 0; i < 12; ++i) tags.push_back(absl::StrCat("1.", i, ".0"));
  PushBeforeApply(tags, "one");
  // A cosign signature tag: excluded by the default exclusionList.
  PushBeforeApply({"sha256-0123456789abcdef.sig"}, "signature");
  Apply();

  const v1::Condition ready = WaitReady();
  EXPECT_EQ(ready.status(), kTrue) << ready.reason() << ": " << ready.message();
  EXPECT_EQ(ready.message(), "successful scan: found 12 tags");
  v1::ImageRepository repository = Get();
  EXPECT_EQ(repository.status().canonical_image_name(), image_);
  const v1::ScanResult scan = repository.status().last_scan_result();
  EXPECT_EQ(scan.tag_count(), 12);
  EXPECT_FALSE(scan.revision().empty());
  std::vector<std::string> latest = tags;
  std::sort(latest.rbegin(), latest.rend());
  latest.resize(10);
  EXPECT_THAT(scan.latest_tags(), ElementsAreArray(latest));
  std::vector<std::string> sorted = tags;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_THAT(StoredTags(), ElementsAreArray(sorted));
  EXPECT_EQ(Scans(reflector_->Log()), 1);

  // A push after the first scan arrives by the registry's notification:
  // with a 1h interval nothing else can explain the UPDATED event.
  auto watch_context = Context();
  auto stream =
      stub_->WatchTagSets(watch_context.get(), v1::WatchTagSetsRequest());
  v1::TagSetEvent event;
  ASSERT_TRUE(stream->Read(&event));
  ASSERT_EQ(event.type(), v1::TagSetEvent::SNAPSHOT);
  EXPECT_EQ(event.tag_set().tags_size(), 12);
  ASSERT_TRUE(stream->Read(&event));
  ASSERT_EQ(event.type(), v1::TagSetEvent::SNAPSHOT_END);

  Push({"1.12.0"}, "two");
  bool seen = false;
  while (!seen && stream->Read(&event)) {
    ASSERT_EQ(event.type(), v1::TagSetEvent::UPDATED);
    for (const v1::Tag& tag : event.tag_set().tags())
      seen = seen || tag.name() == "1.12.0";
  }
  ASSERT_TRUE(seen) << "the stream ended without the pushed tag";
  EXPECT_EQ(event.tag_set().tags_size(), 13);
  // The webhook added it (a scan adds tags without this log line, which is
  // written once the whole notification is handled).
  EXPECT_TRUE(Eventually([&] {
    return CountLines(reflector_->Log(), {R"("msg":"registry events")",
                                          "flux-system/app:1.12.0"}) == 1;
  })) << "no registry event added 1.12.0";
  watch_context->TryCancel();
  stream->Finish();
  ASSERT_TRUE(Eventually(
      [&] { return Get().status().last_scan_result().tag_count() == 13; }));

  // The confirming scan the notification asked for agrees.
  ASSERT_TRUE(Eventually([&] { return Scans(reflector_->Log()) == 2; }));
  ASSERT_TRUE(Eventually([&] {
    const v1::ImageRepository got = Get();
    const v1::Condition* c = FindCondition(got.status().conditions(), kReady);
    return c != nullptr && c->message() == "successful scan: found 13 tags";
  }));
  repository = Get();
  const std::string revision =
      repository.status().last_scan_result().revision();
  EXPECT_NE(revision, scan.revision());

  // Restarted, it serves the stored set at once and does not scan: its
  // first reconcile of the repository finds it not due.
  const int registry_requests = RegistryTagListRequests();
  ASSERT_EQ(reflector_->Terminate(), 0) << reflector_->Log();
  const size_t log_before = reflector_->Log().size();
  ASSERT_TRUE(reflector_->Start().ok()) << reflector_->Log();
  stub_ = v1::Reflector::NewStub(reflector_->Channel());
  watch_context = Context();
  stream = stub_->WatchTagSets(watch_context.get(), v1::WatchTagSetsRequest());
  ASSERT_TRUE(stream->Read(&event));
  ASSERT_EQ(event.type(), v1::TagSetEvent::SNAPSHOT);
  EXPECT_EQ(event.tag_set().revision(), revision);
  EXPECT_EQ(event.tag_set().tags_size(), 13);
  watch_context->TryCancel();
  stream->Finish();
  ASSERT_TRUE(Eventually([&] {
    return CountLines(
               reflector_->Log().substr(log_before),
               {R"("msg":"reconciled")", R"("name":"flux-system/app")"}) >= 1;
  }));
  EXPECT_EQ(Scans(reflector_->Log().substr(log_before)), 0);
  EXPECT_EQ(RegistryTagListRequests(), registry_requests);
  EXPECT_EQ(Get().status().last_scan_result().revision(), revision);

  // imagectl's table shows the repository with its tag count.
  CommandResult table = RunCommand(
      IA_IMAGECTL_BIN,
      {"--reflector=" + reflector_->address(), "get", "image", "repository"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("app"));
  EXPECT_THAT(table.out, HasSubstr("successful scan: found 13 tags"));
}

TEST_F(ReflectorRegistryTest, WrongPasswordFailsAuthenticationAndKeepsTheTags) {
  PushBeforeApply({"1.0.0", "1.1.0"}, "one");
  Apply();
  v1::Condition ready = WaitReady();
  ASSERT_EQ(ready.status(), kTrue) << ready.reason() << ": " << ready.message();
  const v1::ScanResult good = Get().status().last_scan_result();
  ASSERT_EQ(good.tag_count(), 2);
  const int requests = RegistryTagListRequests();

  WriteSecret("wrong-password");
  v1::ReconcileResponse reconciled;
  grpc::Status status =
      stub_->ReconcileImageRepository(Context().get(), Key(), &reconciled);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_TRUE(Eventually([&] {
    const v1::ImageRepository got = Get();
    const v1::Condition* c = FindCondition(got.status().conditions(), kReady);
    return c != nullptr && c->status() == kFalse;
  }));
  v1::ImageRepository repository = Get();
  ready = *FindCondition(repository.status().conditions(), kReady);
  EXPECT_EQ(ready.reason(), "AuthenticationFailed") << ready.message();
  EXPECT_THAT(ready.message(), Not(HasSubstr("wrong-password")));
  // The registry was asked (and refused): the failure is not a local one.
  EXPECT_GT(RegistryTagListRequests(), requests);
  // The last good scan stays, in status and in the stored tag set.
  EXPECT_EQ(repository.status().last_scan_result().revision(), good.revision());
  EXPECT_EQ(repository.status().last_scan_result().tag_count(), 2);
  EXPECT_THAT(StoredTags(), ElementsAreArray({"1.0.0", "1.1.0"}));
  const std::string encoded =
      absl::Base64Escape(absl::StrCat(kUser, ":wrong-password"));
  EXPECT_THAT(ready.message(), Not(HasSubstr(encoded)));
  EXPECT_THAT(reflector_->Log(), Not(HasSubstr("wrong-password")));
  EXPECT_THAT(reflector_->Log(), Not(HasSubstr(encoded)));
}

// The registry goes down during a stream of pushes, right after the
// reflector had their notifications and before their confirming scan (due
// 5 s later): that scan fails (Ready False) and keeps every tag; the
// registry comes back on the same port and storage, the stream goes on,
// and the reflector recovers by itself with every pushed tag stored.
TEST_F(ReflectorRegistryTest, RegistryOutageDuringPushesLosesNoTag) {
  PushBeforeApply({"1.0.0"}, "one");
  Apply();
  ASSERT_EQ(WaitReady().status(), kTrue);
  std::vector<std::string> pushed = {"1.0.0"};
  auto push_and_wait = [&](const std::string& tag) {
    Push({tag}, "one");
    pushed.push_back(tag);
    EXPECT_TRUE(Eventually([&] {
      const std::vector<std::string> stored = StoredTags();
      return std::find(stored.begin(), stored.end(), tag) != stored.end();
    })) << tag
        << " never stored";
  };
  for (int i = 0; i < 3; ++i) push_and_wait(absl::StrCat("2.0.", i));

  registry_->Stop();
  ASSERT_TRUE(Eventually([&] {
    const v1::ImageRepository got = Get();
    const v1::Condition* c = FindCondition(got.status().conditions(), kReady);
    return c != nullptr && c->status() == kFalse;
  })) << "the confirming scan did not fail while the registry was down";
  std::vector<std::string> sorted = pushed;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_THAT(StoredTags(), ElementsAreArray(sorted))
      << "a failed scan dropped tags";

  ASSERT_TRUE(registry_->Start().ok()) << registry_->Log();
  for (int i = 3; i < 6; ++i) push_and_wait(absl::StrCat("2.0.", i));
  sorted = pushed;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_TRUE(Eventually([&] {
    const v1::ImageRepository got = Get();
    const v1::Condition* c = FindCondition(got.status().conditions(), kReady);
    return c != nullptr && c->status() == kTrue;
  })) << "no good scan after the registry came back";
  EXPECT_THAT(StoredTags(), ElementsAreArray(sorted));
  EXPECT_EQ(Get().status().last_scan_result().tag_count(), 7);
}

}  // namespace
}  // namespace ia::testing
