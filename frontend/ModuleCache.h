//===- frontend/ModuleCache.h - Parsed standard-library modules, shared ------===//
//
// Every compilation imports `std/optim` (implicitly) and often other `std/`
// modules, and parsing is the largest part of compiling a small script
// (ANTLR, and under the fuzzers' sanitizers more so). The standard library
// does not change while a process runs, so its modules are parsed once per
// process and their ASTs shared by every later compilation: ptlc, the REPL
// (one compilation per entry), the C++ API and the fuzz harnesses.
//
// An entry is keyed by the file's path, its text (a file that changed is
// parsed again) and its file id: an AST names its file by that id in every
// SourceLoc, so it is valid only in a compilation whose SourceManager holds
// the file under the same id (ids follow the load order, which is the same
// for the same imports). Only parses that reported no diagnostic at all are
// kept, so a cache hit reports exactly what a parse would have. The ASTs are
// immutable (shared as `const`); the cache is thread-safe and bounded.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/AST.h"
#include "frontend/Diagnostics.h"
#include "frontend/SourceManager.h"

#include <memory>

namespace ptl {

/// The AST of file `fileId` of `sm`: the cached one if this path and text
/// were parsed before under this id, else parseProgram's (reporting to
/// `diags`), kept for later if the parse reported nothing. Null on a
/// syntax error, as parseProgram.
std::shared_ptr<const ast::Program> parseShared(SourceManager &sm, int fileId, DiagnosticEngine &diags);

/// How many parses the cache has served and kept so far in this process.
struct ModuleCacheStats {
  long hits = 0;    ///< ASTs handed out again
  long entries = 0; ///< ASTs kept
};
ModuleCacheStats moduleCacheStats();

} // namespace ptl
