//===- ir/interp/Kernels.cpp - The interpreter's kernels ---------------------===//
//
// One function per op of Ops.def, each with its formula above it. Kernels
// trust the verifier for dtypes and static shapes and take result types from
// the op; data-dependent conditions (indices, integer division by zero, file
// contents) are checked here and raise RuntimeFault.
//
//===----------------------------------------------------------------------===//
#include "ir/interp/Kernels.h"

#include "ir/interp/Interpreter.h"
#include "ir/interp/Progress.h"
#include "ir/interp/TrainReport.h"
#include "ir/ScalarArith.h"
#include "runtime/Constraints.h"
#include "runtime/Errors.h"
#include "runtime/Formats.h"
#include "runtime/Gemm.h"
#include "runtime/Math.h"
#include "runtime/Rng.h"
#include "runtime/Sandbox.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <ostream>

namespace ptl::ir::kernels {

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

[[noreturn]] void fault(const std::string &msg) { throw RuntimeFault(msg); }

[[noreturn]] void unsupported(const Op &op, DType t) {
  fault(std::string(op.name()) + ": unsupported element type " + dtypeName(t));
}

const Type &resultType(const KernelArgs &k, unsigned i = 0) { return k.op.result(i)->type(); }

Tensor newResult(const KernelArgs &k, unsigned i = 0) {
  const Type &t = resultType(k, i);
  return Tensor::zeros(t.dtype, t.shape);
}

/// Calls f(T{}) with T the C++ type of dtype t (bool is uint8_t).
template <class F> decltype(auto) withType(DType t, F &&f) {
  switch (t) {
  case DType::F32: return f(float{});
  case DType::F64: return f(double{});
  case DType::I32: return f(int32_t{});
  case DType::Bool: break;
  }
  return f(uint8_t{});
}
/// As withType for float types only; other dtypes are unsupported.
template <class F> decltype(auto) withFloat(const Op &op, DType t, F &&f) {
  if (t == DType::F32) return f(float{});
  if (t != DType::F64) unsupported(op, t);
  return f(double{});
}

/// Row-major strides of a shape.
std::vector<int64_t> stridesOf(const Shape &s) {
  std::vector<int64_t> st(s.size(), 1);
  for (int64_t a = (int64_t)s.size() - 2; a >= 0; --a)
    st[a] = st[a + 1] * s[a + 1];
  return st;
}

int64_t prod(const Shape &s, size_t from, size_t to) {
  int64_t n = 1;
  for (size_t i = from; i < to; ++i) n *= s[i];
  return n;
}

/// For each element of `out` (row-major), the flat index into a tensor whose
/// element at multi-index o is at base + sum_k o_k * strides[k].
std::vector<int64_t> gatherIndex(const Shape &out, const std::vector<int64_t> &strides, int64_t base = 0) {
  int64_t n = numElements(out);
  std::vector<int64_t> idx((size_t)n);
  std::vector<int64_t> o(out.size(), 0);
  int64_t off = base;
  for (int64_t i = 0; i < n; ++i) {
    idx[(size_t)i] = off;
    for (int64_t a = (int64_t)out.size() - 1; a >= 0; --a) {
      if (++o[a] < out[a]) {
        off += strides[a];
        break;
      }
      off -= strides[a] * (out[a] - 1);
      o[a] = 0;
    }
  }
  return idx;
}

/// NumPy broadcasting: index into `in` for each element of `out`.
std::vector<int64_t> broadcastIndex(const Shape &in, const Shape &out) {
  std::vector<int64_t> inStrides = stridesOf(in), st(out.size(), 0);
  size_t lead = out.size() - in.size();
  for (size_t a = 0; a < in.size(); ++a)
    st[lead + a] = in[a] == 1 ? 0 : inStrides[a];
  return gatherIndex(out, st);
}

/// NumPy broadcast of two shapes (assumed compatible).
Shape broadcastPair(const Shape &a, const Shape &b) {
  size_t n = std::max(a.size(), b.size());
  Shape r(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    r[i] = da == 1 ? db : da;
  }
  return r;
}

/// Copies elements: out[i] = x[idx[i]] (any dtype).
Tensor gather(const Tensor &x, const Type &t, const std::vector<int64_t> &idx) {
  Tensor out = Tensor::zeros(t.dtype, t.shape);
  size_t es = dtypeSize(x.dtype());
  const char *src = static_cast<const char *>(x.raw());
  char *dst = static_cast<char *>(out.raw());
  for (size_t i = 0; i < idx.size(); ++i)
    std::memcpy(dst + i * es, src + idx[i] * es, es);
  return out;
}

/// memcpy that accepts null pointers when there is nothing to copy.
void copyBytes(void *dst, const void *src, size_t n) {
  if (n) std::memcpy(dst, src, n);
}

int64_t normAxis(int64_t axis, int64_t rank) { return axis < 0 ? axis + rank : axis; }

/// Converts between element types: float -> i32 truncates toward zero
/// (saturating, NaN -> 0); anything -> bool is x != 0.
template <class To, class From> To convertValue(From x) {
  if constexpr (std::is_same_v<To, uint8_t>) {
    return x != From(0) ? 1 : 0;
  } else if constexpr (std::is_same_v<To, int32_t> && std::is_floating_point_v<From>) {
    return arith::floatToI32((double)x);
  } else {
    return (To)x;
  }
}

/// Elementwise unary op over any dtype the lambda accepts.
template <class F> std::vector<Tensor> unary(const KernelArgs &k, F f) {
  const Tensor &x = k.in[0];
  Tensor out = newResult(k);
  withType(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *p = x.data<T>();
    T *q = out.data<T>();
    for (int64_t i = 0, n = x.numel(); i < n; ++i) q[i] = (T)f(p[i]);
  });
  return {out};
}

/// Elementwise unary op on f32/f64 only (float math for f32).
template <class F> std::vector<Tensor> floatUnary(const KernelArgs &k, F f) {
  const Tensor &x = k.in[0];
  Tensor out = newResult(k);
  withFloat(k.op, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *p = x.data<T>();
    T *q = out.data<T>();
    for (int64_t i = 0, n = x.numel(); i < n; ++i) q[i] = (T)f(p[i]);
  });
  return {out};
}

/// Elementwise binary op with NumPy broadcasting; f(a, b) -> R where R is the
/// result element type (operand type, or bool for comparisons).
template <class F> std::vector<Tensor> binary(const KernelArgs &k, F f) {
  const Tensor &a = k.in[0], &b = k.in[1];
  Tensor out = newResult(k);
  const Shape &s = out.shape();
  bool same = a.shape() == s && b.shape() == s;
  std::vector<int64_t> ia, ib;
  if (!same) {
    ia = broadcastIndex(a.shape(), s);
    ib = broadcastIndex(b.shape(), s);
  }
  withType(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *pa = a.data<T>();
    const T *pb = b.data<T>();
    withType(out.dtype(), [&](auto rtag) {
      using R = decltype(rtag);
      R *q = out.data<R>();
      for (int64_t i = 0, n = out.numel(); i < n; ++i)
        q[i] = (R)f(pa[same ? i : ia[(size_t)i]], pb[same ? i : ib[(size_t)i]]);
    });
  });
  return {out};
}

/// a + b in the element type (i32 wraps, like add).
template <class T> T addWrap(T a, T b) {
  if constexpr (std::is_same_v<T, int32_t>) return arith::addI32(a, b);
  else return (T)(a + b);
}

template <class T> bool isNan(T x) {
  if constexpr (std::is_floating_point_v<T>) return std::isnan(x);
  else return false;
}

/// Maps each input element to its output element for a reduction over `axes`.
std::vector<int64_t> reduceIndex(const Shape &in, const std::vector<int64_t> &axes, int64_t &count) {
  std::vector<bool> reduced(in.size(), axes.empty());
  for (int64_t a : axes) reduced[(size_t)normAxis(a, (int64_t)in.size())] = true;
  Shape outShape;
  for (size_t a = 0; a < in.size(); ++a)
    outShape.push_back(reduced[a] ? 1 : in[a]);
  count = 1;
  for (size_t a = 0; a < in.size(); ++a)
    if (reduced[a]) count *= in[a];
  std::vector<int64_t> outStrides = stridesOf(outShape), st(in.size());
  for (size_t a = 0; a < in.size(); ++a) st[a] = reduced[a] ? 0 : outStrides[a];
  return gatherIndex(in, st);
}

} // namespace

bool reducesTrailingAxes(const Shape &shape, const std::vector<int64_t> &axes) {
  if (axes.empty()) return true;
  std::vector<bool> reduced(shape.size(), false);
  for (int64_t a : axes) reduced[(size_t)normAxis(a, (int64_t)shape.size())] = true;
  size_t first = shape.size();
  while (first > 0 && reduced[first - 1]) --first;
  for (size_t a = 0; a < first; ++a)
    if (reduced[a]) return false;
  return true;
}

namespace {

enum class Reduce { Sum, Mean, Max, Min, LogSumExp };

template <class T> T maxNan(T a, T b) { return isNan(a) ? a : isNan(b) ? b : (b > a ? b : a); }
template <class T> T minNan(T a, T b) { return isNan(a) ? a : isNan(b) ? b : (b < a ? b : a); }

std::vector<Tensor> reduce(const KernelArgs &k, Reduce kind) {
  const Tensor &x = k.in[0];
  Tensor out = newResult(k);
  int64_t count = 0;
  std::vector<int64_t> oi = reduceIndex(x.shape(), k.op.intsAttr("axes"), count);
  if (count == 0 && (kind == Reduce::Max || kind == Reduce::Min))
    fault(std::string(k.op.name()) + " of an empty tensor " + typeString(x.dtype(), x.shape()));
  withType(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *p = x.data<T>();
    T *q = out.data<T>();
    int64_t n = x.numel(), m = out.numel();
    std::vector<bool> seen;
    switch (kind) {
    case Reduce::Sum:
    case Reduce::Mean:
      if (std::is_floating_point_v<T> && count >= kLaneSumMin && reducesTrailingAxes(x.shape(), k.op.intsAttr("axes")))
        for (int64_t j = 0; j < m; ++j) q[j] = laneSum(p + j * count, count);
      else
        for (int64_t i = 0; i < n; ++i) q[oi[i]] = (T)(q[oi[i]] + p[i]);
      if (kind == Reduce::Mean)
        for (int64_t j = 0; j < m; ++j) q[j] = count ? (T)(q[j] / (T)count) : (T)NAN;
      break;
    case Reduce::Max:
    case Reduce::Min:
      seen.assign((size_t)m, false);
      for (int64_t i = 0; i < n; ++i) {
        T &r = q[oi[i]];
        if (!seen[oi[i]]) { r = p[i]; seen[oi[i]] = true; }
        else r = kind == Reduce::Max ? maxNan(r, p[i]) : minNan(r, p[i]);
      }
      break;
    case Reduce::LogSumExp:
      if constexpr (std::is_floating_point_v<T>) {
        // m = max(x); lse = m + log(sum(exp(x - m))) (= m when m is infinite)
        std::vector<T> mx((size_t)m, -std::numeric_limits<T>::infinity());
        for (int64_t i = 0; i < n; ++i) mx[oi[i]] = maxNan(mx[oi[i]], p[i]);
        for (int64_t i = 0; i < n; ++i)
          if (std::isfinite(mx[oi[i]])) q[oi[i]] += math::exp(p[i] - mx[oi[i]]);
        for (int64_t j = 0; j < m; ++j)
          q[j] = std::isfinite(mx[j]) ? mx[j] + math::log(q[j]) : mx[j];
      } else {
        unsupported(k.op, x.dtype());
      }
      break;
    }
  });
  return {out};
}

/// Splits a shape around `axis`: outer * n * inner elements.
void splitAxis(const Shape &s, int64_t axis, int64_t &outer, int64_t &n, int64_t &inner) {
  outer = prod(s, 0, (size_t)axis);
  n = s[(size_t)axis];
  inner = prod(s, (size_t)axis + 1, s.size());
}

std::string indexError(int64_t i, int64_t axis, int64_t size) {
  return "index " + std::to_string(i) + " out of range for axis " + std::to_string(axis) +
         " of size " + std::to_string(size);
}

/// Checks that a loaded tensor has the type the op declares.
void checkLoaded(const std::string &path, const std::string &what, const Type &want, DType dt,
                 const Shape &shape) {
  if (want.dtype != dt || want.shape != shape)
    fault(path + ": " + what + "expected " + want.str() + ", file has " + typeString(dt, shape));
}

} // namespace

//===----------------------------------------------------------------------===//
// Elementwise unary
//===----------------------------------------------------------------------===//

// neg: y = -x
std::vector<Tensor> runNeg(const KernelArgs &k) {
  return unary(k, [](auto x) {
    if constexpr (std::is_same_v<decltype(x), int32_t>) return arith::negI32(x);
    else return -x;
  });
}
// not: y = !x
std::vector<Tensor> runNot(const KernelArgs &k) {
  return unary(k, [](auto x) { return x ? 0 : 1; });
}
// exp: y = e^x
std::vector<Tensor> runExp(const KernelArgs &k) {
  return floatUnary(k, [](auto x) { return math::exp(x); });
}
// log: y = ln x
std::vector<Tensor> runLog(const KernelArgs &k) {
  return floatUnary(k, [](auto x) { return math::log(x); });
}
// log1p: y = ln(1 + x)
std::vector<Tensor> runLog1p(const KernelArgs &k) {
  return floatUnary(k, [](auto x) { return std::log1p(x); });
}
// expm1: y = e^x - 1
std::vector<Tensor> runExpm1(const KernelArgs &k) {
  return floatUnary(k, [](auto x) { return std::expm1(x); });
}
// sqrt: y = sqrt(x)
std::vector<Tensor> runSqrt(const KernelArgs &k) {
  return floatUnary(k, [](auto x) { return std::sqrt(x); });
}
// tanh: y = tanh(x)
std::vector<Tensor> runTanh(const KernelArgs &k) {
  return floatUnary(k, [](auto x) { return math::tanh(x); });
}
// sigmoid: y = 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) otherwise
std::vector<Tensor> runSigmoid(const KernelArgs &k) {
  return floatUnary(k, [](auto x) {
    using T = decltype(x);
    if (x >= 0) return (T)(T(1) / (T(1) + math::exp(-x)));
    T e = math::exp(x);
    return (T)(e / (T(1) + e));
  });
}
// relu: y = max(x, 0) (NaN propagates)
std::vector<Tensor> runRelu(const KernelArgs &k) {
  return unary(k, [](auto x) {
    using T = decltype(x);
    return isNan(x) ? x : (x > T(0) ? x : T(0));
  });
}
// softplus: y = max(x, 0) + log1p(e^-|x|)
std::vector<Tensor> runSoftplus(const KernelArgs &k) {
  return floatUnary(k, [](auto x) {
    using T = decltype(x);
    return (T)((x > T(0) ? x : T(0)) + std::log1p(math::exp(-std::fabs(x))));
  });
}
// abs: y = |x|
std::vector<Tensor> runAbs(const KernelArgs &k) {
  return unary(k, [](auto x) {
    using T = decltype(x);
    if constexpr (std::is_same_v<T, int32_t>) return (int32_t)(x < 0 ? -(int64_t)x : (int64_t)x);
    else if constexpr (std::is_floating_point_v<T>) return std::fabs(x);
    else return x;
  });
}
// sign: y = 1 if x > 0, -1 if x < 0, +0 if x is +-0, else x (NaN), as NumPy's sign
std::vector<Tensor> runSign(const KernelArgs &k) {
  return unary(k, [](auto x) {
    using T = decltype(x);
    return x > T(0) ? T(1) : (x < T(0) ? T(-1) : (x == T(0) ? T(0) : x));
  });
}
// sin: y = sin x
std::vector<Tensor> runSin(const KernelArgs &k) {
  return floatUnary(k, [](auto x) { return std::sin(x); });
}
// cos: y = cos x
std::vector<Tensor> runCos(const KernelArgs &k) {
  return floatUnary(k, [](auto x) { return std::cos(x); });
}

// floor: y = largest integer <= x
std::vector<Tensor> runFloor(const KernelArgs &k) {
  return floatUnary(k, [](auto x) { return std::floor(x); });
}

// round: y = the integer nearest x, ties to even (the default rounding mode,
// which PTL never changes; the native code's llvm.roundeven gives the same bits)
std::vector<Tensor> runRound(const KernelArgs &k) {
  return floatUnary(k, [](auto x) { return std::nearbyint(x); });
}

//===----------------------------------------------------------------------===//
// Elementwise binary and comparisons
//===----------------------------------------------------------------------===//

// add: y = a + b (i32 wraps)
std::vector<Tensor> runAdd(const KernelArgs &k) {
  return binary(k, [](auto a, auto b) {
    using T = decltype(a);
    if constexpr (std::is_same_v<T, int32_t>) return arith::addI32(a, b);
    else return (T)(a + b);
  });
}
// sub: y = a - b (i32 wraps)
std::vector<Tensor> runSub(const KernelArgs &k) {
  return binary(k, [](auto a, auto b) {
    using T = decltype(a);
    if constexpr (std::is_same_v<T, int32_t>) return arith::subI32(a, b);
    else return (T)(a - b);
  });
}
// mul: y = a * b (i32 wraps)
std::vector<Tensor> runMul(const KernelArgs &k) {
  return binary(k, [](auto a, auto b) {
    using T = decltype(a);
    if constexpr (std::is_same_v<T, int32_t>) return arith::mulI32(a, b);
    else return (T)(a * b);
  });
}
// div: y = a / b; i32 truncates toward zero and faults on b = 0
std::vector<Tensor> runDiv(const KernelArgs &k) {
  return binary(k, [](auto a, auto b) {
    using T = decltype(a);
    if constexpr (std::is_same_v<T, int32_t>) {
      std::optional<int32_t> r = arith::divI32(a, b);
      if (!r) fault("integer division by zero");
      return *r;
    } else {
      return (T)(a / b);
    }
  });
}
// mod: y = a - floor(a / b) * b, the sign of b (Python); computed as
// r = fmod(a, b), r += b if r != 0 and sign(r) != sign(b); i32 faults on b = 0
std::vector<Tensor> runMod(const KernelArgs &k) {
  return binary(k, [](auto a, auto b) {
    using T = decltype(a);
    if constexpr (std::is_same_v<T, int32_t>) {
      std::optional<int32_t> r = arith::modI32(a, b);
      if (!r) fault("integer modulo by zero");
      return *r;
    } else if constexpr (std::is_floating_point_v<T>) {
      return arith::modFloat(a, b);
    } else {
      return a;
    }
  });
}
// pow: y = a^b; float a < 0 with integral b gives (-1)^b |a|^b (as C pow);
// i32: repeated squaring, b < 0 gives 1 / a^|b| truncated (0^-n faults)
std::vector<Tensor> runPow(const KernelArgs &k) {
  return binary(k, [](auto a, auto b) {
    using T = decltype(a);
    if constexpr (std::is_same_v<T, int32_t>) {
      std::optional<int32_t> r = arith::powI32(a, b);
      if (!r) fault("integer power: 0 to a negative power");
      return *r;
    } else if constexpr (std::is_floating_point_v<T>) {
      return math::pow(a, b); // f32: PTL's own fast path, else glibc's powf
    } else {
      return a;
    }
  });
}
// max: y = max(a, b) (NaN propagates)
std::vector<Tensor> runMax(const KernelArgs &k) {
  return binary(k, [](auto a, auto b) { return maxNan(a, b); });
}
// min: y = min(a, b) (NaN propagates)
std::vector<Tensor> runMin(const KernelArgs &k) {
  return binary(k, [](auto a, auto b) { return minNan(a, b); });
}
// and: y = a && b
std::vector<Tensor> runAnd(const KernelArgs &k) {
  return binary(k, [](auto a, auto b) { return (a && b) ? 1 : 0; });
}
// or: y = a || b
std::vector<Tensor> runOr(const KernelArgs &k) {
  return binary(k, [](auto a, auto b) { return (a || b) ? 1 : 0; });
}
// eq: y = a == b
std::vector<Tensor> runEq(const KernelArgs &k) {
  return binary(k, [](auto a, auto b) { return a == b ? 1 : 0; });
}
// ne: y = a != b
std::vector<Tensor> runNe(const KernelArgs &k) {
  return binary(k, [](auto a, auto b) { return a != b ? 1 : 0; });
}
// lt: y = a < b
std::vector<Tensor> runLt(const KernelArgs &k) {
  return binary(k, [](auto a, auto b) { return a < b ? 1 : 0; });
}
// le: y = a <= b
std::vector<Tensor> runLe(const KernelArgs &k) {
  return binary(k, [](auto a, auto b) { return a <= b ? 1 : 0; });
}
// gt: y = a > b
std::vector<Tensor> runGt(const KernelArgs &k) {
  return binary(k, [](auto a, auto b) { return a > b ? 1 : 0; });
}
// ge: y = a >= b
std::vector<Tensor> runGe(const KernelArgs &k) {
  return binary(k, [](auto a, auto b) { return a >= b ? 1 : 0; });
}

//===----------------------------------------------------------------------===//
// Creation, conversion and layout
//===----------------------------------------------------------------------===//

// constant: y = value (splat when one value is given)
std::vector<Tensor> runConstant(const KernelArgs &k) {
  Tensor out = newResult(k);
  auto it = k.op.attrs().find("value");
  const Dense *d = it == k.op.attrs().end() ? nullptr : std::get_if<Dense>(&it->second);
  if (!d) fault("constant: missing dense 'value' attribute");
  int64_t n = out.numel();
  if ((int64_t)d->values.size() != n && d->values.size() != 1)
    fault("constant: " + std::to_string(d->values.size()) + " values for " + resultType(k).str());
  for (int64_t i = 0; i < n; ++i)
    out.setDouble(i, d->values.size() == 1 ? d->values[0] : d->values[(size_t)i]);
  return {out};
}
// convert: y = T(x); float -> i32 truncates toward zero (saturating, NaN -> 0); -> bool is x != 0
std::vector<Tensor> runConvert(const KernelArgs &k) {
  const Tensor &x = k.in[0];
  Tensor out = newResult(k);
  withType(x.dtype(), [&](auto ftag) {
    using From = decltype(ftag);
    withType(out.dtype(), [&](auto ttag) {
      using To = decltype(ttag);
      const From *p = x.data<From>();
      To *q = out.data<To>();
      for (int64_t i = 0, n = x.numel(); i < n; ++i) q[i] = convertValue<To, From>(p[i]);
    });
  });
  return {out};
}
// broadcast: y[o] = x[o with broadcast axes at 0]
std::vector<Tensor> runBroadcast(const KernelArgs &k) {
  return {gather(k.in[0], resultType(k), broadcastIndex(k.in[0].shape(), resultType(k).shape))};
}
// reshape: same elements in row-major order
std::vector<Tensor> runReshape(const KernelArgs &k) {
  if (k.in[0].numel() != numElements(resultType(k).shape))
    fault("reshape: cannot reshape " + typeString(k.in[0].dtype(), k.in[0].shape()) + " to " +
          resultType(k).str());
  return {k.in[0].reshaped(resultType(k).shape)};
}
// transpose: y[o] = x[i] with i[perm[j]] = o[j]
std::vector<Tensor> runTranspose(const KernelArgs &k) {
  const Tensor &x = k.in[0];
  std::vector<int64_t> perm = k.op.intsAttr("perm");
  std::vector<int64_t> xs = stridesOf(x.shape()), st(perm.size());
  for (size_t j = 0; j < perm.size(); ++j) st[j] = xs[(size_t)perm[j]];
  return {gather(x, resultType(k), gatherIndex(resultType(k).shape, st))};
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

// reduce_sum: y = sum over axes, left to right
std::vector<Tensor> runReduceSum(const KernelArgs &k) { return reduce(k, Reduce::Sum); }
// reduce_mean: y = sum / count
std::vector<Tensor> runReduceMean(const KernelArgs &k) { return reduce(k, Reduce::Mean); }
// reduce_max: y = max over axes
std::vector<Tensor> runReduceMax(const KernelArgs &k) { return reduce(k, Reduce::Max); }
// reduce_min: y = min over axes
std::vector<Tensor> runReduceMin(const KernelArgs &k) { return reduce(k, Reduce::Min); }
// logsumexp: y = m + log(sum(exp(x - m))), m = max over axes
std::vector<Tensor> runLogSumExp(const KernelArgs &k) { return reduce(k, Reduce::LogSumExp); }

// argmax: y = index of the first maximum (first NaN if any) along axis, or flat (axis -1)
std::vector<Tensor> runArgMax(const KernelArgs &k) {
  const Tensor &x = k.in[0];
  Tensor out = newResult(k);
  int64_t axis = k.op.intAttr("axis", -1);
  if (x.numel() == 0) fault("argmax of an empty tensor " + typeString(x.dtype(), x.shape()));
  withType(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *p = x.data<T>();
    int32_t *q = out.data<int32_t>();
    int64_t outer = 1, n = x.numel(), inner = 1;
    if (axis >= 0) splitAxis(x.shape(), axis, outer, n, inner);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t in = 0; in < inner; ++in) {
        int64_t best = 0;
        T bv = p[o * n * inner + in];
        for (int64_t j = 1; j < n && !isNan(bv); ++j) {
          T v = p[(o * n + j) * inner + in];
          if (isNan(v) || v > bv) { bv = v; best = j; }
        }
        q[o * inner + in] = (int32_t)best;
      }
  });
  return {out};
}

//===----------------------------------------------------------------------===//
// Linear algebra, selection, normalisation
//===----------------------------------------------------------------------===//

// matmul: y[b, i, j] = sum_k a[b, i, k] * b[b, k, j] (runtime/Gemm.h: k ascending
// from 0, or BLAS for large float products); a rank-1 operand is a row (left) or column (right) vector whose axis is dropped;
// transpose_a/_b: that operand is stored with its last two axes swapped
std::vector<Tensor> runMatMul(const KernelArgs &k) {
  const Tensor &a = k.in[0], &b = k.in[1];
  Tensor out = newResult(k);
  // with transpose_a/_b the operand is stored transposed: the shapes below
  // are of the matrices multiplied
  bool ta = k.op.boolAttr("transpose_a"), tb = k.op.boolAttr("transpose_b");
  Shape as = a.shape(), bs = b.shape();
  if (ta) std::swap(as[as.size() - 1], as[as.size() - 2]);
  if (tb) std::swap(bs[bs.size() - 1], bs[bs.size() - 2]);
  bool aVec = as.size() == 1, bVec = bs.size() == 1;
  int64_t M = aVec ? 1 : as[as.size() - 2], K = as.back();
  int64_t N = bVec ? 1 : bs.back();
  if ((bVec ? bs[0] : bs[bs.size() - 2]) != K)
    fault("matmul: inner dimensions differ: " + shapeString(as) + " @ " + shapeString(bs));
  Shape aBatch = aVec ? Shape{} : Shape(as.begin(), as.end() - 2);
  Shape bBatch = bVec ? Shape{} : Shape(bs.begin(), bs.end() - 2);
  Shape batch = broadcastPair(aBatch, bBatch);
  std::vector<int64_t> ab = broadcastIndex(aBatch, batch), bb = broadcastIndex(bBatch, batch);
  withType(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, int32_t>) {
      // runtime/Gemm.h, which native code calls too (BLAS for large float products).
      for (size_t bi = 0; bi < ab.size(); ++bi)
        gemm(a.data<T>() + ab[bi] * M * K, b.data<T>() + bb[bi] * K * N, out.data<T>() + (int64_t)bi * M * N, M, N, K,
             ta, tb);
    } else {
      fault("matmul of " + std::string(dtypeName(a.dtype())) + " tensors");
    }
  });
  return {out};
}

// select: y = c ? a : b (broadcasting all three)
std::vector<Tensor> runSelect(const KernelArgs &k) {
  Tensor out = newResult(k);
  const Shape &s = out.shape();
  std::vector<int64_t> ic = broadcastIndex(k.in[0].shape(), s), ia = broadcastIndex(k.in[1].shape(), s),
                       ib = broadcastIndex(k.in[2].shape(), s);
  const uint8_t *c = k.in[0].data<uint8_t>();
  size_t es = dtypeSize(out.dtype());
  const char *pa = static_cast<const char *>(k.in[1].raw());
  const char *pb = static_cast<const char *>(k.in[2].raw());
  char *q = static_cast<char *>(out.raw());
  for (size_t i = 0; i < ic.size(); ++i)
    copyBytes(q + i * es, c[ic[i]] ? pa + ia[i] * es : pb + ib[i] * es, es);
  return {out};
}

// clamp: y = min(max(x, lo), hi) (broadcasting all three)
std::vector<Tensor> runClamp(const KernelArgs &k) {
  Tensor out = newResult(k);
  const Shape &s = out.shape();
  std::vector<int64_t> ix = broadcastIndex(k.in[0].shape(), s), il = broadcastIndex(k.in[1].shape(), s),
                       ih = broadcastIndex(k.in[2].shape(), s);
  withType(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *x = k.in[0].data<T>(), *lo = k.in[1].data<T>(), *hi = k.in[2].data<T>();
    T *q = out.data<T>();
    for (size_t i = 0; i < ix.size(); ++i) q[i] = minNan(maxNan(x[ix[i]], lo[il[i]]), hi[ih[i]]);
  });
  return {out};
}

namespace {
/// softmax / log_softmax along an axis: m = max, s = sum exp(x - m) (left to right).
/// log_softmax subtracts m and log(s) separately, (x - m) - log(s): x - m is
/// exact near the maximum, where rounding m + log(s) first would lose log(s)'s
/// low bits (for logits near 1000 in f32, -0.69317627 instead of -0.6931472).
std::vector<Tensor> softmaxLike(const KernelArgs &k, bool log) {
  const Tensor &x = k.in[0];
  Tensor out = newResult(k);
  int64_t outer, n, inner;
  splitAxis(x.shape(), normAxis(k.op.intAttr("axis"), x.rank()), outer, n, inner);
  withFloat(k.op, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *p = x.data<T>();
    T *q = out.data<T>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t in = 0; in < inner; ++in) {
        auto at = [&](int64_t j) { return (o * n + j) * inner + in; };
        T m = -std::numeric_limits<T>::infinity();
        for (int64_t j = 0; j < n; ++j) m = maxNan(m, p[at(j)]);
        T s = 0;
        for (int64_t j = 0; j < n; ++j) s += math::exp(p[at(j)] - m);
        if (log) {
          T ls = math::log(s);
          for (int64_t j = 0; j < n; ++j) q[at(j)] = (p[at(j)] - m) - ls;
        } else {
          for (int64_t j = 0; j < n; ++j) q[at(j)] = math::exp(p[at(j)] - m) / s;
        }
      }
  });
  return {out};
}
} // namespace

// softmax: y = exp(x - m) / sum(exp(x - m)) along axis, m = max along axis
std::vector<Tensor> runSoftmax(const KernelArgs &k) { return softmaxLike(k, false); }
// log_softmax: y = (x - m) - log(sum(exp(x - m))) along axis
std::vector<Tensor> runLogSoftmax(const KernelArgs &k) { return softmaxLike(k, true); }

// cumsum: y[.., j, ..] = sum_{i <= j} x[.., i, ..] (i32 wraps)
std::vector<Tensor> runCumSum(const KernelArgs &k) {
  const Tensor &x = k.in[0];
  Tensor out = newResult(k);
  int64_t outer, n, inner;
  splitAxis(x.shape(), normAxis(k.op.intAttr("axis"), x.rank()), outer, n, inner);
  withType(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *p = x.data<T>();
    T *q = out.data<T>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t in = 0; in < inner; ++in) {
        T acc = 0;
        for (int64_t j = 0; j < n; ++j) {
          int64_t i = (o * n + j) * inner + in;
          acc = addWrap(acc, p[i]); // i32 wraps, like add (was signed-overflow UB)
          q[i] = acc;
        }
      }
  });
  return {out};
}

//===----------------------------------------------------------------------===//
// Assembling and indexing
//===----------------------------------------------------------------------===//

// concat: y = x1 ++ ... ++ xn along axis
std::vector<Tensor> runConcat(const KernelArgs &k) {
  Tensor out = newResult(k);
  const Shape &s = out.shape();
  int64_t axis = normAxis(k.op.intAttr("axis"), (int64_t)s.size());
  int64_t outer = prod(s, 0, (size_t)axis), inner = prod(s, (size_t)axis + 1, s.size());
  size_t es = dtypeSize(out.dtype());
  char *q = static_cast<char *>(out.raw());
  int64_t rowOut = s[(size_t)axis] * inner, at = 0;
  for (const Tensor &x : k.in) {
    int64_t rowIn = x.shape()[(size_t)axis] * inner;
    const char *p = static_cast<const char *>(x.raw());
    for (int64_t o = 0; o < outer; ++o)
      copyBytes(q + (o * rowOut + at) * es, p + o * rowIn * es, (size_t)rowIn * es);
    at += rowIn;
  }
  return {out};
}

// stack: y[.., j, ..] = x_j along a new axis
std::vector<Tensor> runStack(const KernelArgs &k) {
  Tensor out = newResult(k);
  const Shape &s = out.shape();
  int64_t axis = normAxis(k.op.intAttr("axis"), (int64_t)s.size());
  int64_t outer = prod(s, 0, (size_t)axis), inner = prod(s, (size_t)axis + 1, s.size());
  int64_t n = (int64_t)k.in.size();
  size_t es = dtypeSize(out.dtype());
  char *q = static_cast<char *>(out.raw());
  for (int64_t j = 0; j < n; ++j) {
    const char *p = static_cast<const char *>(k.in[(size_t)j].raw());
    for (int64_t o = 0; o < outer; ++o)
      copyBytes(q + ((o * n + j) * inner) * es, p + o * inner * es, (size_t)inner * es);
  }
  return {out};
}

// slice: y[o] = x[starts + o]
std::vector<Tensor> runSlice(const KernelArgs &k) {
  const Tensor &x = k.in[0];
  std::vector<int64_t> starts = k.op.intsAttr("starts"), ends = k.op.intsAttr("ends");
  if ((int64_t)starts.size() != x.rank() || (int64_t)ends.size() != x.rank())
    fault("slice: need one start and end per axis of " + typeString(x.dtype(), x.shape()));
  std::vector<int64_t> st = stridesOf(x.shape());
  int64_t base = 0;
  for (size_t a = 0; a < starts.size(); ++a) {
    if (starts[a] < 0 || starts[a] > ends[a] || ends[a] > x.shape()[a])
      fault("slice " + std::to_string(starts[a]) + ".." + std::to_string(ends[a]) +
            " out of range for axis " + std::to_string(a) + " of size " + std::to_string(x.shape()[a]));
    base += starts[a] * st[a];
  }
  return {gather(x, resultType(k), gatherIndex(resultType(k).shape, st, base))};
}

// index: y = x[i] along axis 0, 0 <= i < x.shape[0]
std::vector<Tensor> runIndex(const KernelArgs &k) {
  const Tensor &x = k.in[0];
  int64_t i = (int64_t)k.in[1].getDouble(0);
  int64_t n = x.rank() ? x.shape()[0] : 0;
  if (i < 0 || i >= n) fault(indexError(i, 0, n));
  Tensor out = newResult(k);
  copyBytes(out.raw(), static_cast<const char *>(x.raw()) + i * out.nbytes(), out.nbytes());
  return {out};
}

// index_add: y = x; y[i] += v along axis 0, 0 <= i < x.shape[0]
std::vector<Tensor> runIndexAdd(const KernelArgs &k) {
  const Tensor &x = k.in[0], &v = k.in[2];
  int64_t i = (int64_t)k.in[1].getDouble(0);
  int64_t n = x.rank() ? x.shape()[0] : 0;
  if (i < 0 || i >= n) fault(indexError(i, 0, n));
  Tensor out = x.clone();
  int64_t row = v.numel();
  withType(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T *q = out.data<T>() + i * row;
    const T *p = v.data<T>();
    for (int64_t j = 0; j < row; ++j) q[j] = addWrap(q[j], p[j]);
  });
  return {out};
}

// pad: y = zeros of T; y[starts + o] = x[o]
std::vector<Tensor> runPad(const KernelArgs &k) {
  const Tensor &x = k.in[0];
  Tensor out = newResult(k);
  std::vector<int64_t> starts = k.op.intsAttr("starts");
  const Shape &s = out.shape();
  if ((int64_t)starts.size() != x.rank() || out.rank() != x.rank())
    fault("pad: need one start per axis of " + typeString(x.dtype(), x.shape()));
  std::vector<int64_t> st = stridesOf(s);
  int64_t base = 0;
  for (size_t a = 0; a < starts.size(); ++a) {
    if (starts[a] < 0 || starts[a] + x.shape()[a] > s[a])
      fault("pad: " + typeString(x.dtype(), x.shape()) + " at start " + std::to_string(starts[a]) +
            " does not fit axis " + std::to_string(a) + " of size " + std::to_string(s[a]));
    base += starts[a] * st[a];
  }
  std::vector<int64_t> si = gatherIndex(x.shape(), st, base);
  size_t es = dtypeSize(x.dtype());
  const char *src = static_cast<const char *>(x.raw());
  char *dst = static_cast<char *>(out.raw());
  for (size_t i = 0; i < si.size(); ++i)
    std::memcpy(dst + si[i] * es, src + i * es, es);
  return {out};
}

// one_hot: y[..., j] = (labels[...] == j), labels in [0, depth)
std::vector<Tensor> runOneHot(const KernelArgs &k) {
  const Tensor &l = k.in[0];
  Tensor out = newResult(k);
  int64_t depth = out.shape().back();
  for (int64_t i = 0, n = l.numel(); i < n; ++i) {
    int64_t v = (int64_t)l.getDouble(i);
    if (v < 0 || v >= depth)
      fault("one_hot: label " + std::to_string(v) + " out of range for depth " + std::to_string(depth));
    out.setDouble(i * depth + v, 1.0);
  }
  return {out};
}

// take: y[o, j, in] = x[o, idx[j], in] along axis, 0 <= idx[j] < x.shape[axis]
std::vector<Tensor> runTake(const KernelArgs &k) {
  const Tensor &x = k.in[0], &idx = k.in[1];
  int64_t axis = normAxis(k.op.intAttr("axis"), x.rank());
  int64_t outer, n, inner;
  splitAxis(x.shape(), axis, outer, n, inner);
  int64_t m = idx.numel();
  std::vector<int64_t> gi;
  gi.reserve((size_t)(outer * m * inner));
  for (int64_t j = 0; j < m; ++j) {
    int64_t v = (int64_t)idx.getDouble(j);
    if (v < 0 || v >= n) fault(indexError(v, axis, n));
  }
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < m; ++j)
      for (int64_t in = 0; in < inner; ++in)
        gi.push_back((o * n + (int64_t)idx.getDouble(j)) * inner + in);
  return {gather(x, resultType(k), gi)};
}

// scatter_add: y = x; y[o, idx[j], in] += v[o, j, in] along axis, 0 <= idx[j] < x.shape[axis]
// (repeated indices accumulate, in order of j)
std::vector<Tensor> runScatterAdd(const KernelArgs &k) {
  const Tensor &x = k.in[0], &idx = k.in[1], &v = k.in[2];
  int64_t axis = normAxis(k.op.intAttr("axis"), x.rank());
  int64_t outer, n, inner;
  splitAxis(x.shape(), axis, outer, n, inner);
  int64_t m = idx.numel();
  std::vector<int64_t> iv((size_t)m);
  for (int64_t j = 0; j < m; ++j) {
    iv[(size_t)j] = (int64_t)idx.getDouble(j);
    if (iv[(size_t)j] < 0 || iv[(size_t)j] >= n) fault(indexError(iv[(size_t)j], axis, n));
  }
  Tensor out = x.clone();
  withType(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T *q = out.data<T>();
    const T *p = v.data<T>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < m; ++j)
        for (int64_t in = 0; in < inner; ++in) {
          T &dst = q[(o * n + iv[(size_t)j]) * inner + in];
          dst = addWrap(dst, p[(o * m + j) * inner + in]);
        }
  });
  return {out};
}

// iota: y[i] = i
std::vector<Tensor> runIota(const KernelArgs &k) {
  Tensor out = newResult(k);
  for (int64_t i = 0, n = out.numel(); i < n; ++i) out.setDouble(i, (double)i);
  return {out};
}

// random: Philox-4x32-10 keyed by (seed, key); see runtime/Rng.h for each dist
std::vector<Tensor> runRandom(const KernelArgs &k) {
  Tensor out = newResult(k);
  uint64_t seed = (uint64_t)(int64_t)k.in[0].getDouble(0);
  std::string dist = k.op.strAttr("dist"), key = k.op.strAttr("key");
  double a = k.op.floatAttr("a"), b = k.op.floatAttr("b", 1.0);
  if (dist == "normal") rng::fillNormal(out, seed, key, a, b);
  else if (dist == "uniform") rng::fillUniform(out, seed, key, a, b);
  else if (dist == "randint") rng::fillRandint(out, seed, key, (int64_t)a, (int64_t)b);
  else if (dist == "glorot") rng::fillGlorot(out, seed, key, k.op.floatAttr("a", 1.0));
  else if (dist == "orthogonal") rng::fillOrthogonal(out, seed, key, k.op.floatAttr("a", 1.0));
  else if (dist == "fold_in") out.setDouble(0, rng::foldIn((int32_t)seed, (int32_t)k.in[1].getDouble(0)));
  else if (dist == "permutation")
    rng::fillPermutation(out, seed, k.op.intAttr("a"), (int64_t)k.in[1].getDouble(0));
  else fault("random: unknown distribution '" + dist + "'");
  return {out};
}

// stop_grad: y = x
std::vector<Tensor> runStopGrad(const KernelArgs &k) { return {k.in[0]}; }

// check_bounds: y = x, or a fault "MESSAGE: 'PATH' must be BOUND, got VALUE[ at [i]][ (train step N)]"
// when an element of x is non-finite or outside the constraint
std::vector<Tensor> runCheckBounds(const KernelArgs &k) {
  ConstraintSpec c;
  c.kind = *ConstraintSpec::kindFromName(k.op.strAttr("kind"));
  c.lo = k.op.floatAttr("lo");
  c.hi = k.op.floatAttr("hi");
  c.closed = k.op.boolAttr("closed");
  if (std::optional<std::string> bad = findViolation(c, k.in[0])) {
    std::string msg = k.op.strAttr("message") + ": '" + k.op.strAttr("path") + "' must be " + c.describe() + ", " + *bad;
    if (k.in.size() > 1) msg += " (train step " + std::to_string((int64_t)k.in[1].getDouble(0)) + ")";
    fault(msg);
  }
  return {k.in[0]};
}

//===----------------------------------------------------------------------===//
// Effects: printing and files
//===----------------------------------------------------------------------===//

// print: writes labels[k] formatTensor(x_k) seps[k] for each k, then tail
std::vector<Tensor> runPrint(const KernelArgs &k) {
  std::vector<std::string> labels = k.op.strsAttr("labels"), seps = k.op.strsAttr("seps");
  std::ostream &os = *k.interp.options().out;
  for (size_t i = 0; i < k.in.size(); ++i) {
    if (i < labels.size()) os << labels[i];
    os << formatTensor(k.in[i]);
    if (i < seps.size()) os << seps[i];
  }
  os << k.op.strAttr("tail");
  os.flush();
  return {};
}

// load_npy: y = the array in the file (must have y's dtype and shape)
std::vector<Tensor> runLoadNpy(const KernelArgs &k) {
  std::string path = k.interp.resolvePath(k.op.strAttr("path"));
  Tensor t = readNpy(path);
  checkLoaded(path, "", resultType(k), t.dtype(), t.shape());
  return {t};
}

// save_npy: writes x to the file
std::vector<Tensor> runSaveNpy(const KernelArgs &k) {
  writeNpy(k.interp.resolvePath(k.op.strAttr("path")), k.in[0]);
  return {};
}

// load_csv: one f32[rows] per named column; with pad (a train log of this
// run, stopped early), a column shorter than rows ends in NaN
std::vector<Tensor> runLoadCsv(const KernelArgs &k) {
  std::string path = k.interp.resolvePath(k.op.strAttr("path"));
  std::vector<std::string> names = k.op.strsAttr("columns");
  bool pad = k.op.boolAttr("pad");
  std::vector<Tensor> out;
  if (pad && !names.empty() && resultType(k, 0).shape[0] == 0) { // a train of 0 steps writes no file
    for (size_t i = 0; i < names.size(); ++i) out.push_back(newResult(k, (unsigned)i));
    return out;
  }
  std::vector<NamedTensor> cols = readCsv(path);
  for (size_t i = 0; i < names.size(); ++i) {
    auto it = std::find_if(cols.begin(), cols.end(), [&](const NamedTensor &c) { return c.name == names[i]; });
    if (it == cols.end()) fault(path + ": no column named '" + names[i] + "'");
    Tensor t = it->tensor;
    const Type &want = resultType(k, (unsigned)i);
    if (pad && t.dtype() == DType::F32 && t.shape().size() == 1 && t.shape()[0] < want.shape[0]) {
      Tensor full = newResult(k, (unsigned)i);
      float *d = static_cast<float *>(full.raw());
      std::fill(d, d + full.numel(), std::numeric_limits<float>::quiet_NaN());
      copyBytes(full.raw(), t.raw(), t.nbytes());
      t = full;
    }
    checkLoaded(path, "column '" + names[i] + "': ", want, t.dtype(), t.shape());
    out.push_back(t);
  }
  return out;
}

// save: safetensors with x_k named names[k]; __metadata__ maps names[k] -> transforms[k]
std::vector<Tensor> runSave(const KernelArgs &k) {
  std::string path = k.interp.resolvePath(k.op.strAttr("path"));
  std::vector<std::string> names = k.op.strsAttr("names"), transforms = k.op.strsAttr("transforms");
  if (names.size() != k.in.size()) fault("save: " + std::to_string(names.size()) + " names for " +
                                         std::to_string(k.in.size()) + " tensors");
  std::vector<NamedTensor> ts;
  std::map<std::string, std::string> meta;
  for (size_t i = 0; i < names.size(); ++i) {
    ts.push_back({names[i], k.in[i]});
    if (i < transforms.size() && !transforms[i].empty()) meta[names[i]] = transforms[i];
  }
  writeSafetensors(path, ts, meta);
  return {};
}

// load: the tensors named names[k] from a safetensors file, checked against the result types.
// Every entry is checked before anything is returned, and every problem is reported in one
// message (missing names, wrong dtypes or shapes, and -- when the op carries the expected
// `transforms` -- a leaf the file's metadata says was stored under another transform), so a
// bad file changes nothing. Tensors in the file that no name asks for are ignored.
std::vector<Tensor> runLoad(const KernelArgs &k) {
  std::string path = k.interp.resolvePath(k.op.strAttr("path"));
  SafetensorsFile f = readSafetensors(path);
  std::vector<std::string> names = k.op.strsAttr("names");
  std::vector<std::string> transforms;
  if (k.op.hasAttr("transforms")) transforms = k.op.strsAttr("transforms");
  std::vector<Tensor> out;
  std::vector<std::string> problems, missing;
  for (size_t i = 0; i < names.size(); ++i) {
    auto it = std::find_if(f.tensors.begin(), f.tensors.end(),
                           [&](const NamedTensor &t) { return t.name == names[i]; });
    if (it == f.tensors.end()) {
      missing.push_back(names[i]);
      continue;
    }
    const Type &want = resultType(k, (unsigned)i);
    if (want.dtype != it->tensor.dtype() || want.shape != it->tensor.shape())
      problems.push_back("tensor '" + names[i] + "': expected " + want.str() + ", file has " +
                         typeString(it->tensor.dtype(), it->tensor.shape()));
    auto meta = f.metadata.find(names[i]);
    if (i < transforms.size() && !transforms[i].empty() && meta != f.metadata.end() &&
        meta->second != transforms[i])
      problems.push_back("tensor '" + names[i] + "': saved with transform '" + meta->second +
                         "', but the model stores it with '" + transforms[i] + "'");
    out.push_back(it->tensor);
  }
  if (!missing.empty()) {
    std::string m = missing.size() == 1 ? "no tensor named '" + missing[0] + "'" : "no tensors named ";
    if (missing.size() > 1)
      for (size_t i = 0; i < missing.size(); ++i) {
        if (i == 6) { m += ", ... (" + std::to_string(missing.size()) + " in all)"; break; }
        m += (i ? ", '" : "'") + missing[i] + "'";
      }
    std::string have;
    for (size_t i = 0; i < f.tensors.size() && i < 8; ++i) have += (i ? ", " : "") + f.tensors[i].name;
    if (f.tensors.size() > 8) have += ", ...";
    m += f.tensors.empty() ? " (the file holds no tensors)" : " (the file has " + have + ")";
    problems.insert(problems.begin(), m);
  }
  if (!problems.empty()) {
    std::string msg = path + ": ";
    for (size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : "") + problems[i];
    fault(msg);
  }
  return out;
}

// train_progress: reports step (from 1) of total and the loss of the innermost
// running train loop: a line redrawn in place on a terminal (at most every
// 0.1 s, and at the last step, then a newline), plain lines every
// max(1, total/10) steps and at the last one otherwise (see Progress.h);
// with every > 0 and a file, `step,loss` rows every `every` steps and at
// the last step, the file created (header first) at the loop's first report.
// The metrics, `until` conditions and plot of a logged step: TrainReport.h.
std::vector<Tensor> runTrainProgress(const KernelArgs &k) {
  TrainRun *run = k.interp.currentTrain();
  if (!run) fault("train_progress outside a train loop");
  int64_t step = (int64_t)k.in[0].getDouble(0), total = k.op.intAttr("total");
  int64_t every = k.op.intAttr("every", 0);
  double loss = k.in[1].getDouble(0);
  std::string file = k.op.strAttr("file");

  bool logged = progress::logRowDue(step, total, every);
  std::string cells;
  if (logged) {
    if (k.op.hasAttr("plot") && run->plotPath.empty()) {
      run->plotPath = k.interp.resolvePath(k.op.strAttr("plot"));
      checkPathAccess(run->plotPath, PathAccess::Write); // the sandbox (runtime/Sandbox.h)
    }
    cells = recordLoggedRow(*run, k.op, k.in, step);
  }
  if (every > 0 && !file.empty()) {
    if (!run->log) {
      run->logPath = k.interp.resolvePath(file);
      checkPathAccess(run->logPath, PathAccess::Write); // the sandbox (runtime/Sandbox.h)
      run->log = std::make_unique<std::ofstream>(run->logPath, std::ios::out | std::ios::trunc);
      if (!*run->log) {
        run->log.reset();
        fault("cannot open the training log '" + run->logPath + "' for writing");
      }
      *run->log << "step,loss";
      if (k.op.hasAttr("metrics"))
        for (const std::string &m : k.op.strsAttr("metrics")) *run->log << "," << m;
      *run->log << "\n";
    }
    if (logged) {
      *run->log << step << "," << formatTensor(k.in[1]) << cells << "\n";
      run->log->flush();
      if (!*run->log) fault("cannot write to the training log '" + run->logPath + "'");
    }
    if (step >= total || !run->stopReason.empty()) run->log->close();
  }
  bool stopping = !run->stopReason.empty() && step < total;
  if (logged) drawTrainPlot(*run, step >= total || stopping);

  std::ostream &err = *k.interp.options().err;
  if (run->terminal) {
    auto now = std::chrono::steady_clock::now();
    bool last = step >= total;
    if (last || stopping || step == 1 || now - run->lastDraw >= std::chrono::milliseconds(100)) {
      double elapsed = std::chrono::duration<double>(now - run->start).count();
      err << "\r" << progress::terminalLine(step, total, loss, elapsed, run->metricsText) << "\x1b[K";
      if (last) err << "\n";
      err.flush();
      run->lineOpen = !last;
      run->lastDraw = now;
    }
  } else if (progress::plainLineDue(step, total)) {
    err << progress::plainLine(step, total, loss, run->metricsText) << "\n";
    err.flush();
  }
  return {};
}

// train_nonfinite: run when a step's check sum is not finite; records the
// first non-finite value (loss, gradient leaf, updated leaf) in the
// innermost train loop, which stops before this step's update (runFor,
// and ptlrt_train_stop under the JIT). A finite set (the sum overflowed)
// records nothing.
std::vector<Tensor> runTrainNonfinite(const KernelArgs &k) {
  TrainRun *run = k.interp.currentTrain();
  if (!run) fault("train_nonfinite outside a train loop");
  if (std::optional<Divergence> d = findNonfinite(k.in, k.op.strsAttr("paths"))) run->diverged = *d;
  return {};
}

RuntimeFault divergenceFault(const Op &loop, const Divergence &d, const std::vector<Tensor> &params) {
  auto stop = std::make_shared<TrainStop>();
  stop->step = d.step;
  stop->reason = d.reason;
  stop->path = d.path;
  stop->variable = loop.strAttr("var");
  stop->topLevel = loop.boolAttr("top_level");
  stop->paths = loop.strsAttr("paths");
  for (const Tensor &t : params) stop->params.push_back(t.clone());
  RuntimeFault f(divergenceMessage(d, stop->variable));
  f.trainStop = std::move(stop);
  return f;
}

//===----------------------------------------------------------------------===//
// Control flow
//===----------------------------------------------------------------------===//

namespace {
/// Ends a train loop's TrainRun however the loop is left.
struct TrainScope {
  Interpreter *interp = nullptr;
  ~TrainScope() {
    if (interp) interp->endTrain();
  }
};
} // namespace

// for: c = init; for i in lo..hi: (c, s_i) = body(i, c); y = (c, stack_i s_i).
// A train loop (attr train) runs inside a TrainRun (progress, log file,
// SIGINT handler) and checks for a stop request (Ctrl-C, requestStop) after
// each iteration: it then stops with the carried values of that iteration.
std::vector<Tensor> runFor(const KernelArgs &k) {
  int64_t lo = k.op.intAttr("lo"), hi = k.op.intAttr("hi");
  bool train = k.op.boolAttr("train");
  TrainScope trainScope;
  if (train) {
    k.interp.beginTrain(hi - lo);
    trainScope.interp = &k.interp;
  }
  size_t stacked = (size_t)k.op.intAttr("stacked", 0);
  size_t numCarried = k.in.size();
  std::vector<Tensor> carried = k.in;
  std::vector<Tensor> stacks;
  for (size_t r = numCarried; r < k.op.numResults(); ++r) stacks.push_back(newResult(k, (unsigned)r));
  const Region &body = *k.op.region(0);
  for (int64_t i = lo; i < hi; ++i) {
    std::vector<Tensor> args;
    args.reserve(carried.size() + 1);
    args.push_back(Tensor::scalar(DType::I32, (double)i));
    args.insert(args.end(), carried.begin(), carried.end());
    std::vector<Tensor> ys = k.interp.runRegion(body, args);
    if (TrainRun *run = train ? k.interp.currentTrain() : nullptr; run && run->diverged) {
      // stop before this step's update: the model leaves come after the state's
      size_t from = (size_t)k.op.intAttr("model_from", 0);
      throw divergenceFault(k.op, *run->diverged,
                            std::vector<Tensor>(carried.begin() + (long)std::min(from, carried.size()), carried.end()));
    }
    for (size_t s = 0; s < stacked; ++s) {
      const Tensor &y = ys[numCarried + s];
      size_t bytes = y.nbytes();
      copyBytes(static_cast<char *>(stacks[s].raw()) + (size_t)(i - lo) * bytes, y.raw(), bytes);
    }
    ys.resize(numCarried);
    carried = std::move(ys);
    if (train && k.interp.stopTrainAfter(i - lo + 1, hi - lo)) break;
  }
  carried.insert(carried.end(), stacks.begin(), stacks.end());
  return carried;
}

// if: y = cond ? then() : else()
std::vector<Tensor> runIf(const KernelArgs &k) {
  bool c = k.in[0].getDouble(0) != 0;
  return k.interp.runRegion(*k.op.region(c ? 0 : 1), {});
}

// map: y_k = stack over i in lo..hi of body(i)_k (new axis 0)
std::vector<Tensor> runMap(const KernelArgs &k) {
  int64_t lo = k.op.intAttr("lo"), hi = k.op.intAttr("hi");
  std::vector<Tensor> out;
  for (unsigned r = 0; r < k.op.numResults(); ++r) out.push_back(newResult(k, r));
  const Region &body = *k.op.region(0);
  for (int64_t i = lo; i < hi; ++i) {
    std::vector<Tensor> ys = k.interp.runRegion(body, {Tensor::scalar(DType::I32, (double)i)});
    for (size_t r = 0; r < out.size(); ++r) {
      size_t bytes = ys[r].nbytes();
      if (bytes * (size_t)(hi - lo) != out[r].nbytes())
        fault("map: iteration yields " + typeString(ys[r].dtype(), ys[r].shape()) + " for result " +
              resultType(k, (unsigned)r).str());
      copyBytes(static_cast<char *>(out[r].raw()) + (size_t)(i - lo) * bytes, ys[r].raw(), bytes);
    }
  }
  return out;
}

// grad: must have been expanded by the autodiff pass
std::vector<Tensor> runGrad(const KernelArgs &k) {
  fault("grad must be expanded by the autodiff pass before interpretation");
}

// call: y = callee(args)
std::vector<Tensor> runCall(const KernelArgs &k) {
  return k.interp.callFunction(k.op.strAttr("callee"), k.in);
}

// yield: terminator; the interpreter returns its operands from the region
std::vector<Tensor> runYield(const KernelArgs &k) { return {}; }
// return: terminator; the interpreter returns its operands from the function
std::vector<Tensor> runReturn(const KernelArgs &k) { return {}; }

KernelFn kernelFor(OpKind kind) {
  static const KernelFn table[] = {
#define PTL_OP(Name, mnemonic) &run##Name,
#include "ir/Ops.def"
  };
  static_assert(sizeof(table) / sizeof(table[0]) == (size_t)kNumOpKinds);
  return table[(size_t)kind];
}

} // namespace ptl::ir::kernels
