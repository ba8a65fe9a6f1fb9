#include "tests/support/fake_gcp.h"

#include <map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/support/loopback_http.h"

namespace ia::testing {

class FakeGcp::Impl {
 public:
  ~Impl() { Stop(); }

  absl::Status Start() {
    absl::Status started =
        http_.Start([this](const httplib::Request& req,
                           httplib::Response& res) { Serve(req, res); },
                    "fake GCP");
    port_ = http_.port();
    return started;
  }

  void Stop() { http_.Stop(); }

  int port_ = 0;
  mutable absl::Mutex mu_;
  std::string access_token_ ABSL_GUARDED_BY(mu_) = "ya29.fake";
  absl::Duration lifetime_ ABSL_GUARDED_BY(mu_) = absl::Hours(1);
  std::string audience_ ABSL_GUARDED_BY(mu_);
  std::string subject_token_ ABSL_GUARDED_BY(mu_);
  std::string email_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Time> federated_ ABSL_GUARDED_BY(mu_);
  int metadata_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int sts_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int impersonation_calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> rejections_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> secrets_ ABSL_GUARDED_BY(mu_);
  absl::BitGen gen_ ABSL_GUARDED_BY(mu_);

 private:
  void Reject(httplib::Response& res, int status, const std::string& body,
              const std::string& type, const std::string& why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    rejections_.push_back(why);
    res.status = status;
    res.set_content(body, type);
  }

  void OAuthError(httplib::Response& res, const std::string& error,
                  const std::string& description)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Reject(res, 400,
           nlohmann::json{{"error", error}, {"error_description", description}}
               .dump(),
           "application/json", absl::StrCat(error, ": ", description));
  }

  void GoogleError(httplib::Response& res, int code, const std::string& status,
                   const std::string& message)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Reject(res, code,
           nlohmann::json{
               {"error",
                {{"code", code}, {"message", message}, {"status", status}}}}
               .dump(),
           "application/json", absl::StrCat(status, ": ", message));
  }

  void Serve(const httplib::Request& req, httplib::Response& res) {
    absl::MutexLock lock(&mu_);
    if (req.path ==
        "/computeMetadata/v1/instance/service-accounts/default/"
        "token") {
      ServeMetadata(req, res);
    } else if (req.method == "POST" && req.path == "/v1/token") {
      ServeSts(req, res);
    } else if (req.method == "POST" &&
               absl::StartsWith(req.path, "/v1/projects/-/serviceAccounts/") &&
               absl::EndsWith(req.path, ":generateAccessToken")) {
      ServeImpersonation(req, res);
    } else {
      res.status = 404;
    }
  }

  void ServeMetadata(const httplib::Request& req, httplib::Response& res)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++metadata_calls_;
    res.set_header("Metadata-Flavor", "Google");
    if (req.get_header_value("Metadata-Flavor") != "Google" ||
        req.has_header("X-Forwarded-For")) {
      return Reject(res, 403,
                    "Missing required header \"Metadata-Flavor\": \"Google\"",
                    "text/html", "metadata: no Metadata-Flavor");
    }
    res.set_content(
        nlohmann::json{{"access_token", access_token_},
                       {"expires_in", absl::ToInt64Seconds(lifetime_)},
                       {"token_type", "Bearer"}}
            .dump(),
        "application/json");
  }

  void ServeSts(const httplib::Request& req, httplib::Response& res)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++sts_calls_;
    if (req.get_param_value("grant_type") !=
        "urn:ietf:params:oauth:grant-type:token-exchange") {
      return OAuthError(res, "unsupported_grant_type", "grant_type");
    }
    if (req.get_param_value("requested_token_type") !=
            "urn:ietf:params:oauth:token-type:access_token" ||
        req.get_param_value("subject_token_type") !=
            "urn:ietf:params:oauth:token-type:jwt") {
      return OAuthError(res, "invalid_request", "token types");
    }
    if (req.get_param_value("audience") != audience_) {
      return OAuthError(res, "invalid_target",
                        "The target service indicated by the \"audience\" "
                        "parameters is invalid.");
    }
    if (subject_token_.empty() ||
        req.get_param_value("subject_token") != subject_token_) {
      return OAuthError(res, "invalid_grant",
                        "The provided subject token is invalid.");
    }
    if (req.get_param_value("scope").empty()) {
      return OAuthError(res, "invalid_scope", "no scope");
    }
    std::string token =
        email_.empty()
            ? access_token_
            : absl::StrCat("federated.", absl::Uniform<uint64_t>(gen_));
    federated_[token] = absl::Now() + lifetime_;
    secrets_.push_back(token);
    res.set_content(
        nlohmann::json{{"access_token", token},
                       {"issued_token_type",
                        "urn:ietf:params:oauth:token-type:access_token"},
                       {"token_type", "Bearer"},
                       {"expires_in", absl::ToInt64Seconds(lifetime_)}}
            .dump(),
        "application/json");
  }

  void ServeImpersonation(const httplib::Request& req, httplib::Response& res)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++impersonation_calls_;
    const std::string authorization = req.get_header_value("Authorization");
    absl::string_view bearer = authorization;
    auto it = absl::ConsumePrefix(&bearer, "Bearer ")
                  ? federated_.find(std::string(bearer))
                  : federated_.end();
    if (it == federated_.end() || absl::Now() >= it->second) {
      return GoogleError(res, 401, "UNAUTHENTICATED",
                         "Request had invalid authentication credentials.");
    }
    const std::string prefix = "/v1/projects/-/serviceAccounts/";
    const std::string email = req.path.substr(
        prefix.size(), req.path.size() - prefix.size() -
                           std::string(":generateAccessToken").size());
    if (email != email_) {
      return GoogleError(res, 403, "PERMISSION_DENIED",
                         "Permission 'iam.serviceAccounts.getAccessToken' "
                         "denied on resource (or it may not exist).");
    }
    const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("scope") ||
        !body["scope"].is_array() || body["scope"].empty()) {
      return GoogleError(res, 400, "INVALID_ARGUMENT", "scope is required");
    }
    res.set_content(
        nlohmann::json{{"accessToken", access_token_},
                       {"expireTime", absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                                                       absl::Now() + lifetime_,
                                                       absl::UTCTimeZone())}}
            .dump(),
        "application/json");
  }

  LoopbackHttpServer http_;
};

FakeGcp::FakeGcp() : impl_(std::make_unique<Impl>()) {}
FakeGcp::~FakeGcp() = default;
absl::Status FakeGcp::Start() { return impl_->Start(); }
void FakeGcp::Stop() { impl_->Stop(); }
std::string FakeGcp::url() const { return "http://" + host(); }
std::string FakeGcp::host() const {
  return absl::StrCat("127.0.0.1:", impl_->port_);
}
void FakeGcp::SetAccessToken(const std::string& token,
                             absl::Duration lifetime) {
  absl::MutexLock lock(&impl_->mu_);
  impl_->access_token_ = token;
  impl_->lifetime_ = lifetime;
  impl_->secrets_.push_back(token);
}
void FakeGcp::SetFederation(const std::string& audience,
                            const std::string& subject_token) {
  absl::MutexLock lock(&impl_->mu_);
  impl_->audience_ = audience;
  impl_->subject_token_ = subject_token;
  impl_->secrets_.push_back(subject_token);
}
void FakeGcp::SetServiceAccount(const std::string& email) {
  absl::MutexLock lock(&impl_->mu_);
  impl_->email_ = email;
}
int FakeGcp::metadata_calls() const {
  absl::MutexLock lock(&impl_->mu_);
  return impl_->metadata_calls_;
}
int FakeGcp::sts_calls() const {
  absl::MutexLock lock(&impl_->mu_);
  return impl_->sts_calls_;
}
int FakeGcp::impersonation_calls() const {
  absl::MutexLock lock(&impl_->mu_);
  return impl_->impersonation_calls_;
}
std::vector<std::string> FakeGcp::Rejections() const {
  absl::MutexLock lock(&impl_->mu_);
  return impl_->rejections_;
}
std::vector<std::string> FakeGcp::Secrets() const {
  absl::MutexLock lock(&impl_->mu_);
  return impl_->secrets_;
}

}  // namespace ia::testing
