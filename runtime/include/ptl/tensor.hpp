//===- ptl/tensor.hpp - Dense host tensors (public) -------------------------===//
//
// Element types, shapes and a reference-counted, contiguous, row-major tensor:
// the value type of the reference interpreter, of compiled code's arguments
// and results, and of the C++ embedding API (<ptl/ptl.hpp>). A tensor owns
// its storage or views host memory without copying it. Needs only the
// standard library; the runtime knows nothing of the compiler.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace ptl {

/// The element types of PTL tensors.
enum class DType : uint8_t { F32, F64, I32, Bool };

/// The spelling of a dtype in source and IR: "f32", "f64", "i32", "bool".
const char *dtypeName(DType t);
/// Parses "f32" etc.; returns false if the name is not an element type.
bool parseDType(const std::string &name, DType &out);
/// Bytes per element (bool is stored as one byte).
size_t dtypeSize(DType t);
inline bool isFloat(DType t) { return t == DType::F32 || t == DType::F64; }

/// The dtype of a C++ element type: float f32, double f64, int32_t i32, bool bool.
template <class T> constexpr DType dtypeOf() {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, int32_t> ||
                    std::is_same_v<T, bool>,
                "PTL tensors hold float, double, int32_t or bool");
  if constexpr (std::is_same_v<T, float>) return DType::F32;
  else if constexpr (std::is_same_v<T, double>) return DType::F64;
  else if constexpr (std::is_same_v<T, int32_t>) return DType::I32;
  else return DType::Bool;
}

/// A static shape: one extent per axis, outermost first. Rank 0 is a scalar.
using Shape = std::vector<int64_t>;

/// Number of elements of a shape (1 for a scalar).
int64_t numElements(const Shape &s);
/// Bytes a tensor of this type holds, or -1 if a dimension is negative or
/// the count overflows int64.
int64_t checkedTensorBytes(DType t, const Shape &s);
/// "[64, 4]" (or "[]" for a scalar).
std::string shapeString(const Shape &s);
/// "f32[64, 4]" or "f32" for a scalar.
std::string typeString(DType t, const Shape &s);

/// A dense row-major tensor. Copying a Tensor shares its storage; use clone()
/// for a deep copy. Storage may also be a non-owning view of host memory.
class Tensor {
public:
  Tensor() = default;
  /// A zero-filled tensor.
  static Tensor zeros(DType dtype, Shape shape);
  /// A tensor viewing caller-owned memory (not copied, not freed).
  static Tensor view(DType dtype, Shape shape, void *data);
  /// A scalar holding `v` converted to `dtype`.
  static Tensor scalar(DType dtype, double v);

  /// A tensor of `shape` holding a copy of the numel(shape) elements at `data`.
  template <class T> static Tensor from(const T *data, Shape shape) {
    Tensor t = zeros(dtypeOf<T>(), std::move(shape));
    std::copy(data, data + t.numel(), t.data<T>());
    return t;
  }
  /// A copy of `data` seen with `shape` (throws std::invalid_argument if the
  /// element count differs).
  template <class T> static Tensor from(const std::vector<T> &data, Shape shape) {
    if ((int64_t)data.size() != numElements(shape))
      throw std::invalid_argument("Tensor::from: " + std::to_string(data.size()) + " elements for shape " +
                                  shapeString(shape));
    return from(data.data(), std::move(shape));
  }
  /// A tensor viewing host memory: no copy; `data` must outlive every use.
  /// Compiled functions never write their arguments, so a view of const
  /// data may be passed to them.
  template <class T> static Tensor view(const T *data, Shape shape) {
    return view(dtypeOf<T>(), std::move(shape), const_cast<T *>(data));
  }

  /// The single element of a one-element tensor, converted to T (throws
  /// std::invalid_argument if the tensor has another number of elements).
  template <class T> T scalar() const {
    if (numel() != 1)
      throw std::invalid_argument("scalar(): the tensor is " + typeString(dtype_, shape_) + ", not one element");
    return static_cast<T>(getDouble(0));
  }
  /// The elements, row-major, converted to T.
  template <class T> std::vector<T> toVector() const {
    std::vector<T> out((size_t)numel());
    for (int64_t i = 0; i < numel(); ++i) out[(size_t)i] = static_cast<T>(getDouble(i));
    return out;
  }

  DType dtype() const { return dtype_; }
  const Shape &shape() const { return shape_; }
  int64_t rank() const { return (int64_t)shape_.size(); }
  int64_t numel() const { return numElements(shape_); }
  size_t nbytes() const { return (size_t)numel() * dtypeSize(dtype_); }
  bool valid() const { return data_ != nullptr || numel() == 0; }

  void *raw() { return data_; }
  const void *raw() const { return data_; }
  template <class T> T *data() { return static_cast<T *>(data_); }
  template <class T> const T *data() const { return static_cast<const T *>(data_); }

  /// Element i (flat index) converted to double.
  double getDouble(int64_t i) const;
  /// Sets element i (flat index) from a double, converting to the dtype.
  void setDouble(int64_t i, double v);

  /// Points a view at other memory of the same type and shape (for callers
  /// that reuse one view object instead of making a new one per use).
  void rebind(void *data) {
    storage_.reset();
    data_ = data;
  }

  /// A deep copy with its own storage.
  Tensor clone() const;
  /// The same storage seen with another shape of equal element count.
  Tensor reshaped(Shape shape) const;

  /// Number of live heap allocations made by tensors (for tests).
  static int64_t liveAllocations();
  /// Total allocations ever made by tensors (for tests).
  static int64_t totalAllocations();
  /// Bytes of tensor storage alive now, and the most alive at once since
  /// the last resetPeakBytes() (for memory tests such as checkpointing).
  static int64_t liveBytes();
  static int64_t peakBytes();
  static void resetPeakBytes();

  /// The most bytes one tensor may hold (process-wide; unlimited by
  /// default). Creating a larger one, or one whose size overflows, throws
  /// ptl::RuntimeFault naming its type instead of attempting the
  /// allocation; an allocation the system refuses (std::bad_alloc) is
  /// reported the same way. `ptlc --max-tensor-bytes` sets it.
  static void setMaxTensorBytes(int64_t bytes);
  static int64_t maxTensorBytes();

private:
  DType dtype_ = DType::F32;
  Shape shape_;
  std::shared_ptr<void> storage_;
  void *data_ = nullptr;
};

/// Formats a tensor like NumPy does (`[[1. 2.]\n [3. 4.]]`, scalars bare).
std::string formatTensor(const Tensor &t);

} // namespace ptl
