//===- backend/AotRuntime.cpp - The run-time side of ahead-of-time code ------===//
//
// Contexts and errors for the thunks of an AOT object, and the AOT host's
// versions of ptlrt_host_op and ptlrt_train_begin/_stop/_end (the JIT's are
// in backend/JITHost.cpp). Only train_progress and train_nonfinite reach
// ptlrt_host_op here: canCompile refuses the other host ops for standalone
// code. A diverged `train` loop fails the call with the interpreter's
// message (ir/interp/Divergence.h); AOT code keeps no parameters.
//
//===----------------------------------------------------------------------===//
#include "backend/AotRuntime.h"

#include "backend/SiteTablesIO.h"
#include "ir/interp/Divergence.h"
#include "ir/interp/Progress.h"
#include "runtime/Tensor.h"

#include <unistd.h>

#include <iostream>
#include <new>

namespace ptl::backend {

void AotContext::endTrains() {
  for (; !trains.empty(); trains.pop_back())
    if (trains.back().lineOpen) {
      std::cerr << "\n";
      std::cerr.flush();
    }
}

namespace {

AotContext *aot(void *ctx) { return static_cast<AotContext *>(ctx); }
const AotContext *aot(const void *ctx) { return static_cast<const AotContext *>(ctx); }
AotContext *aot(ExecContext *c) { return static_cast<AotContext *>(c); }

/// train_progress on the AOT host: the interpreter's terminal line on a
/// terminal (at most every 0.1 s, and at the first and last step), else
/// nothing.
void trainProgress(AotContext &c, int64_t step, int64_t total, double loss) {
  if (c.trains.empty()) return;
  AotContext::Train &run = c.trains.back();
  if (!run.terminal) return;
  auto now = std::chrono::steady_clock::now();
  bool last = step >= total;
  if (last || step == 1 || now - run.lastDraw >= std::chrono::milliseconds(100)) {
    double elapsed = std::chrono::duration<double>(now - run.start).count();
    std::cerr << "\r" << ir::progress::terminalLine(step, total, loss, elapsed) << "\x1b[K";
    if (last) std::cerr << "\n";
    std::cerr.flush();
    run.lineOpen = !last;
    run.lastDraw = now;
  }
}

} // namespace

} // namespace ptl::backend

using ptl::backend::AotContext;
using ptl::backend::ExecContext;

extern "C" {

void *ptlrt_aot_create(const void *blob, int64_t size) {
  try {
    auto *c = new AotContext();
    std::string error;
    if (size < 0 || !ptl::backend::decodeSiteTables(blob, (size_t)size, c->tables, error)) {
      delete c;
      return nullptr;
    }
    c->sites = &c->tables;
    c->out = &std::cout;
    return c;
  } catch (...) {
    return nullptr;
  }
}

void ptlrt_aot_destroy(void *ctx) { delete ptl::backend::aot(ctx); }

ExecContext *ptlrt_aot_begin(void *ctx) {
  if (!ctx) return nullptr;
  AotContext *c = ptl::backend::aot(ctx);
  c->reset();
  c->hasError = false;
  c->errorMessage.clear();
  c->errorFile.clear();
  c->errorLine = c->errorCol = 0;
  return c;
}

int32_t ptlrt_aot_end(void *ctx, int32_t status) {
  AotContext *c = ptl::backend::aot(ctx);
  if (status == 0 && !c->failed) return 0;
  try {
    c->endTrains();
    c->hasError = true;
    c->errorMessage = c->message.empty() ? "run-time error in native code" : c->message;
    if (c->locSite >= 0 && (size_t)c->locSite < c->tables.locs.size()) {
      const ptl::ir::Loc &l = c->tables.locs[(size_t)c->locSite];
      if (l.file >= 0 && (size_t)l.file < c->tables.files.size()) c->errorFile = c->tables.files[(size_t)l.file];
      c->errorLine = l.line;
      c->errorCol = l.col;
    }
    c->reset();
  } catch (...) {
  }
  return 1;
}

const char *ptlrt_aot_error_message(const void *ctx) {
  return ctx ? ptl::backend::aot(ctx)->errorMessage.c_str() : "no context";
}
const char *ptlrt_aot_error_file(const void *ctx) { return ctx ? ptl::backend::aot(ctx)->errorFile.c_str() : ""; }
int32_t ptlrt_aot_error_line(const void *ctx) { return ctx ? ptl::backend::aot(ctx)->errorLine : 0; }
int32_t ptlrt_aot_error_col(const void *ctx) { return ctx ? ptl::backend::aot(ctx)->errorCol : 0; }

void ptlrt_aot_request_stop(void *ctx) {
  if (ctx) ptl::backend::aot(ctx)->stop = true;
}

// The AOT host's host helpers (see backend/NativeRuntime.h).

int32_t ptlrt_host_op(ExecContext *ec, int32_t site, void *const *ins, void *const *outs) {
  AotContext *c = ptl::backend::aot(ec);
  const ptl::backend::HostOpSite &h = c->tables.hostOps[(size_t)site];
  try {
    if (h.name == "train_progress" && h.operands.size() == 2) {
      int64_t step = (int64_t)ptl::Tensor::view(h.operands[0].dtype, {}, ins[0]).getDouble(0);
      double loss = ptl::Tensor::view(h.operands[1].dtype, {}, ins[1]).getDouble(0);
      ptl::backend::trainProgress(*c, step, h.total, loss);
      return 0;
    }
    if (h.name == "train_nonfinite" && h.operands.size() == 2 + 2 * h.paths.size()) {
      std::vector<ptl::Tensor> in;
      for (size_t k = 0; k < h.operands.size(); ++k)
        in.push_back(ptl::Tensor::view(h.operands[k].dtype, h.operands[k].shape, ins[k]));
      if (auto d = ptl::ir::findNonfinite(in, h.paths); d && !c->trains.empty()) c->trains.back().diverged = *d;
      return 0;
    }
    c->fail(h.loc, h.name + ": not available in AOT code");
  } catch (const std::exception &e) {
    c->fail(h.loc, e.what());
  } catch (...) {
    c->failed = true;
  }
  return 1;
}

void ptlrt_train_begin(ExecContext *ec, int64_t total) {
  AotContext *c = ptl::backend::aot(ec);
  try {
    if (c->trains.empty()) c->stop = false; // as the interpreter: old requests are dropped
    AotContext::Train run;
    run.total = total;
    run.start = run.lastDraw = std::chrono::steady_clock::now();
    run.terminal = isatty(STDERR_FILENO);
    c->trains.push_back(run);
  } catch (...) {
  }
}

int32_t ptlrt_train_stop(ExecContext *ec, int64_t step, int64_t total) {
  AotContext *c = ptl::backend::aot(ec);
  if (!c->trains.empty() && c->trains.back().diverged) return 2;
  if (step >= total || !c->stop) return 0;
  try {
    if (!c->trains.empty() && c->trains.back().lineOpen) {
      std::cerr << "\n";
      c->trains.back().lineOpen = false;
    }
    std::cerr << ptl::ir::progress::interruptedLine(step, total) << "\n";
    std::cerr.flush();
  } catch (...) {
  }
  return 1;
}

int32_t ptlrt_train_diverged(ExecContext *ec, int32_t site, void *const *) {
  AotContext *c = ptl::backend::aot(ec);
  const ptl::backend::HostOpSite &h = c->tables.hostOps[(size_t)site];
  try {
    if (c->trains.empty() || !c->trains.back().diverged)
      c->fail(h.loc, "train_diverged: no diverged train loop");
    else
      c->fail(h.loc, ptl::ir::divergenceMessage(*c->trains.back().diverged, ""));
  } catch (...) {
    c->failed = true;
  }
  return 1;
}

void ptlrt_train_end(ExecContext *ec) {
  AotContext *c = ptl::backend::aot(ec);
  if (c->trains.empty()) return;
  try {
    if (c->trains.back().lineOpen) {
      std::cerr << "\n";
      std::cerr.flush();
    }
  } catch (...) {
  }
  c->trains.pop_back();
}

} // extern "C"
