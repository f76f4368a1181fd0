//===- tests/api/TrainLoopTests.cpp - The training loop through the C++ API --===//
//
// A host calls a function whose `train` uses the training-loop features of
// issue 16: `step` in the loss and in a schedule, `minibatch` and `fold_in`,
// AdamW with `cosine_lr`, `clip_norm`, a metric column and `until`. Both
// engines must return the same parameters, which are those `ptlc run` and the
// REPL give for the same statements (tests/repl/train_loop.sh: w = 1.5538038,
// b = 1.533621), and report the early stop on the engine's error stream.
//
//===----------------------------------------------------------------------===//
#include <ptl/ptl.hpp>

#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

TEST_CASE("train with step, minibatch, a schedule, clipping, a metric and until works through the API",
          "[api][train]") {
  const char *src = R"(
model Lin {
  param w: f32 = 0.0
  param b: f32 = 0.0
}
fn batch_loss(m: Lin, x: f32[N], y: f32[N], s: i32) -> f32 {
  let (xb, yb) = minibatch((x, y), 4, s, seed = 3)
  mean((m.w * xb + m.b - yb) ^ 2 + 0.0 * randn[4](fold_in(5, s)))
}
fn fit(m: Lin, x: f32[12], y: f32[12]) -> Lin {
  var v = m
  train v minimizing batch_loss(v, x, y, step) with adamw(lr = cosine_lr(step, 60, 0.2, warmup = 5), clip_norm = 1.0) for 60 steps log every 10 with full = mean((v.w * x + v.b - y) ^ 2) until full < 0.05
  return v
}
)";
  std::vector<float> x(12), y(12);
  for (int i = 0; i < 12; ++i) {
    x[i] = (float)i / 12.0f;
    y[i] = 2.0f * x[i] + 1.0f;
  }
  std::vector<float> results;
  for (bool jit : {true, false}) {
    INFO("jit " << jit);
    ptl::EngineOptions o;
    o.jit = jit;
    std::ostringstream err;
    o.err = &err;
    ptl::Engine eng(o);
    ptl::Module mod = eng.load_string(src, "fit.ptl");
    ptl::Value m = mod.make("Lin");
    ptl::Value fitted = mod.function("fit")(m, ptl::Tensor::view(x.data(), {12}), ptl::Tensor::view(y.data(), {12}));
    CHECK(err.str().find("train: stopped at step 10/60: full < 0.05") != std::string::npos);
    results.push_back(fitted.param("w").scalar<float>());
    results.push_back(fitted.param("b").scalar<float>());
  }
  CHECK(results[0] == 1.5538038f);
  CHECK(results[1] == 1.533621f);
  CHECK(results[2] == results[0]);
  CHECK(results[3] == results[1]);
}
