#include "services/reflector/gcp_login.h"

#include <cstdint>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/files.h"
#include "nlohmann/json.hpp"
#include "services/reflector/cloud_exchange.h"
#include "services/reflector/registry_headers.h"

namespace ia::reflector {
namespace {

using cloud::EnvValue;
using cloud::FormEscape;
using cloud::JsonExchangeRequest;
using cloud::NoReply;
using cloud::StringField;

constexpr char kProvider[] = "gcp";
constexpr char kDefaultMetadataHost[] = "metadata.google.internal";

// The error of an OAuth2 endpoint ({"error": "...", "error_description":
// "..."}) or of a Google API ({"error": {"status": "...", "message":
// "..."}}), else the HTTP status.
absl::Status ApiError(absl::string_view step, const HttpResponse& reply) {
  const nlohmann::json json = nlohmann::json::parse(reply.body, nullptr, false);
  std::string code;
  std::string message;
  if (json.is_object()) {
    auto error = json.find("error");
    if (error != json.end() && error->is_string()) {
      code = error->get<std::string>();
      message = StringField(json, "error_description");
    } else if (error != json.end() && error->is_object()) {
      code = StringField(*error, "status");
      message = StringField(*error, "message");
    }
  }
  if (code.empty()) code = absl::StrCat("HTTP ", reply.status);
  return ExchangeError(kProvider, step, code, message);
}

struct AccessToken {
  std::string token;
  absl::Time expires;
};

// {"access_token": ..., "expires_in": seconds}: the metadata server's and
// STS's answer.
absl::StatusOr<AccessToken> ParseOAuthToken(absl::string_view step,
                                            const HttpResponse& reply,
                                            absl::Time now) {
  if (reply.status != 200) return ApiError(step, reply);
  const nlohmann::json json = nlohmann::json::parse(reply.body, nullptr, false);
  AccessToken token;
  token.token = StringField(json, "access_token");
  auto expires_in = json.is_object() ? json.find("expires_in") : json.end();
  if (token.token.empty() || expires_in == json.end() ||
      !expires_in->is_number()) {
    return ExchangeError(kProvider, step, "",
                         "the answer has no access_token and expires_in");
  }
  token.expires = now + absl::Seconds(expires_in->get<double>());
  return token;
}

absl::StatusOr<AccessToken> MetadataToken(HttpTransport& transport,
                                          const Environment& env,
                                          absl::Time now) {
  constexpr char kStep[] = "metadata token";
  std::string host = EnvValue(env, "GCE_METADATA_HOST");
  if (host.empty()) host = kDefaultMetadataHost;
  HttpRequest request = JsonExchangeRequest(
      "GET",
      absl::StrCat("http://", host,
                   "/computeMetadata/v1/instance/service-accounts/default/"
                   "token?scopes=",
                   FormEscape(kGcpScope)));
  request.headers.emplace_back("Metadata-Flavor", "Google");
  absl::StatusOr<HttpResponse> reply = transport.Send(request);
  if (!reply.ok())
    return NoReply(kProvider, kStep, request.url, reply.status());
  if (reply->status != 200) {
    std::string text(absl::StripAsciiWhitespace(reply->body));
    return ExchangeError(kProvider, kStep, absl::StrCat("HTTP ", reply->status),
                         text);
  }
  return ParseOAuthToken(kStep, *reply, now);
}

absl::StatusOr<AccessToken> ExternalAccountToken(HttpTransport& transport,
                                                 const std::string& path,
                                                 const nlohmann::json& config,
                                                 absl::Time now) {
  // The subject token.
  const nlohmann::json source =
      config.is_object() && config.contains("credential_source")
          ? config["credential_source"]
          : nlohmann::json();
  const std::string file = StringField(source, "file");
  if (file.empty()) {
    return ExchangeError(kProvider, "credentials file", "",
                         absl::StrCat(path,
                                      ": credential_source.file is required "
                                      "(URL and executable sources are not "
                                      "supported)"));
  }
  absl::StatusOr<std::string> subject = ReadFileToString(file);
  if (!subject.ok()) {
    return ExchangeError(kProvider, "subject token", "",
                         absl::StrCat("cannot read ", file));
  }
  std::string subject_token(absl::StripAsciiWhitespace(*subject));
  const nlohmann::json format =
      source.contains("format") ? source["format"] : nlohmann::json();
  if (StringField(format, "type") == "json") {
    const nlohmann::json parsed =
        nlohmann::json::parse(subject_token, nullptr, false);
    subject_token = StringField(
        parsed, StringField(format, "subject_token_field_name").c_str());
  }
  if (subject_token.empty()) {
    return ExchangeError(kProvider, "subject token", "",
                         absl::StrCat(file, " holds no subject token"));
  }

  // The token exchange.
  constexpr char kSts[] = "STS token exchange";
  const std::string token_url = StringField(config, "token_url");
  const std::string audience = StringField(config, "audience");
  std::string subject_type = StringField(config, "subject_token_type");
  if (token_url.empty() || audience.empty()) {
    return ExchangeError(kProvider, "credentials file", "",
                         absl::StrCat(path,
                                      ": token_url and audience are "
                                      "required"));
  }
  if (subject_type.empty())
    subject_type = "urn:ietf:params:oauth:token-type:jwt";
  HttpRequest exchange = JsonExchangeRequest("POST", token_url);
  exchange.headers.emplace_back("Content-Type",
                                "application/x-www-form-urlencoded");
  exchange.body = absl::StrCat(
      "grant_type=",
      FormEscape("urn:ietf:params:oauth:grant-type:token-exchange"),
      "&audience=", FormEscape(audience), "&scope=", FormEscape(kGcpScope),
      "&requested_token_type=",
      FormEscape("urn:ietf:params:oauth:token-type:access_token"),
      "&subject_token_type=", FormEscape(subject_type),
      "&subject_token=", FormEscape(subject_token));
  absl::StatusOr<HttpResponse> reply = transport.Send(exchange);
  if (!reply.ok())
    return NoReply(kProvider, kSts, exchange.url, reply.status());
  absl::StatusOr<AccessToken> federated = ParseOAuthToken(kSts, *reply, now);
  if (!federated.ok()) return federated.status();

  const std::string impersonation =
      StringField(config, "service_account_impersonation_url");
  if (impersonation.empty()) return federated;

  // Service account impersonation.
  constexpr char kImpersonate[] = "generateAccessToken";
  HttpRequest generate = JsonExchangeRequest("POST", impersonation);
  generate.headers.emplace_back("Content-Type", "application/json");
  generate.headers.emplace_back("Authorization",
                                absl::StrCat("Bearer ", federated->token));
  generate.body =
      nlohmann::json{{"scope", {kGcpScope}}, {"lifetime", "3600s"}}.dump();
  reply = transport.Send(generate);
  if (!reply.ok())
    return NoReply(kProvider, kImpersonate, generate.url, reply.status());
  if (reply->status != 200) return ApiError(kImpersonate, *reply);
  const nlohmann::json json =
      nlohmann::json::parse(reply->body, nullptr, false);
  AccessToken token;
  token.token = StringField(json, "accessToken");
  absl::Time expires;
  std::string error;
  if (token.token.empty() ||
      !absl::ParseTime(absl::RFC3339_full, StringField(json, "expireTime"),
                       &expires, &error)) {
    return ExchangeError(kProvider, kImpersonate, "",
                         "the answer has no accessToken and expireTime");
  }
  token.expires = expires;
  return token;
}

}  // namespace

std::string GcpIdentity(const Environment& env) {
  const std::string file = EnvValue(env, "GOOGLE_APPLICATION_CREDENTIALS");
  return file.empty() ? "metadata" : absl::StrCat("file:", file);
}

absl::StatusOr<CloudLogin> GcpLogin(HttpTransport& transport,
                                    const Environment& env, absl::Time now) {
  absl::StatusOr<AccessToken> token;
  if (const std::string path = EnvValue(env, "GOOGLE_APPLICATION_CREDENTIALS");
      !path.empty()) {
    absl::StatusOr<std::string> text = ReadFileToString(path);
    if (!text.ok()) {
      return ExchangeError(kProvider, "credentials file", "",
                           absl::StrCat("cannot read ", path));
    }
    const nlohmann::json config = nlohmann::json::parse(*text, nullptr, false);
    const std::string type = StringField(config, "type");
    if (type != "external_account") {
      return ExchangeError(
          kProvider, "credentials file", "",
          absl::StrCat(path, ": credentials of type \"", type,
                       "\" are not supported (use external_account, or the "
                       "metadata server)"));
    }
    token = ExternalAccountToken(transport, path, config, now);
  } else {
    token = MetadataToken(transport, env, now);
  }
  if (!token.ok()) return token.status();
  CloudLogin login;
  login.credentials.username = "oauth2accesstoken";
  login.credentials.password = std::move(token->token);
  login.expires = token->expires;
  return login;
}

}  // namespace ia::reflector
