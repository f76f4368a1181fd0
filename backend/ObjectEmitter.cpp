//===- backend/ObjectEmitter.cpp - Ahead-of-time object files ----------------===//
//
// Lowering is CodeGen's (lowerFunctions), optimisation the JIT's pipeline
// (optimizeModule); this file adds the C thunks and the site-table blob,
// makes everything else internal, and runs LLVM's code generator for an
// object file with a position-independent relocation model.
//
//===----------------------------------------------------------------------===//
#include "backend/ObjectEmitter.h"

#include "backend/CodeGen.h"
#include "backend/NativeRuntime.h"
#include "backend/Optimizer.h"
#include "backend/SiteTablesIO.h"

#include <llvm/ADT/StringMap.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Object/ArchiveWriter.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Target/TargetOptions.h>
#include <llvm/TargetParser/Host.h>

#include <cctype>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>

namespace ptl::backend {

namespace {

void initNativeTarget() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

/// A target machine for the host's triple and `cpu`, relocation model PIC.
std::unique_ptr<llvm::TargetMachine> targetMachine(const std::string &cpu, std::string &triple,
                                                   std::string &cpuName, std::string &error) {
  initNativeTarget();
  triple = llvm::sys::getDefaultTargetTriple();
  std::string lookupError;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, lookupError);
  if (!target) {
    error = "no LLVM target for " + triple + ": " + lookupError;
    return nullptr;
  }
  std::string features;
  cpuName = cpu;
  if (cpu == "native") {
    cpuName = llvm::sys::getHostCPUName().str();
    for (const auto &f : llvm::sys::getHostCPUFeatures()) features += (features.empty() ? "" : ",") + std::string(f.second ? "+" : "-") + f.first().str();
  }
  std::unique_ptr<llvm::MCSubtargetInfo> sti(target->createMCSubtargetInfo(triple, "", ""));
  if (cpuName != "generic" && (!sti || !sti->isCPUStringValid(cpuName))) {
    error = "unknown CPU '" + cpuName + "' for " + triple + " (try generic or native)";
    return nullptr;
  }
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, cpuName, features, options, llvm::Reloc::PIC_, std::nullopt, llvm::CodeGenOptLevel::Default));
  if (!tm) error = "cannot create a target machine for " + triple + " (cpu " + cpuName + ")";
  return tm;
}

/// C names for the compiled functions: NAME_ + cIdentifier(F), made unique
/// (`f.2` and `f_2` would clash) and kept clear of the context API's names.
std::vector<std::string> cNames(const std::string &name, const std::vector<const ir::Function *> &fns) {
  std::set<std::string> used = {name + "_create",     name + "_destroy",    name + "_error_message",
                                name + "_error_file", name + "_error_line", name + "_error_col",
                                name + "_request_stop", name + "_ctx"};
  std::vector<std::string> out;
  for (const ir::Function *f : fns) {
    std::string base = name + "_" + cIdentifier(f->name()), c = base;
    for (int k = 2; used.count(c); ++k) c = base + "_" + std::to_string(k);
    used.insert(c);
    out.push_back(c);
  }
  return out;
}

/// Adds the context API and one thunk per function to `mod` (see the header).
void addThunks(llvm::Module &mod, const std::string &name, const std::string &prefix,
               const std::vector<const ir::Function *> &fns, const std::vector<std::string> &cnames,
               const std::string &blob) {
  llvm::LLVMContext &c = mod.getContext();
  llvm::IRBuilder<> b(c);
  llvm::Type *ptr = b.getPtrTy(), *i32 = b.getInt32Ty(), *i64 = b.getInt64Ty(), *voidT = b.getVoidTy();
  auto *data = llvm::ConstantDataArray::getString(c, blob, /*AddNull=*/false);
  auto *sites = new llvm::GlobalVariable(mod, data->getType(), /*isConstant=*/true,
                                         llvm::GlobalValue::PrivateLinkage, data, name + ".sites");
  sites->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);

  auto define = [&](const std::string &fname, llvm::Type *ret, std::vector<llvm::Type *> params) {
    auto *f = llvm::Function::Create(llvm::FunctionType::get(ret, params, false), llvm::GlobalValue::ExternalLinkage,
                                     fname, mod);
    f->addFnAttr(llvm::Attribute::NoUnwind);
    b.SetInsertPoint(llvm::BasicBlock::Create(c, "entry", f));
    return f;
  };
  auto helper = [&](const char *hname, llvm::Type *ret, std::vector<llvm::Type *> params) {
    return mod.getOrInsertFunction(hname, llvm::FunctionType::get(ret, params, false));
  };
  // NAME_create(): the context, with the tables decoded from the blob
  define(name + "_create", ptr, {});
  b.CreateRet(b.CreateCall(helper("ptlrt_aot_create", ptr, {ptr, i64}),
                           {sites, b.getInt64((int64_t)blob.size())}));
  // The rest of the context API forwards its argument.
  struct Forward {
    const char *suffix, *runtime;
    llvm::Type *ret;
  };
  for (const Forward &f : {Forward{"_destroy", "ptlrt_aot_destroy", voidT},
                           Forward{"_error_message", "ptlrt_aot_error_message", ptr},
                           Forward{"_error_file", "ptlrt_aot_error_file", ptr},
                           Forward{"_error_line", "ptlrt_aot_error_line", i32},
                           Forward{"_error_col", "ptlrt_aot_error_col", i32},
                           Forward{"_request_stop", "ptlrt_aot_request_stop", voidT}}) {
    llvm::Function *fn = define(name + f.suffix, f.ret, {ptr});
    llvm::Value *r = b.CreateCall(helper(f.runtime, f.ret, {ptr}), {fn->getArg(0)});
    if (f.ret->isVoidTy()) b.CreateRetVoid();
    else b.CreateRet(r);
  }
  // int NAME_F(ctx, args..., results...): begin, the lowered F, end
  for (size_t i = 0; i < fns.size(); ++i) {
    llvm::Function *lowered = mod.getFunction(prefix + fns[i]->name());
    llvm::FunctionType *lt = lowered->getFunctionType();
    std::vector<llvm::Type *> params(lt->param_begin(), lt->param_end()); // ctx first, then the buffers
    llvm::Function *fn = define(cnames[i], i32, params);
    llvm::Value *exec = b.CreateCall(helper("ptlrt_aot_begin", ptr, {ptr}), {fn->getArg(0)});
    llvm::BasicBlock *run = llvm::BasicBlock::Create(c, "run", fn), *none = llvm::BasicBlock::Create(c, "noctx", fn);
    b.CreateCondBr(b.CreateIsNull(exec), none, run);
    b.SetInsertPoint(none);
    b.CreateRet(b.getInt32(1));
    b.SetInsertPoint(run);
    std::vector<llvm::Value *> args{exec};
    for (unsigned a = 1; a < fn->arg_size(); ++a) args.push_back(fn->getArg(a));
    llvm::Value *status = b.CreateCall(lowered, args);
    b.CreateRet(b.CreateCall(helper("ptlrt_aot_end", i32, {ptr, i32}), {fn->getArg(0), status}));
  }
}

/// Adds every value `r` (and the regions nested in it) reads to `used`.
void collectUses(const ir::Region &r, std::set<const ir::Value *> &used) {
  for (const auto &op : r.ops()) {
    for (const ir::Value *v : op->operands()) used.insert(v);
    for (unsigned i = 0; i < op->numRegions(); ++i) collectUses(*op->region(i), used);
  }
}

} // namespace

std::string cIdentifier(const std::string &text) {
  std::string s;
  for (char ch : text) s += (std::isalnum((unsigned char)ch) || ch == '_') ? ch : '_';
  if (s.empty() || std::isdigit((unsigned char)s[0])) s = "_" + s;
  return s;
}

bool emitAotObject(const ir::Module &m, const AotOptions &opts, AotObject &out, std::string &error) {
  out = AotObject();
  out.name = opts.name;
  std::vector<const ir::Function *> fns = compilableFunctions(m, out.skipped, /*standalone=*/true);
  if (fns.empty()) {
    error = "no function can be compiled ahead of time";
    return false;
  }
  std::unique_ptr<llvm::TargetMachine> tm = targetMachine(opts.cpu, out.triple, out.cpu, error);
  if (!tm) return false;

  llvm::LLVMContext llctx;
  llvm::Module mod(opts.name, llctx);
  mod.setTargetTriple(out.triple);
  mod.setDataLayout(tm->createDataLayout());
  std::string prefix = opts.name + ".";
  SiteTables sites;
  lowerFunctions(m, fns, prefix, mod, sites);
  std::vector<std::string> cnames = cNames(opts.name, fns);
  addThunks(mod, opts.name, prefix, fns, cnames, encodeSiteTables(sites));
  // The JIT's array-of-pointers entries are not part of the C API.
  for (const ir::Function *f : fns)
    if (llvm::Function *e = mod.getFunction(entrySymbol(prefix, f->name())))
      e->setLinkage(llvm::GlobalValue::InternalLinkage);

  verifyLowered(mod);
  optimizeModule(mod, tm.get(), opts.optLevel);

  llvm::SmallString<0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager pm;
  if (tm->addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile)) {
    error = "the target cannot emit object files";
    return false;
  }
  pm.run(mod);
  out.object.assign(buffer.begin(), buffer.end());

  for (size_t i = 0; i < fns.size(); ++i) {
    AotFunction af;
    af.irName = fns[i]->name();
    af.cName = cnames[i];
    std::set<const ir::Value *> used;
    collectUses(fns[i]->body(), used);
    for (unsigned a = 0; a < fns[i]->body().numArguments(); ++a) {
      const ir::Value *arg = fns[i]->body().argument(a);
      af.params.push_back(arg->type());
      af.paramNames.push_back(arg->name());
      af.paramUsed.push_back(used.count(arg) != 0);
    }
    af.results = fns[i]->resultTypes();
    out.functions.push_back(std::move(af));
  }
  return true;
}

bool writeObjectFile(const std::string &path, const std::string &bytes, std::string &error) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (f) f.write(bytes.data(), (std::streamsize)bytes.size());
  if (f) f.close();
  if (!f) {
    error = "cannot write '" + path + "'";
    return false;
  }
  return true;
}

bool writeStaticArchive(const std::string &path, const std::string &memberName, const std::string &bytes,
                        std::string &error) {
  std::vector<llvm::NewArchiveMember> members;
  members.emplace_back(llvm::MemoryBufferRef(llvm::StringRef(bytes.data(), bytes.size()), memberName));
  if (llvm::Error e = llvm::writeArchive(path, members, llvm::SymtabWritingMode::NormalSymtab,
                                         llvm::object::Archive::K_GNU, /*Deterministic=*/true, /*Thin=*/false)) {
    error = "cannot write '" + path + "': " + llvm::toString(std::move(e));
    return false;
  }
  return true;
}

} // namespace ptl::backend
