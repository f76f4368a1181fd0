//===- tools/ptlc/Build.h - `ptlc build`: ahead-of-time compilation -----------===//
//
//   ptlc build FILE.ptl -o OUT.o|OUT.a [--header PATH] [--name NAME]
//              [--cpu generic|native|CPU] [-O0..-O3] [--arg k=v]...
//
// Writes the compilable functions of FILE (after the default pass pipeline,
// as `run` compiles it) as a relocatable, position-independent object
// (OUT.o) or a static library holding it (OUT.a), and the C header for them
// (default: OUT's directory and stem with `.h`). Functions that need the
// interpreter (file I/O) are left out with a warning each; if none is left
// the build fails. See backend/ObjectEmitter.h and docs/aot.md.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

#include <string>

namespace CLI {
class App;
}

namespace ptl::ptlc {

/// The options of `ptlc build` beyond the script, its args and -O.
struct BuildOptions {
  std::string output;  ///< -o: OUT.o or OUT.a
  std::string header;  ///< --header (default: next to OUT)
  std::string name;    ///< --name: the C prefix (default: OUT's stem)
  std::string cpu = "generic"; ///< --cpu
};

/// Registers -o, --header, --name and --cpu on the `build` subcommand.
void addBuildOptions(CLI::App &build, BuildOptions &o);

/// Compiles `m` (made from `source`) ahead of time at `optLevel` and writes
/// the object or archive and the header. Reports warnings and errors on
/// stderr; returns the exit status (0 or 1).
int buildAhead(const ir::Module &m, const std::string &source, int optLevel, const BuildOptions &o);

} // namespace ptl::ptlc
