//===- tests/unit/JITTests.cpp - The native backend against the interpreter --===//
//
// Differential tests: each program runs under the reference interpreter and
// under the JIT (backend::Engine), and the results must be bit-identical
// (every op here has the interpreter's operation order). The one allowance:
// any NaN equals any NaN, since IEEE leaves NaN payloads and signs
// unspecified and LLVM may commute the operands of an fadd of two NaNs.
// Programs are built with ir::Builder (one op family at a time, inputs with
// -0, infinities, NaNs and ties) or compiled from PTL source through the
// driver's default pipeline (ir::defaultPipeline), gradients included.
//
//===----------------------------------------------------------------------===//
#include "backend/CodeGen.h"
#include "backend/Engine.h"
#include "backend/JIT.h"
#include "backend/NativeRuntime.h"
#include "frontend/Compiler.h"
#include "ir/Builder.h"
#include "ir/IR.h"
#include "ir/interp/Interpreter.h"
#include "runtime/Errors.h"
#include "runtime/Gemm.h"
#include "runtime/Parallel.h"

#include "TensorTestSupport.h"

#include "LineHook.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <sstream>

using namespace ptl;
using namespace ptl::ir;

namespace {

using ptl::testing::make;
using ptl::testing::ty;
const DType F32 = DType::F32, F64 = DType::F64, I32 = DType::I32, BOOL = DType::Bool;
const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

/// Whether two tensors are bit-identical (any NaN equal to any NaN).
bool identical(const Tensor &a, const Tensor &b, std::string &diff) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) {
    diff = typeString(a.dtype(), a.shape()) + " vs " + typeString(b.dtype(), b.shape());
    return false;
  }
  size_t es = dtypeSize(a.dtype());
  const char *pa = static_cast<const char *>(a.raw()), *pb = static_cast<const char *>(b.raw());
  for (int64_t i = 0; i < a.numel(); ++i) {
    if (std::memcmp(pa + i * es, pb + i * es, es) == 0) continue;
    double x = a.getDouble(i), y = b.getDouble(i);
    if (std::isnan(x) && std::isnan(y)) continue;
    std::ostringstream os;
    os.precision(17);
    os << "element " << i << ": interpreter " << x << ", jit " << y;
    diff = os.str();
    return false;
  }
  return true;
}

/// Runs `fn` under both engines and requires identical results; returns them.
std::vector<Tensor> differential(const Module &m, const std::string &fn, const std::vector<Tensor> &args,
                                 std::string *printedJit = nullptr, std::string *printedInterp = nullptr) {
  std::ostringstream interpOut, jitOut;
  InterpOptions io;
  io.out = &interpOut;
  Interpreter interp(m, io);
  std::vector<Tensor> want = interp.call(fn, args);

  backend::EngineOptions eo;
  eo.out = &jitOut;
  std::string error;
  auto engine = backend::Engine::create(m, eo, error);
  INFO(error);
  REQUIRE(engine);
  INFO(engine->whyNotCompiled(fn));
  REQUIRE(engine->isCompiled(fn));
  std::vector<Tensor> got = engine->call(fn, args);
  REQUIRE(got.size() == want.size());
  for (size_t r = 0; r < got.size(); ++r) {
    std::string diff;
    INFO("result " << r << " of " << fn << ": " << formatTensor(want[r]) << " vs " << formatTensor(got[r]));
    CHECK(identical(want[r], got[r], diff));
    if (!diff.empty()) FAIL_CHECK(diff);
  }
  CHECK(jitOut.str() == interpOut.str());
  if (printedJit) *printedJit = jitOut.str();
  if (printedInterp) *printedInterp = interpOut.str();
  return got;
}

/// A module with one function under construction.
struct TestFn {
  Module m;
  Function *f;
  Builder b;
  explicit TestFn(std::vector<Type> params, const std::string &name = "f") {
    m.files().push_back("test.ptl");
    f = m.addFunction(std::make_unique<Function>(name, params, std::vector<Type>{}));
    b.setRegion(&f->body());
  }
  Value *arg(unsigned i) { return f->body().argument(i); }
  void ret(std::vector<Value *> vs) {
    std::vector<Type> rt;
    for (Value *v : vs) rt.push_back(v->type());
    f->setResultTypes(rt);
    b.create(OpKind::Return, vs, {});
  }
};

/// Compiles PTL source through the driver's default pipeline (ir::defaultPipeline).
std::unique_ptr<Module> compilePTL(const std::string &src) {
  Compilation c(nullptr);
  c.diagnostics().setQuiet(true);
  std::unique_ptr<Module> m;
  if (c.loadSource("test.ptl", src)) m = c.elaborate({});
  if (!m) {
    for (const ReportedDiagnostic &d : c.diagnostics().all()) FAIL_CHECK(d.loc.line << ":" << d.loc.col << ": " << d.message);
    return nullptr;
  }
  std::string error;
  INFO(error);
  REQUIRE(c.runDefaultPipeline(*m, error));
  return m;
}

/// Float inputs with the awkward cases: signed zeros, infinities, NaN, ties, tiny and huge.
std::vector<double> awkward() {
  return {0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.75, 1e-30, -1e-40, 88.5, -104.0, 1e30, kInf, -kInf, kNaN, 0.1,
          -0.7, 2.0, 10.0, -3.0};
}


/// The checkpointed-loop program of the next test: `loss` runs T = 23 steps
/// whose adjoints accumulate into w and b, read from outside the loop (the
/// sums a segmented reverse sweep could reorder); `outer` nests the loop in
/// another one; `g2` is a second-order gradient through it.
std::string checkpointProgram(const std::string &attr) {
  return R"(
fn loss(w: f32[8], b: f32[8]) -> f32 {
  var h = w * 0.5
  var total = 0.0
  )" + attr + R"(
  for t in 0..23 {
    h = tanh(h * 0.9 + w * 0.3 + b * f32(t))
    total += sum(h * w) + 0.01 * sum(b * b)
  }
  return total + sum(w * b)
}
fn gw(w: f32[8], b: f32[8]) -> f32[8] = grad(loss(w, b), w)
fn gb(w: f32[8], b: f32[8]) -> f32[8] = grad(loss(w, b), b)
fn outer(w: f32[8], b: f32[8]) -> f32 {
  var s = 0.0
  var v = b
  for r in 0..3 {
    var h = v
    )" + attr + R"(
    for t in 0..23 {
      h = sin(h * w + v * 0.1)
      s += sum(h * b)
    }
    v = v + h * 0.1
  }
  return s
}
fn gouter(w: f32[8], b: f32[8]) -> f32[8] = grad(outer(w, b), w)
fn g2(w: f32[8], b: f32[8]) -> f32[8] = grad(sum(grad(loss(w, b), w) * b), w)
)";
}

} // namespace

TEST_CASE("JIT: the wrapper adds, looks up and removes a module", "[jit]") {
  std::string error;
  std::unique_ptr<backend::JIT> jit = backend::JIT::create(error);
  INFO(error);
  REQUIRE(jit);
  CHECK(!jit->cpuName().empty());
  void *missing = jit->lookup("no_such_symbol_anywhere", error);
  CHECK(missing == nullptr);
  CHECK(!error.empty());
}

TEST_CASE("JIT: every unary op, f32 and f64, bit for bit", "[jit]") {
  for (DType dt : {F32, F64}) {
    for (OpKind k : {OpKind::Neg, OpKind::Exp, OpKind::Log, OpKind::Log1p, OpKind::Expm1, OpKind::Sqrt,
                     OpKind::Tanh, OpKind::Sigmoid, OpKind::Relu, OpKind::Softplus, OpKind::Abs, OpKind::Sign,
                     OpKind::Sin, OpKind::Cos, OpKind::Floor, OpKind::Round}) {
      INFO(mnemonic(k) << " on " << dtypeName(dt));
      std::vector<double> v = awkward();
      TestFn t({ty(dt, {(int64_t)v.size()})});
      t.ret({t.b.make(k, {t.arg(0)})});
      differential(t.m, "f", {make(dt, {(int64_t)v.size()}, v)});
    }
  }
}

TEST_CASE("JIT: PTL's own f32 exp, log and tanh give the interpreter's bits on a sweep of all floats", "[jit]") {
  // Native code inlines runtime/Math.h's algorithms (backend/MathEmitter.cpp)
  // and vectorises them; the interpreter calls runtime/Math.cpp. One float
  // in every 4099 bit patterns (about a million: every exponent, both signs,
  // subnormals, infinities, NaNs) through each op that uses them.
  std::vector<double> v;
  for (uint64_t u = 0; u < (uint64_t(1) << 32); u += 4099) {
    uint32_t bits = (uint32_t)u;
    float x;
    std::memcpy(&x, &bits, sizeof x);
    v.push_back((double)x);
  }
  for (OpKind k : {OpKind::Exp, OpKind::Log, OpKind::Tanh, OpKind::Sigmoid, OpKind::Softplus}) {
    INFO(mnemonic(k));
    TestFn t({ty(F32, {(int64_t)v.size()})});
    t.ret({t.b.make(k, {t.arg(0)})});
    differential(t.m, "f", {make(F32, {(int64_t)v.size()}, v)});
  }
}

TEST_CASE("JIT: f32 pow (fast path and powf fix-up) gives the interpreter's bits", "[jit]") {
  // a: a sweep of float bit patterns (both signs, zeros, subnormals,
  // infinities, NaNs); b: exponents cycling through awkward values, then a
  // broadcast scalar exponent as in x ^ p.
  std::vector<double> a, b;
  const double exps[] = {0.5, -1.5, 2.0, 3.0, 0.7, -0.0, 0.0, 1e10, -1e10, kInf, -kInf, kNaN, 1.0 / 3, 7.0, -2.0, 1.0};
  size_t i = 0;
  for (uint64_t u = 0; u < (uint64_t(1) << 32); u += 16411, ++i) {
    uint32_t bits = (uint32_t)u;
    float x;
    std::memcpy(&x, &bits, sizeof x);
    a.push_back((double)x);
    b.push_back(exps[i % (sizeof exps / sizeof exps[0])]);
  }
  int64_t n = (int64_t)a.size();
  TestFn t({ty(F32, {n}), ty(F32, {n}), ty(F32, {})});
  t.ret({t.b.make(OpKind::Pow, {t.arg(0), t.arg(1)}), t.b.make(OpKind::Pow, {t.arg(0), t.arg(2)})});
  for (double p : {0.7, -2.5, 0.0, kNaN})
    differential(t.m, "f", {make(F32, {n}, a), make(F32, {n}, b), Tensor::scalar(F32, p)});
}

TEST_CASE("JIT: integer and bool elementwise ops", "[jit]") {
  std::vector<double> a = {0, 1, -1, 7, -7, 2147483647, -2147483648.0, 3, -3, 100};
  std::vector<double> b = {1, 2, -2, 3, 3, 2, -1, -4, 5, 7};
  for (OpKind k : {OpKind::Neg, OpKind::Abs, OpKind::Sign}) {
    INFO(mnemonic(k));
    TestFn t({ty(I32, {10})});
    t.ret({t.b.make(k, {t.arg(0)})});
    differential(t.m, "f", {make(I32, {10}, a)});
  }
  for (OpKind k : {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div, OpKind::Mod, OpKind::Pow, OpKind::Max,
                   OpKind::Min, OpKind::Eq, OpKind::Ne, OpKind::Lt, OpKind::Le, OpKind::Gt, OpKind::Ge}) {
    INFO(mnemonic(k));
    TestFn t({ty(I32, {10}), ty(I32, {10})});
    t.ret({t.b.make(k, {t.arg(0), t.arg(1)})});
    differential(t.m, "f", {make(I32, {10}, a), make(I32, {10}, b)});
  }
  std::vector<double> p = {0, 0, 1, 1}, q = {0, 1, 0, 1};
  for (OpKind k : {OpKind::And, OpKind::Or, OpKind::Eq, OpKind::Ne}) {
    INFO(mnemonic(k));
    TestFn t({ty(BOOL, {4}), ty(BOOL, {4})});
    t.ret({t.b.make(k, {t.arg(0), t.arg(1)}), t.b.make(OpKind::Not, {t.arg(0)})});
    differential(t.m, "f", {make(BOOL, {4}, p), make(BOOL, {4}, q)});
  }
}

TEST_CASE("JIT: float binary ops and comparisons with NaN, zeros and infinities", "[jit]") {
  std::vector<double> v = awkward();
  int64_t n = (int64_t)v.size();
  std::vector<double> all; // every pair (a, b)
  for (double x : v) all.push_back(x);
  for (DType dt : {F32, F64}) {
    for (OpKind k : {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div, OpKind::Mod, OpKind::Pow, OpKind::Max,
                     OpKind::Min, OpKind::Eq, OpKind::Ne, OpKind::Lt, OpKind::Le, OpKind::Gt, OpKind::Ge}) {
      INFO(mnemonic(k) << " on " << dtypeName(dt));
      // [n, 1] op [n]: every pair, through broadcasting
      TestFn t({ty(dt, {n, 1}), ty(dt, {n})});
      t.ret({t.b.make(k, {t.arg(0), t.arg(1)})});
      differential(t.m, "f", {make(dt, {n, 1}, v), make(dt, {n}, v)});
    }
  }
}

TEST_CASE("JIT: convert between every pair of dtypes", "[jit]") {
  std::vector<double> v = {0.0, -0.0, 1.5, -1.5, 2.7, -2.7, 3e9, -3e9, 2147483647.0, -2147483648.0, kNaN, kInf,
                           -kInf, 1.0, 255.0, 256.0};
  for (DType from : {F32, F64, I32, BOOL}) {
    std::vector<double> in;
    for (double x : v) {
      if (from == I32) in.push_back(std::isfinite(x) && std::fabs(x) < 2e9 ? std::trunc(x) : 7);
      else if (from == BOOL) in.push_back(x != 0 && !std::isnan(x) ? 1 : 0);
      else in.push_back(x);
    }
    for (DType to : {F32, F64, I32, BOOL}) {
      INFO(dtypeName(from) << " -> " << dtypeName(to));
      TestFn t({ty(from, {(int64_t)in.size()})});
      t.ret({t.b.create(OpKind::Convert, {t.arg(0)}, {ty(to, {(int64_t)in.size()})})->result(0)});
      differential(t.m, "f", {make(from, {(int64_t)in.size()}, in)});
    }
  }
}

TEST_CASE("JIT: constants, broadcast, reshape, transpose, slice, select, clamp", "[jit]") {
  TestFn t({ty(F32, {2, 3}), ty(F32, {3}), ty(BOOL, {2, 1})});
  Value *x = t.arg(0), *r = t.arg(1), *c = t.arg(2);
  Value *k = t.b.create(OpKind::Constant, {}, {ty(F32, {2, 3})}, {{"value", Dense{{1, -2, 0.1, 4, 5.5, -6}}}})->result(0);
  Value *splat = t.b.constant(ty(F32, {2, 3}), 0.3);
  Value *bc = t.b.create(OpKind::Broadcast, {r}, {ty(F32, {4, 2, 3})})->result(0);
  Value *rs = t.b.create(OpKind::Reshape, {x}, {ty(F32, {3, 2})})->result(0);
  Value *tr = t.b.make(OpKind::Transpose, {bc}, {{"perm", std::vector<int64_t>{2, 0, 1}}});
  Value *sl = t.b.make(OpKind::Slice, {tr}, {{"starts", std::vector<int64_t>{1, 1, 0}},
                                            {"ends", std::vector<int64_t>{3, 4, 2}}});
  Value *sel = t.b.make(OpKind::Select, {c, x, r});
  Value *cl = t.b.make(OpKind::Clamp, {t.b.make(OpKind::Mul, {x, k}), t.b.scalar(F32, -1.0), r});
  Value *sg = t.b.make(OpKind::StopGrad, {t.b.make(OpKind::Add, {splat, x})});
  t.ret({k, bc, rs, tr, sl, sel, cl, sg});
  differential(t.m, "f",
               {make(F32, {2, 3}, {1.5, -2, kNaN, 0.25, -0.0, 9}), make(F32, {3}, {0.5, 1, kNaN}),
                make(BOOL, {2, 1}, {1, 0})});
}

TEST_CASE("JIT: a broadcast-heavy expression", "[jit]") {
  // y = tanh(a[4,1,3] * b[5,1] + c[3]) / (1 + exp(-a)) - max(b, 0.2) (rank-3 result)
  TestFn t({ty(F64, {4, 1, 3}), ty(F64, {5, 1}), ty(F64, {3})});
  Builder &b = t.b;
  Value *a = t.arg(0), *bb = t.arg(1), *c = t.arg(2);
  Value *u = b.make(OpKind::Tanh, {b.make(OpKind::Add, {b.make(OpKind::Mul, {a, bb}), c})});
  Value *v = b.make(OpKind::Add, {b.scalar(F64, 1.0), b.make(OpKind::Exp, {b.make(OpKind::Neg, {a})})});
  Value *y = b.make(OpKind::Sub, {b.make(OpKind::Div, {u, v}), b.make(OpKind::Max, {bb, b.scalar(F64, 0.2)})});
  t.ret({y});
  std::vector<double> av, bv, cv;
  for (int i = 0; i < 12; ++i) av.push_back(std::sin(i * 1.3) * 2);
  for (int i = 0; i < 5; ++i) bv.push_back(std::cos(i * 0.7));
  for (int i = 0; i < 3; ++i) cv.push_back(0.1 * i - 0.2);
  auto got = differential(t.m, "f", {make(F64, {4, 1, 3}, av), make(F64, {5, 1}, bv), make(F64, {3}, cv)});
  CHECK(got[0].shape() == Shape{4, 5, 3});
}

TEST_CASE("JIT: reductions over every axis set, with keepdims", "[jit]") {
  std::vector<double> v;
  for (int i = 0; i < 24; ++i) v.push_back(std::sin(i * 0.9) * (i % 5 + 1) * 1.37);
  v[7] = -0.0;
  for (DType dt : {F32, F64, I32}) {
    std::vector<double> in = v;
    if (dt == I32)
      for (double &x : in) x = std::trunc(x * 10);
    for (OpKind k : {OpKind::ReduceSum, OpKind::ReduceMean, OpKind::ReduceMax, OpKind::ReduceMin}) {
      if (k == OpKind::ReduceMean && dt == I32) continue; // mean is for floats
      for (std::vector<int64_t> axes : {std::vector<int64_t>{}, {0}, {1}, {2}, {0, 2}, {1, 2}, {0, 1, 2}}) {
        for (bool keep : {false, true}) {
          INFO(mnemonic(k) << " " << dtypeName(dt) << " axes " << shapeString(axes) << " keepdims " << keep);
          TestFn t({ty(dt, {2, 3, 4})});
          t.ret({t.b.make(k, {t.arg(0)}, {{"axes", axes}, {"keepdims", keep}})});
          differential(t.m, "f", {make(dt, {2, 3, 4}, in)});
        }
      }
    }
  }
  // NaN propagation in max/min
  TestFn t({ty(F32, {2, 3})});
  t.ret({t.b.make(OpKind::ReduceMax, {t.arg(0)}, {{"axes", std::vector<int64_t>{1}}}),
         t.b.make(OpKind::ReduceMin, {t.arg(0)}, {{"axes", std::vector<int64_t>{0}}})});
  differential(t.m, "f", {make(F32, {2, 3}, {1, kNaN, 3, -0.0, 0.0, -kInf})});
}

TEST_CASE("JIT: transposes with a strided inner axis (vector gathers and their tails)", "[jit]") {
  struct Case {
    Shape x;
    std::vector<int64_t> perm;
  };
  for (DType dt : {F32, F64, I32, BOOL}) {
    for (const Case &c : {Case{{37, 45}, {1, 0}}, Case{{3, 20, 17}, {0, 2, 1}}, Case{{18, 5, 33}, {2, 1, 0}},
                          Case{{16, 16}, {1, 0}}}) {
      INFO(dtypeName(dt) << " " << shapeString(c.x) << " perm " << shapeString(c.perm));
      TestFn t({ty(dt, c.x)});
      t.ret({t.b.make(OpKind::Transpose, {t.arg(0)}, {{"perm", c.perm}})});
      std::vector<double> v;
      for (int64_t i = 0; i < numElements(c.x); ++i) v.push_back(dt == BOOL ? (double)(i % 3 == 0) : (double)i);
      differential(t.m, "f", {make(dt, c.x, v)});
    }
  }
}

TEST_CASE("JIT: matmul reading transposed operands in place (transpose_a, transpose_b)", "[jit]") {
  // Inline sizes (both flags, i32 too) and BLAS sizes ([40, 64] @ [64, 50]):
  // both engines agree, and below BLAS size the product equals the one of
  // explicit transposes bit for bit (the same k order).
  struct Form {
    Shape a, b; // the matrices multiplied
  };
  for (DType dt : {F32, F64, I32}) {
    for (Form f : {Form{{3, 5}, {5, 4}}, Form{{2, 3, 5}, {5, 17}}, Form{{40, 64}, {64, 50}}}) {
      for (bool ta : {false, true}) {
        for (bool tb : {false, true}) {
          INFO(dtypeName(dt) << " " << shapeString(f.a) << " @ " << shapeString(f.b) << " ta " << ta << " tb " << tb);
          Shape sa = f.a, sb = f.b; // as stored
          if (ta) std::swap(sa[sa.size() - 1], sa[sa.size() - 2]);
          if (tb) std::swap(sb[sb.size() - 1], sb[sb.size() - 2]);
          auto perm = [](size_t r) {
            std::vector<int64_t> p;
            for (size_t i = 0; i < r; ++i) p.push_back((int64_t)i);
            std::swap(p[r - 1], p[r - 2]);
            return p;
          };
          TestFn t({ty(dt, sa), ty(dt, sb)});
          Value *folded = t.b.make(OpKind::MatMul, {t.arg(0), t.arg(1)}, {{"transpose_a", ta}, {"transpose_b", tb}});
          Value *a = ta ? t.b.make(OpKind::Transpose, {t.arg(0)}, {{"perm", perm(sa.size())}}) : t.arg(0);
          Value *b = tb ? t.b.make(OpKind::Transpose, {t.arg(1)}, {{"perm", perm(sb.size())}}) : t.arg(1);
          t.ret({folded, t.b.make(OpKind::MatMul, {a, b})});
          std::vector<double> av, bv;
          for (int64_t i = 0; i < numElements(sa); ++i) av.push_back(std::trunc(std::sin(i * 0.37) * 9));
          for (int64_t i = 0; i < numElements(sb); ++i) bv.push_back(std::trunc(std::cos(i * 0.91) * 9) / 4);
          if (dt == I32)
            for (double &x : bv) x = std::trunc(x);
          std::vector<Tensor> r = differential(t.m, "f", {make(dt, sa, av), make(dt, sb, bv)});
          bool blas = dt != I32 && gemmSizeUsesBlas(f.a[f.a.size() - 2], f.b.back(), f.a.back());
          std::string diff;
          if (!blas) CHECK(identical(r[0], r[1], diff));
          INFO(diff);
        }
      }
    }
  }
}

TEST_CASE("JIT: long sums (partial-sum lanes) and sums along leading axes", "[jit]") {
  // Values whose sum depends on the order (1e8 and 1 in turn), -0, and
  // lengths that leave 0, 5 and 15 elements after the full vectors of lanes.
  std::vector<double> v;
  for (int i = 0; i < 2 * 3 * 47; ++i) v.push_back(i % 3 == 0 ? 1e8 * ((i / 3) % 2 ? 1 : -1) : 1.0 + i * 1e-3);
  v[5] = -0.0;
  for (DType dt : {F32, F64, I32}) {
    std::vector<double> in = v;
    if (dt == I32)
      for (double &x : in) x = std::fmod(std::trunc(x), 1000.0);
    for (OpKind k : {OpKind::ReduceSum, OpKind::ReduceMean}) {
      if (k == OpKind::ReduceMean && dt == I32) continue;
      for (std::vector<int64_t> axes : {std::vector<int64_t>{}, {2}, {1, 2}, {0}, {0, 1}, {1}}) {
        INFO(mnemonic(k) << " " << dtypeName(dt) << " axes " << shapeString(axes));
        TestFn t({ty(dt, {2, 3, 47})});
        t.ret({t.b.make(k, {t.arg(0)}, {{"axes", axes}})});
        differential(t.m, "f", {make(dt, {2, 3, 47}, in)});
      }
    }
  }
  for (int64_t n : {32, 37, 64, 79, 1000}) {
    INFO("n = " << n);
    TestFn t({ty(F32, {n})});
    t.ret({t.b.make(OpKind::ReduceSum, {t.arg(0)})});
    std::vector<double> x;
    for (int64_t i = 0; i < n; ++i) x.push_back(i % 2 ? 1e8 : 0.25 * (double)i);
    std::vector<Tensor> got = differential(t.m, "f", {make(F32, {n}, x)});
    // laneSum's order, computed here independently: 16 running sums, halved pairwise
    float lanes[16] = {};
    for (int64_t i = 0; i < n; ++i) lanes[i % 16] += (float)x[(size_t)i];
    for (int w = 8; w >= 1; w /= 2)
      for (int j = 0; j < w; ++j) lanes[j] += lanes[j + w];
    CHECK(got[0].getDouble(0) == (double)lanes[0]);
  }
}

TEST_CASE("JIT: matmul in every form", "[jit]") {
  auto data = [](int64_t n, double s) {
    std::vector<double> v;
    for (int64_t i = 0; i < n; ++i) v.push_back(std::sin((double)i * s) * 1.7 + 0.01 * (double)i);
    return v;
  };
  struct Form {
    Shape a, b;
  };
  for (DType dt : {F32, F64, I32}) {
    for (Form f : {Form{{3, 5}, {5, 4}}, Form{{5}, {5, 4}}, Form{{3, 5}, {5}}, Form{{5}, {5}},
                   Form{{2, 3, 5}, {5, 4}}, Form{{2, 1, 3, 5}, {3, 5, 2}}, Form{{17, 33}, {33, 9}}}) {
      INFO(dtypeName(dt) << " " << shapeString(f.a) << " @ " << shapeString(f.b));
      TestFn t({ty(dt, f.a), ty(dt, f.b)});
      t.ret({t.b.make(OpKind::MatMul, {t.arg(0), t.arg(1)})});
      std::vector<double> av = data(numElements(f.a), 0.37), bv = data(numElements(f.b), 0.91);
      if (dt == I32) {
        for (double &x : av) x = std::trunc(x * 5);
        for (double &x : bv) x = std::trunc(x * 5);
      }
      differential(t.m, "f", {make(dt, f.a, av), make(dt, f.b, bv)});
    }
  }
}

TEST_CASE("JIT: for with carried and stacked values, if, call, print (from PTL)", "[jit]") {
  auto m = compilePTL(R"(
fn step(h: f32[3], x: f32) -> f32[3] = tanh(h * 0.9 + x)
fn run(xs: f32[6]) -> (f32[3], f32) {
  var h = [0.1, -0.2, 0.3]
  var s = 0.0
  var a = 1.0
  var b = 2.0
  for t in 0..6 {
    h = step(h, xs[t])
    if xs[t] > 0.0 { s = s + sum(h) } else { s = s - 1.0 }
    let tmp = a
    a = b
    b = tmp
  }
  print("h =", h, "s:", s, a, b)
  return (h, s + a - b)
}
)");
  REQUIRE(m);
  std::string printed;
  differential(*m, "run", {make(F32, {6}, {0.5, -1, 2, 0.25, -0.125, 3})}, &printed);
  CHECK(printed.find("h = [") == 0);
}

TEST_CASE("JIT: a gradient of straight-line code (autodiff pass)", "[jit]") {
  auto m = compilePTL(R"(
fn loss(w: f64[4], x: f64[3, 4]) -> f64 =
  sum(exp(w) * tanh(w) + sigmoid(w) / (1.0 + w * w)) + mean(softplus(x @ w)) + max(w) * sqrt(sum(w * w))
fn g(w: f64[4], x: f64[3, 4]) -> f64[4] = grad(loss(w, x), w)
)");
  REQUIRE(m);
  std::vector<double> x;
  for (int i = 0; i < 12; ++i) x.push_back(std::cos(i * 0.5));
  differential(*m, "g", {make(F64, {4}, {0.3, -0.7, 1.1, 0.45}), make(F64, {3, 4}, x)});
  differential(*m, "loss", {make(F64, {4}, {0.3, -0.7, 1.1, 0.45}), make(F64, {3, 4}, x)});
}

TEST_CASE("JIT: a gradient through a for loop with a tape", "[jit]") {
  auto m = compilePTL(R"(
fn loss(w: f32[4]) -> f32 {
  var x = w
  var total = 0.0
  for t in 0..7 {
    x = tanh(x * w + 0.1 * f32(t))
    total += sum(x * x)
  }
  return total
}
fn g(w: f32[4]) -> f32[4] = grad(loss(w), w)
)");
  REQUIRE(m);
  // The tape: the reverse loop reads stacked forward values.
  bool stacked = false;
  walkOps(m->lookup("g")->body(), [&](Op &op) {
    if (op.kind() == OpKind::For && op.intAttr("stacked", 0) > 0) stacked = true;
  });
  CHECK(stacked);
  differential(*m, "g", {make(F32, {4}, {0.3, -0.7, 1.1, 0.45})});
}

TEST_CASE("JIT: @checkpoint(every = k) gives the plain loop's gradients bit for bit, both engines", "[jit][checkpoint]") {
  auto plain = compilePTL(checkpointProgram(""));
  REQUIRE(plain);
  std::vector<double> w, b;
  for (int i = 0; i < 8; ++i) {
    w.push_back(0.3 + 0.7 * std::sin(i * 1.3));
    b.push_back(0.2 * std::cos(i * 0.7) - 0.05);
  }
  std::vector<Tensor> args{make(F32, {8}, w), make(F32, {8}, b)};
  for (const char *fn : {"gw", "gb", "gouter", "g2"}) {
    std::vector<Tensor> want = differential(*plain, fn, args);
    for (int k : {1, 2, 3, 7, 23}) {
      auto checked = compilePTL(checkpointProgram("@checkpoint(every = " + std::to_string(k) + ")"));
      REQUIRE(checked);
      // k < T strip-mines the loop into segments recomputed on the way back.
      bool segmented = false;
      walkOps(checked->lookup(fn)->body(), [&](Op &op) {
        if (op.kind() == OpKind::For && op.hasAttr("checkpoint_segments")) segmented = true;
      });
      CHECK(segmented == (k < 23));
      INFO(fn << " with @checkpoint(every = " << k << ")");
      std::vector<Tensor> got = differential(*checked, fn, args); // interpreter == JIT
      REQUIRE(got.size() == 1);
      if (std::string(fn) == "g2") {
        // Second order differentiates the recomputing reverse sweep itself, a
        // different computation from the plain loop's reverse sweep: equal
        // up to rounding only (docs/language.md, "Differentiation").
        for (int64_t i = 0; i < 8; ++i) CHECK(got[0].getDouble(i) == Approx(want[0].getDouble(i)).epsilon(1e-5));
        continue;
      }
      std::string diff;
      // == the plain loop, bit for bit ("interpreter" in a diff: the plain loop; "jit": this one).
      CHECK(identical(want[0], got[0], diff));
      if (!diff.empty()) FAIL_CHECK(diff);
    }
  }
}

TEST_CASE("JIT: an index out of range is a RuntimeFault at its line, and the engine stays usable", "[jit]") {
  auto m = compilePTL(R"(
fn pick(xs: f32[5], i: i32) -> f32 {
  let y = xs * 2.0
  return y[i] + 1.0
}
)");
  REQUIRE(m);
  std::string error;
  auto engine = backend::Engine::create(*m, {}, error);
  REQUIRE(engine);
  REQUIRE(engine->isCompiled("pick"));
  Tensor xs = make(F32, {5}, {1, 2, 3, 4, 5});
  for (double bad : {5.0, -1.0, 1e6}) {
    try {
      engine->call("pick", {xs, Tensor::scalar(I32, bad)});
      FAIL("no fault for index " << bad);
    } catch (const RuntimeFault &f) {
      CHECK(std::string(f.what()) ==
            "index " + std::to_string((int64_t)bad) + " out of range for axis 0 of size 5");
      CHECK(f.loc.file == "test.ptl");
      CHECK(f.loc.line == 4);
    }
    // The same fault, message and line as the interpreter.
    Interpreter interp(*m, {});
    try {
      interp.call("pick", {xs, Tensor::scalar(I32, bad)});
      FAIL("the interpreter did not fault");
    } catch (const RuntimeFault &f) {
      CHECK(f.loc.line == 4);
    }
    std::vector<Tensor> ok = engine->call("pick", {xs, Tensor::scalar(I32, 3)});
    CHECK(ok[0].getDouble(0) == 9.0);
  }
  // Integer division by zero, inside a loop, in a callee
  auto d = compilePTL(R"(
fn q(a: i32, b: i32) -> i32 = a / b
fn f(n: i32) -> i32 {
  var s = 0
  for i in 0..4 {
    s += q(12, n - i)
  }
  return s
}
)");
  REQUIRE(d);
  auto e2 = backend::Engine::create(*d, {}, error);
  REQUIRE(e2);
  REQUIRE(e2->isCompiled("f"));
  CHECK_THROWS_WITH(e2->call("f", {Tensor::scalar(I32, 2)}), "integer division by zero");
  CHECK(e2->call("f", {Tensor::scalar(I32, 9)})[0].getDouble(0) == 12 / 9 + 12 / 8 + 12 / 7 + 12 / 6);
  differential(*d, "f", {Tensor::scalar(I32, 9)});
}

TEST_CASE("JIT: a big program compiles in parts, a map body and each product kernel a unit of its own", "[jit]") {
  // Second-order MAML: the differentiated meta-batch body is most of the
  // program, so it must not be tied to the function it is outlined from.
  auto m = compilePTL(R"(import "std/nn"
fn adapt(m: MLP, x: f32[K, 1], y: f32[K, 1]) -> MLP {
  var fast = m
  for i in 0..3 { fast -= 0.01 * grad(mse(fast.apply(x), y), fast) }
  return fast
}
fn meta_loss(m: MLP, xs: f32[M, K, 1], ys: f32[M, K, 1], xq: f32[M, Q, 1], yq: f32[M, Q, 1]) -> f32 =
  mean(map i in 0..M { mse(adapt(m, xs[i], ys[i]).apply(xq[i]), yq[i]) })
fn meta_step() -> (f32, MLP) {
  let xs = -5.0 + 10.0 * rand[4, 10, 1](3)
  let xq = -5.0 + 10.0 * rand[4, 10, 1](4)
  var net = MLP(seed = 0)
  var opt = adam_init(net)
  let (l, g) = value_and_grad(meta_loss(net, xs, sin(xs), xq, sin(xq)), net)
  (opt, net) = adam_step(opt, net, g, lr = 1e-3)
  return (l, net)
}
)");
  REQUIRE(m);
  std::vector<Tensor> want = Interpreter(*m, InterpOptions{}).call("meta_step", {});
  for (int threads : {1, 2, 3}) {
    backend::EngineOptions eo;
    eo.compileThreads = threads;
    std::string error;
    auto engine = backend::Engine::create(*m, eo, error);
    INFO(error << "; " << threads << " compile threads");
    REQUIRE(engine);
    const auto &parts = engine->compiledParts();
    REQUIRE(parts.size() == (size_t)threads);
    // Every function is defined in exactly one part (a part calls what the
    // others define), the map body and the product and transpose kernels
    // among them.
    std::map<std::string, int> definedIn;
    for (size_t p = 0; p < parts.size(); ++p) {
      CHECK_FALSE(parts[p].empty());
      for (const std::string &fn : parts[p]) CHECK(definedIn.emplace(fn, (int)p).second);
    }
    int mapPart = -1, kernels = 0, transposes = 0;
    for (auto &[fn, p] : definedIn) {
      if (fn.find(".meta_step.map0") != std::string::npos) mapPart = p;
      if (fn.find(".gemm.f32.") != std::string::npos) ++kernels;
      if (fn.find(".transpose.f32.40x40") != std::string::npos) ++transposes;
    }
    REQUIRE(mapPart >= 0);
    CHECK(kernels >= 4);
    CHECK(transposes == 1); // one kernel for the many 40 x 40 transposes
    std::vector<Tensor> got = engine->call("meta_step", {});
    REQUIRE(got.size() == want.size());
    for (size_t r = 0; r < got.size(); ++r) {
      std::string diff;
      CHECK(identical(want[r], got[r], diff));
      if (!diff.empty()) FAIL_CHECK("result " << r << ": " << diff);
    }
  }
}

TEST_CASE("JIT: what cannot be compiled is reported and left to the interpreter", "[jit]") {
  // Only an unexpanded grad (before the autodiff pass) cannot be lowered.
  Compilation c(nullptr);
  c.diagnostics().setQuiet(true);
  std::unique_ptr<Module> m;
  if (c.loadSource("test.ptl", R"(
fn sq(x: f32) -> f32 = x * x
fn dsq(x: f32) -> f32 = grad(sq(x), x)
fn user(x: f32) -> f32 = dsq(x) + 1.0
fn fine(x: f32) -> f32 = softmax([x, 2.0 * x])[0]
)"))
    m = c.elaborate({});
  REQUIRE(m);
  std::string why;
  CHECK(!backend::canCompile(*m->lookup("dsq"), why));
  CHECK(why == "op 'grad' (line 3) must be expanded by the autodiff pass first");
  std::string error;
  auto engine = backend::Engine::create(*m, {}, error);
  REQUIRE(engine);
  CHECK(!engine->isCompiled("dsq"));
  CHECK(!engine->isCompiled("user"));
  CHECK(engine->whyNotCompiled("user") == "calls 'dsq': op 'grad' (line 3) must be expanded by the autodiff pass first");
  CHECK(engine->isCompiled("sq"));
  CHECK(engine->isCompiled("fine"));
  CHECK(engine->call("sq", {Tensor::scalar(F32, 1.5)})[0].getDouble(0) == 2.25);
  CHECK_THROWS_AS(engine->call("user", {Tensor::scalar(F32, 1)}), RuntimeFault);
}

TEST_CASE("JIT: softmax, log_softmax, logsumexp, argmax and cumsum on every axis", "[jit]") {
  std::vector<double> v;
  for (int i = 0; i < 24; ++i) v.push_back(std::sin(i * 1.7) * (i % 4 + 1) * 3.1);
  std::vector<double> odd = v; // rows with NaN, +-inf, ties and -0
  odd[1] = kNaN;
  odd[5] = kInf;
  odd[6] = kInf;
  odd[9] = -kInf;
  odd[12] = odd[13] = odd[14] = odd[15] = -kInf;
  odd[17] = odd[18];
  odd[20] = -0.0;
  for (DType dt : {F32, F64}) {
    for (const std::vector<double> &in : {v, odd}) {
      for (int64_t axis : {0, 1, 2}) {
        INFO(dtypeName(dt) << " axis " << axis);
        TestFn t({ty(dt, {2, 3, 4})});
        Value *x = t.arg(0);
        t.ret({t.b.make(OpKind::Softmax, {x}, {{"axis", axis}}), t.b.make(OpKind::LogSoftmax, {x}, {{"axis", axis}}),
               t.b.make(OpKind::CumSum, {x}, {{"axis", axis}}),
               t.b.make(OpKind::ArgMax, {x}, {{"axis", axis}, {"keepdims", axis == 1}})});
        differential(t.m, "f", {make(dt, {2, 3, 4}, in)});
      }
      for (std::vector<int64_t> axes : {std::vector<int64_t>{}, {0}, {1}, {2}, {0, 2}, {1, 2}}) {
        INFO("logsumexp " << dtypeName(dt) << " axes " << shapeString(axes));
        TestFn t({ty(dt, {2, 3, 4})});
        t.ret({t.b.make(OpKind::LogSumExp, {t.arg(0)}, {{"axes", axes}, {"keepdims", axes.size() == 1}}),
               t.b.make(OpKind::ArgMax, {t.arg(0)}, {{"axis", int64_t(-1)}})});
        differential(t.m, "f", {make(dt, {2, 3, 4}, in)});
      }
    }
  }
  // i32 cumsum wraps, i32 argmax
  TestFn t({ty(I32, {2, 3})});
  t.ret({t.b.make(OpKind::CumSum, {t.arg(0)}, {{"axis", int64_t(1)}}),
         t.b.make(OpKind::ArgMax, {t.arg(0)}, {{"axis", int64_t(0)}})});
  differential(t.m, "f", {make(I32, {2, 3}, {2147483647, 1, 5, -3, 7, 7})});
}

TEST_CASE("JIT: take, scatter_add, index_add, pad and one_hot", "[jit]") {
  auto m = compilePTL(R"(
fn f(x: f32[4, 3], idx: i32[5], i: i32, lab: i32[2, 3]) -> (f32[5, 3], f32[4, 5], f32[4, 3], f32[2, 3, 4], f32[4, 3]) {
  let rows = take(x, idx, axis = 0)
  let cols = take(x, [2, 0, 1, 1, 2], axis = 1)
  let oh = one_hot(lab, 4)
  let y = grad(sum(x[i] * [1.0, 2.0, 3.0]), x)
  return (rows, cols, y, oh, grad(sum(take(x, idx, axis = 0) * rows), x)) // the last a scatter_add
}
)");
  REQUIRE(m);
  Tensor x = make(F32, {4, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12.5});
  Tensor lab = make(I32, {2, 3}, {0, 3, 1, 2, 2, 0});
  differential(*m, "f", {x, make(I32, {5}, {3, 0, 3, 1, 3}), Tensor::scalar(I32, 2), lab});
  // Bad indices fault with the interpreter's message
  std::string error;
  auto engine = backend::Engine::create(*m, {}, error);
  REQUIRE(engine);
  Interpreter interp(*m, {});
  auto both = [&](std::vector<Tensor> args, const std::string &msg) {
    INFO(msg);
    CHECK_THROWS_WITH(interp.call("f", args), msg);
    CHECK_THROWS_WITH(engine->call("f", args), msg);
  };
  both({x, make(I32, {5}, {3, 0, 4, 1, -1}), Tensor::scalar(I32, 2), lab}, "index 4 out of range for axis 0 of size 4");
  both({x, make(I32, {5}, {3, 0, 1, 1, 0}), Tensor::scalar(I32, -2), lab}, "index -2 out of range for axis 0 of size 4");
  both({x, make(I32, {5}, {3, 0, 1, 1, 0}), Tensor::scalar(I32, 1), make(I32, {2, 3}, {0, 1, 4, 9, 0, 0})},
       "one_hot: label 4 out of range for depth 4");
  // pad (the gradient of a slice), i32 and bool take and index_add
  TestFn t({ty(F64, {2, 3}), ty(I32, {3}), ty(BOOL, {3})});
  Value *p = t.b.create(OpKind::Pad, {t.arg(0)}, {ty(F64, {4, 5})}, {{"starts", std::vector<int64_t>{1, 2}}})->result(0);
  Value *ti = t.b.make(OpKind::Take, {t.arg(1), t.b.constant(ty(I32, {2, 2}), 0)}, {{"axis", int64_t(0)}});
  Value *tb = t.b.make(OpKind::Take, {t.arg(2), t.b.scalar(I32, 2)}, {{"axis", int64_t(0)}});
  Value *ia = t.b.make(OpKind::IndexAdd, {t.arg(1), t.b.scalar(I32, 1), t.b.scalar(I32, 2147483647)});
  // scatter_add along axis 1 with repeated indices (accumulating in order)
  Value *idx = t.b.create(OpKind::Constant, {}, {ty(I32, {2, 2})}, {{"value", Dense{{2, 0, 2, 2}}}})->result(0);
  Value *vals = t.b.create(OpKind::Constant, {}, {ty(F64, {2, 2, 2})},
                           {{"value", Dense{{0.1, 1e17, -1e17, 0.3, 0.7, -0.0, 1.0, 3.0}}}})->result(0);
  Value *sa = t.b.make(OpKind::ScatterAdd, {t.arg(0), idx, vals}, {{"axis", int64_t(1)}});
  t.ret({p, ti, tb, ia, sa});
  differential(t.m, "f", {make(F64, {2, 3}, {1, -0.0, kNaN, 4, 5, 6}), make(I32, {3}, {5, 6, 7}), make(BOOL, {3}, {0, 1, 1})});
}

TEST_CASE("JIT: reductions over no elements", "[jit]") {
  TestFn t({ty(F32, {0, 3})});
  t.ret({t.b.make(OpKind::ReduceSum, {t.arg(0)}, {{"axes", std::vector<int64_t>{0}}}),
         t.b.make(OpKind::ReduceMean, {t.arg(0)}, {{"axes", std::vector<int64_t>{0}}}),
         t.b.make(OpKind::LogSumExp, {t.arg(0)}, {{"axes", std::vector<int64_t>{0}}}),
         t.b.make(OpKind::ReduceMax, {t.arg(0)}, {{"axes", std::vector<int64_t>{1}}}),
         t.b.make(OpKind::Softmax, {t.arg(0)}, {{"axis", int64_t(0)}})});
  differential(t.m, "f", {Tensor::zeros(F32, {0, 3})});
  for (OpKind k : {OpKind::ReduceMax, OpKind::ReduceMin, OpKind::ArgMax}) {
    INFO(mnemonic(k));
    TestFn e({ty(F32, {2, 0})});
    e.ret({k == OpKind::ArgMax ? e.b.make(k, {e.arg(0)}, {{"axis", int64_t(0)}})
                               : e.b.make(k, {e.arg(0)}, {{"axes", std::vector<int64_t>{1}}})});
    std::string want = std::string(mnemonic(k)) + " of an empty tensor f32[2, 0]";
    Interpreter interp(e.m, {});
    CHECK_THROWS_WITH(interp.call("f", {Tensor::zeros(F32, {2, 0})}), want);
    std::string error;
    auto engine = backend::Engine::create(e.m, {}, error);
    REQUIRE(engine);
    REQUIRE(engine->isCompiled("f"));
    CHECK_THROWS_WITH(engine->call("f", {Tensor::zeros(F32, {2, 0})}), want);
  }
}

namespace {
/// What one run of `main` printed and reported, and its fault.
struct ScriptRun {
  std::string out, err, fault;
  int line = 0;
};

/// A scratch directory holding nothing.
std::filesystem::path scratchDir(const std::string &name) {
  std::filesystem::path p = std::filesystem::temp_directory_path() / ("ptl_jit_" + name);
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

/// Runs `main` of `m` under the interpreter (jit false) or the engine, with
/// relative paths under `dir`; `onErrLine` sees each line written to err.
ScriptRun runMain(const Module &m, bool jit, const std::filesystem::path &dir,
                  std::function<void(const std::string &)> onErrLine = {}) {
  ptl::testing::LineHook hook;
  hook.onLine = onErrLine;
  std::ostringstream out;
  std::ostream err(&hook);
  InterpOptions io;
  io.out = &out;
  io.err = &err;
  io.baseDir = dir.string();
  ScriptRun r;
  try {
    if (jit) {
      backend::EngineOptions eo;
      eo.out = &out;
      eo.host = io;
      std::string error;
      auto engine = backend::Engine::create(m, eo, error);
      REQUIRE(engine);
      INFO(engine->whyNotCompiled("main"));
      REQUIRE(engine->isCompiled("main"));
      engine->call("main", {});
    } else {
      Interpreter interp(m, io);
      interp.call("main", {});
    }
  } catch (const RuntimeFault &f) {
    r.fault = f.what();
    r.line = f.loc.line;
  }
  r.out = out.str();
  r.err = hook.text;
  return r;
}

void sameRuns(const ScriptRun &a, const ScriptRun &b) {
  CHECK(a.out == b.out);
  CHECK(a.err == b.err);
  CHECK(a.fault == b.fault);
  CHECK(a.line == b.line);
}
} // namespace

TEST_CASE("JIT: files are read and written through the interpreter's kernels", "[jit]") {
  auto m = compilePTL(R"(
model M {
  param w: f32[2] = [0.5, -1.5]
  param s: f32 = 2.0 constrain > 0
}
let x = [[1.5, -2.0], [3.0, 4.0]]
save_npy("x.npy", x * 2.0)
let y: f32[2, 2] = load_npy("x.npy")
save("m.safetensors", M())
let m = load(M, "m.safetensors")
print(y, m.w, m.s)
let z: f32[3] = load_npy("x.npy")
print("not reached")
)");
  REQUIRE(m);
  auto dj = scratchDir("io");
  ScriptRun ri = runMain(*m, false, dj);
  std::filesystem::remove(dj / "m.safetensors");
  ScriptRun rj = runMain(*m, true, dj);
  sameRuns(ri, rj);
  CHECK(rj.out.find("[[ 3. -4.]") == 0);
  CHECK(rj.fault.find("x.npy: expected f32[3], file has f32[2, 2]") != std::string::npos);
  CHECK(rj.line == 12);
  CHECK(std::filesystem::exists(dj / "m.safetensors"));
  // A missing file: the same message from runtime/Formats.h, at the same line
  std::filesystem::remove(dj / "x.npy");
  auto m2 = compilePTL("let y: f32[2] = load_npy(\"x.npy\")\nprint(y)\n");
  REQUIRE(m2);
  ScriptRun mi = runMain(*m2, false, dj), mj = runMain(*m2, true, dj);
  sameRuns(mi, mj);
  CHECK(!mj.fault.empty());
  CHECK(mj.line == 1);
}

namespace {
/// A one-parameter model trained towards 3 for `steps` steps (as TrainTests).
std::string trainScript(int steps, const std::string &log = "") {
  return "model M { param w: f32 = 1.0 }\n"
         "var m = M()\n"
         "train m minimizing (m.w - 3.0) ^ 2 with sgd(lr = 0.01) for " +
         std::to_string(steps) + " steps" + log + "\nprint(m.w)\nprint(\"after\")\n";
}
} // namespace

TEST_CASE("JIT: train loops report progress, write their log and stop on Ctrl-C like the interpreter", "[jit]") {
  auto m = compilePTL(trainScript(45, " log every 10 to \"log.csv\""));
  REQUIRE(m);
  auto di = scratchDir("train_interp"), dj = scratchDir("train_jit");
  ScriptRun ri = runMain(*m, false, di), rj = runMain(*m, true, dj);
  sameRuns(ri, rj); // (log.csv's path appears in no message)
  CHECK(rj.err.find("train: step 45/45 loss ") != std::string::npos);
  auto read = [](const std::filesystem::path &p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  CHECK(read(dj / "log.csv") == read(di / "log.csv"));
  CHECK(read(dj / "log.csv").rfind("step,loss\n10,", 0) == 0);

  // A real SIGINT raised during step 30 (from the progress line): the loop
  // stops after that step with its parameters, and the script goes on.
  auto m100 = compilePTL(trainScript(100));
  auto m30 = compilePTL(trainScript(30));
  REQUIRE(m100);
  REQUIRE(m30);
  ScriptRun full30 = runMain(*m30, true, dj);
  int raised = 0;
  ScriptRun r = runMain(*m100, true, dj, [&](const std::string &l) {
    if (l.rfind("train: step 30/100 ", 0) == 0) {
      ++raised;
      std::raise(SIGINT);
    }
  });
  CHECK(raised == 1);
  CHECK(r.fault.empty());
  CHECK(r.err.find("train: step 40/100") == std::string::npos);
  CHECK(r.err.find("train: interrupted at step 30/100; keeping the latest parameters\n") != std::string::npos);
  CHECK(r.out == full30.out);
  CHECK(r.out.find("after") != std::string::npos);
}

TEST_CASE("JIT: a fault inside a train loop ends the loop and leaves the engine usable", "[jit]") {
  auto m = compilePTL(R"(
model M { param w: f32[3] = [1.0, 2.0, 3.0] }
var m = M()
var k = 0
train m minimizing sum(m.w * m.w) with sgd(lr = 0.1) for 5 steps
print(take(m.w, [1, 7], axis = 0))
)");
  REQUIRE(m);
  auto d = scratchDir("train_fault");
  ScriptRun ri = runMain(*m, false, d), rj = runMain(*m, true, d);
  sameRuns(ri, rj);
  CHECK(rj.fault == "index 7 out of range for axis 0 of size 3");
}

TEST_CASE("JIT: random, map, stack, concat and iota through the runtime", "[jit]") {
  auto m = compilePTL(R"(
fn f(seed: i32) -> (f32[2, 3], f64[4], f32[4, 2], f32[6]) {
  let a = randn[2, 3](seed)
  let u = f64(rand[4](seed + 1))
  let rows = map i in 0..3 { a[1] * f32(i) + f32(arange(4)[i]) }
  let st = stack(a[0], a[1], axis = 1)
  let c = concat(a[0], a[1] * 2.0, axis = 0)
  let wide = concat(rows, rows * 2.0 + f32(arange(3)), axis = 0)
  return (a, u, wide[1..5, 1..3], c + sum(st))
}
)");
  REQUIRE(m);
  differential(*m, "f", {Tensor::scalar(I32, 7)});
}

TEST_CASE("JIT: the optimised IR keeps the interpreter's arithmetic", "[jit]") {
  // No FMA contraction, no fast-math flags, and libm calls left as calls
  // (nobuiltin), so nothing can change a result's bits; f32 exp is PTL's
  // own inline code (runtime/Math.h), not a call.
  TestFn t({ty(F32, {8, 16}), ty(F32, {16, 4})});
  Value *y = t.b.make(OpKind::MatMul, {t.arg(0), t.arg(1)});
  t.ret({t.b.make(OpKind::Exp, {t.b.make(OpKind::Add, {y, t.b.make(OpKind::Mul, {y, y})})}),
         t.b.make(OpKind::Sin, {y})});
  std::ostringstream ir;
  backend::EngineOptions eo;
  eo.irOut = &ir;
  std::string error;
  auto engine = backend::Engine::create(t.m, eo, error);
  REQUIRE(engine);
  std::string text = ir.str();
  INFO(text);
  CHECK(text.find("fmuladd") == std::string::npos);
  CHECK(text.find("llvm.fma") == std::string::npos);
  CHECK(text.find(" fast ") == std::string::npos);
  CHECK(text.find(" contract ") == std::string::npos);
  CHECK(text.find("@expf(") == std::string::npos);
  CHECK(text.find("@sinf(") != std::string::npos);
  CHECK(engine->compileMillis() > 0);
}

TEST_CASE("JIT: the frame arena reuses its chunks", "[jit]") {
  backend::FrameArena a;
  void *p = a.push(100);
  void *q = a.push(5 << 20); // bigger than the first chunk
  REQUIRE(p);
  REQUIRE(q);
  CHECK(reinterpret_cast<uintptr_t>(q) % 64 == 0);
  a.pop();
  a.pop();
  size_t chunks = a.chunks();
  for (int i = 0; i < 100; ++i) {
    CHECK(a.push(100) == p);
    a.push(5 << 20);
    a.pop();
    a.pop();
  }
  CHECK(a.chunks() == chunks);
  CHECK(a.depth() == 0);
}

TEST_CASE("JIT: map iterations run in parallel with the interpreter's results and its first fault", "[jit][map]") {
  // A map whose body differentiates (as MAML's meta-batch does): independent
  // iterations, run on the worker pool in native code.
  std::unique_ptr<Module> m = compilePTL(R"(
fn f(w: f32[8], k: i32) -> f32 = sum(tanh(w * f32(k)) ^ 2)
fn batch(w: f32[8]) -> f32[32, 8] = map i in 0..32 { grad(f(w, i), w) }
fn bad(x: f32[4], n: i32) -> f32[64] = map i in 0..64 {
  let j = where(i == 5 || i == n, 100 + i, i % 4)
  sum(take(x, [j], axis = 0))
}
)");
  REQUIRE(m);
  std::string error;
  backend::EngineOptions opts;
  std::unique_ptr<backend::Engine> e = backend::Engine::create(*m, opts, error);
  REQUIRE(e);
  Interpreter interp(*m, InterpOptions{});
  Tensor w = Tensor::zeros(F32, {8});
  for (int i = 0; i < 8; ++i) w.setDouble(i, 0.1 * (i - 3));
  std::string diff;
  Tensor want = interp.call("batch", {w})[0];
  for (int threads : {1, 2, 4}) {
    setThreadCount(threads);
    CHECK(identical(e->call("batch", {w})[0], want, diff));
  }
  // The fault of the lowest failing iteration, as a serial run reports it,
  // whichever worker meets which first.
  Tensor x = Tensor::zeros(F32, {4});
  for (int threads : {1, 2, 4}) {
    setThreadCount(threads);
    for (int n : {6, 40, 63}) {
      try {
        e->call("bad", {x, Tensor::scalar(I32, n)});
        FAIL("no fault");
      } catch (const RuntimeFault &f) {
        CHECK_THAT(f.what(), Catch::Contains("index 105 out of range"));
        CHECK(f.loc.line == 6);
      }
    }
  }
  setThreadCount(2);
  CHECK(identical(e->call("batch", {w})[0], want, diff)); // the engine is fine after the faults
}
