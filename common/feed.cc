#include "common/feed.h"

#include <deque>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace ia {
namespace feed_internal {

// The state of one subscription. `filter` and `wake` are set before the
// subscription is shared and never change; every other member is guarded by
// the owning FeedState's mutex.
struct SubState {
  Feed::Filter filter;
  Feed::WakeFn wake;

  // The snapshot taken at Subscribe(), sorted by key; handed out from
  // `snapshot_pos` on and released once handed out.
  std::vector<std::pair<std::string, FeedValue>> snapshot;
  size_t snapshot_pos = 0;
  bool snapshot_end_pending = true;
  // Keys changed since the subscriber last pulled them, each with whether
  // the subscriber knew the key (it was present in the last state the
  // subscriber was given), and the same keys in order of first change.
  absl::flat_hash_map<std::string, bool> pending;
  std::deque<std::string> order;
  // Close() was called and kClosed not yet handed out.
  bool close_pending = false;
  // kClosed handed out, or cancelled: nothing more to hand out.
  bool done = false;
  bool cancelled = false;
  // Wake callbacks of this subscription running outside the mutex.
  int wakes_running = 0;

  bool HasPending() const {
    return !done && (snapshot_pos < snapshot.size() || snapshot_end_pending ||
                     !order.empty() || close_pending);
  }

  void DropPending() {
    std::vector<std::pair<std::string, FeedValue>>().swap(snapshot);
    snapshot_pos = 0;
    snapshot_end_pending = false;
    absl::flat_hash_map<std::string, bool>().swap(pending);
    std::deque<std::string>().swap(order);
  }
};

class FeedState {
 public:
  void Publish(absl::string_view key, FeedValue value) {
    std::vector<SubState*> to_wake;
    {
      absl::MutexLock lock(&mu_);
      auto it = values_.find(key);
      const bool existed = it != values_.end();
      if (existed) {
        it->second = std::move(value);
      } else {
        values_.emplace(std::string(key), std::move(value));
      }
      NotifyLocked(key, existed, &to_wake);
    }
    RunWakes(to_wake);
  }

  bool Remove(absl::string_view key) {
    std::vector<SubState*> to_wake;
    {
      absl::MutexLock lock(&mu_);
      auto it = values_.find(key);
      if (it == values_.end()) return false;
      values_.erase(it);
      NotifyLocked(key, /*existed=*/true, &to_wake);
    }
    RunWakes(to_wake);
    return true;
  }

  FeedValue Get(absl::string_view key) const {
    absl::MutexLock lock(&mu_);
    auto it = values_.find(key);
    return it == values_.end() ? nullptr : it->second;
  }

  size_t size() const {
    absl::MutexLock lock(&mu_);
    return values_.size();
  }

  std::shared_ptr<SubState> Subscribe(Feed::Filter filter, Feed::WakeFn wake) {
    auto sub = std::make_shared<SubState>();
    sub->filter = std::move(filter);
    sub->wake = std::move(wake);
    absl::MutexLock lock(&mu_);
    if (closed_) {
      sub->snapshot_end_pending = false;
      sub->close_pending = true;
    } else {
      for (const auto& [key, value] : values_) {
        if (!sub->filter || sub->filter(key)) {
          sub->snapshot.emplace_back(key, value);
        }
      }
    }
    subs_.insert(sub.get());
    return sub;
  }

  std::optional<FeedEvent> Next(SubState* sub) {
    absl::MutexLock lock(&mu_);
    if (sub->done) return std::nullopt;
    if (sub->close_pending) {
      sub->close_pending = false;
      sub->done = true;
      return FeedEvent{FeedEvent::Type::kClosed, "", nullptr};
    }
    if (sub->snapshot_pos < sub->snapshot.size()) {
      auto& [key, value] = sub->snapshot[sub->snapshot_pos++];
      FeedEvent event{FeedEvent::Type::kSnapshot, std::move(key),
                      std::move(value)};
      if (sub->snapshot_pos == sub->snapshot.size()) {
        std::vector<std::pair<std::string, FeedValue>>().swap(sub->snapshot);
        sub->snapshot_pos = 0;
      }
      return event;
    }
    if (sub->snapshot_end_pending) {
      sub->snapshot_end_pending = false;
      return FeedEvent{FeedEvent::Type::kSnapshotEnd, "", nullptr};
    }
    while (!sub->order.empty()) {
      std::string key = std::move(sub->order.front());
      sub->order.pop_front();
      auto pending = sub->pending.find(key);
      const bool known = pending->second;
      sub->pending.erase(pending);
      auto it = values_.find(key);
      if (it != values_.end()) {
        return FeedEvent{FeedEvent::Type::kUpdated, std::move(key), it->second};
      }
      // A key the subscriber never saw, gone again: nothing to tell.
      if (known) {
        return FeedEvent{FeedEvent::Type::kDeleted, std::move(key), nullptr};
      }
    }
    return std::nullopt;
  }

  void Cancel(SubState* sub) {
    absl::MutexLock lock(&mu_);
    if (!sub->cancelled) {
      sub->cancelled = true;
      sub->done = true;
      sub->close_pending = false;
      sub->DropPending();
      subs_.erase(sub);
    }
    mu_.Await(absl::Condition(
        +[](SubState* s) { return s->wakes_running == 0; }, sub));
  }

  void Close() {
    std::vector<SubState*> to_wake;
    {
      absl::MutexLock lock(&mu_);
      if (closed_) return;
      closed_ = true;
      for (SubState* sub : subs_) {
        if (sub->done) continue;
        const bool was_empty = !sub->HasPending();
        sub->DropPending();
        sub->close_pending = true;
        if (was_empty) AddWakeLocked(sub, &to_wake);
      }
    }
    RunWakes(to_wake);
  }

  bool closed() const {
    absl::MutexLock lock(&mu_);
    return closed_;
  }

  size_t subscriber_count() const {
    absl::MutexLock lock(&mu_);
    return subs_.size();
  }

 private:
  // Records a change of `key` for every interested subscription; `existed`
  // says whether the key was present just before the change.
  void NotifyLocked(absl::string_view key, bool existed,
                    std::vector<SubState*>* to_wake)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (closed_) return;
    for (SubState* sub : subs_) {
      if (sub->done || sub->close_pending) continue;
      if (sub->filter && !sub->filter(key)) continue;
      if (sub->pending.contains(key)) continue;  // coalesced
      // The key is not pending, so the subscriber's view of it is the state
      // just before this change: it knows the key iff the key existed.
      const bool was_empty = !sub->HasPending();
      sub->pending.emplace(std::string(key), existed);
      sub->order.emplace_back(key);
      if (was_empty) AddWakeLocked(sub, to_wake);
    }
  }

  void AddWakeLocked(SubState* sub, std::vector<SubState*>* to_wake)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!sub->wake) return;
    ++sub->wakes_running;
    to_wake->push_back(sub);
  }

  // Runs the wake callbacks collected under the mutex, without it. Each
  // SubState stays alive meanwhile: Cancel() waits for wakes_running == 0
  // before its Subscription (the owner) is destroyed.
  void RunWakes(const std::vector<SubState*>& to_wake)
      ABSL_LOCKS_EXCLUDED(mu_) {
    for (SubState* sub : to_wake) {
      sub->wake();
      absl::MutexLock lock(&mu_);
      --sub->wakes_running;
    }
  }

  mutable absl::Mutex mu_;
  absl::btree_map<std::string, FeedValue> values_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<SubState*> subs_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace feed_internal

absl::string_view FeedEventTypeName(FeedEvent::Type type) {
  switch (type) {
    case FeedEvent::Type::kSnapshot:
      return "SNAPSHOT";
    case FeedEvent::Type::kSnapshotEnd:
      return "SNAPSHOT_END";
    case FeedEvent::Type::kUpdated:
      return "UPDATED";
    case FeedEvent::Type::kDeleted:
      return "DELETED";
    case FeedEvent::Type::kClosed:
      return "CLOSED";
  }
  return "UNKNOWN";
}

Feed::Feed() : state_(std::make_shared<feed_internal::FeedState>()) {}

Feed::Feed(absl::string_view metrics_name) : Feed() {
  subscribers_metric_ =
      metrics::Registry::Default()
          .AddCallbackGauge("ia_stream_subscribers",
                            "Subscriptions open on a feed (stream clients).",
                            {"feed"})
          .Register({std::string(metrics_name)},
                    [this] { return static_cast<double>(subscriber_count()); });
}

Feed::~Feed() { state_->Close(); }

void Feed::Publish(absl::string_view key, FeedValue value) {
  if (value == nullptr) {
    state_->Remove(key);
    return;
  }
  state_->Publish(key, std::move(value));
}

bool Feed::Remove(absl::string_view key) { return state_->Remove(key); }

FeedValue Feed::Get(absl::string_view key) const { return state_->Get(key); }

size_t Feed::size() const { return state_->size(); }

std::unique_ptr<Feed::Subscription> Feed::Subscribe(Filter filter,
                                                    WakeFn wake) {
  auto sub = state_->Subscribe(std::move(filter), std::move(wake));
  return std::unique_ptr<Subscription>(new Subscription(state_, sub));
}

void Feed::Close() { state_->Close(); }

bool Feed::closed() const { return state_->closed(); }

size_t Feed::subscriber_count() const { return state_->subscriber_count(); }

Feed::Filter Feed::NamespaceFilter(absl::string_view ns) {
  if (ns.empty()) return Filter();
  return [prefix = absl::StrCat(ns, "/")](absl::string_view key) {
    return absl::StartsWith(key, prefix);
  };
}

Feed::Subscription::Subscription(std::shared_ptr<feed_internal::FeedState> feed,
                                 std::shared_ptr<feed_internal::SubState> sub)
    : feed_(std::move(feed)), sub_(std::move(sub)) {}

Feed::Subscription::~Subscription() { Cancel(); }

std::optional<FeedEvent> Feed::Subscription::Next() {
  return feed_->Next(sub_.get());
}

void Feed::Subscription::Cancel() { feed_->Cancel(sub_.get()); }

}  // namespace ia
