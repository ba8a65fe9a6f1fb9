// imagectl against the real services: apply routes each kind to its owner,
// get prints Flux-shaped objects that survive a restart, and a stopped
// service fails with a clear message and exit code 3.
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/harness.h"

namespace ia::testing {
namespace {

using ::testing::HasSubstr;

class ImagectlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    reflector_ = Make(IA_REFLECTOR_BIN, "reflector");
    policy_ = Make(IA_POLICY_BIN, "policy");
    automation_ = Make(IA_AUTOMATION_BIN, "automation");
    for (Service* s : {reflector_.get(), policy_.get(), automation_.get()}) {
      absl::Status status = s->Start();
      ASSERT_TRUE(status.ok()) << status;
    }
  }

  std::unique_ptr<Service> Make(const char* binary, const std::string& name) {
    return std::make_unique<Service>(
        ServiceOptions{binary, dir_.Join("data-" + name), {}},
        dir_.Join(name + ".log"));
  }

  CommandResult Imagectl(std::vector<std::string> args) {
    args.insert(args.begin(), {"--reflector=" + reflector_->address(),
                               "--policy=" + policy_->address(),
                               "--automation=" + automation_->address()});
    return RunCommand(IA_IMAGECTL_BIN, args);
  }

  // `get ... -o json`, parsed; waits until status.observedGeneration is 1
  // so that the object's status has been written.
  nlohmann::json GetObserved(const std::vector<std::string>& what) {
    nlohmann::json object;
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      std::vector<std::string> args = {"get"};
      args.insert(args.end(), what.begin(), what.end());
      args.insert(args.end(), {"-o", "json"});
      CommandResult r = Imagectl(args);
      EXPECT_EQ(r.exit_code, 0) << r.err;
      object = nlohmann::json::parse(r.out, nullptr, false);
      if (object.contains("status") &&
          object["status"].value("observedGeneration", 0) == 1) {
        return object;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    ADD_FAILURE() << "not observed: " << object.dump();
    return object;
  }

  TempDir dir_;
  std::unique_ptr<Service> reflector_, policy_, automation_;
};

TEST_F(ImagectlTest, ApplyRoutesEachKindAndGetSurvivesRestarts) {
  CommandResult applied = Imagectl({"apply", "-f", IA_EXAMPLES_DIR});
  ASSERT_EQ(applied.exit_code, 0) << applied.out << applied.err;
  EXPECT_THAT(applied.out,
              HasSubstr("ImageRepository flux-system/my-app created"));
  EXPECT_THAT(applied.out, HasSubstr("ImagePolicy flux-system/my-app created"));
  EXPECT_THAT(
      applied.out,
      HasSubstr("ImageUpdateAutomation flux-system/my-app-automation created"));
  EXPECT_THAT(applied.out,
              HasSubstr("GitRepository flux-system/flux-system created"));
  // Applying the same files again changes nothing.
  applied = Imagectl({"apply", "-f", IA_EXAMPLES_DIR});
  EXPECT_THAT(applied.out,
              HasSubstr("ImageRepository flux-system/my-app unchanged"));

  const std::vector<std::vector<std::string>> objects = {
      {"image", "repository", "my-app"},
      {"image", "policy", "my-app"},
      {"image", "update", "my-app-automation"},
      {"source", "git", "flux-system"}};
  std::vector<nlohmann::json> before;
  for (const auto& o : objects) before.push_back(GetObserved(o));
  EXPECT_EQ(before[0]["apiVersion"], "image.toolkit.fluxcd.io/v1");
  EXPECT_EQ(before[0]["kind"], "ImageRepository");
  EXPECT_EQ(before[0]["spec"]["image"], "docker.io/myorg/my-app");
  EXPECT_EQ(before[0]["status"]["canonicalImageName"],
            "index.docker.io/myorg/my-app");
  EXPECT_EQ(before[1]["spec"]["policy"]["semver"]["range"], ">=1.0.0 <2.0.0");

  // SIGTERM for the reflector and policy, kill -9 for the automation.
  ASSERT_EQ(reflector_->Terminate(), 0);
  ASSERT_EQ(policy_->Terminate(), 0);
  automation_->Kill();
  for (Service* s : {reflector_.get(), policy_.get(), automation_.get()}) {
    ASSERT_TRUE(s->Start().ok());
  }
  for (size_t i = 0; i < objects.size(); ++i) {
    EXPECT_EQ(GetObserved(objects[i]), before[i]) << objects[i][1];
  }

  CommandResult table = Imagectl({"get", "image", "repository"});
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_THAT(table.out, HasSubstr("NAME"));
  EXPECT_THAT(table.out, HasSubstr("my-app"));
}

TEST_F(ImagectlTest, InvalidManifestIsRefusedWithTheField) {
  const std::string file =
      dir_.WriteFile("bad.yaml", R"(apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: app
  namespace: flux-system
spec:
  image: docker.io/org/app:1.0.0
  interval: 1m
)");
  CommandResult r = Imagectl({"apply", "-f", file});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("spec.image"));
  EXPECT_THAT(r.err, HasSubstr("ImageRepository flux-system/app"));
  CommandResult get = Imagectl({"get", "image", "repository", "app"});
  EXPECT_EQ(get.exit_code, 1);
  EXPECT_THAT(get.err, HasSubstr("ImageRepository flux-system/app not found"));
}

TEST_F(ImagectlTest, CreateDeleteAndReconcile) {
  CommandResult r =
      Imagectl({"create", "image", "repository", "podinfo",
                "--image=ghcr.io/stefanprodan/podinfo", "--interval=5m"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Imagectl({"create", "image", "policy", "podinfo", "--image-ref=podinfo",
                "--select-semver=5.0.x"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json policy = GetObserved({"image", "policy", "podinfo"});
  EXPECT_EQ(policy["spec"]["imageRepositoryRef"]["name"], "podinfo");

  r = Imagectl({"reconcile", "image", "repository", "podinfo"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // The request is handled: status.lastHandledReconcileAt catches up.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  nlohmann::json repository;
  while (absl::Now() < deadline) {
    repository = nlohmann::json::parse(
        Imagectl({"get", "image", "repository", "podinfo", "-o", "json"}).out,
        nullptr, false);
    const auto& annotations = repository["metadata"]["annotations"];
    if (annotations.is_object() &&
        repository["status"].contains("lastHandledReconcileAt") &&
        repository["status"]["lastHandledReconcileAt"] ==
            annotations["reconcile.fluxcd.io/requestedAt"]) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(repository["status"].contains("lastHandledReconcileAt"))
      << repository.dump();

  r = Imagectl({"delete", "image", "policy", "podinfo"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = Imagectl({"delete", "image", "policy", "podinfo"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("not found"));
}

TEST(ImagectlStopped, StoppedServiceFailsClearlyWithExitThree) {
  const std::string address = absl::StrCat("127.0.0.1:", FreePort());
  CommandResult r = RunCommand(IA_IMAGECTL_BIN, {"--reflector=" + address,
                                                 "get", "image", "repository"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("cannot reach the reflector at " + address));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;

  r = RunCommand(IA_IMAGECTL_BIN, {"get", "image", "policy"},
                 {"IMAGECTL_POLICY=" + address});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("IMAGECTL_POLICY"));
}

}  // namespace
}  // namespace ia::testing
