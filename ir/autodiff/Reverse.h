//===- ir/autodiff/Reverse.h - The reverse sweep over regions ----------------===//
//
// The engine of the autodiff pass: activity (which values vary with the
// differentiated inputs), the forward copy of a region with tapes on its
// loops, and the reverse sweep, with the rules for the ops that own regions
// (for, if, map) and for calls. See Autodiff.h for the overview.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Builder.h"
#include "ir/autodiff/Autodiff.h"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace ptl::ir::autodiff {

/// What differentiating a region produces.
struct RegionAdjoints {
  std::vector<Value *> args;          ///< adjoint per region argument (null = zero)
  std::map<Value *, Value *> free;    ///< adjoints of values read from outside the region
  std::vector<Value *> yields;        ///< the forward copy's yielded values
};

/// Differentiates regions within one module. One instance expands one
/// grad op; generated `grad_<fn>` functions are cached in the module.
class Differentiator {
public:
  Differentiator(Module &m, std::map<std::string, Function *> &vjps, std::vector<GradWarning> *warnings = nullptr)
      : module_(m), vjps_(vjps), warnings_(warnings) {}

  /// Marks `v` as varying with the inputs being differentiated.
  void markInput(const Value *v) {
    if (canCarryDerivative(v)) varied_.insert(v);
  }
  /// Propagates "varies with the inputs" through a region (fixpoints for loops).
  void markVaried(const Region &r);

  /// Emits, at the end of b's region, a forward copy of `r` (its arguments
  /// bound to `inputs`, outer values looked up in `map`) and the reverse
  /// sweep seeded with `seeds` (one per yielded value; null = zero).
  /// `running` gives adjoints that values read from outside `r` already
  /// have (the running sums of an enclosing loop's reverse sweep): the
  /// sweep adds onto them, and `free` returns the sums (see reverseFor).
  RegionAdjoints differentiate(Builder &b, const Region &r, const std::vector<Value *> &inputs,
                               const std::vector<Value *> &seeds, std::map<Value *, Value *> map,
                               const std::map<Value *, Value *> &running = {});

  /// True if values of this type carry derivatives (floats).
  static bool canCarryDerivative(const Value *v);

  /// What a loop's forward copy saves for its reverse sweep. Store: the
  /// carried values and every float intermediate of the body, per iteration
  /// (no recomputation). Recompute: only the carried values; the reverse
  /// loop recomputes the body (used for the outer loop of a checkpointed
  /// loop, whose segments are recomputed). The one place the policy lives.
  enum class TapePolicy { Store, Recompute };
  static TapePolicy tapePolicy(const Op &loop);

private:
  using OperandAdjoints = std::vector<std::pair<Value *, Value *>>;
  /// The adjoints accumulated so far in one sweep, by original value.
  using Adjoints = std::map<const Value *, Value *>;
  /// Where a forward loop's tape is: the original body values stacked
  /// after the carried values, in order.
  struct Tape {
    unsigned first = 0;                 ///< result index of the first tape output
    std::vector<Value *> stored;        ///< original body values stacked after the carried ones
  };
  Op *cloneForWithTape(const Op &op, Region &dest, std::map<Value *, Value *> &map);
  std::vector<Value *> variedFree(const Op &op);
  Value *zerosLike(Builder &b, const Value *v);
  void reverseFor(Builder &b, const Op &op, std::map<Value *, Value *> &map, const std::vector<Value *> &resultAdjs,
                  Adjoints &adj, OperandAdjoints &out);
  void reverseIf(Builder &b, const Op &op, std::map<Value *, Value *> &map, const std::vector<Value *> &resultAdjs,
                 OperandAdjoints &out);
  void reverseMap(Builder &b, const Op &op, std::map<Value *, Value *> &map, const std::vector<Value *> &resultAdjs,
                  OperandAdjoints &out);
  void reverseCall(Builder &b, const Op &op, std::map<Value *, Value *> &map, const std::vector<Value *> &resultAdjs,
                   OperandAdjoints &out);
  Function *vjpFunction(const std::string &callee);

  Module &module_;
  std::map<std::string, Function *> &vjps_;
  std::set<const Value *> varied_;
  std::map<const Op *, Tape> tapes_; ///< by forward loop copy
  std::vector<GradWarning> *warnings_;
  std::set<const Op *> warnedStopGrads_;
};

} // namespace ptl::ir::autodiff
