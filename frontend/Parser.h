//===- frontend/Parser.h - Source text to AST ---------------------------------===//
//
// The front door of the front end: checks the raw text (UTF-8, emptiness,
// nesting depth), runs the ANTLR lexer and parser generated from
// grammar/PTL.g4 with PTL's own error reporting, and converts the parse tree
// to the AST. No ANTLR type is visible through this header.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/AST.h"
#include "frontend/Diagnostics.h"
#include "frontend/SourceManager.h"

#include <memory>

namespace ptl {

/// The deepest nesting of brackets (and of operators within an expression)
/// that the parser accepts; deeper input is rejected with a diagnostic
/// before ANTLR (which recurses per level) ever sees it.
constexpr int kMaxNestingDepth = 1000;
/// A file ending with more brackets than this left open is reported without
/// parsing it (ANTLR's error recovery would take time quadratic in their number).
constexpr size_t kMaxUnclosedBrackets = 64;

/// Parses file `fileId` of `sm` into an AST. Every problem is reported to
/// `diags` (several syntax errors per file where the parser can recover);
/// returns null if any error was reported.
std::unique_ptr<ast::Program> parseProgram(SourceManager &sm, int fileId,
                                           DiagnosticEngine &diags);

} // namespace ptl
