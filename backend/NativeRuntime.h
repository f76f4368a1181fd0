//===- backend/NativeRuntime.h - What compiled code calls at run time ---------===//
//
// The execution context passed to every generated function, the frame arena
// its temporary buffers come from, the tables of op sites (locations, print
// formats) that generated code refers to by number, and the C-ABI helper
// functions it calls.
//
// Two hosts. The pure helpers (frames, faults, print, random, check_bounds,
// ipow, one_hot) are defined once, in NativeRuntime.cpp, which is part of
// the LLVM-free AOT runtime library ptl_aotrt. The helpers that hand work
// back to a host -- ptlrt_host_op and ptlrt_train_begin/_stop/_end -- have
// one implementation per host: the JIT's (backend/JITHost.cpp, the
// interpreter's kernels; bound by address through runtimeSymbols) and the
// AOT runtime's (backend/AotRuntime.cpp, no interpreter; linked by name).
//
// No helper lets a C++ exception escape: a failure is recorded in the
// context (message and site) and signalled by the return value, and the
// generated code returns 1 up to the caller, which turns it into a
// RuntimeFault (JIT) or a nonzero status (AOT). Generated code never reads
// the context's fields itself.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "backend/JIT.h"
#include "ir/IR.h"
#include "runtime/Constraints.h"
#include "runtime/Errors.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

namespace ptl::ir {
class Interpreter;
} // namespace ptl::ir

namespace ptl::backend {

/// A stack of frames carved from large chunks that are kept for reuse, so
/// a steady state makes no heap allocation. Every frame is 64-byte aligned.
class FrameArena {
public:
  FrameArena() = default;
  ~FrameArena();
  FrameArena(const FrameArena &) = delete;
  FrameArena &operator=(const FrameArena &) = delete;

  /// A new frame of `bytes` bytes on top of the stack; null if out of memory.
  void *push(size_t bytes);
  /// Drops the top frame.
  void pop();
  /// Drops every frame (after a fault); the chunks are kept.
  void reset();
  /// Frames alive now.
  size_t depth() const { return marks_.size(); }
  /// Chunks allocated so far (for tests).
  size_t chunks() const { return chunks_.size(); }

private:
  struct Chunk {
    char *mem;
    size_t size;
  };
  std::vector<Chunk> chunks_;
  size_t chunk_ = 0, used_ = 0;
  std::vector<std::pair<size_t, size_t>> marks_;
};

/// What a `print` op needs at run time.
struct PrintSite {
  std::vector<std::string> labels, seps;
  std::string tail;
  std::vector<ir::Type> types;
};

/// What a `random` op needs at run time (attributes with the interpreter's defaults).
struct RandomSite {
  std::string dist, key;
  double a = 0, b = 1;
  ir::Type type;
  int32_t loc = -1;
};

/// What a `check_bounds` op needs at run time.
struct CheckSite {
  ConstraintSpec spec;
  std::string path, message;
  ir::Type type;
  int32_t loc = -1;
};

/// An op that native code hands back to the host. Under the JIT the
/// interpreter's own kernel runs `op` (file I/O, train_progress), so its
/// semantics, messages and file-path policy are the interpreter's by
/// construction; the op must outlive the engine (it belongs to the engine's
/// module). AOT code has no IR: its runtime goes by `name` and the fields
/// below (only train_progress is AOT-compiled, see canCompile).
struct HostOpSite {
  const ir::Op *op = nullptr;     ///< JIT only (not serialised)
  std::string name;               ///< the op's mnemonic ("train_progress")
  int64_t total = 0;              ///< train_progress: the loop's step count
  std::vector<ir::Type> operands; ///< the operand types
  int32_t loc = -1;
  std::vector<std::string> paths; ///< train_nonfinite: the model leaves' paths
};

/// Op sites that generated code refers to by number.
struct SiteTables {
  std::vector<ir::Loc> locs;          ///< the location of a faulting op, by site number
  std::vector<PrintSite> prints;      ///< by print-site number
  std::vector<RandomSite> randoms;    ///< by random-site number
  std::vector<CheckSite> checks;      ///< by check-site number
  std::vector<HostOpSite> hostOps;    ///< by host-op-site number
  std::vector<std::string> messages;  ///< fixed fault messages, by number
  std::vector<std::string> files;     ///< the module's source files (ir::Loc::file indexes them)
};

/// The state of one call into compiled code.
struct ExecContext {
  FrameArena arena;
  const SiteTables *sites = nullptr;
  std::ostream *out = nullptr; ///< destination of `print`
  /// JIT only: the interpreter that hosts host ops and `train` loops
  /// (progress, log file, Ctrl-C): its options give relative paths' base
  /// directory and the progress stream. (AOT contexts extend ExecContext
  /// instead, see backend/AotRuntime.h.)
  ir::Interpreter *host = nullptr;
  /// Views of the buffers that random and check_bounds sites fill or read,
  /// by site number, made on first use and rebound each time, so that those
  /// ops allocate nothing in steady state.
  std::vector<Tensor> randomViews, checkViews;
  /// The contexts a parallel `map` runs its iterations in, one per worker
  /// (made on first use and kept, see ptlrt_parallel_map).
  std::vector<std::unique_ptr<ExecContext>> workers;
  bool failed = false;
  std::string message;  ///< the first fault's message
  int32_t locSite = -1; ///< its location (index into sites->locs), or -1
  /// JIT only: the first fault is a diverged `train` loop's (its kept parameters).
  std::shared_ptr<const TrainStop> trainStop;

  /// Records a fault (the first one wins).
  void fail(int32_t site, std::string msg);
  /// Clears the fault and the arena's frames before a call.
  void reset();
};

/// The helper functions JIT-compiled code calls (the JIT host's versions of
/// the host helpers), plus the libm functions it uses, by name (for
/// JIT::defineSymbols). Defined in backend/JITHost.cpp (ptl_backend).
std::vector<HostSymbol> runtimeSymbols();

/// Fault codes of ptlrt_fault_arith.
enum ArithFault : int32_t { kIntDivByZero = 0, kIntModByZero = 1, kIntPowZeroNegative = 2 };

} // namespace ptl::backend

extern "C" {
/// A frame of `bytes` bytes; null (and a fault located at `site`, the op
/// with the frame's largest temporary, or -1) if out of memory.
void *ptlrt_frame_push(ptl::backend::ExecContext *c, int64_t bytes, int32_t site);
void ptlrt_frame_pop(ptl::backend::ExecContext *c);
void ptlrt_fault_index(ptl::backend::ExecContext *c, int32_t site, int64_t i, int64_t axis, int64_t n);
void ptlrt_fault_arith(ptl::backend::ExecContext *c, int32_t site, int32_t code);
int32_t ptlrt_print(ptl::backend::ExecContext *c, int32_t site, void *const *buffers);
int32_t ptlrt_ipow(int32_t a, int32_t b);
/// c[m, n] = op(a) @ op(b), a stored transposed when transA != 0, b when transB != 0
/// (runtime/Gemm.h: the interpreter's matmul exactly).
void ptlrt_gemm_f32(const float *a, const float *b, float *c, int64_t m, int64_t n, int64_t k, int32_t transA,
                    int32_t transB);
void ptlrt_gemm_f64(const double *a, const double *b, double *c, int64_t m, int64_t n, int64_t k, int32_t transA,
                    int32_t transB);
int32_t ptlrt_random(ptl::backend::ExecContext *c, int32_t site, const int32_t *seed, const int32_t *data, void *out);
int32_t ptlrt_check_bounds(ptl::backend::ExecContext *c, int32_t site, const void *x, const int32_t *step);
/// Records the fixed fault message `msg` (SiteTables::messages) at location site `site`.
void ptlrt_fault_msg(ptl::backend::ExecContext *c, int32_t site, int32_t msg);
/// one_hot: a label out of [0, depth).
void ptlrt_fault_one_hot(ptl::backend::ExecContext *c, int32_t site, int64_t label, int64_t depth);
// The host helpers (one implementation per host, see the top of this file).
/// One iteration `iv` of an outlined `map` body, in context `c`; 0 or 1 (failed).
using MapBodyFn = int32_t (*)(ptl::backend::ExecContext *c, void *env, int64_t iv);
/// Runs body(ctx, env, iv) for iv in [lo, hi) on the worker pool
/// (runtime/Parallel.h), each worker in its own context; 0, or 1 with the
/// fault of the lowest failing iteration recorded in `c` (as a serial run
/// would report it).
int32_t ptlrt_parallel_map(ptl::backend::ExecContext *c, MapBodyFn body, void *env, int64_t lo, int64_t hi);
/// Runs host op `site` on operand buffers `ins`, copying its results into `outs`; 0 or 1 (failed).
int32_t ptlrt_host_op(ptl::backend::ExecContext *c, int32_t site, void *const *ins, void *const *outs);
/// A `train` loop of `total` steps starts (Interpreter::beginTrain).
void ptlrt_train_begin(ptl::backend::ExecContext *c, int64_t total);
/// After step `step` (from 1) of `total`: 2 if the step diverged (its
/// `train_nonfinite` op found a non-finite value: the loop keeps the values
/// from before the step and calls ptlrt_train_diverged), 1 if the loop must
/// stop now keeping the step's values (a stop was requested and steps remain;
/// the interruption is reported), else 0.
int32_t ptlrt_train_stop(ptl::backend::ExecContext *c, int64_t step, int64_t total);
/// The fault of a diverged `train` loop: host-op site `site` describes the
/// loop (HostOpSite::op, JIT only) and the model leaves' types; `params` are
/// their kept buffers. Always 1 (failed).
int32_t ptlrt_train_diverged(ptl::backend::ExecContext *c, int32_t site, void *const *params);
/// The innermost `train` loop ends (Interpreter::endTrain).
void ptlrt_train_end(ptl::backend::ExecContext *c);
}
