#include "services/policy/policy_service.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/authn.h"
#include "common/feed_stream.h"
#include "common/log.h"
#include "common/object_controller.h"
#include "common/object_rpc.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "imageautomation/v1/policy.grpc.pb.h"
#include "imageautomation/v1/reflector.grpc.pb.h"
#include "services/policy/policy_index.h"
#include "services/policy/policy_reconciler.h"
#include "services/policy/select.h"
#include "services/policy/selection_book.h"
#include "services/policy/selection_publisher.h"
#include "services/policy/tag_set_watcher.h"

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
class PolicyImpl final : public v1::Policy::WithCallbackMethod_WatchSelections<
                             v1::Policy::Service> {
 public:
  PolicyImpl(ObjectStore<v1::ImagePolicy>* policies, Feed* selections)
      : policies_(policies), selections_(selections) {}

  grpc::ServerWriteReactor<v1::SelectionEvent>* WatchSelections(
      grpc::CallbackServerContext* context,
      const v1::WatchSelectionsRequest* request) override {
    if (grpc::Status allowed =
            CheckNamespace(*context, Verb::kRead, request->namespace_());
        !allowed.ok()) {
      return RefuseStream<v1::SelectionEvent>(std::move(allowed));
    }
    return ServeFeed<v1::SelectionEvent>(
        *selections_, Feed::NamespaceFilter(request->namespace_()),
        SelectionEventConverter());
  }

  grpc::Status ApplyImagePolicy(
      grpc::ServerContext* context, const v1::ApplyImagePolicyRequest* request,
      v1::ApplyImagePolicyResponse* response) override {
    return ApplyRpc(context, *policies_, request->object(), response);
  }
  grpc::Status GetImagePolicy(grpc::ServerContext* context,
                              const v1::ObjectKey* request,
                              v1::ImagePolicy* response) override {
    return GetRpc(context, *policies_, *request, response);
  }
  grpc::Status ListImagePolicies(grpc::ServerContext* context,
                                 const v1::ListRequest* request,
                                 v1::ImagePolicyList* response) override {
    return ListRpc(context, *policies_, *request, response);
  }
  grpc::Status DeleteImagePolicy(grpc::ServerContext* context,
                                 const v1::ObjectKey* request,
                                 v1::DeleteResponse*) override {
    return DeleteRpc(context, *policies_, *request);
  }
  grpc::Status ReconcileImagePolicy(grpc::ServerContext* context,
                                    const v1::ObjectKey* request,
                                    v1::ReconcileResponse* response) override {
    return ReconcileRpc(context, *policies_, *request, response);
  }
  grpc::Status Evaluate(grpc::ServerContext*,
                        const v1::EvaluateRequest* request,
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
  // `reflector` answers GetTagDigest (digestReflectionPolicy).
  PolicyModule(const ServiceContext& context, Peers peers,
               std::shared_ptr<grpc::ChannelCredentials> credentials,
               std::unique_ptr<v1::Reflector::StubInterface> reflector)
      : peers_(std::move(peers)),
        policies_(context, "imagepolicy",
                  [this](const std::string& key) {
                    return reconciler_.Reconcile(key);
                  }),
        impl_(&policies_.objects(), &selections_),
        tag_sets_(peers_.reflector, credentials, context.clock,
                  [this](const std::string& repository) {
                    const std::vector<std::string> keys =
                        repository.empty() ? index_.AllPolicies()
                                           : index_.PoliciesOf(repository);
                    for (const std::string& policy : keys) {
                      policies_.controller().Enqueue(policy);
                    }
                  }),
        publisher_(peers_.automation, credentials, &selections_),
        reflector_(std::move(reflector)),
        book_(context.store, &selections_),
        reconciler_({.policies = &policies_.objects(),
                     .tag_sets = &tag_sets_,
                     .reflector = reflector_.get(),
                     .selections = &book_,
                     .index = &index_,
                     .clock = context.clock}) {
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
    return policies_.objects()
        .Apply(std::get<v1::ImagePolicy>(object))
        .status();
  }

  void Start() override {
    log::Info("peers")
        .With("reflector", peers_.reflector)
        .With("automation", peers_.automation);
    // The Feed first, from the stored selections, before anything can
    // subscribe to it or reconcile.
    book_.Load(policies_.objects());
    policies_.Start();
    tag_sets_.Start();
    publisher_.Start();
  }

  void Drain() override { selections_.Close(); }
  void Stop() override {
    tag_sets_.Stop();
    publisher_.Stop();
    policies_.Stop();
  }
  // The workers and the watchers call members declared after them: they
  // stop before those go. Stop() is idempotent.
  ~PolicyModule() override { Stop(); }

 private:
  const Peers peers_;
  ObjectController<v1::ImagePolicy> policies_;
  // The current v1::Selection of each policy, for WatchSelections and the
  // push to the automation service.
  Feed selections_{"selections"};
  PolicyImpl impl_;
  PolicyIndex index_;
  TagSetWatcher tag_sets_;
  SelectionPublisher publisher_;
  // For digestReflectionPolicy: GetTagDigest.
  const std::unique_ptr<v1::Reflector::StubInterface> reflector_;
  SelectionBook book_;
  PolicyReconciler reconciler_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ServiceModule>> MakeModule(
    const ServiceContext& context, const Peers& peers) {
  ASSIGN_OR_RETURN(
      std::shared_ptr<grpc::ChannelCredentials> credentials,
      MakeChannelCredentials(context.config->tls_ca, context.config->tls_cert,
                             context.config->tls_key));
  ASSIGN_OR_RETURN(credentials,
                   WithBearerToken(std::move(credentials),
                                   !context.config->tls_ca.empty() ||
                                       !context.config->tls_cert.empty(),
                                   "", peers.token_file, "--peer-token-file"));
  std::unique_ptr<v1::Reflector::StubInterface> reflector =
      v1::Reflector::NewStub(grpc::CreateChannel(peers.reflector, credentials));
  return std::make_unique<PolicyModule>(context, peers, std::move(credentials),
                                        std::move(reflector));
}

}  // namespace ia::policy
