//===- ir/interp/Kernels.h - One interpreter kernel per IR op ----------------===//
//
// The kernels declared here are generated from ir/Ops.def, so an op added to
// the table without a kernel fails to link. A kernel receives the op, its
// operand tensors and the interpreter (for regions, calls, printing and
// file paths) and returns the op's result tensors, with the result types the
// op declares.
//
// Numerics: f32 math is done in float (exp, log and tanh are PTL's own,
// runtime/Math.h, which native code inlines; the rest glibc's expm1f, ...), f64 in double,
// i32 in integers (division truncates; division or modulo by zero is a
// RuntimeFault), bool as 0/1 bytes. Reductions accumulate in the element
// type, left to right over the input in row-major order, so results are
// reproducible; except that a float sum or mean whose reduced elements are
// contiguous (the reduced axes are the trailing ones) and number at least
// kLaneSumMin uses kSumLanes partial sums (see laneSum), which native code
// computes with one vector register. Softplus is max(x, 0) + log1p(exp(-|x|)) (stable, no
// threshold); sigmoid is 1 / (1 + exp(-x)) for x >= 0 and exp(x) / (1 +
// exp(x)) otherwise.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/interp/Divergence.h"
#include "ir/IR.h"
#include "runtime/Errors.h"
#include "runtime/Tensor.h"

#include <vector>

namespace ptl::ir {
class Interpreter;

namespace kernels {

/// Float sums of at least this many contiguous elements use partial sums.
constexpr int64_t kLaneSumMin = 32;
/// The number of partial sums (one 64-byte vector of f32).
constexpr int64_t kSumLanes = 16;

/// The sum of p[0..n): partial sum j adds the elements j, j + 16, j + 32, ...
/// in order, starting from 0; then the partial sums are added pairwise,
/// halving: s[j] += s[j + 8] for j < 8, s[j] += s[j + 4] for j < 4, then 2,
/// then 1; the result is s[0]. (Also more accurate than one running sum.)
template <class T> T laneSum(const T *p, int64_t n) {
  T acc[kSumLanes] = {};
  for (int64_t i = 0; i < n; ++i) acc[i % kSumLanes] = (T)(acc[i % kSumLanes] + p[i]);
  for (int64_t w = kSumLanes / 2; w >= 1; w /= 2)
    for (int64_t j = 0; j < w; ++j) acc[j] = (T)(acc[j] + acc[j + w]);
  return acc[0];
}

/// Whether reducing `axes` of `shape` (all when empty) reduces the trailing
/// axes only, so each output's elements are contiguous.
bool reducesTrailingAxes(const Shape &shape, const std::vector<int64_t> &axes);

/// What a kernel gets: the op, its operand values and the interpreter.
struct KernelArgs {
  const Op &op;
  const std::vector<Tensor> &in;
  Interpreter &interp;
};

/// A kernel: computes the op's results.
using KernelFn = std::vector<Tensor> (*)(const KernelArgs &);

#define PTL_OP(Name, mnemonic) std::vector<Tensor> run##Name(const KernelArgs &k);
#include "ir/Ops.def"

/// The kernel of an op kind.
KernelFn kernelFor(OpKind kind);

/// The fault of a `train` loop (a for {train}) that diverged: its message,
/// carrying the kept parameters `params` (the model's leaves, copied) and
/// the loop's attributes var, top_level and paths. Both engines raise it.
RuntimeFault divergenceFault(const Op &loop, const Divergence &d, const std::vector<Tensor> &params);

} // namespace kernels
} // namespace ptl::ir
