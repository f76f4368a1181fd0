//===- frontend/RandomBuiltins.h - Keys, permutations and minibatches -------===//
//
// The elaboration rules of the random built-ins that go beyond a plain draw
// (frontend/Builtins.cpp registers them in its table):
//   fold_in(key, data)                 -> i32, a new seed (jax.random.fold_in)
//   permutation(n, key)                -> i32[n], a keyed permutation of [0, n)
//   minibatch(arrays, batch, step, seed = 0)
//                                      -> the epoch-shuffled batch of `step`
//   rand_like(x, seed), randn_like(x, seed)
//                                      -> x's type, uniform [0, 1) / normal
// The values are defined in runtime/Rng.h (Philox-4x32-10 and a Feistel
// bijection); docs/language.md ("Random numbers") states the rules.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/Elaborator.h"

namespace ptl::sema {

/// fold_in(key, data): both i32 scalars.
SValue elabFoldIn(Elaborator &E, const ast::Expr &key, const ast::Expr &data, SourceLoc loc);

/// permutation(n, key): n a compile-time integer in [0, 2^31), key an i32 scalar.
SValue elabPermutation(Elaborator &E, const ast::Expr &n, const ast::Expr &key, SourceLoc loc);

/// minibatch(arrays, batch, step, seed): `arrays` one tensor or a tuple of
/// tensors sharing their first axis n; batch a compile-time integer in
/// [1, n]; step and seed i32 scalars (seed null: 0). Step s (1-based) is
/// batch b = (s - 1) mod (n / batch) of epoch e = floor((s - 1) / (n /
/// batch)): rows P(b * batch), ..., P(b * batch + batch - 1) of the
/// permutation P = permutation(n, fold_in(seed, e)); the n mod batch rows
/// left over in an epoch are dropped.
SValue elabMinibatch(Elaborator &E, const ast::Expr &arrays, const ast::Expr &batch, const ast::Expr &step,
                     const ast::Expr *seed, SourceLoc loc);

/// rand_like(x, seed) (dist "uniform") or randn_like(x, seed) (dist
/// "normal"): x a float tensor; the draw has x's type.
SValue elabRandomLike(Elaborator &E, const char *name, const char *dist, const ast::Expr &x,
                      const ast::Expr &seed, SourceLoc loc);

} // namespace ptl::sema
