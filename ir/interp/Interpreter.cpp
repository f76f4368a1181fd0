//===- ir/interp/Interpreter.cpp - The reference interpreter -----------------===//
//
// Values live in frames (one per region execution); a region may read values
// of enclosing frames, a called function starts a fresh chain. Each op is
// dispatched to its kernel through the table generated from Ops.def.
//
//===----------------------------------------------------------------------===//
#include "ir/interp/Interpreter.h"
#include "runtime/Check.h"

#include "ir/interp/Kernels.h"
#include "ir/interp/Progress.h"
#include "ir/interp/TrainReport.h"
#include "runtime/Errors.h"

#include <csignal>
#include <mutex>
#include <new>
#include <optional>
#include <sstream>
#include <unordered_map>

#include <signal.h>
#include <unistd.h>

namespace ptl::ir {

namespace detail {
/// The values defined by one execution of a region.
struct Frame {
  Frame *parent = nullptr;
  std::unordered_map<const Value *, Tensor> values;

  const Tensor &lookup(const Value *v) const {
    for (const Frame *f = this; f; f = f->parent) {
      auto it = f->values.find(v);
      if (it != f->values.end()) return it->second;
    }
    PTL_UNREACHABLE("value used before its definition (unverified IR?)");
  }
};
} // namespace detail

using detail::Frame;

namespace {
/// Restores the interpreter's current frame on scope exit.
struct FrameScope {
  detail::Frame *&slot;
  detail::Frame *saved;
  FrameScope(detail::Frame *&slot, detail::Frame *f) : slot(slot), saved(slot) { slot = f; }
  ~FrameScope() { slot = saved; }
};
} // namespace

//===----------------------------------------------------------------------===//
// Ctrl-C during `train`
//===----------------------------------------------------------------------===//

namespace {
/// Set by the SIGINT handler; read by every interpreter's stopRequested().
volatile std::sig_atomic_t gInterrupted = 0;
/// How many `train` loops (over all interpreters) have the handler installed.
int gHandlerUsers = 0;
struct sigaction gPreviousAction;
std::mutex gHandlerMutex;

/// The first Ctrl-C asks the running `train` loops to stop after their
/// step; a second one (the step may be slow) ends the program as usual.
extern "C" void onInterrupt(int sig) {
  if (gInterrupted) {
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  gInterrupted = 1;
}

void installInterruptHandler() {
  std::lock_guard<std::mutex> lock(gHandlerMutex);
  if (gHandlerUsers++ > 0) return;
  gInterrupted = 0;
  struct sigaction sa = {};
  sa.sa_handler = onInterrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, &gPreviousAction);
  // A process started with SIGINT ignored (a background job, nohup) keeps
  // ignoring it.
  if (!(gPreviousAction.sa_flags & SA_SIGINFO) && gPreviousAction.sa_handler == SIG_IGN)
    sigaction(SIGINT, &gPreviousAction, nullptr);
}

void restoreInterruptHandler() {
  std::lock_guard<std::mutex> lock(gHandlerMutex);
  if (--gHandlerUsers > 0) return;
  sigaction(SIGINT, &gPreviousAction, nullptr);
  gInterrupted = 0;
}
} // namespace

bool Interpreter::stopRequested() const { return stopRequested_ || gInterrupted; }

TrainRun &Interpreter::beginTrain(int64_t total) {
  if (trains_.empty()) {
    stopRequested_ = false;
    installInterruptHandler();
  }
  auto run = std::make_unique<TrainRun>();
  run->total = total;
  run->start = run->lastDraw = std::chrono::steady_clock::now();
  run->terminal = opts_.err == &std::cerr && isatty(STDERR_FILENO);
  trains_.push_back(std::move(run));
  return *trains_.back();
}

void Interpreter::endTrain() {
  PTL_CHECK(!trains_.empty(), "endTrain without beginTrain");
  if (trains_.empty()) return;
  TrainRun &run = *trains_.back();
  if (run.lineOpen) {
    *opts_.err << "\n";
    opts_.err->flush();
  }
  if (run.log) run.log->close();
  // The plot's last rows (a loop left by Ctrl-C or an error); a failure here
  // only warns, as the loop is already over.
  try {
    drawTrainPlot(run, true);
  } catch (const std::exception &e) {
    *opts_.err << "train: warning: " << e.what() << "\n";
  }
  trains_.pop_back();
  if (trains_.empty()) {
    restoreInterruptHandler();
    stopRequested_ = false;
  }
}

bool Interpreter::stopTrainAfter(int64_t step, int64_t total) {
  TrainRun *run = currentTrain();
  if (step >= total || !run) return false;
  bool interrupted = stopRequested();
  if (!interrupted && run->stopReason.empty()) return false;
  std::ostream &err = *opts_.err;
  if (run->lineOpen) {
    err << "\n";
    run->lineOpen = false;
  }
  err << (run->stopReason.empty() || interrupted ? progress::interruptedLine(step, total)
                                                 : progress::stoppedLine(step, total, run->stopReason))
      << "\n";
  err.flush();
  return true;
}

Interpreter::Interpreter(const Module &m, InterpOptions opts) : module_(m), opts_(std::move(opts)) {}
Interpreter::~Interpreter() = default;

std::string Interpreter::resolvePath(const std::string &path) const {
  if (path.empty() || path[0] == '/' || opts_.baseDir.empty()) return path;
  std::string base = opts_.baseDir;
  if (base.back() != '/') base += '/';
  return base + path;
}

RuntimeLoc Interpreter::runtimeLoc(Loc l) const {
  RuntimeLoc r;
  if (l.file >= 0 && (size_t)l.file < module_.files().size()) r.file = module_.files()[(size_t)l.file];
  r.line = l.line;
  r.col = l.col;
  return r;
}

namespace {
std::string secondsText(double s) {
  std::ostringstream os;
  os << s;
  return os.str();
}
/// Counts a call() level for the duration of a scope.
struct DepthScope {
  int &depth;
  explicit DepthScope(int &d) : depth(d) { ++depth; }
  ~DepthScope() { --depth; }
};
} // namespace

void Interpreter::checkBudget(const Op *op) {
  if (interruptRequested_.load(std::memory_order_relaxed)) {
    interruptRequested_ = false;
    RuntimeFault f("interrupted");
    if (op && op->loc().valid()) f.loc = runtimeLoc(op->loc());
    throw f;
  }
  if (timeBudgeted_ && callDepth_ > 0 && std::chrono::steady_clock::now() > deadline_) {
    RuntimeFault f("time budget of " + secondsText(opts_.timeBudgetSeconds) + " s exceeded");
    if (op && op->loc().valid()) f.loc = runtimeLoc(op->loc());
    throw f;
  }
}

std::vector<Tensor> Interpreter::call(const std::string &function, const std::vector<Tensor> &args) {
  std::optional<ScopedPathPolicy> policy;
  if (opts_.pathPolicy) policy.emplace(opts_.pathPolicy);
  if (callDepth_ == 0) {
    // A budget of more than ~30 years is none (and would overflow the clock).
    timeBudgeted_ = opts_.timeBudgetSeconds > 0 && opts_.timeBudgetSeconds < 1e9;
    if (timeBudgeted_)
      deadline_ = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                          std::chrono::duration<double>(opts_.timeBudgetSeconds));
    liveBytesAtStart_ = Tensor::liveBytes();
    // interruptRequested_ is not cleared here: a request that arrives just
    // before the call starts (Ctrl-C in the REPL) must still stop it.
  }
  DepthScope depth(callDepth_);
  const Function *f = module_.lookup(function);
  if (!f) throw RuntimeFault("no function named '" + function + "'");
  const Region &body = f->body();
  if (args.size() != body.numArguments())
    throw RuntimeFault(function + " takes " + std::to_string(body.numArguments()) + " arguments, got " +
                       std::to_string(args.size()));
  for (unsigned i = 0; i < body.numArguments(); ++i) {
    const Type &t = body.argument(i)->type();
    if (args[i].dtype() != t.dtype || args[i].shape() != t.shape)
      throw RuntimeFault("argument " + std::to_string(i + 1) + " of " + function + ": expected " +
                         t.str() + ", got " + typeString(args[i].dtype(), args[i].shape()));
    if (!args[i].valid()) throw RuntimeFault("argument " + std::to_string(i + 1) + " of " + function +
                                             " has no data");
  }
  return callFunction(function, args);
}

std::vector<Tensor> Interpreter::callFunction(const std::string &name, const std::vector<Tensor> &args) {
  const Function *f = module_.lookup(name);
  if (!f) throw RuntimeFault("call of unknown function '" + name + "'");
  FrameScope scope(current_, nullptr); // a callee sees none of the caller's values
  return runRegion(f->body(), args);
}

std::vector<Tensor> Interpreter::runRegion(const Region &region, const std::vector<Tensor> &args) {
  Frame frame;
  frame.parent = current_;
  PTL_CHECK(args.size() == region.numArguments(), "region argument count mismatch");
  for (unsigned i = 0; i < region.numArguments() && i < args.size(); ++i)
    frame.values[region.argument(i)] = args[i];
  FrameScope scope(current_, &frame);
  if (!region.ops().empty()) checkBudget(region.ops().front().get());
  for (const auto &op : region.ops()) {
    if (isTerminator(op->kind())) {
      std::vector<Tensor> out;
      out.reserve(op->numOperands());
      for (Value *v : op->operands()) out.push_back(frame.lookup(v));
      return out;
    }
    execute(*op, frame);
  }
  PTL_UNREACHABLE("region without terminator");
  return {};
}

void Interpreter::execute(const Op &op, Frame &frame) {
  std::vector<Tensor> in;
  in.reserve(op.numOperands());
  for (Value *v : op.operands()) in.push_back(frame.lookup(v));
  ++opsExecuted_;
  ++executions_[{(int)op.kind(), op.loc().line}];
  checkBudget(&op);
  std::vector<Tensor> out;
  try {
    out = kernels::kernelFor(op.kind())(kernels::KernelArgs{op, in, *this});
    if (opts_.memoryBudgetBytes > 0 && callDepth_ > 0 &&
        Tensor::liveBytes() - liveBytesAtStart_ > opts_.memoryBudgetBytes)
      throw RuntimeFault("memory budget of " + std::to_string(opts_.memoryBudgetBytes) +
                         " bytes exceeded: tensors of this call hold " +
                         std::to_string(Tensor::liveBytes() - liveBytesAtStart_) + " bytes");
  } catch (RuntimeFault &f) {
    if (f.loc.file.empty() && op.loc().valid()) f.loc = runtimeLoc(op.loc());
    throw;
  } catch (const std::bad_alloc &) {
    RuntimeFault f("out of memory");
    if (op.loc().valid()) f.loc = runtimeLoc(op.loc());
    throw f;
  }
  PTL_CHECK(out.size() == op.numResults(), "kernel returned the wrong number of results for " + describeOp(op));
  for (unsigned i = 0; i < op.numResults() && i < out.size(); ++i)
    frame.values[op.result(i)] = std::move(out[i]);
}

} // namespace ptl::ir
