//===- tests/unit/DocsTests.cpp - The docs' tables of names against the code -===//
//
// Every name the docs list in a table of built-ins or library functions must
// resolve: docs/language.md's built-in functions (and every built-in of the
// elaborator must be in that table), the std/nn, std/optim and std/bijectors
// tables, the initialisers, and README.md's list of passes for `ptlc opt`.
// Each name is compiled in a one-line program; the test fails when the
// compiler says the name is unknown. (`ptlc --help`'s emit kinds against the
// README are tests/golden/ptlc_help.ptl.)
//
//===----------------------------------------------------------------------===//
#include "frontend/Compiler.h"
#include "ir/passes/Passes.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

using namespace ptl;

namespace {

std::string readDoc(const std::string &rel) {
  std::ifstream in(std::string(PTL_SOURCE_DIR) + "/" + rel);
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// The text under the markdown heading `heading` (a whole line, e.g. "### Initialisers")
/// up to the next heading of the same or a higher level.
std::string section(const std::string &doc, const std::string &heading) {
  size_t at = doc.find("\n" + heading + "\n");
  INFO("heading '" << heading << "'");
  REQUIRE(at != std::string::npos);
  size_t level = heading.find(' ');
  size_t start = at + heading.size() + 2, end = start;
  for (;;) {
    end = doc.find("\n#", end);
    if (end == std::string::npos) return doc.substr(start);
    size_t hashes = doc.find_first_not_of('#', end + 1) - (end + 1);
    if (hashes <= level) return doc.substr(start, end - start);
    ++end;
  }
}

/// Cell `col` (0-based) of every body row of the markdown tables in `text`
/// (the header row and the |---| row are skipped).
std::vector<std::string> tableColumn(const std::string &text, size_t col) {
  std::vector<std::string> cells;
  std::istringstream in(text);
  std::string line;
  bool inTable = false;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] != '|') {
      inTable = false;
      continue;
    }
    if (!inTable) { // the header row; the separator follows
      inTable = true;
      std::getline(in, line);
      continue;
    }
    // Split on | that is not escaped (\|) and not inside a code span.
    std::vector<std::string> parts;
    std::string cur;
    bool code = false;
    for (size_t i = 1; i < line.size(); ++i) {
      char c = line[i];
      if (c == '`') code = !code;
      if (c == '|' && !code && line[i - 1] != '\\') {
        parts.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
    if (col < parts.size()) cells.push_back(parts[col]);
  }
  return cells;
}

/// The names in `text`'s code spans that are written as a name or a call:
/// `exp(x)`, `zeros[...]`, `MLP`; not `a @ b`, `.T` or `axis =`.
/// The contents of `text`'s code spans.
std::vector<std::string> spans(const std::string &text) {
  std::vector<std::string> out;
  static const std::regex span("`([^`]*)`");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), span); it != std::sregex_iterator(); ++it)
    out.push_back((*it)[1].str());
  return out;
}

std::vector<std::string> spanNames(const std::string &text) {
  std::vector<std::string> names;
  static const std::regex name(R"(^([A-Za-z_][A-Za-z0-9_]*)(\(.*|\[.*)?$)");
  for (const std::string &s : spans(text)) {
    std::smatch m;
    if (std::regex_match(s, m, name)) names.push_back(m[1].str());
  }
  return names;
}

std::vector<std::string> spanNames(const std::vector<std::string> &cells) {
  std::vector<std::string> out;
  for (const std::string &c : cells)
    for (const std::string &n : spanNames(c)) out.push_back(n);
  return out;
}

/// The "unknown ..." errors compiling `src` gives (the name did not resolve),
/// ignoring every other error (wrong arguments and the like).
std::vector<std::string> unknownNameErrors(const std::string &src) {
  Compilation c(nullptr);
  c.diagnostics().setQuiet(true);
  if (c.loadSource("docs_name.ptl", src)) c.elaborate({});
  std::vector<std::string> out;
  for (const ReportedDiagnostic &d : c.diagnostics().all())
    if (d.severity == Severity::Error && (d.message.rfind("unknown ", 0) == 0 || d.message.find("cannot find module") != std::string::npos))
      out.push_back(d.message);
  return out;
}

/// Requires that `NAME()` resolves in a program starting with `prelude`
/// (each name of `names`, and at least `min` of them).
void requireCallsResolve(const std::vector<std::string> &names, size_t min, const std::string &prelude = "") {
  CHECK(names.size() >= min);
  for (const std::string &n : names) {
    INFO("documented name '" << n << "'");
    CHECK(unknownNameErrors(prelude + "let x = " + n + "()\n") == std::vector<std::string>{});
  }
}

} // namespace

TEST_CASE("docs: the helpers find names, and an unknown name fails the check", "[docs]") {
  CHECK(spanNames("`exp(x)` `zeros[...]` `a @ b` `.T` `MLP` `axis =` `x_1`") ==
        std::vector<std::string>{"exp", "zeros", "MLP", "x_1"});
  CHECK(tableColumn("| a | b |\n|---|---|\n| `x` | `y(1)` \\| `z` |\n\nno\n| c | d |\n|---|\n| `w` | `v` |\n", 1) ==
        std::vector<std::string>{" `y(1)` \\| `z` ", " `v` "});
  // The check must be able to fail: a made-up name is reported as unknown.
  CHECK(unknownNameErrors("let x = no_such_builtin_xyz()\n").size() == 1);
  CHECK(unknownNameErrors("import \"std/nn\"\nlet x = elu()\n").empty());
}

TEST_CASE("docs: every built-in in language.md's table exists, and every built-in is in it", "[docs]") {
  std::string doc = readDoc("docs/language.md");
  std::vector<std::string> documented = spanNames(tableColumn(section(doc, "### Built-in functions"), 1));
  requireCallsResolve(documented, 50);
  std::set<std::string> listed(documented.begin(), documented.end());
  for (const std::string &b : sema::builtinNames()) {
    INFO("built-in '" << b << "' is not in docs/language.md's table of built-in functions");
    CHECK(listed.count(b) == 1);
  }
}

TEST_CASE("docs: the std/nn, std/optim and std/bijectors tables name what the library defines", "[docs]") {
  std::string doc = readDoc("docs/language.md");
  requireCallsResolve(spanNames(tableColumn(section(doc, "### `std/nn`: layers, activations, losses"), 0)), 10,
                      "import \"std/nn\"\n");
  requireCallsResolve(spanNames(tableColumn(section(doc, "### `std/bijectors`: the elementwise transforms as functions"), 0)),
                      13, "import \"std/bijectors\"\n");
  // `with OPT(ARGS)` needs OPT_init and OPT_step (std/optim is always visible).
  std::vector<std::string> opts = spanNames(tableColumn(section(doc, "### `std/optim`: optimisers"), 0));
  CHECK(opts.size() >= 4);
  for (const std::string &o : opts) requireCallsResolve({o + "_init", o + "_step"}, 2);
  requireCallsResolve(spanNames(tableColumn(section(doc, "### `std/optim`: learning-rate schedules"), 0)), 5);
  requireCallsResolve(spanNames(tableColumn(section(doc, "### `std/optim`: gradient clipping"), 0)), 2);
}

TEST_CASE("docs: every initialiser in the table is one", "[docs]") {
  std::string doc = readDoc("docs/language.md");
  std::vector<std::string> inits = spanNames(tableColumn(section(doc, "### Initialisers"), 0));
  CHECK(inits.size() >= 6);
  for (const std::string &n : inits) {
    INFO("documented initialiser '" << n << "'");
    CHECK(unknownNameErrors("model M { param w: f32[2, 2] = " + n + "() }\nlet m = M()\n").empty());
  }
}

TEST_CASE("docs: README's passes for ptlc opt are exactly the passes", "[docs]") {
  std::string readme = readDoc("README.md");
  std::vector<std::string> rows = tableColumn(section(readme, "## Using ptlc"), 1);
  std::set<std::string> passes;
  for (const std::string &r : rows)
    if (r.find("runs passes") != std::string::npos)
      for (const std::string &n : spans(r.substr(r.find("runs passes")))) passes.insert(n);
  const std::vector<std::string> &known = ir::passNames();
  CHECK(passes == std::set<std::string>(known.begin(), known.end()));
}
