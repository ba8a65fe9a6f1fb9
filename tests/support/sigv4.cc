#include "tests/support/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace ia::testing {
namespace {

std::string Sha256Hex(absl::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

std::string Hmac(absl::string_view key, absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
       &length);
  return std::string(reinterpret_cast<const char*>(out), length);
}

// A header value as it is signed: trimmed, runs of spaces made one.
std::string CanonicalValue(absl::string_view value) {
  std::string out;
  bool space = false;
  for (char c : absl::StripAsciiWhitespace(value)) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

// The query string with its parameters sorted (already encoded as sent).
std::string CanonicalQuery(absl::string_view query) {
  if (query.empty()) return "";
  std::vector<std::string> params = absl::StrSplit(query, '&');
  for (std::string& p : params) {
    if (p.find('=') == std::string::npos) p += "=";
  }
  std::sort(params.begin(), params.end());
  return absl::StrJoin(params, "&");
}

}  // namespace

absl::StatusOr<SigV4Authorization> ParseSigV4Authorization(
    absl::string_view header) {
  if (!absl::ConsumePrefix(&header, "AWS4-HMAC-SHA256 ")) {
    return absl::PermissionDeniedError(
        "IncompleteSignature: the Authorization is not AWS4-HMAC-SHA256");
  }
  SigV4Authorization auth;
  std::string credential;
  for (absl::string_view part : absl::StrSplit(header, ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (absl::ConsumePrefix(&part, "Credential="))
      credential = std::string(part);
    if (absl::ConsumePrefix(&part, "SignedHeaders="))
      auth.signed_headers = std::string(part);
    if (absl::ConsumePrefix(&part, "Signature="))
      auth.signature = std::string(part);
  }
  std::vector<std::string> scope = absl::StrSplit(credential, '/');
  if (scope.size() != 5 || scope[4] != "aws4_request" ||
      auth.signed_headers.empty() || auth.signature.empty()) {
    return absl::PermissionDeniedError(
        "IncompleteSignature: Credential, SignedHeaders or Signature missing");
  }
  auth.access_key_id = scope[0];
  auth.date = scope[1];
  auth.region = scope[2];
  auth.service = scope[3];
  return auth;
}

std::string SigV4Signature(const SigV4Request& request,
                           const SigV4Authorization& auth,
                           absl::string_view secret) {
  std::string canonical_headers;
  for (absl::string_view name : absl::StrSplit(auth.signed_headers, ';')) {
    auto it = request.headers.find(std::string(name));
    absl::StrAppend(
        &canonical_headers, name, ":",
        it == request.headers.end() ? "" : CanonicalValue(it->second), "\n");
  }
  const std::string canonical_request = absl::StrCat(
      request.method, "\n", request.path.empty() ? "/" : request.path, "\n",
      CanonicalQuery(request.query), "\n", canonical_headers, "\n",
      auth.signed_headers, "\n", Sha256Hex(request.body));
  auto date = request.headers.find("x-amz-date");
  const std::string scope = absl::StrCat(auth.date, "/", auth.region, "/",
                                         auth.service, "/aws4_request");
  const std::string string_to_sign = absl::StrCat(
      "AWS4-HMAC-SHA256\n", date == request.headers.end() ? "" : date->second,
      "\n", scope, "\n", Sha256Hex(canonical_request));
  std::string key = Hmac(absl::StrCat("AWS4", secret), auth.date);
  key = Hmac(key, auth.region);
  key = Hmac(key, auth.service);
  key = Hmac(key, "aws4_request");
  return absl::BytesToHexString(Hmac(key, string_to_sign));
}

absl::Status VerifySigV4(const SigV4Request& request, absl::string_view secret,
                         absl::string_view region, absl::string_view service,
                         absl::Time now) {
  auto header = request.headers.find("authorization");
  if (header == request.headers.end()) {
    return absl::PermissionDeniedError(
        "MissingAuthenticationToken: the request is not signed");
  }
  absl::StatusOr<SigV4Authorization> auth =
      ParseSigV4Authorization(header->second);
  if (!auth.ok()) return auth.status();
  if (auth->region != region || auth->service != service) {
    return absl::PermissionDeniedError(
        absl::StrCat("SignatureDoesNotMatch: credential scope ", auth->region,
                     "/", auth->service, " is not ", region, "/", service));
  }
  auto date = request.headers.find("x-amz-date");
  absl::Time signed_at;
  std::string error;
  if (date == request.headers.end() ||
      !absl::ParseTime("%E4Y%m%dT%H%M%SZ", date->second, &signed_at, &error) ||
      !absl::StartsWith(date->second, auth->date)) {
    return absl::PermissionDeniedError(absl::StrCat(
        "IncompleteSignature: no valid X-Amz-Date matching the "
        "scope's date: ",
        date == request.headers.end() ? "none" : date->second, " ", error));
  }
  if (absl::AbsDuration(now - signed_at) > absl::Minutes(15)) {
    return absl::PermissionDeniedError(
        "SignatureDoesNotMatch: Signature expired (more than 15 minutes "
        "from the server's time)");
  }
  const std::vector<std::string> signed_headers =
      absl::StrSplit(auth->signed_headers, ';');
  const auto is_signed = [&](const std::string& name) {
    return std::find(signed_headers.begin(), signed_headers.end(), name) !=
           signed_headers.end();
  };
  for (const auto& [name, value] : request.headers) {
    if ((name == "host" || absl::StartsWith(name, "x-amz-")) &&
        !is_signed(name)) {
      return absl::PermissionDeniedError(absl::StrCat(
          "SignatureDoesNotMatch: header ", name, " is not signed"));
    }
  }
  if (!is_signed("host")) {
    return absl::PermissionDeniedError(
        "SignatureDoesNotMatch: the host header is not signed");
  }
  if (SigV4Signature(request, *auth, secret) != auth->signature) {
    return absl::PermissionDeniedError(
        "SignatureDoesNotMatch: The request signature we calculated does not "
        "match the signature you provided");
  }
  return absl::OkStatus();
}

}  // namespace ia::testing
