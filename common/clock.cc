// Clock implementations: the process-wide wall clock and a fake clock for
// tests. Both are thread-safe.
#include "common/clock.h"

namespace ia {
namespace {

// The real clock: absl::Now() and the condition variable's own deadline.
class WallClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }

  void WaitUntil(absl::CondVar* cv, absl::Mutex* mu,
                 absl::Time deadline) const override {
    // An infinite deadline waits for a signal alone; absl handles it.
    cv->WaitWithDeadline(mu, deadline);
  }
};

// How often a FakeClock waiter wakes up in real time to look at Now() again.
constexpr absl::Duration kFakeClockPoll = absl::Milliseconds(1);

}  // namespace

Clock* RealClock() {
  // Never destroyed, so it may be used from threads that outlive main().
  static WallClock* const clock = new WallClock();
  return clock;
}

FakeClock::FakeClock(absl::Time start) : now_(start) {}

absl::Time FakeClock::Now() const {
  absl::MutexLock lock(&mu_);
  return now_;
}

void FakeClock::WaitUntil(absl::CondVar* cv, absl::Mutex* mu,
                          absl::Time deadline) const {
  // The caller holds `mu`; we take our own `mu_` only briefly inside Now(),
  // so the lock order is always caller's mutex -> mu_.
  if (Now() >= deadline) return;
  if (deadline == absl::InfiniteFuture()) {
    // No Advance() can reach the deadline: only a signal ends this wait.
    cv->Wait(mu);
    return;
  }
  // A short real-time wait: the caller loops and re-reads Now(), which
  // Advance() may have moved in the meantime.
  cv->WaitWithTimeout(mu, kFakeClockPoll);
}

void FakeClock::Advance(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  now_ += d;
}

void FakeClock::Set(absl::Time t) {
  absl::MutexLock lock(&mu_);
  now_ = t;
}

}  // namespace ia
