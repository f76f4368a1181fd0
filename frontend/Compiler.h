//===- frontend/Compiler.h - One compilation: files, imports, IR ------------===//
//
// Loads a script and everything it imports (the standard library's
// `std/optim` is imported implicitly), parses each file once (a standard-
// library file once per process: frontend/ModuleCache.h), and elaborates
// them into an IR module. Owns the sources and the diagnostics engine.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/AST.h"
#include "frontend/Diagnostics.h"
#include "frontend/Elaborator.h"
#include "frontend/SourceManager.h"

#include <memory>
#include <string>
#include <vector>

namespace ptl {

/// The directory holding `std/*.ptl`: $PTL_STDLIB, else an installed tree's
/// share/ptl/stdlib, else the source tree's stdlib/.
std::string stdlibDir();

/// One compilation of a script.
class Compilation {
public:
  explicit Compilation(FILE *diagOut = stderr);

  /// Loads and parses `path` and its imports; false if any error was reported.
  bool loadFile(const std::string &path);
  /// Loads and parses source text given in memory (named `name`).
  bool loadSource(const std::string &name, const std::string &text);
  /// Parses `text` (named `name`) as if the main file imported it: its
  /// declarations are visible, its statements do not run; its own imports
  /// resolve against `dir`. Call after loading the main file.
  bool importSource(const std::string &name, const std::string &text, const std::string &dir);
  /// Every loaded file's AST: the main file first, then its imports.
  std::vector<const ast::Program *> programs() const {
    std::vector<const ast::Program *> out;
    for (const auto &p : programs_) out.push_back(p.get());
    return out;
  }
  /// The main file's AST (after a successful load).
  const ast::Program *mainProgram() const { return programs_.empty() ? nullptr : programs_[0].get(); }
  /// Checks types and shapes and builds the IR; null on error.
  std::unique_ptr<ir::Module> elaborate(const ElaborateOptions &opts);

  /// Runs the default IR pipeline over `m` (ir::defaultPipeline: what
  /// `ptlc run` uses), reporting the autodiff pass's gradient-flow warnings
  /// through the diagnostics engine. False on an internal error (`error`).
  bool runDefaultPipeline(ir::Module &m, std::string &error);
  /// The SourceLoc of an IR location (invalid if its file is not loaded).
  SourceLoc sourceLoc(const ir::Module &m, ir::Loc loc) const;

  SourceManager &sources() { return sm_; }
  DiagnosticEngine &diagnostics() { return diags_; }

private:
  bool loadImports(const ast::Program &p, const std::string &dir, bool implicitOptim);
  bool loadImport(const std::string &path, SourceLoc loc);

  SourceManager sm_;
  DiagnosticEngine diags_;
  /// Immutable once parsed; standard-library ones are shared (ModuleCache.h).
  std::vector<std::shared_ptr<const ast::Program>> programs_;
  std::vector<std::string> loadedPaths_;
};

} // namespace ptl
