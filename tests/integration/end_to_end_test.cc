// The whole loop through real parts: Debian's docker-registry notifies the
// real reflector of pushes, the real policy service selects, the real
// automation service rewrites a bare Git repository's manifests, commits
// and pushes. Pushes 1.2.3, 1.3.0 and 2.0.0 against the range
// ">=1.0.0 <2.0.0": two commits, each exactly the marked lines, one per
// distinct selection. Prints the push-to-commit latency of each push.
#include <algorithm>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/docker_registry.h"
#include "tests/support/git_server.h"
#include "tests/support/hanging_server.h"
#include "tests/support/harness.h"
#include "tests/support/test_certificates.h"

namespace ia::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kDeployment[] = R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-app
  namespace: default
spec:
  template:
    spec:
      containers:
        - name: app
          image: REGISTRY/myorg/my-app:1.0.0 # {"$imagepolicy": "flux-system:my-app"}
)";

constexpr char kValues[] = R"(# Helm values
image:
  repository: REGISTRY/myorg/my-app # {"$imagepolicy": "flux-system:my-app:name"}
  tag: 1.0.0 # {"$imagepolicy": "flux-system:my-app:tag"}
)";

constexpr char kKustomization[] = R"(apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
images:
  - name: my-app
    newName: REGISTRY/myorg/my-app # {"$imagepolicy": "flux-system:my-app:name"}
    newTag: 1.0.0 # {"$imagepolicy": "flux-system:my-app:tag"}
)";

constexpr char kObjects[] = R"(apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: my-app
  namespace: flux-system
spec:
  image: REGISTRY/myorg/my-app
  interval: 1h
  insecure: true
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: my-app
  namespace: flux-system
spec:
  imageRepositoryRef:
    name: my-app
  policy:
    semver:
      range: ">=1.0.0 <2.0.0"
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: fleet
  namespace: flux-system
spec:
  url: GIT_URL
  ref:
    branch: main
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata:
  name: my-app
  namespace: flux-system
spec:
  interval: 1h
  sourceRef:
    kind: GitRepository
    name: fleet
  git:
    commit:
      author:
        name: fluxbot
        email: flux@example.com
      messageTemplate: |
        Automated image update

        {{ range $resource, $changes := .Changed.Objects -}}
        - {{ $resource.Kind }}/{{ $resource.Name }}: {{ range $_, $c := $changes }}{{ $c.OldValue }} -> {{ $c.NewValue }} {{ end }}
        {{ end -}}
    push:
      branch: main
  update:
    path: ./clusters/my-cluster
)";

class EndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<std::string> tls;
    std::shared_ptr<grpc::ChannelCredentials> credentials;
    if (mtls_) {
      certificates_ = std::make_unique<TestCertificates>(dir_);
      tls = certificates_->ServiceFlags();
      credentials = certificates_->Client(true);
    }
    const int webhook_port = FreePort();
    DockerRegistryOptions options;
    options.notification_urls = {
        absl::StrCat("http://127.0.0.1:", webhook_port, "/v1/registry-events")};
    registry_ = std::make_unique<DockerRegistry>(options);
    ASSERT_TRUE(registry_->Start().ok()) << registry_->Log();
    const std::string host = registry_->host();

    auto repo = BareRepo::Create(dir_.Join("git/fleet.git"), "main");
    ASSERT_TRUE(repo.ok()) << repo.status();
    repo_ = std::make_unique<BareRepo>(*std::move(repo));
    auto with_host = [&](const char* text) {
      return absl::StrReplaceAll(text, {{"REGISTRY", host}});
    };
    ASSERT_TRUE(repo_
                    ->Commit("main", {{"clusters/my-cluster/deployment.yaml",
                                       with_host(kDeployment)},
                                      {"clusters/my-cluster/values.yaml",
                                       with_host(kValues)},
                                      {"clusters/my-cluster/kustomization.yaml",
                                       with_host(kKustomization)}})
                    .ok());
    dir_.WriteFile(
        "manifests/objects.yaml",
        absl::StrReplaceAll(
            kObjects, {{"REGISTRY", host}, {"GIT_URL", repo_->FileUrl()}}));

    auto flags = [&](std::vector<std::string> own) {
      own.push_back("--manifests=" + dir_.Join("manifests"));
      own.insert(own.end(), tls.begin(), tls.end());
      return own;
    };
    reflector_ = std::make_unique<Service>(
        ServiceOptions{
            IA_REFLECTOR_BIN, dir_.Join("reflector"),
            flags({absl::StrCat("--http-listen=127.0.0.1:", webhook_port)}),
            credentials},
        dir_.Join("reflector.log"));
    automation_ = std::make_unique<Service>(
        ServiceOptions{IA_AUTOMATION_BIN, dir_.Join("automation"), flags({}),
                       credentials},
        dir_.Join("automation.log"));
    policy_ = std::make_unique<Service>(
        ServiceOptions{IA_POLICY_BIN, dir_.Join("policy"),
                       flags({"--reflector=" + reflector_->address(),
                              "--automation=" + automation_->address()}),
                       credentials},
        dir_.Join("policy.log"));
    ASSERT_TRUE(reflector_->Start().ok()) << reflector_->Log();
    ASSERT_TRUE(automation_->Start().ok()) << automation_->Log();
    ASSERT_TRUE(policy_->Start().ok()) << policy_->Log();
  }

  std::vector<std::string> Log() {
    return repo_->Log("main", "%H").value_or(std::vector<std::string>{});
  }

  // Pushes `tag` and waits until the remote has `commits` commits;
  // returns the time from the end of the push (the manifest PUT answered)
  // to the commit being on the remote.
  absl::Duration PushAndWaitFor(const std::string& tag, size_t commits) {
    auto digest = PushImage(registry_->url(), "myorg/my-app", tag);
    const absl::Time start = absl::Now();
    EXPECT_TRUE(digest.ok()) << digest.status();
    const absl::Time deadline = start + absl::Seconds(30);
    while (Log().size() < commits && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(2));
    }
    EXPECT_EQ(Log().size(), commits)
        << "after pushing " << tag << "\nreflector:\n"
        << reflector_->Log() << "\npolicy:\n"
        << policy_->Log() << "\nautomation:\n"
        << automation_->Log();
    return absl::Now() - start;
  }

  bool mtls_ = false;  // set by EndToEndMtls before SetUp
  TempDir dir_;
  std::unique_ptr<TestCertificates> certificates_;
  std::unique_ptr<DockerRegistry> registry_;
  std::unique_ptr<BareRepo> repo_;
  std::unique_ptr<Service> reflector_, automation_, policy_;
};

TEST_F(EndToEnd, PushesBecomeOneCommitPerSelection) {
  const std::string host = registry_->host();
  const absl::Duration first = PushAndWaitFor("1.2.3", 2);
  EXPECT_THAT(*repo_->ReadFile("main", "clusters/my-cluster/deployment.yaml"),
              HasSubstr(host + "/myorg/my-app:1.2.3 # {"));
  EXPECT_THAT(*repo_->ReadFile("main", "clusters/my-cluster/values.yaml"),
              HasSubstr("tag: 1.2.3 # {"));
  EXPECT_THAT(
      *repo_->ReadFile("main", "clusters/my-cluster/kustomization.yaml"),
      HasSubstr("newTag: 1.2.3 # {"));

  const absl::Duration second = PushAndWaitFor("1.3.0", 3);
  const std::string head = Log().front();
  // Only the marked scalars changed: one line per file.
  EXPECT_EQ(*repo_->Show({"--numstat", "--format=", head}),
            "1\t1\tclusters/my-cluster/deployment.yaml\n"
            "1\t1\tclusters/my-cluster/kustomization.yaml\n"
            "1\t1\tclusters/my-cluster/values.yaml\n");
  EXPECT_EQ(
      *repo_->Message(head),
      // Objects in Go's map order: apiVersion, kind, name, namespace
      // (values.yaml is no Kubernetes object: all empty, first).
      absl::StrCat("Automated image update\n\n", "- /: 1.2.3 -> 1.3.0 \n",
                   "- Deployment/my-app: ", host, "/myorg/my-app:1.2.3 -> ",
                   host, "/myorg/my-app:1.3.0 \n",
                   "- Kustomization/: 1.2.3 -> 1.3.0 \n"));
  EXPECT_EQ(*repo_->Log("main", "%an <%ae>").value().begin(),
            "fluxbot <flux@example.com>");

  // 2.0.0 is outside the range: the tag set changes, the selection does not.
  auto digest = PushImage(registry_->url(), "myorg/my-app", "2.0.0");
  ASSERT_TRUE(digest.ok());
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(Log().size(), 3u);

  std::cout << "push-to-commit latency (notification path): 1.2.3 "
            << absl::FormatDuration(first) << ", 1.3.0 "
            << absl::FormatDuration(second) << "\n";
}

TEST_F(EndToEnd, Kill9OfEachServiceLosesAndDuplicatesNothing) {
  // A stream of pushes; between them each service in turn is killed with
  // SIGKILL and started again. Every commit must move the tag forward (no
  // commit twice for one selection), and the last push must end up on the
  // remote (nothing lost).
  Service* victims[] = {reflector_.get(), policy_.get(), automation_.get()};
  const int kPushes = 8;
  for (int i = 1; i <= kPushes; ++i) {
    const std::string tag = absl::StrCat("1.0.", i);
    ASSERT_TRUE(PushImage(registry_->url(), "myorg/my-app", tag).ok());
    if (i % 2 == 0 && i / 2 <= 3) {
      Service* victim = victims[i / 2 - 1];
      victim->Kill();
      ASSERT_TRUE(victim->Start().ok()) << victim->Log();
    }
  }
  const std::string last = absl::StrCat("tag: 1.0.", kPushes, " #");
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (repo_->ReadFile("main", "clusters/my-cluster/values.yaml")
                 .value_or("")
                 .find(last) == std::string::npos &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_THAT(
      repo_->ReadFile("main", "clusters/my-cluster/values.yaml").value_or(""),
      HasSubstr(last))
      << "reflector:\n"
      << reflector_->Log() << "\npolicy:\n"
      << policy_->Log() << "\nautomation:\n"
      << automation_->Log();
  absl::SleepFor(absl::Seconds(1));  // a duplicate would show up by now

  // Oldest first: the tag each commit wrote must rise strictly.
  std::vector<std::string> commits = Log();
  std::reverse(commits.begin(), commits.end());
  ASSERT_GE(commits.size(), 2u);
  int previous = 0;
  for (size_t i = 1; i < commits.size(); ++i) {
    auto values =
        repo_->ReadFile(commits[i], "clusters/my-cluster/values.yaml");
    ASSERT_TRUE(values.ok());
    const size_t at = values->find("tag: 1.0.");
    ASSERT_NE(at, std::string::npos) << *values;
    const int patch = std::atoi(values->c_str() + at + 9);
    EXPECT_GT(patch, previous)
        << "commit " << commits[i] << " repeats or steps back";
    previous = patch;
  }
  EXPECT_EQ(previous, kPushes);
}

constexpr char kStuckObjects[] = R"(apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: stuck
  namespace: flux-system
spec:
  url: http://HANGING/fleet.git
  timeout: 2s
  ref:
    branch: main
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata:
  name: stuck
  namespace: flux-system
spec:
  interval: 1h
  sourceRef:
    kind: GitRepository
    name: stuck
  git:
    commit:
      author:
        name: fluxbot
        email: flux@example.com
    push:
      branch: main
  update:
    path: ./clusters/my-cluster
)";

// A second automation's Git host accepts connections and never answers:
// its run times out (spec.timeout 2s) with GitOperationFailed and is run
// again with backoff and on the next selection, while the first automation
// commits each selection exactly once, undelayed.
TEST_F(EndToEnd, HangingGitRemoteTimesOutAndBlocksNoOneElse) {
  HangingServer hanging;
  ASSERT_TRUE(hanging.Start().ok());
  const std::string file = dir_.WriteFile(
      "stuck.yaml",
      absl::StrReplaceAll(kStuckObjects, {{"HANGING", hanging.host()}}));
  const absl::Time applied_at = absl::Now();
  CommandResult applied = RunCommand(
      IA_IMAGECTL_BIN,
      {"--automation=" + automation_->address(), "apply", "-f", file});
  ASSERT_EQ(applied.exit_code, 0) << applied.out << applied.err;
  auto stuck_json = [&] {
    return RunCommand(IA_IMAGECTL_BIN,
                      {"--automation=" + automation_->address(), "get", "image",
                       "update", "stuck", "-o", "json"})
        .out;
  };
  ASSERT_TRUE(Eventually([&] {
    return absl::StrContains(stuck_json(), "within the timeout of 2s");
  })) << stuck_json()
      << automation_->Log();
  const absl::Duration to_failure = absl::Now() - applied_at;
  EXPECT_THAT(stuck_json(), HasSubstr("GitOperationFailed"));
  // Run again with backoff (0.5 s, 1 s, ...), each run hanging until its
  // deadline: a third connection comes without any new selection.
  EXPECT_TRUE(Eventually([&] { return hanging.connections() >= 3; }))
      << hanging.connections() << " connections\n"
      << automation_->Log();
  const absl::Duration to_third = absl::Now() - applied_at;

  const absl::Duration first = PushAndWaitFor("1.2.3", 2);
  EXPECT_THAT(*repo_->ReadFile("main", "clusters/my-cluster/values.yaml"),
              HasSubstr("tag: 1.2.3 # {"));
  const int connections = hanging.connections();
  const absl::Duration second = PushAndWaitFor("1.3.0", 3);
  EXPECT_TRUE(Eventually([&] { return hanging.connections() > connections; }))
      << "the stuck automation was not run again on a new selection";
  absl::SleepFor(absl::Seconds(1));  // a duplicate would show up by now
  EXPECT_EQ(Log().size(), 3u) << "a selection was committed twice";
  std::cout << "hanging Git remote: failed run reported "
            << absl::FormatDuration(to_failure)
            << " after apply, third run connected after "
            << absl::FormatDuration(to_third)
            << "; the other automation's push-to-commit "
            << absl::FormatDuration(first) << ", "
            << absl::FormatDuration(second) << "\n";
}

// The same loop with mTLS between the services (a throwaway CA): the policy
// service reaches the reflector and the automation service only with its
// certificate.
class EndToEndMtls : public EndToEnd {
 protected:
  EndToEndMtls() { mtls_ = true; }
};

TEST_F(EndToEndMtls, PushBecomesACommit) {
  EXPECT_THAT(policy_->Log(), HasSubstr("\"mtls\":true"));
  PushAndWaitFor("1.2.3", 2);
  EXPECT_THAT(*repo_->ReadFile("main", "clusters/my-cluster/values.yaml"),
              HasSubstr("tag: 1.2.3 # {"));
}

}  // namespace
}  // namespace ia::testing
