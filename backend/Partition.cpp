//===- backend/Partition.cpp - Splitting a program into parts compiled at once -===//
#include "backend/Partition.h"

#include <llvm/IR/Instructions.h>
#include <llvm/IR/Module.h>

#include <algorithm>
#include <set>

namespace ptl::backend {

namespace {

/// A unit's own LLVM functions and the internal functions they call.
struct Unit {
  std::string name;
  size_t ownSize = 0;
  std::set<const llvm::Function *> callees;
};

size_t sizeOf(const llvm::Function &f) { return f.getInstructionCount(); }

/// The internal functions (product kernels and the like) `f` calls directly.
void addInternalCallees(const llvm::Function &f, std::set<const llvm::Function *> &out) {
  for (const llvm::BasicBlock &bb : f)
    for (const llvm::Instruction &inst : bb)
      if (const auto *call = llvm::dyn_cast<llvm::CallBase>(&inst))
        if (const llvm::Function *g = call->getCalledFunction())
          if (g->hasLocalLinkage() && !g->isDeclaration()) out.insert(g);
}

} // namespace

// Longest processing time first: units by decreasing weight, each to the
// part whose weight grows least (a part pays once for each internal callee).
Partition partitionUnits(const llvm::Module &census, const std::vector<LoweredFunction> &lowered, size_t maxParts) {
  std::map<std::string, Unit> units;
  for (const LoweredFunction &lf : lowered) {
    const llvm::Function *f = census.getFunction(lf.symbol);
    Unit &u = units[lf.unit];
    u.name = lf.unit;
    if (!f || f->isDeclaration()) continue;
    u.ownSize += sizeOf(*f);
    addInternalCallees(*f, u.callees);
  }
  auto weight = [](const Unit &u) {
    size_t w = u.ownSize;
    for (const llvm::Function *g : u.callees) w += sizeOf(*g);
    return w;
  };
  std::vector<const Unit *> order;
  for (auto &[name, u] : units) order.push_back(&u);
  std::stable_sort(order.begin(), order.end(), [&](const Unit *a, const Unit *b) { return weight(*a) > weight(*b); });

  size_t total = 0;
  for (const Unit *u : order) total += weight(*u);
  Partition p;
  p.parts = std::max<size_t>(1, std::min({maxParts, order.size(), total / kMinPartInstructions}));
  std::vector<size_t> load(p.parts, 0);
  std::vector<std::set<const llvm::Function *>> copies(p.parts);
  auto growth = [&](const Unit &u, size_t part) {
    size_t w = u.ownSize;
    for (const llvm::Function *g : u.callees)
      if (!copies[part].count(g)) w += sizeOf(*g);
    return w;
  };
  for (const Unit *u : order) {
    size_t best = 0;
    for (size_t q = 1; q < p.parts; ++q)
      if (load[q] + growth(*u, q) < load[best] + growth(*u, best)) best = q;
    load[best] += growth(*u, best);
    copies[best].insert(u->callees.begin(), u->callees.end());
    p.partOf[u->name] = best;
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
