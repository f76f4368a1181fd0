//===- bench/cpp/host_call.cpp - A C++ host calling a tiny PTL function --------===//
//
// The host_call benchmark, PTL's side: y = x * w + b on 4 f32 elements,
// compiled once from source text through <ptl/ptl.hpp>, then called CALLS
// times (default 10^6) in two forms:
//
//   call_into   Function::call_into with views of the host's buffers and a
//               caller-provided output (the fast form: no allocation)
//   call        Function::operator(), which returns a fresh ptl::Value
//
// Each prints a BENCH_JSON line (bench/cpp/host_call_timing.h); the result
// is checked against the same arithmetic in C++ first (exit status 1 if
// off). bench/cpp/host_call_torch.cpp is the same call through LibTorch.
//
//   host_call [CALLS]
//
//===----------------------------------------------------------------------===//
#include "host_call_timing.h"

#include <ptl/ptl.hpp>

#include <cstdlib>

int main(int argc, char **argv) {
  long calls = argc > 1 ? std::atol(argv[1]) : 1000000;
  ptl::Engine engine;
  ptl::Module mod = engine.load_string("fn axpb(x: f32[4], w: f32[4], b: f32[4]) -> f32[4] = x * w + b\n", "axpb.ptl");
  ptl::Function f = mod.function("axpb");

  float x[4] = {1, 2, 3, 4}, w[4] = {0.5f, -1, 2, 0.25f}, b[4] = {1, 1, -1, 0}, y[4] = {0, 0, 0, 0};
  std::vector<ptl::Value> args = {ptl::Tensor::view(x, {4}), ptl::Tensor::view(w, {4}), ptl::Tensor::view(b, {4})};
  std::vector<ptl::Tensor> out = {ptl::Tensor::view(y, {4})};
  f.call_into(args, out);
  for (int i = 0; i < 4; ++i)
    if (y[i] != x[i] * w[i] + b[i]) {
      std::fprintf(stderr, "host_call: wrong result y[%d] = %g\n", i, y[i]);
      return 1;
    }
  long warmup = std::min(calls, 10000L);
  hostcall::measure("ptl call_into", calls, warmup, [&] { f.call_into(args, out); });
  hostcall::measure("ptl call", calls, warmup, [&] { (void)f(args[0], args[1], args[2]); });
  return 0;
}
