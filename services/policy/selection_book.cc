#include "services/policy/selection_book.h"

#include <utility>

#include "common/log.h"
#include "common/status_macros.h"
#include "services/policy/decide.h"

namespace ia::policy {
namespace {

constexpr absl::string_view kSelectionBucket = "Selection";

bool SameLabels(const google::protobuf::Map<std::string, std::string>& a,
                const google::protobuf::Map<std::string, std::string>& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end() || it->second != v) return false;
  }
  return true;
}

}  // namespace

void SelectionBook::Load(const ObjectStore<v1::ImagePolicy>& policies) {
  auto rows = store_->List(kSelectionBucket, "");
  if (!rows.ok()) {
    log::Error("cannot read stored selections").With("error", rows.status());
    return;
  }
  for (const auto& [key, value] : *rows) {
    auto selection = std::make_shared<v1::Selection>();
    if (!selection->ParseFromString(value)) {
      log::Error("stored selection cannot be parsed").With("policy", key);
      continue;
    }
    auto policy = policies.Find(key);
    if (policy.ok() && !policy->has_value()) {
      // The policy went away (e.g. deleted before a crash): so does this.
      (void)store_->Delete(kSelectionBucket, key);
      continue;
    }
    feed_->Publish(key, std::move(selection));
  }
}

std::shared_ptr<const v1::Selection> SelectionBook::Current(
    const std::string& key) const {
  return std::dynamic_pointer_cast<const v1::Selection>(feed_->Get(key));
}

absl::StatusOr<bool> SelectionBook::Publish(const std::string& key,
                                            const v1::ImagePolicy& policy,
                                            const v1::ImageRef& latest,
                                            const v1::TagSet& tag_set,
                                            absl::Time now) {
  std::shared_ptr<const v1::Selection> current = Current(key);
  const bool same_labels =
      current != nullptr &&
      SameLabels(current->policy_labels(), policy.metadata().labels());
  if (current != nullptr && SameRef(current->latest_ref(), latest) &&
      same_labels) {
    return false;
  }
  auto selection = std::make_shared<v1::Selection>();
  selection->mutable_policy()->set_namespace_(policy.metadata().namespace_());
  selection->mutable_policy()->set_name(policy.metadata().name());
  *selection->mutable_latest_ref() = latest;
  if (current != nullptr) {
    *selection->mutable_previous_ref() = SameRef(current->latest_ref(), latest)
                                             ? current->previous_ref()
                                             : current->latest_ref();
  }
  selection->mutable_policy_labels()->insert(policy.metadata().labels().begin(),
                                             policy.metadata().labels().end());
  selection->set_tag_set_revision(tag_set.revision());
  selection->set_policy_generation(policy.metadata().generation());
  *selection->mutable_selected_at() = ToProtoTime(now);
  RETURN_IF_ERROR(
      store_->Put(kSelectionBucket, key, selection->SerializeAsString()));
  log::Info("selection changed")
      .With("policy", key)
      .With("image", latest.name())
      .With("tag", latest.tag());
  feed_->Publish(key, std::move(selection));
  return true;
}

absl::Status SelectionBook::Remove(const std::string& key) {
  if (feed_->Remove(key)) {
    log::Info("selection removed").With("policy", key);
  }
  return store_->Delete(kSelectionBucket, key).status();
}

}  // namespace ia::policy
