//===- tests/unit/AllocationTests.cpp - Native training steps allocate nothing -===//
//
// The benchmark programs' `train` loops, compiled by the JIT, must make no
// heap allocation in steady state: temporaries and tapes come from the
// frame arena, which keeps its chunks. Each program's `main` is run with
// two step counts (after a warm-up run that loads OpenBLAS and the like),
// counting every `operator new` during the run (this binary replaces the
// global allocation functions with counting ones). The counts must be
// equal: a step that allocated would add (K2 - K1) allocations or more.
// Progress lines are printed 10 times per loop whatever its length, so
// they cancel out.
//
//===----------------------------------------------------------------------===//
#include "backend/Engine.h"
#include "frontend/Compiler.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <new>
#include <sstream>

// Sanitizers supply their own allocation functions; under them these tests
// have nothing to count with and only say so.
#if defined(__SANITIZE_ADDRESS__)
#define PTL_COUNT_ALLOCATIONS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PTL_COUNT_ALLOCATIONS 0
#endif
#endif
#ifndef PTL_COUNT_ALLOCATIONS
#define PTL_COUNT_ALLOCATIONS 1
#endif

namespace {
std::atomic<long> gNews{0};
} // namespace

#if PTL_COUNT_ALLOCATIONS
void *operator new(std::size_t n) {
  ++gNews;
  if (void *p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void *operator new[](std::size_t n) { return operator new(n); }
void operator delete(void *p) noexcept { std::free(p); }
void operator delete[](void *p) noexcept { std::free(p); }
void operator delete(void *p, std::size_t) noexcept { std::free(p); }
void operator delete[](void *p, std::size_t) noexcept { std::free(p); }
// The aligned forms (the frame arena's chunks); libstdc++'s nothrow aligned
// new calls this one.
void *operator new(std::size_t n, std::align_val_t al) {
  ++gNews;
  size_t a = (size_t)al, size = (n + a - 1) / a * a;
  if (void *p = std::aligned_alloc(a, size ? size : a)) return p;
  throw std::bad_alloc();
}
void operator delete(void *p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void *p, std::size_t, std::align_val_t) noexcept { std::free(p); }

#endif

using namespace ptl;

namespace {

/// Allocations made while the JIT runs `main` of the script at `file`
/// (relative to the source tree; bench/ptl/NAME.ptl for a bare name) with `steps`.
long allocationsOfRun(const std::string &file, int steps) {
  Compilation c;
  std::string rel = file.find('/') == std::string::npos ? "bench/ptl/" + file + ".ptl" : file;
  std::string path = std::string(PTL_SOURCE_DIR) + "/" + rel;
  REQUIRE(c.loadFile(path));
  ElaborateOptions eo;
  eo.scriptArgs["steps"] = std::to_string(steps);
  std::unique_ptr<ir::Module> m = c.elaborate(eo);
  REQUIRE(m);
  std::string error;
  REQUIRE(c.runDefaultPipeline(*m, error));
  std::ostringstream out, err;
  backend::EngineOptions opts;
  opts.out = &out;
  opts.host.err = &err;
  std::unique_ptr<backend::Engine> engine = backend::Engine::create(*m, opts, error);
  REQUIRE(engine);
  REQUIRE(engine->isCompiled("main"));
  long before = gNews.load();
  engine->call("main", {});
  long made = gNews.load() - before;
  INFO(out.str());
  return made;
}

void requireNoAllocationPerStep(const std::string &name, int k1, int k2) {
  if (!PTL_COUNT_ALLOCATIONS) {
    WARN("allocations are not counted in a sanitizer build");
    return;
  }
  allocationsOfRun(name, 1); // warm-up: OpenBLAS, libm tables, stream buffers
  long a = allocationsOfRun(name, k1), b = allocationsOfRun(name, k2);
  INFO(name << ": " << a << " allocations with " << k1 << " steps, " << b << " with " << k2);
  CHECK(b == a);
}

} // namespace

TEST_CASE("mlp_train steps make no heap allocation under the JIT", "[jit][alloc]") {
  requireNoAllocationPerStep("mlp_train", 10, 30);
}

TEST_CASE("tiny_mlp steps make no heap allocation under the JIT", "[jit][alloc]") {
  requireNoAllocationPerStep("tiny_mlp", 100, 300);
}

TEST_CASE("rnn_online steps make no heap allocation under the JIT", "[jit][alloc]") {
  requireNoAllocationPerStep("rnn_online", 10, 20);
}

TEST_CASE("maml_sine steps make no heap allocation under the JIT", "[jit][alloc]") {
  requireNoAllocationPerStep("maml_sine", 10, 20);
}

// Epoch-shuffled minibatches (a Feistel window and a gather), fold_in keys
// and dropout, in a hand-written loop: several epochs (600 rows, batch 64:
// 9 batches per epoch), so epoch changes are counted too.
TEST_CASE("minibatch, fold_in and dropout steps make no heap allocation under the JIT", "[jit][alloc]") {
  requireNoAllocationPerStep("tests/unit/programs/minibatch_steps.ptl", 10, 40);
}

TEST_CASE("the counter sees allocations (a test that can fail)", "[alloc]") {
  if (!PTL_COUNT_ALLOCATIONS) return;
  long before = gNews.load();
  auto *v = new std::vector<int>(100);
  delete v;
  CHECK(gNews.load() - before == 2);
}
