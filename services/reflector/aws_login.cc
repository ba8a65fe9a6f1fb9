#include "services/reflector/aws_login.h"

#include <cstdint>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
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
using cloud::ExchangeRequest;
using cloud::FormEscape;
using cloud::NoReply;

constexpr char kProvider[] = "aws";
constexpr absl::Duration kImdsTimeout = absl::Seconds(5);
constexpr char kDefaultImds[] = "http://169.254.169.254";
constexpr char kDefaultContainerHost[] = "http://169.254.170.2";

// The first of `names` that is set and not empty, else "".
std::string FirstEnv(const Environment& env,
                     std::initializer_list<const char*> names) {
  for (const char* name : names) {
    std::string value = EnvValue(env, name);
    if (!value.empty()) return value;
  }
  return "";
}

std::string StripSlash(std::string url) {
  while (absl::EndsWith(url, "/")) url.pop_back();
  return url;
}

// The text of the first <name>...</name> in `xml`, entities decoded.
std::optional<std::string> XmlText(absl::string_view xml,
                                   absl::string_view name) {
  const std::string open = absl::StrCat("<", name, ">");
  const std::string close = absl::StrCat("</", name, ">");
  const size_t start = xml.find(open);
  if (start == absl::string_view::npos) return std::nullopt;
  const size_t begin = start + open.size();
  const size_t end = xml.find(close, begin);
  if (end == absl::string_view::npos) return std::nullopt;
  std::string text(absl::StripAsciiWhitespace(xml.substr(begin, end - begin)));
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out.push_back(text[i]);
      continue;
    }
    const size_t semi = text.find(';', i);
    const std::string entity =
        semi == std::string::npos ? "" : text.substr(i, semi - i + 1);
    if (entity == "&amp;")
      out.push_back('&');
    else if (entity == "&lt;")
      out.push_back('<');
    else if (entity == "&gt;")
      out.push_back('>');
    else if (entity == "&quot;")
      out.push_back('"');
    else if (entity == "&apos;")
      out.push_back('\'');
    else {
      out.push_back('&');
      continue;
    }
    i = semi;
  }
  return out;
}

std::optional<absl::Time> ParseRfc3339(absl::string_view text) {
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &time, &error)) {
    return std::nullopt;
  }
  return time;
}

absl::StatusOr<AwsCredentials> StaticCredentials(const Environment& env) {
  AwsCredentials credentials;
  credentials.access_key_id = EnvValue(env, "AWS_ACCESS_KEY_ID");
  credentials.secret_access_key = EnvValue(env, "AWS_SECRET_ACCESS_KEY");
  credentials.session_token = EnvValue(env, "AWS_SESSION_TOKEN");
  if (credentials.secret_access_key.empty()) {
    return ExchangeError(kProvider, "environment", "",
                         "AWS_ACCESS_KEY_ID is set without "
                         "AWS_SECRET_ACCESS_KEY");
  }
  return credentials;
}

absl::StatusOr<AwsCredentials> WebIdentity(HttpTransport& transport,
                                           const Environment& env,
                                           const EcrHost& registry) {
  constexpr char kStep[] = "AssumeRoleWithWebIdentity";
  const std::string role = EnvValue(env, "AWS_ROLE_ARN");
  const std::string token_file = EnvValue(env, "AWS_WEB_IDENTITY_TOKEN_FILE");
  if (role.empty()) {
    return ExchangeError(kProvider, kStep, "",
                         "AWS_WEB_IDENTITY_TOKEN_FILE is set without "
                         "AWS_ROLE_ARN");
  }
  absl::StatusOr<std::string> token = ReadFileToString(token_file);
  if (!token.ok() || absl::StripAsciiWhitespace(*token).empty()) {
    return ExchangeError(
        kProvider, kStep, "",
        absl::StrCat("cannot read the web identity token from ", token_file,
                     token.ok() ? " (empty)" : ""));
  }
  std::string session = EnvValue(env, "AWS_ROLE_SESSION_NAME");
  if (session.empty()) session = "image-reflector";
  std::string endpoint =
      FirstEnv(env, {"AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"});
  if (endpoint.empty()) {
    endpoint =
        absl::StrCat("https://sts.", registry.region, ".", registry.domain);
  }
  HttpRequest request = ExchangeRequest("POST", StripSlash(endpoint) + "/");
  request.headers = {
      {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
      {"Accept", "text/xml"}};
  request.body = absl::StrCat(
      "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=",
      FormEscape(role), "&RoleSessionName=", FormEscape(session),
      "&WebIdentityToken=", FormEscape(absl::StripAsciiWhitespace(*token)));
  absl::StatusOr<HttpResponse> reply = transport.Send(request);
  if (!reply.ok())
    return NoReply(kProvider, kStep, request.url, reply.status());
  return ParseStsReply(*reply);
}

// Whether the container endpoint `url` may be called: https anywhere, http
// only to loopback or the EKS Pod Identity / ECS agents' addresses (as the
// SDKs allow).
bool ContainerEndpointAllowed(const std::string& url) {
  absl::StatusOr<UrlParts> parts = ParseUrl(url);
  if (!parts.ok()) return false;
  if (parts->scheme == "https") return true;
  if (parts->scheme != "http") return false;
  const std::string& host = parts->host;
  return absl::StartsWith(host, "127.") || host == "localhost" ||
         host == "[::1]" || host == "169.254.170.2" ||
         host == "169.254.170.23" || host == "[fd00:ec2::23]";
}

absl::StatusOr<AwsCredentials> ContainerCredentials(HttpTransport& transport,
                                                    const Environment& env) {
  constexpr char kStep[] = "container credentials";
  std::string url = EnvValue(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
  if (url.empty()) {
    url = absl::StrCat(kDefaultContainerHost,
                       EnvValue(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"));
  }
  if (!ContainerEndpointAllowed(url)) {
    return ExchangeError(kProvider, kStep, "",
                         "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, "
                         "or http to loopback or the EKS or ECS agent");
  }
  HttpRequest request = ExchangeRequest("GET", url);
  request.headers.emplace_back("Accept", "application/json");
  std::string authorization;
  if (const std::string file =
          EnvValue(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
      !file.empty()) {
    absl::StatusOr<std::string> token = ReadFileToString(file);
    if (!token.ok()) {
      return ExchangeError(
          kProvider, kStep, "",
          absl::StrCat("cannot read the authorization token from ", file));
    }
    authorization = std::string(absl::StripAsciiWhitespace(*token));
  } else {
    authorization = EnvValue(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
  }
  if (!authorization.empty()) {
    request.headers.emplace_back("Authorization", authorization);
  }
  absl::StatusOr<HttpResponse> reply = transport.Send(request);
  if (!reply.ok())
    return NoReply(kProvider, kStep, request.url, reply.status());
  return ParseCredentialsJson(*reply, kStep);
}

absl::StatusOr<AwsCredentials> InstanceCredentials(HttpTransport& transport,
                                                   const Environment& env) {
  std::string endpoint = EnvValue(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
  if (endpoint.empty()) endpoint = kDefaultImds;
  endpoint = StripSlash(endpoint);

  HttpRequest put =
      ExchangeRequest("PUT", endpoint + "/latest/api/token", kImdsTimeout);
  put.headers.emplace_back("X-aws-ec2-metadata-token-ttl-seconds", "21600");
  absl::StatusOr<HttpResponse> token = transport.Send(put);
  if (!token.ok())
    return NoReply(kProvider, "IMDS token", put.url, token.status());
  if (token->status != 200 || token->body.empty()) {
    return ExchangeError(kProvider, "IMDS token", "",
                         absl::StrCat("HTTP ", token->status));
  }
  const std::pair<std::string, std::string> header{"X-aws-ec2-metadata-token",
                                                   token->body};
  const std::string base =
      endpoint + "/latest/meta-data/iam/security-credentials/";
  HttpRequest list = ExchangeRequest("GET", base, kImdsTimeout);
  list.headers.push_back(header);
  absl::StatusOr<HttpResponse> roles = transport.Send(list);
  if (!roles.ok())
    return NoReply(kProvider, "IMDS role", list.url, roles.status());
  const std::string role(absl::StripAsciiWhitespace(
      absl::string_view(roles->body).substr(0, roles->body.find('\n'))));
  if (roles->status != 200 || role.empty()) {
    return ExchangeError(
        kProvider, "IMDS role", "",
        absl::StrCat(
            "HTTP ", roles->status,
            roles->status == 404 ? ": the instance has no IAM role" : ""));
  }
  HttpRequest get = ExchangeRequest("GET", base + role, kImdsTimeout);
  get.headers.push_back(header);
  absl::StatusOr<HttpResponse> reply = transport.Send(get);
  if (!reply.ok())
    return NoReply(kProvider, "IMDS credentials", get.url, reply.status());
  return ParseCredentialsJson(*reply, "IMDS credentials");
}

}  // namespace

std::string AwsIdentity(const Environment& env) {
  if (std::string key = EnvValue(env, "AWS_ACCESS_KEY_ID"); !key.empty()) {
    return absl::StrCat("key:", key);
  }
  if (!EnvValue(env, "AWS_WEB_IDENTITY_TOKEN_FILE").empty()) {
    return absl::StrCat("role:", EnvValue(env, "AWS_ROLE_ARN"));
  }
  if (std::string uri =
          FirstEnv(env, {"AWS_CONTAINER_CREDENTIALS_FULL_URI",
                         "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"});
      !uri.empty()) {
    return absl::StrCat("container:", uri);
  }
  return "instance";
}

absl::StatusOr<AwsCredentials> AwsCredentialChain(HttpTransport& transport,
                                                  const Environment& env,
                                                  const EcrHost& registry) {
  if (!EnvValue(env, "AWS_ACCESS_KEY_ID").empty())
    return StaticCredentials(env);
  if (!EnvValue(env, "AWS_WEB_IDENTITY_TOKEN_FILE").empty()) {
    return WebIdentity(transport, env, registry);
  }
  if (!FirstEnv(env, {"AWS_CONTAINER_CREDENTIALS_FULL_URI",
                      "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"})
           .empty()) {
    return ContainerCredentials(transport, env);
  }
  if (absl::AsciiStrToLower(EnvValue(env, "AWS_EC2_METADATA_DISABLED")) ==
      "true") {
    return ExchangeError(kProvider, "credentials", "",
                         "no credentials: none in the environment (static "
                         "keys, web identity, container credentials) and "
                         "AWS_EC2_METADATA_DISABLED=true");
  }
  return InstanceCredentials(transport, env);
}

absl::StatusOr<CloudLogin> EcrLogin(HttpTransport& transport,
                                    const Environment& env,
                                    const EcrHost& registry, absl::Time now) {
  absl::StatusOr<AwsCredentials> credentials =
      AwsCredentialChain(transport, env, registry);
  if (!credentials.ok()) return credentials.status();
  if (credentials->expires.has_value() && *credentials->expires <= now) {
    return ExchangeError(kProvider, "credentials", "ExpiredToken",
                         "the credentials handed out have already expired");
  }
  std::string endpoint;
  std::string service;
  std::string target;
  if (registry.is_public) {
    endpoint =
        FirstEnv(env, {"AWS_ENDPOINT_URL_ECR_PUBLIC", "AWS_ENDPOINT_URL"});
    if (endpoint.empty()) {
      endpoint = "https://api.ecr-public.us-east-1.amazonaws.com";
    }
    service = "ecr-public";
    target = "SpencerFrontendService.GetAuthorizationToken";
  } else {
    endpoint = FirstEnv(env, {"AWS_ENDPOINT_URL_ECR", "AWS_ENDPOINT_URL"});
    if (endpoint.empty()) {
      endpoint = registry.fips
                     ? absl::StrCat("https://ecr-fips.", registry.region, ".",
                                    registry.domain)
                     : absl::StrCat("https://api.ecr.", registry.region, ".",
                                    registry.domain);
    }
    service = "ecr";
    target = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken";
  }
  HttpRequest request = ExchangeRequest("POST", StripSlash(endpoint) + "/");
  request.headers = {{"Content-Type", "application/x-amz-json-1.1"},
                     {"X-Amz-Target", target},
                     {"Accept", "application/json"}};
  if (!credentials->session_token.empty()) {
    request.headers.emplace_back("X-Amz-Security-Token",
                                 credentials->session_token);
  }
  request.body = "{}";
  request.aws_sigv4 = absl::StrCat("aws:amz:", registry.region, ":", service);
  request.aws_access_key_id = credentials->access_key_id;
  request.aws_secret_access_key = credentials->secret_access_key;
  absl::StatusOr<HttpResponse> reply = transport.Send(request);
  if (!reply.ok()) {
    return NoReply(kProvider, "GetAuthorizationToken", request.url,
                   reply.status());
  }
  return ParseEcrReply(*reply, registry.is_public);
}

absl::StatusOr<AwsCredentials> ParseStsReply(const HttpResponse& reply) {
  constexpr char kStep[] = "AssumeRoleWithWebIdentity";
  if (reply.status != 200) {
    return ExchangeError(kProvider, kStep,
                         XmlText(reply.body, "Code")
                             .value_or(absl::StrCat("HTTP ", reply.status)),
                         XmlText(reply.body, "Message").value_or(""));
  }
  AwsCredentials credentials;
  credentials.access_key_id = XmlText(reply.body, "AccessKeyId").value_or("");
  credentials.secret_access_key =
      XmlText(reply.body, "SecretAccessKey").value_or("");
  credentials.session_token = XmlText(reply.body, "SessionToken").value_or("");
  const std::optional<std::string> expiration =
      XmlText(reply.body, "Expiration");
  if (expiration.has_value()) credentials.expires = ParseRfc3339(*expiration);
  if (credentials.access_key_id.empty() ||
      credentials.secret_access_key.empty() ||
      !credentials.expires.has_value()) {
    return ExchangeError(kProvider, kStep, "",
                         "the answer has no Credentials with AccessKeyId, "
                         "SecretAccessKey and Expiration");
  }
  return credentials;
}

absl::StatusOr<AwsCredentials> ParseCredentialsJson(const HttpResponse& reply,
                                                    absl::string_view step) {
  const nlohmann::json json = nlohmann::json::parse(reply.body, nullptr, false);
  const auto field = [&](const char* name) -> std::string {
    if (!json.is_object()) return "";
    auto it = json.find(name);
    return it != json.end() && it->is_string() ? it->get<std::string>() : "";
  };
  if (reply.status != 200) {
    std::string code = field("Code");
    if (code.empty()) code = field("code");
    std::string message = field("Message");
    if (message.empty()) message = field("message");
    return ExchangeError(
        kProvider, step,
        code.empty() ? absl::StrCat("HTTP ", reply.status) : code, message);
  }
  if (const std::string code = field("Code");
      !code.empty() && code != "Success") {
    return ExchangeError(kProvider, step, code, field("Message"));
  }
  AwsCredentials credentials;
  credentials.access_key_id = field("AccessKeyId");
  credentials.secret_access_key = field("SecretAccessKey");
  credentials.session_token = field("Token");
  if (const std::string expiration = field("Expiration"); !expiration.empty()) {
    credentials.expires = ParseRfc3339(expiration);
    if (!credentials.expires.has_value()) {
      return ExchangeError(kProvider, step, "", "Expiration is not a time");
    }
  }
  if (credentials.access_key_id.empty() ||
      credentials.secret_access_key.empty()) {
    return ExchangeError(kProvider, step, "",
                         "the answer has no AccessKeyId and SecretAccessKey");
  }
  return credentials;
}

absl::StatusOr<CloudLogin> ParseEcrReply(const HttpResponse& reply,
                                         bool is_public) {
  constexpr char kStep[] = "GetAuthorizationToken";
  const nlohmann::json json = nlohmann::json::parse(reply.body, nullptr, false);
  if (reply.status != 200) {
    // "__type" may carry a namespace ("com.amazonaws.ecr#AccessDenied...");
    // x-amzn-ErrorType a suffix after ':'.
    std::string code;
    std::string message;
    if (json.is_object()) {
      if (auto it = json.find("__type"); it != json.end() && it->is_string()) {
        code = it->get<std::string>();
      }
      for (const char* name : {"message", "Message"}) {
        if (auto it = json.find(name); it != json.end() && it->is_string()) {
          message = it->get<std::string>();
          break;
        }
      }
    }
    if (code.empty()) code = reply.Header("x-amzn-errortype");
    if (size_t hash = code.rfind('#'); hash != std::string::npos) {
      code = code.substr(hash + 1);
    }
    code = code.substr(0, code.find(':'));
    if (code.empty()) code = absl::StrCat("HTTP ", reply.status);
    return ExchangeError(kProvider, kStep, code, message);
  }
  const nlohmann::json* data = nullptr;
  if (json.is_object()) {
    auto it = json.find("authorizationData");
    if (it != json.end()) {
      if (!is_public && it->is_array() && !it->empty()) data = &(*it)[0];
      if (is_public && it->is_object()) data = &*it;
    }
  }
  if (data == nullptr || !data->is_object()) {
    return ExchangeError(kProvider, kStep, "",
                         "the answer has no authorizationData");
  }
  auto token = data->find("authorizationToken");
  auto expires = data->find("expiresAt");
  if (token == data->end() || !token->is_string() || expires == data->end() ||
      !expires->is_number()) {
    return ExchangeError(kProvider, kStep, "",
                         "the answer has no authorizationToken and expiresAt");
  }
  std::string decoded;
  if (!absl::Base64Unescape(token->get<std::string>(), &decoded) ||
      decoded.find(':') == std::string::npos) {
    return ExchangeError(kProvider, kStep, "",
                         "the authorizationToken is not base64 of "
                         "\"user:password\"");
  }
  const size_t colon = decoded.find(':');
  CloudLogin login;
  login.credentials.username = decoded.substr(0, colon);
  login.credentials.password = decoded.substr(colon + 1);
  login.expires = absl::FromUnixMillis(
      static_cast<int64_t>(expires->get<double>() * 1000.0));
  return login;
}

}  // namespace ia::reflector
