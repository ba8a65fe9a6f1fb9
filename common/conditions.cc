#include "common/conditions.h"

namespace ia {

void SetReady(Conditions* conditions, absl::string_view reason,
              absl::string_view message, int64_t observed_generation,
              absl::Time now) {
  SetCondition(conditions, kReady, kTrue, reason, message, observed_generation,
               now);
  RemoveCondition(conditions, kStalled);
  RemoveCondition(conditions, kReconciling);
}

void SetNotReady(Conditions* conditions, absl::string_view reason,
                 absl::string_view message, bool stalled,
                 int64_t observed_generation, absl::Time now) {
  SetCondition(conditions, kReady, kFalse, reason, message, observed_generation,
               now);
  if (stalled) {
    SetCondition(conditions, kStalled, kTrue, reason, message,
                 observed_generation, now);
  } else {
    RemoveCondition(conditions, kStalled);
  }
  RemoveCondition(conditions, kReconciling);
}

}  // namespace ia
