// Tests of common/clock.h: the wall clock and the fake clock that the
// controller tests drive by hand.
#include "common/clock.h"

#include <gtest/gtest.h>

#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace ia {
namespace {

TEST(ClockTest, RealClockIsTheWallClock) {
  const absl::Time before = absl::Now();
  const absl::Time now = RealClock()->Now();
  const absl::Time after = absl::Now();
  EXPECT_LE(before, now);
  EXPECT_LE(now, after);
  EXPECT_EQ(RealClock(), RealClock());
}

TEST(ClockTest, RealClockWaitUntilPastDeadlineReturns) {
  absl::Mutex mu;
  absl::CondVar cv;
  absl::MutexLock lock(&mu);
  RealClock()->WaitUntil(&cv, &mu, absl::Now() - absl::Seconds(1));
}

TEST(ClockTest, RealClockWaitUntilReachesItsDeadline) {
  absl::Mutex mu;
  absl::CondVar cv;
  const absl::Time deadline = RealClock()->Now() + absl::Milliseconds(5);
  absl::MutexLock lock(&mu);
  while (RealClock()->Now() < deadline) {
    RealClock()->WaitUntil(&cv, &mu, deadline);
  }
  EXPECT_GE(RealClock()->Now(), deadline);
}

TEST(ClockTest, RealClockWaitUntilWakesOnSignal) {
  absl::Mutex mu;
  absl::CondVar cv;
  bool ready = false;
  std::thread signaller([&] {
    absl::MutexLock lock(&mu);
    ready = true;
    cv.Signal();
  });
  {
    absl::MutexLock lock(&mu);
    while (!ready) RealClock()->WaitUntil(&cv, &mu, absl::InfiniteFuture());
  }
  signaller.join();
}

TEST(ClockTest, FakeClockStartsWhereToldAndMovesOnlyWhenTold) {
  EXPECT_EQ(FakeClock().Now(), absl::FromUnixSeconds(1'700'000'000));
  const absl::Time start = absl::FromUnixSeconds(42);
  FakeClock clock(start);
  EXPECT_EQ(clock.Now(), start);
  EXPECT_EQ(clock.Now(), start);
  clock.Advance(absl::Seconds(3));
  EXPECT_EQ(clock.Now(), start + absl::Seconds(3));
  clock.Set(start - absl::Hours(1));
  EXPECT_EQ(clock.Now(), start - absl::Hours(1));
}

TEST(ClockTest, FakeClockWaitUntilPastDeadlineReturns) {
  FakeClock clock;
  absl::Mutex mu;
  absl::CondVar cv;
  absl::MutexLock lock(&mu);
  clock.WaitUntil(&cv, &mu, clock.Now());
  clock.WaitUntil(&cv, &mu, clock.Now() - absl::Seconds(1));
}

TEST(ClockTest, FakeClockWaiterSeesAdvancePastItsDeadline) {
  FakeClock clock;
  absl::Mutex mu;
  absl::CondVar cv;
  const absl::Time deadline = clock.Now() + absl::Hours(1);
  absl::Time woke_at;
  std::thread waiter([&] {
    absl::MutexLock lock(&mu);
    while (clock.Now() < deadline) clock.WaitUntil(&cv, &mu, deadline);
    woke_at = clock.Now();
  });
  // Nobody signals `cv`: the waiter must notice the advance by itself.
  clock.Advance(absl::Minutes(30));
  absl::SleepFor(absl::Milliseconds(5));  // Lets the waiter poll meanwhile.
  clock.Advance(absl::Minutes(30));
  waiter.join();
  EXPECT_GE(woke_at, deadline);
}

TEST(ClockTest, FakeClockWaitUntilWakesOnSignal) {
  for (const absl::Duration wait : {absl::Hours(1), absl::InfiniteDuration()}) {
    FakeClock clock;
    absl::Mutex mu;
    absl::CondVar cv;
    bool ready = false;
    const absl::Time deadline = clock.Now() + wait;
    std::thread signaller([&] {
      absl::MutexLock lock(&mu);
      ready = true;
      cv.Signal();
    });
    {
      absl::MutexLock lock(&mu);
      while (!ready && clock.Now() < deadline) {
        clock.WaitUntil(&cv, &mu, deadline);
      }
      EXPECT_TRUE(ready);
    }
    signaller.join();
  }
}

}  // namespace
}  // namespace ia
