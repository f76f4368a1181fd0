//===- ir/autodiff/Checkpoint.h - Checkpointed loops --------------------------===//
//
// `@checkpoint(every = k)` on a loop of n iterations strip-mines it before
// differentiation: an outer loop over n / k segments, each running k
// iterations in an inner loop, then the n % k remaining iterations. The
// reverse sweep keeps a tape only of the outer loop's carried values (one
// state per segment) and, going backwards, recomputes each segment's inner
// loop, whose own tape holds k states: O(n / k + k) saved states instead of
// O(n), for one extra forward pass. Results are bit-identical to the plain
// loop: every iteration runs the same ops in the same order, and the reverse
// sweep passes the running adjoints of the values read from outside into
// each segment (Differentiator::reverseFor), so they are summed in the plain
// loop's order too.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

#include <string>

namespace ptl::ir::autodiff {

/// Rewrites every `for` with a `checkpoint` attribute as described above.
bool stripMineCheckpointedLoops(Module &m, std::string &error);

} // namespace ptl::ir::autodiff
