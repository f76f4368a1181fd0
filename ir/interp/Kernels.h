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
// reproducible. Softplus is max(x, 0) + log1p(exp(-|x|)) (stable, no
// threshold); sigmoid is 1 / (1 + exp(-x)) for x >= 0 and exp(x) / (1 +
// exp(x)) otherwise.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"
#include "runtime/Tensor.h"

#include <vector>

namespace ptl::ir {
class Interpreter;

namespace kernels {

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

} // namespace kernels
} // namespace ptl::ir
