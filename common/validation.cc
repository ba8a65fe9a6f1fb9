// Validation and defaulting of the four object kinds. Each check mirrors a
// rule of Flux's CRD schemas (patterns, enums, CEL rules) or something Flux's
// controllers would stall on at run time; a few checks go further where
// Flux would accept an object that can never work. Every error names the
// object, the field and the problem, and carries the field path as a
// payload. Fields a service interprets are checked by that service's code on
// Apply (ImagePolicy spec.filterTags: services/policy/select.h).
#include "common/validation.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "common/duration.h"
#include "common/git_url.h"
#include "common/image_ref.h"
#include "common/status_macros.h"
#include "re2/re2.h"

namespace ia {
namespace {

constexpr int kMaxExclusionListSize = 25;
constexpr absl::string_view kDefaultExclusion = "^.*\\.sig$";

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

std::string Quote(absl::string_view s) { return absl::StrCat("\"", s, "\""); }

bool IsLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// "" when `s` is a DNS-1123 label, else what is wrong with it.
std::string Dns1123LabelProblem(absl::string_view s) {
  if (s.empty()) return "must not be empty";
  if (s.size() > 63) return "must be at most 63 characters";
  for (char c : s) {
    if (!IsLowerAlnum(c) && c != '-') {
      return "must consist of lower case letters, digits and '-'";
    }
  }
  if (!IsLowerAlnum(s.front()) || !IsLowerAlnum(s.back())) {
    return "must start and end with a lower case letter or digit";
  }
  return "";
}

// "" when `s` is a DNS-1123 subdomain, else what is wrong with it.
std::string Dns1123SubdomainProblem(absl::string_view s) {
  if (s.empty()) return "must not be empty";
  if (s.size() > 253) return "must be at most 253 characters";
  for (absl::string_view label : absl::StrSplit(s, '.')) {
    if (label.empty()) {
      return "must not start or end with '.' nor contain \"..\"";
    }
    for (char c : label) {
      if (!IsLowerAlnum(c) && c != '-') {
        return "must consist of lower case letters, digits, '-' and '.'";
      }
    }
    if (!IsLowerAlnum(label.front()) || !IsLowerAlnum(label.back())) {
      return "must start and end with a lower case letter or digit (also "
             "around each '.')";
    }
  }
  return "";
}

bool IsAlnum(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c));
}

// "" when `s` is a label value (or the name part of a label key).
std::string LabelValueProblem(absl::string_view s) {
  if (s.empty()) return "";
  if (s.size() > 63) return "must be at most 63 characters";
  for (char c : s) {
    if (!IsAlnum(c) && c != '-' && c != '_' && c != '.') {
      return "must consist of letters, digits, '-', '_' and '.'";
    }
  }
  if (!IsAlnum(s.front()) || !IsAlnum(s.back())) {
    return "must start and end with a letter or digit";
  }
  return "";
}

// "" when `s` is a label key: [prefix/]name, the prefix a DNS subdomain.
std::string LabelKeyProblem(absl::string_view s) {
  if (s.empty()) return "must not be empty";
  absl::string_view name = s;
  const size_t slash = s.rfind('/');
  if (slash != absl::string_view::npos) {
    const std::string problem = Dns1123SubdomainProblem(s.substr(0, slash));
    if (!problem.empty()) return absl::StrCat("prefix ", problem);
    name = s.substr(slash + 1);
    if (name.empty()) return "name after '/' must not be empty";
  }
  return LabelValueProblem(name);
}

absl::Status CheckLabels(
    const Reporter& r, absl::string_view path,
    const google::protobuf::Map<std::string, std::string>& labels) {
  for (const auto& [key, value] : labels) {
    std::string problem = LabelKeyProblem(key);
    if (!problem.empty()) {
      return r.Error(path,
                     absl::StrCat("key ", Quote(key),
                                  " is not a valid label key: ", problem));
    }
    problem = LabelValueProblem(value);
    if (!problem.empty()) {
      return r.Error(
          absl::StrCat(path, ".", key),
          absl::StrCat(Quote(value), " is not a valid label value: ", problem));
    }
  }
  return absl::OkStatus();
}

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

absl::Status CheckMetadata(const Reporter& r, v1::ObjectMeta* meta) {
  const absl::Status names =
      ValidateObjectName(meta->namespace_(), meta->name());
  if (!names.ok()) {
    // ValidateObjectName's message is "<path>: <problem>".
    const std::string path = FieldPathOf(names);
    return r.Error(path,
                   absl::string_view(names.message()).substr(path.size() + 2));
  }
  return CheckLabels(r, "metadata.labels", meta->labels());
}

// Checks a duration field. Empty is an error only when `required`.
// `allow_hours` is false for the fields whose CRD pattern omits "h" (Flux's
// timeouts); `positive` rejects zero.
struct DurationRule {
  bool required = false;
  bool allow_hours = true;
  bool positive = true;
};

absl::Status CheckDuration(const Reporter& r, absl::string_view path,
                           absl::string_view text, DurationRule rule) {
  if (text.empty()) {
    if (rule.required) return r.Error(path, "required (e.g. \"5m\")");
    return absl::OkStatus();
  }
  const absl::StatusOr<absl::Duration> d = ParseDuration(text);
  if (!d.ok()) return r.Error(path, d.status().message());
  if (!rule.allow_hours && absl::StrContains(text, 'h')) {
    return r.Error(path, absl::StrCat("invalid duration ", Quote(text),
                                      ": unit \"h\" is not allowed here (use "
                                      "ms, s or m, e.g. \"90m\")"));
  }
  if (rule.positive && *d <= absl::ZeroDuration()) {
    return r.Error(path, absl::StrCat("invalid duration ", Quote(text),
                                      ": must be greater than zero"));
  }
  return absl::OkStatus();
}

// Compiles `pattern` as Flux would (Go's regexp is RE2 syntax). Returns the
// compiled expression, or the error to report.
absl::StatusOr<std::unique_ptr<RE2>> CompileRegexp(const Reporter& r,
                                                   absl::string_view path,
                                                   absl::string_view pattern) {
  RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_unique<RE2>(std::string(pattern), options);
  if (!re->ok()) {
    return r.Error(path, absl::StrCat("invalid regular expression ",
                                      Quote(pattern), ": ", re->error()));
  }
  return re;
}

// "" when `image` is a repository name as Flux takes it: [host[:port]/]path,
// without scheme, tag or digest; else what is wrong.
std::string ImageProblem(absl::string_view image) {
  const size_t scheme = image.find("://");
  if (scheme != absl::string_view::npos) {
    return absl::StrCat(Quote(image), " must not have a scheme: remove ",
                        Quote(image.substr(0, scheme + 3)));
  }
  for (char c : image) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return absl::StrCat(Quote(image),
                          " must not contain spaces or control characters");
    }
  }
  const size_t at = image.find('@');
  if (at != absl::string_view::npos) {
    return absl::StrCat(Quote(image), " must not have a digest: remove ",
                        Quote(image.substr(at)),
                        " (the policy selects the tag)");
  }
  const size_t last_slash = image.rfind('/');
  const size_t colon =
      image.find(':', last_slash == absl::string_view::npos ? 0 : last_slash);
  if (colon != absl::string_view::npos) {
    return absl::StrCat(Quote(image), " must not have a tag: remove ",
                        Quote(image.substr(colon)),
                        " (the policy selects the tag)");
  }
  // The grammar of the name itself (registry host, path components, length).
  auto ref = ParseImageReference(image);
  if (!ref.ok()) return std::string(ref.status().message());
  return "";
}

// "" when `ref` is a valid Git reference name (git check-ref-format), else
// what is wrong.
std::string RefNameProblem(absl::string_view ref) {
  if (ref.empty()) return "must not be empty";
  for (char c : ref) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return "contains a control character";
    if (absl::string_view(" ~^:?*[\\").find(c) != absl::string_view::npos) {
      return absl::StrCat("contains ", Quote(absl::string_view(&c, 1)));
    }
  }
  if (absl::StrContains(ref, "..")) return "contains \"..\"";
  if (absl::StrContains(ref, "@{")) return "contains \"@{\"";
  if (ref == "@") return "must not be \"@\"";
  if (ref.front() == '-') return "must not start with '-'";
  if (ref.front() == '/' || ref.back() == '/' || absl::StrContains(ref, "//")) {
    return "must not start or end with '/' nor contain \"//\"";
  }
  if (ref.back() == '.') return "must not end with '.'";
  for (absl::string_view part : absl::StrSplit(ref, '/')) {
    if (part.front() == '.') return "a component must not start with '.'";
    if (absl::EndsWith(part, ".lock")) {
      return "a component must not end with \".lock\"";
    }
  }
  return "";
}

absl::Status CheckRefName(const Reporter& r, absl::string_view path,
                          absl::string_view ref) {
  const std::string problem = RefNameProblem(ref);
  if (problem.empty()) return absl::OkStatus();
  return r.Error(path,
                 absl::StrCat(Quote(ref),
                              " is not a valid Git reference name: ", problem));
}

bool IsHex(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsBlank(absl::string_view s) {
  return absl::StripAsciiWhitespace(s).empty();
}

absl::Status CheckGitRef(const Reporter& r, absl::string_view path,
                         const v1::GitRepositoryRef& ref) {
  if (!ref.branch().empty()) {
    RETURN_IF_ERROR(
        CheckRefName(r, absl::StrCat(path, ".branch"), ref.branch()));
  }
  if (!ref.tag().empty()) {
    RETURN_IF_ERROR(CheckRefName(r, absl::StrCat(path, ".tag"), ref.tag()));
  }
  if (!ref.semver().empty() && IsBlank(ref.semver())) {
    return r.Error(absl::StrCat(path, ".semver"), "must not be blank");
  }
  if (!ref.name().empty()) {
    const std::string name_path = absl::StrCat(path, ".name");
    if (!absl::StartsWith(ref.name(), "refs/")) {
      return r.Error(name_path,
                     absl::StrCat(Quote(ref.name()),
                                  " must be a full reference name starting "
                                  "with \"refs/\" (e.g. \"refs/heads/main\")"));
    }
    RETURN_IF_ERROR(CheckRefName(r, name_path, ref.name()));
  }
  if (!ref.commit().empty() &&
      (!IsHex(ref.commit()) ||
       (ref.commit().size() != 40 && ref.commit().size() != 64))) {
    return r.Error(absl::StrCat(path, ".commit"),
                   absl::StrCat(Quote(ref.commit()),
                                " must be a full commit hash (40 or 64 "
                                "hexadecimal digits)"));
  }
  return absl::OkStatus();
}

bool HasAnyRef(const v1::GitRepositoryRef& ref) {
  return !ref.branch().empty() || !ref.tag().empty() || !ref.semver().empty() ||
         !ref.name().empty() || !ref.commit().empty();
}

// "" when `url` is a Git URL we can fetch, else what is wrong (the one Git
// URL grammar, git_url.h).
std::string GitUrlProblem(absl::string_view url) {
  absl::StatusOr<GitUrl> parsed = ParseGitUrl(url);
  return parsed.ok() ? "" : std::string(parsed.status().message());
}

// "" when `path` is a relative path that stays inside the root.
std::string RelativePathProblem(absl::string_view path) {
  if (!path.empty() && path.front() == '/') {
    return absl::StrCat(Quote(path),
                        " must be relative to the repository root, not "
                        "absolute");
  }
  for (char c : path) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return absl::StrCat(Quote(path), " contains a control character");
    }
  }
  int depth = 0;
  for (absl::string_view segment : absl::StrSplit(path, '/')) {
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") {
      if (--depth < 0) {
        return absl::StrCat(Quote(path),
                            " leaves the repository root (\"..\")");
      }
    } else {
      ++depth;
    }
  }
  return "";
}

absl::Status CheckLocalRef(const Reporter& r, absl::string_view path,
                           bool present, const v1::LocalObjectReference& ref) {
  if (!present) return absl::OkStatus();
  const std::string name_path = absl::StrCat(path, ".name");
  if (ref.name().empty()) return r.Error(name_path, "required");
  const std::string problem = Dns1123SubdomainProblem(ref.name());
  if (!problem.empty()) {
    return r.Error(name_path, absl::StrCat(Quote(ref.name()),
                                           " is not a valid name: ", problem));
  }
  return absl::OkStatus();
}

absl::Status CheckRefNamespace(const Reporter& r, absl::string_view path,
                               absl::string_view ns) {
  if (ns.empty()) return absl::OkStatus();
  const std::string problem = Dns1123LabelProblem(ns);
  if (problem.empty()) return absl::OkStatus();
  return r.Error(
      path, absl::StrCat(Quote(ns), " is not a valid namespace: ", problem));
}

absl::Status CheckObjectRefName(const Reporter& r, absl::string_view path,
                                absl::string_view name) {
  if (name.empty()) return r.Error(path, "required");
  const std::string problem = Dns1123SubdomainProblem(name);
  if (problem.empty()) return absl::OkStatus();
  return r.Error(path,
                 absl::StrCat(Quote(name), " is not a valid name: ", problem));
}

absl::Status CheckOrder(const Reporter& r, absl::string_view path,
                        std::string* order) {
  if (order->empty()) *order = "asc";
  if (*order != "asc" && *order != "desc") {
    return r.Error(path, absl::StrCat(Quote(*order),
                                      " is not a valid order (use asc or "
                                      "desc)"));
  }
  return absl::OkStatus();
}

absl::Status CheckSelector(const Reporter& r, absl::string_view path,
                           const v1::LabelSelector& selector) {
  RETURN_IF_ERROR(CheckLabels(r, absl::StrCat(path, ".matchLabels"),
                              selector.match_labels()));
  for (int i = 0; i < selector.match_expressions_size(); ++i) {
    const v1::LabelSelectorRequirement& req = selector.match_expressions(i);
    const std::string at = absl::StrCat(path, ".matchExpressions[", i, "]");
    const std::string key_problem = LabelKeyProblem(req.key());
    if (req.key().empty()) return r.Error(absl::StrCat(at, ".key"), "required");
    if (!key_problem.empty()) {
      return r.Error(absl::StrCat(at, ".key"),
                     absl::StrCat(Quote(req.key()),
                                  " is not a valid label key: ", key_problem));
    }
    const std::string op_path = absl::StrCat(at, ".operator");
    if (req.operator_() == "In" || req.operator_() == "NotIn") {
      if (req.values_size() == 0) {
        return r.Error(
            absl::StrCat(at, ".values"),
            absl::StrCat("must not be empty for operator ", req.operator_()));
      }
    } else if (req.operator_() == "Exists" ||
               req.operator_() == "DoesNotExist") {
      if (req.values_size() != 0) {
        return r.Error(
            absl::StrCat(at, ".values"),
            absl::StrCat("must be empty for operator ", req.operator_()));
      }
    } else if (req.operator_().empty()) {
      return r.Error(op_path, "required (In, NotIn, Exists or DoesNotExist)");
    } else {
      return r.Error(op_path, absl::StrCat(Quote(req.operator_()),
                                           " is not a valid operator (use In, "
                                           "NotIn, Exists or DoesNotExist)"));
    }
  }
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

const std::vector<absl::string_view>& ImageVersions() {
  static const auto* const kVersions =
      new std::vector<absl::string_view>{"v1", "v1beta2", "v1beta1"};
  return *kVersions;
}

const std::vector<absl::string_view>& SourceVersions() {
  static const auto* const kVersions =
      new std::vector<absl::string_view>{"v1", "v1beta2"};
  return *kVersions;
}

}  // namespace

std::string FieldPathOf(const absl::Status& status) {
  const absl::optional<absl::Cord> payload =
      status.GetPayload(kFieldPathPayload);
  if (!payload.has_value()) return "";
  return std::string(*payload);
}

absl::Status FieldError(absl::string_view path, absl::string_view problem) {
  absl::Status status =
      absl::InvalidArgumentError(absl::StrCat(path, ": ", problem));
  status.SetPayload(kFieldPathPayload, absl::Cord(path));
  return status;
}

absl::Status ValidateObjectName(absl::string_view ns, absl::string_view name) {
  auto error = [](absl::string_view path, absl::string_view message) {
    return FieldError(path, message);
  };
  if (name.empty()) return error("metadata.name", "required");
  std::string problem = Dns1123SubdomainProblem(name);
  if (!problem.empty()) {
    return error("metadata.name",
                 absl::StrCat(Quote(name), " is not a valid name: ", problem));
  }
  if (!ns.empty()) {
    problem = Dns1123LabelProblem(ns);
    if (!problem.empty()) {
      return error(
          "metadata.namespace",
          absl::StrCat(Quote(ns), " is not a valid namespace: ", problem));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateAndDefault(v1::ImageRepository* object) {
  const Reporter r = Begin(object);
  RETURN_IF_ERROR(CheckTypeMeta(r, object, kImageApiGroup, ImageVersions(),
                                kImageApiVersion));
  RETURN_IF_ERROR(CheckMetadata(r, object->mutable_metadata()));
  v1::ImageRepositorySpec* spec = object->mutable_spec();
  if (spec->image().empty()) {
    return r.Error("spec.image", "required (e.g. \"docker.io/myorg/my-app\")");
  }
  std::string problem = ImageProblem(spec->image());
  if (!problem.empty()) return r.Error("spec.image", problem);
  RETURN_IF_ERROR(
      CheckDuration(r, "spec.interval", spec->interval(), {.required = true}));
  RETURN_IF_ERROR(CheckDuration(r, "spec.timeout", spec->timeout(),
                                {.allow_hours = false}));
  RETURN_IF_ERROR(CheckLocalRef(r, "spec.secretRef", spec->has_secret_ref(),
                                spec->secret_ref()));
  RETURN_IF_ERROR(CheckLocalRef(r, "spec.certSecretRef",
                                spec->has_cert_secret_ref(),
                                spec->cert_secret_ref()));
  RETURN_IF_ERROR(CheckLocalRef(r, "spec.proxySecretRef",
                                spec->has_proxy_secret_ref(),
                                spec->proxy_secret_ref()));
  if (spec->service_account_name().size() > 253) {
    return r.Error("spec.serviceAccountName", "must be at most 253 characters");
  }
  if (spec->exclusion_list_size() > kMaxExclusionListSize) {
    return r.Error("spec.exclusionList",
                   absl::StrCat("at most ", kMaxExclusionListSize,
                                " entries are allowed, got ",
                                spec->exclusion_list_size()));
  }
  if (spec->exclusion_list_size() == 0) {
    spec->add_exclusion_list(std::string(kDefaultExclusion));
  }
  for (int i = 0; i < spec->exclusion_list_size(); ++i) {
    const std::string path = absl::StrCat("spec.exclusionList[", i, "]");
    if (spec->exclusion_list(i).empty()) {
      return r.Error(path,
                     "must not be empty (an empty pattern would exclude "
                     "every tag)");
    }
    RETURN_IF_ERROR(CompileRegexp(r, path, spec->exclusion_list(i)).status());
  }
  if (spec->provider().empty()) spec->set_provider("generic");
  if (spec->provider() != "generic" && spec->provider() != "aws" &&
      spec->provider() != "azure" && spec->provider() != "gcp") {
    return r.Error("spec.provider",
                   absl::StrCat(Quote(spec->provider()),
                                " is not a valid provider (use generic, aws, "
                                "azure or gcp)"));
  }
  for (int i = 0; i < spec->access_from().namespace_selectors_size(); ++i) {
    RETURN_IF_ERROR(CheckLabels(
        r,
        absl::StrCat("spec.accessFrom.namespaceSelectors[", i, "].matchLabels"),
        spec->access_from().namespace_selectors(i).match_labels()));
  }
  return absl::OkStatus();
}

absl::Status ValidateAndDefault(v1::ImagePolicy* object) {
  const Reporter r = Begin(object);
  RETURN_IF_ERROR(CheckTypeMeta(r, object, kImageApiGroup, ImageVersions(),
                                kImageApiVersion));
  RETURN_IF_ERROR(CheckMetadata(r, object->mutable_metadata()));
  v1::ImagePolicySpec* spec = object->mutable_spec();
  RETURN_IF_ERROR(CheckObjectRefName(r, "spec.imageRepositoryRef.name",
                                     spec->image_repository_ref().name()));
  RETURN_IF_ERROR(CheckRefNamespace(r, "spec.imageRepositoryRef.namespace",
                                    spec->image_repository_ref().namespace_()));

  v1::ImagePolicyChoice* policy = spec->mutable_policy();
  const int chosen = static_cast<int>(policy->has_semver()) +
                     static_cast<int>(policy->has_alphabetical()) +
                     static_cast<int>(policy->has_numerical());
  if (chosen == 0) {
    return r.Error("spec.policy",
                   "one of semver, alphabetical, numerical must be set");
  }
  if (chosen > 1) {
    return r.Error("spec.policy",
                   "only one of semver, alphabetical, numerical may be set");
  }
  if (policy->has_semver() && IsBlank(policy->semver().range())) {
    return r.Error("spec.policy.semver.range",
                   "required (e.g. \">=1.0.0 <2.0.0\")");
  }
  if (policy->has_alphabetical()) {
    RETURN_IF_ERROR(
        CheckOrder(r, "spec.policy.alphabetical.order",
                   policy->mutable_alphabetical()->mutable_order()));
  }
  if (policy->has_numerical()) {
    RETURN_IF_ERROR(CheckOrder(r, "spec.policy.numerical.order",
                               policy->mutable_numerical()->mutable_order()));
  }

  // spec.filterTags (pattern and extract) is checked by the policy engine,
  // which interprets it (services/policy/select.h ValidatePolicySpec, run on
  // Apply).

  if (spec->digest_reflection_policy().empty()) {
    spec->set_digest_reflection_policy("Never");
  }
  const std::string& reflect = spec->digest_reflection_policy();
  if (reflect != "Never" && reflect != "IfNotPresent" && reflect != "Always") {
    return r.Error("spec.digestReflectionPolicy",
                   absl::StrCat(Quote(reflect),
                                " is not valid (use Never, IfNotPresent or "
                                "Always)"));
  }
  if (reflect == "Always") {
    if (spec->interval().empty()) {
      return r.Error("spec.interval",
                     "required when spec.digestReflectionPolicy is Always "
                     "(e.g. \"10m\")");
    }
    RETURN_IF_ERROR(CheckDuration(r, "spec.interval", spec->interval(), {}));
  } else if (!spec->interval().empty()) {
    return r.Error("spec.interval",
                   "only allowed when spec.digestReflectionPolicy is Always");
  }
  RETURN_IF_ERROR(
      CheckDuration(r, "spec.minAge", spec->min_age(), {.positive = false}));
  return absl::OkStatus();
}

absl::Status ValidateAndDefault(v1::ImageUpdateAutomation* object) {
  const Reporter r = Begin(object);
  RETURN_IF_ERROR(CheckTypeMeta(r, object, kImageApiGroup, ImageVersions(),
                                kImageApiVersion));
  RETURN_IF_ERROR(CheckMetadata(r, object->mutable_metadata()));
  v1::ImageUpdateAutomationSpec* spec = object->mutable_spec();

  v1::CrossNamespaceSourceReference* source = spec->mutable_source_ref();
  if (source->kind().empty()) source->set_kind("GitRepository");
  if (source->kind() != "GitRepository") {
    return r.Error("spec.sourceRef.kind",
                   absl::StrCat(Quote(source->kind()),
                                " is not supported (only GitRepository)"));
  }
  if (!source->api_version().empty()) {
    bool ok = false;
    for (absl::string_view v : SourceVersions()) {
      ok = ok || source->api_version() == absl::StrCat(kSourceApiGroup, "/", v);
    }
    if (!ok) {
      return r.Error(
          "spec.sourceRef.apiVersion",
          absl::StrCat(Quote(source->api_version()), " is not supported (use ",
                       kSourceApiVersion, ")"));
    }
  }
  RETURN_IF_ERROR(CheckObjectRefName(r, "spec.sourceRef.name", source->name()));
  RETURN_IF_ERROR(
      CheckRefNamespace(r, "spec.sourceRef.namespace", source->namespace_()));

  RETURN_IF_ERROR(
      CheckDuration(r, "spec.interval", spec->interval(), {.required = true}));

  // Flux marks spec.git optional but cannot run a GitRepository automation
  // without it (the commit author is required).
  if (!spec->has_git()) {
    return r.Error("spec.git",
                   "required (at least spec.git.commit.author.email)");
  }
  const v1::GitSpec& git = spec->git();
  if (git.has_checkout()) {
    if (!HasAnyRef(git.checkout().ref())) {
      return r.Error("spec.git.checkout.ref",
                     "one of branch, tag, semver, name, commit must be set");
    }
    RETURN_IF_ERROR(
        CheckGitRef(r, "spec.git.checkout.ref", git.checkout().ref()));
  }
  const v1::CommitSpec& commit = git.commit();
  if (commit.author().email().empty()) {
    return r.Error("spec.git.commit.author.email", "required");
  }
  for (const auto& [field, value] :
       {std::pair<absl::string_view, absl::string_view>{
            "spec.git.commit.author.name", commit.author().name()},
        {"spec.git.commit.author.email", commit.author().email()}}) {
    if (value.find_first_of("<>\n\r") != absl::string_view::npos) {
      return r.Error(field, absl::StrCat(Quote(value),
                                         " must not contain '<', '>' or a "
                                         "line break"));
    }
  }
  if (commit.has_signing_key()) {
    RETURN_IF_ERROR(CheckLocalRef(r, "spec.git.commit.signingKey.secretRef",
                                  true, commit.signing_key().secret_ref()));
  }
  if (git.has_push()) {
    if (!git.push().branch().empty()) {
      RETURN_IF_ERROR(
          CheckRefName(r, "spec.git.push.branch", git.push().branch()));
    }
    const std::string& refspec = git.push().refspec();
    if (!refspec.empty() &&
        (refspec.front() == '+' || refspec.front() == ':')) {
      return r.Error("spec.git.push.refspec",
                     absl::StrCat(Quote(refspec),
                                  " must not start with '+' (force) or ':' "
                                  "(delete)"));
    }
  }

  if (spec->has_policy_selector()) {
    RETURN_IF_ERROR(
        CheckSelector(r, "spec.policySelector", spec->policy_selector()));
  }

  v1::UpdateStrategy* update = spec->mutable_update();
  if (update->strategy().empty()) update->set_strategy("Setters");
  if (update->strategy() != "Setters") {
    return r.Error("spec.update.strategy",
                   absl::StrCat(Quote(update->strategy()),
                                " is not supported (only Setters)"));
  }
  if (update->path().empty()) update->set_path("./");
  const std::string problem = RelativePathProblem(update->path());
  if (!problem.empty()) return r.Error("spec.update.path", problem);
  return absl::OkStatus();
}

absl::Status ValidateAndDefault(v1::GitRepository* object) {
  const Reporter r = Begin(object);
  RETURN_IF_ERROR(CheckTypeMeta(r, object, kSourceApiGroup, SourceVersions(),
                                kSourceApiVersion));
  RETURN_IF_ERROR(CheckMetadata(r, object->mutable_metadata()));
  v1::GitRepositorySpec* spec = object->mutable_spec();
  if (spec->url().empty()) {
    return r.Error("spec.url",
                   "required (e.g. \"https://github.com/org/repo\")");
  }
  const std::string problem = GitUrlProblem(spec->url());
  if (!problem.empty()) return r.Error("spec.url", problem);
  RETURN_IF_ERROR(CheckLocalRef(r, "spec.secretRef", spec->has_secret_ref(),
                                spec->secret_ref()));
  RETURN_IF_ERROR(CheckLocalRef(r, "spec.proxySecretRef",
                                spec->has_proxy_secret_ref(),
                                spec->proxy_secret_ref()));
  RETURN_IF_ERROR(CheckDuration(r, "spec.interval", spec->interval(), {}));
  if (spec->timeout().empty()) spec->set_timeout("60s");
  RETURN_IF_ERROR(CheckDuration(r, "spec.timeout", spec->timeout(),
                                {.allow_hours = false}));
  RETURN_IF_ERROR(CheckGitRef(r, "spec.ref", spec->ref()));
  if (!spec->provider().empty() && spec->provider() != "generic") {
    if (spec->provider() == "aws" || spec->provider() == "azure" ||
        spec->provider() == "github") {
      return r.Error("spec.provider",
                     absl::StrCat(Quote(spec->provider()),
                                  " is not supported (only generic: use "
                                  "spec.secretRef for credentials)"));
    }
    return r.Error("spec.provider",
                   absl::StrCat(Quote(spec->provider()),
                                " is not a valid provider (use generic)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateAndDefault(AnyObject* object) {
  return std::visit([](auto& o) { return ValidateAndDefault(&o); }, *object);
}

}  // namespace ia
