// Internal to validation.cc and validation_fields.cc: the checks of single
// fields (names, labels, durations, references, selectors, ...) that the
// per-kind validators are built from, and the Reporter that words their
// errors. Not for use elsewhere: validation.h is the interface.
//
// Pure functions; thread-safe.
#ifndef COMMON_VALIDATION_FIELDS_H_
#define COMMON_VALIDATION_FIELDS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/objects.h"
#include "common/validation.h"
#include "re2/re2.h"

namespace ia::validation_internal {

// Builds the errors of one object: "<Kind> <ns>/<name>: <path>: <problem>".
class Reporter {
 public:
  Reporter(absl::string_view kind, const v1::ObjectMeta& meta)
      : prefix_(meta.name().empty() ? std::string(kind)
                                    : DisplayName(kind, meta)) {}

  absl::Status Error(absl::string_view path, absl::string_view problem) const {
    absl::Status status = absl::InvalidArgumentError(
        absl::StrCat(prefix_, ": ", path, ": ", problem));
    status.SetPayload(kFieldPathPayload, absl::Cord(path));
    return status;
  }

 private:
  std::string prefix_;
};

// `s` in double quotes, as messages show values.
inline std::string Quote(absl::string_view s) {
  return absl::StrCat("\"", s, "\"");
}

// Checks a duration field. Empty is an error only when `required`.
// `allow_hours` is false for the fields whose CRD pattern omits "h" (Flux's
// timeouts); `positive` rejects zero.
struct DurationRule {
  bool required = false;
  bool allow_hours = true;
  bool positive = true;
};

// "" when `s` is a DNS-1123 label (a namespace) / subdomain (a name), else
// what is wrong.
std::string Dns1123LabelProblem(absl::string_view s);
std::string Dns1123SubdomainProblem(absl::string_view s);

absl::Status CheckMetadata(const Reporter& r, v1::ObjectMeta* meta);

absl::Status CheckDuration(const Reporter& r, absl::string_view path,
                           absl::string_view text, DurationRule rule);

absl::Status CheckGitRef(const Reporter& r, absl::string_view path,
                         const v1::GitRepositoryRef& ref);

absl::Status CheckLabels(
    const Reporter& r, absl::string_view path,
    const google::protobuf::Map<std::string, std::string>& labels);

absl::Status CheckLocalRef(const Reporter& r, absl::string_view path,
                           bool present, const v1::LocalObjectReference& ref);

absl::Status CheckObjectRefName(const Reporter& r, absl::string_view path,
                                absl::string_view name);

absl::Status CheckOrder(const Reporter& r, absl::string_view path,
                        std::string* order);

absl::Status CheckRefName(const Reporter& r, absl::string_view path,
                          absl::string_view ref);

absl::Status CheckRefNamespace(const Reporter& r, absl::string_view path,
                               absl::string_view ns);

absl::Status CheckSelector(const Reporter& r, absl::string_view path,
                           const v1::LabelSelector& selector);

// Compiles `pattern` as Flux would (Go's regexp is RE2 syntax). Returns the
// compiled expression, or the error to report.
absl::StatusOr<std::unique_ptr<RE2>> CompileRegexp(const Reporter& r,
                                                   absl::string_view path,
                                                   absl::string_view pattern);

// "" when `url` is a Git URL we can fetch, else what is wrong (the one Git
// URL grammar, git_url.h).
std::string GitUrlProblem(absl::string_view url);

bool HasAnyRef(const v1::GitRepositoryRef& ref);

// "" when `image` is a repository name as Flux takes it: [host[:port]/]path,
// without scheme, tag or digest; else what is wrong.
std::string ImageProblem(absl::string_view image);

bool IsBlank(absl::string_view s);

// "" when `path` is a relative path that stays inside the root.
std::string RelativePathProblem(absl::string_view path);

const std::vector<absl::string_view>& ImageVersions();

const std::vector<absl::string_view>& SourceVersions();

// Checks the apiVersion against the accepted versions of `group` and
// normalises it to `stored`.
template <typename T>
absl::Status CheckTypeMeta(const Reporter& r, T* object,
                           absl::string_view group,
                           const std::vector<absl::string_view>& versions,
                           absl::string_view stored) {
  const absl::string_view kind = KindOf<T>();
  if (!object->kind().empty() && object->kind() != kind) {
    return r.Error(
        "kind", absl::StrCat(Quote(object->kind()), " does not match ", kind));
  }
  if (!object->api_version().empty()) {
    bool ok = false;
    for (absl::string_view v : versions) {
      if (object->api_version() == absl::StrCat(group, "/", v)) ok = true;
    }
    if (!ok) {
      return r.Error(
          "apiVersion",
          absl::StrCat(Quote(object->api_version()), " is not supported for ",
                       kind, " (use ", group, "/",
                       absl::StrJoin(versions, ", "), ")"));
    }
  }
  object->set_api_version(std::string(stored));
  object->set_kind(std::string(kind));
  return absl::OkStatus();
}

// Fills the namespace and returns the reporter of `object`.
template <typename T>
Reporter Begin(T* object) {
  v1::ObjectMeta* meta = object->mutable_metadata();
  if (meta->namespace_().empty()) {
    meta->set_namespace_(std::string(kDefaultNamespace));
  }
  return Reporter(KindOf<T>(), *meta);
}

}  // namespace ia::validation_internal

#endif  // COMMON_VALIDATION_FIELDS_H_
