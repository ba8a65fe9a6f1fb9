#include "tests/support/fake_azure.h"

#include <map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/support/loopback_http.h"

namespace ia::testing {

class FakeAzure::Impl {
 public:
  ~Impl() { Stop(); }

  absl::Status Start() {
    absl::Status started =
        http_.Start([this](const httplib::Request& req,
                           httplib::Response& res) { Serve(req, res); },
                    "fake Azure");
    port_ = http_.port();
    return started;
  }

  void Stop() { http_.Stop(); }

  int port_ = 0;
  mutable absl::Mutex mu_;
  std::string tenant_ ABSL_GUARDED_BY(mu_);
  std::string client_id_ ABSL_GUARDED_BY(mu_);
  std::string federated_token_ ABSL_GUARDED_BY(mu_);
  std::string client_secret_ ABSL_GUARDED_BY(mu_);
  std::string audience_ ABSL_GUARDED_BY(mu_) =
      "https://containerregistry.azure.net";
  std::map<std::string, absl::Time> issued_ ABSL_GUARDED_BY(mu_);
  int token_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int imds_calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> rejections_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> secrets_ ABSL_GUARDED_BY(mu_);
  absl::BitGen gen_ ABSL_GUARDED_BY(mu_);

  std::string Issue() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const std::string token = absl::StrCat("eyJ0eXAiOiJKV1QifQ.entra.",
                                           absl::Uniform<uint64_t>(gen_));
    issued_[token] = absl::Now() + absl::Hours(1);
    secrets_.push_back(token);
    return token;
  }

 private:
  void Error(httplib::Response& res, int status, const std::string& error,
             const std::string& description)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    rejections_.push_back(absl::StrCat(error, ": ", description));
    res.status = status;
    res.set_content(
        nlohmann::json{
            {"error", error},
            {"error_description",
             absl::StrCat(description,
                          "\r\nTrace ID: 0000\r\nCorrelation ID: "
                          "1111\r\nTimestamp: 2026-01-01 00:00:00Z")}}
            .dump(),
        "application/json");
  }

  void Answer(httplib::Response& res) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    res.set_content(nlohmann::json{{"token_type", "Bearer"},
                                   {"expires_in", 3599},
                                   {"access_token", Issue()}}
                        .dump(),
                    "application/json");
  }

  void Serve(const httplib::Request& req, httplib::Response& res) {
    absl::MutexLock lock(&mu_);
    if (req.method == "GET" && req.path == "/metadata/identity/oauth2/token") {
      ++imds_calls_;
      if (req.get_header_value("Metadata") != "true") {
        return Error(res, 400, "invalid_request",
                     "Required metadata header not specified");
      }
      if (req.get_param_value("api-version").empty() ||
          req.get_param_value("resource") != audience_) {
        return Error(res, 400, "invalid_resource",
                     "AADSTS500011: The resource principal was not found");
      }
      return Answer(res);
    }
    if (req.method != "POST" ||
        !absl::EndsWith(req.path, "/oauth2/v2.0/token")) {
      res.status = 404;
      return;
    }
    ++token_calls_;
    const std::string tenant = req.path.substr(
        1, req.path.size() - 1 - std::string("/oauth2/v2.0/token").size());
    if (tenant != tenant_) {
      return Error(
          res, 400, "invalid_request",
          absl::StrCat("AADSTS90002: Tenant '", tenant, "' not found."));
    }
    if (req.get_param_value("grant_type") != "client_credentials") {
      return Error(res, 400, "unsupported_grant_type", "AADSTS70003");
    }
    if (req.get_param_value("client_id") != client_id_) {
      return Error(res, 400, "unauthorized_client",
                   absl::StrCat("AADSTS700016: Application with identifier '",
                                req.get_param_value("client_id"),
                                "' was not found in the directory."));
    }
    if (req.get_param_value("scope") != audience_ + "/.default") {
      return Error(res, 400, "invalid_scope",
                   "AADSTS70011: The provided value for the input parameter "
                   "'scope' is not valid.");
    }
    if (req.has_param("client_assertion")) {
      if (req.get_param_value("client_assertion_type") !=
              "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" ||
          req.get_param_value("client_assertion") != federated_token_) {
        return Error(res, 401, "invalid_client",
                     "AADSTS700213: No matching federated identity record "
                     "found for presented assertion.");
      }
      return Answer(res);
    }
    if (client_secret_.empty() ||
        req.get_param_value("client_secret") != client_secret_) {
      return Error(res, 401, "invalid_client",
                   "AADSTS7000215: Invalid client secret provided.");
    }
    Answer(res);
  }

  LoopbackHttpServer http_;
};

FakeAzure::FakeAzure() : impl_(std::make_unique<Impl>()) {}
FakeAzure::~FakeAzure() = default;
absl::Status FakeAzure::Start() { return impl_->Start(); }
void FakeAzure::Stop() { impl_->Stop(); }
std::string FakeAzure::url() const {
  return absl::StrCat("http://127.0.0.1:", impl_->port_);
}
void FakeAzure::SetApplication(const std::string& tenant,
                               const std::string& client_id,
                               const std::string& federated_token,
                               const std::string& client_secret) {
  absl::MutexLock lock(&impl_->mu_);
  impl_->tenant_ = tenant;
  impl_->client_id_ = client_id;
  impl_->federated_token_ = federated_token;
  impl_->client_secret_ = client_secret;
  impl_->secrets_.push_back(federated_token);
  if (!client_secret.empty()) impl_->secrets_.push_back(client_secret);
}
void FakeAzure::SetAudience(const std::string& audience) {
  absl::MutexLock lock(&impl_->mu_);
  impl_->audience_ = audience;
}
bool FakeAzure::IsValid(const std::string& access_token) const {
  absl::MutexLock lock(&impl_->mu_);
  auto it = impl_->issued_.find(access_token);
  return it != impl_->issued_.end() && absl::Now() < it->second;
}
std::string FakeAzure::MakeRefreshToken(absl::Duration lifetime) {
  const std::string header = absl::WebSafeBase64Escape(R"({"alg":"RS256"})");
  absl::MutexLock lock(&impl_->mu_);
  const std::string payload = absl::WebSafeBase64Escape(nlohmann::json{
      {"exp", absl::ToUnixSeconds(absl::Now() + lifetime)},
      {"jti", absl::Uniform<uint64_t>(impl_->gen_)},
      {"grant_type", "refresh_token"}}.dump());
  const std::string token = absl::StrCat(header, ".", payload, ".c2lnbmF0dXJl");
  impl_->secrets_.push_back(token);
  return token;
}
int FakeAzure::token_calls() const {
  absl::MutexLock lock(&impl_->mu_);
  return impl_->token_calls_;
}
int FakeAzure::imds_calls() const {
  absl::MutexLock lock(&impl_->mu_);
  return impl_->imds_calls_;
}
std::vector<std::string> FakeAzure::Rejections() const {
  absl::MutexLock lock(&impl_->mu_);
  return impl_->rejections_;
}
std::vector<std::string> FakeAzure::Secrets() const {
  absl::MutexLock lock(&impl_->mu_);
  return impl_->secrets_;
}

}  // namespace ia::testing
