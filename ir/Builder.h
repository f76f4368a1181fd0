//===- ir/Builder.h - Creating IR ops ----------------------------------------===//
//
// A small helper that appends ops to a region at a current location, inferring
// result types from the op table's shape rules where they are derivable.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"
#include "runtime/Check.h"

#include <string>

namespace ptl::ir {

/// Appends ops to the end of a region.
class Builder {
public:
  explicit Builder(Region *region = nullptr) : region_(region) {}
  Region *region() const { return region_; }
  void setRegion(Region *r) { region_ = r; }
  void setLoc(Loc l) { loc_ = l; }
  Loc loc() const { return loc_; }

  /// Creates an op with explicit result types.
  Op *create(OpKind kind, std::vector<Value *> operands, const std::vector<Type> &resultTypes,
             AttrMap attrs = {}) {
    PTL_CHECK(region_, "builder has no insertion region");
    return region_->push(std::make_unique<Op>(kind, std::move(operands), resultTypes,
                                              std::move(attrs), loc_));
  }
  /// Creates a single-result op whose type the op table's rule infers.
  /// Returns null and sets `error` when the operand types do not fit.
  Value *tryCreate(OpKind kind, std::vector<Value *> operands, AttrMap attrs, std::string &error) {
    std::vector<Type> in, out;
    for (Value *v : operands)
      in.push_back(v->type());
    if (!inferResultTypes(kind, in, attrs, out, error))
      return nullptr;
    return create(kind, std::move(operands), out, std::move(attrs))->result(0);
  }
  /// As tryCreate, for operands already known to fit (an internal invariant).
  Value *make(OpKind kind, std::vector<Value *> operands, AttrMap attrs = {}) {
    std::string error;
    Value *v = tryCreate(kind, std::move(operands), std::move(attrs), error);
    PTL_CHECK(v, std::string("operand types do not fit the shape rule of '") + mnemonic(kind) + "': " + error);
    return v;
  }
  /// A constant filled with `v` (a splat).
  Value *constant(Type t, double v) {
    return create(OpKind::Constant, {}, {t}, {{"value", Dense{{v}}}})->result(0);
  }
  /// A scalar constant.
  Value *scalar(DType dt, double v) { return constant(Type{dt, {}}, v); }

private:
  Region *region_;
  Loc loc_;
};

} // namespace ptl::ir
