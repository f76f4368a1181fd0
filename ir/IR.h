//===- ir/IR.h - The PTL SSA tensor IR ------------------------------------===//
//
// Values, operations, regions, functions and modules. Control flow is
// structured: `for`, `if`, `map` and `grad` own single-block regions; there
// is no CFG and there are no phi nodes. Every value is a tensor of static
// dtype and shape. The IR knows nothing of PTL syntax or of LLVM.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tensor.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace ptl::ir {

/// The kinds of operation, one per row of Ops.def.
enum class OpKind : uint16_t {
#define PTL_OP(Name, mnemonic) Name,
#include "ir/Ops.def"
};
/// Number of op kinds.
constexpr int kNumOpKinds = 0
#define PTL_OP(Name, mnemonic) +1
#include "ir/Ops.def"
    ;

/// The printed name of an op kind ("add", "reduce_sum").
const char *mnemonic(OpKind k);
/// Looks an op kind up by mnemonic; returns false if there is none.
bool lookupMnemonic(const std::string &name, OpKind &out);
bool isUnaryElementwise(OpKind k);
bool isBinaryElementwise(OpKind k);
bool isComparison(OpKind k);
/// Ops with effects (print, I/O, control flow holding such ops is checked separately).
/// `call` counts as effectful here; mayHaveSideEffects() looks at the callee.
bool hasSideEffects(OpKind k);
/// Ops whose only effect is output (print, save, save_npy, train_progress):
/// copies of a computation made for differentiation leave them out, so
/// nothing is printed or written twice.
bool isOutputOnly(OpKind k);
/// `yield` and `return`.
bool isTerminator(OpKind k);

/// A tensor type: element type and static shape.
struct Type {
  DType dtype = DType::F32;
  Shape shape;
  bool operator==(const Type &o) const { return dtype == o.dtype && shape == o.shape; }
  bool operator!=(const Type &o) const { return !(*this == o); }
  bool isScalar() const { return shape.empty(); }
  /// "f32[2, 3]" / "f32".
  std::string str() const { return typeString(dtype, shape); }
};

/// A source location carried by ops: index into Module::files, line, column.
struct Loc {
  int file = -1;
  int line = 0;
  int col = 0;
  bool valid() const { return file >= 0; }
};

class Op;
class Region;
class Function;
class Module;

/// An SSA value: an op result or a region argument.
class Value {
public:
  Value(Type type, Op *def, Region *region, unsigned index)
      : type_(std::move(type)), def_(def), region_(region), index_(index) {}
  const Type &type() const { return type_; }
  void setType(Type t) { type_ = std::move(t); }
  /// The op that defines this value, or null for a region argument.
  Op *definingOp() const { return def_; }
  /// For a region argument: the region; for a result: the region of its op.
  Region *parentRegion() const { return region_; }
  /// Result number, or argument number.
  unsigned index() const { return index_; }
  bool isArgument() const { return def_ == nullptr; }
  /// An optional readable name ("x_adj"); the printer uses it when unique.
  const std::string &name() const { return name_; }
  void setName(std::string n) { name_ = std::move(n); }

private:
  friend class Op;
  friend class Region;
  Type type_;
  Op *def_;
  Region *region_;
  unsigned index_;
  std::string name_;
};

/// Dense constant data: values stored as doubles (exact for f32, i32, bool),
/// interpreted with the dtype of the op's result type.
struct Dense {
  std::vector<double> values;
  bool operator==(const Dense &o) const { return values == o.values; }
};

/// An attribute value.
using Attr = std::variant<int64_t, double, bool, std::string, std::vector<int64_t>,
                          std::vector<std::string>, Dense>;
/// Attributes, sorted by name (so printing is stable).
using AttrMap = std::map<std::string, Attr>;

/// A single-block region: arguments and a list of ops ending in a terminator.
class Region {
public:
  explicit Region(Op *parent) : parentOp_(parent) {}
  /// The op owning this region (null for a function body).
  Op *parentOp() const { return parentOp_; }
  Function *parentFunction() const { return parentFunction_; }
  void setParentFunction(Function *f) { parentFunction_ = f; }

  Value *addArgument(Type t);
  const std::vector<std::unique_ptr<Value>> &arguments() const { return args_; }
  Value *argument(unsigned i) const { return args_[i].get(); }
  unsigned numArguments() const { return (unsigned)args_.size(); }

  std::vector<std::unique_ptr<Op>> &ops() { return ops_; }
  const std::vector<std::unique_ptr<Op>> &ops() const { return ops_; }
  /// Appends an op (taking ownership); returns it.
  Op *push(std::unique_ptr<Op> op);
  /// Inserts an op before position `index`; returns it.
  Op *insert(size_t index, std::unique_ptr<Op> op);
  /// Removes the op at `index` and returns it (its results must be unused).
  std::unique_ptr<Op> take(size_t index);
  /// The position of `op` in this region (asserts that it is here).
  size_t indexOf(const Op *op) const;
  /// The last op, which must be a terminator in a verified region.
  Op *terminator() const { return ops_.empty() ? nullptr : ops_.back().get(); }

private:
  Op *parentOp_;
  Function *parentFunction_ = nullptr;
  std::vector<std::unique_ptr<Value>> args_;
  std::vector<std::unique_ptr<Op>> ops_;
};

/// An operation: kind, operands, results, attributes, regions, location.
class Op {
public:
  Op(OpKind kind, std::vector<Value *> operands, const std::vector<Type> &resultTypes,
     AttrMap attrs = {}, Loc loc = {});

  OpKind kind() const { return kind_; }
  const char *name() const { return mnemonic(kind_); }
  Loc loc() const { return loc_; }
  void setLoc(Loc l) { loc_ = l; }

  const std::vector<Value *> &operands() const { return operands_; }
  Value *operand(unsigned i) const { return operands_[i]; }
  unsigned numOperands() const { return (unsigned)operands_.size(); }
  void setOperand(unsigned i, Value *v) { operands_[i] = v; }
  /// Removes operand i.
  void eraseOperand(unsigned i) { operands_.erase(operands_.begin() + i); }
  /// Removes result i (which must have no uses); later results are renumbered.
  void eraseResult(unsigned i);

  Value *result(unsigned i = 0) const { return results_[i].get(); }
  /// Appends a result (for ops whose result types are known only after
  /// their regions are built: if, map).
  Value *addResult(Type t) {
    results_.push_back(std::make_unique<Value>(std::move(t), this, parent_, (unsigned)results_.size()));
    return results_.back().get();
  }
  unsigned numResults() const { return (unsigned)results_.size(); }
  std::vector<Value *> results() const;

  AttrMap &attrs() { return attrs_; }
  const AttrMap &attrs() const { return attrs_; }
  bool hasAttr(const std::string &k) const { return attrs_.count(k) != 0; }
  int64_t intAttr(const std::string &k, int64_t dflt = 0) const;
  double floatAttr(const std::string &k, double dflt = 0) const;
  bool boolAttr(const std::string &k, bool dflt = false) const;
  std::string strAttr(const std::string &k) const;
  std::vector<int64_t> intsAttr(const std::string &k) const;
  std::vector<std::string> strsAttr(const std::string &k) const;

  /// Adds an empty region owned by this op.
  Region *addRegion();
  Region *region(unsigned i) const { return regions_[i].get(); }
  unsigned numRegions() const { return (unsigned)regions_.size(); }

  /// The region this op sits in (set by Region::push).
  Region *parentRegion() const { return parent_; }

private:
  friend class Region;
  OpKind kind_;
  std::vector<Value *> operands_;
  std::vector<std::unique_ptr<Value>> results_;
  AttrMap attrs_;
  std::vector<std::unique_ptr<Region>> regions_;
  Loc loc_;
  Region *parent_ = nullptr;
};

/// A function: a body region whose arguments are the parameters, ending in
/// `return`.
class Function {
public:
  Function(std::string name, const std::vector<Type> &paramTypes,
           std::vector<Type> resultTypes, Loc loc = {});
  const std::string &name() const { return name_; }
  void setName(std::string n) { name_ = std::move(n); }
  Region &body() { return body_; }
  const Region &body() const { return body_; }
  const std::vector<Type> &resultTypes() const { return resultTypes_; }
  void setResultTypes(std::vector<Type> t) { resultTypes_ = std::move(t); }
  Loc loc() const { return loc_; }
  /// Free-form attributes (e.g. "source_name", "param_names").
  AttrMap &attrs() { return attrs_; }
  const AttrMap &attrs() const { return attrs_; }

private:
  std::string name_;
  Region body_{nullptr};
  std::vector<Type> resultTypes_;
  Loc loc_;
  AttrMap attrs_;
};

/// A module: source file table and functions. `main` (if present) is the
/// script's top level.
class Module {
public:
  std::vector<std::string> &files() { return files_; }
  const std::vector<std::string> &files() const { return files_; }
  /// Index of `path` in the file table, adding it if new.
  int fileIndex(const std::string &path);

  Function *addFunction(std::unique_ptr<Function> f);
  /// The function added under `name` (functions are not renamed or removed
  /// once added), or null.
  Function *lookup(const std::string &name) const;
  const std::vector<std::unique_ptr<Function>> &functions() const { return functions_; }
  std::vector<std::unique_ptr<Function>> &functions() { return functions_; }

private:
  std::vector<std::string> files_;
  std::vector<std::unique_ptr<Function>> functions_;
  std::map<std::string, Function *> byName_;
};

/// Computes the result types of an op from its operand types and attributes
/// (the op's shape rule, from the op table). For ops whose result type is
/// not derivable (constant, convert, broadcast, reshape, pad, iota, random, load*,
/// call, control flow) returns false with `error` = "explicit". On a shape
/// or dtype mismatch returns false with a message naming both shapes.
bool inferResultTypes(OpKind kind, const std::vector<Type> &operands, const AttrMap &attrs,
                      std::vector<Type> &results, std::string &error);

/// Calls `fn` on every op of `r`, recursively (an op before the ops of its regions).
void walkOps(Region &r, const std::function<void(Op &)> &fn);
/// The values `op`'s regions read but that are defined outside `op`, in
/// order of first use.
std::vector<Value *> freeValuesOf(const Op &op);
/// Replaces every use of `from` in the module by `to`.
void replaceAllUses(Module &m, Value *from, Value *to);

/// Whether a transpose's `perm` swaps the last two axes and keeps the others
/// (the transpose of a batch of matrices).
bool swapsLastTwoAxes(const std::vector<int64_t> &perm);
/// NumPy broadcasting of two shapes; returns false if incompatible.
bool broadcastShapes(const Shape &a, const Shape &b, Shape &out);

/// Whether executing `op` may have an effect: hasSideEffects(kind), or any op
/// nested in its regions, or (for `call`) any op of the callee in `m`. With
/// `m` null, or an unknown callee, a call is assumed effectful.
bool mayHaveSideEffects(const Op &op, const Module *m = nullptr);

/// The function whose body (transitively) holds `op`, or null if detached.
Function *enclosingFunction(const Op &op);
/// "op 'grad' in @main at 5:20 of source 0": an op for an internal error
/// message (runtime/Check.h); the source index is into Module::files.
std::string describeOp(const Op &op);

} // namespace ptl::ir
