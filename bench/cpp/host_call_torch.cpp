//===- bench/cpp/host_call_torch.cpp - The host_call baseline: LibTorch --------===//
//
// The same call as bench/cpp/host_call.cpp, y = x * w + b on 4 f32
// elements, through LibTorch's C++ API (Debian's libtorch-dev), one thread,
// under InferenceMode (no autograd bookkeeping), CALLS times in two forms:
//
//   torch expr         y = x * w + b  (fresh tensors, as a C++ host writes it)
//   torch addcmul_out  torch::addcmul_out(y, b, x, w): one fused op into a
//                      preallocated y (LibTorch's fastest form of this call)
//
//   host_call_torch [CALLS]
//
//===----------------------------------------------------------------------===//
#include "host_call_timing.h"

#include <torch/torch.h>

#include <cstdlib>

int main(int argc, char **argv) {
  long calls = argc > 1 ? std::atol(argv[1]) : 1000000;
  torch::set_num_threads(1);
  c10::InferenceMode guard;
  float xs[4] = {1, 2, 3, 4}, ws[4] = {0.5f, -1, 2, 0.25f}, bs[4] = {1, 1, -1, 0};
  auto opts = torch::TensorOptions().dtype(torch::kFloat32);
  torch::Tensor x = torch::from_blob(xs, {4}, opts), w = torch::from_blob(ws, {4}, opts),
                b = torch::from_blob(bs, {4}, opts), y = torch::zeros({4}, opts);
  torch::addcmul_out(y, b, x, w);
  torch::Tensor e = x * w + b;
  for (int i = 0; i < 4; ++i)
    if (y[i].item<float>() != xs[i] * ws[i] + bs[i] || e[i].item<float>() != y[i].item<float>()) {
      std::fprintf(stderr, "host_call_torch: wrong result at %d\n", i);
      return 1;
    }
  long warmup = std::min(calls, 10000L);
  hostcall::measure("torch addcmul_out", calls, warmup, [&] { torch::addcmul_out(y, b, x, w); });
  hostcall::measure("torch expr", calls, warmup, [&] { torch::Tensor r = x * w + b; });
  return 0;
}
