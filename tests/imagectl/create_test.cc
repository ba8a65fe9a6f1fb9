// Each create verb's flags -> object, compared with the YAML `flux create
// ... --export` prints for the same flags.
#include "tools/imagectl/create.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "common/manifest.h"
#include "tools/imagectl/output.h"

namespace ia::imagectl {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// The object flux's export YAML describes.
template <typename T>
T FromFluxYaml(absl::string_view yaml) {
  absl::StatusOr<AnyObject> object = ObjectFromYaml(yaml);
  EXPECT_TRUE(object.ok()) << object.status();
  if (!object.ok() || !std::holds_alternative<T>(*object)) return T();
  return std::get<T>(*object);
}

template <typename T>
void ExpectSameObject(const absl::StatusOr<T>& built,
                      absl::string_view flux_yaml) {
  ASSERT_TRUE(built.ok()) << built.status();
  const T expected = FromFluxYaml<T>(flux_yaml);
  std::string diff;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differencer.Compare(expected, *built)) << diff << "\nbuilt:\n"
                                                     << ToYaml(*built);
}

template <typename T>
std::string Message(const absl::StatusOr<T>& result) {
  return std::string(result.status().message());
}

CreateCommonFlags Common(absl::string_view name) {
  CreateCommonFlags c;
  c.name = std::string(name);
  return c;
}

TEST(CreateImageRepositoryTest, MatchesFluxExport) {
  // flux create image repository podinfo --image=ghcr.io/stefanprodan/podinfo
  //   --interval=5m --secret-ref=regcred --cert-ref=regcert --scan-timeout=30s
  //   --label=team=a --export
  ImageRepositoryFlags f;
  f.common = Common("podinfo");
  f.common.interval = "5m";
  f.common.labels = {"team=a"};
  f.image = "ghcr.io/stefanprodan/podinfo";
  f.secret_ref = "regcred";
  f.cert_secret_ref = "regcert";
  f.scan_timeout = "30s";
  const auto built = BuildImageRepository(f);
  constexpr absl::string_view kFlux = R"(---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  labels:
    team: a
  name: podinfo
  namespace: flux-system
spec:
  certSecretRef:
    name: regcert
  image: ghcr.io/stefanprodan/podinfo
  interval: 5m0s
  secretRef:
    name: regcred
  timeout: 30s
)";
  ExpectSameObject(built, kFlux);
  // What --export prints reads back as the same object. (The text orders
  // keys as ToYaml does, by field; flux sorts them.)
  ASSERT_TRUE(built.ok());
  const std::string exported = FormatExport(*built);
  EXPECT_THAT(exported,
              StartsWith("---\napiVersion: image.toolkit.fluxcd.io/v1\n"
                         "kind: ImageRepository\n"));
  ExpectSameObject(built, exported);
}

TEST(CreateImageRepositoryTest, OurExtraFlags) {
  ImageRepositoryFlags f;
  f.common = Common("app");
  f.common.ns = "apps";
  f.image = "registry.local:5000/team/app";
  f.insecure = true;
  f.provider = "generic";
  f.proxy_secret_ref = "proxy";
  f.exclusion_list = {"^.*\\.sig$", "^dev-"};
  ExpectSameObject(BuildImageRepository(f), R"(
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: app
  namespace: apps
spec:
  exclusionList: ['^.*\.sig$', '^dev-']
  image: registry.local:5000/team/app
  insecure: true
  interval: 1m0s
  provider: generic
  proxySecretRef:
    name: proxy
)");
}

TEST(CreateImageRepositoryTest, Errors) {
  ImageRepositoryFlags f;
  f.common = Common("app");
  EXPECT_THAT(Message(BuildImageRepository(f)),
              StartsWith("--image is required"));

  f.image = "ghcr.io/org/app";
  f.common.interval = "5x";
  EXPECT_THAT(Message(BuildImageRepository(f)),
              StartsWith("--interval: invalid duration \"5x\""));

  f.common.interval = "1m";
  f.common.labels = {"novalue"};
  EXPECT_THAT(Message(BuildImageRepository(f)),
              StartsWith("invalid --label \"novalue\""));

  // Found by validation, before any RPC, with its message.
  f.common.labels.clear();
  f.image = "https://ghcr.io/org/app:1.0";
  absl::Status status = BuildImageRepository(f).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              StartsWith("ImageRepository flux-system/app: spec.image"));

  f.image = "ghcr.io/org/app";
  f.common.name = "Not_A_Name";
  EXPECT_THAT(Message(BuildImageRepository(f)), HasSubstr("metadata.name"));
}

TEST(CreateImagePolicyTest, SemverMatchesFluxExport) {
  // flux create image policy podinfo --image-ref=podinfo
  // --select-semver='>=1.0.0' --export
  ImagePolicyFlags f;
  f.common = Common("podinfo");
  f.image_ref = "podinfo";
  f.select_semver = ">=1.0.0";
  ExpectSameObject(BuildImagePolicy(f), R"(---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: podinfo
  namespace: flux-system
spec:
  imageRepositoryRef:
    name: podinfo
  policy:
    semver:
      range: '>=1.0.0'
)");
}

TEST(CreateImagePolicyTest, NumericWithFilterMatchesFluxExport) {
  // flux create image policy podinfo --image-ref=podinfo --select-numeric=asc
  //   --filter-regex='^main-[a-f0-9]+-(?P<ts>[0-9]+)' --filter-extract='$ts'
  //   --export
  ImagePolicyFlags f;
  f.common = Common("podinfo");
  f.image_ref = "podinfo";
  f.select_numeric = "asc";
  f.filter_regex = "^main-[a-f0-9]+-(?P<ts>[0-9]+)";
  f.filter_extract = "$ts";
  ExpectSameObject(BuildImagePolicy(f), R"(---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: podinfo
  namespace: flux-system
spec:
  filterTags:
    extract: $ts
    pattern: ^main-[a-f0-9]+-(?P<ts>[0-9]+)
  imageRepositoryRef:
    name: podinfo
  policy:
    numerical:
      order: asc
)");
}

TEST(CreateImagePolicyTest, AlphaAcrossNamespacesWithDigests) {
  ImagePolicyFlags f;
  f.common = Common("web");
  f.common.ns = "apps";
  f.image_ref = "web";
  f.image_ref_namespace = "flux-system";
  f.select_alpha = "desc";
  f.reflect_digest = "Always";  // the --interval default (1m) applies
  ExpectSameObject(BuildImagePolicy(f), R"(
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: web
  namespace: apps
spec:
  digestReflectionPolicy: Always
  imageRepositoryRef:
    name: web
    namespace: flux-system
  interval: 1m0s
  policy:
    alphabetical:
      order: desc
)");
}

TEST(CreateImagePolicyTest, Errors) {
  ImagePolicyFlags f;
  f.common = Common("p");
  EXPECT_THAT(Message(BuildImagePolicy(f)),
              StartsWith("--image-ref is required"));
  f.image_ref = "repo";
  EXPECT_THAT(Message(BuildImagePolicy(f)), StartsWith("a policy is required"));
  f.select_semver = "1.x";
  f.select_alpha = "asc";
  EXPECT_EQ(
      Message(BuildImagePolicy(f)),
      "only one policy may be given, not --select-semver and --select-alpha");
  f.select_semver.clear();
  f.select_alpha = "up";
  EXPECT_EQ(Message(BuildImagePolicy(f)),
            "--select-alpha must be asc or desc, not \"up\"");
  f.select_alpha = "asc";
  f.filter_extract = "$1";
  EXPECT_EQ(Message(BuildImagePolicy(f)),
            "--filter-extract needs --filter-regex");
  f.filter_extract.clear();
  f.filter_regex = "([";
  EXPECT_THAT(Message(BuildImagePolicy(f)),
              StartsWith("ImagePolicy flux-system/p: spec.filterTags.pattern"));
  f.filter_regex.clear();
  // An interval without digest reflection Always: refused by validation.
  f.common.interval_set = true;
  EXPECT_THAT(Message(BuildImagePolicy(f)),
              StartsWith("ImagePolicy flux-system/p: spec.interval"));
}

TEST(CreateImageUpdateTest, MatchesFluxExport) {
  // flux create image update flux-system --git-repo-ref=flux-system
  //   --git-repo-path=./clusters/my-cluster --checkout-branch=main
  //   --push-branch=image-updates --author-name=flux
  //   --author-email=flux@example.com
  //   --commit-template='Update images' --export
  ImageUpdateFlags f;
  f.common = Common("flux-system");
  f.git_repo_ref = "flux-system";
  f.git_repo_path = "./clusters/my-cluster";
  f.checkout_branch = "main";
  f.push_branch = "image-updates";
  f.author_name = "flux";
  f.author_email = "flux@example.com";
  f.commit_template = "Update images";
  ExpectSameObject(BuildImageUpdate(f), R"(---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata:
  name: flux-system
  namespace: flux-system
spec:
  git:
    checkout:
      ref:
        branch: main
    commit:
      author:
        email: flux@example.com
        name: flux
      messageTemplate: Update images
    push:
      branch: image-updates
  interval: 1m0s
  sourceRef:
    kind: GitRepository
    name: flux-system
  update:
    path: ./clusters/my-cluster
    strategy: Setters
)");
}

TEST(CreateImageUpdateTest, MinimalAndCrossNamespace) {
  // flux create image update apps --namespace=apps --git-repo-ref=flux-system
  //   --git-repo-namespace=flux-system --checkout-branch=main
  //   --author-name=flux --author-email=flux@example.com --interval=5m --export
  ImageUpdateFlags f;
  f.common = Common("apps");
  f.common.ns = "apps";
  f.common.interval = "5m";
  f.git_repo_ref = "flux-system";
  f.git_repo_namespace = "flux-system";
  f.checkout_branch = "main";
  f.author_name = "flux";
  f.author_email = "flux@example.com";
  ExpectSameObject(BuildImageUpdate(f), R"(
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata:
  name: apps
  namespace: apps
spec:
  git:
    checkout:
      ref:
        branch: main
    commit:
      author:
        email: flux@example.com
        name: flux
  interval: 5m0s
  sourceRef:
    kind: GitRepository
    name: flux-system
    namespace: flux-system
)");
}

TEST(CreateImageUpdateTest, RequiredFlags) {
  ImageUpdateFlags f;
  f.common = Common("u");
  EXPECT_THAT(Message(BuildImageUpdate(f)),
              StartsWith("--git-repo-ref is required"));
  f.git_repo_ref = "repo";
  EXPECT_THAT(Message(BuildImageUpdate(f)),
              StartsWith("--checkout-branch is required"));
  f.checkout_branch = "main";
  EXPECT_THAT(Message(BuildImageUpdate(f)),
              StartsWith("--author-name is required"));
  f.author_name = "bot";
  EXPECT_THAT(Message(BuildImageUpdate(f)),
              StartsWith("--author-email is required"));
  f.author_email = "bot@example.com";
  EXPECT_TRUE(BuildImageUpdate(f).ok());
}

TEST(CreateSourceGitTest, BranchMatchesFluxExport) {
  // flux create source git podinfo
  // --url=https://github.com/stefanprodan/podinfo
  //   --branch=master --export
  GitRepositoryFlags f;
  f.common = Common("podinfo");
  f.url = "https://github.com/stefanprodan/podinfo";
  f.branch = "master";
  ExpectSameObject(BuildGitRepository(f), R"(---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: podinfo
  namespace: flux-system
spec:
  interval: 1m0s
  ref:
    branch: master
  url: https://github.com/stefanprodan/podinfo
)");
}

TEST(CreateSourceGitTest, RefPrecedenceAsFlux) {
  GitRepositoryFlags f;
  f.common = Common("podinfo");
  f.url = "https://github.com/stefanprodan/podinfo";
  f.tag_semver = ">=3.2.0 <3.3.0";
  f.tag = "3.2.3";
  f.secret_ref = "git-auth";
  f.fetch_timeout = "90s";
  ExpectSameObject(BuildGitRepository(f), R"(
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: podinfo
  namespace: flux-system
spec:
  interval: 1m0s
  ref:
    semver: '>=3.2.0 <3.3.0'
  secretRef:
    name: git-auth
  timeout: 1m30s
  url: https://github.com/stefanprodan/podinfo
)");

  // A commit keeps the branch it is on.
  f = GitRepositoryFlags();
  f.common = Common("podinfo");
  f.url = "ssh://git@github.com/stefanprodan/podinfo";
  f.branch = "main";
  f.commit = "0123456789abcdef0123456789abcdef01234567";
  ExpectSameObject(BuildGitRepository(f), R"(
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: podinfo
  namespace: flux-system
spec:
  interval: 1m0s
  ref:
    branch: main
    commit: 0123456789abcdef0123456789abcdef01234567
  url: ssh://git@github.com/stefanprodan/podinfo
)");
}

TEST(CreateSourceGitTest, Errors) {
  GitRepositoryFlags f;
  f.common = Common("r");
  EXPECT_THAT(Message(BuildGitRepository(f)), StartsWith("--url is required"));
  f.url = "https://example.com/r.git";
  EXPECT_THAT(Message(BuildGitRepository(f)),
              StartsWith("a Git reference is required"));
  f.branch = "main";
  f.url = "ftp://example.com/r.git";
  EXPECT_THAT(Message(BuildGitRepository(f)),
              StartsWith("GitRepository flux-system/r: spec.url"));
}

TEST(NormalizeDurationTest, PrintsAsGo) {
  EXPECT_EQ(*NormalizeDuration("--interval", "1m"), "1m0s");
  EXPECT_EQ(*NormalizeDuration("--interval", "90m"), "1h30m0s");
  EXPECT_EQ(*NormalizeDuration("--interval", "500ms"), "500ms");
  EXPECT_FALSE(NormalizeDuration("--interval", "").ok());
}

}  // namespace
}  // namespace ia::imagectl
