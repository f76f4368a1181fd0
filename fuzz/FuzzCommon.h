//===- fuzz/FuzzCommon.h - Shared driver of the fuzz harnesses --------------===//
//
// Compiles PTL source held in memory exactly as `ptlc` does (parse, check,
// IR, resource limits, the default pass pipeline cse-autodiff-cse-dce, the
// verifier) and optionally runs `main` in the reference interpreter with a
// time and memory budget. A diagnostic or a RuntimeFault is an ordinary
// outcome; anything else (a crash, a sanitizer report, another exception
// escaping, IR that fails verification after the passes) is a bug, and the
// harness aborts so that libFuzzer records the input.
//
// Differential check (FuzzOptions::compareNative): when the interpreter's
// run finished within its budgets (ran, or stopped with a fault other than
// a spent budget) and the native backend compiles `main`, `main` runs again
// as native code (backend::Engine; most programs at a cheaper -O level than
// `ptlc run`'s -O2 and some at -O2, see FuzzOptions::nativeOptLevel), under a
// watchdog. The two runs must agree exactly: the same outcome, the same
// `print` output, the same `train` progress text and, for a fault, the same
// message at the same location. A disagreement, a native run that outlives
// the watchdog, or lowered code the engine rejects is a bug: the harness
// prints the program and both runs, then aborts.
//
// Files: every harness runs under a sandbox that allows no directory, so an
// input never reads or writes the disk (data-file builtins fail cleanly).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>

namespace ptl::fuzz {

/// What happened to one input.
enum class Outcome {
  Rejected,      ///< diagnostics (parse or check error, or over a limit)
  Compiled,      ///< compiled, not run
  Ran,           ///< ran to the end
  RuntimeFault,  ///< ran and stopped with a RuntimeFault (incl. a spent budget)
};

struct FuzzOptions {
  bool run = false;                    ///< run `main` in the interpreter
  double timeBudgetSeconds = 1.0;      ///< of the run
  int64_t maxTensorBytes = 1 << 20;    ///< compile-time limit per tensor
  int64_t maxLoopTrips = 100000;       ///< compile-time limit per loop nest
  int64_t memoryBudgetBytes = 64 << 20;///< of the run
  bool verbose = false;                ///< print diagnostics and faults to stderr
  /// With `run`: also run `main` as native code and require the interpreter's
  /// behaviour (see the differential check above).
  bool compareNative = false;
  /// The watchdog of the native run: longer is a hang (a bug). The
  /// interpreter finished within timeBudgetSeconds, and native code is
  /// faster, so this is generous; below libFuzzer's -timeout of run.sh.
  double nativeWatchdogSeconds = 10.0;
  /// The LLVM level (-O0..-O3) the native run is compiled at, except for the
  /// programs picked by nativeFullOptEvery.
  int nativeOptLevel = 2;
  /// One program in this many (picked by a hash of its text, so an input
  /// always gets the same level) is compiled at -O2, as `ptlc run` does,
  /// the others at nativeOptLevel. 1: every program at -O2.
  int nativeFullOptEvery = 1;
};

/// The LLVM level the differential check compiles `source` at (see
/// FuzzOptions::nativeOptLevel and nativeFullOptEvery).
int nativeOptLevelFor(const std::string &source, const FuzzOptions &opts);

/// What the differential check did so far in this process (PTL_FUZZ_STATS).
struct NativeStats {
  long compared = 0;      ///< runs of `main` compared, and equal
  long notCompiled = 0;   ///< `main` not compilable by the backend: skipped
  long notComparable = 0; ///< the interpreter spent a budget: skipped
  long fullOpt = 0;       ///< of the compared runs, those compiled at -O2
};

/// The process's counts of the differential check.
const NativeStats &nativeStats();

/// CPU seconds this process spent so far in each phase of
/// compileAndMaybeRun (PTL_FUZZ_STATS), to find what an input costs.
struct PhaseTimes {
  double parse = 0;         ///< the input and its imports (std/optim)
  double elaborate = 0;     ///< checker and IR, the verifier, resource limits
  double passes = 0;        ///< the default pipeline and the verifier
  double interpret = 0;     ///< `main` in the interpreter
  double nativeCompile = 0; ///< backend::Engine::create (LLVM), at any level
  double nativeRun = 0;     ///< `main` as native code
  long inputs = 0;          ///< calls of compileAndMaybeRun
};

/// The process's phase times so far.
const PhaseTimes &phaseTimes();

/// The phase times as one line, per input ("ptl-fuzz: ms per input: ...").
std::string describePhaseTimes();

/// Compiles (and maybe runs) `source`; aborts on a bug.
Outcome compileAndMaybeRun(const std::string &source, const FuzzOptions &opts);

/// Sets up the process once: sandbox, per-tensor allocation limit.
void initOnce();

} // namespace ptl::fuzz
