// Challenge choice, Basic, the token request and reply, and AuthCache.
#include "services/reflector/registry_auth.h"

#include <functional>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "services/reflector/registry_headers.h"

namespace ia::reflector {
namespace {

// Expired tokens are swept when the cache grows past this.
constexpr size_t kTokenCacheSweep = 1024;

std::string UrlEscape(absl::string_view text) {
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

}  // namespace

Challenge ChooseChallenge(absl::string_view www_authenticate) {
  const std::vector<AuthChallenge> challenges =
      ParseWwwAuthenticate(www_authenticate);
  const AuthChallenge* bearer = nullptr;
  const AuthChallenge* basic = nullptr;
  for (const AuthChallenge& c : challenges) {
    if (c.scheme == "bearer" && bearer == nullptr) bearer = &c;
    if (c.scheme == "basic" && basic == nullptr) basic = &c;
  }
  Challenge chosen;
  if (bearer != nullptr) {
    chosen.scheme = AuthScheme::kBearer;
    chosen.realm = bearer->Param("realm");
    chosen.service = bearer->Param("service");
    chosen.scope = bearer->Param("scope");
  } else if (basic != nullptr) {
    chosen.scheme = AuthScheme::kBasic;
  }
  return chosen;
}

std::string BasicAuthorization(const RegistryCredentials& credentials) {
  return absl::StrCat("Basic ",
                      absl::Base64Escape(absl::StrCat(credentials.username, ":",
                                                      credentials.password)));
}

std::string PullScope(absl::string_view repository_path) {
  return absl::StrCat("repository:", repository_path, ":pull");
}

std::string TokenUrl(absl::string_view realm, absl::string_view service,
                     absl::string_view scope) {
  std::string url(realm);
  char separator = absl::StrContains(realm, '?') ? '&' : '?';
  if (!service.empty()) {
    absl::StrAppend(&url, std::string(1, separator),
                    "service=", UrlEscape(service));
    separator = '&';
  }
  for (absl::string_view one : absl::StrSplit(scope, ' ', absl::SkipEmpty())) {
    absl::StrAppend(&url, std::string(1, separator), "scope=", UrlEscape(one));
    separator = '&';
  }
  return url;
}

std::optional<TokenGrant> ParseTokenReply(absl::string_view body) {
  nlohmann::json json =
      nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  if (!json.is_object()) return std::nullopt;
  TokenGrant grant;
  for (const char* field : {"token", "access_token"}) {
    auto it = json.find(field);
    if (it != json.end() && it->is_string() &&
        !it->get<std::string>().empty()) {
      grant.token = it->get<std::string>();
      break;
    }
  }
  if (grant.token.empty()) return std::nullopt;
  if (auto it = json.find("expires_in");
      it != json.end() && it->is_number() && it->get<double>() > 0) {
    grant.lifetime = absl::Seconds(it->get<double>());
  }
  return grant;
}

std::string AuthCache::TokenKey(
    absl::string_view host, absl::string_view scope,
    const std::optional<RegistryCredentials>& credentials) {
  std::string key = absl::StrCat(host, "\n", scope, "\n");
  if (credentials.has_value()) {
    absl::StrAppend(&key, credentials->username, "\n",
                    std::hash<std::string>()(credentials->password));
  }
  return key;
}

HostAuth AuthCache::ForHost(const std::string& host) const {
  absl::MutexLock lock(&mu_);
  auto it = hosts_.find(host);
  return it == hosts_.end() ? HostAuth() : it->second;
}

void AuthCache::Learn(const std::string& host, const HostAuth& auth) {
  absl::MutexLock lock(&mu_);
  hosts_[host] = auth;
}

std::optional<std::string> AuthCache::Token(const std::string& key,
                                            absl::Time now) {
  absl::MutexLock lock(&mu_);
  auto it = tokens_.find(key);
  if (it == tokens_.end()) return std::nullopt;
  if (now < it->second.expires) return it->second.token;
  tokens_.erase(it);
  return std::nullopt;
}

void AuthCache::PutToken(const std::string& key, std::string token,
                         absl::Time now, absl::Duration lifetime) {
  absl::MutexLock lock(&mu_);
  if (tokens_.size() >= kTokenCacheSweep) {
    absl::erase_if(tokens_, [now](const auto& entry) {
      return entry.second.expires <= now;
    });
  }
  tokens_[key] = CachedToken{std::move(token), now + lifetime};
}

void AuthCache::ForgetToken(const std::string& key) {
  absl::MutexLock lock(&mu_);
  tokens_.erase(key);
}

}  // namespace ia::reflector
