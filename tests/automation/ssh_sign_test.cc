// SSH commit signing's parts: bcrypt_pbkdf, the OpenSSH and PEM private key
// parser (keys made by ssh-keygen, with and without a passphrase, every
// accepted type; refused types) and SSHSIG signatures that
// `ssh-keygen -Y verify` accepts.
#include "services/automation/ssh_sign.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/automation/ssh_sign_bcrypt.h"
#include "tests/automation/ssh_key_util.h"
#include "tests/support/harness.h"

namespace ia::automation {
namespace {

using ::ia::ssh_testing::GenerateSshKey;
using ::ia::ssh_testing::SshKeySpec;
using ::ia::testing::RunCommand;
using ::ia::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

const std::vector<SshKeySpec>& AcceptedKeys() {
  static const auto* keys = new std::vector<SshKeySpec>{
      {"ed25519", 0}, {"ecdsa", 256}, {"ecdsa", 384},
      {"ecdsa", 521}, {"rsa", 2048},  {"rsa", 3072}};
  return *keys;
}

// `ssh-keygen -Y verify` of `message` against `signature`, for principal
// bot@example.com with `public_line`.
::ia::testing::CommandResult SshKeygenVerify(const TempDir& dir,
                                             const std::string& public_line,
                                             const std::string& message,
                                             const std::string& signature) {
  const std::string allowed =
      dir.WriteFile("allowed_signers", "bot@example.com " + public_line + "\n");
  const std::string msg = dir.WriteFile("message", message);
  const std::string sig = dir.WriteFile("message.sig", signature);
  return RunCommand("/bin/sh",
                    {"-c",
                     "ssh-keygen -Y verify -f \"$1\" -I bot@example.com "
                     "-n git -s \"$2\" < \"$3\"",
                     "sh", allowed, sig, msg});
}

TEST(SshSignBcrypt, BlowfishStartsFromPi) {
  const uint32_t* state = ssh_internal::BlowfishInitialState();
  EXPECT_EQ(state[0], 0x243F6A88u);     // P[0]
  EXPECT_EQ(state[17], 0x8979FB1Bu);    // P[17]
  EXPECT_EQ(state[18], 0xD1310BA6u);    // S0[0]
  EXPECT_EQ(state[1041], 0x3AC372E6u);  // S3[255]
}

TEST(SshSignBcrypt, KnownAnswer) {
  // OpenBSD's regression vector: bcrypt_pbkdf("password", "salt", 4 rounds).
  auto key = ssh_internal::BcryptPbkdf("password", "salt", 4, 32);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(absl::BytesToHexString(*key),
            "5bbf0cc293587f1c3635555c27796598d47e579071bf427e9d8fbe842aba34d9");
  EXPECT_TRUE(absl::IsInvalidArgument(
      ssh_internal::BcryptPbkdf("password", "salt", 0, 32).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      ssh_internal::BcryptPbkdf("password", "", 4, 32).status()));
}

TEST(SshSignKey, ReadsEveryAcceptedTypeWithAndWithoutPassphrase) {
  TempDir dir;
  for (const SshKeySpec& spec : AcceptedKeys()) {
    for (const std::string passphrase : {"", "key-pass-5531"}) {
      SCOPED_TRACE(spec.Name() + (passphrase.empty() ? "" : " protected"));
      auto files = GenerateSshKey(dir, spec, passphrase);
      ASSERT_TRUE(files.ok()) << files.status();
      ASSERT_THAT(files->private_key,
                  HasSubstr("-----BEGIN OPENSSH PRIVATE KEY-----"));
      auto signer = SshSigner::Load(files->private_key, passphrase);
      ASSERT_TRUE(signer.ok()) << signer.status();
      EXPECT_EQ(signer->PublicKeyLine(), files->public_line);
    }
  }
}

TEST(SshSignKey, ReadsPemKeys) {
  TempDir dir;
  for (const SshKeySpec& spec :
       {SshKeySpec{"ecdsa", 256}, SshKeySpec{"ecdsa", 521},
        SshKeySpec{"rsa", 2048}}) {
    for (const std::string passphrase : {"", "pem-pass-77"}) {
      SCOPED_TRACE(spec.Name() + (passphrase.empty() ? "" : " protected"));
      auto files = GenerateSshKey(dir, spec, passphrase, /*pem=*/true);
      ASSERT_TRUE(files.ok()) << files.status();
      ASSERT_THAT(files->private_key, Not(HasSubstr("OPENSSH")));
      auto signer = SshSigner::Load(files->private_key, passphrase);
      ASSERT_TRUE(signer.ok()) << signer.status();
      EXPECT_EQ(signer->PublicKeyLine(), files->public_line);
      if (!passphrase.empty()) {
        auto wrong = SshSigner::Load(files->private_key, "wrong-pem-pass");
        EXPECT_TRUE(absl::IsFailedPrecondition(wrong.status()))
            << wrong.status();
        auto missing = SshSigner::Load(files->private_key, "");
        EXPECT_TRUE(absl::IsFailedPrecondition(missing.status()))
            << missing.status();
        EXPECT_THAT(std::string(missing.status().message()),
                    HasSubstr("'password'"));
      }
    }
  }
}

// ed25519 in PKCS#8 (what `openssl genpkey` writes; ssh-keygen writes no
// PEM ed25519 keys), plain and encrypted: the public key is OpenSSL's and
// ssh-keygen accepts the signatures.
TEST(SshSignKey, ReadsPkcs8Ed25519) {
  TempDir dir;
  const std::string plain = dir.Join("ed25519.pem");
  const std::string sealed = dir.Join("ed25519-enc.pem");
  ASSERT_EQ(RunCommand("/usr/bin/openssl",
                       {"genpkey", "-algorithm", "ed25519", "-out", plain})
                .exit_code,
            0);
  ASSERT_EQ(RunCommand("/usr/bin/openssl",
                       {"pkey", "-in", plain, "-aes256", "-passout",
                        "pass:pkcs8-pass", "-out", sealed})
                .exit_code,
            0);
  auto der = RunCommand("/usr/bin/openssl",
                        {"pkey", "-in", plain, "-pubout", "-outform", "DER"});
  ASSERT_EQ(der.exit_code, 0) << der.err;
  ASSERT_GE(der.out.size(), 32u);
  const std::string raw_public = der.out.substr(der.out.size() - 32);
  const std::string want =
      "ssh-ed25519 " +
      absl::Base64Escape(std::string("\0\0\0\x0bssh-ed25519\0\0\0\x20", 19) +
                         raw_public);

  const std::string plain_text = ::ia::ssh_testing::ReadKeyFile(plain);
  const std::string sealed_text = ::ia::ssh_testing::ReadKeyFile(sealed);
  ASSERT_THAT(sealed_text, HasSubstr("BEGIN ENCRYPTED PRIVATE KEY"));
  for (const auto& [text, passphrase] :
       {std::pair<std::string, std::string>{plain_text, ""},
        {sealed_text, "pkcs8-pass"}}) {
    auto signer = SshSigner::Load(text, passphrase);
    ASSERT_TRUE(signer.ok()) << signer.status();
    EXPECT_EQ(signer->PublicKeyLine(), want);
    auto signature = signer->Sign("message");
    ASSERT_TRUE(signature.ok()) << signature.status();
    auto verified = SshKeygenVerify(dir, want, "message", *signature);
    EXPECT_EQ(verified.exit_code, 0) << verified.err;
  }
  EXPECT_TRUE(absl::IsFailedPrecondition(
      SshSigner::Load(sealed_text, "wrong").status()));
  EXPECT_TRUE(
      absl::IsFailedPrecondition(SshSigner::Load(sealed_text, "").status()));
}

TEST(SshSignKey, ReadsKeysEncryptedWithOtherAesModes) {
  TempDir dir;
  for (const std::string cipher :
       {"aes128-ctr", "aes192-ctr", "aes128-cbc", "aes256-cbc"}) {
    SCOPED_TRACE(cipher);
    auto files =
        GenerateSshKey(dir, {"ed25519", 0}, "cipher-pass", false, cipher);
    ASSERT_TRUE(files.ok()) << files.status();
    auto signer = SshSigner::Load(files->private_key, "cipher-pass");
    ASSERT_TRUE(signer.ok()) << signer.status();
    EXPECT_EQ(signer->PublicKeyLine(), files->public_line);
    EXPECT_TRUE(absl::IsFailedPrecondition(
        SshSigner::Load(files->private_key, "wrong-pass").status()));
  }
  // OpenSSH's own chacha20-poly1305 is not one we read: said so.
  auto files = GenerateSshKey(dir, {"ed25519", 0}, "cipher-pass", false,
                              "chacha20-poly1305@openssh.com");
  ASSERT_TRUE(files.ok()) << files.status();
  auto refused = SshSigner::Load(files->private_key, "cipher-pass");
  EXPECT_TRUE(absl::IsInvalidArgument(refused.status())) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("cipher chacha20-poly1305@openssh.com is not "
                        "supported"));
}

TEST(SshSignKey, WrongOrMissingPassphraseIsFailedPrecondition) {
  TempDir dir;
  auto files = GenerateSshKey(dir, {"ed25519", 0}, "right-pass-123");
  ASSERT_TRUE(files.ok()) << files.status();
  auto wrong = SshSigner::Load(files->private_key, "wrong-pass-456");
  EXPECT_TRUE(absl::IsFailedPrecondition(wrong.status())) << wrong.status();
  EXPECT_THAT(std::string(wrong.status().message()),
              HasSubstr("wrong passphrase"));
  EXPECT_THAT(std::string(wrong.status().message()),
              Not(HasSubstr("wrong-pass-456")));
  auto missing = SshSigner::Load(files->private_key, "");
  EXPECT_TRUE(absl::IsFailedPrecondition(missing.status())) << missing.status();
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("has no 'password' key"));
}

TEST(SshSignKey, RefusesDsaAndShortRsa) {
  TempDir dir;
  auto dsa = GenerateSshKey(dir, {"dsa", 0}, "");
  ASSERT_TRUE(dsa.ok()) << dsa.status();
  auto refused = SshSigner::Load(dsa->private_key, "");
  EXPECT_TRUE(absl::IsInvalidArgument(refused.status())) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("DSA keys (ssh-dss) are refused"));
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("identity"));

  auto dsa_pem = GenerateSshKey(dir, {"dsa", 0}, "", /*pem=*/true);
  ASSERT_TRUE(dsa_pem.ok()) << dsa_pem.status();
  refused = SshSigner::Load(dsa_pem->private_key, "");
  EXPECT_TRUE(absl::IsInvalidArgument(refused.status())) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("DSA"));

  for (bool pem : {false, true}) {
    auto rsa = GenerateSshKey(dir, {"rsa", 1024}, "", pem);
    ASSERT_TRUE(rsa.ok()) << rsa.status();
    refused = SshSigner::Load(rsa->private_key, "");
    EXPECT_TRUE(absl::IsInvalidArgument(refused.status())) << refused.status();
    EXPECT_THAT(std::string(refused.status().message()),
                HasSubstr("RSA keys of 1024 bits are refused"));
  }
}

TEST(SshSignKey, GarbageIsInvalidArgument) {
  for (const std::string text :
       {std::string("not a key"),
        std::string("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n"
                    "-----END OPENSSH PRIVATE KEY-----\n"),
        std::string("-----BEGIN OPENSSH PRIVATE KEY-----\n!!\n"
                    "-----END OPENSSH PRIVATE KEY-----\n")}) {
    auto signer = SshSigner::Load(text, "");
    EXPECT_TRUE(absl::IsInvalidArgument(signer.status())) << signer.status();
  }
}

// Every truncation and every flipped byte of an OpenSSH key (but in its
// comment, which nothing checks; a sample of them for RSA) is refused,
// never loaded half-read.
TEST(SshSignKey, DamagedOpensshKeysAreRefused) {
  TempDir dir;
  const std::string kBegin = "-----BEGIN OPENSSH PRIVATE KEY-----";
  const std::string kEnd = "-----END OPENSSH PRIVATE KEY-----";
  for (const SshKeySpec& spec :
       {SshKeySpec{"ed25519", 0}, SshKeySpec{"ecdsa", 256},
        SshKeySpec{"rsa", 2048}}) {
    SCOPED_TRACE(spec.Name());
    auto files = GenerateSshKey(dir, spec, "");
    ASSERT_TRUE(files.ok()) << files.status();
    const std::string& text = files->private_key;
    const size_t begin = text.find(kBegin) + kBegin.size();
    std::string base64;
    for (char c : text.substr(begin, text.find(kEnd) - begin)) {
      if (!absl::ascii_isspace(static_cast<unsigned char>(c))) base64 += c;
    }
    std::string raw;
    ASSERT_TRUE(absl::Base64Unescape(base64, &raw));
    const auto armored = [&](const std::string& blob) {
      return absl::StrCat(kBegin, "\n", absl::Base64Escape(blob), "\n", kEnd,
                          "\n");
    };
    ASSERT_TRUE(SshSigner::Load(armored(raw), "").ok());
    const size_t comment = raw.find("bot@example.com");
    ASSERT_NE(comment, std::string::npos);
    for (size_t size = 0; size < raw.size(); ++size) {
      EXPECT_FALSE(SshSigner::Load(armored(raw.substr(0, size)), "").ok())
          << "truncated to " << size;
    }
    // RSA's checks are slow: every 41st byte of its 1.7 kB.
    const size_t stride = spec.type == "rsa" ? 41 : 1;
    for (size_t at = 0; at < raw.size(); at += stride) {
      if (at >= comment && at < comment + 15) continue;
      std::string damaged = raw;
      damaged[at] ^= 0x21;
      EXPECT_FALSE(SshSigner::Load(armored(damaged), "").ok())
          << "byte " << at << " flipped";
    }
  }
}

TEST(SshSig, SignedDataLayout) {
  const std::string data = ssh_internal::SshSigSignedData("git", "sha512", "H");
  EXPECT_EQ(data, std::string("SSHSIG"
                              "\0\0\0\3git"
                              "\0\0\0\0"
                              "\0\0\0\6sha512"
                              "\0\0\0\1H",
                              6 + 7 + 4 + 10 + 5));
}

TEST(SshSig, ArmorHasLinesOf70) {
  const std::string armored =
      ssh_internal::ArmorSshSignature(std::string(200, 'x'));
  const std::vector<std::string> lines =
      absl::StrSplit(armored, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 6u);  // 200 bytes: 268 base64 characters
  EXPECT_EQ(lines.front(), "-----BEGIN SSH SIGNATURE-----");
  EXPECT_EQ(lines[1].size(), 70u);
  EXPECT_EQ(lines[4].size(), 268u - 3 * 70);
  EXPECT_EQ(lines.back(), "-----END SSH SIGNATURE-----");
  EXPECT_EQ(armored.back(), '\n');
}

TEST(SshSig, SshKeygenVerifiesEveryKeyType) {
  TempDir dir;
  const std::string message = "tree 1234\nauthor bot\n\nUpdate images\n";
  for (const SshKeySpec& spec : AcceptedKeys()) {
    SCOPED_TRACE(spec.Name());
    auto files = GenerateSshKey(dir, spec, "");
    ASSERT_TRUE(files.ok()) << files.status();
    auto signer = SshSigner::Load(files->private_key, "");
    ASSERT_TRUE(signer.ok()) << signer.status();
    auto signature = signer->Sign(message);
    ASSERT_TRUE(signature.ok()) << signature.status();
    auto verified =
        SshKeygenVerify(dir, files->public_line, message, *signature);
    EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
    EXPECT_THAT(verified.out + verified.err,
                HasSubstr("Good \"git\" signature"));
    // Another message does not verify: the check above means something.
    auto tampered =
        SshKeygenVerify(dir, files->public_line, message + "x", *signature);
    EXPECT_NE(tampered.exit_code, 0);
  }
}

}  // namespace
}  // namespace ia::automation
