//===- backend/Partition.h - Splitting a program into parts compiled at once --===//
//
// A big program compiles faster on several cores: its LLVM functions are
// spread over parts, each lowered into a module and context of its own,
// optimised and compiled to an object on its own thread, and the objects
// linked together by the JIT (backend/Engine.cpp).
//
// What is spread are units (CodeGen.h's LoweredFunction): a PTL function's
// body with its host entry, one outlined parallel `map` body, or one
// product or transpose kernel. A `map` body is often most of a program
// (maml_sine's differentiated meta-batch body was 40% of its LLVM
// instructions), so it is a unit of its own rather than part of the
// function it came from.
//
// The sizes are measured, not guessed: the whole program is lowered once
// (the census, which becomes part 0's module), every unit is weighed by its
// LLVM instructions, and the units are dealt out biggest first to the part
// that is lightest so far. Each other part lowers the PTL functions owning
// its units again and keeps only its units' bodies; everything else becomes
// a declaration.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "backend/CodeGen.h"

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace llvm {
class Module;
}

namespace ptl::backend {

/// Parts are not made smaller than this many LLVM instructions (as lowered,
/// before optimisation): below it a thread's start and the calls that can
/// no longer be inlined cost more than the part saves. (rnn_online, ~3,400
/// instructions, compiles whole; maml_sine_fo, ~4,700, in two parts.)
constexpr size_t kMinPartInstructions = 2000;

/// The part (0 .. parts-1) of every unit of `lowered`.
struct Partition {
  std::map<std::string, size_t> partOf;
  size_t parts = 1;
};

/// Deals the units of `census` (the whole program, lowered with `lowered`
/// recorded) out to at most `maxParts` parts of about equal LLVM size, and
/// no more than kMinPartInstructions allows.
Partition partitionUnits(const llvm::Module &census, const std::vector<LoweredFunction> &lowered, size_t maxParts);

/// The PTL functions owning a unit of `part`, in the order of `functions`.
std::vector<const ir::Function *> ownersOf(const Partition &p, size_t part, const std::vector<LoweredFunction> &lowered,
                                           const std::vector<const ir::Function *> &functions);

/// Turns every function of `lowered` (defined in `m`) whose unit belongs to
/// another part into a declaration. False if a unit of `part` is not
/// defined in `m` (the lowering named it differently: the caller then
/// compiles the program as one part).
bool keepPart(llvm::Module &m, const std::vector<LoweredFunction> &lowered, const Partition &p, size_t part);

/// Makes `m`, lowered as the census, a whole program: everything `lowered`
/// defined becomes internal again except the host entries (as lowering it
/// without a split would have made it).
void internalize(llvm::Module &m, const std::vector<LoweredFunction> &lowered);

} // namespace ptl::backend
