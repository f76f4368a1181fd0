//===- backend/MathEmitter.h - PTL's f32 exp, log and tanh as inline LLVM IR ---===//
//
// The operations of runtime/Math.cpp, emitted step for step at the insertion
// point: no call, so LLVM vectorises the loops around them, and the same
// bits as the interpreter, which calls runtime/Math.cpp.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <llvm/IR/IRBuilder.h>

namespace ptl::backend {

/// e^x of a float `x` (runtime/Math.h: expF32).
llvm::Value *emitExpF32(llvm::IRBuilder<> &b, llvm::Value *x);
/// ln x of a float `x` (logF32).
llvm::Value *emitLogF32(llvm::IRBuilder<> &b, llvm::Value *x);
/// tanh x of a float `x` (tanhF32).
llvm::Value *emitTanhF32(llvm::IRBuilder<> &b, llvm::Value *x);
/// Whether a^b of floats takes pow's fast path (powF32Fast): an i1.
llvm::Value *emitPowF32Fast(llvm::IRBuilder<> &b, llvm::Value *a, llvm::Value *x);
/// a^b of floats by the fast path (powF32Core; meaningful where the i1 of
/// emitPowF32Fast holds: the caller computes the other cases with powf).
llvm::Value *emitPowF32Core(llvm::IRBuilder<> &b, llvm::Value *a, llvm::Value *x);

} // namespace ptl::backend
