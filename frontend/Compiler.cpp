//===- frontend/Compiler.cpp - One compilation: files, imports, IR ----------===//
#include "frontend/Compiler.h"
#include "frontend/ModuleCache.h"
#include "frontend/Parser.h"
#include "ir/autodiff/Autodiff.h"
#include "ir/passes/Passes.h"
#include "runtime/Sandbox.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>

namespace ptl {

namespace fs = std::filesystem;

/// An installed tree puts the standard library at PREFIX/share/ptl/stdlib
/// beside PREFIX/bin/ptlc and PREFIX/lib/libptl.so: found from the file
/// this code was loaded from (dladdr), whichever of the two that is.
static std::string installedStdlibDir() {
  Dl_info info{};
  if (!dladdr(reinterpret_cast<void *>(&installedStdlibDir), &info) || !info.dli_fname) return "";
  std::error_code ec;
  fs::path self = fs::canonical(info.dli_fname, ec);
  if (ec) return "";
  fs::path dir = self.parent_path().parent_path() / "share" / "ptl" / "stdlib";
  return fs::is_directory(dir / "std", ec) ? dir.string() : "";
}

std::string stdlibDir() {
  if (const char *env = std::getenv("PTL_STDLIB"))
    return env;
  static const std::string installed = installedStdlibDir();
  return installed.empty() ? PTL_STDLIB_DIR : installed;
}

/// The canonical form of `path` for recognising a file imported twice, or
/// `path` itself where there is none (a pipe such as /dev/stdin).
static std::string canonicalOrAsGiven(const std::string &path) {
  std::error_code ec;
  fs::path canon = fs::weakly_canonical(path, ec);
  return ec ? path : canon.string();
}

/// Why the file sandbox in force (runtime/Sandbox.h) refuses to let a
/// script import `file`, or "" if it may: imports follow the rule of data
/// files, with the standard library's directory allowed too.
static std::string importDenial(const std::string &file) {
  std::shared_ptr<const PathPolicy> policy = currentPathPolicy();
  if (!policy->isRestricted()) return "";
  PathPolicy withStdlib = *policy;
  withStdlib.allowDirectory(stdlibDir());
  return withStdlib.denial(file, PathAccess::Read);
}

/// Whether `file` lies inside directory `dir` (both as canonical paths).
static bool isUnder(const std::string &file, const std::string &dir) {
  std::string f = canonicalOrAsGiven(file), d = canonicalOrAsGiven(dir);
  while (!d.empty() && d.back() == '/') d.pop_back();
  return !d.empty() && f.size() > d.size() && f.compare(0, d.size(), d) == 0 && f[d.size()] == '/';
}

Compilation::Compilation(FILE *diagOut) : diags_(sm_, diagOut) {}

bool Compilation::loadFile(const std::string &path) {
  std::string error;
  int id = sm_.addFile(path, error);
  if (id < 0) {
    diags_.error({}) << error;
    return false;
  }
  auto prog = parseProgram(sm_, id, diags_);
  if (!prog) return false;
  std::string dir = fs::path(path).parent_path().string();
  loadedPaths_.push_back(canonicalOrAsGiven(path));
  programs_.push_back(std::move(prog));
  return loadImports(*programs_.back(), dir, true);
}

bool Compilation::loadSource(const std::string &name, const std::string &text) {
  int id = sm_.addBuffer(name, text);
  auto prog = parseProgram(sm_, id, diags_);
  if (!prog) return false;
  programs_.push_back(std::move(prog));
  return loadImports(*programs_.back(), ".", true);
}

bool Compilation::importSource(const std::string &name, const std::string &text, const std::string &dir) {
  int id = sm_.addBuffer(name, text);
  auto prog = parseProgram(sm_, id, diags_);
  if (!prog) return false;
  programs_.push_back(std::move(prog));
  return loadImports(*programs_.back(), dir, false);
}

bool Compilation::loadImport(const std::string &file, SourceLoc loc) {
  std::string canon = canonicalOrAsGiven(file);
  for (const std::string &p : loadedPaths_)
    if (p == canon) return true;
  loadedPaths_.push_back(canon);
  std::string error;
  int id = sm_.addFile(file, error);
  if (id < 0) {
    diags_.error(loc) << error;
    return false;
  }
  // The standard library's modules are parsed once per process.
  std::shared_ptr<const ast::Program> prog =
      isUnder(file, stdlibDir()) ? parseShared(sm_, id, diags_) : parseProgram(sm_, id, diags_);
  if (!prog) return false;
  programs_.push_back(std::move(prog));
  return loadImports(*programs_.back(), fs::path(file).parent_path().string(), false);
}

bool Compilation::loadImports(const ast::Program &p, const std::string &dir, bool implicitOptim) {
  bool ok = true;
  // Collect first: loading appends to programs_, which may move `p`'s owner.
  std::vector<std::pair<std::string, SourceLoc>> wanted;
  for (const ast::ImportDecl &imp : p.imports) {
    std::string rel = imp.path;
    if (fs::path(rel).extension() != ".ptl") rel += ".ptl";
    fs::path file = rel.rfind("std/", 0) == 0 ? fs::path(stdlibDir()) / rel : fs::path(dir) / rel;
    // The sandbox first: whether a file outside exists is not the script's business.
    std::string denied = importDenial(file.string());
    if (!denied.empty()) {
      diags_.error(imp.loc) << "cannot import '" << imp.path << "': " << denied;
      ok = false;
      continue;
    }
    if (!fs::exists(file)) {
      diags_.error(imp.loc) << "cannot find module '" << imp.path << "'";
      ok = false;
      continue;
    }
    wanted.push_back({file.string(), imp.loc});
  }
  if (implicitOptim) {
    fs::path optim = fs::path(stdlibDir()) / "std/optim.ptl";
    if (fs::exists(optim)) wanted.push_back({optim.string(), {}});
  }
  for (auto &[file, loc] : wanted)
    ok = loadImport(file, loc) && ok;
  return ok;
}

std::unique_ptr<ir::Module> Compilation::elaborate(const ElaborateOptions &opts) {
  if (diags_.hasErrors() || programs_.empty()) return nullptr;
  std::vector<const ast::Program *> ps;
  for (auto &p : programs_) ps.push_back(p.get());
  return ptl::elaborate(ps, sm_, diags_, opts);
}

bool Compilation::runDefaultPipeline(ir::Module &m, std::string &error) {
  std::vector<ir::GradWarning> warnings;
  ir::PassManager pm;
  for (const std::string &name : ir::defaultPipeline()) pm.add(ir::createPassByName(name, &warnings));
  if (!pm.run(m, error)) return false;
  for (const ir::GradWarning &w : warnings) diags_.warning(sourceLoc(m, w.loc)) << w.message;
  return true;
}

SourceLoc Compilation::sourceLoc(const ir::Module &m, ir::Loc loc) const {
  if (!loc.valid() || loc.file < 0 || (size_t)loc.file >= m.files().size()) return {};
  for (int id = 0; id < sm_.fileCount(); ++id)
    if (sm_.file(id).path == m.files()[(size_t)loc.file]) return SourceLoc{id, loc.line, loc.col, 1};
  return {};
}

} // namespace ptl
