//===- fuzz/fuzz_frontend.cpp - libFuzzer: arbitrary bytes to the front end --===//
//
// Feeds the input, as a script, to the whole front end: lexer and parser,
// checker and elaborator, resource limits, and the IR pass pipeline
// (CSE, autodiff, CSE, DCE) with the verifier after it. Nothing runs.
// Set PTL_FUZZ_STATS=1 to see what each phase costs per input.
//
//===----------------------------------------------------------------------===//
#include "fuzz/FuzzCommon.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 64 * 1024) return -1; // bounded work per input; do not add to the corpus
  ptl::fuzz::FuzzOptions o;
  o.run = false;
  ptl::fuzz::compileAndMaybeRun(std::string(reinterpret_cast<const char *>(data), size), o);
  // PTL_FUZZ_STATS=1: every 100 inputs, the CPU time per input of each phase.
  static const bool stats = std::getenv("PTL_FUZZ_STATS") != nullptr;
  if (stats && ptl::fuzz::phaseTimes().inputs % 100 == 0)
    std::fprintf(stderr, "%s\n", ptl::fuzz::describePhaseTimes().c_str());
  return 0;
}
