#include "services/automation/automation_service.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "common/duration.h"
#include "common/log.h"
#include "common/object_controller.h"
#include "common/object_rpc.h"
#include "imageautomation/v1/automation.grpc.pb.h"

namespace ia::automation {
namespace {

using Automations = ObjectController<v1::ImageUpdateAutomation>;
using Sources = ObjectController<v1::GitRepository>;

// Applies one publisher's stream of selection events to the store. Not
// thread-safe: one instance per stream.
class SelectionSink {
 public:
  SelectionSink(Store* store, std::function<void(const std::string& ns)> changed)
      : store_(store), changed_(std::move(changed)) {}

  absl::Status Apply(const v1::SelectionEvent& event) {
    if (event.sequence() <= last_sequence_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "sequence ", event.sequence(), " does not follow ", last_sequence_));
    }
    last_sequence_ = event.sequence();
    if (event.type() == v1::SelectionEvent::SNAPSHOT_END) return EndSnapshot();
    const v1::ObjectKey& policy = event.selection().policy();
    if (policy.name().empty() || policy.namespace_().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("event ", event.sequence(),
                       ": selection.policy needs a namespace and a name"));
    }
    const std::string key = KeyOf(policy.namespace_(), policy.name());
    switch (event.type()) {
      case v1::SelectionEvent::SNAPSHOT:
        in_snapshot_.insert(key);
        [[fallthrough]];
      case v1::SelectionEvent::UPDATED:
        RETURN_IF_ERROR(store_->Put(kSelectionBucket, key,
                                    event.selection().SerializeAsString()));
        break;
      case v1::SelectionEvent::DELETED:
        RETURN_IF_ERROR(store_->Delete(kSelectionBucket, key).status());
        break;
      default:
        return absl::InvalidArgumentError(absl::StrCat(
            "event ", event.sequence(), ": unknown type ", event.type()));
    }
    changed_(policy.namespace_());
    return absl::OkStatus();
  }

 private:
  // Drops stored selections the publisher's snapshot did not mention.
  absl::Status EndSnapshot() {
    ASSIGN_OR_RETURN(auto stored, store_->List(kSelectionBucket));
    std::vector<Store::Write> deletes;
    std::set<std::string> namespaces;
    for (const auto& [key, value] : stored) {
      if (in_snapshot_.count(key) > 0) continue;
      deletes.push_back({std::string(kSelectionBucket), key, std::nullopt});
      std::string ns, name;
      if (SplitKey(key, &ns, &name)) namespaces.insert(ns);
    }
    in_snapshot_.clear();
    RETURN_IF_ERROR(store_->Commit(deletes));
    for (const std::string& ns : namespaces) changed_(ns);
    return absl::OkStatus();
  }

  Store* const store_;
  std::function<void(const std::string& ns)> changed_;
  uint64_t last_sequence_ = 0;
  std::set<std::string> in_snapshot_;
};

class AutomationImpl final : public v1::Automation::Service {
 public:
  AutomationImpl(Automations* automations, Sources* sources, Store* store)
      : automations_(&automations->objects()),
        sources_(&sources->objects()),
        automation_controller_(automations),
        store_(store) {}

  grpc::Status ApplyImageUpdateAutomation(
      grpc::ServerContext*, const v1::ApplyImageUpdateAutomationRequest* request,
      v1::ApplyImageUpdateAutomationResponse* response) override {
    return ApplyRpc(*automations_, request->object(), response);
  }
  grpc::Status GetImageUpdateAutomation(
      grpc::ServerContext*, const v1::ObjectKey* request,
      v1::ImageUpdateAutomation* response) override {
    return GetRpc(*automations_, *request, response);
  }
  grpc::Status ListImageUpdateAutomations(
      grpc::ServerContext*, const v1::ListRequest* request,
      v1::ImageUpdateAutomationList* response) override {
    return ListRpc(*automations_, *request, response);
  }
  grpc::Status DeleteImageUpdateAutomation(grpc::ServerContext*,
                                           const v1::ObjectKey* request,
                                           v1::DeleteResponse*) override {
    return DeleteRpc(*automations_, *request);
  }
  grpc::Status ReconcileImageUpdateAutomation(
      grpc::ServerContext*, const v1::ObjectKey* request,
      v1::ReconcileResponse* response) override {
    return ReconcileRpc(*automations_, *request, response);
  }

  grpc::Status ApplyGitRepository(
      grpc::ServerContext*, const v1::ApplyGitRepositoryRequest* request,
      v1::ApplyGitRepositoryResponse* response) override {
    return ApplyRpc(*sources_, request->object(), response);
  }
  grpc::Status GetGitRepository(grpc::ServerContext*,
                                const v1::ObjectKey* request,
                                v1::GitRepository* response) override {
    return GetRpc(*sources_, *request, response);
  }
  grpc::Status ListGitRepositories(grpc::ServerContext*,
                                   const v1::ListRequest* request,
                                   v1::GitRepositoryList* response) override {
    return ListRpc(*sources_, *request, response);
  }
  grpc::Status DeleteGitRepository(grpc::ServerContext*,
                                   const v1::ObjectKey* request,
                                   v1::DeleteResponse*) override {
    return DeleteRpc(*sources_, *request);
  }
  grpc::Status ReconcileGitRepository(grpc::ServerContext*,
                                      const v1::ObjectKey* request,
                                      v1::ReconcileResponse* response) override {
    return ReconcileRpc(*sources_, *request, response);
  }

  grpc::Status PublishSelections(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::PublishSelectionsAck, v1::SelectionEvent>*
          stream) override {
    log::Info("selection publisher connected").With("peer", context->peer());
    SelectionSink sink(store_, [this](const std::string& ns) {
      // A selection changed: the automations of its namespace look again.
      auto list = automations_->List(ns);
      if (!list.ok()) return;
      for (const auto& automation : *list) {
        automation_controller_->controller().Enqueue(KeyOf(automation.metadata()));
      }
    });
    v1::SelectionEvent event;
    while (stream->Read(&event)) {
      absl::Status status = sink.Apply(event);
      if (!status.ok()) {
        log::Warn("selection event refused").With("error", status);
        return ToGrpcStatus(status);
      }
      v1::PublishSelectionsAck ack;
      ack.set_sequence(event.sequence());
      if (!stream->Write(ack)) break;
    }
    log::Info("selection publisher disconnected").With("peer", context->peer());
    return grpc::Status::OK;
  }

  grpc::Status ListSelections(grpc::ServerContext*,
                              const v1::ListRequest* request,
                              v1::SelectionList* response) override {
    const std::string prefix =
        request->namespace_().empty() ? "" : request->namespace_() + "/";
    auto rows = store_->List(kSelectionBucket, prefix);
    if (!rows.ok()) return ToGrpcStatus(rows.status());
    for (const auto& [key, value] : *rows) {
      if (!response->add_items()->ParseFromString(value)) {
        return grpc::Status(grpc::StatusCode::DATA_LOSS,
                            "stored selection " + key + " cannot be parsed");
      }
    }
    return grpc::Status::OK;
  }

 private:
  ObjectStore<v1::ImageUpdateAutomation>* const automations_;
  ObjectStore<v1::GitRepository>* const sources_;
  Automations* const automation_controller_;
  Store* const store_;
};

class AutomationModule final : public ServiceModule {
 public:
  explicit AutomationModule(const ServiceContext& context)
      : context_(context),
        automations_(context, "imageupdateautomation",
                     [this](const std::string& key) {
                       return ReconcileAutomation(key);
                     }),
        sources_(context, "gitrepository",
                 [this](const std::string& key) { return ReconcileSource(key); }),
        impl_(&automations_, &sources_, context.store) {}

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
    return sources_.objects().Apply(std::get<v1::GitRepository>(object)).status();
  }

  void Start() override {
    sources_.Start();
    automations_.Start();
  }

  void Stop() override {
    automations_.Stop();
    sources_.Stop();
  }

 private:
  // Level-based: makes status reflect the stored spec. Git work is not part
  // of this build yet; the Ready condition says so.
  absl::StatusOr<ReconcileResult> ReconcileAutomation(const std::string& key) {
    auto& automations = automations_.objects();
    ASSIGN_OR_RETURN(auto found, automations.Find(key));
    if (!found || found->spec().suspend()) return ReconcileResult{};
    ASSIGN_OR_RETURN(absl::Duration interval,
                     ParseDuration(found->spec().interval()));
    const absl::Time now = context_.clock->Now();
    RETURN_IF_ERROR(
        automations
            .UpdateStatus(key,
                          [&](v1::ImageUpdateAutomation* automation) {
                            MarkObserved(automation);
                            SetCondition(
                                automation->mutable_status()->mutable_conditions(),
                                kReady, kUnknown, "Progressing",
                                "waiting for the first automation run",
                                automation->metadata().generation(), now);
                          })
            .status());
    return ReconcileResult{.requeue_after = interval};
  }

  absl::StatusOr<ReconcileResult> ReconcileSource(const std::string& key) {
    auto& sources = sources_.objects();
    ASSIGN_OR_RETURN(auto found, sources.Find(key));
    if (!found || found->spec().suspend()) return ReconcileResult{};
    const absl::Time now = context_.clock->Now();
    RETURN_IF_ERROR(
        sources
            .UpdateStatus(key,
                          [&](v1::GitRepository* source) {
                            MarkObserved(source);
                            SetCondition(source->mutable_status()->mutable_conditions(),
                                         kReady, kUnknown, "Progressing",
                                         "waiting for the first fetch",
                                         source->metadata().generation(), now);
                          })
            .status());
    return ReconcileResult{};
  }

  const ServiceContext context_;
  Automations automations_;
  Sources sources_;
  AutomationImpl impl_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ServiceModule>> MakeModule(
    const ServiceContext& context) {
  return std::make_unique<AutomationModule>(context);
}

}  // namespace ia::automation
