#include "services/automation/git_types.h"

namespace ia::automation {

absl::string_view GitPhaseName(GitPhase phase) {
  switch (phase) {
    case GitPhase::kNone:
      return "none";
    case GitPhase::kOptions:
      return "options";
    case GitPhase::kFetch:
      return "fetch";
    case GitPhase::kCheckout:
      return "checkout";
    case GitPhase::kRewrite:
      return "rewrite";
    case GitPhase::kCommit:
      return "commit";
    case GitPhase::kSign:
      return "sign";
    case GitPhase::kSigningKey:
      return "signing-key";
    case GitPhase::kPush:
      return "push";
    case GitPhase::kPushRejected:
      return "push-rejected";
  }
  return "unknown";
}

}  // namespace ia::automation
