//===- frontend/Builtins.cpp - The built-in functions -----------------------===//
//
// One table maps each built-in name to its parameter list and its
// elaboration rule. Parameters are matched like user functions (by position,
// then by name); the rule checks types and shapes and emits IR.
//
//===----------------------------------------------------------------------===//
#include "frontend/Bijectors.h"
#include "frontend/Elaborator.h"
#include "frontend/RandomBuiltins.h"
#include "runtime/Errors.h"
#include "runtime/Formats.h"
#include "runtime/Sandbox.h"

#include <cmath>
#include <filesystem>
#include <functional>

namespace ptl {
namespace sema {

using ir::OpKind;

namespace {

/// A built-in's arguments after matching: the expression given for each
/// declared parameter (null when omitted), plus extra positional arguments
/// for variadic built-ins.
struct BuiltinArgs {
  std::vector<const ast::Expr *> params;
  std::vector<const ast::Expr *> rest;
  const ast::IndexExpr *shape = nullptr; ///< `zeros[2, 3]`
  SourceLoc loc;
};

/// One built-in: its parameters (a trailing "..." makes it variadic), how
/// many are required, and its rule.
struct Builtin {
  std::vector<std::string> params;
  size_t required;
  std::function<SValue(Elaborator &, BuiltinArgs &)> rule;
  bool needsShape = false; ///< creation: `zeros[...]`
};

const std::map<std::string, OpKind> &unaryBuiltins() {
  static const std::map<std::string, OpKind> m = {
      {"exp", OpKind::Exp},         {"log", OpKind::Log},         {"log1p", OpKind::Log1p},
      {"expm1", OpKind::Expm1},     {"sqrt", OpKind::Sqrt},       {"tanh", OpKind::Tanh},
      {"sigmoid", OpKind::Sigmoid}, {"relu", OpKind::Relu},       {"softplus", OpKind::Softplus},
      {"abs", OpKind::Abs},         {"sin", OpKind::Sin},         {"cos", OpKind::Cos},
      {"floor", OpKind::Floor},     {"round", OpKind::Round},     {"sign", OpKind::Sign}};
  return m;
}

} // namespace

/// Reads an `axis = k` or `axis = (a, b)` argument as a list of axes of a rank-r tensor.
static bool readAxes(Elaborator &E, const ast::Expr *e, int64_t rank, std::vector<int64_t> &axes) {
  if (!e) return true;
  std::vector<const ast::Expr *> items;
  if (e->kind == ast::ExprKind::Tuple || e->kind == ast::ExprKind::List) {
    const auto &elems = e->kind == ast::ExprKind::Tuple ? ast::as<ast::TupleExpr>(*e).elems
                                                        : ast::as<ast::ListExpr>(*e).elems;
    for (const ast::ExprPtr &x : elems) items.push_back(x.get());
  } else {
    items.push_back(e);
  }
  for (const ast::Expr *x : items) {
    auto v = E.constInt(*x, "axes");
    if (!v) return false;
    int64_t a = *v < 0 ? *v + rank : *v;
    if (a < 0 || a >= rank) {
      E.diags_.error(x->loc) << "axis " << *v << " out of range for rank " << rank;
      return false;
    }
    axes.push_back(a);
  }
  return true;
}

/// Reads a compile-time bool argument (`keepdims = true`).
static bool readBool(Elaborator &E, const ast::Expr *e, bool dflt, bool &out) {
  out = dflt;
  if (!e) return true;
  SValue v = E.elabExpr(*e);
  if (v.poisoned) return false;
  if (!v.constant || v.type.tensor.dtype != DType::Bool) {
    E.diags_.error(e->loc) << "expected a constant true or false";
    return false;
  }
  out = *v.constant != 0;
  return true;
}

/// A float tensor operand: integers and literals become f32.
static SValue floatOperand(Elaborator &E, const ast::Expr *e, const char *what) {
  SValue v = E.elabExpr(*e);
  if (v.poisoned) return v;
  if (v.type.isModel()) return v;
  if (!E.requireTensor(v, e->loc, what)) return SValue::poison();
  if (v.type.tensor.dtype == DType::Bool) {
    E.diags_.error(e->loc) << what << " needs a number, got " << v.type.str();
    return SValue::poison();
  }
  if (!isFloat(v.type.tensor.dtype) || v.weak) return E.convertTo(v, isFloat(v.type.tensor.dtype) ? v.type.tensor.dtype : DType::F32);
  return v;
}

/// Is `n` a valid dimension (>= 0)? Reports "negative dimension" at `loc` if not.
static bool checkDimension(Elaborator &E, int64_t n, SourceLoc loc, const char *what) {
  if (n >= 0) return true;
  E.diags_.error(loc) << "negative dimension " << n << " (" << what << ")";
  return false;
}

/// The static shape in `zeros[2, n]`.
static std::optional<Shape> readShape(Elaborator &E, const ast::IndexExpr *ie, const std::string &name, SourceLoc loc) {
  if (!ie) {
    E.diags_.error(loc) << "'" << name << "' needs a shape: " << name << "[d1, d2, ...]";
    return std::nullopt;
  }
  Shape s;
  for (const ast::IndexItem &it : ie->items) {
    if (it.isSlice) {
      E.diags_.error(it.loc) << "a shape dimension cannot be a slice";
      return std::nullopt;
    }
    auto v = E.constInt(*it.value, "shape dimensions");
    if (!v || !checkDimension(E, *v, it.loc, "a shape dimension")) return std::nullopt;
    s.push_back(*v);
  }
  return s;
}

/// Resolves a script-relative path.
static std::string scriptPath(Elaborator &E, const std::string &p) {
  if (p.empty() || p[0] == '/' || E.opts_.baseDir.empty()) return p;
  return (std::filesystem::path(E.opts_.baseDir) / p).string();
}

/// Whether the sandbox (runtime/Sandbox.h) lets the script touch the file at
/// script-relative path `p`; if not, reports why at `loc`. The inspecting
/// builtins (load_csv, load_npy) are checked by the runtime's readers; this
/// catches the files only read or written at run time at check time too.
static bool sandboxAllows(Elaborator &E, const std::string &p, SourceLoc loc, PathAccess access) {
  std::string why = currentPathPolicy()->denial(scriptPath(E, p), access);
  if (why.empty()) return true;
  E.diags_.error(loc) << why;
  return false;
}

/// A constant string argument.
static std::optional<std::string> readString(Elaborator &E, const ast::Expr *e, const char *what) {
  SValue v = E.elabExpr(*e);
  if (v.poisoned) return std::nullopt;
  if (!v.isString) {
    E.diags_.error(e->loc) << what << " must be a string";
    return std::nullopt;
  }
  return v.string;
}

/// sum(m) or norm(m) of a model: the whole-model reduction (no axis or keepdims).
static SValue wholeModel(Elaborator &E, BuiltinArgs &a, const SValue &m, Elaborator::ModelReduction kind,
                         const char *what) {
  for (size_t i = 1; i < a.params.size(); ++i)
    if (a.params[i]) {
      E.diags_.error(a.params[i]->loc) << what << " of a model reduces every trainable leaf to one scalar; it takes no "
                                       << (i == 1 ? "axis" : "keepdims");
      return SValue::poison();
    }
  return E.modelReduce(kind, m, nullptr, a.loc, what);
}

/// A reduction: sum/mean/max/min/logsumexp/argmax (x, axis, keepdims).
static SValue reduction(Elaborator &E, BuiltinArgs &a, OpKind kind) {
  SValue x = E.elabExpr(*a.params[0]);
  if (kind == OpKind::ReduceSum && !x.poisoned && x.type.isModel())
    return wholeModel(E, a, x, Elaborator::ModelReduction::Sum, "sum");
  if (x.poisoned || !E.requireTensor(x, a.params[0]->loc, "a reduction")) return SValue::poison();
  if (x.weak) x = E.convertTo(x, x.type.tensor.dtype);
  if (kind != OpKind::ArgMax && kind != OpKind::ReduceSum && kind != OpKind::ReduceMax && kind != OpKind::ReduceMin &&
      !isFloat(x.type.tensor.dtype))
    x = E.convertTo(x, DType::F32);
  std::vector<int64_t> axes;
  bool keep = false;
  if (!readAxes(E, a.params[1], (int64_t)x.type.tensor.shape.size(), axes) || !readBool(E, a.params[2], false, keep))
    return SValue::poison();
  ir::AttrMap attrs{{"keepdims", keep}};
  if (kind == OpKind::ArgMax) {
    if (axes.size() > 1) {
      E.diags_.error(a.params[1]->loc) << "argmax takes one axis";
      return SValue::poison();
    }
    attrs["axis"] = axes.empty() ? (int64_t)-1 : axes[0];
  } else {
    attrs["axes"] = axes;
  }
  ir::Value *r = E.emit(kind, {x.leaves[0]}, attrs, a.loc);
  return r ? E.fromValue(r) : SValue::poison();
}

/// The table of built-ins.
static const std::map<std::string, Builtin> &builtins() {
  static const std::map<std::string, Builtin> table = [] {
    std::map<std::string, Builtin> t;
    // exp(x), log(x), ... : elementwise, also leaf by leaf on models.
    for (auto &[name, kind] : unaryBuiltins()) {
      OpKind k = kind;
      std::string n = name;
      t[name] = {{"x"}, 1, [k, n](Elaborator &E, BuiltinArgs &a) -> SValue {
                   SValue x = floatOperand(E, a.params[0], n.c_str());
                   if (x.poisoned) return x;
                   if (x.type.isModel()) return E.modelUnary(k, x, a.loc);
                   ir::Value *r = E.emit(k, {x.leaves[0]}, {}, a.loc);
                   return r ? E.fromValue(r) : SValue::poison();
                 }};
    }
    // where(c, a, b) = c ? a : b, broadcasting
    t["where"] = {{"cond", "a", "b"}, 3, [](Elaborator &E, BuiltinArgs &a) -> SValue {
                    SValue c = E.elabExpr(*a.params[0]), x = E.elabExpr(*a.params[1]), y = E.elabExpr(*a.params[2]);
                    if (c.poisoned || x.poisoned || y.poisoned) return SValue::poison();
                    if (!E.requireTensor(c, a.params[0]->loc, "where") || !E.requireTensor(x, a.params[1]->loc, "where") ||
                        !E.requireTensor(y, a.params[2]->loc, "where"))
                      return SValue::poison();
                    if (c.type.tensor.dtype != DType::Bool) {
                      E.diags_.error(a.params[0]->loc) << "where needs a bool condition, got " << c.type.str();
                      return SValue::poison();
                    }
                    if (!E.unifyDTypes(x, y, a.loc)) return SValue::poison();
                    ir::Value *r = E.emit(OpKind::Select, {c.leaves[0], x.leaves[0], y.leaves[0]}, {}, a.loc);
                    return r ? E.fromValue(r) : SValue::poison();
                  }};
    // clamp(x, lo, hi) = min(max(x, lo), hi); on a model, leaf by leaf with scalar bounds
    t["clamp"] = {{"x", "lo", "hi"}, 3, [](Elaborator &E, BuiltinArgs &a) -> SValue {
                    SValue x = E.elabExpr(*a.params[0]), lo = E.elabExpr(*a.params[1]), hi = E.elabExpr(*a.params[2]);
                    if (x.poisoned || lo.poisoned || hi.poisoned) return SValue::poison();
                    if (x.type.isModel()) return E.modelClamp(x, lo, hi, a.loc);
                    for (int i = 0; i < 3; ++i)
                      if (!E.requireTensor(i == 0 ? x : i == 1 ? lo : hi, a.params[i]->loc, "clamp")) return SValue::poison();
                    if (!E.unifyDTypes(x, lo, a.loc) || !E.unifyDTypes(x, hi, a.loc) || !E.unifyDTypes(lo, hi, a.loc))
                      return SValue::poison();
                    ir::Value *r = E.emit(OpKind::Clamp, {x.leaves[0], lo.leaves[0], hi.leaves[0]}, {}, a.loc);
                    return r ? E.fromValue(r) : SValue::poison();
                  }};
    // max(x, axis, keepdims) reduction (likewise min); the elementwise
    // max(a, b) of two positional arguments is handled in callBuiltin.
    for (auto [name, red] : {std::pair{"max", OpKind::ReduceMax}, std::pair{"min", OpKind::ReduceMin}}) {
      OpKind r2 = red;
      t[name] = {{"x", "axis", "keepdims"}, 1, [r2](Elaborator &E, BuiltinArgs &a) { return reduction(E, a, r2); }};
    }
    t["sum"] = {{"x", "axis", "keepdims"}, 1, [](Elaborator &E, BuiltinArgs &a) { return reduction(E, a, OpKind::ReduceSum); }};
    t["mean"] = {{"x", "axis", "keepdims"}, 1, [](Elaborator &E, BuiltinArgs &a) { return reduction(E, a, OpKind::ReduceMean); }};
    t["logsumexp"] = {{"x", "axis", "keepdims"}, 1, [](Elaborator &E, BuiltinArgs &a) { return reduction(E, a, OpKind::LogSumExp); }};
    t["argmax"] = {{"x", "axis", "keepdims"}, 1, [](Elaborator &E, BuiltinArgs &a) { return reduction(E, a, OpKind::ArgMax); }};
    // norm(x, axis, keepdims) = sqrt(sum(x^2, axis))
    t["norm"] = {{"x", "axis", "keepdims"}, 1, [](Elaborator &E, BuiltinArgs &a) -> SValue {
                   SValue x = floatOperand(E, a.params[0], "norm");
                   if (!x.poisoned && x.type.isModel()) return wholeModel(E, a, x, Elaborator::ModelReduction::Norm, "norm");
                   if (x.poisoned || !E.requireTensor(x, a.params[0]->loc, "norm")) return SValue::poison();
                   std::vector<int64_t> axes;
                   bool keep = false;
                   if (!readAxes(E, a.params[1], (int64_t)x.type.tensor.shape.size(), axes) || !readBool(E, a.params[2], false, keep))
                     return SValue::poison();
                   ir::Value *sq = E.b().make(OpKind::Mul, {x.leaves[0], x.leaves[0]});
                   ir::Value *s = E.emit(OpKind::ReduceSum, {sq}, {{"axes", axes}, {"keepdims", keep}}, a.loc);
                   return s ? E.fromValue(E.b().make(OpKind::Sqrt, {s})) : SValue::poison();
                 }};
    // dot(a, b) = sum(a * b) over two tensors of one shape, or over every
    // trainable leaf of two models of one type
    t["dot"] = {{"a", "b"}, 2, [](Elaborator &E, BuiltinArgs &a) -> SValue {
                  SValue x = floatOperand(E, a.params[0], "dot"), y = floatOperand(E, a.params[1], "dot");
                  if (x.poisoned || y.poisoned) return SValue::poison();
                  if (x.type.isModel() || y.type.isModel()) {
                    if (!x.type.isModel()) std::swap(x, y);
                    return E.modelReduce(Elaborator::ModelReduction::Dot, x, &y, a.loc, "dot");
                  }
                  if (x.type.tensor.shape != y.type.tensor.shape) {
                    E.diags_.error(a.loc) << "dot needs two tensors of one shape (or two models of one type), got "
                                          << x.type.str() << " and " << y.type.str();
                    return SValue::poison();
                  }
                  if (!E.unifyDTypes(x, y, a.loc)) return SValue::poison();
                  ir::Value *p = E.emit(OpKind::Mul, {x.leaves[0], y.leaves[0]}, {}, a.loc);
                  if (!p) return SValue::poison();
                  if (p->type().shape.empty()) return E.fromValue(p);
                  ir::Value *s = E.emit(OpKind::ReduceSum, {p}, {{"axes", std::vector<int64_t>{}}, {"keepdims", false}}, a.loc);
                  return s ? E.fromValue(s) : SValue::poison();
                }};
    // softmax(x, axis = -1), log_softmax(x, axis = -1), cumsum(x, axis = 0)
    for (auto [name, kind, dflt] : {std::tuple{"softmax", OpKind::Softmax, -1}, std::tuple{"log_softmax", OpKind::LogSoftmax, -1},
                                    std::tuple{"cumsum", OpKind::CumSum, 0}}) {
      OpKind k = kind;
      int d = dflt;
      std::string n = name;
      t[name] = {{"x", "axis"}, 1, [k, d, n](Elaborator &E, BuiltinArgs &a) -> SValue {
                   SValue x = floatOperand(E, a.params[0], n.c_str());
                   if (x.poisoned || !E.requireTensor(x, a.params[0]->loc, n.c_str())) return SValue::poison();
                   int64_t rank = (int64_t)x.type.tensor.shape.size();
                   if (rank == 0) {
                     E.diags_.error(a.params[0]->loc) << n << " needs a tensor of rank 1 or more";
                     return SValue::poison();
                   }
                   std::vector<int64_t> axes;
                   if (!readAxes(E, a.params[1], rank, axes)) return SValue::poison();
                   int64_t axis = axes.empty() ? (d < 0 ? rank - 1 : d) : axes[0];
                   ir::Value *r = E.emit(k, {x.leaves[0]}, {{"axis", axis}}, a.loc);
                   return r ? E.fromValue(r) : SValue::poison();
                 }};
    }
    // matmul(a, b) = a @ b
    t["matmul"] = {{"a", "b"}, 2, [](Elaborator &E, BuiltinArgs &a) -> SValue {
                     return E.binaryOp(ast::BinaryOp::MatMul, E.elabExpr(*a.params[0]), E.elabExpr(*a.params[1]), a.loc);
                   }};
    // transpose(x, perm) (default: reversed axes)
    t["transpose"] = {{"x", "perm"}, 1, [](Elaborator &E, BuiltinArgs &a) -> SValue {
                        SValue x = E.elabExpr(*a.params[0]);
                        if (x.poisoned || !E.requireTensor(x, a.params[0]->loc, "transpose")) return SValue::poison();
                        int64_t rank = (int64_t)x.type.tensor.shape.size();
                        std::vector<int64_t> perm;
                        if (a.params[1]) {
                          if (!readAxes(E, a.params[1], rank, perm)) return SValue::poison();
                        } else {
                          for (int64_t i = rank - 1; i >= 0; --i) perm.push_back(i);
                        }
                        ir::Value *r = E.emit(OpKind::Transpose, {x.leaves[0]}, {{"perm", perm}}, a.loc);
                        return r ? E.fromValue(r) : SValue::poison();
                      }};
    // reshape(x, [d1, d2, ...]) with at most one -1
    t["reshape"] = {{"x", "shape"}, 2, [](Elaborator &E, BuiltinArgs &a) -> SValue {
                      SValue x = E.elabExpr(*a.params[0]);
                      if (x.poisoned || !E.requireTensor(x, a.params[0]->loc, "reshape")) return SValue::poison();
                      const ast::Expr *s = a.params[1];
                      std::vector<const ast::Expr *> items;
                      if (s->kind == ast::ExprKind::List)
                        for (auto &e : ast::as<ast::ListExpr>(*s).elems) items.push_back(e.get());
                      else if (s->kind == ast::ExprKind::Tuple)
                        for (auto &e : ast::as<ast::TupleExpr>(*s).elems) items.push_back(e.get());
                      else
                        items.push_back(s);
                      Shape shape;
                      int infer = -1;
                      int64_t known = 1;
                      for (const ast::Expr *it : items) {
                        auto v = E.constInt(*it, "reshape dimensions");
                        if (!v) return SValue::poison();
                        if (*v == -1) {
                          if (infer >= 0) {
                            E.diags_.error(it->loc) << "reshape can infer only one dimension";
                            return SValue::poison();
                          }
                          infer = (int)shape.size();
                          shape.push_back(1);
                          continue;
                        }
                        if (!checkDimension(E, *v, it->loc, "reshape's dimensions other than -1")) return SValue::poison();
                        shape.push_back(*v);
                        known *= *v;
                      }
                      int64_t n = x.type.tensor.shape.empty() ? 1 : numElements(x.type.tensor.shape);
                      if (infer >= 0 && known > 0 && n % known == 0) shape[infer] = n / known;
                      if (numElements(shape) != n) {
                        E.diags_.error(a.loc) << "cannot reshape " << x.type.str() << " to " << shapeString(shape);
                        return SValue::poison();
                      }
                      ir::Type ty{x.type.tensor.dtype, shape};
                      E.b().setLoc(E.irLoc(a.loc));
                      return E.fromValue(E.b().create(OpKind::Reshape, {x.leaves[0]}, {ty})->result(0));
                    }};
    // concat(x1, x2, ..., axis = 0), stack(x1, x2, ..., axis = 0)
    for (auto [name, kind] : {std::pair{"concat", OpKind::Concat}, std::pair{"stack", OpKind::Stack}}) {
      OpKind k = kind;
      std::string n = name;
      t[name] = {{"x", "...", "axis"}, 1, [k, n](Elaborator &E, BuiltinArgs &a) -> SValue {
                   std::vector<const ast::Expr *> xs{a.params[0]};
                   xs.insert(xs.end(), a.rest.begin(), a.rest.end());
                   std::vector<SValue> vals;
                   if (xs.size() == 1 && xs[0]->kind == ast::ExprKind::Tuple) {
                     xs.clear();
                     for (auto &e : ast::as<ast::TupleExpr>(*a.params[0]).elems) xs.push_back(e.get());
                   }
                   for (const ast::Expr *x : xs) {
                     SValue v = E.elabExpr(*x);
                     if (v.poisoned || !E.requireTensor(v, x->loc, n.c_str())) return SValue::poison();
                     vals.push_back(v);
                   }
                   for (size_t i = 1; i < vals.size(); ++i)
                     if (!E.unifyDTypes(vals[0], vals[i], a.loc)) return SValue::poison();
                   for (size_t i = 1; i < vals.size(); ++i)
                     if (vals[i].type.tensor.dtype != vals[0].type.tensor.dtype) vals[i] = E.convertTo(vals[i], vals[0].type.tensor.dtype);
                   int64_t rank = (int64_t)vals[0].type.tensor.shape.size() + (k == OpKind::Stack ? 1 : 0);
                   std::vector<int64_t> axes;
                   if (!readAxes(E, a.params[1], rank, axes)) return SValue::poison();
                   std::vector<ir::Value *> ops;
                   for (SValue &v : vals) ops.push_back(v.leaves[0]);
                   ir::Value *r = E.emit(k, ops, {{"axis", axes.empty() ? (int64_t)0 : axes[0]}}, a.loc);
                   return r ? E.fromValue(r) : SValue::poison();
                 }};
    }
    // one_hot(labels, depth) -> f32[..., depth]
    t["one_hot"] = {{"labels", "depth"}, 2, [](Elaborator &E, BuiltinArgs &a) -> SValue {
                      SValue l = E.elabExpr(*a.params[0]);
                      if (l.poisoned || !E.requireTensor(l, a.params[0]->loc, "one_hot")) return SValue::poison();
                      if (l.type.tensor.dtype != DType::I32) {
                        E.diags_.error(a.params[0]->loc) << "one_hot needs i32 labels, got " << l.type.str();
                        return SValue::poison();
                      }
                      auto d = E.constInt(*a.params[1], "one_hot depth");
                      if (!d || !checkDimension(E, *d, a.params[1]->loc, "one_hot's depth")) return SValue::poison();
                      ir::Value *r = E.emit(OpKind::OneHot, {l.leaves[0]}, {{"depth", *d}}, a.loc);
                      return r ? E.fromValue(r) : SValue::poison();
                    }};
    // take(x, indices, axis = 0): gather
    t["take"] = {{"x", "indices", "axis"}, 2, [](Elaborator &E, BuiltinArgs &a) -> SValue {
                   SValue x = E.elabExpr(*a.params[0]), i = E.elabExpr(*a.params[1]);
                   if (x.poisoned || i.poisoned || !E.requireTensor(x, a.params[0]->loc, "take") ||
                       !E.requireTensor(i, a.params[1]->loc, "take"))
                     return SValue::poison();
                   if (i.type.tensor.dtype != DType::I32) {
                     E.diags_.error(a.params[1]->loc) << "take needs i32 indices, got " << i.type.str();
                     return SValue::poison();
                   }
                   std::vector<int64_t> axes;
                   if (!readAxes(E, a.params[2], (int64_t)x.type.tensor.shape.size(), axes)) return SValue::poison();
                   ir::Value *r = E.emit(OpKind::Take, {x.leaves[0], i.leaves[0]},
                                         {{"axis", axes.empty() ? (int64_t)0 : axes[0]}}, a.loc);
                   return r ? E.fromValue(r) : SValue::poison();
                 }};
    // zeros[...], ones[...], full[...](v)
    for (auto [name, v] : {std::pair{"zeros", 0.0}, std::pair{"ones", 1.0}}) {
      double val = v;
      std::string n = name;
      t[name] = {{}, 0, [val, n](Elaborator &E, BuiltinArgs &a) -> SValue {
                   auto s = readShape(E, a.shape, n, a.loc);
                   if (!s) return SValue::poison();
                   E.b().setLoc(E.irLoc(a.loc));
                   return E.fromValue(E.b().constant(ir::Type{DType::F32, *s}, val));
                 }, true};
    }
    t["full"] = {{"value"}, 1, [](Elaborator &E, BuiltinArgs &a) -> SValue {
                   auto s = readShape(E, a.shape, "full", a.loc);
                   if (!s) return SValue::poison();
                   SValue v = E.elabExpr(*a.params[0]);
                   if (v.poisoned || !E.requireTensor(v, a.params[0]->loc, "full")) return SValue::poison();
                   if (!v.type.isScalar()) {
                     E.diags_.error(a.params[0]->loc) << "full needs a scalar fill value, got " << v.type.str();
                     return SValue::poison();
                   }
                   if (v.weak) v = E.convertTo(v, isFloat(v.type.tensor.dtype) ? DType::F32 : v.type.tensor.dtype);
                   E.b().setLoc(E.irLoc(a.loc));
                   return E.fromValue(E.broadcastTo(v.leaves[0], *s));
                 }, true};
    // randn[...](seed), rand[...](seed), randint[...](lo, hi, seed)
    for (auto [name, dist] : {std::pair{"randn", "normal"}, std::pair{"rand", "uniform"}}) {
      std::string n = name, d = dist;
      t[name] = {{"seed"}, 1, [n, d](Elaborator &E, BuiltinArgs &a) -> SValue {
                   auto s = readShape(E, a.shape, n, a.loc);
                   if (!s) return SValue::poison();
                   SValue seed = E.elabExpr(*a.params[0]);
                   if (seed.poisoned) return seed;
                   if (!seed.type.isScalar() || seed.type.tensor.dtype != DType::I32) {
                     E.diags_.error(a.params[0]->loc) << "seed must be an i32 scalar, got " << seed.type.str();
                     return SValue::poison();
                   }
                   E.b().setLoc(E.irLoc(a.loc));
                   ir::AttrMap attrs{{"dist", d}, {"key", std::string("")}, {"a", 0.0}, {"b", 1.0}};
                   return E.fromValue(E.b().create(OpKind::Random, {seed.leaves[0]}, {ir::Type{DType::F32, *s}}, attrs)->result(0));
                 }, true};
    }
    t["randint"] = {{"lo", "hi", "seed"}, 3, [](Elaborator &E, BuiltinArgs &a) -> SValue {
                      auto s = readShape(E, a.shape, "randint", a.loc);
                      if (!s) return SValue::poison();
                      auto lo = E.constInt(*a.params[0], "randint bounds");
                      auto hi = E.constInt(*a.params[1], "randint bounds");
                      SValue seed = E.elabExpr(*a.params[2]);
                      if (!lo || !hi || seed.poisoned) return SValue::poison();
                      if (!seed.type.isScalar() || seed.type.tensor.dtype != DType::I32) {
                        E.diags_.error(a.params[2]->loc) << "seed must be an i32 scalar, got " << seed.type.str();
                        return SValue::poison();
                      }
                      if (*hi <= *lo) {
                        E.diags_.error(a.loc) << "randint needs lo < hi";
                        return SValue::poison();
                      }
                      E.b().setLoc(E.irLoc(a.loc));
                      ir::AttrMap attrs{{"dist", std::string("randint")}, {"key", std::string("")}, {"a", (double)*lo}, {"b", (double)*hi}};
                      return E.fromValue(E.b().create(OpKind::Random, {seed.leaves[0]}, {ir::Type{DType::I32, *s}}, attrs)->result(0));
                    }, true};
    // fold_in(key, data), permutation(n, key), minibatch(arrays, batch, step, seed = 0),
    // rand_like(x, seed), randn_like(x, seed): frontend/RandomBuiltins.h
    t["fold_in"] = {{"key", "data"}, 2, [](Elaborator &E, BuiltinArgs &a) {
                      return elabFoldIn(E, *a.params[0], *a.params[1], a.loc);
                    }};
    t["permutation"] = {{"n", "key"}, 2, [](Elaborator &E, BuiltinArgs &a) {
                          return elabPermutation(E, *a.params[0], *a.params[1], a.loc);
                        }};
    t["minibatch"] = {{"arrays", "batch", "step", "seed"}, 3, [](Elaborator &E, BuiltinArgs &a) {
                        return elabMinibatch(E, *a.params[0], *a.params[1], *a.params[2], a.params[3], a.loc);
                      }};
    t["rand_like"] = {{"x", "seed"}, 2, [](Elaborator &E, BuiltinArgs &a) {
                        return elabRandomLike(E, "rand_like", "uniform", *a.params[0], *a.params[1], a.loc);
                      }};
    t["randn_like"] = {{"x", "seed"}, 2, [](Elaborator &E, BuiltinArgs &a) {
                         return elabRandomLike(E, "randn_like", "normal", *a.params[0], *a.params[1], a.loc);
                       }};
    // arange(n) -> i32[n] = [0, 1, ..., n-1]
    t["arange"] = {{"n"}, 1, [](Elaborator &E, BuiltinArgs &a) -> SValue {
                     auto n = E.constInt(*a.params[0], "arange's length");
                     if (!n || !checkDimension(E, *n, a.params[0]->loc, "arange's length")) return SValue::poison();
                     E.b().setLoc(E.irLoc(a.loc));
                     return E.fromValue(E.b().create(OpKind::Iota, {}, {ir::Type{DType::I32, {*n}}})->result(0));
                   }};
    // f32(x), f64(x), i32(x): conversions
    for (auto [name, dt] : {std::pair{"f32", DType::F32}, std::pair{"f64", DType::F64}, std::pair{"i32", DType::I32}}) {
      DType d = dt;
      t[name] = {{"x"}, 1, [d](Elaborator &E, BuiltinArgs &a) -> SValue {
                   // A list literal takes the type from its exact values (f64([0.1, 1e300])).
                   const ast::Expr &arg = *a.params[0];
                   SValue x = arg.kind == ast::ExprKind::List ? E.elabList(ast::as<ast::ListExpr>(arg), d)
                                                              : E.elabExpr(arg);
                   if (x.poisoned || !E.requireTensor(x, a.params[0]->loc, "a conversion")) return SValue::poison();
                   return E.convertTo(x, d);
                 }};
    }
    // print(...)
    t["print"] = {{"..."}, 0, [](Elaborator &E, BuiltinArgs &a) -> SValue {
                    std::vector<SValue> vals;
                    for (const ast::Expr *x : a.rest) vals.push_back(E.elabExpr(*x));
                    return E.printValue(vals, a.loc);
                  }};
    // stop_grad(e): identity with zero derivative (on models, on every leaf)
    t["stop_grad"] = {{"x"}, 1, [](Elaborator &E, BuiltinArgs &a) -> SValue {
                        SValue x = E.elabExpr(*a.params[0]);
                        if (x.poisoned) return x;
                        if (x.type.isModel()) return E.stopGradModel(x, [](const std::string &) { return true; });
                        if (!E.requireTensor(x, a.params[0]->loc, "stop_grad")) return SValue::poison();
                        if (x.weak) return x;
                        // `explicit` lets the autodiff pass warn when it cuts nothing.
                        ir::Value *r = E.emit(OpKind::StopGrad, {x.leaves[0]}, {{"explicit", true}}, a.loc);
                        return r ? E.fromValue(r) : SValue::poison();
                      }};
    // raw(m.a): the stored leaf
    t["raw"] = {{"field"}, 1, [](Elaborator &E, BuiltinArgs &a) -> SValue {
                  const ast::Expr *f = a.params[0];
                  if (f->kind != ast::ExprKind::Field) {
                    E.diags_.error(f->loc) << "raw needs a model parameter such as raw(m.a)";
                    return SValue::poison();
                  }
                  const auto &fe = ast::as<ast::FieldExpr>(*f);
                  SValue base = E.elabExpr(*fe.base);
                  if (base.poisoned) return base;
                  if (!base.type.isModel()) {
                    E.diags_.error(f->loc) << "raw needs a model parameter such as raw(m.a)";
                    return SValue::poison();
                  }
                  return E.readMember(base, fe.field, fe.fieldLoc.valid() ? fe.fieldLoc : f->loc, false);
                }};
    // zeros_like(x), ones_like(x): tensors or models (every stored leaf)
    for (auto [name, v] : {std::pair{"zeros_like", 0.0}, std::pair{"ones_like", 1.0}}) {
      double val = v;
      t[name] = {{"x"}, 1, [val](Elaborator &E, BuiltinArgs &a) -> SValue {
                   SValue x = E.elabExpr(*a.params[0]);
                   if (x.poisoned) return x;
                   if (!x.type.isModel() && !E.requireTensor(x, a.params[0]->loc, "zeros_like")) return SValue::poison();
                   SValue r = x;
                   r.constant.reset();
                   r.weak = false;
                   r.type.tangent = x.type.isModel(); // stored coordinates, no transforms (docs/language.md)
                   E.b().setLoc(E.irLoc(a.loc));
                   for (ir::Value *&l : r.leaves) l = E.b().constant(l->type(), val);
                   return r;
                 }};
    }
    // full_like(x, v): x's type (a tensor, or a model: every stored leaf), every
    // element v converted to that element type (NumPy's and PyTorch's
    // full_like); differentiable in v. Generic code uses it to bring a scalar
    // hyperparameter to the element type of its tensor (std/nn's elu).
    t["full_like"] = {{"x", "value"}, 2, [](Elaborator &E, BuiltinArgs &a) -> SValue {
                        SValue x = E.elabExpr(*a.params[0]), v = E.elabExpr(*a.params[1]);
                        if (x.poisoned || v.poisoned) return SValue::poison();
                        if (!x.type.isModel() && !E.requireTensor(x, a.params[0]->loc, "full_like")) return SValue::poison();
                        if (!E.requireTensor(v, a.params[1]->loc, "full_like")) return SValue::poison();
                        if (!v.type.isScalar() || v.type.tensor.dtype == DType::Bool) {
                          E.diags_.error(a.params[1]->loc) << "full_like needs a number as its fill value, got " << v.type.str();
                          return SValue::poison();
                        }
                        SValue r = x;
                        r.constant.reset();
                        r.weak = false;
                        E.b().setLoc(E.irLoc(a.loc));
                        for (ir::Value *&l : r.leaves) {
                          if (l->type().dtype == DType::Bool) {
                            E.diags_.error(a.params[0]->loc) << "full_like needs a number tensor, got " << x.type.str();
                            return SValue::poison();
                          }
                          SValue c = E.convertTo(v, l->type().dtype);
                          if (c.poisoned) return c;
                          l = E.broadcastTo(c.leaves[0], l->type().shape);
                        }
                        return r;
                      }};
    // load_csv(path): a record with one f32[rows] field per column
    t["load_csv"] = {{"path"}, 1, [](Elaborator &E, BuiltinArgs &a) -> SValue {
                       auto p = readString(E, a.params[0], "load_csv's path");
                       if (!p) return SValue::poison();
                       CsvInfo info;
                       // A train log of this run: its shape from the train (WrittenFiles.cpp).
                       bool refused = false;
                       const Elaborator::WrittenFile *w = E.writtenEarlier(*p, "load_csv", a.params[0]->loc, refused);
                       if (refused || (w && !sandboxAllows(E, *p, a.params[0]->loc, PathAccess::Read)))
                         return SValue::poison();
                       if (w) {
                         info.columns = w->columns;
                         info.rows = w->rows;
                       } else {
                         try {
                           info = inspectCsv(scriptPath(E, *p));
                         } catch (const RuntimeFault &f) {
                           E.diags_.error(a.params[0]->loc) << f.what();
                           return SValue::poison();
                         }
                       }
                       SValue r;
                       r.type.kind = SType::Record;
                       std::vector<ir::Type> tys;
                       for (const std::string &c : info.columns) {
                         r.type.names.push_back(c);
                         r.type.elems.push_back(SType::tensorOf(DType::F32, {info.rows}));
                         tys.push_back(ir::Type{DType::F32, {info.rows}});
                       }
                       E.b().setLoc(E.irLoc(a.loc));
                       ir::AttrMap attrs{{"path", *p}, {"columns", info.columns}};
                       if (w) attrs["pad"] = true;
                       ir::Op *op = E.b().create(OpKind::LoadCsv, {}, tys, attrs);
                       r.leaves = op->results();
                       return r;
                     }};
    // load_npy(path): dtype and shape read from the file's header at check time
    t["load_npy"] = {{"path"}, 1, [](Elaborator &E, BuiltinArgs &a) -> SValue {
                       const SType *expected = E.expectedType_;
                       auto p = readString(E, a.params[0], "load_npy's path");
                       if (!p) return SValue::poison();
                       TensorInfo info;
                       // An annotated load is checked when the file is read, not now.
                       if (expected && expected->isTensor()) {
                         if (!sandboxAllows(E, *p, a.params[0]->loc, PathAccess::Read)) return SValue::poison();
                         E.b().setLoc(E.irLoc(a.loc));
                         return E.fromValue(E.b().create(OpKind::LoadNpy, {}, {expected->tensor}, {{"path", *p}})->result(0));
                       }
                       // A file save_npy writes earlier in this run: its type (WrittenFiles.cpp).
                       bool refused = false;
                       const Elaborator::WrittenFile *w = E.writtenEarlier(*p, "load_npy", a.params[0]->loc, refused);
                       if (refused || (w && !sandboxAllows(E, *p, a.params[0]->loc, PathAccess::Read)))
                         return SValue::poison();
                       if (w) {
                         E.b().setLoc(E.irLoc(a.loc));
                         return E.fromValue(E.b().create(OpKind::LoadNpy, {}, {*w->npy}, {{"path", *p}})->result(0));
                       }
                       try {
                         info = inspectNpy(scriptPath(E, *p));
                       } catch (const RuntimeFault &f) {
                         E.diags_.error(a.params[0]->loc) << f.what();
                         return SValue::poison();
                       }
                       E.b().setLoc(E.irLoc(a.loc));
                       return E.fromValue(E.b().create(OpKind::LoadNpy, {}, {ir::Type{info.dtype, info.shape}}, {{"path", *p}})->result(0));
                     }};
    // save_npy(path, x)
    t["save_npy"] = {{"path", "x"}, 2, [](Elaborator &E, BuiltinArgs &a) -> SValue {
                       auto p = readString(E, a.params[0], "save_npy's path");
                       SValue x = E.elabExpr(*a.params[1]);
                       if (!p || x.poisoned || !E.requireTensor(x, a.params[1]->loc, "save_npy")) return SValue::poison();
                       if (!sandboxAllows(E, *p, a.params[0]->loc, PathAccess::Write)) return SValue::poison();
                       if (x.weak) x = E.convertTo(x, x.type.tensor.dtype);
                       E.b().setLoc(E.irLoc(a.loc));
                       E.b().create(OpKind::SaveNpy, {x.leaves[0]}, {}, {{"path", *p}});
                       Elaborator::WrittenFile f;
                       f.writer = "save_npy";
                       f.loc = a.loc;
                       f.npy = x.leaves[0]->type();
                       E.noteWrittenFile(*p, std::move(f));
                       return SValue::unit();
                     }};
    // save(path, model): safetensors, stored leaves named by path
    t["save"] = {{"path", "value"}, 2, [](Elaborator &E, BuiltinArgs &a) -> SValue {
                   auto p = readString(E, a.params[0], "save's path");
                   SValue m = E.elabExpr(*a.params[1]);
                   if (!p || m.poisoned) return SValue::poison();
                   if (!sandboxAllows(E, *p, a.params[0]->loc, PathAccess::Write)) return SValue::poison();
                   std::vector<std::string> names, transforms;
                   if (m.type.isModel()) {
                     for (const Leaf &l : m.type.model->leaves) {
                       names.push_back(l.path);
                       transforms.push_back(l.transform.describe());
                     }
                   } else if (m.type.isTensor()) {
                     if (m.weak) m = E.convertTo(m, m.type.tensor.dtype);
                     names.push_back("value");
                     transforms.push_back("identity");
                   } else {
                     E.diags_.error(a.params[1]->loc) << "save takes a model or a tensor, got " << m.type.str();
                     return SValue::poison();
                   }
                   E.b().setLoc(E.irLoc(a.loc));
                   E.b().create(OpKind::Save, m.leaves, {}, {{"path", *p}, {"names", names}, {"transforms", transforms}});
                   Elaborator::WrittenFile f;
                   f.writer = "save";
                   f.loc = a.loc;
                   E.noteWrittenFile(*p, std::move(f));
                   return SValue::unit();
                 }};
    // load(Type, path): a model of that type from a safetensors file
    t["load"] = {{"type", "path"}, 2, [](Elaborator &E, BuiltinArgs &a) -> SValue {
                   const ast::Expr *ty = a.params[0];
                   const ModelType *mt = nullptr;
                   if (ty->kind == ast::ExprKind::Name && E.models_.count(ast::as<ast::NameExpr>(*ty).name))
                     mt = E.modelType(*E.models_[ast::as<ast::NameExpr>(*ty).name], {}, ty->loc);
                   else if (ty->kind == ast::ExprKind::Call) {
                     const auto &c = ast::as<ast::CallExpr>(*ty);
                     if (c.callee->kind == ast::ExprKind::Name && E.models_.count(ast::as<ast::NameExpr>(*c.callee).name)) {
                       std::vector<int64_t> args;
                       for (const ast::Arg &x : c.args) {
                         auto v = E.constInt(*x.value, "model type arguments");
                         if (!v) return SValue::poison();
                         args.push_back(*v);
                       }
                       mt = E.modelType(*E.models_[ast::as<ast::NameExpr>(*c.callee).name], args, ty->loc);
                     }
                   }
                   if (!mt) {
                     E.diags_.error(ty->loc) << "load needs a model type as its first argument";
                     return SValue::poison();
                   }
                   auto p = readString(E, a.params[1], "load's path");
                   if (!p) return SValue::poison();
                   if (!sandboxAllows(E, *p, a.params[1]->loc, PathAccess::Read)) return SValue::poison();
                   std::vector<std::string> names, transforms;
                   std::vector<ir::Type> tys;
                   for (const Leaf &l : mt->leaves) {
                     names.push_back(l.path);
                     transforms.push_back(l.transform.describe());
                     tys.push_back(l.stored);
                   }
                   E.b().setLoc(E.irLoc(a.loc));
                   // `transforms` lets the loader reject a file saved under other transforms.
                   ir::Op *op = E.b().create(OpKind::Load, {}, tys,
                                             {{"path", *p}, {"names", names}, {"transforms", transforms}});
                   SValue r;
                   r.type = SType::modelOf(mt);
                   r.leaves = op->results();
                   // Loaded values are validated like initial values: transformed
                   // leaves against their domain, checked (and projected) ones
                   // against their bounds.
                   return E.emitLoadChecks(r, a.loc);
                 }};
    // log_jacobian(m): sum over m's trainable transformed leaves of
    // log|det d forward(u)/du| at the stored u (a scalar of the leaves' dtype;
    // 0 when nothing is transformed). Add it to a log-density of the
    // constrained values to get the density of the stored ones.
    t["log_jacobian"] = {{"model"}, 1, [](Elaborator &E, BuiltinArgs &a) -> SValue {
                           SValue m = E.elabExpr(*a.params[0]);
                           if (m.poisoned) return m;
                           if (!m.type.isModel()) {
                             E.diags_.error(a.params[0]->loc) << "log_jacobian takes a model, got "
                                                              << (m.isString ? "a string" : m.type.str());
                             return SValue::poison();
                           }
                           const ModelType &mt = *m.type.model;
                           std::optional<DType> dt;
                           for (size_t i = m.type.leafBegin; i < m.type.leafEnd; ++i) {
                             DType d = mt.leaves[i].stored.dtype;
                             if (dt && *dt != d) {
                               E.diags_.error(a.params[0]->loc)
                                   << "log_jacobian: " << m.type.str() << " mixes f32 and f64 parameters";
                               return SValue::poison();
                             }
                             dt = d;
                           }
                           E.b().setLoc(E.irLoc(a.loc));
                           ir::Value *total = nullptr;
                           for (size_t i = m.type.leafBegin; i < m.type.leafEnd; ++i) {
                             const Leaf &l = mt.leaves[i];
                             if (!l.trainable || l.transform.kind == Transform::Identity) continue;
                             ir::Value *term = bijectorFor(l.transform.kind)
                                                   .logDetJacobian(E.b(), l.transform, m.leaves[i - m.type.leafBegin]);
                             total = total ? E.b().make(OpKind::Add, {total, term}) : term;
                           }
                           if (!total) total = E.b().scalar(dt.value_or(DType::F32), 0);
                           return E.fromValue(total);
                         }};
    // arg(name, default): a script argument given as `--arg name=value`
    t["arg"] = {{"name", "default"}, 2, [](Elaborator &E, BuiltinArgs &a) -> SValue {
                  auto n = readString(E, a.params[0], "arg's name");
                  SValue d = E.elabExpr(*a.params[1]);
                  if (!n || d.poisoned) return SValue::poison();
                  auto it = E.opts_.scriptArgs.find(*n);
                  if (it == E.opts_.scriptArgs.end()) return d;
                  if (d.isString) {
                    SValue s;
                    s.isString = true;
                    s.string = it->second;
                    return s;
                  }
                  if (!d.constant || !d.type.isScalar()) {
                    E.diags_.error(a.params[1]->loc) << "arg's default must be a constant number or string";
                    return SValue::poison();
                  }
                  char *end = nullptr;
                  double v = std::strtod(it->second.c_str(), &end);
                  if (!end || *end || it->second.empty()) {
                    E.diags_.error(a.params[0]->loc) << "argument '" << *n << "' must be a number, got '" << it->second << "'";
                    return SValue::poison();
                  }
                  if (d.type.tensor.dtype == DType::I32 && (v != std::floor(v) || v < INT32_MIN || v > INT32_MAX)) {
                    E.diags_.error(a.params[0]->loc) << "argument '" << *n << "' must be an i32 integer, got '" << it->second << "'";
                    return SValue::poison();
                  }
                  return E.constantValue(d.type.tensor.dtype, v, d.weak);
                }};
    return t;
  }();
  return table;
}

std::vector<std::string> builtinNames() {
  std::vector<std::string> names;
  for (const auto &[name, b] : builtins()) names.push_back(name);
  return names;
}

std::optional<SValue> Elaborator::callBuiltin(const std::string &name, const ast::CallExpr &call,
                                              const ast::IndexExpr *shapeIndex) {
  const auto &table = builtins();
  auto it = table.find(name);
  if (it == table.end()) return std::nullopt;
  const Builtin &bi = it->second;
  SourceLoc loc = call.callee ? call.loc : shapeIndex->loc;
  if (bi.needsShape != (shapeIndex != nullptr)) {
    if (bi.needsShape)
      diags_.error(loc) << "'" << name << "' needs a shape: " << name << "[d1, d2, ...]";
    else
      diags_.error(loc) << "'" << name << "' is not indexable";
    return SValue::poison();
  }
  // max(a, b) / min(a, b) with two positional arguments are elementwise.
  if ((name == "max" || name == "min") && call.args.size() == 2 && call.args[0].name.empty() &&
      call.args[1].name.empty()) {
    SValue x = elabExpr(*call.args[0].value), y = elabExpr(*call.args[1].value);
    if (x.poisoned || y.poisoned) return SValue::poison();
    if (x.type.isModel() || y.type.isModel()) {
      diags_.error(loc) << "'" << name << "' is not defined on models";
      return SValue::poison();
    }
    if (!requireTensor(x, call.args[0].value->loc, name.c_str()) || !requireTensor(y, call.args[1].value->loc, name.c_str()) ||
        !unifyDTypes(x, y, loc))
      return SValue::poison();
    ir::Value *r = emit(name == "max" ? OpKind::Max : OpKind::Min, {x.leaves[0], y.leaves[0]}, {}, loc);
    return r ? fromValue(r) : SValue::poison();
  }

  BuiltinArgs a;
  a.loc = loc;
  a.shape = shapeIndex;
  bool variadic = false;
  std::vector<std::string> params;
  for (const std::string &p : bi.params) {
    if (p == "...") variadic = true;
    else params.push_back(p);
  }
  a.params.assign(params.size(), nullptr);
  // Positional arguments fill the parameters before "..." and then the rest.
  size_t before = 0;
  while (before < bi.params.size() && bi.params[before] != "...") ++before;
  if (!variadic) before = params.size();
  size_t pos = 0;
  for (const ast::Arg &arg : call.args) {
    if (arg.name.empty()) {
      if (pos < before) a.params[pos++] = arg.value.get();
      else if (variadic) a.rest.push_back(arg.value.get());
      else {
        diags_.error(loc) << "'" << name << "' expects " << params.size() << " argument" << (params.size() == 1 ? "" : "s")
                          << ", got " << call.args.size();
        return SValue::poison();
      }
      continue;
    }
    size_t k = 0;
    while (k < params.size() && params[k] != arg.name) ++k;
    if (k == params.size()) {
      diags_.error(arg.loc) << "'" << name << "' has no parameter named '" << arg.name << "'";
      return SValue::poison();
    }
    if (a.params[k]) {
      diags_.error(arg.loc) << "argument '" << arg.name << "' of '" << name << "' given twice";
      return SValue::poison();
    }
    a.params[k] = arg.value.get();
  }
  for (size_t k = 0; k < bi.required && k < params.size(); ++k)
    if (!a.params[k]) {
      diags_.error(loc) << "missing argument '" << params[k] << "' in call to '" << name << "'";
      return SValue::poison();
    }
  b().setLoc(irLoc(loc));
  return bi.rule(*this, a);
}

} // namespace sema
} // namespace ptl
