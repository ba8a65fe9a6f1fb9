#include "services/policy/policy_service.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/duration.h"
#include "common/feed_stream.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/object_controller.h"
#include "common/object_rpc.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "imageautomation/v1/policy.grpc.pb.h"
#include "imageautomation/v1/reflector.grpc.pb.h"
#include "services/policy/select.h"
#include "services/policy/selection_publisher.h"
#include "services/policy/tag_set_watcher.h"

namespace ia::policy {
namespace {

// Registered at start so that /metrics shows it before any selection.
metrics::CounterFamily& selections_metric =
    metrics::Registry::Default().AddCounter(
        "ia_selections_total",
        "Tag selections by ImagePolicies, by result: changed (a new selection "
        "published), unchanged, failure (no tag qualifies).",
        {"result"});

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
      grpc::CallbackServerContext*,
      const v1::WatchSelectionsRequest* request) override {
    return ServeFeed<v1::SelectionEvent>(
        *selections_, Feed::NamespaceFilter(request->namespace_()),
        SelectionEventConverter());
  }

  grpc::Status ApplyImagePolicy(
      grpc::ServerContext*, const v1::ApplyImagePolicyRequest* request,
      v1::ApplyImagePolicyResponse* response) override {
    return ApplyRpc(*policies_, request->object(), response);
  }
  grpc::Status GetImagePolicy(grpc::ServerContext*,
                              const v1::ObjectKey* request,
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

// The selections of the policies, as last published, in the policy
// service's own store: the Feed is filled from it at Start, so that a
// restart publishes no duplicate change.
constexpr absl::string_view kSelectionBucket = "Selection";

// The ImageRepository key ("namespace/name") a policy selects from; the
// namespace defaults to the policy's own.
std::string RepositoryKeyOf(const v1::ImagePolicy& policy) {
  const auto& ref = policy.spec().image_repository_ref();
  return KeyOf(ref.namespace_().empty() ? policy.metadata().namespace_()
                                        : ref.namespace_(),
               ref.name());
}

bool SameLabels(const google::protobuf::Map<std::string, std::string>& a,
                const google::protobuf::Map<std::string, std::string>& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end() || it->second != v) return false;
  }
  return true;
}

bool SameRef(const v1::ImageRef& a, const v1::ImageRef& b) {
  return a.name() == b.name() && a.tag() == b.tag() && a.digest() == b.digest();
}

// Which policies select from which repository, so that a tag set change
// enqueues exactly those. Filled by Reconcile. Thread-safe.
class PolicyIndex {
 public:
  void Set(const std::string& policy, const std::string& repository) {
    absl::MutexLock lock(&mu_);
    auto it = repository_of_.find(policy);
    if (it != repository_of_.end()) {
      if (it->second == repository) return;
      policies_of_[it->second].erase(policy);
    }
    repository_of_[policy] = repository;
    policies_of_[repository].insert(policy);
  }
  void Remove(const std::string& policy) {
    absl::MutexLock lock(&mu_);
    auto it = repository_of_.find(policy);
    if (it == repository_of_.end()) return;
    policies_of_[it->second].erase(policy);
    repository_of_.erase(it);
  }
  std::vector<std::string> AllPolicies() const {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> keys;
    for (const auto& [policy, repository] : repository_of_)
      keys.push_back(policy);
    return keys;
  }
  std::vector<std::string> PoliciesOf(const std::string& repository) const {
    absl::MutexLock lock(&mu_);
    auto it = policies_of_.find(repository);
    if (it == policies_of_.end()) return {};
    return {it->second.begin(), it->second.end()};
  }

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, std::string> repository_of_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::set<std::string>> policies_of_
      ABSL_GUARDED_BY(mu_);
};

class PolicyModule final : public ServiceModule {
 public:
  PolicyModule(const ServiceContext& context, Peers peers,
               std::shared_ptr<grpc::ChannelCredentials> credentials)
      : context_(context),
        peers_(std::move(peers)),
        policies_(context, "imagepolicy",
                  [this](const std::string& key) { return Reconcile(key); }),
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
        reflector_(v1::Reflector::NewStub(
            grpc::CreateChannel(peers_.reflector, credentials))) {
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
    LoadSelections();
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

 private:
  void LoadSelections() {
    auto rows = context_.store->List(kSelectionBucket, "");
    if (!rows.ok()) {
      log::Error("cannot read stored selections").With("error", rows.status());
      return;
    }
    for (const auto& [key, value] : *rows) {
      auto selection = std::make_shared<v1::Selection>();
      if (!selection->ParseFromString(value)) {
        log::Error("stored selection cannot be parsed").With("policy", key);
        continue;
      }
      auto policy = policies_.objects().Find(key);
      if (policy.ok() && !policy->has_value()) {
        // The policy went away (e.g. deleted before a crash): so does this.
        (void)context_.store->Delete(kSelectionBucket, key);
        continue;
      }
      selections_.Publish(key, std::move(selection));
    }
  }

  // Publishes `selection` unless the Feed already has the same latest_ref
  // and labels (a restart or a reconcile without change sends nothing).
  absl::Status PublishSelection(const std::string& key,
                                const v1::ImagePolicy& policy,
                                const v1::ImageRef& latest,
                                const v1::TagSet& tag_set, absl::Time now) {
    auto current =
        std::dynamic_pointer_cast<const v1::Selection>(selections_.Get(key));
    const bool same_labels =
        current != nullptr &&
        SameLabels(current->policy_labels(), policy.metadata().labels());
    if (current != nullptr && SameRef(current->latest_ref(), latest) &&
        same_labels) {
      selections_metric.WithLabels({"unchanged"}).Increment();
      return absl::OkStatus();
    }
    auto selection = std::make_shared<v1::Selection>();
    selection->mutable_policy()->set_namespace_(policy.metadata().namespace_());
    selection->mutable_policy()->set_name(policy.metadata().name());
    *selection->mutable_latest_ref() = latest;
    if (current != nullptr) {
      *selection->mutable_previous_ref() =
          SameRef(current->latest_ref(), latest) ? current->previous_ref()
                                                 : current->latest_ref();
    }
    selection->mutable_policy_labels()->insert(
        policy.metadata().labels().begin(), policy.metadata().labels().end());
    selection->set_tag_set_revision(tag_set.revision());
    selection->set_policy_generation(policy.metadata().generation());
    *selection->mutable_selected_at() = ToProtoTime(now);
    RETURN_IF_ERROR(context_.store->Put(kSelectionBucket, key,
                                        selection->SerializeAsString()));
    log::Info("selection changed")
        .With("policy", key)
        .With("image", latest.name())
        .With("tag", latest.tag());
    selections_.Publish(key, std::move(selection));
    selections_metric.WithLabels({"changed"}).Increment();
    return absl::OkStatus();
  }

  // Level-based: selects the policy's tag from the latest known tag set of
  // its repository and records it in status and in the selections Feed.
  absl::StatusOr<ReconcileResult> Reconcile(const std::string& key) {
    auto& policies = policies_.objects();
    ASSIGN_OR_RETURN(auto found, policies.Find(key));
    if (!found) {
      index_.Remove(key);
      if (selections_.Remove(key)) {
        log::Info("selection removed").With("policy", key);
      }
      RETURN_IF_ERROR(context_.store->Delete(kSelectionBucket, key).status());
      return ReconcileResult{};
    }
    const v1::ImagePolicy& policy = *found;
    // Indexed before the tag set is read, so that a tag set arriving now
    // enqueues this policy again.
    const std::string repository = RepositoryKeyOf(policy);
    index_.Set(key, repository);
    if (policy.spec().suspend()) return ReconcileResult{};
    const int64_t generation = policy.metadata().generation();
    const absl::Time now = context_.clock->Now();

    auto not_ready = [&](absl::string_view reason, const std::string& message,
                         bool stalled) -> absl::Status {
      return policies
          .UpdateStatus(key,
                        [&](v1::ImagePolicy* p) {
                          MarkObserved(p);
                          auto* conditions =
                              p->mutable_status()->mutable_conditions();
                          SetCondition(conditions, kReady, kFalse, reason,
                                       message, generation, now);
                          if (stalled) {
                            SetCondition(conditions, kStalled, kTrue, reason,
                                         message, generation, now);
                          } else {
                            RemoveCondition(conditions, kStalled);
                          }
                          RemoveCondition(conditions, kReconciling);
                        })
          .status();
    };

    absl::StatusOr<CompiledPolicy> compiled =
        CompiledPolicy::Compile(policy.spec());
    if (!compiled.ok()) {
      // Terminal until the spec changes: not retried.
      RETURN_IF_ERROR(not_ready(
          "InvalidPolicy",
          absl::StrCat("invalid policy: ", compiled.status().message()), true));
      return ReconcileResult{};
    }

    const bool synced = tag_sets_.synced();
    std::shared_ptr<const v1::TagSet> tag_set = tag_sets_.Get(repository);
    if (tag_set == nullptr && !synced && policy.status().has_latest_ref() &&
        policy.status().observed_generation() == generation) {
      // Just started, tag sets not received yet: the last selection stands
      // (status unchanged); the first snapshot enqueues every policy.
      return ReconcileResult{};
    }
    if (tag_set == nullptr || tag_set->tags_size() == 0) {
      // The watcher enqueues this policy when the tag set arrives.
      RETURN_IF_ERROR(not_ready(
          "DependencyNotReady",
          tag_set == nullptr
              ? absl::StrCat("waiting for ImageRepository ", repository,
                             " tags")
              : absl::StrCat("ImageRepository ", repository, " has no tags"),
          false));
      return ReconcileResult{};
    }

    std::vector<std::string> tags;
    std::vector<absl::Time> first_seen;
    tags.reserve(tag_set->tags_size());
    first_seen.reserve(tag_set->tags_size());
    for (const auto& tag : tag_set->tags()) {
      tags.push_back(tag.name());
      // The watcher stamps tags that come without a time; should one still
      // lack it, it counts as just seen.
      first_seen.push_back(
          tag.has_first_seen() ? FromProtoTime(tag.first_seen()) : now);
    }
    const MaturedSelection matured =
        compiled->SelectMatured(tags, first_seen, now);
    // minAge: look again when a held-back tag becomes old enough, without
    // waiting for a new tag set.
    ReconcileResult again;
    if (matured.next_change != absl::InfiniteFuture()) {
      again.requeue_after =
          std::max(matured.next_change - now, absl::Nanoseconds(1));
    }
    const absl::StatusOr<std::string>& selected = matured.tag;
    if (!selected.ok()) {
      // Nothing qualifies (or numerical met a non-number): Flux's Failure.
      // The previous selection stays. A new tag set or spec enqueues the
      // policy again, so there is nothing to retry meanwhile (but for tags
      // held back by minAge).
      selections_metric.WithLabels({"failure"}).Increment();
      RETURN_IF_ERROR(not_ready(
          "Failure", std::string(selected.status().message()), false));
      return again;
    }

    // No silent downgrade: keep the previous tag when the new one is lower
    // by the policy's own order while the previous one is still there and
    // the spec did not change.
    auto published =
        std::dynamic_pointer_cast<const v1::Selection>(selections_.Get(key));
    const v1::ImageRef previous =
        published ? published->latest_ref() : policy.status().latest_ref();
    std::string tag = *selected;
    std::string note;
    if (!previous.tag().empty() && previous.tag() != tag &&
        previous.name() == tag_set->image()) {
      const bool spec_changed =
          published == nullptr || published->policy_generation() != generation;
      const bool still_there =
          std::find(tags.begin(), tags.end(), previous.tag()) != tags.end();
      absl::StatusOr<std::string> higher =
          compiled->Select({previous.tag(), tag});
      const bool lower = higher.ok() && *higher == previous.tag();
      if (lower) {
        if (still_there && !spec_changed) {
          note = absl::StrCat("; kept ", previous.tag(), " over lower ", tag);
          tag = previous.tag();
        } else {
          note = absl::StrCat("; stepped down from ", previous.tag(), ": ",
                              spec_changed ? "the spec changed"
                                           : "it is no longer in the tag set");
        }
      }
    }

    v1::ImageRef latest;
    latest.set_name(tag_set->image());
    latest.set_tag(tag);
    // digestReflectionPolicy: IfNotPresent asks the reflector once per
    // selected tag, Always on every evaluation and again each spec.interval.
    const std::string& reflect = policy.spec().digest_reflection_policy();
    if (reflect == "IfNotPresent" || reflect == "Always") {
      if (reflect == "IfNotPresent" && SameTag(previous, latest) &&
          !previous.digest().empty()) {
        latest.set_digest(previous.digest());
      } else {
        absl::StatusOr<std::string> digest = TagDigest(repository, tag);
        if (!digest.ok()) {
          // The selection waits for its digest; retried by the backoff.
          RETURN_IF_ERROR(not_ready(
              "DigestLookupFailed",
              absl::StrCat("cannot get the digest of ", tag_set->image(), ":",
                           tag,
                           " from the reflector: ", digest.status().message()),
              false));
          return digest.status();
        }
        latest.set_digest(*digest);
      }
      if (reflect == "Always") {
        ASSIGN_OR_RETURN(absl::Duration interval,
                         ParseDuration(policy.spec().interval()));
        if (again.requeue_after == absl::ZeroDuration() ||
            interval < again.requeue_after) {
          again.requeue_after = interval;
        }
      }
    }
    RETURN_IF_ERROR(PublishSelection(key, policy, latest, *tag_set, now));
    RETURN_IF_ERROR(
        policies
            .UpdateStatus(
                key,
                [&](v1::ImagePolicy* p) {
                  auto* status = p->mutable_status();
                  if (!status->has_latest_ref() ||
                      !SameRef(status->latest_ref(), latest)) {
                    if (status->has_latest_ref()) {
                      *status->mutable_observed_previous_ref() =
                          status->latest_ref();
                    } else {
                      status->clear_observed_previous_ref();
                    }
                    *status->mutable_latest_ref() = latest;
                  }
                  std::string message =
                      absl::StrCat("Latest image tag for ", latest.name(),
                                   " resolved to ", latest.tag());
                  if (status->has_observed_previous_ref() &&
                      !SameRef(status->observed_previous_ref(), latest)) {
                    absl::StrAppend(&message, " (previously ",
                                    status->observed_previous_ref().name(), ":",
                                    status->observed_previous_ref().tag(), ")");
                  }
                  absl::StrAppend(&message, note);
                  if (!matured.held_back.empty() &&
                      matured.held_back != latest.tag()) {
                    absl::StrAppend(&message, "; ", matured.held_back,
                                    " held back by minAge ",
                                    compiled->min_age_text(), " until ",
                                    FormatStatusTime(matured.held_back_until));
                  }
                  MarkObserved(p);
                  auto* conditions = status->mutable_conditions();
                  SetCondition(conditions, kReady, kTrue, "Succeeded", message,
                               generation, now);
                  RemoveCondition(conditions, kStalled);
                  RemoveCondition(conditions, kReconciling);
                })
            .status());
    return again;
  }

  static bool SameTag(const v1::ImageRef& a, const v1::ImageRef& b) {
    return a.name() == b.name() && a.tag() == b.tag();
  }

  absl::StatusOr<std::string> TagDigest(const std::string& repository,
                                        const std::string& tag) {
    v1::GetTagDigestRequest request;
    std::string ns, name;
    SplitKey(repository, &ns, &name);
    request.mutable_repository()->set_namespace_(ns);
    request.mutable_repository()->set_name(name);
    request.set_tag(tag);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(60));
    v1::GetTagDigestResponse response;
    grpc::Status status =
        reflector_->GetTagDigest(&context, request, &response);
    if (!status.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          status.error_message());
    }
    return response.digest();
  }

  const ServiceContext context_;
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
  const std::unique_ptr<v1::Reflector::Stub> reflector_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ServiceModule>> MakeModule(
    const ServiceContext& context, const Peers& peers) {
  ASSIGN_OR_RETURN(
      std::shared_ptr<grpc::ChannelCredentials> credentials,
      MakeChannelCredentials(context.config->tls_ca, context.config->tls_cert,
                             context.config->tls_key));
  return std::make_unique<PolicyModule>(context, peers, std::move(credentials));
}

}  // namespace ia::policy
