// FakeGcp: the Google endpoints a GCP registry login talks to, over real
// HTTP on 127.0.0.1 (cpp-httplib), checking what the real ones check:
//
//   GET  /computeMetadata/v1/instance/service-accounts/default/token
//        the metadata server: `Metadata-Flavor: Google` required (403
//        otherwise, as the real one answers), no X-Forwarded-For
//   POST /v1/token                               Security Token Service
//        (RFC 8693 token exchange, form-encoded): grant_type, the
//        configured audience and subject token, token types; a fresh
//        federated token (or {"error": "invalid_grant", ...})
//   POST /v1/projects/-/serviceAccounts/<email>:generateAccessToken
//        IAM Credentials: `Authorization: Bearer` a federated token this
//        fake issued and not expired, the configured service account, a
//        scope; Google's JSON error otherwise
//
// The access token handed out (metadata server, impersonation, or STS when
// the test uses no impersonation) is the configured one, so that a real
// registry's htpasswd can hold it. Secrets() lists every token issued or
// given.
//
// Thread-safe; programmable while serving.
#ifndef TESTS_SUPPORT_FAKE_GCP_H_
#define TESTS_SUPPORT_FAKE_GCP_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace ia::testing {

class FakeGcp {
 public:
  FakeGcp();
  ~FakeGcp();
  FakeGcp(const FakeGcp&) = delete;
  FakeGcp& operator=(const FakeGcp&) = delete;

  absl::Status Start();
  void Stop();
  std::string url() const;   // "http://127.0.0.1:PORT"
  std::string host() const;  // "127.0.0.1:PORT" (GCE_METADATA_HOST)

  // The access token handed out to the workload, good for `lifetime`.
  void SetAccessToken(const std::string& token,
                      absl::Duration lifetime = absl::Hours(1));
  // STS exchanges `subject_token` for `audience`.
  void SetFederation(const std::string& audience,
                     const std::string& subject_token);
  // generateAccessToken is allowed for this service account (e-mail).
  void SetServiceAccount(const std::string& email);

  int metadata_calls() const;
  int sts_calls() const;
  int impersonation_calls() const;
  std::vector<std::string> Rejections() const;
  std::vector<std::string> Secrets() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ia::testing

#endif  // TESTS_SUPPORT_FAKE_GCP_H_
