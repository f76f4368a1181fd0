//===- frontend/Types.cpp - Semantic types of PTL values --------------------===//
#include "frontend/Types.h"
#include "frontend/Elaborator.h"

#include <sstream>

namespace ptl::sema {

std::string Transform::describe() const {
  std::ostringstream os;
  switch (kind) {
  case Identity: return "identity";
  case LowerBound: os << "lower_bound(" << lo << ")"; break;
  case UpperBound: os << "upper_bound(" << lo << ")"; break;
  case Interval: os << "interval(" << lo << ", " << hi << ")"; break;
  case Exp: return "exp";
  case Softplus: return "softplus";
  case Ordered: return "ordered";
  case Simplex: return "simplex";
  case Cholesky: return "cholesky";
  }
  return os.str();
}

size_t SType::leafCount() const {
  switch (kind) {
  case Unit: return 0;
  case Tensor: return 1;
  case Model: return leafEnd - leafBegin;
  case Tuple:
  case Record: {
    size_t n = 0;
    for (const SType &e : elems)
      n += e.leafCount();
    return n;
  }
  }
  return 0;
}

void SType::flatten(std::vector<ir::Type> &out) const {
  switch (kind) {
  case Unit: return;
  case Tensor: out.push_back(tensor); return;
  case Model:
    for (size_t i = leafBegin; i < leafEnd; ++i)
      out.push_back(model->leaves[i].stored);
    return;
  case Tuple:
  case Record:
    for (const SType &e : elems)
      e.flatten(out);
    return;
  }
}

std::string SType::str() const {
  switch (kind) {
  case Unit: return "()";
  case Tensor: return tensor.str();
  case Model: {
    if (leafBegin == 0 && leafEnd == model->leaves.size())
      return model->display;
    return model->display + " (sub-tree)";
  }
  case Tuple: {
    std::string s = "(";
    for (size_t i = 0; i < elems.size(); ++i)
      s += (i ? ", " : "") + elems[i].str();
    return s + ")";
  }
  case Record: {
    std::string s = "{";
    for (size_t i = 0; i < elems.size(); ++i)
      s += (i ? ", " : "") + names[i] + ": " + elems[i].str();
    return s + "}";
  }
  }
  return "?";
}

/// A model type's leaves as HostType describes them.
static std::vector<HostType::Leaf> describeLeaves(const ModelType &mt) {
  std::vector<HostType::Leaf> out;
  for (const Leaf &l : mt.leaves)
    out.push_back({l.path, l.stored, l.value, l.trainable,
                   l.transform.kind == Transform::Identity ? "" : l.transform.describe()});
  return out;
}

HostType SType::describe() const {
  HostType h;
  h.spelling = str();
  switch (kind) {
  case Unit: h.kind = HostType::Unit; break;
  case Tensor: h.kind = HostType::Tensor; h.tensor = tensor; break;
  case Tuple: h.kind = HostType::Tuple; break;
  case Record: h.kind = HostType::Record; h.names = names; break;
  case Model:
    h.kind = HostType::Model;
    h.model = model->decl->name;
    for (const ast::ModelTypeParam &tp : model->decl->typeParams) {
      auto it = model->args.find(tp.name);
      h.modelArgs.push_back(it == model->args.end() ? 0 : it->second);
    }
    h.leaves = describeLeaves(*model);
    h.leafBegin = leafBegin;
    h.leafEnd = leafEnd;
    h.tangent = tangent;
    break;
  }
  for (const SType &e : elems) h.elems.push_back(e.describe());
  return h;
}


bool SType::operator==(const SType &o) const {
  if (kind != o.kind)
    return false;
  switch (kind) {
  case Unit: return true;
  case Tensor: return tensor == o.tensor;
  case Model: return model == o.model && leafBegin == o.leafBegin && leafEnd == o.leafEnd;
  case Tuple: return elems == o.elems;
  case Record: return elems == o.elems && names == o.names;
  }
  return false;
}

SType withoutTangent(SType t) {
  t.tangent = false;
  for (SType &e : t.elems) e = withoutTangent(e);
  return t;
}

void copyTangent(SType &to, const SType &from) {
  to.tangent = from.tangent;
  for (size_t i = 0; i < to.elems.size() && i < from.elems.size(); ++i) copyTangent(to.elems[i], from.elems[i]);
}

} // namespace ptl::sema

std::vector<ptl::ir::Type> ptl::HostType::flat() const {
  std::vector<ir::Type> out;
  switch (kind) {
  case Unit: break;
  case Tensor: out.push_back(tensor); break;
  case Model:
    for (size_t i = leafBegin; i < leafEnd; ++i) out.push_back(leaves[i].stored);
    break;
  case Tuple:
  case Record:
    for (const HostType &e : elems) {
      std::vector<ir::Type> sub = e.flat();
      out.insert(out.end(), sub.begin(), sub.end());
    }
    break;
  }
  return out;
}
