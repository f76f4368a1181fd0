//===- tests/api/ApiTests.cpp - The C++ embedding API (<ptl/ptl.hpp>) ---------===//
//
// Linked against the shared library only, as a host program is. Values are
// checked against results worked out by hand; every error case checks the
// exception's type and message and that the engine keeps working after it.
//
//===----------------------------------------------------------------------===//
#include <ptl/ptl.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <thread>

#include <unistd.h>

namespace fs = std::filesystem;

namespace {

const char *kModel = R"(
model Affine {
  param w: f32[3] = ones()
  param s: f32 = 2.0 constrain > 0
  param frozen: f32 = 5.0 stop_grad
  fn apply(x: f32[N, 3]) -> f32[N] = sum(x * w, axis = 1) * s + frozen
}
fn predict(m: Affine, x: f32[N, 3]) -> f32[N] = m.apply(x)
fn loss(m: Affine, x: f32[N, 3], y: f32[N]) -> f32 = mean((m.apply(x) - y) ^ 2)
fn gradient(m: Affine, x: f32[N, 3], y: f32[N]) -> Affine = grad(loss(m, x, y), m)
fn scale(x: f32[N], k: f32) -> f32[N] = x * k
fn both(x: f32[N]) -> (f32, f32[N]) = (sum(x), x * 2.0)
fn pick(x: f32[4], i: i32[2]) -> f32[2] = take(x, i, axis = 0)
fn checked(x: f32) -> f32 {
  let m = Bounded(v = x)
  return m.v
}
model Bounded {
  param v: f32 = 0.5 constrain in [0, 1] check
}
)";

ptl::Engine &engine() {
  static ptl::Engine e;
  return e;
}

ptl::Module &module() {
  static ptl::Module m = engine().load_string(kModel, "affine.ptl");
  return m;
}

} // namespace

TEST_CASE("a function is specialised per argument shape and computes the right values", "[api]") {
  ptl::Function scale = module().function("scale");
  std::vector<float> a = {1, 2, 3};
  std::vector<float> b = {1, 2, 3, 4, 5};
  ptl::Value ra = scale(ptl::Tensor::view(a.data(), {3}), 2.0f);
  ptl::Value rb = scale(ptl::Tensor::view(b.data(), {5}), 0.5f);
  CHECK(ra.type() == "f32[3]");
  CHECK(rb.type() == "f32[5]");
  CHECK(ra.tensor().toVector<float>() == std::vector<float>{2, 4, 6});
  CHECK(rb.tensor().toVector<float>() == std::vector<float>{0.5f, 1, 1.5f, 2, 2.5f});
}

TEST_CASE("functions with the same argument types are different functions", "[api]") {
  ptl::Module mod = engine().load_string("fn inc(x: f32) -> f32 = x + 1.0\nfn dbl(x: f32) -> f32 = x * 2.0\n", "two.ptl");
  CHECK(mod.function("inc")(5.0f).scalar<float>() == 6.0f);
  CHECK(mod.function("dbl")(5.0f).scalar<float>() == 10.0f);
  CHECK(mod.function("inc")(5.0f).scalar<float>() == 6.0f);
}

TEST_CASE("views are not copied: the compiled code reads the host's buffer", "[api]") {
  ptl::Function scale = module().function("scale");
  std::vector<float> a = {1, 2, 3};
  ptl::Tensor view = ptl::Tensor::view(a.data(), {3});
  CHECK(scale(view, 1.0f).tensor().toVector<float>() == std::vector<float>{1, 2, 3});
  a[1] = 40;
  CHECK(scale(view, 1.0f).tensor().toVector<float>() == std::vector<float>{1, 40, 3});
  ptl::Tensor copy = ptl::Tensor::from(a, {3});
  a[1] = 7;
  CHECK(copy.toVector<float>() == std::vector<float>{1, 40, 3});
}

TEST_CASE("an argument of another dtype is an error naming it, unless the host asks for conversion", "[api]") {
  std::vector<float> a = {1, 2};
  std::vector<int32_t> ai = {1, 2};
  ptl::Function scale = module().function("scale");
  // An i32 scalar for the f32 parameter k (position 2).
  try {
    scale(ptl::Tensor::view(a.data(), {2}), int32_t(3));
    FAIL("an i32 was accepted for an f32 parameter");
  } catch (const ptl::RuntimeError &e) {
    CHECK_THAT(e.what(), Catch::Contains("argument 2 'k' is i32, the parameter is f32"));
    CHECK_THAT(e.what(), Catch::Contains("with_conversion"));
  }
  // An i32 tensor for the f32[N] parameter x (position 1), in both call forms.
  std::vector<ptl::Value> args = {ptl::Tensor::view(ai.data(), {2}), 3.0f};
  std::vector<ptl::Tensor> out = {ptl::Tensor::zeros(ptl::DType::F32, {2})};
  CHECK_THROWS_WITH(scale.call(args), Catch::Contains("argument 1 'x' is i32[2], the parameter is f32[2]"));
  CHECK_THROWS_WITH(scale.call_into(args, out), Catch::Contains("argument 1 'x' is i32[2], the parameter is f32[2]"));
  // Asked for, the conversion is PTL's.
  ptl::Function converting = scale.with_conversion();
  CHECK(converting(ptl::Tensor::view(a.data(), {2}), int32_t(3)).tensor().toVector<float>() == std::vector<float>{3, 6});
  converting.call_into(args, out);
  CHECK(out[0].toVector<float>() == std::vector<float>{3, 6});
  // The function itself still refuses, and works with the right dtypes.
  CHECK_THROWS_AS(scale(ptl::Tensor::view(a.data(), {2}), int32_t(3)), ptl::RuntimeError);
  CHECK(scale(ptl::Tensor::view(a.data(), {2}), 3.0f).tensor().toVector<float>() == std::vector<float>{3, 6});
}

TEST_CASE("tuple results come back as tuples", "[api]") {
  std::vector<float> a = {1, 2, 3};
  ptl::Value r = module().function("both")(ptl::Tensor::view(a.data(), {3}));
  REQUIRE(r.kind() == ptl::Value::Kind::Tuple);
  REQUIRE(r.size() == 2);
  CHECK(r[0].scalar<float>() == 6.0f);
  CHECK(r[1].tensor().toVector<float>() == std::vector<float>{2, 4, 6});
  CHECK(r.type() == "(f32, f32[3])");
}

TEST_CASE("make builds a model, param reads constrained values, raw the stored ones", "[api]") {
  ptl::Value m = module().make("Affine", 0);
  CHECK(m.is_model());
  CHECK(m.type() == "Affine");
  CHECK(m.paths() == std::vector<std::string>{"w", "s", "frozen"});
  CHECK(m.param("s").scalar<float>() == Approx(2.0f));
  // s = softplus(u): u = log(exp(2) - 1)
  CHECK(m.raw("s").scalar<float>() == Approx(std::log(std::exp(2.0) - 1.0)).epsilon(1e-6));
  CHECK(m.trainable("w"));
  CHECK_FALSE(m.trainable("frozen"));

  std::vector<float> x = {1, 2, 3, 0, 1, 0};
  ptl::Value y = module().function("predict")(m, ptl::Tensor::view(x.data(), {2, 3}));
  // sum(x * 1) * 2 + 5
  CHECK(y.tensor().toVector<float>() == std::vector<float>{17, 7});
}

TEST_CASE("make takes overrides in constrained coordinates, checked against the domain", "[api]") {
  std::vector<float> w = {1, 0, -1};
  ptl::Value m = module().make("Affine", 3, {{"w", ptl::Tensor::view(w.data(), {3})}, {"s", 0.5f}});
  CHECK(m.param("w").toVector<float>() == w);
  CHECK(m.param("s").scalar<float>() == Approx(0.5f));
  try {
    module().make("Affine", 0, {{"s", -1.0f}});
    FAIL("a negative s was accepted");
  } catch (const ptl::RuntimeError &e) {
    CHECK_THAT(e.what(), Catch::Contains("s"));
    CHECK_THAT(e.what(), Catch::Contains("domain"));
  }
}

TEST_CASE("set_param writes through the transform and set_raw checks the stored type", "[api]") {
  ptl::Value m = module().make("Affine", 0);
  ptl::Value before = m;
  m.set_param("s", ptl::Tensor::scalar(ptl::DType::F32, 3.0));
  CHECK(m.param("s").scalar<float>() == Approx(3.0f));
  CHECK(before.param("s").scalar<float>() == Approx(2.0f)); // values are immutable: copies unaffected
  m.set_raw("s", ptl::Tensor::scalar(ptl::DType::F32, 0.0));
  CHECK(m.param("s").scalar<float>() == Approx(std::log(2.0)).epsilon(1e-6)); // softplus(0)
  CHECK_THROWS_AS(m.set_raw("w", ptl::Tensor::zeros(ptl::DType::F32, {4})), ptl::RuntimeError);
  CHECK_THROWS_AS(m.raw("nope"), ptl::RuntimeError);
  CHECK_THROWS_AS(m.set_param("s", ptl::Tensor::scalar(ptl::DType::F32, -1.0)), ptl::RuntimeError);
  // A transformed leaf's stored value is validated like an initial value: NaN and inf are refused.
  CHECK_THROWS_AS(m.set_raw("s", ptl::Tensor::scalar(ptl::DType::F32, std::nan(""))), ptl::RuntimeError);
  CHECK_THROWS_AS(m.set_raw("s", ptl::Tensor::scalar(ptl::DType::F32, INFINITY)), ptl::RuntimeError);
  CHECK(m.param("s").scalar<float>() == Approx(std::log(2.0)).epsilon(1e-6)); // unchanged
}

TEST_CASE("a gradient comes back as a model value and matches the closed form", "[api]") {
  ptl::Value m = module().make("Affine", 0);
  std::vector<float> x = {1, 2, 3};
  std::vector<float> y = {10};
  ptl::Value g = module().function("gradient")(m, ptl::Tensor::view(x.data(), {1, 3}),
                                               ptl::Tensor::view(y.data(), {1}));
  REQUIRE(g.is_model());
  // pred = 6 * 2 + 5 = 17, r = 7; dL/dw_i = 2 r s x_i = 28 x_i
  CHECK(g.raw("w").toVector<float>() == std::vector<float>{28, 56, 84});
  // dL/du = 2 r * sum(x w) * sigmoid(u), with softplus(u) = 2
  double sig = 1.0 - std::exp(-2.0);
  CHECK(g.raw("s").scalar<double>() == Approx(2 * 7 * 6 * sig).epsilon(1e-5));
  CHECK(g.raw("frozen").scalar<float>() == 0.0f);
  // A gradient is a tangent: param() reads it as it is, not through s's transform.
  CHECK(g.param("s").scalar<double>() == g.raw("s").scalar<double>());
}

TEST_CASE("arguments that do not fit are a RuntimeError and the module keeps working", "[api]") {
  ptl::Function predict = module().function("predict");
  ptl::Value m = module().make("Affine", 0);
  std::vector<float> x(8, 1.0f);
  try {
    predict(m, ptl::Tensor::view(x.data(), {2, 4}));
    FAIL("no error");
  } catch (const ptl::RuntimeError &e) {
    CHECK_THAT(e.what(), Catch::Contains("predict(Affine, f32[2, 4])"));
    CHECK_THAT(e.what(), Catch::Contains("f32[N, 3]"));
    REQUIRE_FALSE(e.diagnostics().empty());
    CHECK(e.diagnostics()[0].severity == "error");
  }
  std::vector<double> xd(6, 1.0);
  CHECK_THROWS_AS(predict(m, ptl::Tensor::view(xd.data(), {2, 3})), ptl::RuntimeError); // f64 for f32
  CHECK_THROWS_AS(predict(m), ptl::RuntimeError);                                       // too few
  CHECK(predict(m, ptl::Tensor::view(x.data(), {2, 3})).tensor().toVector<float>() == std::vector<float>{11, 11});
}

TEST_CASE("a fault in compiled code is a RuntimeError with the .ptl location", "[api]") {
  std::vector<float> x = {1, 2, 3, 4};
  std::vector<int32_t> ok = {3, 0}, bad = {1, 9};
  ptl::Function pick = module().function("pick");
  CHECK(pick(ptl::Tensor::view(x.data(), {4}), ptl::Tensor::view(ok.data(), {2})).tensor().toVector<float>() ==
        std::vector<float>{4, 1});
  try {
    pick(ptl::Tensor::view(x.data(), {4}), ptl::Tensor::view(bad.data(), {2}));
    FAIL("no error");
  } catch (const ptl::RuntimeError &e) {
    REQUIRE_FALSE(e.diagnostics().empty());
    CHECK(e.diagnostics()[0].file == "affine.ptl");
    CHECK(e.diagnostics()[0].line == 13);
    CHECK_THAT(e.what(), Catch::Contains("9"));
  }
  try {
    module().function("checked")(1.5f);
    FAIL("no error");
  } catch (const ptl::RuntimeError &e) {
    CHECK_THAT(e.what(), Catch::Contains("v"));
    CHECK_THAT(e.what(), Catch::Contains("1.5"));
  }
  CHECK(module().function("checked")(0.25f).scalar<float>() == 0.25f);
}

TEST_CASE("source that does not compile is a CompileError with located diagnostics", "[api]") {
  try {
    engine().load_string("fn f(x: f32) -> f32 =\n  x + y\n", "broken.ptl");
    FAIL("no error");
  } catch (const ptl::CompileError &e) {
    REQUIRE_FALSE(e.diagnostics().empty());
    const ptl::Diagnostic &d = e.diagnostics()[0];
    CHECK(d.file == "broken.ptl");
    CHECK(d.line == 2);
    CHECK(d.col == 7);
    CHECK_THAT(d.message, Catch::Contains("'y'"));
    CHECK_THAT(d.rendered, Catch::Contains("broken.ptl:2:7: error:"));
    CHECK_THAT(d.rendered, Catch::Contains("^"));
  }
  CHECK_THROWS_AS(engine().load_file("/nonexistent/dir/model.ptl"), ptl::CompileError);
  CHECK_THROWS_AS(module().function("no_such_function"), ptl::CompileError);
  CHECK_THROWS_AS(module().make("NoSuchModel"), ptl::RuntimeError);
}

TEST_CASE("save and load round-trip a model and the sandbox refuses paths outside", "[api]") {
  fs::path dir = fs::temp_directory_path() / ("ptl_api_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  ptl::EngineOptions opts;
  opts.allowed_dirs = {dir.string()};
  ptl::Engine e(opts);
  ptl::Module mod = e.load_string(kModel, "affine.ptl");
  std::vector<float> w = {1, 2, 3};
  ptl::Value m = mod.make("Affine", 0, {{"w", ptl::Tensor::view(w.data(), {3})}});
  std::string file = (dir / "m.safetensors").string();
  mod.save(file, m);
  ptl::Value back = mod.load("Affine", file);
  CHECK(back.param("w").toVector<float>() == w);
  CHECK(back.raw("s").scalar<float>() == m.raw("s").scalar<float>());
  CHECK_THROWS_AS(mod.load("Affine", (dir / "missing.safetensors").string()), ptl::RuntimeError);
  try {
    mod.save("/proc/ptl_outside.safetensors", m);
    FAIL("no error");
  } catch (const ptl::RuntimeError &err) {
    CHECK_THAT(err.what(), Catch::Contains("/proc/ptl_outside.safetensors"));
  }
  fs::remove_all(dir);
}

TEST_CASE("the interpreter option gives the same results as the JIT", "[api]") {
  ptl::EngineOptions opts;
  opts.jit = false;
  ptl::Engine interp(opts);
  ptl::Module mod = interp.load_string(kModel, "affine.ptl");
  ptl::Value m = mod.make("Affine", 1);
  ptl::Value mj = module().make("Affine", 1);
  std::vector<float> x = {0.5f, -1, 2, 3, 0.25f, -2};
  std::vector<float> y = {1, 2};
  ptl::Value gi = mod.function("gradient")(m, ptl::Tensor::view(x.data(), {2, 3}), ptl::Tensor::view(y.data(), {2}));
  ptl::Value gj = module().function("gradient")(mj, ptl::Tensor::view(x.data(), {2, 3}),
                                                ptl::Tensor::view(y.data(), {2}));
  for (const std::string &p : gi.paths()) CHECK(gi.raw(p).toVector<float>() == gj.raw(p).toVector<float>());
}

TEST_CASE("several threads may call compiled functions of one module at once", "[api]") {
  ptl::Function scale = module().function("scale");
  std::vector<float> base(64);
  for (size_t i = 0; i < base.size(); ++i) base[i] = float(i);
  scale(ptl::Tensor::view(base.data(), {64}), 1.0f); // compile once
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int k = 0; k < 200; ++k) {
        float factor = float(t * 1000 + k);
        std::vector<float> r =
            scale(ptl::Tensor::view(base.data(), {64}), factor).tensor().toVector<float>();
        for (size_t i = 0; i < r.size(); ++i)
          if (r[i] != base[i] * factor) ++wrong;
      }
    });
  for (std::thread &th : threads) th.join();
  CHECK(wrong == 0);
}

TEST_CASE("print from compiled code goes to the engine stream and run() runs the statements", "[api]") {
  std::ostringstream out;
  ptl::EngineOptions opts;
  opts.out = &out;
  ptl::Engine e(opts);
  ptl::Module mod = e.load_string("fn f(x: f32) -> f32 {\n  print(\"x is\", x)\n  return x + 1.0\n}\n"
                                  "print(\"top level\", f(1.0))\n",
                                  "printing.ptl");
  CHECK(out.str().empty()); // loading does not run the statements
  CHECK(mod.function("f")(2.0f).scalar<float>() == 3.0f);
  CHECK(out.str() == "x is 2.0\n");
  out.str("");
  mod.run();
  CHECK(out.str() == "x is 1.0\ntop level 2.0\n");
}

TEST_CASE("a call over its time or memory budget is a RuntimeError and the engine carries on", "[api]") {
  const char *src = "fn spin(x: f32) -> f32 {\n  var s = x\n  for i in 0..100000000 {\n    s = s * 0.5 + 1.0\n  }\n  return s\n}\n"
                    "fn big(x: f32) -> f32 = sum(ones[4096, 4096] * x)\n"
                    "fn small(x: f32) -> f32 = x + 1.0\n";
  ptl::EngineOptions timed;
  timed.time_budget_seconds = 0.2;
  ptl::Engine e1(timed);
  ptl::Module m1 = e1.load_string(src, "budget.ptl");
  try {
    m1.function("spin")(1.0f);
    FAIL("no error");
  } catch (const ptl::RuntimeError &err) {
    CHECK_THAT(err.what(), Catch::Contains("time budget"));
    REQUIRE_FALSE(err.diagnostics().empty());
    CHECK(err.diagnostics()[0].line >= 3);
  }
  CHECK(m1.function("small")(1.0f).scalar<float>() == 2.0f);

  ptl::EngineOptions sized;
  sized.memory_budget_bytes = 16 << 20; // 16 MiB; ones[4096, 4096] is 64 MiB
  ptl::Engine e2(sized);
  ptl::Module m2 = e2.load_string(src, "budget.ptl");
  CHECK_THROWS_WITH(m2.function("big")(1.0f), Catch::Contains("memory budget"));
  CHECK(m2.function("small")(2.0f).scalar<float>() == 3.0f);
}

TEST_CASE("host strings never add statements to generated source: make and load check names", "[api]") {
  fs::path dir = fs::temp_directory_path() / ("ptl_api_inject_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::path cwd = fs::current_path();
  fs::current_path(dir); // where an injected save_npy("pwned.npy") would write
  std::ostringstream out;
  ptl::EngineOptions opts;
  opts.out = &out;
  ptl::Engine e(opts);
  ptl::Module mod = e.load_string(kModel, "affine.ptl");
  const std::string inject = "w = a0) save_npy(\"pwned.npy\", ones[2]) print(\"pwned\") let z = Affine(seed = 0";
  auto refused = [&](const std::function<void()> &f, const std::string &name, const std::string &kind) {
    try {
      f();
      FAIL("accepted: " + name);
    } catch (const ptl::Error &err) {
      CHECK_THAT(err.what(), Catch::Contains("'" + name + "' is not a " + kind));
    }
  };
  std::vector<float> w = {1, 2, 3};
  refused([&] { mod.make("Affine", 0, {{inject, ptl::Tensor::view(w.data(), {3})}}); }, inject, "parameter path");
  refused([&] { mod.make("Affine", 0, {{"w\nprint(1)", 1.0f}}); }, "w\nprint(1)", "parameter path");
  refused([&] { mod.make("Affine", 0, {{"w.", 1.0f}}); }, "w.", "parameter path");
  refused([&] { mod.make("Affine", 0, {{"", 1.0f}}); }, "", "parameter path");
  const std::string badType = "Affine(seed = 1) print(\"pwned\") fn g() -> Affine = Affine";
  refused([&] { mod.make(badType, 0); }, badType, "model type");
  refused([&] { mod.make("Affine(save_npy(\"pwned.npy\", ones[2]))", 0); }, "Affine(save_npy(\"pwned.npy\", ones[2]))",
          "model type");
  refused([&] { mod.load(badType, "m.safetensors"); }, badType, "model type");
  CHECK_THROWS_WITH(mod.save("m\r.safetensors", mod.make("Affine", 0)), Catch::Contains("control character"));
  CHECK(out.str().empty());
  CHECK_FALSE(fs::exists(dir / "pwned.npy"));
  // Good names still work, paths into sub-models and type arguments included.
  ptl::Module nn = e.load_string("import \"std/nn\"\nmodel Two {\n  l1: Linear(2, 3)\n}\n", "two.ptl");
  ptl::Value two = nn.make("Two", 0, {{"l1.b", ptl::Tensor::zeros(ptl::DType::F32, {3})}});
  CHECK(two.param("l1.b").toVector<float>() == std::vector<float>{0, 0, 0});
  CHECK(nn.make("Linear(2, 3)", 0).paths() == std::vector<std::string>{"W", "b"});
  fs::current_path(cwd);
  fs::remove_all(dir);
}

TEST_CASE("a model passed to another module must be of the same type there, not only of the same name", "[api]") {
  ptl::Engine &e = engine();
  ptl::Module a = e.load_string("model M {\n  param w: f32 = 2.0 reparam exp\n}\nfn get(m: M) -> f32 = m.w\n", "a.ptl");
  ptl::Module b = e.load_string("model M {\n  param w: f32 = 2.0\n}\nfn get(m: M) -> f32 = m.w\n", "b.ptl");
  ptl::Module c = e.load_string("model M {\n  param w: f32[2] = ones() reparam exp\n}\nfn get(m: M) -> f32 = sum(m.w)\n",
                                "c.ptl");
  ptl::Module d = e.load_string("model M {\n  param w: f32 = 0.0 reparam exp\n}\nfn get(m: M) -> f32 = m.w * 10.0\n",
                                "d.ptl");
  ptl::Module f = e.load_string("model M {\n  param v: f32 = 0.0\n}\nfn get(m: M) -> f32 = m.v\n", "f.ptl");
  ptl::Value m = a.make("M", 0);
  CHECK(a.function("get")(m).scalar<float>() == Approx(2.0f));
  // b's M reads w without the transform: the stored log(2) would come back.
  try {
    b.function("get")(m);
    FAIL("b accepted a's M");
  } catch (const ptl::Error &err) {
    std::string what = err.what();
    CHECK_THAT(what, Catch::Contains("a.ptl's M") && Catch::Contains("b.ptl's M") &&
                         Catch::Contains("parameter 'w' has 'exp' there, no transform here"));
  }
  CHECK_THROWS_WITH(c.function("get")(m), Catch::Contains("parameter 'w' is f32 (stored f32) there, f32[2] (stored f32[2]) here"));
  CHECK_THROWS_WITH(f.function("get")(m), Catch::Contains("its parameters are w there, v here"));
  // Inside a tuple too.
  ptl::Module t = e.load_string("model M {\n  param w: f32 = 2.0\n}\nfn get(p: (f32, M)) -> f32 = p.1.w\n", "t.ptl");
  CHECK_THROWS_WITH(t.function("get")(ptl::Value::tuple({ptl::Value(1.0f), m})),
                    Catch::Contains("a.ptl's M") && Catch::Contains("t.ptl's M"));
  // A module whose M is the same type (other initial values, other methods) takes it.
  CHECK(d.function("get")(m).scalar<float>() == Approx(20.0f));
  // And the module keeps working.
  CHECK(b.function("get")(b.make("M", 0)).scalar<float>() == Approx(2.0f));
}

TEST_CASE("code_cache_dir redirects the code cache and code_cache = false turns it off", "[api]") {
  fs::path root = fs::temp_directory_path() / ("ptl-api-cache-" + std::to_string(::getpid()));
  fs::remove_all(root);
  auto entries = [](const fs::path &dir) {
    size_t n = 0;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
      if (it->path().extension() == ".ptlo") ++n;
    return n;
  };
  const char *src = "fn cube(x: f32) -> f32 = x * x * x + 0.5\n";
  float results[3];
  {
    ptl::EngineOptions opts;
    opts.code_cache_dir = (root / "on").string();
    ptl::Engine e(opts);
    results[0] = e.load_string(src, "cube.ptl").function("cube")(1.5f).scalar<float>();
  }
  CHECK(entries(root / "on") == 1);
  {
    ptl::EngineOptions opts;
    opts.code_cache_dir = (root / "on").string(); // a hit now
    ptl::Engine e(opts);
    results[1] = e.load_string(src, "cube.ptl").function("cube")(1.5f).scalar<float>();
  }
  CHECK(entries(root / "on") == 1);
  {
    ptl::EngineOptions opts;
    opts.code_cache = false;
    opts.code_cache_dir = (root / "off").string();
    ptl::Engine e(opts);
    results[2] = e.load_string(src, "cube.ptl").function("cube")(1.5f).scalar<float>();
  }
  CHECK_FALSE(fs::exists(root / "off"));
  CHECK(results[0] == 3.875f);
  CHECK(results[1] == results[0]);
  CHECK(results[2] == results[0]);
  fs::remove_all(root);
}

TEST_CASE("a diverged train throws RuntimeError with the step, the leaf and the last finite parameters", "[api][train]") {
  // d/db sqrt(0 b + 3 - step) is NaN at step 3; a = 1 (1 - 0.2)^2 = 0.64 after steps 1 and 2.
  const char *src = R"(
model L {
  param a: f32 = 1.0
  param b: f32 = 0.0
}
fn fit(m: L) -> L {
  var w = m
  train w minimizing w.a * w.a + sqrt(w.b * 0.0 + f32(3 - step)) with sgd(lr = 0.1) for 10 steps
  return w
}
)";
  for (bool jit : {true, false}) {
    ptl::EngineOptions o;
    o.jit = jit;
    std::ostringstream err;
    o.err = &err;
    ptl::Engine eng(o);
    ptl::Module mod = eng.load_string(src, "diverge.ptl");
    ptl::Value m = mod.make("L");
    try {
      mod.function("fit")(m);
      FAIL("no error");
    } catch (const ptl::RuntimeError &e) {
      INFO(e.what());
      CHECK(std::string(e.what()).find("diverge.ptl:8:3: training diverged at step 3: the gradient of 'b'") !=
            std::string::npos);
      const ptl::TrainStop *s = e.train_stop();
      REQUIRE(s);
      CHECK(s->step == 3);
      CHECK(s->reason == "gradient");
      CHECK(s->path == "b");
      CHECK(s->variable == "w");
      REQUIRE(s->paths == std::vector<std::string>{"a", "b"});
      REQUIRE(s->params.size() == 2);
      CHECK(std::abs(s->params[0].scalar<float>() - 0.64f) < 1e-6f);
      CHECK(s->params[1].scalar<float>() == 0.0f);
      // the host's value is untouched and takes the kept parameters
      CHECK(m.param("a").scalar<float>() == 1.0f);
      for (size_t k = 0; k < s->paths.size(); ++k) m.set_raw(s->paths[k], s->params[k]);
      CHECK(std::abs(m.param("a").scalar<float>() - 0.64f) < 1e-6f);
    }
    // other errors carry no train stop
    try {
      mod.function("fit")(ptl::Value(1.0f));
      FAIL("no error");
    } catch (const ptl::RuntimeError &e) {
      CHECK(e.train_stop() == nullptr);
    }
  }
}
