#include "services/automation/automation_service.h"

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/authn.h"
#include "common/log.h"
#include "common/object_controller.h"
#include "common/object_rpc.h"
#include "imageautomation/v1/automation.grpc.pb.h"
#include "services/automation/automation_reconciler.h"
#include "services/automation/git.h"
#include "services/automation/selection_store.h"
#include "services/automation/selection_stream.h"

namespace ia::automation {
namespace {

// How long a selection change waits for others before the automations of
// its namespace run: several policies of one repository change together
// when its tag set does, and they should make one commit.
constexpr absl::Duration kSelectionBatchDelay = absl::Milliseconds(50);

using Automations = ObjectController<v1::ImageUpdateAutomation>;
using Sources = ObjectController<v1::GitRepository>;

class AutomationImpl final
    : public v1::Automation::WithCallbackMethod_PublishSelections<
          v1::Automation::Service> {
 public:
  AutomationImpl(Automations* automations, Sources* sources,
                 SelectionStore* selections)
      : automations_(&automations->objects()),
        sources_(&sources->objects()),
        selections_(selections),
        streams_(selections, [this, automations](const std::string& ns) {
          // A selection changed: the automations of its namespace look
          // again, shortly, so that selections arriving together make
          // one commit.
          auto list = automations_->List(ns);
          if (!list.ok()) return;
          for (const auto& automation : *list) {
            automations->controller().EnqueueAfter(KeyOf(automation.metadata()),
                                                   kSelectionBatchDelay);
          }
        }) {}

  grpc::Status ApplyImageUpdateAutomation(
      grpc::ServerContext* context,
      const v1::ApplyImageUpdateAutomationRequest* request,
      v1::ApplyImageUpdateAutomationResponse* response) override {
    return ApplyRpc(context, *automations_, request->object(), response);
  }
  grpc::Status GetImageUpdateAutomation(
      grpc::ServerContext* context, const v1::ObjectKey* request,
      v1::ImageUpdateAutomation* response) override {
    return GetRpc(context, *automations_, *request, response);
  }
  grpc::Status ListImageUpdateAutomations(
      grpc::ServerContext* context, const v1::ListRequest* request,
      v1::ImageUpdateAutomationList* response) override {
    return ListRpc(context, *automations_, *request, response);
  }
  grpc::Status DeleteImageUpdateAutomation(grpc::ServerContext* context,
                                           const v1::ObjectKey* request,
                                           v1::DeleteResponse*) override {
    return DeleteRpc(context, *automations_, *request);
  }
  grpc::Status ReconcileImageUpdateAutomation(
      grpc::ServerContext* context, const v1::ObjectKey* request,
      v1::ReconcileResponse* response) override {
    return ReconcileRpc(context, *automations_, *request, response);
  }

  grpc::Status ApplyGitRepository(
      grpc::ServerContext* context,
      const v1::ApplyGitRepositoryRequest* request,
      v1::ApplyGitRepositoryResponse* response) override {
    return ApplyRpc(context, *sources_, request->object(), response);
  }
  grpc::Status GetGitRepository(grpc::ServerContext* context,
                                const v1::ObjectKey* request,
                                v1::GitRepository* response) override {
    return GetRpc(context, *sources_, *request, response);
  }
  grpc::Status ListGitRepositories(grpc::ServerContext* context,
                                   const v1::ListRequest* request,
                                   v1::GitRepositoryList* response) override {
    return ListRpc(context, *sources_, *request, response);
  }
  grpc::Status DeleteGitRepository(grpc::ServerContext* context,
                                   const v1::ObjectKey* request,
                                   v1::DeleteResponse*) override {
    return DeleteRpc(context, *sources_, *request);
  }
  grpc::Status ReconcileGitRepository(
      grpc::ServerContext* context, const v1::ObjectKey* request,
      v1::ReconcileResponse* response) override {
    return ReconcileRpc(context, *sources_, *request, response);
  }

  // Ends the PublishSelections streams (ServiceModule::Drain).
  void CloseStreams() { streams_.Close(); }

  grpc::ServerBidiReactor<v1::SelectionEvent, v1::PublishSelectionsAck>*
  PublishSelections(grpc::CallbackServerContext* context) override {
    return streams_.Open(context->peer());
  }

  grpc::Status ListSelections(grpc::ServerContext* context,
                              const v1::ListRequest* request,
                              v1::SelectionList* response) override {
    if (grpc::Status allowed =
            CheckNamespace(*context, Verb::kRead, request->namespace_());
        !allowed.ok()) {
      return allowed;
    }
    auto selections = selections_->List(request->namespace_());
    if (!selections.ok()) return ToGrpcStatus(selections.status());
    for (v1::Selection& selection : *selections) {
      *response->add_items() = std::move(selection);
    }
    return grpc::Status::OK;
  }

 private:
  ObjectStore<v1::ImageUpdateAutomation>* const automations_;
  ObjectStore<v1::GitRepository>* const sources_;
  SelectionStore* const selections_;
  // Last: destroyed (its writer thread joined) before the rest.
  SelectionStreams streams_;
};

// Wires the service: the object controllers, the reconciler on its ports,
// the gRPC service.
class AutomationModule final : public ServiceModule {
 public:
  explicit AutomationModule(const ServiceContext& context)
      : selections_(context.store),
        git_(MakeGitCheckoutFactory(
            (std::filesystem::path(context.config->data_dir) / "git")
                .string())),
        automations_(context, "imageupdateautomation",
                     [this](const std::string& key) {
                       return reconciler_.ReconcileAutomation(key);
                     }),
        sources_(context, "gitrepository",
                 [this](const std::string& key) {
                   return reconciler_.ReconcileSource(key);
                 }),
        reconciler_({.automations = &automations_.objects(),
                     .sources = &sources_.objects(),
                     .git = git_.get(),
                     .selections = &selections_,
                     .clock = context.clock,
                     .secrets = context.secrets,
                     .enqueue_automation =
                         [this](const std::string& key) {
                           automations_.controller().Enqueue(key);
                         }}),
        impl_(&automations_, &sources_, &selections_) {}

  std::vector<std::pair<grpc::Service*, std::string>> Services() override {
    return {{&impl_, v1::Automation::service_full_name()}};
  }

  bool Owns(const AnyObject& object) const override {
    return std::holds_alternative<v1::ImageUpdateAutomation>(object) ||
           std::holds_alternative<v1::GitRepository>(object);
  }

  absl::Status ApplyManifest(const AnyObject& object) override {
    if (const auto* a = std::get_if<v1::ImageUpdateAutomation>(&object)) {
      return automations_.objects().Apply(*a).status();
    }
    return sources_.objects()
        .Apply(std::get<v1::GitRepository>(object))
        .status();
  }

  void Start() override {
    sources_.Start();
    automations_.Start();
  }

  // The policy services' streams end at once, so that the gRPC server's
  // Shutdown() need not wait for them (they reconnect to another replica
  // or after the restart, and publish a snapshot).
  void Drain() override { impl_.CloseStreams(); }

  void Stop() override {
    automations_.Stop();
    sources_.Stop();
  }

 private:
  SelectionStore selections_;
  std::unique_ptr<GitCheckoutFactory> git_;
  Automations automations_;
  Sources sources_;
  AutomationReconciler reconciler_;
  AutomationImpl impl_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ServiceModule>> MakeModule(
    const ServiceContext& context) {
  return std::make_unique<AutomationModule>(context);
}

}  // namespace ia::automation
