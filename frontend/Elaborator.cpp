//===- frontend/Elaborator.cpp - Declarations, functions, statements --------===//
//
// The driver of elaboration: collects declarations, elaborates the script's
// top-level statements into `main`, specialises functions per binding of
// their shape variables, generic parameters and constant i32 arguments, and
// desugars statements (var, compound and field assignment, for, train).
//
//===----------------------------------------------------------------------===//
#include "frontend/Elaborator.h"
#include "ir/Slice.h"
#include "runtime/Check.h"

#include <cmath>
#include <functional>
#include <sstream>
#include <unordered_set>

namespace ptl {
namespace sema {

Elaborator::Elaborator(const SourceManager &sm, DiagnosticEngine &diags,
                       const ElaborateOptions &opts)
    : sm_(sm), diags_(diags), opts_(opts) {}

ir::Loc Elaborator::irLoc(SourceLoc l) const {
  if (!l.valid())
    return {};
  return ir::Loc{module_->fileIndex(sm_.file(l.file).path), l.line, l.col};
}

std::unique_ptr<ir::Module> Elaborator::run(const std::vector<const ast::Program *> &programs) {
  module_ = std::make_unique<ir::Module>();
  if (!programs.empty())
    mainFile_ = programs[0]->fileId;
  // Imported files first and the main file last, so that a definition of the
  // script's that clashes with an imported one (std/optim is imported into
  // every script) is reported in the script, with a note at the other.
  for (size_t i = 1; i < programs.size(); ++i)
    collectDeclarations(*programs[i]);
  if (!programs.empty())
    collectDeclarations(*programs[0]);
  checkModelGraph(programs);

  SourceLoc mainLoc{mainFile_, 1, 1, 1};
  ir::Function *mainFn = module_->addFunction(
      std::make_unique<ir::Function>("main", std::vector<ir::Type>{}, std::vector<ir::Type>{},
                                     irLoc(mainLoc)));
  FnContext c;
  c.builder.setRegion(&mainFn->body());
  c.scopes.emplace_back();
  ctx_ = &c;
  if (opts_.session) sessionPrelude(mainFn->body());
  SValue trailing = SValue::unit();
  if (!programs.empty()) {
    const std::vector<ast::StmtPtr> &stmts = programs[0]->statements;
    for (size_t i = 0; i < stmts.size(); ++i) {
      if (opts_.session && i + 1 == stmts.size() && stmts[i]->kind == ast::StmtKind::Expr)
        trailing = sessionTrailing(ast::as<ast::ExprStmt>(*stmts[i]));
      else
        elabStmt(*stmts[i]);
    }
  }
  std::vector<ir::Value *> results;
  if (opts_.session) results = sessionResults(trailing);
  b().setLoc({});
  std::vector<ir::Type> resultTypes;
  for (ir::Value *v : results) resultTypes.push_back(v->type());
  mainFn->setResultTypes(resultTypes);
  b().create(ir::OpKind::Return, results, {});
  ctx_ = nullptr;

  // Declarations of the main file are checked even if unused: signatures
  // always, models whose type arguments all have defaults, and functions
  // whose signature is fully concrete.
  if (!programs.empty()) {
    for (const auto &m : programs[0]->models) {
      for (const ast::FnDecl &f : m->methods) checkSignature(f, m.get());
      bool defaults = true;
      for (const ast::ModelTypeParam &tp : m->typeParams)
        if (!tp.defaultValue) defaults = false;
      if (defaults) modelType(*m, {}, m->nameLoc);
    }
    for (const auto &fn : programs[0]->functions) {
      checkSignature(*fn, nullptr);
      checkUnused(*fn);
    }
    // Every `reparam NAME = EXPR` of every model type made, read or not.
    std::vector<const ModelType *> made;
    for (auto &[key, mt] : modelTypes_)
      if (mt) made.push_back(mt.get());
    for (const ModelType *mt : made) checkDerived(*mt);
    for (const EntryRequest &req : opts_.entries) {
      EntryResult r = elabEntry(req, *programs[0]);
      if (opts_.entryResults) opts_.entryResults->push_back(std::move(r));
    }
  }

  checkLiteralRanges();
  if (diags_.hasErrors())
    return nullptr;
  return std::move(module_);
}

SourceLoc Elaborator::sourceLocOf(const ir::Loc &l, SourceLoc fallback) const {
  for (int id = 0; id < sm_.fileCount() && l.valid(); ++id)
    if (sm_.file(id).path == module_->files()[l.file]) return SourceLoc{id, l.line, l.col, 1};
  return fallback;
}

/// A literal that reaches an f32 operation without being converted (printed,
/// bound and used, folded with another literal) has the default type f32:
/// every used f32 constant must be finite where its value is.
void Elaborator::checkLiteralRanges() {
  std::unordered_set<const ir::Value *> used;
  std::vector<const ir::Op *> constants;
  std::function<void(const ir::Region &)> walk = [&](const ir::Region &r) {
    for (const auto &op : r.ops()) {
      for (const ir::Value *v : op->operands()) used.insert(v);
      if (op->kind() == ir::OpKind::Constant && op->result()->type().dtype == DType::F32) constants.push_back(op.get());
      for (unsigned k = 0; k < op->numRegions(); ++k) walk(*op->region(k));
    }
  };
  for (const auto &f : module_->functions()) walk(f->body());
  for (const ir::Op *op : constants) {
    if (!used.count(op->result())) continue;
    for (double x : std::get<ir::Dense>(op->attrs().at("value")).values)
      if (std::isfinite(x) && !std::isfinite((float)x)) {
        reportLiteralRange(x, DType::F32, sourceLocOf(op->loc(), SourceLoc{mainFile_, 1, 1, 1}));
        break;
      }
  }
}

/// Checks what a signature says on its own: every type name exists and
/// every shape variable of the return type is bound by a parameter.
void Elaborator::checkSignature(const ast::FnDecl &fn, const ast::ModelDecl *owner) {
  std::set<std::string> bound(fn.generics.begin(), fn.generics.end());
  if (owner)
    for (const ast::ModelTypeParam &tp : owner->typeParams) bound.insert(tp.name);
  std::function<void(const ast::TypeExpr &, bool)> walk = [&](const ast::TypeExpr &t, bool isReturn) {
    switch (t.kind) {
    case ast::TypeExpr::Tensor:
      for (const ast::Dim &d : t.dims) {
        if (d.value) continue;
        if (!isReturn) bound.insert(d.name);
        else if (!bound.count(d.name))
          diags_.error(d.loc) << "shape variable '" << d.name << "' appears only in the return type of '" << fn.name
                              << "'";
      }
      break;
    case ast::TypeExpr::Named:
      if (!bound.count(t.name) && !models_.count(t.name))
        diags_.error(t.loc) << "unknown type '" << t.name << "'";
      break;
    case ast::TypeExpr::Tuple:
      for (const ast::TypePtr &e : t.elems) walk(*e, isReturn);
      break;
    }
  };
  int before = diags_.errorCount();
  for (const ast::FnParam &p : fn.params) walk(*p.type, false);
  if (fn.returnType) walk(*fn.returnType, true);
  if (diags_.errorCount() != before) badSignatures_.insert(&fn);
}

/// Elaborates a function nobody calls, if its signature is concrete (no
/// generics, no shape variables), so its errors are reported; the IR made
/// for it goes into a scratch function that is then dropped.
void Elaborator::checkUnused(const ast::FnDecl &fn) {
  if (!fn.generics.empty()) return;
  for (auto &kv : instances_)
    if (kv.second->decl == &fn) return;
  std::vector<SType> types;
  for (const ast::FnParam &p : fn.params) {
    std::optional<SType> t = resolveType(*p.type, {}, {}, false);
    if (!t) return;
    types.push_back(*t);
  }
  ir::Function scratch("__check", {}, {});
  FnContext sc;
  sc.builder.setRegion(&scratch.body());
  sc.scopes.emplace_back();
  ctx_ = &sc;
  std::vector<ArgValue> args;
  for (SType &t : types) {
    ArgValue a;
    a.value.type = t;
    std::vector<ir::Type> flat;
    t.flatten(flat);
    for (ir::Type &ft : flat) a.value.leaves.push_back(scratch.body().addArgument(ft));
    args.push_back(std::move(a));
  }
  callFunction(fn, nullptr, nullptr, std::move(args), fn.nameLoc, fn.name);
  ctx_ = nullptr;
}

/// Specialises `req.function` for the parameter types of `req.signature`
/// (arguments of a scratch caller, as in checkUnused: the specialisation
/// stays in the module, the caller is dropped).
EntryResult Elaborator::elabEntry(const EntryRequest &req, const ast::Program &main) {
  EntryResult r;
  const ast::FnDecl *sig = nullptr;
  for (const auto &fn : main.functions)
    if (fn->name == req.signature) sig = fn.get();
  PTL_CHECK(sig, "an entry request names a signature function of the main file");
  SourceLoc loc = sig->nameLoc;
  auto callee = functions_.find(req.function);
  if (callee == functions_.end()) {
    diags_.error(loc) << "no function named '" << req.function << "'";
    return r;
  }
  std::vector<SType> types;
  for (const ast::FnParam &p : sig->params) {
    std::optional<SType> t = resolveType(*p.type, {}, {}, true);
    if (!t) return r;
    types.push_back(*t);
  }
  ir::Function scratch("__entry", {}, {});
  FnContext sc;
  sc.builder.setRegion(&scratch.body());
  sc.scopes.emplace_back();
  FnContext *saved = ctx_;
  ctx_ = &sc;
  std::vector<ArgValue> args;
  for (size_t i = 0; i < types.size(); ++i) {
    ArgValue a;
    a.value.type = types[i];
    a.loc = sig->params[i].loc;
    std::vector<ir::Type> flat;
    types[i].flatten(flat);
    for (ir::Type &ft : flat) a.value.leaves.push_back(scratch.body().addArgument(ft));
    args.push_back(std::move(a));
  }
  int errorsBefore = diags_.errorCount();
  lastInstance_ = nullptr;
  SValue v = callFunction(*callee->second, nullptr, nullptr, std::move(args), loc, req.function);
  ctx_ = saved;
  if (v.poisoned || !lastInstance_ || diags_.errorCount() != errorsBefore) return r;
  r.ok = true;
  r.irName = lastInstance_->fn->name();
  for (const SType &t : types) r.params.push_back(t.describe());
  for (const ast::FnParam &p : callee->second->params) r.paramNames.push_back(p.name);
  r.result = lastInstance_->result.describe();
  return r;
}

//===----------------------------------------------------------------------===//
// Declarations
//===----------------------------------------------------------------------===//

void Elaborator::reportDuplicate(const std::string &name, SourceLoc loc, SourceLoc earlier) {
  DiagnosticBuilder d = diags_.error(loc);
  d << "duplicate definition of '" << name << "'";
  if (earlier.valid()) d.note(earlier, "'" + name + "' is also defined here");
}

void Elaborator::collectDeclarations(const ast::Program &p) {
  for (const auto &m : p.models) {
    auto [it, inserted] = models_.emplace(m->name, m.get());
    if (!inserted || functions_.count(m->name)) {
      reportDuplicate(m->name, m->nameLoc, inserted ? functions_.at(m->name)->nameLoc : it->second->nameLoc);
      continue;
    }
    // Duplicate members.
    std::set<std::string> seen;
    auto member = [&](const std::string &name, SourceLoc loc, const char *what) {
      if (!seen.insert(name).second)
        diags_.error(loc) << "duplicate " << what << " '" << name << "' in model '" << m->name << "'";
    };
    for (const ast::ParamDecl &pd : m->params)
      member(pd.name, pd.nameLoc, "parameter");
    for (const ast::SubmodelDecl &sd : m->submodels)
      member(sd.name, sd.nameLoc, "field");
    for (const ast::DerivedDecl &dd : m->derived)
      member(dd.name, dd.nameLoc, "field");
    std::set<std::string> methods;
    for (const ast::FnDecl &fd : m->methods)
      if (!methods.insert(fd.name).second)
        diags_.error(fd.nameLoc) << "duplicate method '" << fd.name << "' in model '" << m->name << "'";
  }
  for (const auto &f : p.functions) {
    if (functions_.count(f->name) || models_.count(f->name)) {
      reportDuplicate(f->name, f->nameLoc,
                      functions_.count(f->name) ? functions_.at(f->name)->nameLoc : models_.at(f->name)->nameLoc);
      continue;
    }
    functions_[f->name] = f.get();
  }
  auto checkParams = [&](const ast::FnDecl &f) {
    std::set<std::string> seen;
    for (const ast::FnParam &p : f.params)
      if (!seen.insert(p.name).second)
        diags_.error(p.loc) << "duplicate parameter '" << p.name << "' in function '" << f.name << "'";
  };
  for (const auto &f : p.functions)
    checkParams(*f);
  for (const auto &m : p.models)
    for (const ast::FnDecl &f : m->methods)
      checkParams(f);
}

//===----------------------------------------------------------------------===//
// Types in signatures
//===----------------------------------------------------------------------===//

std::optional<SType> Elaborator::resolveType(const ast::TypeExpr &t,
                                             const std::map<std::string, int64_t> &dims,
                                             const std::map<std::string, SType> &generics,
                                             bool report) {
  switch (t.kind) {
  case ast::TypeExpr::Tensor: {
    DType dt;
    if (!parseDType(t.elem, dt)) {
      if (report) diags_.error(t.loc) << "unknown type '" << t.elem << "'";
      return std::nullopt;
    }
    Shape shape;
    for (const ast::Dim &d : t.dims) {
      if (d.value) {
        if (*d.value < 0) {
          if (report) diags_.error(d.loc) << "negative dimension " << *d.value;
          return std::nullopt;
        }
        shape.push_back(*d.value);
        continue;
      }
      auto it = dims.find(d.name);
      if (it == dims.end()) {
        if (report) diags_.error(d.loc) << "unknown dimension '" << d.name << "'";
        return std::nullopt;
      }
      if (it->second < 0) {
        if (report) diags_.error(d.loc) << "negative dimension: '" << d.name << "' is " << it->second;
        return std::nullopt;
      }
      shape.push_back(it->second);
    }
    return SType::tensorOf(dt, shape);
  }
  case ast::TypeExpr::Tuple: {
    std::vector<SType> elems;
    for (const ast::TypePtr &e : t.elems) {
      auto r = resolveType(*e, dims, generics, report);
      if (!r) return std::nullopt;
      elems.push_back(*r);
    }
    return SType::tupleOf(std::move(elems));
  }
  case ast::TypeExpr::Named: {
    auto g = generics.find(t.name);
    if (g != generics.end())
      return g->second;
    auto m = models_.find(t.name);
    if (m == models_.end()) {
      if (report) diags_.error(t.loc) << "unknown type '" << t.name << "'";
      return std::nullopt;
    }
    const ModelType *mt = nullptr;
    if (t.hasTypeArgs) {
      mt = modelTypeFromArgs(*m->second, t.typeArgs, dims, t.loc);
    } else {
      bool allDefault = true;
      for (const ast::ModelTypeParam &tp : m->second->typeParams)
        if (!tp.defaultValue) allDefault = false;
      if (!allDefault) {
        if (report) diags_.error(t.loc) << "model '" << t.name << "' needs type arguments here";
        return std::nullopt;
      }
      mt = modelTypeFromArgs(*m->second, {}, dims, t.loc);
    }
    if (!mt) return std::nullopt;
    return SType::modelOf(mt);
  }
  }
  return std::nullopt;
}

/// Matches a declared parameter type against an argument's type, binding
/// shape variables and generic parameters. Returns false with `why` set.
bool Elaborator::bindParamType(const ast::TypeExpr &t, const SType &actual,
                               std::map<std::string, int64_t> &dims,
                               std::map<std::string, SType> &generics, const std::string &fnName,
                               const std::string &paramName, SourceLoc argLoc, std::string &why) {
  switch (t.kind) {
  case ast::TypeExpr::Tensor: {
    if (!actual.isTensor()) return false;
    DType dt;
    if (!parseDType(t.elem, dt)) {
      why = "unknown type '" + t.elem + "'";
      return false;
    }
    if (dt != actual.tensor.dtype) {
      // Integers promote to floats; nothing else converts implicitly.
      if (!(isFloat(dt) && actual.tensor.dtype == DType::I32)) return false;
    }
    if (t.dims.size() != actual.tensor.shape.size()) return false;
    for (size_t i = 0; i < t.dims.size(); ++i) {
      const ast::Dim &d = t.dims[i];
      int64_t got = actual.tensor.shape[i];
      if (d.value) {
        if (*d.value != got) return false;
        continue;
      }
      auto it = dims.find(d.name);
      if (it == dims.end()) {
        dims[d.name] = got;
      } else if (it->second != got) {
        return false;
      }
    }
    return true;
  }
  case ast::TypeExpr::Tuple: {
    if (actual.kind != SType::Tuple || actual.elems.size() != t.elems.size()) return false;
    for (size_t i = 0; i < t.elems.size(); ++i)
      if (!bindParamType(*t.elems[i], actual.elems[i], dims, generics, fnName, paramName, argLoc, why))
        return false;
    return true;
  }
  case ast::TypeExpr::Named: {
    auto g = generics.find(t.name);
    if (g != generics.end()) {
      if (g->second != actual) {
        why = "generic";
        return false;
      }
      return true;
    }
    if (std::find(bindingGenerics_.begin(), bindingGenerics_.end(), t.name) != bindingGenerics_.end()) {
      generics[t.name] = withoutTangent(actual); // a type; being a tangent is the value's
      return true;
    }
    auto m = models_.find(t.name);
    if (m == models_.end()) {
      why = "unknown type '" + t.name + "'";
      return false;
    }
    if (!actual.isModel() || actual.model->decl != m->second) return false;
    if (t.hasTypeArgs) {
      const ModelType *want = modelTypeFromArgs(*m->second, t.typeArgs, dims, t.loc);
      if (!want || want != actual.model->declared()) return false;
    }
    return true;
  }
  }
  return false;
}

//===----------------------------------------------------------------------===//
// Calls and specialisation
//===----------------------------------------------------------------------===//

std::vector<ArgValue> Elaborator::elabArgs(const std::vector<ast::Arg> &args) {
  std::vector<ArgValue> out;
  for (const ast::Arg &a : args)
    out.push_back({a.name, elabExpr(*a.value), a.value ? a.value->loc : a.loc, a.loc});
  return out;
}

/// A type as part of a specialisation key: its spelling, and for a model
/// which variant (ModelType::base) it is and whether the value is a tangent,
/// since both change what the body's reads and prints emit.
static std::string typeKey(const SType &t) {
  std::ostringstream os;
  os << t.str();
  std::function<void(const SType &)> walk = [&](const SType &x) {
    if (x.isModel()) os << "@" << (const void *)x.model << (x.tangent ? "'" : "");
    for (const SType &e : x.elems) walk(e);
  };
  walk(t);
  return os.str();
}

/// Writes a dimension binding as part of a specialisation key.
static std::string describeBinding(const std::map<std::string, int64_t> &dims,
                                   const std::map<std::string, SType> &generics) {
  std::string s;
  for (auto &[k, v] : dims) s += k + "=" + std::to_string(v) + ";";
  for (auto &[k, v] : generics) s += k + "=" + typeKey(v) + ";";
  return s;
}

SValue Elaborator::callFunction(const ast::FnDecl &decl, const ModelType *self,
                                const SValue *selfValue, std::vector<ArgValue> args,
                                SourceLoc loc, const std::string &displayName) {
  for (const ArgValue &a : args)
    if (a.value.poisoned) return SValue::poison();

  // 1. Match arguments to parameters: positional first, then by name.
  size_t n = decl.params.size();
  std::vector<std::optional<ArgValue>> bound(n);
  size_t positional = 0;
  bool bad = false;
  for (ArgValue &a : args) {
    if (a.name.empty()) {
      if (positional >= n) {
        size_t count = 0;
        for (const ArgValue &x : args) if (x.name.empty()) ++count;
        diags_.error(loc) << "'" << displayName << "' expects " << n << " argument"
                          << (n == 1 ? "" : "s") << ", got " << count;
        return SValue::poison();
      }
      bound[positional++] = std::move(a);
      continue;
    }
    size_t i = 0;
    while (i < n && decl.params[i].name != a.name) ++i;
    if (i == n) {
      diags_.error(a.nameLoc.valid() ? a.nameLoc : a.loc) << "'" << displayName << "' has no parameter named '"
                                                        << a.name << "'";
      bad = true;
      continue;
    }
    if (bound[i]) {
      diags_.error(a.nameLoc.valid() ? a.nameLoc : a.loc) << "argument '" << a.name << "' of '" << displayName
                                                        << "' given twice";
      bad = true;
      continue;
    }
    bound[i] = std::move(a);
  }
  for (size_t i = 0; i < n; ++i) {
    if (bound[i]) continue;
    const ast::FnParam &p = decl.params[i];
    if (!p.defaultValue) {
      diags_.error(loc) << "missing argument '" << p.name << "' in call to '" << displayName << "'";
      bad = true;
      continue;
    }
    bound[i] = ArgValue{p.name, elabExpr(*p.defaultValue), p.defaultValue->loc};
    if (bound[i]->value.poisoned) bad = true;
  }
  if (bad) return SValue::poison();

  // 2. Bind shape variables, generic parameters and model type arguments.
  std::map<std::string, int64_t> dims;
  if (self)
    for (auto &[k, v] : self->args) dims[k] = v;
  std::map<std::string, SType> generics;
  bindingGenerics_ = decl.generics;
  std::map<std::string, std::string> genericParam, dimParam;
  std::vector<SValue> values(n);
  std::string constKey;
  for (size_t i = 0; i < n; ++i) {
    const ast::FnParam &p = decl.params[i];
    SValue v = bound[i]->value;
    // A generic parameter used directly binds to the argument's type.
    if (p.type->kind == ast::TypeExpr::Named &&
        std::find(decl.generics.begin(), decl.generics.end(), p.type->name) != decl.generics.end()) {
      auto g = generics.find(p.type->name);
      if (v.weak && v.type.isTensor())
        v = convertTo(v, v.type.tensor.dtype);
      if (g == generics.end()) {
        generics[p.type->name] = withoutTangent(v.type);
        genericParam[p.type->name] = p.name;
      } else if (g->second != v.type) {
        diags_.error(bound[i]->loc) << "generic parameter '" << p.type->name << "' is "
                                    << g->second.str() << " from '" << genericParam[p.type->name]
                                    << "' but " << v.type.str() << " from '" << p.name << "'"
                                    << (g->second.str() == v.type.str()
                                            ? " (the two carry different parameter annotations)"
                                            : "");
        return SValue::poison();
      }
      values[i] = v;
      continue;
    }
    // Literals adapt to the declared element type.
    if (v.weak && v.type.isTensor() && p.type->kind == ast::TypeExpr::Tensor) {
      DType want;
      if (parseDType(p.type->elem, want) && (isFloat(want) || v.type.tensor.dtype == DType::I32))
        v = convertTo(v, want);
    }
    std::map<std::string, int64_t> before = dims;
    std::string why;
    if (!bindParamType(*p.type, v.type, dims, generics, displayName, p.name, bound[i]->loc, why)) {
      if (!why.empty() && why != "generic") {
        diags_.error(p.type->loc) << why;
        return SValue::poison();
      }
      // Name the conflicting shape variable when that is the cause.
      if (p.type->kind == ast::TypeExpr::Tensor && v.type.isTensor() &&
          p.type->dims.size() == v.type.tensor.shape.size()) {
        for (size_t k = 0; k < p.type->dims.size(); ++k) {
          const ast::Dim &d = p.type->dims[k];
          if (!d.value && before.count(d.name) && before[d.name] != v.type.tensor.shape[k] &&
              dimParam.count(d.name)) {
            diags_.error(bound[i]->loc)
                << "shape variable '" << d.name << "' is " << before[d.name] << " from '"
                << dimParam[d.name] << "' but " << v.type.tensor.shape[k] << " from '" << p.name << "'";
            return SValue::poison();
          }
        }
      }
      std::ostringstream want;
      {
        // Print the declared type as written.
        const ast::TypeExpr &t = *p.type;
        if (t.kind == ast::TypeExpr::Tensor) {
          want << t.elem;
          if (!t.dims.empty()) {
            want << "[";
            for (size_t k = 0; k < t.dims.size(); ++k)
              want << (k ? ", " : "") << (t.dims[k].value ? std::to_string(*t.dims[k].value) : t.dims[k].name);
            want << "]";
          }
        } else if (t.kind == ast::TypeExpr::Named) {
          want << t.name;
        } else {
          want << "a tuple";
        }
      }
      diags_.error(bound[i]->loc) << "argument '" << p.name << "' of '" << displayName << "' expects "
                                  << want.str() << ", got " << v.type.str();
      return SValue::poison();
    }
    for (auto &[k, val] : dims)
      if (!before.count(k)) dimParam[k] = p.name;
    // Promote integer arguments to the declared float type.
    if (v.type.isTensor() && p.type->kind == ast::TypeExpr::Tensor) {
      DType want;
      if (parseDType(p.type->elem, want) && want != v.type.tensor.dtype)
        v = convertTo(v, want);
    }
    // Compile-time i32 scalars specialise the function (loop bounds, sizes).
    if (v.constant && v.type.isScalar() && v.type.tensor.dtype == DType::I32)
      constKey += p.name + "=" + std::to_string((long long)*v.constant) + ";";
    else
      v.constant.reset();
    values[i] = v;
  }
  for (const std::string &g : decl.generics)
    if (!generics.count(g)) {
      diags_.error(loc) << "cannot infer generic parameter '" << g << "' of '" << displayName << "'";
      return SValue::poison();
    }

  if (badSignatures_.count(&decl)) return SValue::poison(); // already reported

  // 3. Recursion is an error.
  for (const ast::FnDecl *f : callStack_) {
    if (f == &decl) {
      if (callStack_.back() == &decl)
        diags_.error(loc) << "recursion is not supported: '" << decl.name << "' calls itself";
      else
        diags_.error(loc) << "recursion is not supported: '" << callStack_.back()->name << "' calls '"
                          << decl.name << "', which calls it back";
      return SValue::poison();
    }
  }

  // 4. Find or create the specialisation.
  std::ostringstream keyOs;
  keyOs << (const void *)&decl << "|" << (const void *)self << "|" << describeBinding(dims, generics) << "|"
        << constKey << "|";
  for (const SValue &v : values) keyOs << typeKey(v.type) << ",";
  std::string key = keyOs.str();
  FnInstance *inst = nullptr;
  auto found = instances_.find(key);
  if (found != instances_.end()) {
    inst = found->second.get();
    if (!inst->ok) return SValue::poison();
  } else {
    // A bound on the specialisations of a program: a function calling the
    // next twice with new constant arguments, k deep, would make 2^k.
    int64_t limit = opts_.limits.maxSpecialisations;
    if (limit > 0 && (int64_t)instances_.size() >= limit) {
      if (!specialisationLimitReported_)
        diags_.error(loc) << "calling '" << displayName << "' here needs one more function specialisation, more than "
                          << "the limit of " << limit << " in a program (each binding of a function's shape "
                          << "variables, generic parameters and constant i32 arguments is one)";
      specialisationLimitReported_ = true;
      return SValue::poison();
    }
    auto owned = std::make_unique<FnInstance>();
    inst = owned.get();
    instances_[key] = std::move(owned);
    inst->decl = &decl;
    inst->self = self;
    inst->key = key;

    // The declared result type; a dimension seen only there is an error.
    std::optional<SType> declared;
    if (decl.returnType) {
      std::function<bool(const ast::TypeExpr &)> dimsBound = [&](const ast::TypeExpr &t) {
        if (t.kind == ast::TypeExpr::Tensor) {
          for (const ast::Dim &d : t.dims)
            if (!d.value && !dims.count(d.name)) {
              diags_.error(d.loc) << "shape variable '" << d.name
                                  << "' appears only in the return type of '" << decl.name << "'";
              return false;
            }
        }
        for (const ast::TypePtr &e : t.elems)
          if (!dimsBound(*e)) return false;
        return true;
      };
      if (!dimsBound(*decl.returnType)) {
        inst->ok = false;
        return SValue::poison();
      }
      declared = resolveType(*decl.returnType, dims, generics, true);
      if (!declared) {
        inst->ok = false;
        return SValue::poison();
      }
    } else {
      declared = SType::unit();
    }
    inst->result = *declared;

    // The IR function: self leaves first, then each parameter's leaves.
    // Names are unique in the whole module, not only among user functions:
    // the generated `main` (made first) and any other function already there
    // keep their names, and a user function of that name takes the next
    // free "NAME.K" (a dot no user name can contain).
    std::string base = self ? self->decl->name + "." + decl.name : decl.name;
    std::string irName;
    do {
      int count = ++fnNameCount_[base];
      irName = count == 1 ? base : base + "." + std::to_string(count);
    } while (module_->lookup(irName));
    std::vector<ir::Type> paramTypes, resultTypes;
    if (self) SType::modelOf(self).flatten(paramTypes);
    for (const SValue &v : values) v.type.flatten(paramTypes);
    declared->flatten(resultTypes);
    ir::Function *fn = module_->addFunction(
        std::make_unique<ir::Function>(irName, paramTypes, resultTypes, irLoc(decl.nameLoc)));
    inst->fn = fn;

    FnContext c;
    c.builder.setRegion(&fn->body());
    c.scopes.emplace_back();
    c.decl = &decl;
    c.returnType = declared;
    c.selfType = self;
    unsigned argIndex = 0;
    auto takeArgs = [&](const SType &t) {
      SValue v;
      v.type = t;
      for (size_t k = 0, e = t.leafCount(); k < e; ++k) {
        ir::Value *a = fn->body().argument(argIndex++);
        v.leaves.push_back(a);
      }
      return v;
    };
    if (self) {
      c.self = takeArgs(SType::modelOf(self));
      for (size_t k = 0; k < self->leaves.size(); ++k)
        c.self.leaves[k]->setName(self->leaves[k].path);
    }
    for (size_t i = 0; i < n; ++i) {
      SValue pv = takeArgs(values[i].type);
      pv.constant = values[i].constant;
      if (pv.leaves.size() == 1) pv.leaves[0]->setName(decl.params[i].name);
      c.scopes.back()[decl.params[i].name] = Binding{pv, false, decl.params[i].loc};
    }
    // Shape variables and model type arguments are i32 constants in the body.
    FnContext *saved = ctx_;
    ctx_ = &c;
    for (auto &[name, value] : dims)
      if (!c.scopes.back().count(name))
        c.scopes.back()[name] = Binding{constantValue(DType::I32, (double)value, false), false, decl.loc};
    callStack_.push_back(&decl);

    SValue result;
    SourceLoc resultLoc = decl.loc;
    int errorsBefore = diags_.errorCount();
    if (decl.bodyExpr) {
      b().setLoc(irLoc(decl.bodyExpr->loc));
      result = elabExpr(*decl.bodyExpr);
      resultLoc = decl.bodyExpr->loc;
    } else if (decl.body) {
      const ast::Block &body = *decl.body;
      for (size_t k = 0; k < body.stmts.size(); ++k) {
        const ast::Stmt &s = *body.stmts[k];
        if (s.kind == ast::StmtKind::Return) {
          const auto &r = ast::as<ast::ReturnStmt>(s);
          if (k + 1 != body.stmts.size() || body.result) {
            diags_.error(s.loc) << "return must be the last statement of a function";
            continue;
          }
          if (r.value) {
            result = elabExpr(*r.value);
            resultLoc = r.value->loc;
          }
          continue;
        }
        elabStmt(s);
      }
      if (body.result) {
        result = elabExpr(*body.result);
        resultLoc = body.result->loc;
      }
    }
    callStack_.pop_back();

    if (!result.poisoned && diags_.errorCount() == errorsBefore) {
      if (result.weak && result.type.isTensor() && declared->isTensor())
        result = convertTo(result, declared->tensor.dtype);
      result = coerceModel(result, *declared, resultLoc);
      // A tangent (gradient) returned stays one for the callers.
      if (!result.poisoned && result.type == *declared) copyTangent(inst->result, result.type);
      if (result.poisoned) {
        inst->ok = false;
      } else if (result.type != *declared) {
        diags_.error(resultLoc) << "'" << decl.name << "' returns " << result.type.str()
                                << " but is declared to return " << declared->str();
        inst->ok = false;
      } else {
        b().setLoc(irLoc(resultLoc));
        b().create(ir::OpKind::Return, result.leaves, {});
      }
    } else {
      inst->ok = false;
    }
    if (!inst->ok || diags_.errorCount() != errorsBefore) {
      inst->ok = false;
      // Keep the module well-formed: terminate the body.
      if (!fn->body().terminator() || fn->body().terminator()->kind() != ir::OpKind::Return) {
        std::vector<ir::Value *> dummy;
        for (const ir::Type &t : resultTypes)
          dummy.push_back(b().constant(t, 0));
        b().create(ir::OpKind::Return, dummy, {});
      }
    }
    ctx_ = saved;
    if (!inst->ok) return SValue::poison();
  }

  // 5. The call.
  lastInstance_ = inst;
  std::vector<ir::Value *> operands;
  if (self && selfValue)
    operands.insert(operands.end(), selfValue->leaves.begin(), selfValue->leaves.end());
  for (const SValue &v : values)
    for (ir::Value *leaf : v.leaves) operands.push_back(leaf);
  std::vector<ir::Type> resultTypes;
  inst->result.flatten(resultTypes);
  b().setLoc(irLoc(loc));
  ir::Op *call = b().create(ir::OpKind::Call, operands, resultTypes,
                            {{"callee", std::string(inst->fn->name())}});
  SValue r;
  r.type = inst->result;
  r.leaves = call->results();
  return r;
}

//===----------------------------------------------------------------------===//
// Scopes
//===----------------------------------------------------------------------===//

Binding *Elaborator::lookup(const std::string &name) {
  for (auto it = ctx().scopes.rbegin(); it != ctx().scopes.rend(); ++it) {
    auto f = it->find(name);
    if (f != it->end()) return &f->second;
  }
  return nullptr;
}

void Elaborator::define(const std::string &name, SValue v, bool isVar, SourceLoc loc) {
  if (name == "_") return;
  if (v.leaves.size() == 1 && v.leaves[0]->name().empty() && !v.weak)
    v.leaves[0]->setName(name);
  ctx().scopes.back()[name] = Binding{std::move(v), isVar, loc};
}

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

void Elaborator::elabBlockStmts(const ast::Block &blk) {
  for (const ast::StmtPtr &s : blk.stmts)
    elabStmt(*s);
}

SValue Elaborator::elabBlock(const ast::Block &blk) {
  pushScope();
  elabBlockStmts(blk);
  SValue v = blk.result ? elabExpr(*blk.result) : SValue::unit();
  popScope();
  return v;
}

void Elaborator::elabStmt(const ast::Stmt &s) {
  b().setLoc(irLoc(s.loc));
  switch (s.kind) {
  case ast::StmtKind::Let: return elabLet(ast::as<ast::LetStmt>(s));
  case ast::StmtKind::Var: return elabVar(ast::as<ast::VarStmt>(s));
  case ast::StmtKind::Assign: return elabAssign(ast::as<ast::AssignStmt>(s));
  case ast::StmtKind::Expr: elabExpr(*ast::as<ast::ExprStmt>(s).expr); return;
  case ast::StmtKind::For: return elabFor(ast::as<ast::ForStmt>(s));
  case ast::StmtKind::Train: return elabTrain(ast::as<ast::TrainStmt>(s));
  case ast::StmtKind::Return:
    diags_.error(s.loc) << (ctx().decl ? "return must be the last statement of a function"
                                       : "return outside a function");
    return;
  }
}

/// Applies a `: TYPE` annotation to a bound value: literals adapt, anything
/// else must match exactly.
static bool annotate(Elaborator &E, const ast::TypePtr &type, SValue &v, SourceLoc loc) {
  if (!type || v.poisoned) return true;
  std::optional<SType> t = E.resolveType(*type, {}, {}, true);
  if (!t) return false;
  if (v.weak && v.type.isTensor() && t->isTensor() && t->isScalar())
    v = E.convertTo(v, t->tensor.dtype);
  if (v.type.isTensor() && t->isTensor() && v.type.tensor.dtype == DType::I32 && isFloat(t->tensor.dtype) &&
      v.type.tensor.shape == t->tensor.shape)
    v = E.convertTo(v, t->tensor.dtype);
  v = E.coerceModel(v, *t, loc);
  if (v.poisoned) return false;
  if (v.type != *t) {
    E.diags_.error(loc) << "value of type " << v.type.str() << " does not match the annotation " << t->str();
    return false;
  }
  return true;
}

/// The type a `: TYPE` annotation names, for built-ins that read files.
/// Only a direct `load_npy(...)` call uses it.
static std::optional<SType> annotationType(Elaborator &E, const ast::TypePtr &type, const ast::Expr &value) {
  if (!type || value.kind != ast::ExprKind::Call) return std::nullopt;
  const ast::Expr &callee = *ast::as<ast::CallExpr>(value).callee;
  if (callee.kind != ast::ExprKind::Name || ast::as<ast::NameExpr>(callee).name != "load_npy") return std::nullopt;
  return E.resolveType(*type, {}, {}, false);
}

void Elaborator::elabLet(const ast::LetStmt &s) {
  std::optional<SType> expected = annotationType(*this, s.type, *s.value);
  expectedType_ = expected ? &*expected : nullptr;
  SValue v = elabExpr(*s.value);
  expectedType_ = nullptr;
  if (!annotate(*this, s.type, v, s.value->loc)) v = SValue::poison();
  bindPattern(s.pattern, v, false);
}

void Elaborator::elabVar(const ast::VarStmt &s) {
  std::optional<SType> expected = annotationType(*this, s.type, *s.value);
  expectedType_ = expected ? &*expected : nullptr;
  SValue v = elabExpr(*s.value);
  expectedType_ = nullptr;
  if (!annotate(*this, s.type, v, s.value->loc)) v = SValue::poison();
  // A var holds a concrete value: literals become f32 (or i32).
  if (v.weak && v.type.isTensor()) v = convertTo(v, v.type.tensor.dtype);
  v.constant.reset();
  if (v.isString) {
    diags_.error(s.value->loc) << "a var cannot hold a string";
    v = SValue::poison();
  }
  define(s.name, v, true, s.nameLoc);
}

bool Elaborator::bindPattern(const ast::Pattern &p, const SValue &v, bool isVar) {
  if (!p.isTuple()) {
    define(p.name, v, isVar, p.loc);
    return true;
  }
  if (v.poisoned) {
    for (const ast::Pattern &e : p.elems) bindPattern(e, SValue::poison(), isVar);
    return false;
  }
  if (v.type.kind != SType::Tuple || v.type.elems.size() != p.elems.size()) {
    diags_.error(p.loc) << "cannot destructure " << v.type.str() << " into " << p.elems.size()
                        << " names";
    for (const ast::Pattern &e : p.elems) bindPattern(e, SValue::poison(), isVar);
    return false;
  }
  std::vector<SValue> parts = tupleElements(v);
  for (size_t i = 0; i < p.elems.size(); ++i) bindPattern(p.elems[i], parts[i], isVar);
  return true;
}

std::vector<SValue> tupleElements(const SValue &v) {
  std::vector<SValue> out;
  size_t off = 0;
  for (const SType &t : v.type.elems) {
    SValue e;
    e.type = t;
    size_t k = t.leafCount();
    e.leaves.assign(v.leaves.begin() + off, v.leaves.begin() + off + k);
    off += k;
    out.push_back(std::move(e));
  }
  return out;
}

/// The root variable name of an assignment target (`net` in `net.W_out`).
static const ast::NameExpr *targetRoot(const ast::Expr &e) {
  if (e.kind == ast::ExprKind::Name) return &ast::as<ast::NameExpr>(e);
  if (e.kind == ast::ExprKind::Field) return targetRoot(*ast::as<ast::FieldExpr>(e).base);
  if (e.kind == ast::ExprKind::Call) {
    const auto &c = ast::as<ast::CallExpr>(e);
    if (c.callee->kind == ast::ExprKind::Name && ast::as<ast::NameExpr>(*c.callee).name == "raw" &&
        c.args.size() == 1)
      return targetRoot(*c.args[0].value);
  }
  return nullptr;
}

void Elaborator::elabAssign(const ast::AssignStmt &s) {
  // (a, b) = e
  if (s.target->kind == ast::ExprKind::Tuple) {
    if (s.op != ast::AssignOp::Set) {
      diags_.error(s.loc) << "compound assignment needs a single target";
      return;
    }
    SValue v = elabExpr(*s.value);
    const auto &t = ast::as<ast::TupleExpr>(*s.target);
    if (v.poisoned) return;
    if (v.type.kind != SType::Tuple || v.type.elems.size() != t.elems.size()) {
      diags_.error(s.target->loc) << "cannot destructure " << v.type.str() << " into " << t.elems.size()
                                  << " targets";
      return;
    }
    std::vector<SValue> parts = tupleElements(v);
    for (size_t i = 0; i < t.elems.size(); ++i) {
      SValue e = parts[i];
      if (t.elems[i]->kind != ast::ExprKind::Name) {
        diags_.error(t.elems[i]->loc) << "a tuple assignment target must be a name";
        continue;
      }
      const auto &n = ast::as<ast::NameExpr>(*t.elems[i]);
      Binding *bd = lookup(n.name);
      if (!bd) { diags_.error(n.loc) << "unknown name '" << n.name << "'"; continue; }
      if (!bd->isVar) {
        diags_.error(n.loc) << "cannot assign to '" << n.name << "': it was declared with let";
        continue;
      }
      if (!bd->value.poisoned) e = coerceModel(e, bd->value.type, n.loc);
      if (e.poisoned) continue;
      if (e.type != bd->value.type && !bd->value.poisoned) {
        diags_.error(n.loc) << "cannot assign " << e.type.str() << " to '" << n.name << "' of type "
                            << bd->value.type.str();
        continue;
      }
      bd->value = e;
    }
    return;
  }

  const ast::NameExpr *root = targetRoot(*s.target);
  if (!root) {
    diags_.error(s.target->loc) << "cannot assign to this expression";
    return;
  }
  Binding *bd = lookup(root->name);
  if (!bd) {
    // Assigning to a parameter of the model inside a method is not allowed either.
    diags_.error(root->loc) << "unknown name '" << root->name << "'";
    elabExpr(*s.value);
    return;
  }
  if (!bd->isVar) {
    diags_.error(s.target->loc) << "cannot assign to '" << root->name << "': it was declared with let";
    return;
  }
  static const ast::BinaryOp compound[] = {ast::BinaryOp::Add, ast::BinaryOp::Add, ast::BinaryOp::Sub,
                                           ast::BinaryOp::Mul, ast::BinaryOp::Div};
  SValue rhs = elabExpr(*s.value);
  if (rhs.poisoned || bd->value.poisoned) return;

  // x op= e  /  x = e
  if (s.target->kind == ast::ExprKind::Name) {
    SValue nv = rhs;
    if (s.op != ast::AssignOp::Set) nv = binaryOp(compound[(int)s.op], bd->value, rhs, s.loc);
    if (nv.poisoned) return;
    if (nv.weak && nv.type.isTensor() && bd->value.type.isTensor())
      nv = convertTo(nv, bd->value.type.tensor.dtype);
    if (nv.type.isTensor() && bd->value.type.isTensor() && nv.type.tensor.dtype == DType::I32 &&
        isFloat(bd->value.type.tensor.dtype))
      nv = convertTo(nv, bd->value.type.tensor.dtype);
    // Broadcasting into the var's shape is allowed (x = 0.0 for a tensor x).
    if (nv.type.isTensor() && bd->value.type.isTensor() && nv.type.tensor.dtype == bd->value.type.tensor.dtype &&
        nv.type.tensor.shape != bd->value.type.tensor.shape) {
      Shape out;
      if (ir::broadcastShapes(nv.type.tensor.shape, bd->value.type.tensor.shape, out) &&
          out == bd->value.type.tensor.shape)
        nv = fromValue(broadcastTo(tensorValue(nv), out));
    }
    nv = coerceModel(nv, bd->value.type, s.loc);
    if (nv.poisoned) return;
    if (nv.type != bd->value.type) {
      diags_.error(s.loc) << "cannot assign " << nv.type.str() << " to '" << root->name << "' of type "
                          << bd->value.type.str();
      return;
    }
    nv.constant.reset();
    nv.weak = false;
    bd->value = nv;
    return;
  }

  // Field assignment: m.a op= e, raw(m.a) = e
  bool raw = s.target->kind == ast::ExprKind::Call;
  const ast::Expr &fieldExpr = raw ? *ast::as<ast::CallExpr>(*s.target).args[0].value : *s.target;
  std::vector<std::string> path;
  const ast::Expr *cur = &fieldExpr;
  while (cur->kind == ast::ExprKind::Field) {
    path.insert(path.begin(), ast::as<ast::FieldExpr>(*cur).field);
    cur = ast::as<ast::FieldExpr>(*cur).base.get();
  }
  if (!bd->value.type.isModel()) {
    diags_.error(s.target->loc) << "'" << root->name << "' is not a model; only model fields can be assigned";
    return;
  }
  SValue nv = rhs;
  if (s.op != ast::AssignOp::Set) {
    SValue old = elabExpr(fieldExpr);
    if (old.poisoned) return;
    nv = binaryOp(compound[(int)s.op], old, rhs, s.loc);
  }
  if (nv.poisoned) return;
  SValue updated = writeMember(bd->value, path, nv, s.target->loc, raw);
  if (!updated.poisoned) bd->value = updated;
}

void Elaborator::collectAssignedExpr(const ast::Expr &e, std::set<std::string> &out) {
  switch (e.kind) {
  case ast::ExprKind::BlockExpr: collectAssigned(*ast::as<ast::BlockExpr>(e).block, out); break;
  case ast::ExprKind::If: {
    const auto &i = ast::as<ast::IfExpr>(e);
    collectAssigned(*i.thenBlock, out);
    if (i.elseBlock) collectAssigned(*i.elseBlock, out);
    break;
  }
  case ast::ExprKind::StopGradBlock: collectAssigned(*ast::as<ast::StopGradBlockExpr>(e).body, out); break;
  default: break;
  }
}

void Elaborator::collectAssigned(const ast::Block &blk, std::set<std::string> &out) {
  for (const ast::StmtPtr &s : blk.stmts) {
    switch (s->kind) {
    case ast::StmtKind::Assign: {
      const auto &a = ast::as<ast::AssignStmt>(*s);
      if (a.target->kind == ast::ExprKind::Tuple) {
        for (const ast::ExprPtr &e : ast::as<ast::TupleExpr>(*a.target).elems)
          if (e->kind == ast::ExprKind::Name) out.insert(ast::as<ast::NameExpr>(*e).name);
      } else if (const ast::NameExpr *r = targetRoot(*a.target)) {
        out.insert(r->name);
      }
      break;
    }
    case ast::StmtKind::For: collectAssigned(*ast::as<ast::ForStmt>(*s).body, out); break;
    case ast::StmtKind::Train: out.insert(ast::as<ast::TrainStmt>(*s).var); break;
    case ast::StmtKind::Expr: collectAssignedExpr(*ast::as<ast::ExprStmt>(*s).expr, out); break;
    default: break;
    }
  }
  if (blk.result) collectAssignedExpr(*blk.result, out);
}

/// The var bindings a loop or branch body assigns, in declaration order.
std::vector<std::pair<std::string, Binding *>> carriedVars(Elaborator &E, const std::set<std::string> &names) {
  std::vector<std::pair<std::string, Binding *>> out;
  for (const std::string &n : names) {
    Binding *b = E.lookup(n);
    if (b && b->isVar && !b->value.poisoned) out.push_back({n, b});
  }
  std::stable_sort(out.begin(), out.end(), [](const auto &x, const auto &y) {
    const SourceLoc &a = x.second->loc, &b = y.second->loc;
    return std::tie(a.file, a.line, a.col) < std::tie(b.file, b.line, b.col);
  });
  return out;
}

void Elaborator::elabFor(const ast::ForStmt &s) {
  std::optional<int64_t> lo = constInt(*s.lo, "loop bounds");
  std::optional<int64_t> hi = constInt(*s.hi, "loop bounds");
  if (!lo || !hi) return;
  std::set<std::string> assigned;
  collectAssigned(*s.body, assigned);
  auto carried = carriedVars(*this, assigned);

  std::vector<ir::Value *> inits;
  std::vector<ir::Type> types;
  for (auto &[name, bd] : carried)
    for (ir::Value *v : bd->value.leaves) {
      inits.push_back(v);
      types.push_back(v->type());
    }
  ir::AttrMap attrs{{"lo", (int64_t)*lo}, {"hi", (int64_t)*hi}};
  for (const ast::Attribute &a : s.attrs) {
    if (a.name != "checkpoint") {
      diags_.warning(a.loc) << "unknown attribute '@" << a.name << "' ignored";
      continue;
    }
    int64_t every = 0;
    for (const ast::Arg &arg : a.args)
      if (arg.name == "every" || arg.name.empty())
        if (auto k = constInt(*arg.value, "checkpoint interval")) every = *k;
    if (every < 1) {
      diags_.error(a.loc) << "@checkpoint needs every = K with K >= 1";
      continue;
    }
    attrs["checkpoint"] = every;
  }
  b().setLoc(irLoc(s.loc));
  ir::Op *loop = b().create(ir::OpKind::For, inits, types, attrs);
  ir::Region *body = loop->addRegion();
  ir::Value *iv = body->addArgument(ir::Type{DType::I32, {}});
  iv->setName(s.var);
  std::vector<SValue> saved;
  for (auto &[name, bd] : carried) {
    saved.push_back(bd->value);
    SValue inner = bd->value;
    for (ir::Value *&leaf : inner.leaves) {
      ir::Value *a = body->addArgument(leaf->type());
      a->setName(leaf->name());
      leaf = a;
    }
    bd->value = inner;
  }
  ir::Region *outer = b().region();
  b().setRegion(body);
  pushScope();
  SValue ivv;
  ivv.type = SType::tensorOf(DType::I32);
  ivv.leaves = {iv};
  define(s.var, ivv, false, s.varLoc);
  elabBlockStmts(*s.body);
  if (s.body->result) elabExpr(*s.body->result);
  popScope();
  std::vector<ir::Value *> yields;
  for (auto &[name, bd] : carried)
    for (ir::Value *v : bd->value.leaves) yields.push_back(v);
  b().setLoc(irLoc(s.loc));
  b().create(ir::OpKind::Yield, yields, {});
  b().setRegion(outer);
  size_t k = 0;
  for (size_t i = 0; i < carried.size(); ++i) {
    SValue after = saved[i];
    for (ir::Value *&leaf : after.leaves) leaf = loop->result(k++);
    carried[i].second->value = after;
  }
}

void Elaborator::elabTrain(const ast::TrainStmt &s) {
  Binding *bd = lookup(s.var);
  if (!bd) {
    diags_.error(s.varLoc) << "unknown name '" << s.var << "'";
    return;
  }
  if (!bd->isVar) {
    diags_.error(s.varLoc) << "'" << s.var << "' is not a var";
    return;
  }
  auto init = functions_.find(s.optimizer + "_init");
  auto step = functions_.find(s.optimizer + "_step");
  if (init == functions_.end() || step == functions_.end()) {
    diags_.error(s.optimizerLoc) << "unknown optimizer '" << s.optimizer << "' (needs functions '"
                                 << s.optimizer << "_init' and '" << s.optimizer << "_step')";
    return;
  }
  std::optional<int64_t> steps = constInt(*s.steps, "the number of steps");
  if (!steps) return;
  if (*steps < 0) {
    diags_.error(s.steps->loc) << "the number of steps must not be negative, got " << *steps;
    return;
  }
  int64_t logEvery = 0;
  if (s.logEvery) {
    std::optional<int64_t> k = constInt(*s.logEvery, "the logging interval");
    if (!k) return;
    if (*k < 1) {
      diags_.error(s.logEvery->loc) << "the logging interval must be at least 1, got " << *k;
      return;
    }
    if (s.hasLogFile && s.logFile.empty()) {
      diags_.error(s.logFileLoc) << "the log file name is empty";
      return;
    }
    if (s.hasPlotFile && s.plotFile.empty()) {
      diags_.error(s.plotFileLoc) << "the plot file name is empty";
      return;
    }
    if (!s.hasLogFile && !s.hasPlotFile && s.metrics.empty()) {
      diags_.error(s.logEvery->loc) << "'log every K' needs a file (to \"run.csv\"), metrics "
                                       "(with NAME = EXPR, ...) or a plot (plot to \"run.svg\")";
      return;
    }
    logEvery = *k;
  }
  std::string stepName = trainStepName(s);
  if (stepName.empty()) return;
  std::optional<bool> allowNonfinite = trainAllowNonfinite(s);
  if (!allowNonfinite) return;
  if (bd->value.poisoned) return;
  // What train updates, checked before the optimiser sees it (the same rule as grad's).
  if (!checkGradWrt(bd->value, s.varLoc, "train")) {
    bd->value = SValue::poison();
    return;
  }

  // var s = OPT_init(VAR)
  SValue state = callFunction(*init->second, nullptr, nullptr, {ArgValue{"", bd->value, s.varLoc}},
                              s.optimizerLoc, s.optimizer + "_init");
  if (state.poisoned) return;

  // for step in 1..N+1 { let (l, g) = value_and_grad(EXPR, VAR); (s, VAR) = OPT_step(s, VAR, g, ARGS);
  //                      (unless allow_nonfinite) stop if l, g or VAR is not finite;
  //                      train_progress(step, l) }
  // The step is bound in EXPR and ARGS (as `step` or `as NAME`). The loop has
  // attr train: the interpreter shows progress, keeps the log file open and
  // stops it early on Ctrl-C or divergence (ir/Ops.def, Kernels.cpp runFor);
  // model_from, var, top_level and paths describe the model leaves among the
  // carried values for the divergence fault (ElabTrainChecks.cpp).
  std::vector<std::string> paths = leafPaths(bd->value.type, s.var);
  if (paths.size() != bd->value.leaves.size()) {
    paths.clear();
    for (size_t k = 0; k < bd->value.leaves.size(); ++k) paths.push_back(s.var + " leaf " + std::to_string(k));
  }
  bool topLevel = !ctx().decl && ctx().scopes.front().count(s.var) && &ctx().scopes.front().at(s.var) == bd;
  std::vector<ir::Value *> inits = state.leaves;
  inits.insert(inits.end(), bd->value.leaves.begin(), bd->value.leaves.end());
  std::vector<ir::Type> types;
  for (ir::Value *v : inits) types.push_back(v->type());
  b().setLoc(irLoc(s.loc));
  ir::Op *loop = b().create(ir::OpKind::For, inits, types,
                            {{"lo", (int64_t)1},
                             {"hi", (int64_t)(*steps + 1)},
                             {"train", true},
                             {"model_from", (int64_t)state.leaves.size()},
                             {"var", s.var},
                             {"top_level", topLevel},
                             {"paths", paths}});
  ir::Region *body = loop->addRegion();
  ir::Value *iv = body->addArgument(ir::Type{DType::I32, {}});
  iv->setName(stepName);
  SValue stateIn = state, modelIn = bd->value, savedModel = bd->value;
  for (ir::Value *&l : stateIn.leaves) l = body->addArgument(l->type());
  for (ir::Value *&l : modelIn.leaves) {
    ir::Value *a = body->addArgument(l->type());
    a->setName(l->name());
    l = a;
  }
  ir::Region *outer = b().region();
  b().setRegion(body);
  pushScope();
  bd->value = modelIn;
  SValue stepValue;
  stepValue.type = SType::tensorOf(DType::I32);
  stepValue.leaves = {iv};
  define(stepName, stepValue, false, s.stepName.empty() ? s.loc : s.stepNameLoc);
  SValue loss = elabExpr(*s.loss);
  std::vector<ArgValue> optArgs = elabArgs(s.optArgs);
  dropTrainOwnArgs(optArgs);
  TrainClip clip = takeTrainClip(optArgs, *step->second);
  SValue ok;
  if (clip.ok && !loss.poisoned && checkDifferentiand(loss, s.loss->loc, "train")) {
    SValue vg = gradOf(loss, modelIn, true, s.loss->loc);
    if (!vg.poisoned) {
      SValue g;
      g.type = modelIn.type;
      g.leaves.assign(vg.leaves.begin() + 1, vg.leaves.end());
      g = applyTrainClip(clip, g, s.loc);
      std::vector<ArgValue> args{{"", stateIn, s.loc}, {"", modelIn, s.varLoc}, {"", g, s.loc}};
      for (ArgValue &a : optArgs) args.push_back(a);
      ok = callFunction(*step->second, nullptr, nullptr, args, s.optimizerLoc, s.optimizer + "_step");
      if (!ok.poisoned && (ok.type.kind != SType::Tuple || ok.type.elems.size() != 2 ||
                           ok.type.elems[0] != state.type || ok.type.elems[1] != modelIn.type)) {
        diags_.error(s.optimizerLoc) << "'" << s.optimizer << "_step' must return (state, model), got "
                                     << ok.type.str();
        ok = SValue::poison();
      }
      if (!ok.poisoned) {
        // Constraint checks and projections of the updated model (ok's model
        // part, after the state's leaves), numbered by the step.
        SValue updated = modelIn;
        updated.leaves.assign(ok.leaves.begin() + (long)state.leaves.size(), ok.leaves.end());
        updated = emitChecks(updated, iv, s.loc, true);
        std::copy(updated.leaves.begin(), updated.leaves.end(), ok.leaves.begin() + (long)state.leaves.size());
        if (!*allowNonfinite) emitNonfiniteCheck(iv, vg.leaves[0], g.leaves, updated.leaves, paths, s.loc);
        // The metrics and `until` conditions (TrainLog.cpp), on the step's
        // parameters (before the update), as extra operands.
        std::optional<TrainReport> report = elabTrainReport(s, iv, *steps, logEvery);
        if (report) {
          std::vector<ir::Value *> operands{iv, vg.leaves[0]};
          operands.insert(operands.end(), report->operands.begin(), report->operands.end());
          ir::AttrMap attrs = report->attrs;
          attrs["total"] = *steps;
          attrs["every"] = logEvery;
          attrs["file"] = s.hasLogFile ? s.logFile : std::string();
          if (s.hasPlotFile) attrs["plot"] = s.plotFile;
          b().setLoc(irLoc(s.loc));
          b().create(ir::OpKind::TrainProgress, operands, {}, attrs);
          if (s.hasLogFile) noteTrainLog(s, *steps, logEvery);
        } else {
          ok = SValue::poison();
        }
      }
    } else {
      ok = SValue::poison();
    }
  } else {
    ok = SValue::poison();
  }
  popScope();
  std::vector<ir::Value *> yields;
  if (!ok.poisoned) {
    yields = ok.leaves;
  } else {
    yields = stateIn.leaves;
    yields.insert(yields.end(), modelIn.leaves.begin(), modelIn.leaves.end());
  }
  b().create(ir::OpKind::Yield, yields, {});
  b().setRegion(outer);
  SValue after = savedModel;
  for (size_t i = 0; i < after.leaves.size(); ++i)
    after.leaves[i] = loop->result(state.leaves.size() + i);
  bd->value = ok.poisoned ? SValue::poison() : after;
}

} // namespace sema

std::unique_ptr<ir::Module> elaborate(const std::vector<const ast::Program *> &programs,
                                      const SourceManager &sm, DiagnosticEngine &diags,
                                      const ElaborateOptions &opts) {
  sema::Elaborator e(sm, diags, opts);
  return e.run(programs);
}

} // namespace ptl
