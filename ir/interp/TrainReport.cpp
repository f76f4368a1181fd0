//===- ir/interp/TrainReport.cpp - A train loop's metrics, stop and plot -----===//
//
// See TrainReport.h.
//
//===----------------------------------------------------------------------===//
#include "ir/interp/TrainReport.h"

#include "ir/interp/Progress.h"
#include "runtime/SafeWrite.h"

#include <cmath>

namespace ptl::ir {

std::string recordLoggedRow(TrainRun &run, const Op &op, const std::vector<Tensor> &in, int64_t step) {
  std::vector<std::string> names = op.hasAttr("metrics") ? op.strsAttr("metrics") : std::vector<std::string>{};
  std::string cells;
  run.metricsText.clear();
  for (size_t i = 0; i < names.size(); ++i) {
    const Tensor &v = in[2 + i];
    cells += "," + formatTensor(v);
    run.metricsText += (i ? "  " : "") + names[i] + " " +
                       (isFloat(v.dtype()) ? progress::formatLoss(v.getDouble(0))
                                           : std::to_string((long long)v.getDouble(0)));
  }

  if (op.hasAttr("until")) {
    std::vector<std::string> until = op.strsAttr("until");
    std::vector<int64_t> metric = op.intsAttr("until_metric"), patience = op.intsAttr("patience");
    run.best.resize(until.size(), NAN);
    run.bestStep.resize(until.size(), 0);
    run.since.resize(until.size(), -1);
    size_t cond = 2 + names.size();
    for (size_t i = 0; i < until.size(); ++i) {
      std::string why;
      if (metric[i] < 0) {
        if (in[cond++].getDouble(0) != 0) why = until[i];
      } else {
        // best = min over the logged rows so far; since = rows without a new minimum
        double v = in[2 + (size_t)metric[i]].getDouble(0);
        if (run.since[i] < 0 || v < run.best[i] || (std::isnan(run.best[i]) && !std::isnan(v))) {
          run.best[i] = v;
          run.bestStep[i] = step;
          run.since[i] = 0;
        } else if (++run.since[i] >= patience[i]) {
          why = until[i] + " (best " + progress::formatLoss(run.best[i]) + " at step " +
                std::to_string(run.bestStep[i]) + ")";
        }
      }
      if (!why.empty() && run.stopReason.empty()) run.stopReason = why;
    }
  }

  if (!run.plotPath.empty()) {
    if (run.plotColumns.empty()) {
      run.plotColumns.push_back({"loss", {}});
      for (const std::string &n : names) run.plotColumns.push_back({n, {}});
    }
    run.plotSteps.push_back((double)step);
    for (size_t c = 0; c < run.plotColumns.size(); ++c) run.plotColumns[c].values.push_back(in[1 + c].getDouble(0));
    run.plotDirty = true;
  }
  return cells;
}

void drawTrainPlot(TrainRun &run, bool force) {
  if (run.plotPath.empty() || !run.plotDirty) return;
  auto now = std::chrono::steady_clock::now();
  if (!force && now - run.lastPlot < std::chrono::seconds(1)) return;
  std::vector<std::string> notes;
  writeFileAtomically(run.plotPath, renderPlotSvg(run.plotSteps, run.plotColumns, PlotStyle{}, notes));
  run.lastPlot = now;
  run.plotDirty = false;
}

} // namespace ptl::ir
