//===- bench/cpp/host_call_timing.h - Timing and counting of host_call ---------===//
//
// What bench/cpp/host_call.cpp (PTL) and host_call_torch.cpp (LibTorch) share:
// timing a call N times and reporting, as one `BENCH_JSON {...}` line,
//
//   ns_per_call   the mean over N calls timed in 10 blocks of N / 10
//   ns_per_call_min the mean of the fastest block (the suite's "min": least
//                 disturbed by other processes)
//   p50_ns p99_ns the median and 99th percentile of N calls timed one by one
//                 (each sample includes one clock read; timer_ns is the
//                 median cost of one, from back-to-back reads)
//   allocs_per_call heap allocations (every malloc-family call, counted by
//                 bench/cpp/alloc_count.c linked into the binary) per call,
//                 over the N block-timed calls
//
// after `warmup` untimed calls. Header-only; the binaries link alloc_count.c.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

extern "C" unsigned long long ptl_alloc_count(void); // bench/cpp/alloc_count.c

namespace hostcall {

using Clock = std::chrono::steady_clock;

inline double nsBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::nano>(b - a).count();
}

/// Times `call` (a callable with no arguments) and prints one BENCH_JSON
/// line labelled `label`.
template <class F> void measure(const std::string &label, long calls, long warmup, F &&call) {
  for (long i = 0; i < warmup; ++i) call();
  std::vector<float> samples((size_t)calls); // allocated before counting
  // Block-timed: the mean, the fastest block and the allocations.
  const long blocks = 10, per = std::max(1L, calls / blocks);
  double total = 0, best = 1e300;
  unsigned long long allocs0 = ptl_alloc_count();
  for (long k = 0; k < blocks; ++k) {
    Clock::time_point t0 = Clock::now();
    for (long i = 0; i < per; ++i) call();
    double ns = nsBetween(t0, Clock::now());
    total += ns;
    best = std::min(best, ns / (double)per);
  }
  unsigned long long allocs = ptl_alloc_count() - allocs0;
  // One by one: the distribution. The cost of one clock read is measured apart.
  Clock::time_point prev = Clock::now();
  for (long i = 0; i < calls; ++i) {
    call();
    Clock::time_point now = Clock::now();
    samples[(size_t)i] = (float)nsBetween(prev, now);
    prev = now;
  }
  std::sort(samples.begin(), samples.end());
  auto pct = [&](double p) { return samples[std::min(samples.size() - 1, (size_t)(p * (double)samples.size()))]; };
  float p50 = pct(0.5), p99 = pct(0.99);
  // The median cost of one clock read (back-to-back reads), in the same buffer.
  for (long i = 0; i < calls; ++i) {
    Clock::time_point now = Clock::now();
    samples[(size_t)i] = (float)nsBetween(prev, now);
    prev = now;
  }
  std::sort(samples.begin(), samples.end());
  double timer = pct(0.5);
  std::printf("BENCH_JSON {\"label\": \"%s\", \"calls\": %ld, \"ns_per_call\": %.2f, \"ns_per_call_min\": %.2f, "
              "\"p50_ns\": %.1f, \"p99_ns\": %.1f, \"timer_ns\": %.1f, \"allocs_per_call\": %.4f}\n",
              label.c_str(), blocks * per, total / (double)(blocks * per), best, p50, p99, timer,
              (double)allocs / (double)(blocks * per));
  std::fflush(stdout);
}

} // namespace hostcall
