//===- bench/cpp/mlp_floor.cpp - Hand-written C++ + BLAS floor for the MLPs ---===//
//
// The floor PTL is compared against: forward + backward + SGD for
//   mlp_train  MLP 784-256-256-10, tanh, softmax cross-entropy, batch 64, lr 0.01
//   tiny_mlp   MLP 4-32-32-1,      tanh, MSE,                   batch 16, lr 0.01
// written by hand, every matrix product a cblas_sgemm (OpenBLAS), everything
// else plain loops the compiler vectorises (tanh by Eigen's rational
// approximation, as glibc's tanhf would be half the step), all buffers
// allocated once.
//
//   mlp_floor WORKLOAD WARMUP STEPS REPEATS [products]
//                                     `products`: time only the step's matrix
//                                     products (its cblas_sgemm calls, the same
//                                     shapes and transposes as PTL's), the part
//                                     of a step no compiler can shorten
//   mlp_floor WORKLOAD gradcheck      compare the hand-written gradients with
//                                     central differences (exit status 1 if off)
//
// prints `BENCH_JSON {"step_ms_min": ..., "step_ms_median": ..., "loss": ...}`:
// after WARMUP steps, REPEATS blocks of STEPS steps are timed; a block's time
// divided by STEPS is one sample. Build: g++ -O3 -march=native mlp_floor.cpp -lopenblas
//
//===----------------------------------------------------------------------===//
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <sys/resource.h>
#include <vector>

namespace {

using Vec = std::vector<float>;

// tanh(x) ~ p(x) / q(x) on [-7.9053, 7.9053] (Eigen's generic_fast_tanh_float,
// a few ulp; +-1 beyond), branch-free so the loops calling it vectorise.
inline float fastTanh(float x) {
  x = std::clamp(x, -7.90531110763549805f, 7.90531110763549805f);
  const float x2 = x * x;
  float p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
  p = p * x2 + -8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f;
  p = p * x2 + 6.37261928875436e-04f;
  p = p * x2 + 4.89352455891786e-03f;
  p = p * x;
  float q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
  q = q * x2 + 2.26843463243900e-03f;
  q = q * x2 + 4.89352518554385e-03f;
  return p / q;
}

// C[m,n] (+)= A[m,k] * op(B); row-major. transB: B is [n,k] (x @ W.T).
void gemm(bool transA, bool transB, int m, int n, int k, const float *A, const float *B, float *C,
          float beta = 0.f) {
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m, n, k,
              1.f, A, transA ? m : k, B, transB ? k : n, beta, C, n);
}

struct Layer {
  int in, out;
  Vec W, b, dW, db;
  Layer(int in, int out, std::mt19937 &rng) : in(in), out(out), W(size_t(in) * out), b(out), dW(W.size()), db(out) {
    float lim = std::sqrt(6.f / float(in + out));  // glorot uniform, as PTL's glorot()
    std::uniform_real_distribution<float> u(-lim, lim);
    for (float &w : W) w = u(rng);
  }
};

struct MLP {
  int B;
  bool crossEntropy;
  std::vector<Layer> L;
  Vec x, yf;                       // input; targets (MSE)
  std::vector<int> labels;         // targets (cross-entropy)
  Vec h1, h2, z, dz, dh2, dh1;     // activations and their gradients

  MLP(std::vector<int> sizes, int batch, bool ce) : B(batch), crossEntropy(ce) {
    std::mt19937 rng(0);
    for (size_t i = 0; i + 1 < sizes.size(); ++i) L.emplace_back(sizes[i], sizes[i + 1], rng);
    std::normal_distribution<float> n01;
    x.resize(size_t(B) * sizes[0]);
    for (float &v : x) v = n01(rng);
    int nOut = sizes.back();
    if (ce) {
      std::uniform_int_distribution<int> ui(0, nOut - 1);
      for (int i = 0; i < B; ++i) labels.push_back(ui(rng));
    } else {
      yf.resize(size_t(B) * nOut);
      for (float &v : yf) v = n01(rng);
    }
    h1.resize(size_t(B) * sizes[1]);
    dh1.resize(h1.size());
    h2.resize(size_t(B) * sizes[2]);
    dh2.resize(h2.size());
    z.resize(size_t(B) * nOut);
    dz.resize(z.size());
  }

  // out = act(in @ W.T + b)
  void dense(const Layer &l, const float *in, float *out, bool tanhAct) {
    for (int i = 0; i < B; ++i) std::memcpy(out + size_t(i) * l.out, l.b.data(), sizeof(float) * l.out);
    gemm(false, true, B, l.out, l.in, in, l.W.data(), out, 1.f);
    if (tanhAct)
      for (size_t i = 0, n = size_t(B) * l.out; i < n; ++i) out[i] = fastTanh(out[i]);
  }

  // dW = dout.T @ in, db = sum dout; din = dout @ W (if wanted)
  void denseBack(Layer &l, const float *in, const float *dout, float *din) {
    gemm(true, false, l.out, l.in, B, dout, in, l.dW.data());
    std::fill(l.db.begin(), l.db.end(), 0.f);
    for (int i = 0; i < B; ++i)
      for (int j = 0; j < l.out; ++j) l.db[j] += dout[size_t(i) * l.out + j];
    if (din) gemm(false, false, B, l.in, l.out, dout, l.W.data(), din);
  }

  float step(float lr) {
    dense(L[0], x.data(), h1.data(), true);
    dense(L[1], h1.data(), h2.data(), true);
    dense(L[2], h2.data(), z.data(), false);
    int C = L[2].out;
    float loss = 0.f;
    if (crossEntropy) {  // dz = (softmax(z) - onehot) / B
      for (int i = 0; i < B; ++i) {
        const float *zi = &z[size_t(i) * C];
        float *di = &dz[size_t(i) * C];
        float mx = *std::max_element(zi, zi + C), s = 0.f;
        for (int j = 0; j < C; ++j) s += (di[j] = std::exp(zi[j] - mx));
        loss += std::log(s) + mx - zi[labels[i]];
        for (int j = 0; j < C; ++j) di[j] /= s * B;
        di[labels[i]] -= 1.f / B;
      }
      loss /= B;
    } else {  // dz = 2 (z - y) / (B C)
      float n = float(B) * C;
      for (size_t i = 0; i < z.size(); ++i) {
        float d = z[i] - yf[i];
        loss += d * d;
        dz[i] = 2.f * d / n;
      }
      loss /= n;
    }
    denseBack(L[2], h2.data(), dz.data(), dh2.data());
    for (size_t i = 0; i < h2.size(); ++i) dh2[i] *= 1.f - h2[i] * h2[i];
    denseBack(L[1], h1.data(), dh2.data(), dh1.data());
    for (size_t i = 0; i < h1.size(); ++i) dh1[i] *= 1.f - h1[i] * h1[i];
    denseBack(L[0], x.data(), dh1.data(), nullptr);
    for (Layer &l : L) {
      for (size_t i = 0; i < l.W.size(); ++i) l.W[i] -= lr * l.dW[i];
      for (int i = 0; i < l.out; ++i) l.b[i] -= lr * l.db[i];
    }
    return loss;
  }

  /// Only step()'s matrix products, in its order (the forward ones with
  /// beta = 0, as PTL adds the bias in a loop of its own).
  float products() {
    const float *ins[] = {x.data(), h1.data(), h2.data()};
    float *outs[] = {h1.data(), h2.data(), z.data()};
    float *douts[] = {dh1.data(), dh2.data(), dz.data()};
    for (size_t l = 0; l < 3; ++l) gemm(false, true, B, L[l].out, L[l].in, ins[l], L[l].W.data(), outs[l]);
    for (size_t l = 3; l-- > 0;) {
      gemm(true, false, L[l].out, L[l].in, B, douts[l], ins[l], L[l].dW.data());
      if (l > 0) gemm(false, false, B, L[l].in, L[l].out, douts[l], L[l].W.data(), douts[l - 1]);
    }
    return 0.f;
  }
};

} // namespace

/// Central differences of the loss (lr = 0 steps leave the weights alone) at a
/// few entries of every weight and bias, against the hand-written gradient.
int gradcheck(MLP &net) {
  double worst = 0;
  for (Layer &l : net.L) {
    for (int which = 0; which < 2; ++which) {
      Vec &p = which ? l.b : l.W;
      for (size_t i = 0; i < p.size(); i += std::max<size_t>(1, p.size() / 7)) {
        net.step(0.f);
        float analytic = which ? l.db[i] : l.dW[i];
        const float h = 1e-2f;
        float orig = p[i];
        p[i] = orig + h;
        double lp = net.step(0.f);
        p[i] = orig - h;
        double lm = net.step(0.f);
        p[i] = orig;
        double fd = (lp - lm) / (2 * h);
        double err = std::fabs(fd - analytic) / std::max(1e-3, std::fabs(fd) + std::fabs(analytic));
        worst = std::max(worst, err);
      }
    }
  }
  std::printf("gradcheck: worst relative difference %.3g\n", worst);
  return worst < 5e-2 ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc == 3 && std::string(argv[2]) == "gradcheck") {
    std::string w = argv[1];
    MLP net = w == "mlp_train" ? MLP({784, 256, 256, 10}, 64, true) : MLP({4, 32, 32, 1}, 16, false);
    return gradcheck(net);
  }
  bool productsOnly = argc == 6 && std::string(argv[5]) == "products";
  if (argc != 5 && !productsOnly) {
    std::fprintf(stderr, "usage: mlp_floor mlp_train|tiny_mlp WARMUP STEPS REPEATS [products]\n");
    return 2;
  }
  std::string w = argv[1];
  int warmup = std::atoi(argv[2]), steps = std::atoi(argv[3]), repeats = std::atoi(argv[4]);
  if ((w != "mlp_train" && w != "tiny_mlp") || steps <= 0 || repeats <= 0) {
    std::fprintf(stderr, "mlp_floor: bad arguments\n");
    return 2;
  }
  MLP net = w == "mlp_train" ? MLP({784, 256, 256, 10}, 64, true) : MLP({4, 32, 32, 1}, 16, false);
  float loss = 0.f;
  auto once = [&] { return productsOnly ? net.products() : net.step(0.01f); };
  for (int i = 0; i < warmup; ++i) loss = once();
  std::vector<double> ms;
  for (int r = 0; r < repeats; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < steps; ++i) loss = once();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / steps);
  }
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  size_t n = sorted.size();
  double median = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("BENCH_JSON {\"step_ms_min\": %.6g, \"step_ms_median\": %.6g, \"loss\": %.6g, \"peak_rss_kb\": %ld}\n",
              sorted[0], median, loss, ru.ru_maxrss);
  return 0;
}
