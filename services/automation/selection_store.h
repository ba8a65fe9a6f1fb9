// The selections the automation service received from the policy service,
// as last published, one v1::Selection per policy key in the Store's
// "Selection" bucket: SelectionStore reads them for runs and the
// ListSelections RPC, SelectionSink applies one publisher's stream of events
// to them (snapshot, updates, deletions).
//
// SelectionStore is thread-safe (the Store is). SelectionSink is not: one
// instance per stream.
#ifndef SERVICES_AUTOMATION_SELECTION_STORE_H_
#define SERVICES_AUTOMATION_SELECTION_STORE_H_

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/store.h"
#include "imageautomation/v1/policy.pb.h"

namespace ia::automation {

namespace v1 = ::imageautomation::v1;

// Bucket of the store holding one v1::Selection per policy key, as last
// published by the policy service.
inline constexpr absl::string_view kSelectionBucket = "Selection";

class SelectionStore {
 public:
  // `store` must outlive this object.
  explicit SelectionStore(Store* store) : store_(store) {}

  // The stored selections of the policies in namespace `ns` (every
  // namespace when empty), by policy key; one that cannot be parsed is
  // logged and left out. The Store's error when it cannot list.
  absl::StatusOr<std::vector<v1::Selection>> List(absl::string_view ns) const;

 private:
  friend class SelectionSink;

  Store* const store_;
};

// Applies one publisher's stream of selection events to the store and says
// which namespaces' selections changed.
class SelectionSink {
 public:
  // `changed` is called with a namespace whose selections changed: at once
  // for UPDATED and DELETED, at SNAPSHOT_END for a snapshot's.
  // `selections` must outlive this object.
  SelectionSink(SelectionStore* selections,
                std::function<void(const std::string& ns)> changed)
      : store_(selections->store_), changed_(std::move(changed)) {}

  // Stores `event` (or, at SNAPSHOT_END, drops the stored selections the
  // snapshot did not mention). INVALID_ARGUMENT for an event out of
  // sequence, of an unknown type or without a policy; the Store's error
  // when it cannot write (nothing of the event is then acknowledged).
  absl::Status Apply(const v1::SelectionEvent& event);

 private:
  absl::Status EndSnapshot();

  Store* const store_;
  std::function<void(const std::string& ns)> changed_;
  uint64_t last_sequence_ = 0;
  std::set<std::string> in_snapshot_;
  // Namespaces whose selections the snapshot in progress changed.
  std::set<std::string> snapshot_namespaces_;
};

}  // namespace ia::automation

#endif  // SERVICES_AUTOMATION_SELECTION_STORE_H_
