//===- ir/passes/Passes.h - Factories for the IR passes ---------*- C++ -*-===//
//
// Each pass lives in its own file and exports only its factory.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/PassManager.h"

#include <memory>
#include <string>
#include <vector>

namespace ptl::ir {

struct GradWarning;

/// The passes run after elaboration, by name, in order: cse, autodiff,
/// simplify, cse, fold-transpose, licm, dce.
const std::vector<std::string> &defaultPipeline();
/// Every pass name createPassByName knows, sorted.
const std::vector<std::string> &passNames();
/// The pass called `name`, or null if there is none; the autodiff pass
/// appends its gradient-flow warnings to `warnings` (may be null).
std::unique_ptr<Pass> createPassByName(const std::string &name, std::vector<GradWarning> *warnings);

/// Dead-code elimination: removes every op (recursing into regions) whose
/// results are all unused and that may have no side effects (see
/// mayHaveSideEffects). Terminators are never removed; a control-flow op goes
/// whole when its results are unused and nothing inside has an effect.
/// Unused functions and unused loop-carried values are kept.
std::unique_ptr<Pass> createDCEPass();

/// Common-subexpression elimination: an op without regions and without side
/// effects is replaced by an earlier identical one (same kind, operands,
/// attributes and result types) visible from it — in the same region or an
/// enclosing one, never a sibling region. `random` is pure given its seed
/// operand and attributes, so it is CSE'd too.
std::unique_ptr<Pass> createCSEPass();

/// Constant folding (with the interpreter's kernels, so folded values are
/// the bits either engine computes) and exact algebraic identities
/// (x * 1, x ^ 1, x ^ 2 = x * x, select on a constant condition, a transpose
/// of a transpose).
std::unique_ptr<Pass> createSimplifyPass();

/// matmul reads an operand that is a transpose of its last two axes in
/// place (attributes transpose_a / transpose_b) where that is cheaper than
/// the copy: always for the left operand, for the right one when the
/// product goes to BLAS.
std::unique_ptr<Pass> createFoldTransposePass();

/// Loop-invariant code motion: pure, non-faulting ops of a `for` or `map`
/// body that depend on nothing computed in it move before the loop.
std::unique_ptr<Pass> createLICMPass();

} // namespace ptl::ir
