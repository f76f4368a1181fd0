//===- frontend/Diagnostics.h - The diagnostics engine -----------------------===//
//
// Every user-facing error and warning goes through here and is printed as
//   FILE:LINE:COL: error: MESSAGE
//     <source line>
//         ^~~~
// followed by any notes. Colour is used only when the stream is a terminal.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/SourceManager.h"

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

namespace ptl {

enum class Severity { Error, Warning, Note };

/// One reported diagnostic with its attached notes.
struct ReportedDiagnostic {
  Severity severity;
  SourceLoc loc;
  std::string message;
  std::vector<ReportedDiagnostic> notes;
};

class DiagnosticEngine;

/// Streams a message into a diagnostic; reports it when destroyed.
/// Usage: `diags.error(loc) << "unknown name '" << name << "'";`
class DiagnosticBuilder {
public:
  DiagnosticBuilder(DiagnosticEngine &engine, Severity sev, SourceLoc loc);
  DiagnosticBuilder(DiagnosticBuilder &&other) noexcept;
  ~DiagnosticBuilder();
  template <class T> DiagnosticBuilder &operator<<(const T &v) {
    os_ << v;
    return *this;
  }
  /// Attaches a note at another location.
  DiagnosticBuilder &note(SourceLoc loc, const std::string &message);

private:
  DiagnosticEngine *engine_;
  ReportedDiagnostic diag_;
  std::ostringstream os_;
};

/// Collects and prints diagnostics.
class DiagnosticEngine {
public:
  explicit DiagnosticEngine(const SourceManager &sm, FILE *out = stderr);

  DiagnosticBuilder error(SourceLoc loc) { return {*this, Severity::Error, loc}; }
  DiagnosticBuilder warning(SourceLoc loc) { return {*this, Severity::Warning, loc}; }

  /// Reports a finished diagnostic (prints it at once).
  void report(ReportedDiagnostic d);

  int errorCount() const { return errors_; }
  int warningCount() const { return warnings_; }
  bool hasErrors() const { return errors_ > 0; }
  /// Every diagnostic reported so far (for tests and the REPL).
  const std::vector<ReportedDiagnostic> &all() const { return all_; }
  /// Stop printing (diagnostics are still collected).
  void setQuiet(bool q) { quiet_ = q; }
  /// Force colour on or off (default: on iff the stream is a terminal).
  void setColor(bool c) { color_ = c; }
  /// After this many errors, further errors are counted but not printed.
  void setErrorLimit(int n) { errorLimit_ = n; }

  /// Renders a diagnostic as text (what would be printed).
  std::string render(const ReportedDiagnostic &d) const;

private:
  const SourceManager &sm_;
  FILE *out_;
  bool color_ = false;
  bool quiet_ = false;
  int errorLimit_ = 50;
  int errors_ = 0;
  int warnings_ = 0;
  std::vector<ReportedDiagnostic> all_;
};

} // namespace ptl
