// PushWebhook without an HTTP server or a reconciler: what it records in the
// inbox, what it queues, and how it answers from the tickets' outcomes.
#include "services/reflector/push_webhook.h"

#include <memory>
#include <string>
#include <vector>

#include "common/kv_object_store.h"
#include "common/store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/objects.h"

namespace ia::reflector {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class PushWebhookTest : public ::testing::Test {
 protected:
  PushWebhookTest() {
    auto store = Store::Open(":memory:");
    EXPECT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    repositories_ = std::make_unique<KvObjectStore<v1::ImageRepository>>(
        store_.get(), &clock_);
    EXPECT_TRUE(repositories_
                    ->Apply(testing::TestRepository(
                        "app", "registry.local/team/app", "1h"))
                    .ok());
  }

  // A webhook whose queue answers each push with `outcome` at once (as the
  // reconciler would), or never when `outcome` is null.
  std::unique_ptr<PushWebhook> Webhook(
      std::optional<absl::StatusOr<PushOutcome>> outcome,
      absl::Duration wait = absl::Seconds(2)) {
    return std::make_unique<PushWebhook>(
        repositories_.get(), &inbox_, &clock_,
        [this, outcome](const std::string& key) {
          queued_.push_back(key);
          if (!outcome.has_value()) return;
          for (PendingPush& push : inbox_.Take(key)) {
            taken_.push_back(push.tag);
            push.ticket->Complete(*outcome);
          }
        },
        PushWebhook::Options{.wait = wait});
  }

  static HttpRequest Post(std::string body) {
    return HttpRequest{.method = "POST",
                       .path = std::string(kRegistryEventsPath),
                       .body = std::move(body),
                       .header = [](const std::string&) { return ""; }};
  }

  FakeClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ObjectStore<v1::ImageRepository>> repositories_;
  PushInbox inbox_;
  std::vector<std::string> queued_;
  std::vector<std::string> taken_;
};

TEST_F(PushWebhookTest, RecordsQueuesAndAnswersWithTheOutcome) {
  auto webhook = Webhook(PushOutcome::kAdded);
  HttpResponse response = webhook->Handle(
      Post(R"({"image":"registry.local/team/app","tag":"1.2.0"})"));
  EXPECT_EQ(response.status, 202) << response.body;
  EXPECT_THAT(queued_, ElementsAre("flux-system/app"));
  EXPECT_THAT(taken_, ElementsAre("1.2.0"));
  const nlohmann::json body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["updated"], nlohmann::json::array({"flux-system/app:1.2.0"}));
  EXPECT_EQ(body["pending"], nlohmann::json::array());
}

TEST_F(PushWebhookTest, AKnownTagIsNotUpdated) {
  auto webhook = Webhook(PushOutcome::kKnown);
  HttpResponse response = webhook->Handle(
      Post(R"({"image":"registry.local/team/app","tag":"1.2.0"})"));
  // Matched, so not a 404, but nothing new.
  EXPECT_EQ(response.status, 202) << response.body;
  EXPECT_EQ(nlohmann::json::parse(response.body)["updated"],
            nlohmann::json::array());
}

TEST_F(PushWebhookTest, ExcludedTagIsNeitherRecordedNorQueued) {
  auto webhook = Webhook(PushOutcome::kAdded);
  HttpResponse response = webhook->Handle(
      Post(R"({"image":"registry.local/team/app","tag":"1.2.0.sig"})"));
  EXPECT_EQ(response.status, 202) << response.body;
  EXPECT_TRUE(queued_.empty());
  EXPECT_TRUE(taken_.empty());
  EXPECT_TRUE(inbox_.Take("flux-system/app").empty());
  const nlohmann::json body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["updated"], nlohmann::json::array());
  EXPECT_EQ(body["pending"], nlohmann::json::array());
}

TEST_F(PushWebhookTest, APushNotAppliedInTimeIsPending) {
  auto webhook = Webhook(std::nullopt, absl::ZeroDuration());
  HttpResponse response = webhook->Handle(
      Post(R"({"image":"registry.local/team/app","tag":"1.2.0"})"));
  EXPECT_EQ(response.status, 202) << response.body;
  const nlohmann::json body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["updated"], nlohmann::json::array());
  EXPECT_EQ(body["pending"], nlohmann::json::array({"flux-system/app:1.2.0"}));
  // Still waiting for the push lane.
  EXPECT_EQ(inbox_.Take("flux-system/app").size(), 1u);
}

TEST_F(PushWebhookTest, ARegistrysEnvelopeIsAnsweredWithoutWaiting) {
  // Nothing applies the push: a generic post would wait the full minute.
  auto webhook = Webhook(std::nullopt, absl::Minutes(1));
  const absl::Time start = absl::Now();
  HttpResponse response =
      webhook->Handle(Post(R"({"events":[{"action":"push","target":)"
                           R"({"repository":"team/app","tag":"1.2.0"}}]})"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
  EXPECT_EQ(response.status, 202) << response.body;
  const nlohmann::json body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["updated"], nlohmann::json::array());
  EXPECT_EQ(body["pending"], nlohmann::json::array({"flux-system/app:1.2.0"}));
  EXPECT_THAT(queued_, ElementsAre("flux-system/app"));
  EXPECT_EQ(inbox_.Take("flux-system/app").size(), 1u);
}

TEST_F(PushWebhookTest, AGenericPostWaitsLessThanARegistrysTimeout) {
  // Docker distribution's notification timeout defaults to 1 s.
  EXPECT_LT(PushWebhook::Options().wait, absl::Seconds(1));
}

TEST_F(PushWebhookTest, OnlyAGenericPostMatchingNothingIs404) {
  auto webhook = Webhook(PushOutcome::kAdded);
  // An image named "events" is still the generic form.
  EXPECT_EQ(webhook->Handle(Post(R"({"image":"events","tag":"1"})")).status,
            404);
  EXPECT_EQ(webhook
                ->Handle(Post(R"({"events":[{"action":"push","target":)"
                              R"({"repository":"team/other","tag":"1"}}]})"))
                .status,
            202);
}

TEST_F(PushWebhookTest, AStoreFailureIs500) {
  auto webhook = Webhook(absl::InternalError("disk full"));
  HttpResponse response = webhook->Handle(
      Post(R"({"image":"registry.local/team/app","tag":"1.2.0"})"));
  EXPECT_EQ(response.status, 500);
  EXPECT_THAT(response.body, HasSubstr("disk full"));
}

}  // namespace
}  // namespace ia::reflector
