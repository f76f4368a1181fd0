//===- frontend/LiteralListToken.h - One token for a list of numbers --------===//
//
// The token source in frontend/Parser.cpp turns a list literal that holds
// only numbers (each perhaps negated: `[1.0, -2, 3e5]`) into one
// LITERAL_LIST token carrying its elements, so that a list of millions of
// numbers costs no parse-tree contexts per element; frontend/ASTBuilder.cpp
// builds the same ListExpr the grammar's list rule would. Internal to the
// front end (it needs ANTLR's headers).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "antlr4-runtime.h"

#include <string>
#include <vector>

namespace ptl {

/// A LITERAL_LIST token: from its '[' to its ']', with the numbers between.
class LiteralListToken : public antlr4::CommonToken {
public:
  using antlr4::CommonToken::CommonToken;

  /// One element: a number token, and the '-' before it if any.
  struct Element {
    size_t start = 0, stop = 0;   ///< the number's code-point range
    size_t minusStart = (size_t)-1; ///< where its '-' is, or npos
    bool isFloat = false;          ///< FLOAT (else INT)
    std::string text;              ///< the number as written
  };
  std::vector<Element> elements;
};

} // namespace ptl
