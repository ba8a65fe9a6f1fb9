#include "common/authz.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "yaml-cpp/yaml.h"

namespace ia {
namespace {

constexpr MethodVerb kMethodVerbs[] = {
    {"/imageautomation.v1.Reflector/ApplyImageRepository", Verb::kWrite},
    {"/imageautomation.v1.Reflector/GetImageRepository", Verb::kRead},
    {"/imageautomation.v1.Reflector/ListImageRepositories", Verb::kRead},
    {"/imageautomation.v1.Reflector/DeleteImageRepository", Verb::kWrite},
    {"/imageautomation.v1.Reflector/ReconcileImageRepository",
     Verb::kReconcile},
    {"/imageautomation.v1.Reflector/WatchTagSets", Verb::kPeer},
    {"/imageautomation.v1.Reflector/ListTags", Verb::kRead},
    {"/imageautomation.v1.Reflector/GetTagDigest", Verb::kPeer},

    {"/imageautomation.v1.Policy/ApplyImagePolicy", Verb::kWrite},
    {"/imageautomation.v1.Policy/GetImagePolicy", Verb::kRead},
    {"/imageautomation.v1.Policy/ListImagePolicies", Verb::kRead},
    {"/imageautomation.v1.Policy/DeleteImagePolicy", Verb::kWrite},
    {"/imageautomation.v1.Policy/ReconcileImagePolicy", Verb::kReconcile},
    {"/imageautomation.v1.Policy/WatchSelections", Verb::kRead},
    {"/imageautomation.v1.Policy/Evaluate", Verb::kRead},

    {"/imageautomation.v1.Automation/ApplyImageUpdateAutomation", Verb::kWrite},
    {"/imageautomation.v1.Automation/GetImageUpdateAutomation", Verb::kRead},
    {"/imageautomation.v1.Automation/ListImageUpdateAutomations", Verb::kRead},
    {"/imageautomation.v1.Automation/DeleteImageUpdateAutomation",
     Verb::kWrite},
    {"/imageautomation.v1.Automation/ReconcileImageUpdateAutomation",
     Verb::kReconcile},
    {"/imageautomation.v1.Automation/ApplyGitRepository", Verb::kWrite},
    {"/imageautomation.v1.Automation/GetGitRepository", Verb::kRead},
    {"/imageautomation.v1.Automation/ListGitRepositories", Verb::kRead},
    {"/imageautomation.v1.Automation/DeleteGitRepository", Verb::kWrite},
    {"/imageautomation.v1.Automation/ReconcileGitRepository", Verb::kReconcile},
    {"/imageautomation.v1.Automation/PublishSelections", Verb::kPeer},
    {"/imageautomation.v1.Automation/ListSelections", Verb::kRead},

    {"/grpc.health.v1.Health/Check", Verb::kHealth},
    {"/grpc.health.v1.Health/Watch", Verb::kHealth},
    {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
     Verb::kRead},
};

constexpr Verb kPolicyVerbs[] = {Verb::kRead, Verb::kWrite, Verb::kReconcile,
                                 Verb::kPeer};

absl::Status FieldError(absl::string_view source, absl::string_view field,
                        absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat(source, ": ", field, ": ", problem));
}

// A list of non-empty strings at `field`.
absl::StatusOr<std::vector<std::string>> StringList(const YAML::Node& node,
                                                    absl::string_view source,
                                                    const std::string& field) {
  if (!node.IsSequence()) {
    return FieldError(source, field, "must be a list of strings");
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string item = absl::StrCat(field, "[", i, "]");
    if (!node[i].IsScalar() || node[i].Scalar().empty()) {
      return FieldError(source, item, "must be a non-empty string");
    }
    out.push_back(node[i].Scalar());
  }
  if (out.empty()) return FieldError(source, field, "must not be empty");
  return out;
}

absl::StatusOr<AuthzRule> ParseRule(const YAML::Node& node,
                                    absl::string_view source,
                                    const std::string& field) {
  if (!node.IsMap()) return FieldError(source, field, "must be a mapping");
  AuthzRule rule;
  bool has_identities = false, has_verbs = false;
  for (const auto& pair : node) {
    const std::string key = pair.first.as<std::string>("");
    const std::string at = absl::StrCat(field, ".", key);
    if (key == "identities") {
      absl::StatusOr<std::vector<std::string>> list =
          StringList(pair.second, source, at);
      if (!list.ok()) return list.status();
      rule.identities = *std::move(list);
      has_identities = true;
    } else if (key == "verbs") {
      absl::StatusOr<std::vector<std::string>> list =
          StringList(pair.second, source, at);
      if (!list.ok()) return list.status();
      for (size_t i = 0; i < list->size(); ++i) {
        const std::string& name = (*list)[i];
        const Verb* verb =
            std::find_if(std::begin(kPolicyVerbs), std::end(kPolicyVerbs),
                         [&name](Verb v) { return VerbName(v) == name; });
        if (verb == std::end(kPolicyVerbs)) {
          return FieldError(
              source, absl::StrCat(at, "[", i, "]"),
              absl::StrCat("unknown verb \"", name,
                           "\" (use read, write, reconcile or peer)"));
        }
        rule.verbs.push_back(*verb);
      }
      has_verbs = true;
    } else if (key == "namespaces") {
      absl::StatusOr<std::vector<std::string>> list =
          StringList(pair.second, source, at);
      if (!list.ok()) return list.status();
      rule.namespaces = *std::move(list);
    } else {
      return FieldError(
          source, at,
          "unknown field (a rule has identities, verbs and namespaces)");
    }
  }
  if (!has_identities) {
    return FieldError(source, absl::StrCat(field, ".identities"),
                      "is required");
  }
  if (!has_verbs) {
    return FieldError(source, absl::StrCat(field, ".verbs"), "is required");
  }
  return rule;
}

bool Contains(const std::vector<std::string>& list, absl::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

absl::string_view VerbName(Verb verb) {
  switch (verb) {
    case Verb::kRead:
      return "read";
    case Verb::kWrite:
      return "write";
    case Verb::kReconcile:
      return "reconcile";
    case Verb::kPeer:
      return "peer";
    case Verb::kHealth:
      return "health";
  }
  return "unknown";
}

absl::Span<const MethodVerb> MethodVerbs() { return kMethodVerbs; }

std::optional<Verb> VerbOfMethod(absl::string_view method) {
  for (const MethodVerb& row : kMethodVerbs) {
    if (row.method == method) return row.verb;
  }
  return std::nullopt;
}

absl::StatusOr<AuthzPolicy> AuthzPolicy::Parse(absl::string_view text,
                                               absl::string_view source) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": not YAML (line ", e.mark.line + 1, "): ", e.msg));
  }
  if (!root.IsMap()) {
    return FieldError(source, "(top level)", "must be a mapping with rules");
  }
  AuthzPolicy policy;
  bool has_rules = false;
  for (const auto& pair : root) {
    const std::string key = pair.first.as<std::string>("");
    if (key != "rules") {
      return FieldError(source, key, "unknown field (the policy has rules)");
    }
    has_rules = true;
    if (!pair.second.IsSequence()) {
      return FieldError(source, "rules", "must be a list of rules");
    }
    for (size_t i = 0; i < pair.second.size(); ++i) {
      absl::StatusOr<AuthzRule> rule =
          ParseRule(pair.second[i], source, absl::StrCat("rules[", i, "]"));
      if (!rule.ok()) return rule.status();
      policy.rules_.push_back(*std::move(rule));
    }
  }
  if (!has_rules) return FieldError(source, "rules", "is required");
  return policy;
}

Grant AuthzPolicy::GrantFor(absl::string_view identity, Verb verb) const {
  Grant grant;
  if (verb == Verb::kHealth) {
    grant.allowed = grant.every_namespace = true;
    return grant;
  }
  if (identity.empty()) return grant;
  for (const AuthzRule& rule : rules_) {
    if (!Contains(rule.identities, identity) &&
        !Contains(rule.identities, kAnyIdentity)) {
      continue;
    }
    if (std::find(rule.verbs.begin(), rule.verbs.end(), verb) ==
        rule.verbs.end()) {
      continue;
    }
    grant.allowed = true;
    if (rule.namespaces.empty() || verb == Verb::kPeer) {
      grant.every_namespace = true;
    } else {
      for (const std::string& ns : rule.namespaces) {
        if (!Contains(grant.namespaces, ns)) grant.namespaces.push_back(ns);
      }
    }
  }
  if (grant.every_namespace) grant.namespaces.clear();
  return grant;
}

bool GrantCovers(const Grant& grant, absl::string_view ns) {
  if (!grant.allowed) return false;
  if (grant.every_namespace) return true;
  return !ns.empty() && Contains(grant.namespaces, ns);
}

bool IsLoopbackAddress(absl::string_view listen) {
  if (absl::StartsWith(listen, "unix:")) return true;
  absl::string_view host = listen;
  if (absl::StartsWith(host, "[")) {
    const size_t end = host.find(']');
    host = end == absl::string_view::npos ? host : host.substr(1, end - 1);
  } else if (const size_t colon = host.rfind(':');
             colon != absl::string_view::npos) {
    host = host.substr(0, colon);
  }
  if (host == "localhost" || host == "::1") return true;
  const std::vector<absl::string_view> octets = absl::StrSplit(host, '.');
  int first = 0;
  return octets.size() == 4 && absl::SimpleAtoi(octets[0], &first) &&
         first == 127;
}

absl::Status CheckExposure(absl::string_view listen, bool tls, bool policy,
                           bool allow_anonymous) {
  if (allow_anonymous || IsLoopbackAddress(listen) || (tls && policy)) {
    return absl::OkStatus();
  }
  std::vector<std::string> missing;
  if (!tls) missing.push_back("--tls-cert and --tls-key (and --tls-ca)");
  if (!policy) missing.push_back("--authz-policy");
  return absl::FailedPreconditionError(absl::StrCat(
      "--listen=", listen,
      " is not a loopback address: anyone who reaches it could change "
      "objects. Add ",
      absl::StrJoin(missing, " and "),
      ", or --insecure-allow-anonymous to serve it without checks"));
}

}  // namespace ia
