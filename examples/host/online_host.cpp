//===- examples/host/online_host.cpp - online.ptl's trial, called from C++ ---===//
//
// A host program embedding PTL: it loads examples/online.ptl, makes the RNN
// model, and calls `trial` on input and target sequences that live in the
// host's own buffers, passed as zero-copy views. It then shows the other
// parts of the API: reading a constrained parameter, a shape mismatch
// reported as an exception (the engine carries on), and a save/load round
// trip. The first lines it prints must agree with `ptlc run
// examples/host/online_reference.ptl`, which builds the same data in PTL.
//
//   online_host [path/to/online.ptl] [scratch dir]
//
//===----------------------------------------------------------------------===//
#include <ptl/ptl.hpp>

#include <charconv>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

namespace {
/// The shortest text that reads back as `x` (as PTL's print writes floats).
std::string shortest(float x) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, r.ptr);
}
} // namespace

int main(int argc, char **argv) {
  std::string script = argc > 1 ? argv[1] : "examples/online.ptl";
  std::string scratch = argc > 2 ? argv[2] : ".";

  // The host's data: 100 time steps of a batch of 32, 4 inputs and 2 targets.
  const int T = 100, B = 32;
  std::vector<float> xs(T * B * 4), ys(T * B * 2);
  for (size_t k = 0; k < xs.size(); ++k) xs[k] = float(int(k * 7919 % 200) - 100) / 128.0f;
  for (size_t k = 0; k < ys.size(); ++k) ys[k] = float(int(k * 104729 % 100) - 50) / 64.0f;

  ptl::EngineOptions options;
  options.allowed_dirs = {scratch};
  ptl::Engine engine(options);
  try {
    ptl::Module mod = engine.load_file(script);
    ptl::Value m = mod.make("RNN", /*seed=*/0);
    ptl::Function trial = mod.function("trial");

    // Views: the compiled code reads the host's buffers directly.
    ptl::Tensor xv = ptl::Tensor::view(xs.data(), {T, B, 4});
    ptl::Tensor yv = ptl::Tensor::view(ys.data(), {T, B, 2});
    float loss = trial(m, xv, yv).scalar<float>();
    std::cout << "trial loss: " << shortest(loss) << "\n";
    std::cout << "eta: " << shortest(m.param("eta").scalar<float>()) << "\n";

    // Arguments that do not fit the function are a ptl::RuntimeError; the
    // engine and the module stay usable.
    try {
      trial(m, ptl::Tensor::view(xs.data(), {T, B, 2, 2}), yv);
      std::cout << "no error for a mismatched shape\n";
      return 1;
    } catch (const ptl::RuntimeError &e) {
      std::cout << "mismatched shape: " << e.what() << "\n";
    }

    // Save and load the model; the loaded copy gives the same loss.
    std::string file = scratch + "/online_host_rnn.safetensors";
    mod.save(file, m);
    ptl::Value back = mod.load("RNN", file);
    float again = trial(back, xv, yv).scalar<float>();
    std::cout << "after save and load: " << (again == loss ? "same loss" : "different loss") << "\n";
    std::remove(file.c_str());
    return again == loss ? 0 : 1;
  } catch (const ptl::Error &e) {
    for (const ptl::Diagnostic &d : e.diagnostics()) std::cerr << d.rendered;
    if (e.diagnostics().empty()) std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
