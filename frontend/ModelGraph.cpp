//===- frontend/ModelGraph.cpp - The sub-model graph of the declarations ----===//
//
// Model declarations name each other through sub-model fields (`enc:
// Encoder`), a graph on declarations that type arguments do not change: a
// model's fields, and so its number of stored leaves, are the same for every
// binding of its type parameters. Before any model type is built, this file
// checks the graph of every loaded file (used or not):
//
//   - a cycle (`model A { b: B }`, `model B { a: A }`, or `model A { a: A }`)
//     would make an infinite model: an error naming the cycle, `A -> B -> A`,
//     at the first model's field that enters it;
//   - leaves(M) = #params(M) + sum over sub-model fields f of leaves(type(f))
//     is bounded by CompileLimits::maxModelLeaves (a binary tree of sub-models
//     40 levels deep has 2^40): an error at the smallest models over it.
//
// Models found bad are recorded in badModels_; modelType() returns null for
// them without a second report.
//
//===----------------------------------------------------------------------===//
#include "frontend/Elaborator.h"

#include <algorithm>
#include <cstdint>

namespace ptl {
namespace sema {

void Elaborator::checkModelGraph(const std::vector<const ast::Program *> &programs) {
  // The declarations in source order (main file first), and each one's
  // sub-model edges: (field, declaration of its type).
  std::vector<const ast::ModelDecl *> decls;
  std::map<const ast::ModelDecl *, std::vector<std::pair<const ast::SubmodelDecl *, const ast::ModelDecl *>>> edges;
  for (const ast::Program *p : programs)
    for (const auto &m : p->models) {
      auto it = models_.find(m->name);
      if (it == models_.end() || it->second != m.get()) continue; // a duplicate, reported
      decls.push_back(m.get());
      for (const ast::SubmodelDecl &sd : m->submodels) {
        if (sd.type->kind != ast::TypeExpr::Named) continue;
        auto sub = models_.find(sd.type->name);
        if (sub != models_.end()) edges[m.get()].push_back({&sd, sub->second});
      }
    }

  // Cycles: a depth-first search; a back edge closes the cycle on the stack.
  enum Color { White, Grey, Black };
  std::map<const ast::ModelDecl *, Color> color;
  std::vector<std::pair<const ast::ModelDecl *, const ast::SubmodelDecl *>> stack; // model, field taken
  std::function<void(const ast::ModelDecl *)> visit = [&](const ast::ModelDecl *m) {
    color[m] = Grey;
    for (auto [field, target] : edges[m]) {
      stack.push_back({m, field});
      if (color[target] == Grey) {
        size_t first = 0;
        while (stack[first].first != target) ++first;
        std::string cycle;
        for (size_t i = first; i < stack.size(); ++i) {
          cycle += stack[i].first->name + " -> ";
          badModels_.insert(stack[i].first);
        }
        cycle += target->name;
        const ast::SubmodelDecl *entry = stack[first].second;
        diags_.error(entry->type->loc) << "sub-models form a cycle: " << cycle
                                       << " (a model cannot contain itself, directly or through its sub-models)";
      } else if (color[target] == White) {
        visit(target);
      }
      stack.pop_back();
    }
    color[m] = Black;
  };
  for (const ast::ModelDecl *m : decls)
    if (color[m] == White) visit(m);

  // Leaf counts, saturating just above the limit; memoised, so linear in the
  // number of declarations and fields. Cyclic models count as over (quietly).
  const int64_t limit = opts_.limits.maxModelLeaves;
  const int64_t cap = limit > 0 ? limit + 1 : INT64_MAX;
  std::map<const ast::ModelDecl *, int64_t> leaves;
  std::function<int64_t(const ast::ModelDecl *)> count = [&](const ast::ModelDecl *m) -> int64_t {
    auto known = leaves.find(m);
    if (known != leaves.end()) return known->second;
    if (badModels_.count(m)) return leaves[m] = cap;
    int64_t n = std::min<int64_t>((int64_t)m->params.size(), cap);
    bool subOver = false;
    for (auto [field, target] : edges[m]) {
      int64_t k = count(target);
      if (k >= cap) subOver = true;
      n = std::min(cap, n + k);
    }
    leaves[m] = n;
    if (limit > 0 && n > limit) {
      badModels_.insert(m);
      if (!subOver) // the smallest model over the limit says so; the ones containing it fail quietly
        diags_.error(m->nameLoc) << "model '" << m->name << "' has more than " << limit
                                 << " parameter tensors counting those of its sub-models (the limit of a model's size)";
    }
    return n;
  };
  for (const ast::ModelDecl *m : decls) count(m);
}

} // namespace sema
} // namespace ptl
