#include "common/http_server.h"

#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"

namespace ia {

class HttpServer::Impl {
 public:
  httplib::Server server;
  std::thread thread;
  int port = 0;
};

HttpServer::HttpServer() : impl_(std::make_unique<Impl>()) {
  // Nothing posted to a service is large; a bigger body gets 413.
  impl_->server.set_payload_max_length(kMaxBodyBytes);
  // Small replies go out at once (no Nagle delay), and a registry posting
  // many notifications keeps its connection.
  impl_->server.set_tcp_nodelay(true);
  impl_->server.set_keep_alive_max_count(1000);
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Handle(const std::string& method, const std::string& path,
                        HttpHandler handler) {
  auto adapter = [handler = std::move(handler)](const httplib::Request& req,
                                                httplib::Response& res) {
    HttpRequest request;
    request.method = req.method;
    request.path = req.path;
    request.body = req.body;
    request.header = [&req](const std::string& name) {
      return req.get_header_value(name.c_str());
    };
    HttpResponse response = handler(request);
    res.status = response.status;
    res.set_content(response.body, response.content_type.c_str());
  };
  if (method == "GET") {
    impl_->server.Get(path, adapter);
  } else {
    impl_->server.Post(path, adapter);
  }
}

absl::Status HttpServer::Start(const std::string& address) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--http-listen: \"", address, "\" is not HOST:PORT"));
  }
  std::string host = address.substr(0, colon);
  if (host.size() > 1 && host.front() == '[')
    host = host.substr(1, host.size() - 2);
  if (port == 0) {
    impl_->port = impl_->server.bind_to_any_port(host.c_str());
  } else {
    impl_->port = impl_->server.bind_to_port(host.c_str(), port) ? port : -1;
  }
  if (impl_->port < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for HTTP on ", address));
  }
  impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
  // stop() before the loop runs would be lost and Stop() would hang.
  while (!impl_->server.is_running()) std::this_thread::yield();
  return absl::OkStatus();
}

int HttpServer::port() const { return impl_->port; }

void HttpServer::Stop() {
  if (impl_->thread.joinable()) {
    impl_->server.stop();
    impl_->thread.join();
  }
}

}  // namespace ia
