#include "services/automation/gpg_sign.h"

#include <fcntl.h>
#include <gpgme.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"

extern char** environ;

namespace ia::automation {
namespace {

struct Passphrase {
  std::string value;
  bool asked_twice = false;
  bool missing = false;
  int calls = 0;
};

gpgme_error_t PassphraseCallback(void* hook, const char*, const char*,
                                 int prev_was_bad, int fd) {
  auto* p = static_cast<Passphrase*>(hook);
  if (p->value.empty()) {
    p->missing = true;
    return gpg_error(GPG_ERR_CANCELED);
  }
  if (prev_was_bad || ++p->calls > 1) {
    p->asked_twice = true;
    return gpg_error(GPG_ERR_CANCELED);
  }
  const std::string line = p->value + "\n";
  gpgme_io_writen(fd, line.data(), line.size());
  return 0;
}

// A GnuPG home for one signature: a fresh 0700 folder, removed with the
// gpg-agent that gpg started for it.
class PrivateHome {
 public:
  PrivateHome() {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl =
        absl::StrCat(tmp != nullptr && *tmp ? tmp : "/tmp", "/ia-gpg-XXXXXX");
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~PrivateHome() {
    if (path_.empty()) return;
    KillAgent();
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  void KillAgent() {
    const char* gpgconf = gpgme_get_dirinfo("gpgconf-name");
    if (gpgconf == nullptr) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    std::string homedir = path_;
    const char* argv[] = {gpgconf,  "--homedir", homedir.c_str(),
                          "--kill", "gpg-agent", nullptr};
    pid_t pid;
    if (posix_spawn(&pid, gpgconf, &actions, nullptr, const_cast<char**>(argv),
                    environ) == 0) {
      int status;
      waitpid(pid, &status, 0);
    }
    posix_spawn_file_actions_destroy(&actions);
  }

  std::string path_;
};

absl::Status GpgError(absl::StatusCode code, absl::string_view what,
                      gpgme_error_t err) {
  return absl::Status(
      code, absl::StrCat("signing the commit: ", what, ": ",
                         gpgme_strsource(err), ": ", gpgme_strerror(err)));
}

}  // namespace

absl::StatusOr<std::string> SignDetached(absl::string_view payload,
                                         absl::string_view armored_key,
                                         absl::string_view passphrase) {
  static std::once_flag once;
  std::call_once(once, [] { gpgme_check_version(nullptr); });

  PrivateHome home;
  if (home.path().empty()) {
    return absl::InternalError(
        "signing the commit: cannot create a temporary GnuPG home");
  }
  gpgme_ctx_t ctx = nullptr;
  if (gpgme_error_t err = gpgme_new(&ctx); err != 0) {
    return GpgError(absl::StatusCode::kInternal, "gpgme", err);
  }
  absl::Cleanup release_ctx = [ctx] { gpgme_release(ctx); };
  if (gpgme_error_t err = gpgme_ctx_set_engine_info(
          ctx, GPGME_PROTOCOL_OpenPGP, nullptr, home.path().c_str());
      err != 0) {
    return GpgError(absl::StatusCode::kInternal, "GnuPG home", err);
  }
  gpgme_set_armor(ctx, 1);
  gpgme_set_pinentry_mode(ctx, GPGME_PINENTRY_MODE_LOOPBACK);
  Passphrase pass{std::string(passphrase)};
  gpgme_set_passphrase_cb(ctx, PassphraseCallback, &pass);

  // Import the key.
  gpgme_data_t key_data = nullptr;
  gpgme_data_new_from_mem(&key_data, armored_key.data(), armored_key.size(), 1);
  gpgme_error_t err = gpgme_op_import(ctx, key_data);
  gpgme_data_release(key_data);
  if (err != 0) {
    return GpgError(absl::StatusCode::kInvalidArgument,
                    "the signing key (git.asc) does not import", err);
  }
  gpgme_import_result_t imported = gpgme_op_import_result(ctx);
  if (imported == nullptr || imported->secret_imported == 0) {
    return absl::InvalidArgumentError(
        "signing the commit: the signing key (git.asc) holds no OpenPGP secret "
        "key");
  }
  gpgme_key_t key = nullptr;
  if (err = gpgme_op_keylist_start(ctx, nullptr, 1); err == 0) {
    err = gpgme_op_keylist_next(ctx, &key);
    gpgme_op_keylist_end(ctx);
  }
  if (err != 0 || key == nullptr) {
    return GpgError(absl::StatusCode::kInvalidArgument,
                    "the signing key (git.asc) holds no usable secret key",
                    err);
  }
  gpgme_signers_clear(ctx);
  err = gpgme_signers_add(ctx, key);
  gpgme_key_unref(key);
  if (err != 0) {
    return GpgError(absl::StatusCode::kInvalidArgument,
                    "the signing key (git.asc)", err);
  }

  gpgme_data_t in = nullptr, out = nullptr;
  gpgme_data_new_from_mem(&in, payload.data(), payload.size(), 0);
  gpgme_data_new(&out);
  err = gpgme_op_sign(ctx, in, out, GPGME_SIG_MODE_DETACH);
  gpgme_data_release(in);
  size_t len = 0;
  char* bytes = gpgme_data_release_and_get_mem(out, &len);
  std::string signature(bytes != nullptr ? bytes : "",
                        bytes != nullptr ? len : 0);
  gpgme_free(bytes);
  if (pass.missing) {
    return absl::FailedPreconditionError(
        "signing the commit: the signing key is protected by a passphrase and "
        "the "
        "secret has none (key \"passphrase\")");
  }
  if (pass.asked_twice) {
    return absl::FailedPreconditionError(
        "signing the commit: the passphrase of the signing key is wrong");
  }
  if (err != 0) {
    return GpgError(absl::StatusCode::kFailedPrecondition, "gpg", err);
  }
  if (signature.empty()) {
    return absl::InternalError("signing the commit: gpg made no signature");
  }
  return signature;
}

}  // namespace ia::automation
