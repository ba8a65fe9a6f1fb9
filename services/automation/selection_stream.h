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
// A stream ends, exactly once, with
//   OK                                   when the publisher ends it or the
//                                        acknowledgement cannot be written;
//   the sink's error                     for an event that cannot be stored
//                                        (INVALID_ARGUMENT, or the store's);
//   CANCELLED                            when the call is cancelled;
//   UNAVAILABLE "server shutting down"   after Close(), or when the writer
//                                        thread has stopped.
// A stream never finishes while its event is being stored or acknowledged:
// the end waits for that (a read waiting for the publisher's next event
// does not hold it back).
//
// Thread-safe. The destructor stores what is still queued and joins the
// writer thread: destroy it after the gRPC server has shut down.
#ifndef SERVICES_AUTOMATION_SELECTION_STREAM_H_
#define SERVICES_AUTOMATION_SELECTION_STREAM_H_

#include <deque>
#include <functional>
#include <set>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/support/server_callback.h"
#include "imageautomation/v1/automation.pb.h"
#include "imageautomation/v1/policy.pb.h"
#include "services/automation/selection_store.h"

namespace ia::automation {

namespace v1 = ::imageautomation::v1;

class PublishReactor;  // selection_stream.cc

class SelectionStreams {
 public:
  // `selections` must outlive this object. `changed` is called on the
  // writer thread with a namespace whose selections changed (SelectionSink).
  SelectionStreams(SelectionStore* selections,
                   std::function<void(const std::string& ns)> changed);
  ~SelectionStreams();
  SelectionStreams(const SelectionStreams&) = delete;
  SelectionStreams& operator=(const SelectionStreams&) = delete;

  // The reactor of one PublishSelections call (gRPC deletes it when done).
  // After Close(), a call is finished at once with UNAVAILABLE.
  grpc::ServerBidiReactor<v1::SelectionEvent, v1::PublishSelectionsAck>* Open(
      const std::string& peer);

  // Ends every open stream with UNAVAILABLE "server shutting down" (a
  // stream storing or acknowledging an event ends once the event is
  // stored and acknowledged), and every later one at once. Returns without
  // waiting; call before the gRPC server's Shutdown() so that it need not
  // wait for the publishers.
  void Close();

  // Queues `task` for the writer thread, after those queued before it.
  // False (the task dropped) once the writer thread is stopping.
  [[nodiscard]] bool Post(std::function<void()> task);

 private:
  friend class PublishReactor;

  // Adds a reactor to those Close() ends; false after Close().
  bool Register(PublishReactor* reactor);
  void Unregister(PublishReactor* reactor);

  void Loop();
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  SelectionStore* const selections_;
  const std::function<void(const std::string& ns)> changed_;
  mutable absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // The open streams (each alive while here: it leaves in OnDone()).
  std::set<PublishReactor*> open_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::thread writer_;
};

}  // namespace ia::automation

#endif  // SERVICES_AUTOMATION_SELECTION_STREAM_H_
