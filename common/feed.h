// Feed: the latest value of each key ("namespace/name"), published by one
// side of a service and watched by any number of subscribers. It is the
// mechanism behind the server-streaming RPCs Reflector.WatchTagSets and
// Policy.WatchSelections (common/feed_stream.h serves a Subscription as a
// gRPC stream).
//
// A Subscription yields, through a non-blocking Next():
//   1. the snapshot: one kSnapshot event per key present at Subscribe() time
//      (that passes the filter), sorted by key;
//   2. one kSnapshotEnd event;
//   3. change events, kUpdated (with the value current at the time of the
//      pull) and kDeleted, in the order of each key's first change that the
//      subscriber has not pulled yet. Several changes to one key that are
//      pending together coalesce into one event carrying the latest state:
//      a slow subscriber sees the latest value of each key, skipping
//      intermediate ones, and never slows the publisher down. A key that
//      appears and disappears between two pulls yields nothing; a key that
//      disappears and reappears yields one kUpdated;
//   4. after Feed::Close(), one final kClosed event (changes not yet pulled
//      are dropped), then nothing.
//
// Memory per subscription is bounded by the number of keys (the snapshot
// copy holds shared pointers to the immutable values, the pending set holds
// one entry per changed key), never by the number of publishes.
//
// A Feed constructed with a name shows its subscriber_count() as the gauge
// ia_stream_subscribers{feed="<name>"} (common/metrics.h).
//
// Thread-safety: Feed and Subscription are thread-safe. One mutex guards a
// feed and all its subscriptions; Publish() costs O(log keys + subscribers)
// under it. Wake callbacks run on the thread that made the change, never
// while the mutex is held.
#ifndef COMMON_FEED_H_
#define COMMON_FEED_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/metrics.h"
#include "google/protobuf/message.h"

namespace ia {

namespace feed_internal {
class FeedState;
struct SubState;
}  // namespace feed_internal

// An immutable published value. Never modified after Publish().
using FeedValue = std::shared_ptr<const google::protobuf::Message>;

struct FeedEvent {
  enum class Type {
    kSnapshot,     // part of the initial snapshot; key and value set
    kSnapshotEnd,  // the snapshot is complete; key empty, value null
    kUpdated,      // key appeared or changed; value is its latest value
    kDeleted,      // key was removed; value null
    kClosed,       // the feed was closed; the last event of a subscription
  };

  Type type = Type::kSnapshotEnd;
  std::string key;
  FeedValue value;

  // The value as a `T`, or null when there is no value or it is not a `T`.
  template <typename T>
  std::shared_ptr<const T> As() const {
    return std::dynamic_pointer_cast<const T>(value);
  }
};

// A short name of the type, for logs and test messages ("SNAPSHOT").
absl::string_view FeedEventTypeName(FeedEvent::Type type);

class Feed {
 public:
  // Chooses the keys a subscription sees. Called under the feed's mutex for
  // every change: it must be cheap, must not block and must not call back
  // into the feed. An empty function accepts every key.
  using Filter = std::function<bool(absl::string_view key)>;
  // Called when a subscription goes from nothing pending to something
  // pending, so that its consumer can start pulling. May run on any thread
  // that calls Publish(), Remove() or Close(), and on two such threads at
  // once; must not block for long and must not call Cancel() (or destroy the
  // Subscription) itself.
  using WakeFn = std::function<void()>;

  class Subscription;

  Feed();
  // A feed whose subscribers are counted in ia_stream_subscribers under
  // feed=`metrics_name` (e.g. "tag_sets").
  explicit Feed(absl::string_view metrics_name);
  // Closes the feed. Subscriptions may outlive it; they yield kClosed.
  ~Feed();
  Feed(const Feed&) = delete;
  Feed& operator=(const Feed&) = delete;

  // Sets the value of `key` (a null `value` is Remove(key)). Never blocks on
  // subscribers. After Close() the value is still stored, but subscriptions
  // see no more changes.
  void Publish(absl::string_view key, FeedValue value);
  // Removes `key`; returns false (and notifies nobody) if it was absent.
  bool Remove(absl::string_view key);

  // The current value of `key`, or null.
  FeedValue Get(absl::string_view key) const;
  // Number of keys stored.
  size_t size() const;

  // Starts a subscription. A new subscription already has events pending
  // (at least kSnapshotEnd, or kClosed after Close()): the caller pulls
  // them with Next() right away; `wake` is called only for later
  // transitions from nothing pending to something pending.
  std::unique_ptr<Subscription> Subscribe(Filter filter, WakeFn wake);

  // Ends every subscription, present and future, with a kClosed event (for
  // graceful shutdown); wakes the subscriptions that had nothing pending.
  // Idempotent.
  void Close();
  bool closed() const;

  // Number of subscriptions not yet cancelled or destroyed.
  size_t subscriber_count() const;

  // A filter for keys "namespace/name" in `ns`; all keys when `ns` is
  // empty.
  static Filter NamespaceFilter(absl::string_view ns);

 private:
  std::shared_ptr<feed_internal::FeedState> state_;
  // Declared after state_, so unregistered before it goes.
  metrics::CallbackRegistration subscribers_metric_;
};

// One subscriber's view of a Feed; see the file comment for the events it
// yields. Unsubscribes on destruction.
class Feed::Subscription {
 public:
  ~Subscription();
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  // The next event, or nullopt when nothing is pending (then the wake
  // callback will be called when something is) or after Cancel() or the
  // kClosed event. Never blocks on publishers.
  std::optional<FeedEvent> Next();

  // Unsubscribes: Next() yields nothing more and the wake callback is not
  // called again. Waits for wake callbacks of this subscription that are
  // running on other threads to return, so the caller may destroy what the
  // callback uses once Cancel() returns. Idempotent.
  void Cancel();

 private:
  friend class Feed;
  Subscription(std::shared_ptr<feed_internal::FeedState> feed,
               std::shared_ptr<feed_internal::SubState> sub);

  const std::shared_ptr<feed_internal::FeedState> feed_;
  const std::shared_ptr<feed_internal::SubState> sub_;
};

}  // namespace ia

#endif  // COMMON_FEED_H_
