//===- frontend/SourceManager.cpp - Source files and locations ---------------===//
#include "frontend/SourceManager.h"

#include <fstream>
#include <sstream>

namespace ptl {

int SourceManager::addBuffer(std::string path, std::string text) {
  auto f = std::make_unique<SourceFile>();
  f->path = std::move(path);
  // A UTF-8 byte-order mark is skipped.
  if (text.size() >= 3 && (unsigned char)text[0] == 0xEF &&
      (unsigned char)text[1] == 0xBB && (unsigned char)text[2] == 0xBF)
    text.erase(0, 3);
  f->text = std::move(text);
  f->lineStarts.push_back(0);
  for (size_t i = 0; i < f->text.size(); ++i)
    if (f->text[i] == '\n')
      f->lineStarts.push_back(i + 1);
  files_.push_back(std::move(f));
  return (int)files_.size() - 1;
}

int SourceManager::addFile(const std::string &path, std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open file '" + path + "'";
    return -1;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    error = "cannot read file '" + path + "'";
    return -1;
  }
  return addBuffer(path, ss.str());
}

size_t countChars(std::string_view text) {
  size_t n = 0;
  for (unsigned char c : text)
    n += (c & 0xC0) != 0x80;
  return n;
}

size_t byteOffsetOfColumn(std::string_view line, int col) {
  size_t i = 0;
  for (int c = 1; c < col && i < line.size(); ++c) {
    ++i; // past the first byte of this character, then its continuation bytes
    while (i < line.size() && ((unsigned char)line[i] & 0xC0) == 0x80)
      ++i;
  }
  return i;
}

std::string_view SourceManager::lineText(int id, int line) const {
  const SourceFile &f = *files_[id];
  if (line < 1 || line > (int)f.lineStarts.size())
    return {};
  size_t start = f.lineStarts[line - 1];
  size_t end = f.text.find('\n', start);
  if (end == std::string::npos)
    end = f.text.size();
  std::string_view sv(f.text.data() + start, end - start);
  if (!sv.empty() && sv.back() == '\r')
    sv.remove_suffix(1);
  return sv;
}

} // namespace ptl
