//===- backend/CHeader.cpp - The C header of an AOT object --------------------===//
#include "backend/CHeader.h"

#include "backend/ObjectEmitter.h"

#include <cctype>
#include <sstream>

namespace ptl::backend {

const char *cElementType(DType dtype) {
  switch (dtype) {
  case DType::F32: return "float";
  case DType::F64: return "double";
  case DType::I32: return "int32_t";
  case DType::Bool: return "uint8_t";
  }
  return "void";
}

namespace {

std::string upper(const std::string &s) {
  std::string u = s;
  for (char &c : u) c = (char)std::toupper((unsigned char)c);
  return u;
}

/// A comment-safe copy of `s` (no "*/").
std::string commentSafe(std::string s) {
  for (size_t p; (p = s.find("*/")) != std::string::npos;) s.replace(p, 2, "* /");
  return s;
}

/// The element-count macro of one buffer.
void bufferMacro(std::ostream &os, const std::string &macro, const ir::Type &t) {
  os << "#define " << macro << "_NUMEL " << numElements(t.shape) << "\n";
}

} // namespace

std::string generateCHeader(const AotObject &o, const std::string &source, const std::string &guard) {
  const std::string &n = o.name;
  std::ostringstream os;
  os << "/* " << commentSafe(n) << ".h: the C API of " << commentSafe(n) << ", compiled ahead of time from "
     << commentSafe(source) << " by ptlc build\n"
     << " * (target " << o.triple << ", cpu " << o.cpu << "). Generated: do not edit.\n"
     << " *\n"
     << " * Link the object with the PTL AOT runtime, libptl_aotrt.a and libptl_runtime.a, and the\n"
     << " * C++ standard library and libm (e.g. `c++ host.c model.o -lptl_aotrt -lptl_runtime -lm`);\n"
     << " * no LLVM is needed at run time.\n"
     << " *\n"
     << " * Buffers are dense and row-major, of the element type and shape given with each\n"
     << " * parameter (bool is one byte per element, 0 or 1). Arguments are read only; result\n"
     << " * buffers are allocated by the caller, filled by the call, and must not overlap any\n"
     << " * argument. Each parameter's comment gives its type and IR name; a model argument\n"
     << " * is passed as its stored leaves, one pointer each, in the order of the model's\n"
     << " * declaration with sub-models expanded in place (a method's own leaves are named by\n"
     << " * path; those of a model parameter are unnamed in the IR). A parameter marked\n"
     << " * `unused` is ignored: it was a compile-time constant where the script calls the\n"
     << " * function, which was specialised for that value.\n"
     << " * The _NUMEL macros give each buffer's element count. Every function returns 0 on success and\n"
     << " * nonzero after a run-time fault; " << n << "_error_message(ctx) then says what\n"
     << " * happened and " << n << "_error_file/_line/_col(ctx) where in the .ptl source.\n"
     << " * A context runs one call at a time; use one context per thread. `print` writes\n"
     << " * to stdout (std::cout).\n";
  if (!o.skipped.empty()) {
    os << " *\n * Not compiled (these need the interpreter):\n";
    for (const auto &[fn, why] : o.skipped) os << " *   " << commentSafe(fn) << ": " << commentSafe(why) << "\n";
  }
  os << " */\n"
     << "#ifndef " << guard << "\n#define " << guard << "\n\n#include <stdint.h>\n\n"
     << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
     << "/* The state of calls into " << n << ": frames, the last error, running train loops. */\n"
     << "typedef struct " << n << "_ctx " << n << "_ctx;\n\n"
     << "/* A new context, or NULL if out of memory. */\n"
     << n << "_ctx *" << n << "_create(void);\n"
     << "/* Frees a context (NULL is fine). */\n"
     << "void " << n << "_destroy(" << n << "_ctx *ctx);\n"
     << "/* The last call's fault message (\"\" after a success). */\n"
     << "const char *" << n << "_error_message(const " << n << "_ctx *ctx);\n"
     << "/* Where the last fault happened: the .ptl file (\"\" if unknown), line and column (0 if unknown). */\n"
     << "const char *" << n << "_error_file(const " << n << "_ctx *ctx);\n"
     << "int32_t " << n << "_error_line(const " << n << "_ctx *ctx);\n"
     << "int32_t " << n << "_error_col(const " << n << "_ctx *ctx);\n"
     << "/* Asks the running `train` loops of ctx to stop after their current step (any thread). */\n"
     << "void " << n << "_request_stop(" << n << "_ctx *ctx);\n";

  for (const AotFunction &f : o.functions) {
    os << "\n/* " << commentSafe(f.irName) << (f.irName == "main" ? " (the script's top level)" : "") << " */\n";
    std::string macro = upper(f.cName);
    os << "#define " << macro << "_NUM_ARGS " << f.params.size() << "\n";
    os << "#define " << macro << "_NUM_RESULTS " << f.results.size() << "\n";
    for (size_t i = 0; i < f.params.size(); ++i) bufferMacro(os, macro + "_ARG" + std::to_string(i), f.params[i]);
    for (size_t i = 0; i < f.results.size(); ++i)
      bufferMacro(os, macro + "_RES" + std::to_string(i), f.results[i]);
    os << "int " << f.cName << "(" << n << "_ctx *ctx";
    size_t total = f.params.size() + f.results.size();
    for (size_t i = 0; i < total; ++i) {
      bool isArg = i < f.params.size();
      size_t k = isArg ? i : i - f.params.size();
      const ir::Type &t = isArg ? f.params[k] : f.results[k];
      os << ",\n    " << (isArg ? "const " : "") << cElementType(t.dtype) << " *" << (isArg ? "arg" : "res") << k;
      os << " /* " << t.str();
      if (isArg) {
        os << ", " << (f.paramNames[k].empty() ? "unnamed" : commentSafe(f.paramNames[k]));
        if (!f.paramUsed[k]) os << ", unused";
      }
      os << " */";
    }
    os << ");\n";
  }
  os << "\n#ifdef __cplusplus\n} /* extern \"C\" */\n#endif\n\n#endif /* " << guard << " */\n";
  return os.str();
}

} // namespace ptl::backend
