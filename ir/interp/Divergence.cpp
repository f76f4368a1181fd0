//===- ir/interp/Divergence.cpp - Why a `train` loop stopped on a non-finite value ===//
//
// See Divergence.h.
//
//===----------------------------------------------------------------------===//
#include "ir/interp/Divergence.h"

#include <cmath>

namespace ptl::ir {

namespace {
/// Whether every element of a float tensor is finite (other dtypes always are).
bool allFinite(const Tensor &t) {
  if (!isFloat(t.dtype())) return true;
  for (int64_t i = 0; i < t.numel(); ++i)
    if (!std::isfinite(t.getDouble(i))) return false;
  return true;
}
} // namespace

std::optional<Divergence> findNonfinite(const std::vector<Tensor> &in, const std::vector<std::string> &paths) {
  size_t n = paths.size();
  if (in.size() != 2 + 2 * n) return std::nullopt;
  Divergence d;
  d.step = (int64_t)in[0].getDouble(0);
  if (!allFinite(in[1])) {
    d.reason = "loss";
    return d;
  }
  for (size_t k = 0; k < 2 * n; ++k)
    if (!allFinite(in[2 + k])) {
      d.reason = k < n ? "gradient" : "update";
      d.path = paths[k % n];
      return d;
    }
  return std::nullopt;
}

std::string divergenceMessage(const Divergence &d, const std::string &var) {
  std::string s = "step " + std::to_string(d.step);
  std::string m = "training diverged at " + s + ": ";
  if (d.reason == "loss")
    m += "the loss is not finite (NaN or infinity)";
  else if (d.reason == "gradient")
    m += "the gradient of '" + d.path + "' is not finite (NaN or infinity)";
  else
    m += "the optimiser's update made '" + d.path + "' not finite (NaN or infinity)";
  if (!var.empty()) m += "; '" + var + "' keeps its parameters from before " + s;
  return m + " (to train on regardless, pass allow_nonfinite = true)";
}

} // namespace ptl::ir
