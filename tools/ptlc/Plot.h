//===- tools/ptlc/Plot.h - `ptlc plot`: a training log as an SVG picture -------===//
//
//   ptlc plot RUN.csv [-o RUN.svg] [--log-y] [--overlay]
//
// Reads a CSV file with a header row that has a `step` column (what `train
// ... log every K to "run.csv"` writes: `step,loss`) and writes a standalone
// SVG drawing every other column against the step: one panel per column,
// stacked, sharing the x axis (ticks and the `step` label under the last
// panel), each titled with its column name; or, with --overlay, all columns
// in one panel with a legend. --log-y uses a log10 y axis (values <= 0 are
// left out, with a note on stderr). A NaN or infinite value breaks the line:
// each run of finite points is its own <polyline data-column="NAME">, and a
// run of one point is also marked with a dot.
//
// The drawing is runtime/PlotSvg.h's. The CSV is read with runtime/Formats.h (so its errors name the file, line
// and column) and the SVG written with its atomic writer, both under the
// sandbox ptlc sets (the CSV's directory, the working directory,
// --allow-dir's; a symbolic link to elsewhere is refused, and the output
// replaces a link rather than writing through it). Errors go to stderr as
// `ptlc plot: error: ...`, exit status 1.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace ptl::ptlc {

/// The options of `ptlc plot` beyond the CSV file.
struct PlotOptions {
  std::string output;   ///< -o: the SVG (default: the CSV's path with .svg)
  bool logY = false;    ///< --log-y: log10 y axis
  bool overlay = false; ///< --overlay: one panel with a legend
};

/// Registers -o, --log-y and --overlay on the `plot` subcommand.
void addPlotOptions(CLI::App &plot, PlotOptions &o);

/// `ptlc plot CSV`: reads the file, writes the SVG, reports errors on
/// stderr; returns the exit status (0 or 1).
int plotCsv(const std::string &csv, const PlotOptions &o);

} // namespace ptl::ptlc
