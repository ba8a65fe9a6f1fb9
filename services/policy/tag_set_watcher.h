// TagSetWatcher: the policy service's subscription to the reflector's
// Reflector.WatchTagSets. On its own thread it keeps the latest TagSet of
// each repository ("namespace/name") in memory, reconnecting with capped
// exponential backoff (100ms..10s, jittered) when the stream breaks or the
// reflector is down, and resyncing from the snapshot after each reconnect
// (repositories missing from the new snapshot are dropped).
//
// `changed` is called on the watcher thread with a repository key whenever
// that repository's tag set appears, changes revision or goes away, and
// once with "" (meaning: every repository) after the first snapshot; it
// must not block (the policy module enqueues policies).
//
// A tag that arrives without first_seen (a reflector that does not record
// it) is given the time this watcher first received it, on `clock`, and
// keeps that time in later tag sets: for minAge such a tag counts as just
// seen, never as known forever (after a restart of the policy service, as
// seen at the restart).
//
// Thread-safe. Stop() cancels the stream (TryCancel) and joins the thread.
#ifndef SERVICES_POLICY_TAG_SET_WATCHER_H_
#define SERVICES_POLICY_TAG_SET_WATCHER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "imageautomation/v1/reflector.pb.h"
#include "services/policy/stream_backoff.h"
#include "services/policy/tag_set_source.h"

namespace grpc {
class ChannelCredentials;
class ClientContext;
}  // namespace grpc

namespace ia::policy {

class TagSetWatcher final : public TagSetSource {
 public:
  using ChangedFn = std::function<void(const std::string& repository_key)>;

  // `clock` (not owned) must outlive this object.
  TagSetWatcher(std::string address,
                std::shared_ptr<grpc::ChannelCredentials> credentials,
                const Clock* clock, ChangedFn changed);
  ~TagSetWatcher();  // Stop()s.
  TagSetWatcher(const TagSetWatcher&) = delete;
  TagSetWatcher& operator=(const TagSetWatcher&) = delete;

  // Starts the thread. An empty address disables the watcher.
  void Start();
  // Cancels the stream and joins the thread. Idempotent.
  void Stop();

  // TagSetSource.
  std::shared_ptr<const imageautomation::v1::TagSet> Get(
      const std::string& repository_key) const override;
  bool synced() const override;

 private:
  using TagSetPtr = std::shared_ptr<const imageautomation::v1::TagSet>;

  void Run();
  // One stream, from connect to its end. True when it got past the snapshot.
  bool WatchOnce();
  // Replaces the cache with `snapshot`; returns the keys that changed and
  // sets `first` when this is the first snapshot.
  std::vector<std::string> ReplaceAll(std::map<std::string, TagSetPtr> snapshot,
                                      bool* first);
  void Set(const std::string& key, TagSetPtr tag_set);
  // Gives the tags of `tag_set` without first_seen the time they have in
  // the cached tag set of `key`, or now.
  void StampFirstSeen(const std::string& key,
                      imageautomation::v1::TagSet* tag_set) const;
  bool Erase(const std::string& key);

  const std::string address_;
  const std::shared_ptr<grpc::ChannelCredentials> credentials_;
  const Clock* const clock_;
  const ChangedFn changed_;
  StreamBackoff backoff_;

  mutable absl::Mutex mu_;
  std::map<std::string, TagSetPtr> tag_sets_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool synced_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::thread thread_;
};

}  // namespace ia::policy

#endif  // SERVICES_POLICY_TAG_SET_WATCHER_H_
