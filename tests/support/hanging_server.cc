// HangingServer (see hanging_server.h): one thread polls the listening
// socket, the accepted connections and a wake-up pipe.
#include "tests/support/hanging_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "absl/strings/str_cat.h"

namespace ia::testing {

absl::Status HangingServer::Start() {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return absl::InternalError("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd_, 64) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      pipe2(wake_fds_, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("cannot listen: errno ", errno));
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { Serve(); });
  return absl::OkStatus();
}

std::string HangingServer::host() const {
  return absl::StrCat("127.0.0.1:", port_);
}

void HangingServer::Serve() {
  std::vector<int> open;
  char buffer[4096];
  for (;;) {
    std::vector<pollfd> fds = {{wake_fds_[0], POLLIN, 0},
                               {listen_fd_, POLLIN, 0}};
    for (int fd : open) fds.push_back({fd, POLLIN, 0});
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents != 0) break;
    if (fds[1].revents & POLLIN) {
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        open.push_back(fd);
        connections_.fetch_add(1);
      }
    }
    std::vector<int> still;
    for (size_t i = 2; i < fds.size(); ++i) {
      // Read and drop; a peer that closed is closed here too.
      if (fds[i].revents != 0 && read(fds[i].fd, buffer, sizeof buffer) <= 0) {
        close(fds[i].fd);
        continue;
      }
      still.push_back(fds[i].fd);
    }
    open = std::move(still);
  }
  for (int fd : open) close(fd);
}

HangingServer::~HangingServer() {
  if (thread_.joinable()) {
    const char stop = 's';
    (void)!write(wake_fds_[1], &stop, 1);
    thread_.join();
  }
  for (int fd : {listen_fd_, wake_fds_[0], wake_fds_[1]}) {
    if (fd >= 0) close(fd);
  }
}

}  // namespace ia::testing
