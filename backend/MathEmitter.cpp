//===- backend/MathEmitter.cpp - PTL's f32 exp, log and tanh as inline LLVM IR -===//
//
// Each function mirrors its namesake in runtime/Math.cpp line by line (a
// C++ `c ? a : b` is a select, `(int32_t)f` an fptosi, `>>` on a signed int
// an ashr); the formulas and constants are in runtime/Math.h.
//
//===----------------------------------------------------------------------===//
#include "backend/MathEmitter.h"

#include "runtime/Math.h"

#include <llvm/IR/Intrinsics.h>

#include <limits>

namespace ptl::backend {

namespace {
using C = math::F32Consts;
using LV = llvm::Value *;

LV f(llvm::IRBuilder<> &b, float v) { return llvm::ConstantFP::get(b.getFloatTy(), (double)v); }
LV i32(llvm::IRBuilder<> &b, int32_t v) { return b.getInt32(v); }
LV d(llvm::IRBuilder<> &b, double v) { return llvm::ConstantFP::get(b.getDoubleTy(), v); }
LV i64(llvm::IRBuilder<> &b, int64_t v) { return b.getInt64((uint64_t)v); }

/// sum of coeffs[i] x^(n-1-i) by Horner's rule, as the C++ loops do.
LV horner(llvm::IRBuilder<> &b, const float *coeffs, int n, LV x) {
  LV p = f(b, coeffs[0]);
  for (int i = 1; i < n; ++i) p = b.CreateFAdd(b.CreateFMul(p, x), f(b, coeffs[i]));
  return p;
}

/// The same, for doubles.
LV hornerD(llvm::IRBuilder<> &b, const double *coeffs, int n, LV x) {
  LV p = d(b, coeffs[0]);
  for (int i = 1; i < n; ++i) p = b.CreateFAdd(b.CreateFMul(p, x), d(b, coeffs[i]));
  return p;
}

/// 2^k for an i32 k in [-126, 127].
LV pow2(llvm::IRBuilder<> &b, LV k) {
  return b.CreateBitCast(b.CreateShl(b.CreateAdd(k, i32(b, 127)), i32(b, 23)), b.getFloatTy());
}
} // namespace

LV emitExpF32(llvm::IRBuilder<> &b, LV x) {
  LV hi = f(b, C::kExpOverflow), lo = f(b, C::kExpUnderflow);
  LV xc = b.CreateSelect(b.CreateFCmpOGT(x, hi), hi, x);
  xc = b.CreateSelect(b.CreateFCmpOLT(xc, lo), lo, xc);
  LV n = b.CreateUnaryIntrinsic(llvm::Intrinsic::floor,
                                b.CreateFAdd(b.CreateFMul(xc, f(b, C::kLog2e)), f(b, 0.5f)));
  LV r = b.CreateFSub(xc, b.CreateFMul(n, f(b, C::kLn2Hi)));
  r = b.CreateFSub(r, b.CreateFMul(n, f(b, C::kLn2Lo)));
  LV p = horner(b, C::kExpP, 6, r);
  LV y = b.CreateFMul(p, b.CreateFMul(r, r));
  y = b.CreateFAdd(y, r);
  y = b.CreateFAdd(y, f(b, 1.0f));
  LV k = b.CreateFPToSI(b.CreateSelect(b.CreateFCmpOEQ(n, n), n, f(b, 0.0f)), b.getInt32Ty());
  LV k1 = b.CreateAShr(k, i32(b, 1)), k2 = b.CreateSub(k, k1);
  y = b.CreateFMul(b.CreateFMul(y, pow2(b, k1)), pow2(b, k2));
  LV out = b.CreateSelect(b.CreateFCmpOLT(x, lo), f(b, 0.0f), y);
  out = b.CreateSelect(b.CreateFCmpOGT(x, hi), f(b, std::numeric_limits<float>::infinity()), out);
  return b.CreateSelect(b.CreateFCmpUNO(x, x), x, out);
}

LV emitLogF32(llvm::IRBuilder<> &b, LV x) {
  LV subnormal = b.CreateFCmpOLT(x, f(b, C::kMinNormal));
  LV xs = b.CreateSelect(subnormal, b.CreateFMul(x, f(b, C::kTwo23)), x);
  LV bits = b.CreateBitCast(xs, b.getInt32Ty());
  LV e = b.CreateSub(b.CreateAnd(b.CreateLShr(bits, i32(b, 23)), i32(b, 0xff)), i32(b, 126));
  e = b.CreateSub(e, b.CreateSelect(subnormal, i32(b, 23), i32(b, 0)));
  LV m = b.CreateBitCast(b.CreateOr(b.CreateAnd(bits, i32(b, (int32_t)0x807fffffu)), i32(b, 0x3f000000)),
                         b.getFloatTy());
  LV low = b.CreateFCmpOLT(m, f(b, C::kSqrtHalf));
  e = b.CreateSelect(low, b.CreateSub(e, i32(b, 1)), e);
  LV fr = b.CreateSelect(low, b.CreateFSub(b.CreateFAdd(m, m), f(b, 1.0f)), b.CreateFSub(m, f(b, 1.0f)));
  LV z = b.CreateFMul(fr, fr);
  LV y = horner(b, C::kLogQ, 9, fr);
  y = b.CreateFMul(b.CreateFMul(y, fr), z);
  LV fe = b.CreateSIToFP(e, b.getFloatTy());
  y = b.CreateFAdd(y, b.CreateFMul(fe, f(b, C::kLn2Lo)));
  y = b.CreateFSub(y, b.CreateFMul(f(b, 0.5f), z));
  LV r = b.CreateFAdd(fr, y);
  r = b.CreateFAdd(r, b.CreateFMul(fe, f(b, C::kLn2Hi)));
  LV inf = f(b, std::numeric_limits<float>::infinity());
  LV out = b.CreateSelect(b.CreateFCmpOEQ(x, inf), x, r);
  out = b.CreateSelect(b.CreateFCmpOEQ(x, f(b, 0.0f)), f(b, -std::numeric_limits<float>::infinity()), out);
  out = b.CreateSelect(b.CreateFCmpOLT(x, f(b, 0.0f)), f(b, std::numeric_limits<float>::quiet_NaN()), out);
  return b.CreateSelect(b.CreateFCmpUNO(x, x), x, out);
}

LV emitTanhF32(llvm::IRBuilder<> &b, LV x) {
  LV a = b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x);
  LV e = emitExpF32(b, b.CreateFAdd(a, a));
  LV big = b.CreateBinaryIntrinsic(
      llvm::Intrinsic::copysign,
      b.CreateFSub(f(b, 1.0f), b.CreateFDiv(f(b, 2.0f), b.CreateFAdd(e, f(b, 1.0f)))), x);
  LV z = b.CreateFMul(x, x);
  LV p = horner(b, C::kTanhR, 5, z);
  LV small = b.CreateFAdd(b.CreateFMul(b.CreateFMul(p, z), x), x);
  LV y = b.CreateSelect(b.CreateFCmpOGE(a, f(b, C::kTanhSmall)), big, small);
  return b.CreateSelect(b.CreateFCmpOEQ(x, f(b, 0.0f)), x, y);
}

LV emitPowF32Fast(llvm::IRBuilder<> &b, LV a, LV x) {
  LV inf = f(b, std::numeric_limits<float>::infinity());
  LV aOk = b.CreateAnd(b.CreateFCmpOGT(a, f(b, 0.0f)), b.CreateFCmpOLT(a, inf));
  return b.CreateAnd(aOk, b.CreateFCmpOLT(b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x), inf));
}

LV emitPowF32Core(llvm::IRBuilder<> &b, LV a, LV x) {
  using P = math::PowConsts;
  LV bits = b.CreateBitCast(b.CreateFPExt(a, b.getDoubleTy()), b.getInt64Ty());
  LV e = b.CreateSub(b.CreateAnd(b.CreateLShr(bits, i64(b, 52)), i64(b, 0x7ff)), i64(b, 1023));
  LV m = b.CreateBitCast(b.CreateOr(b.CreateAnd(bits, i64(b, 0x000fffffffffffffll)), i64(b, 0x3ff0000000000000ll)),
                         b.getDoubleTy());
  LV big = b.CreateFCmpOGT(m, d(b, P::kSqrt2));
  m = b.CreateSelect(big, b.CreateFMul(m, d(b, 0.5)), m);
  e = b.CreateSelect(big, b.CreateAdd(e, i64(b, 1)), e);
  LV s = b.CreateFDiv(b.CreateFSub(m, d(b, 1.0)), b.CreateFAdd(m, d(b, 1.0)));
  LV s2 = b.CreateFMul(s, s);
  LV p = hornerD(b, P::kAtanh, 10, s2);
  LV lnx = b.CreateFAdd(b.CreateFMul(b.CreateSIToFP(e, b.getDoubleTy()), d(b, P::kLn2)),
                        b.CreateFMul(b.CreateFAdd(s, s), p));
  LV t = b.CreateFMul(b.CreateFPExt(x, b.getDoubleTy()), lnx);
  t = b.CreateSelect(b.CreateFCmpOGT(t, d(b, P::kClamp)), d(b, P::kClamp), t);
  t = b.CreateSelect(b.CreateFCmpOLT(t, d(b, -P::kClamp)), d(b, -P::kClamp), t);
  LV n = b.CreateUnaryIntrinsic(llvm::Intrinsic::floor, b.CreateFAdd(b.CreateFMul(t, d(b, P::kLog2e)), d(b, 0.5)));
  LV r = b.CreateFSub(t, b.CreateFMul(n, d(b, P::kLn2Hi)));
  r = b.CreateFSub(r, b.CreateFMul(n, d(b, P::kLn2Lo)));
  LV q = hornerD(b, P::kExpTaylor, 13, r);
  LV k = b.CreateFPToSI(n, b.getInt64Ty());
  LV scale = b.CreateBitCast(b.CreateShl(b.CreateAdd(k, i64(b, 1023)), i64(b, 52)), b.getDoubleTy());
  return b.CreateFPTrunc(b.CreateFMul(q, scale), b.getFloatTy());
}

} // namespace ptl::backend
