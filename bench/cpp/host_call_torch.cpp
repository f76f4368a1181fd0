//===- bench/cpp/host_call_torch.cpp - The host_call baseline: LibTorch --------===//
//
// The same call as bench/cpp/host_call.cpp, the 2x8 readout update
// W' = W - eta * outer(err, feat) (f32), through LibTorch's C++ API (Debian's
// libtorch-dev), one thread, under InferenceMode (no autograd bookkeeping),
// CALLS times in two forms:
//
//   torch expr      W - eta * torch::outer(err, feat)  (fresh tensors, as a
//                   C++ host writes it)
//   torch addr_out  torch::addr_out(out, W, err, feat, 1, -eta): one fused
//                   rank-1 update into a preallocated out (LibTorch's fastest
//                   form of this call)
//
//   host_call_torch [CALLS]
//
//===----------------------------------------------------------------------===//
#include "host_call_timing.h"

#include <torch/torch.h>

#include <cmath>
#include <cstdlib>

int main(int argc, char **argv) {
  long calls = argc > 1 ? std::atol(argv[1]) : 1000000;
  torch::set_num_threads(1);
  c10::InferenceMode guard;
  float Ws[16], eta = 0.05f, errs[2] = {0.5f, -1.25f}, feats[8];
  for (int i = 0; i < 16; ++i) Ws[i] = 0.1f * (float)(i - 8);
  for (int j = 0; j < 8; ++j) feats[j] = 0.25f * (float)j - 1.0f;
  auto opts = torch::TensorOptions().dtype(torch::kFloat32);
  torch::Tensor W = torch::from_blob(Ws, {2, 8}, opts), err = torch::from_blob(errs, {2}, opts),
                feat = torch::from_blob(feats, {8}, opts), out = torch::zeros({2, 8}, opts);
  torch::addr_out(out, W, err, feat, 1, -eta);
  torch::Tensor e = W - eta * torch::outer(err, feat);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 8; ++j) {
      float want = Ws[i * 8 + j] - eta * (errs[i] * feats[j]);
      // addr may fuse the multiply-add; allow one rounding step.
      if (std::abs(out[i][j].item<float>() - want) > 1e-6f || std::abs(e[i][j].item<float>() - want) > 1e-6f) {
        std::fprintf(stderr, "host_call_torch: wrong result at (%d, %d)\n", i, j);
        return 1;
      }
    }
  long warmup = std::min(calls, 10000L);
  hostcall::measure("torch addr_out", calls, warmup, [&] { torch::addr_out(out, W, err, feat, 1, -eta); });
  hostcall::measure("torch expr", calls, warmup, [&] { torch::Tensor r = W - eta * torch::outer(err, feat); });
  return 0;
}
