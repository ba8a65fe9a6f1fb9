// The libcurl HttpTransport. Handles are owned by unique_ptrs (CurlHandle,
// CurlHeaders), pooled per origin and reset between requests so that their
// connections are reused; a handle whose transfer failed is dropped.
#include "services/reflector/curl_transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "common/files.h"
#include "common/metrics.h"
#include "services/reflector/registry_headers.h"

namespace ia::reflector {
namespace {

constexpr char kUserAgent[] = "image-automation-reflector/1";
// Idle easy handles (each keeping its connections) kept per origin.
constexpr size_t kIdleHandlesPerOrigin = 8;
// CA bundles (system CAs + one ca_pem) kept ready.
constexpr size_t kCaBundles = 64;

struct CurlEasyDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
using CurlHandle = std::unique_ptr<CURL, CurlEasyDeleter>;

struct CurlSlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlHeaders = std::unique_ptr<curl_slist, CurlSlistDeleter>;

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

// The state curl's callbacks fill during one transfer.
struct Transfer {
  HttpResponse reply;
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
// of one transport. (Connections are reused through the handle pool
// instead: libcurl does not support sharing its connection cache across
// threads.)
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
  // libcurl pairs each Lock with an Unlock in a later call, which the
  // thread-safety analysis cannot follow.
  static void Lock(CURL*, curl_lock_data data, curl_lock_access,
                   void* user) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    static_cast<CurlShare*>(user)->mu_[Index(data)].Lock();
  }
  static void Unlock(CURL*, curl_lock_data data,
                     void* user) ABSL_NO_THREAD_SAFETY_ANALYSIS {
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

// The failure a libcurl code means (never CURLE_OK).
absl::Status FailureFor(CURLcode code, const std::string& detail,
                        bool too_large) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return HttpFailureStatus(HttpFailure::kTimeout, detail);
    case CURLE_WRITE_ERROR:
      return HttpFailureStatus(
          too_large ? HttpFailure::kTooLarge : HttpFailure::kConnection,
          detail);
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
      return HttpFailureStatus(HttpFailure::kTlsMaterial, detail);
    case CURLE_PEER_FAILED_VERIFICATION:
      return HttpFailureStatus(HttpFailure::kUntrustedCertificate, detail);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return HttpFailureStatus(HttpFailure::kBadUrl, detail);
    default:
      return HttpFailureStatus(HttpFailure::kConnection, detail);
  }
}

class CurlTransport final : public HttpTransport {
 public:
  explicit CurlTransport(const CurlTransportOptions& options)
      : count_as_registry_requests_(options.count_as_registry_requests) {
    GlobalInit();
    for (const std::string& entry : options.test_connect_to) {
      curl_slist* appended =
          curl_slist_append(connect_to_.get(), entry.c_str());
      if (appended == nullptr) continue;
      connect_to_.release();
      connect_to_.reset(appended);
    }
  }

  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override {
    absl::StatusOr<UrlParts> parts = ParseUrl(request.url);
    if (!parts.ok()) {
      return HttpFailureStatus(HttpFailure::kBadUrl, parts.status().message());
    }
    const std::string origin = parts->Origin();

    Transfer transfer;
    transfer.max_bytes =
        request.max_reply_bytes > 0 ? request.max_reply_bytes : INT64_MAX;
    transfer.head = request.method == "HEAD";
    CurlHeaders headers;
    for (const auto& [name, value] : request.headers) {
      curl_slist* appended = curl_slist_append(
          headers.get(), absl::StrCat(name, ": ", value).c_str());
      if (appended == nullptr) {
        return HttpFailureStatus(HttpFailure::kConnection, "out of memory");
      }
      headers.release();
      headers.reset(appended);
    }
    char error[CURL_ERROR_SIZE] = {0};
    // TLS: the system's CAs stay trusted; ca_pem is added to them.
    struct curl_blob ca_blob;
    std::shared_ptr<const std::string> ca_bundle;
    struct curl_blob cert_blob, key_blob;

    CurlHandle curl = AcquireHandle(origin);
    CURL* c = curl.get();
    curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_SHARE, share_.get());
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION,
                     static_cast<long>(CURL_HTTP_VERSION_2TLS));
    curl_easy_setopt(c, CURLOPT_USERAGENT, kUserAgent);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(
        c, CURLOPT_TIMEOUT_MS,
        std::max<long>(1, absl::ToInt64Milliseconds(request.timeout)));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &OnHeader);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &transfer);
    if (transfer.head) {
      curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (request.method == "GET") {
      curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, request.body.c_str());
    }
    if (!request.ca_pem.empty()) {
      ca_bundle = CaBundle(request.ca_pem);
      ca_blob = {const_cast<char*>(ca_bundle->data()), ca_bundle->size(),
                 CURL_BLOB_NOCOPY};
      curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca_blob);
    }
    if (!request.client_cert_pem.empty()) {
      cert_blob = {const_cast<char*>(request.client_cert_pem.data()),
                   request.client_cert_pem.size(), CURL_BLOB_COPY};
      key_blob = {const_cast<char*>(request.client_key_pem.data()),
                  request.client_key_pem.size(), CURL_BLOB_COPY};
      curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
      curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &cert_blob);
      curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
      curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &key_blob);
    }
    // Without proxy_url there is no proxy: libcurl must not take one from
    // http_proxy / HTTPS_PROXY in the environment either ("" for
    // CURLOPT_PROXY alone did not stop that with Debian's 7.88).
    curl_easy_setopt(c, CURLOPT_PROXY, request.proxy_url.c_str());
    curl_easy_setopt(c, CURLOPT_NOPROXY, request.proxy_url.empty() ? "*" : "");
    if (!request.proxy_url.empty()) {
      if (!request.proxy_username.empty() || !request.proxy_password.empty()) {
        curl_easy_setopt(c, CURLOPT_PROXYUSERNAME,
                         request.proxy_username.c_str());
        curl_easy_setopt(c, CURLOPT_PROXYPASSWORD,
                         request.proxy_password.c_str());
      }
    }

    if (!request.aws_sigv4.empty()) {
      curl_easy_setopt(c, CURLOPT_AWS_SIGV4, request.aws_sigv4.c_str());
      curl_easy_setopt(c, CURLOPT_USERNAME, request.aws_access_key_id.c_str());
      curl_easy_setopt(c, CURLOPT_PASSWORD,
                       request.aws_secret_access_key.c_str());
    }
    if (connect_to_ != nullptr) {
      curl_easy_setopt(c, CURLOPT_CONNECT_TO, connect_to_.get());
    }

    const CURLcode code = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (count_as_registry_requests_) {
      CountRequest(code, status, transfer.too_large);
    }
    if (code != CURLE_OK) {
      // A fresh handle is safer after a failure: this one is dropped.
      return FailureFor(code,
                        error[0] != '\0' ? error : curl_easy_strerror(code),
                        transfer.too_large);
    }
    // The connection stays with the handle for the next request.
    ReleaseHandle(origin, std::move(curl));
    transfer.reply.status = status;
    return std::move(transfer.reply);
  }

 private:
  CurlHandle AcquireHandle(const std::string& origin) {
    {
      absl::MutexLock lock(&pool_mu_);
      auto it = idle_.find(origin);
      if (it != idle_.end() && !it->second.empty()) {
        CurlHandle handle = std::move(it->second.back());
        it->second.pop_back();
        return handle;
      }
    }
    return CurlHandle(curl_easy_init());
  }

  void ReleaseHandle(const std::string& origin, CurlHandle handle) {
    curl_easy_reset(handle.get());  // keeps the handle's connections and caches
    absl::MutexLock lock(&pool_mu_);
    std::vector<CurlHandle>& handles = idle_[origin];
    if (handles.size() < kIdleHandlesPerOrigin) {
      handles.push_back(std::move(handle));
    }
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
      CurlHandle curl(curl_easy_init());
      char* path = nullptr;
      if (curl != nullptr &&
          curl_easy_getinfo(curl.get(), CURLINFO_CAINFO, &path) == CURLE_OK &&
          path != nullptr) {
        // When it cannot be read, only ca_pem is trusted.
        absl::StatusOr<std::string> bundle = ReadFileToString(path);
        if (bundle.ok()) system_ca_ = *std::move(bundle);
      }
    }
    return system_ca_;
  }

  const bool count_as_registry_requests_;
  CurlShare share_;
  CurlHeaders connect_to_;  // CURLOPT_CONNECT_TO; null when none

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<const std::string>>
      ca_bundles_ ABSL_GUARDED_BY(mu_);
  bool system_ca_read_ ABSL_GUARDED_BY(mu_) = false;
  std::string system_ca_ ABSL_GUARDED_BY(mu_);

  absl::Mutex pool_mu_;
  std::map<std::string, std::vector<CurlHandle>> idle_
      ABSL_GUARDED_BY(pool_mu_);
};

}  // namespace

std::unique_ptr<HttpTransport> MakeCurlTransport(CurlTransportOptions options) {
  GlobalInit();
  return std::make_unique<CurlTransport>(options);
}

std::vector<std::string> TestConnectToFromEnvironment() {
  const char* value = std::getenv("IA_TEST_CONNECT_TO");
  if (value == nullptr) return {};
  return absl::StrSplit(value, ',', absl::SkipEmpty());
}

}  // namespace ia::reflector
