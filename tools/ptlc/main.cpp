//===- tools/ptlc/main.cpp - The PTL compiler driver ------------------------===//
//
//   ptlc run FILE [--arg k=v]...     run a script as native code (LLVM ORC JIT)
//        [--interp]                  in the reference interpreter instead
//        [--threads N]               threads for `map` iterations (default: all cores)
//                                    (--jit, the default, is accepted too)
//        [--stats]                   then print timings and counters to stderr (bench/)
//        [-O0|-O1|-O2|-O3]           LLVM optimisation level of the JIT (default -O2)
//        [--no-cache]                neither read nor write the code cache
//                                    ($PTL_CACHE_DIR, else $XDG_CACHE_HOME/ptl or
//                                    ~/.cache/ptl; bound $PTL_CACHE_MAX_MB, default
//                                    256; backend/CodeCache.h)
//   ptlc check FILE                  parse and type/shape-check
//   ptlc --emit=KIND [-ON] FILE      print a stage: ast, ir, ir-grad, loops, llvm, asm
//                                    (kEmitKinds below is the one list; -ON for llvm|asm)
//   ptlc opt FILE.ir [--pass NAME]   parse textual IR, verify, run passes, print it again
//   ptlc build FILE -o OUT.o|OUT.a   compile ahead of time: object/library + C header
//        [--header H] [--name N] [--cpu C] [-ON]   (tools/ptlc/Build.h)
//   ptlc plot RUN.csv [-o RUN.svg]   draw a CSV log's columns against `step` as an SVG
//        [--log-y] [--overlay]        (tools/ptlc/Plot.h)
//   ptlc                             the REPL (tools/ptlc/Repl.h)
//
// Limits and the sandbox (run, check and --emit):
//   --allow-dir DIR (repeatable)     the script may also read and write under DIR
//                                    (default: only the script's directory and the
//                                    working directory; runtime/Sandbox.h)
//   --no-sandbox                     the script may touch any file
//   --max-tensor-bytes N             reject (at check time) a tensor over N bytes
//                                    (default 4G; 0 = no limit; K/M/G suffixes)
//   --max-loop-trips N               reject a loop nest of more iterations (default 1e10)
//   --time-budget S, --memory-budget N  (run) stop with a located error after S
//                                    seconds, or when tensors hold more than N bytes
//                                    (these runs use the interpreter, which checks
//                                    them between ops; --jit with them says so)
// A bad option value (negative, NaN, not a number) is refused: exit 1.
//
// Command-line parsing uses CLI11 (Debian's libcli11-dev): subcommands,
// typed options and generated --help, with no code of our own to maintain.
//
//===----------------------------------------------------------------------===//
#include "backend/Engine.h"
#include "frontend/ASTPrinter.h"
#include "frontend/Compiler.h"
#include "ir/Parser.h"
#include "ir/PassManager.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "ir/autodiff/Autodiff.h"
#include "ir/interp/Interpreter.h"
#include "ir/interp/Limits.h"
#include "ir/passes/Passes.h"
#include "tools/ptlc/Build.h"
#include "tools/ptlc/Plot.h"
#include "tools/ptlc/Repl.h"
#include "runtime/Check.h"
#include "runtime/Errors.h"
#include "runtime/Gemm.h"
#include "runtime/Parallel.h"
#include "runtime/Sandbox.h"
#include "runtime/Tensor.h"

#include <CLI/CLI.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <new>
#include <sstream>

namespace fs = std::filesystem;
using namespace ptl;

namespace {

/// What the driver is doing, for the message when memory runs out:
/// "compiling" until a script starts to run, then "running".
const char *gPhase = "compiling";

/// The exit status of an internal error (a bug in PTL); user errors exit 1.
constexpr int kInternalErrorStatus = 2;

/// Options shared by the subcommands.
struct DriverOptions {
  std::string file;
  std::string emit;
  std::vector<std::string> args;
  bool printAfterAll = false;
  bool interp = false;
  bool jit = false;                 ///< `run --jit`: accepted; native code is the default
  bool noPasses = false;            ///< --emit=ir of the IR as elaborated
  bool stats = false;               ///< `run --stats`: one `ptlc-stats:` line on stderr
  bool noCache = false;             ///< `run --no-cache`: compile without the code cache
  int optLevel = 2;                 ///< -O0..-O3 for the JIT and --emit=llvm|asm
  int threads = 0;                  ///< run --threads: map workers (0: all cores)
  std::vector<std::string> passes;  ///< `opt --pass NAME`
  std::vector<std::string> allowDirs; ///< --allow-dir: more directories the script may touch
  bool noSandbox = false;           ///< --no-sandbox: any file
  ir::ResourceLimits limits;        ///< --max-tensor-bytes, --max-loop-trips
  double timeBudget = 0;            ///< run --time-budget SECONDS
  int64_t memoryBudget = 0;         ///< run --memory-budget BYTES
  ptlc::BuildOptions build;         ///< `build`: output, header, name, cpu
  ptlc::PlotOptions plot;           ///< `plot`: output, --log-y, --overlay
};

/// The sandbox of a script: its directory, the working directory and
/// --allow-dir's, or everything with --no-sandbox.
PathPolicy sandboxFor(const DriverOptions &o) {
  if (o.noSandbox) return PathPolicy();
  std::string scriptDir = fs::path(o.file).parent_path().string();
  std::vector<std::string> dirs = {scriptDir.empty() ? "." : scriptDir, "."};
  dirs.insert(dirs.end(), o.allowDirs.begin(), o.allowDirs.end());
  PathPolicy p = PathPolicy::onlyUnder(dirs);
  p.setHint("ptlc's --allow-dir DIR allows another directory, --no-sandbox any file");
  return p;
}

/// Reports the ops of `m` over the size and loop budgets; false if any.
bool checkLimits(Compilation &c, const ir::Module &m, const ir::ResourceLimits &limits) {
  std::vector<ir::LimitViolation> over = ir::checkResourceLimits(m, limits);
  for (const ir::LimitViolation &v : over) c.diagnostics().error(c.sourceLoc(m, v.loc)) << v.message;
  return over.empty();
}

/// Gradient-flow warnings from the autodiff pass of the current compilation.
std::vector<ir::GradWarning> gradWarnings;

/// The default pipeline: expand grad, then simplify and clean up.
const std::vector<std::string> &kDefaultPipeline = ir::defaultPipeline();
/// --emit=ir shows the program before differentiation.
const std::vector<std::string> kBeforeAutodiff = {"cse", "dce"};

/// Runs the named passes over `m`; false (with a message printed) on failure.
bool runPasses(ir::Module &m, const std::vector<std::string> &names, bool printAfterAll) {
  ir::PassManager pm;
  if (printAfterAll) pm.setPrintAfterAll(&std::cerr);
  for (const std::string &n : names) pm.add(ir::createPassByName(n, &gradWarnings));
  std::string error;
  if (!pm.run(m, error)) {
    std::cerr << "ptlc: error: " << error << "\n";
    return false;
  }
  return true;
}

/// One stage `--emit=KIND` prints.
struct EmitKind {
  const char *name;
  const char *what;
};

/// Every --emit kind, in pipeline order: the option's accepted values, its
/// help text and cmdEmit's error message come from this list (a kind added here
/// and not handled in cmdEmit is that error, which tests/golden/ptlc_help.ptl runs).
const std::vector<EmitKind> kEmitKinds = {
    {"ast", "the syntax tree"},
    {"ir", "the IR before differentiation"},
    {"ir-grad", "the IR after the default passes, autodiff included"},
    {"loops", "the lowering: loop nests over frame buffers, LLVM IR before optimisation"},
    {"llvm", "the optimised LLVM IR"},
    {"asm", "the native assembly"},
};

/// The names of kEmitKinds.
std::vector<std::string> emitKindNames() {
  std::vector<std::string> names;
  for (const EmitKind &k : kEmitKinds) names.push_back(k.name);
  return names;
}

/// --emit's help: "Print a stage instead of running: ast (the syntax tree) | ...".
std::string emitHelp() {
  std::string h = "Print a stage instead of running:";
  for (size_t i = 0; i < kEmitKinds.size(); ++i)
    h += std::string(i ? " |" : "") + " " + kEmitKinds[i].name + " (" + kEmitKinds[i].what + ")";
  return h;
}

/// "a, b, c", for a list of names in help texts and messages.
std::string joinNames(const std::vector<std::string> &names, const char *sep = ", ") {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i ? sep : "") + names[i];
  return out;
}

/// Parses `--arg name=value` pairs.
bool parseScriptArgs(const std::vector<std::string> &in, std::map<std::string, std::string> &out) {
  for (const std::string &a : in) {
    size_t eq = a.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "ptlc: error: --arg expects name=value, got '" << a << "'\n";
      return false;
    }
    out[a.substr(0, eq)] = a.substr(eq + 1);
  }
  return true;
}

/// Prints a run-time fault as a diagnostic with the source line when known.
void reportFault(Compilation &c, const RuntimeFault &f) {
  SourceManager &sm = c.sources();
  for (int id = 0; id < sm.fileCount(); ++id) {
    if (sm.file(id).path == f.loc.file && f.loc.line > 0) {
      c.diagnostics().error(SourceLoc{id, f.loc.line, f.loc.col, 1}) << f.what();
      return;
    }
  }
  std::cerr << (f.loc.file.empty() ? "ptlc" : f.loc.file) << ": error: " << f.what() << "\n";
}

/// Reports the autodiff pass's warnings through the diagnostics engine.
void reportGradWarnings(Compilation &c, const ir::Module &m) {
  for (const ir::GradWarning &w : gradWarnings) c.diagnostics().warning(c.sourceLoc(m, w.loc)) << w.message;
  gradWarnings.clear();
}

/// Compiles FILE to IR (checked, optimised); null with diagnostics on error.
std::unique_ptr<ir::Module> compile(Compilation &c, const DriverOptions &o,
                                    const std::vector<std::string> &pipeline = kDefaultPipeline) {
  if (!c.loadFile(o.file)) return nullptr;
  ElaborateOptions eo;
  eo.baseDir = fs::path(o.file).parent_path().string();
  if (!parseScriptArgs(o.args, eo.scriptArgs)) return nullptr;
  std::unique_ptr<ir::Module> m = c.elaborate(eo);
  if (!m) return nullptr;
  if (!checkLimits(c, *m, o.limits)) return nullptr;
  if (!runPasses(*m, o.noPasses ? std::vector<std::string>{} : pipeline, o.printAfterAll)) return nullptr;
  reportGradWarnings(c, *m);
  if (!checkLimits(c, *m, o.limits)) return nullptr; // what differentiation added
  return m;
}

int cmdCheck(const DriverOptions &o) {
  Compilation c;
  return compile(c, o) ? 0 : 1;
}

int cmdEmit(const DriverOptions &o) {
  Compilation c;
  if (o.emit == "ast") {
    if (!c.loadFile(o.file)) return 1;
    printAST(*c.mainProgram(), std::cout);
    return 0;
  }
  if (o.emit == "ir" || o.emit == "ir-grad") {
    auto m = compile(c, o, o.emit == "ir" ? kBeforeAutodiff : kDefaultPipeline);
    if (!m) return 1;
    ir::printModule(*m, std::cout);
    return 0;
  }
  if (o.emit == "loops" || o.emit == "llvm" || o.emit == "asm") {
    // Native code is made after autodiff, as `run --jit` makes it.
    auto m = compile(c, o);
    if (!m) return 1;
    std::string error;
    backend::NativeStage stage = o.emit == "loops" ? backend::NativeStage::Loops
                                 : o.emit == "llvm" ? backend::NativeStage::Llvm
                                                    : backend::NativeStage::Asm;
    if (!backend::emitNative(*m, o.optLevel, stage, std::cout, error)) {
      std::cerr << "ptlc: error: " << error << "\n";
      return 1;
    }
    return 0;
  }
  std::cerr << "ptlc: error: --emit=" << o.emit << " is not a stage (expected one of " << joinNames(emitKindNames())
            << ")\n";
  return 1;
}

/// `run --stats`: compile time (parse, check, IR passes), run time, tensor
/// storage allocations and peak bytes during the run, and the process's peak
/// resident set, as one machine-readable line for bench/run.sh.
/// With --jit, compile_ms includes the JIT's lowering, optimisation and
/// code generation, which jit_ms gives alone (-1 for the interpreter), and
/// `cache` says whether the code came from the code cache (hit), was
/// compiled and stored (miss), or the cache was not used (off).
void printStats(double compileMs, double runMs, int64_t allocsBefore, double jitMs = -1,
                const char *cache = nullptr) {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::fprintf(stderr, "ptlc-stats: compile_ms=%.3f run_ms=%.3f tensor_allocs=%lld peak_tensor_bytes=%lld peak_rss_kb=%ld",
               compileMs, runMs, (long long)(Tensor::totalAllocations() - allocsBefore),
               (long long)Tensor::peakBytes(), (long)ru.ru_maxrss);
  if (jitMs >= 0) std::fprintf(stderr, " jit_ms=%.3f", jitMs);
  if (cache) std::fprintf(stderr, " cache=%s", cache);
  std::fprintf(stderr, "\n");
}

int cmdRun(const DriverOptions &o) {
  using Clock = std::chrono::steady_clock;
  auto ms = [](Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  auto t0 = Clock::now();
  Compilation c;
  auto m = compile(c, o);
  if (!m) return 1;
  ir::InterpOptions io;
  io.baseDir = fs::path(o.file).parent_path().string();
  io.timeBudgetSeconds = o.timeBudget;
  io.memoryBudgetBytes = o.memoryBudget;
  // Native code unless --interp, or a budget: only the interpreter checks
  // budgets (between ops and at every allocation), so a budgeted run uses it.
  bool budgeted = o.timeBudget > 0 || o.memoryBudget > 0;
  if (budgeted && o.jit)
    std::cerr << "ptlc: note: --time-budget and --memory-budget run the script in the reference interpreter\n";
  if (!o.interp && !budgeted) {
    std::string error;
    backend::EngineOptions eo;
    eo.optLevel = o.optLevel;
    eo.host = io;
    eo.cache.enabled = !o.noCache;
    std::unique_ptr<backend::Engine> engine = backend::Engine::create(*m, eo, error);
    if (!engine) {
      std::cerr << "ptlc: note: the JIT is unavailable (" << error << "); using the interpreter\n";
    } else if (!engine->isCompiled("main")) {
      std::cerr << "ptlc: note: main runs in the interpreter: " << engine->whyNotCompiled("main") << "\n";
    } else {
      auto t2 = Clock::now();
      int64_t allocsBefore = Tensor::totalAllocations();
      Tensor::resetPeakBytes();
      gPhase = "running";
      try {
        engine->call("main", {});
      } catch (const RuntimeFault &f) {
        std::cout.flush();
        reportFault(c, f);
        return 1;
      }
      std::cout.flush();
      if (o.stats) printStats(ms(t0, t2), ms(t2, Clock::now()), allocsBefore, engine->compileMillis(),
                              backend::cacheOutcomeName(engine->cacheOutcome()));
      return 0;
    }
  }
  ir::Interpreter interp(*m, io);
  auto tRun = Clock::now(); // after any JIT attempt: compile_ms covers it
  int64_t allocsBefore = Tensor::totalAllocations();
  Tensor::resetPeakBytes();
  gPhase = "running";
  try {
    interp.call("main", {});
  } catch (const RuntimeFault &f) {
    std::cout.flush();
    reportFault(c, f);
    return 1;
  }
  std::cout.flush();
  if (o.stats) printStats(ms(t0, tRun), ms(tRun, Clock::now()), allocsBefore);
  return 0;
}

int cmdBuild(const DriverOptions &o) {
  Compilation c;
  auto m = compile(c, o);
  return m ? ptlc::buildAhead(*m, o.file, o.optLevel, o.build) : 1;
}

int cmdOpt(const DriverOptions &o) {
  std::ifstream in(o.file, std::ios::binary);
  if (!in) {
    std::cerr << o.file << ": error: cannot open file\n";
    return 1;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string error;
  auto m = ir::parseModuleText(ss.str(), error);
  if (!m) {
    std::cerr << o.file << ":" << error << "\n";
    return 1;
  }
  if (!ir::verifyModule(*m, error)) {
    std::cerr << o.file << ": error: " << error << "\n";
    return 1;
  }
  if (!runPasses(*m, o.passes, o.printAfterAll)) return 1;
  ir::printModule(*m, std::cout);
  return 0;
}

//===----------------------------------------------------------------------===//
// Option validators: a bad value is refused with a message, exit 1
//===----------------------------------------------------------------------===//

/// A whole number >= 0 (digits only): --max-loop-trips.
const CLI::Validator kCount(
    [](std::string &s) -> std::string {
      if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos)
        return "expected a whole number of at least 0 (0: no limit), got '" + s + "'";
      return "";
    },
    "COUNT>=0");

/// A finite number of seconds >= 0: --time-budget.
const CLI::Validator kSeconds(
    [](std::string &s) -> std::string {
      char *end = nullptr;
      double v = std::strtod(s.c_str(), &end);
      if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v) || v < 0)
        return "expected a finite number of seconds of at least 0 (0: no budget), got '" + s + "'";
      return "";
    },
    "SECONDS>=0");

/// A byte size >= 0, checked before CLI::AsSizeValue turns its K/M/G suffix
/// into bytes: --max-tensor-bytes, --memory-budget.
const CLI::Validator kSize(
    [](std::string &s) -> std::string {
      size_t digits = s.find_first_not_of("0123456789");
      if (s.empty() || digits == 0)
        return "expected a size in bytes of at least 0, with an optional K, M or G suffix (0: no limit), got '" +
               s + "'";
      return "";
    },
    "BYTES>=0");

/// The driver: parses the command line and runs the subcommand.
int driverMain(int argc, char **argv, DriverOptions &o) {
  CLI::App app{"ptlc: the PTL compiler — run, check and inspect .ptl scripts (no arguments: the REPL)"};
  app.set_version_flag("--version", std::function<std::string()>([] {
                         return std::string("ptlc ") + PTL_VERSION + "\nfloat matrix products: " +
                                ptl::floatGemmDescription();
                       }),
                       "Display the version and what runs large float matrix products, and exit");
  app.add_option("--emit", o.emit, emitHelp())->check(CLI::IsMember(emitKindNames()));
  app.add_flag("--print-ir-after-all", o.printAfterAll, "Print the IR after every pass (to stderr)");
  app.add_flag("--no-passes", o.noPasses, "With --emit=ir: print the IR as elaborated, before any pass");
  app.add_option("file", o.file, "With --emit: the script");
  app.add_option("-O", o.optLevel, "With --emit=llvm|asm: LLVM optimisation level 0..3 (-O2 by default)")
      ->check(CLI::Range(0, 3));

  auto *run = app.add_subcommand("run", "Run a script");
  run->add_option("file", o.file, "The script")->required();
  run->add_option("--arg", o.args, "Script argument name=value (read with arg(name, default))");
  run->add_flag("--stats", o.stats, "Print compile and run time (ms), tensor allocations and peak memory to stderr");
  run->add_flag("--no-cache", o.noCache,
                "Compile without the code cache (neither read nor write it; README.md, 'The code cache')");
  run->add_flag("--interp", o.interp, "Use the reference interpreter instead of native code");
  run->add_option("--threads", o.threads,
                  "Threads that run the iterations of a `map` in native code (default: all cores)")
      ->check(CLI::Range(1, 1024));
  run->add_flag("--jit", o.jit,
                "Run as native code (LLVM JIT; the default) if it compiles, else say why and interpret it");
  run->add_flag("--print-ir-after-all", o.printAfterAll, "Print the IR after every pass (to stderr)");
  run->add_option("-O", o.optLevel, "With --jit: LLVM optimisation level 0..3 (-O2 by default)")
      ->check(CLI::Range(0, 3));

  auto *check = app.add_subcommand("check", "Parse and type/shape-check a script");
  check->add_option("file", o.file, "The script")->required();
  check->add_option("--arg", o.args, "Script argument name=value");

  auto *build = app.add_subcommand("build", "Compile a script ahead of time: an object file or static library, "
                                            "and a C header for its functions");
  build->add_option("file", o.file, "The script")->required();
  build->add_option("--arg", o.args, "Script argument name=value (read with arg(name, default))");
  build->add_option("-O", o.optLevel, "LLVM optimisation level 0..3 (-O2 by default)")->check(CLI::Range(0, 3));
  ptlc::addBuildOptions(*build, o.build);

  auto *plot = app.add_subcommand("plot", "Draw the columns of a CSV log (e.g. `train ... log to`) against "
                                          "its `step` column as an SVG file");
  plot->add_option("file", o.file, "The CSV file")->required();
  ptlc::addPlotOptions(*plot, o.plot);
  // The CSV takes the script's place in the sandbox: its directory and the working directory.
  plot->add_option("--allow-dir", o.allowDirs, "Let ptlc read and write under DIR too (repeatable)");
  plot->add_flag("--no-sandbox", o.noSandbox, "Let ptlc read and write any file");

  // The sandbox and the limits, for everything that compiles a script.
  for (CLI::App *a : {&app, run, check, build}) {
    a->add_option("--allow-dir", o.allowDirs,
                  "Let the script read and write under DIR too (repeatable; by default only the script's "
                  "directory and the working directory)");
    a->add_flag("--no-sandbox", o.noSandbox, "Let the script read and write any file");
    a->add_option("--max-tensor-bytes", o.limits.maxTensorBytes,
                  "Reject a program with a tensor over this many bytes (default 4G; 0: no limit)")
        ->check(kSize)
        ->transform(CLI::AsSizeValue(false));
    a->add_option("--max-loop-trips", o.limits.maxLoopTrips,
                  "Reject a program with a loop nest of more iterations (default 10000000000; 0: no limit)")
        ->check(kCount);
  }
  run->add_option("--time-budget", o.timeBudget,
                  "Stop the run with a located error after this many seconds (0: no budget; a budgeted run "
                  "uses the reference interpreter, which checks it between ops)")
      ->check(kSeconds);
  run->add_option("--memory-budget", o.memoryBudget,
                  "Stop the run with a located error when its tensors hold more than this many bytes (K/M/G "
                  "suffixes; 0: no budget; a budgeted run uses the reference interpreter, which checks it at "
                  "every allocation)")
      ->check(kSize)
      ->transform(CLI::AsSizeValue(false));

  auto *opt = app.add_subcommand("opt", "Parse textual IR, verify it and print it again");
  opt->add_option("file", o.file, "The IR file")->required();
  opt->add_option("--pass", o.passes, "Run a pass (repeatable, in order): " + joinNames(ir::passNames(), " | "))
      ->check(CLI::IsMember(ir::passNames()));
  opt->add_flag("--print-ir-after-all", o.printAfterAll, "Print the IR after every pass (to stderr)");

  app.require_subcommand(0, 1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  setPathPolicy(sandboxFor(o));
  Tensor::setMaxTensorBytes(o.limits.maxTensorBytes);
  if (o.threads > 0) setThreadCount(o.threads);
  if (run->parsed()) return cmdRun(o);
  if (check->parsed()) return cmdCheck(o);
  if (opt->parsed()) return cmdOpt(o);
  if (build->parsed()) return cmdBuild(o);
  if (plot->parsed()) return ptlc::plotCsv(o.file, o.plot);
  if (!o.emit.empty()) {
    if (o.file.empty()) {
      std::cerr << "ptlc: error: --emit needs a file\n";
      return 1;
    }
    return cmdEmit(o);
  }
  if (!o.file.empty()) return cmdRun(o);
  // No subcommand and no file: the REPL (tools/ptlc/Repl.h), in the sandbox set above.
  gPhase = "running the REPL";
  return repl::runRepl({});
}

} // namespace

int main(int argc, char **argv) {
  DriverOptions o;
  try {
    return driverMain(argc, argv, o);
  } catch (const InternalError &e) {
    // A broken internal invariant (runtime/Check.h) is a bug in PTL, never the
    // script's fault: `ptlc: internal error: ...` and exit status 2.
    std::cout.flush();
    std::cerr << "ptlc: " << e.what() << "\n";
    return kInternalErrorStatus;
  } catch (const std::bad_alloc &) {
    // Memory ran out outside the places that report it at a source line
    // (tensor allocations, the JIT's frames): in the compiler itself, e.g.
    // under a low `ulimit -v`. Unwinding has freed what the failed step held.
    std::cout.flush();
    std::cerr << "ptlc: error: out of memory while " << gPhase << (o.file.empty() ? "" : " " + o.file)
              << " (more memory, or a smaller program, is needed)\n";
    return 1;
  }
}
