//===- backend/CodeGen.h - PTL IR functions to LLVM IR ------------------------===//
//
// Lowers IR functions straight to LLVM IR loops over buffers: chains of
// elementwise ops fused into one loop each, products below BLAS size as
// register-tiled kernels, everything else one loop nest per op.
//
// Calling convention. A function F becomes
//   i32 @<prefix>F(ptr ctx, ptr arg_1, ..., ptr arg_n, ptr res_1, ..., ptr res_m)
// (internal linkage, unless the program is split across modules) taking a
// pointer to each argument's buffer (read only) and to each preallocated
// result buffer (the caller allocates: shapes are static), plus the
// ExecContext (backend/NativeRuntime.h). It returns 0, or 1 after a
// run-time fault recorded in the context. An exported wrapper
//   i32 @<prefix>entry.F(ptr ctx, ptr args, ptr results)
// takes arrays of those pointers, for the host.
//
// Buffers. Every value is a dense row-major buffer. A function takes one
// frame per call from the context's arena (ptlrt_frame_push/pop) holding all
// its temporaries at static offsets; reshape, stop_grad and index are views
// (no copy); constants live in read-only globals.
//
// Coverage. Every op of a verified module is lowered except `grad` (which
// the autodiff pass expands first). Ops whose work is file I/O (load_npy,
// save_npy, load_csv, save, load) and train_progress call the runtime
// (ptlrt_host_op), which runs the interpreter's own kernel on the operand
// buffers; a `for {train}` loop brackets its iterations with
// ptlrt_train_begin/_end and asks ptlrt_train_stop after each step whether
// Ctrl-C (or Engine::requestStop) asked it to stop. Conditions known
// statically (the maximum or argmax of no elements) become unconditional
// faults with the interpreter's message, raised only when the op runs.
//
// Numerics follow the reference interpreter exactly: f32 exp, log, tanh and
// pow are PTL's own (runtime/Math.h, inlined), the other transcendental
// functions libm calls (marked nobuiltin, so LLVM neither folds nor
// rewrites them), the same selects for max/min/relu with NaNs, reductions
// accumulated in row-major order starting from 0 or, for long contiguous
// float sums, in the interpreter's 16 partial sums (logsumexp, softmax and
// log_softmax with the interpreter's max subtraction and finite-max test,
// cumsum, scatter_add and index_add in its order), matmul with k ascending,
// no fast-math flags and no FP contraction — so results are bit-identical.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

#include <string>
#include <vector>

namespace llvm {
class Module;
} // namespace llvm

namespace ptl::backend {

struct SiteTables;

/// Whether every op of `f` can be lowered (ignoring whether its callees
/// can); if not, `why` names the first op that cannot and its line.
/// `standalone` (ahead-of-time code, backend/ObjectEmitter.h) also refuses
/// the ops that need the interpreter on the host: file I/O and a `train`
/// log file.
bool canCompile(const ir::Function &f, std::string &why, bool standalone = false);

/// The functions of `m` that can be compiled: those that canCompile and
/// call only such functions (transitively). For the others, `why` gets the
/// reason by function name.
std::vector<const ir::Function *> compilableFunctions(const ir::Module &m,
                                                      std::vector<std::pair<std::string, std::string>> &why,
                                                      bool standalone = false);

/// The symbol of F's host entry (see the calling convention above).
std::string entrySymbol(const std::string &prefix, const std::string &function);

/// Runs LLVM's verifier over lowered code: bad IR from the lowering is an
/// internal error (throws InternalError, runtime/Check.h).
void verifyLowered(const llvm::Module &m);

/// One LLVM function lowerFunctions defined. Its `unit` is what must be
/// compiled in one module: a PTL function's body together with its host
/// entry (unit: the body's symbol), or one outlined parallel `map` body or
/// product or transpose kernel (unit: its own symbol), whose owner is the
/// function it was made for (for a kernel, the first that needed it).
struct LoweredFunction {
  std::string symbol;
  std::string unit;
  const ir::Function *owner = nullptr;
  bool hostEntry = false; ///< the exported wrapper of entrySymbol
};

/// One part of a program split across modules (compiled at once on several
/// threads, backend/Partition.h): every function lowered into it is exported
/// (so the other parts can call it), those of `elsewhere` are declared, and
/// `lowered` receives what was defined.
struct SplitLowering {
  std::vector<const ir::Function *> elsewhere;
  std::vector<LoweredFunction> lowered;
};

/// Lowers `functions` (all compilable, calling only each other and, with
/// `split`, `split->elsewhere`) into `out`, naming them after `prefix`; the
/// op sites generated code refers to are appended to `sites` (and its
/// `files` set to the module's). Without `split` the functions are internal
/// to `out` and only the host entries are exported.
void lowerFunctions(const ir::Module &m, const std::vector<const ir::Function *> &functions,
                    const std::string &prefix, llvm::Module &out, SiteTables &sites,
                    SplitLowering *split = nullptr);

} // namespace ptl::backend
