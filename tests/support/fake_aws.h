// FakeAws: the AWS endpoints an ECR login talks to, over real HTTP on
// 127.0.0.1 (a cpp-httplib server), checking what the real ones check:
//
//   POST /  Action=AssumeRoleWithWebIdentity   STS: form-encoded, unsigned;
//           the role ARN and web identity token must be the configured
//           ones; answers XML credentials (or STS's XML error)
//   POST /  X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.
//           GetAuthorizationToken (ECR) or SpencerFrontendService.
//           GetAuthorizationToken (ECR Public): the SigV4 signature is
//           recomputed from the secret of the key this fake issued (or was
//           given), for the configured region and service ecr / ecr-public;
//           the key's session token must come along and the key must not
//           have expired; answers the configured registry login
//   GET  /v1/credentials                       EKS Pod Identity agent: the
//           Authorization header must be the configured token
//   PUT  /latest/api/token, GET /latest/meta-data/iam/security-credentials/
//           [role]                              IMDSv2, session token required
//
// Credentials it issues are fresh random keys each time, good for
// SetCredentialLifetime. Everything secret it ever issued or was given is
// listed by Secrets(), so tests can check that no log holds one.
//
// Thread-safe; programmable while serving.
#ifndef TESTS_SUPPORT_FAKE_AWS_H_
#define TESTS_SUPPORT_FAKE_AWS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace ia::testing {

class FakeAws {
 public:
  FakeAws();
  ~FakeAws();
  FakeAws(const FakeAws&) = delete;
  FakeAws& operator=(const FakeAws&) = delete;

  absl::Status Start();
  void Stop();
  std::string url() const;  // "http://127.0.0.1:PORT"

  // STS accepts AssumeRoleWithWebIdentity for `role_arn` with `token`.
  void SetWebIdentity(const std::string& role_arn, const std::string& token);
  // The Pod Identity agent accepts `Authorization: <token>`.
  void SetPodIdentityToken(const std::string& token);
  // IMDS lists `role` (and serves its credentials).
  void SetInstanceRole(const std::string& role);
  // A long-term key ECR accepts (no session token).
  void AddStaticKey(const std::string& access_key_id,
                    const std::string& secret);
  // How long issued credentials are good (default 1h).
  void SetCredentialLifetime(absl::Duration lifetime);

  // The region signatures must be scoped to (default us-east-1).
  void SetRegion(const std::string& region);
  // What GetAuthorizationToken hands out: "user:password", good for
  // `lifetime` (ECR's is 12h).
  void SetRegistryLogin(const std::string& user, const std::string& password,
                        absl::Duration lifetime = absl::Hours(12));
  // Answer GetAuthorizationToken with HTTP `status` and this error, until
  // cleared with an empty code.
  void SetEcrError(int status, const std::string& code,
                   const std::string& message);

  // Every answer waits this long first (lets concurrent callers overlap).
  void SetDelay(absl::Duration delay);

  int sts_calls() const;
  int ecr_calls() const;  // GetAuthorizationToken answered with a login
  int pod_identity_calls() const;
  int imds_calls() const;
  // Why requests were refused (e.g. "SignatureDoesNotMatch: ..."), in order.
  std::vector<std::string> Rejections() const;
  // Every secret key, session token, web identity or pod token and registry
  // password issued or configured.
  std::vector<std::string> Secrets() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ia::testing

#endif  // TESTS_SUPPORT_FAKE_AWS_H_
