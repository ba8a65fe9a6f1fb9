#include "services/policy/tag_set_watcher.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/objects.h"
#include "grpcpp/grpcpp.h"
#include "imageautomation/v1/reflector.grpc.pb.h"

namespace ia::policy {

namespace v1 = ::imageautomation::v1;

namespace {
std::string RepositoryKey(const v1::TagSet& tag_set) {
  const auto& ref = tag_set.repository();
  return KeyOf(ref.namespace_().empty() ? kDefaultNamespace
                                        : absl::string_view(ref.namespace_()),
               ref.name());
}
}  // namespace

TagSetWatcher::TagSetWatcher(
    std::string address, std::shared_ptr<grpc::ChannelCredentials> credentials,
    const Clock* clock, ChangedFn changed)
    : address_(std::move(address)),
      credentials_(std::move(credentials)),
      clock_(clock),
      changed_(std::move(changed)) {}

TagSetWatcher::~TagSetWatcher() { Stop(); }

void TagSetWatcher::Start() {
  if (address_.empty() || thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
}

void TagSetWatcher::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

TagSetWatcher::TagSetPtr TagSetWatcher::Get(const std::string& key) const {
  absl::MutexLock lock(&mu_);
  auto it = tag_sets_.find(key);
  return it == tag_sets_.end() ? nullptr : it->second;
}

bool TagSetWatcher::synced() const {
  absl::MutexLock lock(&mu_);
  return synced_;
}

void TagSetWatcher::Run() {
  auto channel =
      grpc::CreateCustomChannel(address_, credentials_, PeerChannelArguments());
  auto stub = v1::Reflector::NewStub(channel);
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    grpc::ClientContext context;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      context_ = &context;
    }
    bool synced = false;
    grpc::Status status;
    {
      auto stream = stub->WatchTagSets(&context, v1::WatchTagSetsRequest());
      std::map<std::string, TagSetPtr> snapshot;
      v1::TagSetEvent event;
      while (stream->Read(&event)) {
        switch (event.type()) {
          case v1::TagSetEvent::SNAPSHOT: {
            auto tag_set = std::make_shared<v1::TagSet>(
                std::move(*event.mutable_tag_set()));
            const std::string key = RepositoryKey(*tag_set);
            StampFirstSeen(key, tag_set.get());
            snapshot[key] = std::move(tag_set);
            break;
          }
          case v1::TagSetEvent::SNAPSHOT_END: {
            synced = true;
            backoff_.Reset();
            bool first = false;
            std::vector<std::string> changed =
                ReplaceAll(std::move(snapshot), &first);
            snapshot.clear();
            log::Info("tag sets synced from the reflector")
                .With("reflector", address_)
                .With("changed", static_cast<int64_t>(changed.size()));
            if (first) {
              changed_("");
            } else {
              for (const std::string& key : changed) changed_(key);
            }
            break;
          }
          case v1::TagSetEvent::UPDATED: {
            auto tag_set = std::make_shared<v1::TagSet>(
                std::move(*event.mutable_tag_set()));
            const std::string key = RepositoryKey(*tag_set);
            StampFirstSeen(key, tag_set.get());
            Set(key, std::move(tag_set));
            changed_(key);
            break;
          }
          case v1::TagSetEvent::DELETED: {
            const std::string key = RepositoryKey(event.tag_set());
            if (Erase(key)) changed_(key);
            break;
          }
          default:
            break;
        }
      }
      status = stream->Finish();
    }
    bool stopping;
    {
      absl::MutexLock lock(&mu_);
      context_ = nullptr;
      stopping = stopping_;
    }
    if (stopping) return;
    const absl::Duration delay = backoff_.Next();
    log::Warn(synced ? "tag set stream ended; reconnecting"
                     : "cannot watch tag sets; retrying")
        .With("reflector", address_)
        .With("code", static_cast<int>(status.error_code()))
        .With("error", status.error_message())
        .With("retry_in", absl::FormatDuration(delay));
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), delay);
    if (stopping_) return;
  }
}

std::vector<std::string> TagSetWatcher::ReplaceAll(
    std::map<std::string, TagSetPtr> snapshot, bool* first) {
  std::vector<std::string> changed;
  absl::MutexLock lock(&mu_);
  *first = !synced_;
  synced_ = true;
  for (const auto& [key, tag_set] : snapshot) {
    auto it = tag_sets_.find(key);
    if (it == tag_sets_.end() ||
        it->second->revision() != tag_set->revision() ||
        it->second->image() != tag_set->image()) {
      changed.push_back(key);
    }
  }
  for (const auto& [key, tag_set] : tag_sets_) {
    if (snapshot.count(key) == 0) changed.push_back(key);
  }
  tag_sets_ = std::move(snapshot);
  return changed;
}

void TagSetWatcher::Set(const std::string& key, TagSetPtr tag_set) {
  absl::MutexLock lock(&mu_);
  tag_sets_[key] = std::move(tag_set);
}

void TagSetWatcher::StampFirstSeen(const std::string& key,
                                   v1::TagSet* tag_set) const {
  bool missing = false;
  for (const v1::Tag& tag : tag_set->tags()) {
    missing = missing || !tag.has_first_seen();
  }
  if (!missing) return;
  // The times given before, by name (views into `previous`, kept alive).
  const TagSetPtr previous = Get(key);
  std::map<absl::string_view, const google::protobuf::Timestamp*> known;
  if (previous != nullptr) {
    for (const v1::Tag& tag : previous->tags()) {
      if (tag.has_first_seen()) known[tag.name()] = &tag.first_seen();
    }
  }
  const google::protobuf::Timestamp now = ToProtoTime(clock_->Now());
  for (v1::Tag& tag : *tag_set->mutable_tags()) {
    if (tag.has_first_seen()) continue;
    auto it = known.find(tag.name());
    *tag.mutable_first_seen() = it != known.end() ? *it->second : now;
  }
}

bool TagSetWatcher::Erase(const std::string& key) {
  absl::MutexLock lock(&mu_);
  return tag_sets_.erase(key) > 0;
}

}  // namespace ia::policy
