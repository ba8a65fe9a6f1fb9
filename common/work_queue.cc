// WorkQueue: see work_queue.h. Every member runs under `mu_`; Get() waits on
// `cv_` through the Clock so that a FakeClock can drive delayed keys.
#include "common/work_queue.h"

#include <algorithm>
#include <cstdint>
#include <utility>

namespace ia {

WorkQueue::WorkQueue(const Clock* clock, Backoff backoff)
    : clock_(clock), backoff_(backoff) {}

WorkQueue::~WorkQueue() { ShutDown(); }

void WorkQueue::Add(const std::string& key) {
  absl::MutexLock lock(&mu_);
  AddLocked(key);
}

void WorkQueue::AddLocked(const std::string& key) {
  if (shutting_down_) return;
  if (!dirty_.insert(key).second) return;  // Already queued or dirty.
  if (processing_.contains(key)) return;   // Done() will queue it.
  ready_.push_back(key);
  cv_.Signal();
}

void WorkQueue::AddAfter(const std::string& key, absl::Duration delay) {
  absl::MutexLock lock(&mu_);
  AddAfterLocked(key, delay);
}

void WorkQueue::AddAfterLocked(const std::string& key, absl::Duration delay) {
  if (shutting_down_) return;
  if (delay <= absl::ZeroDuration()) {
    AddLocked(key);
    return;
  }
  const absl::Time due = clock_->Now() + delay;
  auto it = due_.find(key);
  if (it != due_.end()) {
    if (it->second <= due) return;  // The earlier due time wins.
    auto [first, last] = delayed_.equal_range(it->second);
    for (auto d = first; d != last; ++d) {
      if (d->second == key) {
        delayed_.erase(d);
        break;
      }
    }
    it->second = due;
  } else {
    due_.emplace(key, due);
  }
  delayed_.emplace(due, key);
  // Waiters in Get() may need an earlier deadline than the one they have.
  cv_.SignalAll();
}

void WorkQueue::AddRateLimited(const std::string& key) {
  absl::MutexLock lock(&mu_);
  if (shutting_down_) return;
  const int exponent = failures_[key]++;
  absl::Duration delay = backoff_.max;
  // 2^62 times any positive base exceeds every sensible max; absl::Duration
  // arithmetic saturates rather than overflowing.
  if (exponent < 62) {
    delay = std::min(backoff_.base * (int64_t{1} << exponent), backoff_.max);
  }
  AddAfterLocked(key, delay);
}

void WorkQueue::Forget(const std::string& key) {
  absl::MutexLock lock(&mu_);
  failures_.erase(key);
}

int WorkQueue::Failures(const std::string& key) const {
  absl::MutexLock lock(&mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

void WorkQueue::PromoteDueLocked() {
  if (delayed_.empty()) return;
  const absl::Time now = clock_->Now();
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    std::string key = std::move(delayed_.begin()->second);
    delayed_.erase(delayed_.begin());
    due_.erase(key);
    AddLocked(key);
  }
}

std::optional<std::string> WorkQueue::PopLocked() {
  if (ready_.empty()) return std::nullopt;
  std::string key = std::move(ready_.front());
  ready_.pop_front();
  dirty_.erase(key);
  processing_.insert(key);
  return key;
}

std::optional<std::string> WorkQueue::Get() {
  absl::MutexLock lock(&mu_);
  while (!shutting_down_) {
    PromoteDueLocked();
    if (std::optional<std::string> key = PopLocked()) return key;
    const absl::Time deadline =
        delayed_.empty() ? absl::InfiniteFuture() : delayed_.begin()->first;
    clock_->WaitUntil(&cv_, &mu_, deadline);
  }
  return std::nullopt;
}

std::optional<std::string> WorkQueue::TryGet() {
  absl::MutexLock lock(&mu_);
  if (shutting_down_) return std::nullopt;
  PromoteDueLocked();
  return PopLocked();
}

void WorkQueue::Done(const std::string& key) {
  absl::MutexLock lock(&mu_);
  processing_.erase(key);
  if (!shutting_down_ && dirty_.contains(key)) {
    ready_.push_back(key);
    cv_.Signal();
  }
}

void WorkQueue::ShutDown() {
  absl::MutexLock lock(&mu_);
  shutting_down_ = true;
  cv_.SignalAll();
}

bool WorkQueue::ShuttingDown() const {
  absl::MutexLock lock(&mu_);
  return shutting_down_;
}

size_t WorkQueue::Len() const {
  absl::MutexLock lock(&mu_);
  // A due delayed key becomes ready when promoted unless it is already
  // dirty (then it is queued or will be on Done) or processing.
  size_t len = ready_.size();
  const absl::Time now = clock_->Now();
  for (auto it = delayed_.begin(); it != delayed_.end() && it->first <= now;
       ++it) {
    if (!dirty_.contains(it->second) && !processing_.contains(it->second)) {
      ++len;
    }
  }
  return len;
}

size_t WorkQueue::DelayedLen() const {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_->Now();
  return static_cast<size_t>(
      std::distance(delayed_.upper_bound(now), delayed_.end()));
}

size_t WorkQueue::ProcessingLen() const {
  absl::MutexLock lock(&mu_);
  return processing_.size();
}

}  // namespace ia
