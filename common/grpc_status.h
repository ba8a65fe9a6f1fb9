// The two places where an error crosses the gRPC edge: an absl::Status
// becomes a grpc::Status once, where a handler answers, and a grpc::Status
// becomes an absl::Status once, where a stub's answer comes back. Codes keep
// their meaning (the two enums share their numbering) and messages are kept.
//
// Pure functions; thread-safe.
#ifndef COMMON_GRPC_STATUS_H_
#define COMMON_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace ia {

// OK stays OK; any other code maps to the gRPC code of the same name.
grpc::Status ToGrpcStatus(const absl::Status& status);

// OK stays OK; any other code maps to the absl code of the same name.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace ia

#endif  // COMMON_GRPC_STATUS_H_
