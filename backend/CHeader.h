//===- backend/CHeader.h - The C header of an AOT object ----------------------===//
//
// The header `ptlc build` writes next to the object: valid C99 and C++
// (include guard, extern "C", <stdint.h> only), declaring the opaque
// context type, the context API and one function per compiled IR function,
// with each buffer's dtype, shape and IR name in a comment and its element
// count and shape as macros. The functions that were left out are listed,
// with the reason, at the top.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tensor.h"

#include <string>

namespace ptl::backend {

struct AotObject;

/// The C type of a buffer element of `dtype`'s name ("float", "int32_t", ...).
const char *cElementType(DType dtype);

/// The header for `object`, made from `source` (the .ptl file, for the
/// comment); `guard` is the include guard's macro.
std::string generateCHeader(const AotObject &object, const std::string &source, const std::string &guard);

} // namespace ptl::backend
