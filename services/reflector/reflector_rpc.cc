#include "services/reflector/reflector_rpc.h"

#include <algorithm>

#include "common/authn.h"
#include "common/feed_stream.h"
#include "common/grpc_status.h"
#include "common/object_rpc.h"
#include "common/status_macros.h"
#include "google/protobuf/wrappers.pb.h"
#include "imageautomation/v1/reflector.grpc.pb.h"

namespace ia::reflector {
namespace {

constexpr int kDefaultPageSize = 1000;
constexpr int kMaxPageSize = 10000;

v1::TagSetEvent ToTagSetEvent(const FeedEvent& event) {
  v1::TagSetEvent out = ToStreamEvent(event, &v1::TagSetEvent::mutable_tag_set,
                                      &v1::TagSet::mutable_repository);
  // The feed holds tag sets in their stored form (tag_set_store.h).
  if (auto bytes = event.As<google::protobuf::StringValue>()) {
    DecodeTagSet(bytes->value(), out.mutable_tag_set());
  }
  return out;
}

// Unary RPCs on the sync API (short store transactions); the tag set stream
// on the callback API.
class ReflectorImpl final
    : public v1::Reflector::WithCallbackMethod_WatchTagSets<
          v1::Reflector::Service> {
 public:
  explicit ReflectorImpl(ReflectorRpcPorts ports) : ports_(ports) {}

  grpc::Status GetTagDigest(grpc::ServerContext*,
                            const v1::GetTagDigestRequest* request,
                            v1::GetTagDigestResponse* response) override {
    auto repository = ports_.repositories->Get(
        NamespaceOf(request->repository()), request->repository().name());
    if (!repository.ok()) return ToGrpcStatus(repository.status());
    if (request->tag().empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "tag is required");
    }
    auto digest = Digest(*repository, request->tag());
    if (!digest.ok()) return ToGrpcStatus(digest.status());
    response->set_digest(*digest);
    return grpc::Status::OK;
  }

  grpc::ServerWriteReactor<v1::TagSetEvent>* WatchTagSets(
      grpc::CallbackServerContext*,
      const v1::WatchTagSetsRequest* request) override {
    return ServeFeed<v1::TagSetEvent>(
        *ports_.tag_set_feed, Feed::NamespaceFilter(request->namespace_()),
        ToTagSetEvent);
  }

  grpc::Status ApplyImageRepository(
      grpc::ServerContext* context,
      const v1::ApplyImageRepositoryRequest* request,
      v1::ApplyImageRepositoryResponse* response) override {
    return ApplyRpc(context, *ports_.repositories, request->object(), response);
  }
  grpc::Status GetImageRepository(grpc::ServerContext* context,
                                  const v1::ObjectKey* request,
                                  v1::ImageRepository* response) override {
    return GetRpc(context, *ports_.repositories, *request, response);
  }
  grpc::Status ListImageRepositories(
      grpc::ServerContext* context, const v1::ListRequest* request,
      v1::ImageRepositoryList* response) override {
    return ListRpc(context, *ports_.repositories, *request, response);
  }
  grpc::Status DeleteImageRepository(grpc::ServerContext* context,
                                     const v1::ObjectKey* request,
                                     v1::DeleteResponse*) override {
    return DeleteRpc(context, *ports_.repositories, *request);
  }
  grpc::Status ReconcileImageRepository(
      grpc::ServerContext* context, const v1::ObjectKey* request,
      v1::ReconcileResponse* response) override {
    return ReconcileRpc(context, *ports_.repositories, *request, response);
  }

  grpc::Status ListTags(grpc::ServerContext* context,
                        const v1::ListTagsRequest* request,
                        v1::ListTagsResponse* response) override {
    const std::string ns = NamespaceOf(request->repository());
    if (grpc::Status allowed = CheckNamespace(*context, Verb::kRead, ns);
        !allowed.ok()) {
      return allowed;
    }
    const std::string& name = request->repository().name();
    auto repository = ports_.repositories->Get(ns, name);
    if (!repository.ok()) return ToGrpcStatus(repository.status());
    if (request->page_size() < 0) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "page_size must not be negative");
    }
    const int page_size =
        request->page_size() == 0
            ? kDefaultPageSize
            : std::min<int>(request->page_size(), kMaxPageSize);
    auto bytes = ports_.tag_sets->Get(KeyOf(ns, name));
    if (!bytes.ok()) return ToGrpcStatus(bytes.status());
    if (!bytes->has_value()) return grpc::Status::OK;  // not scanned yet
    v1::TagSet tag_set;
    if (!DecodeTagSet(**bytes, &tag_set)) {
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
  // Asks the registry for `tag`'s digest with the repository's settings.
  absl::StatusOr<std::string> Digest(const v1::ImageRepository& repository,
                                     const std::string& tag) {
    ASSIGN_OR_RETURN(ImageReference image,
                     ParseImageReference(repository.spec().image()));
    ASSIGN_OR_RETURN(
        RegistryOptions options,
        RegistryOptionsFor(repository, image, *ports_.secrets, ports_.limits));
    return ports_.registry->Digest(image, tag, options);
  }

  const ReflectorRpcPorts ports_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeReflectorRpc(ReflectorRpcPorts ports) {
  return std::make_unique<ReflectorImpl>(ports);
}

std::string ReflectorRpcName() { return v1::Reflector::service_full_name(); }

}  // namespace ia::reflector
