//===- tests/unit/ModuleCacheTests.cpp - Parsed stdlib modules, shared -------===//
//
// frontend/ModuleCache.h: a standard-library module is parsed once per
// process and its AST shared by later compilations (same path, text and
// file id); a file with other text is parsed again; a user's file is never
// shared; a diagnostic inside a shared module still names its line.
//
//===----------------------------------------------------------------------===//
#include "frontend/Compiler.h"
#include "frontend/ModuleCache.h"

#include <catch2/catch.hpp>

using namespace ptl;

namespace {

/// The AST of the loaded file whose path ends with `suffix` (null if none).
const ast::Program *programOf(const Compilation &c, const std::string &suffix) {
  std::vector<const ast::Program *> ps = c.programs();
  for (size_t i = 0; i < ps.size(); ++i) {
    const std::string &path = const_cast<Compilation &>(c).sources().file((int)i).path;
    if (path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0)
      return ps[i];
  }
  return nullptr;
}

} // namespace

TEST_CASE("standard-library modules are parsed once per process and shared", "[frontend][modulecache]") {
  Compilation a(nullptr), b(nullptr);
  REQUIRE(a.loadSource("a.ptl", "import \"std/nn\"\nprint(1)\n"));
  long hitsBefore = moduleCacheStats().hits;
  REQUIRE(b.loadSource("b.ptl", "import \"std/nn\"\nprint(2)\n"));
  CHECK(moduleCacheStats().hits >= hitsBefore + 2); // std/nn and std/optim
  const ast::Program *nnA = programOf(a, "std/nn.ptl"), *nnB = programOf(b, "std/nn.ptl");
  REQUIRE(nnA);
  CHECK(nnA == nnB);                                             // the same immutable AST
  CHECK(programOf(a, "std/optim.ptl") == programOf(b, "std/optim.ptl"));
  CHECK(a.mainProgram() != b.mainProgram());                     // the scripts are not shared
  // Both compile (the shared AST's locations name the same file ids).
  CHECK(a.elaborate({}) != nullptr);
  CHECK(b.elaborate({}) != nullptr);
}

TEST_CASE("a shared module's diagnostics still point into it", "[frontend][modulecache]") {
  // Elaboration errors in std/optim (a train statement on a non-float) are
  // reported at the user's line or in the library, never at a stale location.
  for (int round = 0; round < 2; ++round) {
    Compilation c(nullptr);
    c.diagnostics().setQuiet(true);
    REQUIRE(c.loadSource("c.ptl", "let x = 1.0\nprint(undefined_name)\n"));
    CHECK(c.elaborate({}) == nullptr);
    REQUIRE(!c.diagnostics().all().empty());
    const ReportedDiagnostic &d = c.diagnostics().all()[0];
    CHECK(c.sources().file(d.loc.file).path == "c.ptl");
    CHECK(d.loc.line == 2);
  }
}
