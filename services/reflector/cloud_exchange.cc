#include "services/reflector/cloud_exchange.h"

#include "absl/strings/ascii.h"
#include "nlohmann/json.hpp"

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

}  // namespace ia::reflector::cloud
