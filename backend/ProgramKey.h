//===- backend/ProgramKey.h - The code cache's key of a program ---------------===//
//
// The key under which a program's compiled objects are cached
// (backend/CodeCache.h): a BLAKE3 digest of everything that determines the
// object code, taken after lowering and before any LLVM pass, so a hit
// skips both LLVM's optimisation pipeline and its code generation:
//
//   * the lowered LLVM modules as printed text, one per part of the program
//     (so: the PTL IR after PTL's passes, the standard library and every
//     imported file, the lowering's own choices, the runtime functions'
//     declarations, constants, debug locations, how the program was split);
//   * the optimisation level (-O), and PTL_LLVM_ARGS (LLVM's own options);
//   * the target: triple, CPU, feature string (with $PTL_JIT_FEATURES),
//     code model, relocation model, code-generation level (JIT::targetDescription);
//   * LLVM's version, PTL's version and the build: the path, size and
//     modification time of the binary or library holding this code (so a
//     rebuilt PTL, whose passes or runtime may differ, never reuses an
//     older build's objects);
//   * the cache format version;
//   * and, in entryKey, the symbol prefix the objects define (Engine.cpp).
//
// docs/design.md ("The persistent code cache") explains the choice.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "backend/CodeCache.h"

#include <string>
#include <vector>

namespace llvm {
class Module;
} // namespace llvm

namespace ptl::backend {

class JIT;

/// The digest of a program lowered into `modules` (before any LLVM pass),
/// to be compiled by `jit` at `optLevel`: every part but the symbol prefix.
CacheKey programKey(const std::vector<const llvm::Module *> &modules, const JIT &jit, int optLevel);

/// The key of the entry holding that program's objects with symbols named
/// after `prefix`.
CacheKey entryKey(const CacheKey &program, const std::string &prefix);

/// What identifies this build of PTL (its version and the file holding its
/// code, with size and modification time); computed once per process.
const std::string &buildIdentity();

} // namespace ptl::backend
