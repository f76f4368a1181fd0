//===- frontend/LargeStack.h - Running deep recursion on a large stack -------===//
//
// ANTLR's generated parser and the AST builder recurse once per nesting
// level, so a parse at the nesting limit needs far more stack than a
// thread's default (8 MB on Linux, less under sanitizers and on secondary
// threads). runWithLargeStack runs such work on a stack of kLargeStackBytes.
//
// The large stack belongs to a worker thread that each calling thread
// starts on first use and keeps until it exits (one per calling thread, so
// parses on different threads still run in parallel): starting a thread with
// a 256 MB stack for every parse cost more than most parses (under
// AddressSanitizer, mapping and clearing the stack's shadow on every thread
// exit was most of a small script's parse).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>
#include <functional>

namespace ptl {

/// The stack size of the worker that runWithLargeStack runs work on.
constexpr size_t kLargeStackBytes = size_t(256) << 20;

/// Runs `fn` to completion on a stack of kLargeStackBytes (only touched pages
/// are committed) and rethrows what it throws. The calling thread waits.
/// Runs `fn` directly when already on such a stack, or when no worker thread
/// can be started.
void runWithLargeStack(const std::function<void()> &fn);

} // namespace ptl
