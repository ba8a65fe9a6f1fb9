// Safe file access under a checkout root, for the setters. A path given by a
// user (update.path) may not be absolute nor leave the root with "..", and a
// symlink on it may not lead out of the root. While walking, symlinks are
// never followed (a link inside the root to a file inside the walked folder is
// rewritten at its target, once; a link out of the root is never read).
// Folders are opened component by component with O_NOFOLLOW from a
// descriptor of the root, and files with O_NOFOLLOW from their folder's, so
// a symlink swapped in after the walk is refused too; writes replace a
// regular file atomically (temporary file in the same folder, renamed over
// it), or overwrite it in place where that is enough (Durability), and keep
// its mode.
//
// Thread-safe: no shared state (concurrent writers of one file race as
// rename(2) does: the last one wins, never a torn file; with kInPlace they
// may interleave).
#ifndef SERVICES_AUTOMATION_SAFE_FILES_H_
#define SERVICES_AUTOMATION_SAFE_FILES_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ia::automation {

// `relative` cleaned lexically ("a/./b/../c" -> "a/c", "" or "." -> "."),
// '/' separated. INVALID_ARGUMENT when it is absolute or leaves its base
// with "..".
absl::StatusOr<std::string> CleanRelativePath(absl::string_view relative);

struct WalkResult {
  // The walked folder relative to the root after resolving symlinks inside
  // the root ("." for the root itself).
  std::string start;
  // Symlinks met whose names the filter accepts, relative to the root,
  // sorted; never followed.
  std::vector<std::string> symlinks;
};

// Called by WalkUnderRoot with each accepted file's path relative to the
// root and its bytes (valid during the call only), or why it could not be
// read (FAILED_PRECONDITION when it is no longer a regular file).
using FileVisitor = std::function<void(
    const std::string& file, const absl::StatusOr<absl::string_view>& content)>;

// Walks `root`/`relative` (which may pass symlinks that stay inside the
// root) without following any symlink below it and without entering ".git".
// Folders are walked by descriptor (each opened from its parent's descriptor
// with O_NOFOLLOW), so a symlink swapped in during the walk is never
// followed either. Each regular file the filter accepts is read (opened with
// O_NOFOLLOW from its folder's descriptor) and handed to `visit`, in the
// walk's order (folder by folder, names sorted within a folder).
// INVALID_ARGUMENT when `relative` is absolute or leaves the root (lexically
// or through a symlink), NOT_FOUND when it does not exist or is not a folder.
absl::StatusOr<WalkResult> WalkUnderRoot(
    absl::string_view root, absl::string_view relative,
    const std::function<bool(absl::string_view file_name)>& filter,
    const FileVisitor& visit);

// How hard a write insists on reaching the disk.
enum class Durability {
  // The new content is on disk before the file is replaced, and the
  // replacement is on disk before the write returns: it survives a power
  // loss (a user's own files: imagectl rewrite).
  kDurable,
  // Atomic (a reader sees the old or the new file, never a mix) but left to
  // the page cache: for a scratch checkout that is rebuilt from Git after a
  // crash anyway (the automation's worktree). Never waits for the disk.
  kAtomicOnly,
  // Each file overwritten in its own inode: no new inode, no rename, no
  // sync; a reader may see a file half written, and a crash may leave one
  // so. Only for a checkout that nothing else reads while it is written and
  // that is reset from Git before it is used again (the automation's
  // worktree: runs on one repository hold its lock, and every run starts
  // with a forced checkout, which rewrites a file whose size or time no
  // longer match the index).
  kInPlace,
};

// A file's new content; `file` relative to the checkout root.
struct FileUpdate {
  std::string file;
  std::string content;
};

// Replaces each regular file of `updates` (which must exist) with its new
// content atomically, keeping its mode, never through a symlink
// (FAILED_PRECONDITION) nor out of the root (INVALID_ARGUMENT). In two
// steps: every new content goes to a temporary file beside its file first
// (when one fails, none is replaced and the temporary files are removed),
// then each is renamed over its file. kDurable syncs the file system once
// before the renames and once after, instead of two fsyncs per file. Files
// given folder by folder (sorted) open each folder once.
//
// kInPlace instead checks every file first (exists, regular, not a symlink,
// inside the root: the same errors, and then nothing is written), then
// overwrites each in place; an I/O error while writing (e.g. a full disk)
// may leave the files before it written.
absl::Status WriteFilesUnderRoot(absl::string_view root,
                                 const std::vector<FileUpdate>& updates,
                                 Durability durability);

}  // namespace ia::automation

#endif  // SERVICES_AUTOMATION_SAFE_FILES_H_
