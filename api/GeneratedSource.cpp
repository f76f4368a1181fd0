//===- api/GeneratedSource.cpp - What host strings may enter generated PTL ----===//
//
// Hand-written scanners for the small grammars of api/GeneratedSource.h
// (no regular expressions: each message says what was expected).
//
//===----------------------------------------------------------------------===//
#include "api/GeneratedSource.h"

#include "api/ValueData.h"

#include <cctype>

namespace ptl::detail {

namespace {

bool identStart(char c) { return std::isalpha((unsigned char)c) || c == '_'; }
bool identChar(char c) { return std::isalnum((unsigned char)c) || c == '_'; }

/// Scanning position in a string.
struct Scanner {
  const std::string &s;
  size_t p = 0;
  void spaces() {
    while (p < s.size() && s[p] == ' ') ++p;
  }
  bool eat(char c) {
    spaces();
    if (p < s.size() && s[p] == c) {
      ++p;
      return true;
    }
    return false;
  }
  /// An identifier at the position (none: false, nothing consumed).
  bool identifier() {
    spaces();
    if (p >= s.size() || !identStart(s[p])) return false;
    while (p < s.size() && identChar(s[p])) ++p;
    return true;
  }
  /// An optionally signed integer.
  bool integer() {
    spaces();
    size_t q = p;
    if (q < s.size() && (s[q] == '-' || s[q] == '+')) ++q;
    size_t digits = q;
    while (q < s.size() && std::isdigit((unsigned char)s[q])) ++q;
    if (q == digits) return false;
    p = q;
    return true;
  }
  bool atEnd() {
    spaces();
    return p == s.size();
  }
};

/// A type argument: INTEGER or NAME = INTEGER.
bool typeArgument(Scanner &sc) {
  size_t start = sc.p;
  if (sc.identifier()) {
    if (!sc.eat('=')) {
      sc.p = start;
      return false;
    }
  }
  return sc.integer();
}

} // namespace

const std::string &checkedModelType(const std::string &type, const std::string &what) {
  Scanner sc{type};
  bool ok = sc.identifier();
  if (ok && sc.eat('(')) {
    if (!sc.eat(')')) {
      do ok = ok && typeArgument(sc);
      while (ok && sc.eat(','));
      ok = ok && sc.eat(')');
    }
  }
  if (!ok || !sc.atEnd())
    throwRuntime(what + ": '" + type +
                 "' is not a model type (expected a model's name, with its integer type arguments if it has "
                 "any: \"Linear(1, 40)\")");
  return type;
}

const std::string &checkedParamPath(const std::string &path, const std::string &what) {
  Scanner sc{path};
  bool ok = true;
  do ok = sc.p < path.size() && identStart(path[sc.p]) && sc.identifier();
  while (ok && sc.p < path.size() && path[sc.p] == '.' && ++sc.p);
  if (!ok || sc.p != path.size())
    throwRuntime(what + ": '" + path + "' is not a parameter path (expected names joined by '.': \"l1.W\")");
  return path;
}

std::string stringLiteral(const std::string &s, const std::string &what) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    if (ch == '\n') {
      out += "\\n";
      continue;
    }
    if (ch == '\t') {
      out += "\\t";
      continue;
    }
    if ((unsigned char)ch < 0x20 || ch == 0x7f)
      throwRuntime(what + ": the path '" + s + "' holds a control character, which a PTL string cannot");
    out += ch;
  }
  return out + "\"";
}

} // namespace ptl::detail
