// `imagectl create ...`: the objects flux's `create image repository|policy|
// update` and `create source git` flags build, as pure functions from flags
// to object. Each builder checks what flux's command checks (required flags,
// mutually exclusive choices), normalises durations as flux prints them
// ("1m" -> "1m0s"), then runs ValidateAndDefault() on a copy (and, for an
// ImagePolicy, the policy engine's ValidatePolicySpec, as the service does
// on Apply) so that an invalid value fails here, before any RPC, with the
// validation message.
// The object returned is the one flux would export: without the defaults
// the service fills in.
//
// Errors are INVALID_ARGUMENT with a one-line message. Thread-safe.
#ifndef TOOLS_IMAGECTL_CREATE_H_
#define TOOLS_IMAGECTL_CREATE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/objects.h"

namespace ia::imagectl {

// Flags every create verb has.
struct CreateCommonFlags {
  std::string name;
  std::string ns{kDefaultNamespace};
  // --interval, a Go duration; default 1m as in flux.
  std::string interval = "1m";
  // Whether --interval was given (ImagePolicy uses it only then).
  bool interval_set = false;
  // --label key=value (repeatable).
  std::vector<std::string> labels;
};

struct ImageRepositoryFlags {
  CreateCommonFlags common;
  std::string image;
  std::string scan_timeout;
  std::string secret_ref;
  std::string cert_secret_ref;
  std::string proxy_secret_ref;
  std::string provider;
  bool insecure = false;
  std::vector<std::string> exclusion_list;
};

struct ImagePolicyFlags {
  CreateCommonFlags common;
  std::string image_ref;
  std::string image_ref_namespace;
  std::string select_semver;
  std::string select_alpha;
  std::string select_numeric;
  std::string filter_regex;
  std::string filter_extract;
  std::string reflect_digest;
};

struct ImageUpdateFlags {
  CreateCommonFlags common;
  std::string git_repo_ref;
  std::string git_repo_namespace;
  std::string git_repo_path;
  std::string checkout_branch;
  std::string push_branch;
  std::string author_name;
  std::string author_email;
  std::string commit_template;
};

struct GitRepositoryFlags {
  CreateCommonFlags common;
  std::string url;
  std::string branch;
  std::string tag;
  std::string tag_semver;
  std::string ref_name;
  std::string commit;
  std::string secret_ref;
  std::string fetch_timeout;
};

absl::StatusOr<v1::ImageRepository> BuildImageRepository(
    const ImageRepositoryFlags& flags);
absl::StatusOr<v1::ImagePolicy> BuildImagePolicy(const ImagePolicyFlags& flags);
absl::StatusOr<v1::ImageUpdateAutomation> BuildImageUpdate(
    const ImageUpdateFlags& flags);
absl::StatusOr<v1::GitRepository> BuildGitRepository(
    const GitRepositoryFlags& flags);

// Parses "key=value" labels into `meta`. INVALID_ARGUMENT naming the bad one.
absl::Status ParseLabels(const std::vector<std::string>& labels,
                         v1::ObjectMeta* meta);

// `text` as flux prints a metav1.Duration ("1m" -> "1m0s"); the message of
// an invalid one names `flag`.
absl::StatusOr<std::string> NormalizeDuration(absl::string_view flag,
                                              absl::string_view text);

}  // namespace ia::imagectl

#endif  // TOOLS_IMAGECTL_CREATE_H_
