//===- ir/passes/Pipeline.cpp - The passes by name, and the default pipeline -===//
//
// The one list of the passes every client runs after elaboration (`ptlc
// run`, --emit, the REPL, the embedding API, ahead-of-time builds), and the
// name-to-pass table behind `ptlc opt --pass NAME`.
//
//===----------------------------------------------------------------------===//
#include "ir/autodiff/Autodiff.h"
#include "ir/passes/Passes.h"

namespace ptl::ir {

const std::vector<std::string> &defaultPipeline() {
  // cse first so autodiff differentiates each value once; simplify folds the
  // constants autodiff leaves (2 - 1 in the derivative of x ^ 2); cse again
  // merges what folding made equal; fold-transpose lets products read
  // transposed operands in place; licm moves data-only terms out of training
  // loops; dce drops what nothing uses.
  static const std::vector<std::string> names = {"cse", "autodiff", "simplify", "cse", "fold-transpose", "licm", "dce"};
  return names;
}

const std::vector<std::string> &passNames() {
  static const std::vector<std::string> names = {"autodiff", "cse", "dce", "fold-transpose", "licm", "simplify"};
  return names;
}

std::unique_ptr<Pass> createPassByName(const std::string &name, std::vector<GradWarning> *warnings) {
  if (name == "autodiff") return createAutodiffPass(warnings);
  if (name == "cse") return createCSEPass();
  if (name == "dce") return createDCEPass();
  if (name == "fold-transpose") return createFoldTransposePass();
  if (name == "licm") return createLICMPass();
  if (name == "simplify") return createSimplifyPass();
  return nullptr;
}

} // namespace ptl::ir
