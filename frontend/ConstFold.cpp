//===- frontend/ConstFold.cpp - Compile-time scalar arithmetic ---------------===//
#include "frontend/ConstFold.h"

#include "ir/ScalarArith.h"

#include <cmath>

namespace ptl::sema {

using namespace ir::arith;

double representAs(double x, DType dt) {
  switch (dt) {
  case DType::I32: return floatToI32(x);
  case DType::Bool: return x != 0 ? 1.0 : 0.0;
  case DType::F32: return (double)(float)x;
  case DType::F64: return x;
  }
  return x;
}

/// `x op y` in i32 (both are i32 values).
static std::optional<double> foldI32(ast::BinaryOp op, int32_t x, int32_t y) {
  std::optional<int32_t> r;
  switch (op) {
  case ast::BinaryOp::Add: r = addI32(x, y); break;
  case ast::BinaryOp::Sub: r = subI32(x, y); break;
  case ast::BinaryOp::Mul: r = mulI32(x, y); break;
  case ast::BinaryOp::Div: r = divI32(x, y); break;
  case ast::BinaryOp::Mod: r = modI32(x, y); break;
  case ast::BinaryOp::Pow: r = powI32(x, y); break;
  default: return std::nullopt;
  }
  if (!r) return std::nullopt;
  return (double)*r;
}

std::optional<double> foldBinary(ast::BinaryOp op, double x, double y, DType dt, bool weak) {
  switch (op) {
  case ast::BinaryOp::Eq: return x == y;
  case ast::BinaryOp::Ne: return x != y;
  case ast::BinaryOp::Lt: return x < y;
  case ast::BinaryOp::Le: return x <= y;
  case ast::BinaryOp::Gt: return x > y;
  case ast::BinaryOp::Ge: return x >= y;
  case ast::BinaryOp::And: return (x != 0) && (y != 0);
  case ast::BinaryOp::Or: return (x != 0) || (y != 0);
  case ast::BinaryOp::MatMul: return std::nullopt;
  default: break;
  }
  if (dt == DType::I32) return foldI32(op, (int32_t)x, (int32_t)y);
  if (dt == DType::Bool) return std::nullopt;
  // Floats: computed in f64, then rounded to the element type (f32 values
  // are exact in f64, and one f64 operation rounded to f32 is the correctly
  // rounded f32 result for + - * /).
  double r;
  switch (op) {
  case ast::BinaryOp::Add: r = x + y; break;
  case ast::BinaryOp::Sub: r = x - y; break;
  case ast::BinaryOp::Mul: r = x * y; break;
  case ast::BinaryOp::Div: r = x / y; break;
  case ast::BinaryOp::Mod: r = modFloat(x, y); break;
  case ast::BinaryOp::Pow: r = std::pow(x, y); break;
  default: return std::nullopt;
  }
  return weak ? r : representAs(r, dt);
}

double foldNeg(double x, DType dt) {
  if (dt == DType::I32) return (double)negI32((int32_t)x);
  return -x;
}

} // namespace ptl::sema
