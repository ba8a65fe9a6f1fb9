// SelectionBook: the selections of the policies, as last published. Each
// v1::Selection lives in the service's Store (bucket "Selection", key
// "namespace/name") and in the Feed that WatchSelections and the push to
// the automation service read. Load() fills the Feed from the Store at
// start, so that a restart publishes no duplicate change.
//
// Thread-safe (Store and Feed are); the policy reconciler is its only
// writer for a given key at a time.
#ifndef SERVICES_POLICY_SELECTION_BOOK_H_
#define SERVICES_POLICY_SELECTION_BOOK_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/feed.h"
#include "common/object_store.h"
#include "common/objects.h"
#include "common/store.h"
#include "imageautomation/v1/policy.pb.h"
#include "imageautomation/v1/reflector.pb.h"

namespace ia::policy {

class SelectionBook {
 public:
  // `store` and `feed` (not owned) must outlive this object.
  SelectionBook(Store* store, Feed* feed) : store_(store), feed_(feed) {}

  // Publishes the stored selections to the Feed, dropping those whose policy
  // is gone from `policies`. Errors are logged; unparsable rows skipped.
  void Load(const ObjectStore<v1::ImagePolicy>& policies);

  // The selection last published for `key`, or null.
  std::shared_ptr<const v1::Selection> Current(const std::string& key) const;

  // Publishes `latest` as the selection of `policy` (key `key`), unless the
  // Feed already has the same latest_ref and labels. Returns whether it
  // published (stored first, then the Feed); an error from the Store
  // publishes nothing.
  absl::StatusOr<bool> Publish(const std::string& key,
                               const v1::ImagePolicy& policy,
                               const v1::ImageRef& latest,
                               const v1::TagSet& tag_set, absl::Time now);

  // Removes the selection of a deleted policy from the Feed and the Store.
  absl::Status Remove(const std::string& key);

 private:
  Store* const store_;
  Feed* const feed_;
};

}  // namespace ia::policy

#endif  // SERVICES_POLICY_SELECTION_BOOK_H_
