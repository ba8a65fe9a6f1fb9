// The RegistryClient: the Docker Registry v2 protocol over an HttpTransport.
//
// One operation (ListTags or Digest) carries an Op: the registry's origin,
// the repository, the options, a deadline on the injected clock and the
// stats. Every HTTP request of it goes through Perform (the request budget,
// the deadline, one transport request), Retrying (429/503) and Fetch (the
// 401 challenge, answered with registry_auth.h). The .dockerconfigjson
// reader is in registry_client_docker_config.cc.
#include "services/reflector/registry_client.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/image_ref.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"
#include "services/reflector/cloud_login.h"
#include "services/reflector/curl_transport.h"
#include "services/reflector/http_transport.h"
#include "services/reflector/registry_auth.h"
#include "services/reflector/registry_headers.h"
#include "services/reflector/request_budget.h"
#include "services/reflector/tags_list.h"

namespace ia::reflector {
namespace {

// What a HEAD on a manifest accepts: Docker and OCI manifests and indexes.
constexpr char kManifestAccept[] =
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.oci.image.index.v1+json";
constexpr char kJsonAccept[] = "application/json";

bool LooksLikePem(absl::string_view pem) {
  return absl::StrContains(pem, "-----BEGIN ") &&
         absl::StrContains(pem, "-----END ");
}

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

// "GET /v2/app/tags/list?n=10" for messages: the request without origin.
std::string Describe(absl::string_view method, absl::string_view url) {
  absl::StatusOr<UrlParts> parts = ParseUrl(url);
  return absl::StrCat(method, " ",
                      parts.ok() ? parts->path_and_query : std::string(url));
}

class HttpRegistryClient final : public RegistryClient {
 public:
  HttpRegistryClient(RegistryClientConfig config,
                     std::unique_ptr<HttpTransport> transport)
      : config_(std::move(config)),
        clock_(config_.clock != nullptr ? config_.clock : RealClock()),
        transport_(std::move(transport)),
        budget_(config_.requests_per_second) {}

  absl::StatusOr<std::vector<std::string>> ListTags(
      const ImageReference& image, const RegistryOptions& options,
      ScanStats* stats) override {
    ASSIGN_OR_RETURN(const RegistryOptions effective,
                     WithCloudLogin(image, options));
    absl::StatusOr<std::vector<std::string>> tags =
        ListTagsWith(image, effective, stats);
    ForgetRefusedLogin(image, options, tags.status());
    return tags;
  }

  absl::StatusOr<std::string> Digest(const ImageReference& image,
                                     absl::string_view tag,
                                     const RegistryOptions& options) override {
    ASSIGN_OR_RETURN(const RegistryOptions effective,
                     WithCloudLogin(image, options));
    absl::StatusOr<std::string> digest = DigestWith(image, tag, effective);
    ForgetRefusedLogin(image, options, digest.status());
    return digest;
  }

 private:
  // `options` with the cloud provider's login as credentials, when it names
  // a provider and has no credentials of its own (a secret wins, as in
  // Flux).
  absl::StatusOr<RegistryOptions> WithCloudLogin(
      const ImageReference& image, const RegistryOptions& options) {
    if (options.provider == RegistryProvider::kGeneric ||
        options.credentials.has_value()) {
      return options;
    }
    if (config_.cloud_logins == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("spec.provider ", RegistryProviderName(options.provider),
                       ": this registry client has no cloud logins"));
    }
    ASSIGN_OR_RETURN(
        RegistryCredentials credentials,
        config_.cloud_logins->Credentials(
            options.provider, image.RegistryHost(), options.insecure));
    RegistryOptions effective = options;
    effective.credentials = std::move(credentials);
    return effective;
  }

  // A cloud login the registry refused is exchanged again next time.
  void ForgetRefusedLogin(const ImageReference& image,
                          const RegistryOptions& options,
                          const absl::Status& status) {
    if (absl::IsUnauthenticated(status) &&
        options.provider != RegistryProvider::kGeneric &&
        !options.credentials.has_value() && config_.cloud_logins != nullptr) {
      config_.cloud_logins->Forget(options.provider, image.RegistryHost());
    }
  }

  absl::StatusOr<std::vector<std::string>> ListTagsWith(
      const ImageReference& image, const RegistryOptions& options,
      ScanStats* stats) {
    ScanStats local;
    ASSIGN_OR_RETURN(Op op, Begin(image, options, stats ? stats : &local));
    std::string url = absl::StrCat(op.origin, "/v2/", op.path, "/tags/list");
    if (options.page_size > 0) absl::StrAppend(&url, "?n=", options.page_size);
    std::vector<std::string> tags;
    std::set<std::string> visited;
    for (;;) {
      visited.insert(url);
      ASSIGN_OR_RETURN(HttpResponse reply, Fetch(op, "GET", url, kJsonAccept));
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

  absl::StatusOr<std::string> DigestWith(const ImageReference& image,
                                         absl::string_view tag,
                                         const RegistryOptions& options) {
    ScanStats local;
    ASSIGN_OR_RETURN(Op op, Begin(image, options, &local));
    if (!IsValidTag(tag)) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", tag, "\" is not a valid tag of ", op.Name()));
    }
    const std::string url =
        absl::StrCat(op.origin, "/v2/", op.path, "/manifests/", tag);
    ASSIGN_OR_RETURN(HttpResponse reply,
                     Fetch(op, "HEAD", url, kManifestAccept));
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

  absl::StatusOr<Op> Begin(const ImageReference& image,
                           const RegistryOptions& options, ScanStats* stats) {
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
    const absl::Time now = clock_->Now();
    std::optional<absl::Time> until = budget_.Take(origin, now, op.deadline);
    if (!until.has_value()) {
      return DeadlineError(op,
                           "waiting for the request budget of the registry");
    }
    if (*until > now) SleepUntil(*until);
    return absl::OkStatus();
  }

  // One HTTP request: budget, deadline, the transport. HTTP statuses are
  // returned as replies; only transport failures are errors.
  absl::StatusOr<HttpResponse> Perform(const Op& op, absl::string_view method,
                                       const std::string& url,
                                       absl::string_view accept,
                                       const std::string& authorization) {
    ASSIGN_OR_RETURN(UrlParts parts, ParseUrl(url));
    const std::string what = Describe(method, url);
    RETURN_IF_ERROR(TakeBudget(op, parts.Origin()));
    const absl::Duration remaining = op.deadline - clock_->Now();
    if (remaining <= absl::ZeroDuration()) {
      return DeadlineError(op, absl::StrCat(what, " on ", parts.host));
    }
    const RegistryOptions& options = *op.options;
    HttpRequest request;
    request.method = std::string(method);
    request.url = url;
    request.headers.emplace_back("Accept", std::string(accept));
    if (!authorization.empty()) {
      request.headers.emplace_back("Authorization", authorization);
    }
    request.timeout = remaining;
    request.max_reply_bytes = options.max_reply_bytes;
    request.ca_pem = options.ca_pem;
    request.client_cert_pem = options.client_cert_pem;
    request.client_key_pem = options.client_key_pem;
    request.proxy_url = options.proxy_url;
    request.proxy_username = options.proxy_username;
    request.proxy_password = options.proxy_password;

    absl::StatusOr<HttpResponse> reply = transport_->Send(request);
    ++op.stats->requests;
    if (!reply.ok()) return TransportError(op, what, parts, reply.status());
    log::Debug("registry request")
        .With("method", request.method)
        .With("host", parts.host)
        .With("path", parts.path_and_query)
        .With("status", static_cast<int64_t>(reply->status));
    return reply;
  }

  // The error of a request `what` to `parts` that got no reply.
  absl::Status TransportError(const Op& op, absl::string_view what,
                              const UrlParts& parts,
                              const absl::Status& failure) const {
    const absl::string_view detail = failure.message();
    switch (HttpFailureOf(failure)) {
      case HttpFailure::kTimeout:
        return DeadlineError(op, absl::StrCat(what, " on ", parts.host));
      case HttpFailure::kTooLarge:
        return absl::ResourceExhaustedError(absl::StrCat(
            "the reply of ", parts.host, " to ", what, " for ", op.Name(),
            " is larger than the limit of ",
            op.options->max_reply_bytes > 0 ? op.options->max_reply_bytes
                                            : INT64_MAX,
            " bytes"));
      case HttpFailure::kTlsMaterial:
        return absl::InvalidArgumentError(absl::StrCat(
            "the TLS material for ", parts.host, " is not usable: ", detail));
      case HttpFailure::kUntrustedCertificate:
        return absl::UnavailableError(absl::StrCat(
            "the TLS certificate of ", parts.host, " is not trusted (", detail,
            "); give its CA in spec.certSecretRef"));
      case HttpFailure::kBadUrl:
        return absl::InvalidArgumentError(absl::StrCat(
            what, " on ", parts.host, " for ", op.Name(), ": ", detail));
      case HttpFailure::kConnection:
        break;
    }
    return absl::UnavailableError(absl::StrCat(
        what, " on ", parts.host, " for ", op.Name(), " failed: ", detail));
  }

  // Perform, retrying 429 and 503 after Retry-After or a capped
  // exponential backoff, at most config_.max_retries times.
  absl::StatusOr<HttpResponse> Retrying(const Op& op, absl::string_view method,
                                        const std::string& url,
                                        absl::string_view accept,
                                        const std::string& authorization) {
    for (int attempt = 0;; ++attempt) {
      ASSIGN_OR_RETURN(HttpResponse reply,
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
  absl::StatusOr<HttpResponse> Fetch(const Op& op, absl::string_view method,
                                     const std::string& url,
                                     absl::string_view accept) {
    ASSIGN_OR_RETURN(std::string authorization, ProactiveAuthorization(op));
    bool answered = false;
    for (;;) {
      ASSIGN_OR_RETURN(HttpResponse reply,
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
    return AuthCache::TokenKey(op.host, scope, op.options->credentials);
  }

  // The Authorization to send before the registry asks: Basic when the host
  // asked for it before, a Bearer token when the host's realm is known.
  absl::StatusOr<std::string> ProactiveAuthorization(const Op& op) {
    const HostAuth auth = auth_.ForHost(op.host);
    switch (auth.scheme) {
      case AuthScheme::kBasic:
        if (!op.options->credentials.has_value()) return std::string();
        return BasicAuthorization(*op.options->credentials);
      case AuthScheme::kBearer: {
        ASSIGN_OR_RETURN(std::string token, Token(op, auth.realm, auth.service,
                                                  PullScope(op.path)));
        return absl::StrCat("Bearer ", token);
      }
      case AuthScheme::kUnknown:
        break;
    }
    return std::string();
  }

  // The Authorization answering the 401 `reply`; `previous` is what that
  // request carried.
  absl::StatusOr<std::string> AnswerChallenge(const Op& op,
                                              const HttpResponse& reply,
                                              const std::string& previous) {
    const Challenge challenge =
        ChooseChallenge(reply.JoinedHeader("www-authenticate"));
    switch (challenge.scheme) {
      case AuthScheme::kBearer: {
        if (challenge.realm.empty()) {
          return absl::UnauthenticatedError(
              absl::StrCat("authentication failed for ", op.Name(),
                           ": the registry's Bearer challenge has no realm"));
        }
        const std::string scope =
            challenge.scope.empty() ? PullScope(op.path) : challenge.scope;
        auth_.Learn(op.host, HostAuth{AuthScheme::kBearer, challenge.realm,
                                      challenge.service});
        if (absl::StartsWith(previous, "Bearer ")) {
          // The token was refused (revoked or expired early): forget it.
          auth_.ForgetToken(TokenKey(op, scope));
          auth_.ForgetToken(TokenKey(op, PullScope(op.path)));
        }
        ASSIGN_OR_RETURN(std::string token,
                         Token(op, challenge.realm, challenge.service, scope));
        return absl::StrCat("Bearer ", token);
      }
      case AuthScheme::kBasic: {
        auth_.Learn(op.host, HostAuth{AuthScheme::kBasic});
        if (!op.options->credentials.has_value()) {
          return AuthenticationFailed(op);
        }
        std::string authorization =
            BasicAuthorization(*op.options->credentials);
        if (authorization == previous) return AuthenticationFailed(op);
        return authorization;
      }
      case AuthScheme::kUnknown:
        break;
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
    if (std::optional<std::string> cached = auth_.Token(key, clock_->Now())) {
      return *std::move(cached);
    }
    ASSIGN_OR_RETURN(UrlParts realm_parts, ParseUrl(realm));
    const std::string authorization =
        op.options->credentials.has_value()
            ? BasicAuthorization(*op.options->credentials)
            : std::string();
    ASSIGN_OR_RETURN(HttpResponse reply,
                     Retrying(op, "GET", TokenUrl(realm, service, scope),
                              kJsonAccept, authorization));
    if (reply.status == 401 || reply.status == 403) {
      return AuthenticationFailed(op);
    }
    if (reply.status != 200) {
      return StatusForHttp(
          reply.status, absl::StrCat("the token service ", realm_parts.host,
                                     " answered the token request for ",
                                     op.Name(), " with HTTP ", reply.status));
    }
    std::optional<TokenGrant> grant = ParseTokenReply(reply.body);
    if (!grant.has_value()) {
      return absl::DataLossError(absl::StrCat(
          "the token service ", realm_parts.host, " sent no token for ",
          op.Name(), " (expected JSON with \"token\" or \"access_token\")"));
    }
    auth_.PutToken(key, grant->token, clock_->Now(), grant->lifetime);
    return std::move(grant->token);
  }

  static absl::Status StatusForHttp(long status, std::string message) {
    if (status >= 500) return absl::UnavailableError(std::move(message));
    if (status == 404) return absl::NotFoundError(std::move(message));
    if (status == 403) return absl::PermissionDeniedError(std::move(message));
    if (status == 401) return absl::UnauthenticatedError(std::move(message));
    return absl::UnknownError(std::move(message));
  }

  // OK for a 200 reply; else the error the status means. `tag` is set for
  // manifests.
  absl::Status CheckStatus(const Op& op, const HttpResponse& reply,
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
        reply.status,
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
    absl::Status parsed = ParseTagsList(body, op.options->max_tags, tags);
    if (absl::IsResourceExhausted(parsed)) {
      return absl::ResourceExhaustedError(
          absl::StrCat(op.Name(), " has more than ", op.options->max_tags,
                       " tags, the limit per scan"));
    }
    if (!parsed.ok()) return bad(parsed.message());
    return absl::OkStatus();
  }

  const RegistryClientConfig config_;
  Clock* const clock_;
  const std::unique_ptr<HttpTransport> transport_;
  RequestBudget budget_;
  AuthCache auth_;
};

}  // namespace

std::unique_ptr<RegistryClient> MakeRegistryClient(
    RegistryClientConfig config, std::unique_ptr<HttpTransport> transport) {
  return std::make_unique<HttpRegistryClient>(std::move(config),
                                              std::move(transport));
}

std::unique_ptr<RegistryClient> MakeRegistryClient(
    RegistryClientConfig config) {
  CurlTransportOptions curl;
  curl.test_connect_to = config.test_connect_to;
  if (config.cloud_logins == nullptr) {
    CloudLoginOptions logins;
    logins.max_duration = config.token_cache_max_duration;
    logins.max_entries = config.token_cache_max_size;
    logins.clock = config.clock;
    CurlTransportOptions cloud = curl;
    cloud.count_as_registry_requests = false;
    config.cloud_logins =
        std::make_shared<CloudLogins>(MakeCurlTransport(cloud), logins);
  }
  return MakeRegistryClient(std::move(config), MakeCurlTransport(curl));
}

}  // namespace ia::reflector
