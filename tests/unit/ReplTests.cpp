//===- tests/unit/ReplTests.cpp - The REPL's session logic -----------------===//
//
// repl::Session (tools/ptlc/ReplSession.h) driven entry by entry, with its
// output and diagnostics captured: definitions and their use, redefinition,
// errors that leave the state intact, var updates that persist, `:type`,
// `:gradcheck`, model bindings across entries (and dropped when their model
// changes), and the continuation rule for multi-line entries.
//
//===----------------------------------------------------------------------===//
#include "tools/ptlc/ReplSession.h"

#include <catch2/catch.hpp>

#include <sstream>

using namespace ptl;
using namespace ptl::repl;

namespace {

/// A session writing to string streams.
struct TestSession {
  std::ostringstream out, err;
  Session s{SessionConfig{&out, &err, nullptr}};

  /// Handles `entry` and returns what it printed on stdout (cleared after).
  std::string run(const std::string &entry, bool expectOk = true) {
    out.str("");
    err.str("");
    bool ok = s.handle(entry);
    INFO("entry: " << entry << "\nstderr: " << err.str());
    CHECK(ok == expectOk);
    return out.str();
  }
};

std::vector<double> valuesOf(const Binding &b, size_t leaf = 0) {
  std::vector<double> v;
  for (int64_t i = 0; i < b.values.at(leaf).numel(); ++i) v.push_back(b.values[leaf].getDouble(i));
  return v;
}

} // namespace

TEST_CASE("REPL definition and use of a function", "[repl]") {
  TestSession t;
  CHECK(t.run("fn sq(x: f32) -> f32 = x * x") == "");
  CHECK(t.run("sq(3.0)") == "f32 = 9.0\n");
  CHECK(t.run("let v = [1.0, 2.0, 3.0]") == "");
  CHECK(t.run("v * 2.0") == "f32[3] = [2. 4. 6.]\n");
  REQUIRE(t.s.binding("v"));
  CHECK(valuesOf(*t.s.binding("v")) == std::vector<double>{1, 2, 3});
}

TEST_CASE("REPL redefinition replaces a function and a binding", "[repl]") {
  TestSession t;
  t.run("fn f(x: f32) -> f32 = x + 1.0");
  CHECK(t.run("f(2.0)") == "f32 = 3.0\n");
  t.run("fn f(x: f32) -> f32 = x * 10.0");
  CHECK(t.run("f(2.0)") == "f32 = 20.0\n");
  CHECK(t.s.declarationNames().size() == 1);
  t.run("let a = 1.0");
  t.run("let a = [5.0, 6.0]");
  CHECK(t.run("a") == "f32[2] = [5. 6.]\n");
}

TEST_CASE("REPL error prints a diagnostic and leaves the state intact", "[repl]") {
  TestSession t;
  t.run("let a = 2.0");
  t.run("fn g(x: f32) -> f32 = x");
  // A type error in an entry that also (re)declares g and binds b.
  t.run("fn g(x: f32) -> f32 = x * 100.0\nlet b = a + nope", false);
  CHECK(t.err.str().find("<repl>:2:13: error: unknown name 'nope'") != std::string::npos);
  CHECK(t.s.binding("b") == nullptr);
  CHECK(t.run("g(a)") == "f32 = 2.0\n"); // the old g
  // A run-time error (an index out of range) does not commit either.
  t.run("var c = 1.0");
  t.run("c = 5.0\nlet bad = take([1.0, 2.0], [7], axis = 0)", false);
  CHECK(t.err.str().find("error") != std::string::npos);
  CHECK(valuesOf(*t.s.binding("c")) == std::vector<double>{1});
}

TEST_CASE("REPL var updates persist across entries", "[repl]") {
  TestSession t;
  t.run("var w = [1.0, 2.0]");
  t.run("w += 1.0");
  t.run("w = w * w");
  REQUIRE(t.s.binding("w"));
  CHECK(t.s.binding("w")->decl.isVar);
  CHECK(valuesOf(*t.s.binding("w")) == std::vector<double>{4, 9});
  // A let cannot be assigned, in a later entry too.
  t.run("let k = 1.0");
  t.run("k = 2.0", false);
  CHECK(t.err.str().find("error") != std::string::npos);
}

TEST_CASE("REPL constants stay compile-time constants", "[repl]") {
  TestSession t;
  t.run("let n = 4");
  CHECK(t.run("sum(ones[n])") == "f32 = 4.0\n");
}

TEST_CASE("REPL type command prints the type without running", "[repl]") {
  TestSession t;
  t.run("let v = [1.0, 2.0, 3.0]");
  CHECK(t.run(":type v * 2.0") == "f32[3]\n");
  CHECK(t.run(":type (sum(v), v)") == "(f32, f32[3])\n");
  CHECK(t.run(":type print(1)") == "()\n"); // not run: nothing printed
  t.run(":type nope", false);
}

TEST_CASE("REPL gradcheck passes on a correct gradient", "[repl]") {
  TestSession t;
  t.run("var w = [0.5, -1.0, 2.0]");
  std::optional<GradCheckResult> r = t.s.gradCheck("sum(w ^ 3) + mean(exp(w))", "w");
  REQUIRE(r);
  CHECK(r->pass);
  CHECK(r->checked == 3);
  CHECK(r->maxRelError < 1e-2);
  std::string o = t.run(":gradcheck sum(w ^ 3) + mean(exp(w)), w");
  CHECK(o.find("gradcheck: 3 elements") == 0);
  CHECK(o.find("PASS") != std::string::npos);
  // f64: a tighter tolerance.
  t.run("var d = f64([0.3, 0.7])");
  std::optional<GradCheckResult> r64 = t.s.gradCheck("sum(sin(d) * d)", "d");
  REQUIRE(r64);
  CHECK(r64->pass);
  CHECK(r64->maxAbsError < 1e-6);
  t.run(":gradcheck sum(w), nope", false);
}

TEST_CASE("REPL model bindings persist and train", "[repl]") {
  TestSession t;
  t.run("model Q {\n  param a: f32 = 0.0\n}");
  t.run("var m = Q()");
  // loss (a - 3)^2, SGD lr 0.25: a <- a - 0.5 (a - 3), so a_k = 3 (1 - 0.5^k).
  t.run("train m minimizing (m.a - 3.0) ^ 2 with sgd(lr = 0.25) for 3 steps");
  CHECK(valuesOf(*t.s.binding("m")) == std::vector<double>{3 * (1 - 0.125)});
  CHECK(t.run("m.a") == "f32 = 2.625\n");
  CHECK(t.run(":gradcheck (m.a - 1.0) ^ 2, m").find("PASS") != std::string::npos);
  // A redefinition with the same parameters keeps m; a different one drops it.
  t.run("model Q {\n  param a: f32 = 0.0\n  fn twice() -> f32 = 2.0 * a\n}");
  CHECK(t.run("m.twice()") == "f32 = 5.25\n");
  std::string o = t.run("model Q {\n  param a: f32[2] = zeros()\n}");
  CHECK(o.find("note: 'm' is no longer defined: the parameters of model 'Q' changed") != std::string::npos);
  CHECK(t.s.binding("m") == nullptr);
}

TEST_CASE("REPL keeps annotated sub-models and gradients as they read", "[repl]") {
  TestSession t;
  t.run("model I {\n  param v: f32 = 2.0\n}\nmodel P {\n  i: I\n  reparam i.v exp\n}");
  t.run("let p = P()");
  // A sub-model annotated by its enclosing model keeps its annotation across entries.
  t.run("let s = p.i");
  REQUIRE(t.s.binding("s") != nullptr);
  CHECK(t.run("s.v") == "f32 = 2.0\n");
  // A gradient stays a tangent across entries: it prints in stored coordinates.
  t.run("let g = grad(p.i.v * 0.0, p)");
  CHECK(t.run("g.i.v") == "f32 = 0.0\n");
}

TEST_CASE("REPL continuation lines while brackets are open", "[repl]") {
  CHECK(Session::needsMore("fn f(x: f32) -> f32 {\n"));
  CHECK(Session::needsMore("let v = [1.0,\n"));
  CHECK_FALSE(Session::needsMore("fn f(x: f32) -> f32 {\n  x\n}\n"));
  CHECK_FALSE(Session::needsMore("print(\"{\") // (\n"));
  CHECK(Session::needsMore("/* an open comment\n"));
  CHECK_FALSE(Session::needsMore("let a = 1.0\n"));
  TestSession t;
  CHECK(t.run("  // a comment only\n") == "");
  CHECK(t.run("let a = [1.0,\n  2.0]\na") == "f32[2] = [1. 2.]\n");
}

TEST_CASE("REPL unknown command and quit", "[repl]") {
  TestSession t;
  t.run(":frobnicate", false);
  CHECK(t.err.str().find("unknown command") != std::string::npos);
  CHECK(t.run(":help").find(":gradcheck EXPR, VAR") != std::string::npos);
  t.run(":quit");
  CHECK(t.s.quitRequested());
}
