// StreamBackoff: the reconnect delay of the policy service's client streams
// (WatchTagSets, PublishSelections): capped exponential with jitter, reset
// once a stream has worked, and a wait that Stop() interrupts.
//
// Thread-safe.
#ifndef SERVICES_POLICY_STREAM_BACKOFF_H_
#define SERVICES_POLICY_STREAM_BACKOFF_H_

#include <algorithm>
#include <random>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/support/channel_arguments.h"

namespace ia::policy {

class StreamBackoff {
 public:
  StreamBackoff(absl::Duration initial = absl::Milliseconds(100),
                absl::Duration max = absl::Seconds(10))
      : initial_(initial), max_(max), next_(initial) {}

  // The next delay: the current one with +-20% jitter; doubles the current
  // one up to the cap.
  absl::Duration Next() {
    absl::MutexLock lock(&mu_);
    const absl::Duration base = next_;
    next_ = std::min(next_ * 2, max_);
    std::uniform_real_distribution<double> jitter(0.8, 1.2);
    return base * jitter(rng_);
  }

  // Back to the initial delay (the stream worked).
  void Reset() {
    absl::MutexLock lock(&mu_);
    next_ = initial_;
  }

 private:
  const absl::Duration initial_;
  const absl::Duration max_;
  absl::Mutex mu_;
  absl::Duration next_ ABSL_GUARDED_BY(mu_);
  std::mt19937 rng_ ABSL_GUARDED_BY(mu_){std::random_device{}()};
};

// Channel arguments that keep gRPC's own reconnect backoff within the same
// bounds (its default grows to 120s, which would delay convergence long
// after a peer comes back).
inline grpc::ChannelArguments PeerChannelArguments() {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 10000);
  return args;
}

}  // namespace ia::policy

#endif  // SERVICES_POLICY_STREAM_BACKOFF_H_
