//===- ir/Verifier.cpp - Checking IR invariants ----------------------------===//
//
// One walk per function, keeping the set of values visible at each point
// (lexical scoping: a region sees its own arguments, earlier ops of its own
// block and everything visible where its op sits — never a sibling region).
//
//===----------------------------------------------------------------------===//
#include "ir/Verifier.h"

#include "ir/Printer.h"

#include <cstdint>
#include <unordered_set>

namespace ptl::ir {
namespace {

std::string typesString(const std::vector<Type> &ts) {
  std::string s = "(";
  for (size_t i = 0; i < ts.size(); ++i)
    s += (i ? ", " : "") + ts[i].str();
  return s + ")";
}

std::vector<Type> typesOf(const std::vector<Value *> &vs) {
  std::vector<Type> out;
  for (const Value *v : vs)
    out.push_back(v->type());
  return out;
}

class Verifier {
public:
  Verifier(const Function &f, const Module *m, std::string &error) : f_(f), m_(m), error_(error) {}

  bool run() {
    const Region &body = f_.body();
    if (body.parentOp())
      return failFn("body region has a parent op");
    return verifyRegion(body, /*isBody=*/true);
  }

private:
  //===--- reporting ------------------------------------------------------===//

  bool failFn(const std::string &msg) {
    error_ = "verifier: in function @" + f_.name() + ": " + msg;
    return false;
  }
  bool fail(const Op &op, const std::string &msg) {
    error_ = "verifier: in function @" + f_.name() + ": " + op.name() + ": " + msg + "\n  " +
             toString(op, false);
    return false;
  }

  //===--- attributes -----------------------------------------------------===//

  template <class T> const T *attr(const Op &op, const char *name) {
    auto it = op.attrs().find(name);
    return it == op.attrs().end() ? nullptr : std::get_if<T>(&it->second);
  }
  /// A required attribute of kind T; reports "missing" or "must be".
  template <class T> bool need(const Op &op, const char *name, const char *what, const T *&out) {
    auto it = op.attrs().find(name);
    if (it == op.attrs().end())
      return fail(op, std::string("missing attribute '") + name + "'");
    out = std::get_if<T>(&it->second);
    if (!out)
      return fail(op, std::string("attribute '") + name + "' must be " + what);
    return true;
  }
  template <class T> bool optional(const Op &op, const char *name, const char *what) {
    auto it = op.attrs().find(name);
    if (it != op.attrs().end() && !std::get_if<T>(&it->second))
      return fail(op, std::string("attribute '") + name + "' must be " + what);
    return true;
  }
  bool needStrs(const Op &op, const char *name, std::vector<std::string> &out) {
    auto it = op.attrs().find(name);
    if (it == op.attrs().end())
      return fail(op, std::string("missing attribute '") + name + "'");
    if (auto *v = std::get_if<std::vector<std::string>>(&it->second)) {
      out = *v;
      return true;
    }
    if (auto *v = std::get_if<std::vector<int64_t>>(&it->second); v && v->empty()) {
      out.clear();
      return true;
    }
    return fail(op, std::string("attribute '") + name + "' must be a list of strings");
  }

  bool counts(const Op &op, size_t operands, size_t results) {
    if (op.numOperands() != operands)
      return fail(op, "expected " + std::to_string(operands) + " operands, got " +
                          std::to_string(op.numOperands()));
    if (op.numResults() != results)
      return fail(op, "expected " + std::to_string(results) + " results, got " +
                          std::to_string(op.numResults()));
    return true;
  }

  //===--- scoping --------------------------------------------------------===//

  void declare(const Value *v) {
    visible_.insert(v);
    stack_.push_back(v);
  }
  void popTo(size_t mark) {
    while (stack_.size() > mark) {
      visible_.erase(stack_.back());
      stack_.pop_back();
    }
  }

  //===--- regions --------------------------------------------------------===//

  bool verifyRegion(const Region &r, bool isBody) {
    size_t mark = stack_.size();
    for (const auto &a : r.arguments()) {
      if (a->parentRegion() != &r || a->definingOp())
        return failFn("region argument with inconsistent parent");
      declare(a.get());
    }
    const Op *term = r.terminator();
    OpKind want = isBody ? OpKind::Return : OpKind::Yield;
    if (!term || term->kind() != want) {
      std::string where = isBody ? "function body" : std::string("region of ") + r.parentOp()->name();
      if (!term)
        return failFn(where + " is empty; it must end in " + mnemonic(want));
      return fail(*term, where + " must end in " + mnemonic(want));
    }
    for (const auto &op : r.ops()) {
      if (op->parentRegion() != &r)
        return fail(*op, "op's parent region is not the region holding it");
      if (isTerminator(op->kind()) && op.get() != term)
        return fail(*op, "terminator in the middle of a region");
      if (op->kind() != want && isTerminator(op->kind()))
        return fail(*op, isBody ? "yield in a function body" : "return inside a region");
      if (!verifyOp(*op))
        return false;
    }
    if (isBody) {
      std::vector<Type> got = typesOf(term->operands());
      if (got != f_.resultTypes())
        return fail(*term, "returns " + typesString(got) + " but the function's result types are " +
                               typesString(f_.resultTypes()));
    }
    popTo(mark);
    return true;
  }

  /// The types a region's terminator yields.
  static std::vector<Type> yielded(const Region &r) { return typesOf(r.terminator()->operands()); }

  bool verifyOp(const Op &op) {
    for (unsigned i = 0; i < op.numOperands(); ++i) {
      const Value *v = op.operand(i);
      if (!v)
        return fail(op, "operand " + std::to_string(i) + " is null");
      if (!visible_.count(v))
        return fail(op, "operand " + std::to_string(i) +
                            " is not defined before this op in an enclosing region");
    }
    for (unsigned i = 0; i < op.numResults(); ++i) {
      const Value *v = op.result(i);
      if (v->definingOp() != &op || v->index() != i || v->parentRegion() != op.parentRegion())
        return fail(op, "result " + std::to_string(i) + " has inconsistent bookkeeping");
    }
    unsigned wantRegions = op.kind() == OpKind::If ? 2
                           : (op.kind() == OpKind::For || op.kind() == OpKind::Map ||
                              op.kind() == OpKind::Grad)
                               ? 1
                               : 0;
    if (op.numRegions() != wantRegions)
      return fail(op, "expected " + std::to_string(wantRegions) + " regions, got " +
                          std::to_string(op.numRegions()));
    for (unsigned i = 0; i < op.numRegions(); ++i)
      if (op.region(i)->parentOp() != &op)
        return fail(op, "region " + std::to_string(i) + " has the wrong parent op");

    std::vector<Type> inferred;
    std::string err;
    std::vector<Type> results = typesOf(op.results());
    if (inferResultTypes(op.kind(), typesOf(op.operands()), op.attrs(), inferred, err)) {
      if (inferred != results)
        return fail(op, "result types " + typesString(results) + " differ from the inferred " +
                            typesString(inferred));
    } else if (err != "explicit") {
      // The rule's message already starts with the mnemonic.
      std::string msg = err.rfind(std::string(op.name()) + ": ", 0) == 0
                            ? err.substr(std::string(op.name()).size() + 2)
                            : err;
      return fail(op, msg);
    } else if (!verifyExplicit(op)) {
      return false;
    }
    for (unsigned i = 0; i < op.numRegions(); ++i)
      if (!verifyRegion(*op.region(i), false))
        return false;
    if (!verifyRegionTypes(op))
      return false;
    for (unsigned i = 0; i < op.numResults(); ++i)
      declare(op.result(i));
    return true;
  }

  //===--- ops with explicit result types ---------------------------------===//

  bool verifyExplicit(const Op &op) {
    const std::vector<Type> operands = typesOf(op.operands());
    const std::vector<Type> results = typesOf(op.results());
    switch (op.kind()) {
    case OpKind::Constant: {
      const Dense *d;
      if (!counts(op, 0, 1) || !need(op, "value", "dense data", d))
        return false;
      int64_t n = numElements(results[0].shape);
      if ((int64_t)d->values.size() != n && d->values.size() != 1)
        return fail(op, "dense data has " + std::to_string(d->values.size()) +
                            " elements but the type " + results[0].str() + " needs " +
                            std::to_string(n) + " (or 1)");
      return true;
    }
    case OpKind::Convert:
      if (!counts(op, 1, 1))
        return false;
      if (operands[0].shape != results[0].shape)
        return fail(op, "shape changes from " + operands[0].str() + " to " + results[0].str());
      return true;
    case OpKind::Broadcast: {
      if (!counts(op, 1, 1))
        return false;
      Shape s;
      if (operands[0].dtype != results[0].dtype ||
          !broadcastShapes(operands[0].shape, results[0].shape, s) || s != results[0].shape)
        return fail(op, "cannot broadcast " + operands[0].str() + " to " + results[0].str());
      return true;
    }
    case OpKind::Reshape:
      if (!counts(op, 1, 1))
        return false;
      if (operands[0].dtype != results[0].dtype ||
          numElements(operands[0].shape) != numElements(results[0].shape))
        return fail(op, "cannot reshape " + operands[0].str() + " to " + results[0].str());
      return true;
    case OpKind::Pad: {
      if (!counts(op, 1, 1))
        return false;
      auto it = op.attrs().find("starts");
      if (it == op.attrs().end())
        return fail(op, "missing attribute 'starts'");
      auto *noStrs = std::get_if<std::vector<std::string>>(&it->second);
      if (!std::get_if<std::vector<int64_t>>(&it->second) && !(noStrs && noStrs->empty()))
        return fail(op, "attribute 'starts' must be a list of integers");
      const std::vector<int64_t> startsV = op.intsAttr("starts");
      const std::vector<int64_t> *starts = &startsV;
      const Type &x = operands[0], &t = results[0];
      if (x.dtype != t.dtype || x.shape.size() != t.shape.size())
        return fail(op, "cannot pad " + x.str() + " to " + t.str());
      if (starts->size() != x.shape.size())
        return fail(op, "expected " + std::to_string(x.shape.size()) + " starts for " + x.str() +
                            ", got " + std::to_string(starts->size()));
      for (size_t d = 0; d < x.shape.size(); ++d)
        if ((*starts)[d] < 0 || (*starts)[d] + x.shape[d] > t.shape[d])
          return fail(op, x.str() + " at start " + std::to_string((*starts)[d]) + " on axis " +
                              std::to_string(d) + " does not fit in " + t.str());
      return true;
    }
    case OpKind::Iota:
      if (!counts(op, 0, 1))
        return false;
      if (results[0].shape.size() != 1 || results[0].dtype == DType::Bool)
        return fail(op, "result must be a numeric rank-1 tensor, got " + results[0].str());
      return true;
    case OpKind::Random: {
      const std::string *dist;
      if (!need(op, "dist", "a string", dist) || !optional<std::string>(op, "key", "a string"))
        return false;
      // fold_in and permutation take a second i32 scalar (data / offset).
      bool twoOperands = *dist == "fold_in" || *dist == "permutation";
      if (!counts(op, twoOperands ? 2 : 1, 1))
        return false;
      for (const char *k : {"a", "b"}) {
        auto it = op.attrs().find(k);
        if (it != op.attrs().end() && !std::get_if<double>(&it->second) &&
            !std::get_if<int64_t>(&it->second))
          return fail(op, std::string("attribute '") + k + "' must be a number");
      }
      if (operands[0] != Type{DType::I32, {}})
        return fail(op, "seed must be an i32 scalar, got " + operands[0].str());
      const std::string &d = *dist;
      if (twoOperands && operands[1] != Type{DType::I32, {}})
        return fail(op, d + " needs an i32 scalar second operand, got " + operands[1].str());
      if (d == "fold_in") {
        if (results[0] != Type{DType::I32, {}})
          return fail(op, "fold_in's result must be an i32 scalar, got " + results[0].str());
      } else if (d == "permutation") {
        auto it = op.attrs().find("a");
        const int64_t *n = it == op.attrs().end() ? nullptr : std::get_if<int64_t>(&it->second);
        if (!n || *n < 0 || *n > INT32_MAX)
          return fail(op, "permutation needs its domain size 'a' as an integer in [0, 2^31)");
        if (results[0].dtype != DType::I32 || results[0].shape.size() != 1 || results[0].shape[0] > *n)
          return fail(op, "permutation of " + std::to_string(*n) + " needs an i32[m] result with m <= " +
                              std::to_string(*n) + ", got " + results[0].str());
      } else if (d == "randint") {
        if (results[0].dtype == DType::Bool)
          return fail(op, "randint needs a numeric result, got " + results[0].str());
      } else if (d == "normal" || d == "uniform" || d == "glorot" || d == "orthogonal") {
        if (!isFloat(results[0].dtype))
          return fail(op, d + " needs a float result, got " + results[0].str());
      } else {
        return fail(op, "unknown distribution \"" + d + "\"");
      }
      return true;
    }
    case OpKind::LoadNpy: {
      const std::string *path;
      return counts(op, 0, 1) && need(op, "path", "a string", path);
    }
    case OpKind::LoadCsv: {
      const std::string *path;
      std::vector<std::string> cols;
      if (!need(op, "path", "a string", path) || !needStrs(op, "columns", cols) ||
          !counts(op, 0, cols.size()))
        return false;
      for (const Type &t : results)
        if (t.dtype != DType::F32 || t.shape.size() != 1 || t.shape != results[0].shape)
          return fail(op, "results must all be f32[rows], got " + typesString(results));
      return true;
    }
    case OpKind::Load: {
      const std::string *path;
      std::vector<std::string> names;
      return need(op, "path", "a string", path) && needStrs(op, "names", names) &&
             counts(op, 0, names.size());
    }
    case OpKind::Call: {
      const std::string *callee;
      if (!need(op, "callee", "a string", callee))
        return false;
      if (!m_)
        return true;
      const Function *g = m_->lookup(*callee);
      if (!g)
        return fail(op, "unknown callee @" + *callee);
      std::vector<Type> params;
      for (const auto &a : g->body().arguments())
        params.push_back(a->type());
      if (operands != params)
        return fail(op, "operand types " + typesString(operands) + " differ from @" + *callee +
                            "'s parameters " + typesString(params));
      if (results != g->resultTypes())
        return fail(op, "result types " + typesString(results) + " differ from @" + *callee +
                            "'s results " + typesString(g->resultTypes()));
      return true;
    }
    case OpKind::For: {
      const int64_t *lo, *hi;
      if (!need(op, "lo", "an integer", lo) || !need(op, "hi", "an integer", hi) ||
          !optional<int64_t>(op, "checkpoint", "an integer") || !optional<int64_t>(op, "stacked", "an integer") ||
          !optional<bool>(op, "train", "a bool"))
        return false;
      if (const int64_t *k = attr<int64_t>(op, "checkpoint"); k && *k <= 0)
        return fail(op, "checkpoint must be positive");
      int64_t stacked = op.intAttr("stacked", 0);
      if (stacked < 0 || stacked > (int64_t)results.size())
        return fail(op, "stacked must be between 0 and the number of results");
      if (stacked > 0 && op.boolAttr("train"))
        return fail(op, "a train loop has no stacked results (it may stop early)");
      std::vector<Type> carriedResults(results.begin(), results.end() - stacked);
      if (carriedResults != operands)
        return fail(op, "carried result types " + typesString(carriedResults) +
                            " differ from the initial values' " + typesString(operands));
      const Region &r = *op.region(0);
      std::vector<Type> args = typesOf([&] {
        std::vector<Value *> v;
        for (const auto &a : r.arguments())
          v.push_back(a.get());
        return v;
      }());
      std::vector<Type> want{Type{DType::I32, {}}};
      want.insert(want.end(), operands.begin(), operands.end());
      if (args != want)
        return fail(op, "region arguments " + typesString(args) + " should be " +
                            typesString(want));
      return true;
    }
    case OpKind::If:
      if (!counts(op, 1, op.numResults()))
        return false;
      if (operands[0] != Type{DType::Bool, {}})
        return fail(op, "condition must be a bool scalar, got " + operands[0].str());
      for (unsigned i = 0; i < 2; ++i)
        if (op.region(i)->numArguments())
          return fail(op, "regions of if take no arguments");
      return true;
    case OpKind::Map: {
      const int64_t *lo, *hi;
      if (!counts(op, 0, op.numResults()) || !need(op, "lo", "an integer", lo) ||
          !need(op, "hi", "an integer", hi))
        return false;
      if (*hi < *lo)
        return fail(op, "hi < lo");
      const Region &r = *op.region(0);
      if (r.numArguments() != 1 || r.argument(0)->type() != Type{DType::I32, {}})
        return fail(op, "region must take one argument, the i32 scalar index");
      return true;
    }
    case OpKind::Grad: {
      if (!optional<bool>(op, "with_value", "a bool"))
        return false;
      if (op.numOperands() == 0)
        return fail(op, "expected at least 1 operand");
      for (const Type &t : operands)
        if (!isFloat(t.dtype))
          return fail(op, "cannot differentiate with respect to " + t.str());
      const Region &r = *op.region(0);
      std::vector<Type> args;
      for (const auto &a : r.arguments())
        args.push_back(a->type());
      if (args != operands)
        return fail(op, "region arguments " + typesString(args) + " should be " +
                            typesString(operands));
      return true;
    }
    default:
      return fail(op, "no verifier rule for an op with explicit result types");
    }
  }

  /// Checks what the regions of control-flow ops yield against the op.
  bool verifyRegionTypes(const Op &op) {
    std::vector<Type> results = typesOf(op.results());
    switch (op.kind()) {
    case OpKind::For: {
      // yield(carried..., per-iteration...) -> (carried..., stacked per-iteration...)
      std::vector<Type> y = yielded(*op.region(0));
      int64_t stacked = op.intAttr("stacked", 0), n = op.intAttr("hi") - op.intAttr("lo");
      std::vector<Type> want(results.begin(), results.end() - stacked);
      for (size_t k = results.size() - stacked; k < results.size(); ++k) {
        Type t = results[k];
        if (t.shape.empty() || t.shape[0] != std::max<int64_t>(n, 0))
          return fail(op, "stacked result " + t.str() + " must have a leading axis of " + std::to_string(n));
        t.shape.erase(t.shape.begin());
        want.push_back(t);
      }
      if (y != want)
        return fail(op, "body yields " + typesString(y) + " but the loop expects " + typesString(want));
      return true;
    }
    case OpKind::If:
      for (unsigned i = 0; i < 2; ++i) {
        std::vector<Type> y = yielded(*op.region(i));
        if (y != results)
          return fail(op, std::string(i ? "else" : "then") + " region yields " + typesString(y) +
                              " but the results are " + typesString(results));
      }
      return true;
    case OpKind::Map: {
      std::vector<Type> y = yielded(*op.region(0));
      int64_t n = op.intAttr("hi") - op.intAttr("lo");
      std::vector<Type> want;
      for (const Type &t : y) {
        Shape s{n};
        s.insert(s.end(), t.shape.begin(), t.shape.end());
        want.push_back(Type{t.dtype, s});
      }
      if (want != results)
        return fail(op, "results " + typesString(results) + " should be " + typesString(want) +
                            " for a body yielding " + typesString(y));
      return true;
    }
    case OpKind::Grad: {
      std::vector<Type> y = yielded(*op.region(0));
      if (y.size() != 1 || !y[0].isScalar() || !isFloat(y[0].dtype))
        return fail(op, "body must yield one float scalar, yields " + typesString(y));
      std::vector<Type> want;
      if (op.boolAttr("with_value"))
        want.push_back(y[0]);
      for (const Value *v : op.operands())
        want.push_back(v->type());
      if (want != results)
        return fail(op, "results " + typesString(results) + " should be " + typesString(want));
      return true;
    }
    default:
      return true;
    }
  }

  const Function &f_;
  const Module *m_;
  std::string &error_;
  std::unordered_set<const Value *> visible_;
  std::vector<const Value *> stack_;
};

} // namespace

bool verifyFunction(const Function &f, std::string &error, const Module *m) {
  return Verifier(f, m, error).run();
}

bool verifyModule(const Module &m, std::string &error) {
  std::unordered_set<std::string> names;
  for (const auto &f : m.functions()) {
    if (!names.insert(f->name()).second) {
      error = "verifier: duplicate function @" + f->name();
      return false;
    }
    if (!verifyFunction(*f, error, &m))
      return false;
  }
  return true;
}

} // namespace ptl::ir
