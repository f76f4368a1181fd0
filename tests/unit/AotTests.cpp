//===- tests/unit/AotTests.cpp - Site tables and C names of AOT builds --------===//
//
// The site-table blob that travels inside an AOT object must decode to the
// tables CodeGen made (every field, every table), and a damaged blob must be
// refused, never crash the host. (AOT builds end to end are in tests/aot.)
//
//===----------------------------------------------------------------------===//
#include "backend/AotRuntime.h"
#include "backend/NativeRuntime.h"
#include "backend/ObjectEmitter.h"
#include "backend/SiteTablesIO.h"

#include <catch2/catch.hpp>

using namespace ptl;
using namespace ptl::backend;

namespace {

SiteTables sample() {
  SiteTables s;
  s.files = {"a.ptl", "std/optim.ptl"};
  s.locs = {{0, 3, 7}, {1, 40, 2}, {-1, 0, 0}};
  PrintSite p;
  p.labels = {"loss ", ""};
  p.seps = {" ", ""};
  p.tail = "\n";
  p.types = {{DType::F32, {}}, {DType::I32, {2, 3}}};
  s.prints.push_back(p);
  RandomSite r;
  r.dist = "normal";
  r.key = "net.W";
  r.a = -0.5;
  r.b = 1e-300;
  r.type = {DType::F64, {4}};
  r.loc = 1;
  s.randoms.push_back(r);
  CheckSite c;
  c.spec.kind = ConstraintSpec::Interval;
  c.spec.lo = -1;
  c.spec.hi = 1;
  c.spec.closed = true;
  c.path = "inner.a";
  c.message = "constraint violated";
  c.type = {DType::F32, {2}};
  c.loc = 0;
  s.checks.push_back(c);
  HostOpSite h;
  h.name = "train_progress";
  h.total = 2000;
  h.operands = {{DType::I32, {}}, {DType::F32, {}}};
  h.loc = 2;
  s.hostOps.push_back(h);
  s.messages = {"max of no elements", ""};
  return s;
}

} // namespace

TEST_CASE("site tables survive encoding, field by field", "[aot]") {
  SiteTables in = sample(), out;
  std::string blob = encodeSiteTables(in), error;
  REQUIRE(decodeSiteTables(blob.data(), blob.size(), out, error));
  CHECK(out.files == in.files);
  REQUIRE(out.locs.size() == 3);
  CHECK(out.locs[1].file == 1);
  CHECK(out.locs[1].line == 40);
  CHECK(out.locs[1].col == 2);
  CHECK(out.locs[2].file == -1);
  REQUIRE(out.prints.size() == 1);
  CHECK(out.prints[0].labels == in.prints[0].labels);
  CHECK(out.prints[0].seps == in.prints[0].seps);
  CHECK(out.prints[0].tail == "\n");
  CHECK(out.prints[0].types == in.prints[0].types);
  REQUIRE(out.randoms.size() == 1);
  CHECK(out.randoms[0].dist == "normal");
  CHECK(out.randoms[0].key == "net.W");
  CHECK(out.randoms[0].a == -0.5);
  CHECK(out.randoms[0].b == 1e-300);
  CHECK(out.randoms[0].type == in.randoms[0].type);
  CHECK(out.randoms[0].loc == 1);
  REQUIRE(out.checks.size() == 1);
  CHECK(out.checks[0].spec.kind == ConstraintSpec::Interval);
  CHECK(out.checks[0].spec.describe() == "in [-1, 1]");
  CHECK(out.checks[0].path == "inner.a");
  CHECK(out.checks[0].message == "constraint violated");
  CHECK(out.checks[0].type == in.checks[0].type);
  REQUIRE(out.hostOps.size() == 1);
  CHECK(out.hostOps[0].op == nullptr);
  CHECK(out.hostOps[0].name == "train_progress");
  CHECK(out.hostOps[0].total == 2000);
  CHECK(out.hostOps[0].operands == in.hostOps[0].operands);
  CHECK(out.hostOps[0].loc == 2);
  CHECK(out.messages == in.messages);
  CHECK(encodeSiteTables(out) == blob);
}

TEST_CASE("a damaged site-table blob is refused", "[aot]") {
  std::string blob = encodeSiteTables(sample()), error;
  SiteTables out;
  // Every truncation fails cleanly.
  for (size_t n = 0; n < blob.size(); ++n) {
    INFO("truncated to " << n << " bytes");
    REQUIRE_FALSE(decodeSiteTables(blob.data(), n, out, error));
  }
  CHECK_FALSE(decodeSiteTables((blob + "x").data(), blob.size() + 1, out, error));
  CHECK(error.find("trailing") != std::string::npos);
  std::string wrongMagic = blob;
  wrongMagic[0] = 'X';
  CHECK_FALSE(decodeSiteTables(wrongMagic.data(), wrongMagic.size(), out, error));
  std::string wrongVersion = blob;
  wrongVersion[8] = 9;
  CHECK_FALSE(decodeSiteTables(wrongVersion.data(), wrongVersion.size(), out, error));
  CHECK(error.find("version 9") != std::string::npos);
  // A huge count is refused before anything is allocated.
  std::string huge = blob;
  for (int i = 16; i < 24; ++i) huge[(size_t)i] = '\xff';
  CHECK_FALSE(decodeSiteTables(huge.data(), huge.size(), out, error));
  // The runtime returns no context for a bad blob.
  CHECK(ptlrt_aot_create(wrongMagic.data(), (int64_t)wrongMagic.size()) == nullptr);
  void *ctx = ptlrt_aot_create(blob.data(), (int64_t)blob.size());
  CHECK(ctx != nullptr);
  CHECK(std::string(ptlrt_aot_error_message(ctx)).empty());
  ptlrt_aot_destroy(ctx);
}

TEST_CASE("C identifiers for AOT names", "[aot]") {
  CHECK(cIdentifier("Tiny.apply") == "Tiny_apply");
  CHECK(cIdentifier("f.2") == "f_2");
  CHECK(cIdentifier("2model") == "_2model");
  CHECK(cIdentifier("my-model") == "my_model");
  CHECK(cIdentifier("") == "_");
}
