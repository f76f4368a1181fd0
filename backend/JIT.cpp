//===- backend/JIT.cpp - A small wrapper over LLVM's ORC LLJIT ----------------===//
//
// LLJIT for the host CPU. Every LLVM error is turned into a string here, so
// nothing LLVM-specific leaks out and no C++ exception crosses LLVM code.
// Process symbols stay visible (LLJIT's default) as a fallback for the
// libcalls LLVM itself may emit (memcpy, memset); the functions PTL's code
// calls on purpose are defined explicitly with defineSymbols.
//
//===----------------------------------------------------------------------===//
#include "backend/JIT.h"

#include "backend/Optimizer.h"

#include <llvm/Support/CommandLine.h>
#include <llvm/Support/ErrorHandling.h>
#include <llvm/Analysis/CGSCCPassManager.h>
#include <llvm/Analysis/LoopAnalysisManager.h>
#include <llvm/ExecutionEngine/Orc/Core.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/PassManager.h>
#include <llvm/Passes/OptimizationLevel.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/TargetParser/Host.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <optional>

namespace ptl::backend {

namespace orc = llvm::orc;

struct JIT::Impl {
  std::unique_ptr<orc::LLJIT> jit;
  std::optional<orc::JITTargetMachineBuilder> jtmb; ///< makes a target machine per compiling thread
  std::unique_ptr<llvm::TargetMachine> tm; ///< for the optimiser's cost models
  std::mutex mutex;                        ///< guards trackers, nextKey and tm
  std::map<ModuleKey, orc::ResourceTrackerSP> trackers;
  ModuleKey nextKey = 1;
};

namespace {
std::string takeMessage(llvm::Error e) { return llvm::toString(std::move(e)); }

void initNativeTarget() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
    // Memory running out inside LLVM (its own allocators, not `new`) is a
    // std::bad_alloc like anywhere else, which the host reports (ptlc: "out
    // of memory while compiling"), instead of LLVM's abort.
    llvm::install_bad_alloc_error_handler([](void *, const char *, bool) { throw std::bad_alloc(); });
    // For people tuning the backend: LLVM's own options, e.g.
    // PTL_LLVM_ARGS="-time-passes" (what each pass cost) or "-debug-pass-manager".
    const char *argv[] = {"ptl"};
    llvm::cl::ParseCommandLineOptions(1, argv, "", nullptr, "PTL_LLVM_ARGS");
  });
}
} // namespace

JIT::JIT(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

JIT::~JIT() {
  // Free the modules' code before the session goes.
  if (!impl_ || !impl_->jit) return;
  for (auto &[key, rt] : impl_->trackers)
    llvm::consumeError(rt->remove());
  impl_->trackers.clear();
}

std::unique_ptr<JIT> JIT::create(std::string &error) {
  initNativeTarget();
  auto jtmb = orc::JITTargetMachineBuilder::detectHost();
  if (!jtmb) {
    error = "cannot detect the host target: " + takeMessage(jtmb.takeError());
    return nullptr;
  }
  jtmb->setCodeGenOptLevel(llvm::CodeGenOptLevel::Default);
  // LLVM tunes Intel's AVX-512 CPUs to prefer 256-bit vectors (to spare the
  // clock on older parts); PTL's loops are short, math-heavy and measured
  // ~5% faster with 512-bit ones (powerlaw_reparam, rnn_online).
  if (jtmb->getTargetTriple().isX86() && llvm::sys::getHostCPUFeatures().lookup("avx512f"))
    jtmb->getFeatures().AddFeature("prefer-256-bit", false);
  // The testing knob of JIT.h: features added after the host's win.
  if (const char *extra = std::getenv("PTL_JIT_FEATURES")) {
    llvm::SmallVector<llvm::StringRef, 8> features;
    llvm::StringRef(extra).split(features, ',', -1, /*KeepEmpty=*/false);
    for (llvm::StringRef f : features)
      if (!f.trim().empty()) jtmb->getFeatures().AddFeature(f.trim());
  }
  auto impl = std::make_unique<Impl>();
  auto tm = jtmb->createTargetMachine();
  if (!tm) {
    error = "cannot create a target machine: " + takeMessage(tm.takeError());
    return nullptr;
  }
  impl->tm = std::move(*tm);
  impl->jtmb = *jtmb;
  auto jit = orc::LLJITBuilder().setJITTargetMachineBuilder(std::move(*jtmb)).create();
  if (!jit) {
    error = "cannot create the JIT: " + takeMessage(jit.takeError());
    return nullptr;
  }
  impl->jit = std::move(*jit);
  return std::unique_ptr<JIT>(new JIT(std::move(impl)));
}

JIT *JIT::shared(std::string &error) {
  // Never destroyed: engines held in static objects of the host (or of a
  // test) remove their code during exit, after this function's statics
  // would otherwise be gone.
  struct State {
    std::mutex mutex;
    JIT *instance = nullptr;
    std::string createError;
  };
  static State *state = new State;
  std::lock_guard<std::mutex> lock(state->mutex);
  if (!state->instance && state->createError.empty()) {
    state->instance = create(state->createError).release();
    if (!state->instance && state->createError.empty()) state->createError = "cannot create the JIT";
  }
  if (!state->instance) error = state->createError;
  return state->instance;
}

bool JIT::defineSymbols(const std::vector<HostSymbol> &symbols, std::string &error) {
  orc::SymbolMap map;
  for (const HostSymbol &s : symbols)
    map[impl_->jit->mangleAndIntern(s.name)] = {llvm::orc::ExecutorAddr::fromPtr(s.address),
                                                 llvm::JITSymbolFlags::Exported |
                                                     llvm::JITSymbolFlags::Callable};
  if (llvm::Error e = impl_->jit->getMainJITDylib().define(orc::absoluteSymbols(std::move(map)))) {
    error = takeMessage(std::move(e));
    return false;
  }
  return true;
}

void JIT::configureModule(llvm::Module &m) const {
  m.setTargetTriple(impl_->jit->getTargetTriple().str());
  m.setDataLayout(impl_->jit->getDataLayout());
}

void JIT::optimize(llvm::Module &m, int optLevel) const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  optimizeModule(m, impl_->tm.get(), optLevel);
}

bool JIT::emitAssembly(llvm::Module &m, std::string &out, std::string &error) const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  llvm::SmallString<0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager pm;
  if (impl_->tm->addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::AssemblyFile)) {
    error = "the target cannot emit assembly";
    return false;
  }
  pm.run(m);
  out.assign(buffer.begin(), buffer.end());
  return true;
}

bool JIT::compileObject(llvm::Module &m, int optLevel, std::string &object, std::string &error) const {
  auto tm = impl_->jtmb->createTargetMachine();
  if (!tm) {
    error = "cannot create a target machine: " + takeMessage(tm.takeError());
    return false;
  }
  // -O0 generates code as clang's -O0 does (the fast instruction selector,
  // no machine-level optimisation): most of its compile time was code
  // generation at the default level. -O1..-O3 keep the default level.
  if (optLevel <= 0) (*tm)->setOptLevel(llvm::CodeGenOptLevel::None);
  optimizeModule(m, tm->get(), optLevel);
  llvm::SmallString<0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager pm;
  if ((*tm)->addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile)) {
    error = "the target cannot emit object files";
    return false;
  }
  pm.run(m);
  object.assign(buffer.begin(), buffer.end());
  return true;
}

bool JIT::addObjects(const std::vector<std::string> &objects, ModuleKey &key, std::string &error) {
  orc::ResourceTrackerSP rt = impl_->jit->getMainJITDylib().createResourceTracker();
  for (size_t i = 0; i < objects.size(); ++i)
    if (llvm::Error e = impl_->jit->addObjectFile(
            rt, llvm::MemoryBuffer::getMemBufferCopy(objects[i], "ptl-object-" + std::to_string(i)))) {
      error = takeMessage(std::move(e));
      llvm::consumeError(rt->remove());
      return false;
    }
  std::lock_guard<std::mutex> lock(impl_->mutex);
  key = impl_->nextKey++;
  impl_->trackers[key] = rt;
  return true;
}

bool JIT::removeModule(ModuleKey key, std::string &error) {
  orc::ResourceTrackerSP rt;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    auto it = impl_->trackers.find(key);
    if (it == impl_->trackers.end()) {
      error = "no module with key " + std::to_string(key);
      return false;
    }
    rt = it->second;
    impl_->trackers.erase(it);
  }
  if (llvm::Error e = rt->remove()) {
    error = takeMessage(std::move(e));
    return false;
  }
  // Every engine names its symbols with a prefix of its own, and the symbol
  // pool keeps unused names until asked: drop them, so that a process that
  // creates engines one after the other (a REPL, a host, the fuzzer) does not
  // grow with every module it ever compiled.
  impl_->jit->getExecutionSession().getSymbolStringPool()->clearDeadEntries();
  return true;
}

void *JIT::lookup(const std::string &name, std::string &error) {
  auto addr = impl_->jit->lookup(name);
  if (!addr) {
    error = takeMessage(addr.takeError());
    return nullptr;
  }
  return addr->toPtr<void *>();
}

std::string JIT::cpuName() const { return impl_->tm->getTargetCPU().str(); }

std::string JIT::targetDescription() const {
  const orc::JITTargetMachineBuilder &b = *impl_->jtmb;
  std::string s = b.getTargetTriple().str() + " cpu=" + b.getCPU() + " features=" + b.getFeatures().getString();
  s += " code-model=" + std::to_string(b.getCodeModel() ? (int)*b.getCodeModel() : -1);
  s += " reloc=" + std::to_string(b.getRelocationModel() ? (int)*b.getRelocationModel() : -1);
  s += " codegen-level=" + std::to_string((int)impl_->tm->getOptLevel());
  return s;
}

} // namespace ptl::backend
