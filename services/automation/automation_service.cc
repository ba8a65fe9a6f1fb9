#include "services/automation/automation_service.h"

#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/duration.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/object_controller.h"
#include "common/object_rpc.h"
#include "imageautomation/v1/automation.grpc.pb.h"
#include "services/automation/commit_message.h"
#include "services/automation/git.h"
#include "services/automation/run_inputs.h"
#include "services/automation/setters.h"

namespace ia::automation {
namespace {

// How long a selection change waits for others before the automations of
// its namespace run: several policies of one repository change together
// when its tag set does, and they should make one commit.
constexpr absl::Duration kSelectionBatchDelay = absl::Milliseconds(50);

// Metrics, registered at start so that /metrics shows them before any run.
metrics::CounterFamily& runs_metric = metrics::Registry::Default().AddCounter(
    "ia_automation_runs_total",
    "ImageUpdateAutomation runs, by result: success or the Flux reason of the "
    "failure (GitOperationFailed, UpdateFailed, ...).",
    {"result"});
metrics::CounterFamily& commits_metric =
    metrics::Registry::Default().AddCounter("ia_git_commits_total",
                                            "Commits pushed by automations.");
metrics::CounterFamily& pushes_metric = metrics::Registry::Default().AddCounter(
    "ia_git_pushes_total",
    "Runs that pushed a commit (success) or had changes and failed to push "
    "them (failure: rejected past the retries, refused, or the commit could "
    "not be made).",
    {"result"});
metrics::CounterFamily& push_attempts_metric =
    metrics::Registry::Default().AddCounter(
        "ia_git_push_attempts_total",
        "Pushes tried, a rejected push retried on the new head included.");

using Automations = ObjectController<v1::ImageUpdateAutomation>;
using Sources = ObjectController<v1::GitRepository>;

// Applies one publisher's stream of selection events to the store. Not
// thread-safe: one instance per stream.
class SelectionSink {
 public:
  SelectionSink(Store* store,
                std::function<void(const std::string& ns)> changed)
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
    // A snapshot's selections count as one change, at its end.
    if (event.type() == v1::SelectionEvent::SNAPSHOT) {
      snapshot_namespaces_.insert(policy.namespace_());
    } else {
      changed_(policy.namespace_());
    }
    return absl::OkStatus();
  }

 private:
  // Drops stored selections the publisher's snapshot did not mention.
  absl::Status EndSnapshot() {
    ASSIGN_OR_RETURN(auto stored, store_->List(kSelectionBucket));
    std::vector<Store::Write> deletes;
    std::set<std::string> namespaces = std::move(snapshot_namespaces_);
    snapshot_namespaces_.clear();
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
  // Namespaces whose selections the snapshot in progress changed.
  std::set<std::string> snapshot_namespaces_;
};

class AutomationImpl final : public v1::Automation::Service {
 public:
  AutomationImpl(Automations* automations, Sources* sources, Store* store)
      : automations_(&automations->objects()),
        sources_(&sources->objects()),
        automation_controller_(automations),
        store_(store) {}

  grpc::Status ApplyImageUpdateAutomation(
      grpc::ServerContext*,
      const v1::ApplyImageUpdateAutomationRequest* request,
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
  grpc::Status ReconcileGitRepository(
      grpc::ServerContext*, const v1::ObjectKey* request,
      v1::ReconcileResponse* response) override {
    return ReconcileRpc(*sources_, *request, response);
  }

  grpc::Status PublishSelections(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::PublishSelectionsAck, v1::SelectionEvent>*
          stream) override {
    log::Info("selection publisher connected").With("peer", context->peer());
    SelectionSink sink(store_, [this](const std::string& ns) {
      // A selection changed: the automations of its namespace look again,
      // shortly, so that selections arriving together make one commit.
      auto list = automations_->List(ns);
      if (!list.ok()) return;
      for (const auto& automation : *list) {
        automation_controller_->controller().EnqueueAfter(
            KeyOf(automation.metadata()), kSelectionBatchDelay);
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
        sources_(
            context, "gitrepository",
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
    return sources_.objects()
        .Apply(std::get<v1::GitRepository>(object))
        .status();
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
  // One clone per GitRepository; runs that use it take its mutex, so
  // automations sharing a repository never race each other.
  struct CheckoutSlot {
    absl::Mutex mu;
  };

  // A failure of one run: Ready=False with `reason`, and Stalled=True when
  // only a spec change can help.
  struct RunError {
    std::string reason;
    absl::Status status;
    bool stalled = false;
  };

  // Runs the automation: fetch, rewrite with the stored selections, commit
  // when something changed, push. Runs on its interval and whenever a
  // selection in its namespace changes.
  absl::StatusOr<ReconcileResult> ReconcileAutomation(const std::string& key) {
    auto& automations = automations_.objects();
    ASSIGN_OR_RETURN(auto found, automations.Find(key));
    if (!found || found->spec().suspend()) return ReconcileResult{};
    const v1::ImageUpdateAutomation& automation = *found;
    ASSIGN_OR_RETURN(absl::Duration interval,
                     ParseDuration(automation.spec().interval()));

    const absl::Time start = context_.clock->Now();
    RunOutcome outcome;
    std::optional<RunError> error = Run(automation, &outcome);
    const absl::Time end = context_.clock->Now();
    runs_metric.WithLabels({error.has_value() ? error->reason : "success"})
        .Increment();
    if (error.has_value()) {
      log::Warn("automation run failed")
          .With("name", key)
          .With("reason", error->reason)
          .With("error", error->status);
    } else if (!outcome.pushed_commit.empty()) {
      log::Info("pushed")
          .With("name", key)
          .With("commit", outcome.pushed_commit)
          .With("branch", outcome.push_branch)
          .With("changes", outcome.changes)
          .With("attempts", outcome.attempts)
          .With("duration", absl::FormatDuration(end - start));
    }

    RETURN_IF_ERROR(
        automations
            .UpdateStatus(
                key,
                [&](v1::ImageUpdateAutomation* a) {
                  MarkObserved(a);
                  v1::ImageUpdateAutomationStatus* status = a->mutable_status();
                  auto* conditions = status->mutable_conditions();
                  const int64_t generation = a->metadata().generation();
                  RemoveCondition(conditions, kReconciling);
                  if (error.has_value()) {
                    const std::string message(error->status.message());
                    SetCondition(conditions, kReady, kFalse, error->reason,
                                 message, generation, end);
                    if (error->stalled) {
                      SetCondition(conditions, kStalled, kTrue, error->reason,
                                   message, generation, end);
                    } else {
                      RemoveCondition(conditions, kStalled);
                    }
                    return;
                  }
                  *status->mutable_last_automation_run_time() =
                      ToProtoTime(end);
                  status->set_observed_source_revision(outcome.source_revision);
                  status->mutable_observed_policies()->clear();
                  for (const auto& [name, ref] : outcome.observed_policies) {
                    (*status->mutable_observed_policies())[name] = ref;
                  }
                  std::string message = "repository up-to-date";
                  if (!outcome.pushed_commit.empty()) {
                    status->set_last_push_commit(outcome.pushed_commit);
                    *status->mutable_last_push_time() = ToProtoTime(end);
                    message = absl::StrCat(
                        "pushed commit '", outcome.pushed_commit.substr(0, 12),
                        "' to branch '", outcome.push_branch, "'");
                  }
                  SetCondition(conditions, kReady, kTrue, "Succeeded", message,
                               generation, end);
                  RemoveCondition(conditions, kStalled);
                })
            .status());
    if (!outcome.source_key.empty()) {
      RETURN_IF_ERROR(RecordSourceFetch(outcome.source_key, outcome, error));
    }
    if (error.has_value() && error->stalled) return ReconcileResult{};
    return ReconcileResult{.requeue_after = interval};
  }

  struct RunOutcome {
    std::string source_key;  // set once the source was found
    std::string source_revision;
    std::string pushed_commit;
    std::string push_branch;
    int64_t changes = 0;
    int attempts = 0;
    std::map<std::string, v1::ImageRef> observed_policies;
    bool fetched = false;  // the remote answered
  };

  std::optional<RunError> Run(const v1::ImageUpdateAutomation& automation,
                              RunOutcome* outcome) {
    const v1::ImageUpdateAutomationSpec& spec = automation.spec();
    const std::string& ns = automation.metadata().namespace_();
    const std::string source_ns = spec.source_ref().namespace_().empty()
                                      ? ns
                                      : spec.source_ref().namespace_();
    const std::string source_key = KeyOf(source_ns, spec.source_ref().name());
    auto source = sources_.objects().Find(source_key);
    if (!source.ok()) return RunError{"GitOperationFailed", source.status()};
    if (!source->has_value()) {
      return RunError{
          "DependencyNotReady",
          absl::NotFoundError(absl::StrCat("spec.sourceRef: GitRepository ",
                                           source_key, " not found"))};
    }
    outcome->source_key = source_key;
    const v1::GitRepository& repository = **source;

    // Problems only a spec change can fix, found before any Git work.
    if (!spec.git().push().options().empty()) {
      return RunError{
          "InvalidSourceConfiguration",
          absl::InvalidArgumentError(
              "spec.git.push.options: push options are not supported "
              "(libgit2 1.5 cannot send them); remove them"),
          /*stalled=*/true};
    }
    auto checkout = CheckoutRefFor(automation, repository);
    if (!checkout.ok()) {
      return RunError{"InvalidSourceConfiguration", checkout.status(), true};
    }
    auto push_branch = PushBranchFor(automation, *checkout);
    if (!push_branch.ok()) {
      return RunError{"InvalidSourceConfiguration", push_branch.status(), true};
    }
    outcome->push_branch = *push_branch;
    const std::string& message_template =
        spec.git().commit().message_template();
    if (auto parsed =
            RenderCommitMessage(message_template, CommitMessageData{});
        !parsed.ok() &&
        absl::StrContains(parsed.status().message(),
                          "unable to create commit message template")) {
      return RunError{
          "InvalidMessageTemplate",
          absl::InvalidArgumentError(absl::StrCat(
              "spec.git.commit.messageTemplate: ", parsed.status().message())),
          true};
    }

    auto remote = RemoteFor(repository, *context_.secrets);
    if (!remote.ok())
      return RunError{"InvalidSourceConfiguration", remote.status()};
    auto commit = CommitOptionsFor(automation, *context_.secrets);
    if (!commit.ok())
      return RunError{"InvalidSourceConfiguration", commit.status()};

    auto selections = StoredSelections();
    if (!selections.ok()) return RunError{"UpdateFailed", selections.status()};
    SelectedPolicies selected = SelectPolicies(automation, *selections);
    outcome->observed_policies = selected.observed;

    std::shared_ptr<CheckoutSlot> slot = Slot(source_key);
    absl::MutexLock lock(&slot->mu);
    auto git = OpenGitCheckout(CheckoutDir(source_ns, spec.source_ref().name()),
                               *remote);
    if (!git.ok()) return RunError{"GitOperationFailed", git.status()};

    CommitMessageData data;
    data.automation_namespace = ns;
    data.automation_name = automation.metadata().name();
    data.values.insert(spec.git().commit().message_template_values().begin(),
                       spec.git().commit().message_template_values().end());
    std::optional<absl::Status> rewrite_error;
    int64_t changes = 0;
    RewriteFunc rewrite =
        [&](const std::string& worktree) -> absl::StatusOr<Rewritten> {
      auto result = ComputeSetterUpdates(worktree, spec.update().path(),
                                         selected.policies, SetterOptions{ns});
      if (!result.ok()) {
        rewrite_error = absl::Status(
            result.status().code(),
            absl::StrCat("spec.update.path: ", result.status().message()));
        return *rewrite_error;
      }
      for (const SkippedFile& skipped : result->skipped) {
        if (skipped.symlink) continue;
        log::Warn("file skipped")
            .With("automation", KeyOf(automation.metadata()))
            .With("file", skipped.file)
            .With("line", skipped.line)
            .With("reason", skipped.reason);
      }
      // The worktree is rebuilt from Git after a crash: no waiting for the
      // disk.
      if (absl::Status written = WriteSetterUpdates(worktree, result->updates,
                                                    Durability::kAtomicOnly);
          !written.ok()) {
        rewrite_error = written;
        return written;
      }
      changes = static_cast<int64_t>(result->changes.size());
      Rewritten rewritten;
      if (result->changes.empty()) return rewritten;
      for (FileUpdate& update : result->updates) {
        rewritten.files.push_back(std::move(update.file));
      }
      data.changes = std::move(result->changes);
      auto message = RenderCommitMessage(message_template, data);
      if (!message.ok()) {
        rewrite_error = message.status();
        return message.status();
      }
      rewritten.message = *std::move(message);
      return rewritten;
    };
    PushOptions push;
    push.branch = *push_branch;
    push.refspec = spec.git().push().refspec();
    auto result = (*git)->UpdateBranch(*checkout, rewrite, *commit, push);
    if (!result.ok()) {
      if (!rewrite_error.has_value() && changes > 0) {
        pushes_metric.WithLabels({"failure"}).Increment();
        if (absl::IsAborted(result.status())) {
          push_attempts_metric.WithLabels({}).Increment(push.max_attempts);
        }
      }
      if (rewrite_error.has_value())
        return RunError{"UpdateFailed", result.status()};
      return RunError{"GitOperationFailed", result.status()};
    }
    outcome->fetched = true;
    outcome->source_revision = RevisionString(*checkout, result->base_commit);
    outcome->pushed_commit = result->pushed_commit;
    outcome->attempts = result->attempts;
    push_attempts_metric.WithLabels({}).Increment(result->attempts);
    if (!result->pushed_commit.empty()) {
      commits_metric.WithLabels({}).Increment();
      pushes_metric.WithLabels({"success"}).Increment();
    }
    outcome->changes = result->pushed_commit.empty() ? 0 : changes;
    return std::nullopt;
  }

  // The GitRepository's status follows what the runs that use it saw.
  absl::Status RecordSourceFetch(const std::string& source_key,
                                 const RunOutcome& outcome,
                                 const std::optional<RunError>& error) {
    const absl::Time now = context_.clock->Now();
    auto updated = sources_.objects().UpdateStatus(
        source_key, [&](v1::GitRepository* source) {
          MarkObserved(source);
          auto* conditions = source->mutable_status()->mutable_conditions();
          const int64_t generation = source->metadata().generation();
          if (outcome.fetched) {
            source->mutable_status()->set_observed_revision(
                outcome.source_revision);
            SetCondition(conditions, kReady, kTrue, "Succeeded",
                         absl::StrCat("stored artifact for revision '",
                                      outcome.source_revision, "'"),
                         generation, now);
          } else if (error.has_value() &&
                     error->reason == "GitOperationFailed") {
            SetCondition(conditions, kReady, kFalse, "GitOperationFailed",
                         std::string(error->status.message()), generation, now);
          }
        });
    if (absl::IsNotFound(updated.status())) return absl::OkStatus();
    return updated.status();
  }

  absl::StatusOr<std::vector<v1::Selection>> StoredSelections() {
    ASSIGN_OR_RETURN(auto rows, context_.store->List(kSelectionBucket));
    std::vector<v1::Selection> selections;
    selections.reserve(rows.size());
    for (const auto& [key, value] : rows) {
      v1::Selection selection;
      if (!selection.ParseFromString(value)) {
        log::Error("stored selection cannot be parsed; ignored")
            .With("policy", key);
        continue;
      }
      selections.push_back(std::move(selection));
    }
    return selections;
  }

  std::shared_ptr<CheckoutSlot> Slot(const std::string& source_key) {
    absl::MutexLock lock(&slots_mu_);
    auto& slot = slots_[source_key];
    if (slot == nullptr) slot = std::make_shared<CheckoutSlot>();
    return slot;
  }

  std::string CheckoutDir(const std::string& ns,
                          const std::string& name) const {
    return (std::filesystem::path(context_.config->data_dir) / "git" / ns /
            name)
        .string();
  }

  // A GitRepository has no work of its own (the automations fetch it); a
  // change to it runs the automations that use it.
  absl::StatusOr<ReconcileResult> ReconcileSource(const std::string& key) {
    auto& sources = sources_.objects();
    ASSIGN_OR_RETURN(auto found, sources.Find(key));
    ASSIGN_OR_RETURN(auto automations, automations_.objects().List(""));
    bool used = false;
    for (const auto& automation : automations) {
      const auto& ref = automation.spec().source_ref();
      const std::string& ns = ref.namespace_().empty()
                                  ? automation.metadata().namespace_()
                                  : ref.namespace_();
      if (KeyOf(ns, ref.name()) != key) continue;
      used = true;
      automations_.controller().Enqueue(KeyOf(automation.metadata()));
    }
    if (!found) {
      absl::MutexLock lock(&slots_mu_);
      slots_.erase(key);
      return ReconcileResult{};
    }
    const bool has_ready =
        std::any_of(found->status().conditions().begin(),
                    found->status().conditions().end(),
                    [](const v1::Condition& c) { return c.type() == kReady; });
    const absl::Time now = context_.clock->Now();
    RETURN_IF_ERROR(
        sources
            .UpdateStatus(key,
                          [&](v1::GitRepository* source) {
                            MarkObserved(source);
                            if (has_ready && used) return;
                            SetCondition(
                                source->mutable_status()->mutable_conditions(),
                                kReady, kUnknown, "Progressing",
                                used ? "waiting for the first fetch"
                                     : "not used by any ImageUpdateAutomation",
                                source->metadata().generation(), now);
                          })
            .status());
    return ReconcileResult{};
  }

  const ServiceContext context_;
  Automations automations_;
  Sources sources_;
  AutomationImpl impl_;
  absl::Mutex slots_mu_;
  std::map<std::string, std::shared_ptr<CheckoutSlot>> slots_
      ABSL_GUARDED_BY(slots_mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<ServiceModule>> MakeModule(
    const ServiceContext& context) {
  return std::make_unique<AutomationModule>(context);
}

}  // namespace ia::automation
