//===- runtime/PlotSvg.h - Training curves as a standalone SVG picture -------===//
//
// Draws columns of numbers against a step column as a standalone SVG
// document: one panel per column, stacked, sharing the x axis (ticks and the
// `step` label under the last panel), each titled with its column name; or,
// overlaid, all columns in one panel with a legend. A log10 y axis leaves
// values <= 0 out (with a note). A NaN or infinite value breaks the line:
// each run of finite points is its own <polyline data-column="NAME">, and a
// run of one point is also marked with a dot.
//
// Used by `ptlc plot` (tools/ptlc/Plot.h) and by a running `train ... plot
// to "run.svg"` (ir/interp/Kernels.cpp), so it lives here, below both.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>
#include <vector>

namespace ptl {

/// One column to draw: its name and its values in row order.
struct PlotSeries {
  std::string name;
  std::vector<double> values;
};

/// How to draw.
struct PlotStyle {
  bool logY = false;    ///< log10 y axis
  bool overlay = false; ///< one panel with a legend
};

/// Draws `series` against `steps` (same length each) as a standalone SVG
/// document. `notes` receives one line per column that lost values to the
/// log scale.
std::string renderPlotSvg(const std::vector<double> &steps, const std::vector<PlotSeries> &series,
                          const PlotStyle &style, std::vector<std::string> &notes);

} // namespace ptl
