// The reflector module: wires the ports together (the store's objects and
// tag sets, the feed, the registry client, secrets, clock, push inbox) into
// the reconciler, its two lanes (the objects' controller, which scans, and
// the push lane, which only applies pushes), the gRPC service and the push
// webhook. No work here.
#include "services/reflector/reflector_service.h"

#include <optional>

#include "common/controller.h"
#include "common/http_server.h"
#include "common/object_controller.h"
#include "grpcpp/impl/service_type.h"
#include "services/reflector/push_inbox.h"
#include "services/reflector/push_webhook.h"
#include "services/reflector/reflector_reconciler.h"
#include "services/reflector/reflector_rpc.h"
#include "services/reflector/tag_set_store.h"

namespace ia::reflector {
namespace {

// Workers of the push lane: applying a push is a store read and write.
constexpr int kPushWorkers = 2;

class ReflectorModule final : public ServiceModule {
 public:
  ReflectorModule(const ServiceContext& context, ReflectorOptions options)
      : registry_(options.registry != nullptr
                      ? std::move(options.registry)
                      : MakeRegistryClient(options.registry_config)),
        tag_set_store_(MakeStoreTagSetStore(context.store)),
        repositories_(context, "imagerepository",
                      [this](const std::string& key) {
                        return reconciler_.Reconcile(key);
                      }),
        reconciler_(ReconcilerPorts{.repositories = &repositories_.objects(),
                                    .tag_sets = tag_set_store_.get(),
                                    .tag_set_feed = &tag_set_feed_,
                                    .registry = registry_.get(),
                                    .secrets = context.secrets,
                                    .clock = context.clock,
                                    .pushes = &pushes_},
                    ReconcilerOptions{
                        .limits = options.limits,
                        .confirm_scan_delay = options.confirm_scan_delay}),
        rpc_(MakeReflectorRpc(
            ReflectorRpcPorts{.repositories = &repositories_.objects(),
                              .tag_sets = tag_set_store_.get(),
                              .tag_set_feed = &tag_set_feed_,
                              .registry = registry_.get(),
                              .secrets = context.secrets,
                              .limits = options.limits})),
        // A push neither waits behind the queued scans nor for a scan of its
        // repository in flight; its confirming scan goes to the objects'
        // controller.
        push_lane_(
            Controller::Options{.name = "imagerepository-push",
                                .workers = kPushWorkers,
                                .clock = context.clock},
            [this](const std::string& key) -> absl::StatusOr<ReconcileResult> {
              absl::StatusOr<std::optional<absl::Duration>> confirm_after =
                  reconciler_.ReconcilePushes(key);
              if (!confirm_after.ok()) return confirm_after.status();
              if (confirm_after->has_value()) {
                repositories_.controller().EnqueueAfter(key, **confirm_after);
              }
              return ReconcileResult{};
            }),
        webhook_(
            &repositories_.objects(), &pushes_, context.clock,
            [this](const std::string& key) { push_lane_.Enqueue(key); },
            PushWebhook::Options{.token = options.events_token,
                                 .wait = options.push_answer_wait}) {}

  // The workers call the reconciler: they stop before it goes.
  ~ReflectorModule() override { Stop(); }

  std::vector<std::pair<grpc::Service*, std::string>> Services() override {
    return {{rpc_.get(), ReflectorRpcName()}};
  }

  bool Owns(const AnyObject& object) const override {
    return std::holds_alternative<v1::ImageRepository>(object);
  }

  absl::Status ApplyManifest(const AnyObject& object) override {
    return repositories_.objects()
        .Apply(std::get<v1::ImageRepository>(object))
        .status();
  }

  void RegisterHttp(HttpServer& http) override {
    http.Handle("POST", std::string(kRegistryEventsPath),
                [this](const HttpRequest& request) {
                  return webhook_.Handle(request);
                });
  }

  void Start() override {
    // Subscribers get the stored tag sets at once, before any scan.
    reconciler_.PublishStored();
    push_lane_.Start();
    repositories_.Start();
  }
  void Drain() override { tag_set_feed_.Close(); }
  void Stop() override {
    push_lane_.Stop();
    repositories_.Stop();
  }

 private:
  const std::shared_ptr<RegistryClient> registry_;
  const std::unique_ptr<TagSetStore> tag_set_store_;
  // The latest v1::TagSet of each repository, in its stored form
  // (tag_set_store.h) in a google.protobuf.StringValue, for WatchTagSets.
  Feed tag_set_feed_{"tag_sets"};
  PushInbox pushes_;
  ObjectController<v1::ImageRepository> repositories_;
  ImageRepositoryReconciler reconciler_;
  const std::unique_ptr<grpc::Service> rpc_;
  // Keys with pushes to apply; calls reconciler_.ReconcilePushes.
  Controller push_lane_;
  PushWebhook webhook_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ServiceModule>> MakeModule(
    const ServiceContext& context, ReflectorOptions options) {
  return std::make_unique<ReflectorModule>(context, std::move(options));
}

}  // namespace ia::reflector
