//===- runtime/Errors.h - Run-time faults ------------------------------------===//
//
// A run-time fault (file error, failed check, out-of-range index) raised by
// the runtime or by executing code. It carries a message and, where known,
// the source position of the operation that failed; the driver or host turns
// it into a diagnostic. Never used for compiler bugs (those are
// InternalError, runtime/Check.h).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ptl/train_stop.hpp"

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace ptl {

/// A source position as the runtime knows it: file name, line, column (1-based).
struct RuntimeLoc {
  std::string file;
  int line = 0;
  int col = 0;
};

/// A fault during execution; `loc` is filled in by whoever knows the op.
class RuntimeFault : public std::runtime_error {
public:
  explicit RuntimeFault(const std::string &msg, RuntimeLoc loc = {})
      : std::runtime_error(msg), loc(std::move(loc)) {}
  RuntimeLoc loc;
  /// Set when a `train` loop diverged: the REPL and the C++ API keep the
  /// parameters; null for every other fault.
  std::shared_ptr<const TrainStop> trainStop;
};

} // namespace ptl
