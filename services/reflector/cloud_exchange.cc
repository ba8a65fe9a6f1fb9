#include "services/reflector/cloud_exchange.h"

#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "services/reflector/registry_headers.h"

namespace ia::reflector::cloud {

std::string EnvValue(const Environment& env, const char* name) {
  return env(name).value_or("");
}

std::string FormEscape(absl::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' ||
        c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string StringField(const nlohmann::json& json, const char* name) {
  if (!json.is_object()) return "";
  auto it = json.find(name);
  return it != json.end() && it->is_string() ? it->get<std::string>() : "";
}

HttpRequest ExchangeRequest(std::string method, std::string url,
                            absl::Duration timeout) {
  HttpRequest request;
  request.method = std::move(method);
  request.url = std::move(url);
  request.timeout = timeout;
  request.max_reply_bytes = kMaxExchangeReply;
  return request;
}

HttpRequest JsonExchangeRequest(std::string method, std::string url) {
  HttpRequest request = ExchangeRequest(std::move(method), std::move(url));
  request.headers.emplace_back("Accept", "application/json");
  return request;
}

absl::Status NoReply(absl::string_view provider, absl::string_view step,
                     const std::string& url, const absl::Status& status) {
  absl::StatusOr<UrlParts> parts = ParseUrl(url);
  return ExchangeError(
      provider, step, "",
      absl::StrCat("no answer from ", parts.ok() ? parts->host : "the endpoint",
                   ": ", status.message()));
}

}  // namespace ia::reflector::cloud
