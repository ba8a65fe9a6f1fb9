// The three service binaries as separate processes on loopback ports:
// health and reflection, persistence across restarts (also kill -9),
// validation at the RPC edge, manifests at start, graceful stop.
#include <sys/wait.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/objects.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "imageautomation/v1/automation.grpc.pb.h"
#include "imageautomation/v1/policy.grpc.pb.h"
#include "imageautomation/v1/reflector.grpc.pb.h"
#include "tests/support/harness.h"
#include "tests/support/objects.h"

namespace ia::testing {
namespace {

namespace v1 = ::imageautomation::v1;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;

struct Binary {
  const char* name;
  const char* path;
  const char* service;  // full gRPC service name
};

const Binary kBinaries[] = {
    {"reflector", IA_REFLECTOR_BIN, "imageautomation.v1.Reflector"},
    {"policy", IA_POLICY_BIN, "imageautomation.v1.Policy"},
    {"automation", IA_AUTOMATION_BIN, "imageautomation.v1.Automation"},
};

std::unique_ptr<Service> StartService(const TempDir& dir, const Binary& binary,
                                      std::vector<std::string> extra = {}) {
  auto service = std::make_unique<Service>(
      ServiceOptions{binary.path, dir.Join(std::string("data-") + binary.name),
                     std::move(extra)},
      dir.Join(std::string(binary.name) + ".log"));
  absl::Status status = service->Start();
  EXPECT_TRUE(status.ok()) << status;
  return service;
}

grpc::Status Call(
    const std::function<grpc::Status(grpc::ClientContext*)>& rpc) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  return rpc(&context);
}

v1::ObjectKey Key(const std::string& name) {
  v1::ObjectKey key;
  key.set_namespace_("flux-system");
  key.set_name(name);
  return key;
}

v1::ImageRepository Repository(const std::string& name,
                               const std::string& interval) {
  return TestRepository(name, "registry.example:5000/team/app", interval);
}

// Waits until the reflector has reconciled generation `generation` of `name`.
v1::ImageRepository WaitObserved(v1::Reflector::Stub& stub,
                                 const std::string& name, int64_t generation) {
  v1::ImageRepository got;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    grpc::Status status = Call([&](grpc::ClientContext* c) {
      return stub.GetImageRepository(c, Key(name), &got);
    });
    if (status.ok() && got.status().observed_generation() == generation)
      return got;
    absl::SleepFor(absl::Milliseconds(20));
  }
  ADD_FAILURE() << "generation " << generation << " of " << name
                << " not observed";
  return got;
}

class EachService : public ::testing::TestWithParam<Binary> {};

TEST_P(EachService, AnswersHealthAndReflection) {
  TempDir dir;
  auto service = StartService(dir, GetParam());
  auto channel = service->Channel();

  EXPECT_EQ(HealthCheck(channel, "").value_or(-1), 1);
  EXPECT_EQ(HealthCheck(channel, GetParam().service).value_or(-1), 1);
  EXPECT_EQ(HealthCheck(channel, "no.such.Service").status().code(),
            absl::StatusCode::kNotFound);

  auto services = ReflectionListServices(channel);
  ASSERT_TRUE(services.ok()) << services.status();
  EXPECT_THAT(*services,
              ::testing::IsSupersetOf(
                  {std::string(GetParam().service),
                   std::string("grpc.health.v1.Health"),
                   std::string("grpc.reflection.v1alpha.ServerReflection")}));

  // What `grpcurl describe grpc.health.v1.Health` needs: the descriptor.
  auto files = ReflectionFileContainingSymbol(channel, "grpc.health.v1.Health");
  ASSERT_TRUE(files.ok()) << files.status();
  bool found = false;
  for (const auto& file : *files) {
    for (const auto& s : file.service()) {
      if (file.package() == "grpc.health.v1" && s.name() == "Health")
        found = true;
    }
  }
  EXPECT_TRUE(found);
  auto own = ReflectionFileContainingSymbol(channel, GetParam().service);
  EXPECT_TRUE(own.ok()) << own.status();
}

TEST_P(EachService, SigtermStopsCleanly) {
  TempDir dir;
  auto service = StartService(dir, GetParam());
  const int status = service->Terminate();
  ASSERT_TRUE(WIFEXITED(status)) << service->Log();
  EXPECT_EQ(WEXITSTATUS(status), 0) << service->Log();
  EXPECT_THAT(service->Log(), HasSubstr("\"msg\":\"stopped\""));
}

INSTANTIATE_TEST_SUITE_P(Binaries, EachService, ::testing::ValuesIn(kBinaries),
                         [](const auto& info) {
                           return std::string(info.param.name);
                         });

TEST(Reflector, ObjectAndStatusSurviveRestartAndKill9) {
  TempDir dir;
  auto service = StartService(dir, kBinaries[0]);
  auto stub = v1::Reflector::NewStub(service->Channel());

  v1::ApplyImageRepositoryRequest request;
  *request.mutable_object() = Repository("app", "1m");
  (*request.mutable_object()->mutable_metadata()->mutable_labels())["team"] =
      "a";
  v1::ApplyImageRepositoryResponse response;
  ASSERT_TRUE(Call([&](grpc::ClientContext* c) {
                return stub->ApplyImageRepository(c, request, &response);
              }).ok());
  EXPECT_EQ(response.result().action(), "created");
  EXPECT_EQ(response.object().metadata().generation(), 1);
  const v1::ImageRepository before = WaitObserved(*stub, "app", 1);
  ASSERT_NE(FindCondition(before.status().conditions(), "Ready"), nullptr);
  EXPECT_EQ(before.status().canonical_image_name(),
            "registry.example:5000/team/app");

  ASSERT_EQ(service->Terminate(), 0) << service->Log();
  ASSERT_TRUE(service->Start().ok());
  stub = v1::Reflector::NewStub(service->Channel());
  v1::ImageRepository after;
  ASSERT_TRUE(Call([&](grpc::ClientContext* c) {
                return stub->GetImageRepository(c, Key("app"), &after);
              }).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(before, after))
      << before.DebugString() << "\n----\n"
      << after.DebugString();

  // A spec change, acknowledged, then kill -9: nothing acknowledged is lost.
  *request.mutable_object() = Repository("app", "2m");
  ASSERT_TRUE(Call([&](grpc::ClientContext* c) {
                return stub->ApplyImageRepository(c, request, &response);
              }).ok());
  EXPECT_EQ(response.result().action(), "configured");
  EXPECT_EQ(response.object().metadata().generation(), 2);
  const v1::ImageRepository applied = WaitObserved(*stub, "app", 2);
  service->Kill();
  ASSERT_TRUE(service->Start().ok());
  stub = v1::Reflector::NewStub(service->Channel());
  ASSERT_TRUE(Call([&](grpc::ClientContext* c) {
                return stub->GetImageRepository(c, Key("app"), &after);
              }).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(applied, after))
      << applied.DebugString() << "\n----\n"
      << after.DebugString();
  EXPECT_EQ(after.spec().interval(), "2m");
}

TEST(Reflector, InvalidApplyIsRefusedNamingTheFieldAndChangesNothing) {
  TempDir dir;
  auto service = StartService(dir, kBinaries[0]);
  auto stub = v1::Reflector::NewStub(service->Channel());

  v1::ApplyImageRepositoryRequest request;
  v1::ApplyImageRepositoryResponse response;
  *request.mutable_object() = Repository("app", "5x");
  grpc::Status status = Call([&](grpc::ClientContext* c) {
    return stub->ApplyImageRepository(c, request, &response);
  });
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("ImageRepository flux-system/app"));
  EXPECT_THAT(status.error_message(), HasSubstr("spec.interval"));
  EXPECT_THAT(status.error_message(), HasSubstr("\"5x\""));
  v1::ImageRepository got;
  EXPECT_EQ(Call([&](grpc::ClientContext* c) {
              return stub->GetImageRepository(c, Key("app"), &got);
            }).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // An invalid update of a stored object leaves the stored one as it was.
  *request.mutable_object() = Repository("app", "1m");
  ASSERT_TRUE(Call([&](grpc::ClientContext* c) {
                return stub->ApplyImageRepository(c, request, &response);
              }).ok());
  request.mutable_object()->mutable_spec()->set_image(
      "https://registry.example/app:1.0");
  status = Call([&](grpc::ClientContext* c) {
    return stub->ApplyImageRepository(c, request, &response);
  });
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("spec.image"));
  ASSERT_TRUE(Call([&](grpc::ClientContext* c) {
                return stub->GetImageRepository(c, Key("app"), &got);
              }).ok());
  EXPECT_EQ(got.spec().image(), "registry.example:5000/team/app");
  EXPECT_EQ(got.metadata().generation(), 1);
}

// Applies an ImagePolicy flux-system/app over repository "app" with a
// semver range, changed by `edit` first.
grpc::Status ApplyPolicy(
    v1::Policy::Stub& stub, const std::string& range,
    const std::function<void(v1::ImagePolicy*)>& edit = {}) {
  v1::ApplyImagePolicyRequest request;
  auto* policy = request.mutable_object();
  policy->mutable_metadata()->set_name("app");
  policy->mutable_spec()->mutable_image_repository_ref()->set_name("app");
  policy->mutable_spec()->mutable_policy()->mutable_semver()->set_range(range);
  if (edit) edit(policy);
  v1::ApplyImagePolicyResponse response;
  return Call([&](grpc::ClientContext* c) {
    return stub.ApplyImagePolicy(c, request, &response);
  });
}

TEST(Policy, InvalidSpecsAreRefusedOnApplyAndEvaluateSelects) {
  TempDir dir;
  auto service = StartService(dir, kBinaries[1]);
  auto stub = v1::Policy::NewStub(service->Channel());

  grpc::Status status = ApplyPolicy(*stub, ">=1.0.0", [](v1::ImagePolicy* p) {
    p->mutable_spec()->mutable_policy()->mutable_alphabetical()->set_order(
        "asc");
  });
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("ImagePolicy flux-system/app"));
  EXPECT_THAT(status.error_message(), HasSubstr("spec.policy: only one of"));

  status = ApplyPolicy(*stub, ">=1.0.0 <<2");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("ImagePolicy flux-system/app"));
  EXPECT_THAT(status.error_message(), HasSubstr("spec.policy.semver.range"));
  EXPECT_THAT(status.error_message(), HasSubstr(">=1.0.0 <<2"));
  EXPECT_TRUE(ApplyPolicy(*stub, ">=1.0.0 <2.0.0").ok());

  v1::EvaluateRequest evaluate;
  evaluate.mutable_spec()->mutable_policy()->mutable_semver()->set_range(
      ">=1.0.0 <2.0.0");
  for (const char* tag : {"1.2.3", "v1.3.0", "2.0.0", "1.4.0-rc.1", "latest"}) {
    evaluate.add_tags(tag);
  }
  v1::EvaluateResponse selected;
  ASSERT_TRUE(Call([&](grpc::ClientContext* c) {
                return stub->Evaluate(c, evaluate, &selected);
              }).ok());
  EXPECT_EQ(selected.tag(), "v1.3.0");
  evaluate.clear_tags();
  evaluate.add_tags("3.0.0");
  EXPECT_EQ(Call([&](grpc::ClientContext* c) {
              return stub->Evaluate(c, evaluate, &selected);
            }).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST(Services, ManifestsAtStartGoToTheirOwners) {
  TempDir dir;
  const std::string manifests = dir.Join("manifests");
  dir.WriteFile("manifests/all.yaml",
                R"(apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageRepository
metadata:
  name: my-app
  namespace: flux-system
spec:
  image: docker.io/myorg/my-app
  interval: 1m
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
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
  name: flux-system
  namespace: flux-system
spec:
  url: https://git.example/org/fleet
  interval: 1m
  ref:
    branch: main
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageUpdateAutomation
metadata:
  name: my-app-automation
  namespace: flux-system
spec:
  interval: 1m
  sourceRef:
    kind: GitRepository
    name: flux-system
  git:
    checkout:
      ref:
        branch: main
    commit:
      author:
        name: fluxbot
        email: flux@example.com
    push:
      branch: main
  update:
    path: ./clusters/my-cluster
    strategy: Setters
)");
  // A bad document beside the good ones: logged, skipped, the rest applied.
  dir.WriteFile("manifests/bad.yaml", R"(apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: broken
spec:
  image: docker.io/myorg/broken
  interval: 5x
)");

  auto reflector =
      StartService(dir, kBinaries[0], {"--manifests=" + manifests});
  auto policy = StartService(dir, kBinaries[1], {"--manifests=" + manifests});
  auto automation =
      StartService(dir, kBinaries[2], {"--manifests=" + manifests});

  v1::ImageRepositoryList repositories;
  auto rstub = v1::Reflector::NewStub(reflector->Channel());
  ASSERT_TRUE(Call([&](grpc::ClientContext* c) {
                return rstub->ListImageRepositories(c, v1::ListRequest(),
                                                    &repositories);
              }).ok());
  ASSERT_EQ(repositories.items_size(), 1);
  EXPECT_EQ(repositories.items(0).metadata().name(), "my-app");
  EXPECT_EQ(repositories.items(0).api_version(), "image.toolkit.fluxcd.io/v1");
  EXPECT_EQ(repositories.items(0).spec().image(), "docker.io/myorg/my-app");
  EXPECT_THAT(reflector->Log(), HasSubstr("spec.interval"));

  v1::ImagePolicyList policies;
  auto pstub = v1::Policy::NewStub(policy->Channel());
  ASSERT_TRUE(Call([&](grpc::ClientContext* c) {
                return pstub->ListImagePolicies(c, v1::ListRequest(),
                                                &policies);
              }).ok());
  ASSERT_EQ(policies.items_size(), 1);
  EXPECT_EQ(policies.items(0).spec().policy().semver().range(),
            ">=1.0.0 <2.0.0");

  auto astub = v1::Automation::NewStub(automation->Channel());
  v1::ImageUpdateAutomationList automations;
  ASSERT_TRUE(Call([&](grpc::ClientContext* c) {
                return astub->ListImageUpdateAutomations(c, v1::ListRequest(),
                                                         &automations);
              }).ok());
  ASSERT_EQ(automations.items_size(), 1);
  EXPECT_EQ(automations.items(0).spec().update().path(),
            "./clusters/my-cluster");
  v1::GitRepositoryList sources;
  ASSERT_TRUE(Call([&](grpc::ClientContext* c) {
                return astub->ListGitRepositories(c, v1::ListRequest(),
                                                  &sources);
              }).ok());
  ASSERT_EQ(sources.items_size(), 1);
  EXPECT_EQ(sources.items(0).spec().ref().branch(), "main");
}

v1::SelectionEvent Event(v1::SelectionEvent::Type type, uint64_t sequence,
                         const std::string& policy = "",
                         const std::string& tag = "") {
  v1::SelectionEvent event;
  event.set_type(type);
  event.set_sequence(sequence);
  if (!policy.empty()) {
    *event.mutable_selection()->mutable_policy() = Key(policy);
    event.mutable_selection()->mutable_latest_ref()->set_name("docker.io/org/" +
                                                              policy);
    event.mutable_selection()->mutable_latest_ref()->set_tag(tag);
  }
  return event;
}

// Publishes `events` on one PublishSelections stream; returns the acks.
std::vector<uint64_t> Publish(v1::Automation::Stub& stub,
                              const std::vector<v1::SelectionEvent>& events,
                              grpc::Status* status) {
  grpc::ClientContext context;
  auto stream = stub.PublishSelections(&context);
  std::vector<uint64_t> acks;
  for (const auto& event : events) {
    if (!stream->Write(event)) break;
    v1::PublishSelectionsAck ack;
    if (!stream->Read(&ack)) break;
    acks.push_back(ack.sequence());
  }
  stream->WritesDone();
  *status = stream->Finish();
  return acks;
}

std::vector<std::string> SelectedTags(v1::Automation::Stub& stub) {
  v1::SelectionList list;
  EXPECT_TRUE(Call([&](grpc::ClientContext* c) {
                return stub.ListSelections(c, v1::ListRequest(), &list);
              }).ok());
  std::vector<std::string> tags;
  for (const auto& s : list.items()) {
    tags.push_back(s.policy().name() + "=" + s.latest_ref().tag());
  }
  return tags;
}

TEST(Automation, PublishedSelectionsAreAcknowledgedStoredAndResynced) {
  TempDir dir;
  auto service = StartService(dir, kBinaries[2]);
  auto stub = v1::Automation::NewStub(service->Channel());

  grpc::Status status;
  auto acks = Publish(*stub,
                      {Event(v1::SelectionEvent::SNAPSHOT, 1, "a", "1.0.0"),
                       Event(v1::SelectionEvent::SNAPSHOT, 2, "b", "2.0.0"),
                       Event(v1::SelectionEvent::SNAPSHOT_END, 3),
                       Event(v1::SelectionEvent::UPDATED, 4, "a", "1.1.0")},
                      &status);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(acks, ::testing::ElementsAre(1, 2, 3, 4));
  EXPECT_THAT(SelectedTags(*stub),
              ::testing::ElementsAre("a=1.1.0", "b=2.0.0"));

  // Acknowledged means stored: kill -9 and restart keeps them.
  service->Kill();
  ASSERT_TRUE(service->Start().ok());
  stub = v1::Automation::NewStub(service->Channel());
  EXPECT_THAT(SelectedTags(*stub),
              ::testing::ElementsAre("a=1.1.0", "b=2.0.0"));

  // A new publisher's snapshot replaces the view: b is gone.
  acks = Publish(*stub,
                 {Event(v1::SelectionEvent::SNAPSHOT, 1, "a", "1.2.0"),
                  Event(v1::SelectionEvent::SNAPSHOT_END, 2)},
                 &status);
  EXPECT_TRUE(status.ok());
  EXPECT_THAT(SelectedTags(*stub), ::testing::ElementsAre("a=1.2.0"));

  // A sequence that does not increase is refused.
  acks = Publish(*stub,
                 {Event(v1::SelectionEvent::SNAPSHOT, 5, "a", "1.2.0"),
                  Event(v1::SelectionEvent::UPDATED, 5, "a", "9.9.9")},
                 &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("sequence"));
  EXPECT_THAT(acks, ::testing::ElementsAre(5));
  EXPECT_THAT(SelectedTags(*stub), ::testing::ElementsAre("a=1.2.0"));

  // A publisher with no selections at all empties the view.
  acks = Publish(*stub, {Event(v1::SelectionEvent::SNAPSHOT_END, 1)}, &status);
  EXPECT_TRUE(status.ok());
  EXPECT_THAT(SelectedTags(*stub), ::testing::IsEmpty());
}

}  // namespace
}  // namespace ia::testing
