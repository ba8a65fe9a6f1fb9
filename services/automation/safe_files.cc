#include "services/automation/safe_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace ia::automation {
namespace {

namespace fs = std::filesystem;

absl::Status ErrnoStatus(int err, absl::string_view what) {
  std::string message = absl::StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    case ELOOP:
      return absl::FailedPreconditionError(
          absl::StrCat(what, ": is a symlink, not followed"));
    default:
      return absl::InternalError(message);
  }
}

// Owns a file descriptor.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = other.fd_;
      other.fd_ = -1;
    }
    return *this;
  }
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

struct OpenedParent {
  Fd dir;
  std::string base;
};

// Opens the folder holding `relative` (cleaned, not ".") from the root,
// component by component, refusing symlinks.
absl::StatusOr<OpenedParent> OpenParent(absl::string_view root,
                                        absl::string_view relative) {
  ASSIGN_OR_RETURN(std::string clean, CleanRelativePath(relative));
  if (clean == ".") {
    return absl::InvalidArgumentError("the root itself is not a file");
  }
  std::vector<std::string> parts = absl::StrSplit(clean, '/');
  Fd dir(::open(std::string(root).c_str(),
                O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) return ErrnoStatus(errno, root);
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    Fd next(::openat(dir.get(), parts[i].c_str(),
                     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (next.get() < 0) {
      const int err = errno;
      const std::string prefix = absl::StrJoin(
          std::vector<std::string>(parts.begin(), parts.begin() + i + 1),
          "/");
      // O_DIRECTORY|O_NOFOLLOW on a symlink gives ENOTDIR or ELOOP.
      struct stat st;
      if (::fstatat(dir.get(), parts[i].c_str(), &st, AT_SYMLINK_NOFOLLOW) ==
              0 &&
          S_ISLNK(st.st_mode)) {
        return absl::FailedPreconditionError(
            absl::StrCat(prefix, ": is a symlink, not followed"));
      }
      return ErrnoStatus(err, prefix);
    }
    dir = std::move(next);
  }
  return OpenedParent{std::move(dir), parts.back()};
}

bool IsWithin(const fs::path& root, const fs::path& path) {
  auto r = root.begin();
  auto p = path.begin();
  for (; r != root.end(); ++r, ++p) {
    if (p == path.end() || *r != *p) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::string> CleanRelativePath(absl::string_view relative) {
  if (!relative.empty() && relative.front() == '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("path \"", relative, "\" is absolute"));
  }
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(relative, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (out.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("path \"", relative, "\" leaves the root"));
      }
      out.pop_back();
      continue;
    }
    out.emplace_back(part);
  }
  if (out.empty()) return std::string(".");
  return absl::StrJoin(out, "/");
}

absl::StatusOr<WalkResult> WalkUnderRoot(
    absl::string_view root, absl::string_view relative,
    const std::function<bool(absl::string_view)>& filter) {
  ASSIGN_OR_RETURN(std::string clean, CleanRelativePath(relative));
  std::error_code ec;
  const fs::path real_root = fs::canonical(fs::path(std::string(root)), ec);
  if (ec) {
    return absl::NotFoundError(
        absl::StrCat("root ", root, ": ", ec.message()));
  }
  const fs::path start = fs::canonical(real_root / clean, ec);
  if (ec) {
    return absl::NotFoundError(
        absl::StrCat("path \"", relative, "\": ", ec.message()));
  }
  if (!IsWithin(real_root, start)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "path \"", relative, "\" leaves the root through a symlink"));
  }
  if (!fs::is_directory(fs::symlink_status(start, ec))) {
    return absl::NotFoundError(
        absl::StrCat("path \"", relative, "\" is not a folder"));
  }
  WalkResult result;
  result.start = start.lexically_relative(real_root).generic_string();
  if (result.start.empty()) result.start = ".";

  fs::recursive_directory_iterator it(
      start, fs::directory_options::skip_permission_denied, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("walking \"", relative, "\": ", ec.message()));
  }
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) {
      return absl::InternalError(
          absl::StrCat("walking \"", relative, "\": ", ec.message()));
    }
    const fs::directory_entry& entry = *it;
    const std::string name = entry.path().filename().string();
    const fs::file_status st = entry.symlink_status(ec);
    if (ec) continue;
    const std::string rel =
        entry.path().lexically_relative(real_root).generic_string();
    if (fs::is_symlink(st)) {
      // Never followed (the iterator does not descend into linked folders).
      if (filter(name)) result.symlinks.push_back(rel);
      continue;
    }
    if (fs::is_directory(st)) {
      if (name == ".git") it.disable_recursion_pending();
      continue;
    }
    if (fs::is_regular_file(st) && filter(name)) result.files.push_back(rel);
  }
  std::sort(result.files.begin(), result.files.end());
  std::sort(result.symlinks.begin(), result.symlinks.end());
  return result;
}

absl::StatusOr<std::string> ReadFileUnderRoot(absl::string_view root,
                                              absl::string_view relative) {
  ASSIGN_OR_RETURN(OpenedParent parent, OpenParent(root, relative));
  Fd fd(::openat(parent.dir.get(), parent.base.c_str(),
                 O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) return ErrnoStatus(errno, relative);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, relative);
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(relative, ": not a regular file"));
  }
  std::string content;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, relative);
    }
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
  }
  return content;
}

absl::Status WriteFileUnderRoot(absl::string_view root,
                                absl::string_view relative,
                                absl::string_view content,
                                Durability durability) {
  const bool durable = durability == Durability::kDurable;
  ASSIGN_OR_RETURN(OpenedParent parent, OpenParent(root, relative));
  const int dir = parent.dir.get();
  struct stat st;
  if (::fstatat(dir, parent.base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus(errno, relative);
  }
  if (S_ISLNK(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(relative, ": is a symlink, not written through"));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(relative, ": not a regular file"));
  }
  const mode_t mode = st.st_mode & 07777;

  std::random_device random;
  std::string temp;
  Fd fd;
  for (int attempt = 0; attempt < 16 && fd.get() < 0; ++attempt) {
    temp = absl::StrCat(".", parent.base, ".tmp", random() % 1000000000u);
    fd = Fd(::openat(dir, temp.c_str(),
                     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                     0600));
    if (fd.get() < 0 && errno != EEXIST) return ErrnoStatus(errno, temp);
  }
  if (fd.get() < 0) return absl::InternalError("no temporary file name");
  auto fail = [&](absl::Status status) {
    ::unlinkat(dir, temp.c_str(), 0);
    return status;
  };
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd.get(), content.data() + written,
                              content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(ErrnoStatus(errno, relative));
    }
    written += static_cast<size_t>(n);
  }
  if (::fchmod(fd.get(), mode) != 0) return fail(ErrnoStatus(errno, relative));
  if (durable && ::fsync(fd.get()) != 0) return fail(ErrnoStatus(errno, relative));
  fd.Reset();
  if (::renameat(dir, temp.c_str(), dir, parent.base.c_str()) != 0) {
    return fail(ErrnoStatus(errno, relative));
  }
  if (durable && ::fsync(dir) != 0) return ErrnoStatus(errno, relative);
  return absl::OkStatus();
}

}  // namespace ia::automation
