//===- frontend/TrainLog.cpp - A train loop's metrics and early stopping ----===//
//
// The part of `train` that reports: the metric columns of
// `log every K ... with NAME = EXPR, ...` and the conditions of
// `until COND, ...`, elaborated inside the loop's body (the model bound to
// the step's parameters, before the optimiser's update) as
//
//   due = step % K == 0 || step == N
//   (m1, ..., mk, c1, ..., cj) = if due { (EXPR1, ..., COND1, ...) }
//                                else    { (NaN or 0, ..., false, ...) }
//
// so they cost nothing on the other steps. The values become operands of the
// step's train_progress op, which writes them (CSV columns, progress line)
// and decides to stop (ir/interp/Kernels.cpp runTrainProgress). Also the
// shape of the log file a same-run load_csv reads (trainLogRows).
//
//===----------------------------------------------------------------------===//
#include "frontend/Elaborator.h"

#include <cmath>
#include <limits>
#include <set>

namespace ptl {
namespace sema {

int64_t trainLogRows(int64_t steps, int64_t every) {
  // Rows at the multiples of K, and one more at step N when N is not one.
  if (steps <= 0 || every <= 0) return 0;
  return steps / every + (steps % every != 0 ? 1 : 0);
}

std::optional<TrainReport> Elaborator::elabTrainReport(const ast::TrainStmt &s, ir::Value *step,
                                                       int64_t steps, int64_t every) {
  TrainReport r;
  if (s.metrics.empty() && s.until.empty()) return r;
  if (every <= 0) {
    diags_.error(s.until.front().loc) << "'until' needs a 'log every K' clause: its conditions are checked "
                                         "at the logged steps (every K steps and at the last one)";
    return std::nullopt;
  }
  // Metric names: distinct, and not the CSV's first columns.
  std::set<std::string> seen;
  for (const ast::TrainMetric &m : s.metrics) {
    if (m.name == "step" || m.name == "loss") {
      diags_.error(m.nameLoc) << "a metric cannot be named '" << m.name
                              << "': the log's first columns are 'step' and 'loss'";
      return std::nullopt;
    }
    if (!seen.insert(m.name).second) {
      diags_.error(m.nameLoc) << "metric '" << m.name << "' is defined twice";
      return std::nullopt;
    }
  }
  std::vector<int64_t> untilMetric, patience;
  std::vector<std::string> untilText;
  for (const ast::StopCond &c : s.until) {
    untilText.push_back(c.text);
    if (c.cond) {
      untilMetric.push_back(-1);
      patience.push_back(0);
      continue;
    }
    auto it = std::find_if(s.metrics.begin(), s.metrics.end(),
                           [&](const ast::TrainMetric &m) { return m.name == c.stalls; });
    if (it == s.metrics.end()) {
      std::string known;
      for (const ast::TrainMetric &m : s.metrics) known += (known.empty() ? "" : ", ") + m.name;
      diags_.error(c.stallsLoc) << "unknown metric '" << c.stalls << "' in 'until' "
                                << (known.empty() ? "(define metrics with 'log every K with NAME = EXPR')"
                                                  : "(the metrics are: " + known + ")");
      return std::nullopt;
    }
    std::optional<int64_t> p = constInt(*c.patience, "the patience");
    if (!p) return std::nullopt;
    if (*p < 1) {
      diags_.error(c.patience->loc) << "the patience must be at least 1 evaluation, got " << *p;
      return std::nullopt;
    }
    untilMetric.push_back(it - s.metrics.begin());
    patience.push_back(*p);
  }

  // due = step % K == 0 || step == N
  b().setLoc(irLoc(s.loc));
  ir::Value *i32K = b().scalar(DType::I32, (double)every), *i32N = b().scalar(DType::I32, (double)steps);
  ir::Value *zero = b().scalar(DType::I32, 0);
  ir::Value *due = b().make(ir::OpKind::Or, {b().make(ir::OpKind::Eq, {b().make(ir::OpKind::Mod, {step, i32K}), zero}),
                                             b().make(ir::OpKind::Eq, {step, i32N})});
  ir::Op *op = b().create(ir::OpKind::If, {due}, {});
  ir::Region *outer = b().region();
  ir::Region *then = op->addRegion(), *otherwise = op->addRegion();

  // then: the metrics, then the conditions with the metrics in scope
  b().setRegion(then);
  pushScope();
  std::vector<ir::Value *> values;
  bool ok = true;
  for (const ast::TrainMetric &m : s.metrics) {
    SValue v = elabExpr(*m.value);
    if (v.poisoned) {
      ok = false;
      continue;
    }
    if (v.weak && v.type.isTensor()) v = convertTo(v, v.type.tensor.dtype);
    if (!v.type.isScalar() || v.type.tensor.dtype == DType::Bool || v.isString) {
      diags_.error(m.value->loc) << "metric '" << m.name << "' must be a number scalar (f32, f64 or i32), got "
                                 << (v.isString ? "a string" : v.type.str());
      ok = false;
      continue;
    }
    values.push_back(v.leaves[0]);
    define(m.name, v, false, m.nameLoc);
  }
  if (ok) {
    for (const ast::StopCond &c : s.until) {
      if (!c.cond) continue;
      SValue v = elabExpr(*c.cond);
      if (v.poisoned) {
        ok = false;
        continue;
      }
      if (v.isString || !v.type.isScalar() || v.type.tensor.dtype != DType::Bool) {
        diags_.error(c.cond->loc) << "an 'until' condition must be a bool scalar, got "
                                  << (v.isString ? "a string" : v.type.str());
        ok = false;
        continue;
      }
      values.push_back(tensorValue(v, DType::Bool));
    }
  }
  popScope();
  b().setLoc(irLoc(s.loc));
  b().create(ir::OpKind::Yield, ok ? values : std::vector<ir::Value *>{}, {});

  // otherwise: NaN (floats), 0 (i32), false (conditions)
  b().setRegion(otherwise);
  std::vector<ir::Value *> placeholders;
  if (ok)
    for (ir::Value *v : values) {
      DType dt = v->type().dtype;
      placeholders.push_back(b().scalar(dt, isFloat(dt) ? std::numeric_limits<double>::quiet_NaN() : 0.0));
    }
  b().create(ir::OpKind::Yield, placeholders, {});
  b().setRegion(outer);
  if (!ok) return std::nullopt;
  for (ir::Value *v : values) r.operands.push_back(op->addResult(v->type()));

  std::vector<std::string> names;
  for (const ast::TrainMetric &m : s.metrics) names.push_back(m.name);
  if (!names.empty()) r.attrs["metrics"] = names;
  if (!untilText.empty()) {
    r.attrs["until"] = untilText;
    r.attrs["until_metric"] = untilMetric;
    r.attrs["patience"] = patience;
  }
  return r;
}

} // namespace sema
} // namespace ptl
