#include "services/reflector/azure_login.h"

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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

constexpr char kProvider[] = "azure";

std::string StripSlash(std::string url) {
  while (absl::EndsWith(url, "/")) url.pop_back();
  return url;
}

// Entra's error ({"error": "invalid_client", "error_description":
// "AADSTS700016: ..."}) or ACR's ({"errors": [{"code", "message"}]}).
absl::Status ApiError(absl::string_view step, const HttpResponse& reply) {
  const nlohmann::json json = nlohmann::json::parse(reply.body, nullptr, false);
  std::string code = StringField(json, "error");
  std::string message = StringField(json, "error_description");
  if (code.empty() && json.is_object() && json.contains("errors") &&
      json["errors"].is_array() && !json["errors"].empty()) {
    code = StringField(json["errors"][0], "code");
    message = StringField(json["errors"][0], "message");
  }
  if (code.empty()) code = absl::StrCat("HTTP ", reply.status);
  // Entra's descriptions carry a trace and correlation id after a newline.
  message = message.substr(0, message.find("\r\n"));
  return ExchangeError(kProvider, step, code, message);
}

// The registry's cloud: the Entra authority and ACR's audience.
struct AzureCloud {
  std::string authority;
  std::string audience;
};
AzureCloud CloudOf(absl::string_view registry_host) {
  if (absl::EndsWith(registry_host, ".azurecr.cn")) {
    return {"https://login.chinacloudapi.cn",
            "https://containerregistry.azure.cn"};
  }
  if (absl::EndsWith(registry_host, ".azurecr.us")) {
    return {"https://login.microsoftonline.us",
            "https://containerregistry.azure.us"};
  }
  return {"https://login.microsoftonline.com",
          "https://containerregistry.azure.net"};
}

struct EntraToken {
  std::string token;
};

absl::StatusOr<EntraToken> ParseEntraToken(absl::string_view step,
                                           const HttpResponse& reply) {
  if (reply.status != 200) return ApiError(step, reply);
  const nlohmann::json json = nlohmann::json::parse(reply.body, nullptr, false);
  EntraToken token{StringField(json, "access_token")};
  if (token.token.empty()) {
    return ExchangeError(kProvider, step, "", "the answer has no access_token");
  }
  return token;
}

absl::StatusOr<EntraToken> ClientCredentials(HttpTransport& transport,
                                             const Environment& env,
                                             const AzureCloud& cloud,
                                             absl::string_view secret_part,
                                             absl::string_view step) {
  const std::string tenant = EnvValue(env, "AZURE_TENANT_ID");
  const std::string client = EnvValue(env, "AZURE_CLIENT_ID");
  if (tenant.empty() || client.empty()) {
    return ExchangeError(kProvider, step, "",
                         "AZURE_TENANT_ID and AZURE_CLIENT_ID are required");
  }
  std::string authority = EnvValue(env, "AZURE_AUTHORITY_HOST");
  if (authority.empty()) authority = cloud.authority;
  HttpRequest request = JsonExchangeRequest(
      "POST", absl::StrCat(StripSlash(authority), "/", FormEscape(tenant),
                           "/oauth2/v2.0/token"));
  request.headers.emplace_back("Content-Type",
                               "application/x-www-form-urlencoded");
  request.body = absl::StrCat(
      "grant_type=client_credentials&client_id=", FormEscape(client),
      "&scope=", FormEscape(absl::StrCat(cloud.audience, "/.default")),
      secret_part);
  absl::StatusOr<HttpResponse> reply = transport.Send(request);
  if (!reply.ok()) return NoReply(kProvider, step, request.url, reply.status());
  return ParseEntraToken(step, *reply);
}

absl::StatusOr<EntraToken> EntraAccessToken(HttpTransport& transport,
                                            const Environment& env,
                                            const AzureCloud& cloud) {
  if (const std::string secret = EnvValue(env, "AZURE_CLIENT_SECRET");
      !secret.empty()) {
    return ClientCredentials(
        transport, env, cloud,
        absl::StrCat("&client_secret=", FormEscape(secret)),
        "client credentials");
  }
  if (const std::string file = EnvValue(env, "AZURE_FEDERATED_TOKEN_FILE");
      !file.empty()) {
    constexpr char kStep[] = "workload identity";
    absl::StatusOr<std::string> assertion = ReadFileToString(file);
    if (!assertion.ok() || absl::StripAsciiWhitespace(*assertion).empty()) {
      return ExchangeError(
          kProvider, kStep, "",
          absl::StrCat("cannot read the federated token from ", file));
    }
    return ClientCredentials(
        transport, env, cloud,
        absl::StrCat("&client_assertion_type=",
                     FormEscape("urn:ietf:params:oauth:client-assertion-type:"
                                "jwt-bearer"),
                     "&client_assertion=",
                     FormEscape(absl::StripAsciiWhitespace(*assertion))),
        kStep);
  }
  constexpr char kStep[] = "managed identity";
  std::string host = EnvValue(env, "AZURE_POD_IDENTITY_AUTHORITY_HOST");
  if (host.empty()) host = "http://169.254.169.254";
  std::string url = absl::StrCat(
      StripSlash(host),
      "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=",
      FormEscape(cloud.audience));
  if (const std::string client = EnvValue(env, "AZURE_CLIENT_ID");
      !client.empty()) {
    absl::StrAppend(&url, "&client_id=", FormEscape(client));
  }
  HttpRequest request = JsonExchangeRequest("GET", url);
  request.headers.emplace_back("Metadata", "true");
  absl::StatusOr<HttpResponse> reply = transport.Send(request);
  if (!reply.ok())
    return NoReply(kProvider, kStep, request.url, reply.status());
  return ParseEntraToken(kStep, *reply);
}

}  // namespace

std::optional<absl::Time> JwtExpiry(absl::string_view jwt) {
  std::vector<absl::string_view> parts = absl::StrSplit(jwt, '.');
  if (parts.size() != 3) return std::nullopt;
  std::string payload;
  if (!absl::WebSafeBase64Unescape(parts[1], &payload)) return std::nullopt;
  const nlohmann::json json = nlohmann::json::parse(payload, nullptr, false);
  if (!json.is_object() || !json.contains("exp") || !json["exp"].is_number()) {
    return std::nullopt;
  }
  return absl::FromUnixSeconds(json["exp"].get<int64_t>());
}

std::string AzureIdentity(const Environment& env) {
  return absl::StrCat(
      EnvValue(env, "AZURE_TENANT_ID"), "/", EnvValue(env, "AZURE_CLIENT_ID"),
      EnvValue(env, "AZURE_FEDERATED_TOKEN_FILE").empty() ? "" : "/workload");
}

absl::StatusOr<CloudLogin> AcrLogin(HttpTransport& transport,
                                    const Environment& env,
                                    const std::string& registry_host,
                                    bool insecure, absl::Time now) {
  const AzureCloud cloud = CloudOf(registry_host);
  absl::StatusOr<EntraToken> entra = EntraAccessToken(transport, env, cloud);
  if (!entra.ok()) return entra.status();

  constexpr char kStep[] = "ACR exchange";
  HttpRequest request = JsonExchangeRequest(
      "POST", absl::StrCat(insecure ? "http" : "https", "://", registry_host,
                           "/oauth2/exchange"));
  request.headers.emplace_back("Content-Type",
                               "application/x-www-form-urlencoded");
  request.body = absl::StrCat(
      "grant_type=access_token&service=", FormEscape(registry_host),
      "&access_token=", FormEscape(entra->token));
  if (const std::string tenant = EnvValue(env, "AZURE_TENANT_ID");
      !tenant.empty()) {
    absl::StrAppend(&request.body, "&tenant=", FormEscape(tenant));
  }
  absl::StatusOr<HttpResponse> reply = transport.Send(request);
  if (!reply.ok())
    return NoReply(kProvider, kStep, request.url, reply.status());
  if (reply->status != 200) return ApiError(kStep, *reply);
  const nlohmann::json json =
      nlohmann::json::parse(reply->body, nullptr, false);
  CloudLogin login;
  login.credentials.username = kAcrUser;
  login.credentials.password = StringField(json, "refresh_token");
  if (login.credentials.password.empty()) {
    return ExchangeError(kProvider, kStep, "",
                         "the answer has no refresh_token");
  }
  const std::optional<absl::Time> expires =
      JwtExpiry(login.credentials.password);
  if (!expires.has_value()) {
    return ExchangeError(kProvider, kStep, "",
                         "the refresh token has no expiry (exp)");
  }
  if (*expires <= now) {
    return ExchangeError(kProvider, kStep, "",
                         "the refresh token handed out has already expired");
  }
  login.expires = *expires;
  return login;
}

}  // namespace ia::reflector
