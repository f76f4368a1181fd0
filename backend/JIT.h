//===- backend/JIT.h - A small wrapper over LLVM's ORC LLJIT ------------------===//
//
// One JIT per process (JIT::shared), or one per owner (JIT::create):
// optimise and compile LLVM modules to object code (several at once, on
// threads of the caller's), add the objects under one resource tracker (so
// they can be removed again), look a symbol up, and make host functions
// visible to JIT-compiled code explicitly (absolute symbols in the main
// JITDylib). Modules are optimised with the new pass manager's default
// per-module pipeline (backend/Optimizer.h). $PTL_JIT_FEATURES (e.g.
// "-avx512f,-avx2") adds target features to the host's, for testing code
// without an extension the host has (only ever remove features: code using
// one the CPU lacks faults). No LLVM type appears here beyond forward declarations; errors
// come back as strings, never as exceptions thrown through LLVM.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace llvm {
class LLVMContext;
class Module;
} // namespace llvm

namespace ptl::backend {

/// A host function or object made visible to JIT-compiled code.
struct HostSymbol {
  std::string name; ///< unmangled name, as generated code refers to it
  void *address;
};

class JIT {
public:
  /// Identifies a module added to the JIT (its resource tracker).
  using ModuleKey = uint64_t;

  /// Creates a JIT for the host (initialising the native target once).
  /// Null with `error` on failure.
  static std::unique_ptr<JIT> create(std::string &error);
  /// The process-wide JIT, created on first use; null with `error` on failure.
  static JIT *shared(std::string &error);
  ~JIT();
  JIT(const JIT &) = delete;
  JIT &operator=(const JIT &) = delete;

  /// Defines host symbols in the main JITDylib. Names already defined are
  /// an error.
  bool defineSymbols(const std::vector<HostSymbol> &symbols, std::string &error);

  /// Sets `m`'s target triple and data layout to the JIT's.
  void configureModule(llvm::Module &m) const;
  /// Runs the default per-module pipeline at `optLevel` (0..3) over `m`.
  void optimize(llvm::Module &m, int optLevel) const;

  /// Compiles `m` to the host's assembly text (as the JIT would compile it).
  bool emitAssembly(llvm::Module &m, std::string &out, std::string &error) const;

  /// Optimises `m` at `optLevel` and compiles it to an object file for the
  /// host (into `object`). Thread-safe: each call uses a target machine of
  /// its own, so modules in different LLVM contexts compile at once.
  bool compileObject(llvm::Module &m, int optLevel, std::string &object, std::string &error) const;
  /// Adds object files (from compileObject) under one fresh resource
  /// tracker. Returns false with `error` on failure.
  bool addObjects(const std::vector<std::string> &objects, ModuleKey &key, std::string &error);
  /// Removes the code added under `key` and frees it.
  bool removeModule(ModuleKey key, std::string &error);
  /// The address of `name` (compiling it if need be), or null with `error`.
  void *lookup(const std::string &name, std::string &error);

  /// The host CPU the code is compiled for ("znver5").
  std::string cpuName() const;
  /// Everything about the target that changes the code compiled for it:
  /// triple, CPU, feature string, code model, relocation model and
  /// code-generation level, as one line (a part of the code cache's key).
  std::string targetDescription() const;

private:
  struct Impl;
  explicit JIT(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

} // namespace ptl::backend
