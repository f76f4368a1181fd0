//===- runtime/Gemm.cpp - Matrix products for the interpreter and native code -===//
#include "runtime/Gemm.h"

#include "runtime/GemmAvx512.h"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <type_traits>

namespace ptl {

namespace {

// The CBLAS entry points PTL uses (the standard C ABI of cblas.h).
enum CblasOrder { CblasRowMajor = 101 };
enum CblasTranspose { CblasNoTrans = 111, CblasTrans = 112 };
using SgemmFn = void (*)(int, int, int, int, int, int, float, const float *, int, const float *, int, float,
                         float *, int);
using DgemmFn = void (*)(int, int, int, int, int, int, double, const double *, int, const double *, int, double,
                         double *, int);
using SetThreadsFn = void (*)(int);
using CoreNameFn = char *(*)();

struct Blas {
  void *handle = nullptr;
  SgemmFn sgemm = nullptr;
  DgemmFn dgemm = nullptr;
  SetThreadsFn setThreads = nullptr;
  CoreNameFn coreName = nullptr;
  std::string library;
};

/// Whether the CPU has AVX-512 F, VL, BW and DQ (what OpenBLAS's SkylakeX
/// kernels and PTL's AVX-512 kernel need).
bool cpuHasAvx512() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
#else
  return false;
#endif
}

/// OpenBLAS, loaded once (null members if it is not installed).
const Blas &blas() {
  static Blas b;
  static std::once_flag once;
  std::call_once(once, [] {
    // OpenBLAS 0.3.21 takes Zen 4/5 for Haswell and runs AVX2 kernels at
    // about half the speed of its AVX-512 (SkylakeX) ones.
    if (cpuHasAvx512()) setenv("OPENBLAS_CORETYPE", "SkylakeX", /*overwrite=*/0);
    for (const char *name : {"libopenblas.so.0", "libopenblas.so"}) {
      b.handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
      if (b.handle) {
        b.library = name;
        break;
      }
    }
    if (!b.handle) return;
    b.sgemm = reinterpret_cast<SgemmFn>(dlsym(b.handle, "cblas_sgemm"));
    b.dgemm = reinterpret_cast<DgemmFn>(dlsym(b.handle, "cblas_dgemm"));
    b.setThreads = reinterpret_cast<SetThreadsFn>(dlsym(b.handle, "openblas_set_num_threads"));
    b.coreName = reinterpret_cast<CoreNameFn>(dlsym(b.handle, "openblas_get_corename"));
    if (!b.sgemm || !b.dgemm) {
      b.sgemm = nullptr;
      b.dgemm = nullptr;
      return;
    }
    if (b.setThreads && !std::getenv("OPENBLAS_NUM_THREADS")) b.setThreads(1);
  });
  return b;
}

/// Whether this build and CPU run the AVX-512 kernel (runtime/GemmAvx512.cpp).
bool avx512KernelRuns() { return gemmAvx512Compiled() && cpuHasAvx512(); }

/// What runs the float products of at least kBlasMinWork multiply-adds,
/// chosen once: PTL_GEMM=avx512|openblas|loop asks for one (where it can
/// run), else the AVX-512 kernel where the CPU has it, else OpenBLAS where
/// it is installed, else the loop. OpenBLAS is loaded only if it may be used.
GemmKernel chooseFloatKernel() {
  const char *want = std::getenv("PTL_GEMM");
  if (want && std::strcmp(want, "loop") == 0) return GemmKernel::Loop;
  if (want && std::strcmp(want, "openblas") == 0 && blas().sgemm) return GemmKernel::OpenBlas;
  if (avx512KernelRuns()) return GemmKernel::Avx512;
  return blas().sgemm ? GemmKernel::OpenBlas : GemmKernel::Loop;
}

GemmKernel &floatKernel() {
  static GemmKernel kernel = chooseFloatKernel();
  return kernel;
}

/// C = op(A) @ op(B) with every output's k terms added in ascending order from 0.
template <class T>
void gemmLoop(const T *A, const T *B, T *C, int64_t M, int64_t N, int64_t K, bool transA, bool transB) {
  // op(A)[i, k] = A[i * aI + k * aK]; op(B)[k, j] = B[k * bK + j * bJ]
  const int64_t aI = transA ? 1 : K, aK = transA ? M : 1, bK = transB ? 1 : N, bJ = transB ? K : 1;
  for (int64_t i = 0; i < M; ++i) {
    T *c = C + i * N;
    for (int64_t j = 0; j < N; ++j) c[j] = 0;
    for (int64_t k = 0; k < K; ++k) {
      const T a = A[i * aI + k * aK];
      const T *b = B + k * bK;
      if constexpr (std::is_same_v<T, int32_t>) { // wrap-around arithmetic, as the interpreter's i32 ops
        for (int64_t j = 0; j < N; ++j) c[j] = (int32_t)((uint32_t)c[j] + (uint32_t)a * (uint32_t)b[j * bJ]);
      } else if (bJ == 1) { // contiguous: vectorises
        for (int64_t j = 0; j < N; ++j) c[j] = (T)(c[j] + a * b[j]);
      } else {
        for (int64_t j = 0; j < N; ++j) c[j] = (T)(c[j] + a * b[j * bJ]);
      }
    }
  }
}

} // namespace

// (The dimensions must fit BLAS's int arguments.)
bool gemmSizeUsesBlas(int64_t M, int64_t N, int64_t K) {
  const int64_t maxInt = 0x7fffffff;
  return M > 0 && N > 0 && K > 0 && M <= maxInt && N <= maxInt && K <= maxInt && M * N * K >= kBlasMinWork;
}

void gemm(const float *A, const float *B, float *C, int64_t M, int64_t N, int64_t K, bool transA, bool transB) {
  const GemmKernel kernel = gemmSizeUsesBlas(M, N, K) ? floatKernel() : GemmKernel::Loop;
  if (kernel == GemmKernel::Avx512) {
    gemmAvx512(A, B, C, M, N, K, transA, transB);
    return;
  }
  if (kernel == GemmKernel::OpenBlas) {
    blas().sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, (int)M,
                 (int)N, (int)K, 1.0f, A, (int)(transA ? M : K), B, (int)(transB ? K : N), 0.0f, C, (int)N);
    return;
  }
  gemmLoop(A, B, C, M, N, K, transA, transB);
}

void gemm(const double *A, const double *B, double *C, int64_t M, int64_t N, int64_t K, bool transA, bool transB) {
  if (gemmSizeUsesBlas(M, N, K) && blas().dgemm) {
    blas().dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, (int)M,
                 (int)N, (int)K, 1.0, A, (int)(transA ? M : K), B, (int)(transB ? K : N), 0.0, C, (int)N);
    return;
  }
  gemmLoop(A, B, C, M, N, K, transA, transB);
}

void gemm(const int32_t *A, const int32_t *B, int32_t *C, int64_t M, int64_t N, int64_t K, bool transA,
          bool transB) {
  gemmLoop(A, B, C, M, N, K, transA, transB);
}

bool blasAvailable() { return blas().sgemm != nullptr; }

std::string blasDescription() {
  const Blas &b = blas();
  if (!b.sgemm) return "none (products run PTL's own loop)";
  std::string d = b.library;
  if (b.coreName) d += std::string(" (") + b.coreName() + ")";
  return d;
}

GemmKernel floatGemmKernel() { return floatKernel(); }

bool setFloatGemmKernel(GemmKernel kernel) {
  if ((kernel == GemmKernel::Avx512 && !avx512KernelRuns()) || (kernel == GemmKernel::OpenBlas && !blas().sgemm))
    return false;
  floatKernel() = kernel;
  return true;
}

std::string floatGemmDescription() {
  switch (floatKernel()) {
  case GemmKernel::Avx512: return "PTL's AVX-512 kernel";
  case GemmKernel::OpenBlas: return blasDescription();
  case GemmKernel::Loop: break;
  }
  return "PTL's loop";
}

void setBlasThreads(int n) {
  if (blas().setThreads && n > 0) blas().setThreads(n);
}

} // namespace ptl
