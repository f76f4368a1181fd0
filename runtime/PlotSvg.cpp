//===- runtime/PlotSvg.cpp - Training curves as a standalone SVG picture -----===//
//
// See PlotSvg.h. The SVG is plain text built here: a white page, then per panel
// a frame, grid lines at "nice" ticks (1, 2 or 5 times a power of ten; whole
// decades on a log axis), tick labels, the title and axis labels, and the
// data as polylines in the panel's coordinates.
//
//===----------------------------------------------------------------------===//
#include "runtime/PlotSvg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace ptl {
namespace {

// ---- Layout (SVG user units = pixels) --------------------------------------------------
constexpr double kWidth = 860;      // page width
constexpr double kLeft = 90;        // room for y tick labels and the y label
constexpr double kRight = 30;
constexpr double kTop = 12;         // above the first title
constexpr double kTitle = 26;       // title line above each panel
constexpr double kPanel = 180;      // height of one panel's plot area
constexpr double kOverlayPanel = 420;
constexpr double kGap = 18;         // between a panel and the next title
constexpr double kBottom = 52;      // x tick labels and the x label
constexpr double kPlotWidth = kWidth - kLeft - kRight;

/// A colour per column (matplotlib's tab10), reused cyclically.
const char *const kColours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

/// `s` with the five XML special characters escaped.
std::string xmlEscape(const std::string &s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&apos;"; break;
    default: out += c;
    }
  }
  return out;
}

/// A coordinate with two decimals.
std::string coord(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

/// One axis: the shown range [lo, hi] (in log10 units on a log axis) and its ticks.
struct Axis {
  double lo = 0, hi = 1;
  bool log = false;
  std::vector<double> ticks;

  /// Where `v` (already in axis units) falls, 0 at lo and 1 at hi.
  double frac(double v) const { return (v - lo) / (hi - lo); }
};

/// A round tick spacing giving about `target` intervals over `range`: 1, 2 or
/// 5 times a power of ten.
double niceStep(double range, int target) {
  double raw = range / target;
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double f = raw / mag;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

/// A linear axis over the data range [lo, hi], widened to whole ticks. An
/// empty or one-value range is widened around the value.
Axis linearAxis(double lo, double hi, int target) {
  Axis a;
  if (!(lo <= hi)) lo = 0, hi = 1;
  if (hi == lo) {
    double pad = lo == 0 ? 1 : std::fabs(lo) * 0.5;
    lo -= pad, hi += pad;
  }
  double step = niceStep(hi - lo, target);
  a.lo = std::floor(lo / step) * step;
  a.hi = std::ceil(hi / step) * step;
  for (double k = std::round(a.lo / step); k * step <= a.hi + step * 1e-9; k += 1)
    a.ticks.push_back(k * step);
  return a;
}

/// A log10 axis over positive data in [lo, hi] (given as log10 values):
/// whole decades, a tick every decade (every few when there are many).
Axis logAxis(double lo, double hi) {
  Axis a;
  a.log = true;
  if (!(lo <= hi)) lo = 0, hi = 1;
  a.lo = std::floor(lo);
  a.hi = std::ceil(hi);
  if (a.hi == a.lo) a.hi += 1;
  int every = std::max(1, (int)std::ceil((a.hi - a.lo) / 8));
  for (double k = a.lo; k <= a.hi; k += every) a.ticks.push_back(k);
  return a;
}

/// The label of tick `v` of axis `a` (`step`: the tick spacing, for rounding).
std::string tickLabel(const Axis &a, double v, double step) {
  char buf[32];
  if (a.log) {
    int k = (int)std::lround(v);
    if (k >= -3 && k <= 4) std::snprintf(buf, sizeof buf, "%g", std::pow(10.0, k));
    else std::snprintf(buf, sizeof buf, "1e%d", k);
  } else {
    if (std::fabs(v) < step * 1e-6) v = 0;
    std::snprintf(buf, sizeof buf, "%.6g", v);
  }
  return buf;
}

/// What a value is on the y axis, or NaN when it is not drawn.
double yValue(double v, bool log) {
  if (!std::isfinite(v)) return NAN;
  if (log) return v > 0 ? std::log10(v) : NAN;
  return v;
}

/// Draws one panel whose plot area starts at `top`: frame, grid, ticks,
/// labels and the series in `which`. `xLabels`: tick labels and the x label
/// under this panel.
void drawPanel(std::ostringstream &svg, double top, double height, const std::string &title,
               const std::string &yLabel, const Axis &x, const Axis &y, const std::vector<double> &steps,
               const std::vector<PlotSeries> &series, const std::vector<size_t> &which, bool xLabels,
               bool legend) {
  double left = kLeft, right = kLeft + kPlotWidth, bottom = top + height;
  auto px = [&](double s) { return left + x.frac(s) * kPlotWidth; };
  auto py = [&](double v) { return bottom - y.frac(v) * height; };
  svg << "<g class=\"panel\">\n";
  svg << "<text class=\"title\" x=\"" << coord(left) << "\" y=\"" << coord(top - 8)
      << "\" font-size=\"15\" font-weight=\"bold\">" << xmlEscape(title) << "</text>\n";
  svg << "<rect x=\"" << coord(left) << "\" y=\"" << coord(top) << "\" width=\"" << coord(kPlotWidth)
      << "\" height=\"" << coord(height) << "\" fill=\"#fafafa\" stroke=\"none\"/>\n";
  double xStep = x.ticks.size() > 1 ? x.ticks[1] - x.ticks[0] : 1;
  double yStep = y.ticks.size() > 1 ? y.ticks[1] - y.ticks[0] : 1;
  for (double t : x.ticks) {
    svg << "<line class=\"grid\" x1=\"" << coord(px(t)) << "\" y1=\"" << coord(top) << "\" x2=\"" << coord(px(t))
        << "\" y2=\"" << coord(bottom) << "\" stroke=\"#e0e0e0\"/>\n";
    svg << "<line class=\"tick\" x1=\"" << coord(px(t)) << "\" y1=\"" << coord(bottom) << "\" x2=\""
        << coord(px(t)) << "\" y2=\"" << coord(bottom + 5) << "\" stroke=\"#333\"/>\n";
    if (xLabels)
      svg << "<text class=\"xtick\" x=\"" << coord(px(t)) << "\" y=\"" << coord(bottom + 19)
          << "\" text-anchor=\"middle\" font-size=\"12\">" << tickLabel(x, t, xStep) << "</text>\n";
  }
  for (double t : y.ticks) {
    svg << "<line class=\"grid\" x1=\"" << coord(left) << "\" y1=\"" << coord(py(t)) << "\" x2=\"" << coord(right)
        << "\" y2=\"" << coord(py(t)) << "\" stroke=\"#e0e0e0\"/>\n";
    svg << "<line class=\"tick\" x1=\"" << coord(left - 5) << "\" y1=\"" << coord(py(t)) << "\" x2=\""
        << coord(left) << "\" y2=\"" << coord(py(t)) << "\" stroke=\"#333\"/>\n";
    svg << "<text class=\"ytick\" x=\"" << coord(left - 8) << "\" y=\"" << coord(py(t) + 4)
        << "\" text-anchor=\"end\" font-size=\"12\">" << tickLabel(y, t, yStep) << "</text>\n";
  }
  svg << "<rect class=\"frame\" x=\"" << coord(left) << "\" y=\"" << coord(top) << "\" width=\""
      << coord(kPlotWidth) << "\" height=\"" << coord(height) << "\" fill=\"none\" stroke=\"#333\"/>\n";
  double yMid = top + height / 2;
  svg << "<text class=\"ylabel\" x=\"" << coord(18) << "\" y=\"" << coord(yMid)
      << "\" text-anchor=\"middle\" font-size=\"13\" transform=\"rotate(-90 18 " << coord(yMid) << ")\">"
      << xmlEscape(yLabel) << "</text>\n";
  if (xLabels)
    svg << "<text class=\"xlabel\" x=\"" << coord(left + kPlotWidth / 2) << "\" y=\"" << coord(bottom + 40)
        << "\" text-anchor=\"middle\" font-size=\"13\">step</text>\n";

  // The data: a polyline per run of drawable points.
  bool anyPoint = false;
  for (size_t w : which) {
    const PlotSeries &s = series[w];
    const char *colour = kColours[w % (sizeof kColours / sizeof *kColours)];
    std::vector<std::pair<double, double>> run;
    auto flush = [&] {
      if (run.empty()) return;
      svg << "<polyline data-column=\"" << xmlEscape(s.name) << "\" fill=\"none\" stroke=\"" << colour
          << "\" stroke-width=\"1.8\" stroke-linejoin=\"round\" points=\"";
      for (size_t i = 0; i < run.size(); ++i)
        svg << (i ? " " : "") << coord(run[i].first) << "," << coord(run[i].second);
      svg << "\"/>\n";
      if (run.size() == 1)
        svg << "<circle class=\"dot\" data-column=\"" << xmlEscape(s.name) << "\" cx=\"" << coord(run[0].first)
            << "\" cy=\"" << coord(run[0].second) << "\" r=\"2.5\" fill=\"" << colour << "\"/>\n";
      run.clear();
    };
    for (size_t r = 0; r < steps.size(); ++r) {
      double v = yValue(s.values[r], y.log);
      if (std::isnan(v) || !std::isfinite(steps[r])) {
        flush();
        continue;
      }
      run.emplace_back(px(steps[r]), py(v));
      anyPoint = true;
    }
    flush();
  }
  if (!anyPoint)
    svg << "<text class=\"empty\" x=\"" << coord(left + kPlotWidth / 2) << "\" y=\"" << coord(yMid)
        << "\" text-anchor=\"middle\" font-size=\"13\" fill=\"#888\">no values to draw</text>\n";

  if (legend) {
    double lw = 0;
    for (size_t w : which) lw = std::max(lw, 7.0 * (double)series[w].name.size());
    double bx = right - lw - 46, by = top + 8;
    svg << "<g class=\"legend\">\n<rect x=\"" << coord(bx) << "\" y=\"" << coord(by) << "\" width=\""
        << coord(lw + 38) << "\" height=\"" << coord(18.0 * which.size() + 8)
        << "\" fill=\"white\" fill-opacity=\"0.9\" stroke=\"#999\"/>\n";
    for (size_t i = 0; i < which.size(); ++i) {
      double ly = by + 16 + 18.0 * i;
      const char *colour = kColours[which[i] % (sizeof kColours / sizeof *kColours)];
      svg << "<line x1=\"" << coord(bx + 6) << "\" y1=\"" << coord(ly - 4) << "\" x2=\"" << coord(bx + 26)
          << "\" y2=\"" << coord(ly - 4) << "\" stroke=\"" << colour << "\" stroke-width=\"2.5\"/>\n";
      svg << "<text x=\"" << coord(bx + 31) << "\" y=\"" << coord(ly) << "\" font-size=\"12\">"
          << xmlEscape(series[which[i]].name) << "</text>\n";
    }
    svg << "</g>\n";
  }
  svg << "</g>\n";
}

/// The y axis of the series in `which`; counts the values left out by the log scale.
Axis yAxisFor(const std::vector<PlotSeries> &series, const std::vector<size_t> &which, bool log, int target) {
  double lo = INFINITY, hi = -INFINITY;
  for (size_t w : which)
    for (double v : series[w].values) {
      double y = yValue(v, log);
      if (std::isnan(y)) continue;
      lo = std::min(lo, y), hi = std::max(hi, y);
    }
  return log ? logAxis(lo, hi) : linearAxis(lo, hi, target);
}

} // namespace

std::string renderPlotSvg(const std::vector<double> &steps, const std::vector<PlotSeries> &series,
                          const PlotStyle &o, std::vector<std::string> &notes) {
  if (o.logY)
    for (const PlotSeries &s : series) {
      size_t skipped = 0;
      for (double v : s.values) skipped += std::isfinite(v) && v <= 0;
      if (skipped)
        notes.push_back("column '" + s.name + "': " + std::to_string(skipped) +
                        (skipped == 1 ? " value <= 0 is" : " values <= 0 are") + " not drawn on the log scale");
    }
  double sLo = INFINITY, sHi = -INFINITY;
  for (double s : steps)
    if (std::isfinite(s)) sLo = std::min(sLo, s), sHi = std::max(sHi, s);
  Axis x = linearAxis(sLo, sHi, 8);

  size_t panels = o.overlay ? 1 : series.size();
  double panelHeight = o.overlay ? kOverlayPanel : kPanel;
  double height = kTop + (double)panels * (kTitle + panelHeight) + (double)(panels - 1) * kGap + kBottom;
  std::ostringstream svg;
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << coord(kWidth) << "\" height=\"" << coord(height)
      << "\" viewBox=\"0 0 " << coord(kWidth) << " " << coord(height)
      << "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  std::string scale = o.logY ? " (log scale)" : "";
  if (o.overlay) {
    std::vector<size_t> all;
    std::string title;
    for (size_t i = 0; i < series.size(); ++i) {
      all.push_back(i);
      title += (i ? ", " : "") + series[i].name;
    }
    Axis y = yAxisFor(series, all, o.logY, 8);
    drawPanel(svg, kTop + kTitle, panelHeight, title, "value" + scale, x, y, steps, series, all, true, true);
  } else {
    for (size_t i = 0; i < series.size(); ++i) {
      double top = kTop + kTitle + (double)i * (kTitle + panelHeight + kGap);
      Axis y = yAxisFor(series, {i}, o.logY, 4);
      drawPanel(svg, top, panelHeight, series[i].name, series[i].name + scale, x, y, steps, series, {i},
                i + 1 == series.size(), false);
    }
  }
  svg << "</svg>\n";
  return svg.str();
}

} // namespace ptl
