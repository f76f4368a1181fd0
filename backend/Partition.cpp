//===- backend/Partition.cpp - Splitting a program into parts compiled at once -===//
#include "backend/Partition.h"

#include <llvm/IR/Module.h>

#include <algorithm>
#include <set>

namespace ptl::backend {

// Longest processing time first: units by decreasing size, each to the
// part that is lightest so far. (Every function a split lowering defines is
// a unit, kernels included, so a unit's size is just its own.)
Partition partitionUnits(const llvm::Module &census, const std::vector<LoweredFunction> &lowered, size_t maxParts) {
  std::map<std::string, size_t> size; // instructions by unit
  for (const LoweredFunction &lf : lowered) {
    const llvm::Function *f = census.getFunction(lf.symbol);
    size[lf.unit] += f && !f->isDeclaration() ? f->getInstructionCount() : 0;
  }
  std::vector<std::pair<std::string, size_t>> order(size.begin(), size.end());
  std::stable_sort(order.begin(), order.end(), [](auto &a, auto &b) { return a.second > b.second; });
  size_t total = 0;
  for (auto &[unit, n] : order) total += n;

  Partition p;
  p.parts = std::max<size_t>(1, std::min({maxParts, order.size(), total / kMinPartInstructions}));
  std::vector<size_t> load(p.parts, 0);
  for (auto &[unit, n] : order) {
    size_t lightest = (size_t)(std::min_element(load.begin(), load.end()) - load.begin());
    load[lightest] += n;
    p.partOf[unit] = lightest;
  }
  return p;
}

std::vector<const ir::Function *> ownersOf(const Partition &p, size_t part, const std::vector<LoweredFunction> &lowered,
                                           const std::vector<const ir::Function *> &functions) {
  std::set<const ir::Function *> owners;
  for (const LoweredFunction &lf : lowered)
    if (p.partOf.at(lf.unit) == part) owners.insert(lf.owner);
  std::vector<const ir::Function *> ordered;
  for (const ir::Function *f : functions)
    if (owners.count(f)) ordered.push_back(f);
  return ordered;
}

bool keepPart(llvm::Module &m, const std::vector<LoweredFunction> &lowered, const Partition &p, size_t part) {
  for (const LoweredFunction &lf : lowered) {
    auto it = p.partOf.find(lf.unit);
    if (it != p.partOf.end() && it->second == part) continue;
    if (llvm::Function *f = m.getFunction(lf.symbol)) f->deleteBody();
  }
  for (const auto &[unit, q] : p.partOf) {
    if (q != part) continue;
    const llvm::Function *f = m.getFunction(unit);
    if (!f || f->isDeclaration()) return false;
  }
  return true;
}

void internalize(llvm::Module &m, const std::vector<LoweredFunction> &lowered) {
  for (const LoweredFunction &lf : lowered)
    if (!lf.hostEntry)
      if (llvm::Function *f = m.getFunction(lf.symbol)) f->setLinkage(llvm::GlobalValue::InternalLinkage);
}

} // namespace ptl::backend
