// consumer: uses an installed PTL (find_package(ptl), ptl::ptl) to compile a
// model from source text and take gradients, checking them against values
// worked out by hand. Prints "consumer OK" and exits 0 on success.
#include <ptl/ptl.hpp>

#include <cmath>
#include <iostream>
#include <vector>

int main() {
  const char *source = R"(
import "std/nn"                                   // from the installed standard library
fn f(x: f32[N]) -> f32 = sum(x * x) + mse(reshape(x, [1, N]), zeros[1, N])
fn df(x: f32[N]) -> f32[N] = grad(f(x), x)        // 2x + 2x/N
)";
  try {
    ptl::Engine engine;
    ptl::Module mod = engine.load_string(source, "consumer.ptl");
    std::vector<float> x = {1, 2, 3, 4};
    ptl::Value g = mod.function("df")(ptl::Tensor::view(x.data(), {4}));
    std::vector<float> got = g.tensor().toVector<float>();
    for (size_t i = 0; i < x.size(); ++i) {
      float want = 2 * x[i] + 2 * x[i] / 4;
      if (std::fabs(got[i] - want) > 1e-6f) {
        std::cerr << "df[" << i << "] = " << got[i] << ", want " << want << "\n";
        return 1;
      }
    }
    try {
      engine.load_string("fn h(x: f32) -> f32 = x +\n", "bad.ptl");
      std::cerr << "a syntax error was not reported\n";
      return 1;
    } catch (const ptl::CompileError &e) {
      if (e.diagnostics().empty() || e.diagnostics()[0].file != "bad.ptl") {
        std::cerr << "unexpected diagnostics: " << e.what() << "\n";
        return 1;
      }
    }
  } catch (const ptl::Error &e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  std::cout << "consumer OK\n";
  return 0;
}
