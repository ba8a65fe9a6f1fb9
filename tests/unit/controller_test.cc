// Tests of common/controller.h on a FakeClock: retries with backoff,
// requeue_after, Stop() waiting for reconciles in flight, and one key never
// reconciled by two workers at once.
#include "common/controller.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace ia {
namespace {

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

// Counts the reconciles of each key.
class Calls {
 public:
  void Record(const std::string& key) {
    absl::MutexLock lock(&mu_);
    ++counts_[key];
  }
  int Count(const std::string& key) const {
    absl::MutexLock lock(&mu_);
    auto it = counts_.find(key);
    return it == counts_.end() ? 0 : it->second;
  }

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, int> counts_ ABSL_GUARDED_BY(mu_);
};

Controller::Options FakeOptions(const FakeClock* clock, int workers = 2) {
  Controller::Options options;
  options.name = "test";
  options.workers = workers;
  options.backoff = Backoff{absl::Seconds(1), absl::Seconds(30)};
  options.clock = clock;
  return options;
}

TEST(ControllerTest, KeysEnqueuedBeforeStartWaitForIt) {
  FakeClock clock;
  Calls calls;
  Controller controller(FakeOptions(&clock), [&](const std::string& key) {
    calls.Record(key);
    return ReconcileResult{};
  });
  controller.Enqueue("ns/a");
  EXPECT_EQ(controller.queue().Len(), 1);
  EXPECT_EQ(calls.Count("ns/a"), 0);  // No worker exists yet.
  controller.Start();
  ASSERT_TRUE(WaitFor([&] { return calls.Count("ns/a") == 1; }));
  controller.Stop();
  EXPECT_EQ(calls.Count("ns/a"), 1);  // OK without requeue: nothing more.
  EXPECT_EQ(controller.queue().DelayedLen(), 0);
}

TEST(ControllerTest, ErrorsAreRetriedWithBackoffUntilSuccess) {
  FakeClock clock;
  Calls calls;
  Controller controller(FakeOptions(&clock), [&](const std::string& key) {
    calls.Record(key);
    if (calls.Count(key) <= 3) {
      return absl::StatusOr<ReconcileResult>(absl::UnavailableError("down"));
    }
    return absl::StatusOr<ReconcileResult>(ReconcileResult{});
  });
  WorkQueue& queue = controller.queue();
  controller.Start();
  controller.Enqueue("ns/a");

  for (const int failures : {1, 2, 3}) {
    SCOPED_TRACE(absl::StrCat("after failure ", failures));
    // The worker records the failure and schedules the retry.
    ASSERT_TRUE(WaitFor([&] {
      return queue.Failures("ns/a") == failures && queue.DelayedLen() == 1;
    }));
    EXPECT_EQ(calls.Count("ns/a"), failures);
    // Backoff 1 s, 2 s, 4 s: not due a millisecond before.
    const absl::Duration backoff = absl::Seconds(1 << (failures - 1));
    clock.Advance(backoff - absl::Milliseconds(1));
    EXPECT_EQ(queue.DelayedLen(), 1);
    EXPECT_EQ(calls.Count("ns/a"), failures);
    clock.Advance(absl::Milliseconds(1));
    ASSERT_TRUE(WaitFor([&] { return calls.Count("ns/a") == failures + 1; }));
  }
  // The fourth reconcile succeeds: failures forgotten, nothing queued.
  ASSERT_TRUE(WaitFor([&] { return queue.Failures("ns/a") == 0; }));
  EXPECT_EQ(queue.DelayedLen(), 0);
  EXPECT_EQ(queue.Len(), 0);
  controller.Stop();
  EXPECT_EQ(calls.Count("ns/a"), 4);
}

TEST(ControllerTest, RequeueAfterIsHonouredAndForgetsFailures) {
  FakeClock clock;
  Calls calls;
  Controller controller(FakeOptions(&clock), [&](const std::string& key) {
    calls.Record(key);
    if (calls.Count(key) == 1) {
      return absl::StatusOr<ReconcileResult>(absl::InternalError("once"));
    }
    return absl::StatusOr<ReconcileResult>(
        ReconcileResult{.requeue_after = absl::Minutes(10)});
  });
  WorkQueue& queue = controller.queue();
  controller.Start();
  controller.Enqueue("ns/a");
  ASSERT_TRUE(WaitFor([&] { return queue.Failures("ns/a") == 1; }));
  clock.Advance(absl::Seconds(1));
  ASSERT_TRUE(WaitFor([&] {
    return calls.Count("ns/a") == 2 && queue.Failures("ns/a") == 0 &&
           queue.DelayedLen() == 1;
  }));
  for (int round = 3; round <= 5; ++round) {
    clock.Advance(absl::Minutes(10) - absl::Milliseconds(1));
    EXPECT_EQ(queue.DelayedLen(), 1);
    EXPECT_EQ(calls.Count("ns/a"), round - 1);
    clock.Advance(absl::Milliseconds(1));
    ASSERT_TRUE(WaitFor([&] {
      return calls.Count("ns/a") == round && queue.DelayedLen() == 1;
    }));
  }
  controller.Stop();
}

TEST(ControllerTest, ExceptionsCountAsErrors) {
  FakeClock clock;
  Calls calls;
  Controller controller(FakeOptions(&clock), [&](const std::string& key) {
    calls.Record(key);
    if (calls.Count(key) == 1) throw std::runtime_error("boom");
    return ReconcileResult{};
  });
  controller.Start();
  controller.Enqueue("ns/a");
  ASSERT_TRUE(
      WaitFor([&] { return controller.queue().Failures("ns/a") == 1; }));
  clock.Advance(absl::Seconds(1));
  ASSERT_TRUE(
      WaitFor([&] { return controller.queue().Failures("ns/a") == 0; }));
  EXPECT_EQ(calls.Count("ns/a"), 2);
}

TEST(ControllerTest, EnqueueAfterUsesTheClock) {
  FakeClock clock;
  Calls calls;
  Controller controller(FakeOptions(&clock), [&](const std::string& key) {
    calls.Record(key);
    return ReconcileResult{};
  });
  controller.Start();
  controller.EnqueueAfter("ns/a", absl::Seconds(30));
  clock.Advance(absl::Seconds(29));
  EXPECT_EQ(controller.queue().DelayedLen(), 1);
  EXPECT_EQ(calls.Count("ns/a"), 0);
  clock.Advance(absl::Seconds(1));
  ASSERT_TRUE(WaitFor([&] { return calls.Count("ns/a") == 1; }));
}

TEST(ControllerTest, RunsUpToNWorkersInParallel) {
  FakeClock clock;
  absl::Notification release;
  std::atomic<int> running{0};
  Controller controller(FakeOptions(&clock, /*workers=*/3),
                        [&](const std::string& key) {
                          ++running;
                          release.WaitForNotification();
                          return ReconcileResult{};
                        });
  controller.Start();
  for (const char* key : {"ns/a", "ns/b", "ns/c", "ns/d"}) {
    controller.Enqueue(key);
  }
  ASSERT_TRUE(WaitFor([&] { return running == 3; }));
  EXPECT_EQ(controller.queue().Len(), 1);  // The fourth waits for a worker.
  EXPECT_EQ(controller.queue().ProcessingLen(), 3);
  release.Notify();
  ASSERT_TRUE(WaitFor([&] { return running == 4; }));
  controller.Stop();
}

TEST(ControllerTest, StopWaitsForReconcilesInFlightAndDropsTheRest) {
  FakeClock clock;
  absl::Notification started, release;
  std::atomic<bool> finished{false};
  Calls calls;
  Controller controller(FakeOptions(&clock, /*workers=*/1),
                        [&](const std::string& key) {
                          calls.Record(key);
                          started.Notify();
                          release.WaitForNotification();
                          finished = true;
                          return ReconcileResult{};
                        });
  controller.Start();
  controller.Enqueue("ns/a");
  started.WaitForNotification();
  controller.Enqueue("ns/queued");  // Never reconciled: Stop drops it.

  bool finished_when_stop_returned = false;
  std::thread stopper([&] {
    controller.Stop();
    finished_when_stop_returned = finished;
  });
  absl::SleepFor(absl::Milliseconds(10));  // Gives a wrong Stop a chance
                                           // to return early.
  release.Notify();
  stopper.join();
  EXPECT_TRUE(finished_when_stop_returned);
  EXPECT_EQ(calls.Count("ns/queued"), 0);

  // Stopped for good: idempotent, and later keys are ignored.
  controller.Stop();
  controller.Enqueue("ns/late");
  controller.Start();
  EXPECT_EQ(calls.Count("ns/late"), 0);
  EXPECT_EQ(calls.Count("ns/a"), 1);
}

TEST(ControllerTest, StopWithoutStartAndDestructorAreSafe) {
  FakeClock clock;
  {
    Controller never_started(FakeOptions(&clock), [](const std::string&) {
      return ReconcileResult{};
    });
    never_started.Enqueue("ns/a");
    never_started.Stop();
  }
  {
    Controller destroyed_running(FakeOptions(&clock), [](const std::string&) {
      return ReconcileResult{.requeue_after = absl::Seconds(1)};
    });
    destroyed_running.Start();
    destroyed_running.Enqueue("ns/a");
  }  // The destructor stops and joins.
}

// Several threads enqueue a few keys over and over; reconciles sometimes
// fail or ask for a requeue. No key may be reconciled by two workers at
// once, and every key must be reconciled after its last Enqueue.
TEST(ControllerConcurrencyTest, NoKeyIsReconciledConcurrently) {
  constexpr int kKeys = 8;
  constexpr int kEnqueuers = 4;
  constexpr int kEnqueuesEach = 2000;
  absl::Mutex mu;
  int64_t seq = 0;
  absl::flat_hash_set<std::string> in_flight;
  std::map<std::string, int64_t> last_enqueue, last_start;
  int overlaps = 0;
  int64_t total = 0;

  Controller::Options options;
  options.name = "stress";
  options.workers = 4;
  options.backoff = Backoff{absl::Microseconds(50), absl::Milliseconds(1)};
  options.clock = RealClock();
  Controller controller(
      options, [&](const std::string& key) -> absl::StatusOr<ReconcileResult> {
        int64_t n;
        {
          absl::MutexLock lock(&mu);
          if (!in_flight.insert(key).second) ++overlaps;
          last_start[key] = ++seq;
          n = ++total;
        }
        std::this_thread::yield();
        {
          absl::MutexLock lock(&mu);
          in_flight.erase(key);
        }
        if (n % 5 == 0) return absl::UnavailableError("flaky");
        if (n % 7 == 0) {
          return ReconcileResult{.requeue_after = absl::Microseconds(100)};
        }
        return ReconcileResult{};
      });
  controller.Start();
  std::vector<std::thread> enqueuers;
  for (int e = 0; e < kEnqueuers; ++e) {
    enqueuers.emplace_back([&, e] {
      for (int i = 0; i < kEnqueuesEach; ++i) {
        const std::string key = absl::StrCat("ns/k", (i + e) % kKeys);
        {
          absl::MutexLock lock(&mu);
          last_enqueue[key] = ++seq;
        }
        controller.Enqueue(key);
      }
    });
  }
  for (std::thread& enqueuer : enqueuers) enqueuer.join();
  const bool caught_up = WaitFor([&] {
    absl::MutexLock lock(&mu);
    for (const auto& [key, enqueued] : last_enqueue) {
      auto it = last_start.find(key);
      if (it == last_start.end() || it->second < enqueued) return false;
    }
    return true;
  });
  controller.Stop();
  EXPECT_TRUE(caught_up) << "some key was not reconciled after its enqueue";
  absl::MutexLock lock(&mu);
  EXPECT_EQ(overlaps, 0) << "a key was reconciled by two workers at once";
  EXPECT_TRUE(in_flight.empty());
  EXPECT_EQ(last_enqueue.size(), kKeys);
}

}  // namespace
}  // namespace ia
