#include "services/policy/policy_service.h"

#include "common/feed_stream.h"
#include "common/log.h"
#include "common/object_controller.h"
#include "common/object_rpc.h"
#include "imageautomation/v1/policy.grpc.pb.h"
#include "services/policy/select.h"

namespace ia::policy {
namespace {

// Converts feed events to WatchSelections events, numbering them per stream.
class SelectionEventConverter {
 public:
  v1::SelectionEvent operator()(const FeedEvent& event) {
    v1::SelectionEvent out =
        ToStreamEvent(event, &v1::SelectionEvent::mutable_selection,
                      &v1::Selection::mutable_policy);
    out.set_sequence(++sequence_);
    return out;
  }

 private:
  uint64_t sequence_ = 0;
};

// Unary RPCs on the sync API (short store transactions); the selection
// stream on the callback API.
class PolicyImpl final
    : public v1::Policy::WithCallbackMethod_WatchSelections<v1::Policy::Service> {
 public:
  PolicyImpl(ObjectStore<v1::ImagePolicy>* policies, Feed* selections)
      : policies_(policies), selections_(selections) {}

  grpc::ServerWriteReactor<v1::SelectionEvent>* WatchSelections(
      grpc::CallbackServerContext*,
      const v1::WatchSelectionsRequest* request) override {
    return ServeFeed<v1::SelectionEvent>(
        *selections_, Feed::NamespaceFilter(request->namespace_()),
        SelectionEventConverter());
  }

  grpc::Status ApplyImagePolicy(grpc::ServerContext*,
                                const v1::ApplyImagePolicyRequest* request,
                                v1::ApplyImagePolicyResponse* response) override {
    return ApplyRpc(*policies_, request->object(), response);
  }
  grpc::Status GetImagePolicy(grpc::ServerContext*, const v1::ObjectKey* request,
                              v1::ImagePolicy* response) override {
    return GetRpc(*policies_, *request, response);
  }
  grpc::Status ListImagePolicies(grpc::ServerContext*,
                                 const v1::ListRequest* request,
                                 v1::ImagePolicyList* response) override {
    return ListRpc(*policies_, *request, response);
  }
  grpc::Status DeleteImagePolicy(grpc::ServerContext*,
                                 const v1::ObjectKey* request,
                                 v1::DeleteResponse*) override {
    return DeleteRpc(*policies_, *request);
  }
  grpc::Status ReconcileImagePolicy(grpc::ServerContext*,
                                    const v1::ObjectKey* request,
                                    v1::ReconcileResponse* response) override {
    return ReconcileRpc(*policies_, *request, response);
  }
  grpc::Status Evaluate(grpc::ServerContext*, const v1::EvaluateRequest* request,
                        v1::EvaluateResponse* response) override {
    const std::vector<std::string> tags(request->tags().begin(),
                                        request->tags().end());
    absl::StatusOr<std::string> tag = SelectTag(request->spec(), tags);
    if (!tag.ok()) return ToGrpcStatus(tag.status());
    response->set_tag(*std::move(tag));
    return grpc::Status::OK;
  }

 private:
  ObjectStore<v1::ImagePolicy>* const policies_;
  Feed* const selections_;
};

class PolicyModule final : public ServiceModule {
 public:
  PolicyModule(const ServiceContext& context, Peers peers)
      : context_(context),
        peers_(std::move(peers)),
        policies_(context, "imagepolicy",
                  [this](const std::string& key) { return Reconcile(key); }),
        impl_(&policies_.objects(), &selections_) {
    // Ranges and patterns are checked on Apply, not first at selection.
    policies_.objects().SetValidator([](const v1::ImagePolicy& policy) {
      return ValidatePolicySpec(policy.spec());
    });
  }

  std::vector<std::pair<grpc::Service*, std::string>> Services() override {
    return {{&impl_, v1::Policy::service_full_name()}};
  }

  bool Owns(const AnyObject& object) const override {
    return std::holds_alternative<v1::ImagePolicy>(object);
  }

  absl::Status ApplyManifest(const AnyObject& object) override {
    return policies_.objects().Apply(std::get<v1::ImagePolicy>(object)).status();
  }

  void Start() override {
    log::Info("peers")
        .With("reflector", peers_.reflector)
        .With("automation", peers_.automation);
    policies_.Start();
  }

  void Drain() override { selections_.Close(); }
  void Stop() override { policies_.Stop(); }

 private:
  // Level-based: makes status reflect the stored spec. Tag selection is not
  // part of this build yet; the Ready condition says so.
  absl::StatusOr<ReconcileResult> Reconcile(const std::string& key) {
    auto& policies = policies_.objects();
    ASSIGN_OR_RETURN(auto found, policies.Find(key));
    if (!found) {
      selections_.Remove(key);
      return ReconcileResult{};
    }
    if (found->spec().suspend()) return ReconcileResult{};
    const absl::Time now = context_.clock->Now();
    RETURN_IF_ERROR(
        policies
            .UpdateStatus(key,
                          [&](v1::ImagePolicy* policy) {
                            MarkObserved(policy);
                            SetCondition(policy->mutable_status()->mutable_conditions(),
                                         kReady, kUnknown, "DependencyNotReady",
                                         "waiting for the image repository's tags",
                                         policy->metadata().generation(), now);
                          })
            .status());
    return ReconcileResult{};
  }

  const ServiceContext context_;
  const Peers peers_;
  ObjectController<v1::ImagePolicy> policies_;
  // The current v1::Selection of each policy, for WatchSelections.
  Feed selections_;
  PolicyImpl impl_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ServiceModule>> MakeModule(
    const ServiceContext& context, const Peers& peers) {
  return std::make_unique<PolicyModule>(context, peers);
}

}  // namespace ia::policy
