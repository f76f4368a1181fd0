//===- frontend/Bijectors.cpp - The parameter bijectors, in one table -------===//
//
// Each row of the table: forward x = f(u), inverse u = f^-1(x), and
// log|det J| = log|det df/du| summed over the parameter, with the formula
// above each emitter. Structured bijectors act along the last axis (ordered,
// simplex) or on a square matrix (cholesky). Everything is emitted with ops
// that have derivative rules, so field reads, writes and log_jacobian are
// differentiable (and differentiable again).
//
// softplus(u) = log(1 + e^u) and sigmoid are the interpreter's stable kernels;
// softplus^-1(y) = log(e^y - 1) is computed as y + log(-expm1(-y)), finite
// for every y > 0 (1e-300 -> -690.8, 1e300 -> 1e300).
//
//===----------------------------------------------------------------------===//
#include "frontend/Bijectors.h"
#include "runtime/Check.h"

#include <cmath>

namespace ptl::sema {

using ir::Builder;
using ir::OpKind;
using ir::Value;

namespace {

//===----------------------------------------------------------------------===//
// Emission helpers
//===----------------------------------------------------------------------===//

DType dtypeOf(const Value *v) { return v->type().dtype; }
const Shape &shapeOf(const Value *v) { return v->type().shape; }
int64_t lastAxis(const Value *v) { return (int64_t)shapeOf(v).size() - 1; }

Value *cst(Builder &b, const Value *like, double v) { return b.scalar(dtypeOf(like), v); }
Value *un(Builder &b, OpKind k, Value *x) { return b.make(k, {x}); }
Value *bin(Builder &b, OpKind k, Value *x, Value *y) { return b.make(k, {x, y}); }
Value *neg(Builder &b, Value *x) { return un(b, OpKind::Neg, x); }
Value *softplus(Builder &b, Value *x) { return un(b, OpKind::Softplus, x); }

/// The sum of every element: a scalar.
Value *sumAll(Builder &b, Value *x) {
  return b.make(OpKind::ReduceSum, {x}, {{"axes", std::vector<int64_t>{}}, {"keepdims", false}});
}
/// x[..., a:c] along the last axis.
Value *sliceLast(Builder &b, Value *x, int64_t a, int64_t c) {
  const Shape &s = shapeOf(x);
  std::vector<int64_t> starts(s.size(), 0), ends(s.begin(), s.end());
  starts.back() = a;
  ends.back() = c;
  return b.make(OpKind::Slice, {x}, {{"starts", starts}, {"ends", ends}});
}
/// Concatenation along the last axis.
Value *concatLast(Builder &b, std::vector<Value *> xs) {
  int64_t axis = lastAxis(xs[0]);
  return b.make(OpKind::Concat, std::move(xs), {{"axis", axis}});
}
/// A constant i32[n] index vector.
Value *indices(Builder &b, const std::vector<int64_t> &v) {
  ir::Dense d;
  for (int64_t i : v) d.values.push_back((double)i);
  return b.create(OpKind::Constant, {}, {ir::Type{DType::I32, {(int64_t)v.size()}}}, {{"value", d}})->result(0);
}
/// A constant float vector of `like`'s dtype.
Value *floats(Builder &b, const Value *like, const std::vector<double> &v) {
  return b.create(OpKind::Constant, {}, {ir::Type{dtypeOf(like), {(int64_t)v.size()}}}, {{"value", ir::Dense{v}}})
      ->result(0);
}
/// x gathered at `idx` along the last axis.
Value *takeLast(Builder &b, Value *x, const std::vector<int64_t> &idx) {
  return b.make(OpKind::Take, {x, indices(b, idx)}, {{"axis", lastAxis(x)}});
}
/// A constant `v` shaped like x with the last axis of extent 1.
Value *fillLast1(Builder &b, Value *x, double v) {
  Shape s = shapeOf(x);
  s.back() = 1;
  return b.constant(ir::Type{dtypeOf(x), s}, v);
}
Value *zerosLast1(Builder &b, Value *x) { return fillLast1(b, x, 0); }
Value *reshape(Builder &b, Value *x, Shape s) {
  return b.create(OpKind::Reshape, {x}, {ir::Type{dtypeOf(x), std::move(s)}})->result(0);
}

/// softplus^-1(y) = log(e^y - 1) = y + log(-expm1(-y)): finite for all y > 0,
/// -inf at y = 0 (callers check the domain first).
Value *softplusInverse(Builder &b, Value *y) {
  Value *t = un(b, OpKind::Expm1, neg(b, y));
  return bin(b, OpKind::Add, y, un(b, OpKind::Log, neg(b, t)));
}

/// log sigmoid(u) = -softplus(-u), summed: the log-derivative of c +- softplus(u).
Value *sumLogSigmoid(Builder &b, Value *u) { return neg(b, sumAll(b, softplus(b, neg(b, u)))); }

//===----------------------------------------------------------------------===//
// Shapes
//===----------------------------------------------------------------------===//

std::string anyShape(const Shape &) { return ""; }
Shape sameShape(const Shape &s) { return s; }

std::string lastAxisShape(const Shape &s, const char *what, int64_t minLen) {
  if (s.empty())
    return std::string("constrain : ") + what + " needs a parameter of rank 1 or more (the last axis), got a scalar";
  if (s.back() < minLen)
    return std::string("constrain : ") + what + " needs at least " + std::to_string(minLen) +
           " elements along the last axis, got " + std::to_string(s.back());
  return "";
}
std::string orderedShape(const Shape &s) { return lastAxisShape(s, "ordered", 1); }
std::string simplexShape(const Shape &s) { return lastAxisShape(s, "simplex", 2); }
/// simplex: the stored u has one element fewer along the last axis.
Shape simplexStored(const Shape &s) {
  Shape r = s;
  r.back() -= 1;
  return r;
}
std::string choleskyShape(const Shape &s) {
  if (s.size() != 2 || s[0] != s[1] || s[0] < 1)
    return "constrain : cholesky needs a square matrix parameter [n, n]";
  return "";
}
/// cholesky: the n(n+1)/2 entries of the lower triangle, packed row by row:
/// u[i(i+1)/2 + j] = L[i, j] for j < i, softplus^-1(L[i, i]) for j = i.
Shape choleskyStored(const Shape &s) { return Shape{s[0] * (s[0] + 1) / 2}; }
/// n from the packed length m = n(n+1)/2.
int64_t choleskyN(int64_t m) {
  int64_t n = (int64_t)std::llround((std::sqrt(8.0 * (double)m + 1) - 1) / 2);
  PTL_CHECK(n * (n + 1) / 2 == m, "not a packed triangle length");
  return n;
}
int64_t packed(int64_t i, int64_t j) { return i * (i + 1) / 2 + j; }

//===----------------------------------------------------------------------===//
// The bijectors
//===----------------------------------------------------------------------===//

// ---- identity: x = u;  log|J| = 0 ----
Value *identityForward(Builder &, const Transform &, Value *u) { return u; }
Value *identityLogDet(Builder &b, const Transform &, Value *u) { return cst(b, u, 0); }

// ---- constrain > c: x = c + softplus(u);  u = softplus^-1(x - c);
//      log|J| = sum log sigmoid(u) = -sum softplus(-u) ----
Value *lowerForward(Builder &b, const Transform &t, Value *u) {
  return bin(b, OpKind::Add, cst(b, u, t.lo), softplus(b, u));
}
Value *lowerInverse(Builder &b, const Transform &t, Value *x) {
  return softplusInverse(b, bin(b, OpKind::Sub, x, cst(b, x, t.lo)));
}

// ---- constrain < c: x = c - softplus(u);  u = softplus^-1(c - x);
//      log|J| = sum log sigmoid(u) = -sum softplus(-u) ----
Value *upperForward(Builder &b, const Transform &t, Value *u) {
  return bin(b, OpKind::Sub, cst(b, u, t.lo), softplus(b, u));
}
Value *upperInverse(Builder &b, const Transform &t, Value *x) {
  return softplusInverse(b, bin(b, OpKind::Sub, cst(b, x, t.lo), x));
}

// ---- constrain in (lo, hi), reparam sigmoid(lo, hi):
//      x = lo + (hi - lo) sigmoid(u);
//      u = log(x - lo) - log(hi - x)   (logit((x - lo)/(hi - lo)) without 1 - p cancellation);
//      log|J| = sum [log(hi - lo) + log sigmoid(u) + log sigmoid(-u)]
//             = n log(hi - lo) - sum [softplus(-u) + softplus(u)] ----
Value *intervalForward(Builder &b, const Transform &t, Value *u) {
  Value *s = bin(b, OpKind::Mul, cst(b, u, t.hi - t.lo), un(b, OpKind::Sigmoid, u));
  return bin(b, OpKind::Add, cst(b, u, t.lo), s);
}
Value *intervalInverse(Builder &b, const Transform &t, Value *x) {
  Value *above = un(b, OpKind::Log, bin(b, OpKind::Sub, x, cst(b, x, t.lo)));
  Value *below = un(b, OpKind::Log, bin(b, OpKind::Sub, cst(b, x, t.hi), x));
  return bin(b, OpKind::Sub, above, below);
}
Value *intervalLogDet(Builder &b, const Transform &t, Value *u) {
  double n = (double)numElements(shapeOf(u));
  Value *both = bin(b, OpKind::Add, softplus(b, u), softplus(b, neg(b, u)));
  return bin(b, OpKind::Sub, cst(b, u, n * std::log(t.hi - t.lo)), sumAll(b, both));
}

// ---- reparam exp: x = exp(u);  u = log(x);  log|J| = sum u ----
Value *expForward(Builder &b, const Transform &, Value *u) { return un(b, OpKind::Exp, u); }
Value *expInverse(Builder &b, const Transform &, Value *x) { return un(b, OpKind::Log, x); }
Value *expLogDet(Builder &b, const Transform &, Value *u) { return sumAll(b, u); }

// ---- reparam softplus: x = softplus(u);  u = softplus^-1(x);
//      log|J| = sum log sigmoid(u) = -sum softplus(-u) ----
Value *softplusForward(Builder &b, const Transform &, Value *u) { return softplus(b, u); }
Value *softplusInv(Builder &b, const Transform &, Value *x) { return softplusInverse(b, x); }
Value *logSigmoidLogDet(Builder &b, const Transform &, Value *u) { return sumLogSigmoid(b, u); }

// ---- constrain : ordered, along the last axis (K elements):
//      x = cumsum([u0, exp(u1), ..., exp(u_{K-1})]);
//      u = [x0, log(x1 - x0), ..., log(x_{K-1} - x_{K-2})];
//      J is lower-triangular with diagonal [1, exp(u1), ...]: log|J| = sum u[..., 1:] ----
Value *orderedForward(Builder &b, const Transform &, Value *u) {
  int64_t k = shapeOf(u).back();
  if (k == 1) return u;
  Value *cat = concatLast(b, {sliceLast(b, u, 0, 1), un(b, OpKind::Exp, sliceLast(b, u, 1, k))});
  return b.make(OpKind::CumSum, {cat}, {{"axis", lastAxis(u)}});
}
Value *orderedInverse(Builder &b, const Transform &, Value *x) {
  int64_t k = shapeOf(x).back();
  if (k == 1) return x;
  Value *d = bin(b, OpKind::Sub, sliceLast(b, x, 1, k), sliceLast(b, x, 0, k - 1));
  return concatLast(b, {sliceLast(b, x, 0, 1), un(b, OpKind::Log, d)});
}
Value *orderedLogDet(Builder &b, const Transform &, Value *u) {
  int64_t k = shapeOf(u).back();
  if (k == 1) return cst(b, u, 0);
  return sumAll(b, sliceLast(b, u, 1, k));
}

// ---- constrain : simplex, stick-breaking along the last axis (Stan's), value
//      x[K], stored u[K-1]. With the offset a_k = u_k - log(K-1-k) (so u = 0 is
//      the uniform simplex, x_k = 1/K):
//        z_k = sigmoid(a_k),  r_0 = 1,  r_{k+1} = r_k (1 - z_k),
//        x_k = r_k z_k (k < K-1),  x_{K-1} = r_{K-1};
//      the stick r in log space: log(1 - z_k) = -softplus(a_k),
//        log r = [0, cumsum(-softplus(a))], x = exp(log r) * [z, 1]
//      (the last element is exp(sum log(1 - z)), not 1 - sum x: no cancellation).
//      Inverse, with the tail sums t_k = sum_{j>k} x_j (a reversed cumsum):
//        u_k = log x_k - log t_k + log(K-1-k)   (logit(x_k / (x_k + t_k)) + offset),
//      so forward(inverse(x)) = x / sum(x) exactly in exact arithmetic.
//      J (over x_0..x_{K-2}) is lower-triangular, dx_k/du_k = r_k z_k (1 - z_k):
//        log|J| = sum_{k<K-1} [log r_k - softplus(-a_k) - softplus(a_k)] ----
Value *simplexOffsets(Builder &b, Value *like, int64_t m) {
  std::vector<double> off;
  for (int64_t k = 0; k < m; ++k) off.push_back(std::log((double)(m - k)));
  return floats(b, like, off);
}
/// log r_0..log r_{K-1} and the offset argument a, for stored u.
std::pair<Value *, Value *> simplexLogR(Builder &b, Value *u) {
  int64_t m = shapeOf(u).back();
  Value *a = bin(b, OpKind::Sub, u, simplexOffsets(b, u, m));
  Value *l = b.make(OpKind::CumSum, {neg(b, softplus(b, a))}, {{"axis", lastAxis(u)}});
  return {concatLast(b, {zerosLast1(b, u), l}), a};
}
Value *simplexForward(Builder &b, const Transform &, Value *u) {
  auto [logr, a] = simplexLogR(b, u);
  // x = r * [z, 1] (one rounding fewer than exp(log r + log z); both factors in [0, 1])
  Value *z = concatLast(b, {un(b, OpKind::Sigmoid, a), fillLast1(b, u, 1)});
  return bin(b, OpKind::Mul, un(b, OpKind::Exp, logr), z);
}
Value *simplexInverse(Builder &b, const Transform &, Value *x) {
  int64_t k = shapeOf(x).back(), m = k - 1;
  std::vector<int64_t> rev, tailIdx;
  for (int64_t i = k - 1; i >= 0; --i) rev.push_back(i);
  for (int64_t i = k - 2; i >= 0; --i) tailIdx.push_back(i);
  // c_i = sum_{j >= K-1-i} x_j;  t_k = c_{K-2-k}
  Value *c = b.make(OpKind::CumSum, {takeLast(b, x, rev)}, {{"axis", lastAxis(x)}});
  Value *tail = takeLast(b, c, tailIdx);
  Value *logit = bin(b, OpKind::Sub, un(b, OpKind::Log, sliceLast(b, x, 0, m)), un(b, OpKind::Log, tail));
  return bin(b, OpKind::Add, logit, simplexOffsets(b, x, m));
}
Value *simplexLogDet(Builder &b, const Transform &, Value *u) {
  int64_t m = shapeOf(u).back();
  auto [logr, a] = simplexLogR(b, u);
  Value *both = bin(b, OpKind::Add, softplus(b, a), softplus(b, neg(b, a)));
  return bin(b, OpKind::Sub, sumAll(b, sliceLast(b, logr, 0, m)), sumAll(b, both));
}

// ---- constrain : cholesky, value L[n, n], stored u[n(n+1)/2] packed row by row
//      (u[i(i+1)/2 + j] for j <= i):
//        L[i, j] = u[p(i, j)] (j < i),  L[i, i] = softplus(u[p(i, i)]),  L[i, j] = 0 (j > i);
//        u[p(i, j)] = L[i, j] (j < i),  u[p(i, i)] = softplus^-1(L[i, i]);
//      J is diagonal over the packed entries (1 off the diagonal, sigmoid on it):
//        log|J| = sum_i log sigmoid(u[p(i, i)]) = -sum_i softplus(-u[p(i, i)]).
//      Built from gathers so the off-diagonal entries never pass through
//      softplus^-1 (no NaN in an unselected branch). ----
std::vector<int64_t> choleskyDiag(int64_t n) {
  std::vector<int64_t> d;
  for (int64_t i = 0; i < n; ++i) d.push_back(packed(i, i));
  return d;
}
Value *choleskyForward(Builder &b, const Transform &, Value *u) {
  int64_t m = shapeOf(u)[0], n = choleskyN(m);
  Value *d = softplus(b, takeLast(b, u, choleskyDiag(n)));
  // ext = [u (m), softplus(diag) (n), 0]
  Value *ext = concatLast(b, {u, d, b.constant(ir::Type{dtypeOf(u), {1}}, 0)});
  std::vector<int64_t> map;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) map.push_back(j < i ? packed(i, j) : j == i ? m + i : m + n);
  return reshape(b, takeLast(b, ext, map), Shape{n, n});
}
Value *choleskyInverse(Builder &b, const Transform &, Value *x) {
  int64_t n = shapeOf(x)[0], m = n * (n + 1) / 2;
  Value *flat = reshape(b, x, Shape{n * n});
  std::vector<int64_t> lower, diag, map;
  for (int64_t i = 0; i < n; ++i) {
    diag.push_back(i * n + i);
    for (int64_t j = 0; j <= i; ++j) {
      lower.push_back(i * n + j);
      map.push_back(j < i ? packed(i, j) : m + i);
    }
  }
  // ext = [L packed (m), softplus^-1(diag) (n)]
  Value *ext = concatLast(b, {takeLast(b, flat, lower), softplusInverse(b, takeLast(b, flat, diag))});
  return takeLast(b, ext, map);
}
Value *choleskyLogDet(Builder &b, const Transform &, Value *u) {
  return sumLogSigmoid(b, takeLast(b, u, choleskyDiag(choleskyN(shapeOf(u)[0]))));
}

const Bijector kTable[] = {
    {Transform::Identity, "identity", anyShape, sameShape, identityForward, identityForward, identityLogDet},
    {Transform::LowerBound, "lower_bound", anyShape, sameShape, lowerForward, lowerInverse, logSigmoidLogDet},
    {Transform::UpperBound, "upper_bound", anyShape, sameShape, upperForward, upperInverse, logSigmoidLogDet},
    {Transform::Interval, "interval", anyShape, sameShape, intervalForward, intervalInverse, intervalLogDet},
    {Transform::Exp, "exp", anyShape, sameShape, expForward, expInverse, expLogDet},
    {Transform::Softplus, "softplus", anyShape, sameShape, softplusForward, softplusInv, logSigmoidLogDet},
    {Transform::Ordered, "ordered", orderedShape, sameShape, orderedForward, orderedInverse, orderedLogDet},
    {Transform::Simplex, "simplex", simplexShape, simplexStored, simplexForward, simplexInverse, simplexLogDet},
    {Transform::Cholesky, "cholesky", choleskyShape, choleskyStored, choleskyForward, choleskyInverse,
     choleskyLogDet},
};

} // namespace

const Bijector &bijectorFor(Transform::Kind kind) {
  for (const Bijector &b : kTable)
    if (b.kind == kind) return b;
  PTL_UNREACHABLE("transform kind missing from the bijector table");
  return kTable[0];
}

std::optional<ConstraintSpec> domainOf(const Transform &t) {
  ConstraintSpec c;
  switch (t.kind) {
  case Transform::Identity: return std::nullopt;
  case Transform::LowerBound: c.kind = ConstraintSpec::Greater; c.lo = t.lo; break;
  case Transform::UpperBound: c.kind = ConstraintSpec::Less; c.hi = t.lo; break;
  case Transform::Interval: c.kind = ConstraintSpec::Interval; c.lo = t.lo; c.hi = t.hi; break;
  case Transform::Exp:
  case Transform::Softplus: c.kind = ConstraintSpec::Greater; c.lo = 0; break;
  case Transform::Ordered: c.kind = ConstraintSpec::Increasing; break;
  case Transform::Simplex: c.kind = ConstraintSpec::Simplex; break;
  case Transform::Cholesky: c.kind = ConstraintSpec::LowerTriangular; break;
  }
  return c;
}

std::optional<ConstraintSpec> constraintOf(const Bound &bd) {
  ConstraintSpec c;
  c.closed = bd.closed;
  switch (bd.kind) {
  case Bound::None: return std::nullopt;
  case Bound::Greater: c.kind = ConstraintSpec::Greater; c.lo = bd.lo; break;
  case Bound::Less: c.kind = ConstraintSpec::Less; c.hi = bd.lo; break;
  case Bound::Interval: c.kind = ConstraintSpec::Interval; c.lo = bd.lo; c.hi = bd.hi; break;
  // A checked simplex or factor may touch its boundary (projection lands on it).
  case Bound::Simplex: c.kind = ConstraintSpec::Simplex; c.closed = true; break;
  case Bound::Ordered: c.kind = ConstraintSpec::Increasing; break;
  case Bound::Cholesky: c.kind = ConstraintSpec::LowerTriangular; break;
  }
  return c;
}

ir::Value *emitCheck(Builder &b, Value *x, Value *step, const ConstraintSpec &c, const std::string &path,
                     const std::string &message) {
  ir::AttrMap attrs{{"kind", std::string(ConstraintSpec::kindName(c.kind))},
                    {"path", path},
                    {"message", message}};
  if (c.kind == ConstraintSpec::Greater || c.kind == ConstraintSpec::Interval) attrs["lo"] = c.lo;
  if (c.kind == ConstraintSpec::Less || c.kind == ConstraintSpec::Interval) attrs["hi"] = c.hi;
  if (c.closed) attrs["closed"] = true;
  std::vector<Value *> operands{x};
  if (step) operands.push_back(step);
  return b.make(OpKind::CheckBounds, operands, attrs);
}

bool canProject(const Bound &bound) {
  return bound.kind == Bound::Greater || bound.kind == Bound::Less || bound.kind == Bound::Interval ||
         bound.kind == Bound::Simplex;
}

ir::Value *emitProjection(Builder &b, const Bound &bd, Value *x) {
  switch (bd.kind) {
  // max(x, lo)
  case Bound::Greater: return bin(b, OpKind::Max, x, cst(b, x, bd.lo));
  // min(x, c)
  case Bound::Less: return bin(b, OpKind::Min, x, cst(b, x, bd.lo));
  // clamp(x, lo, hi)
  case Bound::Interval: return b.make(OpKind::Clamp, {x, cst(b, x, bd.lo), cst(b, x, bd.hi)});
  // relu(x - tau), tau = max_i (sum_j [x_j >= x_i] x_j - 1) / sum_j [x_j >= x_i]
  case Bound::Simplex: {
    Shape s = shapeOf(x);
    int64_t r = (int64_t)s.size();
    Shape si = s, sj = s;
    si.push_back(1);                      // [..., K, 1]: x_i
    sj.insert(sj.end() - 1, 1);           // [..., 1, K]: x_j
    Value *xi = reshape(b, x, si), *xj = reshape(b, x, sj);
    Value *ge = bin(b, OpKind::Ge, xj, xi); // [..., K, K]: x_j >= x_i
    ir::AttrMap overJ{{"axes", std::vector<int64_t>{r}}, {"keepdims", false}};
    Value *count = b.make(OpKind::ReduceSum, {b.make(OpKind::Select, {ge, cst(b, x, 1), cst(b, x, 0)})}, overJ);
    Value *total = b.make(OpKind::ReduceSum, {b.make(OpKind::Select, {ge, xj, cst(b, x, 0)})}, overJ);
    Value *cand = bin(b, OpKind::Div, bin(b, OpKind::Sub, total, cst(b, x, 1)), count);
    Value *tau = b.make(OpKind::ReduceMax, {cand}, {{"axes", std::vector<int64_t>{r - 1}}, {"keepdims", true}});
    return un(b, OpKind::Relu, bin(b, OpKind::Sub, x, tau));
  }
  case Bound::None:
  case Bound::Ordered:
  case Bound::Cholesky: break;
  }
  PTL_UNREACHABLE("no projection for this bound");
  return x;
}

} // namespace ptl::sema
