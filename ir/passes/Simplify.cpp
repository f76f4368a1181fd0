//===- ir/passes/Simplify.cpp - Constant folding and algebraic identities ----===//
//
// One forward walk over every region. An op is replaced when
//
//   * all its operands are constants, it has no regions and no effects, its
//     kind is in kFoldable and its results are small (kMaxFoldedElements):
//     it is evaluated once, here, by the reference interpreter's own kernel,
//     so the folded constant holds exactly the bits either engine would
//     have computed at run time (a kernel that faults is left alone: the
//     fault stays a run-time one);
//   * or an identity in kIdentities applies. Each is exact in IEEE
//     arithmetic (x * 1 = x, x ^ 1 = x, x ^ 2 = x * x correctly rounded,
//     the value a correctly rounded pow gives too; a transpose undoing a
//     transpose; a transpose moving only axes of size 1 is a reshape) and
//     keeps the result's type, so no broadcast is lost.
//
// Uses of a replaced result are rewritten as the walk reaches them; the
// replaced ops are left for DCE. Autodiff produces many of these patterns:
// the derivative of x ^ 2 is 2 * x ^ (2 - 1), and guards such as
// select(2 == 0, 0, g).
//
//===----------------------------------------------------------------------===//
#include "ir/Builder.h"
#include "ir/interp/Interpreter.h"
#include "ir/interp/Kernels.h"
#include "ir/passes/Passes.h"
#include "runtime/Errors.h"

#include <unordered_map>

namespace ptl::ir {
namespace {

/// Constants larger than this are neither made nor read by folding (the
/// code that computes them is smaller than their data).
constexpr int64_t kMaxFoldedElements = 64;

/// Kinds whose kernel is a pure function of the operand tensors.
bool foldable(OpKind k) {
  if (isUnaryElementwise(k) || isBinaryElementwise(k) || isComparison(k)) return true;
  switch (k) {
  case OpKind::Convert:
  case OpKind::Broadcast:
  case OpKind::Reshape:
  case OpKind::Select:
  case OpKind::Clamp:
  case OpKind::ReduceSum:
  case OpKind::ReduceMean:
  case OpKind::ReduceMax:
  case OpKind::ReduceMin:
    return true;
  default:
    return false;
  }
}

/// The splat value of a constant (one value, or all values equal), if `v` is one.
bool splatValue(const Value *v, double &out) {
  const Op *def = v->definingOp();
  if (!def || def->kind() != OpKind::Constant) return false;
  const Dense &d = std::get<Dense>(def->attrs().at("value"));
  if (d.values.empty()) return false;
  for (double x : d.values)
    if (!(x == d.values[0])) return false;
  out = d.values[0];
  return true;
}

bool isSplat(const Value *v, double want) {
  double x;
  return splatValue(v, x) && x == want;
}

class SimplifyPass : public Pass {
public:
  const char *name() const override { return "simplify"; }

  bool run(Module &m, std::string &error) override {
    (void)error;
    InterpOptions opts;
    Interpreter interp(m, opts);
    interp_ = &interp;
    for (auto &f : m.functions()) {
      replace_.clear();
      walk(f->body());
    }
    interp_ = nullptr;
    return true;
  }

private:
  void walk(Region &r) {
    for (size_t i = 0; i < r.ops().size(); ++i) {
      Op &op = *r.ops()[i];
      for (unsigned k = 0; k < op.numOperands(); ++k)
        if (auto it = replace_.find(op.operand(k)); it != replace_.end()) op.setOperand(k, it->second);
      for (unsigned k = 0; k < op.numRegions(); ++k) walk(*op.region(k));
      if (op.numResults() != 1 || op.numRegions() != 0) continue;
      if (Value *v = fold(r, i, op)) replace_[op.result(0)] = v;
      else if (Value *w = identity(r, i, op)) replace_[op.result(0)] = w;
    }
  }

  /// A constant inserted before position `at` of `r` holding `t`'s values.
  Value *insertConstant(Region &r, size_t at, const Tensor &t, Loc loc) {
    Dense d;
    for (int64_t e = 0; e < t.numel(); ++e) d.values.push_back(t.getDouble(e));
    auto op = std::make_unique<Op>(OpKind::Constant, std::vector<Value *>{}, std::vector<Type>{Type{t.dtype(), t.shape()}},
                                   AttrMap{{"value", std::move(d)}}, loc);
    return r.insert(at, std::move(op))->result(0);
  }

  /// A new op `kind`(operands) -> t inserted at position `i` of `r`, before
  /// the op being rewritten (which moves one place on, as `i` does).
  Value *insertBefore(Region &r, size_t &i, OpKind kind, std::vector<Value *> operands, const Type &t, Loc loc) {
    auto op = std::make_unique<Op>(kind, std::move(operands), std::vector<Type>{t}, AttrMap{}, loc);
    Value *v = r.insert(i, std::move(op))->result(0);
    ++i;
    return v;
  }

  /// The op evaluated now, if all its operands are constants.
  Value *fold(Region &r, size_t &i, const Op &op) {
    if (!foldable(op.kind())) return nullptr;
    if (numElements(op.result()->type().shape) > kMaxFoldedElements) return nullptr;
    std::vector<Tensor> in;
    for (const Value *v : op.operands()) {
      const Op *def = v->definingOp();
      if (!def || def->kind() != OpKind::Constant) return nullptr;
      if (numElements(v->type().shape) > kMaxFoldedElements) return nullptr; // e.g. a huge splat
    }
    for (const Value *v : op.operands()) {
      const Op *def = v->definingOp();
      const Type &t = v->type();
      const Dense &d = std::get<Dense>(def->attrs().at("value"));
      Tensor x = Tensor::zeros(t.dtype, t.shape);
      for (int64_t e = 0; e < x.numel(); ++e) x.setDouble(e, d.values.size() == 1 ? d.values[0] : d.values[(size_t)e]);
      in.push_back(std::move(x));
    }
    std::vector<Tensor> out;
    try {
      out = kernels::kernelFor(op.kind())({op, in, *interp_});
    } catch (const RuntimeFault &) {
      return nullptr; // e.g. an integer division by zero: it faults when it runs
    }
    Value *c = insertConstant(r, i, out[0], op.loc());
    ++i; // `op` moved one place on
    return c;
  }

  /// The op rewritten by an exact identity, if one applies.
  Value *identity(Region &r, size_t &i, Op &op) {
    const Type &t = op.result()->type();
    auto sameType = [&](const Value *v) { return v->type() == t; };
    switch (op.kind()) {
    // x * 1 = 1 * x = x (floats: exact, NaN stays NaN; i32 too)
    case OpKind::Mul:
      if (isSplat(op.operand(1), 1.0) && sameType(op.operand(0))) return op.operand(0);
      if (isSplat(op.operand(0), 1.0) && sameType(op.operand(1))) return op.operand(1);
      return nullptr;
    // x ^ 1 = x; x ^ 2 = x * x (floats; both correctly rounded)
    case OpKind::Pow: {
      if (t.dtype != DType::F32 && t.dtype != DType::F64) return nullptr;
      if (!sameType(op.operand(0))) return nullptr;
      if (isSplat(op.operand(1), 1.0)) return op.operand(0);
      if (!isSplat(op.operand(1), 2.0)) return nullptr;
      return insertBefore(r, i, OpKind::Mul, {op.operand(0), op.operand(0)}, t, op.loc());
    }
    // transpose(transpose(x, p), q) = x when q undoes p (autodiff's
    // adjoint of x @ W.T reads (W.T).T)
    // transpose(x, p) = reshape(x) when p keeps the axes longer than 1 in
    // order (only axes of size 1 move, so no element does: [40, 1] -> [1, 40])
    case OpKind::Transpose: {
      std::vector<int64_t> q = op.intsAttr("perm");
      if (const Op *inner = op.operand(0)->definingOp(); inner && inner->kind() == OpKind::Transpose) {
        std::vector<int64_t> p = inner->intsAttr("perm");
        bool undoes = true;
        for (size_t j = 0; j < q.size(); ++j) undoes = undoes && p[(size_t)q[j]] == (int64_t)j;
        if (undoes) return inner->operand(0);
      }
      const Shape &in = op.operand(0)->type().shape;
      int64_t last = -1;
      for (int64_t axis : q) {
        if (in[(size_t)axis] == 1) continue;
        if (axis < last) return nullptr;
        last = axis;
      }
      return insertBefore(r, i, OpKind::Reshape, {op.operand(0)}, t, op.loc());
    }
    // select(c, a, b) with c all true (all false) = a (b)
    case OpKind::Select: {
      double c;
      if (!splatValue(op.operand(0), c)) return nullptr;
      Value *pick = c != 0 ? op.operand(1) : op.operand(2);
      return sameType(pick) ? pick : nullptr;
    }
    default:
      return nullptr;
    }
  }

  Interpreter *interp_ = nullptr;
  std::unordered_map<const Value *, Value *> replace_;
};

} // namespace

std::unique_ptr<Pass> createSimplifyPass() { return std::make_unique<SimplifyPass>(); }

} // namespace ptl::ir
