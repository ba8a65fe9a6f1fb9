// Sprig's cryptographic functions (crypto.go) that are deterministic:
// derivePassword (Master Password's algorithm: scrypt of the password
// salted with the user, then HMAC-SHA256 of the site and counter picking a
// template and its characters), with OpenSSL's libcrypto.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "services/automation/template_functions.h"

namespace ia::automation::template_internal {
namespace {

using Args = std::vector<TemplateValue>;
using Result = absl::StatusOr<TemplateValue>;

constexpr absl::string_view kSeed = "com.lyndir.masterpassword";

// Master Password's templates of each password type.
std::vector<absl::string_view> Templates(absl::string_view type) {
  if (type == "maximum") {
    return {"anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"};
  }
  if (type == "long") {
    return {"CvcvnoCvcvCvcv", "CvcvCvcvnoCvcv", "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv", "CvccCvcvnoCvcv", "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv", "CvcvCvccnoCvcv", "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc", "CvcvCvcvnoCvcc", "CvcvCvcvCvccno",
            "CvccnoCvccCvcv", "CvccCvccnoCvcv", "CvccCvccCvcvno",
            "CvcvnoCvccCvcc", "CvcvCvccnoCvcc", "CvcvCvccCvccno",
            "CvccnoCvcvCvcc", "CvccCvcvnoCvcc", "CvccCvcvCvccno"};
  }
  if (type == "medium") return {"CvcnoCvc", "CvcCvcno"};
  if (type == "short") return {"Cvcn"};
  if (type == "basic") return {"aaanaaan", "aannaaan", "aaannaaa"};
  if (type == "pin") return {"nnnn"};
  return {};
}

// The characters a template character stands for.
absl::string_view Characters(char c) {
  switch (c) {
    case 'V':
      return "AEIOU";
    case 'C':
      return "BCDFGHJKLMNPQRSTVWXYZ";
    case 'v':
      return "aeiou";
    case 'c':
      return "bcdfghjklmnpqrstvwxyz";
    case 'A':
      return "AEIOUBCDFGHJKLMNPQRSTVWXYZ";
    case 'a':
      return "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz";
    case 'n':
      return "0123456789";
    case 'o':
      return "@&%?,=[]_:-+*$#!'^~;()/.";
    default:  // 'x'
      return "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#"
             "$%^&*()";
  }
}

void AppendBigEndian32(uint32_t v, std::string* out) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

// Sprig's derivePassword(counter, type, password, user, site); an unknown
// type or a failed derivation is a message in place of the password, as
// Sprig returns it.
Result DerivePassword(const Args& a, const CallContext&) {
  const uint32_t counter = static_cast<uint32_t>(a[0].int_value());
  const std::string& type = a[1].string_value();
  const std::string& password = a[2].string_value();
  const std::string& user = a[3].string_value();
  const std::string& site = a[4].string_value();
  const std::vector<absl::string_view> templates = Templates(type);
  if (templates.empty()) {
    return TemplateValue::String(
        absl::StrCat("cannot find password template ", type));
  }
  std::string salt(kSeed);
  AppendBigEndian32(static_cast<uint32_t>(user.size()), &salt);
  salt += user;
  unsigned char key[64];
  // scrypt N=32768, r=8, p=2 needs 32 MiB and a little more: above
  // OpenSSL's default limit, so the limit is raised to 64 MiB.
  if (EVP_PBE_scrypt(password.data(), password.size(),
                     reinterpret_cast<const unsigned char*>(salt.data()),
                     salt.size(), 32768, 8, 2, uint64_t{64} << 20, key,
                     sizeof(key)) != 1) {
    return TemplateValue::String("failed to derive password: scrypt failed");
  }
  std::string message(kSeed);
  AppendBigEndian32(static_cast<uint32_t>(site.size()), &message);
  message += site;
  AppendBigEndian32(counter, &message);
  unsigned char seed[32];
  unsigned int seed_size = 0;
  if (HMAC(EVP_sha256(), key, sizeof(key),
           reinterpret_cast<const unsigned char*>(message.data()),
           message.size(), seed, &seed_size) == nullptr) {
    return TemplateValue::String("failed to derive password: hmac failed");
  }
  const absl::string_view chosen = templates[seed[0] % templates.size()];
  std::string out;
  for (size_t i = 0; i < chosen.size(); ++i) {
    const absl::string_view chars = Characters(chosen[i]);
    out += chars[seed[i + 1] % chars.size()];
  }
  return TemplateValue::String(std::move(out));
}

constexpr TemplateFunction kCrypto[] = {
    {"derivePassword", "ussss", false, DerivePassword},
};

}  // namespace

absl::Span<const TemplateFunction> SprigCryptoFunctions() { return kCrypto; }

}  // namespace ia::automation::template_internal
