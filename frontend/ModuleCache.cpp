//===- frontend/ModuleCache.cpp - Parsed standard-library modules, shared ----===//
#include "frontend/ModuleCache.h"
#include "frontend/Parser.h"

#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace ptl {

namespace {

/// At most this many ASTs are kept (the standard library has a handful of
/// files; each may be loaded under a few ids); later parses are not kept.
constexpr size_t kMaxEntries = 64;

struct Entry {
  std::string text; ///< the file's text when parsed (compared on lookup)
  std::shared_ptr<const ast::Program> program;
};

/// (path, file id) -> the entries for the texts seen under it.
struct Cache {
  std::mutex mutex;
  std::map<std::tuple<std::string, int>, std::vector<Entry>> entries;
  size_t size = 0;
  long hits = 0;
};

Cache &cache() {
  static Cache c;
  return c;
}

} // namespace

std::shared_ptr<const ast::Program> parseShared(SourceManager &sm, int fileId, DiagnosticEngine &diags) {
  const SourceFile &file = sm.file(fileId);
  auto key = std::make_tuple(file.path, fileId);
  Cache &c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.entries.find(key);
    if (it != c.entries.end())
      for (const Entry &e : it->second)
        if (e.text == file.text) {
          ++c.hits;
          return e.program;
        }
  }
  // Parsed outside the lock; two threads may both parse a new file, and the
  // first to finish keeps its AST.
  int reportedBefore = diags.errorCount() + diags.warningCount();
  std::shared_ptr<const ast::Program> program = parseProgram(sm, fileId, diags);
  if (!program || diags.errorCount() + diags.warningCount() != reportedBefore) return program;
  std::lock_guard<std::mutex> lock(c.mutex);
  std::vector<Entry> &same = c.entries[key];
  for (const Entry &e : same)
    if (e.text == file.text) return e.program;
  if (c.size < kMaxEntries) {
    same.push_back({file.text, program});
    ++c.size;
  }
  return program;
}

ModuleCacheStats moduleCacheStats() {
  Cache &c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return {c.hits, (long)c.size};
}

} // namespace ptl
