//===- ir/interp/Progress.cpp - What a running `train` loop reports ----------===//
#include "ir/interp/Progress.h"

#include <cmath>
#include <cstdio>

namespace ptl::ir::progress {

namespace {
std::string printf1(const char *fmt, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, x);
  return buf;
}
} // namespace

std::string formatLoss(double loss) {
  if (std::isnan(loss)) return "nan";
  if (std::isinf(loss)) return loss > 0 ? "inf" : "-inf";
  return printf1("%.4g", loss);
}

std::string formatDuration(double seconds) {
  if (!(seconds >= 0) || std::isinf(seconds)) return "?";
  int64_t s = (int64_t)std::llround(seconds);
  char buf[64];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%llds", (long long)s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
  return buf;
}

std::string formatRate(double r) {
  if (!(r >= 0) || std::isinf(r)) return "?";
  if (r >= 9.5) return printf1("%.0f", r);
  return printf1("%.2g", r);
}

std::string terminalLine(int64_t step, int64_t total, double loss, double elapsed, const std::string &metrics) {
  std::string s = "step " + std::to_string(step) + "/" + std::to_string(total) + "  loss " + formatLoss(loss);
  if (!metrics.empty()) s += "  " + metrics;
  if (elapsed > 0 && step > 0) {
    double rate = (double)step / elapsed;
    s += "  " + formatRate(rate) + " steps/s";
    if (step >= total)
      s += "  done in " + formatDuration(elapsed);
    else
      s += "  ETA " + formatDuration((double)(total - step) / rate);
  }
  return s;
}

std::string plainLine(int64_t step, int64_t total, double loss, const std::string &metrics) {
  // One buffer, so a line costs one allocation however many digits it has
  // (the allocation tests count them).
  char buf[96];
  std::snprintf(buf, sizeof buf, "train: step %lld/%lld loss %s", (long long)step, (long long)total,
                formatLoss(loss).c_str());
  if (metrics.empty()) return buf;
  return buf + ("  " + metrics);
}

bool plainLineDue(int64_t step, int64_t total) {
  int64_t every = total / 10 > 1 ? total / 10 : 1;
  return step == total || step % every == 0;
}

bool logRowDue(int64_t step, int64_t total, int64_t every) {
  if (every <= 0) return false;
  return step == total || step % every == 0;
}

std::string interruptedLine(int64_t step, int64_t total) {
  return "train: interrupted at step " + std::to_string(step) + "/" + std::to_string(total) +
         "; keeping the latest parameters";
}

std::string stoppedLine(int64_t step, int64_t total, const std::string &reason) {
  return "train: stopped at step " + std::to_string(step) + "/" + std::to_string(total) + ": " + reason;
}

} // namespace ptl::ir::progress
