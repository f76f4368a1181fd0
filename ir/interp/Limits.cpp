//===- ir/interp/Limits.cpp - Static resource limits of a program ------------===//
#include "ir/interp/Limits.h"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>

namespace ptl::ir {

std::string formatBytes(int64_t bytes) {
  static const char *units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + " bytes";
  double v = (double)bytes;
  int u = -1;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

namespace {
struct Checker {
  const ResourceLimits &lim;
  std::vector<LimitViolation> out;
  std::set<std::tuple<int, int, int>> seen;

  void report(const Op &op, std::string msg) {
    Loc l = op.loc();
    if (l.valid() && !seen.insert({l.file, l.line, l.col}).second) return;
    out.push_back({l, std::move(msg)});
  }

  void checkType(const Op &op, const Type &t) {
    if (lim.maxTensorBytes <= 0) return;
    int64_t bytes = checkedTensorBytes(t.dtype, t.shape);
    if (bytes >= 0 && bytes <= lim.maxTensorBytes) return;
    report(op, "tensor " + t.str() + " needs " +
                   (bytes < 0 ? std::string("more bytes than can be counted")
                              : std::to_string(bytes) + " bytes (" + formatBytes(bytes) + ")") +
                   ", more than the limit of " + formatBytes(lim.maxTensorBytes) +
                   " per tensor (a host can change the limit: ptlc --max-tensor-bytes)");
  }

  // ---- Trip counts through calls ------------------------------------------------
  // work(R) = the loop iterations and calls one execution of region R runs,
  // those of the functions it calls included:
  //   for/map of T trips: T * (1 + work(body));  call of g: 1 + work(g's body);
  //   if: the larger branch;  other ops: the sum of their regions.
  // Saturating at kMany. Memoised per function (PTL has no recursion), so a
  // call tree 2^39 calls big costs one visit per function.
  static constexpr int64_t kMany = INT64_MAX;
  const Module &m;
  std::map<std::string, int64_t> workOf;

  static int64_t add(int64_t a, int64_t b) {
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? kMany : r;
  }
  static int64_t mul(int64_t a, int64_t b) {
    int64_t r;
    return __builtin_mul_overflow(a, b, &r) ? kMany : r;
  }
  static int64_t tripsOf(const Op &op) { return std::max<int64_t>(0, op.intAttr("hi") - op.intAttr("lo")); }

  int64_t functionWork(const std::string &name) {
    auto known = workOf.find(name);
    if (known != workOf.end()) return known->second;
    workOf[name] = 0; // a (rejected) cycle counts once
    const Function *f = m.lookup(name);
    return workOf[name] = f ? regionWork(f->body()) : 0;
  }
  int64_t ownWork(const Op &op) {
    switch (op.kind()) {
    case OpKind::For:
    case OpKind::Map: return mul(tripsOf(op), add(1, regionWork(*op.region(0))));
    case OpKind::Call: return add(1, functionWork(op.strAttr("callee")));
    case OpKind::If: {
      int64_t w = 0;
      for (unsigned i = 0; i < op.numRegions(); ++i) w = std::max(w, regionWork(*op.region(i)));
      return w;
    }
    default: {
      int64_t w = 0;
      for (unsigned i = 0; i < op.numRegions(); ++i) w = add(w, regionWork(*op.region(i)));
      return w;
    }
    }
  }
  int64_t regionWork(const Region &r) {
    int64_t w = 0;
    for (const auto &op : r.ops()) w = add(w, ownWork(*op));
    return w;
  }
  static std::string count(int64_t n) { return n == kMany ? std::string("too many") : std::to_string(n); }
  std::string limitText() const {
    return ", more than the limit of " + std::to_string(lim.maxLoopTrips) +
           " (a host can change the limit: ptlc --max-loop-trips)";
  }

  /// Reports the innermost ops of `r` whose loop iterations and calls, times
  /// `outer` (the trips of the loops around them in this function), are over
  /// the limit; a call is reported only if its callee is not over on its own
  /// (the callee is then reported in its own body). True if any was reported.
  bool walk(const Region &r, int64_t outer) {
    bool reported = false;
    for (const auto &op : r.ops()) {
      for (unsigned i = 0; i < op->numResults(); ++i) checkType(*op, op->result(i)->type());
      bool loop = op->kind() == OpKind::For || op->kind() == OpKind::Map;
      int64_t inner = loop ? mul(outer, tripsOf(*op)) : outer;
      bool below = false;
      for (unsigned i = 0; i < op->numRegions(); ++i) below = walk(*op->region(i), inner) || below;
      reported = reported || below;
      if (lim.maxLoopTrips <= 0 || below) continue;
      int64_t total = mul(outer, ownWork(*op));
      if (total <= lim.maxLoopTrips) continue;
      if (loop) {
        int64_t trips = tripsOf(*op);
        std::string msg = std::string(op->kind() == OpKind::For ? "loop" : "map") + " runs " +
                          std::to_string(trips) + " iterations";
        bool calls = ownWork(*op) != trips;
        if (total != trips)
          msg += " (" + count(total) + (calls ? " loop iterations and calls with the loops around it and the calls "
                                                "in it)"
                                              : " with the loops around it)");
        report(*op, msg + limitText());
        reported = true;
      } else if (op->kind() == OpKind::Call) {
        if (functionWork(op->strAttr("callee")) > lim.maxLoopTrips) {
          reported = true; // the callee is reported in its own body
          continue;
        }
        report(*op, "this call of '" + op->strAttr("callee") + "' runs " + count(total) +
                        " loop iterations and calls in all (with the loops around it)" + limitText());
        reported = true;
      }
    }
    return reported;
  }

  /// Checks one function: its ops, then its work as a whole (a sum of
  /// parts each under the limit, such as two calls of a big callee). In a
  /// call tree only the smallest function over the limit is reported.
  void checkFunction(const Function &f) {
    if (walk(f.body(), 1) || lim.maxLoopTrips <= 0) return;
    int64_t w = functionWork(f.name());
    if (w > lim.maxLoopTrips) {
      Loc l = f.loc();
      if (!l.valid() || seen.insert({l.file, l.line, l.col}).second)
        out.push_back({l, "'" + f.name() + "' runs " + count(w) + " loop iterations and calls in all" + limitText()});
    }
  }
};
} // namespace

std::vector<LimitViolation> checkResourceLimits(const Module &m, const ResourceLimits &lim) {
  Checker c{lim, {}, {}, m, {}};
  for (const auto &f : m.functions()) c.checkFunction(*f);
  return std::move(c.out);
}

} // namespace ptl::ir
