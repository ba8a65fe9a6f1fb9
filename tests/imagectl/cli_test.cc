// The command line end to end over a fake ObjectClient: parsing, routing,
// output, messages and exit codes.
#include "tools/imagectl/cli.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/manifest.h"
#include "tests/imagectl/fake_client.h"
#include "tools/imagectl/commands.h"

namespace ia::imagectl {
namespace {

using ::testing::ElementsAre;
using testing::FakeObjectClient;
using testing::ForwardingClient;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

constexpr char kUnreachablePolicy[] =
    "cannot reach the policy at 127.0.0.1:50052 (connection refused): is "
    "image-policy running? Set --policy or IMAGECTL_POLICY";

class CliTest : public ::testing::Test {
 protected:
  int Run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    RunEnvironment env;
    env.getenv = [this](const std::string& name) -> std::optional<std::string> {
      auto it = env_.find(name);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
    env.make_client = [this](const ClientOptions& options)
        -> absl::StatusOr<std::unique_ptr<ObjectClient>> {
      ++clients_made_;
      options_ = options;
      return std::make_unique<ForwardingClient>(&fake_);
    };
    return imagectl::Run(args, env, out_, err_);
  }

  std::string out() const { return out_.str(); }
  std::string err() const { return err_.str(); }

  static v1::ImageRepository Repo(absl::string_view ns,
                                  absl::string_view name) {
    v1::ImageRepository r;
    r.set_api_version("image.toolkit.fluxcd.io/v1");
    r.set_kind("ImageRepository");
    r.mutable_metadata()->set_namespace_(std::string(ns));
    r.mutable_metadata()->set_name(std::string(name));
    r.mutable_spec()->set_image(absl::StrCat("ghcr.io/org/", name));
    r.mutable_spec()->set_interval("1m");
    return r;
  }

  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::filesystem::path dir =
        std::filesystem::path(::testing::TempDir()) /
        ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::create_directories(dir);
    const std::filesystem::path path = dir / name;
    std::ofstream(path) << text;
    return path.string();
  }

  FakeObjectClient fake_;
  std::map<std::string, std::string> env_;
  int clients_made_ = 0;
  ClientOptions options_;
  std::ostringstream out_;
  std::ostringstream err_;
};

constexpr char kAllKinds[] = R"(apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: app
  namespace: flux-system
spec:
  image: ghcr.io/org/app
  interval: 1m
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: app
spec:
  imageRepositoryRef:
    name: app
  policy:
    semver:
      range: ">=1.0.0"
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata:
  name: auto
  namespace: flux-system
spec:
  interval: 5m
  sourceRef:
    kind: GitRepository
    name: repo
  git:
    checkout:
      ref:
        branch: main
    commit:
      author:
        name: bot
        email: bot@example.com
    push:
      branch: main
  update:
    path: ./clusters
    strategy: Setters
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: repo
  namespace: flux-system
spec:
  url: https://example.com/repo.git
  interval: 1m
  ref:
    branch: main
)";

// --- help and usage --------------------------------------------------------

TEST_F(CliTest, HelpDocumentsExitCodes) {
  EXPECT_EQ(Run({"--help"}), 0);
  EXPECT_THAT(out(), HasSubstr("Exit codes:"));
  EXPECT_THAT(out(), HasSubstr("0  success"));
  EXPECT_THAT(out(), HasSubstr("2  usage error or invalid input"));
  EXPECT_THAT(out(), HasSubstr("3  a service could not be reached"));
  EXPECT_THAT(out(), HasSubstr("IMAGECTL_REFLECTOR"));
  EXPECT_EQ(Run({}), 0);
  EXPECT_THAT(out(), HasSubstr("Exit codes:"));
}

TEST_F(CliTest, SubcommandHelp) {
  EXPECT_EQ(Run({"create", "image", "policy", "--help"}), 0);
  EXPECT_THAT(out(), HasSubstr("--select-semver"));
  EXPECT_THAT(out(), HasSubstr("--filter-extract"));
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Run({"frobnicate"}), 2);
  EXPECT_THAT(err(), StartsWith("imagectl: "));
  EXPECT_EQ(Run({"get", "image"}), 2);
  EXPECT_THAT(err(), HasSubstr("Run 'imagectl get image --help' for usage."));
  EXPECT_EQ(Run({"get", "image", "repository", "-o", "xml"}), 2);
  EXPECT_EQ(Run({"delete", "image", "policy"}), 2);  // NAME is required
  EXPECT_EQ(Run({"get", "image", "repository", "a", "b"}), 2);
  EXPECT_EQ(Run({"--timeout=soon", "get", "image", "repository"}), 2);
  EXPECT_THAT(err(),
              StartsWith("imagectl: --timeout: invalid duration \"soon\""));
  EXPECT_EQ(Run({"get", "image", "repository", "app", "-A"}), 2);
  EXPECT_EQ(clients_made_, 0);
  EXPECT_THAT(fake_.calls, IsEmpty());
}

// --- addresses and global flags ---------------------------------------------

TEST_F(CliTest, AddressesFromFlagsThenEnvironmentThenDefaults) {
  env_["IMAGECTL_POLICY"] = "policy.local:7000";
  env_["IMAGECTL_AUTOMATION"] = "automation.local:7001";
  ASSERT_EQ(Run({"--automation=10.0.0.1:9", "get", "image", "repository"}), 0);
  EXPECT_EQ(options_.addresses[0], "127.0.0.1:50051");
  EXPECT_EQ(options_.addresses[1], "policy.local:7000");
  EXPECT_EQ(options_.addresses[2], "10.0.0.1:9");
  EXPECT_EQ(options_.timeout, absl::Seconds(10));
}

TEST_F(CliTest, GlobalFlagsAfterTheVerb) {
  ASSERT_EQ(Run({"get", "image", "repository", "--reflector", "r:1",
                 "--timeout=1m30s", "--tls-ca=/ca.pem"}),
            0);
  EXPECT_EQ(options_.addresses[0], "r:1");
  EXPECT_EQ(options_.timeout, absl::Seconds(90));
  EXPECT_EQ(options_.tls_ca_file, "/ca.pem");
}

// --- get ------------------------------------------------------------------

TEST_F(CliTest, TokenFromFlagsElseTheEnvironment) {
  env_["IMAGECTL_TOKEN"] = "from-env-0123456789";
  ASSERT_EQ(Run({"get", "image", "repository"}), 0) << err();
  EXPECT_EQ(options_.token, "from-env-0123456789");
  EXPECT_EQ(options_.token_file, "");

  ASSERT_EQ(Run({"--token=from-flag-0123456789", "get", "image", "repository"}),
            0)
      << err();
  EXPECT_EQ(options_.token, "from-flag-0123456789");

  // A token file replaces the environment's token too.
  ASSERT_EQ(Run({"get", "image", "repository", "--token-file=/run/token"}), 0)
      << err();
  EXPECT_EQ(options_.token, "");
  EXPECT_EQ(options_.token_file, "/run/token");

  EXPECT_EQ(Run({"--token=a", "--token-file=/run/token", "get", "image",
                 "repository"}),
            2);
  EXPECT_THAT(err(), HasSubstr("give --token or --token-file, not both"));
}

TEST_F(CliTest, GetListsATableOfTheNamespace) {
  fake_.Put(Repo("flux-system", "app"));
  fake_.Put(Repo("flux-system", "web"));
  fake_.Put(Repo("apps", "other"));
  EXPECT_EQ(Run({"get", "image", "repository"}), 0);
  EXPECT_EQ(
      out(),
      "NAME   LAST SCAN   SUSPENDED   READY     MESSAGE\n"
      "app                False       Unknown   waiting to be reconciled\n"
      "web                False       Unknown   waiting to be reconciled\n");
  EXPECT_THAT(fake_.calls,
              ElementsAre("List reflector ImageRepository flux-system/"));
}

TEST_F(CliTest, GetAllNamespaces) {
  fake_.Put(Repo("flux-system", "app"));
  fake_.Put(Repo("apps", "other"));
  EXPECT_EQ(Run({"get", "images", "repository", "-A"}), 0);
  EXPECT_THAT(out(), StartsWith("NAMESPACE     NAME    LAST SCAN"));
  EXPECT_THAT(out(), HasSubstr("\napps          other"));
  EXPECT_THAT(fake_.calls, ElementsAre("List reflector ImageRepository /"));
}

TEST_F(CliTest, GetOneByNameInANamespace) {
  fake_.Put(Repo("apps", "web"));
  EXPECT_EQ(Run({"get", "image", "repository", "web", "-n", "apps"}), 0);
  EXPECT_THAT(out(), HasSubstr("\nweb "));
  EXPECT_THAT(fake_.calls,
              ElementsAre("Get reflector ImageRepository apps/web"));
}

TEST_F(CliTest, GetNotFound) {
  EXPECT_EQ(Run({"get", "image", "policy", "app"}), 1);
  EXPECT_EQ(err(), "imagectl: ImagePolicy flux-system/app not found\n");
  EXPECT_EQ(out(), "");
}

TEST_F(CliTest, GetEmptyListSaysSoOnStderr) {
  EXPECT_EQ(Run({"get", "image", "update"}), 0);
  EXPECT_EQ(out(), "");
  EXPECT_EQ(
      err(),
      "no ImageUpdateAutomation objects found in flux-system namespace\n");
  EXPECT_EQ(Run({"get", "source", "git", "-A"}), 0);
  EXPECT_EQ(err(), "no GitRepository objects found in any namespace\n");
}

TEST_F(CliTest, GetJson) {
  const v1::ImageRepository app = Repo("flux-system", "app");
  fake_.Put(app);
  EXPECT_EQ(Run({"get", "image", "repository", "app", "-o", "json"}), 0);
  EXPECT_EQ(out(), ToJson(app) + "\n");

  fake_.Put(Repo("flux-system", "web"));
  EXPECT_EQ(Run({"get", "image", "repository", "-o", "json"}), 0);
  EXPECT_THAT(out(),
              StartsWith("{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n"
                         "  \"items\": [\n    {\n      \"apiVersion\": "
                         "\"image.toolkit.fluxcd.io/v1\",\n"));
  EXPECT_THAT(out(), HasSubstr("\n    },\n    {\n"));
  EXPECT_THAT(out(), ::testing::EndsWith("\n    }\n  ]\n}\n"));

  fake_.objects.clear();
  EXPECT_EQ(Run({"get", "image", "repository", "-o", "json"}), 0);
  EXPECT_EQ(out(),
            "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": "
            "[]\n}\n");
}

TEST_F(CliTest, GetYamlSeparatesDocuments) {
  fake_.Put(Repo("flux-system", "app"));
  fake_.Put(Repo("flux-system", "web"));
  EXPECT_EQ(Run({"get", "image", "repository", "-o", "yaml"}), 0);
  EXPECT_EQ(out(), ToYaml(Repo("flux-system", "app")) + "---\n" +
                       ToYaml(Repo("flux-system", "web")));
}

// --- delete and reconcile ----------------------------------------------------

TEST_F(CliTest, Delete) {
  v1::ImageUpdateAutomation auto_;
  auto_.mutable_metadata()->set_namespace_("apps");
  auto_.mutable_metadata()->set_name("auto");
  fake_.Put(auto_);
  EXPECT_EQ(
      Run({"delete", "image", "update", "auto", "-n", "apps", "--silent"}), 0);
  EXPECT_EQ(out(), "deleted ImageUpdateAutomation apps/auto\n");
  EXPECT_EQ(Run({"delete", "image", "update", "auto", "-n", "apps"}), 1);
  EXPECT_EQ(err(), "imagectl: ImageUpdateAutomation apps/auto not found\n");
}

TEST_F(CliTest, Reconcile) {
  v1::GitRepository repo;
  repo.mutable_metadata()->set_namespace_("flux-system");
  repo.mutable_metadata()->set_name("repo");
  fake_.Put(repo);
  EXPECT_EQ(Run({"reconcile", "source", "git", "repo"}), 0);
  EXPECT_EQ(out(),
            "reconcile requested for GitRepository flux-system/repo at "
            "2026-01-02T03:04:05Z\n");
  EXPECT_THAT(
      fake_.calls,
      ElementsAre("Reconcile automation GitRepository flux-system/repo"));
}

// --- errors from services ----------------------------------------------------

TEST_F(CliTest, UnreachableServiceExitsThree) {
  fake_.service_error[1] = absl::UnavailableError(kUnreachablePolicy);
  EXPECT_EQ(Run({"reconcile", "image", "policy", "app"}), 3);
  EXPECT_EQ(err(), absl::StrCat("imagectl: ", kUnreachablePolicy, "\n"));
  fake_.service_error[1] =
      absl::DeadlineExceededError("cannot reach the policy ...");
  EXPECT_EQ(Run({"get", "image", "policy"}), 3);
}

TEST_F(CliTest, ServiceRefusalIsPrintedAsIsAndExitsOne) {
  fake_.apply_errors["app"] = absl::InvalidArgumentError(
      "ImageRepository flux-system/app: spec.provider: \"ibm\" is not "
      "supported");
  EXPECT_EQ(
      Run({"create", "image", "repository", "app", "--image=ghcr.io/org/app"}),
      1);
  EXPECT_EQ(err(),
            "imagectl: ImageRepository flux-system/app: spec.provider: \"ibm\" "
            "is not "
            "supported\n");
  fake_.service_error[0] = absl::InternalError("store: disk full");
  EXPECT_EQ(Run({"get", "image", "repository", "app"}), 1);
  EXPECT_EQ(err(),
            "imagectl: ImageRepository flux-system/app: store: disk full\n");
}

// --- apply -----------------------------------------------------------------

TEST_F(CliTest, ApplyRoutesEachKindToItsOwner) {
  const std::string file = WriteFile("all.yaml", kAllKinds);
  EXPECT_EQ(Run({"apply", "-f", file}), 0) << err();
  EXPECT_THAT(
      fake_.calls,
      ElementsAre("Apply reflector ImageRepository flux-system/app",
                  "Apply policy ImagePolicy flux-system/app",
                  "Apply automation ImageUpdateAutomation flux-system/auto",
                  "Apply automation GitRepository flux-system/repo"));
  EXPECT_EQ(out(),
            "ImageRepository flux-system/app created\n"
            "ImagePolicy flux-system/app created\n"
            "ImageUpdateAutomation flux-system/auto created\n"
            "GitRepository flux-system/repo created\n");
  EXPECT_EQ(err(), "");

  EXPECT_EQ(Run({"apply", "-f", file}), 0);
  EXPECT_THAT(out(),
              StartsWith("ImageRepository flux-system/app configured\n"));
}

TEST_F(CliTest, ApplyADirectoryAndRepeatedFiles) {
  const std::string a = WriteFile("a.yaml", kAllKinds);
  const std::filesystem::path dir = std::filesystem::path(a).parent_path();
  EXPECT_EQ(Run({"apply", "-f", dir.string()}), 0) << err();
  EXPECT_EQ(fake_.calls.size(), 4u);
  fake_.calls.clear();
  EXPECT_EQ(Run({"apply", "-f", a, "--filename", a}), 0);
  EXPECT_EQ(fake_.calls.size(), 8u);
}

TEST_F(CliTest, ApplyPrintsWarnings) {
  fake_.apply_warnings = {"spec.accessFrom is accepted and ignored"};
  const std::string file = WriteFile("repo.yaml", kAllKinds);
  EXPECT_EQ(Run({"apply", "-f", file}), 0);
  EXPECT_THAT(
      err(),
      HasSubstr("warning: ImageRepository flux-system/app: spec.accessFrom "
                "is accepted and ignored\n"));
}

TEST_F(CliTest, ApplyGoesOnPastABadDocumentAndExitsTwo) {
  const std::string file = WriteFile(
      "mixed.yaml", absl::StrCat(R"(apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: broken
spec:
  image: ghcr.io/org/broken
  interval: 5x
---
)",
                                 kAllKinds));
  EXPECT_EQ(Run({"apply", "-f", file}), 2);
  EXPECT_THAT(err(), StartsWith("imagectl: "));
  EXPECT_THAT(err(), HasSubstr("spec.interval"));
  EXPECT_EQ(fake_.calls.size(), 4u);
}

TEST_F(CliTest, ApplyReportsThePolicyEnginesChecksWithTheLine) {
  // The policy engine checks filterTags (not validation.h): apply -f runs
  // it before sending anything, and points at the field's line.
  const std::string file =
      WriteFile("policy.yaml", R"(apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: app
spec:
  imageRepositoryRef:
    name: app
  policy:
    alphabetical: {}
  filterTags:
    pattern: '^main-([a-f0-9]+)$'
    extract: '$01'
)");
  EXPECT_EQ(Run({"apply", "-f", file}), 2);
  EXPECT_THAT(err(), HasSubstr(absl::StrCat(
                         file,
                         ":12: ImagePolicy flux-system/app: "
                         "spec.filterTags.extract: \"$01\" refers to")));
  EXPECT_TRUE(fake_.calls.empty());
}

TEST_F(CliTest, ApplyPartialFailureExitsOne) {
  fake_.apply_errors["auto"] =
      absl::FailedPreconditionError("store is read-only");
  const std::string file = WriteFile("all.yaml", kAllKinds);
  EXPECT_EQ(Run({"apply", "-f", file}), 1);
  EXPECT_EQ(
      err(),
      "imagectl: ImageUpdateAutomation flux-system/auto: store is read-only\n");
  EXPECT_EQ(fake_.calls.size(), 4u);
  EXPECT_THAT(out(), HasSubstr("GitRepository flux-system/repo created\n"));
}

TEST_F(CliTest, ApplyReportsAnUnreachableServiceOnceAndAppliesTheRest) {
  fake_.service_error[2] = absl::UnavailableError(
      "cannot reach the automation at 127.0.0.1:50053 (connection refused): "
      "...");
  const std::string file = WriteFile("all.yaml", kAllKinds);
  EXPECT_EQ(Run({"apply", "-f", file}), 3);
  EXPECT_EQ(
      err(),
      "imagectl: cannot reach the automation at 127.0.0.1:50053 (connection "
      "refused): ...\n");
  EXPECT_EQ(out(),
            "ImageRepository flux-system/app created\n"
            "ImagePolicy flux-system/app created\n");
  // The GitRepository (same service) is not tried again.
  EXPECT_EQ(fake_.calls.size(), 3u);
}

TEST_F(CliTest, ApplyMissingFileExitsTwoWithoutConnecting) {
  EXPECT_EQ(Run({"apply", "-f", "/nonexistent/manifests.yaml"}), 2);
  EXPECT_THAT(err(), StartsWith("imagectl: "));
  EXPECT_THAT(err(), HasSubstr("/nonexistent/manifests.yaml"));
  EXPECT_EQ(clients_made_, 0);
  EXPECT_EQ(Run({"apply"}), 2);  // -f is required
}

// --- create ------------------------------------------------------------------

TEST_F(CliTest, CreateExportPrintsYamlAndConnectsToNothing) {
  EXPECT_EQ(Run({"create", "source", "git", "podinfo",
                 "--url=https://github.com/stefanprodan/podinfo",
                 "--branch=master", "--export"}),
            0);
  EXPECT_THAT(out(), StartsWith("---\napiVersion: source.toolkit.fluxcd.io/v1\n"
                                "kind: GitRepository\n"));
  // The object flux's --export prints for the same flags.
  absl::StatusOr<AnyObject> ours = ObjectFromYaml(out());
  absl::StatusOr<AnyObject> flux = ObjectFromYaml(R"(---
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
  ASSERT_TRUE(ours.ok()) << ours.status();
  ASSERT_TRUE(flux.ok()) << flux.status();
  EXPECT_EQ(std::get<v1::GitRepository>(*ours).DebugString(),
            std::get<v1::GitRepository>(*flux).DebugString());
  EXPECT_EQ(clients_made_, 0);
}

TEST_F(CliTest, RepeatedFlagTakesTheLastValue) {
  ASSERT_EQ(
      Run({"--reflector=a:1", "get", "image", "repository", "--reflector=b:2"}),
      0);
  EXPECT_EQ(options_.addresses[0], "b:2");
}

TEST_F(CliTest, CreateAppliesAtTheOwner) {
  EXPECT_EQ(Run({"create", "image", "policy", "podinfo", "--image-ref=podinfo",
                 "--select-semver=>=1.0.0", "-n", "apps", "--label",
                 "team=a,tier=web"}),
            0)
      << err();
  EXPECT_EQ(out(), "ImagePolicy apps/podinfo created\n");
  EXPECT_THAT(fake_.calls,
              ElementsAre("Apply policy ImagePolicy apps/podinfo"));
  const auto& stored = std::get<v1::ImagePolicy>(
      fake_.objects.at({Kind::kImagePolicy, "apps", "podinfo"}));
  EXPECT_EQ(stored.spec().policy().semver().range(), ">=1.0.0");
  EXPECT_EQ(stored.metadata().labels().at("tier"), "web");
}

TEST_F(CliTest, CreateEveryKindThroughTheCommandLine) {
  EXPECT_EQ(
      Run({"create", "image", "repository", "app", "--image=ghcr.io/org/app",
           "--interval=5m", "--scan-timeout=30s", "--cert-ref=certs",
           "--exclusion-list=^dev-", "--exclusion-list=^tmp-", "--insecure"}),
      0)
      << err();
  const auto& repo = std::get<v1::ImageRepository>(
      fake_.objects.at({Kind::kImageRepository, "flux-system", "app"}));
  EXPECT_EQ(repo.spec().interval(), "5m0s");
  EXPECT_EQ(repo.spec().timeout(), "30s");
  EXPECT_EQ(repo.spec().cert_secret_ref().name(), "certs");
  EXPECT_THAT(repo.spec().exclusion_list(), ElementsAre("^dev-", "^tmp-"));
  EXPECT_TRUE(repo.spec().insecure());

  EXPECT_EQ(Run({"create", "image", "update", "auto", "--git-repo-ref=repo",
                 "--git-repo-path=./apps", "--checkout-branch=main",
                 "--push-branch=auto", "--author-name=bot",
                 "--author-email=bot@example.com"}),
            0)
      << err();
  EXPECT_EQ(out(), "ImageUpdateAutomation flux-system/auto created\n");
  EXPECT_EQ(Run({"create", "source", "git", "repo",
                 "--url=https://example.com/r.git", "--tag=v1.0.0"}),
            0)
      << err();
  EXPECT_EQ(out(), "GitRepository flux-system/repo created\n");
}

TEST_F(CliTest, CreateInvalidFailsBeforeAnyRpc) {
  EXPECT_EQ(Run({"create", "image", "policy", "p", "--image-ref=r",
                 "--select-alpha=up"}),
            2);
  EXPECT_EQ(err(),
            "imagectl: --select-alpha must be asc or desc, not \"up\"\n");
  EXPECT_EQ(Run({"create", "image", "repository", "app",
                 "--image=ghcr.io/org/app", "--interval=0s"}),
            2);
  EXPECT_THAT(
      err(),
      StartsWith("imagectl: ImageRepository flux-system/app: spec.interval"));
  EXPECT_EQ(clients_made_, 0);
  EXPECT_THAT(fake_.calls, IsEmpty());
}

TEST_F(CliTest, PolicyIntervalOnlyWhenGiven) {
  ASSERT_EQ(Run({"create", "image", "policy", "p", "--image-ref=r",
                 "--select-numeric=asc", "--reflect-digest=Always",
                 "--interval=10m", "--export"}),
            0)
      << err();
  EXPECT_THAT(out(), HasSubstr("  interval: 10m0s\n"));
  EXPECT_EQ(Run({"create", "image", "policy", "p", "--image-ref=r",
                 "--select-numeric=asc", "--interval=10m", "--export"}),
            2);
  EXPECT_THAT(err(), HasSubstr("spec.interval"));
}

}  // namespace
}  // namespace ia::imagectl
