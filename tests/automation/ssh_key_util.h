// SSH keys made by ssh-keygen for the signing tests (ssh_sign_test.cc,
// git_sign_test.cc, automation_module_test.cc), in a throwaway folder. Its
// own namespace: an ia::automation::testing would hide ia::testing in
// tests that include both.
#ifndef TESTS_AUTOMATION_SSH_KEY_UTIL_H_
#define TESTS_AUTOMATION_SSH_KEY_UTIL_H_

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "tests/support/harness.h"

namespace ia::ssh_testing {

inline std::string ReadKeyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct SshKeyFiles {
  std::string private_key;  // the file's text
  std::string public_line;  // "ssh-ed25519 AAAA..." (no comment)
  std::string private_path;
};

// One ssh-keygen key type: -t and -b.
struct SshKeySpec {
  std::string type;  // "ed25519", "ecdsa", "rsa", "dsa"
  int bits = 0;      // 0: ssh-keygen's default
  std::string Name() const {
    return bits == 0 ? type : absl::StrCat(type, bits);
  }
};

// Generates a key in `dir` with `passphrase` ("" for none); `pem` asks for
// the PEM format (-m PEM) rather than OpenSSH's, `cipher` for another
// cipher than ssh-keygen's aes256-ctr.
inline absl::StatusOr<SshKeyFiles> GenerateSshKey(
    const ::ia::testing::TempDir& dir, const SshKeySpec& spec,
    const std::string& passphrase, bool pem = false,
    const std::string& cipher = "") {
  const std::string path = dir.Join(absl::StrCat(
      "key-", spec.Name(), pem ? "-pem" : "", passphrase.empty() ? "" : "-pass",
      cipher.empty() ? "" : "-", cipher));
  std::vector<std::string> args = {"-q",       "-t", spec.type,         "-N",
                                   passphrase, "-C", "bot@example.com", "-f",
                                   path};
  if (spec.bits != 0) {
    args.push_back("-b");
    args.push_back(std::to_string(spec.bits));
  }
  if (!cipher.empty()) {  // the openssh-key-v1 cipher (-Z)
    args.push_back("-Z");
    args.push_back(cipher);
  }
  if (pem) {
    args.push_back("-m");
    args.push_back("PEM");
  }
  auto r = ::ia::testing::RunCommand("/usr/bin/ssh-keygen", args);
  if (r.exit_code != 0) {
    return absl::InternalError(absl::StrCat("ssh-keygen: ", r.err));
  }
  SshKeyFiles files;
  files.private_path = path;
  files.private_key = ReadKeyFile(path);
  std::string pub = ReadKeyFile(path + ".pub");
  const size_t second_space = pub.find(' ', pub.find(' ') + 1);
  files.public_line = pub.substr(0, second_space);
  absl::StripTrailingAsciiWhitespace(&files.public_line);
  return files;
}

}  // namespace ia::ssh_testing

#endif  // TESTS_AUTOMATION_SSH_KEY_UTIL_H_
