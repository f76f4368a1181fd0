//===- frontend/ElabModels.cpp - Model types, construction, transforms ------===//
//
// A model type is a declaration with its type arguments bound, flattened to
// stored leaves. Field reads apply each leaf's transform (constrained value),
// field writes apply its inverse; model arithmetic (and clamp) acts leaf by
// leaf on the stored trainable leaves, and the whole-model reductions (sum,
// norm, dot) reduce them to one scalar; construction evaluates initialisers and overrides
// in constrained coordinates and stores their inverse. The transforms
// themselves are the table in Bijectors.cpp; every constrained write goes
// through guardWrite (domain and `check` bounds: compile-time errors for
// constants, check_bounds ops otherwise), and emitChecks checks or projects
// whole models after `load` and each optimiser step of `train`.
//
//===----------------------------------------------------------------------===//
#include "frontend/Elaborator.h"
#include "frontend/Bijectors.h"
#include "frontend/ConstFold.h"
#include "runtime/Check.h"
#include "runtime/Constraints.h"

#include <cassert>
#include <cmath>
#include <sstream>

namespace ptl {
namespace sema {

using ir::OpKind;

/// A compile-time value of a model declaration and whether it is an i32.
struct DeclConst {
  double value;
  bool integer;
};

/// Evaluates a constant expression of a model declaration (bounds, type
/// arguments of sub-models): literals, type-parameter names and + - * /.
/// Integers (literals, type parameters) compute as i32 does at run time
/// (wrapping, division toward zero); anything with a float literal in f64.
static std::optional<DeclConst> evalDeclConst(const ast::Expr &e, const std::map<std::string, int64_t> &env) {
  switch (e.kind) {
  case ast::ExprKind::IntLit: return DeclConst{(double)ast::as<ast::IntLit>(e).value, true};
  case ast::ExprKind::FloatLit: return DeclConst{ast::as<ast::FloatLit>(e).value, false};
  case ast::ExprKind::Name: {
    auto it = env.find(ast::as<ast::NameExpr>(e).name);
    if (it == env.end()) return std::nullopt;
    return DeclConst{(double)it->second, true};
  }
  case ast::ExprKind::Unary: {
    const auto &u = ast::as<ast::UnaryExpr>(e);
    auto v = evalDeclConst(*u.operand, env);
    if (!v || u.op != ast::UnaryOp::Neg) return std::nullopt;
    return DeclConst{foldNeg(v->value, v->integer ? DType::I32 : DType::F64), v->integer};
  }
  case ast::ExprKind::Binary: {
    const auto &bx = ast::as<ast::BinaryExpr>(e);
    auto a = evalDeclConst(*bx.lhs, env), c = evalDeclConst(*bx.rhs, env);
    if (!a || !c) return std::nullopt;
    if (bx.op != ast::BinaryOp::Add && bx.op != ast::BinaryOp::Sub && bx.op != ast::BinaryOp::Mul &&
        bx.op != ast::BinaryOp::Div)
      return std::nullopt;
    if (bx.op == ast::BinaryOp::Div && c->value == 0) return std::nullopt;
    bool integer = a->integer && c->integer;
    auto r = foldBinary(bx.op, a->value, c->value, integer ? DType::I32 : DType::F64, false);
    if (!r) return std::nullopt;
    return DeclConst{*r, integer};
  }
  default: return std::nullopt;
  }
}

/// The value of a constant expression of a model declaration (see evalDeclConst).
static std::optional<double> evalConst(const ast::Expr &e, const std::map<std::string, int64_t> &env) {
  auto v = evalDeclConst(e, env);
  if (!v) return std::nullopt;
  return v->value;
}

/// The first dimension of tensor type `t` that names a negative value of `env`, or null.
static const ast::Dim *negativeDim(const ast::TypeExpr &t, const std::map<std::string, int64_t> &env) {
  if (t.kind != ast::TypeExpr::Tensor) return nullptr;
  for (const ast::Dim &d : t.dims) {
    auto it = d.value ? env.end() : env.find(d.name);
    if (it != env.end() && it->second < 0) return &d;
  }
  return nullptr;
}

const ModelType *Elaborator::modelTypeFromArgs(const ast::ModelDecl &decl,
                                               const std::vector<ast::ExprPtr> &args,
                                               const std::map<std::string, int64_t> &env, SourceLoc loc) {
  std::vector<int64_t> vals;
  for (const ast::ExprPtr &a : args) {
    auto v = evalConst(*a, env);
    if (!v || *v != std::floor(*v)) {
      diags_.error(a->loc) << "model type arguments must be compile-time integer constants";
      return nullptr;
    }
    vals.push_back((int64_t)*v);
  }
  return modelType(decl, vals, loc);
}

const ModelType *Elaborator::modelType(const ast::ModelDecl &decl, const std::vector<int64_t> &argsIn,
                                       SourceLoc loc) {
  if (badModels_.count(&decl)) return nullptr; // a cycle or too many leaves, reported (ModelGraph.cpp)
  std::vector<int64_t> args = argsIn;
  size_t n = decl.typeParams.size();
  if (args.size() > n) {
    diags_.error(loc) << "model '" << decl.name << "' expects " << n << " type argument" << (n == 1 ? "" : "s")
                      << ", got " << args.size();
    return nullptr;
  }
  std::map<std::string, int64_t> env;
  for (size_t i = 0; i < n; ++i) {
    const ast::ModelTypeParam &tp = decl.typeParams[i];
    if (i >= args.size()) {
      if (!tp.defaultValue) {
        diags_.error(loc) << "missing type argument '" << tp.name << "' of model '" << decl.name << "'";
        return nullptr;
      }
      auto v = evalConst(*tp.defaultValue, env);
      if (!v) {
        diags_.error(tp.defaultValue->loc) << "a type argument default must be a constant";
        return nullptr;
      }
      args.push_back((int64_t)*v);
    }
    env[tp.name] = args[i];
  }
  std::ostringstream key;
  key << decl.name;
  if (n) {
    key << "(";
    for (size_t i = 0; i < n; ++i) key << (i ? ", " : "") << args[i];
    key << ")";
  }
  auto found = modelTypes_.find(key.str());
  if (found != modelTypes_.end()) return found->second.get();

  auto mt = std::make_unique<ModelType>();
  mt->decl = &decl;
  mt->args = env;
  mt->display = key.str();
  bool ok = true;
  auto bound = [&](const ast::ExprPtr &e, double &out) {
    if (!e) return true;
    auto v = evalConst(*e, env);
    if (!v) {
      diags_.error(e->loc) << "a constraint bound must be a constant";
      return false;
    }
    out = *v;
    return true;
  };
  // Sets a leaf's bijector (and its stored type, which differs for simplex and cholesky).
  auto setTransform = [&](Leaf &leaf, Transform t, SourceLoc at) {
    const Bijector &bj = bijectorFor(t.kind);
    std::string err = bj.checkShape(leaf.value.shape);
    if (!err.empty()) {
      diags_.error(at) << err;
      return false;
    }
    leaf.transform = t;
    leaf.stored = ir::Type{leaf.value.dtype, bj.storedShape(leaf.value.shape)};
    return true;
  };
  // `constrain ...`: a bijector (transform mode) or a run-time bound (check, project).
  auto applyConstrain = [&](Leaf &leaf, const ast::ConstrainSpec &c) {
    double lo = 0, hi = 0;
    if (!bound(c.lo, lo) || !bound(c.hi, hi)) return false;
    if (c.kind == ast::ConstrainSpec::Interval && !(lo < hi)) {
      diags_.error(c.loc) << "empty interval (" << lo << ", " << hi << ")";
      return false;
    }
    if (c.mode == ast::ConstrainSpec::Transform) {
      switch (c.kind) {
      case ast::ConstrainSpec::Greater: return setTransform(leaf, {Transform::LowerBound, lo, 0}, c.loc);
      case ast::ConstrainSpec::Less: return setTransform(leaf, {Transform::UpperBound, lo, 0}, c.loc);
      case ast::ConstrainSpec::Interval: return setTransform(leaf, {Transform::Interval, lo, hi}, c.loc);
      case ast::ConstrainSpec::Ordered: return setTransform(leaf, {Transform::Ordered, 0, 0}, c.loc);
      case ast::ConstrainSpec::Simplex: return setTransform(leaf, {Transform::Simplex, 0, 0}, c.loc);
      case ast::ConstrainSpec::Cholesky: return setTransform(leaf, {Transform::Cholesky, 0, 0}, c.loc);
      }
      return false;
    }
    Bound bd;
    bd.mode = c.mode;
    bd.lo = lo;
    bd.hi = hi;
    bd.closed = c.closed;
    Transform shapeOf{}; // the bijector of the same set, for its shape rule
    switch (c.kind) {
    case ast::ConstrainSpec::Greater: bd.kind = Bound::Greater; break;
    case ast::ConstrainSpec::Less: bd.kind = Bound::Less; break;
    case ast::ConstrainSpec::Interval: bd.kind = Bound::Interval; break;
    case ast::ConstrainSpec::Simplex: bd.kind = Bound::Simplex; shapeOf.kind = Transform::Simplex; break;
    case ast::ConstrainSpec::Ordered: bd.kind = Bound::Ordered; shapeOf.kind = Transform::Ordered; break;
    case ast::ConstrainSpec::Cholesky: bd.kind = Bound::Cholesky; shapeOf.kind = Transform::Cholesky; break;
    }
    std::string err = bijectorFor(shapeOf.kind).checkShape(leaf.value.shape);
    if (!err.empty()) {
      diags_.error(c.loc) << err;
      return false;
    }
    if (c.mode == ast::ConstrainSpec::Project && !canProject(bd)) {
      diags_.error(c.loc) << "constrain : " << (bd.kind == Bound::Ordered ? "ordered" : "cholesky")
                          << " cannot be projected onto; use the transform form (drop 'project') or 'check'";
      return false;
    }
    if (c.mode == ast::ConstrainSpec::Project && leaf.transform.kind != Transform::Identity) {
      diags_.error(c.loc) << "parameter '" << leaf.path << "' is transformed; 'project' needs an untransformed parameter";
      return false;
    }
    leaf.bound = bd;
    return true;
  };
  // `reparam exp | softplus | sigmoid(lo, hi)`.
  auto applyReparam = [&](Leaf &leaf, const ast::ReparamSpec &r) {
    if (leaf.bound.mode == ast::ConstrainSpec::Project && leaf.bound.kind != Bound::None) {
      diags_.error(r.loc) << "parameter '" << leaf.path << "' is projected; it cannot also be reparameterised";
      return false;
    }
    if (r.bijector == "exp") return setTransform(leaf, {Transform::Exp, 0, 0}, r.loc);
    if (r.bijector == "softplus") return setTransform(leaf, {Transform::Softplus, 0, 0}, r.loc);
    if (r.bijector == "sigmoid") {
      double lo = 0, hi = 1;
      if (r.args.size() == 2) {
        if (!bound(r.args[0], lo) || !bound(r.args[1], hi)) return false;
      } else if (!r.args.empty()) {
        diags_.error(r.loc) << "reparam sigmoid takes (lo, hi)";
        return false;
      }
      if (!(lo < hi)) {
        diags_.error(r.loc) << "empty interval (" << lo << ", " << hi << ")";
        return false;
      }
      return setTransform(leaf, {Transform::Interval, lo, hi}, r.loc);
    }
    diags_.error(r.loc) << "unknown reparameterisation '" << r.bijector << "' (expected exp, softplus or sigmoid)";
    return false;
  };
  for (auto [kind, index] : decl.order) {
    if (kind == ast::ModelDecl::Param) {
      const ast::ParamDecl &pd = decl.params[index];
      // A type argument used as a dimension is checked where it is given.
      if (const ast::Dim *neg = negativeDim(*pd.type, env)) {
        (diags_.error(loc) << "negative dimension: type argument '" << neg->name << "' of model '" << decl.name
                           << "' is " << env.at(neg->name))
            .note(neg->loc, "it is a dimension of parameter '" + pd.name + "'");
        ok = false;
        continue;
      }
      std::optional<SType> t = resolveType(*pd.type, env, {}, true);
      if (!t) { ok = false; continue; }
      if (!t->isTensor() || !isFloat(t->tensor.dtype)) {
        if (!pd.constraints.empty())
          diags_.error(pd.constraints[0].loc) << "constrain needs a float parameter; '" << pd.name << "' is "
                                              << t->str();
        else
          diags_.error(pd.type->loc) << "parameter '" << pd.name << "' must be f32 or f64, got " << t->str();
        ok = false;
        continue;
      }
      Leaf leaf;
      leaf.path = pd.name;
      leaf.stored = leaf.value = t->tensor;
      leaf.decl = &pd;
      leaf.owner = mt.get();
      leaf.trainable = !pd.stopGrad;
      // A checked constraint applies to the value a reparameterisation produces;
      // a transforming or projecting one cannot be combined with it.
      if (!pd.constraints.empty() && !pd.reparams.empty() &&
          pd.constraints[0].mode != ast::ConstrainSpec::Check) {
        diags_.error(pd.reparams[0].loc) << "parameter '" << pd.name
                                         << "' cannot be both constrained and reparameterised";
        ok = false;
      }
      if (pd.constraints.size() > 1) {
        diags_.error(pd.constraints[1].loc) << "parameter '" << pd.name << "' has more than one constraint";
        ok = false;
      }
      if (!pd.constraints.empty() && !applyConstrain(leaf, pd.constraints[0])) ok = false;
      if (!pd.reparams.empty() && !applyReparam(leaf, pd.reparams[0])) ok = false;
      ModelType::Member m{ModelType::Member::Param, mt->leaves.size(), mt->leaves.size() + 1, nullptr, nullptr};
      mt->members[pd.name] = m;
      mt->memberOrder.push_back(pd.name);
      mt->leaves.push_back(leaf);
    } else if (kind == ast::ModelDecl::Submodel) {
      const ast::SubmodelDecl &sd = decl.submodels[index];
      if (sd.type->kind != ast::TypeExpr::Named || !models_.count(sd.type->name)) {
        diags_.error(sd.type->loc) << "unknown model '"
                                   << (sd.type->kind == ast::TypeExpr::Named ? sd.type->name : sd.name) << "'";
        ok = false;
        continue;
      }
      const ast::ModelDecl *subDecl = models_[sd.type->name];
      const ModelType *sub = modelTypeFromArgs(*subDecl, sd.type->typeArgs, env, sd.type->loc);
      if (!sub) { ok = false; continue; }
      ModelType::Member m{ModelType::Member::Submodel, mt->leaves.size(), 0, sub, nullptr};
      for (const Leaf &l : sub->leaves) {
        Leaf c = l;
        c.path = sd.name + "." + l.path;
        mt->leaves.push_back(c);
      }
      m.end = mt->leaves.size();
      mt->members[sd.name] = m;
      mt->memberOrder.push_back(sd.name);
    } else if (kind == ast::ModelDecl::Derived) {
      const ast::DerivedDecl &dd = decl.derived[index];
      ModelType::Member m{ModelType::Member::Derived, 0, 0, nullptr, &dd};
      mt->members[dd.name] = m;
      mt->memberOrder.push_back(dd.name);
    }
  }
  // Body annotations naming paths: `constrain l1.W in [-1, 1] check`, `stop_grad l1.*`.
  for (const ast::PathAnnotation &pa : decl.annotations) {
    bool any = false;
    for (Leaf &l : mt->leaves) {
      bool match = l.path == pa.path;
      if (pa.path.find('*') != std::string::npos) {
        // Simple glob: '*' matches anything.
        std::function<bool(const char *, const char *)> g = [&](const char *p, const char *s) -> bool {
          if (!*p) return !*s;
          if (*p == '*') {
            for (const char *t = s;; ++t) {
              if (g(p + 1, t)) return true;
              if (!*t) return false;
            }
          }
          return *p == *s && g(p + 1, s + 1);
        };
        match = g(pa.path.c_str(), l.path.c_str());
      }
      if (!match) continue;
      any = true;
      if (pa.stopGrad) l.trainable = false;
      if (pa.constrain && !applyConstrain(l, *pa.constrain)) ok = false;
      if (pa.reparam && !applyReparam(l, *pa.reparam)) ok = false;
    }
    if (!any) {
      diags_.error(pa.pathLoc.valid() ? pa.pathLoc : pa.loc)
          << "model '" << decl.name << "' has no parameter '" << pa.path << "'";
      ok = false;
    }
  }
  // A sub-model whose leaves the annotations above changed reads them through
  // a variant of its type (the annotations are a property of the leaf).
  if (ok)
    for (auto &[name, m] : mt->members)
      if (m.kind == ModelType::Member::Submodel) m.sub = annotatedVariant(m.sub, &mt->leaves[m.begin]);
  if (!ok) {
    modelTypes_[key.str()] = nullptr; // reported once; later uses get null quietly
    return nullptr;
  }
  const ModelType *result = mt.get();
  modelTypes_[key.str()] = std::move(mt);
  return result;
}

/// Do two leaves read and train alike (transform, bound, trainability)?
static bool sameAnnotations(const Leaf &a, const Leaf &c) {
  return a.transform.kind == c.transform.kind && a.transform.lo == c.transform.lo &&
         a.transform.hi == c.transform.hi && a.bound.kind == c.bound.kind && a.bound.mode == c.bound.mode &&
         a.bound.lo == c.bound.lo && a.bound.hi == c.bound.hi && a.bound.closed == c.bound.closed &&
         a.trainable == c.trainable && a.stored == c.stored;
}

const ModelType *Elaborator::annotatedVariant(const ModelType *sub, const Leaf *leaves) {
  bool same = true;
  for (size_t i = 0; i < sub->leaves.size(); ++i)
    if (!sameAnnotations(sub->leaves[i], leaves[i])) same = false;
  if (same) return sub;
  // One variant per declared type and set of annotations, so equal types compare equal.
  std::ostringstream key;
  key << (const void *)sub->declared();
  for (size_t i = 0; i < sub->leaves.size(); ++i) {
    const Leaf &l = leaves[i];
    key << "|" << l.transform.describe() << "," << l.bound.kind << "," << l.bound.mode << "," << l.bound.lo << ","
        << l.bound.hi << "," << l.bound.closed << "," << l.trainable;
  }
  auto found = variantTypes_.find(key.str());
  if (found != variantTypes_.end()) return found->second.get();
  auto v = std::make_unique<ModelType>(*sub);
  v->base = sub->declared();
  for (size_t i = 0; i < v->leaves.size(); ++i) {
    std::string path = v->leaves[i].path;
    v->leaves[i] = leaves[i];
    v->leaves[i].path = path;
  }
  for (auto &[name, m] : v->members)
    if (m.kind == ModelType::Member::Submodel) m.sub = annotatedVariant(m.sub, &v->leaves[m.begin]);
  const ModelType *result = v.get();
  variantTypes_[key.str()] = std::move(v);
  return result;
}

SValue Elaborator::coerceModel(const SValue &v, const SType &want, SourceLoc loc) {
  if (v.poisoned || !v.type.isModel() || !want.isModel() || v.type == want) return v;
  const ModelType &from = *v.type.model, &to = *want.model;
  if (from.declared() != to.declared() || v.type.leafBegin != 0 || want.leafBegin != 0 ||
      v.type.leafEnd != from.leaves.size() || want.leafEnd != to.leaves.size())
    return v;
  SValue r = v;
  r.type = want;
  r.type.tangent = v.type.tangent;
  b().setLoc(irLoc(loc));
  for (size_t i = 0; i < to.leaves.size(); ++i) {
    const Leaf &src = from.leaves[i], &dst = to.leaves[i];
    if (src.transform.kind == dst.transform.kind && src.transform.lo == dst.transform.lo &&
        src.transform.hi == dst.transform.hi)
      continue;
    if (v.type.tangent) {
      // A tangent has no constrained value to go through.
      diags_.error(loc) << "cannot use a gradient of " << v.type.str() << " where parameter '" << dst.path
                        << "' has another transform";
      return SValue::poison();
    }
    ir::Value *x = guardWrite(dst, applyTransform(src.transform, v.leaves[i]), loc);
    if (!x) return SValue::poison();
    r.leaves[i] = invertTransform(dst.transform, x);
    r.leaves[i]->setName(dst.path);
  }
  return r;
}

void Elaborator::checkDerived(const ModelType &mt) {
  for (const std::string &name : mt.memberOrder) {
    const ModelType::Member &m = mt.members.at(name);
    if (m.kind != ModelType::Member::Derived || derivedSeen_.count(m.derived)) continue;
    // Read once on a scratch value of the model; the IR is dropped.
    ir::Function scratch("__check", {}, {});
    FnContext sc;
    sc.builder.setRegion(&scratch.body());
    sc.scopes.emplace_back();
    FnContext *saved = ctx_;
    ctx_ = &sc;
    SValue self;
    self.type = SType::modelOf(&mt);
    for (const Leaf &l : mt.leaves) self.leaves.push_back(scratch.body().addArgument(l.stored));
    readMember(self, name, m.derived->nameLoc, true);
    ctx_ = saved;
  }
}

//===----------------------------------------------------------------------===//
// Transforms
//===----------------------------------------------------------------------===//

ir::Value *Elaborator::applyTransform(const Transform &t, ir::Value *u) {
  return bijectorFor(t.kind).forward(b(), t, u);
}

ir::Value *Elaborator::invertTransform(const Transform &t, ir::Value *x) {
  return bijectorFor(t.kind).inverse(b(), t, x);
}

/// The values of `v` when it is a compile-time constant: a constant op, a
/// broadcast of a one-element constant, or a stack (nested list literal) of
/// constants along axis 0.
static std::optional<Tensor> constantTensor(const ir::Value *v) {
  const ir::Op *op = v->definingOp();
  if (op && op->kind() == OpKind::Stack && op->intAttr("axis") == 0) {
    Tensor t = Tensor::zeros(v->type().dtype, v->type().shape);
    int64_t at = 0;
    for (const ir::Value *e : op->operands()) {
      std::optional<Tensor> part = constantTensor(e);
      if (!part) return std::nullopt;
      for (int64_t i = 0; i < part->numel(); ++i) t.setDouble(at++, part->getDouble(i));
    }
    return t;
  }
  if (op && op->kind() == OpKind::Broadcast) {
    const ir::Value *src = op->operand(0);
    if (numElements(src->type().shape) != 1) return std::nullopt;
    op = src->definingOp();
  }
  if (!op || op->kind() != OpKind::Constant) return std::nullopt;
  const auto *d = std::get_if<ir::Dense>(&op->attrs().at("value"));
  if (!d || d->values.empty()) return std::nullopt;
  Tensor t = Tensor::zeros(v->type().dtype, v->type().shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.setDouble(i, d->values.size() == 1 ? d->values[0] : d->values[(size_t)i]);
  return t;
}

/// The message of a write outside a bijector's domain, and of a failed check.
static const char *kDomainMessage = "value outside the parameter's domain";
static const char *kCheckMessage = "constraint violated";

ir::Value *Elaborator::guardWrite(const Leaf &l, ir::Value *x, SourceLoc loc) {
  std::optional<ConstraintSpec> domain = domainOf(l.transform), bound = constraintOf(l.bound);
  if (!domain && !bound) return x;
  // Constants are checked now; anything else by a check_bounds op at `loc`.
  if (std::optional<Tensor> c = constantTensor(x)) {
    for (auto [spec, message] : {std::pair{domain, kDomainMessage}, std::pair{bound, kCheckMessage}}) {
      if (!spec) continue;
      if (std::optional<std::string> bad = findViolation(*spec, *c)) {
        if (reportedDomainErrors_.insert({loc.file, loc.line, loc.col}).second)
          diags_.error(loc) << message << ": '" << l.path << "' must be " << spec->describe() << ", " << *bad;
        return nullptr;
      }
    }
    return x;
  }
  ir::Loc saved = b().loc();
  b().setLoc(irLoc(loc));
  if (domain) x = emitCheck(b(), x, nullptr, *domain, l.path, kDomainMessage);
  if (bound) x = emitCheck(b(), x, nullptr, *bound, l.path, kCheckMessage);
  b().setLoc(saved);
  return x;
}

void Elaborator::guardStoredWrite(const Leaf &l, ir::Value *u, SourceLoc loc) {
  std::optional<ConstraintSpec> domain = domainOf(l.transform);
  if (!domain) return;
  ir::Loc saved = b().loc();
  b().setLoc(irLoc(loc));
  emitCheck(b(), applyTransform(l.transform, u), nullptr, *domain, l.path, kDomainMessage);
  b().setLoc(saved);
}

SValue Elaborator::emitLoadChecks(const SValue &model, SourceLoc loc) {
  if (!model.type.isModel()) return model;
  for (size_t i = model.type.leafBegin; i < model.type.leafEnd; ++i)
    guardStoredWrite(model.type.model->leaves[i], model.leaves[i - model.type.leafBegin], loc);
  return emitChecks(model, nullptr, loc, false);
}

SValue Elaborator::emitChecks(const SValue &model, ir::Value *step, SourceLoc loc, bool project) {
  SValue r = model;
  if (!model.type.isModel()) return r;
  const ModelType &mt = *model.type.model;
  ir::Loc saved = b().loc();
  b().setLoc(irLoc(loc));
  for (size_t i = model.type.leafBegin; i < model.type.leafEnd; ++i) {
    const Leaf &l = mt.leaves[i];
    std::optional<ConstraintSpec> bound = constraintOf(l.bound);
    if (!bound) continue;
    ir::Value *&u = r.leaves[i - model.type.leafBegin];
    if (project && l.bound.mode == ast::ConstrainSpec::Project) {
      // Projected parameters are untransformed (checked at the declaration).
      u = emitProjection(b(), l.bound, u);
      u->setName(l.path);
      continue;
    }
    if (l.transform.kind == Transform::Identity) {
      u = emitCheck(b(), u, step, *bound, l.path, kCheckMessage);
      u->setName(l.path);
    } else {
      emitCheck(b(), applyTransform(l.transform, u), step, *bound, l.path, kCheckMessage);
    }
  }
  b().setLoc(saved);
  return r;
}

//===----------------------------------------------------------------------===//
// Construction
//===----------------------------------------------------------------------===//

SValue Elaborator::construct(const ModelType &mt, const std::vector<ast::Arg> &args, SourceLoc loc) {
  SValue seed = constantValue(DType::I32, 0, false);
  std::map<std::string, std::pair<SValue, SourceLoc>> overrides;
  bool bad = false;
  for (const ast::Arg &a : args) {
    if (a.name.empty()) continue; // type arguments, handled by the caller
    SValue v = elabExpr(*a.value);
    if (v.poisoned) { bad = true; continue; }
    if (a.name == "seed") {
      if (!v.type.isScalar() || v.type.tensor.dtype != DType::I32) {
        diags_.error(a.value->loc) << "seed must be an i32 scalar, got " << v.type.str();
        bad = true;
        continue;
      }
      seed = convertTo(v, DType::I32);
      continue;
    }
    // A parameter path or a sub-model path.
    bool found = false;
    for (const Leaf &l : mt.leaves)
      if (l.path == a.name || l.path.rfind(a.name + ".", 0) == 0) found = true;
    if (!found) {
      diags_.error(a.loc) << "model '" << mt.decl->name << "' has no field '" << a.name << "'";
      bad = true;
      continue;
    }
    overrides[a.name] = {v, a.loc};
  }
  if (bad) return SValue::poison();

  SValue m;
  m.type = SType::modelOf(&mt);
  b().setLoc(irLoc(loc));
  std::map<std::string, SValue> coercedOverrides; // sub-model overrides, in this model's annotations
  for (size_t i = 0; i < mt.leaves.size(); ++i) {
    const Leaf &l = mt.leaves[i];
    ir::Value *value = nullptr;
    bool isStored = false;
    SourceLoc valueLoc = l.decl ? l.decl->loc : loc; // where a value outside the domain is reported
    // An override of this leaf, or of a sub-model containing it.
    for (auto &[path, ov] : overrides) {
      if (path == l.path) {
        SValue v = ov.first;
        if (v.weak && v.type.isTensor()) v = convertTo(v, l.value.dtype);
        if (v.type.isTensor() && v.type.tensor.dtype == DType::I32) v = convertTo(v, l.value.dtype);
        Shape out;
        if (!v.type.isTensor() || v.type.tensor.dtype != l.value.dtype ||
            !ir::broadcastShapes(v.type.tensor.shape, l.value.shape, out) || out != l.value.shape) {
          diags_.error(ov.second) << "override '" << path << "' expects " << l.value.str() << ", got "
                                  << v.type.str();
          return SValue::poison();
        }
        value = broadcastTo(v.leaves[0], l.value.shape);
        valueLoc = ov.second;
      } else if (l.path.rfind(path + ".", 0) == 0) {
        std::string rest = l.path.substr(path.size() + 1);
        if (!ov.first.type.isModel()) {
          diags_.error(ov.second) << "override '" << path << "' expects a model, got " << ov.first.type.str();
          return SValue::poison();
        }
        // Stored through this model's annotations of the sub-model's paths.
        const ModelType::Member *member = nullptr;
        {
          const ModelType *cur = &mt;
          size_t at = 0;
          while (cur && at <= path.size()) {
            size_t dot = path.find('.', at);
            auto it = cur->members.find(path.substr(at, dot == std::string::npos ? std::string::npos : dot - at));
            if (it == cur->members.end() || it->second.kind != ModelType::Member::Submodel) { member = nullptr; break; }
            member = &it->second;
            cur = member->sub;
            if (dot == std::string::npos) break;
            at = dot + 1;
          }
        }
        auto done = coercedOverrides.find(path);
        if (done == coercedOverrides.end())
          done = coercedOverrides
                     .emplace(path, member ? coerceModel(ov.first, SType::modelOf(member->sub), ov.second) : ov.first)
                     .first;
        const SValue &sub = done->second;
        if (sub.poisoned) return sub;
        if (member && sub.type != SType::modelOf(member->sub)) {
          diags_.error(ov.second) << "override '" << path << "' expects " << member->sub->display << ", got "
                                  << ov.first.type.str();
          return SValue::poison();
        }
        for (size_t k = 0; k < sub.type.model->leaves.size(); ++k)
          if (sub.type.model->leaves[k].path == rest) {
            value = sub.leaves[k];
            isStored = true;
          }
        if (!value) {
          diags_.error(ov.second) << "override '" << path << "' has no parameter '" << rest << "'";
          return SValue::poison();
        }
      }
    }
    if (!value) {
      // The declared initialiser, evaluated in the declaring model's scope.
      const ast::ParamDecl &pd = *l.decl;
      const ast::Expr *init = pd.init.get();
      static const std::set<std::string> initialisers = {"zeros", "ones", "normal", "uniform", "glorot", "orthogonal"};
      if (!init) {
        // No initial value: stored 0, i.e. forward(0) (c + log 2 for `> c`, the
        // middle of an interval, the uniform simplex); 0 for an untransformed one.
        if (l.transform.kind == Transform::Identity) {
          value = b().constant(l.value, 0);
        } else {
          value = b().constant(l.stored, 0);
          isStored = true;
        }
      } else if (init->kind == ast::ExprKind::Call &&
                 ast::as<ast::CallExpr>(*init).callee->kind == ast::ExprKind::Name &&
                 initialisers.count(ast::as<ast::NameExpr>(*ast::as<ast::CallExpr>(*init).callee).name) &&
                 !functions_.count(ast::as<ast::NameExpr>(*ast::as<ast::CallExpr>(*init).callee).name)) {
        const auto &call = ast::as<ast::CallExpr>(*init);
        std::string kind = ast::as<ast::NameExpr>(*call.callee).name;
        valueLoc = init->loc;
        // Initialiser arguments: constants, by position or by name.
        static const std::map<std::string, std::vector<std::pair<std::string, double>>> params = {
            {"zeros", {}}, {"ones", {}}, {"normal", {{"std", 1.0}, {"mean", 0.0}}},
            {"uniform", {{"lo", 0.0}, {"hi", 1.0}}}, {"glorot", {{"gain", 1.0}}}, {"orthogonal", {{"gain", 1.0}}}};
        const auto &ps = params.at(kind);
        std::vector<double> vals;
        for (auto &p : ps) vals.push_back(p.second);
        size_t pos = 0;
        for (const ast::Arg &a : call.args) {
          size_t k = pos;
          if (!a.name.empty()) {
            k = 0;
            while (k < ps.size() && ps[k].first != a.name) ++k;
          } else {
            ++pos;
          }
          if (k >= ps.size()) {
            diags_.error(a.loc) << "'" << kind << "' has no parameter " << (a.name.empty() ? "here" : "named '" + a.name + "'");
            return SValue::poison();
          }
          auto v = evalConst(*a.value, mt.args);
          if (!v) {
            diags_.error(a.value->loc) << "initialiser arguments must be constants";
            return SValue::poison();
          }
          vals[k] = *v;
        }
        if (kind == "zeros" || kind == "ones") {
          value = b().constant(l.value, kind == "ones" ? 1 : 0);
        } else {
          if (kind == "orthogonal" && l.value.shape.size() != 2) {
            diags_.error(init->loc) << "orthogonal() needs a rank-2 parameter, got " << l.value.str();
            return SValue::poison();
          }
          ir::AttrMap attrs{{"dist", kind}, {"key", l.path}};
          if (kind == "normal") { attrs["a"] = vals[1]; attrs["b"] = vals[0]; }
          else if (kind == "uniform") { attrs["a"] = vals[0]; attrs["b"] = vals[1]; }
          else { attrs["a"] = vals[0]; attrs["b"] = 0.0; }
          value = b().create(OpKind::Random, {seed.leaves[0]}, {l.value}, attrs)->result(0);
        }
      } else {
        // Any other expression, with the model's type arguments in scope.
        FnContext tmp;
        tmp.builder = b();
        tmp.scopes.emplace_back();
        FnContext *saved = ctx_;
        ctx_ = &tmp;
        for (auto &[k, v] : l.owner->args) define(k, constantValue(DType::I32, (double)v, false), false, init->loc);
        SValue v = elabExpr(*init);
        ctx_ = saved;
        if (v.poisoned) return v;
        if (v.weak && v.type.isTensor()) v = convertTo(v, l.value.dtype);
        if (v.type.isTensor() && v.type.tensor.dtype == DType::I32) v = convertTo(v, l.value.dtype);
        Shape out;
        if (!v.type.isTensor() || v.type.tensor.dtype != l.value.dtype ||
            !ir::broadcastShapes(v.type.tensor.shape, l.value.shape, out) || out != l.value.shape) {
          diags_.error(init->loc) << "initial value of '" << pd.name << "' has type " << v.type.str()
                                  << ", expected " << l.value.str();
          return SValue::poison();
        }
        value = broadcastTo(v.leaves[0], l.value.shape);
        valueLoc = init->loc;
      }
    }
    // Constrained values are checked against the domain (and any check/project
    // bound) before they are inverted.
    if (!isStored) {
      value = guardWrite(l, value, valueLoc);
      if (!value) return SValue::poison();
    }
    ir::Value *stored = isStored ? value : invertTransform(l.transform, value);
    stored->setName(l.path);
    m.leaves.push_back(stored);
  }
  return m;
}

//===----------------------------------------------------------------------===//
// Field reads and writes
//===----------------------------------------------------------------------===//

/// Is `v` visible from region `r` (defined in r or an enclosing region)?
static bool visibleFrom(const ir::Value *v, ir::Region *r) {
  for (ir::Region *cur = r; cur; cur = cur->parentOp() ? cur->parentOp()->parentRegion() : nullptr)
    if (v->parentRegion() == cur) return true;
  return false;
}

SValue Elaborator::readMember(const SValue &model, const std::string &name, SourceLoc loc, bool constrained) {
  const ModelType &mt = *model.type.model;
  auto it = mt.members.find(name);
  if (it == mt.members.end()) {
    diags_.error(loc) << "model '" << mt.decl->name << "' has no field '" << name << "'";
    return SValue::poison();
  }
  const ModelType::Member &m = it->second;
  switch (m.kind) {
  case ModelType::Member::Param: {
    const Leaf &l = mt.leaves[m.begin];
    ir::Value *u = model.leaves[m.begin];
    // A tangent's leaves are derivatives in stored coordinates: read as they are.
    if (!constrained || model.type.tangent || l.transform.kind == Transform::Identity) return fromValue(u);
    auto cached = ctx().readCache.find(u);
    if (cached != ctx().readCache.end() && visibleFrom(cached->second, b().region()))
      return fromValue(cached->second);
    ir::Value *x = applyTransform(l.transform, u);
    x->setName(l.path);
    ctx().readCache[u] = x;
    return fromValue(x);
  }
  case ModelType::Member::Submodel: {
    SValue s;
    s.type = SType::modelOf(m.sub);
    s.type.tangent = model.type.tangent;
    s.leaves.assign(model.leaves.begin() + m.begin, model.leaves.begin() + m.end);
    return s;
  }
  case ModelType::Member::Derived: {
    derivedSeen_.insert(m.derived);
    // Recomputed at each read, in the model's own scope.
    FnContext tmp;
    tmp.builder = b();
    tmp.scopes.emplace_back();
    tmp.selfType = &mt;
    tmp.self = model;
    FnContext *saved = ctx_;
    ctx_ = &tmp;
    for (auto &[k, v] : mt.args) define(k, constantValue(DType::I32, (double)v, false), false, loc);
    SValue v = elabExpr(*m.derived->value);
    ctx_ = saved;
    return v;
  }
  }
  return SValue::poison();
}

SValue Elaborator::writeMember(const SValue &model, const std::vector<std::string> &path, const SValue &value0,
                               SourceLoc loc, bool raw) {
  const ModelType *mt = model.type.model;
  size_t offset = 0;
  for (size_t i = 0; i < path.size(); ++i) {
    auto it = mt->members.find(path[i]);
    if (it == mt->members.end()) {
      diags_.error(loc) << "model '" << mt->decl->name << "' has no field '" << path[i] << "'";
      return SValue::poison();
    }
    const ModelType::Member &m = it->second;
    bool last = i + 1 == path.size();
    if (m.kind == ModelType::Member::Derived) {
      diags_.error(loc) << "'" << path[i] << "' is a derived value and cannot be assigned";
      return SValue::poison();
    }
    if (m.kind == ModelType::Member::Submodel && !last) {
      offset += m.begin;
      mt = m.sub;
      continue;
    }
    SValue result = model;
    if (m.kind == ModelType::Member::Submodel) {
      // A value of the sub-model's declared type (or another variant) is
      // stored through this path's annotations.
      SValue value = coerceModel(value0, SType::modelOf(m.sub), loc);
      if (value.poisoned) return value;
      if (value.type != SType::modelOf(m.sub)) {
        diags_.error(loc) << "cannot assign " << value0.type.str() << " to '" << path[i] << "' of type "
                          << m.sub->display;
        return SValue::poison();
      }
      for (size_t k = m.begin; k < m.end; ++k) result.leaves[offset + k] = value.leaves[k - m.begin];
      return result;
    }
    if (!last) {
      diags_.error(loc) << "'" << path[i] << "' is a parameter, not a sub-model";
      return SValue::poison();
    }
    const Leaf &l = mt->leaves[m.begin];
    SValue v = value0;
    if (!v.type.isTensor()) {
      diags_.error(loc) << "cannot assign " << v.type.str() << " to parameter '" << path[i] << "'";
      return SValue::poison();
    }
    // A tangent's leaves carry no transform: a write is a raw write.
    if (model.type.tangent) raw = true;
    const ir::Type &want = raw ? l.stored : l.value;
    if (v.weak || v.type.tensor.dtype == DType::I32) v = convertTo(v, want.dtype);
    Shape out;
    if (v.type.tensor.dtype != want.dtype || !ir::broadcastShapes(v.type.tensor.shape, want.shape, out) ||
        out != want.shape) {
      diags_.error(loc) << "cannot assign " << v.type.str() << " to parameter '" << path[i] << "' of type "
                        << want.str();
      return SValue::poison();
    }
    ir::Value *x = broadcastTo(v.leaves[0], want.shape);
    // A constrained write is checked against the domain and any bound; a raw
    // write of an untransformed leaf is the same value, so its bound applies.
    if (!raw || l.transform.kind == Transform::Identity) {
      Leaf checked = l;
      if (raw) checked.transform = Transform{};
      x = guardWrite(checked, x, loc);
      if (!x) return SValue::poison();
    } else if (!model.type.tangent) {
      // A raw write of a transformed leaf is validated like an initial value:
      // the value it reads as must lie strictly inside the domain.
      guardStoredWrite(l, x, loc);
    }
    ir::Value *stored = raw ? x : invertTransform(l.transform, x);
    stored->setName(l.path);
    result.leaves[offset + m.begin] = stored;
    if (!raw && l.transform.kind != Transform::Identity) ctx().readCache[stored] = x;
    return result;
  }
  return SValue::poison();
}

//===----------------------------------------------------------------------===//
// Model arithmetic
//===----------------------------------------------------------------------===//

SValue Elaborator::modelArith(ast::BinaryOp op, const SValue &a, const SValue &c, SourceLoc loc) {
  static const std::map<ast::BinaryOp, OpKind> kinds = {
      {ast::BinaryOp::Add, OpKind::Add}, {ast::BinaryOp::Sub, OpKind::Sub}, {ast::BinaryOp::Mul, OpKind::Mul},
      {ast::BinaryOp::Div, OpKind::Div}, {ast::BinaryOp::Pow, OpKind::Pow}};
  auto k = kinds.find(op);
  if (k == kinds.end()) {
    diags_.error(loc) << "'" << ast::binaryOpSpelling(op) << "' is not defined on models";
    return SValue::poison();
  }
  const SValue &first = a.type.isModel() ? a : c;
  if (a.type.isModel() && c.type.isModel() && a.type != c.type) {
    diags_.error(loc) << "model arithmetic needs models of one type: " << a.type.str() << " and " << c.type.str();
    return SValue::poison();
  }
  for (const SValue *s : {&a, &c})
    if (!s->type.isModel() && !s->type.isScalar()) {
      diags_.error(loc) << "model arithmetic takes models and scalars, got " << (s->isString ? "a string" : s->type.str());
      return SValue::poison();
    }
  SValue r;
  r.type = first.type;
  // The result is a tangent when every model operand is one (`g1 + g2`,
  // `0.9 * v`); a model and a tangent give a model (`m - lr * g`).
  r.type.tangent = (!a.type.isModel() || a.type.tangent) && (!c.type.isModel() || c.type.tangent);
  const ModelType &mt = *first.type.model;
  b().setLoc(irLoc(loc));
  for (size_t i = 0; i < mt.leaves.size(); ++i) {
    if (!mt.leaves[i].trainable) {
      r.leaves.push_back(first.leaves[i]);
      continue;
    }
    DType dt = mt.leaves[i].stored.dtype;
    // A scalar broadcasts to every leaf and takes the leaf's element type
    // (so an f32 learning rate steps an f64 model); bool never converts.
    auto operand = [&](const SValue &s) -> ir::Value * {
      if (s.type.isModel()) return s.leaves[i];
      if (s.type.tensor.dtype == DType::Bool) return nullptr;
      return tensorValue(s, dt);
    };
    ir::Value *x = operand(a), *y = operand(c);
    if (!x || !y) {
      diags_.error(loc) << "model arithmetic needs a number, not " << (a.type.isModel() ? c : a).type.str();
      return SValue::poison();
    }
    r.leaves.push_back(b().make(k->second, {x, y}));
  }
  return r;
}

SValue Elaborator::modelUnary(OpKind kind, const SValue &a, SourceLoc loc) {
  SValue r = a;
  const ModelType &mt = *a.type.model;
  b().setLoc(irLoc(loc));
  for (size_t i = 0; i < mt.leaves.size(); ++i)
    if (mt.leaves[i].trainable) r.leaves[i] = b().make(kind, {a.leaves[i]});
  return r;
}

SValue Elaborator::modelClamp(const SValue &m, SValue lo, SValue hi, SourceLoc loc) {
  for (const SValue *s : {&lo, &hi})
    if (s->type.isModel() ? s->type != m.type : !s->type.isScalar() || s->type.tensor.dtype == DType::Bool) {
      diags_.error(loc) << "clamp of a model needs scalar bounds or models of its type, got "
                        << (s->isString ? "a string" : s->type.str());
      return SValue::poison();
    }
  SValue r = m;
  const ModelType &mt = *m.type.model;
  for (size_t i = 0; i < mt.leaves.size(); ++i) {
    if (!mt.leaves[i].trainable) continue;
    DType dt = mt.leaves[i].stored.dtype;
    auto bound = [&](const SValue &s) { return s.type.isModel() ? s.leaves[i] : tensorValue(s, dt); };
    ir::Value *c = emit(OpKind::Clamp, {m.leaves[i], bound(lo), bound(hi)}, {}, loc);
    if (!c) return SValue::poison();
    r.leaves[i] = c;
  }
  return r;
}

//===----------------------------------------------------------------------===//
// Whole-model reductions: sum(m), norm(m), dot(a, b)
//===----------------------------------------------------------------------===//
//
// With x_i the stored values of trainable leaf i (in leaf order) and T the
// result's element type (f64 if any trainable leaf is f64, else f32):
//   sum(m)    = sum_i sum(T(x_i))
//   dot(a, b) = sum_i sum(T(a_i) * T(b_i))
//   norm(m)   = sqrt(sum_i sum(T(x_i) * T(x_i)))        (L2, as sqrt(dot(m, m)))
// Stored values, as model arithmetic: a constrained parameter counts in its
// unconstrained coordinate (for a gradient that is all there is). Plain IR
// ops, so the reductions are differentiable like any other expression.

SValue Elaborator::modelReduce(ModelReduction kind, const SValue &m, const SValue *other, SourceLoc loc,
                               const char *what) {
  const ModelType &mt = *m.type.model;
  if (kind == ModelReduction::Dot) {
    PTL_CHECK(other != nullptr, "dot of a model without a second operand");
    if (!other->type.isModel() || other->type != m.type) {
      diags_.error(loc) << "dot needs two models of one type (or two tensors of one shape), got "
                        << m.type.str() << " and " << (other->isString ? "a string" : other->type.str());
      return SValue::poison();
    }
  }
  bool any = false;
  DType dt = DType::F32;
  for (const Leaf &l : mt.leaves) {
    if (!l.trainable) continue;
    any = true;
    if (l.stored.dtype == DType::F64) dt = DType::F64;
  }
  if (!any) {
    diags_.error(loc) << what << " of a model reduces its trainable parameters: model " << m.type.str()
                      << (mt.leaves.empty() ? " has no parameters"
                                            : " has no trainable parameter (every one is frozen by stop_grad)");
    return SValue::poison();
  }
  auto asResultType = [&](ir::Value *x) { return tensorValue(fromValue(x), dt); };
  ir::Value *total = nullptr;
  for (size_t i = 0; i < mt.leaves.size(); ++i) {
    if (!mt.leaves[i].trainable) continue;
    ir::Value *x = asResultType(m.leaves[i]);
    b().setLoc(irLoc(loc));
    ir::Value *term = kind == ModelReduction::Sum    ? x
                      : kind == ModelReduction::Norm ? b().make(OpKind::Mul, {x, x})
                                                     : b().make(OpKind::Mul, {x, asResultType(other->leaves[i])});
    if (!term->type().shape.empty())
      term = emit(OpKind::ReduceSum, {term}, {{"axes", std::vector<int64_t>{}}, {"keepdims", false}}, loc);
    if (!term) return SValue::poison();
    total = total ? b().make(OpKind::Add, {total, term}) : term;
  }
  if (kind == ModelReduction::Norm) total = b().make(OpKind::Sqrt, {total});
  return fromValue(total);
}

SValue Elaborator::stopGradModel(const SValue &m, const std::function<bool(const std::string &)> &match) {
  SValue r = m;
  const ModelType &mt = *m.type.model;
  for (size_t i = 0; i < mt.leaves.size(); ++i)
    if (match(mt.leaves[i].path)) r.leaves[i] = b().make(OpKind::StopGrad, {m.leaves[i]});
  return r;
}

//===----------------------------------------------------------------------===//
// print
//===----------------------------------------------------------------------===//

SValue Elaborator::printValue(const std::vector<SValue> &vals, SourceLoc loc) {
  // Like Python's print: arguments separated by a space, then a newline. A
  // model prints one `path = value` line per parameter (constrained values).
  std::vector<ir::Value *> operands;
  std::vector<std::string> labels, seps;
  std::string pending; // text to put before the next operand
  auto sepBefore = [](bool isFirst) { return isFirst ? std::string() : std::string(" "); };
  bool first = true;
  b().setLoc(irLoc(loc));
  for (const SValue &v : vals) {
    if (v.poisoned) return SValue::poison();
    if (v.isString) {
      pending += sepBefore(first) + v.string;
      first = false;
      continue;
    }
    if (v.type.isTensor()) {
      operands.push_back(tensorValue(v, v.weak ? std::optional<DType>(v.type.tensor.dtype) : std::nullopt));
      labels.push_back(pending + sepBefore(first));
      seps.push_back("");
      pending.clear();
      first = false;
      continue;
    }
    if (v.type.isModel()) {
      const ModelType &mt = *v.type.model;
      if (!first) pending += "\n";
      for (size_t i = 0; i < mt.leaves.size(); ++i) {
        const Leaf &l = mt.leaves[i];
        ir::Value *x = v.type.tangent ? v.leaves[i] : applyTransform(l.transform, v.leaves[i]);
        operands.push_back(x);
        labels.push_back(pending + (i ? "\n" : "") + l.path + " = ");
        seps.push_back("");
        pending.clear();
      }
      // Following arguments start on a new line.
      pending = "\n";
      first = true;
      continue;
    }
    if (v.type.kind == SType::Tuple) {
      size_t off = 0;
      pending += sepBefore(first) + "(";
      for (size_t k = 0; k < v.type.elems.size(); ++k) {
        const SType &t = v.type.elems[k];
        if (!t.isTensor()) {
          diags_.error(loc) << "print cannot show " << t.str() << " inside a tuple";
          return SValue::poison();
        }
        operands.push_back(v.leaves[off++]);
        labels.push_back(pending + (k ? ", " : ""));
        seps.push_back("");
        pending.clear();
      }
      pending = v.type.elems.size() == 1 ? ",)" : ")";
      first = false;
      continue;
    }
    diags_.error(loc) << "print cannot show " << v.type.str();
    return SValue::poison();
  }
  // The trailing text (and newline) goes into the last separator, or `tail`.
  bool endsWithModel = pending == "\n" && !operands.empty() && first;
  ir::AttrMap attrs{{"labels", labels}, {"seps", seps}};
  std::string tail = endsWithModel ? "\n" : pending + "\n";
  if (!operands.empty()) {
    std::vector<std::string> &s = std::get<std::vector<std::string>>(attrs["seps"]);
    s.back() += tail;
  } else {
    attrs["tail"] = tail;
  }
  b().create(OpKind::Print, operands, {}, attrs);
  return SValue::unit();
}

} // namespace sema
} // namespace ptl
