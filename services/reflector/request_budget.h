// RequestBudget: the per-host rate limit of the registry client. Every
// request to one registry origin draws from a token bucket shared by all
// repositories on it: `requests_per_second` tokens flow in per second, up to
// a burst of the same size (at least one), and the bucket starts full.
//
// Decides only: the caller passes `now`, and waits (or not) itself.
// Thread-safe.
#ifndef SERVICES_REFLECTOR_REQUEST_BUDGET_H_
#define SERVICES_REFLECTOR_REQUEST_BUDGET_H_

#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace ia::reflector {

class RequestBudget {
 public:
  // `requests_per_second` <= 0: no limit.
  explicit RequestBudget(double requests_per_second);

  RequestBudget(const RequestBudget&) = delete;
  RequestBudget& operator=(const RequestBudget&) = delete;

  // Takes one request from the bucket of `key` (an origin) at `now` and
  // returns when it may be sent: `now` while the budget lasts, later when it
  // is spent (requests queue up behind each other). When that time would be
  // after `deadline`, nothing is taken and the result is nullopt.
  std::optional<absl::Time> Take(const std::string& key, absl::Time now,
                                 absl::Time deadline);

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time last;
  };

  const double rate_;
  const double burst_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ia::reflector

#endif  // SERVICES_REFLECTOR_REQUEST_BUDGET_H_
