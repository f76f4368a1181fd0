//===- backend/DebugInfo.h - .ptl source locations in generated LLVM IR -------===//
//
// Attaches DWARF debug information to the LLVM IR that CodeGen makes: one
// compile unit per module, a subprogram per PTL function, and the `.ptl`
// line and column of the op each instruction comes from. Profilers (perf),
// debuggers (gdb on JIT code or an AOT object) and `ptlc --emit=llvm` then
// point back at PTL source. An op inlined from another file (a stdlib
// function differentiated inside the caller) is located in that file
// through a lexical block of the function's subprogram.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

#include <llvm/IR/DIBuilder.h>
#include <llvm/IR/DebugLoc.h>

#include <map>
#include <string>
#include <vector>

namespace ptl::backend {

class DebugInfo {
public:
  /// Debug information for `m`, whose ops' locations index `files`.
  DebugInfo(llvm::Module &m, const std::vector<std::string> &files);

  /// Makes `fn` (the PTL function `name` declared at `loc`) the function
  /// later locations belong to.
  void beginFunction(llvm::Function &fn, const std::string &name, ir::Loc loc);
  /// The location of an op of the current function (empty if `loc` is
  /// unknown or no function has begun).
  llvm::DebugLoc at(ir::Loc loc);
  /// Ends the current function: later instructions get no location.
  void endFunction() { sp_ = nullptr; }

  /// The current function, to return to after lowering another one inside
  /// it (an outlined map body).
  struct Scope {
    llvm::DISubprogram *sp;
    int file;
  };
  Scope scope() const { return {sp_, spFile_}; }
  void restore(Scope s) {
    sp_ = s.sp;
    spFile_ = s.file;
  }

  /// Completes the metadata; call once, after the last function.
  void finalize() { dib_.finalize(); }

private:
  llvm::DIFile *file(int index);

  llvm::LLVMContext &ctx_;
  llvm::DIBuilder dib_;
  std::vector<std::string> paths_;
  std::vector<llvm::DIFile *> files_;
  llvm::DICompileUnit *unit_ = nullptr;
  llvm::DISubroutineType *fnType_ = nullptr;
  llvm::DISubprogram *sp_ = nullptr;
  int spFile_ = -1;
  std::map<std::pair<llvm::DISubprogram *, int>, llvm::DILexicalBlockFile *> blocks_;
};

} // namespace ptl::backend
