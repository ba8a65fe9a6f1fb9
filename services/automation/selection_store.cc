#include "services/automation/selection_store.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/objects.h"
#include "common/status_macros.h"

namespace ia::automation {

absl::StatusOr<std::vector<v1::Selection>> SelectionStore::List(
    absl::string_view ns) const {
  const std::string prefix = ns.empty() ? "" : absl::StrCat(ns, "/");
  ASSIGN_OR_RETURN(auto rows, store_->List(kSelectionBucket, prefix));
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

absl::Status SelectionSink::Apply(const v1::SelectionEvent& event) {
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

// Drops stored selections the publisher's snapshot did not mention.
absl::Status SelectionSink::EndSnapshot() {
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

}  // namespace ia::automation
