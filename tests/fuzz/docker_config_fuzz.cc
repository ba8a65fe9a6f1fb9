// Fuzz target: `.dockerconfigjson` documents (a pull secret's key), read by
// CredentialsFromDockerConfig (services/reflector/registry_client.h) as the
// reflector does for each scan. Input: HOST \0 JSON; the document is also
// asked for a few fixed hosts (Docker Hub's aliases among them).
//
// Property: no error quotes a secret value (an entry's "auth" or
// "password").
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "nlohmann/json.hpp"
#include "services/reflector/registry_client.h"
#include "tests/fuzz/fuzz_input.h"

namespace reflector = ia::reflector;

namespace {

// The secret values of the document: its entries' "auth" and "password"
// strings of 8 bytes or more that no key of it contains.
std::vector<std::string> SecretValues(absl::string_view json) {
  std::vector<std::string> secrets;
  nlohmann::json doc =
      nlohmann::json::parse(json.begin(), json.end(), nullptr, false);
  if (!doc.is_object()) return secrets;
  auto auths = doc.find("auths");
  if (auths == doc.end() || !auths->is_object()) return secrets;
  for (auto it = auths->begin(); it != auths->end(); ++it) {
    if (!it.value().is_object()) continue;
    for (const char* field : {"auth", "password"}) {
      auto value = it.value().find(field);
      if (value == it.value().end() || !value->is_string()) continue;
      const std::string secret = value->get<std::string>();
      if (secret.size() < 8) continue;
      bool in_key = false;
      for (auto key = auths->begin(); key != auths->end(); ++key) {
        in_key = in_key || absl::StrContains(key.key(), secret);
      }
      if (!in_key) secrets.push_back(secret);
    }
  }
  return secrets;
}

// `message` with the parser's own wording cut out (each phrase becomes a
// separator), so that a "secret" made of those words (an auth of "not
// base64") or spanning a quoted key and the words after it is not taken
// for a quoted secret.
std::string WithoutOwnWording(std::string message) {
  for (const char* phrase :
       {".dockerconfigjson: auths[\"", "\"]", " is not an object",
        ".auth is not base64", ".auth does not decode to \"username:password\"",
        " has neither \"auth\" nor \"username\" and \"password\"",
        ".password is not a string", ".dockerconfigjson is not a JSON object",
        ".dockerconfigjson: \"auths\" is not an object"}) {
    message = absl::StrReplaceAll(message, {{phrase, "\x01"}});
  }
  return message;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ia::fuzz::FuzzInput input(data, size);
  const absl::string_view host = input.Next();
  const absl::string_view json = input.Rest();
  const std::vector<std::string> secrets = SecretValues(json);
  for (absl::string_view asked :
       {host, absl::string_view("ghcr.io"), absl::string_view("docker.io"),
        absl::string_view("index.docker.io"),
        absl::string_view("registry.local:5000")}) {
    const absl::StatusOr<std::optional<reflector::RegistryCredentials>> found =
        reflector::CredentialsFromDockerConfig(json, asked);
    if (found.ok()) continue;
    const std::string message =
        WithoutOwnWording(std::string(found.status().message()));
    for (const std::string& secret : secrets) {
      IA_FUZZ_CHECK("an error quotes no secret",
                    !absl::StrContains(message, secret));
    }
  }
  return 0;
}
