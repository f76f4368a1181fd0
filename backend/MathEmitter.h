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

} // namespace ptl::backend
