//===- backend/AotRuntime.h - The run-time side of ahead-of-time code --------===//
//
// What an object file made by `ptlc build` links against, besides the pure
// helpers of backend/NativeRuntime.h: contexts, errors, and the AOT host's
// versions of the host helpers. It is part of ptl_aotrt, which needs
// neither LLVM nor the interpreter.
//
// The generated C header (backend/CHeader.h) never names these functions:
// the object defines `NAME_create`, `NAME_F`, ... as small thunks that call
// them (backend/ObjectEmitter.cpp), so a host sees only its model's API.
//
// A context is an AotContext: an ExecContext plus the site tables decoded
// from the blob inside the object, the last call's error, and the running
// `train` loops. One context runs one call at a time; contexts are
// independent, so threads may each use their own.
//
// `train` loops without the interpreter: when stderr is a terminal, the
// interpreter's redrawn progress line (ir/interp/Progress.h); otherwise
// nothing (a library should not write logs unasked). A `train` log file
// is file I/O, refused at build time. Ctrl-C is left to the host (no
// signal handler is installed); NAME_request_stop(ctx) asks the running
// loops to stop after their current step, from any thread.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "backend/NativeRuntime.h"
#include "ir/interp/Divergence.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ptl::backend {

/// The state of one AOT context (what `NAME_ctx *` points to).
struct AotContext : ExecContext {
  /// One running `train` loop.
  struct Train {
    int64_t total = 0;
    std::chrono::steady_clock::time_point start, lastDraw;
    bool terminal = false; ///< stderr is a terminal: redraw the progress line
    bool lineOpen = false; ///< a drawn line awaits its newline
    std::optional<ir::Divergence> diverged; ///< set by train_nonfinite
  };
  SiteTables tables;
  std::vector<Train> trains;        ///< running `train` loops, innermost last
  std::atomic<bool> stop{false};    ///< NAME_request_stop
  bool hasError = false;            ///< the last call failed
  std::string errorMessage, errorFile;
  int32_t errorLine = 0, errorCol = 0;

  /// Ends the running `train` loops (finishing an open progress line).
  void endTrains();
};

} // namespace ptl::backend

extern "C" {
/// A context for the object whose site-table blob is `blob` (`size` bytes;
/// backend/SiteTablesIO.h); null if the blob is bad or memory is short.
void *ptlrt_aot_create(const void *blob, int64_t size);
/// Frees a context (null is fine).
void ptlrt_aot_destroy(void *ctx);
/// Before a call: clears the last error and the frames; the ExecContext to
/// pass to the compiled function, or null if `ctx` is null.
ptl::backend::ExecContext *ptlrt_aot_begin(void *ctx);
/// After a call that returned `status`: 0 on success; else records the
/// fault (message and .ptl location), ends the `train` loops it was in and
/// returns 1.
int32_t ptlrt_aot_end(void *ctx, int32_t status);
/// The last call's fault message ("" after a success).
const char *ptlrt_aot_error_message(const void *ctx);
/// The .ptl file of the last fault ("" when unknown or after a success).
const char *ptlrt_aot_error_file(const void *ctx);
/// The line and column of the last fault (0 when unknown).
int32_t ptlrt_aot_error_line(const void *ctx);
int32_t ptlrt_aot_error_col(const void *ctx);
/// Asks the context's running `train` loops to stop after their current
/// step (safe from another thread; dropped when no loop runs).
void ptlrt_aot_request_stop(void *ctx);
}
