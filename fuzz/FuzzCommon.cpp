//===- fuzz/FuzzCommon.cpp - Shared driver of the fuzz harnesses ------------===//
#include "fuzz/FuzzCommon.h"

#include "frontend/Compiler.h"
#include "ir/Verifier.h"
#include "ir/interp/Interpreter.h"
#include "ir/interp/Limits.h"
#include "runtime/Errors.h"
#include "runtime/Sandbox.h"
#include "runtime/Tensor.h"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

namespace ptl::fuzz {

namespace {
FILE *devNull() {
  static FILE *f = std::fopen("/dev/null", "w");
  return f;
}

[[noreturn]] void bug(const std::string &what) {
  std::fprintf(stderr, "ptl-fuzz: BUG: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

/// A stream that discards everything (print and train progress).
struct NullBuf : std::streambuf {
  int overflow(int c) override { return c; }
  std::streamsize xsputn(const char *, std::streamsize n) override { return n; }
};
} // namespace

void initOnce() {
  static bool done = false;
  if (done) return;
  done = true;
  setPathPolicy(PathPolicy::onlyUnder({})); // no file at all
  Tensor::setMaxTensorBytes(int64_t(256) << 20);
}

Outcome compileAndMaybeRun(const std::string &source, const FuzzOptions &opts) {
  initOnce();
  Compilation c(opts.verbose ? stderr : devNull());
  if (!c.loadSource("fuzz.ptl", source)) return Outcome::Rejected;
  ElaborateOptions eo;
  std::unique_ptr<ir::Module> m = c.elaborate(eo);
  if (!m) return Outcome::Rejected;
  std::string error;
  if (!ir::verifyModule(*m, error)) bug("the elaborated IR does not verify: " + error);
  ir::ResourceLimits lim;
  lim.maxTensorBytes = opts.maxTensorBytes;
  lim.maxLoopTrips = opts.maxLoopTrips;
  if (!ir::checkResourceLimits(*m, lim).empty()) return Outcome::Rejected;
  if (!c.runDefaultPipeline(*m, error)) bug("the pass pipeline failed: " + error);
  if (!ir::verifyModule(*m, error)) bug("the IR after the passes does not verify: " + error);
  if (!ir::checkResourceLimits(*m, lim).empty()) return Outcome::Rejected;
  if (!opts.run || !m->lookup("main")) return Outcome::Compiled;

  static NullBuf nullBuf;
  static std::ostream nullOut(&nullBuf);
  ir::InterpOptions io;
  io.out = opts.verbose ? &std::cout : &nullOut;
  io.err = opts.verbose ? &std::cerr : &nullOut;
  io.timeBudgetSeconds = opts.timeBudgetSeconds;
  io.memoryBudgetBytes = opts.memoryBudgetBytes;
  ir::Interpreter interp(*m, io);
  try {
    interp.call("main", {});
  } catch (const RuntimeFault &f) {
    if (opts.verbose) std::cerr << "ptl-fuzz: runtime fault: " << f.what() << "\n";
    return Outcome::RuntimeFault;
  }
  return Outcome::Ran;
}

} // namespace ptl::fuzz
