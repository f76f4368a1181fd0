//===- runtime/Check.cpp - Always-on internal invariants --------------------===//
#include "runtime/Check.h"


namespace ptl {

void internalError(const std::string &message, const char *file, int line) {
  // Keep the path from the source tree's top (frontend/..., ir/..., ...).
  std::string where = file ? file : "?";
  for (const char *top : {"/frontend/", "/ir/", "/backend/", "/runtime/", "/api/", "/tools/"}) {
    size_t at = where.rfind(top);
    if (at != std::string::npos) {
      where = where.substr(at + 1);
      break;
    }
  }
  throw InternalError("internal error: " + message + " (at " + where + ":" + std::to_string(line) + ")");
}

} // namespace ptl
