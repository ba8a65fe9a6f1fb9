#include "services/automation/git_transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <git2.h>
#include <git2/sys/stream.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace ia::automation::git_internal {
namespace {

thread_local IoDeadline* tls_deadline = nullptr;

// A TCP connection for libgit2 whose connect and I/O end at the thread's
// IoDeadline. The first four members have the layout of libgit2 1.5's
// internal git_socket_stream: its SSH transport takes the socket from the
// stream that way (streams/socket.h, transports/ssh.c), so the layout must
// stay as it is. The SSH tests of git_test.cc cover it.
struct DeadlineSocket {
  git_stream parent;
  char* host;
  char* port;
  int s;
  // Ours from here on.
  IoDeadline* deadline;
};
static_assert(LIBGIT2_VER_MAJOR == 1 && LIBGIT2_VER_MINOR == 5,
              "DeadlineSocket mirrors libgit2 1.5's git_socket_stream: check "
              "streams/socket.h of this libgit2 (1.7 has timeouts of its own)");

int SetNetError(const std::string& message) {
  git_error_set_str(GIT_ERROR_NET, message.c_str());
  return -1;
}

// Milliseconds left before `deadline` for poll(2): -1 when none.
int PollTimeout(const IoDeadline* deadline) {
  if (deadline == nullptr || deadline->deadline() == absl::InfiniteFuture()) {
    return -1;
  }
  const int64_t ms =
      absl::ToInt64Milliseconds(deadline->deadline() - absl::Now());
  if (ms <= 0) return 0;
  return ms > 1 << 30 ? 1 << 30 : static_cast<int>(ms);
}

int SocketConnect(git_stream* stream) {
  auto* st = reinterpret_cast<DeadlineSocket*>(stream);
  const std::string where = absl::StrCat(st->host, ":", st->port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(st->host, st->port, &hints, &found); rc != 0) {
    return SetNetError(
        absl::StrCat("cannot resolve ", st->host, ": ", gai_strerror(rc)));
  }
  std::string failure = absl::StrCat("cannot connect to ", where);
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    int fd =
        socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    int rc = connect(fd, a->ai_addr, a->ai_addrlen);
    int err = rc == 0 ? 0 : errno;
    if (err == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int n;
      do {
        n = poll(&p, 1, PollTimeout(st->deadline));
      } while (n < 0 && errno == EINTR);
      if (n == 0) {
        err = ETIMEDOUT;
      } else {
        socklen_t len = sizeof(err);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      }
    }
    if (err != 0) {
      failure = err == ETIMEDOUT
                    ? absl::StrCat("connecting to ", where, " timed out")
                    : absl::StrCat("cannot connect to ", where, ": ",
                                   std::strerror(err));
      close(fd);
      continue;
    }
    fcntl(fd, F_SETFL, flags);
    st->s = fd;
    if (st->deadline != nullptr) st->deadline->AddSocket(fd);
    freeaddrinfo(found);
    return 0;
  }
  freeaddrinfo(found);
  return SetNetError(failure);
}

ssize_t SocketRead(git_stream* stream, void* data, size_t len) {
  auto* st = reinterpret_cast<DeadlineSocket*>(stream);
  ssize_t n;
  do {
    n = recv(st->s, data, len, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    SetNetError(
        absl::StrCat("reading from ", st->host, ": ", std::strerror(errno)));
    return -1;
  }
  return n;
}

ssize_t SocketWrite(git_stream* stream, const char* data, size_t len, int) {
  auto* st = reinterpret_cast<DeadlineSocket*>(stream);
  ssize_t n;
  do {
    n = send(st->s, data, len, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    SetNetError(
        absl::StrCat("writing to ", st->host, ": ", std::strerror(errno)));
    return -1;
  }
  return n;
}

int SocketClose(git_stream* stream) {
  auto* st = reinterpret_cast<DeadlineSocket*>(stream);
  if (st->s >= 0) {
    if (st->deadline != nullptr) st->deadline->RemoveSocket(st->s);
    close(st->s);
    st->s = -1;
  }
  return 0;
}

void SocketFree(git_stream* stream) {
  auto* st = reinterpret_cast<DeadlineSocket*>(stream);
  SocketClose(stream);
  std::free(st->host);
  std::free(st->port);
  delete st;
}

int SocketInit(git_stream** out, const char* host, const char* port) {
  auto* st = new DeadlineSocket{};
  st->parent.version = GIT_STREAM_VERSION;
  st->parent.connect = SocketConnect;
  st->parent.read = SocketRead;
  st->parent.write = SocketWrite;
  st->parent.close = SocketClose;
  st->parent.free = SocketFree;
  st->host = strdup(host);
  st->port = strdup(port);
  st->s = -1;
  st->deadline = tls_deadline;
  *out = &st->parent;
  return 0;
}

// The key type written at the start of an SSH key blob ("ssh-ed25519").
std::string SshKeyType(absl::string_view blob) {
  if (blob.size() < 4) return "unknown";
  const uint32_t n = (static_cast<uint8_t>(blob[0]) << 24) |
                     (static_cast<uint8_t>(blob[1]) << 16) |
                     (static_cast<uint8_t>(blob[2]) << 8) |
                     static_cast<uint8_t>(blob[3]);
  if (n > blob.size() - 4) return "unknown";
  return std::string(blob.substr(4, n));
}

// OpenSSH's host pattern match: '*' and '?' wildcards, nothing else special
// (brackets are literal, as in "[host]:2222").
bool GlobMatch(absl::string_view pattern, absl::string_view text) {
  size_t p = 0, t = 0, star = absl::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() &&
        (pattern[p] == '?' ||
         absl::ascii_tolower(pattern[p]) == absl::ascii_tolower(text[t]))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != absl::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// Whether the known_hosts host field `field` names `name`.
bool HostFieldMatches(absl::string_view field, absl::string_view name) {
  if (absl::StartsWith(field, "|1|")) {
    std::vector<absl::string_view> parts = absl::StrSplit(field.substr(3), '|');
    if (parts.size() != 2) return false;
    std::string salt, hash;
    if (!absl::Base64Unescape(parts[0], &salt) ||
        !absl::Base64Unescape(parts[1], &hash)) {
      return false;
    }
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    HMAC(EVP_sha1(), salt.data(), static_cast<int>(salt.size()),
         reinterpret_cast<const unsigned char*>(name.data()), name.size(), mac,
         &mac_len);
    return hash == absl::string_view(reinterpret_cast<char*>(mac), mac_len);
  }
  bool matched = false;
  for (absl::string_view pattern : absl::StrSplit(field, ',')) {
    const bool negated = absl::ConsumePrefix(&pattern, "!");
    if (GlobMatch(pattern, name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

bool IsIpAddress(absl::string_view host) {
  std::string h(host);
  in6_addr buf;
  return inet_pton(AF_INET, h.c_str(), &buf) == 1 ||
         inet_pton(AF_INET6, h.c_str(), &buf) == 1;
}

}  // namespace

void EnsureLibgit2() {
  static std::once_flag once;
  std::call_once(once, [] {
    git_libgit2_init();
    static git_stream_registration registration = {GIT_STREAM_VERSION,
                                                   SocketInit, nullptr};
    git_stream_register(GIT_STREAM_STANDARD, &registration);
  });
}

IoDeadline::IoDeadline(absl::Time deadline)
    : deadline_(deadline), previous_(tls_deadline) {
  tls_deadline = this;
  watchdog_ = std::thread([this] { Watch(); });
}

IoDeadline::~IoDeadline() {
  {
    absl::MutexLock lock(&mu_);
    done_ = true;
  }
  watchdog_.join();
  tls_deadline = previous_;
}

IoDeadline* IoDeadline::Current() { return tls_deadline; }

bool IoDeadline::Expired() const { return absl::Now() >= deadline_; }

void IoDeadline::AddSocket(int fd) {
  absl::MutexLock lock(&mu_);
  if (fired_) shutdown(fd, SHUT_RDWR);
  sockets_.push_back(fd);
}

void IoDeadline::RemoveSocket(int fd) {
  absl::MutexLock lock(&mu_);
  std::erase(sockets_, fd);
}

void IoDeadline::Watch() {
  mu_.LockWhenWithDeadline(absl::Condition(&done_), deadline_);
  if (!done_) {
    fired_ = true;
    for (int fd : sockets_) shutdown(fd, SHUT_RDWR);
  }
  mu_.Unlock();
}

std::string RedactMessage(absl::string_view message,
                          const std::vector<std::string>& secrets) {
  std::string out;
  size_t pos = 0;
  while (true) {
    const size_t sep = message.find("://", pos);
    if (sep == absl::string_view::npos) break;
    size_t begin = sep;
    while (
        begin > pos &&
        (absl::ascii_isalnum(static_cast<unsigned char>(message[begin - 1])) ||
         message[begin - 1] == '+' || message[begin - 1] == '-' ||
         message[begin - 1] == '.')) {
      --begin;
    }
    size_t end = sep + 3;
    while (end < message.size() &&
           !absl::ascii_isspace(static_cast<unsigned char>(message[end])) &&
           message[end] != '\'' && message[end] != '"') {
      ++end;
    }
    absl::StrAppend(&out, message.substr(pos, begin - pos),
                    RedactUrl(message.substr(begin, end - begin)));
    pos = end;
  }
  absl::StrAppend(&out, message.substr(pos));
  for (const std::string& secret : secrets) {
    if (secret.size() < 4) continue;
    out = absl::StrReplaceAll(out, {{secret, "***"}});
  }
  return out;
}

std::string SshFingerprint(absl::string_view key_blob) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(key_blob.data(), key_blob.size(), digest, &len, EVP_sha256(),
             nullptr);
  std::string b64 = absl::Base64Escape(
      absl::string_view(reinterpret_cast<char*>(digest), len));
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  return absl::StrCat("SHA256:", b64);
}

absl::Status CheckSshHostKey(absl::string_view known_hosts,
                             absl::string_view host, int port,
                             absl::string_view key_blob) {
  const std::string name = port == 0 || port == 22
                               ? std::string(host)
                               : absl::StrCat("[", host, "]:", port);
  const std::string key =
      absl::StrCat(SshKeyType(key_blob), " key ", SshFingerprint(key_blob));
  bool host_known = false;
  for (absl::string_view line : absl::StrSplit(known_hosts, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    bool revoked = false;
    if (!fields.empty() && fields[0][0] == '@') {
      if (fields[0] == "@cert-authority") continue;
      revoked = fields[0] == "@revoked";
      if (!revoked) continue;
      fields.erase(fields.begin());
    }
    if (fields.size() < 3 || !HostFieldMatches(fields[0], name)) continue;
    std::string blob;
    if (!absl::Base64Unescape(fields[2], &blob)) continue;
    if (blob == key_blob) {
      if (revoked) {
        return absl::FailedPreconditionError(
            absl::StrCat("host key of ", name, " (", key,
                         ") is marked @revoked in known_hosts"));
      }
      return absl::OkStatus();
    }
    if (!revoked) host_known = true;
  }
  if (host_known) {
    return absl::FailedPreconditionError(
        absl::StrCat("host key of ", name, " (", key,
                     ") does not match known_hosts: the key changed or "
                     "known_hosts is stale"));
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "host key of ", name, " (", key, ") is not in known_hosts; add a line \"",
      name, " ", SshKeyType(key_blob), " ...\" to the secret's known_hosts"));
}

absl::Status CheckTlsCertificate(absl::string_view der,
                                 absl::string_view ca_pem,
                                 absl::string_view host) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509* cert = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (cert == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("TLS certificate of ", host, " does not parse"));
  }
  X509_STORE* store = X509_STORE_new();
  BIO* bio = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
  STACK_OF(X509_INFO)* infos =
      PEM_X509_INFO_read_bio(bio, nullptr, nullptr, nullptr);
  int cas = 0;
  for (int i = 0; infos != nullptr && i < sk_X509_INFO_num(infos); ++i) {
    X509_INFO* info = sk_X509_INFO_value(infos, i);
    if (info->x509 != nullptr && X509_STORE_add_cert(store, info->x509) == 1)
      ++cas;
  }
  if (infos != nullptr) sk_X509_INFO_pop_free(infos, X509_INFO_free);
  BIO_free(bio);
  absl::Status status;
  if (cas == 0) {
    status = absl::FailedPreconditionError(
        "ca.crt of the Git secret holds no PEM certificate");
  } else {
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, cert, nullptr);
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
    const std::string h(host);
    if (IsIpAddress(h)) {
      X509_VERIFY_PARAM_set1_ip_asc(param, h.c_str());
    } else {
      X509_VERIFY_PARAM_set1_host(param, h.c_str(), h.size());
    }
    if (X509_verify_cert(ctx) != 1) {
      status = absl::FailedPreconditionError(absl::StrCat(
          "TLS certificate of ", host, " is not trusted by ca.crt: ",
          X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx))));
    }
    X509_STORE_CTX_free(ctx);
  }
  X509_STORE_free(store);
  X509_free(cert);
  return status;
}

}  // namespace ia::automation::git_internal
