#include "services/automation/selection_stream.h"

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "common/grpc_status.h"
#include "common/log.h"

namespace ia::automation {
namespace {

grpc::Status ShuttingDown() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down");
}

}  // namespace

// One PublishSelections call. Exactly one operation is in flight until the
// stream ends: a read, the event's store (on the writer thread), or the
// acknowledgement's write. The thread that completes an operation decides
// the next step under mu_ (and ends the stream when an end is wanted), so
// Finish() is called once and never while an event is stored or
// acknowledged. mu_ is never held while calling into gRPC (a reaction may
// run inline), and outside reactions nothing of the reactor is touched
// after StartWrite() or Finish() (OnDone() may already be running).
class PublishReactor final
    : public grpc::ServerBidiReactor<v1::SelectionEvent,
                                     v1::PublishSelectionsAck> {
 public:
  PublishReactor(SelectionStreams* streams, std::string peer)
      : streams_(streams),
        peer_(std::move(peer)),
        sink_(streams->selections_, streams->changed_) {
    log::Info("selection publisher connected").With("peer", peer_);
    // gRPC holds the read (and a Finish) until the handler returns.
    StartRead(&event_);
    if (!streams_->Register(this)) {
      {
        absl::MutexLock lock(&mu_);
        finished_ = true;
      }
      End(ShuttingDown());
    }
  }

  // Wants the stream to end with `status`: CANCELLED replaces an end
  // already wanted. True when the caller must call End() now (only a read,
  // or nothing, is in flight); otherwise the operation in flight ends it.
  bool ClaimEnd(const grpc::Status& status) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (finished_) return false;
    if (op_ == Op::kRead) {
      finished_ = true;
      return true;
    }
    if (!end_wanted_.has_value() ||
        status.error_code() == grpc::StatusCode::CANCELLED) {
      end_wanted_ = status;
    }
    return false;
  }

  // Finishes the call (once: the caller set finished_).
  void End(const grpc::Status& status) {
    log::Info("selection publisher disconnected")
        .With("peer", peer_)
        .With("code", static_cast<int>(status.error_code()));
    Finish(status);
  }

  void OnReadDone(bool ok) override {
    std::optional<grpc::Status> end;
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;  // ended while the read waited
      if (!ok || end_wanted_.has_value()) {
        // !ok: the publisher ended the stream (or it was cancelled).
        finished_ = true;
        end = end_wanted_.value_or(grpc::Status::OK);
      } else {
        op_ = Op::kStore;
      }
    }
    if (end.has_value()) {
      End(*end);
      return;
    }
    if (streams_->Post([this] { StoreEvent(); })) return;
    {
      absl::MutexLock lock(&mu_);
      finished_ = true;
      end = end_wanted_.value_or(ShuttingDown());
    }
    End(*end);
  }

  void OnWriteDone(bool ok) override {
    std::optional<grpc::Status> end;
    uint64_t read = 0;
    {
      absl::MutexLock lock(&mu_);
      if (!ok || end_wanted_.has_value()) {
        finished_ = true;
        end = end_wanted_.value_or(grpc::Status::OK);
      } else {
        op_ = Op::kStartingRead;
        read = ++reads_;
      }
    }
    if (end.has_value()) {
      End(*end);
      return;
    }
    StartRead(&event_);
    {
      absl::MutexLock lock(&mu_);
      // The read may have completed (and more) already.
      if (op_ != Op::kStartingRead || reads_ != read) return;
      if (!end_wanted_.has_value()) {
        op_ = Op::kRead;
        return;
      }
      finished_ = true;
      end = *end_wanted_;
    }
    End(*end);
  }

  void OnCancel() override {
    if (ClaimEnd(grpc::Status::CANCELLED)) End(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    streams_->Unregister(this);
    delete this;
  }

 private:
  enum class Op { kRead, kStore, kWrite, kStartingRead };

  // On the writer thread; no read or write of this stream is in flight.
  void StoreEvent() {
    const absl::Status status = sink_.Apply(event_);
    ack_.set_sequence(event_.sequence());
    grpc::Status end;
    {
      absl::MutexLock lock(&mu_);
      if (status.ok()) {
        op_ = Op::kWrite;  // acknowledged even when an end is wanted
      } else {
        finished_ = true;
        end = end_wanted_.value_or(ToGrpcStatus(status));
      }
    }
    if (status.ok()) {
      StartWrite(&ack_);
      return;
    }
    log::Warn("selection event refused").With("error", status);
    End(end);
  }

  SelectionStreams* const streams_;
  const std::string peer_;
  // Used by one operation at a time (see the class comment).
  SelectionSink sink_;
  v1::SelectionEvent event_;
  v1::PublishSelectionsAck ack_;

  absl::Mutex mu_;
  Op op_ ABSL_GUARDED_BY(mu_) = Op::kRead;
  uint64_t reads_ ABSL_GUARDED_BY(mu_) = 0;  // reads started by OnWriteDone
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> end_wanted_ ABSL_GUARDED_BY(mu_);
};

SelectionStreams::SelectionStreams(
    SelectionStore* selections,
    std::function<void(const std::string& ns)> changed)
    : selections_(selections), changed_(std::move(changed)) {
  writer_ = std::thread([this] { Loop(); });
}

SelectionStreams::~SelectionStreams() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  writer_.join();
}

grpc::ServerBidiReactor<v1::SelectionEvent, v1::PublishSelectionsAck>*
SelectionStreams::Open(const std::string& peer) {
  return new PublishReactor(this, peer);
}

void SelectionStreams::Close() {
  std::vector<PublishReactor*> to_end;
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    for (PublishReactor* reactor : open_) {
      if (reactor->ClaimEnd(ShuttingDown())) to_end.push_back(reactor);
    }
  }
  // Each stays alive: it cannot be done before its Finish().
  for (PublishReactor* reactor : to_end) reactor->End(ShuttingDown());
}

bool SelectionStreams::Register(PublishReactor* reactor) {
  absl::MutexLock lock(&mu_);
  if (closed_) return false;
  open_.insert(reactor);
  return true;
}

void SelectionStreams::Unregister(PublishReactor* reactor) {
  absl::MutexLock lock(&mu_);
  open_.erase(reactor);
}

bool SelectionStreams::Post(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return false;
  tasks_.push_back(std::move(task));
  return true;
}

bool SelectionStreams::HasWork() const { return stopping_ || !tasks_.empty(); }

void SelectionStreams::Loop() {
  for (;;) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &SelectionStreams::HasWork));
      if (tasks_.empty()) return;  // stopping, and nothing left to store
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace ia::automation
