//===- runtime/Check.h - Always-on internal invariants ----------------------===//
//
// The one channel for compiler and runtime bugs: an invariant that does not
// hold throws InternalError, in every build type (Release included; these are
// never `assert`s, which NDEBUG removes). Every layer may use it (runtime is
// the bottom layer and knows nothing of the compiler):
//
//   PTL_CHECK(cond, "what must hold")     if !cond: internal error
//   PTL_UNREACHABLE("why this cannot be") always an internal error
//
// The message is a std::string expression, built only when the check fails;
// name the op and its source location in it when they are known (the IR
// layer's ir::describeOp does that). The message reads
// "internal error: MESSAGE (at runtime/Tensor.cpp:137)".
//
// InternalError is not a RuntimeFault: code that turns a fault into a user
// diagnostic does not catch it. ptlc reports it as `ptlc: internal error:
// ...` with exit status 2 (tools/ptlc/main.cpp), the C++ API lets it
// propagate, and the test runners and fuzz harnesses count it as a failure.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <stdexcept>
#include <string>

namespace ptl {

/// A broken internal invariant: a bug in PTL, never a user error.
class InternalError : public std::logic_error {
public:
  explicit InternalError(const std::string &msg) : std::logic_error(msg) {}
};

/// Throws InternalError("internal error: MESSAGE (at FILE:LINE)"), FILE
/// relative to the source tree.
[[noreturn]] void internalError(const std::string &message, const char *file, int line);

} // namespace ptl

/// An invariant checked in every build: throws ptl::InternalError with
/// `message` (a string expression, evaluated only on failure) if `cond` is false.
#define PTL_CHECK(cond, message)                                                                    \
  do {                                                                                              \
    if (!(cond)) ::ptl::internalError((message), __FILE__, __LINE__);                               \
  } while (0)

/// Code that cannot be reached: throws ptl::InternalError with `message`.
#define PTL_UNREACHABLE(message) ::ptl::internalError((message), __FILE__, __LINE__)
