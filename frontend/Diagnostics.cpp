//===- frontend/Diagnostics.cpp - The diagnostics engine ---------------------===//
#include "frontend/Diagnostics.h"

#include <unistd.h>

namespace ptl {

DiagnosticBuilder::DiagnosticBuilder(DiagnosticEngine &engine, Severity sev,
                                     SourceLoc loc)
    : engine_(&engine), diag_{sev, loc, {}, {}} {}

DiagnosticBuilder::DiagnosticBuilder(DiagnosticBuilder &&other) noexcept
    : engine_(other.engine_), diag_(std::move(other.diag_)) {
  os_ << other.os_.str();
  other.engine_ = nullptr;
}

DiagnosticBuilder::~DiagnosticBuilder() {
  if (!engine_)
    return;
  diag_.message = os_.str();
  engine_->report(std::move(diag_));
}

DiagnosticBuilder &DiagnosticBuilder::note(SourceLoc loc, const std::string &message) {
  diag_.notes.push_back({Severity::Note, loc, message, {}});
  return *this;
}

DiagnosticEngine::DiagnosticEngine(const SourceManager &sm, FILE *out)
    : sm_(sm), out_(out) {
  color_ = out && isatty(fileno(out));
}

static const char *severityName(Severity s) {
  switch (s) {
  case Severity::Error: return "error";
  case Severity::Warning: return "warning";
  case Severity::Note: return "note";
  }
  return "error";
}

static const char *severityColor(Severity s) {
  switch (s) {
  case Severity::Error: return "\033[1;31m";
  case Severity::Warning: return "\033[1;35m";
  case Severity::Note: return "\033[1;36m";
  }
  return "";
}

std::string DiagnosticEngine::render(const ReportedDiagnostic &d) const {
  std::string out;
  const char *bold = color_ ? "\033[1m" : "";
  const char *reset = color_ ? "\033[0m" : "";
  auto one = [&](const ReportedDiagnostic &x) {
    out += bold;
    if (x.loc.valid()) {
      out += sm_.file(x.loc.file).path + ":" + std::to_string(x.loc.line) + ":" +
             std::to_string(x.loc.col) + ": ";
    } else {
      out += "ptlc: ";
    }
    out += reset;
    if (color_) out += severityColor(x.severity);
    out += severityName(x.severity);
    out += ": ";
    out += reset;
    out += bold + x.message + reset + "\n";
    if (!x.loc.valid())
      return;
    std::string_view line = sm_.lineText(x.loc.file, x.loc.line);
    if (line.size() > 240 || x.loc.line < 1)
      return; // too long to be worth echoing (minified or binary input)
    out += "  ";
    out += line;
    out += "\n  ";
    // Columns count characters: one blank per character before the caret
    // (tabs kept, so it lines up with the echoed line however tabs expand).
    size_t caret = byteOffsetOfColumn(line, x.loc.col);
    for (size_t i = 0; i < caret; ++i)
      if (((unsigned char)line[i] & 0xC0) != 0x80)
        out += line[i] == '\t' ? '\t' : ' ';
    if (color_) out += "\033[1;32m";
    out += '^';
    size_t len = (size_t)std::max(1, x.loc.length);
    size_t rest = countChars(line.substr(caret)); // characters from the caret on
    for (size_t i = 1; i < len && i < rest; ++i)
      out += '~';
    out += reset;
    out += "\n";
  };
  one(d);
  for (const ReportedDiagnostic &n : d.notes)
    one(n);
  return out;
}

void DiagnosticEngine::report(ReportedDiagnostic d) {
  if (d.severity == Severity::Error)
    ++errors_;
  else if (d.severity == Severity::Warning)
    ++warnings_;
  bool print = !quiet_ && out_ &&
               !(d.severity == Severity::Error && errors_ > errorLimit_);
  if (print) {
    std::string text = render(d);
    fputs(text.c_str(), out_);
    if (d.severity == Severity::Error && errors_ == errorLimit_)
      fprintf(out_, "ptlc: note: too many errors; further errors are not shown\n");
    fflush(out_);
  }
  all_.push_back(std::move(d));
}

} // namespace ptl
