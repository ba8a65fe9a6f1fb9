// The ECR login (spec.provider: aws), without an AWS SDK: the credentials
// of the workload by the AWS SDKs' default chain, then ECR's
// GetAuthorizationToken signed with them (SigV4, signed by libcurl through
// HttpRequest::aws_sigv4), whose token is the registry's Basic login.
//
// The chain, first match wins (read from the Environment on every call):
//  1. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY [+ AWS_SESSION_TOKEN];
//  2. web identity (IRSA): AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN
//     [+ AWS_ROLE_SESSION_NAME] -> STS AssumeRoleWithWebIdentity (form
//     POST, unsigned, XML answer), in the registry's region;
//  3. container credentials (EKS Pod Identity, ECS):
//     AWS_CONTAINER_CREDENTIALS_FULL_URI (https, or http to loopback or
//     the EKS/ECS link-local agent) or _RELATIVE_URI, with the Authorization
//     from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read on every call) or
//     AWS_CONTAINER_AUTHORIZATION_TOKEN;
//  4. EC2 instance metadata, IMDSv2 (PUT a session token, GET the role,
//     GET its credentials), unless AWS_EC2_METADATA_DISABLED=true.
// Endpoints: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL_ECR,
// AWS_ENDPOINT_URL_ECR_PUBLIC, then AWS_ENDPOINT_URL, then the region's
// (sts.<region>.<domain>, api.ecr[-fips].<region>.<domain>,
// api.ecr-public.us-east-1.amazonaws.com); AWS_EC2_METADATA_SERVICE_ENDPOINT
// for IMDS (http://169.254.169.254 by default).
//
// Errors are ExchangeError's: "aws: <step>: <code>: <message>".
// The functions are thread-safe; they do the HTTP calls they name.
#ifndef SERVICES_REFLECTOR_AWS_LOGIN_H_
#define SERVICES_REFLECTOR_AWS_LOGIN_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/cloud_hosts.h"
#include "services/reflector/cloud_login.h"
#include "services/reflector/http_transport.h"

namespace ia::reflector {

// An AWS identity's credentials.
struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;          // empty for long-term keys
  std::optional<absl::Time> expires;  // nullopt: does not expire
};

// Which identity the chain would use, for the login cache's key: the role
// ARN, the access key id, the container endpoint, or "instance".
std::string AwsIdentity(const Environment& env);

// The workload's credentials by the chain above, for `registry`'s region.
absl::StatusOr<AwsCredentials> AwsCredentialChain(HttpTransport& transport,
                                                  const Environment& env,
                                                  const EcrHost& registry);

// The ECR login for `registry`: the chain's credentials, then
// GetAuthorizationToken (ECR Public's for public.ecr.aws).
absl::StatusOr<CloudLogin> EcrLogin(HttpTransport& transport,
                                    const Environment& env,
                                    const EcrHost& registry, absl::Time now);

// --- The answers, read (pure; exposed for tests).

// STS's AssumeRoleWithWebIdentity answer (XML): the credentials, or the
// error of its <Error><Code> and <Message>.
absl::StatusOr<AwsCredentials> ParseStsReply(const HttpResponse& reply);

// A credentials JSON of the container endpoint or IMDS: AccessKeyId,
// SecretAccessKey, Token, Expiration (RFC 3339). `step` names the source in
// errors.
absl::StatusOr<AwsCredentials> ParseCredentialsJson(const HttpResponse& reply,
                                                    absl::string_view step);

// ECR's GetAuthorizationToken answer (AWS JSON 1.1): authorizationData (a
// list for ECR, an object for ECR Public) with a base64 "user:password"
// authorizationToken and expiresAt (seconds since the epoch); or the
// error's __type and message.
absl::StatusOr<CloudLogin> ParseEcrReply(const HttpResponse& reply,
                                         bool is_public);

}  // namespace ia::reflector

#endif  // SERVICES_REFLECTOR_AWS_LOGIN_H_
