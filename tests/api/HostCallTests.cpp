//===- tests/api/HostCallTests.cpp - Host calls at native cost ------------------===//
//
// The fast side of <ptl/ptl.hpp>: Module::function is a lookup, make / param
// / set_param compile once per kind of request (not per seed or per call),
// Function::call_into writes caller-provided outputs and makes no heap
// allocation in steady state (counted by replacing the global allocation
// functions in this binary, as tests/unit/AllocationTests.cpp does), and one
// Function is called from several threads at once with checked results.
//
//===----------------------------------------------------------------------===//
#include <ptl/ptl.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <new>
#include <string>
#include <thread>

#include <unistd.h>

namespace fs = std::filesystem;

// Sanitizers supply their own allocation functions; under them the
// allocation test has nothing to count with and only says so.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PTL_COUNT_ALLOCATIONS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
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
// These operator new use malloc, so operator delete frees with free; GCC,
// seeing new inlined into its callers, takes that for a mismatch.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
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
void *operator new(std::size_t n, std::align_val_t al) {
  ++gNews;
  size_t a = (size_t)al, size = (n + a - 1) / a * a;
  if (void *p = std::aligned_alloc(a, size ? size : a)) return p;
  throw std::bad_alloc();
}
void operator delete(void *p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void *p, std::size_t, std::align_val_t) noexcept { std::free(p); }
#endif

namespace {

const char *kSource = R"(
model Noisy {
  param w: f32[3] = normal(1.0)
  param s: f32 = 2.0 constrain > 0
}
fn axpb(x: f32[4], w: f32[4], b: f32[4]) -> f32[4] = x * w + b
fn stats(x: f32[N]) -> (f32, f32[N]) = (sum(x), x * 2.0)
fn shift(m: Noisy, d: f32) -> Noisy {
  var r = m
  r.w = m.w + d
  return r
}
)";

ptl::Module &module() {
  static ptl::Engine e;
  static ptl::Module m = e.load_string(kSource, "host_call.ptl");
  return m;
}

double secondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

} // namespace

TEST_CASE("call_into writes the caller's outputs and allocates nothing in steady state", "[api][host]") {
  ptl::Function f = module().function("axpb");
  float x[4] = {1, 2, 3, 4}, w[4] = {2, 2, 2, 2}, b[4] = {0, 1, 0, 1}, y[4] = {NAN, NAN, NAN, NAN};
  std::vector<ptl::Value> args = {ptl::Tensor::view(x, {4}), ptl::Tensor::view(w, {4}), ptl::Tensor::view(b, {4})};
  std::vector<ptl::Tensor> out = {ptl::Tensor::view(y, {4})};
  f.call_into(args, out); // specialises and compiles
  CHECK(std::vector<float>(y, y + 4) == std::vector<float>{2, 5, 6, 9});
  long before = gNews.load();
  for (int k = 0; k < 1000; ++k) {
    x[0] = float(k); // the views read the host's buffers as they are at each call
    f.call_into(args, out);
  }
  long allocations = gNews.load() - before;
  CHECK(y[0] == 999.0f * 2);
  CHECK(std::vector<float>(y + 1, y + 4) == std::vector<float>{5, 6, 9});
  if (PTL_COUNT_ALLOCATIONS) {
    CHECK(allocations == 0);
    // The counter sees the library's allocations: a call returning a fresh
    // result allocates it.
    before = gNews.load();
    f.call(args);
    CHECK(gNews.load() > before);
  } else {
    WARN("sanitizer build: allocations not counted");
  }
}

TEST_CASE("call_into: tuple and model results fill one output per tensor; wrong outputs are errors", "[api][host]") {
  ptl::Function stats = module().function("stats");
  std::vector<float> x = {1, 2, 3};
  std::vector<ptl::Value> args = {ptl::Tensor::view(x.data(), {3})};
  std::vector<ptl::Tensor> out = stats.make_outputs(args);
  REQUIRE(out.size() == 2);
  stats.call_into(args, out);
  CHECK(out[0].scalar<float>() == 6.0f);
  CHECK(out[1].toVector<float>() == std::vector<float>{2, 4, 6});

  std::vector<ptl::Tensor> wrong = {ptl::Tensor::zeros(ptl::DType::F32, {}), ptl::Tensor::zeros(ptl::DType::F32, {4})};
  CHECK_THROWS_WITH(stats.call_into(args, wrong), Catch::Contains("output 2 of call_into is f32[4], the result is f32[3]"));
  std::vector<ptl::Tensor> one = {ptl::Tensor::zeros(ptl::DType::F32, {})};
  CHECK_THROWS_WITH(stats.call_into(args, one), Catch::Contains("call_into got 1 output tensors, the result is 2"));

  // A model result: its stored leaves in path order (w, then s's stored u).
  ptl::Value m = module().make("Noisy", 1);
  ptl::Function shift = module().function("shift");
  std::vector<ptl::Value> margs = {m, 1.0f};
  std::vector<ptl::Tensor> leaves = shift.make_outputs(margs);
  REQUIRE(leaves.size() == 2);
  shift.call_into(margs, leaves);
  std::vector<float> w = m.raw("w").toVector<float>(), w1 = leaves[0].toVector<float>();
  for (size_t i = 0; i < w.size(); ++i) CHECK(w1[i] == w[i] + 1.0f);
  CHECK(leaves[1].scalar<float>() == m.raw("s").scalar<float>());
}

TEST_CASE("Module::function is a lookup; make, param and set_param compile once per kind of request",
          "[api][host]") {
  ptl::Module mod = module();
  mod.function("axpb");
  auto t = std::chrono::steady_clock::now();
  for (int k = 0; k < 1000; ++k) mod.function("axpb");
  CHECK(secondsSince(t) / 1000 < 20e-6); // <= 20 us each (it was a re-parse: milliseconds)
  CHECK_THROWS_AS(mod.function("nope"), ptl::CompileError);

  // The seed is an argument of one compiled request, not part of its text:
  // new seeds cost a call, not a compilation (tens of milliseconds each).
  ptl::Value m0 = mod.make("Noisy", 0);
  t = std::chrono::steady_clock::now();
  std::vector<std::vector<float>> ws;
  for (int seed = 100; seed < 120; ++seed) ws.push_back(mod.make("Noisy", seed).param("w").toVector<float>());
  CHECK(secondsSince(t) / 20 < 5e-3);
  CHECK(ws[0] != ws[1]);                                                          // seeds differ
  CHECK(mod.make("Noisy", 100).param("w").toVector<float>() == ws[0]);            // and repeat
  CHECK(mod.make("Noisy", 100).param("w").toVector<float>() != m0.param("w").toVector<float>());
  CHECK_THROWS_WITH(mod.make("Noisy", int64_t(1) << 40), Catch::Contains("is not an i32"));

  ptl::Value m = m0;
  m.set_param("s", ptl::Tensor::scalar(ptl::DType::F32, 3.0));
  t = std::chrono::steady_clock::now();
  for (int k = 0; k < 20; ++k) {
    m.set_param("s", ptl::Tensor::scalar(ptl::DType::F32, 1.0 + k));
    CHECK(m.param("s").scalar<float>() == Approx(1.0f + float(k)));
  }
  CHECK(secondsSince(t) / 20 < 5e-3);
}

TEST_CASE("one Function called from several threads at once gives each its own results", "[api][host]") {
  ptl::Function f = module().function("axpb");
  ptl::Function stats = module().function("stats");
  constexpr int kThreads = 4, kCalls = 2000;
  std::vector<std::vector<float>> made; // what make gives for seed t, made on this thread
  for (int t = 0; t < kThreads; ++t) made.push_back(module().make("Noisy", 50 + t).param("w").toVector<float>());
  std::atomic<int> wrong{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      try {
        float x[4], w[4] = {1, 2, 3, 4}, b[4] = {float(t), 0, 0, 0}, y[4];
        std::vector<ptl::Value> args = {ptl::Tensor::view(x, {4}), ptl::Tensor::view(w, {4}),
                                        ptl::Tensor::view(b, {4})};
        std::vector<ptl::Tensor> out = {ptl::Tensor::view(y, {4})};
        std::vector<float> s(size_t(t + 2), float(t)); // a shape of its own: specialises concurrently
        for (int k = 0; k < kCalls; ++k) {
          for (int i = 0; i < 4; ++i) x[i] = float(t * 100000 + k + i);
          f.call_into(args, out);
          for (int i = 0; i < 4; ++i)
            if (y[i] != x[i] * w[i] + b[i]) ++wrong;
          if (k % 100 == 0) {
            ptl::Value r = stats(ptl::Tensor::view(s.data(), {int64_t(s.size())}));
            if (r[0].scalar<float>() != float(t) * float(s.size())) ++wrong;
            if (module().make("Noisy", 50 + t).param("w").toVector<float>() != made[(size_t)t]) ++wrong;
          }
        }
      } catch (...) {
        ++errors;
      }
    });
  for (std::thread &th : threads) th.join();
  CHECK(errors == 0);
  CHECK(wrong == 0);
}

TEST_CASE("a function that touches files runs in the module's sandbox in both call forms", "[api][host]") {
  // Calls of functions without file ops skip putting the sandbox in force;
  // one with a file op (here save_npy) must not. The path is checked when
  // the module loads (it is under the working directory then); at the call
  // it leads outside through a symbolic link made in between.
  std::string link = "ptl_host_call_link_" + std::to_string(::getpid());
  ptl::Engine e;
  ptl::Module mod = e.load_string("fn dump(x: f32[2]) -> f32 {\n  save_npy(\"" + link +
                                      "/x.npy\", x)\n  return sum(x)\n}\n",
                                  "dump.ptl");
  ptl::Function dump = mod.function("dump");
  std::vector<float> x = {1, 2};
  std::vector<ptl::Value> args = {ptl::Tensor::view(x.data(), {2})};
  std::vector<ptl::Tensor> out = dump.make_outputs(args); // specialised and compiled here
  fs::create_directory_symlink("/ptl_no_such_dir", link);
  struct Unlink {
    std::string path;
    ~Unlink() { fs::remove(path); }
  } unlink{link};
  CHECK_THROWS_WITH(dump.call(args), Catch::Contains("outside the directories"));
  CHECK_THROWS_WITH(dump.call_into(args, out), Catch::Contains("outside the directories"));
}

TEST_CASE("call_into with the interpreter gives the JIT's results", "[api][host]") {
  ptl::EngineOptions o;
  o.jit = false;
  ptl::Engine e(o);
  ptl::Module mod = e.load_string(kSource, "host_call.ptl");
  float x[4] = {1, 2, 3, 4}, w[4] = {2, 2, 2, 2}, b[4] = {0, 1, 0, 1}, y[4] = {0, 0, 0, 0};
  std::vector<ptl::Value> args = {ptl::Tensor::view(x, {4}), ptl::Tensor::view(w, {4}), ptl::Tensor::view(b, {4})};
  std::vector<ptl::Tensor> out = {ptl::Tensor::view(y, {4})};
  mod.function("axpb").call_into(args, out);
  CHECK(std::vector<float>(y, y + 4) == std::vector<float>{2, 5, 6, 9});
}
