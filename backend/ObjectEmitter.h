//===- backend/ObjectEmitter.h - Ahead-of-time object files ------------------===//
//
// `ptlc build`: the functions of a module that can run without the
// interpreter (canCompile with `standalone`), lowered by CodeGen exactly as
// the JIT lowers them, optimised by the same pipeline, and compiled to a
// relocatable, position-independent object for the host's triple -- plus,
// in the same object, what makes it usable from C with no LLVM at run time:
//
//   @NAME.sites          the site tables (backend/SiteTablesIO.h), a constant
//   NAME_create()        -> ptlrt_aot_create(@NAME.sites, size)
//   NAME_destroy(ctx), NAME_error_message/_file/_line/_col(ctx),
//   NAME_request_stop(ctx)   -> the ptlrt_aot_* functions (backend/AotRuntime.h)
//   int NAME_F(ctx, args..., results...)   for each compiled function F:
//                        ptlrt_aot_begin, the lowered F, ptlrt_aot_end
//
// Everything else is internal (the JIT's `entry.F` wrappers are not
// needed), so the object's only undefined symbols are the ptlrt_* runtime
// (library ptl_aotrt) and libm/libc. backend/CHeader.h writes the matching
// C header from the same AotObject.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

#include <string>
#include <utility>
#include <vector>

namespace ptl::backend {

struct AotOptions {
  std::string name = "model"; ///< the C prefix (a C identifier, see cIdentifier)
  int optLevel = 2;           ///< LLVM pipeline level, 0..3 (as the JIT's)
  /// Target CPU: "generic" (the triple's baseline, portable), "native" (the
  /// host's CPU and features, as the JIT), or an LLVM CPU name ("x86-64-v3").
  std::string cpu = "generic";
};

/// One function of the object's C API.
struct AotFunction {
  std::string irName;             ///< "main", "loss", "Tiny.apply"
  std::string cName;              ///< "model_main", "model_loss", "model_Tiny_apply"
  std::vector<ir::Type> params;   ///< the flat parameters (model leaves already flattened)
  std::vector<std::string> paramNames; ///< their IR names where known ("" if none)
  /// Whether the body reads each parameter: an `i32` parameter that was a
  /// compile-time constant at the script's call sites is not (the function
  /// was specialised for that value, docs/design.md).
  std::vector<bool> paramUsed;
  std::vector<ir::Type> results;
};

/// What `ptlc build` produced.
struct AotObject {
  std::string name;                 ///< the C prefix
  std::vector<AotFunction> functions;
  /// The functions left out, with the reason (as Engine::whyNotCompiled).
  std::vector<std::pair<std::string, std::string>> skipped;
  std::string object;               ///< the ELF (or the host's format) bytes
  std::string triple, cpu;          ///< what it was compiled for
};

/// `text` as a C identifier: characters other than [A-Za-z0-9_] become '_',
/// and a leading digit (or an empty text) gets a '_' in front.
std::string cIdentifier(const std::string &text);

/// Compiles what it can of `m` into `out`. False with `error` when nothing
/// can be compiled (out.skipped then says why) or LLVM fails.
bool emitAotObject(const ir::Module &m, const AotOptions &opts, AotObject &out, std::string &error);

/// Writes `bytes` to `path` as they are; false with `error` on failure.
bool writeObjectFile(const std::string &path, const std::string &bytes, std::string &error);

/// Writes a static archive (GNU ar format with a symbol table) at `path`
/// holding the object `bytes` as member `memberName`.
bool writeStaticArchive(const std::string &path, const std::string &memberName, const std::string &bytes,
                        std::string &error);

} // namespace ptl::backend
