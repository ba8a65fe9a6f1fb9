#include "common/secrets.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/validation.h"

namespace ia {
namespace {

bool ValidKey(absl::string_view key) {
  if (key.empty() || key == "." || key == ".." || key.size() > 253)
    return false;
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// The message names the secret and key, never the file's path.
absl::StatusOr<std::string> ReadFile(const std::filesystem::path& path,
                                     absl::string_view what) {
  absl::StatusOr<std::string> value = ReadFileToString(path.string());
  if (!value.ok()) {
    return absl::PermissionDeniedError(absl::StrCat("cannot read ", what));
  }
  return value;
}

}  // namespace

absl::StatusOr<std::string> Secrets::SecretPath(absl::string_view ns,
                                                absl::string_view name) const {
  const std::string what = absl::StrCat("secret ", ns, "/", name);
  if (dir_.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, " is needed but --secrets-dir is not set"));
  }
  absl::Status valid = ValidateObjectName(ns, name);
  if (!valid.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", valid.message()));
  }
  std::filesystem::path path =
      std::filesystem::path(dir_) / std::string(ns) / std::string(name);
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) {
    return absl::NotFoundError(
        absl::StrCat(what, " not found in --secrets-dir"));
  }
  return path.string();
}

absl::StatusOr<std::map<std::string, std::string>> Secrets::Read(
    absl::string_view ns, absl::string_view name) const {
  auto path = SecretPath(ns, name);
  if (!path.ok()) return path.status();
  std::map<std::string, std::string> values;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(*path, ec)) {
    const std::string key = entry.path().filename().string();
    // Kubernetes' own bookkeeping (..data, ..2024_...) starts with "..".
    if (!ValidKey(key) || key.rfind("..", 0) == 0) continue;
    if (!std::filesystem::is_regular_file(entry.path(), ec)) continue;
    auto value = ReadFile(
        entry.path(), absl::StrCat("key ", key, " of secret ", ns, "/", name));
    if (!value.ok()) return value.status();
    values[key] = *std::move(value);
  }
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot list secret ", ns, "/", name, ": ", ec.message()));
  }
  return values;
}

absl::StatusOr<std::optional<std::string>> Secrets::ReadKey(
    absl::string_view ns, absl::string_view name, absl::string_view key) const {
  if (!ValidKey(key)) {
    return absl::InvalidArgumentError(
        absl::StrCat("secret ", ns, "/", name, ": invalid key \"", key, "\""));
  }
  auto path = SecretPath(ns, name);
  if (!path.ok()) return path.status();
  const std::filesystem::path file =
      std::filesystem::path(*path) / std::string(key);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec))
    return std::optional<std::string>();
  auto value =
      ReadFile(file, absl::StrCat("key ", key, " of secret ", ns, "/", name));
  if (!value.ok()) return value.status();
  return std::optional<std::string>(*std::move(value));
}

}  // namespace ia
