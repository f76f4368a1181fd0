//===- tests/unit/GemmTests.cpp - The float matrix product kernels ------------===//
//
// PTL's AVX-512 kernel (runtime/GemmAvx512.cpp) against a product computed
// here in double, on every layout and on sizes that leave partial tiles in
// every dimension (rows past a multiple of 6, columns past a multiple of 16
// and 64, depths past a multiple of 16 and of the 256-term blocks), and the
// choice of kernel behind ptl::gemm.
//
//===----------------------------------------------------------------------===//
#include "runtime/Gemm.h"
#include "runtime/GemmAvx512.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

using namespace ptl;

namespace {

/// Whether this CPU runs the AVX-512 kernel (the kernel choice says so).
bool avx512Here() {
  const GemmKernel before = floatGemmKernel();
  const bool ok = setFloatGemmKernel(GemmKernel::Avx512);
  setFloatGemmKernel(before);
  return ok;
}

/// Deterministic values in [-1, 1) that do not repeat along any axis.
std::vector<float> values(int64_t n, double seed) {
  std::vector<float> v((size_t)n);
  for (int64_t i = 0; i < n; ++i) v[(size_t)i] = (float)std::sin(seed + 0.7311 * (double)i + 1e-4 * (double)(i * i));
  return v;
}

/// Checks C = op(A) @ op(B) against the product in double: every element
/// within the bound of a float sum of K products (K * 2^-23 * sum |a b|).
void checkProduct(const std::vector<float> &A, const std::vector<float> &B, const std::vector<float> &C, int64_t M,
                  int64_t N, int64_t K, bool transA, bool transB) {
  int64_t bad = 0;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double exact = 0, magnitude = 0;
      for (int64_t k = 0; k < K; ++k) {
        const double a = A[(size_t)(transA ? k * M + i : i * K + k)];
        const double b = B[(size_t)(transB ? j * K + k : k * N + j)];
        exact += a * b;
        magnitude += std::fabs(a * b);
      }
      const double got = C[(size_t)(i * N + j)];
      if (!(std::fabs(got - exact) <= (double)K * 0x1p-23 * magnitude + 1e-30)) ++bad;
    }
  INFO("M " << M << " N " << N << " K " << K << " transA " << transA << " transB " << transB);
  CHECK(bad == 0);
}

} // namespace

TEST_CASE("AVX-512 product: every layout and partial tile against double", "[gemm]") {
  if (!avx512Here()) {
    WARN("this CPU has no AVX-512: the kernel is not run");
    return;
  }
  for (int64_t M : {1, 6, 7, 64})
    for (int64_t N : {1, 16, 17, 65, 130})
      for (int64_t K : {1, 16, 17, 257, 600})
        for (bool transA : {false, true})
          for (bool transB : {false, true}) {
            const std::vector<float> A = values(M * K, 0.1), B = values(K * N, 2.3);
            // C starts as NaN: the kernel must overwrite, not add.
            std::vector<float> C((size_t)(M * N), std::numeric_limits<float>::quiet_NaN());
            gemmAvx512(A.data(), B.data(), C.data(), M, N, K, transA, transB);
            checkProduct(A, B, C, M, N, K, transA, transB);
          }
}

TEST_CASE("AVX-512 product: calls from several threads at once agree with one", "[gemm]") {
  if (!avx512Here()) {
    WARN("this CPU has no AVX-512: the kernel is not run");
    return;
  }
  // The transposed-B panel lives on each call's stack: concurrent calls
  // (the parallel map) must not share it.
  const int64_t M = 37, N = 150, K = 300;
  const std::vector<float> A = values(M * K, 0.5), B = values(N * K, 1.5);
  std::vector<float> alone((size_t)(M * N));
  gemmAvx512(A.data(), B.data(), alone.data(), M, N, K, false, true);
  std::vector<std::vector<float>> results(4, std::vector<float>((size_t)(M * N)));
  std::vector<std::thread> threads;
  for (auto &r : results)
    threads.emplace_back([&] {
      for (int rep = 0; rep < 20; ++rep) gemmAvx512(A.data(), B.data(), r.data(), M, N, K, false, true);
    });
  for (auto &t : threads) t.join();
  for (const auto &r : results) CHECK(r == alone);
}

TEST_CASE("ptl::gemm: the kernel choice and what each kernel computes", "[gemm]") {
  const GemmKernel before = floatGemmKernel();
  // The default: AVX-512 where the CPU has it, else OpenBLAS where installed.
  if (avx512Here())
    CHECK(before == GemmKernel::Avx512);
  else if (blasAvailable())
    CHECK(before == GemmKernel::OpenBlas);
  CHECK(setFloatGemmKernel(GemmKernel::Loop));
  CHECK(floatGemmDescription() == "PTL's loop");
  CHECK(setFloatGemmKernel(GemmKernel::OpenBlas) == blasAvailable());
  // A product big enough for the kernel, through ptl::gemm with each kernel.
  const int64_t M = 40, N = 50, K = 60;
  REQUIRE(gemmSizeUsesBlas(M, N, K));
  const std::vector<float> A = values(M * K, 0.2), B = values(K * N, 0.9);
  for (GemmKernel k : {GemmKernel::Avx512, GemmKernel::OpenBlas, GemmKernel::Loop}) {
    if (!setFloatGemmKernel(k)) continue;
    std::vector<float> C((size_t)(M * N), std::numeric_limits<float>::quiet_NaN());
    gemm(A.data(), B.data(), C.data(), M, N, K, true, false);
    checkProduct(A, B, C, M, N, K, true, false);
  }
  setFloatGemmKernel(before);
  CHECK(floatGemmKernel() == before);
}
