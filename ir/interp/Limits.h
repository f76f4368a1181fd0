//===- ir/interp/Limits.h - Static resource limits of a program --------------===//
//
// Every tensor in PTL has a static shape and every loop static bounds, so a
// program that would exhaust memory (`zeros[100000, 100000, 100]`, a
// broadcast or outer product of two long vectors, a `map` stacking too many
// rows) or run for an absurd number of iterations can be rejected before it
// runs. checkResourceLimits walks a module and reports each op whose result
// is larger than the tensor budget, and the innermost loop, call or
// function whose iterations and calls, counted through the functions it
// calls (times the trips of the loops around it), are over the loop
// budget, with the source location. The driver turns these into
// compile-time diagnostics; the runtime still refuses an oversized
// allocation (Tensor::setMaxTensorBytes) for hosts that skip this check.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ptl::ir {

/// Budgets for one program. A value <= 0 means "no limit".
struct ResourceLimits {
  /// The most bytes one tensor may hold (default 4 GiB).
  int64_t maxTensorBytes = int64_t(4) << 30;
  /// The most loop iterations and calls one op, or one call of a function,
  /// may run, counted through calls: a loop of T trips runs T times (1 +
  /// what its body runs), a call 1 + what the callee's body runs, each times
  /// the trips of the loops around it (default 10^10). A loop nest, a loop
  /// around a call of a looping function and a deep tree of calls all count.
  int64_t maxLoopTrips = 10'000'000'000;
};

/// One op over a budget.
struct LimitViolation {
  Loc loc;             ///< the op's location (may be invalid)
  std::string message; ///< e.g. "tensor f32[100000, 100000, 100] needs 4000000000000 bytes (3.6 TiB), ..."
};

/// The ops of `m` over the budgets `lim`, in program order, at most one per
/// source location.
std::vector<LimitViolation> checkResourceLimits(const Module &m, const ResourceLimits &lim);

/// "3.6 TiB", "512 MiB", "100 bytes".
std::string formatBytes(int64_t bytes);

} // namespace ptl::ir
