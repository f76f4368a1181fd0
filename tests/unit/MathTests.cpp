//===- tests/unit/MathTests.cpp - PTL's own f32 exp, log and tanh ------------===//
//
// runtime/Math.h against the exact values (glibc's double-precision
// functions, whose error is far below a float ulp) over a sweep of float
// bit patterns, plus the special values. That native code computes the same
// bits is JITTests' "PTL's own f32 math" case.
//
//===----------------------------------------------------------------------===//
#include "runtime/Math.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

using namespace ptl;

namespace {

const float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

float fromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

/// |got - exact| in units of the last place of float(exact).
double ulpError(float got, double exact) {
  float r = (float)exact;
  double ulp = r == 0 ? (double)std::numeric_limits<float>::denorm_min()
                      : (double)std::nextafter(std::fabs(r), kInf) - std::fabs(r);
  return std::fabs((double)got - exact) / ulp;
}

/// The largest ulp error of f against exact over every `step`-th float
/// (NaN inputs left out; results that overflow must overflow alike).
double worstError(float (*f)(float), double (*exact)(double), uint64_t step, float &where) {
  double worst = 0;
  for (uint64_t u = 0; u < (uint64_t(1) << 32); u += step) {
    float x = fromBits((uint32_t)u);
    if (std::isnan(x)) continue;
    float got = f(x);
    double want = exact((double)x);
    if (std::isnan(want) || std::isinf((float)want)) {
      // log of a negative number; exp beyond FLT_MAX; log 0
      bool same = std::isnan(want) ? std::isnan(got) : got == (float)want;
      if (!same) {
        where = x;
        return 1e9;
      }
      continue;
    }
    double e = std::isinf(got) ? 1e9 : ulpError(got, want);
    if (e > worst) {
      worst = e;
      where = x;
    }
  }
  return worst;
}

double exactExp(double x) { return std::exp(x); }
double exactLog(double x) { return std::log(x); }
double exactTanh(double x) { return std::tanh(x); }

} // namespace

TEST_CASE("Math: f32 exp, log and tanh are within kMaxUlpError of the exact values", "[math]") {
  // 4099 is prime: the sweep visits every exponent with varied mantissas.
  float where = 0;
  double e = worstError(math::expF32, exactExp, 4099, where);
  INFO("exp: " << e << " ulp at " << where);
  CHECK(e <= math::kMaxUlpError);
  e = worstError(math::logF32, exactLog, 4099, where);
  INFO("log: " << e << " ulp at " << where);
  CHECK(e <= math::kMaxUlpError);
  e = worstError(math::tanhF32, exactTanh, 4099, where);
  INFO("tanh: " << e << " ulp at " << where);
  CHECK(e <= math::kMaxUlpError);
  // The ranges where the algorithms switch, densely.
  double worstTanh = 0, worstLog = 0;
  for (float x = -1.0f; x <= 1.0f; x += 1.0f / 65536) {
    worstTanh = std::max(worstTanh, ulpError(math::tanhF32(x), std::tanh((double)x)));
    float y = 1.0f + x; // log near 1 and across sqrt(1/2)
    if (y > 0) worstLog = std::max(worstLog, ulpError(math::logF32(y), std::log((double)y)));
  }
  CHECK(worstTanh <= math::kMaxUlpError);
  CHECK(worstLog <= math::kMaxUlpError);
}

TEST_CASE("Math: special values of f32 exp, log and tanh", "[math]") {
  CHECK(math::expF32(0.0f) == 1.0f);
  CHECK(math::expF32(-0.0f) == 1.0f);
  CHECK(math::expF32(kInf) == kInf);
  CHECK(math::expF32(-kInf) == 0.0f);
  CHECK(math::expF32(89.0f) == kInf);
  CHECK(math::expF32(-104.0f) == 0.0f);
  CHECK(std::isnan(math::expF32(kNaN)));
  // e^-100 is subnormal (about 3.7e-44): within one ulp of the exact value
  CHECK(ulpError(math::expF32(-100.0f), std::exp(-100.0)) <= 1.0);
  CHECK(math::expF32(1.0f) == (float)std::exp(1.0));

  CHECK(math::logF32(1.0f) == 0.0f);
  CHECK(math::logF32(0.0f) == -kInf);
  CHECK(math::logF32(-0.0f) == -kInf);
  CHECK(std::isnan(math::logF32(-1.0f)));
  CHECK(std::isnan(math::logF32(-kInf)));
  CHECK(std::isnan(math::logF32(kNaN)));
  CHECK(math::logF32(kInf) == kInf);
  float tiny = std::numeric_limits<float>::denorm_min();
  CHECK(ulpError(math::logF32(tiny), std::log((double)tiny)) <= 1.0);
  CHECK(ulpError(math::logF32(std::numeric_limits<float>::max()),
                 std::log((double)std::numeric_limits<float>::max())) <= 1.0);

  CHECK(math::tanhF32(0.0f) == 0.0f);
  CHECK(!std::signbit(math::tanhF32(0.0f)));
  CHECK(std::signbit(math::tanhF32(-0.0f)));
  CHECK(math::tanhF32(kInf) == 1.0f);
  CHECK(math::tanhF32(-kInf) == -1.0f);
  CHECK(math::tanhF32(20.0f) == 1.0f);
  CHECK(math::tanhF32(1e-30f) == 1e-30f);
  CHECK(std::isnan(math::tanhF32(kNaN)));
}

TEST_CASE("Math: f32 pow is correctly rounded but in rare ties, and keeps C's special values", "[math]") {
  // Pairs with |b ln a| up to about 100, half with integral b.
  uint64_t state = 12345;
  auto next = [&] { // xorshift64*: a fixed, portable sequence
    state ^= state >> 12, state ^= state << 25, state ^= state >> 27;
    return (double)((state * 2685821657736338717ull) >> 11) / 9007199254740992.0;
  };
  double worst = 0;
  int notRounded = 0, checked = 0;
  for (int it = 0; it < 400000; ++it) {
    float a = (float)std::exp((next() * 2 - 1) * 40);
    float b = (float)((next() * 2 - 1) * (it % 3 == 0 ? 30 : 3));
    if (it % 2) b = std::round(b);
    double exact = std::pow((double)a, (double)b);
    if (std::isinf((float)exact) || (float)exact == 0 || std::fabs(exact) < 1.2e-38) continue;
    float got = math::powF32(a, b);
    ++checked;
    notRounded += got != (float)exact;
    worst = std::max(worst, ulpError(got, exact));
  }
  INFO(checked << " checked, " << notRounded << " not correctly rounded, worst " << worst << " ulp");
  CHECK(worst <= 0.5001);
  CHECK(notRounded * 10000 < checked); // under 0.01 %
  CHECK(math::powF32(2.0f, 0.5f) == (float)std::sqrt(2.0));
  CHECK(math::powF32(3.0f, 1.0f) == 3.0f);
  CHECK(math::powF32(1.0f, kNaN) == 1.0f);
  CHECK(math::powF32(kNaN, 0.0f) == 1.0f);
  CHECK(math::powF32(-8.0f, 3.0f) == -512.0f);
  CHECK(std::isnan(math::powF32(-8.0f, 1.0f / 3)));
  CHECK(math::powF32(0.0f, -1.0f) == kInf);
  CHECK(math::powF32(-0.0f, -1.0f) == -kInf);
  CHECK(math::powF32(0.5f, kInf) == 0.0f);
  CHECK(math::powF32(2.0f, 1000.0f) == kInf);
  CHECK(math::powF32(2.0f, -1000.0f) == 0.0f);
  CHECK(math::powF32(2.0f, -149.0f) == std::numeric_limits<float>::denorm_min());
  CHECK(math::powF32(std::numeric_limits<float>::denorm_min(), 0.5f) == (float)std::sqrt(1.401298464324817e-45));
}
