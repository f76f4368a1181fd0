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
// Calls of the user's functions are compiled to native code; the other
// requests (make, param, set_param, save, load) run in the interpreter,
// which costs no LLVM compilation (make's seed is an argument, so one
// program serves every seed). A ptl::Function remembers the
// specialisations it met in lock-free slots (FunctionImpl, Spec): a repeated
// call matches its argument types without building text, and call_into runs
// the native entry straight on the host's buffers (no allocation).
// Host strings enter the generated text only through the checks of
// api/GeneratedSource.h, and a model passed in must be of the called
// module's type of its name (checkModelsMatch), not only of that name.
//
//===----------------------------------------------------------------------===//
#include "api/GeneratedSource.h"
#include "api/ValueData.h"
#include "backend/CodeGen.h"
#include "backend/Engine.h"
#include "frontend/Compiler.h"
#include "ir/interp/Interpreter.h"
#include "runtime/Check.h"
#include "runtime/Errors.h"
#include "runtime/Sandbox.h"

#include <atomic>
#include <climits>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
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

  /// The free functions of the file and its imports, found when it was
  /// loaded (Module::function looks names up here).
  std::set<std::string> functionNames;

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
  /// error of the pipeline included; `names`, if given, the names of the
  /// free functions of the file and its imports.
  std::unique_ptr<ir::Module> compileMain(std::vector<Diagnostic> &ds, std::set<std::string> *names = nullptr) const {
    ScopedPathPolicy sandbox(policy);
    Compilation c;
    c.diagnostics().setQuiet(true);
    std::unique_ptr<ir::Module> m;
    std::string failed, internal; // a pass's error; an internal error (runtime/Check.h)
    try {
      if (loadAsMain(c)) m = c.elaborate(elaborateOptions());
      if (m && names)
        for (const ast::Program *p : c.programs())
          for (const auto &f : p->functions) names->insert(f->name);
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
    if (!compileMain(ds, &functionNames)) throw CompileError(firstError(ds, "compilation failed"), ds);
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
    beo.cache.enabled = opts.code_cache;
    beo.cache.dir = opts.code_cache_dir;
    std::string error;
    p.native = backend::Engine::create(*p.module, beo, error);
  }

  /// The program for generated declarations `decls` with entry requests
  /// `requests`, compiled once and cached (to native code if `native` and
  /// the options allow; else the interpreter runs it). Errors are about the
  /// host's request, so they are RuntimeErrors, prefixed with `what`.
  std::shared_ptr<const Program> program(const std::string &decls, const std::vector<EntryRequest> &requests,
                                         const std::string &what, bool native) {
    std::string source;
    if (!path.empty()) source += "import " + stringLiteral(path, what) + "\n";
    source += decls;
    // The cache key: the generated text and what is asked of it.
    std::string key = source;
    for (const EntryRequest &r : requests) key += "\n// entry " + r.function + " for " + r.signature;
    key += native ? "\n// native" : "\n// interpreted";
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
    if (native) attachNative(*prog);
    std::lock_guard<std::mutex> lock(mutex);
    return programs.emplace(key, prog).first->second;
  }

  /// Runs IR function `fn` of `p` on `args` (of its parameter types).
  std::vector<Tensor> run(const Program &p, const std::string &fn, const std::vector<Tensor> &args) {
    PTL_CHECK(p.module->lookup(fn), "an entry's IR function exists");
    ScopedPathPolicy sandbox(policy);
    try {
      if (p.native && p.native->isCompiled(fn)) return p.native->call(fn, args);
      ir::Interpreter interp(*p.module, interpOptions());
      return interp.call(fn, args);
    } catch (const RuntimeFault &f) {
      rethrowFault(f);
    }
  }

  /// Runs a host request that is not a call of the user's functions
  /// (make, param, set_param, save, load): generated declarations `decls`
  /// whose entry `__ptl_entry` is called with `args`. Such programs are
  /// small and mostly run once or on small data, so the reference
  /// interpreter runs them (bit-identical to native code) and they cost no
  /// LLVM compilation; each is cached, so a repeated request costs one
  /// interpreted call.
  Value request(const std::string &decls, const std::vector<Value> &args, const std::string &what) {
    auto p = program(decls, {{"__ptl_entry", "__ptl_entry"}}, what, false);
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

//===----------------------------------------------------------------------===//
// Specialisations of a function and the fast call form
//===----------------------------------------------------------------------===//

/// One specialisation of a function for some argument types, ready to run:
/// found on the first call with those types, then matched against later
/// calls' arguments without building any string.
struct Spec {
  /// One node of the argument types, in pre-order (a tuple before its elements).
  struct Key {
    HostType::Kind kind = HostType::Unit;
    DType dtype = DType::F32;
    Shape shape;               ///< Tensor
    std::string spelling;      ///< Model
    const ModuleImpl *origin = nullptr; ///< Model: the module that made it
    bool tangent = false;      ///< Model
    size_t elems = 0;          ///< Tuple: its element count
  };
  std::vector<Key> keys;
  size_t numArgs = 0;
  std::shared_ptr<const Program> program;
  const EntryResult *entry = nullptr;
  const backend::Engine::Entry *native = nullptr;  ///< null: the interpreter runs it
  std::vector<ir::Type> params, results;           ///< the IR function's flat argument and result types
  /// Whether running it may touch files (a file op in it or in what it
  /// calls): only then does a call put the module's sandbox in force.
  bool touchesFiles = true;
  /// Non-empty if an argument's dtype is not its parameter's: the error
  /// (unless the host asked for conversion).
  std::string mismatch;
  /// The modules of the model arguments, kept alive so that `Key::origin`
  /// cannot come to name another module.
  std::vector<std::shared_ptr<ModuleImpl>> origins;
};

namespace {

/// Appends the pre-order keys of `v` to `out` (and the models' modules to `origins`).
void keysOf(const Value &v, std::vector<Spec::Key> &out, std::vector<std::shared_ptr<ModuleImpl>> &origins) {
  const ValueData &d = dataOf(v);
  Spec::Key k;
  k.kind = d.type.kind;
  switch (d.type.kind) {
  case HostType::Tensor:
    k.dtype = d.tensor.dtype();
    k.shape = d.tensor.shape();
    out.push_back(std::move(k));
    return;
  case HostType::Model:
    k.spelling = d.type.spelling;
    k.origin = d.origin.get();
    k.tangent = d.type.tangent;
    origins.push_back(d.origin);
    out.push_back(std::move(k));
    return;
  default:
    k.elems = d.elems.size();
    out.push_back(std::move(k));
    for (const Value &e : d.elems) keysOf(e, out, origins);
  }
}

/// Whether `v` has the types of the keys at `k` (advanced past them).
bool matches(const Value &v, const Spec::Key *&k, const Spec::Key *end) {
  if (k == end) return false;
  const ValueData &d = dataOf(v);
  const Spec::Key &key = *k++;
  if (d.type.kind != key.kind) return false;
  switch (d.type.kind) {
  case HostType::Tensor: return d.tensor.dtype() == key.dtype && d.tensor.shape() == key.shape;
  case HostType::Model:
    return d.origin.get() == key.origin && d.type.tangent == key.tangent && d.type.spelling == key.spelling;
  default:
    if (d.elems.size() != key.elems) return false;
    for (const Value &e : d.elems)
      if (!matches(e, k, end)) return false;
    return true;
  }
}

/// `v`'s type with the dtypes of its tensors replaced by those of the
/// parameter's flat types from `next` on: what the parameter wants.
std::string wantedSpelling(const Value &v, const std::vector<ir::Type> &params, size_t &next) {
  const ValueData &d = dataOf(v);
  switch (d.type.kind) {
  case HostType::Tensor: return next < params.size() ? params[next++].str() : "?";
  case HostType::Model: next += d.leaves.size(); return d.type.spelling;
  default: {
    std::string s = "(";
    for (size_t i = 0; i < d.elems.size(); ++i) s += (i ? ", " : "") + wantedSpelling(d.elems[i], params, next);
    return s + (d.elems.size() == 1 ? ",)" : ")");
  }
  }
}

/// A few pointers on the stack, more on the heap (the fast call's argument
/// and result buffer lists: no allocation for up to 16 of each).
class PointerList {
public:
  explicit PointerList(size_t n) : ptrs_(n <= kSmall ? small_ : (big_.resize(n), big_.data())) {}
  PointerList(const PointerList &) = delete;
  PointerList &operator=(const PointerList &) = delete;
  void *&operator[](size_t i) { return ptrs_[i]; }
  void *const *data() const { return ptrs_; }

private:
  static constexpr size_t kSmall = 16;
  void *small_[kSmall];
  std::vector<void *> big_;
  void **ptrs_;
};

/// Stores the data pointers of `v`'s tensors (its flat arguments) at `next` on.
void pointersOf(const Value &v, PointerList &out, size_t &next) {
  const ValueData &d = dataOf(v);
  switch (d.type.kind) {
  case HostType::Tensor: out[next++] = const_cast<void *>(d.tensor.raw()); break;
  case HostType::Model:
    for (const Tensor &t : d.leaves) out[next++] = const_cast<void *>(t.raw());
    break;
  default:
    for (const Value &e : d.elems) pointersOf(e, out, next);
  }
}

/// "f(f32[3], Affine)": the call, in messages.
std::string callSpelling(const std::string &name, const std::vector<Value> &args) {
  std::string what = name + "(";
  for (size_t i = 0; i < args.size(); ++i) what += (i ? ", " : "") + args[i].type();
  return what + ")";
}

} // namespace

struct FunctionImpl {
  std::shared_ptr<ModuleImpl> module;
  std::string name;

  /// The specialisations found, read without a lock: a call looks for its
  /// argument types in these slots; a new specialisation takes the next
  /// slot (round robin) and stays owned by `owned` until the function goes,
  /// so a pointer read from a slot stays valid.
  static constexpr size_t kSlots = 8;
  std::atomic<const Spec *> slots[kSlots] = {};
  std::mutex mutex; ///< guards `owned` and `next`
  std::vector<std::unique_ptr<const Spec>> owned;
  size_t next = 0;

  /// The specialisation for `args`' types: found in a slot, else made.
  const Spec &spec(const std::vector<Value> &args) {
    for (const auto &slot : slots) {
      const Spec *s = slot.load(std::memory_order_acquire);
      if (!s || s->numArgs != args.size()) continue;
      const Spec::Key *k = s->keys.data(), *end = k + s->keys.size();
      bool all = true;
      for (size_t i = 0; i < args.size() && all; ++i) all = matches(args[i], k, end);
      if (all && k == end) return *s;
    }
    return specialise(args);
  }

  /// Specialises the function for `args`' types (the module compiles and
  /// caches the program) and records it in a slot.
  const Spec &specialise(const std::vector<Value> &args) {
    std::string what = callSpelling(name, args);
    // The declaration only carries the argument types; the entry request
    // specialises and calls `name` for them.
    auto spec = std::make_unique<Spec>();
    spec->program = module->program(ModuleImpl::entryDecl(args, what, " {}"), {{name, "__ptl_entry"}}, what, true);
    const EntryResult &r = spec->program->entries.at(0);
    for (size_t i = 0; i < args.size() && i < r.params.size(); ++i) module->checkModelsMatch(args[i], r.params[i], what);
    spec->entry = &r;
    spec->numArgs = args.size();
    for (const Value &a : args) keysOf(a, spec->keys, spec->origins);
    const ir::Function *f = spec->program->module->lookup(r.irName);
    PTL_CHECK(f, "an entry's IR function exists");
    for (unsigned i = 0; i < f->body().numArguments(); ++i) spec->params.push_back(f->body().argument(i)->type());
    spec->results = f->resultTypes();
    if (spec->program->native) spec->native = spec->program->native->entry(r.irName);
    // What AOT code could run needs no interpreter on the host, so no file:
    // such a function needs no sandbox (the check costs a call ~10 ns).
    std::vector<std::pair<std::string, std::string>> why;
    for (const ir::Function *g : backend::compilableFunctions(*spec->program->module, why, /*standalone=*/true))
      if (g == f) spec->touchesFiles = false;
    spec->mismatch = mismatchOf(args, r, spec->params, what);
    std::lock_guard<std::mutex> lock(mutex);
    owned.push_back(std::move(spec));
    slots[next++ % kSlots].store(owned.back().get(), std::memory_order_release);
    return *owned.back();
  }

  /// The error for the first argument whose dtype is not its parameter's
  /// (the elaborator accepted it by PTL's call conversion), or "".
  static std::string mismatchOf(const std::vector<Value> &args, const EntryResult &r,
                                const std::vector<ir::Type> &params, const std::string &what) {
    std::vector<Tensor> flat;
    for (const Value &a : args) flattenValue(a, flat);
    PTL_CHECK(flat.size() == params.size(), "a specialisation takes one argument per flat tensor");
    size_t next = 0;
    for (size_t i = 0; i < args.size(); ++i) {
      size_t begin = next;
      std::vector<Tensor> mine;
      flattenValue(args[i], mine);
      bool differs = false;
      for (size_t k = 0; k < mine.size(); ++k) differs |= mine[k].dtype() != params[begin + k].dtype;
      std::string wanted = wantedSpelling(args[i], params, next);
      if (!differs) continue;
      std::string param = i < r.paramNames.size() ? " '" + r.paramNames[i] + "'" : "";
      return what + ": argument " + std::to_string(i + 1) + param + " is " + args[i].type() + ", the parameter is " +
             wanted + " (arguments are not converted; Function::with_conversion() converts them as PTL would)";
    }
    return "";
  }

  /// `args` flattened, each tensor converted to its parameter's dtype.
  static std::vector<Tensor> converted(const Spec &s, const std::vector<Value> &args) {
    std::vector<Tensor> flat;
    for (const Value &a : args) flattenValue(a, flat);
    for (size_t k = 0; k < flat.size(); ++k) {
      const ir::Type &want = s.params[k];
      if (flat[k].dtype() == want.dtype) continue;
      Tensor c = Tensor::zeros(want.dtype, want.shape);
      for (int64_t e = 0; e < c.numel(); ++e) c.setDouble(e, flat[k].getDouble(e));
      flat[k] = c;
    }
    return flat;
  }

  /// Runs `s` on `args`, writing the results to `results` (buffers of
  /// s.results' types): native code straight from the host's buffers when
  /// it can, else (the interpreter, a converting call) through tensors.
  void invoke(const Spec &s, const std::vector<Value> &args, bool convert, const PointerList &results) {
    if (!s.mismatch.empty() && !convert) throwRuntime(s.mismatch);
    try {
      if (s.native && s.mismatch.empty()) {
        PointerList argPtrs(s.params.size());
        size_t next = 0;
        for (const Value &a : args) pointersOf(a, argPtrs, next);
        for (size_t k = 0; k < s.params.size(); ++k)
          if (!argPtrs[k] && numElements(s.params[k].shape) > 0)
            throwRuntime(name + ": argument tensor " + std::to_string(k + 1) + " has no data");
        std::optional<ScopedPathPolicy> sandbox;
        if (s.touchesFiles) sandbox.emplace(module->policy);
        s.program->native->callInto(*s.native, argPtrs.data(), results.data());
        return;
      }
    } catch (const RuntimeFault &f) {
      rethrowFault(f);
    }
    std::vector<Tensor> out = module->run(*s.program, s.entry->irName, converted(s, args));
    for (size_t k = 0; k < out.size(); ++k)
      if (out[k].nbytes()) std::memcpy(const_cast<void *>(results.data()[k]), out[k].raw(), out[k].nbytes());
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
  if (!impl_->functionNames.count(name)) {
    std::string what = "no function named '" + name + "'";
    throw CompileError(what, {{"error", "", 0, 0, what, "error: " + what + "\n"}});
  }
  auto f = std::make_shared<detail::FunctionImpl>();
  f->module = impl_;
  f->name = name;
  return Function(f);
}

const std::string &Function::name() const { return impl_->name; }

Function Function::with_conversion() const {
  Function f = *this;
  f.convert_ = true;
  return f;
}

Value Function::call(const std::vector<Value> &args) const {
  const detail::Spec &s = impl_->spec(args);
  std::vector<Tensor> results;
  detail::PointerList ptrs(s.results.size());
  for (size_t k = 0; k < s.results.size(); ++k) {
    results.push_back(Tensor::zeros(s.results[k].dtype, s.results[k].shape));
    ptrs[k] = results.back().raw();
  }
  impl_->invoke(s, args, convert_, ptrs);
  size_t next = 0;
  return detail::unflattenValue(s.entry->result, results, next, impl_->module);
}

void Function::call_into(const std::vector<Value> &args, std::vector<Tensor> &outputs) const {
  const detail::Spec &s = impl_->spec(args);
  if (outputs.size() != s.results.size())
    detail::throwRuntime(impl_->name + ": call_into got " + std::to_string(outputs.size()) +
                         " output tensors, the result is " + std::to_string(s.results.size()) + " (" +
                         s.entry->result.spelling + ")");
  detail::PointerList ptrs(s.results.size());
  for (size_t k = 0; k < s.results.size(); ++k) {
    const ir::Type &t = s.results[k];
    if (outputs[k].dtype() != t.dtype || outputs[k].shape() != t.shape || !outputs[k].valid())
      detail::throwRuntime(impl_->name + ": output " + std::to_string(k + 1) + " of call_into is " +
                           typeString(outputs[k].dtype(), outputs[k].shape()) +
                           (outputs[k].valid() ? "" : " without data") + ", the result is " + t.str());
    ptrs[k] = outputs[k].raw();
  }
  impl_->invoke(s, args, convert_, ptrs);
}

std::vector<Tensor> Function::make_outputs(const std::vector<Value> &args) const {
  const detail::Spec &s = impl_->spec(args);
  std::vector<Tensor> out;
  for (const ir::Type &t : s.results) out.push_back(Tensor::zeros(t.dtype, t.shape));
  return out;
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
  // The seed is an argument (a0), not part of the text: one program per
  // type and override types serves every seed.
  if (seed < INT32_MIN || seed > INT32_MAX)
    detail::throwRuntime(what + ": the seed " + std::to_string(seed) + " is not an i32");
  ctor += "seed = a0";
  std::vector<Value> args = {Value(int32_t(seed))};
  for (const auto &[path, value] : overrides) {
    ctor += ", " + detail::checkedParamPath(path, what) + " = a" + std::to_string(args.size());
    args.push_back(value);
  }
  ctor += ")";
  return impl_->request(ModuleImpl::entryDecl(args, what, " -> " + type + " = " + ctor), args, what);
}

void Module::save(const std::string &path, const Value &model) const {
  std::string abs = fs::absolute(path).lexically_normal().string();
  std::string what = "save(" + path + ")";
  impl_->request(ModuleImpl::entryDecl({model}, what, " { save(" + detail::stringLiteral(abs, what) + ", a0) }"), {model},
                 what);
}

Value Module::load(const std::string &type, const std::string &path) const {
  std::string abs = fs::absolute(path).lexically_normal().string();
  std::string what = "load(" + type + ", " + path + ")";
  detail::checkedModelType(type, what);
  return impl_->request(
      ModuleImpl::entryDecl({}, what, " -> " + type + " = load(" + type + ", " + detail::stringLiteral(abs, what) + ")"),
      {}, what);
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
  Value r = m.request(ModuleImpl::entryDecl({*this}, what, " -> " + l.value.str() + " = a0." + path), {*this}, what);
  return r.tensor();
}

void Value::set_param(const std::string &path, const Tensor &value) {
  const detail::ValueData &d = detail::dataOf(*this);
  std::string what = "set_param(" + path + ")";
  ModuleImpl &m = originOf(d, what);
  detail::leafIndex(d, path); // a clear error for a path the model does not have
  std::vector<Value> args = {*this, Value(value)};
  *this = m.request(ModuleImpl::entryDecl(args, what,
                                          " -> " + d.type.spelling + " {\n  var r = a0\n  r." + path +
                                              " = a1\n  return r\n}"),
                    args, what);
}

} // namespace ptl
