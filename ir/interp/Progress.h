//===- ir/interp/Progress.h - What a running `train` loop reports ------------===//
//
// Pure formatting and scheduling functions behind the `train_progress` op
// (kept free of clocks and streams so they are unit-tested directly):
//
//   on a terminal   one line redrawn in place (at most ~10 times a second):
//                   `step 120/2000  loss 0.0123  450 steps/s  ETA 4s`,
//                   ending `... 450 steps/s  done in 4s` and a newline;
//   otherwise       `train: step 200/2000 loss 0.0123` every max(1, N/10)
//                   steps and at the last step (no timings, so logs diff);
//   log file        `step,loss` header, then `S,LOSS` every K steps and at
//                   the last step (metric columns after: TrainReport.h).
//
// Steps are numbered from 1.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>

namespace ptl::ir::progress {

/// A loss for display: 4 significant digits (`0.0123`, `1.235e+04`, `nan`).
std::string formatLoss(double loss);
/// A duration: `0s`, `42s`, `3m05s`, `2h07m`.
std::string formatDuration(double seconds);
/// A rate: `450`, `12`, `3.5`, `0.25` (two significant digits below 10).
std::string formatRate(double stepsPerSecond);

/// The terminal line after `step` of `total` steps, `elapsed` seconds since
/// the loop started: `step 120/2000  loss 0.0123  450 steps/s  ETA 4s`, or
/// `... done in 4s` at the last step. With no elapsed time yet the rate and
/// ETA are left out. `metrics` (the last logged ones, `val 0.015  acc 0.93`),
/// when not empty, follows the loss.
std::string terminalLine(int64_t step, int64_t total, double loss, double elapsed,
                         const std::string &metrics = std::string());
/// The plain (non-terminal) line: `train: step 200/2000 loss 0.0123`, then
/// `metrics` when not empty (`... loss 0.0123  val 0.015  acc 0.93`).
std::string plainLine(int64_t step, int64_t total, double loss, const std::string &metrics = std::string());
/// Whether a plain line is due after `step`: every max(1, total/10) steps
/// and at the last step.
bool plainLineDue(int64_t step, int64_t total);
/// Whether a log row is due after `step`: every `every` steps and at the
/// last step (never when `every` <= 0).
bool logRowDue(int64_t step, int64_t total, int64_t every);
/// The message printed when a loop stops early after `step` of `total`.
std::string interruptedLine(int64_t step, int64_t total);
/// The message printed when an `until` condition stops a loop after `step`
/// of `total`: `train: stopped at step 120/2000: val < 1e-3`.
std::string stoppedLine(int64_t step, int64_t total, const std::string &reason);

} // namespace ptl::ir::progress
