//===- runtime/Math.cpp - PTL's own f32 exp, log and tanh ----------------------===//
//
// The reference implementation of runtime/Math.h (the formulas are there).
// backend/MathEmitter.cpp emits the same operations, step for step, as LLVM
// IR; a change here must be made there too (JITTests compares the two bit
// for bit). Compiled with -ffp-contract=off: every * and + rounds on its own.
//
//===----------------------------------------------------------------------===//
#include "runtime/Math.h"

#include <bit>
#include <cstdint>
#include <limits>

namespace ptl::math {

namespace {
using C = F32Consts;

/// 2^k for k in [-126, 127].
float pow2(int32_t k) { return std::bit_cast<float>((uint32_t)(k + 127) << 23); }
} // namespace

float expF32(float x) {
  float xc = x > C::kExpOverflow ? C::kExpOverflow : x;
  xc = xc < C::kExpUnderflow ? C::kExpUnderflow : xc;
  float n = std::floor(xc * C::kLog2e + 0.5f);
  float r = xc - n * C::kLn2Hi;
  r = r - n * C::kLn2Lo;
  float p = C::kExpP[0];
  for (int i = 1; i < 6; ++i) p = p * r + C::kExpP[i];
  float y = p * (r * r);
  y = y + r;
  y = y + 1.0f;
  int32_t k = (int32_t)(n == n ? n : 0.0f); // n is NaN only for a NaN x
  int32_t k1 = k >> 1, k2 = k - k1;
  y = (y * pow2(k1)) * pow2(k2);
  if (x != x) return x;
  if (x > C::kExpOverflow) return std::numeric_limits<float>::infinity();
  if (x < C::kExpUnderflow) return 0.0f;
  return y;
}

float logF32(float x) {
  bool subnormal = x < C::kMinNormal;
  float xs = subnormal ? x * C::kTwo23 : x;
  uint32_t bits = std::bit_cast<uint32_t>(xs);
  int32_t e = (int32_t)((bits >> 23) & 0xffu) - 126 - (subnormal ? 23 : 0);
  float m = std::bit_cast<float>((bits & 0x807fffffu) | 0x3f000000u); // in [0.5, 1)
  bool low = m < C::kSqrtHalf;
  e = low ? e - 1 : e;
  float f = low ? (m + m) - 1.0f : m - 1.0f;
  float z = f * f;
  float y = C::kLogQ[0];
  for (int i = 1; i < 9; ++i) y = y * f + C::kLogQ[i];
  y = (y * f) * z;
  float fe = (float)e;
  y = y + fe * C::kLn2Lo;
  y = y - 0.5f * z;
  float r = f + y;
  r = r + fe * C::kLn2Hi;
  if (x != x) return x;
  if (x < 0.0f) return std::numeric_limits<float>::quiet_NaN();
  if (x == 0.0f) return -std::numeric_limits<float>::infinity();
  if (x == std::numeric_limits<float>::infinity()) return x;
  return r;
}

float tanhF32(float x) {
  float a = std::fabs(x);
  float e = expF32(a + a);
  float big = std::copysign(1.0f - 2.0f / (e + 1.0f), x);
  float z = x * x;
  float p = C::kTanhR[0];
  for (int i = 1; i < 5; ++i) p = p * z + C::kTanhR[i];
  float small = ((p * z) * x) + x;
  float y = a >= C::kTanhSmall ? big : small;
  return x == 0.0f ? x : y;
}

float powF32Core(float a, float b) {
  using P = PowConsts;
  uint64_t bits = std::bit_cast<uint64_t>((double)a); // a > 0 is a normal double
  int64_t e = (int64_t)((bits >> 52) & 0x7ffu) - 1023;
  double m = std::bit_cast<double>((bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull); // in [1, 2)
  bool big = m > P::kSqrt2;
  m = big ? m * 0.5 : m;
  e = big ? e + 1 : e;
  double s = (m - 1.0) / (m + 1.0);
  double s2 = s * s;
  double p = P::kAtanh[0];
  for (int i = 1; i < 10; ++i) p = p * s2 + P::kAtanh[i];
  double lnx = (double)e * P::kLn2 + (s + s) * p;
  double t = (double)b * lnx;
  t = t > P::kClamp ? P::kClamp : t;
  t = t < -P::kClamp ? -P::kClamp : t;
  double n = std::floor(t * P::kLog2e + 0.5);
  double r = t - n * P::kLn2Hi;
  r = r - n * P::kLn2Lo;
  double q = P::kExpTaylor[0];
  for (int i = 1; i < 13; ++i) q = q * r + P::kExpTaylor[i];
  double scale = std::bit_cast<double>((uint64_t)((int64_t)n + 1023) << 52);
  return (float)(q * scale);
}

} // namespace ptl::math
