#include "services/automation/git_remote_call.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace ia::automation::git_internal {

RemoteCall::~RemoteCall() {
  if (!identity_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(identity_dir, ec);
  }
}

bool RemoteCall::Expired() const { return absl::Now() >= deadline; }

int RemoteCall::Stop(absl::Status s) {
  if (status.ok()) status = std::move(s);
  return GIT_EUSER;
}

int RemoteCall::StopIfExpired() {
  if (!Expired()) return 0;
  return Stop(absl::DeadlineExceededError(absl::StrCat(
      "no result within the timeout of ", absl::FormatDuration(remote->timeout),
      " (GitRepository spec.timeout)")));
}

std::string RemoteCall::SshUser(const char* from_url) const {
  if (from_url != nullptr && *from_url) return from_url;
  if (!url->user.empty()) return url->user;
  return "git";
}

int RemoteCall::SshKeyCredential(git_credential** out,
                                 const char* user_from_url) {
  const GitAuth& auth = remote->auth;
  if (auth.ssh_identity.empty()) {
    return Stop(absl::UnauthenticatedError(
        "the SSH remote asks for a key and the secret has no identity"));
  }
  if (++ssh_key_calls > 1) {
    return Stop(absl::UnauthenticatedError(absl::StrCat(
        "the SSH remote refused the identity of the secret for user \"",
        SshUser(user_from_url), "\"")));
  }
  const std::string user = SshUser(user_from_url);
  const char* passphrase =
      auth.ssh_passphrase.empty() ? nullptr : auth.ssh_passphrase.c_str();
  if (git_credential_ssh_key_memory_new(out, user.c_str(), nullptr,
                                        auth.ssh_identity.c_str(),
                                        passphrase) == 0) {
    return 0;
  }
  // Built without in-memory keys: a 0600 file in a fresh 0700 folder.
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl =
      absl::StrCat(tmp != nullptr && *tmp ? tmp : "/tmp", "/ia-ssh-XXXXXX");
  if (mkdtemp(tmpl.data()) == nullptr) {
    return Stop(
        absl::InternalError("cannot create a folder for the SSH identity"));
  }
  identity_dir = tmpl;
  const std::string path = identity_dir + "/identity";
  {
    std::ofstream f(path, std::ios::binary);
    f << auth.ssh_identity;
  }
  chmod(path.c_str(), 0600);
  if (git_credential_ssh_key_new(out, user.c_str(), nullptr, path.c_str(),
                                 passphrase) != 0) {
    return Stop(absl::InvalidArgumentError(absl::StrCat(
        "the SSH identity of the secret cannot be used: ", LastGitError(-1))));
  }
  return 0;
}

namespace {

int CredentialsCallback(git_credential** out, const char* /*url*/,
                        const char* user_from_url, unsigned int allowed,
                        void* payload) {
  auto* call = static_cast<RemoteCall*>(payload);
  if (int rc = call->StopIfExpired(); rc != 0) return rc;
  const GitAuth& auth = call->remote->auth;
  if (allowed & (GIT_CREDENTIAL_SSH_KEY | GIT_CREDENTIAL_SSH_MEMORY)) {
    return call->SshKeyCredential(out, user_from_url);
  }
  if (allowed & GIT_CREDENTIAL_USERNAME) {
    return git_credential_username_new(out,
                                       call->SshUser(user_from_url).c_str());
  }
  if (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) {
    if (auth.username.empty() && auth.password.empty()) {
      return call->Stop(absl::UnauthenticatedError(
          auth.bearer_token.empty()
              ? "the remote requires credentials: set username and password "
                "(or "
                "bearerToken) in the GitRepository's secret"
              : "the remote refused the bearer token of the secret"));
    }
    if (++call->userpass_calls > 1) {
      return call->Stop(absl::UnauthenticatedError(
          "the remote refused the username and password of the secret"));
    }
    return git_credential_userpass_plaintext_new(out, auth.username.c_str(),
                                                 auth.password.c_str());
  }
  return call->Stop(
      absl::UnauthenticatedError("the remote asks for a kind of credentials "
                                 "this service does not support"));
}

int CertificateCallback(git_cert* cert, int valid, const char* host,
                        void* payload) {
  auto* call = static_cast<RemoteCall*>(payload);
  if (int rc = call->StopIfExpired(); rc != 0) return rc;
  const GitAuth& auth = call->remote->auth;
  if (cert->cert_type == GIT_CERT_HOSTKEY_LIBSSH2) {
    const auto* key = reinterpret_cast<const git_cert_hostkey*>(cert);
    if (auth.known_hosts.empty()) {
      return call->Stop(absl::FailedPreconditionError(
          "SSH needs known_hosts in the GitRepository's secret to check the "
          "host key"));
    }
    if (!(key->type & GIT_CERT_SSH_RAW) || key->hostkey == nullptr) {
      return call->Stop(absl::FailedPreconditionError(
          "cannot check the SSH host key: libgit2 gave no raw key"));
    }
    absl::Status status =
        CheckSshHostKey(auth.known_hosts, host, call->url->port,
                        absl::string_view(key->hostkey, key->hostkey_len));
    return status.ok() ? 0 : call->Stop(std::move(status));
  }
  if (cert->cert_type == GIT_CERT_X509) {
    if (valid) return 0;
    if (auth.ca_pem.empty()) {
      return call->Stop(absl::FailedPreconditionError(absl::StrCat(
          "TLS certificate of ", host,
          " is not trusted; for a private CA put it in ca.crt of the secret")));
    }
    const auto* x509 = reinterpret_cast<const git_cert_x509*>(cert);
    absl::Status status = CheckTlsCertificate(
        absl::string_view(static_cast<const char*>(x509->data), x509->len),
        auth.ca_pem, host);
    return status.ok() ? 0 : call->Stop(std::move(status));
  }
  return valid ? 0 : GIT_PASSTHROUGH;
}

int SidebandCallback(const char*, int, void* payload) {
  return static_cast<RemoteCall*>(payload)->StopIfExpired();
}

int TransferCallback(const git_indexer_progress*, void* payload) {
  return static_cast<RemoteCall*>(payload)->StopIfExpired();
}

int PushTransferCallback(unsigned int, unsigned int, size_t, void* payload) {
  return static_cast<RemoteCall*>(payload)->StopIfExpired();
}

int PackCallback(int, uint32_t, uint32_t, void* payload) {
  return static_cast<RemoteCall*>(payload)->StopIfExpired();
}

int PushUpdateReferenceCallback(const char* refname, const char* status,
                                void* payload) {
  if (status != nullptr) {
    static_cast<RemoteCall*>(payload)->rejected.emplace_back(refname, status);
  }
  return 0;
}

}  // namespace

void RemoteCall::Prepare(const GitRemote* remote_in, const GitUrl* url_in,
                         std::string display_url_in,
                         git_remote_callbacks* callbacks,
                         git_strarray* headers) {
  remote = remote_in;
  url = url_in;
  display_url = std::move(display_url_in);
  deadline = remote->timeout > absl::ZeroDuration()
                 ? absl::Now() + remote->timeout
                 : absl::InfiniteFuture();
  callbacks->credentials = CredentialsCallback;
  callbacks->certificate_check = CertificateCallback;
  callbacks->sideband_progress = SidebandCallback;
  callbacks->transfer_progress = TransferCallback;
  callbacks->push_transfer_progress = PushTransferCallback;
  callbacks->pack_progress = PackCallback;
  callbacks->push_update_reference = PushUpdateReferenceCallback;
  callbacks->payload = this;
  if (!remote->auth.bearer_token.empty()) {
    bearer_header =
        absl::StrCat("Authorization: Bearer ", remote->auth.bearer_token);
    header_ptr = bearer_header.c_str();
    headers->strings = const_cast<char**>(&header_ptr);
    headers->count = 1;
  }
}

absl::Status RemoteError(int rc, const RemoteCall& call,
                         absl::string_view what) {
  absl::StatusCode code;
  std::string detail;
  if (!call.status.ok()) {
    code = call.status.code();
    detail = std::string(call.status.message());
  } else if (call.Expired()) {
    code = absl::StatusCode::kDeadlineExceeded;
    detail = absl::StrCat("no result within the timeout of ",
                          absl::FormatDuration(call.remote->timeout),
                          " (GitRepository spec.timeout): ", LastGitError(rc));
  } else {
    const git_error* e = git_error_last();
    const int klass = e != nullptr ? e->klass : GIT_ERROR_NONE;
    detail = LastGitError(rc);
    // libgit2 1.5 reports an HTTP status only in its message text (no
    // error code carries it): this adapter is the one place that reads it,
    // turning it into a Status code for everyone else.
    if (rc == GIT_EAUTH || absl::StrContains(detail, "status code: 401") ||
        (klass == GIT_ERROR_SSH && absl::StrContains(detail, "authenticat"))) {
      code = absl::StatusCode::kUnauthenticated;
    } else if (absl::StrContains(detail, "status code: 403")) {
      code = absl::StatusCode::kPermissionDenied;
    } else if (absl::StrContains(detail, "status code: 404")) {
      code = absl::StatusCode::kNotFound;
    } else if (rc == GIT_ECERTIFICATE) {
      code = absl::StatusCode::kFailedPrecondition;
    } else if (klass == GIT_ERROR_NET || klass == GIT_ERROR_SSH ||
               klass == GIT_ERROR_HTTP || klass == GIT_ERROR_SSL ||
               klass == GIT_ERROR_OS) {
      code = absl::StatusCode::kUnavailable;
    } else {
      code = absl::StatusCode::kInternal;
    }
  }
  const GitAuth& auth = call.remote->auth;
  return absl::Status(
      code,
      RedactMessage(absl::StrCat(what, " ", call.display_url, ": ", detail),
                    {auth.password, auth.bearer_token, auth.ssh_passphrase,
                     call.url->password}));
}

}  // namespace ia::automation::git_internal
