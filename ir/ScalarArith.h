//===- ir/ScalarArith.h - Scalar arithmetic with PTL's run-time rules --------===//
//
// One definition of the element operations whose result is not simply the
// C++ operator's: i32 arithmetic (wrapping, two's complement), integer
// division, Python's modulo, integer powers, and float -> i32 conversion.
// The reference interpreter's kernels (ir/interp/Kernels.cpp) compute with
// these at run time, and the front end folds compile-time constants with the
// same functions (frontend/ConstFold.cpp), so a folded constant is exactly
// the value the program would have computed when it runs.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>

namespace ptl::ir::arith {

/// x wrapped to i32: the low 32 bits, two's complement.
inline int32_t wrapI32(int64_t x) { return (int32_t)(uint32_t)(uint64_t)x; }

/// a + b, a - b, a * b, -a in i32 (wrapping).
inline int32_t addI32(int32_t a, int32_t b) { return wrapI32((int64_t)a + b); }
inline int32_t subI32(int32_t a, int32_t b) { return wrapI32((int64_t)a - b); }
inline int32_t mulI32(int32_t a, int32_t b) { return wrapI32((int64_t)a * b); }
inline int32_t negI32(int32_t a) { return wrapI32(-(int64_t)a); }

/// a / b in i32, truncating toward zero (INT_MIN / -1 wraps to INT_MIN);
/// nullopt for b = 0, which faults at run time.
inline std::optional<int32_t> divI32(int32_t a, int32_t b) {
  if (b == 0) return std::nullopt;
  return wrapI32((int64_t)a / b);
}

/// a % b in i32 with the sign of b (Python): r = a rem b, r += b if r != 0
/// and sign(r) != sign(b); nullopt for b = 0, which faults at run time.
inline std::optional<int32_t> modI32(int32_t a, int32_t b) {
  if (b == 0) return std::nullopt;
  int64_t r = (int64_t)a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return (int32_t)r;
}

/// a ^ b in i32: repeated squaring, wrapping; b < 0 gives 1 / a^|b|
/// truncated (1, -1 or 0); nullopt for 0 to a negative power (a fault).
inline std::optional<int32_t> powI32(int32_t a, int32_t b) {
  if (b < 0) {
    if (a == 0) return std::nullopt;
    if (a == 1) return 1;
    if (a == -1) return (b % 2) ? -1 : 1;
    return 0;
  }
  uint32_t r = 1, base = (uint32_t)a;
  for (int32_t e = b; e; e >>= 1, base *= base)
    if (e & 1) r *= base;
  return (int32_t)r;
}

/// a % b for floats with the sign of b: r = fmod(a, b), r += b if r != 0
/// and sign(r) != sign(b); a zero result takes the sign of b.
template <class T> T modFloat(T a, T b) {
  T r = std::fmod(a, b);
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  else if (r == 0) r = std::copysign(T(0), b);
  return r;
}

/// x converted to i32: truncated toward zero, saturating at the ends of the
/// range, NaN -> 0.
inline int32_t floatToI32(double x) {
  if (std::isnan(x)) return 0;
  if (x >= 2147483647.0) return INT32_MAX;
  if (x <= -2147483648.0) return INT32_MIN;
  return (int32_t)x;
}

} // namespace ptl::ir::arith
