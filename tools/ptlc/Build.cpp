//===- tools/ptlc/Build.cpp - `ptlc build`: ahead-of-time compilation ---------===//
#include "tools/ptlc/Build.h"

#include "backend/CHeader.h"
#include "backend/ObjectEmitter.h"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>

namespace fs = std::filesystem;

namespace ptl::ptlc {

void addBuildOptions(CLI::App &build, BuildOptions &o) {
  build.add_option("-o,--output", o.output, "The object file (.o) or static library (.a) to write")->required();
  build.add_option("--header", o.header, "The C header to write (default: the output's directory and stem, .h)");
  build.add_option("--name", o.name, "The prefix of the C API's names (default: the output's stem)");
  build.add_option("--cpu", o.cpu,
                   "Target CPU: generic (portable, the default), native (this machine's, as the JIT), or an "
                   "LLVM CPU name such as x86-64-v3");
}

int buildAhead(const ir::Module &m, const std::string &source, int optLevel, const BuildOptions &o) {
  fs::path out(o.output);
  std::string ext = out.extension().string();
  if (ext != ".o" && ext != ".a") {
    std::cerr << "ptlc: error: build writes an object file (.o) or a static library (.a), not '" << o.output
              << "'\n";
    return 1;
  }
  std::string stem = out.stem().string();
  if (ext == ".a" && stem.rfind("lib", 0) == 0 && stem.size() > 3) stem = stem.substr(3);
  backend::AotOptions ao;
  ao.name = backend::cIdentifier(o.name.empty() ? stem : o.name);
  ao.optLevel = optLevel;
  ao.cpu = o.cpu;

  backend::AotObject obj;
  std::string error;
  bool ok = backend::emitAotObject(m, ao, obj, error);
  for (const auto &[fn, why] : obj.skipped)
    std::cerr << source << ": " << (ok ? "warning" : "note") << ": function '" << fn
              << "' is not compiled ahead of time: " << why << "\n";
  if (!ok) {
    std::cerr << source << ": error: " << error << "\n";
    return 1;
  }

  std::string header = o.header.empty() ? (out.parent_path() / (out.stem().string() + ".h")).string() : o.header;
  bool wrote = ext == ".o" ? backend::writeObjectFile(o.output, obj.object, error)
                           : backend::writeStaticArchive(o.output, ao.name + ".o", obj.object, error);
  if (wrote) {
    std::string guard = "PTL_AOT_" + backend::cIdentifier(ao.name) + "_H";
    for (char &c : guard) c = (char)std::toupper((unsigned char)c);
    std::ofstream h(header, std::ios::trunc);
    h << backend::generateCHeader(obj, source, guard);
    h.close();
    if (!h) {
      wrote = false;
      error = "cannot write '" + header + "'";
    }
  }
  if (!wrote) {
    std::cerr << "ptlc: error: " << error << "\n";
    return 1;
  }
  return 0;
}

} // namespace ptl::ptlc
