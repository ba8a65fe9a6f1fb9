// A cpp-httplib server on a free loopback port, serving from a thread of
// its own, with every GET, POST and PUT given to one handler (route
// handlers, so the handler sees the body). The fakes of remote parties
// (tests/support/fake_aws.h, fake_gcp.h, fake_azure.h) serve through it.
// Start and Stop are called from the owning test's thread; the handler runs
// on the server's threads.
#ifndef TESTS_SUPPORT_LOOPBACK_HTTP_H_
#define TESTS_SUPPORT_LOOPBACK_HTTP_H_

#include <functional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "httplib.h"

namespace ia::testing {

class LoopbackHttpServer {
 public:
  using Handler =
      std::function<void(const httplib::Request&, httplib::Response&)>;

  LoopbackHttpServer() = default;
  LoopbackHttpServer(const LoopbackHttpServer&) = delete;
  LoopbackHttpServer& operator=(const LoopbackHttpServer&) = delete;
  ~LoopbackHttpServer() { Stop(); }

  // Binds 127.0.0.1 on a free port and serves `handler` until Stop. On
  // success the server is running when this returns; UNAVAILABLE naming
  // `name` when no port can be bound.
  absl::Status Start(Handler handler, absl::string_view name);
  // Stops serving and joins the thread; does nothing when not started.
  void Stop();

  int port() const { return port_; }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace ia::testing

#endif  // TESTS_SUPPORT_LOOPBACK_HTTP_H_
