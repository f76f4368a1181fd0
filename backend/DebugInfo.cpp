//===- backend/DebugInfo.cpp - .ptl source locations in generated LLVM IR -----===//
#include "backend/DebugInfo.h"

#include <llvm/BinaryFormat/Dwarf.h>
#include <llvm/IR/DebugInfoMetadata.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/Module.h>

#include <filesystem>

namespace ptl::backend {

DebugInfo::DebugInfo(llvm::Module &m, const std::vector<std::string> &files)
    : ctx_(m.getContext()), dib_(m), paths_(files), files_(files.size(), nullptr) {
  m.addModuleFlag(llvm::Module::Warning, "Debug Info Version", llvm::DEBUG_METADATA_VERSION);
  m.addModuleFlag(llvm::Module::Warning, "Dwarf Version", 5);
  llvm::DIFile *main = files.empty() ? dib_.createFile("<ptl>", ".") : file(0);
  // DWARF has no language code for PTL; C is the neutral choice tools accept.
  unit_ = dib_.createCompileUnit(llvm::dwarf::DW_LANG_C, main, "ptlc", /*isOptimized=*/true, "", 0);
  fnType_ = dib_.createSubroutineType(dib_.getOrCreateTypeArray({}));
}

llvm::DIFile *DebugInfo::file(int index) {
  if (index < 0 || (size_t)index >= files_.size()) return nullptr;
  if (!files_[(size_t)index]) {
    std::filesystem::path p(paths_[(size_t)index]);
    files_[(size_t)index] = dib_.createFile(p.filename().string(), p.parent_path().string());
  }
  return files_[(size_t)index];
}

void DebugInfo::beginFunction(llvm::Function &fn, const std::string &name, ir::Loc loc) {
  llvm::DIFile *f = file(loc.file);
  if (!f) f = unit_->getFile();
  unsigned line = loc.valid() ? (unsigned)loc.line : 0;
  sp_ = dib_.createFunction(f, name, fn.getName(), f, line, fnType_, line, llvm::DINode::FlagPrototyped,
                            llvm::DISubprogram::SPFlagDefinition | llvm::DISubprogram::SPFlagOptimized |
                                llvm::DISubprogram::SPFlagLocalToUnit);
  spFile_ = loc.valid() ? loc.file : 0;
  fn.setSubprogram(sp_);
}

llvm::DebugLoc DebugInfo::at(ir::Loc loc) {
  if (!sp_) return {};
  if (!loc.valid()) return llvm::DILocation::get(ctx_, sp_->getLine(), 0, sp_);
  llvm::DIScope *scope = sp_;
  if (loc.file != spFile_) {
    llvm::DILexicalBlockFile *&b = blocks_[{sp_, loc.file}];
    if (!b && file(loc.file)) b = dib_.createLexicalBlockFile(sp_, file(loc.file));
    if (b) scope = b;
  }
  return llvm::DILocation::get(ctx_, (unsigned)loc.line, (unsigned)loc.col, scope);
}

} // namespace ptl::backend
