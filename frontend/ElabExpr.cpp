//===- frontend/ElabExpr.cpp - Expressions, operators and calls -------------===//
//
// Type and shape rules of expressions and the IR they lower to. Arithmetic
// follows NumPy broadcasting; a float literal takes the element type of the
// other operand; integers promote to floats; f32 and f64 never mix silently.
//
//===----------------------------------------------------------------------===//
#include "frontend/Elaborator.h"
#include "frontend/Suggest.h"
#include "frontend/ConstFold.h"
#include "ir/Slice.h"
#include "runtime/Check.h"

#include <cmath>

namespace ptl {
namespace sema {

using ir::OpKind;

//===----------------------------------------------------------------------===//
// Values and conversions
//===----------------------------------------------------------------------===//

SValue Elaborator::fromValue(ir::Value *v) const {
  SValue s;
  s.type = SType::tensorOf(v->type());
  s.leaves = {v};
  return s;
}

SValue Elaborator::constantValue(DType dt, double x, bool weak) {
  // A value with an element type holds what that type can; a literal (weak)
  // keeps its exact value until its type is known.
  if (!weak) x = representAs(x, dt);
  SValue s = fromValue(b().scalar(dt, x));
  s.constant = x;
  s.weak = weak;
  return s;
}

ir::Value *Elaborator::tensorValue(const SValue &v, std::optional<DType> dtype) {
  PTL_CHECK(v.type.isTensor() && v.leaves.size() == 1, "tensorValue of a " + v.type.str());
  if (dtype && *dtype != v.type.tensor.dtype)
    return convertTo(v, *dtype).leaves[0];
  return v.leaves[0];
}

/// Does the literal value `x` overflow element type `dt` (a finite value
/// that becomes infinite)? Integers saturate and bools are x != 0, as the
/// convert op does; only f32 can overflow.
static bool overflows(double x, DType dt) {
  return dt == DType::F32 && std::isfinite(x) && !std::isfinite((float)x);
}

void Elaborator::reportLiteralRange(double x, DType dt, SourceLoc loc) {
  if (loc.valid() && !reportedRangeErrors_.insert({loc.file, loc.line, loc.col}).second) return;
  diags_.error(loc) << "float literal " << x << " is out of range for " << dtypeName(dt)
                    << " (at most 3.4028235e+38); write f64(...) to keep it";
}

SValue Elaborator::convertTo(const SValue &v, DType dt) {
  if (v.poisoned || !v.type.isTensor()) return v;
  // Here a literal gets its element type: its value must fit it.
  if (v.weak && v.constant && overflows(*v.constant, dt)) reportLiteralRange(*v.constant, dt, v.literalLoc);
  if (v.type.tensor.dtype == dt) {
    SValue r = v;
    r.weak = false;
    if (r.constant) r.constant = representAs(*r.constant, dt);
    return r;
  }
  std::optional<double> known;
  if (v.constant && v.type.isScalar()) {
    double x = representAs(*v.constant, dt); // what the convert op computes
    known = x;
    // A literal (or an integer) converts at compile time; a named float
    // value keeps its convert op so grad sees through it.
    if (v.weak || !isFloat(v.type.tensor.dtype)) return constantValue(dt, x, false);
  }
  ir::Type t{dt, v.type.tensor.shape};
  SValue r = fromValue(b().create(OpKind::Convert, {v.leaves[0]}, {t})->result(0));
  r.constant = known;
  return r;
}

SValue Elaborator::asWeak(const SValue &v, DType dt) {
  if (v.type.tensor.dtype == dt) return v;
  SValue r;
  if (v.constant && v.type.isScalar()) {
    r = constantValue(dt, *v.constant, true); // exact: an integer literal becomes a float literal
    r.literalLoc = v.literalLoc;
  } else {
    r = convertTo(v, dt);
    r.weak = true;
  }
  return r;
}

/// The element type the operands of a binary operator are brought to, and
/// whether the result is still a literal (weak); nullopt if they cannot
/// meet. Equal types stay; two literals take the float one; a literal takes
/// the other operand's type unless it would lose its fraction (then f32);
/// an i32 value promotes to the other float type; bool mixes with nothing,
/// f32 never with f64.
static std::optional<std::pair<DType, bool>> commonDType(DType da, bool weakA, DType db, bool weakB) {
  if (da == db) return std::pair{da, weakA && weakB};
  if (weakA && weakB) return std::pair{isFloat(da) ? da : db, true};
  if (da == DType::Bool || db == DType::Bool) return std::nullopt;
  if (weakA) return std::pair{(isFloat(da) && db == DType::I32) ? DType::F32 : db, false};
  if (weakB) return std::pair{(isFloat(db) && da == DType::I32) ? DType::F32 : da, false};
  if (da == DType::I32 || db == DType::I32) return std::pair{da == DType::I32 ? db : da, false};
  return std::nullopt;
}

bool Elaborator::unifyDTypes(SValue &a, SValue &b, SourceLoc loc) {
  DType da = a.type.tensor.dtype, db = b.type.tensor.dtype;
  auto common = commonDType(da, a.weak, db, b.weak);
  if (!common) {
    if (da == DType::Bool || db == DType::Bool)
      diags_.error(loc) << "cannot combine " << a.type.str() << " and " << b.type.str();
    else
      diags_.error(loc) << "cannot mix " << dtypeName(da) << " and " << dtypeName(db)
                        << "; convert with f32(x) or f64(x)";
    return false;
  }
  auto [d, weak] = *common;
  if (weak) {
    a = asWeak(a, d);
    b = asWeak(b, d);
  } else {
    a = convertTo(a, d);
    b = convertTo(b, d);
  }
  return true;
}

ir::Value *Elaborator::emit(OpKind kind, std::vector<ir::Value *> operands, ir::AttrMap attrs,
                            SourceLoc loc) {
  std::string error;
  b().setLoc(irLoc(loc));
  ir::Value *v = b().tryCreate(kind, std::move(operands), std::move(attrs), error);
  if (!v) {
    // Elementwise shape errors read as the user's operator, not the IR op.
    std::string prefix = std::string(ir::mnemonic(kind)) + ": ";
    bool elementwise = ir::isBinaryElementwise(kind) || ir::isComparison(kind) ||
                       kind == OpKind::Select || kind == OpKind::Clamp;
    if (elementwise && error.rfind(prefix, 0) == 0) error = error.substr(prefix.size());
    diags_.error(loc) << error;
  }
  return v;
}

ir::Value *Elaborator::broadcastTo(ir::Value *v, const Shape &shape) {
  if (v->type().shape == shape) return v;
  return b().create(OpKind::Broadcast, {v}, {ir::Type{v->type().dtype, shape}})->result(0);
}

bool Elaborator::requireTensor(const SValue &v, SourceLoc loc, const char *what) {
  if (v.poisoned) return false;
  if (v.type.isTensor()) return true;
  diags_.error(loc) << what << " needs a tensor, got " << (v.isString ? "a string" : v.type.str());
  return false;
}

std::optional<int64_t> Elaborator::constInt(const ast::Expr &e, const char *what) {
  SValue v = elabExpr(e);
  if (v.poisoned) return std::nullopt;
  if (!v.constant || !v.type.isScalar() || v.type.tensor.dtype != DType::I32) {
    diags_.error(e.loc) << what << " must be compile-time integer constants";
    return std::nullopt;
  }
  return (int64_t)*v.constant;
}

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

SValue Elaborator::elabExpr(const ast::Expr &e) {
  switch (e.kind) {
  case ast::ExprKind::IntLit:
  case ast::ExprKind::FloatLit:
  case ast::ExprKind::BoolLit: {
    SValue v = *literalValue(e);
    b().setLoc(irLoc(e.loc));
    v.leaves = {b().scalar(v.type.tensor.dtype, *v.constant)};
    return v;
  }
  case ast::ExprKind::StringLit: {
    SValue s;
    s.isString = true;
    s.string = ast::as<ast::StringLit>(e).value;
    return s;
  }
  case ast::ExprKind::Name: return elabName(ast::as<ast::NameExpr>(e));
  case ast::ExprKind::Unary: return elabUnary(ast::as<ast::UnaryExpr>(e));
  case ast::ExprKind::Binary: return elabBinary(ast::as<ast::BinaryExpr>(e));
  case ast::ExprKind::Call: return elabCall(ast::as<ast::CallExpr>(e));
  case ast::ExprKind::Field: return elabField(ast::as<ast::FieldExpr>(e));
  case ast::ExprKind::Index: return elabIndex(ast::as<ast::IndexExpr>(e));
  case ast::ExprKind::Tuple: {
    SValue t;
    t.type.kind = SType::Tuple;
    for (const ast::ExprPtr &x : ast::as<ast::TupleExpr>(e).elems) {
      SValue v = elabExpr(*x);
      if (v.poisoned) return SValue::poison();
      if (v.isString) {
        diags_.error(x->loc) << "a tuple cannot hold a string";
        return SValue::poison();
      }
      if (v.weak && v.type.isTensor()) v = convertTo(v, v.type.tensor.dtype);
      t.type.elems.push_back(v.type);
      t.leaves.insert(t.leaves.end(), v.leaves.begin(), v.leaves.end());
    }
    // A bound on one value's size: `(x, x)` nested k deep holds 2^k tensors.
    int64_t limit = opts_.limits.maxValueLeaves;
    if (limit > 0 && (int64_t)t.leaves.size() > limit) {
      diags_.error(e.loc) << "this tuple holds " << t.leaves.size() << " tensors, more than the limit of " << limit
                          << " tensors in one value";
      return SValue::poison();
    }
    return t;
  }
  case ast::ExprKind::List: return elabList(ast::as<ast::ListExpr>(e));
  case ast::ExprKind::BlockExpr: return elabBlock(*ast::as<ast::BlockExpr>(e).block);
  case ast::ExprKind::If: return elabIf(ast::as<ast::IfExpr>(e));
  case ast::ExprKind::Map: return elabMap(ast::as<ast::MapExpr>(e));
  case ast::ExprKind::Grad: return elabGrad(ast::as<ast::GradExpr>(e));
  case ast::ExprKind::StopGradBlock: return elabStopGradBlock(ast::as<ast::StopGradBlockExpr>(e));
  }
  return SValue::poison();
}

SValue Elaborator::elabName(const ast::NameExpr &e) {
  if (Binding *bd = lookup(e.name)) return bd->value;
  if (ctx().selfType && ctx().selfType->members.count(e.name))
    return readMember(ctx().self, e.name, e.loc, true);
  if (functions_.count(e.name) || models_.count(e.name)) {
    diags_.error(e.loc) << "'" << e.name << "' is a " << (functions_.count(e.name) ? "function" : "model")
                        << ", not a value";
    return SValue::poison();
  }
  diags_.error(e.loc) << "unknown name '" << e.name << "'";
  return SValue::poison();
}

SValue Elaborator::elabUnary(const ast::UnaryExpr &e) {
  SValue v = elabExpr(*e.operand);
  if (v.poisoned) return v;
  if (e.op == ast::UnaryOp::Neg) {
    if (v.type.isModel()) return modelUnary(OpKind::Neg, v, e.loc);
    if (!requireTensor(v, e.loc, "'-'")) return SValue::poison();
    if (v.type.tensor.dtype == DType::Bool) {
      diags_.error(e.loc) << "'-' needs a number, got bool";
      return SValue::poison();
    }
    if (v.constant && v.type.isScalar() && (v.weak || !isFloat(v.type.tensor.dtype))) {
      b().setLoc(irLoc(e.loc));
      SValue r = constantValue(v.type.tensor.dtype, foldNeg(*v.constant, v.type.tensor.dtype), v.weak);
      if (v.weak) r.literalLoc = e.loc;
      return r;
    }
    ir::Value *r = emit(OpKind::Neg, {v.leaves[0]}, {}, e.loc);
    if (!r) return SValue::poison();
    SValue out = fromValue(r);
    if (v.constant) out.constant = foldNeg(*v.constant, v.type.tensor.dtype);
    return out;
  }
  if (!requireTensor(v, e.loc, "'!'")) return SValue::poison();
  if (v.type.tensor.dtype != DType::Bool) {
    diags_.error(e.loc) << "'!' needs bool operands, got " << v.type.str();
    return SValue::poison();
  }
  if (v.constant && v.type.isScalar()) return constantValue(DType::Bool, *v.constant == 0, false);
  ir::Value *r = emit(OpKind::Not, {v.leaves[0]}, {}, e.loc);
  return r ? fromValue(r) : SValue::poison();
}

SValue Elaborator::elabBinary(const ast::BinaryExpr &e) {
  SValue a = elabExpr(*e.lhs);
  SValue b = elabExpr(*e.rhs);
  return binaryOp(e.op, a, b, e.loc);
}

/// The IR op of a binary operator.
static OpKind binaryKind(ast::BinaryOp op) {
  switch (op) {
  case ast::BinaryOp::Add: return OpKind::Add;
  case ast::BinaryOp::Sub: return OpKind::Sub;
  case ast::BinaryOp::Mul: return OpKind::Mul;
  case ast::BinaryOp::Div: return OpKind::Div;
  case ast::BinaryOp::Mod: return OpKind::Mod;
  case ast::BinaryOp::MatMul: return OpKind::MatMul;
  case ast::BinaryOp::Pow: return OpKind::Pow;
  case ast::BinaryOp::Eq: return OpKind::Eq;
  case ast::BinaryOp::Ne: return OpKind::Ne;
  case ast::BinaryOp::Lt: return OpKind::Lt;
  case ast::BinaryOp::Le: return OpKind::Le;
  case ast::BinaryOp::Gt: return OpKind::Gt;
  case ast::BinaryOp::Ge: return OpKind::Ge;
  case ast::BinaryOp::And: return OpKind::And;
  case ast::BinaryOp::Or: return OpKind::Or;
  }
  return OpKind::Add;
}

SValue Elaborator::binaryOp(ast::BinaryOp op, const SValue &a0, const SValue &b0, SourceLoc loc) {
  if (a0.poisoned || b0.poisoned) return SValue::poison();
  if (a0.type.isModel() || b0.type.isModel()) return modelArith(op, a0, b0, loc);
  const char *spelling = ast::binaryOpSpelling(op);
  for (const SValue *v : {&a0, &b0})
    if (!v->type.isTensor()) {
      diags_.error(loc) << "'" << spelling << "' needs tensors, got "
                        << (v->isString ? "a string" : v->type.str());
      return SValue::poison();
    }
  SValue a = a0, b = b0;
  bool logical = op == ast::BinaryOp::And || op == ast::BinaryOp::Or;
  if (logical) {
    for (const SValue *v : {&a, &b})
      if (v->type.tensor.dtype != DType::Bool) {
        diags_.error(loc) << "'" << spelling << "' needs bool operands, got " << v->type.str();
        return SValue::poison();
      }
  } else {
    bool equality = op == ast::BinaryOp::Eq || op == ast::BinaryOp::Ne;
    if (!equality && (a.type.tensor.dtype == DType::Bool || b.type.tensor.dtype == DType::Bool)) {
      diags_.error(loc) << "'" << spelling << "' needs numbers, got "
                        << (a.type.tensor.dtype == DType::Bool ? a : b).type.str();
      return SValue::poison();
    }
    if (!unifyDTypes(a, b, loc)) return SValue::poison();
  }
  // Compile-time scalars are known at compile time (shape arithmetic such
  // as `T + 1` stays a constant). Literals and integers fold into a new
  // constant; a float computed from named values keeps its op, so `grad`
  // still sees the dataflow from those values.
  std::optional<double> known;
  OpKind kind = binaryKind(op);
  if (a.constant && b.constant && a.type.isScalar() && b.type.isScalar() && op != ast::BinaryOp::MatMul)
    known = foldBinary(op, *a.constant, *b.constant, a.type.tensor.dtype, a.weak && b.weak);
  if (known && ((a.weak && b.weak) || !isFloat(a.type.tensor.dtype))) {
    DType dt = ir::isComparison(kind) ? DType::Bool : a.type.tensor.dtype;
    this->b().setLoc(irLoc(loc));
    SValue r = constantValue(dt, *known, a.weak && b.weak && !ir::isComparison(kind));
    if (r.weak) r.literalLoc = loc;
    return r;
  }
  ir::Value *r = emit(kind, {a.leaves[0], b.leaves[0]}, {}, loc);
  if (!r) return SValue::poison();
  SValue out = fromValue(r);
  out.constant = known;
  return out;
}

SValue Elaborator::elabField(const ast::FieldExpr &e) {
  SValue base = elabExpr(*e.base);
  if (base.poisoned) return base;
  if (base.type.isModel()) return readMember(base, e.field, e.fieldLoc.valid() ? e.fieldLoc : e.loc, true);
  if (base.type.kind == SType::Tuple) {
    if (e.field.empty() || !std::isdigit((unsigned char)e.field[0])) {
      diags_.error(e.fieldLoc) << "a tuple has no field '" << e.field << "'";
      return SValue::poison();
    }
    size_t idx = std::stoul(e.field);
    if (idx >= base.type.elems.size()) {
      diags_.error(e.loc) << "tuple index " << idx << " out of range for " << base.type.str();
      return SValue::poison();
    }
    return tupleElements(base)[idx];
  }
  if (base.type.kind == SType::Record) {
    for (size_t i = 0; i < base.type.names.size(); ++i)
      if (base.type.names[i] == e.field) return fromValue(base.leaves[i]);
    diags_.error(e.fieldLoc) << "no column '" << e.field << "' (columns: "
                             << [&] {
                                  std::string s;
                                  for (size_t i = 0; i < base.type.names.size(); ++i)
                                    s += (i ? ", " : "") + base.type.names[i];
                                  return s;
                                }()
                             << ")";
    return SValue::poison();
  }
  if (e.field == "T") {
    if (!base.type.isTensor() || base.type.tensor.shape.size() != 2) {
      diags_.error(e.loc) << ".T needs a rank-2 tensor, got " << (base.isString ? "a string" : base.type.str());
      return SValue::poison();
    }
    ir::Value *r = emit(OpKind::Transpose, {base.leaves[0]}, {{"perm", std::vector<int64_t>{1, 0}}}, e.loc);
    return r ? fromValue(r) : SValue::poison();
  }
  diags_.error(e.fieldLoc) << (base.isString ? std::string("a string") : base.type.str()) << " has no field '"
                           << e.field << "'";
  return SValue::poison();
}

SValue Elaborator::elabIndex(const ast::IndexExpr &e) {
  // `zeros[B, 64]` and friends: creation with a shape.
  if (e.base->kind == ast::ExprKind::Name) {
    const std::string &name = ast::as<ast::NameExpr>(*e.base).name;
    if (!lookup(name)) {
      ast::CallExpr dummy(e.loc, nullptr);
      if (auto r = callBuiltin(name, dummy, &e)) return *r;
    }
  }
  SValue base = elabExpr(*e.base);
  if (base.poisoned) return base;
  if (!requireTensor(base, e.loc, "indexing")) return SValue::poison();
  const Shape &shape = base.type.tensor.shape;
  if (shape.empty()) {
    diags_.error(e.loc) << "cannot index a scalar";
    return SValue::poison();
  }
  if (e.items.size() > shape.size()) {
    diags_.error(e.loc) << "too many indices for " << base.type.str();
    return SValue::poison();
  }
  // Leading integer indices select along axis 0 (dynamically); slices then
  // cut the remaining axes statically.
  ir::Value *cur = base.leaves[0];
  size_t i = 0;
  for (; i < e.items.size() && !e.items[i].isSlice; ++i) {
    SValue idx = elabExpr(*e.items[i].value);
    if (idx.poisoned) return idx;
    if (!idx.type.isScalar() || idx.type.tensor.dtype != DType::I32) {
      diags_.error(e.items[i].loc) << "an index must be an i32 scalar, got "
                                   << (idx.isString ? "a string" : idx.type.str());
      return SValue::poison();
    }
    int64_t extent = cur->type().shape[0];
    if (idx.constant) {
      int64_t k = (int64_t)*idx.constant;
      if (k < 0) k += extent;
      if (k < 0 || k >= extent) {
        diags_.error(e.items[i].loc) << "index " << (int64_t)*idx.constant << " out of range for axis of size "
                                     << extent;
        return SValue::poison();
      }
      idx = constantValue(DType::I32, (double)k, false);
    }
    cur = emit(OpKind::Index, {cur, idx.leaves[0]}, {}, e.loc);
    if (!cur) return SValue::poison();
  }
  if (i < e.items.size()) {
    // The rest: slices cut an axis; constant integers cut it to one element
    // and drop it (a reshape at the end).
    const Shape s = cur->type().shape;
    std::vector<int64_t> starts(s.size(), 0), ends(s);
    std::vector<bool> dropped(s.size(), false);
    for (size_t axis = 0; i < e.items.size(); ++i, ++axis) {
      const ast::IndexItem &it = e.items[i];
      if (!it.isSlice) {
        SValue idx = elabExpr(*it.value);
        if (idx.poisoned) return idx;
        if (!idx.constant || !idx.type.isScalar() || idx.type.tensor.dtype != DType::I32) {
          diags_.error(it.loc) << "an index after a slice must be a compile-time integer; index first, then slice";
          return SValue::poison();
        }
        int64_t k = (int64_t)*idx.constant;
        if (k < 0) k += s[axis];
        if (k < 0 || k >= s[axis]) {
          diags_.error(it.loc) << "index " << (int64_t)*idx.constant << " out of range for axis of size " << s[axis];
          return SValue::poison();
        }
        starts[axis] = k;
        ends[axis] = k + 1;
        dropped[axis] = true;
        continue;
      }
      int64_t lo = 0, hi = s[axis];
      if (it.lo) { auto v = constInt(*it.lo, "slice bounds"); if (!v) return SValue::poison(); lo = *v; }
      if (it.hi) { auto v = constInt(*it.hi, "slice bounds"); if (!v) return SValue::poison(); hi = *v; }
      if (lo < 0) lo += s[axis];
      if (hi < 0) hi += s[axis];
      if (lo < 0 || hi > s[axis] || lo > hi) {
        diags_.error(it.loc) << "slice " << lo << ".." << hi << " out of range for axis of size " << s[axis];
        return SValue::poison();
      }
      starts[axis] = lo;
      ends[axis] = hi;
    }
    cur = emit(OpKind::Slice, {cur}, {{"starts", starts}, {"ends", ends}}, e.loc);
    if (!cur) return SValue::poison();
    if (std::find(dropped.begin(), dropped.end(), true) != dropped.end()) {
      Shape kept;
      for (size_t axis = 0; axis < s.size(); ++axis)
        if (!dropped[axis]) kept.push_back(cur->type().shape[axis]);
      cur = b().create(OpKind::Reshape, {cur}, {ir::Type{cur->type().dtype, kept}})->result(0);
    }
  }
  return fromValue(cur);
}

std::optional<SValue> Elaborator::literalValue(const ast::Expr &e) const {
  SValue v;
  switch (e.kind) {
  case ast::ExprKind::IntLit:
    v.type = SType::tensorOf(DType::I32);
    v.constant = (double)ast::as<ast::IntLit>(e).value;
    v.weak = true;
    break;
  case ast::ExprKind::FloatLit:
    v.type = SType::tensorOf(DType::F32);
    v.constant = ast::as<ast::FloatLit>(e).value;
    v.weak = true;
    break;
  case ast::ExprKind::BoolLit:
    v.type = SType::tensorOf(DType::Bool);
    v.constant = ast::as<ast::BoolLit>(e).value ? 1.0 : 0.0;
    break;
  case ast::ExprKind::Unary: {
    const auto &u = ast::as<ast::UnaryExpr>(e);
    if (u.op != ast::UnaryOp::Neg || (u.operand->kind != ast::ExprKind::IntLit &&
                                      u.operand->kind != ast::ExprKind::FloatLit))
      return std::nullopt;
    v = *literalValue(*u.operand);
    v.constant = foldNeg(*v.constant, v.type.tensor.dtype);
    break;
  }
  default:
    return std::nullopt;
  }
  if (v.weak) v.literalLoc = e.loc;
  return v;
}

SValue Elaborator::elabList(const ast::ListExpr &e, std::optional<DType> want) {
  if (e.elems.empty()) {
    diags_.error(e.loc) << "an empty list has no type";
    return SValue::poison();
  }
  // Literal elements are read without IR (a list of a million numbers is
  // one constant); other elements are elaborated.
  std::vector<SValue> vals;
  vals.reserve(e.elems.size());
  bool allConst = true;
  for (const ast::ExprPtr &x : e.elems) {
    std::optional<SValue> lit = literalValue(*x);
    SValue v = lit                                        ? *lit
               : (want && x->kind == ast::ExprKind::List) ? elabList(ast::as<ast::ListExpr>(*x), want)
                                                          : elabExpr(*x);
    if (v.poisoned) return v;
    if (!requireTensor(v, x->loc, "a list element")) return SValue::poison();
    if (!v.constant || !v.type.isScalar()) allConst = false;
    vals.push_back(std::move(v));
  }
  // The element type: the operator rules over all elements, as if they were
  // added (`[2.5, 1]` is f32, `[x64, 1.0]` f64, `[2.5, true]` an error).
  DType common = vals[0].type.tensor.dtype;
  bool weak = vals[0].weak;
  for (size_t i = 1; i < vals.size(); ++i) {
    auto c = commonDType(common, weak, vals[i].type.tensor.dtype, vals[i].weak);
    if (!c) {
      diags_.error(e.elems[i]->loc) << "list elements of types " << dtypeName(common) << " and "
                                    << dtypeName(vals[i].type.tensor.dtype) << " cannot be mixed";
      return SValue::poison();
    }
    std::tie(common, weak) = *c;
  }
  // A list of literals converted by f32/f64/i32(...) takes that type from
  // the exact values written.
  if (weak && want) common = *want;
  Shape shape = vals[0].type.tensor.shape;
  for (size_t i = 1; i < vals.size(); ++i)
    if (vals[i].type.tensor.shape != shape) {
      diags_.error(e.elems[i]->loc) << "list elements must have the same shape: " << vals[0].type.str()
                                    << " and " << vals[i].type.str();
      return SValue::poison();
    }
  shape.insert(shape.begin(), (int64_t)vals.size());
  ir::Type t{common, shape};
  if (allConst) {
    ir::Dense d;
    d.values.reserve(vals.size());
    for (const SValue &v : vals) {
      if (v.weak && overflows(*v.constant, common)) reportLiteralRange(*v.constant, common, v.literalLoc);
      d.values.push_back(representAs(*v.constant, common));
    }
    b().setLoc(irLoc(e.loc));
    return fromValue(b().create(OpKind::Constant, {}, {t}, {{"value", std::move(d)}})->result(0));
  }
  std::vector<ir::Value *> ops;
  for (SValue &v : vals) {
    if (v.leaves.empty()) { // a literal read without IR gets its constant now
      b().setLoc(irLoc(v.literalLoc.valid() ? v.literalLoc : e.loc));
      SValue m = constantValue(v.type.tensor.dtype, *v.constant, v.weak);
      m.literalLoc = v.literalLoc;
      v = std::move(m);
    }
    if (v.type.tensor.dtype != common || v.weak) v = convertTo(v, common);
    ops.push_back(v.leaves[0]);
  }
  ir::Value *r = emit(OpKind::Stack, ops, {{"axis", (int64_t)0}}, e.loc);
  return r ? fromValue(r) : SValue::poison();
}

//===----------------------------------------------------------------------===//
// Calls
//===----------------------------------------------------------------------===//

SValue Elaborator::elabCall(const ast::CallExpr &e) {
  const ast::Expr &callee = *e.callee;
  if (callee.kind == ast::ExprKind::Name) {
    const std::string &name = ast::as<ast::NameExpr>(callee).name;
    if (lookup(name)) {
      diags_.error(callee.loc) << "'" << name << "' is not a function";
      return SValue::poison();
    }
    // A method of the enclosing model, called by its bare name.
    if (ctx().selfType) {
      for (const ast::FnDecl &m : ctx().selfType->decl->methods)
        if (m.name == name)
          return callFunction(m, ctx().selfType, &ctx().self, elabArgs(e.args), e.loc, name);
    }
    auto f = functions_.find(name);
    if (f != functions_.end())
      return callFunction(*f->second, nullptr, nullptr, elabArgs(e.args), e.loc, name);
    auto m = models_.find(name);
    if (m != models_.end()) {
      // Positional arguments are type arguments; named ones are seed and overrides.
      std::vector<const ast::Expr *> typeArgs;
      std::vector<ast::Arg> named;
      for (const ast::Arg &a : e.args)
        if (a.name.empty()) typeArgs.push_back(a.value.get());
      std::vector<int64_t> vals;
      for (const ast::Expr *x : typeArgs) {
        auto v = constInt(*x, "model type arguments");
        if (!v) return SValue::poison();
        vals.push_back(*v);
      }
      const ModelType *mt = modelType(*m->second, vals, e.loc);
      if (!mt) return SValue::poison();
      return construct(*mt, e.args, e.loc);
    }
    if (auto r = callBuiltin(name, e, nullptr)) return *r;
    diags_.error(callee.loc) << "unknown function '" << name << "'";
    for (const ast::Arg &a : e.args) elabExpr(*a.value);
    return SValue::poison();
  }
  if (callee.kind == ast::ExprKind::Field) {
    const auto &fe = ast::as<ast::FieldExpr>(callee);
    SValue base = elabExpr(*fe.base);
    if (base.poisoned) return base;
    if (!base.type.isModel()) {
      diags_.error(fe.fieldLoc) << (base.isString ? std::string("a string") : base.type.str())
                                << " has no method '" << fe.field << "'";
      return SValue::poison();
    }
    for (const ast::FnDecl &m : base.type.model->decl->methods)
      if (m.name == fe.field)
        return callFunction(m, base.type.model, &base, elabArgs(e.args), callee.loc, fe.field);
    diags_.error(fe.fieldLoc) << "model '" << base.type.model->decl->name << "' has no method '" << fe.field << "'";
    return SValue::poison();
  }
  if (callee.kind == ast::ExprKind::Index) {
    const auto &ie = ast::as<ast::IndexExpr>(callee);
    if (ie.base->kind == ast::ExprKind::Name && !lookup(ast::as<ast::NameExpr>(*ie.base).name))
      if (auto r = callBuiltin(ast::as<ast::NameExpr>(*ie.base).name, e, &ie)) return *r;
  }
  diags_.error(callee.loc) << "this expression is not a function";
  return SValue::poison();
}

//===----------------------------------------------------------------------===//
// Control flow
//===----------------------------------------------------------------------===//

SValue Elaborator::elabIf(const ast::IfExpr &e) {
  SValue cond = elabExpr(*e.cond);
  if (cond.poisoned) return cond;
  if (!cond.type.isScalar() || cond.type.tensor.dtype != DType::Bool) {
    diags_.error(e.cond->loc) << "if condition must be a bool scalar, got "
                              << (cond.isString ? "a string" : cond.type.str());
    return SValue::poison();
  }
  std::set<std::string> assigned;
  collectAssigned(*e.thenBlock, assigned);
  if (e.elseBlock) collectAssigned(*e.elseBlock, assigned);
  std::vector<std::pair<std::string, Binding *>> carried = carriedVars(*this, assigned);
  std::vector<SValue> before;
  for (auto &c : carried) before.push_back(c.second->value);

  b().setLoc(irLoc(e.loc));
  ir::Op *op = b().create(OpKind::If, {cond.leaves[0]}, {});
  ir::Region *outer = b().region();
  SValue values[2];
  std::vector<SValue> after[2];
  ir::Region *regions[2] = {op->addRegion(), op->addRegion()};
  const ast::Block *blocks[2] = {e.thenBlock.get(), e.elseBlock.get()};
  for (int k = 0; k < 2; ++k) {
    b().setRegion(regions[k]);
    for (size_t i = 0; i < carried.size(); ++i) carried[i].second->value = before[i];
    values[k] = blocks[k] ? elabBlock(*blocks[k]) : SValue::unit();
    for (auto &c : carried) after[k].push_back(c.second->value);
  }
  b().setRegion(outer);
  bool bad = values[0].poisoned || values[1].poisoned;
  if (!bad) {
    // Literals in one branch adapt to the other branch.
    for (int k = 0; k < 2; ++k) {
      SValue &x = values[k], &y = values[1 - k];
      if (x.weak && !y.weak && x.type.isTensor() && y.type.isTensor()) {
        b().setRegion(regions[k]);
        x = convertTo(x, y.type.tensor.dtype);
        b().setRegion(outer);
      }
    }
    if (!e.elseBlock && values[0].type != values[1].type) {
      // No else: the missing branch gives (), so the then-branch must too.
      const ast::Block &tb = *e.thenBlock;
      diags_.error(tb.result ? tb.result->loc : tb.loc) << "an 'if' without 'else' has no value, but its branch gives "
                                     << values[0].type.str() << "; add an else branch";
      bad = true;
    } else if (values[0].type != values[1].type) {
      diags_.error(e.loc) << "if branches have different types: " << values[0].type.str() << " and "
                          << values[1].type.str();
      bad = true;
    }
  }
  for (int k = 0; k < 2; ++k) {
    b().setRegion(regions[k]);
    std::vector<ir::Value *> ys = bad ? std::vector<ir::Value *>{} : values[k].leaves;
    for (const SValue &v : after[k]) ys.insert(ys.end(), v.leaves.begin(), v.leaves.end());
    b().create(OpKind::Yield, ys, {});
  }
  b().setRegion(outer);
  SValue result = bad ? SValue::poison() : values[0];
  size_t r = 0;
  if (!bad) {
    result.constant.reset();
    result.weak = false;
    for (ir::Value *&leaf : result.leaves) leaf = op->addResult(leaf->type());
  }
  for (size_t i = 0; i < carried.size(); ++i) {
    SValue v = after[0][i];
    for (ir::Value *&leaf : v.leaves) leaf = op->addResult(leaf->type());
    carried[i].second->value = v;
    (void)r;
  }
  return result;
}

SValue Elaborator::elabMap(const ast::MapExpr &e) {
  std::optional<int64_t> lo = constInt(*e.lo, "map bounds");
  std::optional<int64_t> hi = constInt(*e.hi, "map bounds");
  if (!lo || !hi) return SValue::poison();
  if (*hi <= *lo) {
    diags_.error(e.loc) << "map over an empty range " << *lo << ".." << *hi;
    return SValue::poison();
  }
  std::set<std::string> assigned;
  collectAssigned(*e.body, assigned);
  for (const std::string &n : assigned) {
    Binding *bd = lookup(n);
    if (bd && bd->isVar) {
      diags_.error(e.loc) << "cannot assign to '" << n << "' inside map (iterations are independent)";
      return SValue::poison();
    }
  }
  b().setLoc(irLoc(e.loc));
  ir::Op *op = b().create(OpKind::Map, {}, {}, {{"lo", *lo}, {"hi", *hi}});
  ir::Region *body = op->addRegion();
  ir::Value *iv = body->addArgument(ir::Type{DType::I32, {}});
  iv->setName(e.var);
  ir::Region *outer = b().region();
  b().setRegion(body);
  pushScope();
  SValue ivv = fromValue(iv);
  define(e.var, ivv, false, e.varLoc);
  SValue v = elabBlock(*e.body);
  popScope();
  bool ok = !v.poisoned;
  if (ok && v.weak && v.type.isTensor()) v = convertTo(v, v.type.tensor.dtype);
  if (ok && !(v.type.isTensor() || (v.type.kind == SType::Tuple &&
                                    std::all_of(v.type.elems.begin(), v.type.elems.end(),
                                                [](const SType &t) { return t.isTensor(); })))) {
    diags_.error(e.loc) << "map must produce a tensor or a tuple of tensors, got " << v.type.str();
    ok = false;
  }
  b().create(OpKind::Yield, ok ? v.leaves : std::vector<ir::Value *>{}, {});
  b().setRegion(outer);
  if (!ok) return SValue::poison();
  int64_t n = *hi - *lo;
  auto stacked = [n](SType t) {
    t.tensor.shape.insert(t.tensor.shape.begin(), n);
    return t;
  };
  SValue r;
  if (v.type.isTensor()) {
    r.type = stacked(v.type);
  } else {
    r.type = v.type;
    for (SType &t : r.type.elems) t = stacked(t);
  }
  std::vector<ir::Type> tys;
  r.type.flatten(tys);
  for (const ir::Type &t : tys) r.leaves.push_back(op->addResult(t));
  return r;
}

/// The noun for what `what` differentiates, in messages.
static const char *differentiandNoun(const char *what) {
  return std::string(what) == "train" ? "loss" : "expression";
}

bool Elaborator::checkDifferentiand(SValue &target, SourceLoc loc, const char *what) {
  if (target.poisoned) return false;
  if (target.weak && target.type.isTensor()) target = convertTo(target, target.type.tensor.dtype);
  if (!target.isString && target.type.isScalar() && isFloat(target.type.tensor.dtype)) return true;
  diags_.error(loc) << what << " needs a scalar f32 or f64 " << differentiandNoun(what) << ", got "
                    << (target.isString ? "a string" : target.type.str());
  return false;
}

bool Elaborator::checkGradWrt(const SValue &x, SourceLoc loc, const char *what) {
  if (x.poisoned) return false;
  bool isTrain = std::string(what) == "train";
  std::string expects = isTrain ? std::string("train updates a float tensor or a model, got ")
                                : std::string(what) + " is taken with respect to a float tensor or a model, got ";
  if (x.isString || !(x.type.isModel() || (x.type.isTensor() && isFloat(x.type.tensor.dtype)))) {
    diags_.error(loc) << expects << (x.isString ? "a string" : x.type.str());
    return false;
  }
  if (x.type.isTensor()) return true;
  // A model needs a trainable leaf: otherwise there is nothing to differentiate.
  const SType &t = x.type;
  size_t trainable = 0;
  for (size_t i = t.leafBegin; i < t.leafEnd; ++i)
    if (t.model->leaves[i].trainable) ++trainable;
  if (trainable > 0) return true;
  diags_.error(loc) << (isTrain ? std::string("nothing to train: ") : std::string(what) + " has nothing to differentiate: ")
                    << "model " << t.str()
                    << (t.leafBegin == t.leafEnd ? " has no parameters"
                                                 : " has no trainable parameter (every one is frozen by stop_grad)");
  return false;
}

SValue Elaborator::gradOf(const SValue &e, const SValue &x, bool withValue, SourceLoc loc) {
  PTL_CHECK(e.leaves.size() == 1 && e.type.isScalar() && isFloat(e.type.tensor.dtype),
            "gradOf needs a float scalar (checkDifferentiand)");
  std::vector<ir::Value *> wrt;
  std::vector<bool> trainable;
  std::vector<std::string> names; // for the pass's gradient-flow warnings
  if (x.type.isModel()) {
    for (size_t i = 0; i < x.leaves.size(); ++i) {
      const Leaf &l = x.type.model->leaves[x.type.leafBegin + i];
      trainable.push_back(l.trainable);
      if (l.trainable) {
        wrt.push_back(x.leaves[i]);
        names.push_back(l.path);
      }
    }
  } else {
    wrt = x.leaves;
    trainable.assign(x.leaves.size(), true);
    names.push_back(x.leaves[0]->name().empty() ? "the value" : x.leaves[0]->name());
  }
  PTL_CHECK(!wrt.empty(), "gradOf with respect to nothing (checkGradWrt)");
  b().setLoc(irLoc(loc));
  std::vector<const ir::Op *> idle;
  ir::Op *g = ir::createGradOp(b(), wrt, e.leaves[0], withValue, &idle);
  g->attrs()["wrt_names"] = names;
  for (const ir::Op *op : idle) {
    // Back from the op's location to the source file it came from.
    SourceLoc at = sourceLocOf(op->loc(), loc);
    if (op->loc().valid()) at.length = 9;
    diags_.warning(at) << "this stop_grad cuts nothing: its argument does not depend on what grad differentiates";
  }
  SValue grad;
  grad.type = x.type;
  grad.type.tangent = x.type.isModel(); // derivatives w.r.t. the stored leaves: no transforms
  unsigned k = withValue ? 1 : 0;
  for (size_t i = 0; i < x.leaves.size(); ++i)
    grad.leaves.push_back(trainable[i] ? g->result(k++) : b().constant(x.leaves[i]->type(), 0));
  if (!withValue) return grad;
  SValue r;
  r.type = SType::tupleOf({e.type, grad.type});
  r.leaves.push_back(g->result(0));
  r.leaves.insert(r.leaves.end(), grad.leaves.begin(), grad.leaves.end());
  return r;
}

SValue Elaborator::elabGrad(const ast::GradExpr &e) {
  const char *what = e.withValue ? "value_and_grad" : "grad";
  SValue target = elabExpr(*e.target);
  SValue x = elabExpr(*e.wrt);
  if (target.poisoned || x.poisoned) return SValue::poison();
  if (!checkDifferentiand(target, e.target->loc, what) || !checkGradWrt(x, e.wrt->loc, what))
    return SValue::poison();
  if (x.weak) {
    diags_.error(e.wrt->loc) << what << " is taken with respect to a variable, not a literal"
                             << (e.wrt->kind == ast::ExprKind::Name
                                     ? "; give it a type to make it one, e.g. let w = f32(0.7)"
                                     : "");
    return SValue::poison();
  }
  return gradOf(target, x, e.withValue, e.loc);
}

/// Glob matching where '*' matches any run of characters, dots included.
static bool globMatch(const char *g, const char *s) {
  if (*g == 0) return *s == 0;
  if (*g == '*') {
    for (const char *t = s;; ++t) {
      if (globMatch(g + 1, t)) return true;
      if (*t == 0) return false;
    }
  }
  return *g == *s && globMatch(g + 1, s + 1);
}

SValue Elaborator::elabStopGradBlock(const ast::StopGradBlockExpr &e) {
  const ast::Selector &sel = e.selector;
  std::vector<bool> globUsed(sel.globs.size(), false);
  // Does `path` of variable `var` match the selector?
  auto matches = [&](const std::string &var, const std::string &path) {
    bool any = false;
    for (size_t i = 0; i < sel.globs.size(); ++i) {
      const std::string &g = sel.globs[i];
      if (globMatch(g.c_str(), path.c_str()) || (!var.empty() && globMatch(g.c_str(), (var + "." + path).c_str()))) {
        globUsed[i] = true;
        any = true;
      }
    }
    return sel.all ? !any : any;
  };
  // Rebind every visible model variable (and the method's self) for the block.
  pushScope();
  std::set<std::string> seen;
  for (auto it = ctx().scopes.rbegin(); it != ctx().scopes.rend(); ++it) {
    for (auto &[name, bd] : *it) {
      if (!seen.insert(name).second || !bd.value.type.isModel() || bd.value.poisoned) continue;
      SValue v = stopGradModel(bd.value, [&](const std::string &p) { return matches(name, p); });
      ctx().scopes.back()[name] = Binding{v, false, bd.loc};
    }
  }
  SValue savedSelf = ctx().self;
  if (ctx().selfType)
    ctx().self = stopGradModel(ctx().self, [&](const std::string &p) { return matches("", p); });
  // A glob that matches nothing names the nearest paths it could have meant:
  // each parameter path, and each sub-model prefix as `prefix.*`, from the
  // model (and with the variable's name in front).
  std::vector<std::string> candidates;
  auto addPaths = [&](const std::string &var, const SValue &v) {
    std::vector<std::string> prefixes{""};
    if (!var.empty()) prefixes.push_back(var + ".");
    for (const std::string &prefix : prefixes)
      for (const Leaf &l : v.type.model->leaves) {
        for (size_t dot = l.path.find('.'); dot != std::string::npos; dot = l.path.find('.', dot + 1))
          candidates.push_back(prefix + l.path.substr(0, dot) + ".*");
        candidates.push_back(prefix + l.path);
      }
  };
  for (auto &[name, bd] : ctx().scopes.back()) addPaths(name, bd.value);
  if (ctx().selfType) addPaths("", ctx().self);
  for (size_t i = 0; i < sel.globs.size(); ++i)
    if (!globUsed[i])
      diags_.error(sel.globLocs.size() > i ? sel.globLocs[i] : sel.loc)
          << "selector '" << sel.globs[i] << "' matches no parameter" << didYouMean(sel.globs[i], candidates);
  SValue r = elabBlock(*e.body);
  popScope();
  ctx().self = savedSelf;
  return r;
}

} // namespace sema
} // namespace ptl
