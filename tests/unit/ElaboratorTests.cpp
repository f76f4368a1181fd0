//===- tests/unit/ElaboratorTests.cpp - Types, shapes and IR generation -----===//
//
// Compiles small programs from strings and checks the IR the elaborator
// builds (specialisations, grad slices, stop_grad selectors, train) and the
// values the reference interpreter computes from it.
//
//===----------------------------------------------------------------------===//
#include "frontend/Compiler.h"
#include "ir/PassManager.h"
#include "ir/Printer.h"
#include "ir/autodiff/Autodiff.h"
#include "ir/Verifier.h"
#include "ir/interp/Interpreter.h"
#include "runtime/Errors.h"

#include <catch2/catch.hpp>

#include <functional>
#include <sstream>

using namespace ptl;

namespace {

/// The result of compiling a source string.
struct Compiled {
  std::unique_ptr<Compilation> comp;
  std::unique_ptr<ir::Module> module;
  std::vector<std::string> errors; ///< "LINE:COL: message"
};

Compiled compileSource(const std::string &src) {
  Compiled c;
  c.comp = std::make_unique<Compilation>(nullptr);
  c.comp->diagnostics().setQuiet(true);
  if (c.comp->loadSource("test.ptl", src)) c.module = c.comp->elaborate({});
  for (const ReportedDiagnostic &d : c.comp->diagnostics().all())
    if (d.severity == Severity::Error)
      c.errors.push_back(std::to_string(d.loc.line) + ":" + std::to_string(d.loc.col) + ": " + d.message);
  return c;
}

/// Compiles and runs `main`, returning what it printed.
std::string run(const std::string &src) {
  Compiled c = compileSource(src);
  INFO((c.errors.empty() ? std::string() : c.errors[0]));
  REQUIRE(c.module);
  std::string err;
  REQUIRE(ir::verifyModule(*c.module, err));
  std::ostringstream out;
  ir::InterpOptions opts;
  opts.out = &out;
  ir::Interpreter interp(*c.module, opts);
  interp.call("main", {});
  return out.str();
}

/// Counts ops of `kind` in a region, recursively.
int countOps(const ir::Region &r, ir::OpKind kind) {
  int n = 0;
  for (const auto &op : r.ops()) {
    if (op->kind() == kind) ++n;
    for (unsigned i = 0; i < op->numRegions(); ++i) n += countOps(*op->region(i), kind);
  }
  return n;
}

const ir::Op *firstOp(const ir::Region &r, ir::OpKind kind) {
  for (const auto &op : r.ops()) {
    if (op->kind() == kind) return op.get();
    for (unsigned i = 0; i < op->numRegions(); ++i)
      if (const ir::Op *o = firstOp(*op->region(i), kind)) return o;
  }
  return nullptr;
}

} // namespace

TEST_CASE("functions are specialised once per shape binding", "[elab]") {
  Compiled c = compileSource(R"(
fn total(x: f32[N]) -> f32 = sum(x) * f32(N)
print(total([1.0, 2.0, 3.0]), total([1.0, 2.0]), total([4.0, 5.0, 6.0]))
)");
  REQUIRE(c.module);
  CHECK(c.module->lookup("total"));
  CHECK(c.module->lookup("total.2"));
  CHECK_FALSE(c.module->lookup("total.3"));
  CHECK(run(R"(
fn total(x: f32[N]) -> f32 = sum(x) * f32(N)
print(total([1.0, 2.0, 3.0]), total([1.0, 2.0]))
)") == "18.0 6.0\n");
}

TEST_CASE("shape variables are compile-time constants in the body", "[elab]") {
  CHECK(run(R"(
fn steps(x: f32[T]) -> f32 {
  var acc = 0.0
  for t in 0..T { acc += x[t] * f32(t) }
  return acc / T
}
print(steps([1.0, 1.0, 1.0, 1.0]))
)") == "1.5\n");
}

TEST_CASE("generic functions bind their parameter from the arguments", "[elab]") {
  CHECK(run(R"(
model P { param w: f32[2] = ones() }
fn step<M>(m: M, g: M, lr: f32) -> M = m - lr * g
let m = P()
let n = step(m, m, 0.25)
print(n.w)
)") == "[0.75 0.75]\n");
}

TEST_CASE("constrained parameters store the inverse and read the constrained value", "[elab]") {
  std::string out = run(R"(
model M {
  param a: f32 = 2.0 constrain > 1
  param b: f32 = 0.25 constrain in (0, 1)
  param c: f32 = 3.0 reparam exp
}
let m = M()
print(m.a, m.b, m.c)
print(raw(m.c))
)");
  // softplus(softplus^-1(1)) + 1 = 2 up to f32 rounding; log(3) = 1.0986123.
  CHECK(out.rfind("2.0 0.25 3.0", 0) == 0);
  CHECK(out.find("1.0986123") != std::string::npos);
}

TEST_CASE("field assignment writes through the inverse transform", "[elab]") {
  CHECK(run(R"(
model M { param a: f32 = 2.0 constrain > 0 }
var m = M()
m.a = 5.0
m.a += 1.0
print(m.a)
)") == "6.0\n");
}

TEST_CASE("grad regions hold only the slice that depends on the target", "[elab]") {
  Compiled c = compileSource(R"(
fn f(w: f32[3]) -> f32 = sum(w * w)
fn g(v: f32[3]) -> f32 = sum(exp(v))
let w = [1.0, 2.0, 3.0]
let v = [0.0, 1.0, 2.0]
let l = f(w) + g(v)
let dw = grad(l, w)
)");
  REQUIRE(c.module);
  const ir::Op *grad = firstOp(c.module->lookup("main")->body(), ir::OpKind::Grad);
  REQUIRE(grad);
  const ir::Region &r = *grad->region(0);
  // call f and the add are recomputed from the argument; g(v) is captured.
  int calls = 0;
  for (const auto &op : r.ops())
    if (op->kind() == ir::OpKind::Call) {
      ++calls;
      CHECK(op->strAttr("callee") == "f");
    }
  CHECK(calls == 1);
  CHECK(countOps(r, ir::OpKind::Add) == 1);
  CHECK(r.terminator()->kind() == ir::OpKind::Yield);
}

TEST_CASE("grad of a model skips stop_grad parameters", "[elab]") {
  Compiled c = compileSource(R"(
model M {
  param a: f32[2] = ones()
  param b: f32[2] = ones() stop_grad
}
fn loss(m: M) -> f32 = sum(m.a * m.b)
let m = M()
let g = grad(loss(m), m)
print(g)
)");
  REQUIRE(c.module);
  const ir::Op *grad = firstOp(c.module->lookup("main")->body(), ir::OpKind::Grad);
  REQUIRE(grad);
  CHECK(grad->numOperands() == 1); // only `a` is differentiated
  CHECK(grad->numResults() == 1);
}

TEST_CASE("stop_grad selector blocks wrap exactly the matched leaves", "[elab]") {
  auto stopGrads = [](const std::string &selector) {
    Compiled c = compileSource(R"(
model Inner { param W: f32[2] = ones()
  param b: f32[2] = zeros() }
model Outer { gln: Inner
  code: Inner }
fn use(e: Outer) -> f32 = sum(e.gln.W + e.gln.b + e.code.W + e.code.b)
let enc = Outer()
let x = stop_grad )" + selector + R"( { use(enc) }
print(x)
)");
    INFO(selector << (c.errors.empty() ? "" : ": " + c.errors[0]));
    REQUIRE(c.module);
    return countOps(c.module->lookup("main")->body(), ir::OpKind::StopGrad);
  };
  CHECK(stopGrads("*") == 4);
  CHECK(stopGrads("* except gln.*") == 2);
  CHECK(stopGrads("gln.W, code.b") == 2);
  CHECK(stopGrads("enc.code.*") == 2);
}

TEST_CASE("a selector that matches nothing is an error", "[elab]") {
  Compiled c = compileSource(R"(
model M { param w: f32 = 1.0 }
let m = M()
let y = stop_grad nothing.* { m.w * 2.0 }
)");
  REQUIRE(c.errors.size() == 1);
  CHECK(c.errors[0] == "4:19: selector 'nothing.*' matches no parameter");
}

TEST_CASE("train desugars to a loop over value_and_grad and OPT_step", "[elab]") {
  Compiled c = compileSource(R"(
model M { param w: f32 = 1.0 }
var m = M()
train m minimizing (m.w - 3.0) ^ 2 with sgd(lr = 0.1) for 25 steps
)");
  INFO((c.errors.empty() ? "" : c.errors[0]));
  REQUIRE(c.module);
  const ir::Op *loop = firstOp(c.module->lookup("main")->body(), ir::OpKind::For);
  REQUIRE(loop);
  CHECK(loop->intAttr("lo") == 1);
  CHECK(loop->intAttr("hi") == 26);
  const ir::Op *grad = firstOp(*loop->region(0), ir::OpKind::Grad);
  REQUIRE(grad);
  CHECK(grad->boolAttr("with_value"));
  const ir::Op *call = firstOp(*loop->region(0), ir::OpKind::Call);
  REQUIRE(call);
  CHECK(call->strAttr("callee") == "sgd_step");
}

TEST_CASE("if and for carry reassigned vars as SSA values", "[elab]") {
  CHECK(run(R"(
var x = 1.0
var n = 0
for i in 0..5 {
  if x > 4.0 { x = x - 4.0 } else { x = x * 2.0 }
  n += 1
}
print(x, n)
)") == "8.0 5\n"); // 1 -> 2 -> 4 -> 8 -> 4 -> 8
}

TEST_CASE("map stacks independent iterations", "[elab]") {
  CHECK(run(R"(
let t = map i in 0..3 { (f32(i), [f32(i), 1.0]) }
print(t.0)
print(t.1)
)") == "[0. 1. 2.]\n[[0. 1.]\n [1. 1.]\n [2. 1.]]\n");
}

TEST_CASE("literals adapt to the other operand and f32/f64 never mix", "[elab]") {
  CHECK(run("let x = f64(2.0)\nprint(x * 0.5)\n") == "1.0\n");
  Compiled c = compileSource("let x = f64(2.0)\nlet y = f32(1.0)\nlet z = x + y\n");
  REQUIRE(c.errors.size() == 1);
  CHECK(c.errors[0].find("3:9: cannot mix f64 and f32") == 0);
}

TEST_CASE("shape errors name both shapes", "[elab]") {
  Compiled c = compileSource("let a = [1.0, 2.0, 3.0]\nlet b = [1.0, 2.0]\nlet c = a + b\n");
  REQUIRE(c.errors.size() == 1);
  CHECK(c.errors[0] == "3:9: cannot broadcast f32[3] and f32[2]");
}

TEST_CASE("recursion is rejected at the call", "[elab]") {
  Compiled c = compileSource("fn f(x: f32) -> f32 = f(x)\nprint(f(1.0))\n");
  REQUIRE(!c.errors.empty());
  CHECK(c.errors[0] == "1:23: recursion is not supported: 'f' calls itself");
}

TEST_CASE("run-time index faults carry the source location", "[elab]") {
  Compiled c = compileSource(R"(
fn pick(x: f32[N], i: i32) -> f32 = x[i]
var k = 0
for j in 0..9 { k += 1 }
print(pick([1.0, 2.0], k))
)");
  REQUIRE(c.module);
  std::ostringstream out;
  ir::InterpOptions opts;
  opts.out = &out;
  ir::Interpreter interp(*c.module, opts);
  try {
    interp.call("main", {});
    FAIL("expected a fault");
  } catch (const RuntimeFault &f) {
    CHECK(std::string(f.what()).find("out of range") != std::string::npos);
    CHECK(f.loc.line == 2);
  }
}

TEST_CASE("a check violation during training is a located fault and the host goes on", "[elab][constraints]") {
  Compiled c = compileSource(R"(
model P { param a: f32 = 1.0 constrain > 0 check }
fn fit(steps_scale: f32) -> f32 {
  var m = P()
  train m minimizing (m.a + 3.0 * steps_scale) ^ 2 with sgd(lr = 0.2) for 5 steps
  return m.a
}
fn fine(x: f32) -> f32 = x * 2.0
print(fine(1.0))
)");
  REQUIRE(c.module);
  std::string err;
  ir::PassManager pm;
  pm.add(ir::createAutodiffPass());
  REQUIRE(pm.run(*c.module, err));
  std::ostringstream out;
  ir::InterpOptions opts;
  opts.out = &out;
  std::ostringstream progress;
  opts.err = &progress;
  ir::Interpreter interp(*c.module, opts);
  // Gradient steps push a below 0 at some step: a fault naming the path,
  // the bound, the value, the step and the line of the train statement.
  try {
    interp.call("fit", {Tensor::scalar(DType::F32, 1.0)});
    FAIL("expected a constraint violation");
  } catch (const RuntimeFault &f) {
    std::string msg = f.what();
    INFO(msg);
    CHECK(msg.find("'a' must be > 0") != std::string::npos);
    CHECK(msg.find("train step") != std::string::npos);
    CHECK(f.loc.line == 5);
  }
  // The same interpreter (the host) is still usable.
  std::vector<Tensor> r = interp.call("fine", {Tensor::scalar(DType::F32, 21.0)});
  REQUIRE(r.size() == 1);
  CHECK(r[0].getDouble(0) == 42.0);
}
