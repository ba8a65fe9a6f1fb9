#include "tests/support/git_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace ia::testing {
namespace {

constexpr char kGitBin[] = "/usr/bin/git";
constexpr char kGitHttpBackend[] = "/usr/lib/git-core/git-http-backend/";

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::Status WriteFile(const std::string& path, const std::string& content) {
  std::filesystem::create_directories(
      std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out << content;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

std::string TrimNewlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

absl::Status CommandError(absl::string_view what, const CommandResult& r) {
  return absl::InternalError(absl::StrCat(what, " exited with ", r.exit_code,
                                          "\nstdout: ", r.out,
                                          "\nstderr: ", r.err));
}

absl::StatusOr<CommandResult> MustRun(
    const std::string& binary, const std::vector<std::string>& args,
    const std::vector<std::string>& env = {}) {
  CommandResult r = RunCommand(binary, args, env);
  if (r.exit_code != 0) {
    return CommandError(absl::StrCat(binary, " ", absl::StrJoin(args, " ")), r);
  }
  return r;
}

// Waits until something accepts TCP connections on 127.0.0.1:port.
absl::Status WaitForPort(int port, Process* process, absl::string_view what,
                         const std::string& log_path) {
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    if (!process->Running()) {
      return absl::InternalError(
          absl::StrCat(what, " exited; log:\n", ReadFileOrEmpty(log_path)));
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    const bool ok =
        connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    close(fd);
    if (ok) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(
      absl::StrCat(what, " does not listen on port ", port, "; log:\n",
                   ReadFileOrEmpty(log_path)));
}

std::string CurrentUser() {
  const passwd* pw = getpwuid(getuid());
  return pw != nullptr ? pw->pw_name : "root";
}

}  // namespace

CommandResult Git(const std::vector<std::string>& args,
                  const std::vector<std::string>& env) {
  std::vector<std::string> full = {
      "GIT_CONFIG_GLOBAL=/dev/null",
      "GIT_CONFIG_NOSYSTEM=1",
      "GIT_TERMINAL_PROMPT=0",
      absl::StrCat("GIT_AUTHOR_NAME=", kSeedAuthorName),
      absl::StrCat("GIT_AUTHOR_EMAIL=", kSeedAuthorEmail),
      absl::StrCat("GIT_COMMITTER_NAME=", kSeedAuthorName),
      absl::StrCat("GIT_COMMITTER_EMAIL=", kSeedAuthorEmail),
  };
  full.insert(full.end(), env.begin(), env.end());
  return RunCommand(kGitBin, args, full);
}

absl::StatusOr<std::string> GitOutput(const std::vector<std::string>& args,
                                      const std::vector<std::string>& env) {
  CommandResult r = Git(args, env);
  if (r.exit_code != 0)
    return CommandError(absl::StrCat("git ", absl::StrJoin(args, " ")), r);
  return TrimNewlines(r.out);
}

// --- BareRepo ---------------------------------------------------------------

absl::StatusOr<BareRepo> BareRepo::Create(const std::string& path,
                                          const std::string& default_branch) {
  std::filesystem::create_directories(path);
  auto out = GitOutput(
      {"init", "-q", "--bare", "--initial-branch=" + default_branch, path});
  if (!out.ok()) return out.status();
  BareRepo repo(path);
  // http-backend refuses pushes by anonymous users only; allow them all.
  CommandResult r = repo.Run({"config", "http.receivepack", "true"});
  if (r.exit_code != 0) return CommandError("git config", r);
  return repo;
}

std::string BareRepo::name() const {
  return std::filesystem::path(path_).filename().string();
}

CommandResult BareRepo::Run(const std::vector<std::string>& args,
                            const std::vector<std::string>& env) const {
  std::vector<std::string> full = {"--git-dir=" + path_};
  full.insert(full.end(), args.begin(), args.end());
  return Git(full, env);
}

absl::StatusOr<std::string> BareRepo::Commit(
    const std::string& branch, const std::map<std::string, std::string>& files,
    const std::string& message) {
  // Plumbing on a private index: no clone needed.
  TempDir scratch;
  const std::vector<std::string> env = {"GIT_INDEX_FILE=" +
                                        scratch.Join("index")};
  auto run =
      [&](const std::vector<std::string>& args) -> absl::StatusOr<std::string> {
    CommandResult r = Run(args, env);
    if (r.exit_code != 0)
      return CommandError(absl::StrCat("git ", absl::StrJoin(args, " ")), r);
    return TrimNewlines(r.out);
  };
  const std::string ref = "refs/heads/" + branch;
  std::string parent;
  if (HasRef(ref)) {
    auto p = run({"rev-parse", ref});
    if (!p.ok()) return p.status();
    parent = *p;
    if (auto s = run({"read-tree", parent}); !s.ok()) return s.status();
  }
  int n = 0;
  for (const auto& [file, content] : files) {
    const std::string tmp =
        scratch.WriteFile(absl::StrCat("blob", n++), content);
    auto blob = run({"hash-object", "-w", tmp});
    if (!blob.ok()) return blob.status();
    if (auto s = run({"update-index", "--add", "--cacheinfo",
                      absl::StrCat("100644,", *blob, ",", file)});
        !s.ok()) {
      return s.status();
    }
  }
  auto tree = run({"write-tree"});
  if (!tree.ok()) return tree.status();
  std::vector<std::string> commit_args = {"commit-tree", *tree, "-m", message};
  if (!parent.empty()) {
    commit_args.push_back("-p");
    commit_args.push_back(parent);
  }
  auto commit = run(commit_args);
  if (!commit.ok()) return commit.status();
  std::vector<std::string> update = {"update-ref", ref, *commit};
  if (!parent.empty()) update.push_back(parent);
  if (auto s = run(update); !s.ok()) return s.status();
  return *commit;
}

absl::StatusOr<std::string> BareRepo::CommitFolder(const std::string& branch,
                                                   const std::string& folder,
                                                   const std::string& message) {
  std::map<std::string, std::string> files;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(folder)) {
    if (!entry.is_regular_file()) continue;
    files[std::filesystem::relative(entry.path(), folder).string()] =
        ReadFileOrEmpty(entry.path().string());
  }
  return Commit(branch, files, message);
}

absl::Status BareRepo::Tag(const std::string& name, const std::string& rev,
                           const std::string& message) {
  std::vector<std::string> args = {"tag"};
  if (!message.empty()) {
    args.insert(args.end(), {"-a", "-m", message});
  }
  args.insert(args.end(), {name, rev});
  CommandResult r = Run(args);
  if (r.exit_code != 0) return CommandError("git tag", r);
  return absl::OkStatus();
}

absl::StatusOr<std::string> BareRepo::RevParse(const std::string& rev) const {
  CommandResult r = Run({"rev-parse", "--verify", "-q", rev + "^{commit}"});
  if (r.exit_code != 0)
    return CommandError(absl::StrCat("git rev-parse ", rev), r);
  return TrimNewlines(r.out);
}

bool BareRepo::HasRef(const std::string& ref) const {
  return Run({"rev-parse", "--verify", "-q", ref}).exit_code == 0;
}

absl::StatusOr<std::string> BareRepo::ReadFile(const std::string& rev,
                                               const std::string& file) const {
  CommandResult r = Run({"show", rev + ":" + file});
  if (r.exit_code != 0)
    return CommandError(absl::StrCat("git show ", rev, ":", file), r);
  return r.out;
}

absl::StatusOr<std::vector<std::string>> BareRepo::Log(
    const std::string& rev, const std::string& format) const {
  CommandResult r = Run({"log", "-z", "--format=" + format, rev});
  if (r.exit_code != 0) return CommandError(absl::StrCat("git log ", rev), r);
  std::vector<std::string> out =
      absl::StrSplit(r.out, absl::ByChar('\0'), absl::SkipEmpty());
  return out;
}

absl::StatusOr<std::string> BareRepo::Show(
    const std::vector<std::string>& args) const {
  std::vector<std::string> full = {"show"};
  full.insert(full.end(), args.begin(), args.end());
  CommandResult r = Run(full);
  if (r.exit_code != 0) return CommandError("git show", r);
  return r.out;
}

absl::StatusOr<std::string> BareRepo::CatCommit(const std::string& rev) const {
  CommandResult r = Run({"cat-file", "commit", rev});
  if (r.exit_code != 0) return CommandError("git cat-file", r);
  return r.out;
}

absl::StatusOr<std::string> BareRepo::Message(const std::string& rev) const {
  auto raw = CatCommit(rev);
  if (!raw.ok()) return raw.status();
  const size_t blank = raw->find("\n\n");
  if (blank == std::string::npos) return std::string();
  return raw->substr(blank + 2);
}

CommandResult BareRepo::VerifyCommit(const std::string& rev,
                                     const std::string& gnupghome) const {
  return Run({"verify-commit", "-v", rev}, {"GNUPGHOME=" + gnupghome});
}

absl::StatusOr<std::string> PushFromOtherClone(
    const std::string& url, const std::string& branch,
    const std::map<std::string, std::string>& files, const std::string& message,
    const std::vector<std::string>& env) {
  TempDir scratch;
  const std::string work = scratch.Join("work");
  if (auto r = Git({"clone", "-q", "--branch", branch, url, work}, env);
      r.exit_code != 0) {
    return CommandError("git clone", r);
  }
  for (const auto& [file, content] : files) {
    if (auto s = WriteFile(work + "/" + file, content); !s.ok()) return s;
  }
  if (auto r = Git({"-C", work, "add", "-A"}, env); r.exit_code != 0) {
    return CommandError("git add", r);
  }
  if (auto r = Git({"-C", work, "commit", "-q", "-m", message}, env);
      r.exit_code != 0) {
    return CommandError("git commit", r);
  }
  if (auto r =
          Git({"-C", work, "push", "-q", "origin", "HEAD:refs/heads/" + branch},
              env);
      r.exit_code != 0) {
    return CommandError("git push", r);
  }
  return GitOutput({"-C", work, "rev-parse", "HEAD"}, env);
}

// --- GitHttpServer ----------------------------------------------------------

absl::StatusOr<std::unique_ptr<GitHttpServer>> GitHttpServer::Start(
    GitHttpOptions options) {
  std::unique_ptr<GitHttpServer> server(new GitHttpServer());
  server->options_ = std::move(options);
  server->port_ = FreePort();
  const TempDir& dir = server->dir_;
  std::filesystem::create_directories(dir.Join("htdocs"));
  dir.WriteFile("users", absl::StrCat(server->options_.username, ":",
                                      server->options_.password, "\n"));
  std::vector<std::string> modules = {
      "mod_access", "mod_auth", "mod_authn_file", "mod_alias",
      "mod_setenv", "mod_cgi",  "mod_accesslog"};
  std::string tls_conf;
  if (server->options_.tls) {
    modules.push_back("mod_openssl");
    const std::string ext =
        dir.WriteFile("ext.cnf",
                      "subjectAltName=IP:127.0.0.1,DNS:"
                      "localhost\nbasicConstraints=CA:FALSE\n");
    const std::string openssl = "/usr/bin/openssl";
    const std::vector<std::string> ec = {
        "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"};
    std::vector<std::string> ca_args = {"req", "-x509"};
    ca_args.insert(ca_args.end(), ec.begin(), ec.end());
    ca_args.insert(ca_args.end(),
                   {"-keyout", dir.Join("ca.key"), "-out", dir.Join("ca.pem"),
                    "-days", "2", "-subj", "/CN=ia-test-ca"});
    if (auto r = MustRun(openssl, ca_args); !r.ok()) return r.status();
    std::vector<std::string> csr_args = {"req"};
    csr_args.insert(csr_args.end(), ec.begin(), ec.end());
    csr_args.insert(csr_args.end(),
                    {"-keyout", dir.Join("server.key"), "-out",
                     dir.Join("server.csr"), "-subj", "/CN=127.0.0.1"});
    if (auto r = MustRun(openssl, csr_args); !r.ok()) return r.status();
    if (auto r = MustRun(openssl,
                         {"x509", "-req", "-in", dir.Join("server.csr"), "-CA",
                          dir.Join("ca.pem"), "-CAkey", dir.Join("ca.key"),
                          "-CAcreateserial", "-out", dir.Join("server.pem"),
                          "-days", "2", "-extfile", ext});
        !r.ok()) {
      return r.status();
    }
    server->ca_pem_ = ReadFileOrEmpty(dir.Join("ca.pem"));
    tls_conf = absl::StrCat("ssl.engine = \"enable\"\n", "ssl.pemfile = \"",
                            dir.Join("server.pem"), "\"\n", "ssl.privkey = \"",
                            dir.Join("server.key"), "\"\n");
  }
  const std::string root = server->options_.project_root;
  const std::string conf = absl::StrCat(
      "server.modules = (\"", absl::StrJoin(modules, "\", \""), "\")\n",
      "server.document-root = \"", dir.Join("htdocs"), "\"\n",
      "server.bind = \"127.0.0.1\"\n", "server.port = ", server->port_, "\n",
      "server.errorlog = \"", dir.Join("error.log"), "\"\n",
      "accesslog.filename = \"", dir.Join("access.log"), "\"\n",
      "accesslog.format = \"%u \\\"%r\\\" %>s %O \\\"%{Authorization}i\\\"\"\n",
      tls_conf, "alias.url = (\"/git/\" => \"", kGitHttpBackend,
      "\", \"/bearer/\" => \"", kGitHttpBackend, "\")\n",
      "auth.backend = \"plain\"\n", "auth.backend.plain.userfile = \"",
      dir.Join("users"), "\"\n", "$HTTP[\"url\"] =~ \"^/git/\" {\n",
      "  cgi.assign = (\"\" => \"\")\n",
      "  setenv.set-environment = (\"GIT_PROJECT_ROOT\" => \"", root,
      "\", \"GIT_HTTP_EXPORT_ALL\" => \"\")\n",
      "  auth.require = (\"\" => (\"method\" => \"basic\", \"realm\" => "
      "\"git\", "
      "\"require\" => \"valid-user\"))\n",
      "}\n", "$HTTP[\"url\"] =~ \"^/bearer/\" {\n",
      "  cgi.assign = (\"\" => \"\")\n",
      // http-backend takes pushes from an authenticated REMOTE_USER only.
      "  setenv.set-environment = (\"GIT_PROJECT_ROOT\" => \"", root,
      "\", \"GIT_HTTP_EXPORT_ALL\" => \"\", \"REMOTE_USER\" => \"bearer\")\n",
      "  $REQUEST_HEADER[\"Authorization\"] != \"Bearer ",
      server->options_.bearer_token, "\" {\n", "    url.access-deny = (\"\")\n",
      "  }\n", "}\n");
  const std::string conf_path = dir.WriteFile("lighttpd.conf", conf);
  const std::string log_path = dir.Join("lighttpd.log");
  server->process_ = std::make_unique<Process>(
      "/usr/sbin/lighttpd", std::vector<std::string>{"-D", "-f", conf_path},
      log_path);
  if (auto s = WaitForPort(server->port_, server->process_.get(), "lighttpd",
                           log_path);
      !s.ok()) {
    return absl::InternalError(
        absl::StrCat(s.message(), "\nerror.log:\n", server->ErrorLog()));
  }
  return server;
}

GitHttpServer::~GitHttpServer() {
  if (process_) process_->Terminate(absl::Seconds(10));
}

std::string GitHttpServer::Url(const std::string& repo) const {
  return absl::StrCat(options_.tls ? "https" : "http", "://127.0.0.1:", port_,
                      "/git/", repo);
}

std::string GitHttpServer::UrlWithCredentials(const std::string& repo) const {
  return absl::StrCat(options_.tls ? "https" : "http", "://", options_.username,
                      ":", options_.password, "@127.0.0.1:", port_, "/git/",
                      repo);
}

std::string GitHttpServer::BearerUrl(const std::string& repo) const {
  return absl::StrCat(options_.tls ? "https" : "http", "://127.0.0.1:", port_,
                      "/bearer/", repo);
}

std::string GitHttpServer::AccessLog() const {
  return ReadFileOrEmpty(dir_.Join("access.log"));
}

std::string GitHttpServer::WaitForAccessLog(
    const std::function<bool(const std::string&)>& ready) const {
  const absl::Time guard = absl::Now() + absl::Seconds(20);
  std::string log = AccessLog();
  while (!ready(log) && absl::Now() < guard) {
    absl::SleepFor(absl::Milliseconds(50));
    log = AccessLog();
  }
  return log;
}

std::string GitHttpServer::ErrorLog() const {
  return ReadFileOrEmpty(dir_.Join("error.log"));
}

// --- GitSshServer -----------------------------------------------------------

absl::StatusOr<std::unique_ptr<GitSshServer>> GitSshServer::Start(
    GitSshOptions options) {
  std::unique_ptr<GitSshServer> server(new GitSshServer());
  const TempDir& dir = server->dir_;
  server->port_ = FreePort();
  server->user_ = CurrentUser();
  const std::string keygen = "/usr/bin/ssh-keygen";
  for (const auto& [name, passphrase] :
       std::vector<std::pair<std::string, std::string>>{
           {"host_key", ""},
           {"other_host_key", ""},
           {"client_key", options.client_key_passphrase}}) {
    if (auto r = MustRun(keygen, {"-q", "-t", "ed25519", "-N", passphrase, "-C",
                                  "ia-test-" + name, "-f", dir.Join(name)});
        !r.ok()) {
      return r.status();
    }
  }
  auto key_line = [&](const std::string& name) {
    std::vector<std::string> f = absl::StrSplit(
        TrimNewlines(ReadFileOrEmpty(dir.Join(name + ".pub"))), ' ');
    return absl::StrCat("[127.0.0.1]:", server->port_, " ", f[0], " ",
                        f.size() > 1 ? f[1] : "", "\n");
  };
  server->known_hosts_ = key_line("host_key");
  server->known_hosts_other_key_ = key_line("other_host_key");
  server->client_key_ = ReadFileOrEmpty(dir.Join("client_key"));
  server->client_public_key_ = ReadFileOrEmpty(dir.Join("client_key.pub"));
  dir.WriteFile("authorized_keys", server->client_public_key_);
  dir.WriteFile("known_hosts", server->known_hosts_);
  chmod(dir.Join("authorized_keys").c_str(), 0600);
  chmod(dir.Join("client_key").c_str(), 0600);
  // sshd running as root wants its privilege separation folder.
  if (geteuid() == 0) {
    std::error_code ec;
    std::filesystem::create_directories("/run/sshd", ec);
    chmod("/run/sshd", 0755);
  }
  const std::string conf = absl::StrCat(
      "Port ", server->port_, "\n", "ListenAddress 127.0.0.1\n", "HostKey ",
      dir.Join("host_key"), "\n", "AuthorizedKeysFile ",
      dir.Join("authorized_keys"), "\n", "PidFile ", dir.Join("sshd.pid"), "\n",
      "StrictModes no\n", "UsePAM no\n", "PasswordAuthentication no\n",
      "KbdInteractiveAuthentication no\n", "PubkeyAuthentication yes\n",
      "PermitRootLogin prohibit-password\n", "AllowUsers ", server->user_, "\n",
      "LogLevel VERBOSE\n");
  const std::string conf_path = dir.WriteFile("sshd_config", conf);
  const std::string log_path = dir.Join("sshd.log");
  server->process_ = std::make_unique<Process>(
      "/usr/sbin/sshd", std::vector<std::string>{"-D", "-e", "-f", conf_path},
      log_path);
  if (auto s =
          WaitForPort(server->port_, server->process_.get(), "sshd", log_path);
      !s.ok()) {
    return s;
  }
  return server;
}

GitSshServer::~GitSshServer() {
  if (process_) process_->Terminate(absl::Seconds(10));
}

std::string GitSshServer::Url(const std::string& repo_path) const {
  return absl::StrCat("ssh://", user_, "@127.0.0.1:", port_, repo_path);
}

std::string GitSshServer::GitSshCommandEnv() const {
  return absl::StrCat(
      "GIT_SSH_COMMAND=ssh -i ", dir_.Join("client_key"),
      " -o IdentitiesOnly=yes -o UserKnownHostsFile=", dir_.Join("known_hosts"),
      " -o StrictHostKeyChecking=yes -o BatchMode=yes");
}

std::string GitSshServer::Log() const {
  return ReadFileOrEmpty(dir_.Join("sshd.log"));
}

// --- SilentServer -----------------------------------------------------------

SilentServer::SilentServer() {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  listen(fd_, 64);
  socklen_t len = sizeof(addr);
  getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
}

SilentServer::~SilentServer() {
  if (fd_ >= 0) close(fd_);
}

// --- GpgHome ----------------------------------------------------------------

CommandResult GpgHome::Gpg(const std::vector<std::string>& args) const {
  std::vector<std::string> full = {"--homedir", path_, "--batch", "--no-tty"};
  full.insert(full.end(), args.begin(), args.end());
  return RunCommand("/usr/bin/gpg", full);
}

absl::StatusOr<std::unique_ptr<GpgHome>> GpgHome::Generate(
    const std::string& uid, const std::string& passphrase) {
  std::unique_ptr<GpgHome> home(new GpgHome());
  home->path_ = home->dir_.Join("gnupg");
  std::filesystem::create_directories(home->path_);
  chmod(home->path_.c_str(), 0700);
  const std::vector<std::string> pass = {"--pinentry-mode", "loopback",
                                         "--passphrase", passphrase};
  std::vector<std::string> gen = pass;
  gen.insert(gen.end(), {"--quick-gen-key", uid, "ed25519", "sign", "never"});
  if (CommandResult r = home->Gpg(gen); r.exit_code != 0) {
    return CommandError("gpg --quick-gen-key", r);
  }
  CommandResult list = home->Gpg({"--with-colons", "--list-secret-keys"});
  for (absl::string_view line : absl::StrSplit(list.out, '\n')) {
    if (absl::ConsumePrefix(&line, "fpr:")) {
      std::vector<absl::string_view> f = absl::StrSplit(line, ':');
      if (f.size() > 8) home->fingerprint_ = std::string(f[8]);
      break;
    }
  }
  if (home->fingerprint_.empty())
    return CommandError("gpg --list-secret-keys", list);
  std::vector<std::string> export_secret = pass;
  export_secret.insert(export_secret.end(),
                       {"--armor", "--export-secret-keys", home->fingerprint_});
  CommandResult secret = home->Gpg(export_secret);
  if (secret.exit_code != 0 || secret.out.empty()) {
    return CommandError("gpg --export-secret-keys", secret);
  }
  home->secret_ = secret.out;
  CommandResult pub = home->Gpg({"--armor", "--export", home->fingerprint_});
  if (pub.exit_code != 0 || pub.out.empty())
    return CommandError("gpg --export", pub);
  home->public_ = pub.out;
  return home;
}

absl::StatusOr<std::unique_ptr<GpgHome>> GpgHome::WithPublicKeyOf(
    const GpgHome& other) {
  std::unique_ptr<GpgHome> home(new GpgHome());
  home->path_ = home->dir_.Join("gnupg");
  std::filesystem::create_directories(home->path_);
  chmod(home->path_.c_str(), 0700);
  const std::string key = home->dir_.WriteFile("public.asc", other.public_);
  if (CommandResult r = home->Gpg({"--import", key}); r.exit_code != 0) {
    return CommandError("gpg --import", r);
  }
  // Trust it fully so verification reports a good, trusted signature.
  if (CommandResult r = RunCommand(
          "/bin/sh", {"-c", absl::StrCat("echo '", other.fingerprint_,
                                         ":6:' | gpg --homedir '", home->path_,
                                         "' --batch --import-ownertrust")});
      r.exit_code != 0) {
    return CommandError("gpg --import-ownertrust", r);
  }
  home->fingerprint_ = other.fingerprint_;
  home->public_ = other.public_;
  return home;
}

GpgHome::~GpgHome() {
  if (!path_.empty()) {
    RunCommand("/usr/bin/gpgconf", {"--homedir", path_, "--kill", "all"});
  }
}

}  // namespace ia::testing
