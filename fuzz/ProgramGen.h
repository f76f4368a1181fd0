//===- fuzz/ProgramGen.h - Random well-typed PTL programs -------------------===//
//
// Turns a byte string into a PTL program that (mostly) type- and
// shape-checks: a model with parameters and a method, a few functions, and
// top-level lets, vars, for loops, maps, ifs, grads, value_and_grads,
// `train` statements and prints. Every choice reads from the bytes; when
// they run out every choice takes its simplest option, so any input yields
// a finite program. Sizes are small (dimensions 1 to 4, loops of at most 4
// steps), so most programs run in microseconds; about one program in eight
// has a larger dimension (7, 17, 33 or 40), to reach the long paths of the
// kernels and of native code (lane sums, BLAS matmuls, vector loops).
//
// Expressions are generated for a wanted shape: a scalar f32, a vector
// f32[A] or a square matrix f32[A, A], with A fixed per program, so that
// elementwise ops, matmul, transposes, indexing, reductions and broadcasts
// all fit by construction.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ptl::fuzz {

/// The program the bytes describe.
std::string generateProgram(const uint8_t *data, size_t size);

/// Where the annotations of the generated sub-model parameters are written
/// (generateProgram with a placement). All placements of one input mean the
/// same program, so they must behave identically, bit for bit.
enum class AnnotationPlacement {
  OnParam,      ///< `param s: f32 = 0.5 constrain > 0` in the sub-model Sub
  OwnStatement, ///< `constrain s > 0` as a statement in Sub's body
  SubPath,      ///< `constrain sub.s > 0` in Mid, which holds `sub: Sub`
  NestedPath,   ///< `constrain mid.sub.s > 0` in the model, which holds `mid: Mid`
};

/// The program the bytes describe, with its model holding a two-level
/// sub-model (Mdl { mid: Mid { sub: Sub } }) whose parameters carry random
/// annotations (constraints of every kind, check, project, reparam,
/// stop_grad), written where `placement` says. The rest of the program is
/// generated as by generateProgram, its expressions reading the sub-model's
/// parameters directly and through the sub-models' methods.
std::string generateProgram(const uint8_t *data, size_t size, AnnotationPlacement placement);

} // namespace ptl::fuzz
