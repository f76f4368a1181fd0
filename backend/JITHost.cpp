//===- backend/JITHost.cpp - The JIT's host helpers and runtime symbols -------===//
//
// Under the JIT, the ops native code hands back to the host run on the
// engine's ir::Interpreter (ExecContext::host): host ops through the
// interpreter's own kernels, `train` loops through its TrainRun (progress
// line, log file, metrics, early stopping, plot, Ctrl-C). These are the JIT's versions of the host helpers
// of backend/NativeRuntime.h; runtimeSymbols binds them, with the shared
// pure helpers and libm, by address. (The AOT runtime has its own versions,
// backend/AotRuntime.cpp, linked by name.)
//
//===----------------------------------------------------------------------===//
#include "backend/NativeRuntime.h"

#include "ir/interp/Interpreter.h"
#include "ir/interp/Kernels.h"
#include "ir/interp/Progress.h"
#include "runtime/Tensor.h"

#include <cmath>
#include <cstring>
#include <ostream>

namespace ptl::backend {

namespace {

// A host op: the interpreter's kernel on views of the operand buffers; its
// results are copied into the preallocated result buffers
int32_t jitHostOp(ExecContext *c, int32_t site, void *const *ins, void *const *outs) {
  const ptl::backend::HostOpSite &h = c->sites->hostOps[(size_t)site];
  try {
    if (!c->host) {
      c->fail(h.loc, std::string(h.op->name()) + ": no host for native code");
      return 1;
    }
    const ptl::ir::Op &op = *h.op;
    // Reused, so that a `train` loop's per-step progress op allocates nothing.
    thread_local std::vector<ptl::Tensor> in;
    in.clear();
    for (unsigned i = 0; i < op.numOperands(); ++i) {
      const ptl::ir::Type &t = op.operand(i)->type();
      in.push_back(ptl::Tensor::view(t.dtype, t.shape, ins[i]));
    }
    std::vector<ptl::Tensor> res = ptl::ir::kernels::kernelFor(op.kind())(ptl::ir::kernels::KernelArgs{op, in, *c->host});
    for (unsigned r = 0; r < op.numResults(); ++r) {
      const ptl::ir::Type &t = op.result(r)->type();
      if (r >= res.size() || res[r].dtype() != t.dtype || res[r].shape() != t.shape) {
        c->fail(h.loc, std::string(op.name()) + ": result " + std::to_string(r) + " is not " + t.str());
        return 1;
      }
      if (res[r].nbytes()) std::memcpy(outs[r], res[r].raw(), res[r].nbytes());
    }
    return 0;
  } catch (const std::exception &e) {
    c->fail(h.loc, e.what());
  } catch (...) {
    c->failed = true;
  }
  return 1;
}

void jitTrainBegin(ExecContext *c, int64_t total) {
  try {
    if (c->host) c->host->beginTrain(total);
  } catch (...) {
  }
}

// As runFor after each step of a train loop: 2 when the step diverged (the
// loop fails, Divergence.h); 1 to stop when asked or when an `until`
// condition held and steps remain, saying why (Interpreter::stopTrainAfter)
int32_t jitTrainStop(ExecContext *c, int64_t step, int64_t total) {
  try {
    if (!c->host) return 0;
    if (ptl::ir::TrainRun *run = c->host->currentTrain(); run && run->diverged) return 2;
    return c->host->stopTrainAfter(step, total) ? 1 : 0;
  } catch (...) {
    return 1;
  }
}

// The loop's divergence fault (as runFor raises it), with views of the kept
// model leaves, which divergenceFault copies
int32_t jitTrainDiverged(ExecContext *c, int32_t site, void *const *params) {
  const ptl::backend::HostOpSite &h = c->sites->hostOps[(size_t)site];
  try {
    ptl::ir::TrainRun *run = c->host ? c->host->currentTrain() : nullptr;
    if (!run || !run->diverged) {
      c->fail(h.loc, "train_diverged: no diverged train loop");
      return 1;
    }
    std::vector<ptl::Tensor> kept;
    for (size_t k = 0; k < h.operands.size(); ++k)
      kept.push_back(ptl::Tensor::view(h.operands[k].dtype, h.operands[k].shape, params[k]));
    ptl::RuntimeFault f = ptl::ir::kernels::divergenceFault(*h.op, *run->diverged, kept);
    bool first = !c->failed;
    c->fail(h.loc, f.what());
    if (first) c->trainStop = f.trainStop;
  } catch (const std::exception &e) {
    c->fail(h.loc, e.what());
  } catch (...) {
    c->failed = true;
  }
  return 1;
}

void jitTrainEnd(ExecContext *c) {
  try {
    if (c->host && c->host->currentTrain()) c->host->endTrain();
  } catch (...) {
  }
}

} // namespace

std::vector<HostSymbol> runtimeSymbols() {
  // Function pointers to the exact overloads the interpreter calls
  // (std::exp(float) is expf, and so on), so results are bit-identical.
  using F1 = float (*)(float);
  using D1 = double (*)(double);
  using F2 = float (*)(float, float);
  using D2 = double (*)(double, double);
  auto fp = [](auto f) { return reinterpret_cast<void *>(f); };
  return {
      {"ptlrt_frame_push", fp(&ptlrt_frame_push)},
      {"ptlrt_frame_pop", fp(&ptlrt_frame_pop)},
      {"ptlrt_fault_index", fp(&ptlrt_fault_index)},
      {"ptlrt_fault_arith", fp(&ptlrt_fault_arith)},
      {"ptlrt_print", fp(&ptlrt_print)},
      {"ptlrt_ipow", fp(&ptlrt_ipow)},
      {"ptlrt_parallel_map", fp(&ptlrt_parallel_map)},
      {"ptlrt_gemm_f32", fp(&ptlrt_gemm_f32)},
      {"ptlrt_gemm_f64", fp(&ptlrt_gemm_f64)},
      {"ptlrt_random", fp(&ptlrt_random)},
      {"ptlrt_check_bounds", fp(&ptlrt_check_bounds)},
      {"ptlrt_host_op", fp(&jitHostOp)},
      {"ptlrt_fault_msg", fp(&ptlrt_fault_msg)},
      {"ptlrt_fault_one_hot", fp(&ptlrt_fault_one_hot)},
      {"ptlrt_train_begin", fp(&jitTrainBegin)},
      {"ptlrt_train_stop", fp(&jitTrainStop)},
      {"ptlrt_train_end", fp(&jitTrainEnd)},
      {"ptlrt_train_diverged", fp(&jitTrainDiverged)},
      {"expf", fp(F1(&::expf))},     {"exp", fp(D1(&::exp))},
      {"logf", fp(F1(&::logf))},     {"log", fp(D1(&::log))},
      {"log1pf", fp(F1(&::log1pf))}, {"log1p", fp(D1(&::log1p))},
      {"expm1f", fp(F1(&::expm1f))}, {"expm1", fp(D1(&::expm1))},
      {"tanhf", fp(F1(&::tanhf))},   {"tanh", fp(D1(&::tanh))},
      {"sinf", fp(F1(&::sinf))},     {"sin", fp(D1(&::sin))},
      {"cosf", fp(F1(&::cosf))},     {"cos", fp(D1(&::cos))},
      {"powf", fp(F2(&::powf))},     {"pow", fp(D2(&::pow))},
      {"fmodf", fp(F2(&::fmodf))},   {"fmod", fp(D2(&::fmod))},
  };
}

} // namespace ptl::backend
