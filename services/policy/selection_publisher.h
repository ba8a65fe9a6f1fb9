// SelectionPublisher: pushes the policy service's selections Feed to the
// automation service's Automation.PublishSelections, on its own thread.
//
// Each connection takes a new Feed subscription, so it starts with the
// snapshot (SNAPSHOT events, SNAPSHOT_END), then sends UPDATED/DELETED
// events, numbered 1, 2, ... per stream. Acks are read on a second thread
// (they only show progress: the automation stores an event before acking
// it, and a new stream starts again from a snapshot). When the stream
// breaks, or the automation is down, it reconnects with capped exponential
// backoff (100ms..10s, jittered). When the Feed is closed (Drain) it ends
// the stream with WritesDone and stops.
//
// Thread-safe. Stop() cancels the stream (TryCancel) and joins the threads.
#ifndef SERVICES_POLICY_SELECTION_PUBLISHER_H_
#define SERVICES_POLICY_SELECTION_PUBLISHER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/feed.h"
#include "services/policy/stream_backoff.h"

namespace grpc {
class Channel;
class ChannelCredentials;
class ClientContext;
}  // namespace grpc

namespace ia::policy {

class SelectionPublisher {
 public:
  // `feed` must outlive this object.
  SelectionPublisher(std::string address,
                     std::shared_ptr<grpc::ChannelCredentials> credentials,
                     Feed* feed);
  ~SelectionPublisher();  // Stop()s.
  SelectionPublisher(const SelectionPublisher&) = delete;
  SelectionPublisher& operator=(const SelectionPublisher&) = delete;

  // Starts the thread. An empty address disables the publisher.
  void Start();
  // Cancels the stream and joins the thread. Idempotent.
  void Stop();

 private:
  enum class End { kBroken, kFeedClosed, kStopping };

  void Run();
  // One stream, from connect to its end.
  End PublishOnce(bool* acked);
  void Wake();

  const std::string address_;
  const std::shared_ptr<grpc::ChannelCredentials> credentials_;
  Feed* const feed_;
  StreamBackoff backoff_;
  std::shared_ptr<grpc::Channel> channel_;  // only on the publisher thread

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t last_ack_ ABSL_GUARDED_BY(mu_) = 0;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::thread thread_;
};

}  // namespace ia::policy

#endif  // SERVICES_POLICY_SELECTION_PUBLISHER_H_
