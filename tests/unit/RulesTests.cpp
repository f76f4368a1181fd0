//===- tests/unit/RulesTests.cpp - Derivative rules vs finite differences ----===//
//
// Every differentiable op kind is checked against central finite differences
// in f64 at random points: a module holds
//   L(x...)  = sum(W * op(x...))                    (W a fixed random tensor)
//   G(x...)  = the rule's operand adjoints for result adjoint W
// and for every element of every float operand
//   G(x)[e]  ≈ (L(x + h e) - L(x - h e)) / 2h,   h = 1e-6 max(1, |x_e|),
// within a relative error of 1e-6. Points avoid the kinks (relu/abs at 0,
// max/min ties, clamp bounds, floor/mod jumps); the kink conventions
// (PyTorch's) are checked separately with exact values.
//
// Second order: H(x) = sum_i sum(V_i * G_i(x)) is differentiated by a small
// reverse sweep in this file that applies operandAdjoints to every op of H,
// including the ops the rule emitted, and compared with finite differences
// of H. So each rule's output is itself differentiable, and correctly so.
//
//===----------------------------------------------------------------------===//
#include "ir/Builder.h"
#include "ir/IR.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "ir/autodiff/Rules.h"
#include "ir/interp/Interpreter.h"

#include "TensorTestSupport.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <unordered_map>

using namespace ptl;
using namespace ptl::ir;
using namespace ptl::ir::autodiff;

namespace {

const DType F32 = DType::F32, F64 = DType::F64, I32 = DType::I32, BOOL = DType::Bool;
using Rng = std::mt19937_64;
using Ints = std::vector<int64_t>;

using ptl::testing::make;
using ptl::testing::ty;
using ptl::testing::values;

double uni(Rng &r, double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(r); }

/// A random f64 tensor with elements in [lo, hi), resampling those `avoid` rejects.
Tensor randT(Rng &r, Shape s, double lo = -1.5, double hi = 1.5,
             const std::function<bool(double)> &avoid = {}) {
  Tensor t = Tensor::zeros(F64, std::move(s));
  for (int64_t i = 0; i < t.numel(); ++i) {
    double v;
    do v = uni(r, lo, hi);
    while (avoid && avoid(v));
    t.setDouble(i, v);
  }
  return t;
}
/// Distinct values at least 0.2 apart, in random order (no ties for max/min).
Tensor distinctT(Rng &r, Shape s) {
  Tensor t = Tensor::zeros(F64, std::move(s));
  std::vector<double> v;
  for (int64_t i = 0; i < t.numel(); ++i) v.push_back(0.3 * (double)i - 1.0 + uni(r, -0.05, 0.05));
  std::shuffle(v.begin(), v.end(), r);
  for (int64_t i = 0; i < t.numel(); ++i) t.setDouble(i, v[(size_t)i]);
  return t;
}

/// Calls f with the broadcast elements of `ts` at each element of their broadcast shape.
void forEachBroadcast(const std::vector<Tensor> &ts, const std::function<void(const std::vector<double> &)> &f) {
  Shape out;
  for (const Tensor &t : ts) {
    Shape s;
    REQUIRE(broadcastShapes(out, t.shape(), s));
    out = s;
  }
  int64_t n = numElements(out);
  std::vector<double> vals(ts.size());
  for (int64_t i = 0; i < n; ++i) {
    Shape idx(out.size());
    for (int64_t a = (int64_t)out.size() - 1, rest = i; a >= 0; --a) {
      idx[(size_t)a] = rest % out[(size_t)a];
      rest /= out[(size_t)a];
    }
    for (size_t k = 0; k < ts.size(); ++k) {
      const Shape &s = ts[k].shape();
      size_t lead = out.size() - s.size();
      int64_t flat = 0;
      for (size_t a = 0; a < s.size(); ++a) flat = flat * s[a] + (s[a] == 1 ? 0 : idx[lead + a]);
      vals[k] = ts[k].getDouble(flat);
    }
    f(vals);
  }
}

/// One op to check: its operand types, attributes, an explicit result type
/// when the op needs one, and a generator of operand values (float operands
/// random, index and mask operands fixed) away from the op's kinks.
struct OpCase {
  std::string label;
  OpKind kind;
  AttrMap attrs;
  std::optional<Type> explicitType;
  std::function<std::vector<Tensor>(Rng &)> gen;
};

std::string shapesLabel(const std::vector<Tensor> &ts) {
  std::string s;
  for (const Tensor &t : ts) s += (s.empty() ? "" : ", ") + typeString(t.dtype(), t.shape());
  return "(" + s + ")";
}

/// Appends `kind(args)` for case `c`; returns the op.
Op *emitOp(Builder &b, const OpCase &c, const std::vector<Value *> &args) {
  if (c.explicitType) return b.create(c.kind, args, {*c.explicitType}, c.attrs);
  std::vector<Type> in, out;
  for (Value *v : args) in.push_back(v->type());
  std::string err;
  INFO(c.label << ": " << err);
  REQUIRE(inferResultTypes(c.kind, in, c.attrs, out, err));
  return b.create(c.kind, args, out, c.attrs);
}

Value *denseConst(Builder &b, const Tensor &t) {
  return b.create(OpKind::Constant, {}, {ty(t.dtype(), t.shape())}, {{"value", Dense{values(t)}}})->result(0);
}
Value *sumAll(Builder &b, Value *v) { return b.make(OpKind::ReduceSum, {v}, {{"axes", Ints{}}}); }

/// A function under construction in a module.
struct Fn {
  Function *f;
  Builder b;
  Fn(Module &m, const std::string &name, const std::vector<Tensor> &ins) {
    std::vector<Type> params;
    for (const Tensor &t : ins) params.push_back(ty(t.dtype(), t.shape()));
    f = m.addFunction(std::make_unique<Function>(name, params, std::vector<Type>{}));
    b.setRegion(&f->body());
  }
  std::vector<Value *> args() const {
    std::vector<Value *> v;
    for (unsigned i = 0; i < f->body().numArguments(); ++i) v.push_back(f->body().argument(i));
    return v;
  }
  void ret(const std::vector<Value *> &vs) {
    std::vector<Type> rt;
    for (Value *v : vs) rt.push_back(v->type());
    f->setResultTypes(rt);
    b.create(OpKind::Return, vs, {});
  }
};

/// Emits the primal op and its rule's operand adjoints for result adjoint `w`;
/// returns one adjoint per float operand (a zeros constant for a symbolic zero).
std::vector<Value *> emitRule(Fn &fn, const OpCase &c, Value *w, Op **primal = nullptr) {
  std::vector<Value *> args = fn.args();
  Op *op = emitOp(fn.b, c, args);
  if (primal) *primal = op;
  std::vector<Value *> results = op->results(), adjs{w};
  RuleContext ctx{fn.b, *op, args, results, adjs};
  std::vector<Value *> got = operandAdjoints(ctx);
  REQUIRE(got.size() == args.size());
  std::vector<Value *> out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (!isFloat(args[i]->type().dtype)) {
      CHECK(got[i] == nullptr);
      continue;
    }
    if (got[i]) CHECK(got[i]->type() == args[i]->type());
    out.push_back(got[i] ? got[i] : fn.b.constant(args[i]->type(), 0.0));
  }
  return out;
}

/// A reverse sweep over the first `nOps` ops of `fn`'s body from the scalar
/// `out` (seed 1), applying operandAdjoints to each op. Returns the adjoint
/// of each float argument (zeros for a symbolic zero).
std::vector<Value *> sweep(Fn &fn, size_t nOps, Value *out) {
  std::vector<Op *> ops;
  for (size_t i = 0; i < nOps; ++i) ops.push_back(fn.f->body().ops()[i].get());
  std::unordered_map<Value *, Value *> adj;
  adj[out] = fn.b.constant(out->type(), 1.0);
  for (auto it = ops.rbegin(); it != ops.rend(); ++it) {
    Op *op = *it;
    std::vector<Value *> results = op->results(), ra;
    bool any = false;
    for (Value *r : results) {
      auto a = adj.find(r);
      ra.push_back(a == adj.end() ? nullptr : a->second);
      any = any || ra.back();
    }
    if (!any) continue;
    std::vector<Value *> operands = op->operands();
    RuleContext ctx{fn.b, *op, operands, results, ra};
    std::vector<Value *> oa = operandAdjoints(ctx);
    REQUIRE(oa.size() == operands.size());
    for (size_t i = 0; i < oa.size(); ++i) {
      if (!oa[i]) continue;
      auto a = adj.find(operands[i]);
      adj[operands[i]] = addAdjoints(fn.b, a == adj.end() ? nullptr : a->second, oa[i]);
    }
  }
  std::vector<Value *> res;
  for (Value *a : fn.args()) {
    if (!isFloat(a->type().dtype)) continue;
    auto it = adj.find(a);
    res.push_back(it != adj.end() ? it->second : fn.b.constant(a->type(), 0.0));
  }
  return res;
}

/// Relative error |a - b| / max(1, |a|, |b|).
double relErr(double a, double b) {
  return std::fabs(a - b) / std::max({1.0, std::fabs(a), std::fabs(b)});
}

/// Compares analytic adjoints `ad` (one per float input) with central finite
/// differences of the scalar function `scalarFn` at `in`; returns the worst
/// relative error and describes it in `where`.
double compareWithFD(Interpreter &interp, const std::string &scalarFn, const std::vector<Tensor> &in,
                     const std::vector<Tensor> &ad, std::string &where) {
  double worst = 0;
  size_t k = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    if (!isFloat(in[i].dtype())) continue;
    REQUIRE(k < ad.size());
    REQUIRE(ad[k].shape() == in[i].shape());
    for (int64_t e = 0; e < in[i].numel(); ++e) {
      double x = in[i].getDouble(e), h = 1e-6 * std::max(1.0, std::fabs(x));
      std::vector<Tensor> p = in, m = in;
      p[i] = in[i].clone();
      m[i] = in[i].clone();
      p[i].setDouble(e, x + h);
      m[i].setDouble(e, x - h);
      double lp = interp.call(scalarFn, p)[0].getDouble(0), lm = interp.call(scalarFn, m)[0].getDouble(0);
      double fd = (lp - lm) / (2 * h), a = ad[k].getDouble(e);
      double err = std::isfinite(a) && std::isfinite(fd) ? relErr(a, fd) : INFINITY;
      if (err > worst || (err != err)) {
        worst = err;
        std::ostringstream os;
        os << "operand " << i << " element " << e << ": rule " << a << ", finite differences " << fd;
        where = os.str();
      }
    }
    ++k;
  }
  return worst;
}

std::string dump(const Module &m) {
  std::ostringstream os;
  for (const auto &f : m.functions()) os << toString(*f) << "\n";
  return os.str();
}

/// The type of the op of case `c` applied to `in`.
Type resultTypeOf(const OpCase &c, const std::vector<Tensor> &in) {
  Module tmp;
  Fn t(tmp, "t", in);
  return emitOp(t.b, c, t.args())->result(0)->type();
}

/// First order: the rule of `c` against finite differences at `points` random points.
void checkFirstOrder(const OpCase &c, Rng &rng, int points = 2) {
  for (int p = 0; p < points; ++p) {
    std::vector<Tensor> in = c.gen(rng);
    Module m;
    Fn L(m, "L", in);
    Op *op = emitOp(L.b, c, L.args());
    const Type yt = op->result(0)->type();
    Tensor w = randT(rng, yt.shape, -1, 1);
    L.ret({sumAll(L.b, L.b.make(OpKind::Mul, {denseConst(L.b, w), op->result(0)}))});
    Fn G(m, "G", in);
    G.ret(emitRule(G, c, denseConst(G.b, w)));
    std::string err;
    INFO(c.label << " " << shapesLabel(in) << "\n" << dump(m));
    REQUIRE(verifyModule(m, err));
    Interpreter interp(m, InterpOptions{});
    std::vector<Tensor> ad = interp.call("G", in);
    std::string where;
    double worst = compareWithFD(interp, "L", in, ad, where);
    INFO(where);
    CHECK(worst < 1e-6);
  }
}

/// Second order: H = sum_i sum(V_i * rule_i(x)), differentiated by `sweep`
/// (which applies the rules of the ops the rule emitted), against finite
/// differences of H.
void checkSecondOrder(const OpCase &c, Rng &rng) {
  std::vector<Tensor> in = c.gen(rng);
  Module m;
  Type yt = resultTypeOf(c, in);
  Tensor w;
  std::vector<Tensor> vs;
  w = randT(rng, yt.shape, -1, 1);
  for (const Tensor &t : in)
    if (isFloat(t.dtype())) vs.push_back(randT(rng, t.shape(), -1, 1));
  auto emitH = [&](Fn &fn) -> Value * {
    std::vector<Value *> adjs = emitRule(fn, c, denseConst(fn.b, w));
    Value *h = nullptr;
    for (size_t i = 0; i < adjs.size(); ++i) {
      Value *term = sumAll(fn.b, fn.b.make(OpKind::Mul, {denseConst(fn.b, vs[i]), adjs[i]}));
      h = h ? fn.b.make(OpKind::Add, {h, term}) : term;
    }
    return h;
  };
  Fn H(m, "H", in);
  H.ret({emitH(H)});
  Fn D(m, "D", in);
  Value *h = emitH(D);
  size_t n = D.f->body().ops().size();
  D.ret(sweep(D, n, h));
  std::string err;
  INFO(c.label << " " << shapesLabel(in) << " (second order)\n" << dump(m));
  REQUIRE(verifyModule(m, err));
  Interpreter interp(m, InterpOptions{});
  std::vector<Tensor> ad = interp.call("D", in);
  std::string where;
  double worst = compareWithFD(interp, "H", in, ad, where);
  INFO(where);
  CHECK(worst < 1e-6);
}

//===----------------------------------------------------------------------===//
// The cases
//===----------------------------------------------------------------------===//

std::string kindName(OpKind k) { return mnemonic(k); }

OpCase unaryCase(OpKind k, Shape s, double lo, double hi, std::function<bool(double)> avoid = {}) {
  return {kindName(k), k, {}, std::nullopt,
          [=](Rng &r) { return std::vector<Tensor>{randT(r, s, lo, hi, avoid)}; }};
}

bool nearInteger(double v, double margin) { return std::fabs(v - std::round(v)) < margin; }

/// A binary broadcasting op on shapes (a, b); `ok` rejects element pairs near a kink.
OpCase binaryCase(OpKind k, Shape sa, Shape sb, std::pair<double, double> ra, std::pair<double, double> rb,
                  std::function<bool(double, double)> ok = {}, bool signedB = false) {
  return {kindName(k), k, {}, std::nullopt, [=](Rng &r) {
            for (;;) {
              Tensor a = randT(r, sa, ra.first, ra.second);
              Tensor b = randT(r, sb, rb.first, rb.second);
              if (signedB)
                for (int64_t i = 0; i < b.numel(); ++i)
                  if (uni(r, 0, 1) < 0.5) b.setDouble(i, -b.getDouble(i));
              bool good = true;
              if (ok) forEachBroadcast({a, b}, [&](const std::vector<double> &v) { good = good && ok(v[0], v[1]); });
              if (good) return std::vector<Tensor>{a, b};
            }
          }};
}

/// Random f64 operands of the given shapes.
OpCase randCase(OpKind k, std::vector<Shape> shapes, AttrMap attrs = {}, std::optional<Type> t = std::nullopt) {
  return {kindName(k), k, std::move(attrs), std::move(t), [=](Rng &r) {
            std::vector<Tensor> v;
            for (const Shape &s : shapes) v.push_back(randT(r, s));
            return v;
          }};
}

std::vector<OpCase> allCases() {
  std::vector<OpCase> cs;
  auto awayFrom0 = [](double v) { return std::fabs(v) < 0.05; };
  auto awayFromInt = [](double v) { return nearInteger(v, 0.05); };
  for (Shape s : {Shape{2, 3}, Shape{}}) {
    cs.push_back(unaryCase(OpKind::Neg, s, -2, 2));
    cs.push_back(unaryCase(OpKind::Exp, s, -2, 2));
    cs.push_back(unaryCase(OpKind::Log, s, 0.3, 3));
    cs.push_back(unaryCase(OpKind::Log1p, s, -0.7, 2));
    cs.push_back(unaryCase(OpKind::Expm1, s, -2, 2));
    cs.push_back(unaryCase(OpKind::Sqrt, s, 0.3, 3));
    cs.push_back(unaryCase(OpKind::Tanh, s, -2, 2));
    cs.push_back(unaryCase(OpKind::Sigmoid, s, -3, 3));
    cs.push_back(unaryCase(OpKind::Relu, s, -2, 2, awayFrom0));
    cs.push_back(unaryCase(OpKind::Softplus, s, -3, 3));
    cs.push_back(unaryCase(OpKind::Abs, s, -2, 2, awayFrom0));
    cs.push_back(unaryCase(OpKind::Sign, s, -2, 2, awayFrom0));
    cs.push_back(unaryCase(OpKind::Sin, s, -3, 3));
    cs.push_back(unaryCase(OpKind::Cos, s, -3, 3));
    cs.push_back(unaryCase(OpKind::Floor, s, -3, 3, awayFromInt));
    cs.push_back(unaryCase(OpKind::Round, s, -3, 3, [](double v) { return nearInteger(v + 0.5, 0.05); }));
  }

  std::vector<std::pair<Shape, Shape>> pairs = {
      {{2, 3}, {2, 3}}, {{2, 3}, {3}}, {{2, 1}, {1, 3}}, {{}, {2, 3}}, {{2, 3}, {}}, {{3, 1, 2}, {2, 1}}};
  auto apart = [](double a, double b) { return std::fabs(a - b) > 0.05; };
  auto modOk = [](double a, double b) { return !nearInteger(a / b, 0.02); };
  for (auto &[sa, sb] : pairs) {
    cs.push_back(binaryCase(OpKind::Add, sa, sb, {-2, 2}, {-2, 2}));
    cs.push_back(binaryCase(OpKind::Sub, sa, sb, {-2, 2}, {-2, 2}));
    cs.push_back(binaryCase(OpKind::Mul, sa, sb, {-2, 2}, {-2, 2}));
    cs.push_back(binaryCase(OpKind::Div, sa, sb, {-2, 2}, {0.5, 2}, {}, /*signedB=*/true));
    cs.push_back(binaryCase(OpKind::Mod, sa, sb, {-3, 3}, {0.5, 2}, modOk, /*signedB=*/true));
    cs.push_back(binaryCase(OpKind::Pow, sa, sb, {0.3, 2}, {-2, 2}));
    cs.push_back(binaryCase(OpKind::Max, sa, sb, {-2, 2}, {-2, 2}, apart));
    cs.push_back(binaryCase(OpKind::Min, sa, sb, {-2, 2}, {-2, 2}, apart));
  }

  // select(c, a, b): the mask is fixed.
  cs.push_back({"select", OpKind::Select, {}, std::nullopt, [](Rng &r) {
                  return std::vector<Tensor>{make(BOOL, {2, 3}, {1, 0, 1, 0, 0, 1}), randT(r, {2, 3}), randT(r, {3})};
                }});
  cs.push_back({"select", OpKind::Select, {}, std::nullopt, [](Rng &r) {
                  return std::vector<Tensor>{make(BOOL, {2, 3}, {1, 0, 1, 0, 1, 1}), randT(r, {}), randT(r, {2, 1})};
                }});
  cs.push_back({"select", OpKind::Select, {}, std::nullopt, [](Rng &r) {
                  return std::vector<Tensor>{make(BOOL, {3}, {0, 1, 1}), randT(r, {2, 3}), randT(r, {2, 3})};
                }});

  // clamp(x, lo, hi): x on both sides of the bounds, away from them.
  auto clampCase = [&](Shape sx, Shape sl, Shape sh, std::pair<double, double> rl, std::pair<double, double> rh) {
    cs.push_back({"clamp", OpKind::Clamp, {}, std::nullopt, [=](Rng &r) {
                    for (;;) {
                      std::vector<Tensor> v{randT(r, sx, -2, 2), randT(r, sl, rl.first, rl.second),
                                            randT(r, sh, rh.first, rh.second)};
                      bool good = true;
                      forEachBroadcast(v, [&](const std::vector<double> &e) {
                        good = good && std::fabs(e[0] - e[1]) > 0.05 && std::fabs(e[0] - e[2]) > 0.05 &&
                               std::fabs(e[1] - e[2]) > 0.05;
                      });
                      if (good) return v;
                    }
                  }});
  };
  clampCase({2, 3}, {3}, {}, {-1, -0.3}, {0.3, 1});
  clampCase({3}, {2, 1}, {2, 3}, {-1, -0.3}, {0.3, 1});
  clampCase({2, 3}, {}, {2, 3}, {-1.5, 1.5}, {-1.5, 1.5}); // lo > hi in places: hi wins
  clampCase({2, 3}, {}, {}, {0.3, 1}, {-1, -0.3});          // lo > hi everywhere

  // check_bounds passes x through (the bounds hold for every random input)
  cs.push_back(randCase(OpKind::CheckBounds, {{2, 3}},
                        {{"kind", std::string("interval")}, {"lo", -100.0}, {"hi", 100.0},
                         {"path", std::string("w")}, {"message", std::string("constraint violated")}}));
  cs.push_back(randCase(OpKind::Convert, {{2, 3}}, {}, ty(F64, {2, 3})));
  cs.push_back(randCase(OpKind::Broadcast, {{3}}, {}, ty(F64, {2, 3})));
  cs.push_back(randCase(OpKind::Broadcast, {{2, 1}}, {}, ty(F64, {2, 2, 3})));
  cs.push_back(randCase(OpKind::Broadcast, {{}}, {}, ty(F64, {2, 2})));
  cs.push_back(randCase(OpKind::Reshape, {{2, 3}}, {}, ty(F64, {3, 2})));
  cs.push_back(randCase(OpKind::Reshape, {{6}}, {}, ty(F64, {1, 2, 3})));
  cs.push_back(randCase(OpKind::Transpose, {{2, 3, 4}}, {{"perm", Ints{2, 0, 1}}}));
  cs.push_back(randCase(OpKind::Transpose, {{2, 3}}, {{"perm", Ints{1, 0}}}));

  std::vector<AttrMap> reductions = {{{"axes", Ints{1}}},
                                     {{"axes", Ints{0, 2}}, {"keepdims", true}},
                                     {{"axes", Ints{}}},
                                     {{"axes", Ints{}}, {"keepdims", true}}};
  for (const AttrMap &at : reductions) {
    cs.push_back(randCase(OpKind::ReduceSum, {{2, 3, 4}}, at));
    cs.push_back(randCase(OpKind::ReduceMean, {{2, 3, 4}}, at));
    cs.push_back(randCase(OpKind::LogSumExp, {{2, 3, 4}}, at));
    for (OpKind k : {OpKind::ReduceMax, OpKind::ReduceMin})
      cs.push_back({kindName(k), k, at, std::nullopt,
                    [](Rng &r) { return std::vector<Tensor>{distinctT(r, {2, 3, 4})}; }});
  }

  for (auto [sa, sb] : std::vector<std::pair<Shape, Shape>>{{{2, 3}, {3, 4}},
                                                            {{3}, {3, 4}},
                                                            {{2, 3}, {3}},
                                                            {{3}, {3}},
                                                            {{2, 2, 3}, {3, 4}},
                                                            {{2, 1, 2, 3}, {3, 3, 4}},
                                                            {{3}, {2, 3, 4}},
                                                            {{2, 2, 3}, {3}},
                                                            {{2, 3}, {2, 3, 4}}})
    cs.push_back(randCase(OpKind::MatMul, {sa, sb}));
  // operands stored transposed (fold-transpose's form)
  cs.push_back(randCase(OpKind::MatMul, {{3, 2}, {3, 4}}, {{"transpose_a", true}}));
  cs.push_back(randCase(OpKind::MatMul, {{2, 3}, {4, 3}}, {{"transpose_b", true}}));
  cs.push_back(randCase(OpKind::MatMul, {{2, 3, 2}, {4, 3}}, {{"transpose_a", true}, {"transpose_b", true}}));

  for (OpKind k : {OpKind::Softmax, OpKind::LogSoftmax, OpKind::CumSum}) {
    cs.push_back(randCase(k, {{2, 3}}, {{"axis", int64_t(1)}}));
    cs.push_back(randCase(k, {{3, 2}}, {{"axis", int64_t(0)}}));
    cs.push_back(randCase(k, {{2, 3, 2}}, {{"axis", int64_t(1)}}));
  }
  cs.push_back(randCase(OpKind::CumSum, {{4}}, {{"axis", int64_t(0)}}));

  cs.push_back(randCase(OpKind::Concat, {{2, 1}, {2, 3}}, {{"axis", int64_t(1)}}));
  cs.push_back(randCase(OpKind::Concat, {{1, 2}, {2, 2}, {1, 2}}, {{"axis", int64_t(0)}}));
  cs.push_back(randCase(OpKind::Stack, {{2, 3}, {2, 3}}, {{"axis", int64_t(0)}}));
  cs.push_back(randCase(OpKind::Stack, {{2, 3}, {2, 3}, {2, 3}}, {{"axis", int64_t(2)}}));
  cs.push_back(randCase(OpKind::Stack, {{}, {}, {}}, {{"axis", int64_t(0)}}));
  cs.push_back(randCase(OpKind::Slice, {{3, 4}}, {{"starts", Ints{1, 0}}, {"ends", Ints{3, 3}}}));
  cs.push_back(randCase(OpKind::Slice, {{5}}, {{"starts", Ints{2}}, {"ends", Ints{2}}}));
  cs.push_back(randCase(OpKind::Pad, {{2, 2}}, {{"starts", Ints{1, 1}}}, ty(F64, {3, 4})));
  cs.push_back(randCase(OpKind::Pad, {{}}, {{"starts", Ints{}}}, ty(F64, {})));

  cs.push_back({"index", OpKind::Index, {}, std::nullopt,
                [](Rng &r) { return std::vector<Tensor>{randT(r, {3, 2}), Tensor::scalar(I32, 1)}; }});
  cs.push_back({"index", OpKind::Index, {}, std::nullopt,
                [](Rng &r) { return std::vector<Tensor>{randT(r, {4}), Tensor::scalar(I32, 3)}; }});
  cs.push_back({"index_add", OpKind::IndexAdd, {}, std::nullopt, [](Rng &r) {
                  return std::vector<Tensor>{randT(r, {3, 2}), Tensor::scalar(I32, 2), randT(r, {2})};
                }});
  cs.push_back({"take", OpKind::Take, {{"axis", int64_t(1)}}, std::nullopt, [](Rng &r) {
                  return std::vector<Tensor>{randT(r, {3, 4}), make(I32, {2, 2}, {0, 2, 2, 1})};
                }});
  cs.push_back({"take", OpKind::Take, {{"axis", int64_t(0)}}, std::nullopt, [](Rng &r) {
                  return std::vector<Tensor>{randT(r, {3, 2}), make(I32, {4}, {2, 0, 2, 2})};
                }});
  cs.push_back({"scatter_add", OpKind::ScatterAdd, {{"axis", int64_t(1)}}, std::nullopt, [](Rng &r) {
                  return std::vector<Tensor>{randT(r, {3, 4}), make(I32, {3}, {1, 1, 3}), randT(r, {3, 3})};
                }});
  cs.push_back({"scatter_add", OpKind::ScatterAdd, {{"axis", int64_t(0)}}, std::nullopt, [](Rng &r) {
                  return std::vector<Tensor>{randT(r, {3}), make(I32, {2, 2}, {0, 0, 2, 1}), randT(r, {2, 2})};
                }});
  return cs; // stop_grad (the identity with derivative zero) is checked exactly below
}

/// Runs the rule of `c` at fixed inputs with result adjoint `w`; returns the
/// adjoints of the float operands.
std::vector<Tensor> ruleAt(const OpCase &c, const std::vector<Tensor> &in, const Tensor &w) {
  Module m;
  Fn G(m, "G", in);
  G.ret(emitRule(G, c, denseConst(G.b, w)));
  std::string err;
  INFO(dump(m));
  REQUIRE(verifyModule(m, err));
  Interpreter interp(m, InterpOptions{});
  return interp.call("G", in);
}

OpCase plain(OpKind k, AttrMap attrs = {}, std::optional<Type> t = std::nullopt) {
  return {kindName(k), k, std::move(attrs), std::move(t), {}};
}

bool isStructural(OpKind k) {
  switch (k) {
  case OpKind::For:
  case OpKind::If:
  case OpKind::Map:
  case OpKind::Grad:
  case OpKind::Call:
  case OpKind::Yield:
  case OpKind::Return:
    return true;
  default:
    return false;
  }
}

} // namespace

//===----------------------------------------------------------------------===//
// Tests
//===----------------------------------------------------------------------===//

TEST_CASE("every differentiable op kind has a finite-difference case", "[rules]") {
  std::set<OpKind> covered;
  for (const OpCase &c : allCases()) covered.insert(c.kind);
  for (int i = 0; i < kNumOpKinds; ++i) {
    OpKind k = static_cast<OpKind>(i);
    if (isStructural(k) || isNonDifferentiable(k)) continue;
    INFO("op kind " << mnemonic(k) << " has a rule but no finite-difference case");
    CHECK(covered.count(k) == 1);
  }
}

TEST_CASE("which op kinds carry no derivative", "[rules]") {
  for (OpKind k : {OpKind::Eq, OpKind::Ne, OpKind::Lt, OpKind::Le, OpKind::Gt, OpKind::Ge, OpKind::And, OpKind::Or,
                   OpKind::Not, OpKind::ArgMax, OpKind::OneHot, OpKind::Iota, OpKind::Random, OpKind::Constant,
                   OpKind::LoadNpy, OpKind::LoadCsv, OpKind::Load, OpKind::Print, OpKind::Save, OpKind::SaveNpy,
                   OpKind::StopGrad, OpKind::Floor, OpKind::Round, OpKind::Sign})
    CHECK(isNonDifferentiable(k));
  for (OpKind k : {OpKind::Add, OpKind::Exp, OpKind::MatMul, OpKind::Convert, OpKind::Select, OpKind::Take,
                   OpKind::Pad, OpKind::ScatterAdd, OpKind::Index, OpKind::IndexAdd, OpKind::Clamp, OpKind::Mod})
    CHECK_FALSE(isNonDifferentiable(k));
  for (OpKind k : {OpKind::For, OpKind::If, OpKind::Map, OpKind::Grad, OpKind::Call})
    CHECK_FALSE(isNonDifferentiable(k));
}

TEST_CASE("each rule matches central finite differences in f64", "[rules]") {
  Rng rng(20240611);
  for (const OpCase &c : allCases()) {
    checkFirstOrder(c, rng);
  }
}

TEST_CASE("rules are differentiable again: second order against finite differences", "[rules]") {
  Rng rng(7);
  // The ops the brief singles out, in several forms, then every other case.
  std::set<OpKind> focus{OpKind::Tanh, OpKind::Mul, OpKind::MatMul, OpKind::Softmax, OpKind::Pow};
  int focused = 0;
  for (const OpCase &c : allCases()) {
    if (focus.count(c.kind)) ++focused;
    checkSecondOrder(c, rng);
  }
  CHECK(focused >= 5);
}

TEST_CASE("every op a rule emits has a rule of its own", "[rules]") {
  Rng rng(3);
  std::set<std::string> seen;
  for (const OpCase &c : allCases()) {
    std::vector<Tensor> in = c.gen(rng);
    Module m;
    Fn G(m, "G", in);
    Op *primal = nullptr;
    Type yt = resultTypeOf(c, in); // the result adjoint: ones of the result type
    std::vector<Value *> adjs = emitRule(G, c, G.b.constant(yt, 1.0), &primal);
    // The ops after the primal op were emitted by the rule (or are constants).
    std::vector<Op *> emitted;
    bool after = false;
    for (auto &op : G.f->body().ops()) {
      if (op.get() == primal) { after = true; continue; }
      if (after) emitted.push_back(op.get());
    }
    for (Op *op : emitted) {
      seen.insert(op->name());
      INFO(c.label << " emits " << op->name());
      REQUIRE_FALSE(isStructural(op->kind()));
      std::vector<Value *> operands = op->operands(), results = op->results(), ra;
      for (Value *r : results) ra.push_back(isFloat(r->type().dtype) ? G.b.constant(r->type(), 1.0) : nullptr);
      RuleContext ctx{G.b, *op, operands, results, ra};
      std::vector<Value *> oa = operandAdjoints(ctx);
      REQUIRE(oa.size() == operands.size());
      for (size_t i = 0; i < oa.size(); ++i)
        if (oa[i]) CHECK(oa[i]->type() == operands[i]->type());
    }
    G.ret(adjs);
    std::string err;
    INFO(c.label << "\n" << dump(m));
    REQUIRE(verifyModule(m, err));
  }
  // The rules emit (at least) these kinds, each covered above.
  for (const char *k : {"mul", "select", "reduce_sum", "reshape", "broadcast", "matmul", "transpose", "pad",
                        "slice", "index_add", "index", "scatter_add", "take", "cumsum", "convert"})
    CHECK(seen.count(k) == 1);
}

TEST_CASE("kink conventions follow PyTorch", "[rules]") {
  SECTION("relu'(0) = 0 and abs'(0) = 0") {
    Tensor x = make(F64, {3}, {0, 1.5, -1.5}), w = make(F64, {3}, {2, 3, 5});
    CHECK(values(ruleAt(plain(OpKind::Relu), {x}, w)[0]) == std::vector<double>{0, 3, 0});
    CHECK(values(ruleAt(plain(OpKind::Abs), {x}, w)[0]) == std::vector<double>{0, 3, -5});
  }
  SECTION("max and min ties split evenly") {
    Tensor a = make(F64, {3}, {1, 2, 3}), b = make(F64, {3}, {1, 1, 4}), w = make(F64, {3}, {2, 4, 8});
    std::vector<Tensor> gm = ruleAt(plain(OpKind::Max), {a, b}, w);
    CHECK(values(gm[0]) == std::vector<double>{1, 4, 0});
    CHECK(values(gm[1]) == std::vector<double>{1, 0, 8});
    std::vector<Tensor> gn = ruleAt(plain(OpKind::Min), {a, b}, w);
    CHECK(values(gn[0]) == std::vector<double>{1, 0, 8});
    CHECK(values(gn[1]) == std::vector<double>{1, 4, 0});
    // broadcast: the scalar b ties with two elements of a
    std::vector<Tensor> gs = ruleAt(plain(OpKind::Max), {make(F64, {3}, {2, 2, 5}), Tensor::scalar(F64, 2)}, w);
    CHECK(values(gs[0]) == std::vector<double>{1, 2, 8});
    CHECK(values(gs[1]) == std::vector<double>{3});
  }
  SECTION("reduce_max and reduce_min ties split evenly") {
    Tensor x = make(F64, {2, 3}, {1, 3, 3, 2, 0, 2}), w = make(F64, {2}, {6, 4});
    OpCase mx = plain(OpKind::ReduceMax, {{"axes", Ints{1}}});
    CHECK(values(ruleAt(mx, {x}, w)[0]) == std::vector<double>{0, 3, 3, 2, 0, 2});
    OpCase mn = plain(OpKind::ReduceMin, {{"axes", Ints{}}});
    CHECK(values(ruleAt(mn, {make(F64, {4}, {0, 1, 0, 0})}, Tensor::scalar(F64, 3))[0]) ==
          std::vector<double>{1, 0, 1, 1});
  }
  SECTION("clamp passes the gradient to x on the closed interval") {
    Tensor x = make(F64, {5}, {-1, -0.5, 0, 0.5, 1}), lo = Tensor::scalar(F64, -0.5), hi = Tensor::scalar(F64, 0.5);
    Tensor w = make(F64, {5}, {1, 2, 4, 8, 16});
    std::vector<Tensor> g = ruleAt(plain(OpKind::Clamp), {x, lo, hi}, w);
    CHECK(values(g[0]) == std::vector<double>{0, 2, 4, 8, 0});
    CHECK(values(g[1]) == std::vector<double>{1});
    CHECK(values(g[2]) == std::vector<double>{16});
    // lo > hi: hi wins everywhere (y = hi)
    std::vector<Tensor> h = ruleAt(plain(OpKind::Clamp), {x, hi, lo}, w);
    CHECK(values(h[0]) == std::vector<double>{0, 0, 0, 0, 0});
    CHECK(values(h[1]) == std::vector<double>{0});
    CHECK(values(h[2]) == std::vector<double>{31});
  }
  SECTION("floor, round, sign and stop_grad have zero derivative, also at their jumps") {
    Tensor x = make(F64, {4}, {0, 1, -2, 2.5}), w = make(F64, {4}, {1, 1, 1, 1});
    for (OpKind k : {OpKind::Floor, OpKind::Round, OpKind::Sign, OpKind::StopGrad})
      CHECK(values(ruleAt(plain(k), {x}, w)[0]) == std::vector<double>{0, 0, 0, 0});
  }
  SECTION("pow at a == 0 and with a negative base and integral exponent") {
    Tensor a = make(F64, {3}, {0, 0, -2}), b = make(F64, {3}, {2, 0, 3}), w = make(F64, {3}, {1, 1, 1});
    std::vector<Tensor> g = ruleAt(plain(OpKind::Pow), {a, b}, w);
    // d/da: 2 * 0^1 = 0; b == 0 gives 0 (not 0 * 0^-1); 3 * (-2)^2 = 12
    CHECK(values(g[0]) == std::vector<double>{0, 0, 12});
    // d/db: 0 where a == 0 (as PyTorch); y ln a is NaN for a < 0
    std::vector<double> db = values(g[1]);
    CHECK(db[0] == 0);
    CHECK(db[1] == 0);
    CHECK(std::isnan(db[2]));
  }
}

TEST_CASE("convert: float to float converts the adjoint back, int and bool sides have none", "[rules]") {
  Tensor x32 = make(F32, {2}, {1.5, -2}), w64 = make(F64, {2}, {0.25, 3});
  std::vector<Tensor> g = ruleAt(plain(OpKind::Convert, {}, ty(F64, {2})), {x32}, w64);
  REQUIRE(g.size() == 1);
  CHECK(g[0].dtype() == F32);
  CHECK(values(g[0]) == std::vector<double>{0.25, 3});
  Tensor x64 = make(F64, {2}, {1.5, -2}), w32 = make(F32, {2}, {0.5, 4});
  g = ruleAt(plain(OpKind::Convert, {}, ty(F32, {2})), {x64}, w32);
  CHECK(g[0].dtype() == F64);
  CHECK(values(g[0]) == std::vector<double>{0.5, 4});
  // float -> i32: the result carries no derivative (the adjoint is zero)
  Module m;
  Fn G(m, "G", {x64});
  Op *op = G.b.create(OpKind::Convert, {G.args()[0]}, {ty(I32, {2})});
  std::vector<Value *> operands = G.args(), results = op->results(), ra{G.b.constant(ty(I32, {2}), 1)};
  RuleContext ctx{G.b, *op, operands, results, ra};
  CHECK(operandAdjoints(ctx)[0] == nullptr);
}

TEST_CASE("f32 adjoints stay f32", "[rules]") {
  Tensor x = make(F32, {2, 3}, {0.5, 1, 1.5, 2, 2.5, 3}), v = make(F32, {3}, {1, 2, 3});
  Tensor w = make(F32, {2, 3}, {1, 1, 1, 1, 1, 1});
  for (OpKind k : {OpKind::Mul, OpKind::Div, OpKind::Pow, OpKind::Max, OpKind::Mod, OpKind::Sub}) {
    std::vector<Tensor> g = ruleAt(plain(k), {x, v}, w);
    INFO(mnemonic(k));
    CHECK(g[0].dtype() == F32);
    CHECK(g[1].dtype() == F32);
    CHECK(g[1].shape() == Shape{3});
  }
  for (OpKind k : {OpKind::Sqrt, OpKind::Tanh, OpKind::Sigmoid, OpKind::Relu, OpKind::Expm1, OpKind::Log1p})
    CHECK(ruleAt(plain(k), {x}, w)[0].dtype() == F32);
  CHECK(ruleAt(plain(OpKind::ReduceMean, {{"axes", Ints{1}}}), {x}, make(F32, {2}, {1, 1}))[0].dtype() == F32);
  CHECK(ruleAt(plain(OpKind::ReduceMax, {{"axes", Ints{}}}), {x}, Tensor::scalar(F32, 1))[0].dtype() == F32);
}

TEST_CASE("unbroadcast and addAdjoints", "[rules]") {
  Module m;
  Fn F(m, "F", {make(F64, {2, 3}, {1, 2, 3, 4, 5, 6})});
  Value *x = F.args()[0];
  CHECK(unbroadcast(F.b, x, {2, 3}) == x);
  Value *a = unbroadcast(F.b, x, {3});
  Value *b = unbroadcast(F.b, x, {2, 1});
  Value *c = unbroadcast(F.b, x, {});
  Value *d = unbroadcast(F.b, x, {1, 3});
  CHECK(a->type() == ty(F64, {3}));
  CHECK(b->type() == ty(F64, {2, 1}));
  CHECK(c->type() == ty(F64));
  CHECK(d->type() == ty(F64, {1, 3}));
  CHECK(addAdjoints(F.b, nullptr, x) == x);
  CHECK(addAdjoints(F.b, x, nullptr) == x);
  CHECK(addAdjoints(F.b, nullptr, nullptr) == nullptr);
  Value *s = addAdjoints(F.b, x, x);
  F.ret({a, b, c, d, s});
  std::string err;
  REQUIRE(verifyModule(m, err));
  Interpreter interp(m, InterpOptions{});
  std::vector<Tensor> r = interp.call("F", {make(F64, {2, 3}, {1, 2, 3, 4, 5, 6})});
  CHECK(values(r[0]) == std::vector<double>{5, 7, 9});
  CHECK(values(r[1]) == std::vector<double>{6, 15});
  CHECK(values(r[2]) == std::vector<double>{21});
  CHECK(values(r[3]) == std::vector<double>{5, 7, 9});
  CHECK(values(r[4]) == std::vector<double>{2, 4, 6, 8, 10, 12});
}
