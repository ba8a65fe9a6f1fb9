#include "services/reflector/push_webhook.h"

#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "nlohmann/json.hpp"
#include "services/reflector/push_events.h"

namespace ia::reflector {
namespace {

HttpResponse JsonResponse(int status, const nlohmann::json& body) {
  return HttpResponse{status, "application/json", body.dump() + "\n"};
}

}  // namespace

PushWebhook::PushWebhook(ObjectStore<v1::ImageRepository>* repositories,
                         PushInbox* inbox, const Clock* clock,
                         std::function<void(const std::string& key)> enqueue,
                         Options options)
    : repositories_(repositories),
      inbox_(inbox),
      clock_(clock),
      enqueue_(std::move(enqueue)),
      options_(std::move(options)) {}

HttpResponse PushWebhook::Handle(const HttpRequest& request) {
  if (!options_.token.empty() && request.header("Authorization") !=
                                     absl::StrCat("Bearer ", options_.token)) {
    return JsonResponse(
        401, {{"error", "missing or wrong Authorization bearer token"}});
  }
  bool envelope = false;
  auto pushes = ParsePushEvents(request.body, &envelope);
  if (!pushes.ok()) {
    return JsonResponse(400,
                        {{"error", std::string(pushes.status().message())}});
  }
  auto repositories = repositories_->List("");
  if (!repositories.ok()) {
    return JsonResponse(
        500, {{"error", std::string(repositories.status().message())}});
  }

  // Record every match first, then wait for the push lane.
  struct Added {
    std::string entry;  // "namespace/name:tag"
    std::shared_ptr<PushTicket> ticket;
  };
  std::vector<Added> added;
  nlohmann::json unmatched = nlohmann::json::array();
  const absl::Time now = clock_->Now();
  for (const PushedTag& push : *pushes) {
    bool matched = false;
    for (const v1::ImageRepository& repository : *repositories) {
      const PushMatch match = MatchPush(repository, push);
      if (match == PushMatch::kNone) continue;
      matched = true;
      if (match == PushMatch::kExcluded) continue;
      const std::string key = KeyOf(repository.metadata());
      if (match == PushMatch::kScanOnly) {
        inbox_->Record(key, "", now);
      } else {
        added.push_back(
            {key + ":" + push.tag, inbox_->Record(key, push.tag, now)});
      }
      enqueue_(key);
    }
    if (!matched) {
      unmatched.push_back((push.host.empty() ? "" : push.host + "/") +
                          push.path + ":" + push.tag);
    }
  }

  nlohmann::json updated = nlohmann::json::array();
  nlohmann::json pending = nlohmann::json::array();
  // A registry ignores the answer: it gets it at once.
  const absl::Time deadline =
      envelope ? absl::InfinitePast() : absl::Now() + options_.wait;
  for (const Added& push : added) {
    auto outcome = push.ticket->Wait(deadline - absl::Now());
    if (!outcome.has_value()) {
      pending.push_back(push.entry);
      continue;
    }
    if (!outcome->ok()) {
      return JsonResponse(
          500, {{"error", std::string(outcome->status().message())}});
    }
    if (**outcome == PushOutcome::kAdded) updated.push_back(push.entry);
  }
  // Blob uploads and pulls are posted too; only tag pushes are news.
  (pushes->empty() ? log::Debug("registry events")
                   : log::Info("registry events"))
      .With("pushes", static_cast<int64_t>(pushes->size()))
      .With("updated", updated.dump())
      .With("pending", pending.dump())
      .With("unmatched", unmatched.dump());
  // A distribution registry sends every repository's pushes and retries a
  // non-2xx answer forever, stalling its queue: its envelope is always
  // accepted. A generic post that matches nothing is the sender's mistake.
  if (!envelope && !pushes->empty() && updated.empty() &&
      unmatched.size() == pushes->size()) {
    return JsonResponse(404, {{"error", "no ImageRepository matches"},
                              {"unmatched", unmatched}});
  }
  return JsonResponse(
      202,
      {{"updated", updated}, {"pending", pending}, {"unmatched", unmatched}});
}

}  // namespace ia::reflector
