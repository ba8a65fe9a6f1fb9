// Clock: the time source of the controller loop, behind an interface so that
// tests run on a fake clock they advance by hand, never on the wall clock.
// Implementations are thread-safe.
#ifndef COMMON_CLOCK_H_
#define COMMON_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace ia {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
  // Waits on `cv`, whose `mu` the caller holds, until it is signalled or
  // `deadline` (on this clock) has passed. May return early: callers check
  // their condition and Now() again in a loop.
  virtual void WaitUntil(absl::CondVar* cv, absl::Mutex* mu,
                         absl::Time deadline) const = 0;
};

// The process-wide wall clock. Never null; not owned.
Clock* RealClock();

// A clock that only moves when told to. Waiters poll it every millisecond of
// real time, so Advance() needs no cooperation from them (a wait whose
// deadline is absl::InfiniteFuture() only ends on a signal).
class FakeClock : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1'700'000'000));
  absl::Time Now() const override;
  void WaitUntil(absl::CondVar* cv, absl::Mutex* mu,
                 absl::Time deadline) const override;
  // Moves the clock forward by `d`.
  void Advance(absl::Duration d);
  // Sets the clock to `t` (which may be earlier than Now()).
  void Set(absl::Time t);

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ia

#endif  // COMMON_CLOCK_H_
