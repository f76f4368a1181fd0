//===- ir/PassManager.h - Running passes over a module ----------*- C++ -*-===//
//
// A pass transforms a module in place. The pass manager runs passes in
// order, verifies the IR after each one (a failure is an internal error that
// carries the printed IR) and can print the IR after every pass (the
// driver's --print-ir-after-all).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace ptl::ir {

/// A transformation of a whole module.
class Pass {
public:
  virtual ~Pass() = default;
  /// A short name ("dce", "cse") used in IR dumps and error messages.
  virtual const char *name() const = 0;
  /// Runs on `m`; returns false and sets `error` on failure.
  virtual bool run(Module &m, std::string &error) = 0;
};

/// Runs passes in order, verifying after each.
class PassManager {
public:
  /// Appends a pass to the pipeline.
  void add(std::unique_ptr<Pass> p) { passes_.push_back(std::move(p)); }
  /// Prints the module to `os` after every pass (null: off). Each dump starts
  /// with a line "// ----- IR after <name> -----".
  void setPrintAfterAll(std::ostream *os) { printAfterAll_ = os; }
  /// Whether to verify the input and the IR after each pass (default on).
  void setVerifyEach(bool v) { verifyEach_ = v; }
  /// The pass names in pipeline order.
  std::vector<std::string> passNames() const;

  /// Runs the pipeline. If a pass fails, returns false with `error` the
  /// failing pass's message ("<pass>: ..."). IR that fails verification
  /// (before the first pass or after any) is a compiler bug: it throws
  /// InternalError ("internal error: IR verification failed after <pass>:
  /// ..." followed by the printed module; runtime/Check.h).
  bool run(Module &m, std::string &error);

private:
  std::vector<std::unique_ptr<Pass>> passes_;
  std::ostream *printAfterAll_ = nullptr;
  bool verifyEach_ = true;
};

} // namespace ptl::ir
