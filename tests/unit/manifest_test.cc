#include "common/manifest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "nlohmann/json.hpp"
#include "yaml-cpp/yaml.h"

namespace ia {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::google::protobuf::util::TimeUtil;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;

const std::string kDir = std::string(IA_TESTDATA_DIR) + "/manifests";

std::string ReadTestFile(const std::string& name) {
  std::ifstream in(kDir + "/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> Messages(const ManifestSet& set) {
  std::vector<std::string> out;
  for (const absl::Status& s : set.errors) out.emplace_back(s.message());
  return out;
}

// Parses `yaml`, which must hold exactly one good object of type T.
template <typename T>
T ParseOne(const std::string& yaml) {
  ManifestSet set = ParseManifests(yaml, "test.yaml");
  EXPECT_THAT(Messages(set), IsEmpty());
  EXPECT_EQ(set.objects.size(), 1u);
  if (set.objects.size() != 1 ||
      !std::holds_alternative<T>(set.objects[0].object)) {
    ADD_FAILURE() << "no single object of the expected kind";
    return T();
  }
  return std::get<T>(set.objects[0].object);
}

// The one error of parsing `yaml`.
std::string ErrorOf(const std::string& yaml) {
  ManifestSet set = ParseManifests(yaml, "test.yaml");
  EXPECT_THAT(set.objects, IsEmpty());
  EXPECT_EQ(set.errors.size(), 1u) << absl::StrJoin(Messages(set), "\n");
  if (set.errors.empty()) return "";
  EXPECT_EQ(set.errors[0].code(), absl::StatusCode::kInvalidArgument);
  return std::string(set.errors[0].message());
}

std::string Time(const google::protobuf::Timestamp& t) {
  return TimeUtil::ToString(t);
}

template <typename T>
bool Equal(const T& a, const T& b) {
  return MessageDifferencer::Equals(a, b);
}

bool Equal(const AnyObject& a, const AnyObject& b) {
  if (a.index() != b.index()) return false;
  return std::visit(
      [&](const auto& x) {
        return MessageDifferencer::Equals(
            x, std::get<std::decay_t<decltype(x)>>(b));
      },
      a);
}

constexpr char kRepo[] = R"(apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: app
spec:
  image: nginx
  interval: 1m
)";

// ---------------------------------------------------------------------------
// Every field of every kind.

void ExpectFullObjects(const ManifestSet& set, absl::string_view file) {
  ASSERT_THAT(Messages(set), IsEmpty());
  ASSERT_EQ(set.objects.size(), 4u);

  // ImageRepository.
  ASSERT_TRUE(
      std::holds_alternative<v1::ImageRepository>(set.objects[0].object));
  const auto& repo = std::get<v1::ImageRepository>(set.objects[0].object);
  EXPECT_EQ(set.objects[0].source, absl::StrCat(file, ":2"));
  EXPECT_EQ(repo.api_version(), "image.toolkit.fluxcd.io/v1");
  EXPECT_EQ(repo.kind(), "ImageRepository");
  EXPECT_EQ(repo.metadata().name(), "app");
  EXPECT_EQ(repo.metadata().namespace_(), "apps");
  EXPECT_THAT(repo.metadata().labels(),
              UnorderedElementsAre(Pair("app.kubernetes.io/name", "app"),
                                   Pair("version", "1.10")));
  EXPECT_THAT(repo.metadata().annotations(),
              UnorderedElementsAre(Pair("note", "scanned: hourly")));
  EXPECT_EQ(repo.spec().image(), "ghcr.io/example/app");
  EXPECT_EQ(repo.spec().interval(), "5m");
  EXPECT_EQ(repo.spec().timeout(), "90s");
  EXPECT_EQ(repo.spec().secret_ref().name(), "ghcr-auth");
  EXPECT_EQ(repo.spec().cert_secret_ref().name(), "ghcr-ca");
  EXPECT_EQ(repo.spec().proxy_secret_ref().name(), "corp-proxy");
  EXPECT_EQ(repo.spec().service_account_name(), "image-reader");
  EXPECT_TRUE(repo.spec().insecure());
  EXPECT_FALSE(repo.spec().suspend());
  EXPECT_THAT(repo.spec().exclusion_list(),
              ElementsAre("^.*\\.sig$", "^sha256-.*"));
  EXPECT_EQ(repo.spec().provider(), "generic");
  ASSERT_EQ(repo.spec().access_from().namespace_selectors_size(), 1);
  EXPECT_THAT(repo.spec().access_from().namespace_selectors(0).match_labels(),
              UnorderedElementsAre(Pair("team", "platform")));
  EXPECT_FALSE(repo.has_status());
  EXPECT_THAT(set.objects[0].warnings,
              ElementsAre(HasSubstr("spec.serviceAccountName is stored but "
                                    "not used"),
                          HasSubstr("spec.accessFrom is stored but not used")));

  // ImagePolicy.
  ASSERT_TRUE(std::holds_alternative<v1::ImagePolicy>(set.objects[1].object));
  const auto& policy = std::get<v1::ImagePolicy>(set.objects[1].object);
  EXPECT_EQ(set.objects[1].source, absl::StrCat(file, ":34"));
  EXPECT_EQ(policy.api_version(), "image.toolkit.fluxcd.io/v1");
  EXPECT_EQ(policy.kind(), "ImagePolicy");
  EXPECT_EQ(policy.metadata().name(), "app");
  EXPECT_EQ(policy.metadata().namespace_(), "apps");
  EXPECT_THAT(policy.metadata().labels(),
              UnorderedElementsAre(Pair("automation", "enabled")));
  EXPECT_EQ(policy.spec().image_repository_ref().name(), "app");
  EXPECT_EQ(policy.spec().image_repository_ref().namespace_(), "apps");
  EXPECT_TRUE(policy.spec().policy().has_semver());
  EXPECT_FALSE(policy.spec().policy().has_alphabetical());
  EXPECT_FALSE(policy.spec().policy().has_numerical());
  EXPECT_EQ(policy.spec().policy().semver().range(), ">=1.0.0 <2.0.0");
  EXPECT_EQ(policy.spec().filter_tags().pattern(), "^v(?P<version>[0-9.]+)$");
  EXPECT_EQ(policy.spec().filter_tags().extract(), "$version");
  EXPECT_EQ(policy.spec().digest_reflection_policy(), "Always");
  EXPECT_EQ(policy.spec().interval(), "10m");
  EXPECT_TRUE(policy.spec().suspend());
  EXPECT_EQ(policy.spec().min_age(), "30m");
  EXPECT_THAT(set.objects[1].warnings, IsEmpty());

  // ImageUpdateAutomation.
  ASSERT_TRUE(
      std::holds_alternative<v1::ImageUpdateAutomation>(set.objects[2].object));
  const auto& automation =
      std::get<v1::ImageUpdateAutomation>(set.objects[2].object);
  EXPECT_EQ(automation.api_version(), "image.toolkit.fluxcd.io/v1");
  EXPECT_EQ(automation.kind(), "ImageUpdateAutomation");
  EXPECT_EQ(automation.metadata().name(), "app-automation");
  EXPECT_EQ(automation.metadata().namespace_(), "apps");
  const auto& spec = automation.spec();
  EXPECT_EQ(spec.source_ref().api_version(), "source.toolkit.fluxcd.io/v1");
  EXPECT_EQ(spec.source_ref().kind(), "GitRepository");
  EXPECT_EQ(spec.source_ref().name(), "fleet");
  EXPECT_EQ(spec.source_ref().namespace_(), "flux-system");
  EXPECT_EQ(spec.interval(), "30m");
  EXPECT_EQ(spec.git().checkout().ref().branch(), "main");
  EXPECT_EQ(spec.git().commit().author().name(), "fluxbot");
  EXPECT_EQ(spec.git().commit().author().email(), "fluxbot@example.com");
  EXPECT_EQ(spec.git().commit().signing_key().secret_ref().name(),
            "signing-key");
  EXPECT_EQ(spec.git().commit().message_template(),
            "Automated image update\n"
            "\n"
            "{{ range .Changed.Changes -}}\n"
            "- {{ .OldValue }} -> {{ .NewValue }}\n"
            "{{ end -}}\n");
  EXPECT_THAT(
      spec.git().commit().message_template_values(),
      UnorderedElementsAre(Pair("env", "prod"), Pair("ticket", "1234")));
  EXPECT_EQ(spec.git().push().branch(), "image-updates");
  EXPECT_EQ(spec.git().push().refspec(),
            "refs/heads/image-updates:refs/heads/review");
  EXPECT_THAT(spec.git().push().options(),
              UnorderedElementsAre(Pair("merge_request.create", ""),
                                   Pair("ci.skip", "true")));
  EXPECT_THAT(spec.policy_selector().match_labels(),
              UnorderedElementsAre(Pair("automation", "enabled")));
  ASSERT_EQ(spec.policy_selector().match_expressions_size(), 2);
  EXPECT_EQ(spec.policy_selector().match_expressions(0).key(), "tier");
  EXPECT_EQ(spec.policy_selector().match_expressions(0).operator_(), "In");
  EXPECT_THAT(spec.policy_selector().match_expressions(0).values(),
              ElementsAre("frontend", "backend"));
  EXPECT_EQ(spec.policy_selector().match_expressions(1).key(), "legacy");
  EXPECT_EQ(spec.policy_selector().match_expressions(1).operator_(),
            "DoesNotExist");
  EXPECT_THAT(spec.policy_selector().match_expressions(1).values(), IsEmpty());
  EXPECT_EQ(spec.update().path(), "./clusters/prod");
  EXPECT_EQ(spec.update().strategy(), "Setters");
  EXPECT_TRUE(spec.suspend());

  // GitRepository.
  ASSERT_TRUE(std::holds_alternative<v1::GitRepository>(set.objects[3].object));
  const auto& git = std::get<v1::GitRepository>(set.objects[3].object);
  EXPECT_EQ(git.api_version(), "source.toolkit.fluxcd.io/v1");
  EXPECT_EQ(git.kind(), "GitRepository");
  EXPECT_EQ(git.metadata().name(), "fleet");
  EXPECT_EQ(git.metadata().namespace_(), "flux-system");
  EXPECT_EQ(git.spec().url(), "ssh://git@github.com/example/fleet.git");
  EXPECT_EQ(git.spec().secret_ref().name(), "fleet-ssh");
  EXPECT_EQ(git.spec().interval(), "1m");
  EXPECT_EQ(git.spec().timeout(), "2m");
  EXPECT_EQ(git.spec().ref().branch(), "main");
  EXPECT_EQ(git.spec().ref().tag(), "v1.0.0");
  EXPECT_EQ(git.spec().ref().semver(), ">=1.0.0");
  EXPECT_EQ(git.spec().ref().name(), "refs/heads/main");
  EXPECT_EQ(git.spec().ref().commit(),
            "0123456789abcdef0123456789abcdef01234567");
  EXPECT_TRUE(git.spec().suspend());
  EXPECT_EQ(git.spec().proxy_secret_ref().name(), "corp-proxy");
  EXPECT_EQ(git.spec().provider(), "generic");
}

TEST(ManifestParse, ReadsEveryFieldOfEveryKindInV1) {
  ExpectFullObjects(
      ParseManifests(ReadTestFile("full-v1.yaml"), "full-v1.yaml"),
      "full-v1.yaml");
}

TEST(ManifestParse, ReadsEveryFieldOfEveryKindInV1beta2) {
  ExpectFullObjects(
      ParseManifests(ReadTestFile("full-v1beta2.yaml"), "full-v1beta2.yaml"),
      "full-v1beta2.yaml");
}

TEST(ManifestParse, V1beta2AndV1GiveTheSameObjects) {
  const ManifestSet v1 = ParseManifests(ReadTestFile("full-v1.yaml"), "a");
  const ManifestSet v1beta2 =
      ParseManifests(ReadTestFile("full-v1beta2.yaml"), "b");
  ASSERT_EQ(v1.objects.size(), v1beta2.objects.size());
  for (size_t i = 0; i < v1.objects.size(); ++i) {
    EXPECT_TRUE(Equal(v1.objects[i].object, v1beta2.objects[i].object))
        << ToYaml(v1.objects[i].object) << "\n"
        << ToYaml(v1beta2.objects[i].object);
  }
}

TEST(ManifestParse, ReadsTheSeedExample) {
  const ManifestSet set =
      ParseManifests(ReadTestFile("seed.yaml"), "seed.yaml");
  ASSERT_THAT(Messages(set), IsEmpty());
  ASSERT_EQ(set.objects.size(), 5u);
  const auto& repo = std::get<v1::ImageRepository>(set.objects[0].object);
  EXPECT_EQ(KeyOf(repo.metadata()), "flux-system/my-app");
  EXPECT_EQ(repo.spec().image(), "docker.io/myorg/my-app");
  EXPECT_EQ(repo.spec().interval(), "1m");
  EXPECT_EQ(repo.spec().secret_ref().name(), "registry-credentials");
  EXPECT_THAT(repo.spec().exclusion_list(), ElementsAre("^.*\\.sig$"));
  EXPECT_EQ(repo.spec().provider(), "generic");

  const auto& policy = std::get<v1::ImagePolicy>(set.objects[1].object);
  EXPECT_EQ(policy.spec().image_repository_ref().name(), "my-app");
  EXPECT_EQ(policy.spec().policy().semver().range(), ">=1.0.0 <2.0.0");
  EXPECT_EQ(policy.spec().digest_reflection_policy(), "Never");

  const auto& automation =
      std::get<v1::ImageUpdateAutomation>(set.objects[2].object);
  EXPECT_EQ(automation.spec().interval(), "1m");
  EXPECT_EQ(automation.spec().source_ref().kind(), "GitRepository");
  EXPECT_EQ(automation.spec().source_ref().name(), "flux-system");
  EXPECT_EQ(automation.spec().git().checkout().ref().branch(), "main");
  EXPECT_EQ(automation.spec().git().commit().author().name(), "fluxbot");
  EXPECT_EQ(automation.spec().git().commit().author().email(),
            "flux@example.com");
  EXPECT_THAT(automation.spec().git().commit().message_template(),
              AllOf(StartsWith("Automated image update\n\nAutomation: {{ "
                               ".AutomationObject }}\n"),
                    HasSubstr("\n  {{ range $_, $change := $changes -}}\n"),
                    testing::EndsWith("{{ end -}}\n")));
  EXPECT_EQ(automation.spec().git().push().branch(), "main");
  EXPECT_EQ(automation.spec().update().path(), "./clusters/my-cluster");
  EXPECT_EQ(automation.spec().update().strategy(), "Setters");

  const auto& ecr = std::get<v1::ImageRepository>(set.objects[3].object);
  EXPECT_EQ(ecr.spec().image(),
            "123456789.dkr.ecr.us-east-1.amazonaws.com/my-app");
  EXPECT_EQ(ecr.spec().provider(), "aws");

  const auto& numerical = std::get<v1::ImagePolicy>(set.objects[4].object);
  EXPECT_EQ(numerical.spec().filter_tags().pattern(),
            "^main-[a-f0-9]+-(?P<ts>[0-9]+)");
  EXPECT_EQ(numerical.spec().filter_tags().extract(), "$ts");
  EXPECT_EQ(numerical.spec().policy().numerical().order(), "asc");
}

TEST(ManifestParse, FillsDefaults) {
  const auto repo = ParseOne<v1::ImageRepository>(kRepo);
  EXPECT_EQ(repo.metadata().namespace_(), "flux-system");
  EXPECT_THAT(repo.spec().exclusion_list(), ElementsAre("^.*\\.sig$"));
  EXPECT_EQ(repo.spec().provider(), "generic");
}

TEST(ManifestParse, KeepsTheTextOfScalarsForStringFields) {
  const auto policy = ParseOne<v1::ImagePolicy>(R"(
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: app
  labels: {version: 1.10, enabled: true, count: 010, nothing: ~, none: null}
  annotations: {when: 2024-05-01}
spec:
  imageRepositoryRef: {name: app}
  policy: {semver: {range: 1.2}}
  filterTags: {pattern: 1.0, extract: "$0"}
)");
  EXPECT_EQ(policy.spec().policy().semver().range(), "1.2");
  EXPECT_EQ(policy.spec().filter_tags().pattern(), "1.0");
  EXPECT_THAT(policy.metadata().labels(),
              UnorderedElementsAre(
                  Pair("version", "1.10"), Pair("enabled", "true"),
                  Pair("count", "010"), Pair("nothing", ""), Pair("none", "")));
  EXPECT_THAT(policy.metadata().annotations(),
              UnorderedElementsAre(Pair("when", "2024-05-01")));
}

TEST(ManifestParse, NullMeansNotSet) {
  const auto repo = ParseOne<v1::ImageRepository>(R"(
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: app
  namespace:
spec:
  image: nginx
  interval: 1m
  secretRef: null
  exclusionList: ~
  suspend:
)");
  EXPECT_EQ(repo.metadata().namespace_(), "flux-system");
  EXPECT_FALSE(repo.spec().has_secret_ref());
  EXPECT_THAT(repo.spec().exclusion_list(), ElementsAre("^.*\\.sig$"));
}

TEST(ManifestParse, EmptyMappingSelectsAPolicy) {
  const auto policy = ParseOne<v1::ImagePolicy>(R"(
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {name: app}
spec:
  imageRepositoryRef: {name: app}
  policy:
    alphabetical: {}
)");
  EXPECT_TRUE(policy.spec().policy().has_alphabetical());
  EXPECT_EQ(policy.spec().policy().alphabetical().order(), "asc");
}

TEST(ManifestParse, ReadsBoolsAsYamlWritesThem) {
  for (const char* text : {"true", "True", "TRUE"}) {
    const auto repo = ParseOne<v1::ImageRepository>(
        absl::StrCat(kRepo, "  suspend: ", text, "\n"));
    EXPECT_TRUE(repo.spec().suspend()) << text;
  }
  const auto repo =
      ParseOne<v1::ImageRepository>(absl::StrCat(kRepo, "  insecure: false\n"));
  EXPECT_FALSE(repo.spec().insecure());
}

TEST(ManifestParse, SkipsEmptyDocuments) {
  const ManifestSet set = ParseManifests(
      absl::StrCat("---\n# only a comment\n---\n", kRepo, "---\n---\n"), "x");
  EXPECT_THAT(Messages(set), IsEmpty());
  EXPECT_EQ(set.objects.size(), 1u);
  EXPECT_EQ(set.objects[0].source, "x:4");
  EXPECT_THAT(ParseManifests("", "x").objects, IsEmpty());
  EXPECT_THAT(ParseManifests("", "x").errors, IsEmpty());
}

TEST(ManifestParse, ReadsAKubectlList) {
  const ManifestSet set = ParseManifests(R"(
apiVersion: v1
kind: List
items:
  - apiVersion: image.toolkit.fluxcd.io/v1
    kind: ImageRepository
    metadata: {name: a}
    spec: {image: nginx, interval: 1m}
  - apiVersion: image.toolkit.fluxcd.io/v1
    kind: ImageRepository
    metadata: {name: b}
    spec: {image: nginx, interval: 1x}
)",
                                         "list.yaml");
  ASSERT_EQ(set.objects.size(), 1u);
  EXPECT_EQ(MetaOf(set.objects[0].object).name(), "a");
  EXPECT_EQ(set.objects[0].source, "list.yaml:5");
  EXPECT_THAT(Messages(set),
              ElementsAre("list.yaml:12: ImageRepository flux-system/b: "
                          "spec.interval: invalid duration \"1x\": unknown "
                          "unit \"x\" (use ms, s, m or h)"));
}

// ---------------------------------------------------------------------------
// Fields we ignore.

TEST(ManifestParse, IgnoresStatusServerFieldsAndWarnsOnUnsupportedFields) {
  const ManifestSet set =
      ParseManifests(ReadTestFile("flux-extras.yaml"), "flux-extras.yaml");
  ASSERT_THAT(Messages(set), IsEmpty());
  ASSERT_EQ(set.objects.size(), 2u);
  const auto& git = std::get<v1::GitRepository>(set.objects[0].object);
  EXPECT_EQ(git.metadata().uid(), "");
  EXPECT_EQ(git.metadata().generation(), 0);
  EXPECT_FALSE(git.metadata().has_creation_timestamp());
  EXPECT_FALSE(git.has_status());
  EXPECT_EQ(git.spec().url(), "https://github.com/example/fleet");
  EXPECT_THAT(set.objects[0].warnings,
              ElementsAre("spec.verify is not supported and is ignored",
                          "spec.ignore is not supported and is ignored",
                          "spec.include is not supported and is ignored",
                          "spec.recurseSubmodules is not supported and is "
                          "ignored",
                          "spec.sparseCheckout is not supported and is "
                          "ignored"));
  const auto& automation =
      std::get<v1::ImageUpdateAutomation>(set.objects[1].object);
  EXPECT_EQ(automation.spec().git().commit().signing_key().secret_ref().name(),
            "gpg-key");
  // signingKey.type is read (gpg or ssh), not ignored.
  EXPECT_EQ(automation.spec().git().commit().signing_key().type(), "gpg");
  EXPECT_THAT(set.objects[1].warnings, IsEmpty());
}

TEST(ManifestParse, WarnsOnOtherUnsupportedGitRepositoryFields) {
  const ManifestSet set = ParseManifests(R"(
apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: GitRepository
metadata:
  name: fleet
  generateName: fleet-
spec:
  url: https://github.com/example/fleet
  serviceAccountName: sa
  gitImplementation: go-git
  accessFrom: {namespaceSelectors: [{matchLabels: {a: b}}]}
)",
                                         "x");
  ASSERT_THAT(Messages(set), IsEmpty());
  ASSERT_EQ(set.objects.size(), 1u);
  EXPECT_THAT(set.objects[0].warnings,
              ElementsAre(HasSubstr("metadata.generateName"),
                          HasSubstr("spec.serviceAccountName"),
                          HasSubstr("spec.gitImplementation"),
                          HasSubstr("spec.accessFrom")));
}

// ---------------------------------------------------------------------------
// Errors.

TEST(ManifestErrors, UnknownFieldNamesSourceLineObjectAndField) {
  EXPECT_EQ(ErrorOf(R"(apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: app
spec:
  image: nginx
  intervall: 1m
)"),
            "test.yaml:7: ImageRepository flux-system/app: spec.intervall: "
            "unknown field (did you mean \"interval\"?)");
  EXPECT_EQ(ErrorOf(R"(apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: app
  namespace: apps
spec:
  imageRepositoryRef: {name: app}
  policy:
    semver:
      range: "1.x"
      ordering: asc
)"),
            "test.yaml:11: ImagePolicy apps/app: spec.policy.semver.ordering: "
            "unknown field");
  EXPECT_THAT(ErrorOf(absl::StrCat(kRepo, "  exclusionlist: [a]\n")),
              HasSubstr("spec.exclusionlist: unknown field (did you mean "
                        "\"exclusionList\"?)"));
  EXPECT_THAT(ErrorOf(absl::StrCat(kRepo, "extra: 1\n")),
              HasSubstr("test.yaml:8: ImageRepository flux-system/app: extra: "
                        "unknown field"));
}

TEST(ManifestErrors, WrongShapes) {
  EXPECT_EQ(ErrorOf(absl::StrCat(kRepo, "  exclusionList: \"^a$\"\n")),
            "test.yaml:8: ImageRepository flux-system/app: spec.exclusionList: "
            "expected a list, got a scalar");
  EXPECT_EQ(ErrorOf(absl::StrCat(kRepo, "  exclusionList: [\"^a$\", [b]]\n")),
            "test.yaml:8: ImageRepository flux-system/app: "
            "spec.exclusionList[1]: expected a string, got a list");
  EXPECT_EQ(ErrorOf(absl::StrCat(kRepo, "  exclusionList: [a, null]\n")),
            "test.yaml:8: ImageRepository flux-system/app: "
            "spec.exclusionList[1]: must not be null");
  EXPECT_EQ(ErrorOf(absl::StrCat(kRepo, "  suspend: yes\n")),
            "test.yaml:8: ImageRepository flux-system/app: spec.suspend: "
            "expected true or false, got \"yes\"");
  EXPECT_EQ(ErrorOf(absl::StrCat(kRepo, "  suspend: \"true\"\n")),
            "test.yaml:8: ImageRepository flux-system/app: spec.suspend: "
            "expected true or false, got the string \"true\"");
  EXPECT_EQ(ErrorOf(absl::StrCat(kRepo, "  secretRef: creds\n")),
            "test.yaml:8: ImageRepository flux-system/app: spec.secretRef: "
            "expected a mapping, got a scalar");
  EXPECT_EQ(ErrorOf(absl::StrCat(kRepo, "  timeout:\n    name: x\n")),
            "test.yaml:9: ImageRepository flux-system/app: spec.timeout: "
            "expected a string, got a mapping");
  EXPECT_THAT(ErrorOf("apiVersion: image.toolkit.fluxcd.io/v1\n"
                      "kind: ImageRepository\n"
                      "metadata:\n  name: app\n  labels: [a]\n"),
              HasSubstr("metadata.labels: expected a mapping, got a list"));
  EXPECT_THAT(ErrorOf("apiVersion: image.toolkit.fluxcd.io/v1\n"
                      "kind: ImageRepository\n"
                      "metadata:\n  name: app\n  labels: {a: [b]}\n"),
              HasSubstr("metadata.labels.a: expected a string, got a list"));
  EXPECT_THAT(ErrorOf("apiVersion: image.toolkit.fluxcd.io/v1\n"
                      "kind: ImageRepository\nspec: [1]\n"),
              HasSubstr("test.yaml:3: ImageRepository: spec: expected a "
                        "mapping, got a list"));
}

TEST(ManifestErrors, DuplicateFields) {
  EXPECT_EQ(ErrorOf(absl::StrCat(kRepo, "  interval: 2m\n")),
            "test.yaml:8: ImageRepository flux-system/app: spec.interval: "
            "duplicate field");
}

TEST(ManifestErrors, ValidationErrorsPointAtTheField) {
  EXPECT_EQ(ErrorOf(R"(apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: app
spec:
  image: nginx
  interval: 5x
)"),
            "test.yaml:7: ImageRepository flux-system/app: spec.interval: "
            "invalid duration \"5x\": unknown unit \"x\" (use ms, s, m or h)");
  EXPECT_EQ(ErrorOf(absl::StrCat(kRepo,
                                 "  exclusionList:\n    - a\n"
                                 "    - b\n    - \"(\"\n")),
            "test.yaml:11: ImageRepository flux-system/app: "
            "spec.exclusionList[2]: invalid regular expression \"(\": "
            "missing ): (");
  // A missing field points at its closest parent.
  EXPECT_EQ(ErrorOf(R"(apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: app
spec:
  imageRepositoryRef:
    name: app
  policy: {}
)"),
            "test.yaml:8: ImagePolicy flux-system/app: spec.policy: one of "
            "semver, alphabetical, numerical must be set");
  EXPECT_EQ(ErrorOf(R"(apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: app
spec:
  imageRepositoryRef:
    name: app
  policy:
    semver: {range: "1.x"}
    numerical: {order: asc}
)"),
            "test.yaml:8: ImagePolicy flux-system/app: spec.policy: only one "
            "of semver, alphabetical, numerical may be set");
  // And with no parent, at the document.
  EXPECT_EQ(ErrorOf("\n\napiVersion: image.toolkit.fluxcd.io/v1\n"
                    "kind: ImageRepository\nmetadata: {name: app}\n"),
            "test.yaml:3: ImageRepository flux-system/app: spec.image: "
            "required (e.g. \"docker.io/myorg/my-app\")");
  EXPECT_EQ(ErrorOf("apiVersion: image.toolkit.fluxcd.io/v1\n"
                    "kind: ImageRepository\nmetadata: {namespace: x}\n"),
            "test.yaml:3: ImageRepository: metadata.name: required");
}

TEST(ManifestErrors, KindAndApiVersion) {
  EXPECT_EQ(ErrorOf("apiVersion: apps/v1\nkind: Deployment\n"),
            "test.yaml:1: unsupported kind \"Deployment\" (apiVersion "
            "apps/v1); supported: ImageRepository, ImagePolicy, "
            "ImageUpdateAutomation (image.toolkit.fluxcd.io/v1, v1beta2, "
            "v1beta1) and GitRepository (source.toolkit.fluxcd.io/v1, "
            "v1beta2)");
  EXPECT_THAT(ErrorOf("metadata: {name: x}\n"),
              AllOf(StartsWith("test.yaml:1: missing kind (supported: "
                               "ImageRepository"),
                    HasSubstr("GitRepository")));
  EXPECT_EQ(ErrorOf("kind: ImagePolicy\nmetadata: {name: x}\n"),
            "test.yaml:1: ImagePolicy: missing apiVersion (use "
            "image.toolkit.fluxcd.io/v1)");
  EXPECT_THAT(ErrorOf("apiVersion: image.toolkit.fluxcd.io/v2\n"
                      "kind: ImagePolicy\n"),
              StartsWith("test.yaml:1: ImagePolicy: unsupported apiVersion "
                         "\"image.toolkit.fluxcd.io/v2\" (use "
                         "image.toolkit.fluxcd.io/v1, v1beta2, v1beta1)"));
  EXPECT_THAT(ErrorOf("apiVersion: image.toolkit.fluxcd.io/v1\n"
                      "kind: GitRepository\n"),
              StartsWith("test.yaml:1: GitRepository: unsupported apiVersion "
                         "\"image.toolkit.fluxcd.io/v1\" (use "
                         "source.toolkit.fluxcd.io/v1, v1beta2)"));
  EXPECT_THAT(ErrorOf("- a\n- b\n"),
              StartsWith("test.yaml:1: expected an object"));
}

TEST(ManifestErrors, BadDocumentsDoNotHideGoodOnes) {
  const ManifestSet set =
      ParseManifests(ReadTestFile("mixed.yaml"), "mixed.yaml");
  ASSERT_EQ(set.objects.size(), 2u);
  EXPECT_EQ(MetaOf(set.objects[0].object).name(), "good-one");
  EXPECT_EQ(MetaOf(set.objects[1].object).name(), "good-two");
  EXPECT_EQ(set.objects[1].source, "mixed.yaml:36");
  EXPECT_THAT(
      Messages(set),
      ElementsAre("mixed.yaml:16: ImageRepository flux-system/typo: "
                  "spec.intervall: unknown field (did you mean \"interval\"?)",
                  StartsWith("mixed.yaml:19: unsupported kind \"Deployment\""),
                  "mixed.yaml:34: ImagePolicy flux-system/bad-duration: "
                  "spec.interval: invalid duration \"5x\": unknown unit \"x\" "
                  "(use ms, s, m or h)"));
}

TEST(ManifestErrors, SyntaxErrorFailsTheWholeFile) {
  const ManifestSet set =
      ParseManifests(ReadTestFile("syntax-error.yaml"), "syntax-error.yaml");
  EXPECT_THAT(set.objects, IsEmpty());
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_EQ(set.errors[0].code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(set.errors[0].message()),
              testing::MatchesRegex("syntax-error\\.yaml:1[01]: invalid YAML: "
                                    ".+"));
  EXPECT_THAT(Messages(ParseManifests("a: b: c\n", "x.yaml")),
              ElementsAre(StartsWith("x.yaml:1: invalid YAML: ")));
}

// ---------------------------------------------------------------------------
// Files and directories.

TEST(ManifestLoad, ReadsAFile) {
  const ManifestSet set = LoadManifests(kDir + "/seed.yaml");
  EXPECT_THAT(Messages(set), IsEmpty());
  ASSERT_EQ(set.objects.size(), 5u);
  EXPECT_EQ(set.objects[0].source, kDir + "/seed.yaml:2");
}

TEST(ManifestLoad, ReadsADirectoryRecursivelyInPathOrder) {
  const ManifestSet set = LoadManifests(kDir + "/dir");
  EXPECT_THAT(Messages(set), IsEmpty());
  std::vector<std::string> names;
  std::vector<std::string> sources;
  for (const ManifestObject& o : set.objects) {
    names.push_back(MetaOf(o.object).name());
    sources.push_back(o.source);
  }
  // dir/b-repo.yaml, dir/sub/a-repo.yml, dir/z-last/c-repo.YAML; hidden
  // files and folders and readme.txt are skipped.
  EXPECT_THAT(names, ElementsAre("b", "a", "c"));
  EXPECT_THAT(sources, ElementsAre(kDir + "/dir/b-repo.yaml:1",
                                   kDir + "/dir/sub/a-repo.yml:1",
                                   kDir + "/dir/z-last/c-repo.YAML:1"));
}

TEST(ManifestLoad, ReportsErrorsOfEveryFile) {
  const ManifestSet set = LoadManifests(kDir);
  // Only the documents of the files under manifests/ (readback/ holds
  // objects with status that are also valid manifests).
  EXPECT_GE(set.objects.size(), 15u);
  EXPECT_THAT(Messages(set),
              testing::Contains(StartsWith(kDir + "/mixed.yaml:16: ")));
  EXPECT_THAT(Messages(set),
              testing::Contains(StartsWith(kDir + "/syntax-error.yaml:")));
}

TEST(ManifestLoad, NamesAMissingPath) {
  const ManifestSet set = LoadManifests(kDir + "/no-such-file.yaml");
  EXPECT_THAT(set.objects, IsEmpty());
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_EQ(set.errors[0].code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(set.errors[0].message()),
              HasSubstr(kDir + "/no-such-file.yaml"));
}

// ---------------------------------------------------------------------------
// Printing and reading back.

std::vector<std::string> ReadBackFiles() {
  return {"readback/imagerepository.yaml", "readback/imagepolicy.yaml",
          "readback/imageupdateautomation.yaml", "readback/gitrepository.json"};
}

TEST(ManifestReadBack, ReadsStatusAndServerFields) {
  absl::StatusOr<AnyObject> object =
      ObjectFromYaml(ReadTestFile("readback/imagerepository.yaml"));
  ASSERT_TRUE(object.ok()) << object.status();
  const auto& repo = std::get<v1::ImageRepository>(*object);
  EXPECT_EQ(repo.metadata().generation(), 2);
  EXPECT_EQ(Time(repo.metadata().creation_timestamp()), "2024-05-01T12:00:00Z");
  EXPECT_EQ(repo.metadata().uid(), "0b7e6a7e-1f0e-4b7c-9a55-4c7c9d7e8f00");
  ASSERT_EQ(repo.status().conditions_size(), 1);
  const v1::Condition& ready = repo.status().conditions(0);
  EXPECT_EQ(ready.type(), "Ready");
  EXPECT_EQ(ready.status(), "True");
  EXPECT_EQ(ready.observed_generation(), 2);
  EXPECT_EQ(Time(ready.last_transition_time()), "2024-05-01T12:01:00Z");
  EXPECT_EQ(ready.reason(), "Succeeded");
  EXPECT_EQ(ready.message(), "successful scan: found 3 tags");
  EXPECT_EQ(repo.status().observed_generation(), 2);
  EXPECT_EQ(repo.status().canonical_image_name(), "ghcr.io/example/app");
  EXPECT_EQ(repo.status().last_scan_result().revision(), "sha256:5f0c2c1e");
  EXPECT_EQ(repo.status().last_scan_result().tag_count(), 3);
  EXPECT_EQ(Time(repo.status().last_scan_result().scan_time()),
            "2024-05-01T12:01:00.500Z");
  EXPECT_THAT(repo.status().last_scan_result().latest_tags(),
              ElementsAre("1.2.0", "1.10", "true"));
  EXPECT_THAT(repo.status().observed_exclusion_list(),
              ElementsAre("^.*\\.sig$"));
  EXPECT_EQ(repo.status().last_handled_reconcile_at(), "2024-05-01T12:00:30Z");

  object = ObjectFromYaml(ReadTestFile("readback/imageupdateautomation.yaml"));
  ASSERT_TRUE(object.ok()) << object.status();
  const auto& automation = std::get<v1::ImageUpdateAutomation>(*object);
  EXPECT_EQ(Time(automation.status().last_automation_run_time()),
            "2024-05-01T12:00:00Z");
  EXPECT_EQ(automation.status().last_push_commit(),
            "0123456789abcdef0123456789abcdef01234567");
  EXPECT_EQ(Time(automation.status().last_push_time()), "2024-05-01T12:00:01Z");
  EXPECT_EQ(automation.status().observed_generation(), 4);
  ASSERT_EQ(automation.status().observed_policies().count("web"), 1u);
  EXPECT_EQ(automation.status().observed_policies().at("web").tag(), "1.25");
  EXPECT_EQ(automation.status().observed_policies().at("web").digest(),
            "sha256:abc");
  EXPECT_EQ(automation.status().observed_policies().at("app").name(),
            "ghcr.io/example/app");
  EXPECT_EQ(automation.status().observed_source_revision(),
            "main@sha1:0123456789abcdef0123456789abcdef01234567");
  // Not validated, so no defaults either.
  EXPECT_EQ(automation.spec().update().path(), "");

  object = ObjectFromYaml(ReadTestFile("readback/imagepolicy.yaml"));
  ASSERT_TRUE(object.ok()) << object.status();
  const auto& policy = std::get<v1::ImagePolicy>(*object);
  EXPECT_EQ(policy.status().latest_ref().name(), "ghcr.io/example/app");
  EXPECT_EQ(policy.status().latest_ref().tag(), "1.10");
  EXPECT_EQ(policy.status().latest_ref().digest(), "sha256:0123456789abcdef");
  EXPECT_EQ(policy.status().observed_previous_ref().tag(), "1.9");
  EXPECT_EQ(policy.status().conditions(0).message(),
            "the image repository is not ready:\nno scan yet\n");

  object = ObjectFromYaml(ReadTestFile("readback/gitrepository.json"));
  ASSERT_TRUE(object.ok()) << object.status();
  const auto& git = std::get<v1::GitRepository>(*object);
  EXPECT_EQ(git.spec().url(), "git@github.com:example/fleet.git");
  EXPECT_EQ(git.status().conditions(0).message(), "stored \xC3\xA9 \"quoted\"");
  EXPECT_EQ(git.status().observed_revision(),
            "main@sha1:0123456789abcdef0123456789abcdef01234567");
}

TEST(ManifestReadBack, RoundTripsThroughYamlAndJson) {
  std::vector<AnyObject> objects;
  for (const std::string& file : ReadBackFiles()) {
    absl::StatusOr<AnyObject> object = ObjectFromYaml(ReadTestFile(file));
    ASSERT_TRUE(object.ok()) << file << ": " << object.status();
    objects.push_back(*std::move(object));
  }
  for (const char* file : {"full-v1.yaml", "seed.yaml", "flux-extras.yaml"}) {
    for (ManifestObject& o : ParseManifests(ReadTestFile(file), file).objects) {
      objects.push_back(std::move(o.object));
    }
  }
  ASSERT_EQ(objects.size(), 4u + 4u + 5u + 2u);
  for (const AnyObject& object : objects) {
    const std::string yaml = ToYaml(object);
    absl::StatusOr<AnyObject> from_yaml = ObjectFromYaml(yaml);
    ASSERT_TRUE(from_yaml.ok()) << from_yaml.status() << "\n" << yaml;
    EXPECT_TRUE(Equal(object, *from_yaml)) << yaml;

    const std::string json = ToJson(object);
    absl::StatusOr<AnyObject> from_json = ObjectFromYaml(json);
    ASSERT_TRUE(from_json.ok()) << from_json.status() << "\n" << json;
    EXPECT_TRUE(Equal(object, *from_json)) << json;
  }
}

TEST(ManifestReadBack, RoundTripsAwkwardStrings) {
  const std::vector<std::string> strings = {"",
                                            " ",
                                            "1.10",
                                            "true",
                                            "null",
                                            "~",
                                            "yes",
                                            "0x1F",
                                            "1e3",
                                            ".inf",
                                            "2024-05-01",
                                            "12:30",
                                            "a: b",
                                            "a #b",
                                            "#a",
                                            "- a",
                                            "*a",
                                            "&a",
                                            "!a",
                                            "%a",
                                            "@a",
                                            "`a",
                                            "'a'",
                                            "\"a\"",
                                            "{a}",
                                            "[a]",
                                            "a,b",
                                            "?",
                                            ":",
                                            " lead",
                                            "trail ",
                                            "tab\tin",
                                            "\ttab",
                                            "line\n",
                                            "two\nlines",
                                            "two\nlines\n",
                                            "trailing\n\n",
                                            "\nleading newline\n",
                                            "  indented\nx\n",
                                            "spaces at end  \nx\n",
                                            "cr\r\nlf\n",
                                            "ctrl\x01",
                                            "del\x7f",
                                            "caf\xC3\xA9",
                                            "\xE2\x9C\x93 check",
                                            "back\\slash",
                                            "{{ .Values.x }}",
                                            "$imagepolicy",
                                            "a\n  b\n\tc\n"};
  for (const std::string& s : strings) {
    v1::ImageUpdateAutomation automation;
    automation.set_kind("ImageUpdateAutomation");
    automation.mutable_metadata()->set_name("x");
    automation.mutable_spec()
        ->mutable_git()
        ->mutable_commit()
        ->set_message_template(s);
    (*automation.mutable_spec()
          ->mutable_git()
          ->mutable_commit()
          ->mutable_message_template_values())[s.empty() ? "k" : s] = s;
    automation.mutable_status()->set_last_push_commit(s);
    const AnyObject object = automation;
    const std::string yaml = ToYaml(object);
    absl::StatusOr<AnyObject> back = ObjectFromYaml(yaml);
    ASSERT_TRUE(back.ok()) << back.status() << "\n" << yaml;
    EXPECT_TRUE(Equal(object, *back)) << yaml;
    const std::string json = ToJson(object);
    back = ObjectFromYaml(json);
    ASSERT_TRUE(back.ok()) << back.status() << "\n" << json;
    EXPECT_TRUE(Equal(object, *back)) << json;
  }
}

TEST(ManifestPrint, YamlHasKubectlShape) {
  const auto repo = ParseOne<v1::ImageRepository>(kRepo);
  EXPECT_EQ(ToYaml(repo),
            "apiVersion: image.toolkit.fluxcd.io/v1\n"
            "kind: ImageRepository\n"
            "metadata:\n"
            "  name: app\n"
            "  namespace: flux-system\n"
            "spec:\n"
            "  image: nginx\n"
            "  interval: 1m\n"
            "  exclusionList:\n"
            "    - ^.*\\.sig$\n"
            "  provider: generic\n");
}

TEST(ManifestPrint, QuotesStringsThatWouldReadAsOtherTypes) {
  absl::StatusOr<AnyObject> object =
      ObjectFromYaml(ReadTestFile("readback/imagerepository.yaml"));
  ASSERT_TRUE(object.ok());
  const std::string yaml = ToYaml(*object);
  EXPECT_THAT(yaml, HasSubstr("version: \"1.10\"\n"));
  EXPECT_THAT(yaml, HasSubstr("- \"1.10\"\n"));
  EXPECT_THAT(yaml, HasSubstr("- \"true\"\n"));
  EXPECT_THAT(yaml, HasSubstr("- 1.2.0\n"));
  EXPECT_THAT(yaml, HasSubstr("status: \"True\"\n"));
  EXPECT_THAT(yaml, HasSubstr("tagCount: 3\n"));
  EXPECT_THAT(yaml, HasSubstr("generation: 2\n"));
  // Timestamps are quoted, as kubectl prints them.
  EXPECT_THAT(yaml, HasSubstr("scanTime: \"2024-05-01T12:01:00.500Z\"\n"));
  EXPECT_THAT(yaml, HasSubstr("message: \"successful scan: found 3 tags\"\n"));
  // Parsed as YAML by another reader, the values keep their types.
  const YAML::Node node = YAML::Load(yaml);
  EXPECT_EQ(node["metadata"]["labels"]["version"].Tag(), "!");
  EXPECT_EQ(node["status"]["lastScanResult"]["tagCount"].as<int>(), 3);
}

TEST(ManifestPrint, WritesMultiLineTemplatesAsLiteralBlocks) {
  const ManifestSet set =
      ParseManifests(ReadTestFile("seed.yaml"), "seed.yaml");
  ASSERT_EQ(set.objects.size(), 5u);
  const std::string yaml = ToYaml(set.objects[2].object);
  EXPECT_THAT(yaml, HasSubstr("      messageTemplate: |\n"
                              "        Automated image update\n"
                              "\n"
                              "        Automation: {{ .AutomationObject }}\n"));
}

TEST(ManifestPrint, PrintsEmptyMessagesThatAreSet) {
  absl::StatusOr<AnyObject> object =
      ObjectFromYaml(ReadTestFile("readback/imagepolicy.yaml"));
  ASSERT_TRUE(object.ok());
  EXPECT_THAT(ToYaml(*object), HasSubstr("  policy:\n    alphabetical: {}\n"));
  const nlohmann::json json = nlohmann::json::parse(ToJson(*object));
  EXPECT_TRUE(json["spec"]["policy"]["alphabetical"].is_object());
  EXPECT_TRUE(json["spec"]["policy"]["alphabetical"].empty());
  EXPECT_FALSE(json["spec"]["policy"].contains("semver"));
}

TEST(ManifestPrint, JsonHasFluxNamesOrderAndTypes) {
  absl::StatusOr<AnyObject> object =
      ObjectFromYaml(ReadTestFile("readback/imagerepository.yaml"));
  ASSERT_TRUE(object.ok());
  const std::string text = ToJson(*object);
  const nlohmann::ordered_json json = nlohmann::ordered_json::parse(text);
  std::vector<std::string> keys;
  for (const auto& [key, value] : json.items()) keys.push_back(key);
  EXPECT_THAT(keys,
              ElementsAre("apiVersion", "kind", "metadata", "spec", "status"));
  EXPECT_EQ(json["status"]["lastScanResult"]["tagCount"], 3);
  EXPECT_TRUE(json["metadata"]["generation"].is_number_integer());
  EXPECT_EQ(json["status"]["lastScanResult"]["scanTime"],
            "2024-05-01T12:01:00.500Z");
  EXPECT_EQ(json["status"]["canonicalImageName"], "ghcr.io/example/app");
  EXPECT_FALSE(json["spec"].contains("suspend"));    // false: omitted.
  EXPECT_FALSE(json["spec"].contains("timeout"));    // "": omitted.
  EXPECT_FALSE(json["spec"].contains("secretRef"));  // unset: omitted.
  EXPECT_THAT(text, StartsWith("{\n  \"apiVersion\": "));

  // tagCount is printed even when 0, as Flux does.
  auto repo = std::get<v1::ImageRepository>(*object);
  repo.mutable_status()->mutable_last_scan_result()->set_tag_count(0);
  EXPECT_EQ(nlohmann::json::parse(
                ToJson(repo))["status"]["lastScanResult"]["tagCount"],
            0);
}

TEST(ManifestPrint, SortsMapKeys) {
  v1::ImageRepository repo;
  (*repo.mutable_metadata()->mutable_labels())["zeta"] = "1";
  (*repo.mutable_metadata()->mutable_labels())["alpha"] = "2";
  (*repo.mutable_metadata()->mutable_labels())["mid"] = "3";
  EXPECT_THAT(ToYaml(repo),
              HasSubstr("  labels:\n    alpha: \"2\"\n    mid: \"3\"\n    "
                        "zeta: \"1\"\n"));
}

TEST(ManifestReadBack, Errors) {
  EXPECT_THAT(std::string(ObjectFromYaml("").status().message()),
              HasSubstr("expected exactly one object, got 0"));
  EXPECT_THAT(std::string(ObjectFromYaml(absl::StrCat(kRepo, "---\n", kRepo))
                              .status()
                              .message()),
              HasSubstr("expected exactly one object, got 2"));
  EXPECT_THAT(
      std::string(
          ObjectFromYaml("apiVersion: v1\nkind: Secret\n").status().message()),
      HasSubstr("unsupported kind \"Secret\""));
  EXPECT_THAT(std::string(ObjectFromYaml("{\"kind\": \"ImagePolicy\", "
                                         "\"spec\": {\"bogus\": 1}}")
                              .status()
                              .message()),
              HasSubstr("line 1: ImagePolicy: spec.bogus: unknown field"));
  EXPECT_THAT(std::string(ObjectFromYaml("kind: ImageRepository\nstatus:\n"
                                         "  observedGeneration: many\n")
                              .status()
                              .message()),
              HasSubstr("line 3: ImageRepository: status.observedGeneration: "
                        "expected an integer, got \"many\""));
  EXPECT_THAT(std::string(ObjectFromYaml("kind: ImageRepository\nstatus:\n"
                                         "  lastScanResult:\n"
                                         "    scanTime: yesterday\n")
                              .status()
                              .message()),
              HasSubstr("status.lastScanResult.scanTime: expected an RFC 3339 "
                        "time"));
  EXPECT_THAT(std::string(ObjectFromYaml("kind: [\n").status().message()),
              HasSubstr("invalid YAML"));
}

TEST(ManifestReadBack, IgnoresKubernetesServerFieldsWeDoNotModel) {
  absl::StatusOr<AnyObject> object = ObjectFromYaml(R"(
kind: ImagePolicy
metadata:
  name: p
  resourceVersion: "5"
  managedFields: [{manager: x}]
  generation: 7
)");
  ASSERT_TRUE(object.ok()) << object.status();
  EXPECT_EQ(MetaOf(*object).generation(), 7);
}

}  // namespace
}  // namespace ia
