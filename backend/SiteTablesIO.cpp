//===- backend/SiteTablesIO.cpp - Site tables as bytes, and back --------------===//
//
// One Writer and one Reader with a method per field type; encode and decode
// then walk the tables in the same order (the two walks sit side by side
// below, so a new field is added to both at once).
//
//===----------------------------------------------------------------------===//
#include "backend/SiteTablesIO.h"

#include "backend/NativeRuntime.h"

#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace ptl::backend {

namespace {

constexpr char kMagic[8] = {'P', 'T', 'L', 'S', 'I', 'T', 'E', 'S'};
constexpr uint32_t kVersion = 1;

class Writer {
public:
  void u64(uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(char((v >> (8 * i)) & 0xff));
  }
  void i64(int64_t v) { u64((uint64_t)v); }
  void i32(int32_t v) { u64((uint64_t)(int64_t)v); }
  void f64(double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    u64(bits);
  }
  void str(const std::string &s) {
    u64(s.size());
    out_ += s;
  }
  void strs(const std::vector<std::string> &v) {
    u64(v.size());
    for (const std::string &s : v) str(s);
  }
  void type(const ir::Type &t) {
    u64((uint64_t)t.dtype);
    u64(t.shape.size());
    for (int64_t d : t.shape) i64(d);
  }
  void raw(const char *p, size_t n) { out_.append(p, n); }
  std::string take() { return std::move(out_); }

private:
  std::string out_;
};

/// Throws std::runtime_error past the end of the blob (caught in decode).
class Reader {
public:
  Reader(const char *p, size_t n) : p_(p), n_(n) {}
  uint64_t u64() {
    need(8);
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= (uint64_t)(unsigned char)p_[pos_ + i] << (8 * i);
    pos_ += 8;
    return v;
  }
  int64_t i64() { return (int64_t)u64(); }
  int32_t i32() { return (int32_t)(int64_t)u64(); }
  double f64() {
    uint64_t bits = u64();
    double v;
    std::memcpy(&v, &bits, 8);
    return v;
  }
  /// A count of items each at least `minBytes` long (bounds the allocation).
  size_t count(size_t minBytes = 8) {
    uint64_t n = u64();
    if (n > (n_ - pos_) / (minBytes ? minBytes : 1)) throw std::runtime_error("a count past the end");
    return (size_t)n;
  }
  std::string str() {
    size_t n = count(1);
    std::string s(p_ + pos_, n);
    pos_ += n;
    return s;
  }
  std::vector<std::string> strs() {
    std::vector<std::string> v(count());
    for (std::string &s : v) s = str();
    return v;
  }
  ir::Type type() {
    ir::Type t;
    uint64_t dt = u64();
    if (dt > (uint64_t)DType::Bool) throw std::runtime_error("a bad dtype");
    t.dtype = (DType)dt;
    t.shape.resize(count());
    for (int64_t &d : t.shape) d = i64();
    return t;
  }
  void expect(const char *p, size_t n) {
    need(n);
    if (std::memcmp(p_ + pos_, p, n) != 0) throw std::runtime_error("not a site table blob");
    pos_ += n;
  }
  bool atEnd() const { return pos_ == n_; }

private:
  void need(size_t k) {
    if (n_ - pos_ < k) throw std::runtime_error("truncated");
  }
  const char *p_;
  size_t n_, pos_ = 0;
};

void loc(Writer &w, const ir::Loc &l) {
  w.i32(l.file);
  w.i32(l.line);
  w.i32(l.col);
}
ir::Loc loc(Reader &r) {
  ir::Loc l;
  l.file = r.i32();
  l.line = r.i32();
  l.col = r.i32();
  return l;
}

} // namespace

std::string encodeSiteTables(const SiteTables &s) {
  Writer w;
  w.raw(kMagic, sizeof kMagic);
  w.u64(kVersion);
  w.strs(s.files);
  w.u64(s.locs.size());
  for (const ir::Loc &l : s.locs) loc(w, l);
  w.u64(s.prints.size());
  for (const PrintSite &p : s.prints) {
    w.strs(p.labels);
    w.strs(p.seps);
    w.str(p.tail);
    w.u64(p.types.size());
    for (const ir::Type &t : p.types) w.type(t);
  }
  w.u64(s.randoms.size());
  for (const RandomSite &r : s.randoms) {
    w.str(r.dist);
    w.str(r.key);
    w.f64(r.a);
    w.f64(r.b);
    w.type(r.type);
    w.i32(r.loc);
  }
  w.u64(s.checks.size());
  for (const CheckSite &c : s.checks) {
    w.u64((uint64_t)c.spec.kind);
    w.f64(c.spec.lo);
    w.f64(c.spec.hi);
    w.u64(c.spec.closed);
    w.str(c.path);
    w.str(c.message);
    w.type(c.type);
    w.i32(c.loc);
  }
  w.u64(s.hostOps.size());
  for (const HostOpSite &h : s.hostOps) {
    w.str(h.name);
    w.i64(h.total);
    w.u64(h.operands.size());
    for (const ir::Type &t : h.operands) w.type(t);
    w.i32(h.loc);
    w.strs(h.paths);
  }
  w.strs(s.messages);
  return w.take();
}

bool decodeSiteTables(const void *data, size_t size, SiteTables &s, std::string &error) {
  try {
    Reader r(static_cast<const char *>(data), size);
    r.expect(kMagic, sizeof kMagic);
    if (uint64_t v = r.u64(); v != kVersion)
      throw std::runtime_error("version " + std::to_string(v) + ", expected " + std::to_string(kVersion));
    SiteTables t;
    t.files = r.strs();
    t.locs.resize(r.count(24));
    for (ir::Loc &l : t.locs) l = loc(r);
    t.prints.resize(r.count(32));
    for (PrintSite &p : t.prints) {
      p.labels = r.strs();
      p.seps = r.strs();
      p.tail = r.str();
      p.types.resize(r.count(16));
      for (ir::Type &ty : p.types) ty = r.type();
    }
    t.randoms.resize(r.count(56));
    for (RandomSite &x : t.randoms) {
      x.dist = r.str();
      x.key = r.str();
      x.a = r.f64();
      x.b = r.f64();
      x.type = r.type();
      x.loc = r.i32();
    }
    t.checks.resize(r.count(72));
    for (CheckSite &c : t.checks) {
      uint64_t kind = r.u64();
      if (kind > (uint64_t)ConstraintSpec::LowerTriangular) throw std::runtime_error("a bad constraint kind");
      c.spec.kind = (ConstraintSpec::Kind)kind;
      c.spec.lo = r.f64();
      c.spec.hi = r.f64();
      c.spec.closed = r.u64() != 0;
      c.path = r.str();
      c.message = r.str();
      c.type = r.type();
      c.loc = r.i32();
    }
    t.hostOps.resize(r.count(32));
    for (HostOpSite &h : t.hostOps) {
      h.name = r.str();
      h.total = r.i64();
      h.operands.resize(r.count(16));
      for (ir::Type &ty : h.operands) ty = r.type();
      h.loc = r.i32();
      h.paths = r.strs();
    }
    t.messages = r.strs();
    if (!r.atEnd()) throw std::runtime_error("trailing bytes");
    s = std::move(t);
    return true;
  } catch (const std::exception &e) {
    error = std::string("bad site tables: ") + e.what();
    return false;
  }
}

} // namespace ptl::backend
