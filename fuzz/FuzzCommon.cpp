//===- fuzz/FuzzCommon.cpp - Shared driver of the fuzz harnesses ------------===//
#include "fuzz/FuzzCommon.h"

#include "backend/Engine.h"
#include "frontend/Compiler.h"
#include "ir/Verifier.h"
#include "ir/interp/Interpreter.h"
#include "ir/interp/Limits.h"
#include "runtime/Errors.h"
#include "runtime/Sandbox.h"
#include "runtime/Tensor.h"

#include <chrono>
#include <ctime>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

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

/// What one run of `main` did, as the differential check compares it.
struct RunTrace {
  std::ostringstream out;            ///< what `print` wrote
  std::ostringstream err;            ///< `train` progress and messages
  std::optional<RuntimeFault> fault; ///< how the run stopped, if it faulted
};

/// Runs `callMain`, which writes to trace.out and trace.err, keeping the
/// RuntimeFault it may throw in trace.fault.
void runTraced(RunTrace &trace, const std::function<void()> &callMain) {
  try {
    callMain();
  } catch (const RuntimeFault &f) {
    trace.fault = f;
  }
}

/// A fault as `ptlc run` reports it: FILE:LINE:COL: error: MESSAGE.
std::string faultText(const RuntimeFault &f) {
  return f.loc.file + ":" + std::to_string(f.loc.line) + ":" + std::to_string(f.loc.col) + ": error: " + f.what();
}

/// Whether the interpreter stopped because it spent its time or memory
/// budget (native code has no budget, so such a run is not comparable).
bool isBudgetStop(const RuntimeFault &f) {
  std::string what = f.what();
  return what.rfind("time budget of ", 0) == 0 || what.rfind("memory budget of ", 0) == 0;
}

/// One captured stream of a run, for a bug report.
std::string section(const std::string &name, const std::string &text) {
  bool openLine = !text.empty() && text.back() != '\n';
  return name + ":\n" + text + (openLine ? "\n[no newline at the end]\n" : "");
}

/// The outputs and the outcome of a run, for a bug report.
std::string describe(const RunTrace &t) {
  return section("stdout", t.out.str()) + section("stderr", t.err.str()) +
         "outcome: " + (t.fault ? "fault " + faultText(*t.fault) : std::string("ran")) + "\n";
}

/// How the two runs differ ("" if they agree).
std::string difference(const RunTrace &interp, const RunTrace &native) {
  if (interp.fault.has_value() != native.fault.has_value()) return "outcome";
  if (interp.fault && faultText(*interp.fault) != faultText(*native.fault)) return "fault message";
  if (interp.out.str() != native.out.str()) return "print output";
  if (interp.err.str() != native.err.str()) return "train progress";
  return "";
}

/// Aborts the process through `onExpiry` unless destroyed within `seconds`.
class Watchdog {
public:
  Watchdog(double seconds, std::function<void()> onExpiry)
      : thread_([this, deadline = std::chrono::steady_clock::now() +
                                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                      std::chrono::duration<double>(seconds)),
                 onExpiry = std::move(onExpiry)] {
          std::unique_lock<std::mutex> lock(mutex_);
          if (!disarmed_.wait_until(lock, deadline, [this] { return done_; })) onExpiry();
        }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    disarmed_.notify_one();
    thread_.join();
  }
  Watchdog(const Watchdog &) = delete;
  Watchdog &operator=(const Watchdog &) = delete;

private:
  std::mutex mutex_;
  std::condition_variable disarmed_;
  bool done_ = false;
  std::thread thread_; ///< last: starts once the members above exist
};

NativeStats statsSoFar;
PhaseTimes timesSoFar;

/// The process's CPU time in seconds (all threads).
double cpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/// Adds the CPU time from its construction to its destruction to `total`.
class PhaseTimer {
public:
  explicit PhaseTimer(double &total) : total_(total), start_(cpuSeconds()) {}
  ~PhaseTimer() { total_ += cpuSeconds() - start_; }
  PhaseTimer(const PhaseTimer &) = delete;
  PhaseTimer &operator=(const PhaseTimer &) = delete;

private:
  double &total_;
  double start_;
};

/// Whether the JIT works in this process at all (probed once with an empty
/// module; if not, the differential check is skipped, with a note).
bool jitAvailable() {
  static const bool available = [] {
    ir::Module empty;
    std::string error;
    if (backend::Engine::create(empty, backend::EngineOptions{}, error)) return true;
    std::fprintf(stderr, "ptl-fuzz: note: the JIT is unavailable (%s); no differential check\n", error.c_str());
    return false;
  }();
  return available;
}

/// Runs `main` of `m` as native code, if the backend compiles it, and
/// requires the behaviour `interp` recorded; aborts on a difference.
void compareWithNative(const ir::Module &m, const std::string &source, const RunTrace &interp,
                       const FuzzOptions &opts) {
  if (!jitAvailable()) return;
  RunTrace native;
  backend::EngineOptions eo;
  eo.optLevel = nativeOptLevelFor(source, opts);
  const std::string level = " (native code at -O" + std::to_string(eo.optLevel) + ")";
  eo.out = &native.out;
  eo.host.out = &native.out;
  eo.host.err = &native.err;
  std::string error;
  std::unique_ptr<backend::Engine> engine;
  {
    PhaseTimer t(timesSoFar.nativeCompile);
    engine = backend::Engine::create(m, eo, error);
  }
  if (!engine) bug("the native backend cannot compile the program" + level + ": " + error + "\n---- program ----\n" + source);
  if (!engine->isCompiled("main")) {
    ++statsSoFar.notCompiled;
    if (opts.verbose) std::cerr << "ptl-fuzz: main is not native: " << engine->whyNotCompiled("main") << "\n";
    return;
  }
  {
    Watchdog watchdog(opts.nativeWatchdogSeconds, [&] {
      char limit[32];
      std::snprintf(limit, sizeof limit, "%g", opts.nativeWatchdogSeconds);
      bug(std::string("the native run of main did not finish within ") + limit +
          " s (the interpreter's did)" + level + "\n---- program ----\n" + source + "---- interpreter ----\n" + describe(interp));
    });
    PhaseTimer t(timesSoFar.nativeRun);
    runTraced(native, [&] { engine->call("main", {}); });
  }
  std::string differs = difference(interp, native);
  if (!differs.empty())
    bug("the native backend and the interpreter differ in " + differs + level + "\n---- program ----\n" + source +
        "---- interpreter ----\n" + describe(interp) + "---- native ----\n" + describe(native));
  ++statsSoFar.compared;
  if (eo.optLevel == 2) ++statsSoFar.fullOpt;
  if (opts.verbose) std::cerr << "ptl-fuzz: native run agrees with the interpreter\n";
}
} // namespace

int nativeOptLevelFor(const std::string &source, const FuzzOptions &opts) {
  if (opts.nativeFullOptEvery <= 1) return 2;
  // FNV-1a: the same text always gets the same level, on every platform.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : source) h = (h ^ c) * 1099511628211ull;
  return h % (uint64_t)opts.nativeFullOptEvery == 0 ? 2 : opts.nativeOptLevel;
}

void initOnce() {
  static bool done = false;
  if (done) return;
  done = true;
  setPathPolicy(PathPolicy::onlyUnder({})); // no file at all
  Tensor::setMaxTensorBytes(int64_t(256) << 20);
}

Outcome compileAndMaybeRun(const std::string &source, const FuzzOptions &opts) {
  initOnce();
  ++timesSoFar.inputs;
  Compilation c(opts.verbose ? stderr : devNull());
  {
    PhaseTimer t(timesSoFar.parse);
    if (!c.loadSource("fuzz.ptl", source)) return Outcome::Rejected;
  }
  std::unique_ptr<ir::Module> m;
  std::string error;
  ir::ResourceLimits lim;
  lim.maxTensorBytes = opts.maxTensorBytes;
  lim.maxLoopTrips = opts.maxLoopTrips;
  {
    PhaseTimer t(timesSoFar.elaborate);
    ElaborateOptions eo;
    m = c.elaborate(eo);
    if (!m) return Outcome::Rejected;
    if (!ir::verifyModule(*m, error)) bug("the elaborated IR does not verify: " + error);
    if (!ir::checkResourceLimits(*m, lim).empty()) return Outcome::Rejected;
  }
  {
    PhaseTimer t(timesSoFar.passes);
    if (!c.runDefaultPipeline(*m, error)) bug("the pass pipeline failed: " + error);
    if (!ir::verifyModule(*m, error)) bug("the IR after the passes does not verify: " + error);
    if (!ir::checkResourceLimits(*m, lim).empty()) return Outcome::Rejected;
  }
  if (!opts.run || !m->lookup("main")) return Outcome::Compiled;

  RunTrace interp;
  ir::InterpOptions io;
  io.out = &interp.out;
  io.err = &interp.err;
  io.timeBudgetSeconds = opts.timeBudgetSeconds;
  io.memoryBudgetBytes = opts.memoryBudgetBytes;
  {
    PhaseTimer t(timesSoFar.interpret);
    ir::Interpreter interpreter(*m, io);
    runTraced(interp, [&] { interpreter.call("main", {}); });
  }
  if (opts.verbose) {
    std::cout << interp.out.str() << std::flush;
    std::cerr << interp.err.str();
    if (interp.fault) std::cerr << "ptl-fuzz: runtime fault: " << interp.fault->what() << "\n";
  }
  if (opts.compareNative) {
    if (interp.fault && isBudgetStop(*interp.fault))
      ++statsSoFar.notComparable;
    else
      compareWithNative(*m, source, interp, opts);
  }
  return interp.fault ? Outcome::RuntimeFault : Outcome::Ran;
}

const NativeStats &nativeStats() { return statsSoFar; }

const PhaseTimes &phaseTimes() { return timesSoFar; }

std::string describePhaseTimes() {
  const PhaseTimes &t = timesSoFar;
  double n = t.inputs ? (double)t.inputs : 1.0;
  char line[320];
  std::snprintf(line, sizeof line,
                "ptl-fuzz: CPU ms per input (%ld inputs): parse %.1f, elaborate %.1f, passes %.1f, interpret %.1f, "
                "native compile %.1f, native run %.1f",
                t.inputs, 1e3 * t.parse / n, 1e3 * t.elaborate / n, 1e3 * t.passes / n, 1e3 * t.interpret / n,
                1e3 * t.nativeCompile / n, 1e3 * t.nativeRun / n);
  return line;
}

} // namespace ptl::fuzz
