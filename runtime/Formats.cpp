//===- runtime/Formats.cpp - npy, CSV and safetensors files ------------------===//
//
// Readers validate every header field and every size before touching data,
// so a truncated or corrupt file gives a RuntimeFault naming the file and
// the problem, never a crash or an out-of-bounds read.
//
//===----------------------------------------------------------------------===//
#include "runtime/Formats.h"

#include "runtime/Errors.h"
#include "runtime/SafeWrite.h"
#include "runtime/Sandbox.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>


namespace ptl {

namespace {

/// The largest dimension a file may give a tensor: PTL's indices and shape
/// arithmetic are i32.
constexpr int64_t kMaxDimension = 2147483647;

[[noreturn]] void fail(const std::string &path, const std::string &what) {
  throw RuntimeFault(path + ": " + what);
}

/// Reads up to `limit` bytes of a file (all of it by default).
/// The path is checked against the sandbox first (runtime/Sandbox.h).
std::string readBytes(const std::string &path, size_t limit = SIZE_MAX) {
  checkPathAccess(path, PathAccess::Read);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, std::string("cannot open file: ") + std::strerror(errno));
  std::string data;
  char buf[1 << 16];
  while (data.size() < limit) {
    size_t want = std::min(sizeof buf, limit - data.size());
    in.read(buf, (std::streamsize)want);
    std::streamsize got = in.gcount();
    if (got <= 0) break;
    data.append(buf, (size_t)got);
  }
  if (in.bad()) fail(path, "read error");
  return data;
}

/// Writes a whole file atomically, inside the sandbox (runtime/SafeWrite.h).
void writeBytes(const std::string &path, const std::string &bytes) { writeFileAtomically(path, bytes); }

uint64_t readLE(const std::string &b, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i)
    v = (v << 8) | (unsigned char)b[at + i];
  return v;
}

void appendLE(std::string &b, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i)
    b.push_back((char)((v >> (8 * i)) & 0xff));
}

/// Element count of a shape, or -1 if the byte size would exceed `limit`.
int64_t checkedBytes(const Shape &s, size_t elemSize, uint64_t limit) {
  uint64_t n = elemSize;
  for (int64_t d : s) {
    if (d < 0) return -1;
    if (d == 0) return 0;
    if (n > limit / (uint64_t)d) return -1;
    n *= (uint64_t)d;
  }
  return (int64_t)n;
}

/// Copies raw little-endian bytes into a new tensor; bools are normalised to 0/1.
Tensor tensorFromBytes(DType dt, const Shape &shape, const char *bytes) {
  Tensor t = Tensor::zeros(dt, shape);
  if (t.nbytes()) std::memcpy(t.raw(), bytes, t.nbytes());
  if (dt == DType::Bool)
    for (int64_t i = 0; i < t.numel(); ++i)
      t.data<uint8_t>()[i] = t.data<uint8_t>()[i] ? 1 : 0;
  return t;
}

//===----------------------------------------------------------------------===//
// npy
//===----------------------------------------------------------------------===//

const char kNpyMagic[] = "\x93NUMPY";

/// A tiny parser for the Python dict literal of an npy header.
class NpyHeaderParser {
public:
  NpyHeaderParser(const std::string &path, const std::string &text) : path_(path), s_(text) {}

  TensorInfo parse(size_t &dataStart) {
    std::string descr;
    bool haveDescr = false, haveOrder = false, haveShape = false, fortran = false;
    Shape shape;
    expect('{');
    while (true) {
      skip();
      if (peek() == '}') { ++p_; break; }
      std::string key = str();
      expect(':');
      if (key == "descr") { descr = str(); haveDescr = true; }
      else if (key == "fortran_order") { fortran = boolean(); haveOrder = true; }
      else if (key == "shape") { shape = tuple(); haveShape = true; }
      else bad("unknown header key '" + key + "'");
      skip();
      if (peek() == ',') { ++p_; continue; }
      skip();
      if (peek() == '}') { ++p_; break; }
      bad("expected ',' or '}'");
    }
    if (!haveDescr || !haveOrder || !haveShape)
      bad("header lacks one of 'descr', 'fortran_order', 'shape'");
    if (fortran) fail(path_, "fortran_order arrays are not supported (save in C order)");
    TensorInfo info;
    if (descr == "<f4") info.dtype = DType::F32;
    else if (descr == "<f8") info.dtype = DType::F64;
    else if (descr == "<i4") info.dtype = DType::I32;
    else if (descr == "|b1" || descr == "<b1") info.dtype = DType::Bool;
    else fail(path_, "unsupported dtype '" + descr + "' (PTL reads <f4, <f8, <i4 and |b1)");
    info.shape = shape;
    (void)dataStart;
    return info;
  }

private:
  [[noreturn]] void bad(const std::string &what) {
    fail(path_, "malformed npy header: " + what);
  }
  void skip() { while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\t' || s_[p_] == '\n')) ++p_; }
  char peek() { return p_ < s_.size() ? s_[p_] : '\0'; }
  void expect(char c) {
    skip();
    if (peek() != c) bad(std::string("expected '") + c + "'");
    ++p_;
  }
  std::string str() {
    skip();
    char q = peek();
    if (q != '\'' && q != '"') bad("expected a string");
    size_t e = s_.find(q, p_ + 1);
    if (e == std::string::npos) bad("unterminated string");
    std::string r = s_.substr(p_ + 1, e - p_ - 1);
    p_ = e + 1;
    return r;
  }
  bool boolean() {
    skip();
    if (s_.compare(p_, 4, "True") == 0) { p_ += 4; return true; }
    if (s_.compare(p_, 5, "False") == 0) { p_ += 5; return false; }
    bad("expected True or False");
  }
  Shape tuple() {
    expect('(');
    Shape r;
    while (true) {
      skip();
      if (peek() == ')') { ++p_; return r; }
      if (!(peek() >= '0' && peek() <= '9')) bad("expected a dimension");
      int64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        if (v > (INT64_MAX - 9) / 10) bad("dimension too large");
        v = v * 10 + (peek() - '0');
        ++p_;
      }
      if (peek() == 'L') ++p_; // Python 2 long suffix
      if (v > kMaxDimension)
        bad("dimension " + std::to_string(v) + " is larger than " + std::to_string(kMaxDimension) +
            " (PTL's dimensions are i32)");
      r.push_back(v);
      skip();
      if (peek() == ',') { ++p_; continue; }
      if (peek() == ')') { ++p_; return r; }
      bad("expected ',' or ')' in shape");
    }
  }

  const std::string &path_;
  const std::string &s_;
  size_t p_ = 0;
};

/// Parses the preamble and header of an npy file held (at least partly) in
/// `b`; sets `dataStart` to the offset of the data.
TensorInfo parseNpyHeader(const std::string &path, const std::string &b, size_t &dataStart) {
  if (b.size() < 10 || b.compare(0, 6, kNpyMagic, 6) != 0) {
    if (b.size() >= 6 && b.compare(0, 6, kNpyMagic, 6) != 0)
      fail(path, "not an npy file (bad magic string)");
    fail(path, "truncated npy file (" + std::to_string(b.size()) + " bytes, no complete preamble)");
  }
  int major = (unsigned char)b[6];
  size_t lenBytes;
  if (major == 1) lenBytes = 2;
  else if (major == 2 || major == 3) lenBytes = 4;
  else fail(path, "unsupported npy format version " + std::to_string(major));
  if (b.size() < 8 + lenBytes) fail(path, "truncated npy file (no header length)");
  uint64_t hlen = readLE(b, 8, (int)lenBytes);
  if (hlen > (1u << 24)) fail(path, "npy header length " + std::to_string(hlen) + " is implausible");
  size_t start = 8 + lenBytes;
  if (b.size() < start + hlen)
    fail(path, "truncated npy file (header of " + std::to_string(hlen) + " bytes, file has " +
                   std::to_string(b.size() - start) + " after the preamble)");
  std::string text = b.substr(start, hlen);
  dataStart = start + hlen;
  return NpyHeaderParser(path, text).parse(dataStart);
}

} // namespace

TensorInfo inspectNpy(const std::string &path) {
  std::string head = readBytes(path, 12);
  size_t dataStart = 0;
  if (head.size() >= 12 && head.compare(0, 6, kNpyMagic, 6) == 0) {
    int major = (unsigned char)head[6];
    size_t lenBytes = major == 1 ? 2 : 4;
    uint64_t hlen = readLE(head, 8, (int)lenBytes);
    if (hlen <= (1u << 24)) head = readBytes(path, 8 + lenBytes + hlen);
  }
  return parseNpyHeader(path, head, dataStart);
}

Tensor readNpy(const std::string &path) {
  std::string b = readBytes(path);
  size_t dataStart = 0;
  TensorInfo info = parseNpyHeader(path, b, dataStart);
  uint64_t avail = b.size() - dataStart;
  int64_t need = checkedBytes(info.shape, dtypeSize(info.dtype), UINT64_MAX / 2);
  if (need < 0 || (uint64_t)need > avail)
    fail(path, "truncated npy data: " + typeString(info.dtype, info.shape) + " needs " +
                   (need < 0 ? std::string("too many") : std::to_string(need)) + " bytes, file has " +
                   std::to_string(avail));
  return tensorFromBytes(info.dtype, info.shape, b.data() + dataStart);
}

void writeNpy(const std::string &path, const Tensor &t) {
  const char *descr = t.dtype() == DType::F32   ? "<f4"
                      : t.dtype() == DType::F64 ? "<f8"
                      : t.dtype() == DType::I32 ? "<i4"
                                                : "|b1";
  std::string shape = "(";
  for (size_t i = 0; i < t.shape().size(); ++i) {
    shape += std::to_string(t.shape()[i]);
    shape += t.shape().size() == 1 ? "," : (i + 1 < t.shape().size() ? ", " : "");
  }
  shape += ")";
  std::string dict =
      std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad with spaces and a final newline so the data starts 64-byte aligned.
  size_t total = 10 + dict.size() + 1;
  size_t padded = (total + 63) / 64 * 64;
  dict += std::string(padded - total, ' ') + "\n";
  std::string out(kNpyMagic, 6);
  out.push_back(1);
  out.push_back(0);
  appendLE(out, dict.size(), 2);
  out += dict;
  if (t.nbytes()) out.append(static_cast<const char *>(t.raw()), t.nbytes());
  writeBytes(path, out);
}

//===----------------------------------------------------------------------===//
// CSV
//===----------------------------------------------------------------------===//

namespace {

std::string trim(const std::string &s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

/// Splits one line into cells; double-quoted cells may contain commas.
std::vector<std::string> splitCells(const std::string &line) {
  std::vector<std::string> cells;
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') { cur += '"'; ++i; }
      else if (c == '"') quoted = false;
      else cur += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      cells.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  cells.push_back(trim(cur));
  return cells;
}

/// Parses a whole CSV file; fills `columns`, and `data` when `store`.
CsvInfo parseCsv(const std::string &path, std::vector<std::vector<float>> *data) {
  std::string text = readBytes(path);
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
  CsvInfo info;
  bool haveHeader = false;
  size_t pos = 0;
  int64_t lineNo = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    ++lineNo;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim(line).empty()) continue;
    std::vector<std::string> cells = splitCells(line);
    if (!haveHeader) {
      std::set<std::string> seen;
      for (size_t c = 0; c < cells.size(); ++c) {
        if (cells[c].empty())
          fail(path, "line " + std::to_string(lineNo) + ": column " + std::to_string(c + 1) +
                         " of the header has no name");
        if (!seen.insert(cells[c]).second)
          fail(path, "line " + std::to_string(lineNo) + ": duplicate column name '" + cells[c] + "'");
      }
      info.columns = cells;
      haveHeader = true;
      if (data) data->assign(cells.size(), {});
      continue;
    }
    if (cells.size() != info.columns.size())
      fail(path, "line " + std::to_string(lineNo) + " has " + std::to_string(cells.size()) +
                     " cells but the header has " + std::to_string(info.columns.size()) + " columns");
    for (size_t c = 0; c < cells.size(); ++c) {
      const std::string &cell = cells[c];
      char *end = nullptr;
      errno = 0;
      float v = cell.empty() ? 0.f : std::strtof(cell.c_str(), &end);
      if (cell.empty() || end != cell.c_str() + cell.size())
        fail(path, "line " + std::to_string(lineNo) + " (row " + std::to_string(info.rows + 1) +
                       "), column '" + info.columns[c] + "': '" + cell + "' is not a number");
      // A number too large for f32 would silently become inf; `inf` and
      // `nan` written as such are data (docs/language.md). Underflow rounds
      // to zero or a subnormal, as any conversion does.
      if (errno == ERANGE && std::isinf(v))
        fail(path, "line " + std::to_string(lineNo) + " (row " + std::to_string(info.rows + 1) + "), column '" +
                       info.columns[c] + "': '" + cell +
                       "' is out of range for f32 (its largest finite value is 3.4028235e+38; write inf for an "
                       "infinity)");
      if (data) (*data)[c].push_back(v);
    }
    ++info.rows;
  }
  if (!haveHeader) fail(path, "empty CSV file (no header row)");
  return info;
}

} // namespace

CsvInfo inspectCsv(const std::string &path) { return parseCsv(path, nullptr); }

std::vector<NamedTensor> readCsv(const std::string &path) {
  std::vector<std::vector<float>> data;
  CsvInfo info = parseCsv(path, &data);
  std::vector<NamedTensor> out;
  for (size_t c = 0; c < info.columns.size(); ++c) {
    Tensor t = Tensor::zeros(DType::F32, {info.rows});
    if (info.rows) std::memcpy(t.raw(), data[c].data(), data[c].size() * sizeof(float));
    out.push_back({info.columns[c], t});
  }
  return out;
}

//===----------------------------------------------------------------------===//
// safetensors
//===----------------------------------------------------------------------===//

namespace {

struct StEntry {
  std::string name;
  TensorInfo info;
  uint64_t begin = 0, end = 0;
};

struct StHeader {
  std::vector<StEntry> entries; // sorted by begin
  std::map<std::string, std::string> metadata;
  uint64_t dataStart = 0;
};

const char *stDTypeName(DType t) {
  switch (t) {
  case DType::F32: return "F32";
  case DType::F64: return "F64";
  case DType::I32: return "I32";
  case DType::Bool: return "BOOL";
  }
  return "?";
}

/// Validates the header of a safetensors file of `fileSize` bytes whose
/// first bytes are in `b` (at least 8 + header length of them).
StHeader parseStHeader(const std::string &path, const std::string &b, uint64_t fileSize) {
  if (fileSize < 8)
    fail(path, "truncated safetensors file (" + std::to_string(fileSize) +
                   " bytes; the 8-byte header length is missing)");
  uint64_t hlen = readLE(b, 0, 8);
  if (hlen > fileSize - 8)
    fail(path, "truncated safetensors file: header length " + std::to_string(hlen) +
                   " exceeds the " + std::to_string(fileSize - 8) + " bytes after it");
  if (hlen > (100u << 20)) fail(path, "safetensors header length " + std::to_string(hlen) + " is too large");
  if ((uint64_t)b.size() < 8 + hlen) fail(path, "truncated safetensors header");
  std::string text = b.substr(8, hlen);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) fail(path, "safetensors header is not valid JSON");
  if (!j.is_object()) fail(path, "safetensors header is not a JSON object");
  StHeader h;
  h.dataStart = 8 + hlen;
  uint64_t dataSize = fileSize - h.dataStart;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string &name = it.key();
    const nlohmann::json &v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) fail(path, "__metadata__ is not a JSON object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          fail(path, "__metadata__ entry '" + m.key() + "' is not a string");
        h.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    std::string where = "tensor '" + name + "'";
    if (!v.is_object()) fail(path, where + ": entry is not a JSON object");
    for (auto f = v.begin(); f != v.end(); ++f)
      if (f.key() != "dtype" && f.key() != "shape" && f.key() != "data_offsets")
        fail(path, where + ": unknown field '" + f.key() + "'");
    if (!v.contains("dtype") || !v["dtype"].is_string())
      fail(path, where + ": missing or non-string 'dtype'");
    if (!v.contains("shape") || !v["shape"].is_array())
      fail(path, where + ": missing or non-array 'shape'");
    if (!v.contains("data_offsets") || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2)
      fail(path, where + ": 'data_offsets' must be an array [begin, end]");
    StEntry e;
    e.name = name;
    std::string dt = v["dtype"].get<std::string>();
    if (dt == "F32") e.info.dtype = DType::F32;
    else if (dt == "F64") e.info.dtype = DType::F64;
    else if (dt == "I32") e.info.dtype = DType::I32;
    else if (dt == "BOOL") e.info.dtype = DType::Bool;
    else fail(path, where + ": unsupported dtype '" + dt + "' (PTL reads F32, F64, I32, BOOL)");
    for (const auto &d : v["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0 ||
          (d.is_number_unsigned() && d.get<uint64_t>() > (uint64_t)INT64_MAX))
        fail(path, where + ": shape entries must be non-negative integers");
      if (d.get<int64_t>() > kMaxDimension)
        fail(path, where + ": dimension " + std::to_string(d.get<int64_t>()) + " is larger than " +
                       std::to_string(kMaxDimension) + " (PTL's dimensions are i32)");
      e.info.shape.push_back(d.get<int64_t>());
    }
    for (const auto &o : v["data_offsets"])
      if (!o.is_number_integer() || o.get<int64_t>() < 0)
        fail(path, where + ": data_offsets must be non-negative integers");
    e.begin = v["data_offsets"][0].get<uint64_t>();
    e.end = v["data_offsets"][1].get<uint64_t>();
    if (e.begin > e.end)
      fail(path, where + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                     "] are reversed");
    int64_t need = checkedBytes(e.info.shape, dtypeSize(e.info.dtype), UINT64_MAX / 2);
    if (need < 0 || (uint64_t)need != e.end - e.begin)
      fail(path, where + ": " + typeString(e.info.dtype, e.info.shape) + " needs " +
                     (need < 0 ? std::string("too many") : std::to_string(need)) +
                     " bytes but data_offsets span " + std::to_string(e.end - e.begin));
    if (e.end > dataSize)
      fail(path, "truncated safetensors file: " + where + " ends at byte " + std::to_string(e.end) +
                     " of a data buffer of " + std::to_string(dataSize) + " bytes");
    h.entries.push_back(std::move(e));
  }
  std::sort(h.entries.begin(), h.entries.end(), [](const StEntry &a, const StEntry &b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t at = 0;
  for (const StEntry &e : h.entries) {
    if (e.begin != at)
      fail(path, "tensor '" + e.name + "': data_offsets begin at " + std::to_string(e.begin) +
                     (e.begin < at ? " and overlap" : " and leave a gap after") +
                     " the previous tensor (ending at " + std::to_string(at) + ")");
    at = e.end;
  }
  if (at != dataSize)
    fail(path, "the data buffer has " + std::to_string(dataSize) + " bytes but the tensors cover " +
                   std::to_string(at));
  return h;
}

} // namespace

SafetensorsInfo inspectSafetensors(const std::string &path) {
  checkPathAccess(path, PathAccess::Read);
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) fail(path, std::string("cannot open file: ") + std::strerror(errno));
  uint64_t fileSize = (uint64_t)in.tellg();
  in.close();
  std::string head = readBytes(path, 8);
  if (head.size() == 8) {
    uint64_t hlen = readLE(head, 0, 8);
    if (hlen <= fileSize - 8 && hlen <= (100u << 20)) head = readBytes(path, 8 + hlen);
  }
  StHeader h = parseStHeader(path, head, fileSize);
  SafetensorsInfo info;
  for (const StEntry &e : h.entries)
    info.tensors.push_back({e.name, e.info});
  info.metadata = h.metadata;
  return info;
}

SafetensorsFile readSafetensors(const std::string &path) {
  std::string b = readBytes(path);
  StHeader h = parseStHeader(path, b, b.size());
  SafetensorsFile f;
  for (const StEntry &e : h.entries)
    f.tensors.push_back({e.name, tensorFromBytes(e.info.dtype, e.info.shape,
                                                 b.data() + h.dataStart + e.begin)});
  f.metadata = h.metadata;
  return f;
}

void writeSafetensors(const std::string &path, const std::vector<NamedTensor> &tensors,
                      const std::map<std::string, std::string> &metadata) {
  nlohmann::json j = nlohmann::json::object();
  if (!metadata.empty()) j["__metadata__"] = metadata;
  uint64_t at = 0;
  for (const NamedTensor &nt : tensors) {
    if (nt.name == "__metadata__" || j.contains(nt.name))
      fail(path, "cannot save two tensors named '" + nt.name + "'");
    nlohmann::json e;
    e["dtype"] = stDTypeName(nt.tensor.dtype());
    e["shape"] = nt.tensor.shape();
    e["data_offsets"] = {at, at + nt.tensor.nbytes()};
    at += nt.tensor.nbytes();
    j[nt.name] = e;
  }
  std::string header = j.dump();
  header += std::string((8 - header.size() % 8) % 8, ' ');
  std::string out;
  appendLE(out, header.size(), 8);
  out += header;
  for (const NamedTensor &nt : tensors)
    if (nt.tensor.nbytes()) out.append(static_cast<const char *>(nt.tensor.raw()), nt.tensor.nbytes());
  writeBytes(path, out);
}


} // namespace ptl
