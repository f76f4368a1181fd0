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
//   pow(a, b): for a > 0 finite and b finite (powF32Fast), in double and
//            rounded once to float: a = m 2^e with m in [sqrt(1/2), sqrt 2],
//            s = (m - 1) / (m + 1), ln m = 2 s (1 + s^2/3 + ... + s^18/19),
//            t = b (e ln 2 + ln m) clamped to [-200, 200]; e^t as exp above
//            with ln 2 split fdlibm's way and e^r = sum r^k / k!, k <= 12;
//            the relative error before the final rounding is below 1e-13,
//            so the result is the correctly rounded one but in rare ties.
//            Every other case (a <= 0, infinities, NaN) is glibc's powf, so
//            C's special values hold (pow(x, 0) = 1, (-8)^(1/3) = NaN, ...).
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

/// The constants of pow's double-precision fast path.
struct PowConsts {
  static constexpr double kSqrt2 = 1.41421356237309504880;
  static constexpr double kLn2 = 0.693147180559945309417;
  static constexpr double kLog2e = 1.44269504088896340736;
  static constexpr double kLn2Hi = 6.93147180369123816490e-01; ///< fdlibm: ln 2 with 32 low bits zero
  static constexpr double kLn2Lo = 1.90821492927058770002e-10; ///< ln 2 - kLn2Hi
  static constexpr double kClamp = 200.0;                      ///< |t| beyond: over- or underflows anyway
  /// 1/19, 1/17, ..., 1/3, 1 (ln m / 2s as a series in s^2), highest power first.
  static constexpr double kAtanh[10] = {1.0 / 19, 1.0 / 17, 1.0 / 15, 1.0 / 13, 1.0 / 11,
                                        1.0 / 9,  1.0 / 7,  1.0 / 5,  1.0 / 3,  1.0};
  /// 1/12!, ..., 1/1!, 1/0! (e^r), highest power first.
  static constexpr double kExpTaylor[13] = {1.0 / 479001600, 1.0 / 39916800, 1.0 / 3628800, 1.0 / 362880,
                                            1.0 / 40320,     1.0 / 5040,     1.0 / 720,     1.0 / 120,
                                            1.0 / 24,        1.0 / 6,        1.0 / 2,       1.0,
                                            1.0};
};

/// e^x (f32, see above).
float expF32(float x);
/// ln x (f32).
float logF32(float x);
/// tanh x (f32).
float tanhF32(float x);
/// Whether a^b takes pow's fast path: a > 0, a finite, b finite.
inline bool powF32Fast(float a, float b) {
  return a > 0.0f && a < HUGE_VALF && std::fabs(b) < HUGE_VALF;
}
/// a^b by the fast path (only for powF32Fast(a, b)).
float powF32Core(float a, float b);
/// a^b (f32): the fast path, else glibc's powf.
inline float powF32(float a, float b) { return powF32Fast(a, b) ? powF32Core(a, b) : std::pow(a, b); }

/// The engines' exp, log, tanh and pow: PTL's own for f32, glibc's for f64.
inline float exp(float x) { return expF32(x); }
inline double exp(double x) { return std::exp(x); }
inline float log(float x) { return logF32(x); }
inline double log(double x) { return std::log(x); }
inline float tanh(float x) { return tanhF32(x); }
inline double tanh(double x) { return std::tanh(x); }
inline float pow(float a, float b) { return powF32(a, b); }
inline double pow(double a, double b) { return std::pow(a, b); }

} // namespace ptl::math
