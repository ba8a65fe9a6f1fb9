#include "services/automation/safe_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
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
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// Opens the folder `clean` (cleaned, relative to the root; "." for the root)
// component by component, refusing symlinks.
absl::StatusOr<Fd> OpenFolder(absl::string_view root, absl::string_view clean) {
  Fd dir(::open(std::string(root).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) return ErrnoStatus(errno, root);
  if (clean == ".") return dir;
  size_t begin = 0;
  while (begin <= clean.size()) {
    size_t end = clean.find('/', begin);
    if (end == absl::string_view::npos) end = clean.size();
    const std::string part(clean.substr(begin, end - begin));
    Fd next(::openat(dir.get(), part.c_str(),
                     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (next.get() < 0) {
      const int err = errno;
      const absl::string_view prefix = clean.substr(0, end);
      // O_DIRECTORY|O_NOFOLLOW on a symlink gives ENOTDIR or ELOOP.
      struct stat st;
      if (::fstatat(dir.get(), part.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISLNK(st.st_mode)) {
        return absl::FailedPreconditionError(
            absl::StrCat(prefix, ": is a symlink, not followed"));
      }
      return ErrnoStatus(err, prefix);
    }
    dir = std::move(next);
    begin = end + 1;
  }
  return dir;
}

// `clean` (cleaned, not ".") split into its folder ("." for the root) and
// its last component.
std::pair<absl::string_view, absl::string_view> SplitParent(
    absl::string_view clean) {
  const size_t slash = clean.rfind('/');
  if (slash == absl::string_view::npos) return {".", clean};
  return {clean.substr(0, slash), clean.substr(slash + 1)};
}

// Reads the regular file `name` of the folder `dir` into `buffer` without
// following a symlink. `shown` names the file in errors.
absl::Status ReadAt(int dir, const char* name, absl::string_view shown,
                    std::string& buffer) {
  Fd fd(::openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) return ErrnoStatus(errno, shown);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, shown);
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(shown, ": not a regular file"));
  }
  // One read for a file that does not change while read: a short read of a
  // regular file is its end.
  const size_t expected = static_cast<size_t>(st.st_size);
  buffer.resize(expected + 1);
  size_t total = 0;
  for (;;) {
    if (total == buffer.size()) buffer.resize(buffer.size() * 2);
    const ssize_t n =
        ::read(fd.get(), buffer.data() + total, buffer.size() - total);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, shown);
    }
    if (n == 0) break;
    total += static_cast<size_t>(n);
    if (total < buffer.size() && total >= expected) break;
  }
  buffer.resize(total);
  return absl::OkStatus();
}

// The recursive part of WalkUnderRoot: `dir` is the folder `prefix` ("" for
// the root, else ending in '/').
class FolderWalker {
 public:
  FolderWalker(const std::function<bool(absl::string_view)>& filter,
               const FileVisitor& visit, WalkResult& result)
      : filter_(filter), visit_(visit), result_(result) {}

  absl::Status Walk(Fd dir_fd, const std::string& prefix) {
    const std::string shown = prefix.empty() ? "." : prefix;
    DIR* dir = ::fdopendir(dir_fd.get());
    if (dir == nullptr) return ErrnoStatus(errno, shown);
    dir_fd.release();  // owned by `dir` now
    struct Entry {
      std::string name;
      unsigned char type;
      bool operator<(const Entry& other) const { return name < other.name; }
    };
    std::vector<Entry> entries;
    for (;;) {
      errno = 0;
      const dirent* e = ::readdir(dir);
      if (e == nullptr) {
        if (errno == 0) break;
        const int err = errno;
        ::closedir(dir);
        return ErrnoStatus(err, absl::StrCat("listing ", shown));
      }
      if (std::strcmp(e->d_name, ".") != 0 &&
          std::strcmp(e->d_name, "..") != 0) {
        entries.push_back({e->d_name, e->d_type});
      }
    }
    const int fd = ::dirfd(dir);
    std::sort(entries.begin(), entries.end());
    absl::Status status;
    for (Entry& entry : entries) {
      if (entry.type == DT_UNKNOWN) {
        struct stat st;
        if (::fstatat(fd, entry.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
          continue;  // gone
        }
        entry.type = S_ISDIR(st.st_mode)   ? DT_DIR
                     : S_ISREG(st.st_mode) ? DT_REG
                     : S_ISLNK(st.st_mode) ? DT_LNK
                                           : DT_UNKNOWN;
      }
      std::string path = absl::StrCat(prefix, entry.name);
      if (entry.type == DT_LNK) {
        // Never followed.
        if (filter_(entry.name)) result_.symlinks.push_back(std::move(path));
      } else if (entry.type == DT_DIR) {
        if (entry.name == ".git") continue;
        Fd sub(::openat(fd, entry.name.c_str(),
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (sub.get() < 0) {
          // Unreadable, gone, or swapped for a symlink since listed: the
          // walk goes on without it, as it would have without the entry.
          if (errno == EACCES || errno == EPERM || errno == ENOENT ||
              errno == ELOOP || errno == ENOTDIR) {
            continue;
          }
          status = ErrnoStatus(errno, path);
          break;
        }
        status = Walk(std::move(sub), path + "/");
        if (!status.ok()) break;
      } else if (entry.type == DT_REG && filter_(entry.name)) {
        absl::Status read = ReadAt(fd, entry.name.c_str(), path, buffer_);
        if (read.ok()) {
          visit_(path, absl::string_view(buffer_));
        } else {
          visit_(path, read);
        }
      }
    }
    ::closedir(dir);
    return status;
  }

 private:
  const std::function<bool(absl::string_view)>& filter_;
  const FileVisitor& visit_;
  WalkResult& result_;
  std::string buffer_;  // reused for every file read
};

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
    const std::function<bool(absl::string_view)>& filter,
    const FileVisitor& visit) {
  ASSIGN_OR_RETURN(std::string clean, CleanRelativePath(relative));
  std::error_code ec;
  const fs::path real_root = fs::canonical(fs::path(std::string(root)), ec);
  if (ec) {
    return absl::NotFoundError(absl::StrCat("root ", root, ": ", ec.message()));
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
  // assign(), not = ".": GCC 12 warns falsely (-Wrestrict) on the latter.
  if (result.start.empty()) result.start.assign(1, '.');

  ASSIGN_OR_RETURN(Fd start_fd, OpenFolder(real_root.string(), result.start));
  FolderWalker walker(filter, visit, result);
  RETURN_IF_ERROR(walker.Walk(std::move(start_fd),
                              result.start == "." ? "" : result.start + "/"));
  std::sort(result.symlinks.begin(), result.symlinks.end());
  return result;
}

namespace {

// Descriptors of the folders written to, the last one kept open: files given
// folder by folder (sorted paths) open each folder once.
class FolderCache {
 public:
  explicit FolderCache(absl::string_view root) : root_(root) {}

  absl::StatusOr<int> Open(absl::string_view folder) {
    if (fd_.get() < 0 || folder != folder_) {
      fd_.Reset();
      ASSIGN_OR_RETURN(fd_, OpenFolder(root_, folder));
      folder_ = std::string(folder);
    }
    return fd_.get();
  }

 private:
  std::string root_;
  std::string folder_;
  Fd fd_;
};

// A file's new content in a temporary file beside it, not yet renamed.
struct Staged {
  std::string relative;  // as given, for messages
  std::string folder;    // cleaned, relative to the root
  std::string base;
  std::string temp;
};

// The stat of `base` in `dir` when it is a regular file (never following a
// symlink); FAILED_PRECONDITION naming `relative` otherwise.
absl::StatusOr<struct stat> StatRegular(int dir, const std::string& base,
                                        absl::string_view relative) {
  struct stat st;
  if (::fstatat(dir, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
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
  return st;
}

// Writes all of `content` at the start of `fd`.
absl::Status WriteFully(int fd, absl::string_view content,
                        absl::string_view relative) {
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n =
        ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, relative);
    }
    written += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

// A regular file checked for an in-place write.
struct InPlace {
  std::string relative;  // as given, for messages
  std::string folder;    // cleaned, relative to the root
  std::string base;
  dev_t dev = 0;
  ino_t ino = 0;
};

// Checks that `relative` names a regular file under the root (never a
// symlink) without opening it.
absl::StatusOr<InPlace> CheckInPlace(FolderCache& folders,
                                     absl::string_view relative) {
  ASSIGN_OR_RETURN(std::string clean, CleanRelativePath(relative));
  if (clean == ".") {
    return absl::InvalidArgumentError("the root itself is not a file");
  }
  const auto [folder, base] = SplitParent(clean);
  InPlace file{std::string(relative), std::string(folder), std::string(base)};
  ASSIGN_OR_RETURN(const int dir, folders.Open(folder));
  ASSIGN_OR_RETURN(const struct stat st, StatRegular(dir, file.base, relative));
  file.dev = st.st_dev;
  file.ino = st.st_ino;
  return file;
}

// Overwrites the checked file with `content` in its own inode (mode, owner
// and links kept): opened without following a symlink, refused when it is
// no longer the file checked, written from the start and cut to the new
// length (no moment at which the file is empty, unlike O_TRUNC).
absl::Status OverwriteInPlace(int dir, const InPlace& file,
                              absl::string_view content) {
  Fd fd(::openat(dir, file.base.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ELOOP) {
      return absl::FailedPreconditionError(
          absl::StrCat(file.relative, ": is a symlink, not written through"));
    }
    return ErrnoStatus(errno, file.relative);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, file.relative);
  if (!S_ISREG(st.st_mode) || st.st_dev != file.dev || st.st_ino != file.ino) {
    return absl::FailedPreconditionError(
        absl::StrCat(file.relative, ": replaced while being written"));
  }
  RETURN_IF_ERROR(WriteFully(fd.get(), content, file.relative));
  if (static_cast<off_t>(content.size()) != st.st_size &&
      ::ftruncate(fd.get(), static_cast<off_t>(content.size())) != 0) {
    return ErrnoStatus(errno, file.relative);
  }
  if (::close(fd.release()) != 0) return ErrnoStatus(errno, file.relative);
  return absl::OkStatus();
}

// Writes every update in place: all files are checked first, so a missing
// file, a symlink or a path out of the root writes nothing.
absl::Status WriteInPlace(FolderCache& folders,
                          const std::vector<FileUpdate>& updates) {
  std::vector<InPlace> files;
  files.reserve(updates.size());
  for (const FileUpdate& update : updates) {
    ASSIGN_OR_RETURN(InPlace file, CheckInPlace(folders, update.file));
    files.push_back(std::move(file));
  }
  for (size_t k = 0; k < files.size(); ++k) {
    ASSIGN_OR_RETURN(const int dir, folders.Open(files[k].folder));
    RETURN_IF_ERROR(OverwriteInPlace(dir, files[k], updates[k].content));
  }
  return absl::OkStatus();
}

// Writes `content` to a new temporary file beside the regular file
// `relative` (never a symlink), with the file's mode.
absl::StatusOr<Staged> Stage(FolderCache& folders, absl::string_view relative,
                             absl::string_view content, uint32_t& suffix) {
  ASSIGN_OR_RETURN(std::string clean, CleanRelativePath(relative));
  if (clean == ".") {
    return absl::InvalidArgumentError("the root itself is not a file");
  }
  const auto [folder, base] = SplitParent(clean);
  Staged staged{std::string(relative), std::string(folder), std::string(base),
                ""};
  ASSIGN_OR_RETURN(const int dir, folders.Open(folder));
  ASSIGN_OR_RETURN(const struct stat st,
                   StatRegular(dir, staged.base, relative));
  Fd fd;
  for (int attempt = 0; attempt < 16 && fd.get() < 0; ++attempt) {
    staged.temp =
        absl::StrCat(".", staged.base, ".tmp", suffix++ % 1000000000u);
    fd = Fd(::openat(dir, staged.temp.c_str(),
                     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                     0600));
    if (fd.get() < 0 && errno != EEXIST) {
      return ErrnoStatus(errno, staged.temp);
    }
  }
  if (fd.get() < 0) return absl::InternalError("no temporary file name");
  auto fail = [&](absl::Status status) {
    ::unlinkat(dir, staged.temp.c_str(), 0);
    return status;
  };
  if (absl::Status written = WriteFully(fd.get(), content, relative);
      !written.ok()) {
    return fail(std::move(written));
  }
  if (::fchmod(fd.get(), st.st_mode & 07777) != 0) {
    return fail(ErrnoStatus(errno, relative));
  }
  if (::close(fd.release()) != 0) return fail(ErrnoStatus(errno, relative));
  return staged;
}

// Puts a staged file in place of the original.
absl::Status Replace(int dir, const Staged& staged, Durability durability) {
  if (durability == Durability::kAtomicOnly) {
    // Swapping the two names and then removing the old file is as atomic for
    // a reader as renaming over it, without ext4's auto_da_alloc, which
    // starts writing a file renamed over another out to disk at once (the
    // durability this mode does without). Where the file system cannot
    // swap, a plain rename.
    if (::renameat2(dir, staged.temp.c_str(), dir, staged.base.c_str(),
                    RENAME_EXCHANGE) == 0) {
      // A leftover would be a stray file in the checkout: an error.
      if (::unlinkat(dir, staged.temp.c_str(), 0) != 0) {
        return ErrnoStatus(
            errno, absl::StrCat(staged.relative, ": removing the old copy ",
                                staged.temp));
      }
      return absl::OkStatus();
    }
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP &&
        errno != EXDEV) {
      return ErrnoStatus(errno, staged.relative);
    }
  }
  if (::renameat(dir, staged.temp.c_str(), dir, staged.base.c_str()) != 0) {
    return ErrnoStatus(errno, staged.relative);
  }
  return absl::OkStatus();
}

absl::Status SyncFileSystem(absl::string_view root) {
  Fd fd(::open(std::string(root).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::syncfs(fd.get()) != 0) {
    return ErrnoStatus(errno, absl::StrCat(root, ": syncing to disk"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteFilesUnderRoot(absl::string_view root,
                                 const std::vector<FileUpdate>& updates,
                                 Durability durability) {
  FolderCache folders(root);
  if (durability == Durability::kInPlace) return WriteInPlace(folders, updates);
  std::vector<Staged> staged;
  staged.reserve(updates.size());
  // Temporary names: random, then counted (one std::random_device per file
  // cost more than the write).
  uint32_t suffix = std::random_device()();
  auto remove_temporaries = [&](size_t from) {
    for (size_t k = from; k < staged.size(); ++k) {
      absl::StatusOr<int> dir = folders.Open(staged[k].folder);
      if (dir.ok()) ::unlinkat(*dir, staged[k].temp.c_str(), 0);
    }
  };
  for (const FileUpdate& update : updates) {
    absl::StatusOr<Staged> one =
        Stage(folders, update.file, update.content, suffix);
    if (!one.ok()) {
      remove_temporaries(0);
      return one.status();
    }
    staged.push_back(*std::move(one));
  }
  const bool durable = durability == Durability::kDurable;
  if (durable) {
    // Every new content on disk before any file is replaced.
    if (absl::Status synced = SyncFileSystem(root); !synced.ok()) {
      remove_temporaries(0);
      return synced;
    }
  }
  for (size_t k = 0; k < staged.size(); ++k) {
    absl::StatusOr<int> dir = folders.Open(staged[k].folder);
    absl::Status replaced =
        dir.ok() ? Replace(*dir, staged[k], durability) : dir.status();
    if (!replaced.ok()) {
      remove_temporaries(k);
      return replaced;
    }
  }
  // The renames on disk too.
  if (durable) return SyncFileSystem(root);
  return absl::OkStatus();
}

}  // namespace ia::automation
