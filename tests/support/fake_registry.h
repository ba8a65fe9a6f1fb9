// FakeRegistry: a registry of our own over real HTTP on 127.0.0.1 (a
// cpp-httplib server), for what Debian's docker-registry cannot do: page
// sizes and Link pagination, Bearer token challenges, 429 and faults, and
// counting what a client sent. It speaks the Docker Registry HTTP API v2:
//
//   GET  /v2/                              200, or the auth challenge
//   GET  /v2/<repo>/tags/list[?n=N&last=T] {"name":..., "tags":[...]}, Link
//   HEAD /v2/<repo>/manifests/<tag>        Docker-Content-Digest
//   GET  /token?service=..&scope=..        {"token":...} (RequireBearer)
//   POST /oauth2/exchange                  ACR's exchange (ServeAcrExchange)
//
// Requests in absolute form ("GET http://other.host/v2/... HTTP/1.1") are
// served too, as if for that host, and recorded as proxied: the fake is
// also an HTTP proxy for tests of proxy settings.
//
// Programmable per test, from any thread, before or while serving. Fast
// enough for a benchmark of 1000 repositories of 1000 tags.
#ifndef TESTS_SUPPORT_FAKE_REGISTRY_H_
#define TESTS_SUPPORT_FAKE_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace ia::testing {

// Something the fake does instead of (or before) answering normally.
struct RegistryFault {
  enum class Kind {
    kStatus,         // answer `status` (429, 500, 503, ...), with Retry-After
                     // when `retry_after` is set
    kReset,          // close the connection with a TCP reset, no reply
    kTruncatedJson,  // a complete 200 reply whose JSON stops halfway
    kMalformedJson,  // a 200 reply whose body is not JSON
    kLargeBody,      // a 200 reply of `size` bytes, streamed (Content-Length
                     // given, or chunked when `chunked`)
    kSlow,           // wait `delay` (cut short by Stop) then answer normally
  };
  Kind kind = Kind::kStatus;
  int status = 500;
  std::string retry_after;
  int64_t size = 0;
  bool chunked = false;
  absl::Duration delay = absl::ZeroDuration();

  static RegistryFault Status(int status, std::string retry_after = "") {
    RegistryFault f;
    f.status = status;
    f.retry_after = std::move(retry_after);
    return f;
  }
  static RegistryFault Of(Kind kind) {
    RegistryFault f;
    f.kind = kind;
    return f;
  }
  static RegistryFault LargeBody(int64_t size, bool chunked) {
    RegistryFault f = Of(Kind::kLargeBody);
    f.size = size;
    f.chunked = chunked;
    return f;
  }
  static RegistryFault Slow(absl::Duration delay) {
    RegistryFault f = Of(Kind::kSlow);
    f.delay = delay;
    return f;
  }
};

// One request the fake received.
struct RecordedRequest {
  std::string method;
  std::string path;                 // without the query; "/v2/app/tags/list"
  std::string query;                // "n=10&last=b", "" when none
  std::string authorization;        // the Authorization header, "" if none
  std::string proxy_authorization;  // the Proxy-Authorization header
  std::string accept;
  std::string accept_encoding;
  std::string proxied_host;  // the host of an absolute-form target, else ""
};

class FakeRegistry {
 public:
  FakeRegistry();
  ~FakeRegistry();  // Stops.
  FakeRegistry(const FakeRegistry&) = delete;
  FakeRegistry& operator=(const FakeRegistry&) = delete;

  // Serves on 127.0.0.1 on a free port, on its own threads.
  absl::Status Start();
  // Stops serving; slow replies under way end at once.
  void Stop();
  int port() const;
  std::string host() const;  // "127.0.0.1:PORT"
  std::string url() const;   // "http://127.0.0.1:PORT"

  // --- Contents.
  // Creates or replaces `repository` ("app", "org/app") with `tags`, served
  // in this order.
  void SetTags(const std::string& repository, std::vector<std::string> tags);
  // Creates or replaces `repository` answering {"tags": null}.
  void SetNullTags(const std::string& repository);
  void DeleteRepository(const std::string& repository);
  // The Docker-Content-Digest of `tag` (which need not be in the tag list).
  // Without one, a listed tag's digest is sha256 of "<repository>:<tag>".
  void SetDigest(const std::string& repository, const std::string& tag,
                 const std::string& digest);

  // --- Paging. A page holds min(?n=, the server's cap) tags, all when
  // neither is set; more pages are announced with Link: <...>; rel="next".
  void SetMaxPageSize(int n);  // <= 0: no cap of its own (the default)
  // Next links as absolute URLs (http://127.0.0.1:PORT/v2/...) instead of
  // "/v2/..." (the default).
  void SetAbsoluteLinks(bool absolute);
  // Every next link is exactly `link` ("" restores normal links).
  void SetNextLinkOverride(const std::string& link);

  // --- Replies. The Content-Type of JSON replies: by default
  // "application/json; charset=utf-8", as Docker distribution sends, which
  // cpp-httplib never compresses; "application/json" makes it compress
  // (brotli or gzip) for a client that accepts it, as some registries and
  // CDNs do.
  void SetJsonContentType(const std::string& type);

  // --- Authentication (one mode at a time; the last call wins).
  void RequireNothing();
  // Every /v2/ request needs these Basic credentials; else 401 with
  // WWW-Authenticate: Basic realm="fake".
  void RequireBasic(const std::string& username, const std::string& password);
  struct BearerOptions {
    // Credentials the token endpoint requires (Basic); none: anonymous
    // tokens are handed out to anyone.
    std::optional<std::pair<std::string, std::string>> credentials;
    // {"access_token": ...} instead of {"token": ...}.
    bool access_token = false;
    // "expires_in" of the reply; <= 0 leaves it out.
    int expires_in = 300;
  };
  // Every /v2/ request needs a token from /token on this server: else 401
  // with WWW-Authenticate: Bearer realm="http://127.0.0.1:PORT/token",
  // service="fake",scope="repository:<repo>:pull".
  void RequireBearer(BearerOptions options);
  // Tokens issued so far are no longer accepted.
  void RevokeTokens();
  // Azure Container Registry's POST /oauth2/exchange (form: grant_type=
  // access_token, service=<the Host the client asked for>, access_token):
  // {"refresh_token": refresh_token} when `accept(access_token)` holds,
  // else 401. With RequireBearer's credentials
  // {"00000000-0000-0000-0000-000000000000", refresh_token} this is ACR's
  // token flow.
  void ServeAcrExchange(std::function<bool(const std::string&)> accept,
                        const std::string& refresh_token);
  int acr_exchanges() const;  // answered with a refresh token

  // --- Faults: the next `times` requests whose path starts with
  // `path_prefix` ("" for any, "/token" for the token endpoint) get `fault`.
  // Faults are used in the order they were added.
  void AddFault(const std::string& path_prefix, RegistryFault fault,
                int times = 1);

  // --- What was received.
  int Requests(const std::string& path) const;  // by path, query ignored
  int TotalRequests() const;
  int Connections() const;  // TCP connections accepted
  std::vector<RecordedRequest> Received() const;
  // Bytes of kLargeBody replies handed to the socket so far.
  int64_t LargeBodyBytesSent() const;
  void ResetCounters();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ia::testing

#endif  // TESTS_SUPPORT_FAKE_REGISTRY_H_
