//===- frontend/ElabTrainChecks.cpp - train's step name and divergence check ---===//
//
// Two parts of `train VAR minimizing EXPR with OPT(ARGS) for N steps (as NAME)?`
// that elabTrain (Elaborator.cpp) calls:
//
//  * the step number's name inside the loss and the optimiser's arguments:
//    `step`, or NAME after `as`. It must not hide a binding visible at the
//    train statement (a script's own `step` would silently change meaning).
//  * the divergence check of each step (docs/language.md, Training): one
//    scalar, the loss plus the sum of every updated leaf, in f64,
//        c = f64(loss) + sum_k f64(sum(p_k')),
//    is finite when they all are (a sum that overflows is a false alarm the
//    host op dismisses); when c - c != 0 (c is NaN or infinite) the
//    `train_nonfinite` op looks at the loss, the gradient and the updated
//    leaves and records the first culprit (a gradient before an update),
//    and the loop stops before the step's update. A non-finite gradient is
//    seen through the update it makes non-finite (every optimiser adds a
//    multiple of it, and NaN and infinity propagate); the gradient itself is
//    not summed, which halves the check's cost: one vectorised reduction
//    per parameter per step (of values just written, so in cache), no new
//    buffers; `allow_nonfinite = true` leaves it out.
//
//===----------------------------------------------------------------------===//
#include "frontend/Elaborator.h"

namespace ptl {
namespace sema {

std::string Elaborator::trainStepName(const ast::TrainStmt &s) {
  bool named = !s.stepName.empty();
  std::string name = named ? s.stepName : "step";
  Binding *other = lookup(name);
  if (!other) return name;
  DiagnosticBuilder d = diags_.error(named ? s.stepNameLoc : s.loc);
  if (named)
    d << "the step name '" << name << "' would hide the binding '" << name
      << "' inside train; choose another name";
  else
    d << "train names the step number 'step', which would hide the binding 'step' inside train; "
         "name the step otherwise with `for N steps as NAME` (or rename the binding)";
  if (other->loc.valid()) d.note(other->loc, "'" + name + "' is defined here");
  return "";
}

std::optional<bool> Elaborator::trainAllowNonfinite(const ast::TrainStmt &s) {
  bool allow = false;
  for (const ast::Arg &a : s.optArgs) {
    if (a.name != "allow_nonfinite") continue;
    if (a.value->kind != ast::ExprKind::BoolLit) {
      diags_.error(a.value->loc) << "allow_nonfinite must be `true` or `false`";
      return std::nullopt;
    }
    allow = ast::as<ast::BoolLit>(*a.value).value;
  }
  return allow;
}

void Elaborator::dropTrainOwnArgs(std::vector<ArgValue> &args) {
  args.erase(std::remove_if(args.begin(), args.end(), [](const ArgValue &a) { return a.name == "allow_nonfinite"; }),
             args.end());
}

std::vector<std::string> Elaborator::leafPaths(const SType &t, const std::string &var) {
  std::vector<std::string> out;
  if (t.kind == SType::Model && t.model) {
    for (size_t i = t.leafBegin; i < t.leafEnd; ++i) out.push_back(t.model->leaves[i].path);
  } else if (t.kind == SType::Tuple || t.kind == SType::Record) {
    for (size_t k = 0; k < t.elems.size(); ++k) {
      std::string prefix = t.kind == SType::Record && k < t.names.size() ? t.names[k] : std::to_string(k);
      for (const std::string &p : leafPaths(t.elems[k], var + "." + prefix)) out.push_back(p);
    }
  } else {
    out.push_back(var);
  }
  return out;
}

void Elaborator::emitNonfiniteCheck(ir::Value *step, ir::Value *loss, const std::vector<ir::Value *> &grads,
                                    const std::vector<ir::Value *> &updated, const std::vector<std::string> &paths,
                                    SourceLoc loc) {
  ir::Builder &B = b();
  B.setLoc(irLoc(loc));
  const ir::Type f64{DType::F64, {}};
  auto asF64 = [&](ir::Value *x) {
    return x->type().dtype == DType::F64 ? x : B.create(ir::OpKind::Convert, {x}, {f64})->result(0);
  };
  ir::Value *c = asF64(loss);
  for (ir::Value *x : updated) {
    if (!isFloat(x->type().dtype)) continue;
    ir::Value *sum = B.make(ir::OpKind::ReduceSum, {x}, {{"axes", std::vector<int64_t>{}}, {"keepdims", false}});
    c = B.make(ir::OpKind::Add, {c, asF64(sum)});
  }
  // finite iff c - c == 0 (NaN - NaN and inf - inf are NaN)
  ir::Value *finite = B.make(ir::OpKind::Eq, {B.make(ir::OpKind::Sub, {c, c}), B.scalar(DType::F64, 0.0)});
  ir::Op *branch = B.create(ir::OpKind::If, {finite}, {});
  ir::Region *outer = B.region();
  ir::Region *fine = branch->addRegion(), *diverged = branch->addRegion();
  B.setRegion(fine);
  B.create(ir::OpKind::Yield, {}, {});
  B.setRegion(diverged);
  std::vector<ir::Value *> operands{step, loss};
  operands.insert(operands.end(), grads.begin(), grads.end());
  operands.insert(operands.end(), updated.begin(), updated.end());
  B.create(ir::OpKind::TrainNonfinite, operands, {}, {{"paths", paths}});
  B.create(ir::OpKind::Yield, {}, {});
  B.setRegion(outer);
}

} // namespace sema
} // namespace ptl
