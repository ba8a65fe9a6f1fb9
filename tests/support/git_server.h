// Real Git remotes for tests, started on free 127.0.0.1 ports and stopped
// when the object is destroyed:
//   BareRepo       a bare repository on disk (file:// URL), filled and read
//                  with the git CLI (commits by a fixed author);
//   GitHttpServer  lighttpd + `git http-backend` (smart HTTP), with Basic
//                  auth, a bearer-token path, optional TLS from a throwaway CA;
//   GitSshServer   sshd with a throwaway host key and client key;
//   SilentServer   a port that accepts connections and never answers (for
//                  timeouts);
//   GpgHome        a throwaway GnuPG home with a generated key (for signed
//                  commits and `git verify-commit`).
// The git CLI runs isolated from the user's and the system's configuration.
//
// Not thread-safe; one test uses one object at a time.
#ifndef TESTS_SUPPORT_GIT_SERVER_H_
#define TESTS_SUPPORT_GIT_SERVER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/support/harness.h"

namespace ia::testing {

// The identity of commits made by these helpers.
inline constexpr char kSeedAuthorName[] = "Seed Author";
inline constexpr char kSeedAuthorEmail[] = "seed@example.com";

// Runs /usr/bin/git with `args`, without global or system config, never
// prompting, with the seed author as author and committer unless `env`
// ("NAME=value") says otherwise.
CommandResult Git(const std::vector<std::string>& args,
                  const std::vector<std::string>& env = {});

// Like Git(), but stdout with trailing newlines removed, or INTERNAL with
// the command and its stderr when git fails.
absl::StatusOr<std::string> GitOutput(const std::vector<std::string>& args,
                                      const std::vector<std::string>& env = {});

// A bare repository (the remote side of a test), read and written with the
// git CLI directly on disk.
class BareRepo {
 public:
  // Creates an empty bare repository at `path` (created; by convention a
  // folder ending in ".git") whose HEAD names `default_branch`, accepting
  // pushes over smart HTTP.
  static absl::StatusOr<BareRepo> Create(
      const std::string& path, const std::string& default_branch = "main");

  const std::string& path() const { return path_; }
  // The last path element, e.g. "repo.git": what server URLs take.
  std::string name() const;
  std::string FileUrl() const { return "file://" + path_; }

  // Commits `files` (path relative to the root -> content) on top of
  // `branch` (created, without parent, when it does not exist) and moves
  // the branch there; other files stay. Returns the new commit's SHA-1.
  absl::StatusOr<std::string> Commit(
      const std::string& branch,
      const std::map<std::string, std::string>& files,
      const std::string& message = "seed");
  // Commits every regular file under `folder`, as Commit().
  absl::StatusOr<std::string> CommitFolder(const std::string& branch,
                                           const std::string& folder,
                                           const std::string& message = "seed");
  // Creates tag `name` at `rev`: annotated when `message` is non-empty.
  absl::Status Tag(const std::string& name, const std::string& rev,
                   const std::string& message = "");

  // Reading.
  absl::StatusOr<std::string> RevParse(const std::string& rev) const;
  bool HasRef(const std::string& ref) const;
  // `git show rev:file`.
  absl::StatusOr<std::string> ReadFile(const std::string& rev,
                                       const std::string& file) const;
  // `git log --format=FORMAT rev`, one entry per commit, newest first.
  absl::StatusOr<std::vector<std::string>> Log(
      const std::string& rev, const std::string& format = "%H") const;
  // `git show ARGS...` (e.g. {"--stat", "--format=", rev}).
  absl::StatusOr<std::string> Show(const std::vector<std::string>& args) const;
  // The raw commit object (`git cat-file commit rev`).
  absl::StatusOr<std::string> CatCommit(const std::string& rev) const;
  // The exact message of a commit (what follows the header in CatCommit).
  absl::StatusOr<std::string> Message(const std::string& rev) const;
  // `git verify-commit -v rev` with GNUPGHOME=gnupghome.
  CommandResult VerifyCommit(const std::string& rev,
                             const std::string& gnupghome) const;
  // Runs git with --git-dir set to this repository.
  CommandResult Run(const std::vector<std::string>& args,
                    const std::vector<std::string>& env = {}) const;

 private:
  explicit BareRepo(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// Clones `url` into a scratch folder with the git CLI, commits `files` on
// `branch` as the seed author and pushes (no force): another writer of the
// remote. `env` adds to git's environment (e.g. GIT_SSH_COMMAND). Returns
// the pushed commit.
absl::StatusOr<std::string> PushFromOtherClone(
    const std::string& url, const std::string& branch,
    const std::map<std::string, std::string>& files, const std::string& message,
    const std::vector<std::string>& env = {});

struct GitHttpOptions {
  // The folder holding the bare repositories (GIT_PROJECT_ROOT).
  std::string project_root;
  // Basic auth for /git/.
  std::string username = "git-user";
  std::string password = "s3cret-Passw0rd";
  // /bearer/ answers only requests with "Authorization: Bearer <token>".
  std::string bearer_token = "t0ken-for-bearer";
  // HTTPS with a certificate for 127.0.0.1 and localhost signed by a
  // throwaway CA (ca_pem()).
  bool tls = false;
};

// lighttpd serving the repositories of `project_root` through
// `git http-backend`:
//   /git/<repo>     Basic auth (username/password); fetch and push.
//   /bearer/<repo>  the bearer token; fetch and push.
// Runs as the current user (as root too: lighttpd then keeps root, which
// it allows when server.username is not set).
class GitHttpServer {
 public:
  static absl::StatusOr<std::unique_ptr<GitHttpServer>> Start(
      GitHttpOptions options);
  ~GitHttpServer();

  // http(s)://127.0.0.1:PORT/git/<repo>, without credentials.
  std::string Url(const std::string& repo) const;
  // The same with user:password@ in it.
  std::string UrlWithCredentials(const std::string& repo) const;
  std::string BearerUrl(const std::string& repo) const;
  int port() const { return port_; }
  const GitHttpOptions& options() const { return options_; }
  // The CA that signed the server certificate (PEM); empty without TLS.
  const std::string& ca_pem() const { return ca_pem_; }
  // One line per request: `USER "REQUEST LINE" STATUS BYTES_OUT
  // "AUTHORIZATION"`. lighttpd writes it with a delay: see WaitForAccessLog.
  std::string AccessLog() const;
  // The access log once `ready` holds for it (checked until a generous
  // guard of 20s passes; then the log as it is).
  std::string WaitForAccessLog(
      const std::function<bool(const std::string&)>& ready) const;
  std::string ErrorLog() const;

 private:
  GitHttpServer() = default;
  GitHttpOptions options_;
  TempDir dir_;
  int port_ = 0;
  std::string ca_pem_;
  std::unique_ptr<Process> process_;
};

struct GitSshOptions {
  // Passphrase of the generated client key; empty for none.
  std::string client_key_passphrase;
};

// sshd on a free loopback port, letting the current user in with a
// generated ed25519 client key only (no PAM, no passwords). The git
// commands run as that user, so ssh:// URLs take absolute paths.
class GitSshServer {
 public:
  static absl::StatusOr<std::unique_ptr<GitSshServer>> Start(
      GitSshOptions options = {});
  ~GitSshServer();

  // ssh://USER@127.0.0.1:PORT<absolute path of the repository>.
  std::string Url(const std::string& repo_path) const;
  int port() const { return port_; }
  const std::string& user() const { return user_; }
  // The client's private key (OpenSSH format) and public key line.
  const std::string& client_key() const { return client_key_; }
  const std::string& client_public_key() const { return client_public_key_; }
  // "[127.0.0.1]:PORT ssh-ed25519 AAAA..." for the server's host key.
  const std::string& known_hosts() const { return known_hosts_; }
  // The same host with another key: what a changed host key looks like.
  const std::string& known_hosts_other_key() const {
    return known_hosts_other_key_;
  }
  // GIT_SSH_COMMAND=... for the git CLI (client key, this known_hosts).
  std::string GitSshCommandEnv() const;
  std::string Log() const;

 private:
  GitSshServer() = default;
  TempDir dir_;
  int port_ = 0;
  std::string user_;
  std::string client_key_, client_public_key_, known_hosts_,
      known_hosts_other_key_;
  std::unique_ptr<Process> process_;
};

// A TCP port on 127.0.0.1 whose connections are accepted (by the kernel)
// and never answered.
class SilentServer {
 public:
  SilentServer();
  ~SilentServer();
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A throwaway GnuPG home (mode 0700) holding one generated ed25519 signing
// key; its gpg-agent is stopped and the folder removed on destruction.
class GpgHome {
 public:
  // `uid` like "Bot <bot@example.com>"; `passphrase` empty for none.
  static absl::StatusOr<std::unique_ptr<GpgHome>> Generate(
      const std::string& uid, const std::string& passphrase = "");
  // A home holding only the public key of `other` (for verification).
  static absl::StatusOr<std::unique_ptr<GpgHome>> WithPublicKeyOf(
      const GpgHome& other);
  ~GpgHome();

  const std::string& path() const { return path_; }
  const std::string& fingerprint() const { return fingerprint_; }
  const std::string& armored_secret_key() const { return secret_; }
  const std::string& armored_public_key() const { return public_; }

 private:
  GpgHome() = default;
  CommandResult Gpg(const std::vector<std::string>& args) const;
  TempDir dir_;
  std::string path_, fingerprint_, secret_, public_;
};

}  // namespace ia::testing

#endif  // TESTS_SUPPORT_GIT_SERVER_H_
