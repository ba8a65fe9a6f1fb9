// HangingServer: a TCP server on a free 127.0.0.1 port that accepts every
// connection and never answers (reads and drops what it is sent, keeps the
// connection open), as a Git or registry host stuck behind a broken proxy
// does. Tests use it to see that a client times out instead of waiting
// forever; it counts the connections, so a test can see the retries.
//
// Thread-safe: connections() may be called while the server runs.
#ifndef TESTS_SUPPORT_HANGING_SERVER_H_
#define TESTS_SUPPORT_HANGING_SERVER_H_

#include <atomic>
#include <string>
#include <thread>

#include "absl/status/status.h"

namespace ia::testing {

class HangingServer {
 public:
  HangingServer() = default;
  // Stops accepting and closes every connection.
  ~HangingServer();
  HangingServer(const HangingServer&) = delete;
  HangingServer& operator=(const HangingServer&) = delete;

  // Listens and starts accepting; an error says why it could not listen.
  absl::Status Start();
  int port() const { return port_; }
  std::string host() const;  // "127.0.0.1:PORT"
  // Connections accepted so far.
  int connections() const { return connections_.load(); }

 private:
  void Serve();

  int listen_fd_ = -1;
  int wake_fds_[2] = {-1, -1};  // a pipe: written to stop Serve()
  int port_ = 0;
  std::atomic<int> connections_{0};
  std::thread thread_;
};

}  // namespace ia::testing

#endif  // TESTS_SUPPORT_HANGING_SERVER_H_
