// A tmpfs of a fixed size mounted on a folder for one test, so that a test
// can fill a service's --data-dir to the last byte without touching the
// machine's disks. Mounting needs root (CAP_SYS_ADMIN), as in CI; Mount()
// says why not otherwise, for GTEST_SKIP.
//
// Also FillDisk(): a file that takes every free byte of a file system.
//
// Not thread-safe; one test uses one mount.
#ifndef TESTS_SUPPORT_TMPFS_H_
#define TESTS_SUPPORT_TMPFS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace ia::testing {

class Tmpfs {
 public:
  // Mounts a tmpfs of `size_bytes` on `path` (created if missing).
  // FAILED_PRECONDITION when not root or the mount is refused, with the
  // reason.
  static absl::StatusOr<std::unique_ptr<Tmpfs>> Mount(const std::string& path,
                                                      int64_t size_bytes);
  // Unmounts (lazily, should a process still hold a file there).
  ~Tmpfs();
  const std::string& path() const { return path_; }

 private:
  explicit Tmpfs(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// Writes zeros to `file` until its file system has no free byte left
// (ENOSPC); returns the bytes written, or an error other than ENOSPC.
// Deleting the file gives the space back.
absl::StatusOr<int64_t> FillDisk(const std::string& file);

}  // namespace ia::testing

#endif  // TESTS_SUPPORT_TMPFS_H_
