// The defaults that more than one place needs, in one place: the services'
// addresses (the brief's interface contract; imagectl and the example
// clients dial the same ones), and the reflector's registry manners and
// push timings, which both its flags and its option structs default to.
//
// Constants only; thread-safe.
#ifndef COMMON_DEFAULTS_H_
#define COMMON_DEFAULTS_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ia::defaults {

// gRPC addresses (--listen of each service; what clients dial by default).
inline constexpr absl::string_view kReflectorAddress = "127.0.0.1:50051";
inline constexpr absl::string_view kPolicyAddress = "127.0.0.1:50052";
inline constexpr absl::string_view kAutomationAddress = "127.0.0.1:50053";

// Every service: --workers, --shutdown-grace.
inline constexpr int kWorkers = 4;
inline constexpr absl::Duration kShutdownGrace = absl::Seconds(10);

// Reflector: tags asked for per page (?n=), the request budget per registry
// host (requests per second, 0: none), the caps on tags per scan and on one
// reply's body.
inline constexpr int kRegistryPageSize = 1000;
inline constexpr double kRegistryRequestsPerSecond = 20;
inline constexpr int64_t kScanMaxTags = 100000;
inline constexpr int64_t kScanMaxReplyBytes = int64_t{8} << 20;

// Reflector push notifications: a push's confirming scan comes this long
// after it (a registry's listing may lag the push), and the webhook waits at
// most this long (real time) for a generic post's pushes to reach the tag
// set before answering them as pending (Docker distribution gives up on a
// notification after 1 s by default).
inline constexpr absl::Duration kPushConfirmScanDelay = absl::Seconds(5);
inline constexpr absl::Duration kPushAnswerWait = absl::Milliseconds(500);

}  // namespace ia::defaults

#endif  // COMMON_DEFAULTS_H_
