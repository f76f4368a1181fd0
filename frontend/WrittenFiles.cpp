//===- frontend/WrittenFiles.cpp - Reading back what the script writes -----===//
//
// load_csv and an unannotated load_npy take their type from the file when
// the script is compiled. A file the same script writes earlier in the run
// (save, save_npy, `train ... log`) may not exist yet then, or be a previous
// run's with another shape, so such a read takes its type from the writer:
//
//   train ... log every K to "run.csv" [with NAME = EXPR, ...]
//       -> load_csv("run.csv"): step, loss and the metrics, each f32[R] with
//          R = ceil(N / K) rows (trainLogRows); a run stopped early (until,
//          Ctrl-C) leaves fewer rows, and the rows it did not reach read as
//          NaN (load_csv's `pad`);
//   save_npy("x.npy", x)
//       -> load_npy("x.npy"): x's type;
//
// and every other pairing is a located error saying why and what to do
// (with a note at the writer). Paths are compared resolved against the
// script's directory and lexically normalised.
//
//===----------------------------------------------------------------------===//
#include "frontend/Elaborator.h"

#include <filesystem>

namespace ptl {
namespace sema {

std::string Elaborator::fileKey(const std::string &path) const {
  std::filesystem::path p(path);
  if (p.is_relative() && !opts_.baseDir.empty()) p = std::filesystem::path(opts_.baseDir) / p;
  return p.lexically_normal().string();
}

void Elaborator::noteTrainLog(const ast::TrainStmt &s, int64_t steps, int64_t every) {
  WrittenFile f;
  f.writer = "train ... log";
  f.loc = s.logFileLoc;
  f.columns = {"step", "loss"};
  for (const ast::TrainMetric &m : s.metrics) f.columns.push_back(m.name);
  f.rows = trainLogRows(steps, every);
  noteWrittenFile(s.logFile, std::move(f));
}

const Elaborator::WrittenFile *Elaborator::writtenEarlier(const std::string &path, const std::string &reader,
                                                          SourceLoc loc, bool &refused) {
  refused = false;
  auto it = writtenFiles_.find(fileKey(path));
  if (it == writtenFiles_.end()) return nullptr;
  const WrittenFile &f = it->second;
  bool readable = reader == "load_csv" ? !f.columns.empty() : f.npy.has_value();
  if (readable) return &f;
  std::string what = reader == "load_csv" ? "its columns and row count" : "its element type and shape";
  std::string fix = reader == "load_csv"
                        ? "keep the value in a variable instead, or read the file in a later run"
                        : "give the type (`let x: f32[3] = load_npy(...)`), keep the value in a variable, "
                          "or read the file in a later run";
  (diags_.error(loc) << reader << " cannot read '" << path << "' here: this script writes it earlier in the same run ("
                     << f.writer << "), and " << reader << " takes " << what
                     << " from the file when the script is compiled, before it is written; " << fix)
      .note(f.loc, "'" + path + "' is written here");
  refused = true;
  return nullptr;
}

} // namespace sema
} // namespace ptl
