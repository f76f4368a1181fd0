//===- ir/interp/TrainReport.h - A train loop's metrics, stop and plot -------===//
//
// The parts of the train_progress op (ir/Ops.def) beyond the step and the
// loss, run at a logged step (every K steps and at the last one):
//
//   metrics     the operands after the loss, one per name of attr `metrics`:
//               CSV cells after `step,loss`, and `val 0.015  acc 0.93` on the
//               progress line until the next logged step;
//   until       attr `until` (the conditions as written): a condition of
//               until_metric -1 holds when its bool operand (after the
//               metrics) is true; one of until_metric i holds when metric i
//               reached no new minimum (strictly smaller) in `patience`
//               consecutive logged rows. The first condition that holds (in
//               source order) becomes TrainRun::stopReason, and the loop
//               stops after this step (Interpreter::stopTrainAfter);
//   plot        attr `plot`: the logged rows drawn with runtime/PlotSvg.h and
//               written atomically (runtime/SafeWrite.h) at most once a
//               second, and at the end of the loop (last step, early stop,
//               Ctrl-C).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/interp/Interpreter.h"

#include <string>
#include <vector>

namespace ptl::ir {

/// Records the logged row of train_progress `op` (operands `in`: step, loss,
/// metrics, conditions) in `run` at `step`: its metrics for the progress
/// line, the `until` conditions (setting run.stopReason when one holds) and
/// the plot's rows. Returns the row's CSV cells after the loss (`,0.015,0.93`).
std::string recordLoggedRow(TrainRun &run, const Op &op, const std::vector<Tensor> &in, int64_t step);

/// Writes run's plot when it has new rows and, unless `force`, a second has
/// passed since the last write. Throws RuntimeFault when the write fails.
void drawTrainPlot(TrainRun &run, bool force);

} // namespace ptl::ir
