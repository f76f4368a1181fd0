//===- runtime/Formats.h - npy, CSV and safetensors files --------------------===//
//
// Reading and writing the data files a PTL script touches. Every function
// validates what it reads before using it and reports any problem (missing
// file, truncation, corrupt header, unsupported dtype, ragged CSV row, ...)
// as a ptl::RuntimeFault whose message starts with the file's path.
// Every function first checks the path against the sandbox policy in force
// (runtime/Sandbox.h) and throws a RuntimeFault naming the path and the
// allowed directories when it is refused; writers replace the file
// atomically (temporary file, fsync, rename).
//
//   npy:         format 1.0 written (1.0-3.0 read), little-endian '<f4' '<f8'
//                '<i4' and '|b1', C order only.
//   CSV:         a header row of column names, then rows of numbers; every
//                column is read as f32.
//   safetensors: u64 LE header length, a JSON header mapping tensor names to
//                {"dtype": "F32"|"F64"|"I32"|"BOOL", "shape": [...],
//                "data_offsets": [begin, end]} plus an optional
//                "__metadata__" string map, then the byte buffer.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tensor.h"

#include <map>
#include <string>
#include <vector>

namespace ptl {

/// The dtype and shape of a stored tensor.
struct TensorInfo {
  DType dtype = DType::F32;
  Shape shape;
};

/// A tensor with a name (a safetensors entry, a CSV column).
struct NamedTensor {
  std::string name;
  Tensor tensor;
};

// ---- npy ----------------------------------------------------------------------

/// Reads only the header of an .npy file.
TensorInfo inspectNpy(const std::string &path);
/// Reads an .npy file.
Tensor readNpy(const std::string &path);
/// Writes `t` as an .npy file (format 1.0, C order).
void writeNpy(const std::string &path, const Tensor &t);

// ---- CSV ----------------------------------------------------------------------

/// Column names and number of data rows of a CSV file.
struct CsvInfo {
  std::vector<std::string> columns;
  int64_t rows = 0;
};
/// Scans a CSV file: its column names and number of data rows.
CsvInfo inspectCsv(const std::string &path);
/// Reads a CSV file with a header row: one f32[rows] tensor per column, in
/// file order. Blank lines are skipped; cells may be quoted and padded with
/// spaces; a cell that is not a number is an error naming row and column.
std::vector<NamedTensor> readCsv(const std::string &path);

// ---- safetensors --------------------------------------------------------------

/// The header of a safetensors file.
struct SafetensorsInfo {
  /// Entries in order of their data offsets.
  std::vector<std::pair<std::string, TensorInfo>> tensors;
  std::map<std::string, std::string> metadata;
};
/// Reads and validates only the header.
SafetensorsInfo inspectSafetensors(const std::string &path);
/// A whole safetensors file.
struct SafetensorsFile {
  std::vector<NamedTensor> tensors; ///< in order of their data offsets
  std::map<std::string, std::string> metadata;
};
/// Reads and validates a whole safetensors file.
SafetensorsFile readSafetensors(const std::string &path);
/// Writes tensors (data in the given order, 8-byte aligned header) and
/// optional metadata. Names must be unique and not "__metadata__".
void writeSafetensors(const std::string &path, const std::vector<NamedTensor> &tensors,
                      const std::map<std::string, std::string> &metadata = {});

} // namespace ptl
