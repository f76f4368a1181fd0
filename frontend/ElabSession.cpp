//===- frontend/ElabSession.cpp - REPL sessions: bindings across entries ----===//
//
// In a REPL session (ElaborateOptions::session) each entry is its own
// compilation. The top-level bindings of earlier entries come in as `main`'s
// parameters (their stored leaves, in order) and are in scope under their
// names; `main` returns the top-level bindings after the entry and the value
// of a trailing expression, which it also prints as `TYPE = VALUE`. Types
// travel between compilations as HostType: a model type is resolved
// again against the current declarations, and a binding whose model no
// longer exists or whose leaf layout changed is dropped (reported back).
//
//===----------------------------------------------------------------------===//
#include "frontend/Elaborator.h"

namespace ptl {
namespace sema {

std::optional<SType> Elaborator::fromHostType(const HostType &p, std::string &why) {
  switch (p.kind) {
  case HostType::Unit: return SType::unit();
  case HostType::Tensor: return SType::tensorOf(p.tensor);
  case HostType::Tuple:
  case HostType::Record: {
    SType s;
    s.kind = p.kind == HostType::Tuple ? SType::Tuple : SType::Record;
    s.names = p.names;
    for (const HostType &e : p.elems) {
      std::optional<SType> et = fromHostType(e, why);
      if (!et) return std::nullopt;
      s.elems.push_back(*et);
    }
    return s;
  }
  case HostType::Model: {
    auto it = models_.find(p.model);
    if (it == models_.end()) {
      why = "model '" + p.model + "' is no longer declared";
      return std::nullopt;
    }
    const ast::ModelDecl &decl = *it->second;
    if (decl.typeParams.size() != p.modelArgs.size()) {
      why = "model '" + p.model + "' now has " + std::to_string(decl.typeParams.size()) + " type parameters";
      return std::nullopt;
    }
    int errorsBefore = diags_.errorCount();
    const ModelType *mt = modelType(decl, p.modelArgs, decl.nameLoc);
    if (!mt || diags_.errorCount() != errorsBefore) {
      why = "model '" + p.model + "' no longer builds";
      return std::nullopt;
    }
    if (SType::modelOf(mt).describe().leaves != p.leaves) {
      // A sub-model annotated by an enclosing model (`let s = p.i`) has a
      // variant of its type: the one made for the enclosing model, which
      // the models with default type arguments make.
      auto variantOf = [&]() -> const ModelType * {
        for (auto &[key, v] : variantTypes_)
          if (v->declared() == mt && SType::modelOf(v.get()).describe().leaves == p.leaves) return v.get();
        return nullptr;
      };
      const ModelType *v = variantOf();
      if (!v) {
        for (auto &[name, other] : models_) {
          bool defaults = true;
          for (const ast::ModelTypeParam &tp : other->typeParams)
            if (!tp.defaultValue) defaults = false;
          if (defaults) modelType(*other, {}, other->nameLoc);
        }
        v = variantOf();
      }
      if (!v || diags_.errorCount() != errorsBefore) {
        why = "the parameters of model '" + p.model + "' changed";
        return std::nullopt;
      }
      mt = v;
    }
    SType s = SType::modelOf(mt);
    s.leafBegin = p.leafBegin;
    s.leafEnd = p.leafEnd;
    s.tangent = p.tangent;
    return s;
  }
  }
  return std::nullopt;
}

void Elaborator::sessionPrelude(ir::Region &mainBody) {
  SessionResult *res = opts_.session->result;
  for (const SessionBinding &sb : opts_.session->prelude) {
    if (sb.string) {
      SValue v;
      v.isString = true;
      v.string = *sb.string;
      define(sb.name, v, sb.isVar, {});
      continue;
    }
    std::string why;
    std::optional<SType> t = fromHostType(sb.type, why);
    if (!t) {
      // A dropped binding takes no parameters.
      if (res) res->dropped.push_back({sb.name, why});
      continue;
    }
    std::vector<ir::Type> flat;
    t->flatten(flat);
    SValue v;
    v.type = *t;
    for (const ir::Type &ft : flat) v.leaves.push_back(mainBody.addArgument(ft));
    // A compile-time constant (`let n = 3`) stays one, so `0..n` still works.
    if (sb.constant && t->isScalar() && !sb.isVar)
      v = constantValue(t->tensor.dtype, *sb.constant, sb.weak);
    define(sb.name, v, sb.isVar, {});
  }
}

SValue Elaborator::sessionTrailing(const ast::ExprStmt &s) {
  b().setLoc(irLoc(s.loc));
  SValue v = elabExpr(*s.expr);
  if (v.poisoned || !opts_.session->printTrailing) return v;
  if (v.isString) {
    printValue({v}, s.loc);
    return v;
  }
  if (v.type.kind == SType::Unit) return v;
  bool printable = v.type.isTensor() || v.type.isModel();
  if (v.type.kind == SType::Tuple) {
    printable = true;
    for (const SType &e : v.type.elems) printable = printable && e.isTensor();
  }
  SValue label;
  label.isString = true;
  label.string = v.type.str() + (printable ? " =" : "");
  if (printable)
    printValue({label, v}, s.loc);
  else
    printValue({label}, s.loc);
  return v;
}

std::vector<ir::Value *> Elaborator::sessionResults(const SValue &trailing) {
  std::vector<ir::Value *> out;
  SessionResult *res = opts_.session->result;
  for (auto &[name, bnd] : ctx().scopes.front()) {
    const SValue &v = bnd.value;
    if (v.poisoned) continue;
    SessionBinding sb;
    sb.name = name;
    sb.isVar = bnd.isVar;
    if (v.isString) {
      sb.string = v.string;
    } else {
      if (v.leaves.size() != v.type.leafCount()) continue;
      sb.type = v.type.describe();
      if (v.constant && v.type.isScalar()) {
        sb.constant = v.constant;
        sb.weak = v.weak;
      }
      out.insert(out.end(), v.leaves.begin(), v.leaves.end());
    }
    if (res) res->bindings.push_back(std::move(sb));
  }
  if (!trailing.poisoned && !trailing.isString && trailing.type.kind != SType::Unit &&
      trailing.leaves.size() == trailing.type.leafCount()) {
    if (res) res->trailing = trailing.type.describe();
    out.insert(out.end(), trailing.leaves.begin(), trailing.leaves.end());
  }
  return out;
}

} // namespace sema
} // namespace ptl
