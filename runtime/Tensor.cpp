//===- runtime/Tensor.cpp - Dense host tensors and NumPy-style printing ------===//
//
// Tensor storage (with allocation counters for tests), dtype helpers and
// `formatTensor`, which reproduces NumPy's `str(array)` (the output of
// `print(np.array(...))`) with default print options: precision 8,
// floatmode 'maxprec', linewidth 75, threshold 1000, edgeitems 3.
//
// The float formatting follows numpy/core/arrayprint.py (FloatingFormat) and
// Dragon4 in "unique" mode: each value is printed with the shortest digits
// that round-trip in its own type (float32 values with float32's shortest
// digits), cut at 8 fractional digits with correct rounding of the exact
// value. Shortest digits come from std::to_chars, which is exact.
//
// Known differences from NumPy: none for the cases tested; ties exactly at
// the 8th fractional digit round half-to-even as NumPy's Dragon4 does.
//
//===----------------------------------------------------------------------===//
#include "runtime/Tensor.h"
#include "runtime/Check.h"

#include "runtime/Errors.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

namespace ptl {

//===----------------------------------------------------------------------===//
// Dtypes and shapes
//===----------------------------------------------------------------------===//

const char *dtypeName(DType t) {
  switch (t) {
  case DType::F32: return "f32";
  case DType::F64: return "f64";
  case DType::I32: return "i32";
  case DType::Bool: return "bool";
  }
  return "?";
}

bool parseDType(const std::string &name, DType &out) {
  if (name == "f32") out = DType::F32;
  else if (name == "f64") out = DType::F64;
  else if (name == "i32") out = DType::I32;
  else if (name == "bool") out = DType::Bool;
  else return false;
  return true;
}

size_t dtypeSize(DType t) {
  switch (t) {
  case DType::F32: return 4;
  case DType::F64: return 8;
  case DType::I32: return 4;
  case DType::Bool: return 1;
  }
  return 1;
}

int64_t numElements(const Shape &s) {
  int64_t n = 1;
  for (int64_t d : s)
    n *= d;
  return n;
}

int64_t checkedTensorBytes(DType t, const Shape &s) {
  int64_t n = (int64_t)dtypeSize(t);
  for (int64_t d : s)
    if (d < 0 || __builtin_mul_overflow(n, d, &n)) return -1;
  return n;
}

std::string shapeString(const Shape &s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) r += ", ";
    r += std::to_string(s[i]);
  }
  return r + "]";
}

std::string typeString(DType t, const Shape &s) {
  std::string r = dtypeName(t);
  if (!s.empty()) r += shapeString(s);
  return r;
}

//===----------------------------------------------------------------------===//
// Storage
//===----------------------------------------------------------------------===//

namespace {
std::atomic<int64_t> gLive{0};
std::atomic<int64_t> gTotal{0};
std::atomic<int64_t> gLiveBytes{0};
std::atomic<int64_t> gPeakBytes{0};
std::atomic<int64_t> gMaxTensorBytes{INT64_MAX};

/// Allocates `bytes` zeroed bytes, 64-byte aligned, counted.
std::shared_ptr<void> allocateStorage(size_t bytes) {
  void *p = ::operator new(bytes, std::align_val_t{64});
  std::memset(p, 0, bytes);
  ++gLive;
  ++gTotal;
  int64_t live = gLiveBytes += (int64_t)bytes;
  for (int64_t peak = gPeakBytes.load(); live > peak && !gPeakBytes.compare_exchange_weak(peak, live);) {
  }
  return std::shared_ptr<void>(p, [bytes](void *q) {
    ::operator delete(q, std::align_val_t{64});
    --gLive;
    gLiveBytes -= (int64_t)bytes;
  });
}

/// double -> int32 conversion: truncation toward zero, saturating, NaN -> 0.
int32_t toI32(double v) {
  if (std::isnan(v)) return 0;
  if (v >= 2147483647.0) return std::numeric_limits<int32_t>::max();
  if (v <= -2147483648.0) return std::numeric_limits<int32_t>::min();
  return (int32_t)v;
}
} // namespace

Tensor Tensor::zeros(DType dtype, Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  for (int64_t d : t.shape_)
    PTL_CHECK(d >= 0, "negative extent");
  int64_t checked = checkedTensorBytes(dtype, t.shape_);
  int64_t limit = gMaxTensorBytes.load();
  if (checked < 0 || checked > limit)
    throw RuntimeFault("cannot create a tensor of type " + typeString(dtype, t.shape_) + ": it needs " +
                       (checked < 0 ? std::string("more bytes than can be counted")
                                    : std::to_string(checked) + " bytes") +
                       ", more than the limit of " + std::to_string(limit) + " bytes per tensor");
  size_t bytes = (size_t)checked;
  if (bytes > 0) {
    try {
      t.storage_ = allocateStorage(bytes);
    } catch (const std::bad_alloc &) {
      throw RuntimeFault("out of memory: cannot allocate " + std::to_string(bytes) + " bytes for a tensor of type " +
                         typeString(dtype, t.shape_));
    }
    t.data_ = t.storage_.get();
  }
  return t;
}

Tensor Tensor::view(DType dtype, Shape shape, void *data) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.data_ = data;
  return t;
}

Tensor Tensor::scalar(DType dtype, double v) {
  Tensor t = zeros(dtype, {});
  t.setDouble(0, v);
  return t;
}

double Tensor::getDouble(int64_t i) const {
  switch (dtype_) {
  case DType::F32: return static_cast<const float *>(data_)[i];
  case DType::F64: return static_cast<const double *>(data_)[i];
  case DType::I32: return static_cast<const int32_t *>(data_)[i];
  case DType::Bool: return static_cast<const uint8_t *>(data_)[i] ? 1.0 : 0.0;
  }
  return 0;
}

void Tensor::setDouble(int64_t i, double v) {
  switch (dtype_) {
  case DType::F32: static_cast<float *>(data_)[i] = (float)v; break;
  case DType::F64: static_cast<double *>(data_)[i] = v; break;
  case DType::I32: static_cast<int32_t *>(data_)[i] = toI32(v); break;
  case DType::Bool: static_cast<uint8_t *>(data_)[i] = v != 0 ? 1 : 0; break;
  }
}

Tensor Tensor::clone() const {
  Tensor t = zeros(dtype_, shape_);
  if (nbytes() > 0) std::memcpy(t.data_, data_, nbytes());
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  PTL_CHECK(numElements(shape) == numel(), "reshape changes the element count");
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

int64_t Tensor::liveAllocations() { return gLive.load(); }
int64_t Tensor::totalAllocations() { return gTotal.load(); }
int64_t Tensor::liveBytes() { return gLiveBytes.load(); }
int64_t Tensor::peakBytes() { return gPeakBytes.load(); }
void Tensor::setMaxTensorBytes(int64_t bytes) { gMaxTensorBytes = bytes <= 0 ? INT64_MAX : bytes; }
int64_t Tensor::maxTensorBytes() { return gMaxTensorBytes.load(); }
void Tensor::resetPeakBytes() { gPeakBytes = gLiveBytes.load(); }

//===----------------------------------------------------------------------===//
// NumPy-style printing
//===----------------------------------------------------------------------===//

namespace {

constexpr int kPrecision = 8;    // np.get_printoptions()['precision']
constexpr int kLineWidth = 75;   // 'linewidth'
constexpr int64_t kThreshold = 1000; // 'threshold'
constexpr int64_t kEdgeItems = 3;    // 'edgeitems'

/// Shortest round-trip digits of a finite value: value = ±d0.d1d2... × 10^exp.
struct Decimal {
  bool neg = false;
  std::string digits; // no leading zeros except for the value 0 ("0")
  int exp = 0;
};

/// Parses to_chars scientific output "[-]d[.ddd]e±XX".
Decimal parseScientific(const char *b, const char *e) {
  Decimal d;
  if (b < e && *b == '-') { d.neg = true; ++b; }
  const char *ep = std::find(b, e, 'e');
  for (const char *p = b; p < ep; ++p)
    if (*p != '.') d.digits += *p;
  d.exp = std::atoi(std::string(ep + 1, e).c_str());
  return d;
}

/// Shortest digits of `x` in its own type (float or double).
template <class T> Decimal shortest(T x) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
  return parseScientific(buf, r.ptr);
}

/// The exact value of `x` rounded to `p` significant-after-point digits in
/// scientific form (correctly rounded).
Decimal roundedScientific(double x, int p) {
  char buf[128];
  auto r = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific, p);
  return parseScientific(buf, r.ptr);
}

/// Positional form of a decimal: integer part and fractional digits.
void positionalParts(const Decimal &d, std::string &ip, std::string &fp) {
  const std::string &D = d.digits;
  if (d.exp >= 0) {
    if ((int)D.size() <= d.exp + 1) {
      ip = D + std::string(d.exp + 1 - D.size(), '0');
      fp.clear();
    } else {
      ip = D.substr(0, d.exp + 1);
      fp = D.substr(d.exp + 1);
    }
  } else {
    ip = "0";
    fp = std::string(-d.exp - 1, '0') + D;
  }
  while (!fp.empty() && fp.back() == '0') fp.pop_back();
  if (d.digits == "0") { ip = "0"; fp.clear(); }
}

/// Dragon4 positional, unique digits, at most `prec` fractional digits
/// (prec < 0: no limit), trailing zeros trimmed. Returns sign+int and frac.
template <class T> void formatPositional(T x, int prec, std::string &ip, std::string &fp) {
  Decimal d = shortest(x);
  positionalParts(d, ip, fp);
  if (prec >= 0 && (int)fp.size() > prec) {
    char buf[512];
    auto r = std::to_chars(buf, buf + sizeof buf, (double)x, std::chars_format::fixed, prec);
    std::string s(buf, r.ptr);
    if (!s.empty() && s[0] == '-') s.erase(0, 1);
    auto dot = s.find('.');
    ip = s.substr(0, dot);
    fp = dot == std::string::npos ? "" : s.substr(dot + 1);
    while (!fp.empty() && fp.back() == '0') fp.pop_back();
  }
  if (d.neg) ip = "-" + ip;
}

/// Dragon4 scientific, unique digits, at most `prec` fractional mantissa
/// digits (prec < 0: no limit), trailing zeros trimmed. Returns the mantissa
/// integer digit (with sign), fraction digits and the decimal exponent.
template <class T>
void formatScientific(T x, int prec, std::string &ip, std::string &fp, int &exp) {
  Decimal d = shortest(x);
  if (prec >= 0 && (int)d.digits.size() - 1 > prec) {
    bool neg = d.neg;
    d = roundedScientific((double)x, prec);
    d.neg = neg;
  }
  ip = (d.neg ? "-" : "") + d.digits.substr(0, 1);
  fp = d.digits.substr(1);
  while (!fp.empty() && fp.back() == '0') fp.pop_back();
  exp = d.digits == "0" ? 0 : d.exp;
}

std::string exponentString(int exp, int minDigits) {
  std::string digits = std::to_string(std::abs(exp));
  if ((int)digits.size() < minDigits) digits = std::string(minDigits - digits.size(), '0') + digits;
  return std::string(exp < 0 ? "-" : "+") + digits;
}

/// str() of a NumPy float scalar: positional with at least one fractional
/// digit when 1e-4 <= |x| < 1e16 or x == 0, otherwise scientific with
/// trailing zeros and point trimmed ("1e-05").
template <class T> std::string formatFloatScalar(T x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x < 0 ? "-inf" : "inf";
  T a = x < 0 ? -x : x;
  std::string ip, fp;
  if (a == 0 || (a < (T)1e16 && a >= (T)1e-4)) {
    formatPositional(x, -1, ip, fp);
    return ip + "." + (fp.empty() ? "0" : fp);
  }
  int exp;
  formatScientific(x, -1, ip, fp, exp);
  return ip + (fp.empty() ? "" : "." + fp) + "e" + exponentString(exp, 2);
}

/// Formats the elements of one array uniformly (NumPy's FloatingFormat,
/// IntegerFormat, BoolFormat), configured from the elements shown.
class ElementFormat {
public:
  ElementFormat(const Tensor &t, const std::vector<int64_t> &shown) : t_(t) {
    switch (t.dtype()) {
    case DType::F32: fillFloat<float>(shown); break;
    case DType::F64: fillFloat<double>(shown); break;
    case DType::I32: {
      int maxLen = 0;
      for (int64_t i : shown)
        maxLen = std::max(maxLen, (int)std::to_string(t.data<int32_t>()[i]).size());
      width_ = maxLen;
      break;
    }
    case DType::Bool: break;
    }
  }

  std::string operator()(int64_t i) const {
    switch (t_.dtype()) {
    case DType::F32: return floatElem<float>(t_.data<float>()[i]);
    case DType::F64: return floatElem<double>(t_.data<double>()[i]);
    case DType::I32: {
      std::string s = std::to_string(t_.data<int32_t>()[i]);
      return std::string(width_ - s.size(), ' ') + s;
    }
    case DType::Bool: return t_.data<uint8_t>()[i] ? " True" : "False";
    }
    return "";
  }

private:
  template <class T> void fillFloat(const std::vector<int64_t> &shown) {
    const T *p = t_.data<T>();
    bool anyFinite = false, anyNonFinite = false, negInf = false;
    T maxV = 0, minV = 0;
    bool anyNonZero = false;
    for (int64_t i : shown) {
      T x = p[i];
      if (!std::isfinite(x)) {
        anyNonFinite = true;
        if (std::isinf(x) && x < 0) negInf = true;
        continue;
      }
      anyFinite = true;
      if (x == 0) continue;
      T a = std::fabs(x);
      if (!anyNonZero) { maxV = minV = a; anyNonZero = true; }
      maxV = std::max(maxV, a);
      minV = std::min(minV, a);
    }
    if (anyNonZero &&
        (maxV >= (T)1e8 || minV < (T)0.0001 || maxV / minV > (T)1000.))
      exp_ = true;
    if (!anyFinite) {
      padLeft_ = padRight_ = 0;
      expSize_ = -1;
      exp_ = false;
    } else if (exp_) {
      int maxFrac = 0, maxExpLen = 0, maxInt = 0;
      for (int64_t i : shown) {
        T x = p[i];
        if (!std::isfinite(x)) continue;
        std::string ip, fp;
        int e;
        formatScientific(x, kPrecision, ip, fp, e);
        maxFrac = std::max(maxFrac, (int)fp.size());
        maxExpLen = std::max(maxExpLen, (int)exponentString(e, 2).size());
        maxInt = std::max(maxInt, (int)ip.size());
      }
      expSize_ = maxExpLen - 1;
      precision_ = maxFrac;
      padLeft_ = maxInt;
      padRight_ = expSize_ + 2 + precision_;
    } else {
      int maxFrac = 0, maxInt = 0;
      for (int64_t i : shown) {
        T x = p[i];
        if (!std::isfinite(x)) continue;
        std::string ip, fp;
        formatPositional(x, kPrecision, ip, fp);
        maxFrac = std::max(maxFrac, (int)fp.size());
        maxInt = std::max(maxInt, (int)ip.size());
      }
      padLeft_ = maxInt;
      padRight_ = maxFrac;
      expSize_ = -1;
    }
    if (anyNonFinite) {
      int offset = padRight_ + 1;
      padLeft_ = std::max({padLeft_, 3 - offset, 3 + (negInf ? 1 : 0) - offset});
    }
  }

  template <class T> std::string floatElem(T x) const {
    if (!std::isfinite(x)) {
      std::string r = std::isnan(x) ? "nan" : (x < 0 ? "-inf" : "inf");
      int w = padLeft_ + padRight_ + 1;
      return std::string(std::max(0, w - (int)r.size()), ' ') + r;
    }
    std::string ip, fp;
    if (exp_) {
      int e;
      formatScientific(x, kPrecision, ip, fp, e);
      fp += std::string(precision_ - fp.size(), '0');
      std::string s = ip + "." + fp + "e" + exponentString(e, expSize_);
      return std::string(std::max(0, padLeft_ - (int)ip.size()), ' ') + s;
    }
    formatPositional(x, kPrecision, ip, fp);
    return std::string(std::max(0, padLeft_ - (int)ip.size()), ' ') + ip + "." + fp +
           std::string(std::max(0, padRight_ - (int)fp.size()), ' ');
  }

  const Tensor &t_;
  bool exp_ = false;
  int padLeft_ = 0, padRight_ = 0, expSize_ = -1, precision_ = 0;
  int width_ = 0;
};

/// NumPy's _extendLine: appends `word`, wrapping when the line would exceed
/// `width` (but never wrapping a line that holds only the indent).
void extendLine(std::string &s, std::string &line, const std::string &word, int width,
                const std::string &indent) {
  bool wrap = (int)(line.size() + word.size()) > width;
  if ((int)line.size() <= (int)indent.size()) wrap = false;
  if (wrap) {
    size_t end = line.find_last_not_of(' ');
    s += (end == std::string::npos ? "" : line.substr(0, end + 1)) + "\n";
    line = indent;
  }
  line += word;
}

/// NumPy's _formatArray recursion over axes.
class ArrayPrinter {
public:
  ArrayPrinter(const Tensor &t, bool summarize) : t_(t), summarize_(summarize) {
    strides_.assign(t.rank(), 1);
    for (int64_t a = t.rank() - 2; a >= 0; --a)
      strides_[a] = strides_[a + 1] * t.shape()[a + 1];
  }

  std::string recurse(const ElementFormat &fmt, int axis, int64_t offset,
                      const std::string &indent, int width) const {
    int64_t rank = t_.rank();
    int axesLeft = (int)(rank - axis);
    std::string nextIndent = indent + " ";
    int nextWidth = width - 1;
    int64_t n = t_.shape()[axis];
    bool summary = summarize_ && 2 * kEdgeItems < n;
    int64_t leading = summary ? kEdgeItems : 0;
    int64_t trailing = summary ? kEdgeItems : n;
    int64_t stride = strides_[axis];
    std::string s;
    if (axesLeft == 1) {
      int elemWidth = width - 1; // max(len(separator.rstrip()), len(']'))
      std::string line = indent;
      for (int64_t i = 0; i < leading; ++i) {
        extendLine(s, line, fmt(offset + i * stride), elemWidth, indent);
        line += " ";
      }
      if (summary) {
        extendLine(s, line, "...", elemWidth, indent);
        line += " ";
      }
      for (int64_t i = trailing; i > 1; --i) {
        extendLine(s, line, fmt(offset + (n - i) * stride), elemWidth, indent);
        line += " ";
      }
      extendLine(s, line, fmt(offset + (n - 1) * stride), elemWidth, indent);
      s += line;
    } else {
      std::string lineSep(axesLeft - 1, '\n');
      for (int64_t i = 0; i < leading; ++i)
        s += indent + recurse(fmt, axis + 1, offset + i * stride, nextIndent, nextWidth) + lineSep;
      if (summary) s += indent + "..." + lineSep;
      for (int64_t i = trailing; i > 1; --i)
        s += indent + recurse(fmt, axis + 1, offset + (n - i) * stride, nextIndent, nextWidth) +
             lineSep;
      s += indent + recurse(fmt, axis + 1, offset + (n - 1) * stride, nextIndent, nextWidth);
    }
    return "[" + s.substr(indent.size()) + "]";
  }

  /// Flat indices of the elements that will be shown.
  void collect(int axis, int64_t offset, std::vector<int64_t> &out) const {
    if (axis == t_.rank()) {
      out.push_back(offset);
      return;
    }
    int64_t n = t_.shape()[axis];
    bool summary = summarize_ && 2 * kEdgeItems < n;
    for (int64_t i = 0; i < n; ++i) {
      if (summary && i == kEdgeItems) i = n - kEdgeItems;
      collect(axis + 1, offset + i * strides_[axis], out);
    }
  }

private:
  const Tensor &t_;
  bool summarize_;
  std::vector<int64_t> strides_;
};

} // namespace

std::string formatTensor(const Tensor &t) {
  if (t.rank() == 0) {
    switch (t.dtype()) {
    case DType::F32: return formatFloatScalar(t.data<float>()[0]);
    case DType::F64: return formatFloatScalar(t.data<double>()[0]);
    case DType::I32: return std::to_string(t.data<int32_t>()[0]);
    case DType::Bool: return t.data<uint8_t>()[0] ? "True" : "False";
    }
  }
  if (t.numel() == 0) return "[]";
  bool summarize = t.numel() > kThreshold;
  std::vector<int64_t> shown;
  ArrayPrinter printer(t, summarize);
  printer.collect(0, 0, shown);
  ElementFormat fmt(t, shown);
  return printer.recurse(fmt, 0, 0, " ", kLineWidth);
}

} // namespace ptl
