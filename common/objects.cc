#include "common/objects.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace ia {

absl::string_view KindOf(const AnyObject& object) {
  return std::visit(
      [](const auto& o) { return KindOf<std::decay_t<decltype(o)>>(); },
      object);
}

const v1::ObjectMeta& MetaOf(const AnyObject& object) {
  return std::visit(
      [](const auto& o) -> const v1::ObjectMeta& { return o.metadata(); },
      object);
}

std::string KeyOf(const v1::ObjectMeta& meta) {
  return KeyOf(meta.namespace_(), meta.name());
}

std::string KeyOf(absl::string_view ns, absl::string_view name) {
  return absl::StrCat(ns, "/", name);
}

bool SplitKey(absl::string_view key, std::string* ns, std::string* name) {
  const size_t slash = key.find('/');
  if (slash == absl::string_view::npos) return false;
  *ns = std::string(key.substr(0, slash));
  *name = std::string(key.substr(slash + 1));
  return true;
}

std::string DisplayName(absl::string_view kind, const v1::ObjectMeta& meta) {
  return absl::StrCat(kind, " ", meta.namespace_(), "/", meta.name());
}

void SetCondition(google::protobuf::RepeatedPtrField<v1::Condition>* conditions,
                  absl::string_view type, absl::string_view status,
                  absl::string_view reason, absl::string_view message,
                  int64_t observed_generation, absl::Time now) {
  v1::Condition* condition = nullptr;
  for (auto& c : *conditions) {
    if (c.type() == type) condition = &c;
  }
  if (condition == nullptr) {
    condition = conditions->Add();
    condition->set_type(std::string(type));
  }
  if (condition->status() != status || !condition->has_last_transition_time()) {
    // Kubernetes times (metav1.Time) have whole seconds.
    *condition->mutable_last_transition_time() = ToProtoTime(WholeSeconds(now));
  }
  condition->set_status(std::string(status));
  condition->set_reason(std::string(reason));
  condition->set_message(std::string(message));
  condition->set_observed_generation(observed_generation);
}

void RemoveCondition(
    google::protobuf::RepeatedPtrField<v1::Condition>* conditions,
    absl::string_view type) {
  for (int i = 0; i < conditions->size(); ++i) {
    if (conditions->Get(i).type() == type) {
      conditions->DeleteSubrange(i, 1);
      return;
    }
  }
}

const v1::Condition* FindCondition(
    const google::protobuf::RepeatedPtrField<v1::Condition>& conditions,
    absl::string_view type) {
  for (const auto& c : conditions) {
    if (c.type() == type) return &c;
  }
  return nullptr;
}

google::protobuf::Timestamp ToProtoTime(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t nanos = absl::ToUnixNanos(t);
  int64_t seconds = nanos / 1'000'000'000;
  int64_t rem = nanos % 1'000'000'000;
  if (rem < 0) {
    rem += 1'000'000'000;
    --seconds;
  }
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>(rem));
  return ts;
}

absl::Time WholeSeconds(absl::Time t) {
  return absl::FromUnixSeconds(absl::ToUnixSeconds(t));
}

absl::Time FromProtoTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

}  // namespace ia
