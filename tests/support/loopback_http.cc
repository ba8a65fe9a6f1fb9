#include "tests/support/loopback_http.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace ia::testing {

absl::Status LoopbackHttpServer::Start(Handler handler,
                                       absl::string_view name) {
  const auto serve = [handler = std::move(handler)](const httplib::Request& req,
                                                    httplib::Response& res) {
    handler(req, res);
  };
  server_.Get(".*", serve);
  server_.Post(".*", serve);
  server_.Put(".*", serve);
  port_ = server_.bind_to_any_port("127.0.0.1");
  if (port_ <= 0)
    return absl::UnavailableError(absl::StrCat(name, " cannot bind"));
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  // Until the thread runs, stop() would do nothing and Stop() would hang.
  while (!server_.is_running()) absl::SleepFor(absl::Milliseconds(1));
  return absl::OkStatus();
}

void LoopbackHttpServer::Stop() {
  if (thread_.joinable()) {
    server_.stop();
    thread_.join();
  }
}

}  // namespace ia::testing
