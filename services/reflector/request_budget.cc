// The token buckets of RequestBudget.
#include "services/reflector/request_budget.h"

#include <algorithm>

namespace ia::reflector {

RequestBudget::RequestBudget(double requests_per_second)
    : rate_(requests_per_second), burst_(std::max(1.0, requests_per_second)) {}

std::optional<absl::Time> RequestBudget::Take(const std::string& key,
                                              absl::Time now,
                                              absl::Time deadline) {
  if (rate_ <= 0) return now;
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = buckets_.try_emplace(key);
  Bucket& bucket = it->second;
  if (inserted) {
    bucket.tokens = burst_;
    bucket.last = now;
  }
  if (now > bucket.last) {
    bucket.tokens =
        std::min(burst_, bucket.tokens +
                             absl::ToDoubleSeconds(now - bucket.last) * rate_);
    bucket.last = now;
  }
  bucket.tokens -= 1;
  if (bucket.tokens >= 0) return now;
  const absl::Time until = now + absl::Seconds(-bucket.tokens / rate_);
  if (until > deadline) {
    bucket.tokens += 1;  // not taken after all
    return std::nullopt;
  }
  return until;
}

}  // namespace ia::reflector
