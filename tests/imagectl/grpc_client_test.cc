// imagectl over real gRPC: three in-process fake services, each on its own
// 127.0.0.1:0 port and each serving only its own service (so a call routed
// to the wrong owner fails), plus a closed port for a stopped service.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "imageautomation/v1/automation.grpc.pb.h"
#include "imageautomation/v1/policy.grpc.pb.h"
#include "imageautomation/v1/reflector.grpc.pb.h"
#include "tools/imagectl/cli.h"
#include "tools/imagectl/clients.h"

namespace ia::imagectl {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// The objects of one kind, as a service would keep them.
template <typename T>
class FakeStore {
 public:
  template <typename Response>
  grpc::Status Apply(const T& in, Response* response) {
    std::lock_guard<std::mutex> lock(mu_);
    T object = in;
    if (object.metadata().namespace_().empty()) {
      object.mutable_metadata()->set_namespace_("flux-system");
    }
    if (object.metadata().name() == "refused") {
      return grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat(KindOf<T>(), " ", object.metadata().namespace_(),
                       "/refused: spec: refused by the fake"));
    }
    auto [it, created] =
        objects_.insert_or_assign(Key(object.metadata()), object);
    *response->mutable_object() = it->second;
    response->mutable_result()->set_action(created ? "created" : "configured");
    return grpc::Status::OK;
  }

  grpc::Status Get(const v1::ObjectKey& key, T* out) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find(Key(key));
    if (it == objects_.end()) return NotFound(key);
    *out = it->second;
    return grpc::Status::OK;
  }

  template <typename List>
  grpc::Status ListInto(const v1::ListRequest& request, List* list) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, object] : objects_) {
      if (request.namespace_().empty() || key.first == request.namespace_()) {
        *list->add_items() = object;
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status Delete(const v1::ObjectKey& key) {
    std::lock_guard<std::mutex> lock(mu_);
    return objects_.erase(Key(key)) > 0 ? grpc::Status::OK : NotFound(key);
  }

  grpc::Status Reconcile(const v1::ObjectKey& key,
                         v1::ReconcileResponse* response) {
    std::lock_guard<std::mutex> lock(mu_);
    if (objects_.count(Key(key)) == 0) return NotFound(key);
    response->set_requested_at("2026-03-04T05:06:07Z");
    return grpc::Status::OK;
  }

  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return objects_.size();
  }

 private:
  using StoreKey = std::pair<std::string, std::string>;
  static StoreKey Key(const v1::ObjectMeta& m) {
    return {m.namespace_(), m.name()};
  }
  static StoreKey Key(const v1::ObjectKey& k) {
    return {k.namespace_().empty() ? "flux-system" : k.namespace_(), k.name()};
  }
  static grpc::Status NotFound(const v1::ObjectKey& key) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat(KindOf<T>(), " ", key.namespace_(), "/",
                                     key.name(), " not found"));
  }

  std::mutex mu_;
  std::map<StoreKey, T> objects_;
};

class FakeReflector final : public v1::Reflector::Service {
 public:
  FakeStore<v1::ImageRepository> store;
  std::atomic<bool> slow{false};

  grpc::Status ApplyImageRepository(
      grpc::ServerContext*, const v1::ApplyImageRepositoryRequest* request,
      v1::ApplyImageRepositoryResponse* response) override {
    return store.Apply(request->object(), response);
  }
  grpc::Status GetImageRepository(grpc::ServerContext*,
                                  const v1::ObjectKey* key,
                                  v1::ImageRepository* out) override {
    return store.Get(*key, out);
  }
  grpc::Status ListImageRepositories(grpc::ServerContext*,
                                     const v1::ListRequest* request,
                                     v1::ImageRepositoryList* list) override {
    if (slow) std::this_thread::sleep_for(std::chrono::milliseconds(800));
    return store.ListInto(*request, list);
  }
  grpc::Status DeleteImageRepository(grpc::ServerContext*,
                                     const v1::ObjectKey* key,
                                     v1::DeleteResponse*) override {
    return store.Delete(*key);
  }
  grpc::Status ReconcileImageRepository(
      grpc::ServerContext*, const v1::ObjectKey* key,
      v1::ReconcileResponse* response) override {
    return store.Reconcile(*key, response);
  }
};

class FakePolicy final : public v1::Policy::Service {
 public:
  FakeStore<v1::ImagePolicy> store;

  grpc::Status ApplyImagePolicy(
      grpc::ServerContext*, const v1::ApplyImagePolicyRequest* request,
      v1::ApplyImagePolicyResponse* response) override {
    return store.Apply(request->object(), response);
  }
  grpc::Status GetImagePolicy(grpc::ServerContext*, const v1::ObjectKey* key,
                              v1::ImagePolicy* out) override {
    return store.Get(*key, out);
  }
  grpc::Status ListImagePolicies(grpc::ServerContext*,
                                 const v1::ListRequest* request,
                                 v1::ImagePolicyList* list) override {
    return store.ListInto(*request, list);
  }
  grpc::Status DeleteImagePolicy(grpc::ServerContext*, const v1::ObjectKey* key,
                                 v1::DeleteResponse*) override {
    return store.Delete(*key);
  }
  grpc::Status ReconcileImagePolicy(grpc::ServerContext*,
                                    const v1::ObjectKey* key,
                                    v1::ReconcileResponse* response) override {
    return store.Reconcile(*key, response);
  }
};

class FakeAutomation final : public v1::Automation::Service {
 public:
  FakeStore<v1::ImageUpdateAutomation> updates;
  FakeStore<v1::GitRepository> gits;

  grpc::Status ApplyImageUpdateAutomation(
      grpc::ServerContext*,
      const v1::ApplyImageUpdateAutomationRequest* request,
      v1::ApplyImageUpdateAutomationResponse* response) override {
    return updates.Apply(request->object(), response);
  }
  grpc::Status GetImageUpdateAutomation(
      grpc::ServerContext*, const v1::ObjectKey* key,
      v1::ImageUpdateAutomation* out) override {
    return updates.Get(*key, out);
  }
  grpc::Status ListImageUpdateAutomations(
      grpc::ServerContext*, const v1::ListRequest* request,
      v1::ImageUpdateAutomationList* list) override {
    return updates.ListInto(*request, list);
  }
  grpc::Status DeleteImageUpdateAutomation(grpc::ServerContext*,
                                           const v1::ObjectKey* key,
                                           v1::DeleteResponse*) override {
    return updates.Delete(*key);
  }
  grpc::Status ReconcileImageUpdateAutomation(
      grpc::ServerContext*, const v1::ObjectKey* key,
      v1::ReconcileResponse* response) override {
    return updates.Reconcile(*key, response);
  }
  grpc::Status ApplyGitRepository(
      grpc::ServerContext*, const v1::ApplyGitRepositoryRequest* request,
      v1::ApplyGitRepositoryResponse* response) override {
    return gits.Apply(request->object(), response);
  }
  grpc::Status GetGitRepository(grpc::ServerContext*, const v1::ObjectKey* key,
                                v1::GitRepository* out) override {
    return gits.Get(*key, out);
  }
  grpc::Status ListGitRepositories(grpc::ServerContext*,
                                   const v1::ListRequest* request,
                                   v1::GitRepositoryList* list) override {
    return gits.ListInto(*request, list);
  }
  grpc::Status DeleteGitRepository(grpc::ServerContext*,
                                   const v1::ObjectKey* key,
                                   v1::DeleteResponse*) override {
    return gits.Delete(*key);
  }
  grpc::Status ReconcileGitRepository(
      grpc::ServerContext*, const v1::ObjectKey* key,
      v1::ReconcileResponse* response) override {
    return gits.Reconcile(*key, response);
  }
};

std::unique_ptr<grpc::Server> Serve(grpc::Service* service, int* port) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           port);
  builder.RegisterService(service);
  return builder.BuildAndStart();
}

// A loopback port nothing listens on.
int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  return ntohs(addr.sin_port);
}

class GrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    reflector_server_ = Serve(&reflector_, &reflector_port_);
    policy_server_ = Serve(&policy_, &policy_port_);
    automation_server_ = Serve(&automation_, &automation_port_);
    ASSERT_NE(reflector_server_, nullptr);
    ASSERT_NE(policy_server_, nullptr);
    ASSERT_NE(automation_server_, nullptr);
  }
  void TearDown() override {
    for (auto* server :
         {&reflector_server_, &policy_server_, &automation_server_}) {
      if (*server) (*server)->Shutdown();
    }
  }

  // Runs imagectl against the fakes; `extra_env` plays the environment.
  int Run(std::vector<std::string> args,
          std::map<std::string, std::string> extra_env = {}) {
    std::vector<std::string> full = {
        absl::StrCat("--reflector=127.0.0.1:", reflector_port_),
        absl::StrCat("--policy=127.0.0.1:", policy_port_),
        absl::StrCat("--automation=127.0.0.1:", automation_port_)};
    for (const auto& [name, value] : extra_env) {
      // An address in the environment replaces the flag.
      for (int i = 0; i < kServiceCount; ++i) {
        if (name == ServiceEnvVar(static_cast<Service>(i))) {
          full.erase(std::remove_if(full.begin(), full.end(),
                                    [i](const std::string& a) {
                                      return absl::StartsWith(
                                          a,
                                          ServiceFlag(static_cast<Service>(i)));
                                    }),
                     full.end());
        }
      }
    }
    full.insert(full.end(), args.begin(), args.end());
    RunEnvironment env = DefaultRunEnvironment();
    env.getenv =
        [extra_env](const std::string& name) -> std::optional<std::string> {
      auto it = extra_env.find(name);
      if (it == extra_env.end()) return std::nullopt;
      return it->second;
    };
    out_.str("");
    err_.str("");
    return imagectl::Run(full, env, out_, err_);
  }

  std::string WriteManifests(const std::string& text) {
    const std::filesystem::path path =
        std::filesystem::path(::testing::TempDir()) /
        absl::StrCat(
            ::testing::UnitTest::GetInstance()->current_test_info()->name(),
            ".yaml");
    std::ofstream(path) << text;
    return path.string();
  }

  FakeReflector reflector_;
  FakePolicy policy_;
  FakeAutomation automation_;
  int reflector_port_ = 0;
  int policy_port_ = 0;
  int automation_port_ = 0;
  std::unique_ptr<grpc::Server> reflector_server_;
  std::unique_ptr<grpc::Server> policy_server_;
  std::unique_ptr<grpc::Server> automation_server_;
  std::ostringstream out_;
  std::ostringstream err_;
};

constexpr char kManifests[] = R"(apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: app
spec:
  image: ghcr.io/org/app
  interval: 1m
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImagePolicy
metadata:
  name: app
  namespace: apps
spec:
  imageRepositoryRef:
    name: app
    namespace: flux-system
  policy:
    alphabetical:
      order: asc
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata:
  name: auto
spec:
  interval: 1m
  sourceRef:
    kind: GitRepository
    name: repo
  git:
    commit:
      author:
        email: bot@example.com
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: repo
spec:
  url: https://example.com/repo.git
  interval: 1m
)";

TEST_F(GrpcTest, ApplyReachesEachOwner) {
  ASSERT_EQ(Run({"apply", "-f", WriteManifests(kManifests)}), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            "ImageRepository flux-system/app created\n"
            "ImagePolicy apps/app created\n"
            "ImageUpdateAutomation flux-system/auto created\n"
            "GitRepository flux-system/repo created\n");
  EXPECT_EQ(reflector_.store.size(), 1u);
  EXPECT_EQ(policy_.store.size(), 1u);
  EXPECT_EQ(automation_.updates.size(), 1u);
  EXPECT_EQ(automation_.gits.size(), 1u);
}

TEST_F(GrpcTest, GetDeleteReconcile) {
  ASSERT_EQ(Run({"apply", "-f", WriteManifests(kManifests)}), 0) << err_.str();

  EXPECT_EQ(Run({"get", "image", "policy", "-A"}), 0);
  EXPECT_EQ(
      out_.str(),
      "NAMESPACE   NAME   LATEST IMAGE   READY     MESSAGE\n"
      "apps        app                   Unknown   waiting to be reconciled\n");

  EXPECT_EQ(Run({"get", "source", "git", "repo", "-o", "yaml"}), 0);
  EXPECT_THAT(out_.str(),
              StartsWith("apiVersion: source.toolkit.fluxcd.io/v1\n"));

  EXPECT_EQ(Run({"reconcile", "image", "update", "auto"}), 0);
  EXPECT_EQ(out_.str(),
            "reconcile requested for ImageUpdateAutomation flux-system/auto "
            "at 2026-03-04T05:06:07Z\n");

  EXPECT_EQ(Run({"delete", "image", "repository", "app"}), 0);
  EXPECT_EQ(out_.str(), "deleted ImageRepository flux-system/app\n");
  EXPECT_EQ(Run({"delete", "image", "repository", "app"}), 1);
  EXPECT_EQ(err_.str(),
            "imagectl: ImageRepository flux-system/app not found\n");
}

TEST_F(GrpcTest, InvalidArgumentFromTheServiceIsPrintedAsIs) {
  EXPECT_EQ(Run({"create", "image", "repository", "refused",
                 "--image=ghcr.io/org/x"}),
            1);
  EXPECT_EQ(err_.str(),
            "imagectl: ImageRepository flux-system/refused: spec: refused by "
            "the fake\n");
}

TEST_F(GrpcTest, StoppedServiceExitsThreeWithAClearMessage) {
  const int port = ClosedPort();
  EXPECT_EQ(Run({absl::StrCat("--reflector=127.0.0.1:", port), "get", "image",
                 "repository"}),
            3);
  EXPECT_EQ(
      err_.str(),
      absl::StrCat("imagectl: cannot reach the reflector at 127.0.0.1:", port,
                   " (connection refused): is image-reflector running? "
                   "Set --reflector or IMAGECTL_REFLECTOR\n"));
  EXPECT_EQ(out_.str(), "");
}

TEST_F(GrpcTest, StoppedServiceFromTheEnvironment) {
  const int port = ClosedPort();
  EXPECT_EQ(Run({"reconcile", "image", "policy", "app"},
                {{"IMAGECTL_POLICY", absl::StrCat("127.0.0.1:", port)}}),
            3);
  EXPECT_EQ(
      err_.str(),
      absl::StrCat("imagectl: cannot reach the policy at 127.0.0.1:", port,
                   " (connection refused): is image-policy running? "
                   "Set --policy or IMAGECTL_POLICY\n"));
}

TEST_F(GrpcTest, ApplyWithOneServiceStopped) {
  const int port = ClosedPort();
  EXPECT_EQ(Run({absl::StrCat("--automation=127.0.0.1:", port), "apply", "-f",
                 WriteManifests(kManifests)}),
            3);
  EXPECT_EQ(out_.str(),
            "ImageRepository flux-system/app created\n"
            "ImagePolicy apps/app created\n");
  const std::string err = err_.str();
  EXPECT_THAT(err, StartsWith("imagectl: cannot reach the automation at"));
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

TEST_F(GrpcTest, SlowServiceHitsTheTimeout) {
  reflector_.slow = true;
  EXPECT_EQ(Run({"--timeout=200ms", "get", "image", "repository"}), 3);
  EXPECT_EQ(err_.str(),
            absl::StrCat("imagectl: cannot reach the reflector at 127.0.0.1:",
                         reflector_port_,
                         " (no answer within 200ms): is image-reflector "
                         "running? Set --reflector or IMAGECTL_REFLECTOR\n"));
}

TEST_F(GrpcTest, UnreadableTlsFilesAreUsageErrors) {
  EXPECT_EQ(Run({"--tls-ca=/nonexistent/ca.pem", "get", "image", "repository"}),
            2);
  EXPECT_THAT(
      err_.str(),
      StartsWith("imagectl: --tls-ca: cannot read /nonexistent/ca.pem"));
  EXPECT_EQ(Run({"--tls-cert=/x.pem", "get", "image", "repository"}), 2);
  EXPECT_EQ(err_.str(),
            "imagectl: --tls-cert and --tls-key must be given together\n");
}

TEST(UnreachableMessageTest, ShortReasons) {
  EXPECT_EQ(
      UnreachableMessage(Service::kAutomation, "h:1",
                         absl::StatusCode::kUnavailable,
                         "DNS resolution failed for h:1", absl::Seconds(10)),
      "cannot reach the automation at h:1 (cannot resolve the host name): is "
      "image-automation running? Set --automation or IMAGECTL_AUTOMATION");
  EXPECT_THAT(UnreachableMessage(
                  Service::kPolicy, "h:1", absl::StatusCode::kUnavailable,
                  "failed to connect to all addresses; last error: "
                  "UNKNOWN: Ssl handshake failed: SSL_ERROR_SSL",
                  absl::Seconds(10)),
              HasSubstr("(TLS handshake failed)"));
  EXPECT_THAT(UnreachableMessage(
                  Service::kPolicy, "h:1", absl::StatusCode::kUnavailable,
                  "the service is shutting down", absl::Seconds(10)),
              HasSubstr("(the service is shutting down)"));
  EXPECT_THAT(UnreachableMessage(Service::kReflector, "h:1",
                                 absl::StatusCode::kDeadlineExceeded,
                                 "Deadline Exceeded", absl::Seconds(10)),
              HasSubstr("(no answer within 10s)"));
}

TEST(RoutingTest, OwnerOfEachKind) {
  EXPECT_EQ(OwnerOf(Kind::kImageRepository), Service::kReflector);
  EXPECT_EQ(OwnerOf(Kind::kImagePolicy), Service::kPolicy);
  EXPECT_EQ(OwnerOf(Kind::kImageUpdateAutomation), Service::kAutomation);
  EXPECT_EQ(OwnerOf(Kind::kGitRepository), Service::kAutomation);
  EXPECT_EQ(KindOfObject(AnyObject(v1::GitRepository())), Kind::kGitRepository);
  EXPECT_EQ(KindOfObject(AnyObject(v1::ImagePolicy())), Kind::kImagePolicy);
}

}  // namespace
}  // namespace ia::imagectl
