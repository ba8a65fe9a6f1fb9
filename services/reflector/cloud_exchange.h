// Small helpers the cloud exchanges (aws_login, gcp_login, azure_login)
// share: reading the environment, form-encoding a value, reading a string
// member of a JSON answer. Stateless; thread-safe.
#ifndef SERVICES_REFLECTOR_CLOUD_EXCHANGE_H_
#define SERVICES_REFLECTOR_CLOUD_EXCHANGE_H_

#include <string>

#include "absl/strings/string_view.h"
#include "nlohmann/json_fwd.hpp"
#include "services/reflector/cloud_login.h"

namespace ia::reflector::cloud {

// The variable's value, "" when it is unset.
std::string EnvValue(const Environment& env, const char* name);

// application/x-www-form-urlencoded escaping of a value: unreserved
// characters as they are, every other byte as %XX (upper-case hex).
std::string FormEscape(absl::string_view text);

// The string member `name` of a JSON object, "" when `json` is not an
// object or the member is missing or not a string.
std::string StringField(const nlohmann::json& json, const char* name);

}  // namespace ia::reflector::cloud

#endif  // SERVICES_REFLECTOR_CLOUD_EXCHANGE_H_
