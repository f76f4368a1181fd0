//===- tools/ptlc/Plot.cpp - `ptlc plot`: a training log as an SVG picture -----===//
//
// See Plot.h. The drawing itself is runtime/PlotSvg.cpp (shared with the
// `plot to` clause of `train`, which redraws its picture while it runs).
//
//===----------------------------------------------------------------------===//
#include "tools/ptlc/Plot.h"

#include "runtime/Errors.h"
#include "runtime/Formats.h"
#include "runtime/PlotSvg.h"
#include "runtime/SafeWrite.h"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>

namespace ptl::ptlc {

void addPlotOptions(CLI::App &plot, PlotOptions &o) {
  plot.add_option("-o,--output", o.output, "The SVG file to write (default: the CSV's name with .svg)");
  plot.add_flag("--log-y", o.logY, "Logarithmic y axis (values <= 0 are left out)");
  plot.add_flag("--overlay", o.overlay, "Draw every column in one panel, with a legend");
}

int plotCsv(const std::string &csv, const PlotOptions &o) {
  std::string output = o.output;
  if (output.empty()) output = std::filesystem::path(csv).replace_extension(".svg").string();
  try {
    std::vector<NamedTensor> columns = readCsv(csv);
    std::vector<double> steps;
    std::vector<PlotSeries> series;
    bool haveStep = false;
    for (const NamedTensor &c : columns) {
      const float *p = static_cast<const float *>(c.tensor.raw());
      std::vector<double> values(p, p + c.tensor.numel());
      if (c.name == "step" && !haveStep) {
        steps = std::move(values);
        haveStep = true;
      } else {
        series.push_back({c.name, std::move(values)});
      }
    }
    if (!haveStep) {
      std::cerr << "ptlc plot: error: " << csv << ": no 'step' column (the header has: ";
      for (size_t i = 0; i < columns.size(); ++i) std::cerr << (i ? ", " : "") << columns[i].name;
      std::cerr << "); the first row must name the columns, one of them 'step'\n";
      return 1;
    }
    if (series.empty()) {
      std::cerr << "ptlc plot: error: " << csv << ": nothing to draw: no column besides 'step'\n";
      return 1;
    }
    std::vector<std::string> notes;
    std::string svg = renderPlotSvg(steps, series, PlotStyle{o.logY, o.overlay}, notes);
    for (const std::string &n : notes) std::cerr << "ptlc plot: note: " << n << "\n";
    writeFileAtomically(output, svg);
  } catch (const RuntimeFault &e) {
    std::cerr << "ptlc plot: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

} // namespace ptl::ptlc
