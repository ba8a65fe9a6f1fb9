#include "tests/support/fake_registry.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/sha.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <filesystem>
#include <functional>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "httplib.h"

namespace ia::testing {
namespace {

struct Repository {
  std::vector<std::string> tags;
  absl::flat_hash_map<std::string, size_t> index;  // tag -> position
  bool null_tags = false;
  std::map<std::string, std::string> digests;
};

struct PendingFault {
  std::string prefix;
  RegistryFault fault;
  int remaining = 0;
};

enum class AuthMode { kNone, kBasic, kBearer };

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

void AppendJsonString(std::string* out, const std::string& s) {
  out->push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppend(out, "\\u00",
                          absl::BytesToHexString(absl::string_view(&c, 1)));
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

std::string ErrorBody(const std::string& code, const std::string& message) {
  return absl::StrCat(R"({"errors":[{"code":")", code, R"(","message":")",
                      message, R"("}]})");
}

// A TaskQueue that counts the connections it is given.
class CountingQueue : public httplib::TaskQueue {
 public:
  CountingQueue(std::atomic<int>* connections, size_t threads)
      : connections_(connections), pool_(threads) {}
  void enqueue(std::function<void()> fn) override {
    connections_->fetch_add(1);
    pool_.enqueue(std::move(fn));
  }
  void shutdown() override { pool_.shutdown(); }

 private:
  std::atomic<int>* connections_;
  httplib::ThreadPool pool_;
};

}  // namespace

class FakeRegistry::Impl {
 public:
  Impl() : devnull_(open("/dev/null", O_RDWR | O_CLOEXEC)) {}
  ~Impl() {
    Stop();
    if (devnull_ >= 0) close(devnull_);
  }

  absl::Status Start() {
    server_.new_task_queue = [this] {
      return new CountingQueue(&connections_, 16);
    };
    server_.set_keep_alive_max_count(100000);
    // Headers and body go out in separate writes: without this, Nagle and
    // delayed ACKs add 40ms to every reply.
    server_.set_tcp_nodelay(true);
    server_.set_keep_alive_timeout(2);
    server_.set_pre_routing_handler(
        [this](const httplib::Request& req, httplib::Response& res) {
          // ACR's exchange has a form body, which only routes are given.
          if (req.method == "POST" && req.path == "/oauth2/exchange") {
            return httplib::Server::HandlerResponse::Unhandled;
          }
          Serve(req, res);
          return httplib::Server::HandlerResponse::Handled;
        });
    server_.Post("/oauth2/exchange",
                 [this](const httplib::Request& req, httplib::Response& res) {
                   ServeAcrExchange(req, res);
                 });
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) return absl::UnavailableError("fake registry cannot bind");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // Until the thread runs, stop() would do nothing and Stop() would hang.
    while (!server_.is_running()) absl::SleepFor(absl::Milliseconds(1));
    return absl::OkStatus();
  }

  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      stop_cv_.SignalAll();
    }
    if (thread_.joinable()) {
      server_.stop();
      thread_.join();
    }
  }

  std::string Host() const { return absl::StrCat("127.0.0.1:", port_); }

  // Not with mu_ held (Authorized and ServeToken read json_type_).
  std::string JsonType() const {
    absl::MutexLock lock(&mu_);
    return json_type_;
  }

  void Serve(const httplib::Request& req, httplib::Response& res) {
    RecordedRequest record;
    record.method = req.method;
    record.path = req.path;
    const size_t q = req.target.find('?');
    if (q != std::string::npos) record.query = req.target.substr(q + 1);
    record.authorization = req.get_header_value("Authorization");
    record.proxy_authorization = req.get_header_value("Proxy-Authorization");
    record.accept = req.get_header_value("Accept");
    record.accept_encoding = req.get_header_value("Accept-Encoding");
    // An absolute-form target: a proxied request.
    for (absl::string_view scheme : {"http://", "https://"}) {
      absl::string_view path = record.path;
      if (absl::ConsumePrefix(&path, scheme)) {
        const size_t slash = path.find('/');
        record.proxied_host = std::string(path.substr(0, slash));
        record.path = slash == absl::string_view::npos
                          ? "/"
                          : std::string(path.substr(slash));
      }
    }

    std::optional<RegistryFault> fault;
    {
      absl::MutexLock lock(&mu_);
      received_.push_back(record);
      ++requests_[record.path];
      for (PendingFault& pending : faults_) {
        if (pending.remaining > 0 &&
            absl::StartsWith(record.path, pending.prefix)) {
          --pending.remaining;
          fault = pending.fault;
          break;
        }
      }
    }
    if (fault.has_value()) {
      if (fault->kind == RegistryFault::Kind::kSlow) {
        absl::MutexLock lock(&mu_);
        const absl::Time until = absl::Now() + fault->delay;
        while (!stopping_ && absl::Now() < until) {
          stop_cv_.WaitWithDeadline(&mu_, until);
        }
      } else {
        ApplyFault(*fault, req, res);
        return;
      }
    }

    if (record.path == "/token") {
      ServeToken(req, res);
      return;
    }
    absl::string_view path = record.path;
    if (!absl::ConsumePrefix(&path, "/v2/")) {
      res.status = 404;
      res.set_content(ErrorBody("NOT_FOUND", "not a registry path"),
                      JsonType());
      return;
    }
    std::string repository;
    std::string rest;
    if (path.empty()) {
      // The API base: only authentication.
    } else if (absl::EndsWith(path, "/tags/list")) {
      repository = std::string(path.substr(0, path.size() - 10));
      rest = "tags";
    } else if (const size_t m = path.rfind("/manifests/");
               m != absl::string_view::npos) {
      repository = std::string(path.substr(0, m));
      rest = std::string(path.substr(m + 11));
    } else {
      res.status = 404;
      res.set_content(ErrorBody("NOT_FOUND", "unknown path"), JsonType());
      return;
    }
    if (!Authorized(req, repository, res)) return;
    if (path.empty()) {
      res.status = 200;
      res.set_content("{}", JsonType());
      return;
    }
    std::shared_ptr<const Repository> repo;
    {
      absl::MutexLock lock(&mu_);
      auto it = repositories_.find(repository);
      if (it != repositories_.end()) repo = it->second;
    }
    if (repo == nullptr) {
      res.status = 404;
      res.set_content(
          ErrorBody("NAME_UNKNOWN", "repository name not known to registry"),
          JsonType());
      return;
    }
    if (rest == "tags") {
      ServeTags(req, repository, *repo, res);
    } else {
      ServeManifest(repository, rest, *repo, res);
    }
  }

  void ApplyFault(const RegistryFault& fault, const httplib::Request& req,
                  httplib::Response& res) {
    switch (fault.kind) {
      case RegistryFault::Kind::kStatus:
        res.status = fault.status;
        if (!fault.retry_after.empty()) {
          res.set_header("Retry-After", fault.retry_after);
        }
        res.set_content(ErrorBody("FAULT", "injected"), JsonType());
        return;
      case RegistryFault::Kind::kReset:
        Reset(req);
        res.status = 500;
        return;
      case RegistryFault::Kind::kTruncatedJson:
        res.status = 200;
        res.set_content(R"({"name":"app","tags":["1.0.0","1.)", JsonType());
        return;
      case RegistryFault::Kind::kMalformedJson:
        res.status = 200;
        res.set_content("<html>surely not JSON</html>", JsonType());
        return;
      case RegistryFault::Kind::kLargeBody: {
        res.status = 200;
        const int64_t total = fault.size;
        auto sent = std::make_shared<int64_t>(0);
        std::atomic<int64_t>* counter = &large_bytes_sent_;
        auto write = [total, sent, counter](httplib::DataSink& sink) {
          static const std::string chunk(64 << 10, ' ');
          const int64_t n = std::min<int64_t>(chunk.size(), total - *sent);
          if (n <= 0) return false;
          if (!sink.write(chunk.data(), n)) return false;
          *sent += n;
          counter->fetch_add(n);
          return true;
        };
        if (fault.chunked) {
          res.set_chunked_content_provider(
              JsonType(),
              [total, sent, write](size_t, httplib::DataSink& sink) {
                if (*sent >= total) {
                  sink.done();
                  return true;
                }
                return write(sink);
              });
        } else {
          res.set_content_provider(
              total, JsonType(),
              [write](size_t, size_t, httplib::DataSink& sink) {
                return write(sink);
              });
        }
        return;
      }
      case RegistryFault::Kind::kSlow:
        return;  // handled by the caller
    }
  }

  // Closes the request's connection with a TCP reset. The socket's number
  // is taken over by /dev/null at once (dup2), so httplib's later writes and
  // close hit that instead of a reused descriptor.
  void Reset(const httplib::Request& req) {
    for (const auto& entry :
         std::filesystem::directory_iterator("/proc/self/fd")) {
      int fd = -1;
      if (!absl::SimpleAtoi(entry.path().filename().string(), &fd)) continue;
      sockaddr_in local{}, peer{};
      socklen_t local_len = sizeof(local), peer_len = sizeof(peer);
      if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) !=
              0 ||
          getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0 ||
          local.sin_family != AF_INET || peer.sin_family != AF_INET) {
        continue;
      }
      if (ntohs(local.sin_port) != req.local_port ||
          ntohs(peer.sin_port) != req.remote_port) {
        continue;
      }
      linger abort_close{1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_close, sizeof(abort_close));
      dup2(devnull_, fd);
      return;
    }
  }

  // Checks the request's credentials for `repository` ("" for /v2/);
  // answers the challenge and returns false when they do not pass.
  bool Authorized(const httplib::Request& req, const std::string& repository,
                  httplib::Response& res) {
    absl::MutexLock lock(&mu_);
    const std::string authorization = req.get_header_value("Authorization");
    switch (auth_mode_) {
      case AuthMode::kNone:
        return true;
      case AuthMode::kBasic:
        if (authorization == basic_expected_) return true;
        res.set_header("WWW-Authenticate", R"(Basic realm="fake")");
        break;
      case AuthMode::kBearer: {
        absl::string_view token = authorization;
        if (absl::ConsumePrefix(&token, "Bearer ")) {
          auto it = issued_.find(std::string(token));
          if (it != issued_.end() &&
              (repository.empty() ||
               absl::StrContains(
                   it->second, absl::StrCat("repository:", repository, ":")))) {
            return true;
          }
        }
        std::string challenge = absl::StrCat(R"(Bearer realm="http://)", Host(),
                                             R"(/token",service="fake")");
        if (!repository.empty()) {
          absl::StrAppend(&challenge, R"(,scope="repository:)", repository,
                          R"(:pull")");
        }
        res.set_header("WWW-Authenticate", challenge);
        break;
      }
    }
    res.status = 401;
    res.set_content(ErrorBody("UNAUTHORIZED", "authentication required"),
                    json_type_);
    return false;
  }

  void ServeAcrExchange(const httplib::Request& req, httplib::Response& res) {
    std::function<bool(const std::string&)> accept;
    std::string refresh_token;
    {
      absl::MutexLock lock(&mu_);
      accept = acr_accept_;
      refresh_token = acr_refresh_token_;
    }
    std::string host = req.get_header_value("Host");
    host = host.substr(
        0, host.rfind(':') == std::string::npos || host.back() == ']'
               ? host.size()
               : host.rfind(':'));
    if (!accept || req.get_param_value("grant_type") != "access_token" ||
        req.get_param_value("service") != host ||
        !accept(req.get_param_value("access_token"))) {
      res.status = 401;
      res.set_content(
          ErrorBody("UNAUTHORIZED", "The access token is invalid or expired"),
          JsonType());
      return;
    }
    absl::MutexLock lock(&mu_);
    ++acr_exchanges_;
    res.set_content(
        absl::StrCat(R"({"refresh_token":")", refresh_token, R"("})"),
        "application/json");
  }

  void ServeToken(const httplib::Request& req, httplib::Response& res) {
    absl::MutexLock lock(&mu_);
    if (auth_mode_ != AuthMode::kBearer) {
      res.status = 404;
      return;
    }
    if (!token_basic_expected_.empty() &&
        req.get_header_value("Authorization") != token_basic_expected_) {
      res.status = 401;
      res.set_header("WWW-Authenticate", R"(Basic realm="fake-token")");
      res.set_content(ErrorBody("UNAUTHORIZED", "bad credentials"), json_type_);
      return;
    }
    std::string scopes;
    for (size_t i = 0; i < req.get_param_value_count("scope"); ++i) {
      absl::StrAppend(&scopes, req.get_param_value("scope", i), " ");
    }
    const std::string token = absl::StrCat("fake-token-", ++token_serial_);
    issued_[token] = scopes;
    std::string body =
        absl::StrCat("{\"", bearer_.access_token ? "access_token" : "token",
                     "\":\"", token, "\"");
    if (bearer_.expires_in > 0) {
      absl::StrAppend(&body, ",\"expires_in\":", bearer_.expires_in);
    }
    body.push_back('}');
    res.status = 200;
    res.set_content(body, json_type_);
  }

  void ServeTags(const httplib::Request& req, const std::string& repository,
                 const Repository& repo, httplib::Response& res) {
    size_t start = 0;
    if (req.has_param("last")) {
      auto it = repo.index.find(req.get_param_value("last"));
      start = it == repo.index.end() ? repo.tags.size() : it->second + 1;
    }
    int64_t limit = 0;
    if (req.has_param("n")) absl::SimpleAtoi(req.get_param_value("n"), &limit);
    int max_page;
    bool absolute;
    std::string link_override;
    {
      absl::MutexLock lock(&mu_);
      max_page = max_page_size_;
      absolute = absolute_links_;
      link_override = next_link_override_;
    }
    if (max_page > 0 && (limit <= 0 || limit > max_page)) limit = max_page;
    size_t end = repo.tags.size();
    if (limit > 0 && start + limit < end) end = start + limit;
    if (start > end) start = end;

    std::string body = "{\"name\":";
    AppendJsonString(&body, repository);
    body.append(",\"tags\":");
    if (repo.null_tags) {
      body.append("null");
    } else {
      body.push_back('[');
      for (size_t i = start; i < end; ++i) {
        if (i > start) body.push_back(',');
        AppendJsonString(&body, repo.tags[i]);
      }
      body.push_back(']');
    }
    body.push_back('}');
    if (end < repo.tags.size() && end > start) {
      std::string link = link_override;
      if (link.empty()) {
        link =
            absl::StrCat(absolute ? "http://" + Host() : "", "/v2/", repository,
                         "/tags/list?n=", limit, "&last=", repo.tags[end - 1]);
      }
      res.set_header("Link", absl::StrCat("<", link, R"(>; rel="next")"));
    }
    res.status = 200;
    res.set_content(std::move(body), JsonType());
  }

  void ServeManifest(const std::string& repository, const std::string& tag,
                     const Repository& repo, httplib::Response& res) {
    std::string digest;
    if (auto it = repo.digests.find(tag); it != repo.digests.end()) {
      digest = it->second;
    } else if (repo.index.contains(tag)) {
      digest = absl::StrCat("sha256:",
                            Sha256Hex(absl::StrCat(repository, ":", tag)));
    } else {
      res.status = 404;
      res.set_content(ErrorBody("MANIFEST_UNKNOWN", "manifest unknown"),
                      JsonType());
      return;
    }
    res.status = 200;
    res.set_header("Docker-Content-Digest", digest);
    res.set_content(R"({"schemaVersion":2})",
                    "application/vnd.oci.image.manifest.v1+json");
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  const int devnull_;
  std::atomic<int> connections_{0};
  std::atomic<int64_t> large_bytes_sent_{0};

  mutable absl::Mutex mu_;
  absl::CondVar stop_cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, std::shared_ptr<const Repository>> repositories_
      ABSL_GUARDED_BY(mu_);
  int max_page_size_ ABSL_GUARDED_BY(mu_) = 0;
  bool absolute_links_ ABSL_GUARDED_BY(mu_) = false;
  // What Docker distribution sends (and cpp-httplib never compresses:
  // it compresses only the exact type "application/json").
  std::string json_type_ ABSL_GUARDED_BY(mu_) =
      "application/json; charset=utf-8";
  std::string next_link_override_ ABSL_GUARDED_BY(mu_);
  AuthMode auth_mode_ ABSL_GUARDED_BY(mu_) = AuthMode::kNone;
  std::string basic_expected_ ABSL_GUARDED_BY(mu_);
  std::string token_basic_expected_ ABSL_GUARDED_BY(mu_);
  std::function<bool(const std::string&)> acr_accept_ ABSL_GUARDED_BY(mu_);
  std::string acr_refresh_token_ ABSL_GUARDED_BY(mu_);
  int acr_exchanges_ ABSL_GUARDED_BY(mu_) = 0;
  FakeRegistry::BearerOptions bearer_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> issued_ ABSL_GUARDED_BY(mu_);  // -> scopes
  int token_serial_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<PendingFault> faults_ ABSL_GUARDED_BY(mu_);
  std::vector<RecordedRequest> received_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> requests_ ABSL_GUARDED_BY(mu_);

  friend class FakeRegistry;
};

namespace {
std::string BasicHeader(const std::string& username,
                        const std::string& password) {
  return absl::StrCat(
      "Basic ", absl::Base64Escape(absl::StrCat(username, ":", password)));
}
}  // namespace

FakeRegistry::FakeRegistry() : impl_(std::make_unique<Impl>()) {}
FakeRegistry::~FakeRegistry() = default;

absl::Status FakeRegistry::Start() { return impl_->Start(); }
void FakeRegistry::Stop() { impl_->Stop(); }
int FakeRegistry::port() const { return impl_->port_; }
std::string FakeRegistry::host() const { return impl_->Host(); }
std::string FakeRegistry::url() const {
  return absl::StrCat("http://", host());
}

void FakeRegistry::SetTags(const std::string& repository,
                           std::vector<std::string> tags) {
  auto repo = std::make_shared<Repository>();
  repo->tags = std::move(tags);
  repo->index.reserve(repo->tags.size());
  for (size_t i = 0; i < repo->tags.size(); ++i) repo->index[repo->tags[i]] = i;
  absl::MutexLock lock(&impl_->mu_);
  auto& slot = impl_->repositories_[repository];
  if (slot != nullptr) repo->digests = slot->digests;
  slot = std::move(repo);
}

void FakeRegistry::SetNullTags(const std::string& repository) {
  auto repo = std::make_shared<Repository>();
  repo->null_tags = true;
  absl::MutexLock lock(&impl_->mu_);
  impl_->repositories_[repository] = std::move(repo);
}

void FakeRegistry::DeleteRepository(const std::string& repository) {
  absl::MutexLock lock(&impl_->mu_);
  impl_->repositories_.erase(repository);
}

void FakeRegistry::SetDigest(const std::string& repository,
                             const std::string& tag,
                             const std::string& digest) {
  absl::MutexLock lock(&impl_->mu_);
  auto& slot = impl_->repositories_[repository];
  auto repo = slot != nullptr ? std::make_shared<Repository>(*slot)
                              : std::make_shared<Repository>();
  repo->digests[tag] = digest;
  slot = std::move(repo);
}

void FakeRegistry::SetMaxPageSize(int n) {
  absl::MutexLock lock(&impl_->mu_);
  impl_->max_page_size_ = n;
}

void FakeRegistry::SetAbsoluteLinks(bool absolute) {
  absl::MutexLock lock(&impl_->mu_);
  impl_->absolute_links_ = absolute;
}

void FakeRegistry::SetJsonContentType(const std::string& type) {
  absl::MutexLock lock(&impl_->mu_);
  impl_->json_type_ = type;
}

void FakeRegistry::SetNextLinkOverride(const std::string& link) {
  absl::MutexLock lock(&impl_->mu_);
  impl_->next_link_override_ = link;
}

void FakeRegistry::RequireNothing() {
  absl::MutexLock lock(&impl_->mu_);
  impl_->auth_mode_ = AuthMode::kNone;
}

void FakeRegistry::RequireBasic(const std::string& username,
                                const std::string& password) {
  absl::MutexLock lock(&impl_->mu_);
  impl_->auth_mode_ = AuthMode::kBasic;
  impl_->basic_expected_ = BasicHeader(username, password);
}

void FakeRegistry::ServeAcrExchange(
    std::function<bool(const std::string&)> accept,
    const std::string& refresh_token) {
  absl::MutexLock lock(&impl_->mu_);
  impl_->acr_accept_ = std::move(accept);
  impl_->acr_refresh_token_ = refresh_token;
}

int FakeRegistry::acr_exchanges() const {
  absl::MutexLock lock(&impl_->mu_);
  return impl_->acr_exchanges_;
}

void FakeRegistry::RequireBearer(BearerOptions options) {
  absl::MutexLock lock(&impl_->mu_);
  impl_->auth_mode_ = AuthMode::kBearer;
  impl_->token_basic_expected_ =
      options.credentials.has_value()
          ? BasicHeader(options.credentials->first, options.credentials->second)
          : "";
  impl_->bearer_ = std::move(options);
}

void FakeRegistry::RevokeTokens() {
  absl::MutexLock lock(&impl_->mu_);
  impl_->issued_.clear();
}

void FakeRegistry::AddFault(const std::string& path_prefix, RegistryFault fault,
                            int times) {
  absl::MutexLock lock(&impl_->mu_);
  impl_->faults_.push_back(PendingFault{path_prefix, std::move(fault), times});
}

int FakeRegistry::Requests(const std::string& path) const {
  absl::MutexLock lock(&impl_->mu_);
  auto it = impl_->requests_.find(path);
  return it == impl_->requests_.end() ? 0 : it->second;
}

int FakeRegistry::TotalRequests() const {
  absl::MutexLock lock(&impl_->mu_);
  return static_cast<int>(impl_->received_.size());
}

int FakeRegistry::Connections() const { return impl_->connections_.load(); }

std::vector<RecordedRequest> FakeRegistry::Received() const {
  absl::MutexLock lock(&impl_->mu_);
  return impl_->received_;
}

int64_t FakeRegistry::LargeBodyBytesSent() const {
  return impl_->large_bytes_sent_.load();
}

void FakeRegistry::ResetCounters() {
  absl::MutexLock lock(&impl_->mu_);
  impl_->received_.clear();
  impl_->requests_.clear();
  impl_->connections_.store(0);
}

}  // namespace ia::testing
