//===- ir/interp/Divergence.h - Why a `train` loop stopped on a non-finite value ===//
//
// `train` stops at the first step whose loss, gradient or updated
// parameters hold a NaN or an infinity (docs/language.md, Training). Each
// step computes one cheap scalar, the sum of the loss and of every updated
// leaf (frontend/ElabTrainChecks.cpp); only when that sum is not finite does the
// `train_nonfinite` op run, which looks at the values themselves
// (findNonfinite: a finite sum that merely overflowed is no divergence) and
// records the first culprit in the loop's TrainRun. The loop then stops
// with the parameters from before that step and fails with message().
// Shared by the interpreter, the JIT host and the AOT runtime.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tensor.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ptl::ir {

/// What went non-finite at which step of a `train` loop.
struct Divergence {
  int64_t step = 0;   ///< 1-based
  std::string reason; ///< "loss", "gradient" or "update"
  std::string path;   ///< the model leaf ("l1.W"); empty for the loss
};

/// The first non-finite value among the operands of `train_nonfinite`:
/// (step, loss, g_1..g_n, p_1..p_n) with n = paths.size(), g the gradient
/// and p the updated parameters, leaves in storage order. None if all are
/// finite (the per-step sum overflowed).
std::optional<Divergence> findNonfinite(const std::vector<Tensor> &in, const std::vector<std::string> &paths);

/// The run-time error: `training diverged at step 17: the gradient of 'l1.W'
/// is not finite (NaN or infinity); 'm' keeps its parameters from before
/// step 17 (to train on regardless, pass allow_nonfinite = true)`. `var` may
/// be empty (AOT code, which keeps nothing).
std::string divergenceMessage(const Divergence &d, const std::string &var);

} // namespace ptl::ir
