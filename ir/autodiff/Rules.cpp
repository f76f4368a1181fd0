//===- ir/autodiff/Rules.cpp - Derivative rules of the primitive ops -------===//
//
// One reverse-mode rule per op kind without regions, selected by a switch over
// every row of Ops.def (no default, so a new op without a decision here warns
// with -Wswitch). Each rule has its derivative written above it; `g` is the
// adjoint of the op's result, `y` the result, `x`, `a`, `b` the operands.
//
// The generic part (operandAdjoints) handles what every rule would repeat:
// a null result adjoint gives null operand adjoints; ops whose result is not a
// float, and operands that are not floats (indices, masks), get null
// adjoints; every adjoint is checked to have its operand's type.
//
// Kinks follow PyTorch: relu'(0) = 0, abs'(0) = 0 (via sign), clamp passes
// the gradient to x on the closed interval lo <= x <= hi, and ties of
// max/min (elementwise and reductions) split the gradient evenly.
//
// Rules only emit ops that have rules themselves (so the output of autodiff
// can be differentiated again), and keep every adjoint in its operand's
// dtype (scalar constants take the dtype of the value they combine with).
//
//===----------------------------------------------------------------------===//
#include "ir/autodiff/Rules.h"
#include "runtime/Check.h"


namespace ptl::ir::autodiff {

namespace {

/// What a rule computes from: the builder, the primal op, its operands `x`,
/// its (single) result `y` and the non-null adjoint `g` of that result.
struct Args {
  Builder &b;
  const Op &op;
  const std::vector<Value *> &x;
  Value *y;
  Value *g;
};

/// A rule: one adjoint per operand (null = zero).
using RuleFn = std::vector<Value *> (*)(const Args &);

//===----------------------------------------------------------------------===//
// Emission helpers
//===----------------------------------------------------------------------===//

/// A scalar constant with the dtype of `like`.
Value *cst(Builder &b, const Value *like, double v) { return b.scalar(like->type().dtype, v); }
Value *add(Builder &b, Value *l, Value *r) { return b.make(OpKind::Add, {l, r}); }
Value *sub(Builder &b, Value *l, Value *r) { return b.make(OpKind::Sub, {l, r}); }
Value *mul(Builder &b, Value *l, Value *r) { return b.make(OpKind::Mul, {l, r}); }
Value *div(Builder &b, Value *l, Value *r) { return b.make(OpKind::Div, {l, r}); }
Value *neg(Builder &b, Value *v) { return b.make(OpKind::Neg, {v}); }
Value *un(Builder &b, OpKind k, Value *v) { return b.make(k, {v}); }
/// c ? t : f (broadcasting).
Value *select(Builder &b, Value *c, Value *t, Value *f) { return b.make(OpKind::Select, {c, t, f}); }
/// c ? v : 0.
Value *maskWith(Builder &b, Value *c, Value *v) { return select(b, c, v, cst(b, v, 0)); }

/// `v` reshaped to `shape` (no op when it already has it).
Value *reshapeTo(Builder &b, Value *v, const Shape &shape) {
  if (v->type().shape == shape)
    return v;
  return b.create(OpKind::Reshape, {v}, {Type{v->type().dtype, shape}})->result(0);
}
/// `v` broadcast to `shape` (no op when it already has it).
Value *broadcastTo(Builder &b, Value *v, const Shape &shape) {
  if (v->type().shape == shape)
    return v;
  return b.create(OpKind::Broadcast, {v}, {Type{v->type().dtype, shape}})->result(0);
}
/// A tensor of zeros of type `t`.
Value *zeros(Builder &b, const Type &t) { return b.constant(t, 0.0); }

/// The reduced axes of a reduction op over a tensor of rank `rank` (all when
/// the axes attribute is empty).
std::vector<bool> reducedAxes(const Op &op, size_t rank) {
  std::vector<int64_t> axes = op.intsAttr("axes");
  std::vector<bool> r(rank, axes.empty());
  for (int64_t a : axes)
    r[(size_t)a] = true;
  return r;
}
/// The shape of a reduction's result in keepdims form (reduced axes are 1).
Shape keptShape(const Op &op, const Shape &in) {
  std::vector<bool> r = reducedAxes(op, in.size());
  Shape s = in;
  for (size_t a = 0; a < s.size(); ++a)
    if (r[a])
      s[a] = 1;
  return s;
}
/// The number of elements each result element of a reduction reduces.
int64_t reducedCount(const Op &op, const Shape &in) {
  std::vector<bool> r = reducedAxes(op, in.size());
  int64_t n = 1;
  for (size_t a = 0; a < in.size(); ++a)
    if (r[a])
      n *= in[a];
  return n;
}
/// sum(v) along `axis`, keeping the axis (size 1).
Value *sumAlong(Builder &b, Value *v, int64_t axis) {
  return b.make(OpKind::ReduceSum, {v}, {{"axes", std::vector<int64_t>{axis}}, {"keepdims", true}});
}
/// v with its last two axes swapped (rank >= 2).
Value *swapLast2(Builder &b, Value *v) {
  size_t r = v->type().shape.size();
  std::vector<int64_t> perm;
  for (size_t i = 0; i < r; ++i)
    perm.push_back((int64_t)i);
  std::swap(perm[r - 1], perm[r - 2]);
  return b.make(OpKind::Transpose, {v}, {{"perm", perm}});
}
/// slice of v: [starts, ends) on every axis.
Value *sliceOf(Builder &b, Value *v, std::vector<int64_t> starts, std::vector<int64_t> ends) {
  return b.make(OpKind::Slice, {v}, {{"starts", std::move(starts)}, {"ends", std::move(ends)}});
}

/// The adjoints of a binary broadcasting op from full-shape partial adjoints.
std::vector<Value *> toOperands(const Args &a, Value *ga, Value *gb) {
  return {ga ? unbroadcast(a.b, ga, a.x[0]->type().shape) : nullptr,
          gb ? unbroadcast(a.b, gb, a.x[1]->type().shape) : nullptr};
}

//===----------------------------------------------------------------------===//
// Elementwise unary
//===----------------------------------------------------------------------===//

// d/dx -x = -1
std::vector<Value *> ruleNeg(const Args &a) { return {neg(a.b, a.g)}; }
// d/dx e^x = e^x = y
std::vector<Value *> ruleExp(const Args &a) { return {mul(a.b, a.g, a.y)}; }
// d/dx ln x = 1 / x
std::vector<Value *> ruleLog(const Args &a) { return {div(a.b, a.g, a.x[0])}; }
// d/dx ln(1 + x) = 1 / (1 + x)
std::vector<Value *> ruleLog1p(const Args &a) {
  return {div(a.b, a.g, add(a.b, a.x[0], cst(a.b, a.x[0], 1)))};
}
// d/dx e^x - 1 = e^x = y + 1
std::vector<Value *> ruleExpm1(const Args &a) {
  return {mul(a.b, a.g, add(a.b, a.y, cst(a.b, a.y, 1)))};
}
// d/dx sqrt x = 0.5 / sqrt x = 0.5 / y
std::vector<Value *> ruleSqrt(const Args &a) {
  return {div(a.b, mul(a.b, a.g, cst(a.b, a.g, 0.5)), a.y)};
}
// d/dx tanh x = 1 - tanh² x = 1 - y²
std::vector<Value *> ruleTanh(const Args &a) {
  return {mul(a.b, a.g, sub(a.b, cst(a.b, a.y, 1), mul(a.b, a.y, a.y)))};
}
// d/dx sigmoid x = sigmoid x (1 - sigmoid x) = y (1 - y)
std::vector<Value *> ruleSigmoid(const Args &a) {
  return {mul(a.b, mul(a.b, a.g, a.y), sub(a.b, cst(a.b, a.y, 1), a.y))};
}
// d/dx relu x = (x > 0)   (0 at x = 0, as PyTorch)
std::vector<Value *> ruleRelu(const Args &a) {
  Value *pos = a.b.make(OpKind::Gt, {a.x[0], cst(a.b, a.x[0], 0)});
  return {maskWith(a.b, pos, a.g)};
}
// d/dx softplus x = sigmoid x
std::vector<Value *> ruleSoftplus(const Args &a) {
  return {mul(a.b, a.g, un(a.b, OpKind::Sigmoid, a.x[0]))};
}
// d/dx |x| = sign x   (0 at x = 0, as PyTorch)
std::vector<Value *> ruleAbs(const Args &a) {
  return {mul(a.b, a.g, un(a.b, OpKind::Sign, a.x[0]))};
}
// d/dx sin x = cos x
std::vector<Value *> ruleSin(const Args &a) { return {mul(a.b, a.g, un(a.b, OpKind::Cos, a.x[0]))}; }
// d/dx cos x = -sin x
std::vector<Value *> ruleCos(const Args &a) {
  return {neg(a.b, mul(a.b, a.g, un(a.b, OpKind::Sin, a.x[0])))};
}
// floor and sign: d/dx = 0 (almost everywhere; 0 at the jumps too, as
// PyTorch) — listed as ops without derivative in the table below.

//===----------------------------------------------------------------------===//
// Elementwise binary (broadcasting: partials are unbroadcast to each operand)
//===----------------------------------------------------------------------===//

// d/da a + b = 1; d/db a + b = 1
std::vector<Value *> ruleAdd(const Args &a) { return toOperands(a, a.g, a.g); }
// d/da a - b = 1; d/db a - b = -1
std::vector<Value *> ruleSub(const Args &a) { return toOperands(a, a.g, neg(a.b, a.g)); }
// d/da a * b = b; d/db a * b = a
std::vector<Value *> ruleMul(const Args &a) {
  return toOperands(a, mul(a.b, a.g, a.x[1]), mul(a.b, a.g, a.x[0]));
}
// d/da a / b = 1 / b; d/db a / b = -a / b² = -y / b
std::vector<Value *> ruleDiv(const Args &a) {
  return toOperands(a, div(a.b, a.g, a.x[1]), neg(a.b, div(a.b, mul(a.b, a.g, a.y), a.x[1])));
}
// mod: y = a - floor(a / b) * b. d/da = 1; d/db = -floor(a / b)
std::vector<Value *> ruleMod(const Args &a) {
  Value *q = un(a.b, OpKind::Floor, div(a.b, a.x[0], a.x[1]));
  return toOperands(a, a.g, neg(a.b, mul(a.b, a.g, q)));
}
// d/da a^b = b a^(b-1)   (0 where b == 0, as PyTorch);
// d/db a^b = a^b ln a = y ln a   (0 where a == 0, as PyTorch)
std::vector<Value *> rulePow(const Args &a) {
  Builder &b = a.b;
  Value *x = a.x[0], *e = a.x[1];
  Value *da = mul(b, a.g, mul(b, e, b.make(OpKind::Pow, {x, sub(b, e, cst(b, e, 1))})));
  da = select(b, b.make(OpKind::Eq, {e, cst(b, e, 0)}), cst(b, da, 0), da);
  Value *db = mul(b, a.g, mul(b, a.y, un(b, OpKind::Log, x)));
  db = select(b, b.make(OpKind::Eq, {x, cst(b, x, 0)}), cst(b, db, 0), db);
  return toOperands(a, da, db);
}
// max: d/da = 1 where a > b, 1/2 where a == b, else 0; d/db = 1 - d/da
// min: d/da = 1 where a < b, 1/2 where a == b, else 0; d/db = 1 - d/da
std::vector<Value *> ruleMaxMin(const Args &a) {
  Builder &b = a.b;
  OpKind wins = a.op.kind() == OpKind::Max ? OpKind::Gt : OpKind::Lt;
  Value *l = a.x[0], *r = a.x[1];
  Value *w = select(b, b.make(wins, {l, r}), cst(b, l, 1),
                    select(b, b.make(OpKind::Eq, {l, r}), cst(b, l, 0.5), cst(b, l, 0)));
  return toOperands(a, mul(b, a.g, w), mul(b, a.g, sub(b, cst(b, w, 1), w)));
}

//===----------------------------------------------------------------------===//
// Selection, clamping, conversion and layout
//===----------------------------------------------------------------------===//

// select(c, a, b): d/da = c; d/db = !c; c (bool) has none
std::vector<Value *> ruleSelect(const Args &a) {
  Builder &b = a.b;
  Value *c = a.x[0];
  Value *ga = maskWith(b, c, a.g);
  Value *gb = select(b, c, cst(b, a.g, 0), a.g);
  return {nullptr, unbroadcast(b, ga, a.x[1]->type().shape),
          unbroadcast(b, gb, a.x[2]->type().shape)};
}
// clamp(x, lo, hi) = min(max(x, lo), hi):
//   d/dx = 1 on the closed interval lo <= x <= hi (as PyTorch);
//   d/dhi = 1 where hi won (max(x, lo) > hi); d/dlo = 1 where lo won (otherwise)
std::vector<Value *> ruleClamp(const Args &a) {
  Builder &b = a.b;
  Value *x = a.x[0], *lo = a.x[1], *hi = a.x[2];
  Value *inside = b.make(OpKind::And, {b.make(OpKind::Ge, {x, lo}), b.make(OpKind::Le, {x, hi})});
  Value *hiWon = b.make(OpKind::Gt, {b.make(OpKind::Max, {x, lo}), hi});
  Value *loWon = b.make(OpKind::And, {un(b, OpKind::Not, inside), un(b, OpKind::Not, hiWon)});
  return {unbroadcast(b, maskWith(b, inside, a.g), x->type().shape),
          unbroadcast(b, maskWith(b, loWon, a.g), lo->type().shape),
          unbroadcast(b, maskWith(b, hiWon, a.g), hi->type().shape)};
}
// check_bounds(x [, step]) = x (it only may stop the run): d/dx = 1, so the
// adjoint passes through unchanged; the i32 step has none
std::vector<Value *> ruleCheckBounds(const Args &a) {
  std::vector<Value *> out(a.x.size(), nullptr);
  out[0] = a.g;
  return out;
}
// convert float -> float: the adjoint converted back (int and bool sides: zero,
// handled by operandAdjoints' dtype checks)
std::vector<Value *> ruleConvert(const Args &a) {
  const Type &t = a.x[0]->type();
  if (a.g->type() == t)
    return {a.g};
  return {a.b.create(OpKind::Convert, {a.g}, {t})->result(0)};
}
// broadcast: the adjoint summed over the broadcast axes
std::vector<Value *> ruleBroadcast(const Args &a) {
  return {unbroadcast(a.b, a.g, a.x[0]->type().shape)};
}
// reshape: the adjoint reshaped back
std::vector<Value *> ruleReshape(const Args &a) {
  return {reshapeTo(a.b, a.g, a.x[0]->type().shape)};
}
// transpose(x, perm): transpose(g, inverse perm), inverse[perm[k]] = k
std::vector<Value *> ruleTranspose(const Args &a) {
  std::vector<int64_t> perm = a.op.intsAttr("perm"), inv(perm.size());
  for (size_t k = 0; k < perm.size(); ++k)
    inv[(size_t)perm[k]] = (int64_t)k;
  return {a.b.make(OpKind::Transpose, {a.g}, {{"perm", inv}})};
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

// reduce_sum: d/dx_i sum x = 1: g in keepdims form, broadcast to x
// reduce_mean: d/dx_i mean x = 1 / count
std::vector<Value *> ruleReduceSumMean(const Args &a) {
  Builder &b = a.b;
  const Shape &xs = a.x[0]->type().shape;
  Value *g = reshapeTo(b, a.g, keptShape(a.op, xs));
  if (a.op.kind() == OpKind::ReduceMean) {
    int64_t n = reducedCount(a.op, xs);
    g = mul(b, g, cst(b, g, n ? 1.0 / (double)n : 0.0));
  }
  return {broadcastTo(b, g, xs)};
}
// reduce_max / reduce_min: d/dx_i = (x_i == y) / #ties   (ties split evenly)
std::vector<Value *> ruleReduceMaxMin(const Args &a) {
  Builder &b = a.b;
  Value *x = a.x[0];
  Shape ks = keptShape(a.op, x->type().shape);
  Value *hit = b.make(OpKind::Eq, {x, reshapeTo(b, a.y, ks)});
  Value *hitF = b.create(OpKind::Convert, {hit}, {Type{x->type().dtype, x->type().shape}})->result(0);
  Value *ties = b.make(OpKind::ReduceSum, {hitF}, {{"axes", a.op.intsAttr("axes")}, {"keepdims", true}});
  Value *share = div(b, reshapeTo(b, a.g, ks), ties);
  return {broadcastTo(b, maskWith(b, hit, share), x->type().shape)};
}
// logsumexp: d/dx_i = e^(x_i - y)
std::vector<Value *> ruleLogSumExp(const Args &a) {
  Builder &b = a.b;
  Value *x = a.x[0];
  Shape ks = keptShape(a.op, x->type().shape);
  Value *p = un(b, OpKind::Exp, sub(b, x, reshapeTo(b, a.y, ks)));
  return {mul(b, reshapeTo(b, a.g, ks), p)};
}

//===----------------------------------------------------------------------===//
// Linear algebra and normalisation
//===----------------------------------------------------------------------===//

// matmul C = A B, in matrix form (a vector A is a row [1, k], a vector B a
// column [k, 1]; batch axes broadcast):
//   d/dA = G Bᵀ, d/dB = Aᵀ G, each summed over the batch axes its operand was
//   broadcast along, then reshaped to the operand's shape
std::vector<Value *> ruleMatMul(const Args &a) {
  Builder &b = a.b;
  // An operand stored transposed (transpose_a/_b, made by fold-transpose) is
  // made explicit first; its adjoint is transposed back at the end.
  bool ta = a.op.boolAttr("transpose_a"), tb = a.op.boolAttr("transpose_b");
  Value *A = ta ? swapLast2(b, a.x[0]) : a.x[0], *B = tb ? swapLast2(b, a.x[1]) : a.x[1];
  const Shape &as = A->type().shape, &bs = B->type().shape;
  bool aVec = as.size() == 1, bVec = bs.size() == 1;
  int64_t k = as.back();
  Value *A2 = aVec ? reshapeTo(b, A, {1, k}) : A;
  Value *B2 = bVec ? reshapeTo(b, B, {k, 1}) : B;
  // G in matrix form: the result shape with the dropped vector axes restored.
  Shape gs = a.g->type().shape;
  if (aVec)
    gs.insert(gs.end() - (bVec ? 0 : 1), 1);
  if (bVec)
    gs.push_back(1);
  Value *G = reshapeTo(b, a.g, gs);
  Value *gA = b.make(OpKind::MatMul, {G, swapLast2(b, B2)});
  Value *gB = b.make(OpKind::MatMul, {swapLast2(b, A2), G});
  gA = reshapeTo(b, unbroadcast(b, gA, A2->type().shape), as);
  gB = reshapeTo(b, unbroadcast(b, gB, B2->type().shape), bs);
  return {ta ? swapLast2(b, gA) : gA, tb ? swapLast2(b, gB) : gB};
}
// softmax along axis: d/dx = y (g - sum(g y, axis))
std::vector<Value *> ruleSoftmax(const Args &a) {
  Builder &b = a.b;
  int64_t axis = a.op.intAttr("axis");
  Value *s = sumAlong(b, mul(b, a.g, a.y), axis);
  return {mul(b, a.y, sub(b, a.g, s))};
}
// log_softmax along axis: d/dx = g - e^y sum(g, axis)
std::vector<Value *> ruleLogSoftmax(const Args &a) {
  Builder &b = a.b;
  int64_t axis = a.op.intAttr("axis");
  Value *s = sumAlong(b, a.g, axis);
  return {sub(b, a.g, mul(b, un(b, OpKind::Exp, a.y), s))};
}
// cumsum along axis: d/dx_i = sum_{j >= i} g_j = sum(g) - cumsum(g)_i + g_i
std::vector<Value *> ruleCumSum(const Args &a) {
  Builder &b = a.b;
  int64_t axis = a.op.intAttr("axis");
  Value *total = sumAlong(b, a.g, axis);
  Value *prefix = b.make(OpKind::CumSum, {a.g}, {{"axis", axis}});
  return {add(b, sub(b, total, prefix), a.g)};
}

//===----------------------------------------------------------------------===//
// Assembling and indexing
//===----------------------------------------------------------------------===//

// concat along axis: d/dx_k = g sliced at x_k's offset along axis
std::vector<Value *> ruleConcat(const Args &a) {
  int64_t axis = a.op.intAttr("axis");
  const Shape &gs = a.g->type().shape;
  std::vector<Value *> out;
  int64_t at = 0;
  for (Value *x : a.x) {
    std::vector<int64_t> starts(gs.size(), 0), ends(gs.begin(), gs.end());
    starts[(size_t)axis] = at;
    at += x->type().shape[(size_t)axis];
    ends[(size_t)axis] = at;
    out.push_back(sliceOf(a.b, a.g, starts, ends));
  }
  return out;
}
// stack along axis: d/dx_k = g[.., k, ..] (slice of width 1, axis dropped)
std::vector<Value *> ruleStack(const Args &a) {
  int64_t axis = a.op.intAttr("axis");
  const Shape &gs = a.g->type().shape;
  std::vector<Value *> out;
  for (size_t k = 0; k < a.x.size(); ++k) {
    std::vector<int64_t> starts(gs.size(), 0), ends(gs.begin(), gs.end());
    starts[(size_t)axis] = (int64_t)k;
    ends[(size_t)axis] = (int64_t)k + 1;
    out.push_back(reshapeTo(a.b, sliceOf(a.b, a.g, starts, ends), a.x[k]->type().shape));
  }
  return out;
}
// slice(x, starts, ends): d/dx = pad(g, starts) to x's shape
std::vector<Value *> ruleSlice(const Args &a) {
  return {a.b.create(OpKind::Pad, {a.g}, {a.x[0]->type()}, {{"starts", a.op.intsAttr("starts")}})
              ->result(0)};
}
// pad(x, starts): d/dx = slice(g, starts, starts + x.shape)
std::vector<Value *> rulePad(const Args &a) {
  std::vector<int64_t> starts = a.op.intsAttr("starts"), ends = starts;
  const Shape &xs = a.x[0]->type().shape;
  for (size_t d = 0; d < xs.size(); ++d)
    ends[d] += xs[d];
  return {sliceOf(a.b, a.g, starts, ends)};
}
// index(x, i) = x[i]: d/dx = index_add(zeros, i, g); i has none
std::vector<Value *> ruleIndex(const Args &a) {
  Builder &b = a.b;
  return {b.make(OpKind::IndexAdd, {zeros(b, a.x[0]->type()), a.x[1], a.g}), nullptr};
}
// index_add(x, i, v) = x with x[i] += v: d/dx = g; d/dv = g[i]
std::vector<Value *> ruleIndexAdd(const Args &a) {
  return {a.g, nullptr, a.b.make(OpKind::Index, {a.g, a.x[1]})};
}
// take(x, idx, axis): d/dx = scatter_add(zeros, idx, g, axis) (repeats accumulate)
std::vector<Value *> ruleTake(const Args &a) {
  Builder &b = a.b;
  return {b.make(OpKind::ScatterAdd, {zeros(b, a.x[0]->type()), a.x[1], a.g},
                 {{"axis", a.op.intAttr("axis")}}),
          nullptr};
}
// scatter_add(x, idx, v, axis): d/dx = g; d/dv = take(g, idx, axis)
std::vector<Value *> ruleScatterAdd(const Args &a) {
  return {a.g, nullptr, a.b.make(OpKind::Take, {a.g, a.x[1]}, {{"axis", a.op.intAttr("axis")}})};
}

//===----------------------------------------------------------------------===//
// The table
//===----------------------------------------------------------------------===//

/// How autodiff treats an op kind.
enum class Treatment {
  Rule,         ///< differentiable, by ruleFor(kind)
  NoDerivative, ///< never carries a derivative (isNonDifferentiable)
  Structural,   ///< control flow, calls and terminators: the AD pass's business
};

/// The rule of an op kind (null unless Treatment::Rule). No default: a new
/// row in Ops.def must be decided here.
RuleFn ruleFor(OpKind k, Treatment &t) {
  t = Treatment::Rule;
  switch (k) {
  case OpKind::Neg: return ruleNeg;
  case OpKind::Exp: return ruleExp;
  case OpKind::Log: return ruleLog;
  case OpKind::Log1p: return ruleLog1p;
  case OpKind::Expm1: return ruleExpm1;
  case OpKind::Sqrt: return ruleSqrt;
  case OpKind::Tanh: return ruleTanh;
  case OpKind::Sigmoid: return ruleSigmoid;
  case OpKind::Relu: return ruleRelu;
  case OpKind::Softplus: return ruleSoftplus;
  case OpKind::Abs: return ruleAbs;
  case OpKind::Sin: return ruleSin;
  case OpKind::Cos: return ruleCos;
  case OpKind::Add: return ruleAdd;
  case OpKind::Sub: return ruleSub;
  case OpKind::Mul: return ruleMul;
  case OpKind::Div: return ruleDiv;
  case OpKind::Mod: return ruleMod;
  case OpKind::Pow: return rulePow;
  case OpKind::Max:
  case OpKind::Min: return ruleMaxMin;
  case OpKind::Select: return ruleSelect;
  case OpKind::Clamp: return ruleClamp;
  case OpKind::CheckBounds: return ruleCheckBounds;
  case OpKind::Convert: return ruleConvert;
  case OpKind::Broadcast: return ruleBroadcast;
  case OpKind::Reshape: return ruleReshape;
  case OpKind::Transpose: return ruleTranspose;
  case OpKind::ReduceSum:
  case OpKind::ReduceMean: return ruleReduceSumMean;
  case OpKind::ReduceMax:
  case OpKind::ReduceMin: return ruleReduceMaxMin;
  case OpKind::LogSumExp: return ruleLogSumExp;
  case OpKind::MatMul: return ruleMatMul;
  case OpKind::Softmax: return ruleSoftmax;
  case OpKind::LogSoftmax: return ruleLogSoftmax;
  case OpKind::CumSum: return ruleCumSum;
  case OpKind::Concat: return ruleConcat;
  case OpKind::Stack: return ruleStack;
  case OpKind::Slice: return ruleSlice;
  case OpKind::Pad: return rulePad;
  case OpKind::Index: return ruleIndex;
  case OpKind::IndexAdd: return ruleIndexAdd;
  case OpKind::Take: return ruleTake;
  case OpKind::ScatterAdd: return ruleScatterAdd;

  // Zero derivative everywhere (floor, round, sign: almost everywhere and, as
  // in PyTorch, at the jumps too), integer/bool results, randomness,
  // constants, I/O, and stop_grad by definition.
  case OpKind::Floor:
  case OpKind::Round:
  case OpKind::Sign:
  case OpKind::Not:
  case OpKind::And:
  case OpKind::Or:
  case OpKind::Eq:
  case OpKind::Ne:
  case OpKind::Lt:
  case OpKind::Le:
  case OpKind::Gt:
  case OpKind::Ge:
  case OpKind::ArgMax:
  case OpKind::OneHot:
  case OpKind::Iota:
  case OpKind::Random:
  case OpKind::Constant:
  case OpKind::StopGrad:
  case OpKind::Print:
  case OpKind::LoadNpy:
  case OpKind::SaveNpy:
  case OpKind::LoadCsv:
  case OpKind::Save:
  case OpKind::Load:
  case OpKind::TrainProgress:
  case OpKind::TrainNonfinite:
    t = Treatment::NoDerivative;
    return nullptr;

  case OpKind::For:
  case OpKind::If:
  case OpKind::Map:
  case OpKind::Grad:
  case OpKind::Call:
  case OpKind::Yield:
  case OpKind::Return:
    t = Treatment::Structural;
    return nullptr;
  }
  PTL_UNREACHABLE("op kind missing from the rule table");
  t = Treatment::Structural;
  return nullptr;
}

} // namespace

bool isNonDifferentiable(OpKind kind) {
  Treatment t;
  ruleFor(kind, t);
  return t == Treatment::NoDerivative;
}

std::vector<Value *> operandAdjoints(RuleContext &ctx) {
  const Op &op = ctx.op;
  Treatment t;
  RuleFn rule = ruleFor(op.kind(), t);
  PTL_CHECK(t != Treatment::Structural && op.numRegions() == 0,
            "operandAdjoints: control flow, calls and terminators have no rule: " + describeOp(op));
  std::vector<Value *> none(ctx.operands.size(), nullptr);
  if (t == Treatment::NoDerivative)
    return none;
  // Every op with a rule has exactly one result; a non-float result carries
  // no derivative (i32 arithmetic, integer convert).
  PTL_CHECK(ctx.results.size() == 1 && ctx.resultAdjs.size() == 1, "rule ops have one result: " + describeOp(op));
  Value *g = ctx.resultAdjs[0];
  if (!g || !isFloat(ctx.results[0]->type().dtype))
    return none;
  PTL_CHECK(g->type() == ctx.results[0]->type(), "result adjoint has the wrong type: " + describeOp(op));
  std::vector<Value *> out = rule(Args{ctx.b, op, ctx.operands, ctx.results[0], g});
  PTL_CHECK(out.size() == ctx.operands.size(), "rule returned the wrong number of adjoints: " + describeOp(op));
  for (size_t i = 0; i < out.size(); ++i) {
    if (!isFloat(ctx.operands[i]->type().dtype)) {
      out[i] = nullptr; // indices, masks, integer sources of a convert
      continue;
    }
    PTL_CHECK(!out[i] || out[i]->type() == ctx.operands[i]->type(),
              "rule produced an adjoint of the wrong type: " + describeOp(op));
  }
  return out;
}

// unbroadcast: adj summed over the axes NumPy broadcasting added or stretched
// (leading axes, and axes where `shape` has extent 1), then reshaped to `shape`.
Value *unbroadcast(Builder &b, Value *adj, const Shape &shape) {
  const Shape &as = adj->type().shape;
  if (as == shape)
    return adj;
  PTL_CHECK(as.size() >= shape.size(), "unbroadcast to a higher rank");
  size_t lead = as.size() - shape.size();
  std::vector<int64_t> axes;
  for (size_t i = 0; i < as.size(); ++i) {
    int64_t want = i < lead ? 1 : shape[i - lead];
    if (want == 1 && as[i] != 1)
      axes.push_back((int64_t)i);
    else
      PTL_CHECK(want == as[i], "unbroadcast: shapes are not broadcast-compatible");
  }
  Value *v = adj;
  if (!axes.empty())
    v = b.make(OpKind::ReduceSum, {v}, {{"axes", axes}, {"keepdims", true}});
  return reshapeTo(b, v, shape);
}

Value *addAdjoints(Builder &b, Value *a, Value *c) {
  if (!a)
    return c;
  if (!c)
    return a;
  PTL_CHECK(a->type() == c->type(), "adding adjoints of different types");
  return b.make(OpKind::Add, {a, c});
}

} // namespace ptl::ir::autodiff
