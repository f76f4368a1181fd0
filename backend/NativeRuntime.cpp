//===- backend/NativeRuntime.cpp - What compiled code calls at run time -------===//
//
// The frame arena, the context and the pure helpers, shared by the JIT and
// the AOT runtime (this file is part of ptl_aotrt: no LLVM, no interpreter).
// Each helper has the interpreter's semantics (ir/interp/Kernels.cpp) for the
// part of an op it implements, messages included, so a fault reads the same
// under every engine.
//
//===----------------------------------------------------------------------===//
#include "backend/NativeRuntime.h"
#include "ir/ScalarArith.h"

#include "runtime/Errors.h"
#include "runtime/Gemm.h"
#include "runtime/Parallel.h"
#include "runtime/Rng.h"
#include "runtime/Tensor.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cmath>
#include <cstring>
#include <mutex>
#include <new>
#include <ostream>

namespace ptl::backend {

/// The reusable view `views[site]` of type `t`, pointed at `data`.
static ptl::Tensor &siteView(std::vector<ptl::Tensor> &views, size_t site, const ir::Type &t, void *data) {
  if (views.size() <= site) views.resize(site + 1);
  if (!views[site].valid() || views[site].shape() != t.shape || views[site].dtype() != t.dtype)
    views[site] = ptl::Tensor::view(t.dtype, t.shape, data);
  views[site].rebind(data);
  return views[site];
}

namespace {
constexpr size_t kAlign = 64;
constexpr size_t kMinChunk = size_t(1) << 20;
size_t roundUp(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }
} // namespace

FrameArena::~FrameArena() {
  for (Chunk &c : chunks_) ::operator delete(c.mem, std::align_val_t(kAlign));
}

void *FrameArena::push(size_t bytes) {
  bytes = roundUp(bytes);
  marks_.emplace_back(chunk_, used_);
  if (chunks_.empty() || used_ + bytes > chunks_[chunk_].size) {
    // Move on to the next chunk big enough, allocating one if there is none.
    size_t c = chunks_.empty() ? 0 : chunk_ + 1;
    while (c < chunks_.size() && chunks_[c].size < bytes) ++c;
    if (c == chunks_.size()) {
      size_t size = std::max({bytes, kMinChunk, chunks_.empty() ? 0 : 2 * chunks_.back().size});
      char *mem = static_cast<char *>(::operator new(size, std::align_val_t(kAlign), std::nothrow));
      if (!mem) {
        marks_.pop_back();
        return nullptr;
      }
      chunks_.push_back({mem, size});
    }
    chunk_ = c;
    used_ = 0;
  }
  void *p = chunks_[chunk_].mem + used_;
  used_ += bytes;
  return p;
}

void FrameArena::pop() {
  if (marks_.empty()) return;
  chunk_ = marks_.back().first;
  used_ = marks_.back().second;
  marks_.pop_back();
}

void FrameArena::reset() {
  marks_.clear();
  chunk_ = 0;
  used_ = 0;
}

void ExecContext::fail(int32_t site, std::string msg) {
  if (failed) return;
  failed = true;
  message = std::move(msg);
  locSite = site;
}

void ExecContext::reset() {
  failed = false;
  message.clear();
  locSite = -1;
  trainStop.reset();
  arena.reset();
}

} // namespace ptl::backend

using ptl::backend::ExecContext;

extern "C" {

void *ptlrt_frame_push(ExecContext *c, int64_t bytes, int32_t site) {
  void *p = c->arena.push((size_t)bytes);
  if (!p) {
    try {
      c->fail(site, "out of memory: cannot allocate " + std::to_string(bytes) + " bytes for the tensors of this call" +
                        (site >= 0 ? " (the largest is made here)" : ""));
    } catch (...) {
      c->failed = true;
    }
  }
  return p;
}

void ptlrt_frame_pop(ExecContext *c) { c->arena.pop(); }

void ptlrt_fault_index(ExecContext *c, int32_t site, int64_t i, int64_t axis, int64_t n) {
  try {
    c->fail(site, "index " + std::to_string(i) + " out of range for axis " + std::to_string(axis) +
                      " of size " + std::to_string(n));
  } catch (...) {
    c->failed = true;
  }
}

void ptlrt_fault_arith(ExecContext *c, int32_t site, int32_t code) {
  try {
    switch (code) {
    case ptl::backend::kIntDivByZero: c->fail(site, "integer division by zero"); break;
    case ptl::backend::kIntModByZero: c->fail(site, "integer modulo by zero"); break;
    default: c->fail(site, "integer power: 0 to a negative power"); break;
    }
  } catch (...) {
    c->failed = true;
  }
}

// print: labels[k] formatTensor(x_k) seps[k] for each k, then tail (as runPrint)
int32_t ptlrt_print(ExecContext *c, int32_t site, void *const *buffers) {
  try {
    const ptl::backend::PrintSite &p = c->sites->prints[(size_t)site];
    std::ostream &os = *c->out;
    for (size_t i = 0; i < p.types.size(); ++i) {
      if (i < p.labels.size()) os << p.labels[i];
      os << ptl::formatTensor(ptl::Tensor::view(p.types[i].dtype, p.types[i].shape, buffers[i]));
      if (i < p.seps.size()) os << p.seps[i];
    }
    os << p.tail;
    os.flush();
    return 0;
  } catch (const std::exception &e) {
    c->fail(-1, std::string("print: ") + e.what());
  } catch (...) {
    c->failed = true;
  }
  return 1;
}

// matmul of one batch element, a float product big enough for BLAS
// (smaller ones and i32 are inlined): runtime/Gemm.h, as the interpreter's kernel
void ptlrt_gemm_f32(const float *a, const float *b, float *c, int64_t m, int64_t n, int64_t k, int32_t transA,
                    int32_t transB) {
  ptl::gemm(a, b, c, m, n, k, transA != 0, transB != 0);
}
void ptlrt_gemm_f64(const double *a, const double *b, double *c, int64_t m, int64_t n, int64_t k, int32_t transA,
                    int32_t transB) {
  ptl::gemm(a, b, c, m, n, k, transA != 0, transB != 0);
}

// map in parallel: each worker runs iterations in a context of its own (its
// own frame arena and site views), so iterations share nothing but the
// read-only captured buffers and write disjoint rows of the results.
int32_t ptlrt_parallel_map(ExecContext *c, MapBodyFn body, void *env, int64_t lo, int64_t hi) {
  int workers = ptl::threadCount();
  if (workers < 2 || hi - lo < 2) {
    for (int64_t iv = lo; iv < hi; ++iv)
      if (body(c, env, iv) != 0) return 1;
    return 0;
  }
  while ((int)c->workers.size() < workers) c->workers.push_back(std::make_unique<ExecContext>());
  for (int w = 0; w < workers; ++w) {
    ExecContext &wc = *c->workers[(size_t)w];
    wc.reset();
    wc.sites = c->sites;
    wc.out = c->out;
    wc.host = c->host;
  }
  struct Job {
    ExecContext *parent;
    MapBodyFn body;
    void *env;
    int64_t lo;
    std::atomic<int64_t> firstFault{INT64_MAX};
    std::mutex faultMutex;
  } job{c, body, env, lo};
  ptl::parallelFor(
      hi - lo,
      [](void *e, int64_t i, int w) {
        Job &j = *static_cast<Job *>(e);
        if (i > j.firstFault.load()) return; // a serial run would have stopped earlier
        ExecContext &wc = *j.parent->workers[(size_t)w];
        if (j.body(&wc, j.env, j.lo + i) == 0) return;
        std::lock_guard<std::mutex> lock(j.faultMutex);
        if (i < j.firstFault.load()) {
          j.firstFault = i;
          j.parent->failed = true;
          j.parent->message = wc.message;
          j.parent->locSite = wc.locSite;
        }
        wc.reset();
      },
      &job);
  return job.firstFault.load() == INT64_MAX ? 0 : 1;
}

// i32 pow by repeated squaring, wrapping (ir/ScalarArith.h, as the
// interpreter); the caller has excluded 0 to a negative power
int32_t ptlrt_ipow(int32_t a, int32_t b) { return ptl::ir::arith::powI32(a, b).value_or(0); }

// random: Philox-4x32-10 keyed by (seed, key), as runRandom; `data` is the
// second operand of fold_in and permutation (null for the others)
int32_t ptlrt_random(ExecContext *c, int32_t site, const int32_t *seed, const int32_t *data, void *out) {
  const ptl::backend::RandomSite &r = c->sites->randoms[(size_t)site];
  try {
    ptl::Tensor &t = ptl::backend::siteView(c->randomViews, (size_t)site, r.type, out);
    uint64_t s = (uint64_t)(int64_t)*seed;
    namespace rng = ptl::rng;
    if (r.dist == "normal") rng::fillNormal(t, s, r.key, r.a, r.b);
    else if (r.dist == "uniform") rng::fillUniform(t, s, r.key, r.a, r.b);
    else if (r.dist == "randint") rng::fillRandint(t, s, r.key, (int64_t)r.a, (int64_t)r.b);
    else if (r.dist == "glorot") rng::fillGlorot(t, s, r.key, r.a);
    else if (r.dist == "orthogonal") rng::fillOrthogonal(t, s, r.key, r.a);
    else if (r.dist == "fold_in" && data) *(int32_t *)out = rng::foldIn(*seed, *data);
    else if (r.dist == "permutation" && data) rng::fillPermutation(t, s, (int64_t)r.a, *data);
    else c->fail(r.loc, "random: unknown distribution '" + r.dist + "'");
    return c->failed ? 1 : 0;
  } catch (const std::exception &e) {
    c->fail(r.loc, e.what());
  } catch (...) {
    c->failed = true;
  }
  return 1;
}

// check_bounds: a fault "MESSAGE: 'PATH' must be BOUND, got VALUE[ at [i]][ (train step N)]"
// when an element of x is non-finite or outside the constraint (runCheckBounds)
int32_t ptlrt_check_bounds(ExecContext *c, int32_t site, const void *x, const int32_t *step) {
  const ptl::backend::CheckSite &k = c->sites->checks[(size_t)site];
  try {
    ptl::Tensor &t = ptl::backend::siteView(c->checkViews, (size_t)site, k.type, const_cast<void *>(x));
    if (std::optional<std::string> bad = ptl::findViolation(k.spec, t)) {
      std::string msg = k.message + ": '" + k.path + "' must be " + k.spec.describe() + ", " + *bad;
      if (step) msg += " (train step " + std::to_string(*step) + ")";
      c->fail(k.loc, msg);
      return 1;
    }
    return 0;
  } catch (const std::exception &e) {
    c->fail(k.loc, e.what());
  } catch (...) {
    c->failed = true;
  }
  return 1;
}

void ptlrt_fault_msg(ExecContext *c, int32_t site, int32_t msg) {
  try {
    c->fail(site, c->sites->messages[(size_t)msg]);
  } catch (...) {
    c->failed = true;
  }
}

// one_hot: "one_hot: label V out of range for depth D" (runOneHot)
void ptlrt_fault_one_hot(ExecContext *c, int32_t site, int64_t label, int64_t depth) {
  try {
    c->fail(site, "one_hot: label " + std::to_string(label) + " out of range for depth " + std::to_string(depth));
  } catch (...) {
    c->failed = true;
  }
}

} // extern "C"
