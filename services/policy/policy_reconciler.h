// PolicyReconciler: the ImagePolicy reconcile, level-based. It reads the
// policy, the repository's tag set and the selection published before,
// calls DecideSelection (decide.h), and carries the decision out: looks up
// a digest through the reflector when asked, publishes the selection
// (SelectionBook) and writes the policy's status. It is the only writer of
// an ImagePolicy's status and selection.
//
// Built from explicit ports, so that a test can build one with fakes: the
// object store, a TagSetSource, the reflector's generated StubInterface (for
// GetTagDigest), the selection book, the policy index and the clock.
//
// Thread-safe for calls with different keys (the controller never runs two
// reconciles of one key at once).
#ifndef SERVICES_POLICY_POLICY_RECONCILER_H_
#define SERVICES_POLICY_POLICY_RECONCILER_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/controller.h"
#include "common/object_store.h"
#include "imageautomation/v1/reflector.grpc.pb.h"
#include "services/policy/policy_index.h"
#include "services/policy/selection_book.h"
#include "services/policy/tag_set_source.h"

namespace ia::policy {

class PolicyReconciler {
 public:
  // Not owned; each must outlive the reconciler.
  struct Ports {
    ObjectStore<v1::ImagePolicy>* policies = nullptr;
    const TagSetSource* tag_sets = nullptr;
    // GetTagDigest for digestReflectionPolicy IfNotPresent and Always.
    v1::Reflector::StubInterface* reflector = nullptr;
    SelectionBook* selections = nullptr;
    PolicyIndex* index = nullptr;
    const Clock* clock = nullptr;
  };

  explicit PolicyReconciler(Ports ports) : ports_(ports) {}

  // Reconciles the policy `key` ("namespace/name"): a deleted policy loses
  // its selection; a suspended one is left alone; otherwise the decision is
  // carried out. Returns when to look again (minAge, digestReflectionPolicy
  // Always), or an error to retry with backoff (the store failed, or the
  // digest lookup failed: then status says DigestLookupFailed).
  absl::StatusOr<ReconcileResult> Reconcile(const std::string& key);

 private:
  // The digest of `image`'s `tag` in `repository`, from the reflector.
  absl::StatusOr<std::string> TagDigest(const std::string& repository,
                                        const std::string& tag);

  const Ports ports_;
};

}  // namespace ia::policy

#endif  // SERVICES_POLICY_POLICY_RECONCILER_H_
