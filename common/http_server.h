// HttpServer: the small HTTP side of each service (--http-listen): health
// probes now, Prometheus metrics and the registry webhook later. Handlers
// run on the server's own threads. Start/Stop are not thread-safe with
// each other; handlers may be added only before Start().
#ifndef COMMON_HTTP_SERVER_H_
#define COMMON_HTTP_SERVER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"

namespace ia {

struct HttpRequest {
  std::string method;
  std::string path;
  std::string body;
  // Returns the header value, or "" (header names are case-insensitive).
  std::function<std::string(const std::string&)> header;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpServer {
 public:
  // Requests with a larger body are answered 413 without calling a handler.
  static constexpr size_t kMaxBodyBytes = 1 << 20;

  HttpServer();
  ~HttpServer();  // Stops.
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void Handle(const std::string& method, const std::string& path,
              HttpHandler handler);
  // Binds "HOST:PORT" (port 0 picks a free one) and serves on a thread.
  // UNAVAILABLE naming the address when it cannot bind.
  absl::Status Start(const std::string& address);
  // The bound port, after Start().
  int port() const;
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ia

#endif  // COMMON_HTTP_SERVER_H_
