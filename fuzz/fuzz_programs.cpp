//===- fuzz/fuzz_programs.cpp - libFuzzer: generated programs, run ----------===//
//
// Turns the input into a well-typed PTL program (fuzz/ProgramGen.h), then
// compiles it like `ptlc run` and runs it in the reference interpreter with
// a 1 s time budget and a 64 MiB memory budget, then, if that run finished
// within its budgets and the backend compiles `main`, runs `main` again as
// native code (at -O0, one program in 8 at -O2) and requires the same
// behaviour (the differential check of fuzz/FuzzCommon.h). Set PTL_FUZZ_PRINT=1 to see each generated program,
// its output and the check's verdict on stderr (to reproduce a crash:
// `PTL_FUZZ_PRINT=1 ./ptl_fuzz_programs crash-...`).
//
//===----------------------------------------------------------------------===//
#include "fuzz/FuzzCommon.h"
#include "fuzz/ProgramGen.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 4096) return -1;
  static const bool print = std::getenv("PTL_FUZZ_PRINT") != nullptr;
  std::string program = ptl::fuzz::generateProgram(data, size);
  if (print) std::fprintf(stderr, "---- program ----\n%s-----------------\n", program.c_str());
  ptl::fuzz::FuzzOptions o;
  o.run = true;
  o.verbose = print;
  o.compareNative = true;
  // The native run: -O0 (LLVM's -O2 was ~70% of an input's time), and one
  // program in 8 at -O2 as `ptlc run`; PTL_FUZZ_FULL_OPT=1 compiles every
  // program at -O2 (see fuzz/README.md, "The differential check").
  static const bool fullOpt = std::getenv("PTL_FUZZ_FULL_OPT") != nullptr;
  o.nativeOptLevel = 0;
  o.nativeFullOptEvery = fullOpt ? 1 : 8;
  ptl::fuzz::Outcome r = ptl::fuzz::compileAndMaybeRun(program, o);
  // PTL_FUZZ_STATS=1: how many programs were rejected, ran or faulted (to
  // tune the generator: most programs should run), and how many runs the
  // differential check compared (most should be).
  static const bool stats = std::getenv("PTL_FUZZ_STATS") != nullptr;
  static long counts[4] = {0, 0, 0, 0}, total = 0;
  if (stats) {
    ++counts[(int)r];
    if (++total % 100 == 0) {
      const ptl::fuzz::NativeStats &n = ptl::fuzz::nativeStats();
      std::fprintf(stderr,
                   "ptl-fuzz: %ld programs: %ld rejected, %ld compiled, %ld ran, %ld faulted; native: %ld compared, "
                   "%ld not compiled, %ld over a budget; %ld of the compared at -O2\n",
                   total, counts[0], counts[1], counts[2], counts[3], n.compared, n.notCompiled, n.notComparable,
                   n.fullOpt);
      std::fprintf(stderr, "%s\n", ptl::fuzz::describePhaseTimes().c_str());
    }
  }
  return 0;
}
