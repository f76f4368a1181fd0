//===- api/Module.cpp - ptl::Engine, ptl::Module, ptl::Function ---------------===//
//
// How the embedding API compiles and calls. Loading a file checks all of it
// (as `ptlc check` does). Every host request -- calling a function with
// arguments of some types, making a model, reading or writing a
// constrained parameter, saving, loading -- becomes a small generated PTL
// file that imports the user's file (so its statements do not run) and
// declares what is wanted, e.g.
//
//   import "/abs/online.ptl"
//   fn __ptl_entry(a0: RNN, a1: f32[100, 32, 4], a2: f32[100, 32, 2]) {}
//
// with an ElaborateOptions::entries request to specialise `trial` for the
// parameter types of `__ptl_entry`. That program is elaborated, run through
// the default IR pipeline and compiled by the JIT (or left to the reference
// interpreter), once per generated text: programs are cached by it, so a
// second call with the same argument types goes straight to native code.
// Everything a program does is therefore exactly what PTL source does.
// Host strings enter the generated text only through the checks of
// api/GeneratedSource.h, and a model passed in must be of the called
// module's type of its name (checkModelsMatch), not only of that name.
//
//===----------------------------------------------------------------------===//
#include "api/GeneratedSource.h"
#include "api/ValueData.h"
#include "backend/Engine.h"
#include "frontend/Compiler.h"
#include "ir/interp/Interpreter.h"
#include "runtime/Check.h"
#include "runtime/Errors.h"
#include "runtime/Sandbox.h"

#include <filesystem>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>

namespace fs = std::filesystem;

namespace ptl {
namespace detail {

struct EngineImpl {
  EngineOptions opts;
};

/// One generated program, compiled.
struct Program {
  std::unique_ptr<ir::Module> module;
  std::unique_ptr<backend::Engine> native; ///< null without the JIT
  std::vector<EntryResult> entries;        ///< one per request
};

namespace {

/// The diagnostics of a compilation in the API's form.
std::vector<Diagnostic> diagnosticsOf(Compilation &c, const std::string &hiddenFile = "") {
  std::vector<Diagnostic> out;
  for (const ReportedDiagnostic &r : c.diagnostics().all()) {
    Diagnostic d;
    d.severity = r.severity == Severity::Error ? "error" : r.severity == Severity::Warning ? "warning" : "note";
    d.message = r.message;
    if (r.loc.valid() && c.sources().file(r.loc.file).path != hiddenFile) {
      d.file = c.sources().file(r.loc.file).path;
      d.line = r.loc.line;
      d.col = r.loc.col;
      d.rendered = c.diagnostics().render(r);
    } else {
      d.rendered = d.severity + ": " + d.message + "\n";
    }
    out.push_back(std::move(d));
  }
  return out;
}

/// The first error's message, for what().
std::string firstError(const std::vector<Diagnostic> &ds, const std::string &fallback) {
  for (const Diagnostic &d : ds)
    if (d.severity == "error")
      return d.file.empty() ? d.message : d.file + ":" + std::to_string(d.line) + ":" + std::to_string(d.col) +
                                              ": " + d.message;
  return fallback;
}

/// A RuntimeFault as the API's RuntimeError, with its location.
[[noreturn]] void rethrowFault(const RuntimeFault &f) {
  Diagnostic d;
  d.severity = "error";
  d.message = f.what();
  d.file = f.loc.file;
  d.line = f.loc.line;
  d.col = f.loc.col;
  std::string where = f.loc.file.empty()
                          ? std::string()
                          : f.loc.file + ":" + std::to_string(f.loc.line) + ":" + std::to_string(f.loc.col) + ": ";
  d.rendered = where + "error: " + d.message + "\n";
  throw RuntimeError(where + f.what(), {d}, f.trainStop);
}

const char *kGeneratedName = "<ptl api>";

/// How model type `have` (of a value) differs from `want` (the type of
/// that name in the module called), or "" if they are the same type: the
/// same type arguments and the same leaves -- paths, stored and read types
/// (dtype and shape), transforms and whether they are trainable.
std::string modelDifference(const HostType &have, const HostType &want) {
  if (have.modelArgs != want.modelArgs) return "its type arguments differ";
  auto paths = [](const HostType &t) {
    std::string s;
    for (size_t i = 0; i < t.leaves.size(); ++i) s += (i ? ", " : "") + t.leaves[i].path;
    return s;
  };
  if (have.leaves.size() != want.leaves.size()) return "its parameters are " + paths(have) + " there, " + paths(want) + " here";
  for (size_t i = 0; i < have.leaves.size(); ++i) {
    const HostType::Leaf &a = have.leaves[i], &b = want.leaves[i];
    std::string leaf = "parameter '" + b.path + "'";
    if (a.path != b.path) return "its parameters are " + paths(have) + " there, " + paths(want) + " here";
    if (!(a.value == b.value) || !(a.stored == b.stored))
      return leaf + " is " + a.value.str() + " (stored " + a.stored.str() + ") there, " + b.value.str() + " (stored " +
             b.stored.str() + ") here";
    auto transform = [](const std::string &t) { return t.empty() ? std::string("no transform") : "'" + t + "'"; };
    if (a.transform != b.transform)
      return leaf + " has " + transform(a.transform) + " there, " + transform(b.transform) + " here";
    if (a.trainable != b.trainable)
      return leaf + std::string(" is ") + (a.trainable ? "trainable" : "frozen") + " there, " +
             (b.trainable ? "trainable" : "frozen") + " here";
  }
  return "";
}

} // namespace

struct ModuleImpl : std::enable_shared_from_this<ModuleImpl> {
  EngineOptions opts;
  std::string path;     ///< the file, absolute (empty for source text)
  std::string name;     ///< source text's name in diagnostics
  std::string text;     ///< source text
  std::string baseDir;  ///< relative data paths resolve here
  std::map<std::string, std::string> args;
  std::vector<Diagnostic> warnings;
  std::shared_ptr<const PathPolicy> policy;

  std::mutex mutex; ///< guards `programs`
  std::map<std::string, std::shared_ptr<const Program>> programs; ///< by generated text and requests

  /// Native code, unless the options ask for the interpreter or set a
  /// budget (which only the interpreter enforces).
  bool useJit() const { return opts.jit && opts.time_budget_seconds <= 0 && opts.memory_budget_bytes <= 0; }

  /// The file's path, or the source text's name (in messages).
  std::string displayName() const { return path.empty() ? name : path; }

  /// Throws ptl::RuntimeError if a model in `arg` (made by some module) is
  /// of a type that differs from `want`, this module's type of that name
  /// (modelDifference): models are passed between modules by structure,
  /// never by name alone.
  void checkModelsMatch(const Value &arg, const HostType &want, const std::string &what) const {
    const detail::ValueData &d = detail::dataOf(arg);
    if (d.type.kind == HostType::Model && want.kind == HostType::Model) {
      if (d.origin.get() == this) return;
      std::string why = modelDifference(d.type, want);
      if (!why.empty())
        detail::throwRuntime(what + ": the model passed is " + (d.origin ? d.origin->displayName() : "another module") +
                             "'s " + d.type.spelling + ", which is not " + displayName() + "'s " + want.spelling +
                             ": " + why);
    } else if ((d.type.kind == HostType::Tuple || d.type.kind == HostType::Record) && d.type.kind == want.kind) {
      for (size_t i = 0; i < d.elems.size() && i < want.elems.size(); ++i) checkModelsMatch(d.elems[i], want.elems[i], what);
    }
  }

  /// A compilation of the user's file as the main file (`check`, `run`).
  bool loadAsMain(Compilation &c) const { return path.empty() ? c.loadSource(name, text) : c.loadFile(path); }

  ElaborateOptions elaborateOptions() const {
    ElaborateOptions eo;
    eo.scriptArgs = args;
    eo.baseDir = baseDir;
    return eo;
  }
  ir::InterpOptions interpOptions() const {
    ir::InterpOptions io;
    io.baseDir = baseDir;
    io.pathPolicy = policy;
    if (opts.out) io.out = opts.out;
    if (opts.err) io.err = opts.err;
    io.timeBudgetSeconds = opts.time_budget_seconds;
    io.memoryBudgetBytes = opts.memory_budget_bytes;
    return io;
  }

  /// Compiles the user's file as the main file (what `ptlc run` runs),
  /// sandboxed; null on error. `ds` gets every diagnostic, an internal
  /// error of the pipeline included.
  std::unique_ptr<ir::Module> compileMain(std::vector<Diagnostic> &ds) const {
    ScopedPathPolicy sandbox(policy);
    Compilation c;
    c.diagnostics().setQuiet(true);
    std::unique_ptr<ir::Module> m;
    std::string failed, internal; // a pass's error; an internal error (runtime/Check.h)
    try {
      if (loadAsMain(c)) m = c.elaborate(elaborateOptions());
      if (m && !c.runDefaultPipeline(*m, failed)) m.reset();
    } catch (const InternalError &e) {
      m.reset();
      internal = e.what();
    }
    ds = diagnosticsOf(c);
    if (!failed.empty()) ds.push_back({"error", "", 0, 0, failed, failed});
    if (!internal.empty()) ds.push_back({"error", "", 0, 0, internal, internal});
    return m;
  }

  /// Checks the whole file, keeping its warnings; throws CompileError.
  void check() {
    std::vector<Diagnostic> ds;
    if (!compileMain(ds)) throw CompileError(firstError(ds, "compilation failed"), ds);
    for (const Diagnostic &d : ds)
      if (d.severity == "warning") warnings.push_back(d);
  }

  /// Compiles `p`'s module to native code unless the interpreter is wanted
  /// (p.native stays null then, or if the JIT is unavailable).
  void attachNative(Program &p) const {
    if (!useJit()) return;
    backend::EngineOptions beo;
    beo.optLevel = opts.opt_level;
    beo.out = opts.out;
    beo.host = interpOptions();
    std::string error;
    p.native = backend::Engine::create(*p.module, beo, error);
  }

  /// The program for generated declarations `decls` with entry requests
  /// `requests`, compiled once and cached. Errors are about the host's
  /// request, so they are RuntimeErrors, prefixed with `what`.
  std::shared_ptr<const Program> program(const std::string &decls, const std::vector<EntryRequest> &requests,
                                         const std::string &what) {
    std::string source;
    if (!path.empty()) source += "import " + stringLiteral(path, what) + "\n";
    source += decls;
    // The cache key: the generated text and what is asked of it.
    std::string key = source;
    for (const EntryRequest &r : requests) key += "\n// entry " + r.function + " for " + r.signature;
    {
      std::lock_guard<std::mutex> lock(mutex);
      auto it = programs.find(key);
      if (it != programs.end()) return it->second;
    }
    ScopedPathPolicy sandbox(policy);
    Compilation c;
    c.diagnostics().setQuiet(true);
    bool loaded = c.loadSource(kGeneratedName, source);
    if (loaded && path.empty()) loaded = c.importSource(name, text, baseDir.empty() ? "." : baseDir);
    auto prog = std::make_shared<Program>();
    ElaborateOptions eo = elaborateOptions();
    eo.entries = requests;
    eo.entryResults = &prog->entries;
    std::string failed, internal; // a pass's error; an internal error (runtime/Check.h)
    try {
      if (loaded) prog->module = c.elaborate(eo);
      if (prog->module && !c.runDefaultPipeline(*prog->module, failed)) prog->module.reset();
    } catch (const InternalError &e) {
      prog->module.reset();
      internal = e.what();
    }
    if (!prog->module) {
      std::vector<Diagnostic> ds = diagnosticsOf(c, kGeneratedName);
      if (!failed.empty()) ds.push_back({"error", "", 0, 0, failed, failed});
      if (!internal.empty()) ds.push_back({"error", "", 0, 0, internal, internal});
      throw RuntimeError(what + ": " + firstError(ds, "does not compile"), ds);
    }
    attachNative(*prog);
    std::lock_guard<std::mutex> lock(mutex);
    return programs.emplace(key, prog).first->second;
  }

  /// Runs IR function `fn` of `p` on `args` (converting integer arguments
  /// to the float types the function was specialised for).
  std::vector<Tensor> run(const Program &p, const std::string &fn, std::vector<Tensor> args) {
    const ir::Function *f = p.module->lookup(fn);
    PTL_CHECK(f, "an entry's IR function exists");
    for (size_t i = 0; i < args.size() && i < f->body().numArguments(); ++i) {
      const ir::Type &want = f->body().argument((unsigned)i)->type();
      if (args[i].dtype() != want.dtype && args[i].shape() == want.shape && isFloat(want.dtype) &&
          !isFloat(args[i].dtype())) {
        Tensor converted = Tensor::zeros(want.dtype, want.shape);
        for (int64_t k = 0; k < converted.numel(); ++k) converted.setDouble(k, args[i].getDouble(k));
        args[i] = converted;
      }
    }
    ScopedPathPolicy sandbox(policy);
    try {
      if (p.native && p.native->isCompiled(fn)) return p.native->call(fn, args);
      ir::Interpreter interp(*p.module, interpOptions());
      return interp.call(fn, args);
    } catch (const RuntimeFault &f) {
      rethrowFault(f);
    }
  }

  /// Specialises and runs generated declarations `decls` whose request is
  /// to call `function` with `args`.
  Value call(const std::string &decls, const std::string &function, const std::vector<Value> &args,
             const std::string &what) {
    auto p = program(decls, {{function, "__ptl_entry"}}, what);
    const EntryResult &r = p->entries.at(0);
    for (size_t i = 0; i < args.size() && i < r.params.size(); ++i) checkModelsMatch(args[i], r.params[i], what);
    std::vector<Tensor> flat;
    for (const Value &a : args) flattenValue(a, flat);
    std::vector<Tensor> results = run(*p, r.irName, flat);
    size_t next = 0;
    return unflattenValue(r.result, results, next, shared_from_this());
  }

  /// `fn __ptl_entry(a0: T0, ...) RETURNS BODY` for `args`.
  static std::string entryDecl(const std::vector<Value> &args, const std::string &what, const std::string &rest) {
    std::string s = "fn __ptl_entry(";
    for (size_t i = 0; i < args.size(); ++i)
      s += (i ? ", a" : "a") + std::to_string(i) + ": " + spellingOf(args[i], what);
    return s + ")" + rest + "\n";
  }
};

} // namespace detail

using detail::ModuleImpl;

//===----------------------------------------------------------------------===//
// Engine
//===----------------------------------------------------------------------===//

Engine::Engine() : Engine(EngineOptions()) {}
Engine::Engine(EngineOptions options) : impl_(std::make_shared<detail::EngineImpl>()) {
  impl_->opts = std::move(options);
}
Engine::~Engine() = default;

namespace {
std::shared_ptr<const PathPolicy> policyFor(const EngineOptions &o, const std::string &scriptDir) {
  if (!o.sandbox) return std::make_shared<PathPolicy>();
  std::vector<std::string> dirs = {scriptDir.empty() ? "." : scriptDir, "."};
  dirs.insert(dirs.end(), o.allowed_dirs.begin(), o.allowed_dirs.end());
  auto p = std::make_shared<PathPolicy>(PathPolicy::onlyUnder(dirs));
  p->setHint("the host allows more with ptl::EngineOptions::allowed_dirs");
  return p;
}
} // namespace

Module Engine::load_file(const std::string &path, const std::map<std::string, std::string> &args) {
  auto m = std::make_shared<ModuleImpl>();
  m->opts = impl_->opts;
  std::error_code ec;
  m->path = fs::absolute(path, ec).lexically_normal().string();
  if (ec) m->path = path;
  m->baseDir = fs::path(m->path).parent_path().string();
  m->args = args;
  m->policy = policyFor(m->opts, m->baseDir);
  m->check();
  return Module(m);
}

Module Engine::load_string(const std::string &source, const std::string &name,
                           const std::map<std::string, std::string> &args) {
  auto m = std::make_shared<ModuleImpl>();
  m->opts = impl_->opts;
  m->name = name;
  m->text = source;
  m->args = args;
  m->policy = policyFor(m->opts, "");
  m->check();
  return Module(m);
}

//===----------------------------------------------------------------------===//
// Module and Function
//===----------------------------------------------------------------------===//

Function Module::function(const std::string &name) const {
  Compilation c;
  c.diagnostics().setQuiet(true);
  if (impl_->loadAsMain(c))
    for (const ast::Program *p : c.programs())
      for (const auto &f : p->functions)
        if (f->name == name) return Function(impl_, name);
  std::string what = "no function named '" + name + "'";
  throw CompileError(what, {{"error", "", 0, 0, what, "error: " + what + "\n"}});
}

Value Function::call(const std::vector<Value> &args) const {
  std::string what = name_ + "(";
  for (size_t i = 0; i < args.size(); ++i) what += (i ? ", " : "") + args[i].type();
  what += ")";
  // The declaration only carries the argument types; the entry request
  // specialises and calls `name_` for them.
  return module_->call(ModuleImpl::entryDecl(args, what, " {}"), name_, args, what);
}

Value Module::make(const std::string &type, int64_t seed, const std::map<std::string, Value> &overrides) const {
  // TYPE(type arguments..., seed = SEED, path = aK, ...): a model's type
  // arguments are its positional constructor arguments ("Linear(1, 40)").
  // The type and the paths are checked before they enter the source.
  std::string what = "make(" + type + ")";
  detail::checkedModelType(type, what);
  size_t open = type.find('(');
  std::string ctor = type.substr(0, open) + "(";
  if (open != std::string::npos && type.back() == ')') {
    std::string typeArgs = type.substr(open + 1, type.size() - open - 2);
    if (typeArgs.find_first_not_of(" ") != std::string::npos) ctor += typeArgs + ", ";
  }
  ctor += "seed = " + std::to_string(seed);
  std::vector<Value> args;
  for (const auto &[path, value] : overrides) {
    ctor += ", " + detail::checkedParamPath(path, what) + " = a" + std::to_string(args.size());
    args.push_back(value);
  }
  ctor += ")";
  return impl_->call(ModuleImpl::entryDecl(args, what, " -> " + type + " = " + ctor), "__ptl_entry", args, what);
}

void Module::save(const std::string &path, const Value &model) const {
  std::string abs = fs::absolute(path).lexically_normal().string();
  std::string what = "save(" + path + ")";
  impl_->call(ModuleImpl::entryDecl({model}, what, " { save(" + detail::stringLiteral(abs, what) + ", a0) }"), "__ptl_entry",
              {model}, what);
}

Value Module::load(const std::string &type, const std::string &path) const {
  std::string abs = fs::absolute(path).lexically_normal().string();
  std::string what = "load(" + type + ", " + path + ")";
  detail::checkedModelType(type, what);
  return impl_->call(ModuleImpl::entryDecl({}, what, " -> " + type + " = load(" + type + ", " + detail::stringLiteral(abs, what) + ")"),
                     "__ptl_entry", {}, what);
}

void Module::run() const {
  std::vector<Diagnostic> ds;
  detail::Program p;
  p.module = impl_->compileMain(ds);
  if (!p.module) throw CompileError(detail::firstError(ds, "compilation failed"), ds);
  impl_->attachNative(p);
  impl_->run(p, "main", {});
}

const std::vector<Diagnostic> &Module::warnings() const { return impl_->warnings; }

//===----------------------------------------------------------------------===//
// Constrained parameter access (compiled by the model's module)
//===----------------------------------------------------------------------===//

namespace {
ModuleImpl &originOf(const detail::ValueData &d, const std::string &what) {
  if (d.type.kind != HostType::Model) detail::throwRuntime(what + ": the value is not a model");
  if (!d.origin) detail::throwRuntime(what + ": the model has no module");
  return *d.origin;
}
} // namespace

Tensor Value::param(const std::string &path) const {
  const detail::ValueData &d = detail::dataOf(*this);
  std::string what = "param(" + path + ")";
  ModuleImpl &m = originOf(d, what);
  const HostType::Leaf &l = d.type.leaves[detail::leafIndex(d, path)];
  // A gradient (a tangent) carries no transforms: its stored leaf is its value.
  if (d.type.tangent) return raw(path);
  Value r = m.call(ModuleImpl::entryDecl({*this}, what, " -> " + l.value.str() + " = a0." + path), "__ptl_entry",
                   {*this}, what);
  return r.tensor();
}

void Value::set_param(const std::string &path, const Tensor &value) {
  const detail::ValueData &d = detail::dataOf(*this);
  std::string what = "set_param(" + path + ")";
  ModuleImpl &m = originOf(d, what);
  detail::leafIndex(d, path); // a clear error for a path the model does not have
  std::vector<Value> args = {*this, Value(value)};
  *this = m.call(ModuleImpl::entryDecl(args, what,
                                       " -> " + d.type.spelling + " {\n  var r = a0\n  r." + path +
                                           " = a1\n  return r\n}"),
                 "__ptl_entry", args, what);
}

} // namespace ptl
