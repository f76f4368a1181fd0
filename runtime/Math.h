//===- runtime/Math.h - PTL's own f32 exp, log and tanh -------------------------===//
//
// exp, log and tanh of f32 values, used by both engines: the interpreter
// calls the functions below, and native code inlines the same operations
// (backend/MathEmitter.cpp), which LLVM then vectorises, where a call to
// glibc's expf/logf/tanhf would keep every loop scalar. Both sides do the
// same IEEE single-precision operations in the same order, with no fused
// multiply-add (this file's .cpp is compiled with -ffp-contract=off), so
// they agree bit for bit; tests/unit/MathTests.cpp checks that the results
// are within kMaxUlpError units in the last place of the exact values (and
// JITTests the agreement). f64 math stays glibc's.
//
// The algorithms are Cephes' (S. L. Moshier), with the coefficients below,
// written without branches (every special case is a final select):
//
//   exp(x):  n = floor(x log2 e + 1/2); r = (x - n c1) - n c2 (c1 + c2 = ln 2,
//            c1 exact in 9 bits); e^r = 1 + r + r^2 P(r) (P of degree 5);
//            e^x = (e^r 2^(n >> 1)) 2^(n - (n >> 1)) (two exact scalings, so
//            2^n itself never overflows); +inf above kExpOverflow, +0 below
//            kExpUnderflow, NaN stays NaN.
//   log(x):  x = m 2^e with m in [sqrt(1/2), sqrt 2) (a subnormal x is
//            scaled by 2^23 first); f = m - 1; log x = f - f^2/2 + f^3 Q(f)
//            + e ln 2 (Q of degree 8, ln 2 split as in exp); log 0 = -inf,
//            log of a negative number or NaN is NaN, log inf = inf.
//   tanh(x): |x| < 0.625: x + x^3 R(x^2) (R of degree 4);
//            otherwise sign(x) (1 - 2 / (e^(2|x|) + 1)); tanh(+-0) = +-0.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cmath>

namespace ptl::math {

/// A bound on the error of expF32, logF32 and tanhF32 against the exact
/// values, in units in the last place of the result (checked by
/// tests/unit/MathTests.cpp). Measured over every 17th float: exp 0.98,
/// log 0.82, tanh 1.31 (glibc's expf/logf/tanhf: about 0.5 to 1.5).
constexpr double kMaxUlpError = 1.5;

/// The constants of the three algorithms (shared with backend/MathEmitter.cpp).
struct F32Consts {
  static constexpr float kLog2e = 1.44269504088896341f;
  static constexpr float kLn2Hi = 0.693359375f;    ///< ln 2 rounded to 9 bits
  static constexpr float kLn2Lo = -2.12194440e-4f; ///< ln 2 - kLn2Hi
  static constexpr float kExpOverflow = 88.72283935546875f;    ///< above: e^x > FLT_MAX
  static constexpr float kExpUnderflow = -103.97208404541015625f; ///< below: e^x < FLT_TRUE_MIN / 2
  /// P(r), highest power first.
  static constexpr float kExpP[6] = {1.9875691500E-4f, 1.3981999507E-3f, 8.3334519073E-3f,
                                     4.1665795894E-2f, 1.6666665459E-1f, 5.0000001201E-1f};
  static constexpr float kSqrtHalf = 0.707106781186547524f;
  static constexpr float kTwo23 = 8388608.0f;       ///< 2^23 (scales a subnormal to normal)
  static constexpr float kMinNormal = 1.17549435e-38f;
  /// Q(f), highest power first.
  static constexpr float kLogQ[9] = {7.0376836292E-2f,  -1.1514610310E-1f, 1.1676998740E-1f,
                                     -1.2420140846E-1f, 1.4249322787E-1f,  -1.6668057665E-1f,
                                     2.0000714765E-1f,  -2.4999993993E-1f, 3.3333331174E-1f};
  static constexpr float kTanhSmall = 0.625f; ///< below: the polynomial
  /// R(z), highest power first.
  static constexpr float kTanhR[5] = {-5.70498872745E-3f, 2.06390887954E-2f, -5.37397155531E-2f,
                                      1.33314422036E-1f, -3.33332819422E-1f};
};

/// e^x (f32, see above).
float expF32(float x);
/// ln x (f32).
float logF32(float x);
/// tanh x (f32).
float tanhF32(float x);

/// The engines' exp, log and tanh: PTL's own for f32, glibc's for f64.
inline float exp(float x) { return expF32(x); }
inline double exp(double x) { return std::exp(x); }
inline float log(float x) { return logF32(x); }
inline double log(double x) { return std::log(x); }
inline float tanh(float x) { return tanhF32(x); }
inline double tanh(double x) { return std::tanh(x); }

} // namespace ptl::math
