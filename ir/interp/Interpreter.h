//===- ir/interp/Interpreter.h - The reference interpreter -------------------===//
//
// Executes a verified IR module op by op on host tensors. It defines PTL's
// semantics: the backend is tested against it. Each op kind has one kernel
// (ir/interp/Kernels.h), dispatched through a table generated from Ops.def.
// Any RuntimeFault raised while executing an op carries that op's location.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/interp/Divergence.h"
#include "ir/IR.h"
#include "runtime/Errors.h"
#include "runtime/PlotSvg.h"
#include "runtime/Sandbox.h"
#include "runtime/Tensor.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ptl::ir {

/// Where the interpreter prints, how it resolves relative file paths, which
/// files it may touch and how long and how much memory a call may take.
struct InterpOptions {
  std::ostream *out = &std::cout; ///< destination of `print`
  /// Destination of `train`'s progress and messages. Only when this is
  /// std::cerr and stderr is a terminal is the progress a line redrawn in
  /// place; otherwise it is plain lines.
  std::ostream *err = &std::cerr;
  std::string baseDir;            ///< relative I/O paths resolve here (if not empty)
  /// The directories the script may read and write (runtime/Sandbox.h). If
  /// set, it is in force on the calling thread during call(); if null, the
  /// thread's (or the process's) policy applies, by default none.
  std::shared_ptr<const PathPolicy> pathPolicy;
  /// Wall-clock budget of one call() in seconds (<= 0: none). Checked before
  /// every op and every loop iteration; when exceeded, call() throws a
  /// RuntimeFault ("time budget of ... exceeded") located at the next op.
  /// (An op already running, a large matmul say, finishes first.)
  double timeBudgetSeconds = 0;
  /// Budget for the bytes of tensor storage alive during one call(), over
  /// what was alive when it started (<= 0: none). Checked after every op
  /// (Tensor::liveBytes is process-wide, so other threads' tensors count);
  /// when exceeded, call() throws a RuntimeFault located at that op.
  int64_t memoryBudgetBytes = 0;
};

namespace detail {
struct Frame;
}

/// The state of one running `train` loop (a `for` with attr train): its
/// progress display and its log file. Kept by the interpreter while the
/// loop runs; the `train_progress` op of the loop's body updates it.
struct TrainRun {
  int64_t total = 0;                                ///< the number of steps
  std::chrono::steady_clock::time_point start;      ///< when the loop started
  std::chrono::steady_clock::time_point lastDraw;   ///< last terminal redraw
  bool terminal = false;                            ///< redraw one line in place
  bool lineOpen = false;                            ///< a drawn line awaits its newline
  std::unique_ptr<std::ofstream> log;               ///< open `log ... to` file, if any
  std::string logPath;
  // Metrics, early stopping and the plot (ir/interp/TrainReport.h):
  std::string metricsText;          ///< the last logged metrics for the progress line (`val 0.015  acc 0.93`)
  std::vector<double> best;         ///< per `until` condition of `NAME stalls for P`: NAME's minimum so far,
  std::vector<int64_t> bestStep;    ///<   the step that reached it,
  std::vector<int64_t> since;       ///<   and the logged rows since (-1: none yet)
  std::string stopReason;           ///< an `until` condition held: the loop stops after this step
  std::string plotPath;             ///< `plot to` file (resolved), if any
  std::vector<double> plotSteps;    ///< the logged rows, for the plot: steps
  std::vector<PlotSeries> plotColumns; ///< and the loss and metric columns
  std::chrono::steady_clock::time_point lastPlot; ///< last time the plot was written
  bool plotDirty = false;           ///< rows logged since then
  /// Set by `train_nonfinite`: the loop stops with the parameters from
  /// before this step and fails (see Divergence.h).
  std::optional<Divergence> diverged;
};

/// Runs functions of a module.
class Interpreter {
public:
  Interpreter(const Module &m, InterpOptions opts);
  ~Interpreter();

  /// Calls `function` with `args` (checked against its parameter types) and
  /// returns its results. Throws RuntimeFault (with the failing op's
  /// location where there is one).
  std::vector<Tensor> call(const std::string &function, const std::vector<Tensor> &args);

  /// Number of (non-terminator) ops executed so far.
  int64_t opsExecuted() const { return opsExecuted_; }
  /// How many times ops of `kind` at source line `line` (any file) ran.
  int64_t executions(OpKind kind, int line) const {
    auto it = executions_.find({(int)kind, line});
    return it == executions_.end() ? 0 : it->second;
  }

  /// Runs `region` with `args` bound to its arguments, in a frame nested in
  /// the current one; returns the operands of its terminator. (For kernels.)
  std::vector<Tensor> runRegion(const Region &region, const std::vector<Tensor> &args);
  /// Calls a function of the module in a fresh frame. (For kernels.)
  std::vector<Tensor> callFunction(const std::string &name, const std::vector<Tensor> &args);
  const InterpOptions &options() const { return opts_; }
  /// `path` resolved against options().baseDir when relative.
  std::string resolvePath(const std::string &path) const;

  /// Asks the running `train` loops to stop after their current step,
  /// keeping the parameters of that step, exactly as Ctrl-C (SIGINT) does
  /// while a `train` loop runs; the program then goes on after the `train`
  /// statement. Safe to call from another thread. A request made while no
  /// `train` loop runs is dropped when the next one starts.
  void requestStop() { stopRequested_ = true; }
  /// Makes the running call() throw RuntimeFault("interrupted") at its next
  /// op or loop iteration (the REPL's Ctrl-C outside `train`). Safe to call
  /// from a signal handler or another thread; a request made just before a
  /// call() starts applies to it. Cleared when acted on.
  void requestInterrupt() { interruptRequested_ = true; }
  /// Whether a stop was requested (requestStop or SIGINT). (For kernels.)
  bool stopRequested() const;
  /// Starts a `train` loop of `total` steps: pushes its TrainRun and, for the
  /// outermost one, clears old stop requests and installs a SIGINT handler
  /// (the previous handler is restored by the matching endTrain). (For kernels.)
  TrainRun &beginTrain(int64_t total);
  /// Ends the innermost `train` loop: finishes its terminal line, closes its
  /// log file, and for the outermost one restores the SIGINT handler.
  void endTrain();
  /// After step `step` of `total` of the innermost `train` loop: whether it
  /// stops now (steps remain and a stop was requested, or an `until`
  /// condition held at this step); if so, finishes an open progress line and
  /// says why on the error stream (`train: interrupted at step S/N; ...` or
  /// `train: stopped at step S/N: REASON`). (For runFor and the JIT.)
  bool stopTrainAfter(int64_t step, int64_t total);
  /// The innermost running `train` loop, or null. (For kernels.)
  TrainRun *currentTrain() { return trains_.empty() ? nullptr : trains_.back().get(); }

private:
  void execute(const Op &op, detail::Frame &frame);
  /// Throws when the call's time budget is spent.
  void checkBudget(const Op *op);
  RuntimeLoc runtimeLoc(Loc l) const;

  const Module &module_;
  InterpOptions opts_;
  detail::Frame *current_ = nullptr;
  int64_t opsExecuted_ = 0;
  std::map<std::pair<int, int>, int64_t> executions_; ///< by (op kind, source line)
  std::vector<std::unique_ptr<TrainRun>> trains_;      ///< running `train` loops, innermost last
  std::atomic<bool> stopRequested_{false};
  std::atomic<bool> interruptRequested_{false};
  int callDepth_ = 0;                                  ///< nesting of call()
  bool timeBudgeted_ = false;                          ///< the running call() has a time budget
  std::chrono::steady_clock::time_point deadline_;     ///< of the outermost call(), if budgeted
  int64_t liveBytesAtStart_ = 0;                       ///< Tensor::liveBytes() when it began
};

} // namespace ptl::ir
