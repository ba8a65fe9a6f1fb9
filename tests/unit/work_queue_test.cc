// Tests of common/work_queue.h: dedupe, dirty re-adds, delays and backoff on
// a FakeClock, shutdown, and many threads adding and processing at once.
#include "common/work_queue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace ia {
namespace {

using ::testing::Optional;

// Polls `done` until it holds or a generous real-time deadline passes.
bool WaitFor(const std::function<bool()>& done,
             absl::Duration timeout = absl::Seconds(60)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

class WorkQueueTest : public testing::Test {
 protected:
  FakeClock clock_;
  WorkQueue queue_{&clock_, Backoff{absl::Seconds(1), absl::Seconds(10)}};
};

TEST_F(WorkQueueTest, AddDedupesAndKeepsFifoOrder) {
  queue_.Add("ns/a");
  queue_.Add("ns/b");
  queue_.Add("ns/a");
  queue_.Add("ns/c");
  queue_.Add("ns/b");
  EXPECT_EQ(queue_.Len(), 3);
  EXPECT_THAT(queue_.Get(), Optional(std::string("ns/a")));
  EXPECT_THAT(queue_.Get(), Optional(std::string("ns/b")));
  EXPECT_THAT(queue_.Get(), Optional(std::string("ns/c")));
  EXPECT_EQ(queue_.Len(), 0);
  EXPECT_EQ(queue_.ProcessingLen(), 3);
  EXPECT_EQ(queue_.TryGet(), std::nullopt);
}

TEST_F(WorkQueueTest, AddWhileProcessingQueuesAgainOnDone) {
  queue_.Add("ns/a");
  ASSERT_THAT(queue_.Get(), Optional(std::string("ns/a")));
  // Processing: a re-add marks it dirty but does not hand it out again.
  queue_.Add("ns/a");
  queue_.Add("ns/a");
  EXPECT_EQ(queue_.Len(), 0);
  EXPECT_EQ(queue_.TryGet(), std::nullopt);
  queue_.Done("ns/a");
  EXPECT_EQ(queue_.Len(), 1);
  EXPECT_EQ(queue_.ProcessingLen(), 0);
  EXPECT_THAT(queue_.TryGet(), Optional(std::string("ns/a")));
  queue_.Done("ns/a");
  EXPECT_EQ(queue_.TryGet(), std::nullopt);
}

TEST_F(WorkQueueTest, DoneWithoutReAddForgetsTheKey) {
  queue_.Add("ns/a");
  ASSERT_TRUE(queue_.TryGet().has_value());
  queue_.Done("ns/a");
  EXPECT_EQ(queue_.Len(), 0);
  EXPECT_EQ(queue_.ProcessingLen(), 0);
  EXPECT_EQ(queue_.TryGet(), std::nullopt);
}

TEST_F(WorkQueueTest, AddAfterWaitsForTheClock) {
  queue_.AddAfter("ns/a", absl::Seconds(10));
  EXPECT_EQ(queue_.Len(), 0);
  EXPECT_EQ(queue_.DelayedLen(), 1);
  EXPECT_EQ(queue_.TryGet(), std::nullopt);
  clock_.Advance(absl::Seconds(10) - absl::Nanoseconds(1));
  EXPECT_EQ(queue_.Len(), 0);
  EXPECT_EQ(queue_.DelayedLen(), 1);
  EXPECT_EQ(queue_.TryGet(), std::nullopt);
  clock_.Advance(absl::Nanoseconds(1));
  EXPECT_EQ(queue_.Len(), 1);
  EXPECT_EQ(queue_.DelayedLen(), 0);
  EXPECT_THAT(queue_.TryGet(), Optional(std::string("ns/a")));
  queue_.Done("ns/a");
  clock_.Advance(absl::Hours(1));
  EXPECT_EQ(queue_.TryGet(), std::nullopt);
}

TEST_F(WorkQueueTest, NonPositiveDelayIsAdd) {
  queue_.AddAfter("ns/a", absl::ZeroDuration());
  queue_.AddAfter("ns/b", -absl::Seconds(1));
  EXPECT_EQ(queue_.DelayedLen(), 0);
  EXPECT_THAT(queue_.TryGet(), Optional(std::string("ns/a")));
  EXPECT_THAT(queue_.TryGet(), Optional(std::string("ns/b")));
}

TEST_F(WorkQueueTest, EarliestDelayWins) {
  queue_.AddAfter("ns/a", absl::Seconds(10));
  queue_.AddAfter("ns/a", absl::Seconds(5));   // Earlier: replaces.
  queue_.AddAfter("ns/a", absl::Seconds(20));  // Later: ignored.
  EXPECT_EQ(queue_.DelayedLen(), 1);
  clock_.Advance(absl::Seconds(5) - absl::Nanoseconds(1));
  EXPECT_EQ(queue_.TryGet(), std::nullopt);
  clock_.Advance(absl::Nanoseconds(1));
  ASSERT_THAT(queue_.TryGet(), Optional(std::string("ns/a")));
  queue_.Done("ns/a");
  // Neither the 10 s nor the 20 s entry is still pending.
  EXPECT_EQ(queue_.DelayedLen(), 0);
  clock_.Advance(absl::Seconds(20));
  EXPECT_EQ(queue_.TryGet(), std::nullopt);
}

TEST_F(WorkQueueTest, DelayedKeysComeOutInDueOrder) {
  queue_.AddAfter("ns/late", absl::Seconds(3));
  queue_.AddAfter("ns/early", absl::Seconds(1));
  queue_.AddAfter("ns/middle", absl::Seconds(2));
  clock_.Advance(absl::Seconds(3));
  EXPECT_EQ(queue_.Len(), 3);
  EXPECT_THAT(queue_.TryGet(), Optional(std::string("ns/early")));
  EXPECT_THAT(queue_.TryGet(), Optional(std::string("ns/middle")));
  EXPECT_THAT(queue_.TryGet(), Optional(std::string("ns/late")));
}

TEST_F(WorkQueueTest, DelayedKeyThatIsAlreadyQueuedIsNotDuplicated) {
  queue_.Add("ns/a");
  queue_.AddAfter("ns/a", absl::Seconds(1));
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(queue_.Len(), 1);
  EXPECT_THAT(queue_.TryGet(), Optional(std::string("ns/a")));
  EXPECT_EQ(queue_.TryGet(), std::nullopt);
}

TEST_F(WorkQueueTest, DelayedKeyDueWhileProcessingIsQueuedOnDone) {
  queue_.Add("ns/a");
  ASSERT_TRUE(queue_.TryGet().has_value());
  queue_.AddAfter("ns/a", absl::Seconds(1));
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(queue_.TryGet(), std::nullopt);
  queue_.Done("ns/a");
  EXPECT_THAT(queue_.TryGet(), Optional(std::string("ns/a")));
}

// Advances the clock to just before `key` is due, checks it is not ready,
// then to the due time and takes it.
void ExpectReadyAfter(WorkQueue& queue, FakeClock& clock,
                      const std::string& key, absl::Duration delay) {
  SCOPED_TRACE(absl::StrCat("expected delay ", absl::FormatDuration(delay)));
  clock.Advance(delay - absl::Milliseconds(1));
  EXPECT_EQ(queue.TryGet(), std::nullopt);
  clock.Advance(absl::Milliseconds(1));
  EXPECT_THAT(queue.TryGet(), Optional(key));
  queue.Done(key);
}

TEST_F(WorkQueueTest, RateLimitedBackoffDoublesUpToTheCapUntilForget) {
  for (const int seconds : {1, 2, 4, 8, 10, 10}) {
    queue_.AddRateLimited("ns/a");
    ExpectReadyAfter(queue_, clock_, "ns/a", absl::Seconds(seconds));
  }
  EXPECT_EQ(queue_.Failures("ns/a"), 6);
  EXPECT_EQ(queue_.Failures("ns/b"), 0);

  // Backoff is per key.
  queue_.AddRateLimited("ns/b");
  ExpectReadyAfter(queue_, clock_, "ns/b", absl::Seconds(1));

  queue_.Forget("ns/a");
  EXPECT_EQ(queue_.Failures("ns/a"), 0);
  queue_.AddRateLimited("ns/a");
  ExpectReadyAfter(queue_, clock_, "ns/a", absl::Seconds(1));
}

TEST_F(WorkQueueTest, BackoffNeverOverflows) {
  for (int i = 0; i < 200; ++i) {
    queue_.AddRateLimited("ns/a");
    queue_.Forget("ns/b");
  }
  EXPECT_EQ(queue_.Failures("ns/a"), 200);
  // All 200 delays were capped at 10 s; the earliest (1 s) is pending.
  ExpectReadyAfter(queue_, clock_, "ns/a", absl::Seconds(1));
  queue_.AddRateLimited("ns/a");
  ExpectReadyAfter(queue_, clock_, "ns/a", absl::Seconds(10));
}

TEST_F(WorkQueueTest, BlockedGetWakesWhenTheClockReachesADelayedKey) {
  queue_.AddAfter("ns/a", absl::Minutes(5));
  std::optional<std::string> got;
  std::atomic<bool> returned{false};
  std::thread getter([&] {
    got = queue_.Get();
    returned = true;
  });
  clock_.Advance(absl::Minutes(4));
  EXPECT_EQ(queue_.DelayedLen(), 1);
  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(WaitFor([&] { return returned.load(); }));
  getter.join();
  EXPECT_THAT(got, Optional(std::string("ns/a")));
}

TEST_F(WorkQueueTest, BlockedGetWakesOnAddAndOnEarlierAddAfter) {
  queue_.AddAfter("ns/late", absl::Hours(1));
  std::optional<std::string> first, second;
  std::thread getter([&] {
    first = queue_.Get();
    second = queue_.Get();
  });
  queue_.Add("ns/now");
  // The getter waits for "ns/late" now; an earlier delay must shorten it.
  queue_.AddAfter("ns/soon", absl::Seconds(1));
  clock_.Advance(absl::Seconds(1));
  getter.join();
  EXPECT_THAT(first, Optional(std::string("ns/now")));
  EXPECT_THAT(second, Optional(std::string("ns/soon")));
}

TEST_F(WorkQueueTest, ShutDownWakesEveryBlockedGet) {
  queue_.AddAfter("ns/delayed", absl::Hours(1));  // One getter has a deadline.
  std::atomic<int> returned_nullopt{0};
  std::vector<std::thread> getters;
  for (int i = 0; i < 4; ++i) {
    getters.emplace_back([&] {
      if (!queue_.Get().has_value()) ++returned_nullopt;
    });
  }
  absl::SleepFor(absl::Milliseconds(10));  // Likely blocked by now; either way
                                           // they must return nullopt.
  queue_.ShutDown();
  for (std::thread& getter : getters) getter.join();
  EXPECT_EQ(returned_nullopt, 4);
  EXPECT_TRUE(queue_.ShuttingDown());
}

TEST_F(WorkQueueTest, AfterShutDownGetReturnsNulloptAndAddsAreIgnored) {
  queue_.Add("ns/queued");
  queue_.ShutDown();
  EXPECT_EQ(queue_.Get(), std::nullopt);  // Not drained.
  EXPECT_EQ(queue_.TryGet(), std::nullopt);
  queue_.Add("ns/a");
  queue_.AddAfter("ns/b", absl::Seconds(1));
  queue_.AddRateLimited("ns/c");
  EXPECT_EQ(queue_.DelayedLen(), 0);
  EXPECT_EQ(queue_.Failures("ns/c"), 0);
  EXPECT_EQ(queue_.Get(), std::nullopt);
}

TEST(WorkQueueRealClockTest, AddAfterOnTheRealClock) {
  WorkQueue queue(RealClock(), Backoff{});
  queue.AddAfter("ns/a", absl::Milliseconds(2));
  EXPECT_THAT(queue.Get(), Optional(std::string("ns/a")));
}

TEST(WorkQueueRealClockTest, EarlierAddAfterShortensABlockedGetsWait) {
  WorkQueue queue(RealClock(), Backoff{});
  queue.AddAfter("ns/late", absl::Hours(1));
  std::optional<std::string> got;
  std::atomic<bool> returned{false};
  std::thread getter([&] {
    got = queue.Get();
    returned = true;
  });
  absl::SleepFor(absl::Milliseconds(10));  // Likely waiting for "ns/late".
  queue.AddAfter("ns/soon", absl::Milliseconds(1));
  const bool woke = WaitFor([&] { return returned.load(); });
  queue.ShutDown();  // Frees the getter if it is still stuck.
  getter.join();
  EXPECT_TRUE(woke);
  EXPECT_THAT(got, Optional(std::string("ns/soon")));
}

// Many producers add keys (now, after a delay, rate-limited) while many
// workers process them. No key may be processed by two workers at once, and
// every key must be processed after the last time it was added.
TEST(WorkQueueConcurrencyTest, ManyAddersAndWorkers) {
  WorkQueue queue(RealClock(),
                  Backoff{absl::Microseconds(50), absl::Milliseconds(1)});
  constexpr int kKeys = 16;
  constexpr int kProducers = 4;
  constexpr int kWorkers = 4;
  constexpr int kAddsPerProducer = 3000;

  absl::Mutex mu;
  int64_t seq = 0;
  absl::flat_hash_set<std::string> in_flight;
  std::map<std::string, int64_t> last_add, last_start;
  int overlaps = 0;
  int64_t processed = 0;

  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&] {
      while (std::optional<std::string> key = queue.Get()) {
        {
          absl::MutexLock lock(&mu);
          if (!in_flight.insert(*key).second) ++overlaps;
          last_start[*key] = ++seq;
          ++processed;
        }
        std::this_thread::yield();
        {
          absl::MutexLock lock(&mu);
          in_flight.erase(*key);
        }
        queue.Forget(*key);
        queue.Done(*key);
      }
    });
  }
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kAddsPerProducer; ++i) {
        const std::string key = absl::StrCat("ns/k", (i * 7 + p) % kKeys);
        {
          absl::MutexLock lock(&mu);
          last_add[key] = ++seq;  // Before the add: see the final check.
        }
        switch (i % 3) {
          case 0:
            queue.Add(key);
            break;
          case 1:
            queue.AddAfter(key, absl::Microseconds(i % 200));
            break;
          default:
            queue.AddRateLimited(key);
            break;
        }
      }
    });
  }
  for (std::thread& producer : producers) producer.join();
  const bool caught_up = WaitFor([&] {
    absl::MutexLock lock(&mu);
    for (const auto& [key, added] : last_add) {
      auto it = last_start.find(key);
      if (it == last_start.end() || it->second < added) return false;
    }
    return true;
  });
  queue.ShutDown();
  for (std::thread& worker : workers) worker.join();
  EXPECT_TRUE(caught_up) << "some key was not processed after its last add";
  EXPECT_EQ(overlaps, 0) << "a key was processed by two workers at once";
  EXPECT_EQ(last_add.size(), kKeys);
  EXPECT_GE(processed, kKeys);
}

}  // namespace
}  // namespace ia
