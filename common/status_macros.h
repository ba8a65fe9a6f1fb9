// Early-return helpers for absl::Status / absl::StatusOr (Debian's Abseil
// 20220623 has none of its own).
#ifndef COMMON_STATUS_MACROS_H_
#define COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define IA_STATUS_CONCAT_INNER_(a, b) a##b
#define IA_STATUS_CONCAT_(a, b) IA_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status); returns it from the calling function
// when it is not OK.
#define RETURN_IF_ERROR(expr)                 \
  do {                                        \
    const ::absl::Status ia_status_ = (expr); \
    if (!ia_status_.ok()) return ia_status_;  \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status from
// the calling function, else moves the value into `lhs` (which may be a
// declaration: `ASSIGN_OR_RETURN(auto x, F());`).
#define ASSIGN_OR_RETURN(lhs, rexpr)                                        \
  IA_ASSIGN_OR_RETURN_IMPL_(IA_STATUS_CONCAT_(ia_statusor_, __LINE__), lhs, \
                            rexpr)

#define IA_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr)    \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // COMMON_STATUS_MACROS_H_
