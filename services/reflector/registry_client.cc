// The libcurl RegistryClient and the .dockerconfigjson reader.
//
// One operation (ListTags or Digest) carries an Op: the registry's origin,
// the repository, the options, a deadline on the injected clock and the
// stats. Every HTTP request of it goes through Perform (budget, deadline,
// one curl transfer), Retrying (429/503) and Fetch (the 401 challenge).
#include "services/reflector/registry_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"
#include "services/reflector/registry_headers.h"

namespace ia::reflector {
namespace {

// What a HEAD on a manifest accepts: Docker and OCI manifests and indexes.
constexpr char kManifestAccept[] =
    "Accept: application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.oci.image.index.v1+json";
constexpr char kUserAgent[] = "image-automation-reflector/1";
// A token reply without expires_in is good for this long (the distribution
// token specification's default).
constexpr absl::Duration kDefaultTokenLifetime = absl::Seconds(60);
// Idle easy handles (each keeping its connections) kept per origin.
constexpr size_t kIdleHandlesPerOrigin = 8;
// CA bundles (system CAs + one ca_pem) kept ready.
constexpr size_t kCaBundles = 64;
// Expired tokens are swept when the cache grows past this.
constexpr size_t kTokenCacheSweep = 1024;

// One count per HTTP request to a registry or its token service (retries
// included), registered at start so that /metrics shows it at once.
metrics::CounterFamily& requests_metric =
    metrics::Registry::Default().AddCounter(
        "ia_registry_requests_total",
        "HTTP requests to registries, by status class (2xx..5xx, none when "
        "unanswered) and result (ok, unauthorized, not_found, throttled, "
        "error, "
        "timeout, too_large, tls_error, connection_error).",
        {"code", "result"});

void CountRequest(CURLcode code, long status, bool too_large) {
  const std::string status_class =
      status >= 100 && status < 600 ? absl::StrCat(status / 100, "xx") : "none";
  absl::string_view result = "connection_error";
  if (code == CURLE_OK) {
    result = status < 400                     ? "ok"
             : status == 401 || status == 403 ? "unauthorized"
             : status == 404                  ? "not_found"
             : status == 429 || status == 503 ? "throttled"
                                              : "error";
  } else if (code == CURLE_OPERATION_TIMEDOUT) {
    result = "timeout";
  } else if (code == CURLE_WRITE_ERROR && too_large) {
    result = "too_large";
  } else if (code == CURLE_SSL_CACERT_BADFILE ||
             code == CURLE_SSL_CERTPROBLEM ||
             code == CURLE_PEER_FAILED_VERIFICATION ||
             code == CURLE_SSL_CONNECT_ERROR) {
    result = "tls_error";
  }
  requests_metric.WithLabels({status_class, result}).Increment();
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool LooksLikePem(absl::string_view pem) {
  return absl::StrContains(pem, "-----BEGIN ") &&
         absl::StrContains(pem, "-----END ");
}

std::string BasicAuthorization(const RegistryCredentials& credentials) {
  return absl::StrCat("Basic ",
                      absl::Base64Escape(absl::StrCat(credentials.username, ":",
                                                      credentials.password)));
}

// One HTTP reply: status, headers (names in lower case) and body.
struct Reply {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The first value of header `name` (lower case), or "".
  std::string Header(absl::string_view name) const {
    for (const auto& [key, value] : headers) {
      if (key == name) return value;
    }
    return "";
  }
  // Every value of header `name`, joined with ", " as HTTP allows.
  std::string JoinedHeader(absl::string_view name) const {
    std::vector<absl::string_view> values;
    for (const auto& [key, value] : headers) {
      if (key == name) values.push_back(value);
    }
    return absl::StrJoin(values, ", ");
  }
};

// The state curl's callbacks fill during one transfer.
struct Transfer {
  Reply reply;
  int64_t max_bytes = 0;
  bool head = false;
  bool too_large = false;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t length = size * count;
  if (static_cast<int64_t>(transfer->reply.body.size() + length) >
      transfer->max_bytes) {
    transfer->too_large = true;
    return 0;  // anything but `length` aborts the transfer
  }
  transfer->reply.body.append(data, length);
  return length;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t length = size * count;
  absl::string_view line(data, length);
  if (absl::StartsWith(line, "HTTP/")) {
    // A new response (after a 100 Continue or a proxy's CONNECT reply).
    transfer->reply.headers.clear();
    return length;
  }
  const size_t colon = line.find(':');
  if (colon == absl::string_view::npos) return length;
  std::string name = absl::AsciiStrToLower(line.substr(0, colon));
  std::string value(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  if (name == "content-length" && !transfer->head) {
    int64_t declared = 0;
    if (absl::SimpleAtoi(value, &declared) && declared > transfer->max_bytes) {
      transfer->too_large = true;
      return 0;  // refuse before the body arrives
    }
  }
  transfer->reply.headers.emplace_back(std::move(name), std::move(value));
  return length;
}

// A CURLSH that shares the DNS cache and TLS sessions between all handles
// of one client. (Connections are reused through the handle pool instead:
// libcurl does not support sharing its connection cache across threads.)
class CurlShare {
 public:
  CurlShare() : share_(curl_share_init()) {
    curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, &CurlShare::Lock);
    curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, &CurlShare::Unlock);
    curl_share_setopt(share_, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }
  ~CurlShare() { curl_share_cleanup(share_); }
  CurlShare(const CurlShare&) = delete;
  CurlShare& operator=(const CurlShare&) = delete;
  CURLSH* get() const { return share_; }

 private:
  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<CurlShare*>(user)->mu_[Index(data)].Lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* user) {
    static_cast<CurlShare*>(user)->mu_[Index(data)].Unlock();
  }
  static size_t Index(curl_lock_data data) {
    const size_t i = static_cast<size_t>(data);
    return i < kLocks ? i : 0;
  }
  static constexpr size_t kLocks = CURL_LOCK_DATA_LAST;
  CURLSH* share_;
  absl::Mutex mu_[kLocks];
};

// One operation of the client.
struct Op {
  std::string host;    // the registry host as errors name it ("ghcr.io")
  std::string path;    // the repository ("org/app")
  std::string origin;  // "https://ghcr.io"
  const RegistryOptions* options = nullptr;
  absl::Duration timeout;  // options.timeout, or the default when unset
  absl::Time deadline;
  ScanStats* stats = nullptr;  // never null inside the client

  std::string Name() const { return absl::StrCat(host, "/", path); }
};

// What the client learnt about a registry host's authentication.
struct HostAuth {
  enum class Scheme { kUnknown, kBasic, kBearer } scheme = Scheme::kUnknown;
  std::string realm;    // Bearer
  std::string service;  // Bearer
};

struct CachedToken {
  std::string token;
  absl::Time expires;
};

// A token bucket of one host.
struct Bucket {
  double tokens = 0;
  absl::Time last;
  bool started = false;
};

// "GET /v2/app/tags/list?n=10" for messages: the request without origin.
std::string Describe(absl::string_view method, absl::string_view url) {
  absl::StatusOr<UrlParts> parts = ParseUrl(url);
  return absl::StrCat(method, " ",
                      parts.ok() ? parts->path_and_query : std::string(url));
}

class CurlRegistryClient final : public RegistryClient {
 public:
  explicit CurlRegistryClient(RegistryClientConfig config)
      : config_(std::move(config)),
        clock_(config_.clock != nullptr ? config_.clock : RealClock()) {}

  ~CurlRegistryClient() override {
    absl::MutexLock lock(&pool_mu_);
    for (auto& [origin, handles] : idle_) {
      for (CURL* handle : handles) curl_easy_cleanup(handle);
    }
  }

  absl::StatusOr<std::vector<std::string>> ListTags(
      const ImageReference& image, const RegistryOptions& options,
      ScanStats* stats) override {
    ScanStats local;
    ASSIGN_OR_RETURN(Op op, Begin(image, options, stats ? stats : &local));
    std::string url = absl::StrCat(op.origin, "/v2/", op.path, "/tags/list");
    if (options.page_size > 0) absl::StrAppend(&url, "?n=", options.page_size);
    std::vector<std::string> tags;
    std::set<std::string> visited;
    for (;;) {
      visited.insert(url);
      ASSIGN_OR_RETURN(Reply reply,
                       Fetch(op, "GET", url, "Accept: application/json"));
      RETURN_IF_ERROR(CheckStatus(op, reply, "GET", url, ""));
      ++op.stats->pages;
      RETURN_IF_ERROR(ParseTagsPage(op, url, reply.body, &tags));
      std::optional<std::string> next =
          ParseNextLink(reply.JoinedHeader("link"));
      if (!next.has_value()) break;
      absl::StatusOr<std::string> resolved = ResolveNextLink(url, *next);
      if (!resolved.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "listing tags of ", op.Name(), ": ", resolved.status().message()));
      }
      if (visited.count(*resolved) > 0) {
        return absl::DataLossError(absl::StrCat(
            "listing tags of ", op.Name(), ": the registry's next link ",
            Describe("GET", *resolved), " points back to a page already read"));
      }
      url = *std::move(resolved);
    }
    return tags;
  }

  absl::StatusOr<std::string> Digest(const ImageReference& image,
                                     absl::string_view tag,
                                     const RegistryOptions& options) override {
    ScanStats local;
    ASSIGN_OR_RETURN(Op op, Begin(image, options, &local));
    if (tag.empty() || tag.size() > 128 ||
        !std::all_of(tag.begin(), tag.end(), [](char c) {
          return absl::ascii_isalnum(c) || c == '_' || c == '.' || c == '-';
        })) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", tag, "\" is not a valid tag of ", op.Name()));
    }
    const std::string url =
        absl::StrCat(op.origin, "/v2/", op.path, "/manifests/", tag);
    ASSIGN_OR_RETURN(Reply reply, Fetch(op, "HEAD", url, kManifestAccept));
    RETURN_IF_ERROR(CheckStatus(op, reply, "HEAD", url, tag));
    std::string digest = reply.Header("docker-content-digest");
    const size_t colon = digest.find(':');
    if (colon == std::string::npos || colon == 0 ||
        colon + 1 == digest.size()) {
      return absl::DataLossError(absl::StrCat(
          op.host, " sent no valid Docker-Content-Digest header for ",
          op.Name(), ":", tag));
    }
    return digest;
  }

 private:
  absl::StatusOr<Op> Begin(const ImageReference& image,
                           const RegistryOptions& options, ScanStats* stats) {
    GlobalInit();
    Op op;
    op.host = image.RegistryHost();
    op.path = image.path;
    op.options = &options;
    op.stats = stats;
    if (op.host.empty() || op.path.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "image \"", image.Name(), "\" has no registry host or repository"));
    }
    op.origin =
        absl::StrCat(options.insecure ? "http" : "https", "://", op.host);
    if (!options.ca_pem.empty() && !LooksLikePem(options.ca_pem)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the CA certificate for ", op.host, " is not in PEM format"));
    }
    if (options.client_cert_pem.empty() != options.client_key_pem.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("the client certificate for ", op.host,
                       " needs both a certificate and a key"));
    }
    if (!options.client_cert_pem.empty() &&
        (!LooksLikePem(options.client_cert_pem) ||
         !LooksLikePem(options.client_key_pem))) {
      return absl::InvalidArgumentError(
          absl::StrCat("the client certificate or key for ", op.host,
                       " is not in PEM format"));
    }
    op.timeout = options.timeout > absl::ZeroDuration() ? options.timeout
                                                        : absl::Minutes(1);
    op.deadline = clock_->Now() + op.timeout;
    return op;
  }

  // The operation's deadline error, naming what was under way.
  absl::Status DeadlineError(const Op& op, absl::string_view doing) const {
    return absl::DeadlineExceededError(absl::StrCat(
        doing, " for ", op.Name(), " did not finish within the timeout of ",
        absl::FormatDuration(op.timeout)));
  }

  // Waits on the injected clock until `until` (which the caller checked
  // against the deadline).
  void SleepUntil(absl::Time until) const {
    absl::Mutex mu;
    absl::CondVar cv;
    absl::MutexLock lock(&mu);
    while (clock_->Now() < until) clock_->WaitUntil(&cv, &mu, until);
  }

  // Draws one request from the budget of `origin`, waiting when it is spent.
  absl::Status TakeBudget(const Op& op, const std::string& origin) {
    if (config_.requests_per_second <= 0) return absl::OkStatus();
    const double rate = config_.requests_per_second;
    const double burst = std::max(1.0, rate);
    absl::Time until;
    {
      absl::MutexLock lock(&mu_);
      Bucket& bucket = buckets_[origin];
      const absl::Time now = clock_->Now();
      if (!bucket.started) {
        bucket.started = true;
        bucket.tokens = burst;
        bucket.last = now;
      }
      if (now > bucket.last) {
        bucket.tokens = std::min(
            burst,
            bucket.tokens + absl::ToDoubleSeconds(now - bucket.last) * rate);
        bucket.last = now;
      }
      bucket.tokens -= 1;
      if (bucket.tokens >= 0) return absl::OkStatus();
      until = now + absl::Seconds(-bucket.tokens / rate);
      if (until > op.deadline) {
        bucket.tokens += 1;  // not taken after all
        return DeadlineError(op,
                             "waiting for the request budget of the registry");
      }
    }
    SleepUntil(until);
    return absl::OkStatus();
  }

  CURL* AcquireHandle(const std::string& origin) {
    {
      absl::MutexLock lock(&pool_mu_);
      auto it = idle_.find(origin);
      if (it != idle_.end() && !it->second.empty()) {
        CURL* handle = it->second.back();
        it->second.pop_back();
        return handle;
      }
    }
    return curl_easy_init();
  }

  void ReleaseHandle(const std::string& origin, CURL* handle) {
    curl_easy_reset(handle);  // keeps the handle's connections and caches
    absl::MutexLock lock(&pool_mu_);
    std::vector<CURL*>& handles = idle_[origin];
    if (handles.size() < kIdleHandlesPerOrigin) {
      handles.push_back(handle);
      return;
    }
    curl_easy_cleanup(handle);
  }

  // One HTTP request: budget, deadline, the transfer. HTTP statuses are
  // returned as replies; only transport failures are errors.
  absl::StatusOr<Reply> Perform(const Op& op, absl::string_view method,
                                const std::string& url,
                                absl::string_view accept,
                                const std::string& authorization) {
    ASSIGN_OR_RETURN(UrlParts parts, ParseUrl(url));
    const std::string origin = parts.Origin();
    const std::string what = Describe(method, url);
    RETURN_IF_ERROR(TakeBudget(op, origin));
    const absl::Duration remaining = op.deadline - clock_->Now();
    if (remaining <= absl::ZeroDuration()) {
      return DeadlineError(op, absl::StrCat(what, " on ", parts.host));
    }
    const RegistryOptions& options = *op.options;

    Transfer transfer;
    transfer.max_bytes =
        options.max_reply_bytes > 0 ? options.max_reply_bytes : INT64_MAX;
    transfer.head = method == "HEAD";
    const std::string method_string(method);
    struct curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, std::string(accept).c_str());
    if (!authorization.empty()) {
      headers = curl_slist_append(
          headers, absl::StrCat("Authorization: ", authorization).c_str());
    }
    char error[CURL_ERROR_SIZE] = {0};

    CURL* curl = AcquireHandle(origin);
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_SHARE, share_.get());
    curl_easy_setopt(curl, CURLOPT_HTTP_VERSION,
                     static_cast<long>(CURL_HTTP_VERSION_2TLS));
    curl_easy_setopt(curl, CURLOPT_USERAGENT, kUserAgent);
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                     std::max<long>(1, absl::ToInt64Milliseconds(remaining)));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &OnHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
    if (transfer.head) {
      curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else {
      curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    }
    // TLS: the system's CAs stay trusted; ca_pem is added to them.
    struct curl_blob ca_blob;
    std::shared_ptr<const std::string> ca_bundle;
    if (!options.ca_pem.empty()) {
      ca_bundle = CaBundle(options.ca_pem);
      ca_blob = {const_cast<char*>(ca_bundle->data()), ca_bundle->size(),
                 CURL_BLOB_NOCOPY};
      curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &ca_blob);
    }
    struct curl_blob cert_blob, key_blob;
    if (!options.client_cert_pem.empty()) {
      cert_blob = {const_cast<char*>(options.client_cert_pem.data()),
                   options.client_cert_pem.size(), CURL_BLOB_COPY};
      key_blob = {const_cast<char*>(options.client_key_pem.data()),
                  options.client_key_pem.size(), CURL_BLOB_COPY};
      curl_easy_setopt(curl, CURLOPT_SSLCERTTYPE, "PEM");
      curl_easy_setopt(curl, CURLOPT_SSLCERT_BLOB, &cert_blob);
      curl_easy_setopt(curl, CURLOPT_SSLKEYTYPE, "PEM");
      curl_easy_setopt(curl, CURLOPT_SSLKEY_BLOB, &key_blob);
    }
    // Without proxy_url there is no proxy: libcurl must not take one from
    // http_proxy / HTTPS_PROXY in the environment either ("" for
    // CURLOPT_PROXY alone did not stop that with Debian's 7.88).
    curl_easy_setopt(curl, CURLOPT_PROXY, options.proxy_url.c_str());
    curl_easy_setopt(curl, CURLOPT_NOPROXY,
                     options.proxy_url.empty() ? "*" : "");
    if (!options.proxy_url.empty()) {
      if (!options.proxy_username.empty() || !options.proxy_password.empty()) {
        curl_easy_setopt(curl, CURLOPT_PROXYUSERNAME,
                         options.proxy_username.c_str());
        curl_easy_setopt(curl, CURLOPT_PROXYPASSWORD,
                         options.proxy_password.c_str());
      }
    }

    const CURLcode code = curl_easy_perform(curl);
    ++op.stats->requests;
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    CountRequest(code, status, transfer.too_large);
    // The connection stays with the handle for the next request, except
    // after a failure, where a fresh handle is safer.
    if (code == CURLE_OK) {
      ReleaseHandle(origin, curl);
    } else {
      curl_easy_cleanup(curl);
    }
    curl_slist_free_all(headers);

    const std::string detail =
        error[0] != '\0' ? error : curl_easy_strerror(code);
    switch (code) {
      case CURLE_OK:
        break;
      case CURLE_OPERATION_TIMEDOUT:
        return DeadlineError(op, absl::StrCat(what, " on ", parts.host));
      case CURLE_WRITE_ERROR:
        if (transfer.too_large) {
          return absl::ResourceExhaustedError(absl::StrCat(
              "the reply of ", parts.host, " to ", what, " for ", op.Name(),
              " is larger than the limit of ", transfer.max_bytes, " bytes"));
        }
        return absl::UnavailableError(absl::StrCat(
            what, " on ", parts.host, " for ", op.Name(), " failed: ", detail));
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_CERTPROBLEM:
        return absl::InvalidArgumentError(absl::StrCat(
            "the TLS material for ", parts.host, " is not usable: ", detail));
      case CURLE_PEER_FAILED_VERIFICATION:
        return absl::UnavailableError(absl::StrCat(
            "the TLS certificate of ", parts.host, " is not trusted (", detail,
            "); give its CA in spec.certSecretRef"));
      case CURLE_URL_MALFORMAT:
      case CURLE_UNSUPPORTED_PROTOCOL:
        return absl::InvalidArgumentError(absl::StrCat(
            what, " on ", parts.host, " for ", op.Name(), ": ", detail));
      default:
        return absl::UnavailableError(absl::StrCat(
            what, " on ", parts.host, " for ", op.Name(), " failed: ", detail));
    }
    transfer.reply.status = status;
    log::Debug("registry request")
        .With("method", method_string)
        .With("host", parts.host)
        .With("path", parts.path_and_query)
        .With("status", static_cast<int64_t>(status));
    return std::move(transfer.reply);
  }

  // Perform, retrying 429 and 503 after Retry-After or a capped
  // exponential backoff, at most config_.max_retries times.
  absl::StatusOr<Reply> Retrying(const Op& op, absl::string_view method,
                                 const std::string& url,
                                 absl::string_view accept,
                                 const std::string& authorization) {
    for (int attempt = 0;; ++attempt) {
      ASSIGN_OR_RETURN(Reply reply,
                       Perform(op, method, url, accept, authorization));
      if (reply.status != 429 && reply.status != 503) return reply;
      if (attempt >= config_.max_retries) {
        return absl::UnavailableError(absl::StrCat(
            ParseUrl(url)->host, " answered ", Describe(method, url), " for ",
            op.Name(), " with HTTP ", reply.status, " ", attempt + 1,
            " times; giving up"));
      }
      const absl::Time now = clock_->Now();
      std::optional<absl::Duration> wait =
          ParseRetryAfter(reply.Header("retry-after"), now);
      if (!wait.has_value()) {
        const double factor = std::ldexp(1.0, std::min(attempt, 62));
        wait = std::min(config_.max_backoff, config_.initial_backoff * factor);
      }
      if (now + *wait > op.deadline) {
        return DeadlineError(
            op, absl::StrCat("waiting ", absl::FormatDuration(*wait),
                             " to retry after HTTP ", reply.status));
      }
      ++op.stats->retries;
      SleepUntil(now + *wait);
    }
  }

  // A request to the registry with docker's authentication flow.
  absl::StatusOr<Reply> Fetch(const Op& op, absl::string_view method,
                              const std::string& url,
                              absl::string_view accept) {
    ASSIGN_OR_RETURN(std::string authorization, ProactiveAuthorization(op));
    bool answered = false;
    for (;;) {
      ASSIGN_OR_RETURN(Reply reply,
                       Retrying(op, method, url, accept, authorization));
      if (reply.status != 401) return reply;
      if (answered) return AuthenticationFailed(op);
      answered = true;
      ASSIGN_OR_RETURN(authorization,
                       AnswerChallenge(op, reply, authorization));
    }
  }

  absl::Status AuthenticationFailed(const Op& op) const {
    if (op.options->credentials.has_value()) {
      return absl::UnauthenticatedError(
          absl::StrCat("authentication failed for ", op.Name(),
                       ": the registry refused the credentials"));
    }
    return absl::UnauthenticatedError(absl::StrCat(
        "authentication failed for ", op.Name(),
        ": the registry requires credentials; set spec.secretRef"));
  }

  std::string TokenKey(const Op& op, const std::string& scope) const {
    std::string key = absl::StrCat(op.host, "\n", scope, "\n");
    if (op.options->credentials.has_value()) {
      absl::StrAppend(
          &key, op.options->credentials->username, "\n",
          std::hash<std::string>()(op.options->credentials->password));
    }
    return key;
  }

  std::string DefaultScope(const Op& op) const {
    return absl::StrCat("repository:", op.path, ":pull");
  }

  // The Authorization to send before the registry asks: Basic when the host
  // asked for it before, a Bearer token when the host's realm is known.
  absl::StatusOr<std::string> ProactiveAuthorization(const Op& op) {
    HostAuth auth;
    {
      absl::MutexLock lock(&mu_);
      auto it = host_auth_.find(op.host);
      if (it == host_auth_.end()) return std::string();
      auth = it->second;
    }
    switch (auth.scheme) {
      case HostAuth::Scheme::kBasic:
        if (!op.options->credentials.has_value()) return std::string();
        return BasicAuthorization(*op.options->credentials);
      case HostAuth::Scheme::kBearer: {
        ASSIGN_OR_RETURN(std::string token,
                         Token(op, auth.realm, auth.service, DefaultScope(op)));
        return absl::StrCat("Bearer ", token);
      }
      case HostAuth::Scheme::kUnknown:
        break;
    }
    return std::string();
  }

  // The Authorization answering the 401 `reply`; `previous` is what that
  // request carried.
  absl::StatusOr<std::string> AnswerChallenge(const Op& op, const Reply& reply,
                                              const std::string& previous) {
    const std::vector<AuthChallenge> challenges =
        ParseWwwAuthenticate(reply.JoinedHeader("www-authenticate"));
    const AuthChallenge* bearer = nullptr;
    const AuthChallenge* basic = nullptr;
    for (const AuthChallenge& c : challenges) {
      if (c.scheme == "bearer" && bearer == nullptr) bearer = &c;
      if (c.scheme == "basic" && basic == nullptr) basic = &c;
    }
    if (bearer != nullptr) {
      const std::string realm = bearer->Param("realm");
      if (realm.empty()) {
        return absl::UnauthenticatedError(
            absl::StrCat("authentication failed for ", op.Name(),
                         ": the registry's Bearer challenge has no realm"));
      }
      std::string scope = bearer->Param("scope");
      if (scope.empty()) scope = DefaultScope(op);
      {
        absl::MutexLock lock(&mu_);
        HostAuth& auth = host_auth_[op.host];
        auth.scheme = HostAuth::Scheme::kBearer;
        auth.realm = realm;
        auth.service = bearer->Param("service");
        if (absl::StartsWith(previous, "Bearer ")) {
          // The token was refused (revoked or expired early): forget it.
          tokens_.erase(TokenKey(op, scope));
          tokens_.erase(TokenKey(op, DefaultScope(op)));
        }
      }
      ASSIGN_OR_RETURN(std::string token,
                       Token(op, realm, bearer->Param("service"), scope));
      return absl::StrCat("Bearer ", token);
    }
    if (basic != nullptr) {
      {
        absl::MutexLock lock(&mu_);
        host_auth_[op.host].scheme = HostAuth::Scheme::kBasic;
      }
      if (!op.options->credentials.has_value()) return AuthenticationFailed(op);
      std::string authorization = BasicAuthorization(*op.options->credentials);
      if (authorization == previous) return AuthenticationFailed(op);
      return authorization;
    }
    return absl::UnauthenticatedError(absl::StrCat(
        "authentication failed for ", op.Name(),
        ": the registry answered 401 without a Basic or Bearer challenge"));
  }

  // A token for `scope` from the cache, or from the realm.
  absl::StatusOr<std::string> Token(const Op& op, const std::string& realm,
                                    const std::string& service,
                                    const std::string& scope) {
    const std::string key = TokenKey(op, scope);
    {
      absl::MutexLock lock(&mu_);
      auto it = tokens_.find(key);
      if (it != tokens_.end()) {
        if (clock_->Now() < it->second.expires) return it->second.token;
        tokens_.erase(it);
      }
    }
    ASSIGN_OR_RETURN(UrlParts realm_parts, ParseUrl(realm));
    std::string url = realm;
    char separator = absl::StrContains(realm, '?') ? '&' : '?';
    if (!service.empty()) {
      absl::StrAppend(&url, std::string(1, separator),
                      "service=", UrlEscape(service));
      separator = '&';
    }
    for (absl::string_view one :
         absl::StrSplit(scope, ' ', absl::SkipEmpty())) {
      absl::StrAppend(&url, std::string(1, separator),
                      "scope=", UrlEscape(one));
      separator = '&';
    }
    const std::string authorization =
        op.options->credentials.has_value()
            ? BasicAuthorization(*op.options->credentials)
            : std::string();
    ASSIGN_OR_RETURN(
        Reply reply,
        Retrying(op, "GET", url, "Accept: application/json", authorization));
    if (reply.status == 401 || reply.status == 403) {
      return AuthenticationFailed(op);
    }
    if (reply.status != 200) {
      return StatusForHttp(
          op, reply.status,
          absl::StrCat("the token service ", realm_parts.host,
                       " answered the token request for ", op.Name(),
                       " with HTTP ", reply.status));
    }
    nlohmann::json json = nlohmann::json::parse(reply.body, nullptr, false);
    std::string token;
    if (json.is_object()) {
      for (const char* field : {"token", "access_token"}) {
        auto it = json.find(field);
        if (it != json.end() && it->is_string() &&
            !it->get<std::string>().empty()) {
          token = it->get<std::string>();
          break;
        }
      }
    }
    if (token.empty()) {
      return absl::DataLossError(absl::StrCat(
          "the token service ", realm_parts.host, " sent no token for ",
          op.Name(), " (expected JSON with \"token\" or \"access_token\")"));
    }
    absl::Duration lifetime = kDefaultTokenLifetime;
    if (auto it = json.find("expires_in");
        it != json.end() && it->is_number() && it->get<double>() > 0) {
      lifetime = absl::Seconds(it->get<double>());
    }
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_->Now();
    if (tokens_.size() >= kTokenCacheSweep) {
      for (auto it = tokens_.begin(); it != tokens_.end();) {
        if (it->second.expires <= now) {
          tokens_.erase(it++);
        } else {
          ++it;
        }
      }
    }
    tokens_[key] = CachedToken{token, now + lifetime};
    return token;
  }

  static std::string UrlEscape(absl::string_view text) {
    std::string out;
    for (char c : text) {
      if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' ||
          c == '~') {
        out.push_back(c);
      } else {
        absl::StrAppend(&out, "%",
                        absl::AsciiStrToUpper(
                            absl::BytesToHexString(absl::string_view(&c, 1))));
      }
    }
    return out;
  }

  absl::Status StatusForHttp(const Op& op, long status,
                             std::string message) const {
    if (status >= 500) return absl::UnavailableError(std::move(message));
    if (status == 404) return absl::NotFoundError(std::move(message));
    if (status == 403) return absl::PermissionDeniedError(std::move(message));
    if (status == 401) return absl::UnauthenticatedError(std::move(message));
    return absl::UnknownError(std::move(message));
  }

  // OK for a 200 reply; else the error the status means. `tag` is set for
  // manifests.
  absl::Status CheckStatus(const Op& op, const Reply& reply,
                           absl::string_view method, const std::string& url,
                           absl::string_view tag) const {
    if (reply.status == 200) return absl::OkStatus();
    if (reply.status == 404) {
      if (!tag.empty()) {
        return absl::NotFoundError(absl::StrCat(
            "tag \"", tag, "\" of ", op.Name(), " not found on the registry"));
      }
      return absl::NotFoundError(
          absl::StrCat("repository ", op.Name(), " not found on the registry"));
    }
    if (reply.status == 403) {
      return absl::PermissionDeniedError(absl::StrCat(
          "access to ", op.Name(), " denied by the registry (HTTP 403)"));
    }
    return StatusForHttp(
        op, reply.status,
        absl::StrCat(op.host, " answered ", Describe(method, url), " for ",
                     op.Name(), " with HTTP ", reply.status));
  }

  absl::Status ParseTagsPage(const Op& op, const std::string& url,
                             const std::string& body,
                             std::vector<std::string>* tags) const {
    const auto bad = [&](absl::string_view why) {
      return absl::DataLossError(absl::StrCat("malformed reply from ", op.host,
                                              " to ", Describe("GET", url),
                                              " for ", op.Name(), ": ", why));
    };
    nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
    if (json.is_discarded()) return bad("not valid JSON (truncated?)");
    if (!json.is_object()) return bad("not a JSON object");
    auto it = json.find("tags");
    if (it == json.end() || it->is_null()) return absl::OkStatus();
    if (!it->is_array()) return bad("\"tags\" is not an array");
    for (const nlohmann::json& tag : *it) {
      if (!tag.is_string())
        return bad("\"tags\" holds a value that is not a string");
      if (static_cast<int64_t>(tags->size()) >= op.options->max_tags) {
        return absl::ResourceExhaustedError(
            absl::StrCat(op.Name(), " has more than ", op.options->max_tags,
                         " tags, the limit per scan"));
      }
      tags->push_back(tag.get<std::string>());
    }
    return absl::OkStatus();
  }

  // The system's CA bundle followed by `ca_pem`: CURLOPT_CAINFO_BLOB
  // replaces the default CAs, and ca_pem must add to them instead. Kept
  // per ca_pem (CA certificates are public, and few).
  std::shared_ptr<const std::string> CaBundle(const std::string& ca_pem) {
    absl::MutexLock lock(&mu_);
    auto it = ca_bundles_.find(ca_pem);
    if (it != ca_bundles_.end()) return it->second;
    if (ca_bundles_.size() >= kCaBundles) ca_bundles_.clear();
    auto bundle = std::make_shared<const std::string>(
        absl::StrCat(SystemCaBundleLocked(), "\n", ca_pem));
    ca_bundles_[ca_pem] = bundle;
    return bundle;
  }

  // The default CA bundle's contents, read once.
  const std::string& SystemCaBundleLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!system_ca_read_) {
      system_ca_read_ = true;
      CURL* curl = curl_easy_init();
      char* path = nullptr;
      if (curl_easy_getinfo(curl, CURLINFO_CAINFO, &path) == CURLE_OK &&
          path != nullptr) {
        std::FILE* file = std::fopen(path, "rb");
        if (file != nullptr) {
          char buffer[65536];
          size_t n;
          while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) {
            system_ca_.append(buffer, n);
          }
          std::fclose(file);
        }
      }
      curl_easy_cleanup(curl);
    }
    return system_ca_;
  }

  const RegistryClientConfig config_;
  Clock* const clock_;
  CurlShare share_;

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, HostAuth> host_auth_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, CachedToken> tokens_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::shared_ptr<const std::string>>
      ca_bundles_ ABSL_GUARDED_BY(mu_);
  bool system_ca_read_ ABSL_GUARDED_BY(mu_) = false;
  std::string system_ca_ ABSL_GUARDED_BY(mu_);

  absl::Mutex pool_mu_;
  std::map<std::string, std::vector<CURL*>> idle_ ABSL_GUARDED_BY(pool_mu_);
};

// Docker Hub's names, which find each other's credentials.
bool IsDockerHub(absl::string_view host) {
  return host == "docker.io" || host == "index.docker.io" ||
         host == "registry-1.docker.io";
}

// The host of an `auths` key: "https://index.docker.io/v1/" ->
// "index.docker.io"; "ghcr.io" -> "ghcr.io".
std::string AuthsKeyHost(absl::string_view key) {
  absl::string_view host = absl::StripAsciiWhitespace(key);
  if (const size_t scheme = host.find("://");
      scheme != absl::string_view::npos) {
    host.remove_prefix(scheme + 3);
  }
  host = host.substr(0, host.find('/'));
  return absl::AsciiStrToLower(host);
}

absl::StatusOr<RegistryCredentials> EntryCredentials(
    const std::string& key, const nlohmann::json& entry) {
  const std::string where =
      absl::StrCat(".dockerconfigjson: auths[\"", key, "\"]");
  if (!entry.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(where, " is not an object"));
  }
  RegistryCredentials credentials;
  auto auth = entry.find("auth");
  if (auth != entry.end() && !auth->is_null() &&
      !(auth->is_string() && auth->get<std::string>().empty())) {
    std::string decoded;
    if (!auth->is_string() ||
        !absl::Base64Unescape(auth->get<std::string>(), &decoded)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".auth is not base64"));
    }
    const size_t colon = decoded.find(':');
    if (colon == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ".auth does not decode to \"username:password\""));
    }
    credentials.username = decoded.substr(0, colon);
    credentials.password = decoded.substr(colon + 1);
    return credentials;
  }
  auto username = entry.find("username");
  auto password = entry.find("password");
  if (username == entry.end() || !username->is_string() ||
      username->get<std::string>().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, " has neither \"auth\" nor \"username\" and \"password\""));
  }
  if (password != entry.end() && !password->is_string() &&
      !password->is_null()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ".password is not a string"));
  }
  credentials.username = username->get<std::string>();
  if (password != entry.end() && password->is_string()) {
    credentials.password = password->get<std::string>();
  }
  return credentials;
}

}  // namespace

std::unique_ptr<RegistryClient> MakeRegistryClient(
    RegistryClientConfig config) {
  GlobalInit();
  return std::make_unique<CurlRegistryClient>(std::move(config));
}

absl::StatusOr<std::optional<RegistryCredentials>> CredentialsFromDockerConfig(
    absl::string_view docker_config_json, absl::string_view registry_host) {
  nlohmann::json config = nlohmann::json::parse(
      docker_config_json.begin(), docker_config_json.end(), nullptr, false);
  if (config.is_discarded() || !config.is_object()) {
    return absl::InvalidArgumentError(".dockerconfigjson is not a JSON object");
  }
  auto auths = config.find("auths");
  if (auths == config.end() || auths->is_null()) {
    return std::optional<RegistryCredentials>();
  }
  if (!auths->is_object()) {
    return absl::InvalidArgumentError(
        ".dockerconfigjson: \"auths\" is not an object");
  }
  const std::string host = absl::AsciiStrToLower(registry_host);
  // An entry for the host itself wins over one for an alias of it.
  const std::string* alias_key = nullptr;
  const nlohmann::json* alias_entry = nullptr;
  for (auto it = auths->begin(); it != auths->end(); ++it) {
    const std::string key_host = AuthsKeyHost(it.key());
    if (key_host == host) {
      ASSIGN_OR_RETURN(RegistryCredentials credentials,
                       EntryCredentials(it.key(), it.value()));
      return std::optional<RegistryCredentials>(std::move(credentials));
    }
    if (alias_entry == nullptr && IsDockerHub(host) && IsDockerHub(key_host)) {
      alias_key = &it.key();
      alias_entry = &it.value();
    }
  }
  if (alias_entry != nullptr) {
    ASSIGN_OR_RETURN(RegistryCredentials credentials,
                     EntryCredentials(*alias_key, *alias_entry));
    return std::optional<RegistryCredentials>(std::move(credentials));
  }
  return std::optional<RegistryCredentials>();
}

}  // namespace ia::reflector
