//===- backend/Engine.cpp - Run IR functions as native code -------------------===//
//
// Lowering (CodeGen), the JIT and the run-time context (NativeRuntime) put
// together. Each engine's symbols get a unique prefix, so any number of
// engines share the process-wide JIT.
//
//===----------------------------------------------------------------------===//
#include "backend/Engine.h"

#include "backend/CodeGen.h"
#include "backend/JIT.h"
#include "backend/NativeRuntime.h"
#include "backend/Partition.h"
#include "runtime/Errors.h"

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/raw_os_ostream.h>
#include <llvm/Support/raw_ostream.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <mutex>
#include <thread>

namespace ptl::backend {

namespace {
using EntryFn = int32_t (*)(ExecContext *, void *const *, void *const *);

struct CompiledFunction {
  EntryFn entry = nullptr;
  std::vector<ir::Type> params, results;
};

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
  };
  std::mutex poolMutex;
  std::vector<std::unique_ptr<CallState>> idle;   ///< free call states
  std::vector<CallState *> busy;                  ///< in use (for requestStop)

  /// A call state for one call (made on first need, then reused).
  CallState *acquire() {
    std::lock_guard<std::mutex> lock(poolMutex);
    std::unique_ptr<CallState> s;
    if (!idle.empty()) {
      s = std::move(idle.back());
      idle.pop_back();
    } else {
      s = std::make_unique<CallState>();
      s->host = std::make_unique<ir::Interpreter>(*module, opts.host);
    }
    busy.push_back(s.get());
    return s.release();
  }
  void release(CallState *s) {
    std::lock_guard<std::mutex> lock(poolMutex);
    busy.erase(std::find(busy.begin(), busy.end(), s));
    idle.emplace_back(s);
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
    static std::atomic<uint64_t> counter{0};
    std::string prefix = "ptl" + std::to_string(counter++) + ".";
    // Lower the program into one module, or into parts (one per core) each
    // with a module and context of its own; then optimise and compile the
    // parts at once, one thread each.
    Parts parts;
    size_t partsWanted = opts.compileThreads > 0
                             ? (size_t)opts.compileThreads
                             : std::min<size_t>(std::max(1u, std::thread::hardware_concurrency()), 4);
    lowerProgram(m, fns, prefix, partsWanted, *I.jit, I.sites, parts);
    std::vector<std::unique_ptr<llvm::Module>> &modules = parts.modules;
    for (auto &mod : modules) {
      verifyLowered(*mod);
      I.parts.emplace_back();
      for (const llvm::Function &f : *mod)
        if (!f.isDeclaration()) I.parts.back().push_back(f.getName().str());
    }
    std::vector<std::string> objects(modules.size()), errors(modules.size());
    std::vector<char> ok(modules.size(), 0);
    auto compile = [&](size_t p) { ok[p] = I.jit->compileObject(*modules[p], opts.optLevel, objects[p], errors[p]); };
    std::vector<std::thread> threads;
    for (size_t p = 1; p < modules.size(); ++p) threads.emplace_back(compile, p);
    compile(0);
    for (std::thread &t : threads) t.join();
    for (size_t p = 0; p < modules.size(); ++p)
      if (!ok[p]) {
        error = errors[p];
        return nullptr;
      }
    if (opts.irOut) {
      llvm::raw_os_ostream os(*opts.irOut);
      for (auto &mod : modules) mod->print(os, nullptr);
    }
    if (!I.jit->addObjects(objects, I.key, error)) return nullptr;
    I.added = true;
    for (const ir::Function *f : fns) {
      CompiledFunction cf;
      cf.entry = reinterpret_cast<EntryFn>(I.jit->lookup(entrySymbol(prefix, f->name()), error));
      if (!cf.entry) return nullptr;
      for (unsigned i = 0; i < f->body().numArguments(); ++i) cf.params.push_back(f->body().argument(i)->type());
      cf.results = f->resultTypes();
      I.compiled[f->name()] = std::move(cf);
    }
  }
  engine->compileMs_ =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return engine;
}

void Engine::requestStop() {
  std::lock_guard<std::mutex> lock(impl_->poolMutex);
  for (Impl::CallState *s : impl_->busy) s->host->requestStop();
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
  int32_t status = f.entry(&ctx, argPtrs.data(), resPtrs.data());
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
  return results;
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
