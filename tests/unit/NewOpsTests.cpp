//===- tests/unit/NewOpsTests.cpp - floor, index_add, pad, scatter_add -------===//
//
// The ops added for the derivative rules: their shape rules (inferResultTypes
// and, for pad's explicit type, the verifier) and the values the interpreter
// computes, including out-of-range indices faulting like `index`.
//
//===----------------------------------------------------------------------===//
#include "ir/Builder.h"
#include "ir/IR.h"
#include "ir/Verifier.h"
#include "ir/interp/Interpreter.h"
#include "runtime/Errors.h"

#include "TensorTestSupport.h"

#include <catch2/catch.hpp>

#include <cmath>

using namespace ptl;
using namespace ptl::ir;

namespace {

using ptl::testing::make;
using ptl::testing::ty;
using ptl::testing::values;
const DType F32 = DType::F32, F64 = DType::F64, I32 = DType::I32;


/// Builds `f(ins...) = kind(ins..., attrs)` (explicit result type if given),
/// verifies it and runs it.
Tensor runOp(OpKind kind, std::vector<Tensor> ins, AttrMap attrs = {}, const Type *explicitType = nullptr) {
  Module m;
  std::vector<Type> params;
  for (const Tensor &t : ins) params.push_back(ty(t.dtype(), t.shape()));
  Function *f = m.addFunction(std::make_unique<Function>("f", params, std::vector<Type>{}));
  Builder b(&f->body());
  std::vector<Value *> ops;
  for (unsigned i = 0; i < ins.size(); ++i) ops.push_back(f->body().argument(i));
  Value *r = explicitType ? b.create(kind, ops, {*explicitType}, attrs)->result(0) : b.make(kind, ops, attrs);
  f->setResultTypes({r->type()});
  b.create(OpKind::Return, {r}, {});
  std::string err;
  REQUIRE(verifyModule(m, err));
  Interpreter in(m, InterpOptions{});
  return in.call("f", ins)[0];
}

/// The shape rule's verdict on an op.
bool infers(OpKind kind, std::vector<Type> in, AttrMap attrs, std::vector<Type> &out, std::string &err) {
  return inferResultTypes(kind, in, attrs, out, err);
}

/// The verifier's verdict on a one-op function with an explicit result type.
bool verifies(OpKind kind, Type operand, Type result, AttrMap attrs, std::string &err) {
  Module m;
  Function *f = m.addFunction(std::make_unique<Function>("f", std::vector<Type>{operand}, std::vector<Type>{result}));
  Builder b(&f->body());
  Value *r = b.create(kind, {f->body().argument(0)}, {result}, attrs)->result(0);
  b.create(OpKind::Return, {r}, {});
  return verifyModule(m, err);
}

} // namespace

TEST_CASE("floor rounds toward minus infinity in the element type", "[newops]") {
  Tensor y = runOp(OpKind::Floor, {make(F64, {5}, {-1.5, -1.0, -0.25, 0.75, 2.0})});
  CHECK(values(y) == std::vector<double>{-2, -1, -1, 0, 2});
  Tensor z = runOp(OpKind::Floor, {make(F32, {2}, {2.5, -0.5})});
  CHECK(z.dtype() == F32);
  CHECK(values(z) == std::vector<double>{2, -1});
  std::vector<Type> out;
  std::string err;
  CHECK_FALSE(infers(OpKind::Floor, {ty(I32, {2})}, {}, out, err));
  CHECK(err.find("float") != std::string::npos);
}

TEST_CASE("round goes to the nearest integer, ties to even, in the element type", "[newops]") {
  // NumPy: np.round([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.7, -0.7]) = [-2, -2, -0, 0, 2, 2, 1, -1]
  for (DType dt : {F32, F64}) {
    Tensor y = runOp(OpKind::Round, {make(dt, {8}, {-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.7, -0.7})});
    CHECK(y.dtype() == dt);
    CHECK(values(y) == std::vector<double>{-2, -2, 0, 0, 2, 2, 1, -1});
    CHECK(std::signbit(y.getDouble(2)));
  }
  Tensor big = runOp(OpKind::Round, {make(F64, {2}, {4503599627370497.0, 8388609.5})});
  CHECK(values(big) == std::vector<double>{4503599627370497.0, 8388610.0});
  std::vector<Type> out;
  std::string err;
  CHECK_FALSE(infers(OpKind::Round, {ty(I32, {2})}, {}, out, err));
}

TEST_CASE("sign is NumPy's: +0 for either zero, NaN for NaN", "[newops]") {
  for (DType dt : {F32, F64}) {
    Tensor y = runOp(OpKind::Sign, {make(dt, {5}, {-0.0, 0.0, std::nan(""), -3.5, 1e-30})});
    CHECK(y.getDouble(0) == 0);
    CHECK_FALSE(std::signbit(y.getDouble(0)));
    CHECK_FALSE(std::signbit(y.getDouble(1)));
    CHECK(std::isnan(y.getDouble(2)));
    CHECK(y.getDouble(3) == -1);
    CHECK(y.getDouble(4) == 1);
  }
}

TEST_CASE("index_add adds a row along axis 0", "[newops]") {
  Tensor x = make(F64, {3, 2}, {1, 2, 3, 4, 5, 6});
  Tensor y = runOp(OpKind::IndexAdd, {x, Tensor::scalar(I32, 1), make(F64, {2}, {10, 20})});
  CHECK(values(y) == std::vector<double>{1, 2, 13, 24, 5, 6});
  CHECK(values(x) == std::vector<double>{1, 2, 3, 4, 5, 6}); // the operand is not modified
  // rank 1: the row is a scalar
  Tensor v = runOp(OpKind::IndexAdd, {make(I32, {3}, {1, 2, 3}), Tensor::scalar(I32, 2), Tensor::scalar(I32, 5)});
  CHECK(values(v) == std::vector<double>{1, 2, 8});

  std::vector<Type> out;
  std::string err;
  REQUIRE(infers(OpKind::IndexAdd, {ty(F32, {3, 2}), ty(I32), ty(F32, {2})}, {}, out, err));
  CHECK(out == std::vector<Type>{ty(F32, {3, 2})});
  CHECK_FALSE(infers(OpKind::IndexAdd, {ty(F32, {3, 2}), ty(I32), ty(F32, {3})}, {}, out, err));
  CHECK(err.find("f32[2]") != std::string::npos);
  CHECK_FALSE(infers(OpKind::IndexAdd, {ty(F32, {3, 2}), ty(F32), ty(F32, {2})}, {}, out, err));
  CHECK_FALSE(infers(OpKind::IndexAdd, {ty(F32), ty(I32), ty(F32)}, {}, out, err));
}

TEST_CASE("index_add faults on an index out of range", "[newops]") {
  Tensor x = make(F64, {3, 2}, {1, 2, 3, 4, 5, 6});
  Tensor v = make(F64, {2}, {1, 1});
  CHECK_THROWS_AS(runOp(OpKind::IndexAdd, {x, Tensor::scalar(I32, 3), v}), RuntimeFault);
  CHECK_THROWS_WITH(runOp(OpKind::IndexAdd, {x, Tensor::scalar(I32, -1), v}),
                    Catch::Contains("index -1 out of range for axis 0 of size 3"));
}

TEST_CASE("pad places the operand in zeros (the inverse of slice)", "[newops]") {
  Type t = ty(F64, {3, 4});
  Tensor y = runOp(OpKind::Pad, {make(F64, {2, 2}, {1, 2, 3, 4})}, {{"starts", std::vector<int64_t>{1, 2}}}, &t);
  CHECK(values(y) == std::vector<double>{0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4});
  Type t3 = ty(I32, {2, 3, 2});
  Tensor z = runOp(OpKind::Pad, {make(I32, {1, 2, 1}, {7, 8})}, {{"starts", std::vector<int64_t>{1, 0, 1}}}, &t3);
  CHECK(values(z) == std::vector<double>{0, 0, 0, 0, 0, 0, 0, 7, 0, 8, 0, 0});
  Type ts = ty(F32);
  Tensor s = runOp(OpKind::Pad, {Tensor::scalar(F32, 2.5)}, {{"starts", std::vector<int64_t>{}}}, &ts);
  CHECK(values(s) == std::vector<double>{2.5});
  // slice(pad(x)) == x
  Type tb = ty(F64, {4});
  Tensor p = runOp(OpKind::Pad, {make(F64, {2}, {5, 6})}, {{"starts", std::vector<int64_t>{2}}}, &tb);
  Tensor back = runOp(OpKind::Slice, {p}, {{"starts", std::vector<int64_t>{2}}, {"ends", std::vector<int64_t>{4}}});
  CHECK(values(back) == std::vector<double>{5, 6});
}

TEST_CASE("the verifier checks that pad's operand fits its type", "[newops]") {
  std::string err;
  AttrMap at{{"starts", std::vector<int64_t>{1, 2}}};
  CHECK(verifies(OpKind::Pad, ty(F64, {2, 2}), ty(F64, {3, 4}), at, err));
  CHECK_FALSE(verifies(OpKind::Pad, ty(F64, {2, 2}), ty(F64, {3, 3}), at, err));
  CHECK(err.find("does not fit") != std::string::npos);
  CHECK_FALSE(verifies(OpKind::Pad, ty(F64, {2, 2}), ty(F32, {3, 4}), at, err));
  CHECK_FALSE(verifies(OpKind::Pad, ty(F64, {2, 2}), ty(F64, {3, 4, 1}), at, err));
  CHECK_FALSE(verifies(OpKind::Pad, ty(F64, {2, 2}), ty(F64, {3, 4}), {{"starts", std::vector<int64_t>{1}}}, err));
  CHECK(err.find("starts") != std::string::npos);
  CHECK_FALSE(verifies(OpKind::Pad, ty(F64, {2, 2}), ty(F64, {3, 4}), {{"starts", std::vector<int64_t>{-1, 0}}}, err));
  CHECK_FALSE(verifies(OpKind::Pad, ty(F64, {2, 2}), ty(F64, {3, 4}), {}, err));
  CHECK(err.find("missing attribute 'starts'") != std::string::npos);
  std::vector<Type> out;
  CHECK_FALSE(inferResultTypes(OpKind::Pad, {ty(F64, {2})}, at, out, err));
  CHECK(err == "explicit");
}

TEST_CASE("scatter_add accumulates slices at indices along an axis", "[newops]") {
  // axis 0, repeated index 1 accumulates
  Tensor x = make(F64, {3, 2}, {1, 1, 1, 1, 1, 1});
  Tensor v = make(F64, {3, 2}, {1, 2, 10, 20, 100, 200});
  Tensor y = runOp(OpKind::ScatterAdd, {x, make(I32, {3}, {1, 1, 2}), v}, {{"axis", int64_t(0)}});
  CHECK(values(y) == std::vector<double>{1, 1, 12, 23, 101, 201});
  // axis 1 with a 2-d index tensor: v has shape [2] + [2, 2]... = x.shape[:1] + idx.shape
  Tensor x2 = make(F64, {2, 3}, {0, 0, 0, 0, 0, 0});
  Tensor v2 = make(F64, {2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  Tensor y2 = runOp(OpKind::ScatterAdd, {x2, make(I32, {2, 2}, {0, 2, 2, 2}), v2}, {{"axis", int64_t(1)}});
  CHECK(values(y2) == std::vector<double>{1, 0, 2 + 3 + 4, 5, 0, 6 + 7 + 8});
  // scatter_add is the adjoint of take: <take(x, idx), v> == <x, scatter_add(0, idx, v)>
  Tensor t = runOp(OpKind::Take, {make(F64, {2, 3}, {1, 2, 3, 4, 5, 6}), make(I32, {2, 2}, {0, 2, 2, 2})},
                   {{"axis", int64_t(1)}});
  double lhs = 0, rhs = 0;
  for (int64_t i = 0; i < 8; ++i) lhs += t.getDouble(i) * v2.getDouble(i);
  for (int64_t i = 0; i < 6; ++i) rhs += (double)(i + 1) * y2.getDouble(i);
  CHECK(lhs == rhs);

  std::vector<Type> out;
  std::string err;
  REQUIRE(inferResultTypes(OpKind::ScatterAdd, {ty(F32, {2, 3}), ty(I32, {4}), ty(F32, {2, 4})},
                           {{"axis", int64_t(1)}}, out, err));
  CHECK(out == std::vector<Type>{ty(F32, {2, 3})});
  CHECK_FALSE(inferResultTypes(OpKind::ScatterAdd, {ty(F32, {2, 3}), ty(I32, {4}), ty(F32, {2, 3})},
                               {{"axis", int64_t(1)}}, out, err));
  CHECK(err.find("f32[2, 4]") != std::string::npos);
  CHECK_FALSE(inferResultTypes(OpKind::ScatterAdd, {ty(F32, {2, 3}), ty(F32, {4}), ty(F32, {2, 4})},
                               {{"axis", int64_t(1)}}, out, err));
  CHECK_FALSE(inferResultTypes(OpKind::ScatterAdd, {ty(F32, {2, 3}), ty(I32, {4}), ty(F32, {2, 4})},
                               {{"axis", int64_t(2)}}, out, err));
}

TEST_CASE("scatter_add faults on an index out of range", "[newops]") {
  Tensor x = make(F64, {3}, {0, 0, 0});
  CHECK_THROWS_WITH(runOp(OpKind::ScatterAdd, {x, make(I32, {2}, {0, 3}), make(F64, {2}, {1, 1})},
                          {{"axis", int64_t(0)}}),
                    Catch::Contains("index 3 out of range for axis 0 of size 3"));
}
