//===- tests/unit/AutodiffTests.cpp - The reverse-mode pass, end to end -----===//
//
// Gradients of whole programs (loops, branches, map, calls, models,
// selectors, second order) against central finite differences in f64;
// checkpointing (bit-identical gradients, O(T/k + k) memory); the partial
// stop-gradient example (per-path gradients, one evaluation of the
// expensive scan); the inline and grad_<fn> paths agreeing; warnings.
//
//===----------------------------------------------------------------------===//
#include "frontend/Compiler.h"
#include "ir/PassManager.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "ir/autodiff/Autodiff.h"
#include "ir/interp/Interpreter.h"
#include "ir/passes/Passes.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <sstream>

using namespace ptl;

namespace {

/// Compiles `src`, expands grad with `options`, and checks the IR.
std::unique_ptr<ir::Module> compileGrad(const std::string &src, ir::AutodiffOptions options = {},
                                        std::vector<ir::GradWarning> *warnings = nullptr) {
  Compilation c(nullptr);
  c.diagnostics().setQuiet(true);
  std::unique_ptr<ir::Module> m;
  if (c.loadSource("test.ptl", src)) m = c.elaborate({});
  if (!m) {
    for (const ReportedDiagnostic &d : c.diagnostics().all())
      FAIL_CHECK(d.loc.line << ":" << d.loc.col << ": " << d.message);
    return nullptr;
  }
  // Autodiff with the cleanup around it: cse, autodiff, cse, dce (verified after
  // each); not the driver's ir::defaultPipeline, so the tests see autodiff's own output.
  ir::PassManager pm;
  pm.add(ir::createCSEPass());
  pm.add(ir::createAutodiffPass(warnings, options));
  pm.add(ir::createCSEPass());
  pm.add(ir::createDCEPass());
  std::string error;
  INFO(error);
  REQUIRE(pm.run(*m, error));
  return m;
}

/// Runs `main` and returns what it printed.
std::string runMain(const ir::Module &m) {
  std::ostringstream out;
  ir::InterpOptions opts;
  opts.out = &out;
  ir::Interpreter interp(m, opts);
  interp.call("main", {});
  return out.str();
}

/// Parses the whitespace-separated numbers of `text` (brackets ignored).
std::vector<double> numbers(const std::string &text) {
  std::string t = text;
  for (char &ch : t)
    if (ch == '[' || ch == ']' || ch == '(' || ch == ')' || ch == ',') ch = ' ';
  std::istringstream in(t);
  std::vector<double> out;
  std::string tok;
  while (in >> tok) {
    char *end = nullptr;
    double v = std::strtod(tok.c_str(), &end);
    if (end && *end == 0) out.push_back(v);
  }
  return out;
}

/// A program printing grad(loss(w), w) and then the central finite
/// differences of loss at w, coordinate by coordinate (f64, h = 1e-6).
std::string gradcheckProgram(const std::string &definitions, const std::string &w, int n) {
  return definitions + "\nlet w = " + w + "\nlet h = 1e-6\n" +
         "print(grad(loss(w), w))\n"
         "print(map i in 0.." + std::to_string(n) +
         " { let e = f64(one_hot(i, " + std::to_string(n) +
         ")) * h\n (loss(w + e) - loss(w - e)) / (2.0 * h) })\n";
}

/// Checks grad against finite differences for `loss` over f64[n] at w.
void gradcheck(const std::string &definitions, const std::string &w, int n) {
  auto m = compileGrad(gradcheckProgram(definitions, w, n));
  REQUIRE(m);
  std::string out = runMain(*m);
  std::vector<double> v = numbers(out);
  REQUIRE(v.size() == (size_t)(2 * n));
  double scale = 0;
  for (int i = 0; i < n; ++i) scale = std::max(scale, std::fabs(v[n + i]));
  for (int i = 0; i < n; ++i) {
    INFO("coordinate " << i << ": grad " << v[i] << ", finite differences " << v[n + i] << "\n" << out);
    CHECK(std::fabs(v[i] - v[n + i]) <= 1e-6 * std::max(1.0, scale));
  }
}

const char *kW = "f64([0.3, -0.7, 1.1, 0.45])";

} // namespace

TEST_CASE("grad of straight-line code matches finite differences", "[autodiff]") {
  gradcheck("fn loss(w: f64[4]) -> f64 = sum(exp(w) * tanh(w) + sigmoid(w) / (1.0 + w * w)) + "
            "logsumexp(w) + max(w) * sqrt(sum(w * w))",
            kW, 4);
}

TEST_CASE("grad through a loop with carried values", "[autodiff]") {
  gradcheck(R"(
fn loss(w: f64[4]) -> f64 {
  var x = w
  var total = f64(0.0)
  for t in 0..7 {
    x = tanh(x * w + f64(0.1) * f64(t))
    total += sum(x * x)
  }
  return total
})",
            kW, 4);
}

TEST_CASE("grad through nested loops", "[autodiff]") {
  gradcheck(R"(
fn loss(w: f64[4]) -> f64 {
  var acc = f64(0.0)
  var x = w
  for i in 0..3 {
    for j in 0..4 {
      x = sin(x + w[j] * f64(i + 1))
    }
    acc += sum(x) * f64(i)
  }
  return acc
})",
            kW, 4);
}

TEST_CASE("grad through a data-dependent if inside a loop", "[autodiff]") {
  gradcheck(R"(
fn loss(w: f64[4]) -> f64 {
  var x = f64(0.2)
  for t in 0..4 {
    if w[t] > 0.0 { x = x * w[t] + 1.0 } else { x = x - w[t] * w[t] }
  }
  return x * x
})",
            kW, 4);
}

TEST_CASE("grad through map and through calls", "[autodiff]") {
  gradcheck(R"(
fn inner(a: f64, v: f64[4]) -> f64 = sum(softplus(a * v)) + a ^ 3
fn loss(w: f64[4]) -> f64 = mean(map i in 0..4 { inner(w[i], w) * f64(i + 1) })
)",
            kW, 4);
}

TEST_CASE("grad w.r.t. a model, through constrained reads", "[autodiff]") {
  // The gradient is w.r.t. the stored leaves: d/du of (c + softplus(u)).
  auto m = compileGrad(R"(
model P {
  param a: f64 = f64(2.0) constrain > 1
  param v: f64[2] = f64([0.5, -0.25])
}
fn loss(m: P) -> f64 = m.a * sum(m.v * m.v)
let m = P()
let g = grad(loss(m), m)
print(raw(g.a), g.v)
)");
  REQUIRE(m);
  std::vector<double> v = numbers(runMain(*m));
  REQUIRE(v.size() == 3);
  // a = 1 + softplus(u) = 2, so u = log(e - 1) and da/du = sigmoid(u) = 1 - 1/e.
  CHECK(v[0] == Approx(0.3125 * (1.0 - std::exp(-1.0))).epsilon(1e-12));
  CHECK(v[1] == Approx(2.0 * 2.0 * 0.5).epsilon(1e-12));
  CHECK(v[2] == Approx(2.0 * 2.0 * -0.25).epsilon(1e-12));
}

TEST_CASE("second order: grad of grad through a loop", "[autodiff]") {
  auto m = compileGrad(R"(
fn run(w: f64) -> f64 {
  var x = f64(0.5)
  for t in 0..5 { x = tanh(w * x + 0.1 * f64(t)) }
  return x * x
}
let w = f64(0.7)
let h = 1e-6
print(grad(grad(run(w), w), w))
print((grad(run(w + h), w) - grad(run(w - h), w)) / (2.0 * h))
)");
  REQUIRE(m);
  std::vector<double> v = numbers(runMain(*m));
  REQUIRE(v.size() == 2);
  CHECK(v[0] == Approx(v[1]).epsilon(1e-6));
}

TEST_CASE("first order is exactly stop_grad(grad(...))", "[autodiff]") {
  // One inner SGD step: fast = w - lr * dL/dw. Second order differentiates
  // through dL/dw; first order treats it as a constant.
  const char *prog = R"(
fn inner(w: f64) -> f64 = w ^ 4
fn outer2(w: f64) -> f64 { let f = w - 0.1 * grad(inner(w), w)
  return f * f }
fn outer1(w: f64) -> f64 { let f = w - 0.1 * stop_grad(grad(inner(w), w))
  return f * f }
let w = f64(1.5)
print(grad(outer2(w), w), grad(outer1(w), w))
)";
  auto m = compileGrad(prog);
  REQUIRE(m);
  std::vector<double> v = numbers(runMain(*m));
  REQUIRE(v.size() == 2);
  double w = 1.5, f = w - 0.1 * 4 * w * w * w;
  CHECK(v[0] == Approx(2 * f * (1 - 0.1 * 12 * w * w)).epsilon(1e-12));
  CHECK(v[1] == Approx(2 * f).epsilon(1e-12));
}

TEST_CASE("the inline path and the grad_<fn> path agree", "[autodiff]") {
  const char *prog = R"(
fn step(x: f64[3], w: f64[3]) -> f64[3] = tanh(x * w) + w
fn loss(w: f64[3]) -> f64 {
  var x = w
  for t in 0..4 { x = step(x, w) }
  return sum(x * x)
}
let w = f64([0.2, -0.4, 0.6])
print(grad(loss(w), w))
print(grad(grad(loss(w), w)[1], w))
)";
  ir::AutodiffOptions vjp;
  vjp.inlineLimit = 0; // every call through grad_<fn>
  auto a = compileGrad(prog), b = compileGrad(prog, vjp);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(b->lookup("grad_loss"));
  CHECK_FALSE(a->lookup("grad_loss"));
  std::vector<double> x = numbers(runMain(*a)), y = numbers(runMain(*b));
  REQUIRE(x.size() == 6);
  REQUIRE(y.size() == 6);
  for (size_t i = 0; i < x.size(); ++i) CHECK(x[i] == Approx(y[i]).epsilon(1e-12));
}

TEST_CASE("grad through a deep call tree inlines by inlined size, not by body size", "[autodiff][limits]") {
  // f_k calls f_(k-1) twice (on x and -x, so CSE keeps both calls): 5 ops
  // each, but 2^k ops once inlined. Inlining
  // by body size copied 2^25 bodies (`ptlc check` never finished); by
  // inlined size (a call left a call counts 1), a callee over the inline
  // limit stays a call and is differentiated once, as grad_f<k>.
  auto tree = [](int depth) {
    std::string src = "fn f0(x: f64) -> f64 = x * x\n";
    for (int k = 1; k <= depth; ++k)
      src += "fn f" + std::to_string(k) + "(x: f64) -> f64 = f" + std::to_string(k - 1) + "(x) + f" +
             std::to_string(k - 1) + "(-x)\n";
    return src + "let w = f64(1.5)\nprint(grad(f" + std::to_string(depth) + "(w), w))\n";
  };
  auto m = compileGrad(tree(25));
  REQUIRE(m);
  size_t ops = 0, vjps = 0;
  for (const auto &f : m->functions()) {
    ir::walkOps(f->body(), [&](ir::Op &) { ++ops; });
    if (f->name().rfind("grad_f", 0) == 0) ++vjps;
  }
  CHECK(ops < 20000);
  CHECK(vjps >= 1);
  // f_k(x) = 2^k x^2, d/dx = 2^(k+1) x, through the grad_<fn> calls and the inlined leaves.
  std::vector<double> g = numbers(runMain(*compileGrad(tree(12))));
  REQUIRE(g.size() == 1);
  CHECK(g[0] == 8192 * 1.5);
}

TEST_CASE("@checkpoint gives bit-identical gradients with O(T/k + k) saved states", "[autodiff][checkpoint]") {
  auto program = [](const std::string &attr) {
    return R"(
fn loss(w: f64[64]) -> f64 {
  var h = w
  )" + attr + R"(
  for t in 0..1000 {
    h = tanh(h * 0.9 + w * 0.1)
  }
  return sum(h * h)
}
let w = f64(sin(f32(arange(64))))
print(grad(loss(w), w))
)";
  };
  auto plain = compileGrad(program(""));
  auto checked = compileGrad(program("@checkpoint(every = 32)"));
  REQUIRE(plain);
  REQUIRE(checked);

  auto measure = [](const ir::Module &m, std::string &out) {
    Tensor::resetPeakBytes();
    int64_t before = Tensor::liveBytes();
    out = runMain(m);
    return Tensor::peakBytes() - before;
  };
  std::string a, b;
  int64_t peakPlain = measure(*plain, a), peakChecked = measure(*checked, b);
  CHECK(a == b); // bit-identical: printed with round-trip precision below
  std::vector<double> x = numbers(a), y = numbers(b);
  REQUIRE(x.size() == 64);
  for (size_t i = 0; i < x.size(); ++i) CHECK(x[i] == y[i]);

  // One saved state is f64[64] = 512 bytes; a stored iteration keeps a few
  // such values. Plain: 1000 iterations on the tape. Checkpointed: 31
  // segment starts + 32 iterations of one segment = 63 (plus the rest).
  const int64_t state = 64 * 8;
  INFO("peak bytes: plain " << peakPlain << ", checkpointed " << peakChecked);
  CHECK(peakPlain > 1000 * state);
  CHECK(peakChecked < 8 * 63 * state);
  CHECK(peakChecked * 8 < peakPlain);
}

TEST_CASE("partial stop-gradient: per-path gradients and one evaluation of the scan", "[autodiff][stop_grad]") {
  const char *prog = R"(
model GLN { param W: f64[3, 3] = f64([[0.5, -0.2, 0.1], [0.3, 0.4, -0.5], [-0.1, 0.2, 0.6]])
  param b: f64[3] = f64([0.1, 0.0, -0.1])
  fn step(h: f64[B, 3]) -> f64[B, 3] = tanh(h @ W.T + b) }
model Code { param W: f64[3, 2] = f64([[0.2, -0.3], [0.5, 0.1], [-0.4, 0.3]])
  fn apply(obs: f64[B, 2]) -> f64[B, 3] = tanh(obs @ W.T) }
model Encoder { gln: GLN
  code: Code
  fn code_message(obs: f64[B, 2]) -> f64[B, 3] = code.apply(obs)
  fn sample(msg: f64[B, 3], steps: i32) -> f64 {
    var h = msg
    var total = f64(0.0)
    for s in 0..steps { h = gln.step(h)
      total += mean(h ^ 2) }
    return total / steps } }
fn infer(enc: Encoder, obs: f64[B, 2]) -> (f64, f64) {
  let msg = stop_grad * { enc.code_message(obs) }
  let gln_loss = stop_grad * except gln.* { enc.sample(stop_grad(msg), steps = 100) }
  let code_loss = mean((stop_grad(msg) - enc.code_message(obs) * 0.5) ^ 2)
  return (gln_loss, code_loss)
}
let enc = Encoder()
let obs = f64([[0.5, -1.0], [1.0, 0.25]])
let g1 = grad(infer(enc, obs).0, enc)
let g2 = grad(infer(enc, obs).1, enc)
print(sum(abs(g1.gln.W)), sum(abs(g1.gln.b)), sum(abs(g1.code.W)))
print(sum(abs(g2.gln.W)), sum(abs(g2.gln.b)), sum(abs(g2.code.W)))
)";
  auto m = compileGrad(prog);
  REQUIRE(m);
  std::ostringstream out;
  ir::InterpOptions opts;
  opts.out = &out;
  ir::Interpreter interp(*m, opts);
  interp.call("main", {});
  std::vector<double> v = numbers(out.str());
  REQUIRE(v.size() == 6);
  // gln_loss trains only gln.*; code_loss trains only code.*.
  CHECK(v[0] > 0);
  CHECK(v[1] > 0);
  CHECK(v[2] == 0);
  CHECK(v[3] == 0);
  CHECK(v[4] == 0);
  CHECK(v[5] > 0);
  // The scan's step (the tanh on GLN.step's line, line 4) ran 100 times for
  // g1 (forward once; the reverse reads the tape) and not at all for g2,
  // whose loss does not depend on it.
  CHECK(interp.executions(ir::OpKind::Tanh, 4) == 100);
}

TEST_CASE("a parameter the loss never reaches gets a warning", "[autodiff]") {
  std::vector<ir::GradWarning> warnings;
  auto m = compileGrad(R"(
model M { param used: f64 = f64(1.0)
  param unused: f64 = f64(2.0) }
let m = M()
print(grad(m.used * 3.0, m))
)",
                       {}, &warnings);
  REQUIRE(m);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].message.find("'unused' gets no gradient") != std::string::npos);
  CHECK(warnings[0].loc.line == 5);
}
