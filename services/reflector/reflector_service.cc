#include "services/reflector/reflector_service.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <set>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/duration.h"
#include "common/feed_stream.h"
#include "common/http_server.h"
#include "common/image_ref.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/object_controller.h"
#include "common/object_rpc.h"
#include "google/protobuf/wrappers.pb.h"
#include "imageautomation/v1/reflector.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "services/reflector/push_events.h"
#include "services/reflector/tag_sets.h"

namespace ia::reflector {
namespace {

constexpr absl::string_view kRegistryEventsPath = "/v1/registry-events";
constexpr int kDefaultPageSize = 1000;
constexpr int kMaxPageSize = 10000;

// Metrics, registered at start so that /metrics shows them before any scan.
metrics::CounterFamily& scans_metric = metrics::Registry::Default().AddCounter(
    "ia_scans_total",
    "Registry scans, by result: success or the error's code (unauthenticated, "
    "not_found, unavailable, ...).",
    {"result"});
metrics::HistogramFamily& scan_duration_metric =
    metrics::Registry::Default().AddHistogram("ia_scan_duration_seconds",
                                              "Time a registry scan took.", {},
                                              metrics::DurationBuckets());
metrics::GaugeFamily& tags_stored_metric =
    metrics::Registry::Default().AddGauge("ia_tags_stored",
                                          "Tags stored for an ImageRepository.",
                                          {"namespace", "name"});

void CountScan(const absl::Status& status,
               const metrics::Stopwatch& stopwatch) {
  scan_duration_metric.WithLabels({}).Observe(stopwatch.Seconds());
  scans_metric
      .WithLabels({status.ok() ? std::string("success")
                               : absl::AsciiStrToLower(
                                     absl::StatusCodeToString(status.code()))})
      .Increment();
}

// Sets ia_tags_stored of the repository `key` ("namespace/name"), or drops
// it when `tags` is negative.
void SetTagsStored(absl::string_view key, int tags) {
  std::pair<std::string, std::string> parts =
      absl::StrSplit(key, absl::MaxSplits('/', 1));
  if (tags < 0) {
    tags_stored_metric.Remove({parts.first, parts.second});
  } else {
    tags_stored_metric.WithLabels({parts.first, parts.second}).Set(tags);
  }
}

v1::TagSetEvent ToTagSetEvent(const FeedEvent& event) {
  v1::TagSetEvent out = ToStreamEvent(event, &v1::TagSetEvent::mutable_tag_set,
                                      &v1::TagSet::mutable_repository);
  // The feed holds serialized tag sets (see ReflectorModule::Serialized).
  if (auto bytes = event.As<google::protobuf::StringValue>()) {
    out.mutable_tag_set()->ParseFromString(bytes->value());
  }
  return out;
}

// Unary RPCs on the sync API (short store transactions); the tag set stream
// on the callback API.
class ReflectorImpl final
    : public v1::Reflector::WithCallbackMethod_WatchTagSets<
          v1::Reflector::Service> {
 public:
  // Asks the registry for a tag's digest with the repository's settings.
  using DigestFunc = std::function<absl::StatusOr<std::string>(
      const v1::ImageRepository& repository, const std::string& tag)>;

  ReflectorImpl(ObjectStore<v1::ImageRepository>* repositories, Store* store,
                Feed* tag_sets, DigestFunc digest)
      : repositories_(repositories),
        store_(store),
        tag_sets_(tag_sets),
        digest_(std::move(digest)) {}

  grpc::Status GetTagDigest(grpc::ServerContext*,
                            const v1::GetTagDigestRequest* request,
                            v1::GetTagDigestResponse* response) override {
    auto repository = repositories_->Get(NamespaceOf(request->repository()),
                                         request->repository().name());
    if (!repository.ok()) return ToGrpcStatus(repository.status());
    if (request->tag().empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "tag is required");
    }
    auto digest = digest_(*repository, request->tag());
    if (!digest.ok()) return ToGrpcStatus(digest.status());
    response->set_digest(*digest);
    return grpc::Status::OK;
  }

  grpc::ServerWriteReactor<v1::TagSetEvent>* WatchTagSets(
      grpc::CallbackServerContext*,
      const v1::WatchTagSetsRequest* request) override {
    return ServeFeed<v1::TagSetEvent>(
        *tag_sets_, Feed::NamespaceFilter(request->namespace_()),
        ToTagSetEvent);
  }

  grpc::Status ApplyImageRepository(
      grpc::ServerContext*, const v1::ApplyImageRepositoryRequest* request,
      v1::ApplyImageRepositoryResponse* response) override {
    return ApplyRpc(*repositories_, request->object(), response);
  }
  grpc::Status GetImageRepository(grpc::ServerContext*,
                                  const v1::ObjectKey* request,
                                  v1::ImageRepository* response) override {
    return GetRpc(*repositories_, *request, response);
  }
  grpc::Status ListImageRepositories(
      grpc::ServerContext*, const v1::ListRequest* request,
      v1::ImageRepositoryList* response) override {
    return ListRpc(*repositories_, *request, response);
  }
  grpc::Status DeleteImageRepository(grpc::ServerContext*,
                                     const v1::ObjectKey* request,
                                     v1::DeleteResponse*) override {
    return DeleteRpc(*repositories_, *request);
  }
  grpc::Status ReconcileImageRepository(
      grpc::ServerContext*, const v1::ObjectKey* request,
      v1::ReconcileResponse* response) override {
    return ReconcileRpc(*repositories_, *request, response);
  }

  grpc::Status ListTags(grpc::ServerContext*,
                        const v1::ListTagsRequest* request,
                        v1::ListTagsResponse* response) override {
    const std::string ns = NamespaceOf(request->repository());
    const std::string& name = request->repository().name();
    auto repository = repositories_->Get(ns, name);
    if (!repository.ok()) return ToGrpcStatus(repository.status());
    if (request->page_size() < 0) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "page_size must not be negative");
    }
    const int page_size =
        request->page_size() == 0
            ? kDefaultPageSize
            : std::min<int>(request->page_size(), kMaxPageSize);
    auto bytes = store_->Get(kTagSetBucket, KeyOf(ns, name));
    if (!bytes.ok()) return ToGrpcStatus(bytes.status());
    if (!bytes->has_value()) return grpc::Status::OK;  // not scanned yet
    v1::TagSet tag_set;
    if (!tag_set.ParseFromString(**bytes)) {
      return grpc::Status(
          grpc::StatusCode::DATA_LOSS,
          "stored tag set of " + KeyOf(ns, name) + " cannot be parsed");
    }
    response->set_revision(tag_set.revision());
    response->set_total(tag_set.tags_size());
    // The page token is the last tag of the previous page; tags are sorted.
    auto begin = tag_set.tags().begin();
    if (!request->page_token().empty()) {
      begin = std::upper_bound(
          tag_set.tags().begin(), tag_set.tags().end(), request->page_token(),
          [](const std::string& token, const v1::Tag& tag) {
            return token < tag.name();
          });
    }
    auto end = tag_set.tags().end();
    if (end - begin > page_size) end = begin + page_size;
    for (auto it = begin; it != end; ++it) *response->add_tags() = *it;
    if (end != tag_set.tags().end() && response->tags_size() > 0) {
      response->set_next_page_token(response->tags().rbegin()->name());
    }
    return grpc::Status::OK;
  }

 private:
  ObjectStore<v1::ImageRepository>* const repositories_;
  Store* const store_;
  Feed* const tag_sets_;
  const DigestFunc digest_;
};

class ReflectorModule final : public ServiceModule {
 public:
  ReflectorModule(const ServiceContext& context, ReflectorOptions options)
      : context_(context),
        options_(std::move(options)),
        repositories_(
            context, "imagerepository",
            [this](const std::string& key) { return Reconcile(key); }),
        impl_(&repositories_.objects(), context.store, &tag_sets_,
              [this](const v1::ImageRepository& repository,
                     const std::string& tag) {
                return Digest(repository, tag);
              }) {
    if (options_.registry == nullptr) {
      options_.registry = MakeRegistryClient(options_.registry_config);
    }
  }

  std::vector<std::pair<grpc::Service*, std::string>> Services() override {
    return {{&impl_, v1::Reflector::service_full_name()}};
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
    http.Handle(
        "POST", std::string(kRegistryEventsPath),
        [this](const HttpRequest& request) { return OnPushEvents(request); });
  }

  void Start() override {
    // Subscribers get the stored tag sets at once, before any scan.
    auto stored = context_.store->List(kTagSetBucket);
    if (!stored.ok()) {
      log::Error("cannot read stored tag sets").With("error", stored.status());
    } else {
      for (auto& [key, bytes] : *stored) {
        v1::TagSet tag_set;
        if (!tag_set.ParseFromString(bytes)) {
          log::Error(
              "stored tag set cannot be parsed; dropped until the next scan")
              .With("name", key);
          continue;
        }
        SetTagsStored(key, tag_set.tags_size());
        // The stored bytes themselves, not a second serialization: with a
        // million tags, two copies at once were the reflector's peak.
        auto value = std::make_shared<google::protobuf::StringValue>();
        *value->mutable_value() = std::move(bytes);
        tag_sets_.Publish(key, std::move(value));
      }
    }
    repositories_.Start();
  }
  void Drain() override { tag_sets_.Close(); }
  void Stop() override { repositories_.Stop(); }

 private:
  // Level-based: scans when the repository is due (never scanned, spec or
  // exclusions changed, a reconcile was requested, or its interval has
  // passed since the last successful scan), else waits until it is.
  absl::StatusOr<ReconcileResult> Reconcile(const std::string& key) {
    auto& repositories = repositories_.objects();
    ASSIGN_OR_RETURN(auto found, repositories.Find(key));
    if (!found) {
      // Deleted: its tag set goes with it.
      absl::MutexLock lock(&tag_set_mu_);
      RETURN_IF_ERROR(context_.store->Delete(kTagSetBucket, key).status());
      tag_sets_.Remove(key);
      SetTagsStored(key, -1);
      return ReconcileResult{};
    }
    const v1::ImageRepository& repository = *found;
    if (repository.spec().suspend()) {
      log::Debug("suspended; not scanning").With("name", key);
      return ReconcileResult{};
    }
    // Validated on Apply, so these parse; a failure is still reported.
    ASSIGN_OR_RETURN(absl::Duration interval,
                     ParseDuration(repository.spec().interval()));
    auto image = ParseImageReference(repository.spec().image());
    if (!image.ok()) {
      RETURN_IF_ERROR(
          ReportFailure(key, "ImageURLInvalid",
                        absl::StrCat("spec.image: ", image.status().message()),
                        /*stalled=*/true));
      return ReconcileResult{};
    }
    const std::vector<std::string> exclusion_list(
        repository.spec().exclusion_list().begin(),
        repository.spec().exclusion_list().end());
    auto exclusions = Exclusions::Compile(exclusion_list);
    if (!exclusions.ok()) {
      RETURN_IF_ERROR(ReportFailure(key, "InvalidExclusionList",
                                    std::string(exclusions.status().message()),
                                    /*stalled=*/true, &*image));
      return ReconcileResult{};
    }

    const absl::Time now = context_.clock->Now();
    if (std::optional<absl::Time> due = NextScan(repository, interval);
        !TakeForcedScan(key) && due.has_value() && *due > now) {
      return ReconcileResult{.requeue_after = *due - now};
    }

    auto options = RegistryOptionsFor(repository, *image, *context_.secrets,
                                      options_.limits);
    if (!options.ok()) {
      RETURN_IF_ERROR(ReportFailure(key, FailureReason(options.status()),
                                    std::string(options.status().message()),
                                    /*stalled=*/false, &*image));
      return ReconcileResult{.requeue_after = Jittered(interval)};
    }

    ScanStats stats;
    const absl::Time scan_start = context_.clock->Now();
    const metrics::Stopwatch scan_stopwatch;
    auto tags = options_.registry->ListTags(*image, *options, &stats);
    CountScan(tags.status(), scan_stopwatch);
    const absl::Time scan_end = context_.clock->Now();
    if (!tags.ok()) {
      log::Warn("scan failed")
          .With("name", key)
          .With("image", repository.spec().image())
          .With("requests", stats.requests)
          .With("error", tags.status());
      RETURN_IF_ERROR(ReportFailure(key, FailureReason(tags.status()),
                                    std::string(tags.status().message()),
                                    /*stalled=*/false, &*image));
      return ReconcileResult{.requeue_after = Jittered(interval)};
    }
    const size_t scanned = tags->size();

    v1::TagSet tag_set;
    {
      absl::MutexLock lock(&tag_set_mu_);
      ASSIGN_OR_RETURN(std::optional<v1::TagSet> previous, LoadTagSet(key));
      tag_set = MergeScan(previous ? &*previous : nullptr, *std::move(tags),
                          *exclusions, scan_start, scan_end);
      FillIdentity(repository, *image, &tag_set);
      tag_set.mutable_scan_time()->CopyFrom(ToProtoTime(scan_end));
      const bool changed = !previous.has_value() ||
                           previous->revision() != tag_set.revision() ||
                           previous->image() != tag_set.image();
      if (changed) RETURN_IF_ERROR(StoreTagSet(key, tag_set));
    }
    log::Info("scanned")
        .With("name", key)
        .With("image", repository.spec().image())
        .With("tags", static_cast<int64_t>(scanned))
        .With("stored", tag_set.tags_size())
        .With("revision", tag_set.revision())
        .With("requests", stats.requests)
        .With("duration", absl::FormatDuration(scan_end - scan_start));

    RETURN_IF_ERROR(
        repositories
            .UpdateStatus(
                key,
                [&](v1::ImageRepository* r) {
                  MarkObserved(r);
                  v1::ImageRepositoryStatus* status = r->mutable_status();
                  status->set_canonical_image_name(image->CanonicalName());
                  SetScanResult(tag_set, status);
                  *status->mutable_last_scan_result()->mutable_scan_time() =
                      ToProtoTime(scan_end);
                  *status->mutable_observed_exclusion_list() =
                      r->spec().exclusion_list();
                  auto* conditions = status->mutable_conditions();
                  SetCondition(conditions, kReady, kTrue, "Succeeded",
                               absl::StrCat("successful scan: found ",
                                            tag_set.tags_size(), " tags"),
                               r->metadata().generation(), scan_end);
                  RemoveCondition(conditions, kStalled);
                  RemoveCondition(conditions, kReconciling);
                })
            .status());
    return ReconcileResult{.requeue_after = Jittered(interval)};
  }

  absl::StatusOr<std::string> Digest(const v1::ImageRepository& repository,
                                     const std::string& tag) {
    ASSIGN_OR_RETURN(ImageReference image,
                     ParseImageReference(repository.spec().image()));
    ASSIGN_OR_RETURN(RegistryOptions options,
                     RegistryOptionsFor(repository, image, *context_.secrets,
                                        options_.limits));
    return options_.registry->Digest(image, tag, options);
  }

  // Queues a scan of `key` after `delay` even if it is not due.
  void ForceScan(const std::string& key, absl::Duration delay) {
    {
      absl::MutexLock lock(&forced_mu_);
      forced_.insert(key);
    }
    repositories_.controller().EnqueueAfter(key, delay);
  }

  bool TakeForcedScan(const std::string& key) {
    absl::MutexLock lock(&forced_mu_);
    return forced_.erase(key) > 0;
  }

  // When the stored state makes a scan unnecessary until some time: the
  // last successful scan plus the interval. nullopt means scan now.
  std::optional<absl::Time> NextScan(const v1::ImageRepository& repository,
                                     absl::Duration interval) {
    const v1::ImageRepositoryStatus& status = repository.status();
    if (status.observed_generation() != repository.metadata().generation()) {
      return std::nullopt;
    }
    const auto& annotations = repository.metadata().annotations();
    auto requested = annotations.find(std::string(kReconcileRequestedAt));
    if (requested != annotations.end() &&
        requested->second != status.last_handled_reconcile_at()) {
      return std::nullopt;
    }
    if (!status.has_last_scan_result() ||
        !status.last_scan_result().has_scan_time()) {
      return std::nullopt;
    }
    for (const v1::Condition& condition : status.conditions()) {
      if (condition.type() == kReady && condition.status() != kTrue) {
        return std::nullopt;  // the last attempt failed: its requeue says when
      }
    }
    if (!std::equal(status.observed_exclusion_list().begin(),
                    status.observed_exclusion_list().end(),
                    repository.spec().exclusion_list().begin(),
                    repository.spec().exclusion_list().end())) {
      return std::nullopt;
    }
    auto stored =
        context_.store->Get(kTagSetBucket, KeyOf(repository.metadata()));
    if (!stored.ok() || !stored->has_value()) return std::nullopt;
    return FromProtoTime(status.last_scan_result().scan_time()) + interval;
  }

  // Ready=False (and Stalled=True when retrying cannot help) with `reason`.
  // The last good tag set and lastScanResult stay as they are.
  // canonicalImageName is set when `image` is known.
  absl::Status ReportFailure(const std::string& key, absl::string_view reason,
                             const std::string& message, bool stalled,
                             const ImageReference* image = nullptr) {
    const absl::Time now = context_.clock->Now();
    return repositories_.objects()
        .UpdateStatus(key,
                      [&](v1::ImageRepository* r) {
                        MarkObserved(r);
                        if (image != nullptr) {
                          r->mutable_status()->set_canonical_image_name(
                              image->CanonicalName());
                        }
                        auto* conditions =
                            r->mutable_status()->mutable_conditions();
                        const int64_t generation = r->metadata().generation();
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
  }

  static absl::string_view FailureReason(const absl::Status& status) {
    if (absl::IsUnauthenticated(status) || absl::IsPermissionDenied(status)) {
      return "AuthenticationFailed";
    }
    return "ReadOperationFailed";
  }

  absl::Duration Jittered(absl::Duration interval) {
    // Up to 10% later, so that repositories applied together spread out.
    thread_local absl::BitGen gen;
    return interval + absl::Uniform(gen, 0.0, 0.1) * interval;
  }

  static void FillIdentity(const v1::ImageRepository& repository,
                           const ImageReference& image, v1::TagSet* tag_set) {
    tag_set->mutable_repository()->set_namespace_(
        repository.metadata().namespace_());
    tag_set->mutable_repository()->set_name(repository.metadata().name());
    tag_set->set_image(repository.spec().image());
    tag_set->set_canonical_image_name(image.CanonicalName());
  }

  // lastScanResult from `tag_set`, except scanTime.
  static void SetScanResult(const v1::TagSet& tag_set,
                            v1::ImageRepositoryStatus* status) {
    v1::ScanResult* result = status->mutable_last_scan_result();
    result->set_revision(tag_set.revision());
    result->set_tag_count(tag_set.tags_size());
    result->clear_latest_tags();
    for (std::string& tag : LatestTags(tag_set))
      result->add_latest_tags(std::move(tag));
  }

  absl::StatusOr<std::optional<v1::TagSet>> LoadTagSet(const std::string& key)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(tag_set_mu_) {
    ASSIGN_OR_RETURN(auto bytes, context_.store->Get(kTagSetBucket, key));
    if (!bytes.has_value()) return std::optional<v1::TagSet>();
    v1::TagSet tag_set;
    if (!tag_set.ParseFromString(*bytes)) {
      log::Error("stored tag set cannot be parsed; replaced by this scan")
          .With("name", key);
      return std::optional<v1::TagSet>();
    }
    return std::optional<v1::TagSet>(std::move(tag_set));
  }

  absl::Status StoreTagSet(const std::string& key, const v1::TagSet& tag_set)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(tag_set_mu_) {
    auto value = Serialized(tag_set);
    RETURN_IF_ERROR(context_.store->Put(kTagSetBucket, key, value->value()));
    tag_sets_.Publish(key, std::move(value));
    SetTagsStored(key, tag_set.tags_size());
    return absl::OkStatus();
  }

  // The feed holds tag sets serialized: a million stored tags cost their
  // bytes, not a million messages.
  static std::shared_ptr<const google::protobuf::StringValue> Serialized(
      const v1::TagSet& tag_set) {
    auto value = std::make_shared<google::protobuf::StringValue>();
    tag_set.SerializeToString(value->mutable_value());
    return value;
  }

  // POST /v1/registry-events: see push_events.h for the bodies.
  HttpResponse OnPushEvents(const HttpRequest& request) {
    if (!options_.events_token.empty() &&
        request.header("Authorization") !=
            absl::StrCat("Bearer ", options_.events_token)) {
      return JsonResponse(
          401, {{"error", "missing or wrong Authorization bearer token"}});
    }
    auto pushes = ParsePushEvents(request.body);
    if (!pushes.ok()) {
      return JsonResponse(400,
                          {{"error", std::string(pushes.status().message())}});
    }
    const bool envelope = request.body.find("\"events\"") != std::string::npos;
    auto repositories = repositories_.objects().List("");
    if (!repositories.ok()) {
      return JsonResponse(
          500, {{"error", std::string(repositories.status().message())}});
    }
    nlohmann::json updated = nlohmann::json::array();
    nlohmann::json unmatched = nlohmann::json::array();
    for (const PushedTag& push : *pushes) {
      bool matched = false;
      for (const v1::ImageRepository& repository : *repositories) {
        auto result = ApplyPush(repository, push);
        if (!result.ok()) {
          return JsonResponse(
              500, {{"error", std::string(result.status().message())}});
        }
        if (*result == PushMatch::kNone) continue;
        matched = true;
        if (*result == PushMatch::kAdded) {
          updated.push_back(KeyOf(repository.metadata()) + ":" + push.tag);
        }
      }
      if (!matched) {
        unmatched.push_back((push.host.empty() ? "" : push.host + "/") +
                            push.path + ":" + push.tag);
      }
    }
    // Blob uploads and pulls are posted too; only tag pushes are news.
    (pushes->empty() ? log::Debug("registry events")
                     : log::Info("registry events"))
        .With("pushes", static_cast<int64_t>(pushes->size()))
        .With("updated", updated.dump())
        .With("unmatched", unmatched.dump());
    // A distribution registry sends every repository's pushes and retries a
    // non-2xx answer forever, stalling its queue: its envelope is always
    // accepted. A generic post that matches nothing is the sender's mistake.
    if (!envelope && !pushes->empty() && updated.empty() &&
        unmatched.size() == pushes->size()) {
      return JsonResponse(404, {{"error", "no ImageRepository matches"},
                                {"unmatched", unmatched}});
    }
    return JsonResponse(202, {{"updated", updated}, {"unmatched", unmatched}});
  }

  enum class PushMatch { kNone, kScanOnly, kAdded, kKnown };

  // Adds the pushed tag to `repository`'s tag set when the push is for it,
  // and asks for a confirming scan.
  absl::StatusOr<PushMatch> ApplyPush(const v1::ImageRepository& repository,
                                      const PushedTag& push) {
    if (repository.spec().suspend()) return PushMatch::kNone;
    auto image = ParseImageReference(repository.spec().image());
    if (!image.ok() || image->path != push.path) return PushMatch::kNone;
    const std::string key = KeyOf(repository.metadata());
    // The same path on another host may be another registry: only a scan
    // can tell.
    if (!push.host.empty() && push.host != image->domain &&
        push.host != image->RegistryHost()) {
      ForceScan(key, options_.confirm_scan_delay);
      return PushMatch::kScanOnly;
    }
    const std::vector<std::string> exclusion_list(
        repository.spec().exclusion_list().begin(),
        repository.spec().exclusion_list().end());
    auto exclusions = Exclusions::Compile(exclusion_list);
    if (!exclusions.ok() || exclusions->Excludes(push.tag))
      return PushMatch::kKnown;

    const absl::Time now = context_.clock->Now();
    v1::TagSet tag_set;
    {
      absl::MutexLock lock(&tag_set_mu_);
      ASSIGN_OR_RETURN(std::optional<v1::TagSet> stored, LoadTagSet(key));
      if (stored.has_value()) tag_set = *std::move(stored);
      FillIdentity(repository, *image, &tag_set);
      if (!AddTag(&tag_set, push.tag, now)) return PushMatch::kKnown;
      SetRevision(&tag_set);
      RETURN_IF_ERROR(StoreTagSet(key, tag_set));
    }
    RETURN_IF_ERROR(repositories_.objects()
                        .UpdateStatus(key,
                                      [&](v1::ImageRepository* r) {
                                        SetScanResult(tag_set,
                                                      r->mutable_status());
                                      })
                        .status());
    ForceScan(key, options_.confirm_scan_delay);
    return PushMatch::kAdded;
  }

  static HttpResponse JsonResponse(int status, const nlohmann::json& body) {
    return HttpResponse{status, "application/json", body.dump() + "\n"};
  }

  const ServiceContext context_;
  ReflectorOptions options_;
  ObjectController<v1::ImageRepository> repositories_;
  // Serialises read-modify-write of stored tag sets between scans and push
  // notifications.
  absl::Mutex tag_set_mu_;
  // Keys whose next reconcile scans even if not due (push confirmations).
  absl::Mutex forced_mu_;
  std::set<std::string> forced_ ABSL_GUARDED_BY(forced_mu_);
  // The latest v1::TagSet of each repository, serialized in a
  // google.protobuf.StringValue, for WatchTagSets.
  Feed tag_sets_{"tag_sets"};
  ReflectorImpl impl_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ServiceModule>> MakeModule(
    const ServiceContext& context, ReflectorOptions options) {
  return std::make_unique<ReflectorModule>(context, std::move(options));
}

}  // namespace ia::reflector
