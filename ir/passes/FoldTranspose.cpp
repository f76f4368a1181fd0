//===- ir/passes/FoldTranspose.cpp - Transposes read by matmul in place ------===//
//
// matmul(transpose(x), b) with a transpose that swaps the last two axes
// becomes matmul(x, b) {transpose_a = true}: the product reads x in place
// instead of a transposed copy (likewise for b, transpose_b). In a training
// step of `x @ W.T + b` this saves a copy of every weight matrix forward and
// of activations and gradients backward. The k terms of each output are
// still added in ascending order (runtime/Gemm.h), so results do not change.
//
// When it pays: a transposed left operand always (an inline product reads
// it one element at a time anyway); a transposed right operand only for a
// float product big enough for BLAS (runtime/Gemm.h gemmSizeUsesBlas), which
// takes it as a flag: an inline product reads rows of b as vectors, and a
// copy made once is cheaper than gathering them. The transpose op stays for
// its other users and DCE drops it when there are none.
//
// And transpose(a @ b) becomes bᵀ @ aᵀ computed directly (see
// transposeProducts): every weight gradient of x @ W.T is one.
//
//===----------------------------------------------------------------------===//
#include "ir/passes/Passes.h"
#include "runtime/Gemm.h"

#include <unordered_map>
#include <utility>
#include <vector>

namespace ptl::ir {
namespace {

/// The operand of `v`'s defining transpose, if it swaps just the last two axes.
Value *swappedSource(Value *v) {
  const Op *def = v->definingOp();
  if (!def || def->kind() != OpKind::Transpose || !swapsLastTwoAxes(def->intsAttr("perm"))) return nullptr;
  return def->operand(0);
}

class FoldTransposePass : public Pass {
public:
  const char *name() const override { return "fold-transpose"; }

  bool run(Module &m, std::string &error) override {
    (void)error;
    for (auto &f : m.functions()) {
      walkOps(f->body(), [](Op &op) {
        if (op.kind() != OpKind::MatMul || !matrices(op)) return;
        for (unsigned k = 0; k < 2; ++k) {
          const char *flag = k == 0 ? "transpose_a" : "transpose_b";
          Value *src = swappedSource(op.operand(k));
          if (!src || op.boolAttr(flag) || (k == 1 && !blasSized(op))) continue;
          op.setOperand(k, src);
          op.attrs()[flag] = true;
        }
      });
      transposeProducts(m, *f);
    }
    return true;
  }

private:
  /// Whether both operands are matrices (rank >= 2): vectors have no transposed form.
  static bool matrices(const Op &op) {
    return op.operand(0)->type().shape.size() >= 2 && op.operand(1)->type().shape.size() >= 2;
  }
  /// Whether a matmul's product goes to BLAS (float, big enough).
  static bool blasSized(const Op &op) {
    const Shape &s = op.result()->type().shape;
    int64_t M = s[s.size() - 2], N = s.back();
    const Shape &as = op.operand(0)->type().shape;
    int64_t K = op.boolAttr("transpose_a") ? as[as.size() - 2] : as.back();
    DType dt = op.result()->type().dtype;
    return (dt == DType::F32 || dt == DType::F64) && gemmSizeUsesBlas(M, N, K);
  }

  /// transpose(a @ b) = bᵀ @ aᵀ: a matmul used only by a transpose of its
  /// last two axes computes the transposed product directly (swapped
  /// operands, flipped flags), and the transpose goes. Autodiff makes these
  /// for every weight of x @ W.T: the adjoint of W.T is hᵀ @ g, transposed.
  /// Done when the new right operand is read in place cheaply (it was the
  /// transposed left one, or BLAS multiplies).
  static void transposeProducts(Module &m, Function &f) {
    std::unordered_map<const Value *, int> uses;
    walkOps(f.body(), [&](Op &op) {
      for (const Value *v : op.operands()) ++uses[v];
    });
    std::vector<Op *> gone; // the transposes, erased once nothing uses them
    walkOps(f.body(), [&](Op &t) {
      if (t.kind() != OpKind::Transpose || !swapsLastTwoAxes(t.intsAttr("perm"))) return;
      Op *mm = t.operand(0)->definingOp();
      if (!mm || mm->kind() != OpKind::MatMul || !matrices(*mm) || uses[mm->result()] != 1) return;
      bool ta = mm->boolAttr("transpose_a"), tb = mm->boolAttr("transpose_b");
      if (!ta && !blasSized(*mm)) return; // the new right operand would be read transposed, inline
      Value *a = mm->operand(0), *b = mm->operand(1);
      mm->setOperand(0, b);
      mm->setOperand(1, a);
      mm->attrs()["transpose_a"] = !tb;
      mm->attrs()["transpose_b"] = !ta;
      mm->result()->setType(t.result()->type());
      gone.push_back(&t);
    });
    for (Op *t : gone) {
      replaceAllUses(m, t->result(), t->operand(0));
      Region *r = t->parentRegion();
      r->take(r->indexOf(t));
    }
  }
};

} // namespace

std::unique_ptr<Pass> createFoldTransposePass() { return std::make_unique<FoldTransposePass>(); }

} // namespace ptl::ir
