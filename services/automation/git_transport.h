// Internals of the Git layer (git.cc) that are not about repositories:
// libgit2's one-time set-up, the deadline of a network operation, URLs
// without their credentials, and the trust checks libgit2 leaves to us (SSH
// host keys against known_hosts, TLS certificates against a custom CA).
// Tested through git.h and directly (tests/automation/git_transport_test.cc).
#ifndef SERVICES_AUTOMATION_GIT_TRANSPORT_H_
#define SERVICES_AUTOMATION_GIT_TRANSPORT_H_

#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/git_url.h"

namespace ia::automation::git_internal {

// Initialises libgit2 once per process and registers the socket stream that
// honours IoDeadline (below) for every TCP connection libgit2 opens: HTTP,
// HTTPS (TLS runs over it) and SSH. Safe to call from any thread, any number
// of times.
void EnsureLibgit2();

// The deadline of one network operation (a fetch or a push) run on the
// calling thread. While an IoDeadline is alive, the sockets libgit2 opens on
// this thread connect within the deadline, and when the deadline passes a
// watchdog shuts them down, which ends any read or write blocked on them
// (also those of libssh2, which uses the socket directly). libgit2 1.5 has
// no timeout of its own (GIT_OPT_SET_SERVER_TIMEOUT came with 1.7).
//
// One per thread at a time; not nested.
class IoDeadline {
 public:
  explicit IoDeadline(absl::Time deadline);
  ~IoDeadline();
  IoDeadline(const IoDeadline&) = delete;
  IoDeadline& operator=(const IoDeadline&) = delete;

  absl::Time deadline() const { return deadline_; }
  // Whether the deadline has passed (the watchdog may have fired).
  bool Expired() const;

  // The IoDeadline of the calling thread, or null.
  static IoDeadline* Current();

  // Called by the socket stream: sockets to shut down when time is up.
  void AddSocket(int fd);
  void RemoveSocket(int fd);

 private:
  void Watch();

  const absl::Time deadline_;
  mutable absl::Mutex mu_;
  std::vector<int> sockets_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  bool fired_ ABSL_GUARDED_BY(mu_) = false;
  IoDeadline* previous_;
  std::thread watchdog_;
};

// Git URLs are parsed and redacted by common/git_url.h (the one grammar,
// also used on Apply).
using ::ia::GitUrl;
using ::ia::ParseGitUrl;
using ::ia::RedactUrl;

// Removes, from an error message, the credentials of every URL in it (as
// RedactUrl does) and every occurrence of the given secrets (those shorter than
// 4 characters are too likely to match ordinary text and are left alone).
std::string RedactMessage(absl::string_view message,
                          const std::vector<std::string>& secrets);

// Checks an SSH host key (the raw key blob the server presented, as in the
// second field of known_hosts once base64-decoded) against `known_hosts`
// (OpenSSH's format: plain and hashed host patterns, "[host]:port" for
// ports other than 22, wildcards, negation; @revoked lines refuse the key;
// @cert-authority lines are ignored). FAILED_PRECONDITION when the host has
// no entry ("host key of ... is not in known_hosts") or only different keys
// ("... does not match known_hosts"), naming "[host]:port" and the key's
// SHA256 fingerprint.
absl::Status CheckSshHostKey(absl::string_view known_hosts,
                             absl::string_view host, int port,
                             absl::string_view key_blob);

// The OpenSSH fingerprint of a key blob: "SHA256:" + unpadded base64.
std::string SshFingerprint(absl::string_view key_blob);

// Checks a server certificate (DER) that failed libgit2's own verification
// against `ca_pem` (one or more PEM certificates): it must chain to one of
// them, be valid now and name `host` (DNS name or IP address).
// FAILED_PRECONDITION saying why otherwise.
absl::Status CheckTlsCertificate(absl::string_view der,
                                 absl::string_view ca_pem,
                                 absl::string_view host);

}  // namespace ia::automation::git_internal

#endif  // SERVICES_AUTOMATION_GIT_TRANSPORT_H_
