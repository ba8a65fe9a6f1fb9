#include "common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ia {
namespace {

absl::Status ReadError(int error, const std::string& path) {
  return absl::ErrnoToStatus(error, absl::StrCat("cannot read ", path));
}

}  // namespace

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ReadError(errno, path);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int error = errno;
    close(fd);
    return ReadError(error, path);
  }
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    return ReadError(EISDIR, path);
  }
  std::string content;
  // /proc files report size 0: read until the end whatever st_size says.
  content.reserve(st.st_size > 0 ? static_cast<size_t>(st.st_size) : 4096);
  char buffer[65536];
  while (true) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      close(fd);
      return ReadError(error, path);
    }
    content.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return content;
}

}  // namespace ia
