#include "services/reflector/reflector_service.h"

#include <algorithm>

#include "common/duration.h"
#include "common/feed_stream.h"
#include "common/image_ref.h"
#include "common/log.h"
#include "common/object_controller.h"
#include "common/object_rpc.h"
#include "imageautomation/v1/reflector.grpc.pb.h"

namespace ia::reflector {
namespace {

constexpr int kDefaultPageSize = 1000;
constexpr int kMaxPageSize = 10000;

v1::TagSetEvent ToTagSetEvent(const FeedEvent& event) {
  return ToStreamEvent(event, &v1::TagSetEvent::mutable_tag_set,
                       &v1::TagSet::mutable_repository);
}

// Unary RPCs on the sync API (short store transactions); the tag set stream
// on the callback API.
class ReflectorImpl final
    : public v1::Reflector::WithCallbackMethod_WatchTagSets<v1::Reflector::Service> {
 public:
  ReflectorImpl(ObjectStore<v1::ImageRepository>* repositories, Store* store,
                Feed* tag_sets)
      : repositories_(repositories), store_(store), tag_sets_(tag_sets) {}

  grpc::ServerWriteReactor<v1::TagSetEvent>* WatchTagSets(
      grpc::CallbackServerContext*,
      const v1::WatchTagSetsRequest* request) override {
    return ServeFeed<v1::TagSetEvent>(
        *tag_sets_, Feed::NamespaceFilter(request->namespace_()), ToTagSetEvent);
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
      return grpc::Status(grpc::StatusCode::DATA_LOSS,
                          "stored tag set of " + KeyOf(ns, name) +
                              " cannot be parsed");
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
};

class ReflectorModule final : public ServiceModule {
 public:
  explicit ReflectorModule(const ServiceContext& context)
      : context_(context),
        repositories_(context, "imagerepository",
                      [this](const std::string& key) { return Reconcile(key); }),
        impl_(&repositories_.objects(), context.store, &tag_sets_) {}

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

  void Start() override {
    // Subscribers get the stored tag sets at once, before any scan.
    auto stored = context_.store->List(kTagSetBucket);
    if (!stored.ok()) {
      log::Error("cannot read stored tag sets").With("error", stored.status());
    } else {
      for (const auto& [key, bytes] : *stored) {
        auto tag_set = std::make_shared<v1::TagSet>();
        if (!tag_set->ParseFromString(bytes)) {
          log::Error("stored tag set cannot be parsed; dropped until the next scan")
              .With("name", key);
          continue;
        }
        tag_sets_.Publish(key, std::move(tag_set));
      }
    }
    repositories_.Start();
  }
  void Drain() override { tag_sets_.Close(); }
  void Stop() override { repositories_.Stop(); }

 private:
  // Level-based: makes status reflect the stored spec. Registry scanning
  // is not part of this build yet; the Ready condition says so.
  absl::StatusOr<ReconcileResult> Reconcile(const std::string& key) {
    auto& repositories = repositories_.objects();
    ASSIGN_OR_RETURN(auto found, repositories.Find(key));
    if (!found) {
      // Deleted: its tag set goes with it.
      RETURN_IF_ERROR(context_.store->Delete(kTagSetBucket, key).status());
      tag_sets_.Remove(key);
      return ReconcileResult{};
    }
    if (found->spec().suspend()) {
      log::Debug("suspended; not scanning").With("name", key);
      return ReconcileResult{};
    }
    ASSIGN_OR_RETURN(absl::Duration interval,
                     ParseDuration(found->spec().interval()));
    // Validated on Apply, so it parses.
    ASSIGN_OR_RETURN(ImageReference image,
                     ParseImageReference(found->spec().image()));
    const absl::Time now = context_.clock->Now();
    RETURN_IF_ERROR(
        repositories
            .UpdateStatus(key,
                          [&](v1::ImageRepository* repository) {
                            MarkObserved(repository);
                            repository->mutable_status()->set_canonical_image_name(
                                image.CanonicalName());
                            SetCondition(
                                repository->mutable_status()->mutable_conditions(),
                                kReady, kUnknown, "Progressing",
                                "waiting for the first scan",
                                repository->metadata().generation(), now);
                          })
            .status());
    return ReconcileResult{.requeue_after = interval};
  }

  const ServiceContext context_;
  ObjectController<v1::ImageRepository> repositories_;
  // The latest v1::TagSet of each repository, for WatchTagSets.
  Feed tag_sets_;
  ReflectorImpl impl_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ServiceModule>> MakeModule(
    const ServiceContext& context) {
  return std::make_unique<ReflectorModule>(context);
}

}  // namespace ia::reflector
