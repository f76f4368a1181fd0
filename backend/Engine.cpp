//===- backend/Engine.cpp - Run IR functions as native code -------------------===//
//
// Lowering (CodeGen), the code cache, the JIT and the run-time context
// (NativeRuntime) put together. Each engine's symbols get a prefix unique
// among the live engines (LivePrefixes), so any number of engines share the
// process-wide JIT.
//
//===----------------------------------------------------------------------===//
#include "backend/Engine.h"

#include "backend/CodeCache.h"
#include "backend/CodeGen.h"
#include "backend/JIT.h"
#include "backend/NativeRuntime.h"
#include "backend/Partition.h"
#include "backend/ProgramKey.h"
#include "runtime/Errors.h"

#include <llvm/IR/DebugInfoMetadata.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/raw_os_ostream.h>
#include <llvm/Support/raw_ostream.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

namespace ptl::backend {

namespace {
using EntryFn = int32_t (*)(ExecContext *, void *const *, void *const *);
using CompiledFunction = Engine::Entry;

/// The modules a program is compiled in, each in a context of its own.
struct Parts {
  std::vector<std::unique_ptr<llvm::LLVMContext>> contexts;
  std::vector<std::unique_ptr<llvm::Module>> modules; // (destroyed before their contexts)

  llvm::Module &add(JIT &jit) {
    contexts.push_back(std::make_unique<llvm::LLVMContext>());
    modules.push_back(std::make_unique<llvm::Module>("ptl", *contexts.back()));
    jit.configureModule(*modules.back());
    return *modules.back();
  }
  void clear() {
    modules.clear();
    contexts.clear();
  }
};

/// Lowers `fns` into one module, or, if it is big, into up to `maxParts`
/// modules of about equal size (backend/Partition.h).
void lowerProgram(const ir::Module &m, const std::vector<const ir::Function *> &fns, const std::string &prefix,
                  size_t maxParts, JIT &jit, SiteTables &sites, Parts &parts) {
  SplitLowering census;
  llvm::Module &first = parts.add(jit);
  lowerFunctions(m, fns, prefix, first, sites, &census);
  Partition p = partitionUnits(first, census.lowered, maxParts);
  if (p.parts < 2) {
    internalize(first, census.lowered);
    return;
  }
  bool ok = true;
  for (size_t q = 1; q < p.parts && ok; ++q) {
    SplitLowering part;
    std::vector<const ir::Function *> owners = ownersOf(p, q, census.lowered, fns);
    for (const ir::Function *f : fns)
      if (std::find(owners.begin(), owners.end(), f) == owners.end()) part.elsewhere.push_back(f);
    llvm::Module &mod = parts.add(jit);
    lowerFunctions(m, owners, prefix, mod, sites, &part);
    ok = keepPart(mod, part.lowered, p, q);
  }
  if (ok && keepPart(first, census.lowered, p, 0)) return;
  parts.clear(); // a unit named differently in two lowerings: compile the program whole
  sites = SiteTables{};
  lowerFunctions(m, fns, prefix, parts.add(jit), sites);
}

/// The symbol prefix the lowering uses; renamed to the engine's own one
/// after the program's key is known (renameSymbols).
const char *const kLoweringPrefix = "ptl.";

/// The symbol prefixes of the engines alive in this process. An engine
/// takes "BASE." (BASE from its program's key), or "BASE_N." with the
/// smallest N free if an engine of the same program is alive already, so a
/// program's prefix is the same in every process that has it once.
class LivePrefixes {
public:
  static LivePrefixes &get() {
    static LivePrefixes *p = new LivePrefixes; // never destroyed (engines in statics)
    return *p;
  }
  std::string acquire(const std::string &base) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::string prefix = base + ".";
    for (int n = 1; live_.count(prefix); ++n) prefix = base + "_" + std::to_string(n) + ".";
    live_.insert(prefix);
    return prefix;
  }
  void release(const std::string &prefix) {
    std::lock_guard<std::mutex> lock(mutex_);
    live_.erase(prefix);
  }

private:
  std::mutex mutex_;
  std::set<std::string> live_;
};

/// Renames the functions and globals named after `from` in every part to
/// `to`, with the linkage names of their debug information (which debuggers
/// and profilers match against the symbols).
void renameSymbols(Parts &parts, const std::string &from, const std::string &to) {
  for (auto &mod : parts.modules) {
    auto renamed = [&](llvm::StringRef name) { return to + name.drop_front(from.size()).str(); };
    for (llvm::Function &f : *mod) {
      if (!f.getName().starts_with(from)) continue;
      f.setName(renamed(f.getName()));
      if (llvm::DISubprogram *sp = f.getSubprogram())
        if (sp->getLinkageName().starts_with(from))
          sp->replaceLinkageName(llvm::MDString::get(mod->getContext(), renamed(sp->getLinkageName())));
    }
    for (llvm::GlobalVariable &g : mod->globals())
      if (g.getName().starts_with(from)) g.setName(renamed(g.getName()));
  }
}

/// The JIT shared by all engines, with the runtime symbols defined once.
JIT *sharedJIT(std::string &error) {
  static std::once_flag once;
  static std::string defineError;
  JIT *jit = JIT::shared(error);
  if (!jit) return nullptr;
  std::call_once(once, [&] {
    if (!jit->defineSymbols(runtimeSymbols(), defineError) && defineError.empty())
      defineError = "cannot define the runtime symbols";
  });
  if (!defineError.empty()) {
    error = defineError;
    return nullptr;
  }
  return jit;
}
} // namespace

struct Engine::Impl {
  JIT *jit = nullptr;
  std::string prefix; ///< of this engine's symbols (LivePrefixes), empty if none
  JIT::ModuleKey key = 0;
  bool added = false;
  EngineOptions opts;
  std::vector<std::string> files;
  std::map<std::string, CompiledFunction> compiled;
  std::map<std::string, std::string> why;
  SiteTables sites;
  std::vector<std::vector<std::string>> parts; ///< the functions lowered into each part
  const ir::Module *module = nullptr;

  /// What one call in flight needs of its own: the run-time context (frame
  /// arena, fault) and the interpreter that runs its host ops and hosts its
  /// `train` loops. Calls on several threads each take one from the pool.
  struct CallState {
    ExecContext ctx;
    std::unique_ptr<ir::Interpreter> host;
    std::atomic<bool> inUse{false}; ///< a call runs in it (requestStop stops those)
  };
  /// The pool. A call takes the `spare` state without a lock (the common
  /// case: one call at a time, or calls in turn); only when it is taken do
  /// calls take the mutex and use `idle`, making a new state if none is free.
  std::atomic<CallState *> spare{nullptr};
  std::mutex poolMutex;                          ///< guards idle and all
  std::vector<CallState *> idle;                 ///< free call states besides `spare`
  std::vector<std::unique_ptr<CallState>> all;   ///< every state made (owned here)

  /// A call state for one call (made on first need, then reused).
  CallState *acquire() {
    CallState *s = spare.exchange(nullptr, std::memory_order_acquire);
    if (!s) {
      std::lock_guard<std::mutex> lock(poolMutex);
      if (!idle.empty()) {
        s = idle.back();
        idle.pop_back();
      } else {
        all.push_back(std::make_unique<CallState>());
        s = all.back().get();
        s->host = std::make_unique<ir::Interpreter>(*module, opts.host);
      }
    }
    s->inUse.store(true, std::memory_order_relaxed);
    return s;
  }
  void release(CallState *s) {
    s->inUse.store(false, std::memory_order_relaxed);
    CallState *none = nullptr;
    if (spare.compare_exchange_strong(none, s, std::memory_order_release)) return;
    std::lock_guard<std::mutex> lock(poolMutex);
    idle.push_back(s);
  }

  RuntimeLoc runtimeLoc(int32_t site) const {
    RuntimeLoc r;
    if (site < 0 || (size_t)site >= sites.locs.size()) return r;
    ir::Loc l = sites.locs[(size_t)site];
    if (l.file >= 0 && (size_t)l.file < files.size()) r.file = files[(size_t)l.file];
    r.line = l.line;
    r.col = l.col;
    return r;
  }
};

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Engine::~Engine() {
  if (impl_ && impl_->added) {
    std::string error;
    impl_->jit->removeModule(impl_->key, error); // nothing useful to do on failure
  }
  if (impl_ && !impl_->prefix.empty()) LivePrefixes::get().release(impl_->prefix);
}

const char *cacheOutcomeName(CacheOutcome c) {
  switch (c) {
  case CacheOutcome::Hit: return "hit";
  case CacheOutcome::Miss: return "miss";
  case CacheOutcome::Off: break;
  }
  return "off";
}

std::unique_ptr<Engine> Engine::create(const ir::Module &m, const EngineOptions &opts, std::string &error) {
  auto start = std::chrono::steady_clock::now();
  auto impl = std::make_unique<Impl>();
  impl->opts = opts;
  impl->files = m.files();
  impl->module = &m;
  impl->jit = sharedJIT(error);
  if (!impl->jit) return nullptr;

  std::vector<std::pair<std::string, std::string>> why;
  std::vector<const ir::Function *> fns = compilableFunctions(m, why);
  for (auto &[name, reason] : why) impl->why[name] = reason;

  std::unique_ptr<Engine> engine(new Engine(std::move(impl)));
  Impl &I = *engine->impl_;
  if (!fns.empty()) {
    // Lower the program into one module, or into parts (one per core) each
    // with a module and context of its own.
    Parts parts;
    size_t partsWanted = opts.compileThreads > 0
                             ? (size_t)opts.compileThreads
                             : std::min<size_t>(std::max(1u, std::thread::hardware_concurrency()), 4);
    using Clock = std::chrono::steady_clock;
    auto since = [](Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); };
    auto phase = Clock::now();
    lowerProgram(m, fns, kLoweringPrefix, partsWanted, *I.jit, I.sites, parts);
    std::vector<std::unique_ptr<llvm::Module>> &modules = parts.modules;
    for (auto &mod : modules) verifyLowered(*mod);
    double lowerMs = since(phase);
    phase = Clock::now();
    // The program's key (before any LLVM pass) names its symbols and its
    // cache entry; without the cache a counter names them.
    CodeCache cache(opts.cache);
    bool useCache = cache.enabled() && !opts.irOut;
    CacheKey program{};
    std::string base;
    if (useCache) {
      std::vector<const llvm::Module *> lowered;
      for (auto &mod : modules) lowered.push_back(mod.get());
      program = programKey(lowered, *I.jit, opts.optLevel);
      base = "ptl" + keyHex(program).substr(0, 16);
    } else {
      static std::atomic<uint64_t> counter{0};
      base = "ptl" + std::to_string(counter++);
    }
    I.prefix = LivePrefixes::get().acquire(base);
    renameSymbols(parts, kLoweringPrefix, I.prefix);
    const std::string &prefix = I.prefix;
    for (auto &mod : modules) {
      I.parts.emplace_back();
      for (const llvm::Function &f : *mod)
        if (!f.isDeclaration()) I.parts.back().push_back(f.getName().str());
    }
    // A hit skips optimisation and code generation; else optimise and
    // compile the parts at once, one thread each, and store the objects.
    double keyMs = since(phase);
    phase = Clock::now();
    CacheKey entry = useCache ? entryKey(program, prefix) : CacheKey{};
    std::vector<std::string> objects;
    auto compileAll = [&]() {
      objects.assign(modules.size(), std::string());
      std::vector<std::string> errors(modules.size());
      std::vector<char> ok(modules.size(), 0);
      auto compile = [&](size_t p) { ok[p] = I.jit->compileObject(*modules[p], opts.optLevel, objects[p], errors[p]); };
      std::vector<std::thread> threads;
      for (size_t p = 1; p < modules.size(); ++p) threads.emplace_back(compile, p);
      compile(0);
      for (std::thread &t : threads) t.join();
      for (size_t p = 0; p < modules.size(); ++p)
        if (!ok[p]) {
          error = errors[p];
          return false;
        }
      if (opts.irOut) {
        llvm::raw_os_ostream os(*opts.irOut);
        for (auto &mod : modules) mod->print(os, nullptr);
      }
      if (useCache) {
        cache.store(entry, objects);
        engine->cacheOutcome_ = CacheOutcome::Miss;
      }
      return true;
    };
    // Adds the objects to the JIT and finds every function's entry.
    auto link = [&]() {
      if (!I.jit->addObjects(objects, I.key, error)) return false;
      I.added = true;
      I.compiled.clear();
      for (const ir::Function *f : fns) {
        CompiledFunction cf;
        cf.fn = reinterpret_cast<EntryFn>(I.jit->lookup(entrySymbol(prefix, f->name()), error));
        if (!cf.fn) return false;
        for (unsigned i = 0; i < f->body().numArguments(); ++i) cf.params.push_back(f->body().argument(i)->type());
        cf.results = f->resultTypes();
        I.compiled[f->name()] = std::move(cf);
      }
      return true;
    };
    if (useCache && cache.load(entry, objects) && objects.size() == modules.size())
      engine->cacheOutcome_ = CacheOutcome::Hit;
    else if (!compileAll())
      return nullptr;
    double objectsMs = since(phase);
    phase = Clock::now();
    if (!link()) {
      if (engine->cacheOutcome_ != CacheOutcome::Hit) return nullptr;
      // An entry that passed every check yet does not link (written by a
      // broken build under the same key): drop it and compile afresh.
      cacheDebug("entry " + keyHex(entry) + " does not link (" + error + "): removed; compiling");
      cache.remove(entry);
      std::string ignored;
      if (I.added) I.jit->removeModule(I.key, ignored);
      I.added = false;
      error.clear();
      if (!compileAll() || !link()) return nullptr;
    }
    if (useCache) {
      char line[160];
      std::snprintf(line, sizeof line, "%s: lower %.1f ms, key %.1f ms, %s %.1f ms, link %.1f ms",
                    cacheOutcomeName(engine->cacheOutcome_), lowerMs, keyMs,
                    engine->cacheOutcome_ == CacheOutcome::Hit ? "load" : "optimise+codegen+store", objectsMs,
                    since(phase));
      cacheDebug(line);
    }
  }
  engine->compileMs_ =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return engine;
}

void Engine::requestStop() {
  std::lock_guard<std::mutex> lock(impl_->poolMutex);
  for (auto &s : impl_->all)
    if (s->inUse.load(std::memory_order_relaxed)) s->host->requestStop();
}

const std::vector<std::vector<std::string>> &Engine::compiledParts() const { return impl_->parts; }

bool Engine::isCompiled(const std::string &function) const { return impl_->compiled.count(function) != 0; }

std::string Engine::whyNotCompiled(const std::string &function) const {
  if (isCompiled(function)) return "";
  auto it = impl_->why.find(function);
  return it == impl_->why.end() ? "no function named '" + function + "'" : it->second;
}

std::vector<Tensor> Engine::call(const std::string &function, const std::vector<Tensor> &args) {
  auto it = impl_->compiled.find(function);
  if (it == impl_->compiled.end()) {
    auto w = impl_->why.find(function);
    if (w == impl_->why.end()) throw RuntimeFault("no function named '" + function + "'");
    throw RuntimeFault(function + " is not compiled: " + w->second);
  }
  const CompiledFunction &f = it->second;
  if (args.size() != f.params.size())
    throw RuntimeFault(function + " takes " + std::to_string(f.params.size()) + " arguments, got " +
                       std::to_string(args.size()));
  std::vector<void *> argPtrs, resPtrs;
  for (size_t i = 0; i < args.size(); ++i) {
    const ir::Type &t = f.params[i];
    if (args[i].dtype() != t.dtype || args[i].shape() != t.shape)
      throw RuntimeFault("argument " + std::to_string(i + 1) + " of " + function + ": expected " + t.str() +
                         ", got " + typeString(args[i].dtype(), args[i].shape()));
    if (!args[i].valid())
      throw RuntimeFault("argument " + std::to_string(i + 1) + " of " + function + " has no data");
    argPtrs.push_back(const_cast<void *>(args[i].raw()));
  }
  std::vector<Tensor> results;
  for (const ir::Type &t : f.results) {
    results.push_back(Tensor::zeros(t.dtype, t.shape));
    resPtrs.push_back(results.back().raw());
  }
  callInto(f, argPtrs.data(), resPtrs.data());
  return results;
}

const Engine::Entry *Engine::entry(const std::string &function) const {
  auto it = impl_->compiled.find(function);
  return it == impl_->compiled.end() ? nullptr : &it->second;
}

void Engine::callInto(const Entry &f, void *const *args, void *const *results) {
  Impl::CallState *state = impl_->acquire();
  struct Release {
    Impl &impl;
    Impl::CallState *state;
    ~Release() { impl.release(state); }
  } releaseAtExit{*impl_, state};
  ExecContext &ctx = state->ctx;
  ir::Interpreter &host = *state->host;
  ctx.reset();
  ctx.sites = &impl_->sites;
  ctx.out = impl_->opts.out ? impl_->opts.out : &std::cout;
  ctx.host = &host;
  int32_t status = f.fn(&ctx, args, results);
  if (status != 0 || ctx.failed) {
    // A fault leaves the train loops it was in: end them as the
    // interpreter's unwinding does (finish the progress line, close the log,
    // restore the SIGINT handler).
    while (host.currentTrain()) host.endTrain();
    std::string msg = ctx.message.empty() ? "run-time error in native code" : ctx.message;
    RuntimeFault fault(msg, impl_->runtimeLoc(ctx.locSite));
    fault.trainStop = ctx.trainStop;
    ctx.reset();
    throw fault;
  }
}

bool emitNative(const ir::Module &m, int optLevel, NativeStage stage, std::ostream &os, std::string &error) {
  bool assembly = stage == NativeStage::Asm;
  JIT *jit = sharedJIT(error);
  if (!jit) return false;
  std::vector<std::pair<std::string, std::string>> why;
  std::vector<const ir::Function *> fns = compilableFunctions(m, why);
  const char *comment = assembly ? "#" : ";";
  for (auto &[name, reason] : why) os << comment << " not compiled: " << name << ": " << reason << "\n";
  llvm::LLVMContext llctx;
  llvm::Module mod("ptl", llctx);
  jit->configureModule(mod);
  SiteTables sites;
  lowerFunctions(m, fns, "ptl.", mod, sites);
  verifyLowered(mod);
  if (stage != NativeStage::Loops) jit->optimize(mod, optLevel);
  if (!assembly) {
    llvm::raw_os_ostream ros(os);
    mod.print(ros, nullptr);
    return true;
  }
  std::string text;
  if (!jit->emitAssembly(mod, text, error)) return false;
  os << text;
  return true;
}

} // namespace ptl::backend
