//===- ir/autodiff/Autodiff.cpp - The autodiff pass driver ------------------===//
//
// Finds grad ops innermost first (a grad whose region holds no grad and
// calls no function that still holds one) and replaces each by its forward
// copy and reverse sweep, until none is left.
//
//===----------------------------------------------------------------------===//
#include "ir/autodiff/Autodiff.h"
#include "ir/autodiff/Checkpoint.h"
#include "ir/autodiff/Reverse.h"
#include "ir/Slice.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <set>

namespace ptl::ir {

namespace {

void walk(Region &r, const std::function<void(Op &)> &fn) { walkOps(r, fn); }

/// Functions that contain a grad op, directly or through the functions they call.
std::set<std::string> functionsWithGrad(Module &m) {
  std::set<std::string> with;
  std::map<std::string, std::set<std::string>> callees;
  for (auto &f : m.functions()) {
    walk(f->body(), [&](Op &op) {
      if (op.kind() == OpKind::Grad) with.insert(f->name());
      if (op.kind() == OpKind::Call) callees[f->name()].insert(op.strAttr("callee"));
    });
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (auto &[f, cs] : callees)
      if (!with.count(f))
        for (const std::string &c : cs)
          if (with.count(c)) {
            with.insert(f);
            changed = true;
            break;
          }
  }
  return with;
}

/// A grad op whose region holds no grad and calls no function with one.
Op *findInnermostGrad(Module &m) {
  std::set<std::string> withGrad = functionsWithGrad(m);
  Op *found = nullptr;
  for (auto &f : m.functions()) {
    if (found) break;
    walk(f->body(), [&](Op &op) {
      if (found || op.kind() != OpKind::Grad) return;
      bool ready = true;
      walk(*op.region(0), [&](Op &inner) {
        if (inner.kind() == OpKind::Grad) ready = false;
        if (inner.kind() == OpKind::Call && withGrad.count(inner.strAttr("callee"))) ready = false;
      });
      if (ready) found = &op;
    });
  }
  return found;
}

/// The ops a call of `name` becomes when inlined together with the calls
/// it inlines in turn: size(f) = ops(f) + sum over f's calls c of
/// (size(callee(c)) - 1) for those with size(callee(c)) <= limit. Memoised
/// in `memo` and saturating at limit + 1, so a call tree of any depth (a
/// function calling the next twice, 25 deep: 2^25 inlined copies) costs one
/// visit per function: its calls stay calls and are differentiated once.
size_t inlinedSize(Module &m, const std::string &name, size_t limit, std::map<std::string, size_t> &memo) {
  auto known = memo.find(name);
  if (known != memo.end()) return known->second;
  Function *f = m.lookup(name);
  size_t n = limit + 1;
  if (f) {
    n = 0;
    walk(f->body(), [&](Op &op) {
      ++n;
      if (op.kind() != OpKind::Call) return;
      size_t k = inlinedSize(m, op.strAttr("callee"), limit, memo);
      if (k <= limit) n += k - 1;
    });
    n = std::min(n, limit + 1);
  }
  return memo[name] = n;
}

/// Inlines, anywhere inside `r`, every call to a function whose inlined
/// size (inlinedSize) is at most `limit` ops, until none is left (callees'
/// own calls included).
void inlineCalls(Module &m, Region &r, size_t limit) {
  std::map<std::string, size_t> sizes;
  for (;;) {
    Op *call = nullptr;
    walk(r, [&](Op &op) {
      if (!call && op.kind() == OpKind::Call && inlinedSize(m, op.strAttr("callee"), limit, sizes) <= limit)
        call = &op;
    });
    if (!call) return;
    Function *f = m.lookup(call->strAttr("callee"));
    Region *parent = call->parentRegion();
    Region scratch(nullptr);
    std::map<Value *, Value *> map;
    for (unsigned k = 0; k < f->body().numArguments(); ++k) map[f->body().argument(k)] = call->operand(k);
    std::vector<Value *> returned;
    for (const auto &op : f->body().ops()) {
      if (op->kind() == OpKind::Return) {
        for (Value *v : op->operands()) {
          auto it = map.find(v);
          returned.push_back(it == map.end() ? v : it->second);
        }
        break;
      }
      cloneOpInto(*op, scratch, map);
    }
    size_t at = parent->indexOf(call);
    while (!scratch.ops().empty()) parent->insert(at++, scratch.take(0));
    // The call's results are used in its region and the regions nested in it only.
    std::map<Value *, Value *> results;
    for (unsigned i = 0; i < call->numResults(); ++i) results[call->result(i)] = returned[i];
    walk(*parent, [&](Op &op) {
      for (unsigned k = 0; k < op.numOperands(); ++k) {
        auto it = results.find(op.operand(k));
        if (it != results.end()) op.setOperand(k, it->second);
      }
    });
    parent->take(parent->indexOf(call));
  }
}

/// The values of `r` that `target` depends on through the plain dataflow,
/// stop_grad included (a stop_grad passes its operand on): one backward walk
/// over `r`'s ops; an op with regions that is needed needs every value its
/// nested ops use. A grad input with no adjoint that is in this set was
/// frozen on purpose (by a `stop_grad` expression, annotation or selector
/// block); one that is not never reaches the target.
std::set<const Value *> dependenciesIgnoringStopGrad(Region &r, Value *target) {
  std::set<const Value *> needed{target};
  std::function<void(Op &)> needAll = [&](Op &op) {
    for (Value *v : op.operands()) needed.insert(v);
    for (unsigned i = 0; i < op.numRegions(); ++i)
      for (const auto &inner : op.region(i)->ops()) needAll(*inner);
  };
  const auto &ops = r.ops();
  for (auto it = ops.rbegin(); it != ops.rend(); ++it) {
    bool isNeeded = false;
    for (Value *v : (*it)->results())
      if (needed.count(v)) isNeeded = true;
    if (isNeeded) needAll(**it);
  }
  return needed;
}

/// Replaces one grad op by its forward copy and reverse sweep.
void expandOne(Module &m, Op &g, std::map<std::string, Function *> &vjps, std::vector<GradWarning> *warnings,
               const AutodiffOptions &options) {
  Region &region = *g.region(0);
  inlineCalls(m, region, options.inlineLimit);
  Region scratch(nullptr);
  Builder b(&scratch);
  b.setLoc(g.loc());
  autodiff::Differentiator d(m, vjps, warnings);
  for (const auto &a : region.arguments()) d.markInput(a.get());
  d.markVaried(region);
  std::vector<Value *> inputs = g.operands();
  Value *target = region.terminator()->operand(0);
  std::vector<Value *> seeds{b.scalar(target->type().dtype, 1.0)};
  autodiff::RegionAdjoints ra = d.differentiate(b, region, inputs, seeds, {});

  std::vector<Value *> results;
  bool withValue = g.boolAttr("with_value");
  if (withValue) results.push_back(ra.yields[0]);
  std::vector<std::string> names = g.strsAttr("wrt_names");
  std::optional<std::set<const Value *>> reached; // computed at the first input with no adjoint
  for (unsigned k = 0; k < g.numOperands(); ++k) {
    Value *a = ra.args[k];
    if (!a) {
      a = b.constant(g.operand(k)->type(), 0);
      if (warnings && !reached) reached = dependenciesIgnoringStopGrad(region, target);
      if (warnings && k < names.size() && !reached->count(region.argument(k)))
        warnings->push_back({g.loc(), "'" + names[k] + "' gets no gradient here: the differentiated value does "
                                      "not depend on it"});
    }
    results.push_back(a);
  }

  Region *parent = g.parentRegion();
  size_t at = parent->indexOf(&g);
  while (!scratch.ops().empty()) parent->insert(at++, scratch.take(0));
  for (unsigned i = 0; i < g.numResults(); ++i) replaceAllUses(m, g.result(i), results[i]);
  parent->take(parent->indexOf(&g));
}

class AutodiffPass : public Pass {
public:
  AutodiffPass(std::vector<GradWarning> *warnings, AutodiffOptions options) : warnings_(warnings), options_(options) {}
  const char *name() const override { return "autodiff"; }
  bool run(Module &m, std::string &error) override { return expandGradients(m, error, warnings_, options_); }

private:
  std::vector<GradWarning> *warnings_;
  AutodiffOptions options_;
};

} // namespace

bool expandGradients(Module &m, std::string &error, std::vector<GradWarning> *warnings,
                     const AutodiffOptions &options) {
  if (!autodiff::stripMineCheckpointedLoops(m, error)) return false;
  std::map<std::string, Function *> vjps;
  while (Op *g = findInnermostGrad(m)) expandOne(m, *g, vjps, warnings, options);
  bool left = false;
  for (auto &f : m.functions())
    walk(f->body(), [&](Op &op) { left = left || op.kind() == OpKind::Grad; });
  if (left) {
    error = "a grad op could not be expanded (its region calls a function that differentiates itself)";
    return false;
  }
  return true;
}

std::unique_ptr<Pass> createAutodiffPass(std::vector<GradWarning> *warnings, const AutodiffOptions &options) {
  return std::make_unique<AutodiffPass>(warnings, options);
}

} // namespace ptl::ir
