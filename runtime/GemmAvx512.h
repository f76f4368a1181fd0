//===- runtime/GemmAvx512.h - PTL's own AVX-512 float matrix product ----------===//
//
// The register-tiled float32 product runtime/Gemm.cpp uses on CPUs with
// AVX-512 in place of OpenBLAS (see GemmAvx512.cpp for the kernel).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>

namespace ptl {

/// Whether this build holds the AVX-512 kernel (an x86-64 build); whether the
/// CPU can run it is the caller's question.
bool gemmAvx512Compiled();

/// C = op(A) @ op(B), row-major, C [M, N] overwritten, with the layouts of
/// ptl::gemm. Only on a CPU with AVX-512 F, BW, DQ and VL. Every output's
/// k terms are summed in ascending order within blocks of 256, with fused
/// multiply-adds.
void gemmAvx512(const float *A, const float *B, float *C, int64_t M, int64_t N, int64_t K, bool transA,
                bool transB);

} // namespace ptl
