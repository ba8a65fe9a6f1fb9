// The streams and the HTTP side of the real services: WatchTagSets serves
// the stored tag sets as a snapshot and a deleted repository's removal,
// ListTags pages through them, WatchSelections starts with its snapshot
// end, health Watch follows SIGTERM, streams end promptly on SIGTERM, and
// /healthz answers.

#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "imageautomation/v1/automation.grpc.pb.h"
#include "imageautomation/v1/policy.grpc.pb.h"
#include "imageautomation/v1/reflector.grpc.pb.h"
#include "tests/support/harness.h"

namespace ia::testing {
namespace {

namespace v1 = ::imageautomation::v1;
using ::testing::HasSubstr;

TEST(Streams, WatchTagSetsServesStoredTagSetsAndEndsOnSigterm) {
  TempDir dir;
  std::vector<std::string> tags;
  for (int i = 0; i < 2500; ++i) tags.push_back(absl::StrCat("1.0.", 1000 + i));
  ASSERT_TRUE(SeedReflectorStore(dir.Join("data"), tags).ok());
  Service service(ServiceOptions{IA_REFLECTOR_BIN, dir.Join("data"), {}},
                  dir.Join("reflector.log"));
  ASSERT_TRUE(service.Start().ok()) << service.Log();
  auto stub = v1::Reflector::NewStub(service.Channel());

  grpc::ClientContext context;
  auto stream = stub->WatchTagSets(&context, v1::WatchTagSetsRequest());
  v1::TagSetEvent event;
  ASSERT_TRUE(stream->Read(&event));
  EXPECT_EQ(event.type(), v1::TagSetEvent::SNAPSHOT);
  EXPECT_EQ(event.tag_set().repository().name(), "app");
  EXPECT_EQ(event.tag_set().revision(), "rev-1");
  EXPECT_EQ(event.tag_set().tags_size(), 2500);
  ASSERT_TRUE(stream->Read(&event));
  EXPECT_EQ(event.type(), v1::TagSetEvent::SNAPSHOT_END);

  // ListTags pages through the same set.
  std::vector<std::string> names;
  std::string token;
  int pages = 0;
  do {
    v1::ListTagsRequest request;
    request.mutable_repository()->set_name("app");
    request.set_page_size(1000);
    request.set_page_token(token);
    v1::ListTagsResponse response;
    grpc::ClientContext c;
    ASSERT_TRUE(stub->ListTags(&c, request, &response).ok());
    EXPECT_EQ(response.total(), 2500);
    EXPECT_EQ(response.revision(), "rev-1");
    for (const auto& tag : response.tags()) names.push_back(tag.name());
    token = response.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(names.size(), 2500u);
  EXPECT_EQ(names.front(), "1.0.1000");
  EXPECT_EQ(names.back(), "1.0.3499");

  // SIGTERM ends the open stream at once with UNAVAILABLE, and the
  // service stops without waiting out its grace period.
  const absl::Time before = absl::Now();
  std::thread stopper([&] { EXPECT_EQ(service.Terminate(), 0); });
  while (stream->Read(&event)) {
  }
  grpc::Status status = stream->Finish();
  stopper.join();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
  EXPECT_LT(absl::Now() - before, absl::Seconds(8));
}

TEST(Streams, DeletingARepositoryDropsItsTagSetForSubscribers) {
  TempDir dir;
  ASSERT_TRUE(SeedReflectorStore(dir.Join("data"), {"1.0.0", "1.1.0"}).ok());
  Service service(ServiceOptions{IA_REFLECTOR_BIN, dir.Join("data"), {}},
                  dir.Join("reflector.log"));
  ASSERT_TRUE(service.Start().ok()) << service.Log();
  auto stub = v1::Reflector::NewStub(service.Channel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  auto stream = stub->WatchTagSets(&context, v1::WatchTagSetsRequest());
  v1::TagSetEvent event;
  ASSERT_TRUE(stream->Read(&event));
  EXPECT_EQ(event.type(), v1::TagSetEvent::SNAPSHOT);
  ASSERT_TRUE(stream->Read(&event));
  EXPECT_EQ(event.type(), v1::TagSetEvent::SNAPSHOT_END);

  v1::ObjectKey key;
  key.set_name("app");
  v1::DeleteResponse deleted;
  grpc::ClientContext c;
  ASSERT_TRUE(stub->DeleteImageRepository(&c, key, &deleted).ok());
  ASSERT_TRUE(stream->Read(&event));
  EXPECT_EQ(event.type(), v1::TagSetEvent::DELETED);
  EXPECT_EQ(event.tag_set().repository().name(), "app");
  EXPECT_EQ(event.tag_set().tags_size(), 0);
  context.TryCancel();

  // Gone for good: a restart serves no tag set for it.
  ASSERT_EQ(service.Terminate(), 0);
  ASSERT_TRUE(service.Start().ok());
  stub = v1::Reflector::NewStub(service.Channel());
  grpc::ClientContext again;
  auto restarted = stub->WatchTagSets(&again, v1::WatchTagSetsRequest());
  ASSERT_TRUE(restarted->Read(&event));
  EXPECT_EQ(event.type(), v1::TagSetEvent::SNAPSHOT_END);
  again.TryCancel();
}

TEST(Streams, HealthWatchReportsServingThenNotServingOnSigterm) {
  TempDir dir;
  Service service(ServiceOptions{IA_AUTOMATION_BIN, dir.Join("data"), {}},
                  dir.Join("automation.log"));
  ASSERT_TRUE(service.Start().ok()) << service.Log();
  auto stub = grpc::health::v1::Health::NewStub(service.Channel());
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckRequest request;
  request.set_service("imageautomation.v1.Automation");
  auto stream = stub->Watch(&context, request);
  grpc::health::v1::HealthCheckResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  std::thread stopper([&] { EXPECT_EQ(service.Terminate(), 0); });
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.status(),
            grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  while (stream->Read(&response)) {
  }
  stream->Finish();
  stopper.join();
}

TEST(Streams, WatchSelectionsStartsWithTheSnapshotEnd) {
  TempDir dir;
  Service service(ServiceOptions{IA_POLICY_BIN, dir.Join("data"), {}},
                  dir.Join("policy.log"));
  ASSERT_TRUE(service.Start().ok()) << service.Log();
  auto stub = v1::Policy::NewStub(service.Channel());
  grpc::ClientContext context;
  auto stream = stub->WatchSelections(&context, v1::WatchSelectionsRequest());
  v1::SelectionEvent event;
  ASSERT_TRUE(stream->Read(&event));
  EXPECT_EQ(event.type(), v1::SelectionEvent::SNAPSHOT_END);
  EXPECT_EQ(event.sequence(), 1u);
  context.TryCancel();
}

TEST(Http, HealthEndpointsAnswer) {
  TempDir dir;
  const int port = FreePort();
  Service service(
      ServiceOptions{IA_AUTOMATION_BIN,
                     dir.Join("data"),
                     {absl::StrCat("--http-listen=127.0.0.1:", port)}},
      dir.Join("automation.log"));
  ASSERT_TRUE(service.Start().ok()) << service.Log();
  HttpReply reply;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (reply.status == 0 && absl::Now() < deadline)
    reply = HttpGet(port, "/healthz");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(HttpGet(port, "/readyz").status, 200);
  EXPECT_EQ(HttpGet(port, "/nope").status, 404);
}

// From SIGTERM on, /readyz answers 503 (the kubelet's readiness probe)
// while the service drains: here an open PublishSelections stream keeps the
// gRPC server draining until the client goes or --shutdown-grace passes.
TEST(Http, ReadyzIs503WhileTheServiceStops) {
  TempDir dir;
  const int port = FreePort();
  Service service(
      ServiceOptions{IA_AUTOMATION_BIN,
                     dir.Join("data"),
                     {absl::StrCat("--http-listen=127.0.0.1:", port),
                      "--shutdown-grace=20s"}},
      dir.Join("automation.log"));
  ASSERT_TRUE(service.Start().ok()) << service.Log();
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (HttpGet(port, "/readyz").status != 200 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(HttpGet(port, "/readyz").status, 200);

  auto stub = v1::Automation::NewStub(service.Channel());
  grpc::ClientContext context;
  auto stream = stub->PublishSelections(&context);
  deadline = absl::Now() + absl::Seconds(10);
  while (!absl::StrContains(service.Log(), "selection publisher connected") &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_THAT(service.Log(), HasSubstr("selection publisher connected"));

  std::thread stopper([&] { EXPECT_EQ(service.Terminate(), 0); });
  int status = 200;
  deadline = absl::Now() + absl::Seconds(10);
  while (status == 200 && absl::Now() < deadline) {
    status = HttpGet(port, "/readyz").status;
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(status, 503) << service.Log();
  EXPECT_EQ(HttpGet(port, "/healthz").status, 200);  // alive, only not ready
  context.TryCancel();
  stopper.join();
}

}  // namespace
}  // namespace ia::testing
