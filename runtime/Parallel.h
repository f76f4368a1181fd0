//===- runtime/Parallel.h - A worker pool for independent iterations ----------===//
//
// One process-wide pool of worker threads that runs the iterations of a
// `map` in native code (ptlrt_parallel_map). The calling thread takes part,
// so `threadCount()` threads work in all. Jobs pass a plain function pointer
// and an environment pointer, so starting one allocates nothing. A job
// started from inside a job (a nested `map`), or while another thread's job
// runs, runs serially on the calling thread instead.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>

namespace ptl {

/// The threads a parallel job uses, the caller included (default: the
/// machine's hardware threads; `ptlc run --threads N`). At least 1.
int threadCount();
void setThreadCount(int n);

/// One iteration: `i` in [0, n), on worker `worker` in [0, threadCount()).
using IterationFn = void (*)(void *env, int64_t i, int worker);

/// Runs body(env, i, worker) for every i in [0, n) and returns when all are
/// done. Each of the W workers taking part runs a fixed contiguous share in
/// increasing order (worker w: [w n / W, (w + 1) n / W)), so all of them run
/// in every job; `body` must not depend on which worker runs an iteration
/// beyond choosing per-worker scratch state.
void parallelFor(int64_t n, IterationFn body, void *env);

} // namespace ptl
