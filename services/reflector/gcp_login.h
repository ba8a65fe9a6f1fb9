// The Google Artifact Registry / Container Registry login (spec.provider:
// gcp), without a Google SDK: an OAuth2 access token of the workload, used
// as the password of user "oauth2accesstoken".
//
// The token comes, first match wins (read from the Environment on every
// call), from:
//  1. GOOGLE_APPLICATION_CREDENTIALS naming an `external_account` file
//     (workload identity federation, e.g. a cluster outside Google Cloud):
//     the subject token from credential_source.file (text, or JSON with
//     credential_source.format.subject_token_field_name) -> a token
//     exchange at token_url (RFC 8693, form-encoded) -> when
//     service_account_impersonation_url is set, generateAccessToken there
//     with the exchanged token. Other credential types are refused.
//  2. the metadata server (GKE workload identity, GCE):
//     GET /computeMetadata/v1/instance/service-accounts/default/token with
//     `Metadata-Flavor: Google`, at GCE_METADATA_HOST (host:port) or
//     metadata.google.internal.
//
// Errors are ExchangeError's: "gcp: <step>: <code>: <message>".
// Thread-safe; the functions do the HTTP calls they name.
#ifndef SERVICES_REFLECTOR_GCP_LOGIN_H_
#define SERVICES_REFLECTOR_GCP_LOGIN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/reflector/cloud_login.h"
#include "services/reflector/http_transport.h"

namespace ia::reflector {

// The scope asked for.
inline constexpr char kGcpScope[] =
    "https://www.googleapis.com/auth/cloud-platform";

// Which identity is used, for the login cache's key: the credentials file,
// or "metadata".
std::string GcpIdentity(const Environment& env);

// The registry login: "oauth2accesstoken" and the access token, expiring
// with it.
absl::StatusOr<CloudLogin> GcpLogin(HttpTransport& transport,
                                    const Environment& env, absl::Time now);

}  // namespace ia::reflector

#endif  // SERVICES_REFLECTOR_GCP_LOGIN_H_
