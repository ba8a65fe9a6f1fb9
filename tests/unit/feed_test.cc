#include "common/feed.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "imageautomation/v1/reflector.pb.h"

namespace ia {
namespace {

using ::imageautomation::v1::TagSet;
using Type = FeedEvent::Type;

FeedValue Val(absl::string_view revision) {
  auto tag_set = std::make_shared<TagSet>();
  tag_set->set_revision(std::string(revision));
  return tag_set;
}

// "TYPE key revision" for compact comparisons.
std::string Str(const std::optional<FeedEvent>& event) {
  if (!event.has_value()) return "none";
  std::string out = std::string(FeedEventTypeName(event->type));
  if (!event->key.empty()) absl::StrAppend(&out, " ", event->key);
  if (auto tag_set = event->As<TagSet>()) {
    absl::StrAppend(&out, " ", tag_set->revision());
  }
  return out;
}

std::vector<std::string> Drain(Feed::Subscription& sub) {
  std::vector<std::string> out;
  while (auto event = sub.Next()) out.push_back(Str(event));
  return out;
}

TEST(FeedTest, SnapshotSortedByKeyThenSnapshotEnd) {
  Feed feed;
  feed.Publish("ns/b", Val("b1"));
  feed.Publish("ns/c", Val("c1"));
  feed.Publish("ns/a", Val("a1"));
  feed.Publish("ns/a", Val("a2"));
  auto sub = feed.Subscribe(nullptr, nullptr);
  EXPECT_THAT(Drain(*sub),
              ::testing::ElementsAre("SNAPSHOT ns/a a2", "SNAPSHOT ns/b b1",
                                     "SNAPSHOT ns/c c1", "SNAPSHOT_END"));
  EXPECT_EQ(Str(sub->Next()), "none");
}

TEST(FeedTest, EmptyFeedYieldsOnlySnapshotEnd) {
  Feed feed;
  auto sub = feed.Subscribe(nullptr, nullptr);
  EXPECT_THAT(Drain(*sub), ::testing::ElementsAre("SNAPSHOT_END"));
}

TEST(FeedTest, ChangesInOrderOfFirstPendingChange) {
  Feed feed;
  auto sub = feed.Subscribe(nullptr, nullptr);
  Drain(*sub);
  feed.Publish("ns/x", Val("x1"));
  feed.Publish("ns/y", Val("y1"));
  feed.Publish("ns/x", Val("x2"));
  EXPECT_THAT(Drain(*sub),
              ::testing::ElementsAre("UPDATED ns/x x2", "UPDATED ns/y y1"));
}

TEST(FeedTest, ChangesDuringSnapshotFollowIt) {
  Feed feed;
  feed.Publish("ns/a", Val("a1"));
  auto sub = feed.Subscribe(nullptr, nullptr);
  feed.Publish("ns/a", Val("a2"));
  feed.Publish("ns/b", Val("b1"));
  EXPECT_THAT(Drain(*sub),
              ::testing::ElementsAre("SNAPSHOT ns/a a1", "SNAPSHOT_END",
                                     "UPDATED ns/a a2", "UPDATED ns/b b1"));
}

TEST(FeedTest, ManyPublishesToOneKeyCoalesce) {
  Feed feed;
  auto sub = feed.Subscribe(nullptr, nullptr);
  Drain(*sub);
  for (int i = 0; i < 1000; ++i) feed.Publish("ns/a", Val(absl::StrCat(i)));
  EXPECT_THAT(Drain(*sub), ::testing::ElementsAre("UPDATED ns/a 999"));
  EXPECT_EQ(feed.Get("ns/a")->GetDescriptor(), TagSet::descriptor());
}

TEST(FeedTest, RemoveAfterUpdateIsOneDelete) {
  Feed feed;
  feed.Publish("ns/a", Val("a1"));
  auto sub = feed.Subscribe(nullptr, nullptr);
  Drain(*sub);
  feed.Publish("ns/a", Val("a2"));
  EXPECT_TRUE(feed.Remove("ns/a"));
  EXPECT_FALSE(feed.Remove("ns/a"));
  EXPECT_THAT(Drain(*sub), ::testing::ElementsAre("DELETED ns/a"));
  EXPECT_EQ(feed.Get("ns/a"), nullptr);
  EXPECT_EQ(feed.size(), 0u);
}

TEST(FeedTest, KeyAddedAndRemovedUnseenYieldsNothing) {
  Feed feed;
  auto sub = feed.Subscribe(nullptr, nullptr);
  Drain(*sub);
  feed.Publish("ns/a", Val("a1"));
  feed.Publish("ns/a", nullptr);  // same as Remove
  EXPECT_THAT(Drain(*sub), ::testing::IsEmpty());
}

TEST(FeedTest, KeyRemovedAndRepublishedIsOneUpdate) {
  Feed feed;
  feed.Publish("ns/a", Val("a1"));
  auto sub = feed.Subscribe(nullptr, nullptr);
  Drain(*sub);
  feed.Remove("ns/a");
  feed.Publish("ns/a", Val("a2"));
  EXPECT_THAT(Drain(*sub), ::testing::ElementsAre("UPDATED ns/a a2"));
}

TEST(FeedTest, NamespaceFilter) {
  Feed feed;
  feed.Publish("ns1/a", Val("1"));
  feed.Publish("ns10/b", Val("1"));
  feed.Publish("ns2/c", Val("1"));
  auto sub = feed.Subscribe(Feed::NamespaceFilter("ns1"), nullptr);
  auto all = feed.Subscribe(Feed::NamespaceFilter(""), nullptr);
  EXPECT_THAT(Drain(*sub),
              ::testing::ElementsAre("SNAPSHOT ns1/a 1", "SNAPSHOT_END"));
  EXPECT_EQ(Drain(*all).size(), 4u);
  feed.Publish("ns10/b", Val("2"));
  feed.Publish("ns1/d", Val("2"));
  feed.Remove("ns2/c");
  feed.Remove("ns1/a");
  EXPECT_THAT(Drain(*sub),
              ::testing::ElementsAre("UPDATED ns1/d 2", "DELETED ns1/a"));
  EXPECT_EQ(Drain(*all).size(), 4u);
}

TEST(FeedTest, WakeOnlyOnEmptyToNonEmpty) {
  Feed feed;
  feed.Publish("ns/a", Val("1"));
  int wakes = 0;
  auto sub = feed.Subscribe(Feed::NamespaceFilter("ns"), [&] { ++wakes; });
  // The snapshot is pending from the start: no wake for it.
  feed.Publish("ns/a", Val("2"));
  EXPECT_EQ(wakes, 0);
  Drain(*sub);

  feed.Publish("ns/a", Val("3"));
  EXPECT_EQ(wakes, 1);
  feed.Publish("ns/b", Val("1"));
  feed.Publish("ns/a", Val("4"));
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(Str(sub->Next()), "UPDATED ns/a 4");
  feed.Publish("ns/c", Val("1"));  // ns/b is still pending
  EXPECT_EQ(wakes, 1);
  Drain(*sub);

  feed.Remove("ns/missing");          // no change
  feed.Publish("other/x", Val("1"));  // filtered out
  EXPECT_EQ(wakes, 1);
  feed.Remove("ns/c");
  EXPECT_EQ(wakes, 2);
  Drain(*sub);
  feed.Close();
  EXPECT_EQ(wakes, 3);
  EXPECT_THAT(Drain(*sub), ::testing::ElementsAre("CLOSED"));
  feed.Publish("ns/a", Val("5"));
  EXPECT_EQ(wakes, 3);
}

TEST(FeedTest, CloseEndsEverySubscription) {
  Feed feed;
  feed.Publish("ns/a", Val("1"));
  int idle_wakes = 0;
  int busy_wakes = 0;
  auto idle = feed.Subscribe(nullptr, [&] { ++idle_wakes; });
  auto busy = feed.Subscribe(nullptr, [&] { ++busy_wakes; });
  Drain(*idle);
  EXPECT_EQ(Str(busy->Next()), "SNAPSHOT ns/a 1");
  EXPECT_FALSE(feed.closed());

  feed.Close();
  feed.Close();  // idempotent
  EXPECT_TRUE(feed.closed());
  EXPECT_EQ(idle_wakes, 1);
  EXPECT_EQ(busy_wakes, 0);  // it had events pending already
  // Pending events are dropped; kClosed is the last event.
  EXPECT_THAT(Drain(*idle), ::testing::ElementsAre("CLOSED"));
  EXPECT_THAT(Drain(*busy), ::testing::ElementsAre("CLOSED"));

  // Values can still be stored, but nobody hears of them.
  feed.Publish("ns/b", Val("1"));
  EXPECT_EQ(Str(idle->Next()), "none");
  EXPECT_NE(feed.Get("ns/b"), nullptr);

  auto late = feed.Subscribe(nullptr, nullptr);
  EXPECT_THAT(Drain(*late), ::testing::ElementsAre("CLOSED"));
  EXPECT_EQ(feed.subscriber_count(), 3u);
}

TEST(FeedTest, CancelAndDestructionUnsubscribe) {
  Feed feed;
  int wakes = 0;
  auto a = feed.Subscribe(nullptr, [&] { ++wakes; });
  auto b = feed.Subscribe(nullptr, nullptr);
  EXPECT_EQ(feed.subscriber_count(), 2u);
  Drain(*a);
  a->Cancel();
  a->Cancel();  // idempotent
  EXPECT_EQ(feed.subscriber_count(), 1u);
  feed.Publish("ns/a", Val("1"));
  EXPECT_EQ(wakes, 0);
  EXPECT_EQ(Str(a->Next()), "none");
  b.reset();
  EXPECT_EQ(feed.subscriber_count(), 0u);
}

TEST(FeedTest, SubscriptionMayOutliveFeed) {
  std::unique_ptr<Feed::Subscription> sub;
  int wakes = 0;
  {
    Feed feed;
    feed.Publish("ns/a", Val("1"));
    sub = feed.Subscribe(nullptr, [&] { ++wakes; });
    Drain(*sub);
  }
  EXPECT_EQ(wakes, 1);
  EXPECT_THAT(Drain(*sub), ::testing::ElementsAre("CLOSED"));
}

// Publishers on several threads, one consumer driven by the wake callback
// and one that pulls only at the end: both end with the last state.
TEST(FeedTest, ConcurrentPublishersConsumerSeesFinalState) {
  constexpr int kThreads = 4;
  constexpr int kKeys = 20;
  constexpr int kRounds = 500;
  Feed feed;
  for (int k = 0; k < kKeys; ++k) {
    feed.Publish(absl::StrCat("ns/t0-", k), Val("initial"));
  }

  absl::Mutex mu;
  bool woken = false;
  bool publishers_done = false;
  auto sub = feed.Subscribe(nullptr, [&] {
    absl::MutexLock lock(&mu);
    woken = true;
  });
  auto lazy = feed.Subscribe(nullptr, nullptr);

  std::map<std::string, std::string> seen;
  auto apply = [](const FeedEvent& event,
                  std::map<std::string, std::string>* state) {
    switch (event.type) {
      case Type::kSnapshot:
      case Type::kUpdated:
        (*state)[event.key] = event.As<TagSet>()->revision();
        break;
      case Type::kDeleted:
        ASSERT_EQ(state->erase(event.key), 1u) << event.key;
        break;
      default:
        break;
    }
  };
  std::thread consumer([&] {
    while (true) {
      bool done;
      {
        absl::MutexLock lock(&mu);
        mu.AwaitWithTimeout(absl::Condition(
                                +[](bool* b) { return *b; }, &woken),
                            absl::Milliseconds(50));
        woken = false;
        done = publishers_done;
      }
      // Drained after reading `done`: nothing published is missed.
      while (auto event = sub->Next()) apply(*event, &seen);
      if (done) break;
    }
  });

  std::vector<std::thread> publishers;
  for (int t = 0; t < kThreads; ++t) {
    publishers.emplace_back([&feed, t] {
      for (int r = 0; r < kRounds; ++r) {
        for (int k = 0; k < kKeys; ++k) {
          const std::string key = absl::StrCat("ns/t", t, "-", k);
          if ((r + k) % 7 == 0) {
            feed.Remove(key);
          } else {
            feed.Publish(key, Val(absl::StrCat(r)));
          }
        }
      }
    });
  }
  for (auto& thread : publishers) thread.join();
  {
    absl::MutexLock lock(&mu);
    publishers_done = true;
  }
  consumer.join();

  std::map<std::string, std::string> expected;
  for (int t = 0; t < kThreads; ++t) {
    for (int k = 0; k < kKeys; ++k) {
      const std::string key = absl::StrCat("ns/t", t, "-", k);
      if (auto value = feed.Get(key)) {
        expected[key] =
            std::static_pointer_cast<const TagSet>(value)->revision();
      }
    }
  }
  // Last round: keys with (kRounds - 1 + k) % 7 == 0 are removed.
  EXPECT_EQ(expected.size(), static_cast<size_t>(kThreads * (kKeys - 3)));
  EXPECT_EQ(seen, expected);

  std::map<std::string, std::string> lazily_seen;
  size_t lazy_events = 0;
  while (auto event = lazy->Next()) {
    ++lazy_events;
    apply(*event, &lazily_seen);
  }
  EXPECT_EQ(lazily_seen, expected);
  // Snapshot + end + at most one event per key.
  EXPECT_LE(lazy_events, static_cast<size_t>(kKeys + 1 + kThreads * kKeys));
}

// After Cancel() returns, the wake callback never runs again, even while
// other threads keep publishing.
TEST(FeedTest, NoWakeAfterCancelReturns) {
  Feed feed;
  std::atomic<bool> cancelled{false};
  std::atomic<bool> woke_after_cancel{false};
  std::atomic<int> wakes{0};
  std::unique_ptr<Feed::Subscription> sub;
  Feed::Subscription* raw = nullptr;
  sub = feed.Subscribe(nullptr, [&] {
    if (cancelled.load()) woke_after_cancel = true;
    ++wakes;
    while (raw->Next()) {
    }
  });
  raw = sub.get();
  Drain(*sub);

  std::atomic<bool> stop{false};
  std::vector<std::thread> publishers;
  for (int t = 0; t < 3; ++t) {
    publishers.emplace_back([&feed, &stop, t] {
      for (int i = 0; !stop.load(); ++i) {
        feed.Publish(absl::StrCat("ns/", t), Val(absl::StrCat(i)));
      }
    });
  }
  while (wakes.load() < 100) std::this_thread::yield();
  sub->Cancel();
  cancelled = true;
  const int wakes_at_cancel = wakes.load();
  for (int i = 0; i < 1000; ++i) feed.Publish("ns/main", Val("x"));
  stop = true;
  for (auto& thread : publishers) thread.join();
  EXPECT_FALSE(woke_after_cancel.load());
  EXPECT_EQ(wakes.load(), wakes_at_cancel);
  EXPECT_EQ(feed.subscriber_count(), 0u);
}

}  // namespace
}  // namespace ia
