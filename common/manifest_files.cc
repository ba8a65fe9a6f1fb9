// Manifests from files: a file, or every .yaml/.yml file under a folder
// (sorted, hidden entries skipped), each read and parsed on its own so that
// one bad file never hides the others.
#include <algorithm>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/manifest.h"

namespace ia {
namespace {

// ---------------------------------------------------------------------------
// Files.

bool IsManifestFile(const std::filesystem::path& path) {
  const std::string ext = absl::AsciiStrToLower(path.extension().string());
  return ext == ".yaml" || ext == ".yml";
}

// Appends the manifest files under `dir` to `files`. Hidden entries (a name
// starting with '.', such as the "..data" of a mounted ConfigMap) are
// skipped; symbolic links to files are followed, to directories not (so that
// a link cannot loop).
void CollectFiles(const std::filesystem::path& dir,
                  std::vector<std::string>* files,
                  std::vector<absl::Status>* errors) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) {
    errors->push_back(absl::Status(
        absl::ErrnoToStatusCode(ec.value()),
        absl::StrCat("cannot read ", dir.string(), ": ", ec.message())));
    return;
  }
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const std::filesystem::path& path = it->path();
    if (absl::StartsWith(path.filename().string(), ".")) continue;
    std::error_code entry_ec;
    if (std::filesystem::is_directory(it->symlink_status(entry_ec))) {
      CollectFiles(path, files, errors);
    } else if (std::filesystem::is_regular_file(it->status(entry_ec)) &&
               IsManifestFile(path)) {
      files->push_back(path.string());
    }
  }
  if (ec) {
    errors->push_back(absl::Status(
        absl::ErrnoToStatusCode(ec.value()),
        absl::StrCat("cannot read ", dir.string(), ": ", ec.message())));
  }
}

void Append(ManifestSet from, ManifestSet* to) {
  for (ManifestObject& o : from.objects) to->objects.push_back(std::move(o));
  for (absl::Status& s : from.errors) to->errors.push_back(std::move(s));
}

}  // namespace

ManifestSet LoadManifests(const std::string& path, const ObjectCheck& check) {
  ManifestSet set;
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(path, ec);
  if (ec) {
    set.errors.push_back(
        absl::Status(absl::ErrnoToStatusCode(ec.value()),
                     absl::StrCat("cannot read ", path, ": ", ec.message())));
    return set;
  }
  std::vector<std::string> files;
  if (std::filesystem::is_directory(status)) {
    CollectFiles(path, &files, &set.errors);
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  for (const std::string& file : files) {
    absl::StatusOr<std::string> content = ReadFileToString(file);
    if (!content.ok()) {
      set.errors.push_back(content.status());
      continue;
    }
    Append(ParseManifests(*content, file, check), &set);
  }
  return set;
}

}  // namespace ia
