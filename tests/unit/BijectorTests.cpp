//===- tests/unit/BijectorTests.cpp - Bijectors, checks and projections ------===//
//
// Each bijector of frontend/Bijectors.h is emitted into a small f64 function
// and run by the reference interpreter: inverse(forward(u)) == u at random
// points; log|det J| against the log-determinant of a central-difference
// Jacobian of forward (computed here by LU); values at the edges (huge,
// tiny, next to a bound) stay finite or at least never NaN; simplex values
// sum to 1 and Cholesky factors are lower-triangular with a positive
// diagonal. Then the check_bounds kernel's messages, the simplex projection
// against a sort-based reference, and the language level: domain errors at
// compile time (constants) and run time, `check` in train, `project`, and
// log_jacobian.
//
//===----------------------------------------------------------------------===//
#include "frontend/Bijectors.h"
#include "frontend/Compiler.h"
#include "ir/Builder.h"
#include "ir/Verifier.h"
#include "ir/interp/Interpreter.h"
#include "runtime/Constraints.h"
#include "runtime/Errors.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <random>
#include <sstream>

using namespace ptl;
using namespace ptl::sema;
using ptl::ir::Builder;
using ptl::ir::OpKind;
using ptl::ir::Value;

namespace {

const DType F64 = DType::F64;

Tensor tensorOf(const Shape &s, const std::vector<double> &v) {
  Tensor t = Tensor::zeros(F64, s);
  REQUIRE((int64_t)v.size() == t.numel());
  for (size_t i = 0; i < v.size(); ++i) t.setDouble((int64_t)i, v[i]);
  return t;
}
std::vector<double> valuesOf(const Tensor &t) {
  std::vector<double> v;
  for (int64_t i = 0; i < t.numel(); ++i) v.push_back(t.getDouble(i));
  return v;
}

/// Runs `emit` on one f64 argument shaped `in` in a fresh module; returns its result.
Tensor runEmitter(const Shape &in, const std::function<Value *(Builder &, Value *)> &emit,
                  const std::vector<double> &arg) {
  ir::Module m;
  auto *f = m.addFunction(
      std::make_unique<ir::Function>("f", std::vector<ir::Type>{ir::Type{F64, in}}, std::vector<ir::Type>{}));
  Builder b(&f->body());
  Value *r = emit(b, f->body().argument(0));
  f->setResultTypes({r->type()});
  b.create(OpKind::Return, {r}, {});
  std::string err;
  INFO(err);
  REQUIRE(ir::verifyModule(m, err));
  ir::Interpreter interp(m, {});
  return interp.call("f", {tensorOf(in, arg)})[0];
}

/// A bijector under test: its transform and the value shape.
struct Case {
  std::string label;
  Transform t;
  Shape value;
};

std::vector<Case> cases() {
  return {
      {"> 1.5", {Transform::LowerBound, 1.5, 0}, {3}},
      {"> 0", {Transform::LowerBound, 0, 0}, {2}},
      {"< -2", {Transform::UpperBound, -2, 0}, {2, 2}},
      {"in (-1, 3)", {Transform::Interval, -1, 3}, {4}},
      {"in (0, 1)", {Transform::Interval, 0, 1}, {}},
      {"exp", {Transform::Exp, 0, 0}, {3}},
      {"softplus", {Transform::Softplus, 0, 0}, {3}},
      {"ordered [5]", {Transform::Ordered, 0, 0}, {5}},
      {"ordered [2, 3]", {Transform::Ordered, 0, 0}, {2, 3}},
      {"ordered [1]", {Transform::Ordered, 0, 0}, {1}},
      {"simplex [2]", {Transform::Simplex, 0, 0}, {2}},
      {"simplex [5]", {Transform::Simplex, 0, 0}, {5}},
      {"simplex [2, 4]", {Transform::Simplex, 0, 0}, {2, 4}},
      {"cholesky [1, 1]", {Transform::Cholesky, 0, 0}, {1, 1}},
      {"cholesky [3, 3]", {Transform::Cholesky, 0, 0}, {3, 3}},
      {"cholesky [4, 4]", {Transform::Cholesky, 0, 0}, {4, 4}},
  };
}

Shape storedOf(const Case &c) { return bijectorFor(c.t.kind).storedShape(c.value); }

std::vector<double> forward(const Case &c, const std::vector<double> &u) {
  const Bijector &bj = bijectorFor(c.t.kind);
  return valuesOf(runEmitter(storedOf(c), [&](Builder &b, Value *v) { return bj.forward(b, c.t, v); }, u));
}
std::vector<double> inverse(const Case &c, const std::vector<double> &x) {
  const Bijector &bj = bijectorFor(c.t.kind);
  return valuesOf(runEmitter(c.value, [&](Builder &b, Value *v) { return bj.inverse(b, c.t, v); }, x));
}
double logDet(const Case &c, const std::vector<double> &u) {
  const Bijector &bj = bijectorFor(c.t.kind);
  Tensor r = runEmitter(storedOf(c), [&](Builder &b, Value *v) { return bj.logDetJacobian(b, c.t, v); }, u);
  REQUIRE(r.rank() == 0);
  return r.getDouble(0);
}

/// The value coordinates forward maps the stored ones onto bijectively: all,
/// except the last of each simplex row (it is 1 - the others) and the upper
/// triangle of a Cholesky factor (always 0).
std::vector<int64_t> freeOutputs(const Case &c) {
  std::vector<int64_t> out;
  int64_t n = numElements(c.value);
  if (c.t.kind == Transform::Simplex) {
    int64_t k = c.value.back();
    for (int64_t i = 0; i < n; ++i)
      if (i % k != k - 1) out.push_back(i);
  } else if (c.t.kind == Transform::Cholesky) {
    int64_t m = c.value[0];
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j <= i; ++j) out.push_back(i * m + j);
  } else {
    for (int64_t i = 0; i < n; ++i) out.push_back(i);
  }
  return out;
}

/// log|det A| of a square row-major matrix by LU with partial pivoting.
double logAbsDet(std::vector<double> a, size_t n) {
  double total = 0;
  for (size_t k = 0; k < n; ++k) {
    size_t p = k;
    for (size_t i = k + 1; i < n; ++i)
      if (std::fabs(a[i * n + k]) > std::fabs(a[p * n + k])) p = i;
    if (p != k)
      for (size_t j = 0; j < n; ++j) std::swap(a[k * n + j], a[p * n + j]);
    double piv = a[k * n + k];
    if (piv == 0) return -INFINITY;
    total += std::log(std::fabs(piv));
    for (size_t i = k + 1; i < n; ++i) {
      double f = a[i * n + k] / piv;
      for (size_t j = k; j < n; ++j) a[i * n + j] -= f * a[k * n + j];
    }
  }
  return total;
}

/// log|det J| of forward at u from central differences (h = 1e-6).
double numericLogDet(const Case &c, const std::vector<double> &u) {
  std::vector<int64_t> rows = freeOutputs(c);
  size_t n = u.size();
  REQUIRE(rows.size() == n);
  std::vector<double> jac(n * n);
  const double h = 1e-6;
  for (size_t j = 0; j < n; ++j) {
    std::vector<double> up = u, dn = u;
    up[j] += h;
    dn[j] -= h;
    std::vector<double> fu = forward(c, up), fd = forward(c, dn);
    for (size_t i = 0; i < n; ++i) jac[i * n + j] = (fu[(size_t)rows[i]] - fd[(size_t)rows[i]]) / (2 * h);
  }
  return logAbsDet(jac, n);
}

std::vector<double> randomVector(std::mt19937_64 &rng, size_t n, double scale) {
  std::normal_distribution<double> d(0.0, scale);
  std::vector<double> v(n);
  for (double &x : v) x = d(rng);
  return v;
}

bool allFinite(const std::vector<double> &v) {
  return std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
}
bool anyNaN(const std::vector<double> &v) {
  return std::any_of(v.begin(), v.end(), [](double x) { return std::isnan(x); });
}

} // namespace

TEST_CASE("every bijector: inverse(forward(u)) == u at random points (f64)", "[bijectors]") {
  std::mt19937_64 rng(20240611);
  for (const Case &c : cases()) {
    INFO(c.label);
    size_t n = (size_t)numElements(storedOf(c));
    for (int trial = 0; trial < 5; ++trial) {
      std::vector<double> u = randomVector(rng, n, 1.5);
      std::vector<double> x = forward(c, u);
      REQUIRE((int64_t)x.size() == numElements(c.value));
      std::vector<double> back = inverse(c, x);
      REQUIRE(back.size() == n);
      for (size_t i = 0; i < n; ++i) {
        INFO("u[" << i << "] = " << u[i] << ", got " << back[i]);
        CHECK(std::fabs(back[i] - u[i]) <= 1e-9 * (1 + std::fabs(u[i])));
      }
    }
  }
}

TEST_CASE("every bijector: log|det J| matches a finite-difference determinant (f64)", "[bijectors]") {
  std::mt19937_64 rng(7);
  for (const Case &c : cases()) {
    INFO(c.label);
    size_t n = (size_t)numElements(storedOf(c));
    for (int trial = 0; trial < 3; ++trial) {
      std::vector<double> u = randomVector(rng, n, 1.0);
      double got = logDet(c, u), want = numericLogDet(c, u);
      INFO("analytic " << got << ", numeric " << want);
      CHECK(std::fabs(got - want) <= 1e-6 * (1 + std::fabs(want)));
    }
  }
}

TEST_CASE("bijectors at the edges: finite where representable, never NaN", "[bijectors]") {
  for (const Case &c : cases()) {
    INFO(c.label);
    size_t n = (size_t)numElements(storedOf(c));
    bool overflows = c.t.kind == Transform::Exp || c.t.kind == Transform::Ordered;
    for (double e : {-1e300, -1e6, -800.0, -40.0, 0.0, 40.0, 800.0, 1e6, 1e300}) {
      INFO("u = " << e << " everywhere");
      std::vector<double> u(n, e), x = forward(c, u);
      CHECK_FALSE(anyNaN(x));
      // exp(u) and the increments of `ordered` overflow to +inf past log(DBL_MAX).
      if (!overflows || e < 700) CHECK(allFinite(x));
      double ld = logDet(c, u);
      CHECK_FALSE(std::isnan(ld));
      if (std::fabs(e) <= 1e6) CHECK(std::isfinite(ld));
    }
    // Alternating signs, for the structured bijectors.
    std::vector<double> alt(n);
    for (size_t i = 0; i < n; ++i) alt[i] = i % 2 ? -1e6 : 1e6;
    CHECK_FALSE(anyNaN(forward(c, alt)));
    CHECK(std::isfinite(logDet(c, alt)));
  }
}

TEST_CASE("inverses are finite just inside their domains", "[bijectors]") {
  auto inv = [](Transform t, Shape s, std::vector<double> x) { return inverse(Case{"", t, std::move(s)}, x); };
  // > 0: tiny and huge
  CHECK(allFinite(inv({Transform::LowerBound, 0, 0}, {3}, {1e-300, 1e-20, 1e300})));
  CHECK(inv({Transform::LowerBound, 0, 0}, {1}, {1e-300})[0] == Approx(std::log(1e-300)));
  CHECK(inv({Transform::LowerBound, 0, 0}, {1}, {1e300})[0] == Approx(1e300));
  // < -2: just below and far below
  CHECK(allFinite(inv({Transform::UpperBound, -2, 0}, {2}, {-2.0000000001, -1e300})));
  // in (0, 1): next to each end
  std::vector<double> ends = inv({Transform::Interval, 0, 1}, {2}, {1e-300, 1 - 1e-16});
  CHECK(allFinite(ends));
  CHECK(ends[0] == Approx(std::log(1e-300)));
  // exp, softplus: tiny and huge
  CHECK(allFinite(inv({Transform::Exp, 0, 0}, {2}, {1e-300, 1e300})));
  CHECK(allFinite(inv({Transform::Softplus, 0, 0}, {2}, {1e-300, 1e300})));
  // ordered with a tiny increment
  CHECK(allFinite(inv({Transform::Ordered, 0, 0}, {3}, {-1e300, 0, 1e-300})));
  // a simplex with a tiny element, and one with a huge dynamic range
  CHECK(allFinite(inv({Transform::Simplex, 0, 0}, {3}, {1e-300, 0.5, 0.5})));
  CHECK(allFinite(inv({Transform::Simplex, 0, 0}, {3}, {1 - 2e-300, 1e-300, 1e-300})));
  // a Cholesky factor with a tiny diagonal entry
  CHECK(allFinite(inv({Transform::Cholesky, 0, 0}, {2, 2}, {1e-300, 0, -5, 1e300})));
}

TEST_CASE("simplex: u = 0 is uniform, values are positive and sum to 1", "[bijectors]") {
  Case c{"simplex", {Transform::Simplex, 0, 0}, {6}};
  std::vector<double> x = forward(c, std::vector<double>(5, 0.0));
  for (double v : x) CHECK(v == Approx(1.0 / 6).epsilon(1e-14));
  std::mt19937_64 rng(3);
  for (double scale : {0.1, 1.0, 10.0, 100.0}) {
    x = forward(c, randomVector(rng, 5, scale));
    CHECK(std::accumulate(x.begin(), x.end(), 0.0) == Approx(1.0).epsilon(1e-12));
    for (double v : x) CHECK(v >= 0);
  }
  // Batched along the last axis: each row is a simplex.
  Case rows{"simplex rows", {Transform::Simplex, 0, 0}, {3, 4}};
  x = forward(rows, randomVector(rng, 9, 2.0));
  for (int r = 0; r < 3; ++r) CHECK(x[r * 4] + x[r * 4 + 1] + x[r * 4 + 2] + x[r * 4 + 3] == Approx(1.0));
  // forward(inverse(x)) renormalises an x whose sum is off by rounding.
  std::vector<double> y = forward(c, inverse(c, {0.1, 0.2, 0.3, 0.1, 0.2, 0.1 + 1e-9}));
  CHECK(std::accumulate(y.begin(), y.end(), 0.0) == Approx(1.0).epsilon(1e-15));
}

TEST_CASE("cholesky: a lower-triangular factor with a positive diagonal", "[bijectors]") {
  Case c{"cholesky", {Transform::Cholesky, 0, 0}, {4, 4}};
  std::mt19937_64 rng(11);
  for (double scale : {0.5, 3.0, 30.0}) {
    std::vector<double> l = forward(c, randomVector(rng, 10, scale));
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) {
        if (j > i) CHECK(l[i * 4 + j] == 0.0);
        if (j == i) CHECK(l[i * 4 + j] > 0.0);
      }
  }
  // The packed layout is row by row: u = [L00', L10, L11', L20, L21, L22', ...] (' = softplus^-1).
  std::vector<double> u = inverse(Case{"", {Transform::Cholesky, 0, 0}, {2, 2}}, {2.0, 0.0, 0.5, 3.0});
  REQUIRE(u.size() == 3);
  CHECK(u[0] == Approx(std::log(std::expm1(2.0))));
  CHECK(u[1] == 0.5);
  CHECK(u[2] == Approx(std::log(std::expm1(3.0))));
}

TEST_CASE("every bijector has a row, and its stored shape", "[bijectors]") {
  CHECK(bijectorFor(Transform::Simplex).storedShape({2, 5}) == Shape{2, 4});
  CHECK(bijectorFor(Transform::Cholesky).storedShape({4, 4}) == Shape{10});
  CHECK(bijectorFor(Transform::Ordered).storedShape({3}) == Shape{3});
  CHECK_FALSE(bijectorFor(Transform::Simplex).checkShape({1}).empty());
  CHECK_FALSE(bijectorFor(Transform::Simplex).checkShape({}).empty());
  CHECK_FALSE(bijectorFor(Transform::Cholesky).checkShape({2, 3}).empty());
  CHECK(bijectorFor(Transform::Cholesky).checkShape({3, 3}).empty());
  CHECK(bijectorFor(Transform::Identity).forward != nullptr);
}

//===----------------------------------------------------------------------===//
// Checks and projections
//===----------------------------------------------------------------------===//

namespace {

/// Runs check_bounds(x [, step]) with the constraint `c`; returns the fault message or "".
std::string checkMessage(const ConstraintSpec &c, const Shape &s, const std::vector<double> &x, int step = 0) {
  ir::Module m;
  std::vector<ir::Type> params{ir::Type{F64, s}};
  auto *f = m.addFunction(std::make_unique<ir::Function>("f", params, std::vector<ir::Type>{}));
  Builder b(&f->body());
  Value *st = step ? b.scalar(DType::I32, step) : nullptr;
  Value *r = emitCheck(b, f->body().argument(0), st, c, "net.W", "constraint violated");
  f->setResultTypes({r->type()});
  b.create(OpKind::Return, {r}, {});
  std::string err;
  REQUIRE(ir::verifyModule(m, err));
  ir::Interpreter interp(m, {});
  try {
    Tensor out = interp.call("f", {tensorOf(s, x)})[0];
    CHECK(valuesOf(out) == x);
  } catch (const RuntimeFault &f) {
    return f.what();
  }
  return "";
}

ConstraintSpec spec(ConstraintSpec::Kind k, double lo = 0, double hi = 0, bool closed = false) {
  ConstraintSpec c;
  c.kind = k;
  c.lo = lo;
  c.hi = hi;
  c.closed = closed;
  return c;
}

/// Euclidean projection onto the simplex by sorting (Duchi et al. 2008).
std::vector<double> projectBySorting(const std::vector<double> &v) {
  std::vector<double> u = v;
  std::sort(u.begin(), u.end(), std::greater<>());
  double s = 0, tau = 0;
  for (size_t k = 0; k < u.size(); ++k) {
    s += u[k];
    double t = (s - 1) / (double)(k + 1);
    if (u[k] - t > 0) tau = t;
  }
  std::vector<double> x;
  for (double e : v) x.push_back(std::max(e - tau, 0.0));
  return x;
}

} // namespace

TEST_CASE("check_bounds passes values inside and names path, bound, value, index and step", "[bijectors]") {
  using K = ConstraintSpec;
  CHECK(checkMessage(spec(K::Greater, 0), {2}, {1, 2}) == "");
  CHECK(checkMessage(spec(K::Greater, 0), {}, {-0.013}, 17) ==
        "constraint violated: 'net.W' must be > 0, got -0.013 (train step 17)");
  CHECK(checkMessage(spec(K::Greater, 0), {}, {0.0}) == "constraint violated: 'net.W' must be > 0, got 0.0");
  CHECK(checkMessage(spec(K::Greater, 0, 0, true), {}, {0.0}) == "");
  CHECK(checkMessage(spec(K::Less, 0, 5), {2, 2}, {1, 2, 3, 6}) ==
        "constraint violated: 'net.W' must be < 5, got 6.0 at [1, 1]");
  CHECK(checkMessage(spec(K::Interval, -1, 1, true), {3}, {-1, 1, 0}) == "");
  CHECK(checkMessage(spec(K::Interval, -1, 1), {3}, {-1, 1, 0}) ==
        "constraint violated: 'net.W' must be in (-1, 1), got -1.0 at [0]");
  // NaN and infinities violate every constraint.
  CHECK(checkMessage(spec(K::Greater, 0), {2}, {1, NAN}).find("got nan at [1]") != std::string::npos);
  CHECK(checkMessage(spec(K::Interval, -1, 1, true), {1}, {INFINITY}).find("got inf") != std::string::npos);
  CHECK(checkMessage(spec(K::Increasing), {3}, {1, 2, 2}) ==
        "constraint violated: 'net.W' must be strictly increasing, got 2.0 at [2] after 2.0 at [1]");
  CHECK(checkMessage(spec(K::Simplex, 0, 0, true), {3}, {0.5, 0.5, 0}) == "");
  CHECK(checkMessage(spec(K::Simplex), {3}, {0.5, 0.5, 0}).find("got 0.0 at [2]") != std::string::npos);
  CHECK(checkMessage(spec(K::Simplex), {2, 2}, {0.5, 0.5, 0.5, 0.6}).find("summing to 1.1 at [1]") !=
        std::string::npos);
  CHECK(checkMessage(spec(K::LowerTriangular), {2, 2}, {1, 0, 3, 2}) == "");
  CHECK(checkMessage(spec(K::LowerTriangular), {2, 2}, {1, 0.5, 3, 2}).find("0.5 at [0, 1] above the diagonal") !=
        std::string::npos);
  CHECK(checkMessage(spec(K::LowerTriangular), {2, 2}, {1, 0, 3, 0}).find("0.0 at [1, 1] on the diagonal") !=
        std::string::npos);
}

TEST_CASE("simplex projection matches the sort-based algorithm, and bounds clamp", "[bijectors]") {
  std::mt19937_64 rng(5);
  Bound simplex;
  simplex.kind = Bound::Simplex;
  auto project = [&](const Bound &bd, const Shape &s, const std::vector<double> &v) {
    return valuesOf(runEmitter(s, [&](Builder &b, Value *x) { return emitProjection(b, bd, x); }, v));
  };
  std::vector<std::vector<double>> inputs = {
      {1.0, 0.4, -0.2}, {0.2, 0.3, 0.5}, {5, 5, 5, 5}, {0.3, 0.3, -2, 0.3}, {-3, -4, -5}, {100, 0, 0}};
  for (int i = 0; i < 20; ++i) inputs.push_back(randomVector(rng, 7, i < 10 ? 1.0 : 10.0));
  for (const std::vector<double> &v : inputs) {
    std::vector<double> got = project(simplex, {(int64_t)v.size()}, v), want = projectBySorting(v);
    for (size_t k = 0; k < v.size(); ++k) CHECK(got[k] == Approx(want[k]).margin(1e-12));
    CHECK(std::accumulate(got.begin(), got.end(), 0.0) == Approx(1.0).epsilon(1e-12));
  }
  // Rows of a matrix independently.
  std::vector<double> two = project(simplex, {2, 3}, {1.0, 0.4, -0.2, 0.2, 0.3, 0.5});
  CHECK(two[0] == Approx(0.8));
  CHECK(two[1] == Approx(0.2));
  CHECK(two[2] == 0.0);
  CHECK(two[4] == Approx(0.3));
  Bound in;
  in.kind = Bound::Interval;
  in.lo = -1;
  in.hi = 2;
  CHECK(project(in, {4}, {-5, 0, 1.5, 7}) == std::vector<double>{-1, 0, 1.5, 2});
  Bound gt;
  gt.kind = Bound::Greater;
  gt.lo = 0.5;
  CHECK(project(gt, {2}, {0, 3}) == std::vector<double>{0.5, 3});
}

//===----------------------------------------------------------------------===//
// The language level
//===----------------------------------------------------------------------===//

namespace {

struct Ran {
  std::vector<std::string> errors; ///< compile-time: "LINE:COL: message"
  std::string out;                 ///< what main printed
  std::string fault;               ///< "LINE:COL: message" of a run-time error
};

Ran runSource(const std::string &src) {
  Ran r;
  Compilation comp(nullptr);
  comp.diagnostics().setQuiet(true);
  std::unique_ptr<ir::Module> m;
  if (comp.loadSource("test.ptl", src)) m = comp.elaborate({});
  for (const ReportedDiagnostic &d : comp.diagnostics().all())
    if (d.severity == Severity::Error)
      r.errors.push_back(std::to_string(d.loc.line) + ":" + std::to_string(d.loc.col) + ": " + d.message);
  if (!m) return r;
  std::string error;
  INFO(error);
  REQUIRE(comp.runDefaultPipeline(*m, error)); // the driver's pipeline
  std::ostringstream out;
  ir::InterpOptions opts;
  opts.out = &out;
  std::ostringstream err;
  opts.err = &err;
  ir::Interpreter interp(*m, opts);
  try {
    interp.call("main", {});
  } catch (const RuntimeFault &f) {
    r.fault = std::to_string(f.loc.line) + ":" + std::to_string(f.loc.col) + ": " + f.what();
  }
  r.out = out.str();
  return r;
}

} // namespace

TEST_CASE("a constant outside a bijector's domain is a compile-time error", "[bijectors]") {
  Ran r = runSource(R"(model C {
  param a: f32 = 0.0 constrain > 0
}
let c = C()
)");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0] == "2:18: value outside the parameter's domain: 'a' must be > 0, got 0.0");

  r = runSource(R"(model C {
  param s: f32[3] = [0.5, 0.5, 0.5] constrain : simplex
  param L: f32[2, 2] = [[1.0, 0.0], [0.0, 1.0]] constrain : cholesky
}
let c = C(s = [0.5, 0.5, 0.0], L = [[1.0, 2.0], [0.0, 1.0]])
)");
  REQUIRE(r.errors.size() >= 1);
  CHECK(r.errors[0].find("'s' must be on the simplex (positive, summing to 1), got 0.0 at [2]") != std::string::npos);
}

TEST_CASE("a run-time value outside the domain stops the run naming the parameter", "[bijectors]") {
  Ran r = runSource(R"(model C {
  param a: f32 = 1.0 constrain in (0, 1)
  param o: f32[3] = [0.0, 1.0, 2.0] constrain : ordered
}
let v = [0.5, 1.0]
var c = C(a = v[0])
print(c.a)
c.o = v[1] * [0.0, 2.0, 2.0]
)");
  REQUIRE(r.errors.empty());
  CHECK(r.out == "0.5\n");
  CHECK(r.fault == "8:1: value outside the parameter's domain: 'o' must be strictly increasing, "
                   "got 2.0 at [2] after 2.0 at [1]");
}

TEST_CASE("check: a violation during train names path, value, step and line", "[bijectors]") {
  Ran r = runSource(R"(model M {
  param a: f32 = 0.5 constrain > 0 check
}
fn loss(m: M) -> f32 = (m.a + 1.0) ^ 2
var m = M()
train m minimizing loss(m) with sgd(lr = 0.1) for 20 steps
)");
  REQUIRE(r.errors.empty());
  CHECK(r.fault == "6:1: constraint violated: 'a' must be > 0, got -0.04000002 (train step 2)");
}

TEST_CASE("check: overrides, field writes and load are checked", "[bijectors]") {
  Ran r = runSource(R"(model M { param w: f32[2] = [0.5, 0.5] constrain in [0, 1] check }
let bad = [2.0, 0.5]
let m = M(w = bad * 0.25)
print(m.w)
var n = M(w = bad * 1.0)
)");
  INFO((r.errors.empty() ? "" : r.errors[0]));
  REQUIRE(r.errors.empty());
  CHECK(r.out == "[0.5   0.125]\n");
  CHECK(r.fault == "5:11: constraint violated: 'w' must be in [0, 1], got 2.0 at [0]");
  // A constant override is reported at compile time.
  r = runSource("model M { param w: f32 = 0.5 constrain in [0, 1] check }\nlet m = M(w = 1.5)\n");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0] == "2:11: constraint violated: 'w' must be in [0, 1], got 1.5");
  // A per-timestep field write.
  r = runSource(R"(model M { param w: f32 = 0.5 constrain > 0 check }
var net = M()
for t in 0..5 {
  net.w -= 0.2
}
)");
  CHECK(r.fault == "4:3: constraint violated: 'w' must be > 0, got -0.099999994");
}

TEST_CASE("project keeps parameters in their sets during train", "[bijectors]") {
  Ran r = runSource(R"(model M {
  param a: f32 = 0.5 constrain > 0 project
  param s: f32[3] = [0.2, 0.3, 0.5] constrain : simplex project
}
fn loss(m: M) -> f32 = (m.a + 1.0) ^ 2 + sum((m.s - [1.0, 0.4, -0.2]) ^ 2)
var m = M()
train m minimizing loss(m) with sgd(lr = 0.1) for 50 steps
print(m.a, abs(sum(m.s) - 1.0) < 1e-6, abs(m.s[0] - 0.8) < 1e-4, m.s[2])
)");
  REQUIRE(r.errors.empty());
  CHECK(r.fault == "");
  CHECK(r.out == "0.0 True True 0.0\n");
}

TEST_CASE("log_jacobian sums log|det J| over transformed leaves and is differentiable", "[bijectors]") {
  Ran r = runSource(R"(model M {
  param a: f64 = f64(2.0) constrain > 1
  param p: f64 = f64(0.5) reparam exp
  param w: f64 = f64(3.0)
  param k: f64 = f64(4.0) constrain > 0 stop_grad
}
let m = M()
let want = -softplus(-raw(m.a)) + raw(m.p)
print(abs(log_jacobian(m) - want) < 1e-12)
let g = grad(log_jacobian(m), m)
print(abs(raw(g.a) - sigmoid(-raw(m.a))) < 1e-12, raw(g.p), raw(g.w), raw(g.k))
model N { param w: f32 = 1.0 }
print(log_jacobian(N()))
)");
  INFO((r.errors.empty() ? "" : r.errors[0]));
  REQUIRE(r.errors.empty());
  CHECK(r.fault == "");
  CHECK(r.out == "True\nTrue 1.0 0.0 0.0\n0.0\n");
}

TEST_CASE("declaration errors: shapes, project on structures", "[bijectors]") {
  Ran r = runSource("model M { param s: f32 constrain : simplex }\nlet m = M()\n");
  INFO((r.errors.empty() ? "" : r.errors.front()));
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].find("constrain : simplex needs a parameter of rank 1 or more") != std::string::npos);
  r = runSource("model M { param L: f32[2, 3] constrain : cholesky }\nlet m = M()\n");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].find("square matrix") != std::string::npos);
  r = runSource("model M { param o: f32[3] = [1.0, 2.0, 3.0] constrain : ordered project }\nlet m = M()\n");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].find("cannot be projected onto") != std::string::npos);
}
