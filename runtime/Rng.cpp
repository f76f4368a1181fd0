//===- runtime/Rng.cpp - Philox-4x32-10 and the distributions built on it ---===//
//
// See Rng.h for the keying scheme and the conversions. All arithmetic past
// the Philox words is done in double so results are identical on every
// IEEE-754 machine with a correctly behaving libm (log, cos, sqrt).
//
//===----------------------------------------------------------------------===//
#include "runtime/Rng.h"

#include "runtime/Errors.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace ptl::rng {

namespace {
constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u; // Philox multipliers
constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u; // Weyl key increments
constexpr double kTwoPi = 6.283185307179586476925286766559;
} // namespace

// One round: (c0, c1, c2, c3) -> (hi(M1 c2) ^ c1 ^ k0, lo(M1 c2), hi(M0 c0) ^ c3 ^ k1, lo(M0 c0));
// the key is bumped by the Weyl constants between rounds.
std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> c, std::array<uint32_t, 2> k) {
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k[0] += kW0;
      k[1] += kW1;
    }
    uint64_t p0 = (uint64_t)kM0 * c[0];
    uint64_t p1 = (uint64_t)kM1 * c[2];
    c = {(uint32_t)(p1 >> 32) ^ c[1] ^ k[0], (uint32_t)p1, (uint32_t)(p0 >> 32) ^ c[3] ^ k[1],
         (uint32_t)p0};
  }
  return c;
}

uint64_t fnv1a64(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char ch : s) {
    h ^= ch;
    h *= 0x100000001b3ull;
  }
  return h;
}

std::array<uint32_t, 4> block(uint64_t seed, std::string_view key, uint64_t index) {
  uint64_t h = fnv1a64(key);
  return philox4x32_10({(uint32_t)index, (uint32_t)(index >> 32), (uint32_t)h, (uint32_t)(h >> 32)},
                       {(uint32_t)seed, (uint32_t)(seed >> 32)});
}

namespace {
/// 53 random bits from two words as a double in [0, 1).
double unit53(uint32_t a, uint32_t b) {
  return (double)(((uint64_t)a << 21) | (b >> 11)) * 0x1.0p-53;
}
/// Precomputes the hash once for a whole tensor.
struct Stream {
  uint64_t seed, hash;
  Stream(uint64_t seed, std::string_view key) : seed(seed), hash(fnv1a64(key)) {}
  std::array<uint32_t, 4> operator()(uint64_t i) const {
    return philox4x32_10({(uint32_t)i, (uint32_t)(i >> 32), (uint32_t)hash, (uint32_t)(hash >> 32)},
                         {(uint32_t)seed, (uint32_t)(seed >> 32)});
  }
  double uniform(uint64_t i) const {
    auto w = (*this)(i);
    return unit53(w[0], w[1]);
  }
  // Box–Muller: z = sqrt(-2 ln u1) cos(2 pi u2), u1 in (0, 1].
  double normal(uint64_t i) const {
    auto w = (*this)(i);
    double u1 = 1.0 - unit53(w[0], w[1]);
    double u2 = unit53(w[2], w[3]);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
  }
};

/// Stores v in t[i], keeping it strictly below `hi` after rounding to the dtype.
void storeBelow(Tensor &t, int64_t i, double v, double lo, double hi) {
  t.setDouble(i, v);
  if (hi > lo && t.getDouble(i) >= hi) {
    if (t.dtype() == DType::F32) {
      float below = std::nextafter((float)hi, -INFINITY);
      while ((double)below >= hi) below = std::nextafter(below, -INFINITY);
      t.data<float>()[i] = below;
    } else
      t.setDouble(i, std::nextafter(hi, -INFINITY));
  }
}
} // namespace

double uniform01(uint64_t seed, std::string_view key, uint64_t index) {
  return Stream(seed, key).uniform(index);
}

double standardNormal(uint64_t seed, std::string_view key, uint64_t index) {
  return Stream(seed, key).normal(index);
}

// x_i = lo + (hi - lo) * u_i
void fillUniform(Tensor &t, uint64_t seed, std::string_view key, double lo, double hi) {
  Stream s(seed, key);
  for (int64_t i = 0, n = t.numel(); i < n; ++i)
    storeBelow(t, i, lo + (hi - lo) * s.uniform((uint64_t)i), lo, hi);
}

namespace {
/// The Philox key of a seed: its low and high words (sign-extended i32 seeds).
std::array<uint32_t, 2> keyOf(uint64_t seed) { return {(uint32_t)seed, (uint32_t)(seed >> 32)}; }
constexpr uint32_t kFold = 0x666F6C64u, kIn = 0x5F696E00u, kPerm = 0x7065726Du;
constexpr int kFeistelRounds = 8;
} // namespace

// fold_in(s, d) = int32(w0), w = Philox((uint32 d, 0, "fold", "_in"), s)
int32_t foldIn(int32_t key, int32_t data) {
  auto w = philox4x32_10({(uint32_t)data, 0u, kFold, kIn}, keyOf((uint64_t)(int64_t)key));
  return (int32_t)w[0];
}

// x = i; repeat x = Feistel(x) while x >= n; Feistel: 8 rounds of
// (L, R) -> (R, L xor F_r(R)) on h-bit halves, F_r(R) = w0 & (2^h - 1),
// w = Philox((R, r, n, "perm"), seed).
int64_t permuteIndex(uint64_t seed, int64_t n, int64_t i) {
  if (n <= 1) return 0;
  int bits = 0;
  while (bits < 62 && (int64_t(1) << bits) < n) ++bits; // ceil(log2 n)
  int h = std::max(1, (bits + 1) / 2);
  uint64_t mask = (uint64_t(1) << h) - 1;
  auto key = keyOf(seed);
  uint64_t x = (uint64_t)i;
  do {
    uint64_t L = x >> h, R = x & mask;
    for (int r = 0; r < kFeistelRounds; ++r) {
      auto w = philox4x32_10({(uint32_t)R, (uint32_t)r, (uint32_t)n, kPerm}, key);
      uint64_t next = L ^ (w[0] & mask);
      L = R;
      R = next;
    }
    x = (L << h) | R;
  } while (x >= (uint64_t)n);
  return (int64_t)x;
}

// t[j] = P(offset + j)
void fillPermutation(Tensor &t, uint64_t seed, int64_t n, int64_t offset) {
  int64_t m = t.numel();
  if (offset < 0 || offset > n - m)
    throw RuntimeFault("permutation: the window [" + std::to_string(offset) + ", " +
                       std::to_string(offset + m) + ") is outside [0, " + std::to_string(n) + ")");
  for (int64_t j = 0; j < m; ++j) t.setDouble(j, (double)permuteIndex(seed, n, offset + j));
}

// x_i = mean + std * z_i
void fillNormal(Tensor &t, uint64_t seed, std::string_view key, double mean, double std) {
  Stream s(seed, key);
  for (int64_t i = 0, n = t.numel(); i < n; ++i)
    t.setDouble(i, mean + std * s.normal((uint64_t)i));
}

// x_i = lo + (w0 << 32 | w1) mod (hi - lo)
void fillRandint(Tensor &t, uint64_t seed, std::string_view key, int64_t lo, int64_t hi) {
  if (hi <= lo)
    throw RuntimeFault("randint: empty range [" + std::to_string(lo) + ", " + std::to_string(hi) +
                       ")");
  Stream s(seed, key);
  uint64_t range = (uint64_t)(hi - lo);
  for (int64_t i = 0, n = t.numel(); i < n; ++i) {
    auto w = s((uint64_t)i);
    uint64_t r = (((uint64_t)w[0] << 32) | w[1]) % range;
    t.setDouble(i, (double)(lo + (int64_t)r));
  }
}

// b = gain * sqrt(6 / (fan_in + fan_out)); x ~ U(-b, b)
void fillGlorot(Tensor &t, uint64_t seed, std::string_view key, double gain) {
  const Shape &s = t.shape();
  double fanIn = 1, fanOut = 1;
  if (s.size() == 1) {
    fanIn = fanOut = (double)s[0];
  } else if (s.size() >= 2) {
    double receptive = 1;
    for (size_t a = 2; a < s.size(); ++a)
      receptive *= (double)s[a];
    fanIn = (double)s[1] * receptive;
    fanOut = (double)s[0] * receptive;
  }
  double denom = fanIn + fanOut;
  double bound = denom > 0 ? gain * std::sqrt(6.0 / denom) : 0.0;
  fillUniform(t, seed, key, -bound, bound);
}

// A ~ N(0, 1)^[rows, cols]; (Q, R) = qr(A or A^T) with diag(R) > 0; x = gain * Q (or Q^T).
void fillOrthogonal(Tensor &t, uint64_t seed, std::string_view key, double gain) {
  if (t.rank() < 2)
    throw RuntimeFault("orthogonal initialisation needs a tensor of rank >= 2, got " +
                       typeString(t.dtype(), t.shape()));
  int64_t rows = t.shape()[0];
  int64_t cols = rows > 0 ? t.numel() / rows : 0;
  if (rows == 0 || cols == 0) return;
  Stream s(seed, key);
  bool transposed = rows < cols;
  int64_t m = transposed ? cols : rows; // m >= n
  int64_t n = transposed ? rows : cols;
  // B is m x n, column-major: column j is B[j*m .. j*m+m).
  std::vector<double> B((size_t)(m * n));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      double z = s.normal((uint64_t)(r * cols + c));
      if (transposed) B[(size_t)(r * m + c)] = z; // B = A^T: B[c][r], column r
      else B[(size_t)(c * m + r)] = z;            // B = A:   column c, row r
    }
  // Modified Gram–Schmidt, applied twice per column for stability; the
  // resulting R has a positive diagonal, which is exactly the sign
  // correction Q * sign(diag(R)) of PyTorch's orthogonal_.
  for (int64_t j = 0; j < n; ++j) {
    double *v = &B[(size_t)(j * m)];
    for (int pass = 0; pass < 2; ++pass)
      for (int64_t i = 0; i < j; ++i) {
        const double *q = &B[(size_t)(i * m)];
        double dot = 0;
        for (int64_t k = 0; k < m; ++k) dot += q[k] * v[k];
        for (int64_t k = 0; k < m; ++k) v[k] -= dot * q[k];
      }
    double norm = 0;
    for (int64_t k = 0; k < m; ++k) norm += v[k] * v[k];
    norm = std::sqrt(norm);
    for (int64_t k = 0; k < m; ++k) v[k] = norm > 0 ? v[k] / norm : 0.0;
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      double q = transposed ? B[(size_t)(r * m + c)] : B[(size_t)(c * m + r)];
      t.setDouble(r * cols + c, gain * q);
    }
}

} // namespace ptl::rng
