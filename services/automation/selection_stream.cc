#include "services/automation/selection_stream.h"

#include <utility>

#include "common/grpc_status.h"
#include "common/log.h"
#include "services/automation/selection_store.h"

namespace ia::automation {
namespace {

class PublishReactor final
    : public grpc::ServerBidiReactor<v1::SelectionEvent,
                                     v1::PublishSelectionsAck> {
 public:
  PublishReactor(SelectionStreams* streams, std::string peer)
      : streams_(streams),
        peer_(std::move(peer)),
        sink_(streams->store(), streams->changed()) {
    log::Info("selection publisher connected").With("peer", peer_);
    StartRead(&event_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the publisher ended the stream (or it was cancelled)
      Disconnected();
      return;
    }
    streams_->Post([this] { StoreEvent(); });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Disconnected();
      return;
    }
    StartRead(&event_);
  }

  void OnDone() override { delete this; }

 private:
  // On the writer thread; no read or write of this stream is in flight.
  void StoreEvent() {
    absl::Status status = sink_.Apply(event_);
    if (!status.ok()) {
      log::Warn("selection event refused").With("error", status);
      Finish(ToGrpcStatus(status));
      return;
    }
    ack_.set_sequence(event_.sequence());
    StartWrite(&ack_);
  }

  void Disconnected() {
    log::Info("selection publisher disconnected").With("peer", peer_);
    Finish(grpc::Status::OK);
  }

  SelectionStreams* const streams_;
  const std::string peer_;
  SelectionSink sink_;
  v1::SelectionEvent event_;
  v1::PublishSelectionsAck ack_;
};

}  // namespace

SelectionStreams::SelectionStreams(
    Store* store, std::function<void(const std::string& ns)> changed)
    : store_(store), changed_(std::move(changed)) {
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

void SelectionStreams::Post(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  tasks_.push_back(std::move(task));
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
