// The checks of single fields that validation.cc's per-kind validators
// are built from (validation_fields.h).
#include "common/validation_fields.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "common/duration.h"
#include "common/git_url.h"
#include "common/image_ref.h"
#include "common/status_macros.h"
#include "re2/re2.h"

namespace ia::validation_internal {

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

}  // namespace ia::validation_internal
