//===- ir/autodiff/Reverse.cpp - The reverse sweep --------------------------===//
//
// Differentiator::differentiate copies a region forward and sweeps it
// backwards. Adjoints are keyed by the ORIGINAL value (the one in the region
// being differentiated); primal values are looked up through `map`
// (original -> forward copy). A missing adjoint is a symbolic zero.
//
//===----------------------------------------------------------------------===//
#include "ir/autodiff/Reverse.h"
#include "runtime/Check.h"
#include "ir/Slice.h"
#include "ir/autodiff/Rules.h"

#include <functional>

namespace ptl::ir::autodiff {

namespace {

Value *lookupIn(const std::map<Value *, Value *> &map, Value *v) {
  auto it = map.find(v);
  return it == map.end() ? v : it->second;
}

} // namespace

//===----------------------------------------------------------------------===//
// Activity: which values vary with the differentiated inputs
//===----------------------------------------------------------------------===//

bool Differentiator::canCarryDerivative(const Value *v) { return isFloat(v->type().dtype); }

void Differentiator::markVaried(const Region &r) {
  for (const auto &opPtr : r.ops()) {
    const Op &op = *opPtr;
    auto anyOperandVaried = [&] {
      for (Value *v : op.operands())
        if (varied_.count(v)) return true;
      return false;
    };
    switch (op.kind()) {
    case OpKind::For: {
      // Carried values: varied if their initial value or what the body
      // yields for them is varied (a fixpoint over the body).
      const Region &body = *op.region(0);
      unsigned nc = op.numOperands();
      for (unsigned k = 0; k < nc; ++k)
        if (varied_.count(op.operand(k)) && canCarryDerivative(body.argument(k + 1)))
          varied_.insert(body.argument(k + 1));
      for (;;) {
        markVaried(body);
        bool changed = false;
        const Op *y = body.terminator();
        for (unsigned k = 0; k < nc; ++k)
          if (varied_.count(y->operand(k)) && canCarryDerivative(body.argument(k + 1)) &&
              varied_.insert(body.argument(k + 1)).second)
            changed = true;
        if (!changed) break;
      }
      const Op *y = body.terminator();
      for (unsigned k = 0; k < op.numResults(); ++k)
        if (varied_.count(y->operand(k)) && canCarryDerivative(op.result(k))) varied_.insert(op.result(k));
      break;
    }
    case OpKind::If:
    case OpKind::Map: {
      for (unsigned i = 0; i < op.numRegions(); ++i) markVaried(*op.region(i));
      for (unsigned k = 0; k < op.numResults(); ++k) {
        bool v = false;
        for (unsigned i = 0; i < op.numRegions(); ++i)
          v = v || varied_.count(op.region(i)->terminator()->operand(k));
        if (v && canCarryDerivative(op.result(k))) varied_.insert(op.result(k));
      }
      break;
    }
    case OpKind::Grad:
      PTL_UNREACHABLE("grad ops are expanded innermost first: " + describeOp(op));
      break;
    default: {
      // An explicit stop_grad(e) whose e does not vary cuts nothing: say so.
      if (op.kind() == OpKind::StopGrad && op.boolAttr("explicit") && !varied_.count(op.operand(0)) &&
          canCarryDerivative(op.operand(0)) && warnings_ && warnedStopGrads_.insert(&op).second)
        warnings_->push_back({op.loc(), "this stop_grad cuts nothing: its argument does not depend on what "
                                        "is differentiated here"});
      if (isNonDifferentiable(op.kind())) break;
      bool v = anyOperandVaried();
      for (unsigned k = 0; k < op.numResults(); ++k)
        if (v && canCarryDerivative(op.result(k))) varied_.insert(op.result(k));
      break;
    }
    }
  }
}

//===----------------------------------------------------------------------===//
// The forward copy
//===----------------------------------------------------------------------===//

Differentiator::TapePolicy Differentiator::tapePolicy(const Op &loop) {
  return loop.hasAttr("checkpoint_segments") ? TapePolicy::Recompute : TapePolicy::Store;
}

/// Copies a `for` op and makes it also stack, per iteration, what its
/// reverse sweep reads (see TapePolicy): the carried inputs and, under
/// Store, the float results of the body's region-free ops.
Op *Differentiator::cloneForWithTape(const Op &op, Region &dest, std::map<Value *, Value *> &map) {
  unsigned nc = op.numOperands();
  int64_t n = op.intAttr("hi") - op.intAttr("lo");
  const Region &body = *op.region(0);
  Tape tape;
  tape.first = op.numResults();
  for (unsigned k = 0; k < nc; ++k) tape.stored.push_back(body.argument(k + 1));
  if (tapePolicy(op) == TapePolicy::Store)
    for (const auto &o : body.ops()) {
      if (o.get() == body.terminator() || o->numRegions() || isOutputOnly(o->kind())) continue;
      for (unsigned i = 0; i < o->numResults(); ++i)
        if (varied_.count(o->result(i))) tape.stored.push_back(o->result(i));
    }

  std::vector<Value *> operands;
  for (Value *v : op.operands()) operands.push_back(lookupIn(map, v));
  std::vector<Type> types;
  for (unsigned i = 0; i < op.numResults(); ++i) types.push_back(op.result(i)->type());
  for (Value *v : tape.stored) {
    Type t = v->type();
    t.shape.insert(t.shape.begin(), n);
    types.push_back(t);
  }
  AttrMap attrs = op.attrs();
  attrs["stacked"] = op.intAttr("stacked", 0) + (int64_t)tape.stored.size();
  // Differentiating through a `train` statement: the copy is plain
  // computation (no progress output, no early stop; the tape needs every step).
  attrs.erase("train");
  // The memory this loop's tape takes, shown by --emit=ir-grad.
  int64_t tapeBytes = 0;
  for (Value *v : tape.stored) tapeBytes += n * numElements(v->type().shape) * (int64_t)dtypeSize(v->type().dtype);
  attrs["tape_bytes"] = tapeBytes;
  Op *copy = dest.push(std::make_unique<Op>(OpKind::For, operands, types, attrs, op.loc()));
  for (unsigned i = 0; i < op.numResults(); ++i) {
    copy->result(i)->setName(op.result(i)->name());
    map[op.result(i)] = copy->result(i);
  }
  // The body's copy maps body values privately: they are not visible
  // outside the loop, and the reverse sweep maps them to tape reads.
  std::map<Value *, Value *> inner = map;
  Region *dst = copy->addRegion();
  for (const auto &a : body.arguments()) {
    Value *na = dst->addArgument(a->type());
    na->setName(a->name());
    inner[a.get()] = na;
  }
  for (const auto &o : body.ops()) {
    if (o.get() == body.terminator()) break;
    if (isOutputOnly(o->kind())) continue;
    cloneOpInto(*o, *dst, inner);
  }
  const Op *y = body.terminator();
  std::vector<Value *> ys;
  for (Value *v : y->operands()) ys.push_back(lookupIn(inner, v));
  for (Value *v : tape.stored) ys.push_back(lookupIn(inner, v));
  dst->push(std::make_unique<Op>(OpKind::Yield, ys, std::vector<Type>{}, AttrMap{}, y->loc()));
  tapes_[copy] = std::move(tape);
  return copy;
}

//===----------------------------------------------------------------------===//
// The sweep
//===----------------------------------------------------------------------===//

Value *Differentiator::zerosLike(Builder &b, const Value *v) { return b.constant(v->type(), 0); }

RegionAdjoints Differentiator::differentiate(Builder &b, const Region &r, const std::vector<Value *> &inputs,
                                            const std::vector<Value *> &seeds,
                                            std::map<Value *, Value *> map,
                                            const std::map<Value *, Value *> &running) {
  PTL_CHECK(inputs.size() == r.numArguments(), "differentiate: one input per region argument");
  const Op *term = r.terminator();
  PTL_CHECK(term && seeds.size() == term->numOperands(), "differentiate: one seed per terminator operand");

  // 1. The forward copy (primal values), with tapes on varied loops.
  for (unsigned k = 0; k < r.numArguments(); ++k) map[r.argument(k)] = inputs[k];
  std::vector<const Op *> ops;
  for (const auto &o : r.ops()) {
    if (o.get() == term) break;
    if (isOutputOnly(o->kind())) continue;
    ops.push_back(o.get());
    bool variedLoop = false;
    if (o->kind() == OpKind::For)
      for (unsigned k = 0; k < o->numResults(); ++k) variedLoop = variedLoop || varied_.count(o->result(k));
    bool restored = o->numResults() > 0;
    for (unsigned i = 0; i < o->numResults(); ++i) restored = restored && map.count(o->result(i));
    if (restored) continue; // its values come from a loop tape
    if (variedLoop) {
      cloneForWithTape(*o, *b.region(), map);
    } else if (o->numRegions()) {
      // Values inside the copied regions are not visible here: keep only the results.
      std::map<Value *, Value *> local = map;
      cloneOpInto(*o, *b.region(), local);
      for (unsigned i = 0; i < o->numResults(); ++i) map[o->result(i)] = local[o->result(i)];
    } else {
      cloneOpInto(*o, *b.region(), map);
    }
  }
  RegionAdjoints out;
  for (Value *v : term->operands()) out.yields.push_back(lookupIn(map, v));

  // 2. The reverse sweep. Every contribution is added onto the adjoint its
  // value has so far, in the order the sweep meets it (a left fold).
  Adjoints adj(running.begin(), running.end());
  auto accumulate = [&](Value *orig, Value *a) {
    if (!a || !varied_.count(orig)) return;
    Value *&slot = adj[orig];
    slot = addAdjoints(b, slot, a);
    // Adjoints are named after their primal value: x_adj.
    if (slot->name().empty() && !orig->name().empty()) slot->setName(orig->name() + "_adj");
  };
  for (unsigned k = 0; k < term->numOperands(); ++k) accumulate(term->operand(k), seeds[k]);

  for (auto it = ops.rbegin(); it != ops.rend(); ++it) {
    const Op &op = **it;
    std::vector<Value *> resultAdjs;
    bool any = false;
    for (unsigned i = 0; i < op.numResults(); ++i) {
      auto f = adj.find(op.result(i));
      resultAdjs.push_back(f == adj.end() ? nullptr : f->second);
      any = any || resultAdjs.back();
    }
    if (!any) continue;
    b.setLoc(op.loc());
    OperandAdjoints operandAdjs; // (original operand, adjoint)
    switch (op.kind()) {
    case OpKind::For: reverseFor(b, op, map, resultAdjs, adj, operandAdjs); break;
    case OpKind::If: reverseIf(b, op, map, resultAdjs, operandAdjs); break;
    case OpKind::Map: reverseMap(b, op, map, resultAdjs, operandAdjs); break;
    case OpKind::Call: reverseCall(b, op, map, resultAdjs, operandAdjs); break;
    case OpKind::Grad: PTL_UNREACHABLE("grad ops are expanded innermost first: " + describeOp(op));
    default: {
      std::vector<Value *> operands, results;
      for (Value *v : op.operands()) operands.push_back(lookupIn(map, v));
      for (unsigned i = 0; i < op.numResults(); ++i) results.push_back(lookupIn(map, op.result(i)));
      RuleContext ctx{b, op, operands, results, resultAdjs};
      std::vector<Value *> oa = operandAdjoints(ctx);
      for (unsigned i = 0; i < op.numOperands(); ++i) operandAdjs.push_back({op.operand(i), oa[i]});
      break;
    }
    }
    for (auto &[v, a] : operandAdjs) accumulate(v, a);
  }

  // 3. What the caller needs: adjoints of the arguments and of free values.
  for (unsigned k = 0; k < r.numArguments(); ++k) {
    auto f = adj.find(r.argument(k));
    out.args.push_back(f == adj.end() ? nullptr : f->second);
  }
  std::set<const Value *> defined;
  for (const Op *o : ops)
    for (unsigned i = 0; i < o->numResults(); ++i) defined.insert(o->result(i));
  for (const auto &a : r.arguments()) defined.insert(a.get());
  for (auto &[v, a] : adj)
    if (!defined.count(v)) out.free[const_cast<Value *>(v)] = a;
  return out;
}

//===----------------------------------------------------------------------===//
// Control flow
//===----------------------------------------------------------------------===//

/// The varied float values a region op reads from outside, in a stable order.
std::vector<Value *> Differentiator::variedFree(const Op &op) {
  std::vector<Value *> out;
  for (Value *v : freeValuesOf(op))
    if (varied_.count(v)) out.push_back(v);
  return out;
}

// for: reverse loop j = 0..n-1 over iterations i = hi-1-j, restoring the
// carried values c_i from the tape, recomputing the body and sweeping it:
//   c_adj <- dbody/dc^T c_adj,  free_adj += dbody/dfree^T c_adj
// free_adj starts from the adjoint the free value already has in the
// enclosing sweep (`adj`) and replaces it, and each iteration's sweep adds
// its contributions onto it one by one: a free value's adjoint is the same
// left fold over all contributions, in reverse execution order, however the
// loops are nested. So a strip-mined @checkpoint loop (Checkpoint.h), whose
// segments pass the running sum on, adds in the plain loop's order.
void Differentiator::reverseFor(Builder &b, const Op &op, std::map<Value *, Value *> &map,
                                const std::vector<Value *> &resultAdjs, Adjoints &adj,
                                OperandAdjoints &operandAdjs) {
  const Region &body = *op.region(0);
  unsigned nc = op.numOperands();
  unsigned ns = (unsigned)op.intAttr("stacked", 0);
  int64_t lo = op.intAttr("lo"), hi = op.intAttr("hi"), n = hi - lo;
  if (n <= 0) {
    for (unsigned k = 0; k < nc; ++k) operandAdjs.push_back({op.operand(k), resultAdjs[k]});
    return;
  }
  Op *fwd = lookupIn(map, op.result(0))->definingOp();
  PTL_CHECK(fwd && fwd->kind() == OpKind::For && tapes_.count(fwd), "loop has no tape: " + describeOp(op));
  const Tape &tape = tapes_.at(fwd);

  // Carried adjoint slots: the varied carried values; then the free values.
  std::vector<unsigned> slots;
  for (unsigned k = 0; k < nc; ++k)
    if (varied_.count(body.argument(k + 1))) slots.push_back(k);
  std::vector<Value *> free = variedFree(op);
  std::vector<Value *> inits;
  for (unsigned k : slots) inits.push_back(resultAdjs[k] ? resultAdjs[k] : zerosLike(b, op.result(k)));
  for (Value *f : free) {
    auto a = adj.find(f);
    inits.push_back(a != adj.end() ? a->second : zerosLike(b, f));
  }
  std::vector<Type> types;
  for (Value *v : inits) types.push_back(v->type());
  Op *rev = b.create(OpKind::For, inits, types, {{"lo", (int64_t)0}, {"hi", n}});
  Region *rb = rev->addRegion();
  Value *j = rb->addArgument(Type{DType::I32, {}});
  j->setName("j");
  std::vector<Value *> cAdj, fAdj;
  for (unsigned k : slots) {
    cAdj.push_back(rb->addArgument(op.result(k)->type()));
    if (!op.result(k)->name().empty()) cAdj.back()->setName(op.result(k)->name() + "_adj");
  }
  for (Value *f : free) fAdj.push_back(rb->addArgument(f->type()));

  Builder ib(rb);
  ib.setLoc(op.loc());
  // t = n - 1 - j indexes the tape; i = lo + t is the original iteration.
  Value *t = ib.make(OpKind::Sub, {ib.scalar(DType::I32, (double)(n - 1)), j});
  Value *i = ib.make(OpKind::Add, {t, ib.scalar(DType::I32, (double)lo)});
  // Restore this iteration's values from the tape: the carried inputs, and
  // under TapePolicy::Store the body's intermediates (so nothing is recomputed).
  std::vector<Value *> inputs{i};
  std::map<Value *, Value *> bodyMap = map;
  for (size_t k = 0; k < tape.stored.size(); ++k) {
    Value *v = ib.make(OpKind::Index, {fwd->result(tape.first + (unsigned)k), t});
    if (k < nc) inputs.push_back(v);
    else bodyMap[tape.stored[k]] = v;
  }
  std::vector<Value *> seeds(body.terminator()->numOperands(), nullptr);
  for (size_t s = 0; s < slots.size(); ++s) seeds[slots[s]] = cAdj[s];
  for (unsigned k = 0; k < ns; ++k)
    if (Value *sa = resultAdjs[nc + k]) seeds[nc + k] = ib.make(OpKind::Index, {sa, t});
  std::map<Value *, Value *> running;
  for (size_t f = 0; f < free.size(); ++f) running[free[f]] = fAdj[f];
  RegionAdjoints sub = differentiate(ib, body, inputs, seeds, bodyMap, running);
  std::vector<Value *> ys;
  for (unsigned k : slots) {
    Value *a = sub.args[k + 1];
    ys.push_back(a ? a : zerosLike(ib, op.result(k)));
  }
  for (Value *f : free) ys.push_back(sub.free.at(f)); // the running sum (fAdj[f] if unchanged)
  ib.create(OpKind::Yield, ys, {});
  for (size_t f = 0; f < free.size(); ++f) {
    Value *sum = rev->result((unsigned)(slots.size() + f));
    if (!free[f]->name().empty()) sum->setName(free[f]->name() + "_adj");
    adj[free[f]] = sum;
  }
  // A carried value's initial operand gets its adjoint after the free sums.
  for (size_t s = 0; s < slots.size(); ++s) operandAdjs.push_back({op.operand(slots[s]), rev->result((unsigned)s)});
}

// if: the same branch is taken backwards; each branch yields the adjoints of
// the free values it reads.
void Differentiator::reverseIf(Builder &b, const Op &op, std::map<Value *, Value *> &map,
                               const std::vector<Value *> &resultAdjs, OperandAdjoints &operandAdjs) {
  std::vector<Value *> free = variedFree(op);
  if (free.empty()) return;
  std::vector<Type> types;
  for (Value *f : free) types.push_back(f->type());
  Op *rev = b.create(OpKind::If, {lookupIn(map, op.operand(0))}, types, {});
  for (unsigned r = 0; r < 2; ++r) {
    Region *reg = rev->addRegion();
    Builder ib(reg);
    ib.setLoc(op.loc());
    RegionAdjoints sub = differentiate(ib, *op.region(r), {}, resultAdjs, map);
    std::vector<Value *> ys;
    for (Value *f : free) {
      auto it = sub.free.find(f);
      ys.push_back(it == sub.free.end() ? zerosLike(ib, f) : it->second);
    }
    ib.create(OpKind::Yield, ys, {});
  }
  for (size_t f = 0; f < free.size(); ++f) operandAdjs.push_back({free[f], rev->result((unsigned)f)});
}

// map: iterations are independent, so their reverse sweeps are too; the
// adjoints of the free values are stacked per iteration and summed.
void Differentiator::reverseMap(Builder &b, const Op &op, std::map<Value *, Value *> &map,
                                const std::vector<Value *> &resultAdjs, OperandAdjoints &operandAdjs) {
  std::vector<Value *> free = variedFree(op);
  if (free.empty()) return;
  int64_t lo = op.intAttr("lo"), hi = op.intAttr("hi");
  Op *rev = b.create(OpKind::Map, {}, {}, {{"lo", lo}, {"hi", hi}});
  Region *reg = rev->addRegion();
  Value *i = reg->addArgument(Type{DType::I32, {}});
  i->setName("i");
  Builder ib(reg);
  ib.setLoc(op.loc());
  Value *t = ib.make(OpKind::Sub, {i, ib.scalar(DType::I32, (double)lo)});
  std::vector<Value *> seeds;
  for (Value *ra : resultAdjs) seeds.push_back(ra ? ib.make(OpKind::Index, {ra, t}) : nullptr);
  RegionAdjoints sub = differentiate(ib, *op.region(0), {i}, seeds, map);
  std::vector<Value *> ys;
  for (Value *f : free) {
    auto it = sub.free.find(f);
    ys.push_back(it == sub.free.end() ? zerosLike(ib, f) : it->second);
  }
  ib.create(OpKind::Yield, ys, {});
  for (size_t f = 0; f < free.size(); ++f) {
    Type st = free[f]->type();
    st.shape.insert(st.shape.begin(), hi - lo);
    Value *stacked = rev->addResult(st);
    operandAdjs.push_back({free[f], b.make(OpKind::ReduceSum, {stacked}, {{"axes", std::vector<int64_t>{0}},
                                                                         {"keepdims", false}})});
  }
}

// call @f(args): call @grad_f(args, result adjoints) -> argument adjoints.
void Differentiator::reverseCall(Builder &b, const Op &op, std::map<Value *, Value *> &map,
                                 const std::vector<Value *> &resultAdjs, OperandAdjoints &operandAdjs) {
  Function *vjp = vjpFunction(op.strAttr("callee"));
  std::vector<Value *> operands;
  for (Value *v : op.operands()) operands.push_back(lookupIn(map, v));
  for (unsigned k = 0; k < op.numResults(); ++k)
    operands.push_back(resultAdjs[k] ? resultAdjs[k] : zerosLike(b, op.result(k)));
  Op *call = b.create(OpKind::Call, operands, vjp->resultTypes(), {{"callee", vjp->name()}});
  for (unsigned i = 0; i < op.numOperands(); ++i) operandAdjs.push_back({op.operand(i), call->result(i)});
}

/// grad_<f>(params..., result adjoints...) -> one adjoint per parameter:
/// recomputes f's body and sweeps it backwards. Made once per callee.
Function *Differentiator::vjpFunction(const std::string &callee) {
  auto found = vjps_.find(callee);
  if (found != vjps_.end()) return found->second;
  Function *f = module_.lookup(callee);
  PTL_CHECK(f, "call to an unknown function '" + callee + "'");
  std::vector<Type> params, results;
  for (const auto &a : f->body().arguments()) {
    params.push_back(a->type());
    results.push_back(a->type());
  }
  for (const Type &t : f->resultTypes()) params.push_back(t);
  std::string name = "grad_" + callee;
  while (module_.lookup(name)) name += "_";
  Function *g = module_.addFunction(std::make_unique<Function>(name, params, results, f->loc()));
  vjps_[callee] = g;
  unsigned np = f->body().numArguments();
  for (unsigned k = 0; k < np; ++k) {
    g->body().argument(k)->setName(f->body().argument(k)->name());
    if (canCarryDerivative(f->body().argument(k))) varied_.insert(f->body().argument(k));
  }
  markVaried(f->body());
  Builder b(&g->body());
  b.setLoc(f->loc());
  std::vector<Value *> inputs, seeds;
  for (unsigned k = 0; k < np; ++k) inputs.push_back(g->body().argument(k));
  for (unsigned k = 0; k < f->resultTypes().size(); ++k) {
    Value *a = g->body().argument(np + k);
    a->setName("result" + std::to_string(k) + "_adj");
    seeds.push_back(canCarryDerivative(a) ? a : nullptr);
  }
  RegionAdjoints sub = differentiate(b, f->body(), inputs, seeds, {});
  std::vector<Value *> ys;
  for (unsigned k = 0; k < np; ++k)
    ys.push_back(sub.args[k] ? sub.args[k] : zerosLike(b, f->body().argument(k)));
  b.create(OpKind::Return, ys, {});
  return g;
}

} // namespace ptl::ir::autodiff
