// ServeFeed: serves one server-streaming RPC (Reflector.WatchTagSets,
// Policy.WatchSelections) from a Feed subscription, with gRPC's callback
// API. Usage, in a service that mixes in the generated callback method:
//
//   grpc::ServerWriteReactor<TagSetEvent>* WatchTagSets(
//       grpc::CallbackServerContext* ctx,
//       const WatchTagSetsRequest* req) override {
//     return ia::ServeFeed<TagSetEvent>(
//         feed_, ia::Feed::NamespaceFilter(req->namespace_()), ConvertTagSet);
//   }
//
// The stream sends one message per FeedEvent (kSnapshot, kSnapshotEnd,
// kUpdated, kDeleted), as made by the converter, one write in flight at a
// time. A client that reads slowly holds back only its own stream: the
// Feed coalesces its pending changes, and publishers never wait for it.
// The stream ends with
//   UNAVAILABLE "server shutting down"  after Feed::Close(),
//   CANCELLED                           when the client cancels, the
//                                       deadline passes, or a write fails.
// Server::Shutdown() without a deadline waits for open streams: call
// Feed::Close() first (graceful), or pass a deadline (streams cancelled).
//
// Thread-safety: the reactor never blocks in a reaction. It is driven by
// gRPC's reactions and by the feed's wake callback on publishing threads
// (which then pull one event, convert it and start its write: the cost of
// one event per idle stream, whatever the client's speed). Its state is
// guarded by a mutex, never held while calling StartWrite() or Finish().
// OnDone() cancels the subscription, which waits for running wake
// callbacks, then deletes the reactor.
#ifndef COMMON_FEED_STREAM_H_
#define COMMON_FEED_STREAM_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/feed.h"
#include "grpcpp/support/server_callback.h"
#include "grpcpp/support/status.h"

namespace ia {

// Makes the message for one event of type kSnapshot, kSnapshotEnd, kUpdated
// or kDeleted (never kClosed). Each stream has its own copy, called on that
// stream's events in order and never concurrently, so it may keep state
// (e.g. SelectionEvent.sequence).
template <typename EventProto>
using FeedEventConverter = std::function<EventProto(const FeedEvent&)>;

namespace feed_internal {

template <typename EventProto>
class FeedWriteReactor final : public grpc::ServerWriteReactor<EventProto> {
 public:
  explicit FeedWriteReactor(FeedEventConverter<EventProto> convert)
      : convert_(std::move(convert)) {}

  // Subscribes and starts the first write (gRPC holds it until the reactor
  // is returned from the method handler).
  void Start(Feed& feed, Feed::Filter filter) {
    {
      absl::MutexLock lock(&mu_);
      // A new subscription has events pending, so `wake` cannot run before
      // the first Pump() below.
      subscription_ = feed.Subscribe(std::move(filter), [this] { Pump(); });
    }
    Pump();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      FinishOnce(grpc::Status::CANCELLED);
      return;
    }
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
    }
    Pump();
  }

  void OnCancel() override { FinishOnce(grpc::Status::CANCELLED); }

  void OnDone() override {
    // No reaction runs after OnDone(); Cancel() waits for running wake
    // callbacks (which see finished_ and return) and stops later ones.
    subscription_->Cancel();
    delete this;
  }

 private:
  // Starts the write of the next event, or finishes on kClosed, unless a
  // write is in flight or the stream is finished. Called from Start(), from
  // OnWriteDone() and from the wake callback. Touches no member after
  // StartWrite() or Finish(): OnDone() may already be running.
  void Pump() ABSL_LOCKS_EXCLUDED(mu_) {
    FeedEvent event;
    {
      absl::MutexLock lock(&mu_);
      if (writing_ || finished_) return;
      // Pulled under mu_, so a change arriving after an empty Next() wakes
      // a Pump() that waits for mu_ and then sees writing_ == false.
      std::optional<FeedEvent> next = subscription_->Next();
      if (!next.has_value()) return;
      event = *std::move(next);
      if (event.type == FeedEvent::Type::kClosed) {
        finished_ = true;
      } else {
        writing_ = true;  // this thread owns message_ until OnWriteDone
      }
    }
    if (event.type == FeedEvent::Type::kClosed) {
      this->Finish(
          grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down"));
      return;
    }
    message_ = convert_(event);
    this->StartWrite(&message_);
  }

  void FinishOnce(grpc::Status status) ABSL_LOCKS_EXCLUDED(mu_) {
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      finished_ = true;
    }
    this->Finish(std::move(status));
  }

  FeedEventConverter<EventProto> convert_;
  // Written by the thread that set writing_, read by gRPC until
  // OnWriteDone().
  EventProto message_;

  absl::Mutex mu_;
  // Set once in Start(), under mu_; only read afterwards.
  std::unique_ptr<Feed::Subscription> subscription_;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace feed_internal

// Returns a reactor that streams `feed` (the keys passing `filter`) through
// `convert` until the feed closes or the call is cancelled; the reactor
// deletes itself when the call is done. `feed` is used only during this
// call: the subscription keeps the feed's state alive afterwards.
template <typename EventProto>
grpc::ServerWriteReactor<EventProto>* ServeFeed(
    Feed& feed, Feed::Filter filter, FeedEventConverter<EventProto> convert) {
  auto* reactor =
      new feed_internal::FeedWriteReactor<EventProto>(std::move(convert));
  reactor->Start(feed, std::move(filter));
  return reactor;
}

// Returns a reactor that ends the stream at once with `status` (a refused
// call, e.g. PERMISSION_DENIED); it deletes itself when the call is done.
template <typename EventProto>
grpc::ServerWriteReactor<EventProto>* RefuseStream(grpc::Status status) {
  class Refused final : public grpc::ServerWriteReactor<EventProto> {
   public:
    void OnDone() override { delete this; }
  };
  auto* reactor = new Refused();
  reactor->Finish(std::move(status));
  return reactor;
}

// Converts a feed event to a stream event proto whose `type` enum has
// SNAPSHOT, SNAPSHOT_END, UPDATED and DELETED (TagSetEvent,
// SelectionEvent): `payload` is the event's message field (tag_set,
// selection) and `key` the payload's ObjectKey field (repository, policy),
// which alone is set on DELETED, from the feed key "namespace/name".
template <typename Event, typename Payload, typename Key>
Event ToStreamEvent(const FeedEvent& event, Payload* (Event::*payload)(),
                    Key* (Payload::*key)()) {
  Event out;
  switch (event.type) {
    case FeedEvent::Type::kSnapshot:
      out.set_type(Event::SNAPSHOT);
      break;
    case FeedEvent::Type::kSnapshotEnd:
      out.set_type(Event::SNAPSHOT_END);
      return out;
    case FeedEvent::Type::kUpdated:
      out.set_type(Event::UPDATED);
      break;
    case FeedEvent::Type::kDeleted:
    case FeedEvent::Type::kClosed: {
      out.set_type(Event::DELETED);
      const size_t slash = event.key.find('/');
      Key* k = ((out.*payload)()->*key)();
      k->set_namespace_(event.key.substr(0, slash));
      if (slash != std::string::npos) k->set_name(event.key.substr(slash + 1));
      return out;
    }
  }
  if (auto value = event.As<Payload>()) *(out.*payload)() = *value;
  return out;
}

}  // namespace ia

#endif  // COMMON_FEED_STREAM_H_
