// Tmpfs and FillDisk (see tmpfs.h).
#include "tests/support/tmpfs.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ia::testing {

absl::StatusOr<std::unique_ptr<Tmpfs>> Tmpfs::Mount(const std::string& path,
                                                    int64_t size_bytes) {
  if (geteuid() != 0) {
    return absl::FailedPreconditionError(
        "mounting a tmpfs needs root (the CI runs these tests as root)");
  }
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  const std::string options = absl::StrCat("size=", size_bytes, ",mode=0700");
  if (mount("tmpfs", path.c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
            options.c_str()) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot mount a tmpfs on ", path, ": ",
                     std::error_code(errno, std::generic_category()).message(),
                     " (a container without CAP_SYS_ADMIN?)"));
  }
  return std::unique_ptr<Tmpfs>(new Tmpfs(path));
}

Tmpfs::~Tmpfs() { umount2(path_.c_str(), MNT_DETACH); }

absl::StatusOr<int64_t> FillDisk(const std::string& file) {
  const int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("cannot create ", file));
  }
  const std::string zeros(64 * 1024, '\0');
  int64_t written = 0;
  // Shrinking chunks, so that the last bytes are taken too.
  for (size_t chunk = zeros.size(); chunk > 0;) {
    const ssize_t n = write(fd, zeros.data(), chunk);
    if (n > 0) {
      written += n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != ENOSPC) {
      const int error = errno;
      close(fd);
      return absl::InternalError(absl::StrCat(
          "write ", file, ": ",
          std::error_code(error, std::generic_category()).message()));
    }
    chunk /= 2;
  }
  fsync(fd);
  close(fd);
  return written;
}

}  // namespace ia::testing
