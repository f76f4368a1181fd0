//===- frontend/ConstFold.h - Compile-time scalar arithmetic -----------------===//
//
// The arithmetic the front end does on compile-time scalars (literals, shape
// variables, model type arguments, constant i32 arguments): operators,
// negation and conversions. Each gives exactly the value the program would
// compute when it runs, in the element type it runs in: i32 wraps, divides
// toward zero and takes Python's modulo (the functions of ir/ScalarArith.h,
// which the interpreter's kernels use too); conversions truncate and
// saturate like the convert op; an f32 result is rounded to f32. Literals
// (weak values) that have no element type yet fold in f64.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/AST.h"
#include "ir/IR.h"

#include <optional>

namespace ptl::sema {

/// The value `x` holds as an element of `dt`: i32 truncates and saturates
/// (NaN -> 0), bool is x != 0, f32 rounds to the nearest f32, f64 is x.
double representAs(double x, DType dt);

/// `x op y` for compile-time scalars of element type `dt` (the type both
/// operands were unified to; `weak` when both are literals and a float
/// `dt` is only a default). Comparisons and `&&`/`||` give 0 or 1. Nullopt
/// when the operation faults at run time (an integer division or modulo by
/// zero, 0 to a negative power) or is not scalar (`@`).
std::optional<double> foldBinary(ast::BinaryOp op, double x, double y, DType dt, bool weak);

/// `-x` for a compile-time scalar of element type `dt` (i32 wraps).
double foldNeg(double x, DType dt);

} // namespace ptl::sema
