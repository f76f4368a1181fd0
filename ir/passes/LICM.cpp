//===- ir/passes/LICM.cpp - Loop-invariant code motion ---------------------===//
//
// An op in the body of a `for` or `map` whose operands are all defined
// outside that body (or by ops already hoisted from it) computes the same
// value in every iteration: it moves to just before the loop and runs once.
// Inner loops are processed first, so an op climbs out of every loop it
// does not depend on.
//
// Only ops that are pure and cannot fault move (hoistable): moving a
// faulting op out of a loop would change which error a run reports first,
// or report one for a loop that runs no iteration. Ops with regions stay.
// Training scripts gain most: data-only terms such as log(x) in the
// gradient of x ^ p are computed once instead of once per step.
//
//===----------------------------------------------------------------------===//
#include "ir/passes/Passes.h"

namespace ptl::ir {
namespace {

/// Pure kinds that never fault at run time (whatever the operand values).
bool hoistable(const Op &op) {
  OpKind k = op.kind();
  if (op.numRegions() != 0 || op.numResults() == 0 || hasSideEffects(k)) return false;
  bool isInt = op.numOperands() > 0 && op.operand(0)->type().dtype == DType::I32;
  if (isUnaryElementwise(k) || isComparison(k)) return true;
  if (isBinaryElementwise(k)) // integer division, modulo and pow by 0 fault
    return !(isInt && (k == OpKind::Div || k == OpKind::Mod || k == OpKind::Pow));
  switch (k) {
  case OpKind::Constant:
  case OpKind::Convert:
  case OpKind::Broadcast:
  case OpKind::Reshape:
  case OpKind::Transpose:
  case OpKind::StopGrad:
  case OpKind::ReduceSum:
  case OpKind::ReduceMean:
  case OpKind::MatMul:
  case OpKind::Select:
  case OpKind::Clamp:
  case OpKind::Softmax:
  case OpKind::LogSoftmax:
  case OpKind::LogSumExp:
    return true;
  default:
    return false;
  }
}

class LICMPass : public Pass {
public:
  const char *name() const override { return "licm"; }

  bool run(Module &m, std::string &error) override {
    (void)error;
    for (auto &f : m.functions()) visit(f->body());
    return true;
  }

private:
  void visit(Region &r) {
    for (size_t i = 0; i < r.ops().size(); ++i) {
      Op &op = *r.ops()[i];
      for (unsigned k = 0; k < op.numRegions(); ++k) visit(*op.region(k));
      if (op.kind() == OpKind::For || op.kind() == OpKind::Map) i += hoistFrom(*op.region(0), r, i);
    }
  }

  /// Moves the invariant ops of `body` (the region of the loop at position
  /// `loopAt` of `outer`) before the loop; returns how many moved.
  size_t hoistFrom(Region &body, Region &outer, size_t loopAt) {
    // A hoisted op's results belong to `outer` from then on.
    auto invariant = [&](const Value *v) { return v->parentRegion() != &body; };
    size_t moved = 0;
    for (size_t j = 0; j < body.ops().size();) {
      Op &op = *body.ops()[j];
      bool ok = hoistable(op);
      for (unsigned k = 0; ok && k < op.numOperands(); ++k) ok = invariant(op.operand(k));
      if (!ok) {
        ++j;
        continue;
      }
      outer.insert(loopAt + moved, body.take(j));
      ++moved;
    }
    return moved;
  }
};

} // namespace

std::unique_ptr<Pass> createLICMPass() { return std::make_unique<LICMPass>(); }

} // namespace ptl::ir
