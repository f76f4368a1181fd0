//===- tests/unit/CheckTests.cpp - The always-on internal-error channel ----===//
//
// runtime/Check.h: PTL_CHECK and PTL_UNREACHABLE throw InternalError in every
// build type. These tests run in the Release build CI uses (NDEBUG set, so an
// `assert` would be gone): the macros themselves, and invariants inside the
// compiled libraries (the IR's attribute accessors, the op table, the module's
// function table, the pass manager's verification) reporting the op.
//
//===----------------------------------------------------------------------===//
#include "ir/Builder.h"
#include "ir/IR.h"
#include "ir/PassManager.h"
#include "runtime/Check.h"
#include "runtime/Errors.h"

#include <catch2/catch.hpp>

using namespace ptl;

namespace {
/// The message of the InternalError `fn` throws ("" if none).
template <class F> std::string internalMessage(F fn) {
  try {
    fn();
  } catch (const InternalError &e) {
    return e.what();
  }
  return "";
}
} // namespace

TEST_CASE("PTL_CHECK and PTL_UNREACHABLE throw InternalError in every build", "[check]") {
#ifdef NDEBUG
  SUCCEED("NDEBUG is set: asserts would be gone, these checks are not");
#endif
  int evaluated = 0;
  PTL_CHECK(1 + 1 == 2, "message built only on failure: " + std::to_string(++evaluated));
  CHECK(evaluated == 0);
  std::string m = internalMessage([] { PTL_CHECK(1 + 1 == 3, "arithmetic is broken"); });
  CHECK_THAT(m, Catch::StartsWith("internal error: arithmetic is broken (at "));
  CHECK_THAT(m, Catch::Contains("tests/unit/CheckTests.cpp:"));
  CHECK_THAT(internalMessage([] { PTL_UNREACHABLE("no such case"); }),
             Catch::StartsWith("internal error: no such case (at "));
  // Not a RuntimeFault: code turning faults into user diagnostics lets it through.
  bool asFault = false;
  try {
    try {
      PTL_UNREACHABLE("bug");
    } catch (const RuntimeFault &) {
      asFault = true;
    }
  } catch (const InternalError &) {
  }
  CHECK_FALSE(asFault);
}

TEST_CASE("invariants inside the libraries report the op and where it is", "[check]") {
  ir::Module m;
  m.files().push_back("x.ptl");
  ir::Function *f = m.addFunction(std::make_unique<ir::Function>("f", std::vector<ir::Type>{}, std::vector<ir::Type>{}));
  ir::Builder b(&f->body());
  b.setLoc(ir::Loc{0, 3, 7});
  ir::Op *op = b.create(ir::OpKind::Print, {}, {}, {{"labels", std::string("not a list")}});
  std::string msg = internalMessage([&] { op->strsAttr("labels"); });
  CHECK_THAT(msg, Catch::StartsWith("internal error: attribute 'labels' of op 'print' in @f at 3:7 of source 0 is not "
                                    "a list of strings"));
  CHECK_THAT(internalMessage([&] { m.addFunction(std::make_unique<ir::Function>("f", std::vector<ir::Type>{},
                                                                               std::vector<ir::Type>{})); }),
             Catch::StartsWith("internal error: duplicate function @f"));
  CHECK_THAT(internalMessage([] { ir::mnemonic(static_cast<ir::OpKind>(100000)); }),
             Catch::StartsWith("internal error: bad op kind"));
  // IR that fails verification before a pass (no return here) is an internal error too.
  ir::PassManager pm;
  std::string error;
  CHECK_THAT(internalMessage([&] { pm.run(m, error); }),
             Catch::StartsWith("internal error: IR verification failed before the first pass"));
}
