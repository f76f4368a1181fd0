//===- frontend/RandomBuiltins.cpp - Keys, permutations and minibatches -----===//
//
// See RandomBuiltins.h. Everything lowers to `random` ops (dists "fold_in"
// and "permutation", whose values runtime/Rng.h defines for both engines),
// i32 arithmetic and `take`: a minibatch is O(batch) work per step (a window
// of the keyed permutation, computed element by element) and a gather, with
// no state and nothing allocated.
//
//===----------------------------------------------------------------------===//
#include "frontend/RandomBuiltins.h"

#include <cstdint>

namespace ptl::sema {

using ir::OpKind;

namespace {

/// The i32 scalar value of `e` (a key, seed, step or data), or null after
/// reporting "WHAT must be an i32 scalar, got T" at e.
ir::Value *i32Scalar(Elaborator &E, const ast::Expr &e, const char *what) {
  SValue v = E.elabExpr(e);
  if (v.poisoned) return nullptr;
  if (!v.type.isTensor() || !v.type.isScalar() || v.type.tensor.dtype != DType::I32) {
    E.diags_.error(e.loc) << what << " must be an i32 scalar, got " << v.type.str();
    return nullptr;
  }
  return E.tensorValue(v);
}

/// A `random` op of dist "fold_in": the seed derived from (key, data).
ir::Value *foldIn(Elaborator &E, ir::Value *key, ir::Value *data) {
  ir::AttrMap attrs{{"dist", std::string("fold_in")}};
  return E.b().create(OpKind::Random, {key, data}, {ir::Type{DType::I32, {}}}, attrs)->result(0);
}

/// A `random` op of dist "permutation": P_{key,n}(offset + j) for j in [0, m).
ir::Value *permutationWindow(Elaborator &E, ir::Value *key, int64_t n, ir::Value *offset, int64_t m) {
  ir::AttrMap attrs{{"dist", std::string("permutation")}, {"a", n}};
  return E.b().create(OpKind::Random, {key, offset}, {ir::Type{DType::I32, {m}}}, attrs)->result(0);
}

} // namespace

SValue elabFoldIn(Elaborator &E, const ast::Expr &key, const ast::Expr &data, SourceLoc loc) {
  ir::Value *k = i32Scalar(E, key, "fold_in's key");
  ir::Value *d = i32Scalar(E, data, "fold_in's data");
  if (!k || !d) return SValue::poison();
  E.b().setLoc(E.irLoc(loc));
  return E.fromValue(foldIn(E, k, d));
}

SValue elabPermutation(Elaborator &E, const ast::Expr &n, const ast::Expr &key, SourceLoc loc) {
  auto size = E.constInt(n, "permutation lengths");
  ir::Value *k = i32Scalar(E, key, "permutation's key");
  if (!size || !k) return SValue::poison();
  if (*size < 0 || *size > INT32_MAX) {
    E.diags_.error(n.loc) << "permutation's length must be in [0, 2^31), got " << *size;
    return SValue::poison();
  }
  E.b().setLoc(E.irLoc(loc));
  return E.fromValue(permutationWindow(E, k, *size, E.b().scalar(DType::I32, 0), *size));
}

// s0 = step - 1; b = s0 mod bpe (in [0, bpe)); e = (s0 - b) / bpe (floor);
// rows = P_{fold_in(seed, e), n}(b * batch + j), j in [0, batch); x_b = take(x, rows, axis 0)
SValue elabMinibatch(Elaborator &E, const ast::Expr &arrays, const ast::Expr &batch, const ast::Expr &step,
                     const ast::Expr *seed, SourceLoc loc) {
  SValue all = E.elabExpr(arrays);
  if (all.poisoned) return all;
  bool tuple = all.type.kind == SType::Tuple;
  std::vector<SValue> xs = tuple ? tupleElements(all) : std::vector<SValue>{all};
  // The source location of element i (its own expression in a tuple literal).
  auto elemLoc = [&](size_t i) {
    if (tuple && arrays.kind == ast::ExprKind::Tuple) return ast::as<ast::TupleExpr>(arrays).elems[i]->loc;
    return arrays.loc;
  };
  if (xs.empty()) {
    E.diags_.error(arrays.loc) << "minibatch needs at least one array";
    return SValue::poison();
  }
  int64_t n = -1;
  for (size_t i = 0; i < xs.size(); ++i) {
    const SValue &x = xs[i];
    if (!x.type.isTensor() || x.type.tensor.shape.empty()) {
      E.diags_.error(elemLoc(i)) << "minibatch needs arrays (tensors of rank >= 1) or a tuple of them, got "
                                 << x.type.str();
      return SValue::poison();
    }
    int64_t rows = x.type.tensor.shape[0];
    if (n < 0) {
      n = rows;
    } else if (rows != n) {
      E.diags_.error(elemLoc(i)) << "minibatch's arrays must share their first axis: this one has " << rows
                                 << " rows, the first has " << n << " (" << x.type.str() << " vs "
                                 << xs[0].type.str() << ")";
      return SValue::poison();
    }
  }
  auto size = E.constInt(batch, "minibatch sizes");
  ir::Value *s = i32Scalar(E, step, "minibatch's step");
  ir::Value *key = seed ? i32Scalar(E, *seed, "minibatch's seed") : nullptr;
  if (!size || !s || (seed && !key)) return SValue::poison();
  if (*size < 1 || *size > n) {
    E.diags_.error(batch.loc) << "the minibatch size must be in [1, " << n << "] (the arrays have " << n
                              << " rows), got " << *size;
    return SValue::poison();
  }
  if (n > INT32_MAX) {
    E.diags_.error(arrays.loc) << "minibatch supports at most 2^31 - 1 rows, got " << n;
    return SValue::poison();
  }
  E.b().setLoc(E.irLoc(loc));
  ir::Builder &b = E.b();
  if (!key) key = b.scalar(DType::I32, 0);
  int64_t perEpoch = n / *size;
  ir::Value *bpe = b.scalar(DType::I32, (double)perEpoch);
  ir::Value *s0 = b.make(OpKind::Sub, {s, b.scalar(DType::I32, 1)});
  ir::Value *inEpoch = b.make(OpKind::Mod, {s0, bpe});
  ir::Value *epoch = b.make(OpKind::Div, {b.make(OpKind::Sub, {s0, inEpoch}), bpe});
  ir::Value *offset = b.make(OpKind::Mul, {inEpoch, b.scalar(DType::I32, (double)*size)});
  ir::Value *rows = permutationWindow(E, foldIn(E, key, epoch), n, offset, *size);
  SValue r = all;
  r.constant.reset();
  r.weak = false;
  r.leaves.clear();
  for (size_t i = 0; i < xs.size(); ++i) {
    ir::Value *x = E.tensorValue(xs[i]);
    ir::Value *taken = E.emit(OpKind::Take, {x, rows}, {{"axis", (int64_t)0}}, loc);
    if (!taken) return SValue::poison();
    r.leaves.push_back(taken);
  }
  if (!tuple) return E.fromValue(r.leaves[0]);
  for (size_t i = 0; i < xs.size(); ++i) r.type.elems[i] = SType::tensorOf(r.leaves[i]->type());
  return r;
}

SValue elabRandomLike(Elaborator &E, const char *name, const char *dist, const ast::Expr &x,
                      const ast::Expr &seed, SourceLoc loc) {
  SValue v = E.elabExpr(x);
  if (v.poisoned) return v;
  if (!E.requireTensor(v, x.loc, name)) return SValue::poison();
  if (v.weak) v = E.convertTo(v, isFloat(v.type.tensor.dtype) ? DType::F32 : v.type.tensor.dtype);
  if (!isFloat(v.type.tensor.dtype)) {
    E.diags_.error(x.loc) << name << " needs a float tensor (f32 or f64), got " << v.type.str();
    return SValue::poison();
  }
  ir::Value *s = i32Scalar(E, seed, "the seed");
  if (!s) return SValue::poison();
  E.b().setLoc(E.irLoc(loc));
  ir::AttrMap attrs{{"dist", std::string(dist)}, {"key", std::string("")}, {"a", 0.0}, {"b", 1.0}};
  return E.fromValue(E.b().create(OpKind::Random, {s}, {v.leaves[0]->type()}, attrs)->result(0));
}

} // namespace ptl::sema
