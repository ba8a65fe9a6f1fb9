// PushInbox: push notifications on their way from the webhook to the
// reconciler. The webhook records what a push means for a repository and
// queues its key on the push lane; the reconciler, the only writer of tag
// sets and status, takes the repository's pending pushes
// (ReconcilePushes, or the next Reconcile, whichever comes first), applies
// them and completes each push's ticket with the outcome, which the webhook
// may wait for to answer the sender.
//
// Thread-safe.
#ifndef SERVICES_REFLECTOR_PUSH_INBOX_H_
#define SERVICES_REFLECTOR_PUSH_INBOX_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace ia::reflector {

enum class PushOutcome {
  kAdded,     // the tag is new in the repository's set
  kKnown,     // the set had it already, or the push no longer applies
  kScanOnly,  // nothing added; a confirming scan is queued
};

// One push's outcome, set once by the reconciler.
class PushTicket {
 public:
  // Sets the outcome (an error when the tag set could not be written) and
  // wakes the waiters. Only the first call counts.
  void Complete(absl::StatusOr<PushOutcome> outcome);
  // The outcome once completed, waiting up to `timeout` (real time) for it;
  // nullopt when it is not there by then.
  std::optional<absl::StatusOr<PushOutcome>> Wait(absl::Duration timeout);

 private:
  absl::Mutex mu_;
  absl::Notification done_;
  absl::StatusOr<PushOutcome> outcome_ ABSL_GUARDED_BY(mu_) =
      PushOutcome::kKnown;
};

struct PendingPush {
  std::string tag;         // empty for a scan-only push
  absl::Time received_at;  // when the webhook recorded it
  std::shared_ptr<PushTicket> ticket;
};

class PushInbox {
 public:
  // Records a push of `tag` (empty: asks only for a confirming scan) for
  // the repository `key`; returns its ticket.
  std::shared_ptr<PushTicket> Record(const std::string& key, std::string tag,
                                     absl::Time received_at);
  // Takes the pushes pending for `key`, oldest first.
  std::vector<PendingPush> Take(const std::string& key);

 private:
  absl::Mutex mu_;
  std::map<std::string, std::vector<PendingPush>> pending_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ia::reflector

#endif  // SERVICES_REFLECTOR_PUSH_INBOX_H_
