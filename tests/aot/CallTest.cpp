//===- tests/aot/CallTest.cpp - AOT functions with arguments vs the JIT -------===//
//
// Usage: ptl_aot_call_test FNS.ptl
//
// fns.o and fns.h are made from tests/aot/fns.ptl by `ptlc build` at build
// time (tests/aot/CMakeLists.txt). Each of its functions is called with
// host data through the AOT object and through the JIT (Engine::call on the
// same script compiled with the driver's pipeline); the results must be
// bit-identical and equal to values worked out by hand. Then faults: an
// out-of-range index returns nonzero with the message and the .ptl
// location, and the same context then runs calls normally again.
//
//===----------------------------------------------------------------------===//
#include "fns.h"

#include "backend/Engine.h"
#include "frontend/Compiler.h"
#include "runtime/Errors.h"
#include "runtime/Tensor.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

using namespace ptl;

namespace {

int failures = 0;

void check(bool ok, const std::string &what) {
  std::cout << (ok ? "ok: " : "FAIL: ") << what << "\n";
  if (!ok) ++failures;
}

/// The script through the driver's default pipeline (ir::defaultPipeline).
std::unique_ptr<ir::Module> compileFile(const std::string &path) {
  Compilation c;
  if (!c.loadFile(path)) return nullptr;
  std::unique_ptr<ir::Module> m = c.elaborate({});
  if (!m) return nullptr;
  std::string error;
  if (!c.runDefaultPipeline(*m, error)) {
    std::cerr << error << "\n";
    return nullptr;
  }
  return m;
}

template <class T> Tensor tensor(DType dt, Shape shape, const std::vector<T> &v) {
  Tensor t = Tensor::zeros(dt, std::move(shape));
  std::memcpy(t.raw(), v.data(), t.nbytes());
  return t;
}

/// Whether `n` elements at `aot` are bit-identical to the tensor `jit`.
bool sameBits(const void *aot, const Tensor &jit, size_t n) {
  return jit.nbytes() == n && std::memcmp(aot, jit.raw(), n) == 0;
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::cerr << "usage: ptl_aot_call_test FNS.ptl\n";
    return 2;
  }
  std::unique_ptr<ir::Module> m = compileFile(argv[1]);
  if (!m) return 2;
  std::string error;
  backend::EngineOptions eo;
  std::unique_ptr<backend::Engine> jit = backend::Engine::create(*m, eo, error);
  if (!jit) {
    std::cerr << "JIT: " << error << "\n";
    return 2;
  }
  fns_ctx *ctx = fns_create();
  check(ctx != nullptr, "fns_create");
  if (!ctx) return 1;

  // affine: x @ W.T + b with W = [[1, 2, 3], [-1, 0.5, 0]], b = [0.5, -0.5]
  std::vector<float> W = {1, 2, 3, -1, 0.5f, 0}, b = {0.5f, -0.5f};
  std::vector<float> x = {1, 0, 0, 0, 1, 0, 0, 0, 1, 2, -1, 0.25f};
  float y[FNS_AFFINE_RES0_NUMEL];
  check(fns_affine(ctx, W.data(), b.data(), x.data(), y) == 0, "fns_affine returns 0");
  std::vector<float> want = {1.5f, -1.5f, 2.5f, 0.0f, 3.5f, -0.5f, 1.25f, -3.0f}; // by hand
  check(std::memcmp(y, want.data(), sizeof y) == 0, "affine equals the hand-computed values");
  std::vector<Tensor> r = jit->call("affine", {tensor(DType::F32, {2, 3}, W), tensor(DType::F32, {2}, b),
                                               tensor(DType::F32, {4, 3}, x)});
  check(sameBits(y, r[0], sizeof y), "affine is bit-identical to Engine::call");

  // moments: (mean of squares, k*k + 1), f64 and i32 buffers
  std::vector<double> xs = {1, 2, 3, 4, 5};
  int32_t k = 7, kk = -1;
  double ms = -1;
  check(fns_moments(ctx, xs.data(), &k, &ms, &kk) == 0, "fns_moments returns 0");
  check(ms == 11.0 && kk == 50, "moments equals (11, 50): got (" + std::to_string(ms) + ", " + std::to_string(kk) + ")");
  r = jit->call("moments", {tensor(DType::F64, {5}, xs), tensor(DType::I32, {}, std::vector<int32_t>{k})});
  check(sameBits(&ms, r[0], 8) && sameBits(&kk, r[1], 4), "moments is bit-identical to Engine::call");

  // squash: tanh(x) + exp(x) through libm, against the JIT bit for bit and
  // against <cmath> within an ulp or two
  std::vector<float> sx = {0.0f, 1.0f, -1.0f, 0.5f};
  float sy[FNS_SQUASH_RES0_NUMEL];
  check(fns_squash(ctx, sx.data(), sy) == 0, "fns_squash returns 0");
  r = jit->call("squash", {tensor(DType::F32, {4}, sx)});
  check(sameBits(sy, r[0], sizeof sy), "squash is bit-identical to Engine::call");
  bool close = true;
  for (int i = 0; i < 4; ++i) close &= std::fabs(sy[i] - (std::tanh(sx[i]) + std::exp(sx[i]))) <= 1e-6f * 4;
  check(close && sy[0] == 1.0f, "squash equals tanh(x) + exp(x)");

  // rounding: round(x) * 100 + floor(x) * 10 + sign(x); ties go to even
  std::vector<float> rx = {2.5f, -2.5f, 0.5f, -0.0f, 1.7f, -0.2f};
  float ry[FNS_ROUNDING_RES0_NUMEL];
  check(fns_rounding(ctx, rx.data(), ry) == 0, "fns_rounding returns 0");
  r = jit->call("rounding", {tensor(DType::F32, {6}, rx)});
  check(sameBits(ry, r[0], sizeof ry), "rounding is bit-identical to Engine::call");
  const float rwant[] = {221, -231, 1, 0, 211, -11};
  check(std::equal(ry, ry + 6, rwant), "rounding equals the hand values");

  // pick: in range, then a fault, then in range again on the same context
  std::vector<float> px = {10, 20, 30};
  int32_t i1 = 1, i5 = 5;
  float p = 0;
  check(fns_pick(ctx, px.data(), &i1, &p) == 0 && p == 20.0f, "pick(x, 1) = 20");
  check(std::string(fns_error_message(ctx)).empty(), "no error message after a success");
  int rc = fns_pick(ctx, px.data(), &i5, &p);
  std::string msg = fns_error_message(ctx), file = fns_error_file(ctx);
  std::cout << "fault: " << file << ":" << fns_error_line(ctx) << ":" << fns_error_col(ctx) << ": " << msg << "\n";
  check(rc != 0, "pick(x, 5) returns nonzero");
  check(msg == "index 5 out of range for axis 0 of size 3", "the fault's message");
  check(file.size() >= 7 && file.compare(file.size() - 7, 7, "fns.ptl") == 0 && fns_error_line(ctx) == 18 &&
            fns_error_col(ctx) > 0,
        "the fault's location is fns.ptl:18");
  try {
    jit->call("pick", {tensor(DType::F32, {3}, px), tensor(DType::I32, {}, std::vector<int32_t>{i5})});
    check(false, "the JIT faults too");
  } catch (const RuntimeFault &f) {
    check(f.what() == msg && f.loc.line == fns_error_line(ctx) && f.loc.col == fns_error_col(ctx),
          "the JIT reports the same message and location");
  }
  check(fns_pick(ctx, px.data(), &i1, &p) == 0 && p == 20.0f, "the context works after the fault");
  check(std::string(fns_error_message(ctx)).empty() && fns_error_line(ctx) == 0, "the error is cleared");
  check(fns_pick(nullptr, px.data(), &i1, &p) != 0, "a null context is refused");
  fns_destroy(ctx);
  std::cout << (failures ? "FAILED" : "PASSED") << " (" << failures << " failures)\n";
  return failures ? 1 : 0;
}
