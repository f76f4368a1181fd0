//===- ir/IR.cpp - The PTL SSA tensor IR ----------------------------------===//
//
// Op-kind tables generated from Ops.def, the IR containers, attribute
// accessors and the shape rule (`inferResultTypes`) of every op whose result
// types follow from its operands and attributes.
//
//===----------------------------------------------------------------------===//
#include "ir/IR.h"
#include "runtime/Check.h"

#include <algorithm>
#include <set>
#include <tuple>
#include <unordered_map>

namespace ptl::ir {

//===----------------------------------------------------------------------===//
// Op-kind tables
//===----------------------------------------------------------------------===//

static const char *const kMnemonics[] = {
#define PTL_OP(Name, mnemonic) mnemonic,
#include "ir/Ops.def"
};

const char *mnemonic(OpKind k) {
  auto i = static_cast<size_t>(k);
  PTL_CHECK(i < static_cast<size_t>(kNumOpKinds), "bad op kind");
  return kMnemonics[i];
}

bool lookupMnemonic(const std::string &name, OpKind &out) {
  static const std::unordered_map<std::string, OpKind> table = [] {
    std::unordered_map<std::string, OpKind> t;
    for (int i = 0; i < kNumOpKinds; ++i)
      t.emplace(kMnemonics[i], static_cast<OpKind>(i));
    return t;
  }();
  auto it = table.find(name);
  if (it == table.end())
    return false;
  out = it->second;
  return true;
}

bool isUnaryElementwise(OpKind k) {
  switch (k) {
#define PTL_OP(Name, mnemonic)
#define PTL_UNARY_OP(Name, mnemonic) case OpKind::Name:
#include "ir/Ops.def"
    return true;
  default:
    return false;
  }
}

bool isBinaryElementwise(OpKind k) {
  switch (k) {
#define PTL_OP(Name, mnemonic)
#define PTL_BINARY_OP(Name, mnemonic) case OpKind::Name:
#include "ir/Ops.def"
    return true;
  default:
    return false;
  }
}

bool isComparison(OpKind k) {
  switch (k) {
#define PTL_OP(Name, mnemonic)
#define PTL_COMPARE_OP(Name, mnemonic) case OpKind::Name:
#include "ir/Ops.def"
    return true;
  default:
    return false;
  }
}

bool isOutputOnly(OpKind k) {
  return k == OpKind::Print || k == OpKind::Save || k == OpKind::SaveNpy || k == OpKind::TrainProgress ||
         k == OpKind::TrainNonfinite;
}

bool hasSideEffects(OpKind k) {
  switch (k) {
  case OpKind::Print:
  case OpKind::SaveNpy:
  case OpKind::Save:
  case OpKind::LoadNpy:
  case OpKind::LoadCsv:
  case OpKind::Load:
  case OpKind::TrainProgress:
  case OpKind::TrainNonfinite:
  case OpKind::CheckBounds: // may stop the run: never removed, never merged
  case OpKind::Call: // conservatively; mayHaveSideEffects looks at the callee
    return true;
  default:
    return false;
  }
}

bool isTerminator(OpKind k) { return k == OpKind::Yield || k == OpKind::Return; }

static bool mayHaveSideEffectsImpl(const Op &op, const Module *m, std::set<const Function *> &seen);

static bool regionMayHaveSideEffects(const Region &r, const Module *m,
                                     std::set<const Function *> &seen) {
  for (const auto &o : r.ops())
    if (mayHaveSideEffectsImpl(*o, m, seen))
      return true;
  return false;
}

static bool mayHaveSideEffectsImpl(const Op &op, const Module *m, std::set<const Function *> &seen) {
  if (op.kind() == OpKind::Call) {
    if (!m)
      return true;
    const Function *f = m->lookup(op.strAttr("callee"));
    if (!f)
      return true;
    if (!seen.insert(f).second)
      return false; // already being examined (recursion is rejected elsewhere)
    return regionMayHaveSideEffects(f->body(), m, seen);
  }
  if (hasSideEffects(op.kind()))
    return true;
  for (unsigned i = 0; i < op.numRegions(); ++i)
    if (regionMayHaveSideEffects(*op.region(i), m, seen))
      return true;
  return false;
}

bool mayHaveSideEffects(const Op &op, const Module *m) {
  std::set<const Function *> seen;
  return mayHaveSideEffectsImpl(op, m, seen);
}

//===----------------------------------------------------------------------===//
// Containers
//===----------------------------------------------------------------------===//

Value *Region::addArgument(Type t) {
  args_.push_back(std::make_unique<Value>(std::move(t), nullptr, this, (unsigned)args_.size()));
  return args_.back().get();
}

Op *Region::push(std::unique_ptr<Op> op) {
  op->parent_ = this;
  for (auto &r : op->results_)
    r->region_ = this;
  ops_.push_back(std::move(op));
  return ops_.back().get();
}

void walkOps(Region &r, const std::function<void(Op &)> &fn) {
  for (auto &op : r.ops()) {
    fn(*op);
    for (unsigned i = 0; i < op->numRegions(); ++i) walkOps(*op->region(i), fn);
  }
}

std::vector<Value *> freeValuesOf(const Op &op) {
  std::set<const Value *> inside;
  std::function<void(const Region &)> defs = [&](const Region &r) {
    for (const auto &a : r.arguments()) inside.insert(a.get());
    for (const auto &o : r.ops()) {
      for (unsigned i = 0; i < o->numResults(); ++i) inside.insert(o->result(i));
      for (unsigned i = 0; i < o->numRegions(); ++i) defs(*o->region(i));
    }
  };
  std::vector<Value *> out;
  std::set<const Value *> seen;
  std::function<void(const Region &)> uses = [&](const Region &r) {
    for (const auto &o : r.ops()) {
      for (Value *v : o->operands())
        if (!inside.count(v) && seen.insert(v).second) out.push_back(v);
      for (unsigned i = 0; i < o->numRegions(); ++i) uses(*o->region(i));
    }
  };
  for (unsigned i = 0; i < op.numRegions(); ++i) defs(*op.region(i));
  for (unsigned i = 0; i < op.numRegions(); ++i) uses(*op.region(i));
  return out;
}

void replaceAllUses(Module &m, Value *from, Value *to) {
  for (auto &f : m.functions())
    walkOps(f->body(), [&](Op &op) {
      for (unsigned i = 0; i < op.numOperands(); ++i)
        if (op.operand(i) == from) op.setOperand(i, to);
    });
}

void Op::eraseResult(unsigned i) {
  PTL_CHECK(i < results_.size(), "result " + std::to_string(i) + " of " + describeOp(*this));
  results_.erase(results_.begin() + i);
  for (unsigned k = i; k < results_.size(); ++k)
    results_[k]->index_ = k;
}

Op *Region::insert(size_t index, std::unique_ptr<Op> op) {
  PTL_CHECK(index <= ops_.size(), "insertion point past the end of a region");
  op->parent_ = this;
  for (auto &r : op->results_)
    r->region_ = this;
  ops_.insert(ops_.begin() + (std::ptrdiff_t)index, std::move(op));
  return ops_[index].get();
}

std::unique_ptr<Op> Region::take(size_t index) {
  PTL_CHECK(index < ops_.size(), "op index past the end of a region");
  std::unique_ptr<Op> op = std::move(ops_[index]);
  ops_.erase(ops_.begin() + (std::ptrdiff_t)index);
  op->parent_ = nullptr;
  return op;
}

size_t Region::indexOf(const Op *op) const {
  for (size_t i = 0; i < ops_.size(); ++i)
    if (ops_[i].get() == op) return i;
  PTL_UNREACHABLE("op is not in this region");
  return ops_.size();
}

Op::Op(OpKind kind, std::vector<Value *> operands, const std::vector<Type> &resultTypes,
       AttrMap attrs, Loc loc)
    : kind_(kind), operands_(std::move(operands)), attrs_(std::move(attrs)), loc_(loc) {
  for (unsigned i = 0; i < resultTypes.size(); ++i)
    results_.push_back(std::make_unique<Value>(resultTypes[i], this, nullptr, i));
}

std::vector<Value *> Op::results() const {
  std::vector<Value *> out;
  out.reserve(results_.size());
  for (const auto &r : results_)
    out.push_back(r.get());
  return out;
}

int64_t Op::intAttr(const std::string &k, int64_t dflt) const {
  auto it = attrs_.find(k);
  if (it == attrs_.end())
    return dflt;
  if (auto *b = std::get_if<bool>(&it->second))
    return *b ? 1 : 0;
  PTL_CHECK(std::holds_alternative<int64_t>(it->second), "attribute '" + k + "' of " + describeOp(*this) + " is not an integer");
  return std::get<int64_t>(it->second);
}

double Op::floatAttr(const std::string &k, double dflt) const {
  auto it = attrs_.find(k);
  if (it == attrs_.end())
    return dflt;
  if (auto *i = std::get_if<int64_t>(&it->second))
    return (double)*i;
  PTL_CHECK(std::holds_alternative<double>(it->second), "attribute '" + k + "' of " + describeOp(*this) + " is not a float");
  return std::get<double>(it->second);
}

bool Op::boolAttr(const std::string &k, bool dflt) const {
  auto it = attrs_.find(k);
  if (it == attrs_.end())
    return dflt;
  PTL_CHECK(std::holds_alternative<bool>(it->second), "attribute '" + k + "' of " + describeOp(*this) + " is not a bool");
  return std::get<bool>(it->second);
}

std::string Op::strAttr(const std::string &k) const {
  auto it = attrs_.find(k);
  if (it == attrs_.end())
    return {};
  PTL_CHECK(std::holds_alternative<std::string>(it->second), "attribute '" + k + "' of " + describeOp(*this) + " is not a string");
  return std::get<std::string>(it->second);
}

std::vector<int64_t> Op::intsAttr(const std::string &k) const {
  auto it = attrs_.find(k);
  if (it == attrs_.end())
    return {};
  // An empty list of strings prints differently, but accept it as empty ints.
  if (auto *s = std::get_if<std::vector<std::string>>(&it->second)) {
    PTL_CHECK(s->empty(), "attribute '" + k + "' of " + describeOp(*this) + " is not a list of integers");
    return {};
  }
  PTL_CHECK(std::holds_alternative<std::vector<int64_t>>(it->second), "attribute '" + k + "' of " + describeOp(*this) + " is not a list of integers");
  return std::get<std::vector<int64_t>>(it->second);
}

std::vector<std::string> Op::strsAttr(const std::string &k) const {
  auto it = attrs_.find(k);
  if (it == attrs_.end())
    return {};
  if (auto *v = std::get_if<std::vector<int64_t>>(&it->second)) {
    PTL_CHECK(v->empty(), "attribute '" + k + "' of " + describeOp(*this) + " is not a list of strings");
    return {};
  }
  PTL_CHECK(std::holds_alternative<std::vector<std::string>>(it->second), "attribute '" + k + "' of " + describeOp(*this) + " is not a list of strings");
  return std::get<std::vector<std::string>>(it->second);
}

Region *Op::addRegion() {
  regions_.push_back(std::make_unique<Region>(this));
  return regions_.back().get();
}

Function::Function(std::string name, const std::vector<Type> &paramTypes,
                   std::vector<Type> resultTypes, Loc loc)
    : name_(std::move(name)), resultTypes_(std::move(resultTypes)), loc_(loc) {
  body_.setParentFunction(this);
  for (const Type &t : paramTypes)
    body_.addArgument(t);
}

int Module::fileIndex(const std::string &path) {
  for (size_t i = 0; i < files_.size(); ++i)
    if (files_[i] == path)
      return (int)i;
  files_.push_back(path);
  return (int)files_.size() - 1;
}

Function *Module::addFunction(std::unique_ptr<Function> f) {
  PTL_CHECK(!lookup(f->name()), "duplicate function @" + f->name());
  functions_.push_back(std::move(f));
  Function *p = functions_.back().get();
  byName_[p->name()] = p;
  return p;
}

Function *Module::lookup(const std::string &name) const {
  // By the name it was added with (a linear scan made compiling a program of
  // many specialisations quadratic); the name check catches a later rename.
  auto it = byName_.find(name);
  return it != byName_.end() && it->second->name() == name ? it->second : nullptr;
}

Function *enclosingFunction(const Op &op) {
  const Region *r = op.parentRegion();
  while (r && r->parentOp())
    r = r->parentOp()->parentRegion();
  return r ? r->parentFunction() : nullptr;
}

std::string describeOp(const Op &op) {
  std::string s = std::string("op '") + op.name() + "'";
  if (const Function *f = enclosingFunction(op)) s += " in @" + f->name();
  if (op.loc().valid())
    s += " at " + std::to_string(op.loc().line) + ":" + std::to_string(op.loc().col) + " of source " +
         std::to_string(op.loc().file);
  return s;
}

//===----------------------------------------------------------------------===//
// Shape rules
//===----------------------------------------------------------------------===//

bool swapsLastTwoAxes(const std::vector<int64_t> &perm) {
  size_t r = perm.size();
  if (r < 2)
    return false;
  for (size_t i = 0; i + 2 < r; ++i)
    if (perm[i] != (int64_t)i)
      return false;
  return perm[r - 2] == (int64_t)(r - 1) && perm[r - 1] == (int64_t)(r - 2);
}

bool broadcastShapes(const Shape &a, const Shape &b, Shape &out) {
  size_t n = std::max(a.size(), b.size());
  Shape r(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da == db || db == 1)
      r[i] = da;
    else if (da == 1)
      r[i] = db;
    else
      return false;
  }
  out = std::move(r);
  return true;
}

namespace {

/// Shape-rule context: names the op in every message.
struct Rule {
  OpKind kind;
  const std::vector<Type> &in;
  const AttrMap &attrs;
  std::vector<Type> &out;
  std::string &error;

  bool fail(const std::string &msg) {
    error = std::string(mnemonic(kind)) + ": " + msg;
    return false;
  }
  bool operands(size_t n) {
    if (in.size() != n)
      return fail("expected " + std::to_string(n) + " operand" + (n == 1 ? "" : "s") + ", got " +
                  std::to_string(in.size()));
    return true;
  }
  bool result(Type t) {
    out.push_back(std::move(t));
    return true;
  }
  static bool numeric(DType d) { return d != DType::Bool; }

  /// Reads an integer attribute; `required` makes a missing one an error.
  bool intA(const char *name, int64_t &v, bool required, int64_t dflt = 0) {
    auto it = attrs.find(name);
    if (it == attrs.end()) {
      if (required)
        return fail(std::string("missing attribute '") + name + "'");
      v = dflt;
      return true;
    }
    if (!std::holds_alternative<int64_t>(it->second))
      return fail(std::string("attribute '") + name + "' must be an integer");
    v = std::get<int64_t>(it->second);
    return true;
  }
  bool boolA(const char *name, bool &v) {
    auto it = attrs.find(name);
    if (it == attrs.end()) {
      v = false;
      return true;
    }
    if (!std::holds_alternative<bool>(it->second))
      return fail(std::string("attribute '") + name + "' must be a bool");
    v = std::get<bool>(it->second);
    return true;
  }
  bool intsA(const char *name, std::vector<int64_t> &v, bool required) {
    auto it = attrs.find(name);
    if (it == attrs.end()) {
      if (required)
        return fail(std::string("missing attribute '") + name + "'");
      v.clear();
      return true;
    }
    if (auto *s = std::get_if<std::vector<std::string>>(&it->second); s && s->empty()) {
      v.clear();
      return true;
    }
    if (!std::holds_alternative<std::vector<int64_t>>(it->second))
      return fail(std::string("attribute '") + name + "' must be a list of integers");
    v = std::get<std::vector<int64_t>>(it->second);
    return true;
  }
  bool strsA(const char *name, std::vector<std::string> &v, bool required) {
    auto it = attrs.find(name);
    if (it == attrs.end()) {
      if (required)
        return fail(std::string("missing attribute '") + name + "'");
      v.clear();
      return true;
    }
    if (auto *s = std::get_if<std::vector<int64_t>>(&it->second); s && s->empty()) {
      v.clear();
      return true;
    }
    if (!std::holds_alternative<std::vector<std::string>>(it->second))
      return fail(std::string("attribute '") + name + "' must be a list of strings");
    v = std::get<std::vector<std::string>>(it->second);
    return true;
  }
  bool strA(const char *name, bool required) {
    auto it = attrs.find(name);
    if (it == attrs.end())
      return required ? fail(std::string("missing attribute '") + name + "'") : true;
    if (!std::holds_alternative<std::string>(it->second))
      return fail(std::string("attribute '") + name + "' must be a string");
    return true;
  }
  /// An axis attribute in [0, rank).
  bool axisA(const char *name, const Type &t, int64_t rank, int64_t &axis) {
    if (!intA(name, axis, true))
      return false;
    if (axis < 0 || axis >= rank)
      return fail("axis " + std::to_string(axis) + " out of range for " + t.str());
    return true;
  }

  bool unary() {
    if (!operands(1))
      return false;
    const Type &x = in[0];
    switch (kind) {
    case OpKind::Not:
      if (x.dtype != DType::Bool)
        return fail("expected a bool operand, got " + x.str());
      break;
    case OpKind::Neg:
    case OpKind::Abs:
    case OpKind::Sign:
      if (!numeric(x.dtype))
        return fail("expected an f32, f64 or i32 operand, got " + x.str());
      break;
    default:
      if (!isFloat(x.dtype))
        return fail("expected a float operand, got " + x.str());
    }
    return result(x);
  }

  /// Broadcasts all operand shapes; equal dtypes are checked by the caller.
  bool broadcastAll(size_t first, Shape &shape) {
    shape = in[first].shape;
    for (size_t i = first + 1; i < in.size(); ++i) {
      Shape s;
      if (!broadcastShapes(shape, in[i].shape, s)) {
        // Name the first operand shape that clashes with this one.
        for (size_t j = first; j < i; ++j)
          if (!broadcastShapes(in[j].shape, in[i].shape, s))
            return fail("cannot broadcast " + in[j].str() + " and " + in[i].str());
        return fail("cannot broadcast " + Type{in[first].dtype, shape}.str() + " and " +
                    in[i].str());
      }
      shape = std::move(s);
    }
    return true;
  }
  bool sameDType(size_t a, size_t b) {
    if (in[a].dtype != in[b].dtype)
      return fail("element types differ: " + in[a].str() + " and " + in[b].str());
    return true;
  }

  bool binary() {
    if (!operands(2) || !sameDType(0, 1))
      return false;
    DType d = in[0].dtype;
    if (kind == OpKind::And || kind == OpKind::Or) {
      if (d != DType::Bool)
        return fail("expected bool operands, got " + in[0].str() + " and " + in[1].str());
    } else if (!numeric(d)) {
      return fail("expected numeric operands, got " + in[0].str() + " and " + in[1].str());
    }
    Shape s;
    if (!broadcastAll(0, s))
      return false;
    return result(Type{d, s});
  }

  bool compare() {
    if (!operands(2) || !sameDType(0, 1))
      return false;
    bool ordered = kind != OpKind::Eq && kind != OpKind::Ne;
    if (ordered && !numeric(in[0].dtype))
      return fail("expected numeric operands, got " + in[0].str() + " and " + in[1].str());
    Shape s;
    if (!broadcastAll(0, s))
      return false;
    return result(Type{DType::Bool, s});
  }

  bool reduce() {
    if (!operands(1))
      return false;
    const Type &x = in[0];
    bool needFloat = kind == OpKind::ReduceMean || kind == OpKind::LogSumExp;
    if (needFloat ? !isFloat(x.dtype) : !numeric(x.dtype))
      return fail(std::string("expected a ") + (needFloat ? "float" : "numeric") +
                  " operand, got " + x.str());
    std::vector<int64_t> axes;
    bool keep;
    if (!intsA("axes", axes, false) || !boolA("keepdims", keep))
      return false;
    int64_t r = (int64_t)x.shape.size();
    std::vector<bool> reduced(r, axes.empty());
    for (int64_t a : axes) {
      if (a < 0 || a >= r)
        return fail("axis " + std::to_string(a) + " out of range for " + x.str());
      if (reduced[a])
        return fail("axis " + std::to_string(a) + " repeated");
      reduced[a] = true;
    }
    Shape s;
    for (int64_t i = 0; i < r; ++i) {
      if (!reduced[i])
        s.push_back(x.shape[i]);
      else if (keep)
        s.push_back(1);
    }
    return result(Type{x.dtype, s});
  }

  bool argmax() {
    if (!operands(1))
      return false;
    const Type &x = in[0];
    if (!numeric(x.dtype))
      return fail("expected a numeric operand, got " + x.str());
    int64_t axis;
    bool keep;
    if (!intA("axis", axis, true) || !boolA("keepdims", keep))
      return false;
    int64_t r = (int64_t)x.shape.size();
    Shape s;
    if (axis == -1) {
      if (keep)
        s.assign(r, 1);
    } else {
      if (axis < 0 || axis >= r)
        return fail("axis " + std::to_string(axis) + " out of range for " + x.str());
      for (int64_t i = 0; i < r; ++i) {
        if (i != axis)
          s.push_back(x.shape[i]);
        else if (keep)
          s.push_back(1);
      }
    }
    return result(Type{DType::I32, s});
  }

  bool matmul() {
    if (!operands(2))
      return false;
    // transpose_a / transpose_b: the operand holds the transpose (last two
    // axes swapped) of the matrix multiplied (made by fold-transpose)
    bool ta, tb;
    if (!boolA("transpose_a", ta) || !boolA("transpose_b", tb))
      return false;
    Type a = in[0], b = in[1];
    for (auto [t, flag, which] : {std::tuple<Type *, bool, const char *>{&a, ta, "a"}, {&b, tb, "b"}}) {
      if (!flag)
        continue;
      if (t->shape.size() < 2)
        return fail(std::string("transpose_") + which + " needs an operand of rank >= 2, got " + t->str());
      std::swap(t->shape[t->shape.size() - 1], t->shape[t->shape.size() - 2]);
    }
    auto differ = [&] { return fail("inner dimensions differ: " + a.str() + " @ " + b.str()); };
    if (a.dtype != b.dtype)
      return fail("element types differ: " + a.str() + " @ " + b.str());
    if (!numeric(a.dtype))
      return fail("expected numeric operands, got " + a.str() + " @ " + b.str());
    if (a.shape.empty() || b.shape.empty())
      return fail("operands must have rank >= 1: " + a.str() + " @ " + b.str());
    size_t ra = a.shape.size(), rb = b.shape.size();
    int64_t ka = a.shape[ra - 1];
    int64_t kb = rb == 1 ? b.shape[0] : b.shape[rb - 2];
    if (ka != kb)
      return differ();
    Shape batchA(a.shape.begin(), a.shape.end() - (ra >= 2 ? 2 : 1));
    Shape batchB(b.shape.begin(), b.shape.end() - (rb >= 2 ? 2 : 1));
    Shape batch;
    if (!broadcastShapes(batchA, batchB, batch))
      return fail("cannot broadcast batch dimensions: " + a.str() + " @ " + b.str());
    Shape s = batch;
    if (ra >= 2)
      s.push_back(a.shape[ra - 2]);
    if (rb >= 2)
      s.push_back(b.shape[rb - 1]);
    return result(Type{a.dtype, s});
  }

  bool select() {
    if (!operands(3))
      return false;
    if (in[0].dtype != DType::Bool)
      return fail("condition must be bool, got " + in[0].str());
    if (!sameDType(1, 2))
      return false;
    Shape s;
    if (!broadcastAll(0, s))
      return false;
    return result(Type{in[1].dtype, s});
  }

  bool clamp() {
    if (!operands(3) || !sameDType(0, 1) || !sameDType(0, 2))
      return false;
    if (!numeric(in[0].dtype))
      return fail("expected numeric operands, got " + in[0].str());
    Shape s;
    if (!broadcastAll(0, s))
      return false;
    return result(Type{in[0].dtype, s});
  }

  bool alongAxis() {
    if (!operands(1))
      return false;
    const Type &x = in[0];
    bool needFloat = kind != OpKind::CumSum;
    if (needFloat ? !isFloat(x.dtype) : !numeric(x.dtype))
      return fail(std::string("expected a ") + (needFloat ? "float" : "numeric") +
                  " operand, got " + x.str());
    int64_t axis;
    if (!axisA("axis", x, (int64_t)x.shape.size(), axis))
      return false;
    return result(x);
  }

  bool concat() {
    if (in.empty())
      return fail("expected at least 1 operand, got 0");
    const Type &x = in[0];
    int64_t axis;
    if (!axisA("axis", x, (int64_t)x.shape.size(), axis))
      return false;
    Shape s = x.shape;
    for (size_t i = 1; i < in.size(); ++i) {
      const Type &y = in[i];
      bool ok = y.dtype == x.dtype && y.shape.size() == x.shape.size();
      for (size_t d = 0; ok && d < x.shape.size(); ++d)
        ok = (int64_t)d == axis || y.shape[d] == x.shape[d];
      if (!ok)
        return fail("operand types differ off axis " + std::to_string(axis) + ": " + x.str() +
                    " and " + y.str());
      s[axis] += y.shape[axis];
    }
    return result(Type{x.dtype, s});
  }

  bool stack() {
    if (in.empty())
      return fail("expected at least 1 operand, got 0");
    const Type &x = in[0];
    int64_t axis;
    if (!intA("axis", axis, true))
      return false;
    if (axis < 0 || axis > (int64_t)x.shape.size())
      return fail("axis " + std::to_string(axis) + " out of range for stacking " + x.str());
    for (size_t i = 1; i < in.size(); ++i)
      if (in[i] != x)
        return fail("operand types differ: " + x.str() + " and " + in[i].str());
    Shape s = x.shape;
    s.insert(s.begin() + axis, (int64_t)in.size());
    return result(Type{x.dtype, s});
  }

  bool slice() {
    if (!operands(1))
      return false;
    const Type &x = in[0];
    std::vector<int64_t> starts, ends;
    if (!intsA("starts", starts, true) || !intsA("ends", ends, true))
      return false;
    if (starts.size() != x.shape.size() || ends.size() != x.shape.size())
      return fail("expected " + std::to_string(x.shape.size()) + " starts and ends for " +
                  x.str() + ", got " + std::to_string(starts.size()) + " and " +
                  std::to_string(ends.size()));
    Shape s;
    for (size_t d = 0; d < x.shape.size(); ++d) {
      if (starts[d] < 0 || starts[d] > ends[d] || ends[d] > x.shape[d])
        return fail("bounds [" + std::to_string(starts[d]) + ", " + std::to_string(ends[d]) +
                    ") out of range on axis " + std::to_string(d) + " of " + x.str());
      s.push_back(ends[d] - starts[d]);
    }
    return result(Type{x.dtype, s});
  }

  bool index() {
    if (!operands(2))
      return false;
    const Type &x = in[0], &i = in[1];
    if (x.shape.empty())
      return fail("cannot index a scalar " + x.str());
    if (i != Type{DType::I32, {}})
      return fail("index must be an i32 scalar, got " + i.str());
    return result(Type{x.dtype, Shape(x.shape.begin() + 1, x.shape.end())});
  }

  bool indexAdd() {
    if (!operands(3))
      return false;
    const Type &x = in[0], &i = in[1], &v = in[2];
    if (x.shape.empty())
      return fail("cannot index a scalar " + x.str());
    if (i != Type{DType::I32, {}})
      return fail("index must be an i32 scalar, got " + i.str());
    Type row{x.dtype, Shape(x.shape.begin() + 1, x.shape.end())};
    if (v != row)
      return fail("added value must have type " + row.str() + " (a row of " + x.str() + "), got " +
                  v.str());
    return result(x);
  }

  bool oneHot() {
    if (!operands(1))
      return false;
    const Type &l = in[0];
    if (l.dtype != DType::I32)
      return fail("labels must be i32, got " + l.str());
    int64_t depth;
    if (!intA("depth", depth, true))
      return false;
    if (depth < 0)
      return fail("depth must be >= 0, got " + std::to_string(depth));
    Shape s = l.shape;
    s.push_back(depth);
    return result(Type{DType::F32, s});
  }

  bool take() {
    if (!operands(2))
      return false;
    const Type &x = in[0], &idx = in[1];
    if (idx.dtype != DType::I32)
      return fail("indices must be i32, got " + idx.str());
    int64_t axis;
    if (!axisA("axis", x, (int64_t)x.shape.size(), axis))
      return false;
    Shape s(x.shape.begin(), x.shape.begin() + axis);
    s.insert(s.end(), idx.shape.begin(), idx.shape.end());
    s.insert(s.end(), x.shape.begin() + axis + 1, x.shape.end());
    return result(Type{x.dtype, s});
  }

  bool scatterAdd() {
    if (!operands(3))
      return false;
    const Type &x = in[0], &idx = in[1], &v = in[2];
    if (idx.dtype != DType::I32)
      return fail("indices must be i32, got " + idx.str());
    int64_t axis;
    if (!axisA("axis", x, (int64_t)x.shape.size(), axis))
      return false;
    Shape s(x.shape.begin(), x.shape.begin() + axis);
    s.insert(s.end(), idx.shape.begin(), idx.shape.end());
    s.insert(s.end(), x.shape.begin() + axis + 1, x.shape.end());
    Type want{x.dtype, s};
    if (v != want)
      return fail("added values must have type " + want.str() + " for " + x.str() + " and indices " +
                  idx.str() + ", got " + v.str());
    return result(x);
  }

  bool transpose() {
    if (!operands(1))
      return false;
    const Type &x = in[0];
    std::vector<int64_t> perm;
    if (!intsA("perm", perm, true))
      return false;
    size_t r = x.shape.size();
    std::vector<bool> seen(r, false);
    bool ok = perm.size() == r;
    for (size_t k = 0; ok && k < r; ++k) {
      ok = perm[k] >= 0 && perm[k] < (int64_t)r && !seen[perm[k]];
      if (ok)
        seen[perm[k]] = true;
    }
    if (!ok) {
      std::string p = "[";
      for (size_t k = 0; k < perm.size(); ++k)
        p += (k ? ", " : "") + std::to_string(perm[k]);
      return fail("perm " + p + "] is not a permutation of the axes of " + x.str());
    }
    Shape s;
    for (int64_t p : perm)
      s.push_back(x.shape[p]);
    return result(Type{x.dtype, s});
  }

  bool print() {
    std::vector<std::string> labels, seps;
    if (!strsA("labels", labels, false) || !strsA("seps", seps, false))
      return false;
    if (attrs.count("labels") && labels.size() != in.size())
      return fail("expected " + std::to_string(in.size()) + " labels, got " +
                  std::to_string(labels.size()));
    if (attrs.count("seps") && seps.size() != in.size())
      return fail("expected " + std::to_string(in.size()) + " seps, got " +
                  std::to_string(seps.size()));
    return true;
  }

  bool save() {
    std::vector<std::string> names, transforms;
    if (!strA("path", true) || !strsA("names", names, true) ||
        !strsA("transforms", transforms, false))
      return false;
    if (names.size() != in.size())
      return fail("expected " + std::to_string(in.size()) + " names, got " +
                  std::to_string(names.size()));
    if (attrs.count("transforms") && transforms.size() != in.size())
      return fail("expected " + std::to_string(in.size()) + " transforms, got " +
                  std::to_string(transforms.size()));
    return true;
  }

  /// check_bounds(x: float [, step: i32 scalar]) {kind, lo?, hi?, closed?, path, message} -> x
  bool checkBounds() {
    if (in.size() != 1 && in.size() != 2)
      return fail("expected 1 or 2 operands, got " + std::to_string(in.size()));
    if (!isFloat(in[0].dtype))
      return fail("expected a float operand, got " + in[0].str());
    if (in.size() == 2 && (in[1].dtype != DType::I32 || !in[1].shape.empty()))
      return fail("expected an i32 scalar step, got " + in[1].str());
    if (!strA("kind", true) || !strA("path", true) || !strA("message", true))
      return false;
    static const std::set<std::string> kinds = {"greater", "less", "interval", "increasing", "simplex",
                                                "lower_triangular"};
    const std::string &k = std::get<std::string>(attrs.at("kind"));
    if (!kinds.count(k))
      return fail("unknown constraint kind '" + k + "'");
    for (const char *name : {"lo", "hi"}) {
      auto it = attrs.find(name);
      if (it != attrs.end() && !std::holds_alternative<double>(it->second))
        return fail(std::string("attribute '") + name + "' must be a float");
    }
    bool closed = false;
    if (!boolA("closed", closed))
      return false;
    if (k == "lower_triangular" && (in[0].shape.size() != 2 || in[0].shape[0] != in[0].shape[1]))
      return fail("lower_triangular needs a square matrix, got " + in[0].str());
    return result(in[0]);
  }

  bool trainProgress() {
    std::vector<std::string> metrics, until;
    std::vector<int64_t> untilMetric, patience;
    if (!strsA("metrics", metrics, false) || !strsA("until", until, false) ||
        !intsA("until_metric", untilMetric, false) || !intsA("patience", patience, false) ||
        !strA("plot", false))
      return false;
    if (untilMetric.size() != until.size() || patience.size() != until.size())
      return fail("until, until_metric and patience must have the same length");
    size_t conds = 0;
    for (size_t i = 0; i < until.size(); ++i) {
      if (untilMetric[i] < 0) ++conds;
      else if ((size_t)untilMetric[i] >= metrics.size() || patience[i] < 1)
        return fail("until_metric " + std::to_string(untilMetric[i]) + " with patience " +
                    std::to_string(patience[i]) + " does not name a metric");
    }
    if (!operands(2 + metrics.size() + conds))
      return false;
    if (in[0].dtype != DType::I32 || !in[0].shape.empty())
      return fail("expected an i32 scalar step, got " + in[0].str());
    if (!isFloat(in[1].dtype) || !in[1].shape.empty())
      return fail("expected a float scalar loss, got " + in[1].str());
    for (size_t i = 2; i < 2 + metrics.size(); ++i)
      if (in[i].dtype == DType::Bool || !in[i].shape.empty())
        return fail("expected a number scalar metric, got " + in[i].str());
    for (size_t i = 2 + metrics.size(); i < in.size(); ++i)
      if (in[i].dtype != DType::Bool || !in[i].shape.empty())
        return fail("expected a bool scalar condition, got " + in[i].str());
    int64_t total, every;
    if (!intA("total", total, true) || !intA("every", every, false) || !strA("file", false))
      return false;
    if (total < 0)
      return fail("total must not be negative");
    if (every < 0)
      return fail("every must not be negative");
    return true;
  }

  bool trainNonfinite() {
    std::vector<std::string> paths;
    if (!strsA("paths", paths, true))
      return false;
    if (!operands(2 + 2 * paths.size()))
      return false;
    if (in[0].dtype != DType::I32 || !in[0].shape.empty())
      return fail("expected an i32 scalar step, got " + in[0].str());
    if (!isFloat(in[1].dtype) || !in[1].shape.empty())
      return fail("expected a float scalar loss, got " + in[1].str());
    for (size_t k = 0; k < paths.size(); ++k)
      if (in[2 + k] != in[2 + paths.size() + k])
        return fail("gradient leaf " + std::to_string(k) + " is " + in[2 + k].str() + ", its parameter " +
                    in[2 + paths.size() + k].str());
    return true;
  }

  bool run() {
    // No default: a new row in Ops.def without a rule here warns (-Wswitch).
    switch (kind) {
#define PTL_OP(Name, mnemonic)
#define PTL_UNARY_OP(Name, mnemonic) case OpKind::Name:
#include "ir/Ops.def"
      return unary();
#define PTL_OP(Name, mnemonic)
#define PTL_BINARY_OP(Name, mnemonic) case OpKind::Name:
#include "ir/Ops.def"
      return binary();
#define PTL_OP(Name, mnemonic)
#define PTL_COMPARE_OP(Name, mnemonic) case OpKind::Name:
#include "ir/Ops.def"
      return compare();
    case OpKind::ReduceSum:
    case OpKind::ReduceMean:
    case OpKind::ReduceMax:
    case OpKind::ReduceMin:
    case OpKind::LogSumExp:
      return reduce();
    case OpKind::ArgMax:
      return argmax();
    case OpKind::MatMul:
      return matmul();
    case OpKind::Select:
      return select();
    case OpKind::Clamp:
      return clamp();
    case OpKind::Softmax:
    case OpKind::LogSoftmax:
    case OpKind::CumSum:
      return alongAxis();
    case OpKind::Concat:
      return concat();
    case OpKind::Stack:
      return stack();
    case OpKind::Slice:
      return slice();
    case OpKind::Index:
      return index();
    case OpKind::OneHot:
      return oneHot();
    case OpKind::Take:
      return take();
    case OpKind::IndexAdd:
      return indexAdd();
    case OpKind::ScatterAdd:
      return scatterAdd();
    case OpKind::Transpose:
      return transpose();
    case OpKind::StopGrad:
      return operands(1) && result(in[0]);
    case OpKind::CheckBounds:
      return checkBounds();
    case OpKind::Print:
      return print();
    case OpKind::SaveNpy:
      return operands(1) && strA("path", true);
    case OpKind::Save:
      return save();
    case OpKind::TrainProgress:
      return trainProgress();
    case OpKind::TrainNonfinite:
      return trainNonfinite();
    case OpKind::Yield:
    case OpKind::Return:
      return true;
    case OpKind::Constant:
    case OpKind::Convert:
    case OpKind::Broadcast:
    case OpKind::Reshape:
    case OpKind::Pad:
    case OpKind::Iota:
    case OpKind::Random:
    case OpKind::LoadNpy:
    case OpKind::LoadCsv:
    case OpKind::Load:
    case OpKind::Call:
    case OpKind::For:
    case OpKind::If:
    case OpKind::Map:
    case OpKind::Grad:
      error = "explicit";
      return false;
    }
    PTL_UNREACHABLE(std::string("op kind without a shape rule: ") + mnemonic(kind));
  }
};

} // namespace

bool inferResultTypes(OpKind kind, const std::vector<Type> &operands, const AttrMap &attrs,
                      std::vector<Type> &results, std::string &error) {
  results.clear();
  Rule r{kind, operands, attrs, results, error};
  if (!r.run()) {
    results.clear();
    return false;
  }
  return true;
}

} // namespace ptl::ir
