#include "services/reflector/push_inbox.h"

#include <utility>

namespace ia::reflector {

void PushTicket::Complete(absl::StatusOr<PushOutcome> outcome) {
  {
    absl::MutexLock lock(&mu_);
    if (done_.HasBeenNotified()) return;
    outcome_ = std::move(outcome);
    done_.Notify();
  }
}

std::optional<absl::StatusOr<PushOutcome>> PushTicket::Wait(
    absl::Duration timeout) {
  if (!done_.WaitForNotificationWithTimeout(timeout)) return std::nullopt;
  absl::MutexLock lock(&mu_);
  return outcome_;
}

std::shared_ptr<PushTicket> PushInbox::Record(const std::string& key,
                                              std::string tag,
                                              absl::Time received_at) {
  auto ticket = std::make_shared<PushTicket>();
  absl::MutexLock lock(&mu_);
  pending_[key].push_back(PendingPush{std::move(tag), received_at, ticket});
  return ticket;
}

std::vector<PendingPush> PushInbox::Take(const std::string& key) {
  absl::MutexLock lock(&mu_);
  auto it = pending_.find(key);
  if (it == pending_.end()) return {};
  std::vector<PendingPush> pushes = std::move(it->second);
  pending_.erase(it);
  return pushes;
}

}  // namespace ia::reflector
