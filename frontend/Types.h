//===- frontend/Types.h - Semantic types of PTL values ----------------------===//
//
// The types the elaborator checks: tensors (dtype + static shape), tuples,
// model instances (a model declaration with its type arguments bound) and
// CSV records. A model type is flattened to a fixed list of stored leaves in
// declaration order (sub-models expanded in place), each with its path, its
// stored and constrained types and its transform: after elaboration a model
// value is just that list of tensors.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/AST.h"
#include "ir/IR.h"

#include <map>
#include <string>
#include <vector>

namespace ptl {
struct HostType;
}

namespace ptl::sema {

/// The bijection between a parameter's stored (unconstrained) value u and
/// the value the model reads.
struct Transform {
  enum Kind {
    Identity,
    LowerBound,  ///< constrain > c:  c + softplus(u)
    UpperBound,  ///< constrain < c:  c - softplus(u)
    Interval,    ///< constrain in (lo, hi), reparam sigmoid(lo, hi): lo + (hi - lo) sigmoid(u)
    Exp,         ///< reparam exp: exp(u)
    Softplus,    ///< reparam softplus: softplus(u)
    Ordered,     ///< constrain : ordered: cumsum([u0, exp(u1), ...]) along the last axis
    Simplex,     ///< constrain : simplex: stick-breaking along the last axis (u has one element fewer)
    Cholesky,    ///< constrain : cholesky: lower-triangular [n, n] from a packed u[n(n+1)/2], softplus diagonal
  } kind = Identity;
  double lo = 0, hi = 0;
  /// "softplus(u) + 0", recorded in save files' metadata.
  std::string describe() const;
};

/// A run-time check or projection attached to a parameter (`constrain ... check|project`).
/// Greater and Less keep their bound in `lo`.
struct Bound {
  enum Kind { None, Greater, Less, Interval, Simplex, Ordered, Cholesky } kind = None;
  ast::ConstrainSpec::Mode mode = ast::ConstrainSpec::Check;
  double lo = 0, hi = 0;
  bool closed = false;
};

struct ModelType;

/// One stored tensor of a model.
struct Leaf {
  std::string path;          ///< full path from the model root: "l1.W"
  ir::Type stored;           ///< the stored (optimiser-visible) type
  ir::Type value;            ///< the type a field read produces
  Transform transform;
  Bound bound;
  bool trainable = true;
  const ast::ParamDecl *decl = nullptr;
  const ModelType *owner = nullptr; ///< the model declaring the parameter
};

/// A model declaration with its type arguments bound.
struct ModelType {
  const ast::ModelDecl *decl = nullptr;
  std::map<std::string, int64_t> args; ///< type-parameter values (n_in = 1)
  std::string display;                 ///< "Linear(1, 40)" or "PowerLaw"
  std::vector<Leaf> leaves;            ///< every stored leaf, in order

  /// A named member: a parameter (one leaf), a sub-model (a leaf range) or a
  /// derived value (`reparam NAME = EXPR`).
  struct Member {
    enum Kind { Param, Submodel, Derived } kind;
    size_t begin = 0, end = 0;           ///< leaf range
    const ModelType *sub = nullptr;      ///< for Submodel
    const ast::DerivedDecl *derived = nullptr;
  };
  std::map<std::string, Member> members;
  std::vector<std::string> memberOrder;
  /// For a variant: the model type as declared. A sub-model whose leaves an
  /// enclosing model annotates by path (`constrain i.v > 0`) has a variant
  /// of its declared type: the same declaration and members, its leaves
  /// carrying the enclosing model's transforms, bounds and trainability, so
  /// that every read (field reads, its own methods, derived values) applies
  /// them. Null for a model type as declared.
  const ModelType *base = nullptr;
  /// The model type as declared (this one unless it is a variant).
  const ModelType *declared() const { return base ? base : this; }
};

/// A semantic type.
struct SType {
  enum Kind { Unit, Tensor, Tuple, Model, Record } kind = Unit;
  ir::Type tensor;                 ///< Tensor
  std::vector<SType> elems;        ///< Tuple, Record (field types)
  std::vector<std::string> names;  ///< Record field names
  const ModelType *model = nullptr;
  size_t leafBegin = 0, leafEnd = 0; ///< Model: the leaf range (a sub-tree of `model`)
  /// Model: the value is a tangent (a gradient, `zeros_like`, arithmetic of
  /// tangents): its leaves are in stored coordinates and carry no
  /// transforms, so field reads and `print` show them as they are. A
  /// property of the value, not of the type: ignored by `==` (a gradient
  /// and a model of one type mix in arithmetic and optimisers).
  bool tangent = false;

  static SType unit() { return {}; }
  static SType tensorOf(ir::Type t) { SType s; s.kind = Tensor; s.tensor = std::move(t); return s; }
  static SType tensorOf(DType d, Shape sh = {}) { return tensorOf(ir::Type{d, std::move(sh)}); }
  static SType tupleOf(std::vector<SType> e) { SType s; s.kind = Tuple; s.elems = std::move(e); return s; }
  static SType modelOf(const ModelType *m) {
    SType s; s.kind = Model; s.model = m; s.leafBegin = 0; s.leafEnd = m->leaves.size(); return s;
  }

  bool isTensor() const { return kind == Tensor; }
  bool isScalar() const { return kind == Tensor && tensor.shape.empty(); }
  bool isModel() const { return kind == Model; }
  /// Number of IR values a value of this type flattens to.
  size_t leafCount() const;
  /// The IR types of those values, in order.
  void flatten(std::vector<ir::Type> &out) const;
  /// "f32[3]", "(f32, f32[3])", "MLP", "Linear(1, 40)".
  std::string str() const;
  /// The type as hosts and the REPL keep it (frontend/Elaborator.h HostType).
  HostType describe() const;
  bool operator==(const SType &o) const;
  bool operator!=(const SType &o) const { return !(*this == o); }
};

/// `t` with every model in it marked as not a tangent (a generic binds a type).
SType withoutTangent(SType t);
/// Copies the tangent marks of `from` onto `to` (two equal types).
void copyTangent(SType &to, const SType &from);

} // namespace ptl::sema
