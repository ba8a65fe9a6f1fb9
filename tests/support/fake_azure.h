// FakeAzure: the Microsoft Entra ID endpoints an ACR login talks to, over
// real HTTP on 127.0.0.1 (cpp-httplib), checking what the real ones check:
//
//   POST /<tenant>/oauth2/v2.0/token     client credentials: the configured
//        tenant and client id, the ACR scope, and a client_assertion
//        (workload identity: the federated token it trusts) or a
//        client_secret; Entra's JSON errors with their AADSTS codes
//   GET  /metadata/identity/oauth2/token IMDS managed identity: `Metadata:
//        true`, api-version and resource required
//
// Access tokens are fresh random strings with an expiry; IsValid tells the
// registry's ACR exchange (FakeRegistry::ServeAcrExchange) whether one was
// issued here and is still good. MakeRefreshToken makes an ACR-like refresh
// token (a JWT with "exp"). Secrets() lists every token and secret.
//
// Thread-safe; programmable while serving.
#ifndef TESTS_SUPPORT_FAKE_AZURE_H_
#define TESTS_SUPPORT_FAKE_AZURE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace ia::testing {

class FakeAzure {
 public:
  FakeAzure();
  ~FakeAzure();
  FakeAzure(const FakeAzure&) = delete;
  FakeAzure& operator=(const FakeAzure&) = delete;

  absl::Status Start();
  void Stop();
  std::string url() const;  // "http://127.0.0.1:PORT"

  // The application (client) id of tenant `tenant`, which trusts
  // `federated_token` as its client assertion and `client_secret` (when not
  // empty) as its secret.
  void SetApplication(const std::string& tenant, const std::string& client_id,
                      const std::string& federated_token,
                      const std::string& client_secret = "");
  // The audience tokens are asked for (default ACR's public cloud one).
  void SetAudience(const std::string& audience);

  // Whether `access_token` was issued here and has not expired.
  bool IsValid(const std::string& access_token) const;
  // An ACR refresh token: an unsigned JWT expiring after `lifetime`.
  std::string MakeRefreshToken(absl::Duration lifetime);

  int token_calls() const;
  int imds_calls() const;
  std::vector<std::string> Rejections() const;
  std::vector<std::string> Secrets() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ia::testing

#endif  // TESTS_SUPPORT_FAKE_AZURE_H_
