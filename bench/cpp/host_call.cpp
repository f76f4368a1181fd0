//===- bench/cpp/host_call.cpp - A C++ host calling a tiny PTL function --------===//
//
// The host_call benchmark, PTL's side: BENCHMARKS.md's 2x8 readout update
// W' = W - eta * outer(err, feat) (f32),
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
  ptl::Module mod = engine.load_string(
      "fn readout_update(W: f32[2, 8], eta: f32, err: f32[2], feat: f32[8]) -> f32[2, 8] =\n"
      "  W - eta * (reshape(err, [2, 1]) * feat)\n",
      "readout.ptl");
  ptl::Function f = mod.function("readout_update");

  float W[16], eta = 0.05f, err[2] = {0.5f, -1.25f}, feat[8], out[16] = {};
  for (int i = 0; i < 16; ++i) W[i] = 0.1f * (float)(i - 8);
  for (int j = 0; j < 8; ++j) feat[j] = 0.25f * (float)j - 1.0f;
  std::vector<ptl::Value> args = {ptl::Tensor::view(W, {2, 8}), ptl::Value(eta), ptl::Tensor::view(err, {2}),
                                  ptl::Tensor::view(feat, {8})};
  std::vector<ptl::Tensor> outs = {ptl::Tensor::view(out, {2, 8})};
  f.call_into(args, outs);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 8; ++j)
      if (out[i * 8 + j] != W[i * 8 + j] - eta * (err[i] * feat[j])) {
        std::fprintf(stderr, "host_call: wrong result out[%d][%d] = %g\n", i, j, out[i * 8 + j]);
        return 1;
      }
  long warmup = std::min(calls, 10000L);
  hostcall::measure("ptl call_into", calls, warmup, [&] { f.call_into(args, outs); });
  hostcall::measure("ptl call", calls, warmup, [&] { (void)f(args[0], args[1], args[2], args[3]); });
  return 0;
}
