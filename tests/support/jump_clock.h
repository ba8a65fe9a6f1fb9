// JumpClock: a Clock for tests of code that waits (retries, Retry-After,
// request budgets). A wait jumps the clock straight to its deadline and is
// recorded, so the code under test finishes at once and the test reads how
// long it would have waited. Waits without a deadline block as usual.
//
// Thread-safe.
#ifndef TESTS_SUPPORT_JUMP_CLOCK_H_
#define TESTS_SUPPORT_JUMP_CLOCK_H_

#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace ia::testing {

class JumpClock : public Clock {
 public:
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void WaitUntil(absl::CondVar* cv, absl::Mutex* mu,
                 absl::Time deadline) const override {
    if (deadline == absl::InfiniteFuture()) {
      cv->Wait(mu);
      return;
    }
    absl::MutexLock lock(&mu_);
    if (deadline > now_) {
      waits_.push_back(deadline - now_);
      now_ = deadline;
    }
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }
  // Every wait so far, in order.
  std::vector<absl::Duration> waits() const {
    absl::MutexLock lock(&mu_);
    return waits_;
  }
  // Their sum.
  absl::Duration waited() const {
    absl::Duration total;
    for (absl::Duration d : waits()) total += d;
    return total;
  }

 private:
  mutable absl::Mutex mu_;
  mutable absl::Time now_ ABSL_GUARDED_BY(mu_) =
      absl::FromUnixSeconds(1'700'000'000);
  mutable std::vector<absl::Duration> waits_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ia::testing

#endif  // TESTS_SUPPORT_JUMP_CLOCK_H_
