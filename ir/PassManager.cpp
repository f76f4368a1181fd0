//===- ir/PassManager.cpp - Running passes over a module -------------------===//
#include "ir/PassManager.h"

#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "runtime/Check.h"

namespace ptl::ir {

std::vector<std::string> PassManager::passNames() const {
  std::vector<std::string> out;
  for (const auto &p : passes_)
    out.push_back(p->name());
  return out;
}

bool PassManager::run(Module &m, std::string &error) {
  std::string verr;
  if (verifyEach_ && !verifyModule(m, verr)) {
    throw InternalError("internal error: IR verification failed before the first pass: " + verr +
                        "\n--- IR ---\n" + toString(m));
  }
  for (const auto &p : passes_) {
    std::string perr;
    if (!p->run(m, perr)) {
      error = std::string(p->name()) + ": " + perr;
      return false;
    }
    if (printAfterAll_) {
      *printAfterAll_ << "// ----- IR after " << p->name() << " -----\n";
      printModule(m, *printAfterAll_);
      printAfterAll_->flush();
    }
    if (verifyEach_ && !verifyModule(m, verr)) {
      throw InternalError(std::string("internal error: IR verification failed after ") + p->name() + ": " + verr +
                          "\n--- IR ---\n" + toString(m));
    }
  }
  return true;
}

} // namespace ptl::ir
