// Small helpers the cloud exchanges (aws_login, gcp_login, azure_login)
// share: reading the environment, form-encoding a value, reading a string
// member of a JSON answer. Stateless; thread-safe.
#ifndef SERVICES_REFLECTOR_CLOUD_EXCHANGE_H_
#define SERVICES_REFLECTOR_CLOUD_EXCHANGE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json_fwd.hpp"
#include "services/reflector/cloud_login.h"
#include "services/reflector/http_transport.h"

namespace ia::reflector::cloud {

// The variable's value, "" when it is unset.
std::string EnvValue(const Environment& env, const char* name);

// application/x-www-form-urlencoded escaping of a value: unreserved
// characters as they are, every other byte as %XX (upper-case hex).
std::string FormEscape(absl::string_view text);

// The string member `name` of a JSON object, "" when `json` is not an
// object or the member is missing or not a string.
std::string StringField(const nlohmann::json& json, const char* name);

// How long one call to a cloud's token endpoint may take, and how large its
// answer may be.
inline constexpr absl::Duration kExchangeTimeout = absl::Seconds(30);
inline constexpr int64_t kMaxExchangeReply = 1 << 20;

// A request to a cloud's token endpoint, bounded as above (`timeout`
// overrides the deadline, e.g. for instance metadata).
HttpRequest ExchangeRequest(std::string method, std::string url,
                            absl::Duration timeout = kExchangeTimeout);
// The same, asking for JSON (Accept: application/json).
HttpRequest JsonExchangeRequest(std::string method, std::string url);

// The failure of a call to `url` that got no reply (ExchangeError of
// `provider` and `step`, naming the host, never the URL's query).
absl::Status NoReply(absl::string_view provider, absl::string_view step,
                     const std::string& url, const absl::Status& status);

}  // namespace ia::reflector::cloud

#endif  // SERVICES_REFLECTOR_CLOUD_EXCHANGE_H_
