#include "tests/support/fake_aws.h"

#include <map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/support/loopback_http.h"
#include "tests/support/sigv4.h"

namespace ia::testing {

namespace {

std::string RandomText(absl::BitGen& gen, int length) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  for (int i = 0; i < length; ++i) {
    out.push_back(kAlphabet[absl::Uniform(gen, 0u, sizeof(kAlphabet) - 1)]);
  }
  return out;
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

}  // namespace

class FakeAws::Impl {
 public:
  ~Impl() { Stop(); }

  absl::Status Start() {
    absl::Status started =
        http_.Start([this](const httplib::Request& req,
                           httplib::Response& res) { Serve(req, res); },
                    "fake AWS");
    port_ = http_.port();
    return started;
  }

  void Stop() { http_.Stop(); }

  std::string Url() const { return absl::StrCat("http://127.0.0.1:", port_); }

  struct Key {
    std::string secret;
    std::string session_token;  // "" for long-term keys
    absl::Time expires = absl::InfiniteFuture();
  };

  mutable absl::Mutex mu_;
  std::string role_arn_ ABSL_GUARDED_BY(mu_);
  std::string web_token_ ABSL_GUARDED_BY(mu_);
  std::string pod_token_ ABSL_GUARDED_BY(mu_);
  std::string instance_role_ ABSL_GUARDED_BY(mu_);
  std::string imds_token_ ABSL_GUARDED_BY(mu_);
  absl::Duration lifetime_ ABSL_GUARDED_BY(mu_) = absl::Hours(1);
  std::string region_ ABSL_GUARDED_BY(mu_) = "us-east-1";
  std::string login_ ABSL_GUARDED_BY(mu_) = "AWS:password";
  absl::Duration login_lifetime_ ABSL_GUARDED_BY(mu_) = absl::Hours(12);
  int ecr_error_status_ ABSL_GUARDED_BY(mu_) = 0;
  std::string ecr_error_code_ ABSL_GUARDED_BY(mu_);
  std::string ecr_error_message_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Key> keys_ ABSL_GUARDED_BY(mu_);
  int sts_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int ecr_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int pod_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int imds_calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> rejections_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> secrets_ ABSL_GUARDED_BY(mu_);
  absl::BitGen gen_ ABSL_GUARDED_BY(mu_);
  absl::Duration delay_ ABSL_GUARDED_BY(mu_);

  void AddSecret(std::string secret) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!secret.empty()) secrets_.push_back(std::move(secret));
  }

 private:
  // Fresh temporary credentials: (access key id, key).
  std::pair<std::string, Key> Issue() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const std::string id = "ASIA" + absl::AsciiStrToUpper(RandomText(gen_, 16));
    Key key{RandomText(gen_, 40), RandomText(gen_, 64),
            absl::Now() + lifetime_};
    keys_[id] = key;
    AddSecret(key.secret);
    AddSecret(key.session_token);
    return {id, key};
  }

  void Reject(httplib::Response& res, int status, const std::string& type,
              const std::string& body, const std::string& why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    rejections_.push_back(why);
    res.status = status;
    res.set_content(body, type);
  }

  void Serve(const httplib::Request& req, httplib::Response& res) {
    absl::Duration delay;
    {
      absl::MutexLock lock(&mu_);
      delay = delay_;
    }
    absl::SleepFor(delay);
    absl::MutexLock lock(&mu_);
    if (req.method == "POST" && req.path == "/" &&
        req.has_header("X-Amz-Target")) {
      ServeEcr(req, res);
    } else if (req.method == "POST" && req.path == "/") {
      ServeSts(req, res);
    } else if (req.path == "/v1/credentials") {
      ServePodIdentity(req, res);
    } else if (absl::StartsWith(req.path, "/latest/")) {
      ServeImds(req, res);
    } else {
      res.status = 404;
    }
  }

  void StsError(httplib::Response& res, int status, const std::string& code,
                const std::string& message) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Reject(res, status, "text/xml",
           absl::StrCat("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/"
                        "2011-06-15/\"><Error><Type>Sender</Type><Code>",
                        code, "</Code><Message>", message,
                        "</Message></Error><RequestId>c6104cbe-af31-11e0-8154-"
                        "cbc7ccf896c7</RequestId></ErrorResponse>"),
           absl::StrCat(code, ": ", message));
  }

  void ServeSts(const httplib::Request& req, httplib::Response& res)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++sts_calls_;
    if (!absl::StartsWith(req.get_header_value("Content-Type"),
                          "application/x-www-form-urlencoded")) {
      return StsError(res, 400, "InvalidAction", "not a form post");
    }
    if (req.get_param_value("Action") != "AssumeRoleWithWebIdentity" ||
        req.get_param_value("Version") != "2011-06-15") {
      return StsError(res, 400, "InvalidAction",
                      "Could not find operation for version");
    }
    if (req.has_header("Authorization")) {
      return StsError(res, 400, "InvalidParameterCombination",
                      "AssumeRoleWithWebIdentity is not signed");
    }
    if (req.get_param_value("RoleSessionName").empty()) {
      return StsError(res, 400, "ValidationError",
                      "1 validation error detected: Value null at "
                      "'roleSessionName'");
    }
    if (web_token_.empty() ||
        req.get_param_value("WebIdentityToken") != web_token_) {
      return StsError(res, 400, "InvalidIdentityToken",
                      "Couldn't retrieve verification key from your identity "
                      "provider");
    }
    if (req.get_param_value("RoleArn") != role_arn_) {
      return StsError(
          res, 403, "AccessDenied",
          "Not authorized to perform sts:AssumeRoleWithWebIdentity");
    }
    auto [id, key] = Issue();
    res.set_content(
        absl::StrCat(
            "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws."
            "com/doc/2011-06-15/\"><AssumeRoleWithWebIdentityResult>"
            "<Credentials><SessionToken>",
            key.session_token, "</SessionToken><SecretAccessKey>", key.secret,
            "</SecretAccessKey><Expiration>", Rfc3339(key.expires),
            "</Expiration><AccessKeyId>", id,
            "</AccessKeyId></Credentials></AssumeRoleWithWebIdentityResult>"
            "</AssumeRoleWithWebIdentityResponse>"),
        "text/xml");
  }

  std::string CredentialsJson(const std::string& id, const Key& key) {
    nlohmann::json json = {{"Code", "Success"},
                           {"AccessKeyId", id},
                           {"SecretAccessKey", key.secret},
                           {"Token", key.session_token},
                           {"Expiration", Rfc3339(key.expires)}};
    return json.dump();
  }

  void ServePodIdentity(const httplib::Request& req, httplib::Response& res)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++pod_calls_;
    if (pod_token_.empty() ||
        req.get_header_value("Authorization") != pod_token_) {
      return Reject(
          res, 401, "application/json",
          R"({"code":"AccessDeniedException","message":"Unauthorized"})",
          "pod identity: wrong Authorization");
    }
    auto [id, key] = Issue();
    res.set_content(CredentialsJson(id, key), "application/json");
  }

  void ServeImds(const httplib::Request& req, httplib::Response& res)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++imds_calls_;
    if (req.method == "PUT" && req.path == "/latest/api/token") {
      if (!req.has_header("X-aws-ec2-metadata-token-ttl-seconds")) {
        return Reject(res, 400, "text/plain", "", "IMDS: no ttl header");
      }
      imds_token_ = RandomText(gen_, 32);
      AddSecret(imds_token_);
      res.set_content(imds_token_, "text/plain");
      return;
    }
    if (imds_token_.empty() ||
        req.get_header_value("X-aws-ec2-metadata-token") != imds_token_) {
      return Reject(res, 401, "text/plain", "", "IMDS: no session token");
    }
    const std::string base = "/latest/meta-data/iam/security-credentials/";
    if (req.method != "GET" || !absl::StartsWith(req.path, base) ||
        instance_role_.empty()) {
      res.status = 404;
      return;
    }
    const std::string role = req.path.substr(base.size());
    if (role.empty()) {
      res.set_content(instance_role_, "text/plain");
    } else if (role == instance_role_) {
      auto [id, key] = Issue();
      res.set_content(CredentialsJson(id, key), "text/plain");
    } else {
      res.status = 404;
    }
  }

  void EcrError(httplib::Response& res, int status, const std::string& code,
                const std::string& message) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    nlohmann::json body = {{"__type", code}, {"message", message}};
    Reject(res, status, "application/x-amz-json-1.1", body.dump(),
           absl::StrCat(code, ": ", message));
  }

  void ServeEcr(const httplib::Request& req, httplib::Response& res)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const std::string target = req.get_header_value("X-Amz-Target");
    const bool is_public =
        target == "SpencerFrontendService.GetAuthorizationToken";
    if (!is_public &&
        target !=
            "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken") {
      return EcrError(res, 400, "UnknownOperationException", target);
    }
    if (req.get_header_value("Content-Type") != "application/x-amz-json-1.1") {
      return EcrError(res, 400, "SerializationException", "wrong Content-Type");
    }
    SigV4Request signed_request;
    signed_request.method = req.method;
    signed_request.path = req.path;
    const size_t q = req.target.find('?');
    if (q != std::string::npos) signed_request.query = req.target.substr(q + 1);
    for (const auto& [name, value] : req.headers) {
      const std::string lower = absl::AsciiStrToLower(name);
      if (lower == "remote_addr" || lower == "remote_port" ||
          lower == "local_addr" || lower == "local_port") {
        continue;
      }
      signed_request.headers[lower] = value;
    }
    signed_request.body = req.body;
    absl::StatusOr<SigV4Authorization> auth =
        ParseSigV4Authorization(req.get_header_value("Authorization"));
    if (!auth.ok()) {
      return EcrError(res, 400, "IncompleteSignature",
                      std::string(auth.status().message()));
    }
    auto key = keys_.find(auth->access_key_id);
    if (key == keys_.end()) {
      return EcrError(res, 403, "UnrecognizedClientException",
                      "The security token included in the request is invalid.");
    }
    if (req.get_header_value("X-Amz-Security-Token") !=
        key->second.session_token) {
      return EcrError(res, 403, "UnrecognizedClientException",
                      "The security token included in the request is invalid.");
    }
    if (absl::Now() >= key->second.expires) {
      return EcrError(res, 403, "ExpiredTokenException",
                      "The security token included in the request is expired");
    }
    const absl::Status verified =
        VerifySigV4(signed_request, key->second.secret, region_,
                    is_public ? "ecr-public" : "ecr", absl::Now());
    if (!verified.ok()) {
      return EcrError(res, 403, "InvalidSignatureException",
                      std::string(verified.message()));
    }
    if (ecr_error_status_ != 0) {
      return EcrError(res, ecr_error_status_, ecr_error_code_,
                      ecr_error_message_);
    }
    ++ecr_calls_;
    const double expires = absl::ToDoubleSeconds(absl::Now() + login_lifetime_ -
                                                 absl::UnixEpoch());
    nlohmann::json data = {{"authorizationToken", absl::Base64Escape(login_)},
                           {"expiresAt", expires}};
    nlohmann::json body;
    if (is_public) {
      body["authorizationData"] = data;
    } else {
      data["proxyEndpoint"] = "https://registry.invalid";
      body["authorizationData"] = nlohmann::json::array({data});
    }
    res.set_content(body.dump(), "application/x-amz-json-1.1");
  }

  LoopbackHttpServer http_;
  int port_ = 0;
};

FakeAws::FakeAws() : impl_(std::make_unique<Impl>()) {}
FakeAws::~FakeAws() = default;
absl::Status FakeAws::Start() { return impl_->Start(); }
void FakeAws::Stop() { impl_->Stop(); }
std::string FakeAws::url() const { return impl_->Url(); }

void FakeAws::SetWebIdentity(const std::string& role_arn,
                             const std::string& token) {
  absl::MutexLock lock(&impl_->mu_);
  impl_->role_arn_ = role_arn;
  impl_->web_token_ = token;
  impl_->AddSecret(token);
}
void FakeAws::SetPodIdentityToken(const std::string& token) {
  absl::MutexLock lock(&impl_->mu_);
  impl_->pod_token_ = token;
  impl_->AddSecret(token);
}
void FakeAws::SetInstanceRole(const std::string& role) {
  absl::MutexLock lock(&impl_->mu_);
  impl_->instance_role_ = role;
}
void FakeAws::AddStaticKey(const std::string& access_key_id,
                           const std::string& secret) {
  absl::MutexLock lock(&impl_->mu_);
  impl_->keys_[access_key_id] = Impl::Key{secret, "", absl::InfiniteFuture()};
  impl_->AddSecret(secret);
}
void FakeAws::SetCredentialLifetime(absl::Duration lifetime) {
  absl::MutexLock lock(&impl_->mu_);
  impl_->lifetime_ = lifetime;
}
void FakeAws::SetRegion(const std::string& region) {
  absl::MutexLock lock(&impl_->mu_);
  impl_->region_ = region;
}
void FakeAws::SetRegistryLogin(const std::string& user,
                               const std::string& password,
                               absl::Duration lifetime) {
  absl::MutexLock lock(&impl_->mu_);
  impl_->login_ = absl::StrCat(user, ":", password);
  impl_->login_lifetime_ = lifetime;
  impl_->AddSecret(password);
  impl_->AddSecret(absl::Base64Escape(impl_->login_));
}
void FakeAws::SetEcrError(int status, const std::string& code,
                          const std::string& message) {
  absl::MutexLock lock(&impl_->mu_);
  impl_->ecr_error_status_ = code.empty() ? 0 : status;
  impl_->ecr_error_code_ = code;
  impl_->ecr_error_message_ = message;
}
void FakeAws::SetDelay(absl::Duration delay) {
  absl::MutexLock lock(&impl_->mu_);
  impl_->delay_ = delay;
}
int FakeAws::sts_calls() const {
  absl::MutexLock lock(&impl_->mu_);
  return impl_->sts_calls_;
}
int FakeAws::ecr_calls() const {
  absl::MutexLock lock(&impl_->mu_);
  return impl_->ecr_calls_;
}
int FakeAws::pod_identity_calls() const {
  absl::MutexLock lock(&impl_->mu_);
  return impl_->pod_calls_;
}
int FakeAws::imds_calls() const {
  absl::MutexLock lock(&impl_->mu_);
  return impl_->imds_calls_;
}
std::vector<std::string> FakeAws::Rejections() const {
  absl::MutexLock lock(&impl_->mu_);
  return impl_->rejections_;
}
std::vector<std::string> FakeAws::Secrets() const {
  absl::MutexLock lock(&impl_->mu_);
  return impl_->secrets_;
}

}  // namespace ia::testing
