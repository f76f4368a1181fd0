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
//===----------------------------------------------------------------------===//
#include "ir/passes/Passes.h"
#include "runtime/Gemm.h"

#include <utility>

namespace ptl::ir {
namespace {

/// The operand of `v`'s defining transpose, if it swaps just the last two axes.
Value *swappedSource(Value *v) {
  const Op *def = v->definingOp();
  if (!def || def->kind() != OpKind::Transpose) return nullptr;
  std::vector<int64_t> perm = def->intsAttr("perm");
  size_t r = perm.size();
  if (r < 2) return nullptr;
  for (size_t i = 0; i + 2 < r; ++i)
    if (perm[i] != (int64_t)i) return nullptr;
  return perm[r - 2] == (int64_t)(r - 1) && perm[r - 1] == (int64_t)(r - 2) ? def->operand(0) : nullptr;
}

class FoldTransposePass : public Pass {
public:
  const char *name() const override { return "fold-transpose"; }

  bool run(Module &m, std::string &error) override {
    (void)error;
    for (auto &f : m.functions())
      walkOps(f->body(), [](Op &op) {
        if (op.kind() != OpKind::MatMul) return;
        const Shape &as = op.operand(0)->type().shape, &bs = op.operand(1)->type().shape;
        if (as.size() < 2 || bs.size() < 2) return; // vector operands have no transposed form
        int64_t M = as[as.size() - 2], K = as.back(), N = bs.back();
        DType dt = op.result()->type().dtype;
        bool blas = (dt == DType::F32 || dt == DType::F64) && gemmSizeUsesBlas(M, N, K);
        for (unsigned k = 0; k < 2; ++k) {
          const char *flag = k == 0 ? "transpose_a" : "transpose_b";
          Value *src = swappedSource(op.operand(k));
          if (!src || op.boolAttr(flag) || (k == 1 && !blas)) continue;
          op.setOperand(k, src);
          op.attrs()[flag] = true;
        }
      });
    return true;
  }
};

} // namespace

std::unique_ptr<Pass> createFoldTransposePass() { return std::make_unique<FoldTransposePass>(); }

} // namespace ptl::ir
