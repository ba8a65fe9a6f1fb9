// The server side of Automation.PublishSelections on gRPC's callback API:
// each publisher's stream of SelectionEvents is applied to the store
// (SelectionSink) and every event is acknowledged only once it is stored,
// so a restart of either side loses nothing.
//
// Reactors never block: a read event is handed to one writer thread, which
// stores it (a SQLite transaction synced to disk) and then starts the
// acknowledgement's write; the next read starts when that write is done, so
// each stream has one event in flight and events are stored in order.
//
// Thread-safe. The destructor stores what is still queued and joins the
// writer thread: destroy it after the gRPC server has shut down.
#ifndef SERVICES_AUTOMATION_SELECTION_STREAM_H_
#define SERVICES_AUTOMATION_SELECTION_STREAM_H_

#include <deque>
#include <functional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/store.h"
#include "grpcpp/support/server_callback.h"
#include "imageautomation/v1/automation.pb.h"
#include "imageautomation/v1/policy.pb.h"

namespace ia::automation {

namespace v1 = ::imageautomation::v1;

class SelectionStreams {
 public:
  // `store` must outlive this object. `changed` is called on the writer
  // thread with a namespace whose selections changed (SelectionSink).
  SelectionStreams(Store* store,
                   std::function<void(const std::string& ns)> changed);
  ~SelectionStreams();
  SelectionStreams(const SelectionStreams&) = delete;
  SelectionStreams& operator=(const SelectionStreams&) = delete;

  // The reactor of one PublishSelections call (gRPC deletes it when done).
  // The stream ends OK when the publisher ends it or a write fails, and with
  // the sink's error (INVALID_ARGUMENT, or the store's) for an event that
  // cannot be stored.
  grpc::ServerBidiReactor<v1::SelectionEvent, v1::PublishSelectionsAck>* Open(
      const std::string& peer);

  // Runs `task` on the writer thread, after those queued before it.
  void Post(std::function<void()> task);

  Store* store() const { return store_; }
  const std::function<void(const std::string& ns)>& changed() const {
    return changed_;
  }

 private:
  void Loop();
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Store* const store_;
  const std::function<void(const std::string& ns)> changed_;
  mutable absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread writer_;
};

}  // namespace ia::automation

#endif  // SERVICES_AUTOMATION_SELECTION_STREAM_H_
