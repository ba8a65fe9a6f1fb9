// MockHttpTransport: a gMock HttpTransport, so that the registry client's
// protocol, authentication and retries are tested without a server.
// Thread-safe as gMock mocks are.
#ifndef TESTS_REFLECTOR_MOCK_HTTP_TRANSPORT_H_
#define TESTS_REFLECTOR_MOCK_HTTP_TRANSPORT_H_

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "services/reflector/http_transport.h"

namespace ia::reflector {

class MockHttpTransport : public HttpTransport {
 public:
  MOCK_METHOD(absl::StatusOr<HttpResponse>, Send, (const HttpRequest& request),
              (override));
};

// A reply with `status`, `headers` (names in lower case) and `body`.
inline HttpResponse HttpReply(
    long status, std::string body = "",
    std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpResponse response;
  response.status = status;
  response.headers = std::move(headers);
  response.body = std::move(body);
  return response;
}

// Matches an HttpRequest whose method and URL are these.
MATCHER_P2(IsRequest, method, url, "") {
  return arg.method == method && arg.url == url;
}

// Matches an HttpRequest that carries header `name` with `value`.
MATCHER_P2(HasHeader, name, value, "") {
  for (const auto& [n, v] : arg.headers) {
    if (n == name && v == value) return true;
  }
  return false;
}

// Matches an HttpRequest without header `name`.
MATCHER_P(LacksHeader, name, "") {
  for (const auto& header : arg.headers) {
    if (header.first == name) return false;
  }
  return true;
}

}  // namespace ia::reflector

#endif  // TESTS_REFLECTOR_MOCK_HTTP_TRANSPORT_H_
