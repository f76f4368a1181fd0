//===- frontend/ElabTrainClip.cpp - Gradient clipping inside `train` --------===//
//
// `train m minimizing e with OPT(ARGS, clip_norm = X, clip_value = Y) for N
// steps`: the arguments clip_norm and clip_value belong to `train`, not to
// OPT_step. takeTrainClip takes them out of the optimiser's argument list and
// checks them; applyTrainClip transforms each step's gradient with std/optim's
// clip_by_value (first) and clip_by_global_norm (second, so the optimiser sees
// a gradient whose norm is at most about clip_norm) before OPT_step sees it.
//
//===----------------------------------------------------------------------===//
#include "frontend/Bijectors.h"
#include "frontend/Elaborator.h"
#include "runtime/Constraints.h"

namespace ptl {
namespace sema {

/// The two arguments, in the order applyTrainClip applies them.
static const char *const kClipArgs[] = {"clip_value", "clip_norm"};

TrainClip Elaborator::takeTrainClip(std::vector<ArgValue> &optArgs, const ast::FnDecl &stepFn) {
  TrainClip clip;
  std::vector<ArgValue> rest;
  for (ArgValue &a : optArgs) {
    int which = a.name == kClipArgs[0] ? 0 : a.name == kClipArgs[1] ? 1 : -1;
    if (which < 0) {
      rest.push_back(std::move(a));
      continue;
    }
    std::optional<ArgValue> &slot = which == 0 ? clip.value : clip.norm;
    if (a.value.poisoned) {
      clip.ok = false;
      continue;
    }
    // A user optimiser with a parameter of the same name would never get it.
    for (const ast::FnParam &p : stepFn.params)
      if (p.name == a.name) {
        DiagnosticBuilder d = diags_.error(a.nameLoc);
        d << "'" << a.name << "' is train's gradient clipping, but '" << stepFn.name << "' also has a parameter '"
          << a.name << "'; rename that parameter (train does not pass " << a.name << " to the optimiser)";
        d.note(p.loc, "'" + stepFn.name + "' declares '" + a.name + "' here");
        clip.ok = false;
      }
    if (slot) {
      diags_.error(a.nameLoc) << "'" << a.name << "' is given twice";
      clip.ok = false;
      continue;
    }
    const SValue &v = a.value;
    if (!v.type.isScalar() || v.isString || v.type.tensor.dtype == DType::Bool) {
      diags_.error(a.loc) << a.name << " must be a number (a scalar), got "
                          << (v.isString ? "a string" : v.type.str());
      clip.ok = false;
      continue;
    }
    if (v.constant && !(*v.constant >= 0)) {
      diags_.error(a.loc) << a.name << " must be a number >= 0, got " << *v.constant;
      clip.ok = false;
      continue;
    }
    // As f64 (std/optim's bounds are f64); a literal stays exact.
    ArgValue arg = a;
    arg.name.clear();
    if (!v.weak && v.type.tensor.dtype != DType::F64) arg.value = convertTo(v, DType::F64);
    if (!v.constant) {
      // A run-time value: a negative or NaN bound is a run-time error here.
      ConstraintSpec nonNegative;
      nonNegative.kind = ConstraintSpec::Greater;
      nonNegative.lo = 0.0;
      nonNegative.closed = true;
      b().setLoc(irLoc(a.loc));
      arg.value.leaves[0] = emitCheck(b(), tensorValue(arg.value), nullptr, nonNegative, a.name, "train");
    }
    slot = std::move(arg);
  }
  optArgs = std::move(rest);
  return clip;
}

SValue Elaborator::applyTrainClip(const TrainClip &clip, const SValue &g, SourceLoc loc) {
  SValue out = g;
  for (auto [fnName, bound] : {std::pair{"clip_by_value", &clip.value}, std::pair{"clip_by_global_norm", &clip.norm}}) {
    if (!*bound || out.poisoned) continue;
    auto fn = functions_.find(fnName);
    if (fn == functions_.end()) {
      diags_.error((*bound)->loc) << "gradient clipping needs std/optim's '" << fnName << "', which is not loaded";
      return SValue::poison();
    }
    out = callFunction(*fn->second, nullptr, nullptr, {ArgValue{"", out, loc, loc}, **bound}, loc, fnName);
  }
  return out;
}

} // namespace sema
} // namespace ptl
