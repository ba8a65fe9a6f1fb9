// The Azure Container Registry login (spec.provider: azure), without an
// Azure SDK: an Entra ID access token of the workload for ACR's audience,
// exchanged at the registry (POST /oauth2/exchange, grant_type=
// access_token) for an ACR refresh token, which is the password of user
// 00000000-0000-0000-0000-000000000000 in ACR's Bearer token flow.
//
// The Entra token comes, first match wins (read on every call), from:
//  1. AZURE_TENANT_ID + AZURE_CLIENT_ID + AZURE_CLIENT_SECRET (client
//     credentials);
//  2. workload identity: AZURE_TENANT_ID + AZURE_CLIENT_ID +
//     AZURE_FEDERATED_TOKEN_FILE (client credentials with the file's token
//     as client_assertion, re-read on every call);
//  3. managed identity from IMDS (GET /metadata/identity/oauth2/token with
//     `Metadata: true`; AZURE_CLIENT_ID picks a user-assigned identity).
// Endpoints: AZURE_AUTHORITY_HOST (else the registry's cloud:
// login.microsoftonline.com, .us for azurecr.us, login.chinacloudapi.cn
// for azurecr.cn), AZURE_POD_IDENTITY_AUTHORITY_HOST for IMDS
// (http://169.254.169.254 by default).
//
// Errors are ExchangeError's: "azure: <step>: <code>: <message>".
// Thread-safe; the functions do the HTTP calls they name.
#ifndef SERVICES_REFLECTOR_AZURE_LOGIN_H_
#define SERVICES_REFLECTOR_AZURE_LOGIN_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/reflector/cloud_login.h"
#include "services/reflector/http_transport.h"

namespace ia::reflector {

// The ACR login user.
inline constexpr char kAcrUser[] = "00000000-0000-0000-0000-000000000000";

// Which identity is used, for the login cache's key.
std::string AzureIdentity(const Environment& env);

// The login for ACR `registry_host`; the exchange goes to
// http(s)://<registry_host>/oauth2/exchange (http only when `insecure`).
absl::StatusOr<CloudLogin> AcrLogin(HttpTransport& transport,
                                    const Environment& env,
                                    const std::string& registry_host,
                                    bool insecure, absl::Time now);

// The "exp" claim of a JWT (not verified), nullopt when it has none.
std::optional<absl::Time> JwtExpiry(absl::string_view jwt);

}  // namespace ia::reflector

#endif  // SERVICES_REFLECTOR_AZURE_LOGIN_H_
