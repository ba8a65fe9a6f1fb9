#include "common/validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"

namespace ia {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

template <typename T>
T FromText(const std::string& text) {
  T message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message))
      << text;
  return message;
}

v1::ImageRepository ValidRepository() {
  return FromText<v1::ImageRepository>(R"pb(
    metadata { name: "app" }
    spec { image: "ghcr.io/example/app" interval: "5m" }
  )pb");
}

v1::ImagePolicy ValidPolicy() {
  return FromText<v1::ImagePolicy>(R"pb(
    metadata { name: "app" }
    spec {
      image_repository_ref { name: "app" }
      policy { semver { range: ">=1.0.0" } }
    }
  )pb");
}

v1::ImageUpdateAutomation ValidAutomation() {
  return FromText<v1::ImageUpdateAutomation>(R"pb(
    metadata { name: "auto" }
    spec {
      source_ref { name: "fleet" }
      interval: "1m"
      git { commit { author { email: "bot@example.com" } } }
    }
  )pb");
}

v1::GitRepository ValidGitRepository() {
  return FromText<v1::GitRepository>(R"pb(
    metadata { name: "fleet" }
    spec { url: "https://github.com/example/fleet" }
  )pb");
}

// The error of validating `object`, which must fail.
template <typename T>
std::string ErrorOf(T object) {
  const absl::Status status = ValidateAndDefault(&object);
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  return std::string(status.message());
}

// The path payload of validating `object`, which must fail.
template <typename T>
std::string PathOf(T object) {
  return FieldPathOf(ValidateAndDefault(&object));
}

// ---------------------------------------------------------------------------
// Names, metadata, type.

TEST(ValidationNames, AcceptsKubernetesNames) {
  EXPECT_TRUE(ValidateObjectName("flux-system", "app").ok());
  EXPECT_TRUE(ValidateObjectName("", "app").ok());
  EXPECT_TRUE(ValidateObjectName("a", "my-app.v2").ok());
  // Kubernetes limits a subdomain to 253 characters, not its labels to 63.
  EXPECT_TRUE(ValidateObjectName("x", std::string(253, 'a')).ok());
  EXPECT_TRUE(ValidateObjectName(std::string(63, 'n'), "a").ok());
}

TEST(ValidationNames, RejectsBadNamesWithTheField) {
  EXPECT_EQ(ValidateObjectName("ns", "").message(), "metadata.name: required");
  EXPECT_THAT(std::string(ValidateObjectName("ns", "My_App").message()),
              AllOf(StartsWith("metadata.name: \"My_App\" is not a valid "
                               "name: "),
                    HasSubstr("lower case")));
  EXPECT_THAT(std::string(ValidateObjectName("ns", "-app").message()),
              HasSubstr("must start and end"));
  EXPECT_THAT(std::string(ValidateObjectName("ns", "a..b").message()),
              HasSubstr("\"..\""));
  EXPECT_THAT(
      std::string(ValidateObjectName("ns", std::string(254, 'a')).message()),
      HasSubstr("at most 253"));
  EXPECT_THAT(std::string(ValidateObjectName("my.ns", "app").message()),
              StartsWith("metadata.namespace: \"my.ns\" is not a valid "
                         "namespace: "));
  EXPECT_THAT(
      std::string(ValidateObjectName(std::string(64, 'n'), "app").message()),
      HasSubstr("at most 63"));
  EXPECT_EQ(FieldPathOf(ValidateObjectName("BAD", "app")),
            "metadata.namespace");
}

TEST(ValidationMetadata, DefaultsNamespaceApiVersionAndKind) {
  v1::ImageRepository repo = ValidRepository();
  repo.set_api_version("image.toolkit.fluxcd.io/v1beta2");
  ASSERT_TRUE(ValidateAndDefault(&repo).ok());
  EXPECT_EQ(repo.metadata().namespace_(), "flux-system");
  EXPECT_EQ(repo.api_version(), "image.toolkit.fluxcd.io/v1");
  EXPECT_EQ(repo.kind(), "ImageRepository");

  v1::GitRepository git = ValidGitRepository();
  git.set_api_version("source.toolkit.fluxcd.io/v1beta2");
  ASSERT_TRUE(ValidateAndDefault(&git).ok());
  EXPECT_EQ(git.api_version(), "source.toolkit.fluxcd.io/v1");
  EXPECT_EQ(git.kind(), "GitRepository");
}

TEST(ValidationMetadata, NamesTheObjectInEveryMessage) {
  v1::ImageRepository repo = ValidRepository();
  repo.mutable_metadata()->set_namespace_("apps");
  repo.mutable_spec()->set_interval("5x");
  EXPECT_EQ(ErrorOf(repo),
            "ImageRepository apps/app: spec.interval: invalid duration "
            "\"5x\": unknown unit \"x\" (use ms, s, m or h)");
  EXPECT_EQ(PathOf(repo), "spec.interval");
}

TEST(ValidationMetadata, RejectsMissingAndInvalidNames) {
  v1::ImageRepository repo = ValidRepository();
  repo.mutable_metadata()->clear_name();
  EXPECT_EQ(ErrorOf(repo), "ImageRepository: metadata.name: required");
  repo.mutable_metadata()->set_name("App");
  EXPECT_THAT(ErrorOf(repo),
              StartsWith("ImageRepository flux-system/App: metadata.name: "
                         "\"App\" is not a valid name"));
  repo = ValidRepository();
  repo.mutable_metadata()->set_namespace_("Apps");
  EXPECT_THAT(ErrorOf(repo),
              StartsWith("ImageRepository Apps/app: metadata.namespace: "
                         "\"Apps\" is not a valid namespace"));
}

TEST(ValidationMetadata, ChecksLabels) {
  v1::ImageRepository repo = ValidRepository();
  (*repo.mutable_metadata()->mutable_labels())["app.kubernetes.io/name"] = "x";
  (*repo.mutable_metadata()->mutable_labels())["version"] = "1.10";
  (*repo.mutable_metadata()->mutable_labels())["empty"] = "";
  EXPECT_TRUE(ValidateAndDefault(&repo).ok());
  (*repo.mutable_metadata()->mutable_labels())["bad"] = "a b";
  EXPECT_THAT(ErrorOf(repo),
              HasSubstr("metadata.labels.bad: \"a b\" is not a valid label "
                        "value"));
  repo = ValidRepository();
  (*repo.mutable_metadata()->mutable_labels())["-bad"] = "x";
  EXPECT_THAT(ErrorOf(repo),
              HasSubstr("metadata.labels: key \"-bad\" is not a valid label "
                        "key"));
}

TEST(ValidationMetadata, RejectsWrongKindAndApiVersion) {
  v1::ImageRepository repo = ValidRepository();
  repo.set_kind("ImagePolicy");
  EXPECT_EQ(ErrorOf(repo),
            "ImageRepository flux-system/app: kind: \"ImagePolicy\" does not "
            "match ImageRepository");
  repo = ValidRepository();
  repo.set_api_version("source.toolkit.fluxcd.io/v1");
  EXPECT_EQ(ErrorOf(repo),
            "ImageRepository flux-system/app: apiVersion: "
            "\"source.toolkit.fluxcd.io/v1\" is not supported for "
            "ImageRepository (use image.toolkit.fluxcd.io/v1, v1beta2, "
            "v1beta1)");
  v1::GitRepository git = ValidGitRepository();
  git.set_api_version("source.toolkit.fluxcd.io/v1beta1");
  EXPECT_THAT(ErrorOf(git), HasSubstr("apiVersion: "));
}

TEST(ValidationMetadata, StatusIsNotLookedAt) {
  v1::ImageRepository repo = ValidRepository();
  repo.mutable_status()->add_observed_exclusion_list("(");
  repo.mutable_status()->set_canonical_image_name("NOT VALID");
  EXPECT_TRUE(ValidateAndDefault(&repo).ok());
}

// ---------------------------------------------------------------------------
// ImageRepository.

TEST(ValidationImageRepository, FillsDefaults) {
  v1::ImageRepository repo = ValidRepository();
  ASSERT_TRUE(ValidateAndDefault(&repo).ok());
  EXPECT_THAT(repo.spec().exclusion_list(), ElementsAre("^.*\\.sig$"));
  EXPECT_EQ(repo.spec().provider(), "generic");
  EXPECT_EQ(repo.spec().timeout(), "");  // Means "the interval".
}

TEST(ValidationImageRepository, KeepsGivenValues) {
  v1::ImageRepository repo = ValidRepository();
  repo.mutable_spec()->add_exclusion_list("^dev-");
  repo.mutable_spec()->set_image("europe-docker.pkg.dev/project/app");
  repo.mutable_spec()->set_provider("gcp");
  repo.mutable_spec()->set_timeout("90s");
  ASSERT_TRUE(ValidateAndDefault(&repo).ok());
  EXPECT_THAT(repo.spec().exclusion_list(), ElementsAre("^dev-"));
  EXPECT_EQ(repo.spec().provider(), "gcp");
  EXPECT_EQ(repo.spec().timeout(), "90s");
}

TEST(ValidationImageRepository, AcceptsImageNames) {
  for (const char* image :
       {"nginx", "library/nginx", "docker.io/myorg/my-app",
        "registry.local:5000/team/app", "localhost/app", "localhost:5000/app",
        "123456789.dkr.ecr.us-east-1.amazonaws.com/my-app",
        "ghcr.io/org/sub/app_name", "ghcr.io/org/app__x", "ghcr.io/org/a--b",
        "[::1]:5000/app", "Registry.Example.com/app"}) {
    v1::ImageRepository repo = ValidRepository();
    repo.mutable_spec()->set_image(image);
    EXPECT_TRUE(ValidateAndDefault(&repo).ok()) << image;
  }
}

TEST(ValidationImageRepository, RequiresImage) {
  v1::ImageRepository repo = ValidRepository();
  repo.mutable_spec()->clear_image();
  EXPECT_THAT(ErrorOf(repo),
              StartsWith("ImageRepository flux-system/app: spec.image: "
                         "required"));
}

TEST(ValidationImageRepository, RejectsSchemeTagAndDigest) {
  v1::ImageRepository repo = ValidRepository();
  repo.mutable_spec()->set_image("https://ghcr.io/example/app");
  EXPECT_EQ(ErrorOf(repo),
            "ImageRepository flux-system/app: spec.image: "
            "\"https://ghcr.io/example/app\" must not have a scheme: remove "
            "\"https://\"");
  repo.mutable_spec()->set_image("ghcr.io/example/app:1.2.3");
  EXPECT_EQ(ErrorOf(repo),
            "ImageRepository flux-system/app: spec.image: "
            "\"ghcr.io/example/app:1.2.3\" must not have a tag: remove "
            "\":1.2.3\" (the policy selects the tag)");
  repo.mutable_spec()->set_image("registry.local:5000/app:latest");
  EXPECT_THAT(ErrorOf(repo), HasSubstr("must not have a tag: remove "
                                       "\":latest\""));
  repo.mutable_spec()->set_image("nginx:1.25");
  EXPECT_THAT(ErrorOf(repo), HasSubstr("must not have a tag"));
  repo.mutable_spec()->set_image("ghcr.io/example/app@sha256:abcd");
  EXPECT_EQ(ErrorOf(repo),
            "ImageRepository flux-system/app: spec.image: "
            "\"ghcr.io/example/app@sha256:abcd\" must not have a digest: "
            "remove \"@sha256:abcd\" (the policy selects the tag)");
  EXPECT_EQ(PathOf(repo), "spec.image");
}

TEST(ValidationImageRepository, RejectsMalformedImageNames) {
  for (const char* image : {"ghcr.io/Example/app", "ghcr.io//app", "app/",
                            "my app", "ghcr.io/app-", "bad_host.io/app"}) {
    v1::ImageRepository repo = ValidRepository();
    repo.mutable_spec()->set_image(image);
    EXPECT_THAT(ErrorOf(repo), HasSubstr("spec.image: ")) << image;
  }
  v1::ImageRepository repo = ValidRepository();
  repo.mutable_spec()->set_image("ghcr.io/Example/app");
  EXPECT_THAT(ErrorOf(repo),
              HasSubstr("is not a valid image name: \"Example\" must be lower "
                        "case"));
}

TEST(ValidationImageRepository, RequiresPositiveInterval) {
  v1::ImageRepository repo = ValidRepository();
  repo.mutable_spec()->clear_interval();
  EXPECT_THAT(ErrorOf(repo),
              StartsWith("ImageRepository flux-system/app: spec.interval: "
                         "required"));
  repo.mutable_spec()->set_interval("0s");
  EXPECT_EQ(ErrorOf(repo),
            "ImageRepository flux-system/app: spec.interval: invalid "
            "duration \"0s\": must be greater than zero");
  repo.mutable_spec()->set_interval("1d");
  EXPECT_THAT(ErrorOf(repo), HasSubstr("unknown unit \"d\""));
}

TEST(ValidationImageRepository, ChecksTimeoutAsFluxDoes) {
  v1::ImageRepository repo = ValidRepository();
  repo.mutable_spec()->set_timeout("1m30s");
  EXPECT_TRUE(ValidateAndDefault(&repo).ok());
  repo.mutable_spec()->set_timeout("5x");
  EXPECT_THAT(ErrorOf(repo), HasSubstr("spec.timeout: invalid duration "
                                       "\"5x\": unknown unit \"x\""));
  // Flux's CRD pattern for timeouts has no hours.
  repo.mutable_spec()->set_timeout("1h");
  EXPECT_THAT(ErrorOf(repo), HasSubstr("spec.timeout: invalid duration "
                                       "\"1h\": unit \"h\" is not allowed"));
}

TEST(ValidationImageRepository, ChecksSecretRefs) {
  v1::ImageRepository repo = ValidRepository();
  repo.mutable_spec()->mutable_secret_ref();
  EXPECT_EQ(ErrorOf(repo),
            "ImageRepository flux-system/app: spec.secretRef.name: required");
  repo = ValidRepository();
  repo.mutable_spec()->mutable_cert_secret_ref()->set_name("Bad Name");
  EXPECT_THAT(ErrorOf(repo), HasSubstr("spec.certSecretRef.name: \"Bad "
                                       "Name\" is not a valid name"));
  repo = ValidRepository();
  repo.mutable_spec()->mutable_proxy_secret_ref();
  EXPECT_THAT(ErrorOf(repo), HasSubstr("spec.proxySecretRef.name: required"));
}

TEST(ValidationImageRepository, LimitsExclusionListTo25) {
  v1::ImageRepository repo = ValidRepository();
  for (int i = 0; i < 25; ++i) {
    repo.mutable_spec()->add_exclusion_list(absl::StrCat("^x", i, "$"));
  }
  EXPECT_TRUE(ValidateAndDefault(&repo).ok());
  repo.mutable_spec()->add_exclusion_list("^y$");
  EXPECT_EQ(ErrorOf(repo),
            "ImageRepository flux-system/app: spec.exclusionList: at most 25 "
            "entries are allowed, got 26");
}

TEST(ValidationImageRepository, CompilesExclusionsWithRe2) {
  v1::ImageRepository repo = ValidRepository();
  repo.mutable_spec()->add_exclusion_list("^ok$");
  repo.mutable_spec()->add_exclusion_list("^.*\\.sig$");
  repo.mutable_spec()->add_exclusion_list("(unclosed");
  EXPECT_THAT(ErrorOf(repo),
              AllOf(StartsWith("ImageRepository flux-system/app: "
                               "spec.exclusionList[2]: invalid regular "
                               "expression \"(unclosed\": "),
                    HasSubstr("missing )")));
  EXPECT_EQ(PathOf(repo), "spec.exclusionList[2]");
  // A Perl feature Go's regexp (and RE2) do not have.
  repo = ValidRepository();
  repo.mutable_spec()->add_exclusion_list("^(?!dev)");
  EXPECT_THAT(ErrorOf(repo), HasSubstr("spec.exclusionList[0]: invalid "
                                       "regular expression \"^(?!dev)\""));
  repo = ValidRepository();
  repo.mutable_spec()->add_exclusion_list("");
  EXPECT_THAT(ErrorOf(repo), HasSubstr("spec.exclusionList[0]: must not be "
                                       "empty"));
}

TEST(ValidationImageRepository, ChecksProvider) {
  const std::pair<const char*, const char*> matching[] = {
      {"generic", "ghcr.io/org/app"},
      {"aws", "123456789012.dkr.ecr.us-east-1.amazonaws.com/app"},
      {"aws", "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/app"},
      {"aws", "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app"},
      {"aws", "public.ecr.aws/org/app"},
      {"azure", "myacr.azurecr.io/app"},
      {"azure", "myacr.azurecr.cn/app"},
      {"gcp", "gcr.io/project/app"},
      {"gcp", "eu.gcr.io/project/app"},
      {"gcp", "europe-west1-docker.pkg.dev/project/repo/app"},
      {"gcp", "docker.s3nsregistry.fr/project/app"},
  };
  for (const auto& [provider, image] : matching) {
    v1::ImageRepository repo = ValidRepository();
    repo.mutable_spec()->set_provider(provider);
    repo.mutable_spec()->set_image(image);
    EXPECT_TRUE(ValidateAndDefault(&repo).ok()) << provider << " " << image;
  }
  v1::ImageRepository repo = ValidRepository();
  repo.mutable_spec()->set_provider("github");
  EXPECT_EQ(ErrorOf(repo),
            "ImageRepository flux-system/app: spec.provider: \"github\" is not "
            "a valid provider (use generic, aws, azure or gcp)");
}

TEST(ValidationImageRepository, ProviderMustMatchTheHost) {
  const std::pair<const char*, const char*> mismatched[] = {
      {"aws", "ghcr.io/org/app"},
      {"aws", "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.io/app"},
      {"aws", "localhost:5000/app"},
      {"gcp", "gcr.io.evil.io/app"},
      {"gcp", "myacr.azurecr.io/app"},
      {"azure", "azurecr.io/app"},
      {"azure", "123456789012.dkr.ecr.us-east-1.amazonaws.com/app"},
  };
  for (const auto& [provider, image] : mismatched) {
    v1::ImageRepository repo = ValidRepository();
    repo.mutable_spec()->set_provider(provider);
    repo.mutable_spec()->set_image(image);
    EXPECT_THAT(ErrorOf(repo),
                HasSubstr(absl::StrCat("spec.provider: \"", provider,
                                       "\" does not match the host")))
        << image;
  }
  v1::ImageRepository repo = ValidRepository();
  repo.mutable_spec()->set_provider("aws");
  repo.mutable_spec()->set_image("ghcr.io/org/app");
  EXPECT_EQ(ErrorOf(repo),
            "ImageRepository flux-system/app: spec.provider: \"aws\" does not "
            "match the host \"ghcr.io\" of spec.image (aws is for "
            "<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn] (or another "
            "ECR partition) or public.ecr.aws)");
}

TEST(ValidationImageRepository, LimitsServiceAccountName) {
  v1::ImageRepository repo = ValidRepository();
  repo.mutable_spec()->set_service_account_name(std::string(254, 'a'));
  EXPECT_THAT(ErrorOf(repo), HasSubstr("spec.serviceAccountName: must be at "
                                       "most 253 characters"));
}

// ---------------------------------------------------------------------------
// ImagePolicy.

TEST(ValidationImagePolicy, FillsDefaults) {
  v1::ImagePolicy policy = ValidPolicy();
  ASSERT_TRUE(ValidateAndDefault(&policy).ok());
  EXPECT_EQ(policy.spec().digest_reflection_policy(), "Never");
  EXPECT_EQ(policy.spec().interval(), "");

  policy = ValidPolicy();
  policy.mutable_spec()->mutable_policy()->clear_semver();
  policy.mutable_spec()->mutable_policy()->mutable_alphabetical();
  ASSERT_TRUE(ValidateAndDefault(&policy).ok());
  EXPECT_EQ(policy.spec().policy().alphabetical().order(), "asc");

  policy = ValidPolicy();
  policy.mutable_spec()->mutable_policy()->clear_semver();
  policy.mutable_spec()->mutable_policy()->mutable_numerical();
  ASSERT_TRUE(ValidateAndDefault(&policy).ok());
  EXPECT_EQ(policy.spec().policy().numerical().order(), "asc");
}

TEST(ValidationImagePolicy, RequiresImageRepositoryRefName) {
  v1::ImagePolicy policy = ValidPolicy();
  policy.mutable_spec()->clear_image_repository_ref();
  EXPECT_EQ(ErrorOf(policy),
            "ImagePolicy flux-system/app: spec.imageRepositoryRef.name: "
            "required");
  policy = ValidPolicy();
  policy.mutable_spec()->mutable_image_repository_ref()->set_namespace_("A_B");
  EXPECT_THAT(ErrorOf(policy),
              HasSubstr("spec.imageRepositoryRef.namespace: \"A_B\" is not a "
                        "valid namespace"));
}

TEST(ValidationImagePolicy, RequiresExactlyOnePolicy) {
  v1::ImagePolicy policy = ValidPolicy();
  policy.mutable_spec()->clear_policy();
  EXPECT_EQ(ErrorOf(policy),
            "ImagePolicy flux-system/app: spec.policy: one of semver, "
            "alphabetical, numerical must be set");
  policy = ValidPolicy();
  policy.mutable_spec()->mutable_policy()->mutable_numerical();
  EXPECT_EQ(ErrorOf(policy),
            "ImagePolicy flux-system/app: spec.policy: only one of semver, "
            "alphabetical, numerical may be set");
  policy.mutable_spec()->mutable_policy()->clear_semver();
  policy.mutable_spec()->mutable_policy()->mutable_alphabetical();
  EXPECT_THAT(ErrorOf(policy), HasSubstr("only one of"));
}

TEST(ValidationImagePolicy, RequiresSemverRange) {
  v1::ImagePolicy policy = ValidPolicy();
  policy.mutable_spec()->mutable_policy()->mutable_semver()->set_range("  ");
  EXPECT_THAT(ErrorOf(policy),
              StartsWith("ImagePolicy flux-system/app: "
                         "spec.policy.semver.range: required"));
  // Ranges are not parsed here: the policy engine reports bad ones.
  policy.mutable_spec()->mutable_policy()->mutable_semver()->set_range("what");
  EXPECT_TRUE(ValidateAndDefault(&policy).ok());
}

TEST(ValidationImagePolicy, ChecksOrder) {
  v1::ImagePolicy policy = ValidPolicy();
  policy.mutable_spec()->mutable_policy()->clear_semver();
  policy.mutable_spec()->mutable_policy()->mutable_alphabetical()->set_order(
      "desc");
  EXPECT_TRUE(ValidateAndDefault(&policy).ok());
  policy.mutable_spec()->mutable_policy()->mutable_alphabetical()->set_order(
      "ascending");
  EXPECT_EQ(ErrorOf(policy),
            "ImagePolicy flux-system/app: spec.policy.alphabetical.order: "
            "\"ascending\" is not a valid order (use asc or desc)");
  policy = ValidPolicy();
  policy.mutable_spec()->mutable_policy()->clear_semver();
  policy.mutable_spec()->mutable_policy()->mutable_numerical()->set_order(
      "DESC");
  EXPECT_THAT(ErrorOf(policy), HasSubstr("spec.policy.numerical.order: "
                                         "\"DESC\" is not a valid order"));
}

TEST(ValidationImagePolicy, ChecksDigestReflectionPolicy) {
  for (const char* value : {"Never", "IfNotPresent"}) {
    v1::ImagePolicy policy = ValidPolicy();
    policy.mutable_spec()->set_digest_reflection_policy(value);
    EXPECT_TRUE(ValidateAndDefault(&policy).ok()) << value;
  }
  v1::ImagePolicy policy = ValidPolicy();
  policy.mutable_spec()->set_digest_reflection_policy("Sometimes");
  EXPECT_EQ(ErrorOf(policy),
            "ImagePolicy flux-system/app: spec.digestReflectionPolicy: "
            "\"Sometimes\" is not valid (use Never, IfNotPresent or Always)");
}

TEST(ValidationImagePolicy, IntervalOnlyWithAlways) {
  v1::ImagePolicy policy = ValidPolicy();
  policy.mutable_spec()->set_interval("10m");
  EXPECT_EQ(ErrorOf(policy),
            "ImagePolicy flux-system/app: spec.interval: only allowed when "
            "spec.digestReflectionPolicy is Always");
  policy.mutable_spec()->set_digest_reflection_policy("IfNotPresent");
  EXPECT_THAT(ErrorOf(policy), HasSubstr("only allowed when"));
  policy.mutable_spec()->set_digest_reflection_policy("Always");
  EXPECT_TRUE(ValidateAndDefault(&policy).ok());
  policy.mutable_spec()->set_interval("10");
  EXPECT_THAT(ErrorOf(policy), HasSubstr("spec.interval: invalid duration "
                                         "\"10\": missing unit"));
  // Flux's CRD requires the interval with Always.
  policy.mutable_spec()->clear_interval();
  EXPECT_THAT(ErrorOf(policy),
              HasSubstr("spec.interval: required when "
                        "spec.digestReflectionPolicy is Always"));
}

TEST(ValidationImagePolicy, ChecksMinAge) {
  v1::ImagePolicy policy = ValidPolicy();
  policy.mutable_spec()->set_min_age("0s");
  EXPECT_TRUE(ValidateAndDefault(&policy).ok());
  policy.mutable_spec()->set_min_age("2h");
  EXPECT_TRUE(ValidateAndDefault(&policy).ok());
  policy.mutable_spec()->set_min_age("2 days");
  EXPECT_THAT(ErrorOf(policy), HasSubstr("spec.minAge: invalid duration "
                                         "\"2 days\""));
}

// ---------------------------------------------------------------------------
// ImageUpdateAutomation.

TEST(ValidationImageUpdateAutomation, FillsDefaults) {
  v1::ImageUpdateAutomation automation = ValidAutomation();
  ASSERT_TRUE(ValidateAndDefault(&automation).ok());
  EXPECT_EQ(automation.spec().source_ref().kind(), "GitRepository");
  EXPECT_EQ(automation.spec().update().strategy(), "Setters");
  EXPECT_EQ(automation.spec().update().path(), "./");
  EXPECT_EQ(automation.api_version(), "image.toolkit.fluxcd.io/v1");
  EXPECT_EQ(automation.kind(), "ImageUpdateAutomation");
}

TEST(ValidationImageUpdateAutomation, ChecksSourceRef) {
  v1::ImageUpdateAutomation automation = ValidAutomation();
  automation.mutable_spec()->mutable_source_ref()->clear_name();
  EXPECT_EQ(ErrorOf(automation),
            "ImageUpdateAutomation flux-system/auto: spec.sourceRef.name: "
            "required");
  automation = ValidAutomation();
  automation.mutable_spec()->mutable_source_ref()->set_kind("OCIRepository");
  EXPECT_EQ(ErrorOf(automation),
            "ImageUpdateAutomation flux-system/auto: spec.sourceRef.kind: "
            "\"OCIRepository\" is not supported (only GitRepository)");
  automation = ValidAutomation();
  automation.mutable_spec()->mutable_source_ref()->set_api_version(
      "source.toolkit.fluxcd.io/v1beta2");
  EXPECT_TRUE(ValidateAndDefault(&automation).ok());
  automation.mutable_spec()->mutable_source_ref()->set_api_version("v1");
  EXPECT_THAT(ErrorOf(automation),
              HasSubstr("spec.sourceRef.apiVersion: \"v1\" is not supported"));
  automation = ValidAutomation();
  automation.mutable_spec()->mutable_source_ref()->set_namespace_("X");
  EXPECT_THAT(ErrorOf(automation), HasSubstr("spec.sourceRef.namespace: "));
}

TEST(ValidationImageUpdateAutomation, RequiresInterval) {
  v1::ImageUpdateAutomation automation = ValidAutomation();
  automation.mutable_spec()->clear_interval();
  EXPECT_THAT(ErrorOf(automation),
              StartsWith("ImageUpdateAutomation flux-system/auto: "
                         "spec.interval: required"));
  automation.mutable_spec()->set_interval("1w");
  EXPECT_THAT(ErrorOf(automation),
              HasSubstr("spec.interval: invalid duration \"1w\": unknown unit "
                        "\"w\""));
}

TEST(ValidationImageUpdateAutomation, RequiresCommitAuthorEmail) {
  v1::ImageUpdateAutomation automation = ValidAutomation();
  automation.mutable_spec()->clear_git();
  EXPECT_THAT(ErrorOf(automation),
              StartsWith("ImageUpdateAutomation flux-system/auto: spec.git: "
                         "required"));
  automation = ValidAutomation();
  automation.mutable_spec()->mutable_git()->mutable_commit()->clear_author();
  EXPECT_EQ(ErrorOf(automation),
            "ImageUpdateAutomation flux-system/auto: "
            "spec.git.commit.author.email: required");
  automation = ValidAutomation();
  automation.mutable_spec()
      ->mutable_git()
      ->mutable_commit()
      ->mutable_author()
      ->set_name("Bot <x>");
  EXPECT_THAT(ErrorOf(automation),
              HasSubstr("spec.git.commit.author.name: \"Bot <x>\" must not "
                        "contain"));
}

TEST(ValidationImageUpdateAutomation, ChecksSigningKey) {
  v1::ImageUpdateAutomation automation = ValidAutomation();
  automation.mutable_spec()
      ->mutable_git()
      ->mutable_commit()
      ->mutable_signing_key();
  EXPECT_THAT(ErrorOf(automation),
              HasSubstr("spec.git.commit.signingKey.secretRef.name: required"));
}

TEST(ValidationImageUpdateAutomation, ChecksSigningKeyType) {
  v1::ImageUpdateAutomation automation = ValidAutomation();
  auto* key = automation.mutable_spec()
                  ->mutable_git()
                  ->mutable_commit()
                  ->mutable_signing_key();
  key->mutable_secret_ref()->set_name("signing");
  for (const char* type : {"", "gpg", "ssh"}) {
    key->set_type(type);
    v1::ImageUpdateAutomation copy = automation;
    EXPECT_TRUE(ValidateAndDefault(&copy).ok()) << type;
  }
  key->set_type("x509");
  EXPECT_THAT(ErrorOf(automation),
              HasSubstr("spec.git.commit.signingKey.type: \"x509\" must be "
                        "\"gpg\" (OpenPGP, the default) or \"ssh\""));
}

TEST(ValidationImageUpdateAutomation, ChecksCheckoutRef) {
  v1::ImageUpdateAutomation automation = ValidAutomation();
  auto* checkout = automation.mutable_spec()->mutable_git()->mutable_checkout();
  EXPECT_THAT(ErrorOf(automation),
              HasSubstr("spec.git.checkout.ref: one of branch, tag, semver, "
                        "name, commit must be set"));
  checkout->mutable_ref()->set_branch("main");
  EXPECT_TRUE(ValidateAndDefault(&automation).ok());
  checkout->mutable_ref()->set_branch("feature..x");
  EXPECT_EQ(ErrorOf(automation),
            "ImageUpdateAutomation flux-system/auto: "
            "spec.git.checkout.ref.branch: \"feature..x\" is not a valid Git "
            "reference name: contains \"..\"");
}

TEST(ValidationImageUpdateAutomation, ChecksPush) {
  v1::ImageUpdateAutomation automation = ValidAutomation();
  auto* push = automation.mutable_spec()->mutable_git()->mutable_push();
  push->set_branch("image-updates");
  push->set_refspec("refs/heads/image-updates:refs/heads/review");
  (*push->mutable_options())["ci.skip"] = "";
  EXPECT_TRUE(ValidateAndDefault(&automation).ok());
  push->set_refspec("+refs/heads/a:refs/heads/b");
  EXPECT_EQ(ErrorOf(automation),
            "ImageUpdateAutomation flux-system/auto: spec.git.push.refspec: "
            "\"+refs/heads/a:refs/heads/b\" must not start with '+' (force) "
            "or ':' (delete)");
  push->set_refspec(":refs/heads/b");
  EXPECT_THAT(ErrorOf(automation), HasSubstr("spec.git.push.refspec: "));
  push->clear_refspec();
  push->set_branch("has space");
  EXPECT_THAT(ErrorOf(automation),
              HasSubstr("spec.git.push.branch: \"has space\" is not a valid "
                        "Git reference name: contains \" \""));
}

TEST(ValidationImageUpdateAutomation, ChecksUpdate) {
  v1::ImageUpdateAutomation automation = ValidAutomation();
  auto* update = automation.mutable_spec()->mutable_update();
  for (const char* ok : {"./", ".", "clusters/prod", "./a/../b", "a/b/../..",
                         "clusters/my-cluster/"}) {
    update->set_path(ok);
    EXPECT_TRUE(ValidateAndDefault(&automation).ok()) << ok;
  }
  update->set_path("/etc");
  EXPECT_EQ(ErrorOf(automation),
            "ImageUpdateAutomation flux-system/auto: spec.update.path: "
            "\"/etc\" must be relative to the repository root, not absolute");
  for (const char* bad : {"..", "../other", "./a/../../b", "a/../../.."}) {
    update->set_path(bad);
    EXPECT_THAT(ErrorOf(automation),
                HasSubstr(absl::StrCat("spec.update.path: \"", bad,
                                       "\" leaves the repository root")))
        << bad;
  }
  update->set_path("./");
  update->set_strategy("Kustomize");
  EXPECT_EQ(ErrorOf(automation),
            "ImageUpdateAutomation flux-system/auto: spec.update.strategy: "
            "\"Kustomize\" is not supported (only Setters)");
}

TEST(ValidationImageUpdateAutomation, ChecksPolicySelector) {
  v1::ImageUpdateAutomation automation = ValidAutomation();
  auto* selector = automation.mutable_spec()->mutable_policy_selector();
  (*selector->mutable_match_labels())["automation"] = "enabled";
  auto* in = selector->add_match_expressions();
  in->set_key("tier");
  in->set_operator_("In");
  in->add_values("frontend");
  auto* exists = selector->add_match_expressions();
  exists->set_key("legacy");
  exists->set_operator_("DoesNotExist");
  EXPECT_TRUE(ValidateAndDefault(&automation).ok());

  exists->set_operator_("Absent");
  EXPECT_EQ(ErrorOf(automation),
            "ImageUpdateAutomation flux-system/auto: "
            "spec.policySelector.matchExpressions[1].operator: \"Absent\" is "
            "not a valid operator (use In, NotIn, Exists or DoesNotExist)");
  exists->set_operator_("Exists");
  exists->add_values("x");
  EXPECT_THAT(ErrorOf(automation),
              HasSubstr("spec.policySelector.matchExpressions[1].values: must "
                        "be empty for operator Exists"));
  exists->clear_values();
  in->set_operator_("NotIn");
  in->clear_values();
  EXPECT_THAT(ErrorOf(automation),
              HasSubstr("spec.policySelector.matchExpressions[0].values: must "
                        "not be empty for operator NotIn"));
  in->add_values("x");
  in->clear_key();
  EXPECT_THAT(ErrorOf(automation),
              HasSubstr("spec.policySelector.matchExpressions[0].key: "
                        "required"));
  in->set_key("tier");
  in->clear_operator_();
  EXPECT_THAT(ErrorOf(automation),
              HasSubstr("matchExpressions[0].operator: required"));
  in->set_operator_("In");
  (*selector->mutable_match_labels())["automation"] = "not valid!";
  EXPECT_THAT(ErrorOf(automation),
              HasSubstr("spec.policySelector.matchLabels.automation: "));
}

// ---------------------------------------------------------------------------
// GitRepository.

TEST(ValidationGitRepository, FillsDefaults) {
  v1::GitRepository git = ValidGitRepository();
  ASSERT_TRUE(ValidateAndDefault(&git).ok());
  EXPECT_EQ(git.spec().timeout(), "60s");
  EXPECT_EQ(git.spec().interval(), "");
}

TEST(ValidationGitRepository, AcceptsUrls) {
  for (const char* url :
       {"https://github.com/example/fleet", "http://127.0.0.1:8080/git/repo",
        "ssh://git@github.com/example/fleet.git",
        "ssh://git@[::1]:2222/srv/repo.git", "file:///srv/git/repo.git",
        "git@github.com:example/fleet.git", "host:repo.git",
        "HTTPS://github.com/x/y"}) {
    v1::GitRepository git = ValidGitRepository();
    git.mutable_spec()->set_url(url);
    EXPECT_TRUE(ValidateAndDefault(&git).ok()) << url;
  }
}

TEST(ValidationGitRepository, RejectsUrls) {
  v1::GitRepository git = ValidGitRepository();
  git.mutable_spec()->clear_url();
  EXPECT_THAT(ErrorOf(git),
              StartsWith("GitRepository flux-system/fleet: spec.url: "
                         "required"));
  git.mutable_spec()->set_url("ftp://example.com/repo");
  EXPECT_EQ(ErrorOf(git),
            "GitRepository flux-system/fleet: spec.url: "
            "Git URL \"ftp://example.com/repo\" has the unsupported scheme "
            "\"ftp\" (use https://, http://, ssh://[user@]host[:port]/path, "
            "user@host:path or file:///path)");
  git.mutable_spec()->set_url("/srv/git/repo.git");
  EXPECT_THAT(ErrorOf(git), HasSubstr("is not a URL"));
  git.mutable_spec()->set_url("https:///path");
  EXPECT_THAT(ErrorOf(git), HasSubstr("has no host"));
  git.mutable_spec()->set_url("file://");
  EXPECT_THAT(ErrorOf(git), HasSubstr("has no path"));
  git.mutable_spec()->set_url("git@github.com:");
  EXPECT_THAT(ErrorOf(git), HasSubstr("has no path"));
  git.mutable_spec()->set_url("git@:x");
  EXPECT_THAT(ErrorOf(git), HasSubstr("has no host"));
  git.mutable_spec()->set_url("https://github.com/a b");
  EXPECT_THAT(ErrorOf(git), HasSubstr("must not contain spaces"));
  // What the fetch would refuse is refused on Apply already.
  git.mutable_spec()->set_url("file://srv/repo.git");
  EXPECT_THAT(ErrorOf(git), HasSubstr("needs an absolute path"));
  git.mutable_spec()->set_url("https://host:99999/repo.git");
  EXPECT_THAT(ErrorOf(git), HasSubstr("has an invalid port"));
  git.mutable_spec()->set_url("ssh://[::1/repo.git");
  EXPECT_THAT(ErrorOf(git), HasSubstr("has an unclosed '['"));
}

TEST(ValidationGitRepository, ChecksDurations) {
  v1::GitRepository git = ValidGitRepository();
  git.mutable_spec()->set_interval("1m");
  git.mutable_spec()->set_timeout("2m30s");
  EXPECT_TRUE(ValidateAndDefault(&git).ok());
  git.mutable_spec()->set_interval("1x");
  EXPECT_EQ(ErrorOf(git),
            "GitRepository flux-system/fleet: spec.interval: invalid duration "
            "\"1x\": unknown unit \"x\" (use ms, s, m or h)");
  git.mutable_spec()->set_interval("1m");
  git.mutable_spec()->set_timeout("1h");
  EXPECT_THAT(ErrorOf(git), HasSubstr("spec.timeout: invalid duration \"1h\": "
                                      "unit \"h\" is not allowed"));
  git.mutable_spec()->set_timeout("0s");
  EXPECT_THAT(ErrorOf(git), HasSubstr("must be greater than zero"));
}

TEST(ValidationGitRepository, ChecksRef) {
  v1::GitRepository git = ValidGitRepository();
  auto* ref = git.mutable_spec()->mutable_ref();
  ref->set_branch("release/1.x");
  ref->set_tag("v1.0.0");
  ref->set_semver(">=1.0.0");
  ref->set_name("refs/pull/420/head");
  ref->set_commit("0123456789ABCDEF0123456789abcdef01234567");
  EXPECT_TRUE(ValidateAndDefault(&git).ok());

  ref->set_commit("abc123");
  EXPECT_EQ(ErrorOf(git),
            "GitRepository flux-system/fleet: spec.ref.commit: \"abc123\" must "
            "be a full commit hash (40 or 64 hexadecimal digits)");
  ref->set_commit(std::string(40, 'g'));
  EXPECT_THAT(ErrorOf(git), HasSubstr("spec.ref.commit: "));
  ref->set_commit(std::string(64, 'a'));
  EXPECT_TRUE(ValidateAndDefault(&git).ok());

  ref->set_name("main");
  EXPECT_THAT(ErrorOf(git),
              HasSubstr("spec.ref.name: \"main\" must be a full reference name "
                        "starting with \"refs/\""));
  ref->set_name("refs/heads/a.lock");
  EXPECT_THAT(ErrorOf(git), HasSubstr("must not end with \".lock\""));
  ref->set_name("refs/heads/main");

  for (const char* bad :
       {"-x", "a b", "a~1", "a^", "a:b", "a?", "a*", "a[", "a\\b", "/a", "a/",
        "a//b", "a.", ".a", "a/.b", "@", "a@{1}", "a..b"}) {
    ref->set_tag(bad);
    EXPECT_THAT(ErrorOf(git),
                HasSubstr(absl::StrCat("spec.ref.tag: \"", bad,
                                       "\" is not a valid Git reference "
                                       "name")))
        << bad;
  }
  ref->set_tag("v1");
  ref->set_semver(" ");
  EXPECT_THAT(ErrorOf(git), HasSubstr("spec.ref.semver: must not be blank"));
}

TEST(ValidationGitRepository, ChecksProviderAndRefs) {
  v1::GitRepository git = ValidGitRepository();
  git.mutable_spec()->set_provider("generic");
  EXPECT_TRUE(ValidateAndDefault(&git).ok());
  git.mutable_spec()->set_provider("github");
  EXPECT_THAT(ErrorOf(git),
              HasSubstr("spec.provider: \"github\" is not supported (only "
                        "generic"));
  git.mutable_spec()->set_provider("gitlab");
  EXPECT_THAT(ErrorOf(git),
              HasSubstr("spec.provider: \"gitlab\" is not a valid provider"));
  git = ValidGitRepository();
  git.mutable_spec()->mutable_secret_ref();
  EXPECT_THAT(ErrorOf(git), HasSubstr("spec.secretRef.name: required"));
  git = ValidGitRepository();
  git.mutable_spec()->mutable_proxy_secret_ref();
  EXPECT_THAT(ErrorOf(git), HasSubstr("spec.proxySecretRef.name: required"));
}

TEST(ValidationAnyObject, DispatchesOnTheKind) {
  AnyObject object = ValidPolicy();
  ASSERT_TRUE(ValidateAndDefault(&object).ok());
  EXPECT_EQ(std::get<v1::ImagePolicy>(object).kind(), "ImagePolicy");
  object = ValidGitRepository();
  std::get<v1::GitRepository>(object).mutable_spec()->clear_url();
  const absl::Status status = ValidateAndDefault(&object);
  EXPECT_THAT(std::string(status.message()),
              StartsWith("GitRepository flux-system/fleet: spec.url"));
  EXPECT_EQ(FieldPathOf(status), "spec.url");
  EXPECT_EQ(FieldPathOf(absl::OkStatus()), "");
}

}  // namespace
}  // namespace ia
