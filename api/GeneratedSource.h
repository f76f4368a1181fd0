//===- api/GeneratedSource.h - What host strings may enter generated PTL -----===//
//
// The embedding API turns host requests into small generated PTL programs
// (api/Module.cpp). Every string a host passes that reaches that text goes
// through one of these functions first, so a crafted name cannot add
// statements to the program: a model type must be a name with integer type
// arguments, a parameter path identifiers joined by dots, and a file path
// becomes a string literal with every special character escaped. Anything
// else is a ptl::RuntimeError naming the string. (Function names and
// parameter paths of existing models are looked up, not pasted, elsewhere.)
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>

namespace ptl::detail {

/// `type` if it is a model type as PTL writes one -- `Name`, or
/// `Name(ARG, ...)` with each ARG an integer, optionally `name = ` before
/// it (`Linear(1, 40)`) -- else throws ptl::RuntimeError prefixed by `what`.
const std::string &checkedModelType(const std::string &type, const std::string &what);

/// `path` if it is a parameter path: identifiers joined by '.' (`l1.W`),
/// else throws ptl::RuntimeError prefixed by `what`.
const std::string &checkedParamPath(const std::string &path, const std::string &what);

/// `s` as a PTL string literal (quotes and backslashes escaped, newlines
/// and tabs as \n and \t); throws ptl::RuntimeError prefixed by `what` for
/// a string with another control character, which PTL strings cannot hold.
std::string stringLiteral(const std::string &s, const std::string &what);

} // namespace ptl::detail
