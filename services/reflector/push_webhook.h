// PushWebhook: the reflector's `POST /v1/registry-events` handler (bodies in
// push_events.h). It parses the pushes, matches them against every
// ImageRepository (MatchPush), records each match in the PushInbox and
// queues the repository's key on the push lane, whose worker
// (ImageRepositoryReconciler::ReconcilePushes) adds the tag to the set (and
// streams it) within milliseconds, without waiting for a scan, and
// schedules a confirming scan. For a generic post the handler waits up to
// Options::wait for those outcomes, so that its answer says which tags were
// added and a client reading the tags right after sees them; a registry's
// envelope is answered at once (registries ignore the body, and Docker
// distribution gives up on a notification after 1 s by default).
//
// Answers: 202 {"updated": ["ns/name:tag", ...], "pending": [...],
// "unmatched": [...]}: "updated" the tags added to a set, "pending" the
// pushes recorded but not applied yet when the answer was sent (every one,
// for an envelope); 400 for a body that does not parse; 401 without the
// configured bearer token; 404 when a generic post matches no repository (a
// registry's envelope is always accepted: it would retry forever); 500 when
// the store fails.
//
// Thread-safe.
#ifndef SERVICES_REFLECTOR_PUSH_WEBHOOK_H_
#define SERVICES_REFLECTOR_PUSH_WEBHOOK_H_

#include <functional>
#include <string>

#include "absl/time/time.h"
#include "common/clock.h"
#include "common/defaults.h"
#include "common/http_server.h"
#include "common/object_store.h"
#include "services/reflector/push_inbox.h"

namespace ia::reflector {

inline constexpr absl::string_view kRegistryEventsPath = "/v1/registry-events";

class PushWebhook {
 public:
  struct Options {
    // When not empty, requests must carry `Authorization: Bearer <token>`.
    std::string token;
    // How long (real time) a generic post waits for its pushes to be
    // applied; one not applied by then is answered as pending.
    absl::Duration wait = defaults::kPushAnswerWait;
  };

  // `enqueue` queues a repository key on the push lane. The pointers
  // must outlive the webhook.
  PushWebhook(ObjectStore<v1::ImageRepository>* repositories, PushInbox* inbox,
              const Clock* clock,
              std::function<void(const std::string& key)> enqueue,
              Options options);

  HttpResponse Handle(const HttpRequest& request);

 private:
  ObjectStore<v1::ImageRepository>* const repositories_;
  PushInbox* const inbox_;
  const Clock* const clock_;
  const std::function<void(const std::string&)> enqueue_;
  const Options options_;
};

}  // namespace ia::reflector

#endif  // SERVICES_REFLECTOR_PUSH_WEBHOOK_H_
