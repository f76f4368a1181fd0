//===- runtime/Rng.h - Counter-based random numbers (Philox-4x32-10) --------===//
//
// Every random value PTL produces is a pure function of (seed, key, shape,
// element index): the Philox-4x32-10 block cipher of Salmon et al. (SC'11,
// Random123) is applied to the counter
//     (index lo, index hi, hash lo, hash hi)
// under the key (seed lo, seed hi), where hash = FNV-1a-64(key string). So a
// parameter's initial values depend only on the seed, its path and its
// shape — not on order of draws, other parameters or threads.
//
// Conversions (all done in double, then rounded to the tensor's dtype):
//   uniform u in [0, 1)   = (w0 * 2^21 + (w1 >> 11)) * 2^-53   (53 bits)
//   normal  z             = sqrt(-2 ln u1) cos(2 pi u2), u1 in (0, 1] from
//                           (w0, w1), u2 in [0, 1) from (w2, w3) (Box–Muller)
//   randint in [lo, hi)   = lo + ((w0 << 32 | w1) mod (hi - lo))
//
// Keys and permutations (the i32 seeds of PTL's random built-ins; a seed s
// is the Philox key (uint32 s, s < 0 ? 0xFFFFFFFF : 0), i.e. s sign-extended
// to 64 bits, as everywhere above):
//   fold_in(s, d)         = int32(w0) of Philox(ctr = (uint32 d, 0, "fold",
//                           "_in"), key = s), "fold" = 0x666F6C64,
//                           "_in" = 0x5F696E00 (a new seed per (s, d), as
//                           jax.random.fold_in)
//   permutation P_{s,n}   = a keyed pseudo-random bijection of [0, n): a
//                           balanced Feistel network on 2h bits (h =
//                           max(1, ceil(ceil(log2 n) / 2))) with cycle
//                           walking into [0, n). One round maps (L, R) to
//                           (R, L xor F_r(R)), F_r(R) = w0 & (2^h - 1) of
//                           Philox(ctr = (R, r, n, "perm" = 0x7065726D),
//                           key = s), r = 0..7 (8 rounds); x = (L << h) | R.
//                           Cycle walking applies the network again while
//                           the result is >= n (fewer than 4 times on
//                           average, since 2^2h < 4n). Each element costs
//                           O(1) (no table, no state), so any window
//                           P(o), ..., P(o + m - 1) costs O(m).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tensor.h"

#include <array>
#include <cstdint>
#include <string_view>

namespace ptl::rng {

/// One Philox-4x32-10 block: 10 rounds over `ctr` under `key`.
std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> ctr, std::array<uint32_t, 2> key);

/// FNV-1a, 64-bit (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
uint64_t fnv1a64(std::string_view s);

/// The four random words for element `index` of the stream (seed, key).
std::array<uint32_t, 4> block(uint64_t seed, std::string_view key, uint64_t index);

/// Element `index` of the uniform [0, 1) stream (seed, key), 53 bits.
double uniform01(uint64_t seed, std::string_view key, uint64_t index);
/// Element `index` of the standard normal stream (seed, key).
double standardNormal(uint64_t seed, std::string_view key, uint64_t index);

/// fold_in(key, data): a new seed derived from (key, data) (see above).
int32_t foldIn(int32_t key, int32_t data);
/// P_{seed,n}(i): element i of the keyed permutation of [0, n) (see above);
/// requires 0 <= i < n.
int64_t permuteIndex(uint64_t seed, int64_t n, int64_t i);
/// t[j] = P_{seed,n}(offset + j) for j in [0, numel(t)); throws RuntimeFault
/// when the window [offset, offset + numel(t)) is not inside [0, n).
void fillPermutation(Tensor &t, uint64_t seed, int64_t n, int64_t offset);

/// Fills `t` with uniform values in [lo, hi) (never hi after rounding).
void fillUniform(Tensor &t, uint64_t seed, std::string_view key, double lo, double hi);
/// Fills `t` with normal values of mean `mean` and standard deviation `std`.
void fillNormal(Tensor &t, uint64_t seed, std::string_view key, double mean, double std);
/// Fills `t` with integers in [lo, hi); requires lo < hi.
void fillRandint(Tensor &t, uint64_t seed, std::string_view key, int64_t lo, int64_t hi);
/// Glorot/Xavier uniform: U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out)),
/// fan_in = shape[1] * receptive, fan_out = shape[0] * receptive for rank
/// >= 2 (receptive = product of shape[2:]); rank 1: fan_in = fan_out = n;
/// rank 0: both 1.
void fillGlorot(Tensor &t, uint64_t seed, std::string_view key, double gain);
/// PyTorch's orthogonal_: Q of the QR factorisation of a normal
/// [rows, numel/rows] matrix (transposed first if rows < cols), columns
/// sign-corrected so R has a positive diagonal, times `gain`. Rank >= 2;
/// throws RuntimeFault otherwise.
void fillOrthogonal(Tensor &t, uint64_t seed, std::string_view key, double gain);

} // namespace ptl::rng
