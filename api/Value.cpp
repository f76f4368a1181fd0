//===- api/Value.cpp - ptl::Value ----------------------------------------------===//
//
// Values of the embedding API: construction from tensors and scalars, access
// to tuples, records and model parameters, and flattening to (and from) the
// tensor lists compiled code takes and returns. Constrained parameter reads
// and writes are compiled by the model's module (api/Module.cpp), so they
// apply exactly PTL's transforms and checks.
//
//===----------------------------------------------------------------------===//
#include "api/ValueData.h"
#include "runtime/Check.h"

#include <algorithm>
#include <cmath>
#include <cassert>

namespace ptl {
namespace detail {

[[noreturn]] void throwRuntime(const std::string &message) {
  Diagnostic d;
  d.severity = "error";
  d.message = message;
  d.rendered = "error: " + message + "\n";
  throw RuntimeError(message, {d});
}

HostType tensorHostType(const Tensor &t) {
  HostType h;
  h.kind = HostType::Tensor;
  h.tensor = ir::Type{t.dtype(), t.shape()};
  h.spelling = typeString(t.dtype(), t.shape());
  return h;
}

std::string spellingOf(const Value &v, const std::string &what) {
  const ValueData &d = dataOf(v);
  switch (d.type.kind) {
  case HostType::Tensor: return typeString(d.tensor.dtype(), d.tensor.shape());
  case HostType::Tuple: {
    std::string s = "(";
    for (size_t i = 0; i < d.elems.size(); ++i) s += (i ? ", " : "") + spellingOf(d.elems[i], what);
    return s + (d.elems.size() == 1 ? ",)" : ")");
  }
  case HostType::Model:
    if (d.type.isSubtree())
      throwRuntime(what + ": a part of a model (a sub-tree) cannot be passed on its own");
    return d.type.spelling;
  case HostType::Record: throwRuntime(what + ": a record (what load_csv gives) cannot be passed to a function");
  case HostType::Unit: throwRuntime(what + ": the unit value () cannot be passed to a function");
  }
  return "";
}

void flattenValue(const Value &v, std::vector<Tensor> &out) {
  const ValueData &d = dataOf(v);
  switch (d.type.kind) {
  case HostType::Tensor: out.push_back(d.tensor); break;
  case HostType::Model: out.insert(out.end(), d.leaves.begin(), d.leaves.end()); break;
  case HostType::Tuple:
  case HostType::Record:
    for (const Value &e : d.elems) flattenValue(e, out);
    break;
  case HostType::Unit: break;
  }
}

Value unflattenValue(const HostType &type, const std::vector<Tensor> &flat, size_t &next,
                     const std::shared_ptr<ModuleImpl> &origin) {
  auto d = std::make_shared<ValueData>();
  d->type = type;
  switch (type.kind) {
  case HostType::Unit: break;
  case HostType::Tensor: d->tensor = flat.at(next++); break;
  case HostType::Model:
    // Functions return whole models (a sub-tree does not match a declared
    // model type), so a model value's leaves are all of its type's.
    PTL_CHECK(!type.isSubtree(), "a function result is a whole model");
    for (size_t i = 0; i < type.leaves.size(); ++i) d->leaves.push_back(flat.at(next++));
    d->origin = origin;
    break;
  case HostType::Tuple:
  case HostType::Record:
    for (const HostType &e : type.elems) d->elems.push_back(unflattenValue(e, flat, next, origin));
    break;
  }
  return Access::make(d);
}

/// The index of a model's leaf `path`; throws naming the paths there are.
size_t leafIndex(const ValueData &d, const std::string &path) {
  if (d.type.kind != HostType::Model) throwRuntime("'" + path + "': the value is not a model");
  for (size_t i = 0; i < d.type.leaves.size(); ++i)
    if (d.type.leaves[i].path == path) return i;
  std::string have;
  for (size_t i = 0; i < d.type.leaves.size(); ++i) have += (i ? ", " : "") + d.type.leaves[i].path;
  throwRuntime(d.type.spelling + " has no parameter '" + path + "' (it has " + have + ")");
}

} // namespace detail

using detail::ValueData;

namespace {
std::shared_ptr<ValueData> tensorData(Tensor t) {
  auto d = std::make_shared<ValueData>();
  d->type = detail::tensorHostType(t);
  d->tensor = std::move(t);
  return d;
}

} // namespace

Value::Value() : d_(std::make_shared<ValueData>()) {}
Value::Value(Tensor t) : d_(tensorData(std::move(t))) {}
Value::Value(float x) : Value(Tensor::scalar(DType::F32, x)) {}
Value::Value(double x) : Value(Tensor::scalar(DType::F64, x)) {}
Value::Value(int32_t x) : Value(Tensor::scalar(DType::I32, x)) {}

Value Value::tuple(std::vector<Value> elements) {
  auto d = std::make_shared<ValueData>();
  d->type.kind = HostType::Tuple;
  for (const Value &e : elements) d->type.elems.push_back(e.d_->type);
  d->elems = std::move(elements);
  return detail::Access::make(d);
}

Value::Kind Value::kind() const {
  switch (d_->type.kind) {
  case HostType::Unit: return Kind::Unit;
  case HostType::Tensor: return Kind::Tensor;
  case HostType::Tuple: return Kind::Tuple;
  case HostType::Model: return Kind::Model;
  case HostType::Record: return Kind::Record;
  }
  return Kind::Unit;
}

std::string Value::type() const {
  switch (d_->type.kind) {
  case HostType::Unit: return "()";
  case HostType::Tensor: return typeString(d_->tensor.dtype(), d_->tensor.shape());
  case HostType::Model: return d_->type.spelling;
  case HostType::Tuple:
  case HostType::Record: {
    bool record = d_->type.kind == HostType::Record;
    std::string s = record ? "{" : "(";
    for (size_t i = 0; i < d_->elems.size(); ++i)
      s += (i ? ", " : "") + (record ? d_->type.names[i] + ": " : std::string()) + d_->elems[i].type();
    return s + (record ? "}" : ")");
  }
  }
  return "?";
}

const Tensor &Value::tensor() const {
  if (d_->type.kind != HostType::Tensor) detail::throwRuntime("the value is " + type() + ", not a tensor");
  return d_->tensor;
}

size_t Value::size() const { return d_->elems.size(); }

const Value &Value::operator[](size_t i) const {
  if (i >= d_->elems.size())
    detail::throwRuntime("element " + std::to_string(i) + " of " + type() + ": out of range");
  return d_->elems[i];
}

const Value &Value::field(const std::string &name) const {
  if (d_->type.kind == HostType::Record)
    for (size_t i = 0; i < d_->type.names.size(); ++i)
      if (d_->type.names[i] == name) return d_->elems[i];
  detail::throwRuntime(type() + " has no field '" + name + "'");
}

std::vector<std::string> Value::paths() const {
  if (d_->type.kind != HostType::Model) detail::throwRuntime("the value is " + type() + ", not a model");
  std::vector<std::string> out;
  for (const HostType::Leaf &l : d_->type.leaves) out.push_back(l.path);
  return out;
}

Tensor Value::raw(const std::string &path) const { return d_->leaves[detail::leafIndex(*d_, path)]; }

bool Value::trainable(const std::string &path) const { return d_->type.leaves[detail::leafIndex(*d_, path)].trainable; }

void Value::set_raw(const std::string &path, const Tensor &value) {
  size_t i = detail::leafIndex(*d_, path);
  const ir::Type &want = d_->type.leaves[i].stored;
  if (value.dtype() != want.dtype || value.shape() != want.shape)
    detail::throwRuntime("set_raw('" + path + "'): the stored tensor is " + want.str() + ", got " +
                         typeString(value.dtype(), value.shape()));
  // A transformed leaf's stored value is validated like an initial value
  // (docs/language.md): every finite u reads inside the domain; NaN and
  // infinities never do.
  if (!d_->type.leaves[i].transform.empty())
    for (int64_t k = 0; k < value.numel(); ++k)
      if (!std::isfinite(value.getDouble(k)))
        detail::throwRuntime("set_raw('" + path + "'): value outside the parameter's domain: the stored value of a " +
                             d_->type.leaves[i].transform + " parameter must be finite, got " +
                             std::to_string(value.getDouble(k)) + " at flat index " + std::to_string(k));
  // Copy-on-write: values share their data, so give this one its own list.
  auto d = std::make_shared<ValueData>(*d_);
  d->leaves[i] = value;
  d_ = d;
}

} // namespace ptl
