//===- tests/unit/TrainTests.cpp - `train`: progress, log file, Ctrl-C -------===//
//
// The progress formatting (pure functions of ir/interp/Progress.h), the
// plain progress lines and the `log every K to "file.csv"` file of a run,
// and stopping a run early -- through Interpreter::requestStop and through
// a real SIGINT raised from inside the run -- which keeps the parameters of
// the last completed step and goes on with the script.
//
//===----------------------------------------------------------------------===//
#include "frontend/Compiler.h"
#include "ir/Verifier.h"
#include "ir/autodiff/Rules.h"
#include "ir/interp/Interpreter.h"
#include "ir/interp/Progress.h"
#include "ir/interp/TrainReport.h"
#include "runtime/Errors.h"

#include "LineHook.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <streambuf>

#include <signal.h>
#include <unistd.h>

using namespace ptl;
namespace fs = std::filesystem;

namespace {

/// Compiles `src` through the driver's default pipeline (ir::defaultPipeline).
std::unique_ptr<ir::Module> compileScript(const std::string &src, std::vector<std::string> *errors = nullptr) {
  Compilation c(nullptr);
  c.diagnostics().setQuiet(true);
  std::unique_ptr<ir::Module> m;
  if (c.loadSource("test.ptl", src)) m = c.elaborate({});
  if (!m) {
    for (const ReportedDiagnostic &d : c.diagnostics().all()) {
      if (errors) errors->push_back(std::to_string(d.loc.line) + ":" + std::to_string(d.loc.col) + ": " + d.message);
      else FAIL_CHECK(d.loc.line << ":" << d.loc.col << ": " << d.message);
    }
    return nullptr;
  }
  std::string error;
  bool ok = c.runDefaultPipeline(*m, error);
  INFO(error);
  REQUIRE(ok);
  return m;
}

using ptl::testing::LineHook;

/// What one run printed (stdout) and reported (stderr).
struct Run {
  std::string out, err;
};

/// Runs `main` of `m` in `dir` (for relative paths); `onErrLine` sees each
/// progress line with the interpreter, to stop it.
Run runScript(const ir::Module &m, const fs::path &dir = {},
              std::function<void(ir::Interpreter &, const std::string &)> onErrLine = {}) {
  std::ostringstream out;
  LineHook hook;
  std::ostream err(&hook);
  ir::InterpOptions opts;
  opts.out = &out;
  opts.err = &err;
  opts.baseDir = dir.string();
  ir::Interpreter interp(m, opts);
  if (onErrLine) hook.onLine = [&](const std::string &l) { onErrLine(interp, l); };
  interp.call("main", {});
  return {out.str(), hook.text};
}

fs::path freshDir(const std::string &name) {
  fs::path p = fs::temp_directory_path() / ("ptl_train_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

std::string readFile(const fs::path &p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A one-parameter model trained towards 3 for `steps` steps, printing its
/// parameter and a line after the train statement.
std::string script(int steps, const std::string &log = "") {
  return "model M { param w: f32 = 1.0 }\n"
         "var m = M()\n"
         "train m minimizing (m.w - 3.0) ^ 2 with sgd(lr = 0.01) for " +
         std::to_string(steps) + " steps" + log +
         "\n"
         "print(m.w)\n"
         "print(\"after\")\n";
}

} // namespace

TEST_CASE("progress lines are formatted by pure functions", "[train]") {
  using namespace ir::progress;
  CHECK(formatLoss(0.0123) == "0.0123");
  CHECK(formatLoss(12345.0) == "1.234e+04");
  CHECK(formatLoss(2.0) == "2");
  CHECK(formatLoss(std::nan("")) == "nan");
  CHECK(formatLoss(-INFINITY) == "-inf");
  CHECK(formatDuration(0.2) == "0s");
  CHECK(formatDuration(4.4) == "4s");
  CHECK(formatDuration(185) == "3m05s");
  CHECK(formatDuration(7620) == "2h07m");
  CHECK(formatDuration(-1) == "?");
  CHECK(formatRate(450.4) == "450");
  CHECK(formatRate(12.4) == "12");
  CHECK(formatRate(3.5) == "3.5");
  CHECK(formatRate(0.25) == "0.25");

  // 120 steps in 0.2667 s: 450 steps/s, 1880 steps to go: 4 s.
  CHECK(terminalLine(120, 2000, 0.0123, 120.0 / 450.0) == "step 120/2000  loss 0.0123  450 steps/s  ETA 4s");
  CHECK(terminalLine(2000, 2000, 0.001, 4.0) == "step 2000/2000  loss 0.001  500 steps/s  done in 4s");
  CHECK(terminalLine(1, 2000, 1.5, 0.0) == "step 1/2000  loss 1.5");
  CHECK(plainLine(200, 2000, 0.0123) == "train: step 200/2000 loss 0.0123");
  CHECK(interruptedLine(37, 100) == "train: interrupted at step 37/100; keeping the latest parameters");
  // The last logged metrics follow the loss (TrainReport.h).
  CHECK(terminalLine(120, 2000, 0.0123, 120.0 / 450.0, "val 0.015  acc 0.93") ==
        "step 120/2000  loss 0.0123  val 0.015  acc 0.93  450 steps/s  ETA 4s");
  CHECK(plainLine(200, 2000, 0.0123, "val 0.015") == "train: step 200/2000 loss 0.0123  val 0.015");
  CHECK(stoppedLine(120, 2000, "val < 1e-3") == "train: stopped at step 120/2000: val < 1e-3");
}

TEST_CASE("plain lines every tenth of the run and at the end, log rows every K and at the end", "[train]") {
  using namespace ir::progress;
  std::vector<int64_t> plain, log;
  for (int64_t s = 1; s <= 45; ++s) {
    if (plainLineDue(s, 45)) plain.push_back(s);
    if (logRowDue(s, 45, 10)) log.push_back(s);
  }
  CHECK(plain == std::vector<int64_t>{4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 45});
  CHECK(log == std::vector<int64_t>{10, 20, 30, 40, 45});
  plain.clear();
  for (int64_t s = 1; s <= 3; ++s)
    if (plainLineDue(s, 3)) plain.push_back(s);
  CHECK(plain == std::vector<int64_t>{1, 2, 3}); // fewer than 10 steps: every step
  CHECK_FALSE(logRowDue(10, 45, 0));
}

TEST_CASE("train reports plain progress lines and writes the log file", "[train]") {
  auto m = compileScript(script(20, " log every 5 to \"loss.csv\""));
  REQUIRE(m);
  fs::path dir = freshDir("log");
  Run r = runScript(*m, dir);
  CHECK(r.out.find("\nafter\n") != std::string::npos);
  // Plain lines at steps 2, 4, ..., 20 (every 20/10), steps from 1.
  std::istringstream lines(r.err);
  std::string line;
  std::vector<std::string> all;
  while (std::getline(lines, line)) all.push_back(line);
  REQUIRE(all.size() == 10);
  CHECK(all[0].rfind("train: step 2/20 loss ", 0) == 0);
  CHECK(all[9].rfind("train: step 20/20 loss ", 0) == 0);

  std::string csv = readFile(dir / "loss.csv");
  std::istringstream rows(csv);
  std::vector<std::string> rs;
  while (std::getline(rows, line)) rs.push_back(line);
  REQUIRE(rs.size() == 5);
  CHECK(rs[0] == "step,loss");
  CHECK(rs[1].rfind("5,", 0) == 0);
  CHECK(rs[4].rfind("20,", 0) == 0);
  // The loss logged at step 1 of training is that of the initial model: (1 - 3)^2.
  auto m1 = compileScript(script(1, " log every 1 to \"one.csv\""));
  REQUIRE(m1);
  runScript(*m1, dir);
  CHECK(readFile(dir / "one.csv") == "step,loss\n1,4.0\n");
  fs::remove_all(dir);
}

TEST_CASE("a log file that cannot be opened is a run-time error naming it", "[train]") {
  auto m = compileScript(script(3, " log every 1 to \"no/such/dir/loss.csv\""));
  REQUIRE(m);
  fs::path dir = freshDir("badlog");
  try {
    runScript(*m, dir);
    FAIL("expected a RuntimeFault");
  } catch (const RuntimeFault &f) {
    CHECK(std::string(f.what()).find("no/such/dir/loss.csv") != std::string::npos);
    CHECK(f.loc.line == 3);
  }
  fs::remove_all(dir);
}

TEST_CASE("log clause errors are reported at compile time", "[train]") {
  std::vector<std::string> errors;
  CHECK_FALSE(compileScript(script(3, " log every 0 to \"x.csv\""), &errors));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].find("the logging interval must be at least 1, got 0") != std::string::npos);
}

TEST_CASE("requestStop stops train after the current step, keeping its parameters", "[train]") {
  auto m = compileScript(script(100));
  auto m30 = compileScript(script(30));
  REQUIRE(m);
  REQUIRE(m30);
  Run full30 = runScript(*m30);
  int stops = 0;
  // Plain lines come every 10 steps: stop during step 30.
  Run r = runScript(*m, {}, [&](ir::Interpreter &in, const std::string &l) {
    if (l.rfind("train: step 30/100 ", 0) == 0) {
      ++stops;
      in.requestStop();
    }
  });
  CHECK(stops == 1);
  CHECK(r.err.find("train: step 40/100") == std::string::npos);
  CHECK(r.err.find("train: interrupted at step 30/100; keeping the latest parameters\n") != std::string::npos);
  CHECK(r.out == full30.out); // the parameters of step 30, then the statements after train
  CHECK(r.out.find("after") != std::string::npos);
}

namespace {
volatile std::sig_atomic_t gTestHandlerCalls = 0;
extern "C" void testHandler(int) { gTestHandlerCalls = gTestHandlerCalls + 1; }
} // namespace

TEST_CASE("SIGINT during train stops it cleanly and the handler is restored after", "[train]") {
  auto m = compileScript(script(100) + "train m minimizing (m.w - 5.0) ^ 2 with sgd(lr = 0.01) for 10 steps\n"
                                       "print(\"second done\")\n");
  auto m30 = compileScript(script(30));
  REQUIRE(m);
  REQUIRE(m30);
  Run full30 = runScript(*m30);

  struct sigaction mine = {}, old = {}, after = {};
  mine.sa_handler = testHandler;
  sigemptyset(&mine.sa_mask);
  REQUIRE(sigaction(SIGINT, &mine, &old) == 0);
  int raised = 0;
  Run r = runScript(*m, {}, [&](ir::Interpreter &, const std::string &l) {
    if (l.rfind("train: step 30/100 ", 0) == 0) {
      ++raised;
      std::raise(SIGINT); // delivered to this thread before raise returns
    }
  });
  sigaction(SIGINT, &old, &after);
  CHECK(after.sa_handler == testHandler); // train restored the handler it found
  CHECK(gTestHandlerCalls == 0);          // and the signal went to train's handler

  CHECK(raised == 1);
  CHECK(r.err.find("train: interrupted at step 30/100; keeping the latest parameters\n") != std::string::npos);
  // The script goes on: the first train kept step 30's parameters, and the
  // second train (a fresh start: the stop was consumed) runs all its steps.
  CHECK(r.out.rfind(full30.out, 0) == 0);
  CHECK(r.out.substr(full30.out.size()) == "second done\n");
  CHECK(r.err.find("train: step 10/10 ") != std::string::npos);
}

TEST_CASE("train_progress: shape rule, side effect, no derivative", "[train][ir]") {
  using ptl::DType;
  using ir::OpKind;
  std::vector<ir::Type> out;
  std::string err;
  ir::AttrMap attrs{{"total", int64_t(10)}, {"every", int64_t(2)}, {"file", std::string("log.csv")}};
  CHECK(ir::inferResultTypes(OpKind::TrainProgress, {{DType::I32, {}}, {DType::F32, {}}}, attrs, out, err));
  CHECK(out.empty());
  CHECK(ir::inferResultTypes(OpKind::TrainProgress, {{DType::I32, {}}, {DType::F64, {}}},
                             {{"total", int64_t(10)}}, out, err));
  CHECK_FALSE(ir::inferResultTypes(OpKind::TrainProgress, {{DType::I32, {}}, {DType::F32, {2}}}, attrs, out, err));
  CHECK(err == "train_progress: expected a float scalar loss, got f32[2]");
  CHECK_FALSE(ir::inferResultTypes(OpKind::TrainProgress, {{DType::F32, {}}, {DType::F32, {}}}, attrs, out, err));
  CHECK_FALSE(ir::inferResultTypes(OpKind::TrainProgress, {{DType::I32, {}}, {DType::F32, {}}}, {}, out, err));
  CHECK(err == "train_progress: missing attribute 'total'");
  CHECK(ir::hasSideEffects(OpKind::TrainProgress));
  CHECK(ir::autodiff::isNonDifferentiable(OpKind::TrainProgress));
}

TEST_CASE("train_nonfinite: shape rule, and the first non-finite value named", "[train][ir]") {
  using ptl::DType;
  using ir::OpKind;
  std::vector<ir::Type> out;
  std::string err;
  ir::AttrMap attrs{{"paths", std::vector<std::string>{"l1.W", "b"}}};
  ir::Type s{DType::I32, {}}, l{DType::F32, {}}, w{DType::F32, {2}}, b{DType::F32, {}};
  CHECK(ir::inferResultTypes(OpKind::TrainNonfinite, {s, l, w, b, w, b}, attrs, out, err));
  CHECK(out.empty());
  CHECK_FALSE(ir::inferResultTypes(OpKind::TrainNonfinite, {s, l, w, b, w}, attrs, out, err));
  CHECK_FALSE(ir::inferResultTypes(OpKind::TrainNonfinite, {s, l, w, b, b, w}, attrs, out, err));
  CHECK(ir::hasSideEffects(OpKind::TrainNonfinite));
  CHECK(ir::autodiff::isNonDifferentiable(OpKind::TrainNonfinite));

  std::vector<std::string> paths{"l1.W", "b"};
  auto vec = [](float x, float y) {
    Tensor t = Tensor::zeros(DType::F32, {2});
    t.setDouble(0, x);
    t.setDouble(1, y);
    return t;
  };
  Tensor step = Tensor::scalar(DType::I32, 7), one = Tensor::scalar(DType::F32, 1.0);
  Tensor nan = Tensor::scalar(DType::F32, std::nan(""));
  Tensor inf = Tensor::scalar(DType::F32, INFINITY);
  // all finite (a check sum that overflowed): nothing
  CHECK_FALSE(ir::findNonfinite({step, one, vec(3e38f, 3e38f), one, vec(1, 2), one}, paths));
  auto d = ir::findNonfinite({step, one, vec(1, 2), inf, vec(1, nan.getDouble(0)), one}, paths);
  REQUIRE(d);
  CHECK(d->step == 7);
  CHECK(d->reason == "gradient"); // gradients before updates
  CHECK(d->path == "b");
  d = ir::findNonfinite({step, one, vec(1, 2), one, vec(1, INFINITY), one}, paths);
  REQUIRE(d);
  CHECK(d->reason == "update");
  CHECK(d->path == "l1.W");
  d = ir::findNonfinite({step, nan, vec(1, INFINITY), one, vec(1, 2), one}, paths);
  REQUIRE(d);
  CHECK(d->reason == "loss");
  CHECK(ir::divergenceMessage(*d, "m") ==
        "training diverged at step 7: the loss is not finite (NaN or infinity); 'm' keeps its parameters from "
        "before step 7 (to train on regardless, pass allow_nonfinite = true)");
}

TEST_CASE("train desugars to a for {train} whose body reports each step", "[train]") {
  auto m = compileScript(script(25, " log every 5 to \"l.csv\""));
  REQUIRE(m);
  const ir::Op *loop = nullptr, *report = nullptr;
  for (const auto &op : m->lookup("main")->body().ops())
    if (op->kind() == ir::OpKind::For) loop = op.get();
  REQUIRE(loop);
  CHECK(loop->boolAttr("train"));
  for (const auto &op : loop->region(0)->ops())
    if (op->kind() == ir::OpKind::TrainProgress) report = op.get();
  REQUIRE(report);
  CHECK(report->operand(0) == loop->region(0)->argument(0)); // the step
  CHECK(report->intAttr("total") == 25);
  CHECK(report->intAttr("every") == 5);
  CHECK(report->strAttr("file") == "l.csv");
}

TEST_CASE("a train loop's plot is rewritten at most once a second, and when forced", "[train]") {
  // ir/interp/TrainReport.h: drawTrainPlot writes only new rows, and (unless
  // forced: the last step, an early stop, the end of the loop) only a second
  // after the last write.
  fs::path dir = fs::temp_directory_path() / ("ptl-plot-rate-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  ir::TrainRun run;
  run.plotPath = (dir / "run.svg").string();
  run.plotSteps = {1};
  run.plotColumns = {{"loss", {2.0}}};
  run.plotDirty = true;
  run.lastPlot = std::chrono::steady_clock::now() - std::chrono::seconds(2);
  ir::drawTrainPlot(run, false); // a second has passed: written
  REQUIRE(fs::exists(run.plotPath));
  CHECK(!run.plotDirty);
  auto count = [&] {
    std::ifstream in(run.plotPath);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t n = 0;
    for (size_t at = all.find("<polyline"); at != std::string::npos; at = all.find("<polyline", at + 1)) {
      size_t pts = all.find("points=\"", at) + 8;
      n = (size_t)std::count(all.begin() + (long)pts, all.begin() + (long)all.find('"', pts), ',');
    }
    return n;
  };
  CHECK(count() == 1);
  run.plotSteps.push_back(2);
  run.plotColumns[0].values.push_back(1.0);
  run.plotDirty = true;
  ir::drawTrainPlot(run, false); // within the second: not written
  CHECK(run.plotDirty);
  CHECK(count() == 1);
  ir::drawTrainPlot(run, true); // forced
  CHECK(!run.plotDirty);
  CHECK(count() == 2);
  ir::drawTrainPlot(run, true); // nothing new: nothing to do
  fs::remove_all(dir);
}
