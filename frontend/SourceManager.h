//===- frontend/SourceManager.h - Source files and locations -----------------===//
//
// Owns the text of every loaded source file and maps locations back to lines
// for diagnostics. A SourceLoc is small and is carried by every token, AST
// node and IR op.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ptl {

/// A position in a source file: file id, 1-based line and column, and the
/// length of the construct (for underlining); file < 0 means "no location".
/// Columns and lengths count characters (Unicode code points), not bytes.
struct SourceLoc {
  int file = -1;
  int line = 0;
  int col = 0;
  int length = 1;
  bool valid() const { return file >= 0; }
};

/// One loaded source file.
struct SourceFile {
  std::string path;   ///< as given by the user (shown in diagnostics)
  std::string text;   ///< the bytes of the file (BOM stripped)
  std::vector<size_t> lineStarts;
};

/// The number of characters (UTF-8 code points: bytes that do not continue
/// a sequence) in `text`.
size_t countChars(std::string_view text);

/// The byte offset in `line` of the character at 1-based column `col`
/// (line.size() when the line is shorter).
size_t byteOffsetOfColumn(std::string_view line, int col);

/// Owns all source files of a compilation.
class SourceManager {
public:
  /// Adds a file from memory; returns its id.
  int addBuffer(std::string path, std::string text);
  /// Reads a file from disk; returns its id or -1 (and sets `error`).
  int addFile(const std::string &path, std::string &error);

  const SourceFile &file(int id) const { return *files_[id]; }
  int fileCount() const { return (int)files_.size(); }
  /// The text of line `line` (1-based) of file `id`, without the newline.
  std::string_view lineText(int id, int line) const;

private:
  std::vector<std::unique_ptr<SourceFile>> files_;
};

} // namespace ptl
