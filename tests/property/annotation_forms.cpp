//===- tests/property/annotation_forms.cpp - Annotation placement property --===//
//
// Property test: random well-typed programs from the fuzz generator
// (fuzz/ProgramGen.h), each rendered four times with its sub-model
// parameters' annotations written on the parameter, as a statement in the
// sub-model's body, on a sub-model path and on a nested path. The four
// renderings mean the same program, so the reference interpreter must give
// the same outcome for each: the same `print` output and `train` progress,
// bit for bit, and the same fault message (its line differs, as the
// statements move). A placement rejected while another compiles is a
// failure too.
//
// Every K-th program (default 20; 0 for none) also runs as native code (the
// JIT of `ptlc run`) in every placement, which must agree with the
// interpreter exactly.
//
// Usage: ptl_annotation_forms [--seed S] [--programs N] [--seconds T] [--jit-every K]
// Runs N programs (default 200) from the fixed seed S (default 14) or for
// T seconds (default 60), whichever ends first, and fails if fewer than a
// quarter of the programs ran (the property would hold vacuously).
//
//===----------------------------------------------------------------------===//
#include "backend/Engine.h"
#include "frontend/Compiler.h"
#include "fuzz/FuzzCommon.h"
#include "fuzz/ProgramGen.h"
#include "ir/Verifier.h"
#include "ir/interp/Interpreter.h"
#include "ir/interp/Limits.h"
#include "runtime/Errors.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace ptl;
using fuzz::AnnotationPlacement;

namespace {

/// What one rendering did: "rejected", or the printed output, the progress
/// text and the fault message (without its location).
struct Result {
  bool rejected = false;
  std::string out, err, fault;
  bool operator==(const Result &o) const {
    return rejected == o.rejected && out == o.out && err == o.err && fault == o.fault;
  }
};

/// Compiles `source` as `ptlc run --interp` does and runs `main` in the
/// interpreter with a time and memory budget; with `native`, runs it as
/// native code instead (as `ptlc run`), when the backend compiles `main`
/// (`*compiled` says whether it did).
Result run(const std::string &source, bool native = false, bool *compiled = nullptr) {
  static FILE *devNull = std::fopen("/dev/null", "w");
  Result r;
  Compilation c(devNull);
  std::unique_ptr<ir::Module> m;
  std::string error;
  if (c.loadSource("prop.ptl", source)) m = c.elaborate(ElaborateOptions{});
  ir::ResourceLimits lim;
  lim.maxTensorBytes = 1 << 20;
  lim.maxLoopTrips = 100000;
  if (!m || !ir::checkResourceLimits(*m, lim).empty() || !c.runDefaultPipeline(*m, error) ||
      !ir::verifyModule(*m, error) || !m->lookup("main")) {
    if (!error.empty()) r.fault = "internal error: " + error;
    r.rejected = error.empty();
    return r;
  }
  std::ostringstream out, err;
  if (native) {
    backend::EngineOptions eo;
    eo.out = &out;
    eo.host.out = &out;
    eo.host.err = &err;
    std::unique_ptr<backend::Engine> engine = backend::Engine::create(*m, eo, error);
    if (compiled) *compiled = engine && engine->isCompiled("main");
    if (!engine || !engine->isCompiled("main")) return r;
    try {
      engine->call("main", {});
    } catch (const RuntimeFault &f) {
      r.fault = f.what();
    }
    r.out = out.str();
    r.err = err.str();
    return r;
  }
  ir::InterpOptions io;
  io.out = &out;
  io.err = &err;
  io.timeBudgetSeconds = 2.0;
  io.memoryBudgetBytes = 64 << 20;
  try {
    ir::Interpreter interpreter(*m, io);
    interpreter.call("main", {});
  } catch (const RuntimeFault &f) {
    r.fault = f.what();
  }
  r.out = out.str();
  r.err = err.str();
  return r;
}

const char *placementName(AnnotationPlacement p) {
  switch (p) {
  case AnnotationPlacement::OnParam: return "on the parameter";
  case AnnotationPlacement::OwnStatement: return "as a body statement";
  case AnnotationPlacement::SubPath: return "on a sub-model path";
  case AnnotationPlacement::NestedPath: return "on a nested path";
  }
  return "?";
}

void show(const char *what, const std::string &source, const Result &r) {
  std::fprintf(stderr, "---- %s ----\n%s---- output ----\n%s%s%s%s\n", what, source.c_str(), r.out.c_str(),
               r.err.c_str(), r.fault.empty() ? "" : "fault: ", r.fault.c_str());
}

} // namespace

int main(int argc, char **argv) {
  unsigned long seed = 14;
  long programs = 200;
  double seconds = 60;
  long jitEvery = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--seed")) seed = std::strtoul(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--programs")) programs = std::strtol(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--seconds")) seconds = std::strtod(argv[i + 1], nullptr);
    else if (!std::strcmp(argv[i], "--jit-every")) jitEvery = std::strtol(argv[i + 1], nullptr, 10);
    else {
      std::fprintf(stderr, "usage: %s [--seed S] [--programs N] [--seconds T] [--jit-every K]\n", argv[0]);
      return 2;
    }
  }
  fuzz::initOnce(); // no file access, the fuzzers' allocation limit
  const AnnotationPlacement placements[] = {AnnotationPlacement::OnParam, AnnotationPlacement::OwnStatement,
                                            AnnotationPlacement::SubPath, AnnotationPlacement::NestedPath};
  std::mt19937_64 rng(seed);
  auto start = std::chrono::steady_clock::now();
  long done = 0, ran = 0, clean = 0, failed = 0, jitRuns = 0;
  const char *showEnv = std::getenv("PTL_PROPERTY_SHOW");
  long showOne = showEnv ? std::strtol(showEnv, nullptr, 10) : -1;
  for (; done < programs; ++done) {
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > seconds) break;
    std::vector<uint8_t> bytes(64 + rng() % 448);
    for (uint8_t &b : bytes) b = (uint8_t)rng();
    std::string reference = fuzz::generateProgram(bytes.data(), bytes.size(), placements[0]);
    Result want = run(reference);
    if (want.fault.empty() && !want.rejected) ++clean;
    if (showOne == done) // PTL_PROPERTY_SHOW=N: program N in every placement, and what it did
      for (AnnotationPlacement p : placements) {
        std::string src = fuzz::generateProgram(bytes.data(), bytes.size(), p);
        show(placementName(p), src, run(src));
      }
    if (!want.rejected) ++ran;
    for (size_t k = 1; k < 4; ++k) {
      std::string source = fuzz::generateProgram(bytes.data(), bytes.size(), placements[k]);
      Result got = run(source);
      if (got == want) continue;
      ++failed;
      std::fprintf(stderr, "FAIL: program %ld: the annotations %s behave differently from %s\n", done,
                   placementName(placements[k]), placementName(placements[0]));
      show(placementName(placements[0]), reference, want);
      show(placementName(placements[k]), source, got);
    }
    // Every jitEvery-th program also runs as native code in every placement,
    // which must agree with the interpreter (budget stops are not compared).
    if (jitEvery > 0 && done % jitEvery == 0 && !want.rejected && want.fault.find("budget") == std::string::npos)
      for (AnnotationPlacement p : placements) {
        std::string source = fuzz::generateProgram(bytes.data(), bytes.size(), p);
        bool compiled = false;
        Result got = run(source, true, &compiled);
        if (!compiled) continue;
        ++jitRuns;
        if (got == want) continue;
        ++failed;
        std::fprintf(stderr, "FAIL: program %ld: native code with the annotations %s differs from the interpreter\n",
                     done, placementName(p));
        show("interpreter", reference, want);
        show("native", source, got);
      }
  }
  std::printf("annotation forms: %ld programs (seed %lu), %ld ran (%ld without a fault), compared in 4 placements; "
              "%ld native runs compared with the interpreter\n",
              done, seed, ran, clean, jitRuns);
  if (ran * 4 < done) {
    std::fprintf(stderr, "FAIL: only %ld of %ld programs ran\n", ran, done);
    return 1;
  }
  std::printf("%ld passed, %ld failed\n", done - failed, failed);
  return failed ? 1 : 0;
}
