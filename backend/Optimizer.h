//===- backend/Optimizer.h - The LLVM pass pipeline of PTL's native code -----===//
//
// One pipeline for JIT-compiled and ahead-of-time code, so both get the same
// optimisation (and hence the same code) at the same -O level.
//
//===----------------------------------------------------------------------===//
#pragma once

namespace llvm {
class Module;
class TargetMachine;
} // namespace llvm

namespace ptl::backend {

/// Runs the new pass manager's default per-module pipeline at `optLevel`
/// (0..3) over `m`, with `tm`'s cost models. At -O2 loops are neither
/// unrolled nor interleaved (see Optimizer.cpp); -O3 does both.
void optimizeModule(llvm::Module &m, llvm::TargetMachine *tm, int optLevel);

} // namespace ptl::backend
