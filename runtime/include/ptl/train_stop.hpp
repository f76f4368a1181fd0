//===- ptl/train_stop.hpp - Why a `train` loop stopped on a non-finite value ===//
//
// Part of the C++ embedding API (<ptl/ptl.hpp> includes it): a
// ptl::RuntimeError raised by a diverged `train` loop carries one (see
// docs/embedding.md, Errors). The compiler's run-time faults carry the same
// struct.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ptl/tensor.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace ptl {

/// A `train` loop that stopped because its loss, a gradient leaf or an
/// updated parameter was NaN or infinite, and the parameters it kept: those
/// from before the diverging step.
struct TrainStop {
  int64_t step = 0;               ///< the step that diverged (1-based)
  std::string reason;             ///< "loss", "gradient" or "update"
  std::string path;               ///< the first non-finite leaf ("l1.W"); empty for the loss
  std::string variable;           ///< the trained variable's name in the script
  bool topLevel = false;          ///< the variable is a top-level binding of the script
  std::vector<std::string> paths; ///< the model's stored leaves, in storage order
  std::vector<Tensor> params;     ///< their kept (stored, unconstrained) values, copies
};

} // namespace ptl
