//===- api/ValueData.h - What a ptl::Value holds ------------------------------===//
//
// The shared representation behind ptl::Value and the conversions between
// it and the flat tensor lists compiled code takes and returns (a model is
// its stored leaves in path order, a tuple its elements' leaves in order).
// Internal to the API library.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/Elaborator.h"
#include "ptl/ptl.hpp"

#include <memory>
#include <string>
#include <vector>

namespace ptl::detail {

struct ModuleImpl;

struct ValueData {
  HostType type;              ///< the structure (and, for models, the leaves' paths)
  Tensor tensor;              ///< Tensor
  std::vector<Value> elems;   ///< Tuple, Record
  std::vector<Tensor> leaves; ///< Model: stored leaves, in type.leaves order
  /// Model: the module that made it, which compiles its constrained reads
  /// and writes (Value::param, set_param).
  std::shared_ptr<ModuleImpl> origin;
};

/// The type of a tensor as the API describes it.
HostType tensorHostType(const Tensor &t);
/// The PTL spelling of a value's type, as a signature writes it ("f32[3]",
/// "RNN", "(f32, RNN)"); throws ptl::RuntimeError for a value that cannot be
/// passed to a function (a record, a model sub-tree).
std::string spellingOf(const Value &v, const std::string &what);
/// Appends the tensors `v` flattens to.
void flattenValue(const Value &v, std::vector<Tensor> &out);
/// Rebuilds a value of `type` from flat tensors starting at `next`.
Value unflattenValue(const HostType &type, const std::vector<Tensor> &flat, size_t &next,
                     const std::shared_ptr<ModuleImpl> &origin);
/// The API's own files' access to what a Value holds.
struct Access {
  static const ValueData &data(const Value &v) { return *v.d_; }
  static Value make(std::shared_ptr<ValueData> d) { return Value(std::move(d)); }
};
inline const ValueData &dataOf(const Value &v) { return Access::data(v); }

/// The index of model `d`'s leaf `path`; throws ptl::RuntimeError naming
/// the paths there are if it has none (or `d` is not a model).
size_t leafIndex(const ValueData &d, const std::string &path);

/// Throws ptl::RuntimeError with `message` and one location-less diagnostic.
[[noreturn]] void throwRuntime(const std::string &message);

} // namespace ptl::detail
