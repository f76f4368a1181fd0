//===- frontend/ASTBuilder.h - Parse tree to AST ------------------------------===//
//
// Converts the ANTLR parse tree of a file without syntax errors into the AST
// of frontend/AST.h. Internal to the front end: only frontend/Parser.cpp
// calls it. The parse tree types are only forward-declared here; ANTLR's
// headers are included by the .cpp files alone.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/AST.h"
#include "frontend/Diagnostics.h"
#include "frontend/SourceManager.h"

#include <memory>
#include <string_view>
#include <vector>

namespace antlr4 {
class ParserRuleContext;
} // namespace antlr4

namespace ptl {

/// Maps ANTLR's positions (code-point indices into the decoded input) to
/// SourceLocs whose 1-based columns and lengths count characters (Unicode
/// code points), as the diagnostics engine expects. Every lookup is a
/// binary search, so locating all tokens of a long line stays linear.
class SourceLocator {
public:
  SourceLocator(const SourceManager &sm, int fileId);

  /// The location of the code points [start, stop] (inclusive). A span that
  /// crosses a line break is cut at the end of its first line.
  SourceLoc span(size_t start, size_t stop) const;
  /// The location of the byte at `offset` (its column counts the characters
  /// before it on its line; used for bytes that are not valid UTF-8).
  SourceLoc atByte(size_t offset) const;
  int fileId() const { return fileId_; }

private:
  const SourceFile &file_;
  int fileId_;
  /// Code point index of the first character of each line; empty when the
  /// text is pure ASCII (then the file's byte line starts serve).
  std::vector<size_t> lineStartCp_;
  size_t endCp_ = 0; ///< the number of code points in the text
};

/// Builds the AST of `program` (a PTLParser::ProgramContext of a parse
/// without syntax errors). Semantic-looking syntax errors found on the way
/// (an integer literal out of range, an invalid assignment target, ...) are
/// reported to `diags`; returns null if any was.
std::unique_ptr<ast::Program> buildAST(antlr4::ParserRuleContext *program,
                                       const SourceLocator &locator,
                                       DiagnosticEngine &diags);

} // namespace ptl
