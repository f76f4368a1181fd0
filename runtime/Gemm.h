//===- runtime/Gemm.h - Matrix products for the interpreter and native code ---===//
//
// C[M, N] = A[M, K] @ B[K, N] on dense row-major buffers (either operand
// possibly stored transposed): the one
// implementation of matmul that the reference interpreter's kernel and
// compiled code (through ptlrt_gemm_*) both call, so the two engines agree
// bit for bit whichever way a product is computed.
//
// Small products run a loop that adds the k terms of every output in
// ascending order starting from 0 (i-k-j order, so the inner loop over j is
// contiguous and vectorises without reassociating anything). Float products
// of at least kBlasMinWork multiply-adds run PTL's own AVX-512 kernel on a
// CPU that has AVX-512 (runtime/GemmAvx512.cpp: faster than OpenBLAS on the
// shapes of a training step), else OpenBLAS's sgemm; double products go to
// dgemm. OpenBLAS is used when Debian's libopenblas0 is installed: it is loaded on first use with
// dlopen, single-threaded unless setBlasThreads says otherwise, and on a CPU
// with AVX-512 that OpenBLAS 0.3.21 does not recognise (Zen 4/5) with its
// SkylakeX kernels (OPENBLAS_CORETYPE, unless the environment sets it).
// Without OpenBLAS every product runs the loop.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>

namespace ptl {

/// Multiply-adds (M * N * K) from which float products use BLAS.
constexpr int64_t kBlasMinWork = 32 * 32 * 32;

/// Whether a float product of this size goes to BLAS when it is installed;
/// every other product runs the loop (which native code inlines).
bool gemmSizeUsesBlas(int64_t M, int64_t N, int64_t K);

/// C = op(A) @ op(B) (row-major; C [M, N] is overwritten): op(A) [M, K] is A,
/// or with transA the transpose of A stored as [K, M]; op(B) [K, N] likewise
/// (B stored as [N, K] with transB). The k terms of every output are added
/// in the same order whatever the layout.
void gemm(const float *A, const float *B, float *C, int64_t M, int64_t N, int64_t K, bool transA = false,
          bool transB = false);
void gemm(const double *A, const double *B, double *C, int64_t M, int64_t N, int64_t K, bool transA = false,
          bool transB = false);
void gemm(const int32_t *A, const int32_t *B, int32_t *C, int64_t M, int64_t N, int64_t K, bool transA = false,
          bool transB = false);

/// Whether OpenBLAS is loaded (loading it if need be), and which library and
/// core type, for `ptlc --version`-style reports and the benchmarks.
bool blasAvailable();
std::string blasDescription();
/// Threads OpenBLAS may use (default 1).
void setBlasThreads(int n);

/// What computes the float products of at least kBlasMinWork multiply-adds.
enum class GemmKernel {
  Avx512,   ///< PTL's register-tiled kernel (runtime/GemmAvx512.cpp), on CPUs with AVX-512
  OpenBlas, ///< OpenBLAS's sgemm
  Loop,     ///< the loop every smaller product runs
};
/// The kernel in use: chosen on first use from the environment's PTL_GEMM
/// (avx512, openblas or loop) where it can run, else the first that can of
/// AVX-512, OpenBLAS, the loop.
GemmKernel floatGemmKernel();
/// Uses `kernel` from now on (tests and benchmarks); false, changing
/// nothing, if this machine cannot run it. Not to be called while products run.
bool setFloatGemmKernel(GemmKernel kernel);
/// The kernel in use, in words ("PTL's AVX-512 kernel", "libopenblas.so.0 (SkylakeX)", ...).
std::string floatGemmDescription();

} // namespace ptl
