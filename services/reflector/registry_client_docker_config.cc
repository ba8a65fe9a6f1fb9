// CredentialsFromDockerConfig: the `.dockerconfigjson` reader of
// registry_client.h.
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"
#include "services/reflector/registry_client.h"

namespace ia::reflector {
namespace {

// Docker Hub's names, which find each other's credentials.
bool IsDockerHub(absl::string_view host) {
  return host == "docker.io" || host == "index.docker.io" ||
         host == "registry-1.docker.io";
}

// The host of an `auths` key: "https://index.docker.io/v1/" ->
// "index.docker.io"; "ghcr.io" -> "ghcr.io".
std::string AuthsKeyHost(absl::string_view key) {
  absl::string_view host = absl::StripAsciiWhitespace(key);
  if (const size_t scheme = host.find("://");
      scheme != absl::string_view::npos) {
    host.remove_prefix(scheme + 3);
  }
  host = host.substr(0, host.find('/'));
  return absl::AsciiStrToLower(host);
}

absl::StatusOr<RegistryCredentials> EntryCredentials(
    const std::string& key, const nlohmann::json& entry) {
  const std::string where =
      absl::StrCat(".dockerconfigjson: auths[\"", key, "\"]");
  if (!entry.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(where, " is not an object"));
  }
  RegistryCredentials credentials;
  auto auth = entry.find("auth");
  if (auth != entry.end() && !auth->is_null() &&
      !(auth->is_string() && auth->get<std::string>().empty())) {
    std::string decoded;
    if (!auth->is_string() ||
        !absl::Base64Unescape(auth->get<std::string>(), &decoded)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".auth is not base64"));
    }
    const size_t colon = decoded.find(':');
    if (colon == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ".auth does not decode to \"username:password\""));
    }
    credentials.username = decoded.substr(0, colon);
    credentials.password = decoded.substr(colon + 1);
    return credentials;
  }
  auto username = entry.find("username");
  auto password = entry.find("password");
  if (username == entry.end() || !username->is_string() ||
      username->get<std::string>().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, " has neither \"auth\" nor \"username\" and \"password\""));
  }
  if (password != entry.end() && !password->is_string() &&
      !password->is_null()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ".password is not a string"));
  }
  credentials.username = username->get<std::string>();
  if (password != entry.end() && password->is_string()) {
    credentials.password = password->get<std::string>();
  }
  return credentials;
}

}  // namespace

absl::StatusOr<std::optional<RegistryCredentials>> CredentialsFromDockerConfig(
    absl::string_view docker_config_json, absl::string_view registry_host) {
  nlohmann::json config = nlohmann::json::parse(
      docker_config_json.begin(), docker_config_json.end(), nullptr, false);
  if (config.is_discarded() || !config.is_object()) {
    return absl::InvalidArgumentError(".dockerconfigjson is not a JSON object");
  }
  auto auths = config.find("auths");
  if (auths == config.end() || auths->is_null()) {
    return std::optional<RegistryCredentials>();
  }
  if (!auths->is_object()) {
    return absl::InvalidArgumentError(
        ".dockerconfigjson: \"auths\" is not an object");
  }
  const std::string host = absl::AsciiStrToLower(registry_host);
  // An entry for the host itself wins over one for an alias of it.
  const std::string* alias_key = nullptr;
  const nlohmann::json* alias_entry = nullptr;
  for (auto it = auths->begin(); it != auths->end(); ++it) {
    const std::string key_host = AuthsKeyHost(it.key());
    if (key_host == host) {
      ASSIGN_OR_RETURN(RegistryCredentials credentials,
                       EntryCredentials(it.key(), it.value()));
      return std::optional<RegistryCredentials>(std::move(credentials));
    }
    if (alias_entry == nullptr && IsDockerHub(host) && IsDockerHub(key_host)) {
      alias_key = &it.key();
      alias_entry = &it.value();
    }
  }
  if (alias_entry != nullptr) {
    ASSIGN_OR_RETURN(RegistryCredentials credentials,
                     EntryCredentials(*alias_key, *alias_entry));
    return std::optional<RegistryCredentials>(std::move(credentials));
  }
  return std::optional<RegistryCredentials>();
}

}  // namespace ia::reflector
