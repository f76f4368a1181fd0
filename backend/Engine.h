//===- backend/Engine.h - Run IR functions as native code ---------------------===//
//
// Compiles every function of a module that the backend can compile (see
// backend/CodeGen.h; a function calling one that cannot is not compiled
// either) into one LLVM module, optimised at -O2 and added to the
// process-wide JIT under its own resource tracker (removed again when the
// Engine goes). call() then runs a compiled function on host tensors, like
// ir::Interpreter::call: run-time errors come back as ptl::RuntimeFault with
// the .ptl location of the failing op, and the engine stays usable.
//
// The optimised objects are kept in the persistent code cache
// (backend/CodeCache.h, keyed by backend/ProgramKey.h): a program lowered
// to the same LLVM IR for the same target and options is loaded from it
// instead of being optimised and compiled again. Symbols are named after a
// prefix derived from that key ("ptl<16 hex digits>."), with a number added
// when an engine of the same program is alive in the process, so an object
// from the cache defines the same names the lowering chose.
//
// Ops that touch files (load_npy, save_npy, load_csv, save, load) and the
// progress report of `train` loops run on the host through the interpreter's
// own kernels, in an ir::Interpreter the engine keeps for that (with
// EngineOptions::host), so paths, messages and progress output are the
// interpreter's exactly. The module must therefore outlive the engine.
//
// call() is thread-safe: each call in flight takes its own context (frame
// arena) and host interpreter from a pool, so several threads may call
// compiled functions of one engine at once; after warm-up a call allocates
// nothing but its result tensors.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "backend/CodeCache.h"
#include "ir/IR.h"
#include "ir/interp/Interpreter.h"
#include "runtime/Tensor.h"

#include <iosfwd>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ptl::backend {

struct ExecContext;

struct EngineOptions {
  std::ostream *out = nullptr; ///< destination of `print` (null: std::cout)
  int optLevel = 2;            ///< LLVM pipeline level, 0..3
  std::ostream *irOut = nullptr; ///< if set, receives the optimised LLVM IR
  /// Threads a big program is compiled on, each compiling one part of it
  /// (backend/Partition.h); 0: one per core, at most 4.
  int compileThreads = 0;
  /// Options of the interpreter that runs host ops and hosts `train` loops:
  /// its baseDir resolves relative file paths and its err receives training
  /// progress (its out is not used: `print` goes to `out` above).
  ir::InterpOptions host;
  /// The persistent code cache (backend/CodeCache.h): where, whether, how
  /// big. Not used when irOut is set (the optimised IR is not cached).
  CodeCacheOptions cache;
};

/// What the code cache did for an engine.
enum class CacheOutcome {
  Off,  ///< not used (disabled, no directory, irOut, or nothing to compile)
  Miss, ///< compiled, and stored (where the directory is writable)
  Hit,  ///< loaded from the cache: no LLVM pass or code generation ran
};

/// The stages `ptlc --emit` can show of native code.
enum class NativeStage {
  Loops, ///< the lowering's output: loop nests over explicit frame buffers (LLVM IR before any pass)
  Llvm,  ///< that IR optimised at the chosen level
  Asm,   ///< the host's assembly
};

/// What `ptlc --emit=loops|llvm|asm` prints: the functions of `m` that
/// compile, lowered (and, for Llvm and Asm, optimised at `optLevel`, 0..3).
/// The functions that cannot be compiled are listed in a comment at the
/// top. False with `error` if the JIT's target is unavailable.
bool emitNative(const ir::Module &m, int optLevel, NativeStage stage, std::ostream &os, std::string &error);

class Engine {
public:
  /// Compiles what it can of `m` (which must outlive the engine). Null
  /// with `error` only if the JIT itself fails; functions that cannot be
  /// compiled are simply left out (see isCompiled / whyNotCompiled).
  static std::unique_ptr<Engine> create(const ir::Module &m, const EngineOptions &opts, std::string &error);
  ~Engine();
  Engine(const Engine &) = delete;
  Engine &operator=(const Engine &) = delete;

  bool isCompiled(const std::string &function) const;
  /// Why `function` was not compiled ("op 'random' (line 3) is not supported
  /// ..."), empty if it was.
  std::string whyNotCompiled(const std::string &function) const;

  /// Calls a compiled function with `args` (checked against its parameter
  /// types) and returns its results. Throws RuntimeFault, with the failing
  /// op's location where there is one.
  std::vector<Tensor> call(const std::string &function, const std::vector<Tensor> &args);

  /// A compiled function's entry point and signature, found once by name
  /// for callers that call it many times (callInto).
  struct Entry {
    int32_t (*fn)(ExecContext *, void *const *, void *const *) = nullptr;
    std::vector<ir::Type> params, results; ///< the flat argument and result types
  };
  /// The entry of compiled `function`, or null if it is not compiled.
  const Entry *entry(const std::string &function) const;
  /// Calls `e` (an entry of this engine) on argument buffers `args` and
  /// writes its results into `results`, buffers of e.results' types that
  /// the caller owns (they need not be zeroed; they must not overlap the
  /// arguments). The caller has checked the buffers' types. Allocates
  /// nothing in steady state. Throws RuntimeFault as call() does.
  void callInto(const Entry &e, void *const *args, void *const *results);

  /// Asks the running `train` loops (of every call in flight) to stop after
  /// their current step, as Ctrl-C does (ir::Interpreter::requestStop; safe from another thread).
  void requestStop();

  /// Time spent lowering, optimising and compiling to machine code, in ms.
  double compileMillis() const { return compileMs_; }
  /// Whether the objects came from the code cache.
  CacheOutcome cacheOutcome() const { return cacheOutcome_; }

  /// The LLVM functions each part of the program was lowered into (one
  /// part unless it was compiled on several threads), by symbol.
  const std::vector<std::vector<std::string>> &compiledParts() const;

private:
  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  double compileMs_ = 0;
  CacheOutcome cacheOutcome_ = CacheOutcome::Off;
};

/// "off", "miss" or "hit" (for `ptlc run --stats`).
const char *cacheOutcomeName(CacheOutcome c);

} // namespace ptl::backend
