//===- tests/unit/RobustnessTests.cpp - Sandbox, limits and budgets ---------===//
//
// The file sandbox (runtime/Sandbox.h) against `../`, absolute paths and
// symbolic links pointing outside, in the runtime's file functions, at check
// time (the frontend's inspection of data files) and at run time (the
// interpreter); the static resource limits (ir/interp/Limits.h), the
// per-tensor allocation limit, and the interpreter's time and memory
// budgets.
//
//===----------------------------------------------------------------------===//
#include "frontend/Compiler.h"
#include "ir/interp/Interpreter.h"
#include "ir/interp/Limits.h"
#include "runtime/Errors.h"
#include "runtime/Formats.h"
#include "runtime/Sandbox.h"
#include "runtime/Tensor.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <sys/stat.h>
#include <unistd.h>

using namespace ptl;
namespace fs = std::filesystem;

namespace {

/// A fresh directory tree for one test: ROOT/inside (allowed) and
/// ROOT/outside (not), removed at the end.
struct SandboxDirs {
  fs::path root, inside, outside;
  SandboxDirs() {
    root = fs::temp_directory_path() / ("ptl-sandbox-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(counter()++));
    fs::remove_all(root);
    inside = root / "inside";
    outside = root / "outside";
    fs::create_directories(inside / "sub");
    fs::create_directories(outside);
  }
  ~SandboxDirs() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  static int &counter() {
    static int n = 0;
    return n;
  }
  PathPolicy policy() const { return PathPolicy::onlyUnder({inside.string()}); }
};

void writeText(const fs::path &p, const std::string &text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

/// Compiles `src` (named `dir/test.ptl`) through the driver's pipeline; null
/// with the diagnostics in `errors` on failure.
std::unique_ptr<ir::Module> compileIn(const fs::path &dir, const std::string &src, std::string &errors) {
  Compilation c(nullptr);
  c.diagnostics().setQuiet(true);
  std::unique_ptr<ir::Module> m;
  ElaborateOptions eo;
  eo.baseDir = dir.string();
  if (c.loadSource((dir / "test.ptl").string(), src)) m = c.elaborate(eo);
  if (!m) {
    for (const ReportedDiagnostic &d : c.diagnostics().all())
      errors += std::to_string(d.loc.line) + ":" + std::to_string(d.loc.col) + ": " + d.message + "\n";
    return nullptr;
  }
  std::string error;
  REQUIRE(c.runDefaultPipeline(*m, error));
  return m;
}

} // namespace

TEST_CASE("Sandbox: the default policy allows every path", "[sandbox]") {
  PathPolicy p;
  CHECK_FALSE(p.isRestricted());
  CHECK(p.denial("/etc/passwd", PathAccess::Read).empty());
  CHECK(p.denial("../../x", PathAccess::Write).empty());
}

TEST_CASE("Sandbox: paths are resolved before they are compared", "[sandbox]") {
  SandboxDirs d;
  PathPolicy p = d.policy();
  REQUIRE(p.isRestricted());
  REQUIRE(p.allowedDirectories().size() == 1);
  const std::string in = d.inside.string();

  CHECK(p.denial(in + "/data.csv", PathAccess::Read).empty());
  CHECK(p.denial(in + "/sub/../data.csv", PathAccess::Read).empty());
  CHECK(p.denial(in + "/./sub/new/deeper.npy", PathAccess::Write).empty());
  CHECK(p.denial(in, PathAccess::Read).empty());

  // `..` out of the directory, an absolute path elsewhere, a sibling whose
  // name merely starts with the allowed one.
  std::string why = p.denial(in + "/../outside/secret.npy", PathAccess::Read);
  CHECK_THAT(why, Catch::Contains("cannot read '" + in + "/../outside/secret.npy'"));
  CHECK_THAT(why, Catch::Contains("resolves to '" + d.outside.string() + "/secret.npy'"));
  CHECK_THAT(why, Catch::Contains("outside the directories this script may access (" + in + ")"));
  CHECK_THAT(p.denial("/etc/passwd", PathAccess::Write), Catch::StartsWith("cannot write '/etc/passwd'"));
  CHECK_FALSE(p.denial(in + "2/x.npy", PathAccess::Read).empty());
  CHECK_FALSE(p.denial(in + "/sub/../../inside2/x", PathAccess::Read).empty());
  CHECK_FALSE(p.denial("/", PathAccess::Read).empty());

  // A hint from the host ends the message.
  p.setHint("try --allow-dir");
  CHECK_THAT(p.denial("/etc/passwd", PathAccess::Read), Catch::EndsWith("; try --allow-dir"));

  // Relative paths are taken against the working directory.
  fs::path cwd = fs::current_path();
  fs::current_path(d.inside / "sub");
  CHECK(p.denial("x.npy", PathAccess::Read).empty());
  CHECK(p.denial("../x.npy", PathAccess::Read).empty());
  CHECK_FALSE(p.denial("../../x.npy", PathAccess::Read).empty());
  fs::current_path(cwd);
}

TEST_CASE("Sandbox: a symbolic link pointing outside is refused", "[sandbox]") {
  SandboxDirs d;
  PathPolicy p = d.policy();
  writeText(d.outside / "secret.csv", "x\n1\n");
  // A link to a file outside, a link to a directory outside, a dangling
  // link whose target (outside) does not exist yet, a relative link that
  // climbs out, and a link that stays inside.
  fs::create_symlink(d.outside / "secret.csv", d.inside / "file_link.csv");
  fs::create_directory_symlink(d.outside, d.inside / "dir_link");
  fs::create_symlink(d.outside / "not_yet.npy", d.inside / "dangling.npy");
  fs::create_symlink("../outside/secret.csv", d.inside / "relative_link.csv");
  fs::create_symlink("sub", d.inside / "inner_link");
  fs::create_symlink(d.inside / "loop_a", d.inside / "loop_b");
  fs::create_symlink(d.inside / "loop_b", d.inside / "loop_a");

  CHECK_THAT(p.denial((d.inside / "file_link.csv").string(), PathAccess::Read),
             Catch::Contains("resolves to '" + (d.outside / "secret.csv").string() + "'"));
  CHECK_FALSE(p.denial((d.inside / "dir_link/secret.csv").string(), PathAccess::Read).empty());
  CHECK_FALSE(p.denial((d.inside / "dir_link/new.npy").string(), PathAccess::Write).empty());
  CHECK_FALSE(p.denial((d.inside / "dangling.npy").string(), PathAccess::Write).empty());
  CHECK_FALSE(p.denial((d.inside / "relative_link.csv").string(), PathAccess::Read).empty());
  CHECK(p.denial((d.inside / "inner_link/x.npy").string(), PathAccess::Write).empty());
  CHECK_THAT(p.denial((d.inside / "loop_a").string(), PathAccess::Read), Catch::Contains("symbolic links"));

  // An allowed directory given through a link is resolved when allowed.
  fs::create_directory_symlink(d.inside, d.root / "alias");
  PathPolicy viaAlias = PathPolicy::onlyUnder({(d.root / "alias").string()});
  CHECK(viaAlias.allowedDirectories()[0] == d.inside.string());
  CHECK(viaAlias.denial((d.inside / "x.npy").string(), PathAccess::Read).empty());
  CHECK(viaAlias.denial((d.root / "alias/x.npy").string(), PathAccess::Read).empty());
}

TEST_CASE("Sandbox: the runtime's file functions obey the policy in force", "[sandbox]") {
  SandboxDirs d;
  Tensor t = Tensor::zeros(DType::F32, {3});
  writeNpy((d.outside / "a.npy").string(), t); // no policy yet: allowed
  writeText(d.outside / "a.csv", "x\n1\n");
  fs::create_symlink(d.outside / "a.npy", d.inside / "link.npy");
  fs::create_symlink(d.outside / "b.safetensors", d.inside / "dangling.safetensors");
  {
    ScopedPathPolicy scope(d.policy());
    auto refused = [&](const std::function<void()> &f, const std::string &needle) {
      try {
        f();
        FAIL("no RuntimeFault");
      } catch (const RuntimeFault &e) {
        CHECK_THAT(std::string(e.what()), Catch::Contains(needle));
        CHECK_THAT(std::string(e.what()), Catch::Contains(d.inside.string()));
      }
    };
    std::string up = (d.inside / "../outside").string();
    refused([&] { readNpy(up + "/a.npy"); }, "cannot read");
    refused([&] { inspectNpy(up + "/a.npy"); }, "cannot read");
    refused([&] { readCsv(up + "/a.csv"); }, "cannot read");
    refused([&] { inspectCsv((d.outside / "a.csv").string()); }, "cannot read");
    refused([&] { readSafetensors((d.outside / "b.safetensors").string()); }, "cannot read");
    refused([&] { inspectSafetensors((d.outside / "b.safetensors").string()); }, "cannot read");
    refused([&] { readNpy((d.inside / "link.npy").string()); }, "cannot read");
    refused([&] { writeNpy((d.inside / "link.npy").string(), t); }, "cannot write");
    refused([&] { writeSafetensors((d.inside / "dangling.safetensors").string(), {{"w", t}}); }, "cannot write");
    refused([&] { writeNpy("/tmp/ptl-sandbox-never.npy", t); }, "cannot write '/tmp/ptl-sandbox-never.npy'");
    // Nothing was written outside.
    CHECK_FALSE(fs::exists(d.outside / "b.safetensors"));
    CHECK_FALSE(fs::exists("/tmp/ptl-sandbox-never.npy"));
    // Inside works.
    writeNpy((d.inside / "ok.npy").string(), t);
    CHECK(readNpy((d.inside / "sub/../ok.npy").string()).shape() == Shape{3});
    {
      ScopedPathPolicy open{PathPolicy()}; // nests: everything allowed again
      CHECK(readNpy((d.outside / "a.npy").string()).shape() == Shape{3});
    }
    CHECK_THROWS_AS(readNpy((d.outside / "a.npy").string()), RuntimeFault);
  }
  CHECK(readNpy((d.outside / "a.npy").string()).shape() == Shape{3});
}

/// The names in `dir`, sorted.
static std::vector<std::string> namesIn(const fs::path &dir) {
  std::vector<std::string> names;
  for (const auto &e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST_CASE("Sandbox: a save never follows a link planted at its temporary file", "[sandbox]") {
  SandboxDirs d;
  writeText(d.outside / "victim", "precious");
  // The old temporary name, and a few guesses at new ones, all linked outside.
  fs::create_symlink("../outside/victim", d.inside / "out.npy.ptl-partial");
  fs::create_symlink("../outside/victim", d.inside / "out.npy.ptl-partial-aaaaaa");
  fs::create_symlink(d.outside / "victim", d.inside / "m.safetensors.ptl-partial");
  ScopedPathPolicy scope(d.policy());
  Tensor t = Tensor::zeros(DType::F32, {4});
  writeNpy((d.inside / "out.npy").string(), t);
  writeSafetensors((d.inside / "m.safetensors").string(), {{"w", t}});
  std::ifstream in(d.outside / "victim");
  std::string victim((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(victim == "precious");
  CHECK(readNpy((d.inside / "out.npy").string()).shape() == Shape{4});
  CHECK(fs::is_regular_file(fs::symlink_status(d.inside / "out.npy")));
  CHECK(fs::is_regular_file(fs::symlink_status(d.inside / "m.safetensors")));
  // Nothing new beside the targets: no temporary file, no link.
  CHECK(namesIn(d.inside) == std::vector<std::string>{"m.safetensors", "m.safetensors.ptl-partial", "out.npy",
                                                      "out.npy.ptl-partial", "out.npy.ptl-partial-aaaaaa", "sub"});
  CHECK(namesIn(d.outside) == std::vector<std::string>{"victim"});
}

TEST_CASE("Sandbox: a save writes the resolved path the check allowed", "[sandbox]") {
  SandboxDirs d;
  Tensor t = Tensor::zeros(DType::F32, {2});
  // A link inside pointing inside: the file it points to is replaced, the link stays.
  fs::create_symlink("sub/real.npy", d.inside / "alias.npy");
  // A link to a directory outside, and a dangling link pointing outside.
  fs::create_directory_symlink(d.outside, d.inside / "dir_link");
  fs::create_symlink(d.outside / "new.npy", d.inside / "dangling.npy");
  ScopedPathPolicy scope(d.policy());
  writeNpy((d.inside / "alias.npy").string(), t);
  CHECK(fs::is_symlink(d.inside / "alias.npy"));
  CHECK(fs::is_regular_file(fs::symlink_status(d.inside / "sub/real.npy")));
  CHECK_THROWS_WITH(writeNpy((d.inside / "dir_link/x.npy").string(), t), Catch::Contains("cannot write"));
  CHECK_THROWS_WITH(writeNpy((d.inside / "dangling.npy").string(), t), Catch::Contains("cannot write"));
  CHECK(namesIn(d.outside).empty());
  // A failed write (the target is a directory) leaves no temporary file.
  CHECK_THROWS_WITH(writeNpy((d.inside / "sub").string(), t), Catch::Contains("cannot replace a directory"));
  fs::create_directory(d.inside / "full");
  fs::create_directory(d.inside / "full/x.npy");
  CHECK_THROWS_AS(writeNpy((d.inside / "full/x.npy").string(), t), RuntimeFault);
  CHECK(namesIn(d.inside / "full") == std::vector<std::string>{"x.npy"});
  CHECK(namesIn(d.inside / "sub") == std::vector<std::string>{"real.npy"});
}

TEST_CASE("Files: saving keeps the replaced file's mode; a new file gets the umask's", "[sandbox]") {
  SandboxDirs d;
  Tensor t = Tensor::zeros(DType::F32, {2});
  auto modeOf = [](const fs::path &p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_mode & 07777;
  };
  mode_t saved = ::umask(022);
  fs::path ck = d.inside / "ck.safetensors";
  writeSafetensors(ck.string(), {{"w", t}});
  CHECK(modeOf(ck) == 0644);
  REQUIRE(::chmod(ck.c_str(), 0600) == 0);
  writeSafetensors(ck.string(), {{"w", t}});
  CHECK(modeOf(ck) == 0600);
  REQUIRE(::chmod(ck.c_str(), 0640) == 0);
  writeNpy(ck.string(), t);
  CHECK(modeOf(ck) == 0640);
  ::umask(077);
  writeNpy((d.inside / "private.npy").string(), t);
  CHECK(modeOf(d.inside / "private.npy") == 0600);
  ::umask(saved);
}

TEST_CASE("Sandbox: imports follow the rule of data files, the standard library allowed", "[sandbox]") {
  SandboxDirs d;
  writeText(d.outside / "lib.ptl", "fn f() -> f32 = 1.0\n");
  writeText(d.inside / "sub/ok.ptl", "fn g() -> f32 = 2.0\n");
  writeText(d.inside / "sub/chain.ptl", "import \"../../outside/lib\"\nfn h() -> f32 = f()\n");
  writeText(d.outside / "passwd", "root:x:0:0:root:/root:/bin/bash\n");
  fs::create_symlink(d.outside / "passwd", d.inside / "passwd.ptl");
  fs::create_symlink(d.outside, d.inside / "dir_link");
  ScopedPathPolicy scope(d.policy());
  // Compiles FILE (written with `src`) from disk; the diagnostics as "line:col: message".
  auto compileFile = [&](const std::string &name, const std::string &src, std::string &errors) {
    writeText(d.inside / name, src);
    Compilation c(nullptr);
    c.diagnostics().setQuiet(true);
    std::unique_ptr<ir::Module> m;
    if (c.loadFile((d.inside / name).string())) m = c.elaborate(ElaborateOptions{});
    for (const ReportedDiagnostic &r : c.diagnostics().all())
      errors += std::to_string(r.loc.line) + ":" + std::to_string(r.loc.col) + ": " + r.message + "\n";
    return m != nullptr;
  };
  struct Case {
    std::string src, needle;
  };
  std::vector<Case> refused = {
      {"import \"../outside/lib\"\nprint(f())\n", "cannot import '../outside/lib': cannot read"},
      {"import \"" + (d.outside / "lib").string() + "\"\nprint(f())\n", "cannot read '" + (d.outside / "lib.ptl").string()},
      {"import \"passwd\"\nprint(1.0)\n", "resolves to '" + (d.outside / "passwd").string() + "'"},
      {"import \"dir_link/lib\"\nprint(f())\n", "cannot import 'dir_link/lib'"},
      {"import \"sub/chain\"\nprint(h())\n", "cannot import '../../outside/lib'"},
  };
  for (const Case &c : refused) {
    INFO(c.src);
    std::string errors;
    CHECK_FALSE(compileFile("main.ptl", c.src, errors));
    CHECK_THAT(errors, Catch::Contains(c.needle) && Catch::Contains("outside the directories this script may access"));
    // Nothing of the file outside is shown (no syntax error quoting it).
    CHECK_THAT(errors, !Catch::Contains("root:x"));
    CHECK_THAT(errors, !Catch::Contains("cannot find module"));
  }
  // The first refusal is at the import (line 1, column 1), in the importing file.
  std::string errors;
  CHECK_FALSE(compileFile("main.ptl", "import \"../outside/lib\"\nprint(f())\n", errors));
  CHECK_THAT(errors, Catch::StartsWith("1:1: cannot import"));
  // Inside, and the standard library, are allowed.
  errors.clear();
  CHECK(compileFile("main.ptl", "import \"sub/ok\"\nimport \"std/nn\"\nprint(g())\n", errors));
  CHECK(errors.empty());
  // With no policy, everything goes.
  ScopedPathPolicy open{PathPolicy()};
  errors.clear();
  CHECK(compileFile("main.ptl", "import \"../outside/lib\"\nprint(f())\n", errors));
}

TEST_CASE("Sandbox: the checker reports a refused path at the path argument", "[sandbox]") {
  SandboxDirs d;
  writeText(d.outside / "data.csv", "x,y\n1,2\n");
  writeNpy((d.outside / "a.npy").string(), Tensor::zeros(DType::F32, {2}));
  ScopedPathPolicy scope(d.policy());
  struct Case {
    std::string src, where, what;
  };
  std::string abs = (d.outside / "a.npy").string();
  std::vector<Case> cases = {
      {"let d = load_csv(\"../outside/data.csv\")\nprint(d.x)\n", "1:18: ", "cannot read"},
      {"let a = load_npy(\"" + abs + "\")\nprint(a)\n", "1:18: ", "cannot read '" + abs + "'"},
      {"let a: f32[2] = load_npy(\"../outside/a.npy\")\nprint(a)\n", "1:26: ", "cannot read"},
      {"save_npy(\"../outside/b.npy\", ones[2])\n", "1:10: ", "cannot write"},
      {"model M { param w: f32 = 1.0 }\nsave(\"/tmp/m.safetensors\", M())\n", "2:6: ", "cannot write '/tmp/m.safetensors'"},
      {"model M { param w: f32 = 1.0 }\nlet m = load(M, \"../outside/m.safetensors\")\nprint(m)\n", "2:17: ",
       "cannot read"},
  };
  for (const Case &c : cases) {
    INFO(c.src);
    std::string errors;
    CHECK_FALSE(compileIn(d.inside, c.src, errors));
    CHECK_THAT(errors, Catch::StartsWith(c.where) && Catch::Contains(c.what) &&
                           Catch::Contains("outside the directories this script may access"));
  }
  // Inside the allowed directory all is well.
  writeText(d.inside / "in.csv", "x\n1\n2\n");
  std::string errors;
  CHECK(compileIn(d.inside, "let d = load_csv(\"in.csv\")\nsave_npy(\"sub/x.npy\", d.x)\n", errors));
  CHECK(errors.empty());
}

TEST_CASE("Sandbox: the interpreter refuses at run time, with the op's location", "[sandbox]") {
  SandboxDirs d;
  std::string errors;
  // Compiled with no sandbox, run with one (InterpOptions::pathPolicy).
  auto m = compileIn(d.inside,
                     "model M { param w: f32 = 1.0 }\nprint(1.0)\nsave(\"../outside/m.safetensors\", M())\n"
                     "var x = 0.0\ntrain x minimizing (x - 1.0) ^ 2 with sgd(lr = 0.1) for 2 steps log every 1 to "
                     "\"../outside/log.csv\"\n",
                     errors);
  INFO(errors);
  REQUIRE(m);
  std::ostringstream out, err;
  ir::InterpOptions io;
  io.out = &out;
  io.err = &err;
  io.baseDir = d.inside.string();
  io.pathPolicy = std::make_shared<PathPolicy>(d.policy());
  ir::Interpreter interp(*m, io);
  try {
    interp.call("main", {});
    FAIL("no RuntimeFault");
  } catch (const RuntimeFault &f) {
    CHECK_THAT(std::string(f.what()), Catch::StartsWith("cannot write '" + d.inside.string() + "/../outside/m.safetensors'"));
    CHECK(f.loc.line == 3);
  }
  CHECK(out.str() == "1.0\n");
  CHECK_FALSE(fs::exists(d.outside / "m.safetensors"));
  // The policy was in force during the call only.
  CHECK_FALSE(currentPathPolicy()->isRestricted());
}

TEST_CASE("Sandbox: a train log outside is refused at run time", "[sandbox]") {
  SandboxDirs d;
  std::string errors;
  auto m = compileIn(d.inside,
                     "var x = 0.0\ntrain x minimizing (x - 1.0) ^ 2 with sgd(lr = 0.1) for 2 steps log every 1 to "
                     "\"../outside/log.csv\"\n",
                     errors);
  INFO(errors);
  REQUIRE(m);
  std::ostringstream out, err;
  ir::InterpOptions io;
  io.out = &out;
  io.err = &err;
  io.baseDir = d.inside.string();
  io.pathPolicy = std::make_shared<PathPolicy>(d.policy());
  ir::Interpreter interp(*m, io);
  CHECK_THROWS_WITH(interp.call("main", {}), Catch::Contains("cannot write") && Catch::Contains("log.csv"));
  CHECK_FALSE(fs::exists(d.outside / "log.csv"));
}

TEST_CASE("Limits: oversized tensors and loop nests are found before running", "[limits]") {
  SandboxDirs d;
  std::string errors;
  auto m = compileIn(d.inside,
                     "let x = zeros[100000, 100000, 100]\nprint(sum(x))\nlet y = ones[2000000] @ ones[2000000]\n"
                     "let z = map i in 0..100000 { ones[100000] }\nprint(y, z[0, 0])\n"
                     "var t = 0.0\nfor i in 0..100000 {\n  for j in 0..1000000 {\n    t += 1.0\n  }\n}\nprint(t)\n",
                     errors);
  INFO(errors);
  REQUIRE(m);
  std::vector<ir::LimitViolation> v = ir::checkResourceLimits(*m, ir::ResourceLimits{});
  REQUIRE(v.size() == 3);
  CHECK(v[0].loc.line == 1);
  CHECK_THAT(v[0].message, Catch::StartsWith("tensor f32[100000, 100000, 100] needs 4000000000000 bytes (3.6 TiB), "
                                             "more than the limit of 4.0 GiB per tensor"));
  CHECK(v[1].loc.line == 4); // the map's f32[100000, 100000]
  CHECK_THAT(v[1].message, Catch::Contains("f32[100000, 100000]"));
  CHECK(v[2].loc.line == 8);
  CHECK_THAT(v[2].message, Catch::StartsWith("loop runs 1000000 iterations (100000000000 with the loops around it)"));
  // Budgets are configurable; 0 turns one off.
  CHECK(ir::checkResourceLimits(*m, ir::ResourceLimits{0, 0}).empty());
  CHECK(ir::checkResourceLimits(*m, ir::ResourceLimits{int64_t(1) << 30, 0}).size() == 2);
  CHECK(ir::checkResourceLimits(*m, ir::ResourceLimits{int64_t(4) << 40, 0}).empty());
  CHECK(ir::formatBytes(512) == "512 bytes");
  CHECK(ir::formatBytes(int64_t(3) << 29) == "1.5 GiB");
}

TEST_CASE("Limits: a tensor over the allocation limit is a RuntimeFault, not an allocation", "[limits]") {
  int64_t saved = Tensor::maxTensorBytes();
  Tensor::setMaxTensorBytes(1 << 20);
  CHECK_NOTHROW(Tensor::zeros(DType::F32, {256, 1024}));
  CHECK_THROWS_WITH(Tensor::zeros(DType::F32, {256, 1025}),
                    "cannot create a tensor of type f32[256, 1025]: it needs 1049600 bytes, more than the limit "
                    "of 1048576 bytes per tensor");
  CHECK_THROWS_WITH(Tensor::zeros(DType::F64, {int64_t(1) << 40, int64_t(1) << 40}),
                    Catch::Contains("more bytes than can be counted"));
  Tensor::setMaxTensorBytes(0); // no limit
  CHECK(Tensor::maxTensorBytes() == INT64_MAX);
  CHECK_THROWS_AS(Tensor::zeros(DType::F64, {int64_t(1) << 40, int64_t(1) << 40}), RuntimeFault);
  Tensor::setMaxTensorBytes(saved);
  CHECK(checkedTensorBytes(DType::F32, {100000, 100000, 100}) == 4000000000000);
  CHECK(checkedTensorBytes(DType::F32, {-1}) == -1);
}

TEST_CASE("Budgets: a call over its time budget stops with a RuntimeFault", "[limits]") {
  SandboxDirs d;
  std::string errors;
  // About 10^9 scalar ops: minutes in the interpreter.
  auto m = compileIn(d.inside,
                     "fn spin(n: f32) -> f32 {\n  var t = n\n  for i in 0..1000000 {\n    for j in 0..1000 {\n"
                     "      t = t * 0.5 + 1.0\n    }\n  }\n  t\n}\nprint(spin(1.0))\n",
                     errors);
  INFO(errors);
  REQUIRE(m);
  std::ostringstream out;
  ir::InterpOptions io;
  io.out = &out;
  io.timeBudgetSeconds = 0.3;
  ir::Interpreter interp(*m, io);
  auto t0 = std::chrono::steady_clock::now();
  try {
    interp.call("main", {});
    FAIL("no RuntimeFault");
  } catch (const RuntimeFault &f) {
    CHECK(std::string(f.what()) == "time budget of 0.3 s exceeded");
    CHECK(f.loc.line >= 3);
    CHECK(f.loc.line <= 5);
  }
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(took >= 0.3);
  CHECK(took < 5.0);
  CHECK(out.str().empty());
  // The budget is per call: a second call gets a fresh one.
  auto t1 = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH(interp.call("main", {}), "time budget of 0.3 s exceeded");
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count() >= 0.3);
}

TEST_CASE("Budgets: a call over its memory budget stops with a RuntimeFault", "[limits]") {
  SandboxDirs d;
  std::string errors;
  auto m = compileIn(d.inside,
                     "let a = ones[1000, 1000]\nlet b = a + 1.0\nlet c = b * 2.0\nlet e = [a, b, c]\nprint(sum(e))\n",
                     errors);
  INFO(errors);
  REQUIRE(m);
  std::ostringstream out;
  ir::InterpOptions io;
  io.out = &out;
  io.memoryBudgetBytes = 10 << 20;
  ir::Interpreter interp(*m, io);
  CHECK_THROWS_WITH(interp.call("main", {}), Catch::StartsWith("memory budget of 10485760 bytes exceeded"));
  io.memoryBudgetBytes = 100 << 20;
  ir::Interpreter roomy(*m, io);
  CHECK_NOTHROW(roomy.call("main", {}));
  CHECK(out.str() == "7000000.0\n");
}
