//===- tests/unit/IRTests.cpp - The IR layer: shape rules, text, verifier, passes ===//
#include "ir/Builder.h"
#include "ir/IR.h"
#include "ir/Parser.h"
#include "ir/PassManager.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "ir/interp/Interpreter.h"
#include "ir/passes/Passes.h"
#include "runtime/Math.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <limits>
#include <set>
#include <sstream>

using namespace ptl;
using namespace ptl::ir;

namespace {

Type f32(Shape s = {}) { return Type{DType::F32, std::move(s)}; }
Type f64(Shape s = {}) { return Type{DType::F64, std::move(s)}; }
Type i32(Shape s = {}) { return Type{DType::I32, std::move(s)}; }
Type boolean(Shape s = {}) { return Type{DType::Bool, std::move(s)}; }

/// Infers the single result type, or returns the error message.
std::string infer1(OpKind k, std::vector<Type> in, AttrMap attrs = {}) {
  std::vector<Type> out;
  std::string err;
  if (!inferResultTypes(k, in, attrs, out, err))
    return "error: " + err;
  if (out.size() != 1)
    return "results: " + std::to_string(out.size());
  return out[0].str();
}

/// Counts ops in a region, recursively.
size_t countOps(const Region &r) {
  size_t n = 0;
  for (const auto &op : r.ops()) {
    ++n;
    for (unsigned i = 0; i < op->numRegions(); ++i)
      n += countOps(*op->region(i));
  }
  return n;
}

std::unique_ptr<Module> parseOk(const std::string &text) {
  std::string err;
  auto m = parseModuleText(text, err);
  INFO(err);
  REQUIRE(m);
  return m;
}

std::string verifyError(const Module &m) {
  std::string err;
  if (verifyModule(m, err))
    return "";
  return err;
}

std::string verifyTextError(const std::string &text) { return verifyError(*parseOk(text)); }

} // namespace

//===----------------------------------------------------------------------===//
// Op tables
//===----------------------------------------------------------------------===//

TEST_CASE("op tables: mnemonics round-trip and predicates", "[ir]") {
  for (int i = 0; i < kNumOpKinds; ++i) {
    OpKind k = static_cast<OpKind>(i), back;
    REQUIRE(lookupMnemonic(mnemonic(k), back));
    CHECK(back == k);
  }
  OpKind k;
  CHECK_FALSE(lookupMnemonic("frobnicate", k));
  CHECK(std::string(mnemonic(OpKind::ReduceSum)) == "reduce_sum");
  CHECK(isUnaryElementwise(OpKind::Exp));
  CHECK_FALSE(isUnaryElementwise(OpKind::Add));
  CHECK(isBinaryElementwise(OpKind::Pow));
  CHECK(isComparison(OpKind::Le));
  CHECK_FALSE(isComparison(OpKind::And));
  CHECK(hasSideEffects(OpKind::Print));
  CHECK(hasSideEffects(OpKind::LoadCsv));
  CHECK_FALSE(hasSideEffects(OpKind::Random));
  CHECK(hasSideEffects(OpKind::CheckBounds)); // may stop the run
  CHECK_FALSE(hasSideEffects(OpKind::For));
  CHECK(isTerminator(OpKind::Yield));
}

//===----------------------------------------------------------------------===//
// Shape rules
//===----------------------------------------------------------------------===//

TEST_CASE("shape rules: elementwise and broadcasting", "[ir][shapes]") {
  Shape s;
  CHECK(broadcastShapes({2, 1}, {3}, s));
  CHECK(s == Shape{2, 3});
  CHECK(broadcastShapes({}, {4, 5}, s));
  CHECK(s == Shape{4, 5});
  CHECK_FALSE(broadcastShapes({3}, {4}, s));

  CHECK(infer1(OpKind::Add, {f32({2, 1}), f32({3})}) == "f32[2, 3]");
  CHECK(infer1(OpKind::Mul, {f32(), f32({5})}) == "f32[5]");
  CHECK(infer1(OpKind::Add, {f32({3}), f32({4})}) == "error: add: cannot broadcast f32[3] and f32[4]");
  CHECK(infer1(OpKind::Add, {f32({3}), f64({3})}) ==
        "error: add: element types differ: f32[3] and f64[3]");
  CHECK(infer1(OpKind::Add, {f32({3})}) == "error: add: expected 2 operands, got 1");
  CHECK(infer1(OpKind::Div, {i32({3}), i32()}) == "i32[3]");
  CHECK(infer1(OpKind::And, {boolean({2}), boolean()}) == "bool[2]");
  CHECK(infer1(OpKind::Or, {f32(), f32()}).find("expected bool operands") != std::string::npos);
  CHECK(infer1(OpKind::Add, {boolean(), boolean()}).find("expected numeric") != std::string::npos);
  CHECK(infer1(OpKind::Lt, {f32({2, 3}), f32({3})}) == "bool[2, 3]");
  CHECK(infer1(OpKind::Eq, {boolean(), boolean()}) == "bool");
  CHECK(infer1(OpKind::Lt, {boolean(), boolean()}).rfind("error:", 0) == 0);

  CHECK(infer1(OpKind::Exp, {f64({2})}) == "f64[2]");
  CHECK(infer1(OpKind::Exp, {i32({2})}) == "error: exp: expected a float operand, got i32[2]");
  CHECK(infer1(OpKind::Neg, {i32({2})}) == "i32[2]");
  CHECK(infer1(OpKind::Abs, {i32()}) == "i32");
  CHECK(infer1(OpKind::Not, {boolean({2})}) == "bool[2]");
  CHECK(infer1(OpKind::Not, {f32()}) == "error: not: expected a bool operand, got f32");
  CHECK(infer1(OpKind::StopGrad, {f32({7})}) == "f32[7]");

  CHECK(infer1(OpKind::Select, {boolean({2, 1}), f32({3}), f32()}) == "f32[2, 3]");
  CHECK(infer1(OpKind::Select, {f32(), f32(), f32()}) ==
        "error: select: condition must be bool, got f32");
  CHECK(infer1(OpKind::Select, {boolean({2}), f32({3}), f32()}) ==
        "error: select: cannot broadcast bool[2] and f32[3]");
  CHECK(infer1(OpKind::Clamp, {f32({4}), f32(), f32({1})}) == "f32[4]");
  CHECK(infer1(OpKind::Clamp, {f32({4}), f64(), f32()}).find("element types differ") !=
        std::string::npos);
}

TEST_CASE("shape rules: matmul forms", "[ir][shapes]") {
  CHECK(infer1(OpKind::MatMul, {f32({2, 3}), f32({3, 4})}) == "f32[2, 4]");
  CHECK(infer1(OpKind::MatMul, {f32({3}), f32({3, 4})}) == "f32[4]");
  CHECK(infer1(OpKind::MatMul, {f32({2, 3}), f32({3})}) == "f32[2]");
  CHECK(infer1(OpKind::MatMul, {f32({3}), f32({3})}) == "f32");
  CHECK(infer1(OpKind::MatMul, {f32({5, 2, 3}), f32({3, 4})}) == "f32[5, 2, 4]");
  CHECK(infer1(OpKind::MatMul, {f32({5, 1, 2, 3}), f32({4, 3, 6})}) == "f32[5, 4, 2, 6]");
  CHECK(infer1(OpKind::MatMul, {f32({3}), f32({7, 3, 2})}) == "f32[7, 2]");
  CHECK(infer1(OpKind::MatMul, {f32({2, 3}), f32({4, 5})}) ==
        "error: matmul: inner dimensions differ: f32[2, 3] @ f32[4, 5]");
  CHECK(infer1(OpKind::MatMul, {f32({3}), f32({4})}) ==
        "error: matmul: inner dimensions differ: f32[3] @ f32[4]");
  CHECK(infer1(OpKind::MatMul, {f32({2, 2, 3}), f32({5, 3, 4})}) ==
        "error: matmul: cannot broadcast batch dimensions: f32[2, 2, 3] @ f32[5, 3, 4]");
  CHECK(infer1(OpKind::MatMul, {f32(), f32({3})}).find("rank >= 1") != std::string::npos);
  CHECK(infer1(OpKind::MatMul, {f32({3}), f64({3})}).find("element types differ") !=
        std::string::npos);
}

TEST_CASE("shape rules: reductions and argmax", "[ir][shapes]") {
  Type x = f32({2, 3, 4});
  CHECK(infer1(OpKind::ReduceSum, {x}, {{"axes", std::vector<int64_t>{1}}}) == "f32[2, 4]");
  CHECK(infer1(OpKind::ReduceSum, {x}, {{"axes", std::vector<int64_t>{1}}, {"keepdims", true}}) ==
        "f32[2, 1, 4]");
  CHECK(infer1(OpKind::ReduceMax, {x}, {{"axes", std::vector<int64_t>{}}}) == "f32");
  CHECK(infer1(OpKind::ReduceMin, {x}) == "f32");
  CHECK(infer1(OpKind::ReduceMean, {x}, {{"keepdims", true}}) == "f32[1, 1, 1]");
  CHECK(infer1(OpKind::LogSumExp, {x}, {{"axes", std::vector<int64_t>{2, 0}}}) == "f32[3]");
  CHECK(infer1(OpKind::ReduceSum, {x}, {{"axes", std::vector<int64_t>{3}}}) ==
        "error: reduce_sum: axis 3 out of range for f32[2, 3, 4]");
  CHECK(infer1(OpKind::ReduceSum, {x}, {{"axes", std::vector<int64_t>{1, 1}}}) ==
        "error: reduce_sum: axis 1 repeated");
  CHECK(infer1(OpKind::ReduceSum, {i32({3})}) == "i32");
  CHECK(infer1(OpKind::ReduceMean, {i32({3})}) ==
        "error: reduce_mean: expected a float operand, got i32[3]");
  CHECK(infer1(OpKind::ReduceSum, {x}, {{"axes", int64_t(1)}}) ==
        "error: reduce_sum: attribute 'axes' must be a list of integers");

  CHECK(infer1(OpKind::ArgMax, {x}, {{"axis", int64_t(-1)}}) == "i32");
  CHECK(infer1(OpKind::ArgMax, {x}, {{"axis", int64_t(-1)}, {"keepdims", true}}) == "i32[1, 1, 1]");
  CHECK(infer1(OpKind::ArgMax, {x}, {{"axis", int64_t(1)}}) == "i32[2, 4]");
  CHECK(infer1(OpKind::ArgMax, {x}, {{"axis", int64_t(2)}, {"keepdims", true}}) == "i32[2, 3, 1]");
  CHECK(infer1(OpKind::ArgMax, {x}) == "error: argmax: missing attribute 'axis'");
}

TEST_CASE("shape rules: structural ops", "[ir][shapes]") {
  auto ax = [](int64_t a) { return AttrMap{{"axis", a}}; };
  CHECK(infer1(OpKind::Softmax, {f32({2, 3})}, ax(1)) == "f32[2, 3]");
  CHECK(infer1(OpKind::LogSoftmax, {f32({2, 3})}, ax(2)) ==
        "error: log_softmax: axis 2 out of range for f32[2, 3]");
  CHECK(infer1(OpKind::Softmax, {f32({2, 3})}) == "error: softmax: missing attribute 'axis'");
  CHECK(infer1(OpKind::CumSum, {i32({5})}, ax(0)) == "i32[5]");

  CHECK(infer1(OpKind::Concat, {f32({2, 3}), f32({2, 5})}, ax(1)) == "f32[2, 8]");
  CHECK(infer1(OpKind::Concat, {f32({2, 3}), f32({3, 3})}, ax(1)) ==
        "error: concat: operand types differ off axis 1: f32[2, 3] and f32[3, 3]");
  CHECK(infer1(OpKind::Stack, {f32({2, 3}), f32({2, 3}), f32({2, 3})}, ax(1)) == "f32[2, 3, 3]");
  CHECK(infer1(OpKind::Stack, {f32({2}), f32({2})}, ax(0)) == "f32[2, 2]");
  CHECK(infer1(OpKind::Stack, {f32({2}), f32({3})}, ax(0)) ==
        "error: stack: operand types differ: f32[2] and f32[3]");

  AttrMap sl{{"starts", std::vector<int64_t>{1, 0}}, {"ends", std::vector<int64_t>{3, 2}}};
  CHECK(infer1(OpKind::Slice, {f32({4, 5})}, sl) == "f32[2, 2]");
  CHECK(infer1(OpKind::Slice, {f32({2, 5})}, sl) ==
        "error: slice: bounds [1, 3) out of range on axis 0 of f32[2, 5]");
  CHECK(infer1(OpKind::Slice, {f32({4})}, sl).find("expected 1 starts and ends") != std::string::npos);

  CHECK(infer1(OpKind::Index, {f32({4, 5}), i32()}) == "f32[5]");
  CHECK(infer1(OpKind::Index, {f32({4}), i32()}) == "f32");
  CHECK(infer1(OpKind::Index, {f32({4}), i32({1})}) ==
        "error: index: index must be an i32 scalar, got i32[1]");
  CHECK(infer1(OpKind::Index, {f32(), i32()}) == "error: index: cannot index a scalar f32");

  CHECK(infer1(OpKind::OneHot, {i32({8})}, {{"depth", int64_t(10)}}) == "f32[8, 10]");
  CHECK(infer1(OpKind::OneHot, {f32({8})}, {{"depth", int64_t(10)}}) ==
        "error: one_hot: labels must be i32, got f32[8]");
  CHECK(infer1(OpKind::Take, {f32({5, 6, 7}), i32({2, 3})}, ax(1)) == "f32[5, 2, 3, 7]");
  CHECK(infer1(OpKind::Take, {f32({5}), i32()}, ax(0)) == "f32");

  CHECK(infer1(OpKind::Transpose, {f32({2, 3, 4})}, {{"perm", std::vector<int64_t>{2, 0, 1}}}) ==
        "f32[4, 2, 3]");
  CHECK(infer1(OpKind::Transpose, {f32({2, 3})}, {{"perm", std::vector<int64_t>{0, 0}}}) ==
        "error: transpose: perm [0, 0] is not a permutation of the axes of f32[2, 3]");
}

TEST_CASE("shape rules: effects, terminators and explicit ops", "[ir][shapes]") {
  std::vector<Type> out;
  std::string err;
  CHECK(inferResultTypes(OpKind::Print, {f32(), f32({2})},
                         {{"labels", std::vector<std::string>{"a", "b"}},
                          {"seps", std::vector<std::string>{" ", "\n"}}},
                         out, err));
  CHECK(out.empty());
  CHECK_FALSE(inferResultTypes(OpKind::Print, {f32()}, {{"labels", std::vector<std::string>{"a", "b"}}},
                               out, err));
  CHECK(err == "print: expected 1 labels, got 2");
  CHECK(inferResultTypes(OpKind::SaveNpy, {f32({3})}, {{"path", std::string("x.npy")}}, out, err));
  CHECK_FALSE(inferResultTypes(OpKind::SaveNpy, {f32({3})}, {}, out, err));
  CHECK(err == "save_npy: missing attribute 'path'");
  CHECK(inferResultTypes(OpKind::Save, {f32(), f32()},
                         {{"path", std::string("m.safetensors")},
                          {"names", std::vector<std::string>{"a", "b"}}},
                         out, err));
  CHECK(inferResultTypes(OpKind::Yield, {f32(), i32()}, {}, out, err));
  CHECK(out.empty());
  CHECK(inferResultTypes(OpKind::Return, {}, {}, out, err));

  for (OpKind k : {OpKind::Constant, OpKind::Convert, OpKind::Broadcast, OpKind::Reshape, OpKind::Iota,
                   OpKind::Random, OpKind::LoadNpy, OpKind::LoadCsv, OpKind::Load, OpKind::Call,
                   OpKind::For, OpKind::If, OpKind::Map, OpKind::Grad}) {
    err.clear();
    CHECK_FALSE(inferResultTypes(k, {}, {}, out, err));
    CHECK(err == "explicit");
  }
}

//===----------------------------------------------------------------------===//
// Containers and builder
//===----------------------------------------------------------------------===//

TEST_CASE("IR containers: values, attributes, modules", "[ir]") {
  Module m;
  CHECK(m.fileIndex("a.ptl") == 0);
  CHECK(m.fileIndex("b.ptl") == 1);
  CHECK(m.fileIndex("a.ptl") == 0);
  Function *f = m.addFunction(std::make_unique<Function>("f", std::vector<Type>{f32({3})},
                                                         std::vector<Type>{f32()}));
  CHECK(m.lookup("f") == f);
  CHECK(m.lookup("g") == nullptr);
  CHECK(f->body().numArguments() == 1);
  CHECK(f->body().argument(0)->isArgument());
  CHECK(f->body().parentFunction() == f);

  Builder b(&f->body());
  Value *x = f->body().argument(0);
  Value *s = b.make(OpKind::ReduceSum, {x}, {{"axes", std::vector<int64_t>{}}});
  CHECK(s->type() == f32());
  CHECK(s->definingOp()->parentRegion() == &f->body());
  CHECK(s->parentRegion() == &f->body());
  CHECK(enclosingFunction(*s->definingOp()) == f);
  std::string err;
  CHECK(b.tryCreate(OpKind::Add, {x, b.constant(f32({4}), 1.0)}, {}, err) == nullptr);
  CHECK(err == "add: cannot broadcast f32[3] and f32[4]");

  Op *op = b.create(OpKind::Random, {b.scalar(DType::I32, 0)}, {f32({2})},
                    {{"dist", std::string("normal")}, {"a", 0.0}, {"b", int64_t(2)},
                     {"key", std::string("W")}, {"flag", true}, {"ints", std::vector<int64_t>{1, 2}},
                     {"strs", std::vector<std::string>{"u"}}});
  CHECK(op->strAttr("dist") == "normal");
  CHECK(op->floatAttr("b") == 2.0); // integers widen
  CHECK(op->floatAttr("missing", 7.5) == 7.5);
  CHECK(op->intAttr("missing", 3) == 3);
  CHECK(op->boolAttr("flag"));
  CHECK(op->intsAttr("ints") == std::vector<int64_t>{1, 2});
  CHECK(op->strsAttr("strs") == std::vector<std::string>{"u"});
  CHECK(op->intsAttr("missing").empty());
  CHECK(op->results().size() == 1);
}

//===----------------------------------------------------------------------===//
// Printer and parser
//===----------------------------------------------------------------------===//

namespace {

/// A module exercising every op kind, regions, names, locations and all
/// attribute kinds. It verifies.
std::unique_ptr<Module> buildEveryOp() {
  auto m = std::make_unique<Module>();
  int file = m->fileIndex("examples/every \"op\".ptl");

  // @helper(%a: f32, %v: f32[3]) -> (f32, f32[3])
  auto *helper = m->addFunction(std::make_unique<Function>(
      "helper", std::vector<Type>{f32(), f32({3})}, std::vector<Type>{f32(), f32({3})}, Loc{file, 1, 1}));
  helper->body().argument(0)->setName("a");
  helper->body().argument(1)->setName("v");
  {
    Builder b(&helper->body());
    Value *s = b.make(OpKind::Mul, {helper->body().argument(0), helper->body().argument(0)});
    b.create(OpKind::Return, {s, helper->body().argument(1)}, {});
  }

  auto *f = m->addFunction(std::make_unique<Function>(
      "every", std::vector<Type>{f32({2, 3}), f32({3}), boolean({2, 3}), i32(), i32({4}), f64()},
      std::vector<Type>{f32()}, Loc{file, 10, 1}));
  f->attrs()["param_names"] = std::vector<std::string>{"m.W", "b"};
  f->attrs()["empty_strs"] = std::vector<std::string>{};
  f->attrs()["empty_ints"] = std::vector<int64_t>{};
  f->attrs()["tag"] = std::string("q\"uote\\back\nnl\x01");
  Region &body = f->body();
  Value *x = body.argument(0), *y = body.argument(1), *c = body.argument(2), *i = body.argument(3),
        *n = body.argument(4), *d = body.argument(5);
  x->setName("m.W");
  y->setName("y");
  c->setName("bad name"); // not an identifier: printed as a number
  i->setName("i");
  d->setName("d");

  Builder b(&body);
  b.setLoc(Loc{file, 11, 3});
  // Constants of every dtype, splat and nested, special floats.
  Value *k = b.constant(f32({2, 3}), 0.1);
  k->setName("k");
  b.setLoc({});
  b.create(OpKind::Constant, {}, {f32({2, 3})}, {{"value", Dense{{1.5, -0.1, 1e-7, 3e20, -0.0, 2}}}});
  b.create(OpKind::Constant, {}, {f64({4})},
           {{"value", Dense{{0.1, std::numeric_limits<double>::infinity(),
                             -std::numeric_limits<double>::infinity(),
                             std::numeric_limits<double>::quiet_NaN()}}}});
  b.create(OpKind::Constant, {}, {i32({2, 2})}, {{"value", Dense{{1, -2, 3, 2147483647}}}});
  b.create(OpKind::Constant, {}, {boolean({3})}, {{"value", Dense{{1, 0, 1}}}});
  b.create(OpKind::Constant, {}, {f32({0})}, {{"value", Dense{{}}}});

  Value *acc = x;
  for (OpKind u : {OpKind::Neg, OpKind::Exp, OpKind::Log, OpKind::Log1p, OpKind::Expm1, OpKind::Sqrt,
                   OpKind::Tanh, OpKind::Sigmoid, OpKind::Relu, OpKind::Softplus, OpKind::Abs,
                   OpKind::Sign, OpKind::Sin, OpKind::Cos})
    acc = b.make(u, {acc});
  acc->setName("t"); // duplicate names below: both print as numbers
  b.make(OpKind::Not, {c})->setName("t");
  for (OpKind bin : {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div, OpKind::Mod, OpKind::Pow,
                     OpKind::Max, OpKind::Min})
    acc = b.make(bin, {acc, y});
  b.make(OpKind::And, {c, c});
  b.make(OpKind::Or, {c, c});
  for (OpKind cmp : {OpKind::Eq, OpKind::Ne, OpKind::Lt, OpKind::Le, OpKind::Gt, OpKind::Ge})
    b.make(cmp, {acc, y});
  b.create(OpKind::Convert, {acc}, {f64({2, 3})});
  b.create(OpKind::Broadcast, {y}, {f32({4, 2, 3})});
  b.create(OpKind::Reshape, {acc}, {f32({3, 2})});
  Value *tr = b.make(OpKind::Transpose, {acc}, {{"perm", std::vector<int64_t>{1, 0}}});
  for (OpKind r : {OpKind::ReduceSum, OpKind::ReduceMean, OpKind::ReduceMax, OpKind::ReduceMin,
                   OpKind::LogSumExp})
    b.make(r, {acc}, {{"axes", std::vector<int64_t>{1}}, {"keepdims", false}});
  b.make(OpKind::ArgMax, {acc}, {{"axis", int64_t(-1)}, {"keepdims", false}});
  Value *mm = b.make(OpKind::MatMul, {acc, tr});
  b.make(OpKind::Select, {c, acc, k});
  b.make(OpKind::Clamp, {acc, b.constant(f32(), -1), b.constant(f32(), 1)});
  b.make(OpKind::Softmax, {acc}, {{"axis", int64_t(1)}});
  b.make(OpKind::LogSoftmax, {acc}, {{"axis", int64_t(0)}});
  b.make(OpKind::CumSum, {acc}, {{"axis", int64_t(1)}});
  b.make(OpKind::Concat, {acc, k}, {{"axis", int64_t(0)}});
  b.make(OpKind::Stack, {acc, k}, {{"axis", int64_t(2)}});
  b.make(OpKind::Slice, {acc}, {{"starts", std::vector<int64_t>{0, 1}}, {"ends", std::vector<int64_t>{2, 3}}});
  Value *row = b.make(OpKind::Index, {acc, i});
  b.make(OpKind::OneHot, {n}, {{"depth", int64_t(5)}});
  Value *taken = b.make(OpKind::Take, {acc, n}, {{"axis", int64_t(1)}});
  b.make(OpKind::ScatterAdd, {acc, n, taken}, {{"axis", int64_t(1)}});
  b.make(OpKind::IndexAdd, {acc, i, row});
  b.create(OpKind::Pad, {row}, {f32({5})}, {{"starts", std::vector<int64_t>{1}}});
  b.make(OpKind::Floor, {acc});
  b.make(OpKind::Round, {acc});
  b.create(OpKind::Iota, {}, {i32({7})});
  Value *rnd = b.create(OpKind::Random, {i}, {f32({2, 3})},
                        {{"dist", std::string("normal")}, {"key", std::string("m.W")}, {"a", 0.0},
                         {"b", 0.25}})
                   ->result(0);
  Value *sg = b.make(OpKind::StopGrad, {rnd});
  b.make(OpKind::CheckBounds, {sg, i},
         {{"kind", std::string("interval")}, {"lo", -1.0}, {"hi", 1.5}, {"closed", true},
          {"path", std::string("m.W")}, {"message", std::string("constraint violated")}});
  b.create(OpKind::Print, {acc, i}, {},
           {{"labels", std::vector<std::string>{"acc =", ""}}, {"seps", std::vector<std::string>{" ", "\n"}}});
  Value *ld = b.create(OpKind::LoadNpy, {}, {f32({2, 3})}, {{"path", std::string("x.npy")}})->result(0);
  b.create(OpKind::SaveNpy, {ld}, {}, {{"path", std::string("y.npy")}});
  Op *csv = b.create(OpKind::LoadCsv, {}, {f32({9}), f32({9})},
                     {{"path", std::string("d.csv")}, {"columns", std::vector<std::string>{"x", "y"}}});
  b.create(OpKind::Save, {csv->result(0), csv->result(1)}, {},
           {{"path", std::string("s.safetensors")}, {"names", std::vector<std::string>{"x", "y"}},
            {"transforms", std::vector<std::string>{"", "softplus"}}});
  b.create(OpKind::Load, {}, {f32({9})},
           {{"path", std::string("s.safetensors")}, {"names", std::vector<std::string>{"x"}}});

  // for: carried (f32, f32[3]); body uses an outer value and the index.
  Value *zero = b.scalar(DType::F32, 0);
  Op *loop = b.create(OpKind::For, {zero, y}, {f32(), f32({3})},
                      {{"lo", int64_t(0)}, {"hi", int64_t(10)}, {"checkpoint", int64_t(4)}});
  loop->setLoc(Loc{file, 20, 5});
  {
    Region *r = loop->addRegion();
    Value *it = r->addArgument(i32());
    it->setName("it");
    Value *c0 = r->addArgument(f32());
    Value *c1 = r->addArgument(f32({3}));
    Builder lb(r);
    Value *fi = lb.create(OpKind::Convert, {it}, {f32()})->result(0);
    Value *s = lb.make(OpKind::Add, {c0, fi});
    Op *call = lb.create(OpKind::Call, {s, c1}, {f32(), f32({3})}, {{"callee", std::string("helper")}});
    lb.create(OpKind::TrainProgress, {it, c0}, {},
              {{"total", int64_t(10)}, {"every", int64_t(2)}, {"file", std::string("log.csv")}});
    lb.create(OpKind::TrainNonfinite, {it, c0, c1, c1}, {}, {{"paths", std::vector<std::string>{"m.v"}}});
    lb.create(OpKind::Yield, {call->result(0), lb.make(OpKind::Add, {call->result(1), row})}, {});
  }
  Value *total = loop->result(0);
  total->setName("total");

  // if with two regions and no arguments.
  Value *cond = b.make(OpKind::Gt, {total, zero});
  Op *ifop = b.create(OpKind::If, {cond}, {f32()});
  {
    Builder tb(ifop->addRegion());
    tb.create(OpKind::Yield, {total}, {});
    Builder eb(ifop->addRegion());
    eb.create(OpKind::Yield, {eb.make(OpKind::Neg, {total})}, {});
  }

  // map over 0..4: results stacked on a new axis 0.
  Op *mp = b.create(OpKind::Map, {}, {f32({4}), f32({4, 3})}, {{"lo", int64_t(2)}, {"hi", int64_t(6)}});
  {
    Region *r = mp->addRegion();
    Value *j = r->addArgument(i32());
    Builder mb(r);
    Value *fj = mb.create(OpKind::Convert, {j}, {f32()})->result(0);
    mb.create(OpKind::Yield, {fj, mb.make(OpKind::Mul, {y, fj})}, {});
  }

  // grad with value: region args = operand types, yields one float scalar.
  Op *g = b.create(OpKind::Grad, {acc, y}, {f32(), f32({2, 3}), f32({3})}, {{"with_value", true}});
  {
    Region *r = g->addRegion();
    Value *gx = r->addArgument(f32({2, 3}));
    Value *gy = r->addArgument(f32({3}));
    gx->setName("gx");
    Builder gb(r);
    Value *e = gb.make(OpKind::ReduceSum, {gb.make(OpKind::Mul, {gx, gy})},
                       {{"axes", std::vector<int64_t>{}}, {"keepdims", false}});
    gb.create(OpKind::Yield, {e}, {});
  }
  (void)mm;
  (void)sg;
  (void)d;
  Value *res = b.make(OpKind::Add, {ifop->result(0), g->result(0)});
  b.create(OpKind::Return, {res}, {});
  return m;
}

} // namespace

TEST_CASE("printer/parser: every op kind round-trips byte for byte", "[ir][text]") {
  auto m = buildEveryOp();
  std::string err;
  INFO(toString(*m));
  REQUIRE(verifyModule(*m, err));
  CHECK(err.empty());

  // Every op kind is present.
  std::set<OpKind> kinds;
  std::function<void(const Region &)> walk = [&](const Region &r) {
    for (const auto &op : r.ops()) {
      kinds.insert(op->kind());
      for (unsigned i = 0; i < op->numRegions(); ++i)
        walk(*op->region(i));
    }
  };
  for (const auto &f : m->functions())
    walk(f->body());
  CHECK((int)kinds.size() == kNumOpKinds);

  std::string text = toString(*m);
  auto m2 = parseModuleText(text, err);
  INFO(err);
  REQUIRE(m2);
  CHECK(toString(*m2) == text);
  REQUIRE(verifyModule(*m2, err));
  // Printing is deterministic.
  CHECK(toString(*m) == text);

  // Spot checks on the syntax.
  CHECK(text.find("source 0 \"examples/every \\\"op\\\".ptl\"\n") == 0);
  CHECK(text.find("func @every(%m.W: f32[2, 3], %y: f32[3], %0: bool[2, 3], %i: i32, %1: i32[4], "
                  "%d: f64) -> (f32) attrs {empty_ints = [], empty_strs = strs[], param_names = "
                  "[\"m.W\", \"b\"], tag = \"q\\\"uote\\\\back\\nnl\\x01\"} loc(0:10:1) {") !=
        std::string::npos);
  CHECK(text.find("%k = constant() {value = dense<0.1>} : () -> f32[2, 3] loc(0:11:3)") !=
        std::string::npos);
  CHECK(text.find("dense<[[1.5, -0.1, 1e-07], [3e+20, -0.0, 2.0]]>") != std::string::npos);
  CHECK(text.find("dense<[0.1, inf, -inf, nan]>") != std::string::npos);
  CHECK(text.find("dense<[[1, -2], [3, 2147483647]]> } : () -> i32[2, 2]") == std::string::npos);
  CHECK(text.find("dense<[[1, -2], [3, 2147483647]]>} : () -> i32[2, 2]") != std::string::npos);
  CHECK(text.find("dense<[true, false, true]>") != std::string::npos);
  CHECK(text.find("dense<[]>") != std::string::npos);
  CHECK(text.find("{a = 0.0, b = 0.25, dist = \"normal\", key = \"m.W\"}") != std::string::npos);
  CHECK(text.find("%total, %") != std::string::npos);
  CHECK(text.find(" = for(") != std::string::npos);
  CHECK(text.find("{checkpoint = 4, hi = 10, lo = 0} : (f32, f32[3]) -> (f32, f32[3]) loc(0:20:5) {\n"
                  "  ^(%it: i32, %") != std::string::npos);
  CHECK(text.find("} {\n") != std::string::npos); // if's two regions
  CHECK(text.find("%t.1 ") != std::string::npos); // a repeated name hint gets a suffix
  CHECK(text.find("print(") != std::string::npos);
  CHECK(text.find(") -> ()\n") != std::string::npos);
}

TEST_CASE("printer: exact text of a small function", "[ir][text]") {
  Module m;
  int file = m.fileIndex("examples/powerlaw.ptl");
  auto *f = m.addFunction(std::make_unique<Function>("loss", std::vector<Type>{f32(), f32({1000})},
                                                     std::vector<Type>{f32()}));
  f->body().argument(0)->setName("m.a");
  f->body().argument(1)->setName("x");
  Builder b(&f->body());
  b.setLoc(Loc{file, 3, 5});
  Value *two = b.scalar(DType::F32, 2);
  b.setLoc({});
  Value *p = b.make(OpKind::Pow, {f->body().argument(1), two});
  Value *s = b.make(OpKind::Mul, {f->body().argument(0), p});
  Value *mean = b.make(OpKind::ReduceMean, {s}, {{"axes", std::vector<int64_t>{}}});
  mean->setName("mean");
  Op *loop = b.create(OpKind::For, {mean}, {f32()}, {{"lo", int64_t(0)}, {"hi", int64_t(3)}});
  Region *r = loop->addRegion();
  r->addArgument(i32())->setName("i");
  Value *c = r->addArgument(f32());
  Builder lb(r);
  lb.create(OpKind::Yield, {lb.make(OpKind::Add, {c, two})}, {});
  b.create(OpKind::Return, {loop->result(0)}, {});

  const char *expected = R"(source 0 "examples/powerlaw.ptl"

func @loss(%m.a: f32, %x: f32[1000]) -> (f32) {
  %0 = constant() {value = dense<2.0>} : () -> f32 loc(0:3:5)
  %1 = pow(%x, %0) : (f32[1000], f32) -> f32[1000]
  %2 = mul(%m.a, %1) : (f32, f32[1000]) -> f32[1000]
  %mean = reduce_mean(%2) {axes = []} : (f32[1000]) -> f32
  %3 = for(%mean) {hi = 3, lo = 0} : (f32) -> f32 {
  ^(%i: i32, %4: f32):
    %5 = add(%4, %0) : (f32, f32) -> f32
    yield(%5) : (f32) -> ()
  }
  return(%3) : (f32) -> ()
}
)";
  CHECK(toString(m) == expected);
  std::string err;
  CHECK(verifyModule(m, err));
  auto m2 = parseModuleText(expected, err);
  REQUIRE(m2);
  CHECK(toString(*m2) == expected);
  CHECK(m2->functions()[0]->body().argument(0)->name() == "m.a");
  CHECK(m2->functions()[0]->body().ops()[0]->loc().line == 3);

  // printOp names values as the function does, and elides regions on request.
  CHECK(toString(*loop) == "%3 = for(%mean) {hi = 3, lo = 0} : (f32) -> f32 {...}");
  CHECK(toString(*r->ops()[0]) == "%5 = add(%4, %0) : (f32, f32) -> f32");
}

TEST_CASE("printer: floats round-trip exactly", "[ir][text]") {
  for (double v : {0.1, 1.0 / 3.0, 1e-300, 5e-324, 1.7976931348623157e308, -2.5, 123456789.0}) {
    std::string s = attrToString(Attr{v});
    double back = std::strtod(s.c_str(), nullptr);
    CHECK(back == v);
    CHECK(s.find_first_of(".e") != std::string::npos);
  }
  float fv = 0.1f;
  std::string s = attrToString(Dense{{(double)fv}}, DType::F32);
  CHECK(s == "dense<0.1>");
  CHECK((float)std::strtod(s.c_str() + 6, nullptr) == fv);
  CHECK(attrToString(Dense{{3}}, DType::I32) == "dense<3>");
  CHECK(attrToString(Dense{{1, 2, 3, 4}}, DType::F64, {2, 2}) == "dense<[[1.0, 2.0], [3.0, 4.0]]>");
  CHECK(attrToString(std::vector<std::string>{}) == "strs[]");
  CHECK(attrToString(int64_t(-5)) == "-5");
  CHECK(attrToString(true) == "true");
}

TEST_CASE("parser: accepts comments and free layout", "[ir][text]") {
  auto m = parseOk(R"(// a comment
func @f(%a: f32) -> (f32) {
  %b = neg(%a) : (f32) -> (f32)   // single result in parentheses
  return(%b) : (f32) -> ()
})");
  std::string err;
  CHECK(verifyModule(*m, err));
  CHECK(toString(*m) == "func @f(%a: f32) -> (f32) {\n  %b = neg(%a) : (f32) -> f32\n  return(%b) : "
                        "(f32) -> ()\n}\n");
}

TEST_CASE("parser: errors carry line:col", "[ir][text]") {
  auto err = [](const std::string &text) {
    std::string e;
    auto m = parseModuleText(text, e);
    CHECK(m == nullptr);
    return e;
  };
  CHECK(err("func @f() -> () {\n  return(%x) : (f32) -> ()\n}") == "2:10: use of undefined value %x");
  CHECK(err("func @f() -> () {\n  %a = frob() : () -> f32\n}") == "2:8: unknown op 'frob'");
  CHECK(err("func @f(%a: f32) -> () {\n  return(%a) : (f64) -> ()\n}") ==
        "2:10: %a has type f32, but the op lists f64");
  CHECK(err("func @f(%a: f32, %a: f32) -> () {\n}") == "1:18: redefinition of %a");
  CHECK(err("func @f() -> () {\n  return() : () -> ()\n") ==
        "3:1: expected '}' at end of region, got end of input");
  CHECK(err("func @f() -> (f33) {}") == "1:15: unknown element type 'f33'");
  CHECK(err("func @f() -> () {}\nfunc @f() -> () {}") == "2:7: redefinition of function @f");
  CHECK(err("func @f() -> () {\n  %a, %b = neg() : () -> f32\n}") ==
        "2:26: 2 result names but 1 result types");
  CHECK(err("func @f() -> () loc(3:1:1) {}") == "1:21: file index 3 is not in the source table");
  CHECK(err("func @f() -> () {\n  %a = constant() {value = \"x} : () -> f32\n}") ==
        "2:28: unterminated string");
  CHECK(err("bogus") == "1:1: expected 'func' or 'source', got 'bogus'");
}

//===----------------------------------------------------------------------===//
// Verifier
//===----------------------------------------------------------------------===//

TEST_CASE("verifier: result types must follow the shape rule", "[ir][verifier]") {
  std::string e = verifyTextError(R"(func @f(%a: f32[3], %b: f32[3]) -> (f32[4]) {
  %c = add(%a, %b) : (f32[3], f32[3]) -> f32[4]
  return(%c) : (f32[4]) -> ()
})");
  CHECK(e == "verifier: in function @f: add: result types (f32[4]) differ from the inferred (f32[3])\n"
             "  %c = add(%a, %b) : (f32[3], f32[3]) -> f32[4]");
  e = verifyTextError(R"(func @f(%a: f32[3], %b: f32[4]) -> (f32[4]) {
  %c = add(%a, %b) : (f32[3], f32[4]) -> f32[4]
  return(%c) : (f32[4]) -> ()
})");
  CHECK(e == "verifier: in function @f: add: cannot broadcast f32[3] and f32[4]\n"
             "  %c = add(%a, %b) : (f32[3], f32[4]) -> f32[4]");
  e = verifyTextError(R"(func @f(%a: f32[3]) -> (f32[3]) {
  %c = softmax(%a) : (f32[3]) -> f32[3]
  return(%c) : (f32[3]) -> ()
})");
  CHECK(e.find("softmax: missing attribute 'axis'") != std::string::npos);
  e = verifyTextError(R"(func @f() -> (f32[3]) {
  %c = constant() : () -> f32[3]
  return(%c) : (f32[3]) -> ()
})");
  CHECK(e.find("constant: missing attribute 'value'") != std::string::npos);
  e = verifyTextError(R"(func @f() -> (f32[3]) {
  %c = constant() {value = dense<[1.0, 2.0]>} : () -> f32[3]
  return(%c) : (f32[3]) -> ()
})");
  CHECK(e.find("dense data has 2 elements but the type f32[3] needs 3 (or 1)") != std::string::npos);
  e = verifyTextError(R"(func @f(%a: f32[3]) -> (f32[4]) {
  %c = reshape(%a) : (f32[3]) -> f32[4]
  return(%c) : (f32[4]) -> ()
})");
  CHECK(e.find("cannot reshape f32[3] to f32[4]") != std::string::npos);
  e = verifyTextError(R"(func @f(%a: f32[3]) -> (f32[2, 4]) {
  %c = broadcast(%a) : (f32[3]) -> f32[2, 4]
  return(%c) : (f32[2, 4]) -> ()
})");
  CHECK(e.find("cannot broadcast f32[3] to f32[2, 4]") != std::string::npos);
  e = verifyTextError(R"(func @f(%s: i32) -> (f32) {
  %c = random(%s) {dist = "gamma"} : (i32) -> f32
  return(%c) : (f32) -> ()
})");
  CHECK(e.find("unknown distribution \"gamma\"") != std::string::npos);
  // fold_in and permutation: a second i32 scalar operand, their result types, n.
  e = verifyTextError(R"(func @f(%s: i32) -> (i32) {
  %c = random(%s) {dist = "fold_in"} : (i32) -> i32
  return(%c) : (i32) -> ()
})");
  CHECK(e.find("expected 2 operands, got 1") != std::string::npos);
  e = verifyTextError(R"(func @f(%s: i32, %d: f32) -> (i32) {
  %c = random(%s, %d) {dist = "fold_in"} : (i32, f32) -> i32
  return(%c) : (i32) -> ()
})");
  CHECK(e.find("fold_in needs an i32 scalar second operand, got f32") != std::string::npos);
  e = verifyTextError(R"(func @f(%s: i32, %d: i32) -> (i32[2]) {
  %c = random(%s, %d) {dist = "fold_in"} : (i32, i32) -> i32[2]
  return(%c) : (i32[2]) -> ()
})");
  CHECK(e.find("fold_in's result must be an i32 scalar, got i32[2]") != std::string::npos);
  e = verifyTextError(R"(func @f(%s: i32, %d: i32) -> (i32[5]) {
  %c = random(%s, %d) {a = 4, dist = "permutation"} : (i32, i32) -> i32[5]
  return(%c) : (i32[5]) -> ()
})");
  CHECK(e.find("permutation of 4 needs an i32[m] result with m <= 4, got i32[5]") != std::string::npos);
  e = verifyTextError(R"(func @f(%s: i32, %d: i32) -> (i32[2]) {
  %c = random(%s, %d) {a = 4.5, dist = "permutation"} : (i32, i32) -> i32[2]
  return(%c) : (i32[2]) -> ()
})");
  CHECK(e.find("permutation needs its domain size 'a' as an integer") != std::string::npos);
  CHECK(verifyTextError(R"(func @f(%s: i32, %d: i32) -> (i32[2]) {
  %c = random(%s, %d) {a = 4, dist = "permutation"} : (i32, i32) -> i32[2]
  return(%c) : (i32[2]) -> ()
})") == "");
}

TEST_CASE("verifier: terminators and function results", "[ir][verifier]") {
  CHECK(verifyTextError("func @f(%a: f32) -> (f32) {\n  %b = neg(%a) : (f32) -> f32\n}")
            .find("function body must end in return") != std::string::npos);
  CHECK(verifyTextError("func @f() -> () {\n}") ==
        "verifier: in function @f: function body is empty; it must end in return");
  CHECK(verifyTextError("func @f(%a: f32) -> (f32[2]) {\n  return(%a) : (f32) -> ()\n}") ==
        "verifier: in function @f: return: returns (f32) but the function's result types are "
        "(f32[2])\n  return(%a) : (f32) -> ()");
  CHECK(verifyTextError("func @f(%a: f32) -> (f32) {\n  return(%a) : (f32) -> ()\n  return(%a) : "
                        "(f32) -> ()\n}")
            .find("terminator in the middle of a region") != std::string::npos);
  CHECK(verifyTextError("func @f(%a: f32) -> (f32) {\n  yield(%a) : (f32) -> ()\n}")
            .find("function body must end in return") != std::string::npos);
}

TEST_CASE("verifier: control flow regions", "[ir][verifier]") {
  // for: the index must be an i32 scalar and carried types must agree.
  std::string e = verifyTextError(R"(func @f(%a: f32) -> (f32) {
  %r = for(%a) {hi = 3, lo = 0} : (f32) -> f32 {
  ^(%i: f32, %c: f32):
    yield(%c) : (f32) -> ()
  }
  return(%r) : (f32) -> ()
})");
  CHECK(e.find("for: region arguments (f32, f32) should be (i32, f32)") != std::string::npos);
  e = verifyTextError(R"(func @f(%a: f32, %v: f32[2]) -> (f32) {
  %r = for(%a) {hi = 3, lo = 0} : (f32) -> f32 {
  ^(%i: i32, %c: f32):
    yield(%v) : (f32[2]) -> ()
  }
  return(%r) : (f32) -> ()
})");
  CHECK(e.find("for: body yields (f32[2]) but the loop expects (f32)") != std::string::npos);
  e = verifyTextError(R"(func @f(%a: f32) -> (f32) {
  %r = for(%a) {lo = 0} : (f32) -> f32 {
  ^(%i: i32, %c: f32):
    yield(%c) : (f32) -> ()
  }
  return(%r) : (f32) -> ()
})");
  CHECK(e.find("for: missing attribute 'hi'") != std::string::npos);
  e = verifyTextError(R"(func @f(%a: f32) -> (f32) {
  %r = for(%a) {hi = 3, lo = 0} : (f32) -> f32 {
  ^(%i: i32, %c: f32):
    return(%c) : (f32) -> ()
  }
  return(%r) : (f32) -> ()
})");
  CHECK(e.find("region of for must end in yield") != std::string::npos);

  // if: bool scalar condition; both regions yield the result types.
  e = verifyTextError(R"(func @f(%c: f32, %a: f32) -> (f32) {
  %r = if(%c) : (f32) -> f32 {
    yield(%a) : (f32) -> ()
  } {
    yield(%a) : (f32) -> ()
  }
  return(%r) : (f32) -> ()
})");
  CHECK(e.find("if: condition must be a bool scalar, got f32") != std::string::npos);
  e = verifyTextError(R"(func @f(%c: bool, %a: f32, %b: f64) -> (f32) {
  %r = if(%c) : (bool) -> f32 {
    yield(%a) : (f32) -> ()
  } {
    yield(%b) : (f64) -> ()
  }
  return(%r) : (f32) -> ()
})");
  CHECK(e.find("if: else region yields (f64) but the results are (f32)") != std::string::npos);

  // map: results = [hi - lo] + yield types.
  e = verifyTextError(R"(func @f(%a: f32[2]) -> (f32[3, 2]) {
  %r = map() {hi = 5, lo = 1} : () -> f32[3, 2] {
  ^(%i: i32):
    yield(%a) : (f32[2]) -> ()
  }
  return(%r) : (f32[3, 2]) -> ()
})");
  CHECK(e.find("map: results (f32[3, 2]) should be (f32[4, 2]) for a body yielding (f32[2])") !=
        std::string::npos);

  // grad: one float scalar; results = (value?) + operand types.
  e = verifyTextError(R"(func @f(%a: f32[2]) -> (f32[2]) {
  %g = grad(%a) : (f32[2]) -> f32[2] {
  ^(%x: f32[2]):
    yield(%x) : (f32[2]) -> ()
  }
  return(%g) : (f32[2]) -> ()
})");
  CHECK(e.find("grad: body must yield one float scalar, yields (f32[2])") != std::string::npos);
  e = verifyTextError(R"(func @f(%a: f32[2]) -> (f32[2]) {
  %g = grad(%a) {with_value = true} : (f32[2]) -> f32[2] {
  ^(%x: f32[2]):
    %s = reduce_sum(%x) : (f32[2]) -> f32
    yield(%s) : (f32) -> ()
  }
  return(%g) : (f32[2]) -> ()
})");
  CHECK(e.find("grad: results (f32[2]) should be (f32, f32[2])") != std::string::npos);
  e = verifyTextError(R"(func @f(%a: f32[2]) -> (f32[2]) {
  %g = grad(%a) : (f32[2]) -> f32[2] {
  ^(%x: f32[3]):
    %s = reduce_sum(%x) : (f32[3]) -> f32
    yield(%s) : (f32) -> ()
  }
  return(%g) : (f32[2]) -> ()
})");
  CHECK(e.find("grad: region arguments (f32[3]) should be (f32[2])") != std::string::npos);
}

TEST_CASE("verifier: calls", "[ir][verifier]") {
  const char *callee = "func @g(%a: f32) -> (f32) {\n  return(%a) : (f32) -> ()\n}\n";
  CHECK(verifyTextError(std::string(callee) + R"(func @f(%a: f32) -> (f32) {
  %r = call(%a) {callee = "h"} : (f32) -> f32
  return(%r) : (f32) -> ()
})")
            .find("call: unknown callee @h") != std::string::npos);
  CHECK(verifyTextError(std::string(callee) + R"(func @f(%a: f64) -> (f32) {
  %r = call(%a) {callee = "g"} : (f64) -> f32
  return(%r) : (f32) -> ()
})")
            .find("call: operand types (f64) differ from @g's parameters (f32)") != std::string::npos);
  CHECK(verifyTextError(std::string(callee) + R"(func @f(%a: f32) -> (f32) {
  %r = call(%a) {callee = "g"} : (f32) -> f32
  return(%r) : (f32) -> ()
})") == "");
}

TEST_CASE("verifier: lexical scoping", "[ir][verifier]") {
  // A value from a sibling region (then -> else) is not visible.
  Module m;
  auto *f = m.addFunction(std::make_unique<Function>("f", std::vector<Type>{boolean(), f32()},
                                                     std::vector<Type>{f32()}));
  Builder b(&f->body());
  Op *ifop = b.create(OpKind::If, {f->body().argument(0)}, {f32()});
  Builder tb(ifop->addRegion());
  Value *inner = tb.make(OpKind::Neg, {f->body().argument(1)});
  inner->setName("inner");
  tb.create(OpKind::Yield, {inner}, {});
  Builder eb(ifop->addRegion());
  eb.create(OpKind::Yield, {inner}, {});
  b.create(OpKind::Return, {ifop->result(0)}, {});
  std::string e = verifyError(m);
  CHECK(e == "verifier: in function @f: yield: operand 0 is not defined before this op in an "
             "enclosing region\n  yield(%inner) : (f32) -> ()");

  // A region's value used after its op, outside the region.
  Module m2;
  auto *f2 = m2.addFunction(std::make_unique<Function>("f", std::vector<Type>{f32()},
                                                       std::vector<Type>{f32()}));
  Builder b2(&f2->body());
  Op *loop = b2.create(OpKind::For, {f2->body().argument(0)}, {f32()},
                       {{"lo", int64_t(0)}, {"hi", int64_t(2)}});
  Region *r = loop->addRegion();
  r->addArgument(i32());
  Value *c = r->addArgument(f32());
  Builder lb(r);
  Value *y = lb.make(OpKind::Exp, {c});
  lb.create(OpKind::Yield, {y}, {});
  b2.create(OpKind::Return, {y}, {});
  CHECK(verifyError(m2).find("return: operand 0 is not defined before this op") != std::string::npos);

  // A use before the definition in the same region.
  Module m3;
  auto *f3 = m3.addFunction(std::make_unique<Function>("f", std::vector<Type>{f32()},
                                                       std::vector<Type>{f32()}));
  Builder b3(&f3->body());
  Op *first = b3.create(OpKind::Neg, {f3->body().argument(0)}, {f32()});
  Value *later = b3.make(OpKind::Exp, {f3->body().argument(0)});
  first->setOperand(0, later);
  b3.create(OpKind::Return, {first->result(0)}, {});
  CHECK(verifyError(m3).find("neg: operand 0 is not defined before this op") != std::string::npos);

  // Values of an enclosing region are visible inside nested regions.
  Module m4;
  auto *f4 = m4.addFunction(std::make_unique<Function>("f", std::vector<Type>{f32()},
                                                       std::vector<Type>{f32()}));
  Builder b4(&f4->body());
  Value *outer = b4.make(OpKind::Exp, {f4->body().argument(0)});
  Op *l4 = b4.create(OpKind::For, {outer}, {f32()}, {{"lo", int64_t(0)}, {"hi", int64_t(2)}});
  Region *r4 = l4->addRegion();
  r4->addArgument(i32());
  Value *c4 = r4->addArgument(f32());
  Builder lb4(r4);
  Op *inner_if = lb4.create(OpKind::If, {lb4.make(OpKind::Gt, {c4, outer})}, {f32()});
  Builder t4(inner_if->addRegion());
  t4.create(OpKind::Yield, {t4.make(OpKind::Add, {c4, outer})}, {});
  Builder e4(inner_if->addRegion());
  e4.create(OpKind::Yield, {outer}, {});
  lb4.create(OpKind::Yield, {inner_if->result(0)}, {});
  b4.create(OpKind::Return, {l4->result(0)}, {});
  CHECK(verifyError(m4) == "");
}

//===----------------------------------------------------------------------===//
// Passes
//===----------------------------------------------------------------------===//

TEST_CASE("DCE removes dead pure ops, keeps effects and terminators", "[ir][passes]") {
  auto m = parseOk(R"(func @f(%a: f32, %v: f32[3]) -> (f32) {
  %dead1 = exp(%a) : (f32) -> f32
  %dead2 = add(%dead1, %a) : (f32, f32) -> f32
  %live = neg(%a) : (f32) -> f32
  print(%v) : (f32[3]) -> ()
  %csv = load_csv() {columns = ["x"], path = "d.csv"} : () -> f32[4]
  %loop = for(%a) {hi = 3, lo = 0} : (f32) -> f32 {
  ^(%i: i32, %c: f32):
    %u = sin(%c) : (f32) -> f32
    yield(%c) : (f32) -> ()
  }
  %loud = for(%a) {hi = 3, lo = 0} : (f32) -> f32 {
  ^(%i2: i32, %c2: f32):
    %w = cos(%c2) : (f32) -> f32
    print(%w) : (f32) -> ()
    yield(%c2) : (f32) -> ()
  }
  %kept = for(%live) {hi = 3, lo = 0} : (f32) -> f32 {
  ^(%i3: i32, %c3: f32):
    %x = tanh(%c3) : (f32) -> f32
    %unused = exp(%x) : (f32) -> f32
    yield(%x) : (f32) -> ()
  }
  %r = call(%a) {callee = "pure"} : (f32) -> f32
  %s = call(%a) {callee = "noisy"} : (f32) -> f32
  return(%kept) : (f32) -> ()
}

func @pure(%p: f32) -> (f32) {
  return(%p) : (f32) -> ()
}

func @noisy(%p: f32) -> (f32) {
  print(%p) : (f32) -> ()
  return(%p) : (f32) -> ()
})");
  Function &f = *m->functions()[0];
  CHECK(countOps(f.body()) == 19);
  std::string err;
  REQUIRE(createDCEPass()->run(*m, err));
  std::string out = toString(f);
  INFO(out);
  CHECK(verifyModule(*m, err));
  CHECK(out.find("%dead1") == std::string::npos);
  CHECK(out.find("%dead2") == std::string::npos);
  CHECK(out.find("%loop") == std::string::npos);
  CHECK(out.find("%unused") == std::string::npos);
  CHECK(out.find("%r = call") == std::string::npos);
  CHECK(out.find("print(%v)") != std::string::npos);
  CHECK(out.find("load_csv") != std::string::npos);
  CHECK(out.find("%loud") != std::string::npos);
  CHECK(out.find("%kept") != std::string::npos);
  CHECK(out.find("%s = call") != std::string::npos);
  CHECK(countOps(f.body()) == 12);
  // Idempotent.
  REQUIRE(createDCEPass()->run(*m, err));
  CHECK(countOps(f.body()) == 12);
}

TEST_CASE("CSE merges identical pure ops within a scope", "[ir][passes]") {
  auto m = parseOk(R"(func @f(%a: f32[3], %b: f32[3], %c: bool, %s: i32) -> (f32[3]) {
  %x1 = add(%a, %b) : (f32[3], f32[3]) -> f32[3]
  %x2 = add(%a, %b) : (f32[3], f32[3]) -> f32[3]
  %y1 = mul(%x1, %x2) : (f32[3], f32[3]) -> f32[3]
  %y2 = mul(%x2, %x2) : (f32[3], f32[3]) -> f32[3]
  %z1 = reduce_sum(%a) {axes = [0]} : (f32[3]) -> f32
  %z2 = reduce_sum(%a) {axes = []} : (f32[3]) -> f32
  %k1 = constant() {value = dense<1.0>} : () -> f32[3]
  %k2 = constant() {value = dense<1.0>} : () -> f32[3]
  %k3 = constant() {value = dense<1.0>} : () -> f64[3]
  %r1 = random(%s) {dist = "normal", key = "w"} : (i32) -> f32[3]
  %r2 = random(%s) {dist = "normal", key = "w"} : (i32) -> f32[3]
  %r3 = random(%s) {dist = "normal", key = "v"} : (i32) -> f32[3]
  print(%y1) : (f32[3]) -> ()
  print(%y1) : (f32[3]) -> ()
  %i = if(%c) : (bool) -> f32[3] {
    %t1 = add(%a, %b) : (f32[3], f32[3]) -> f32[3]
    %t2 = sub(%a, %b) : (f32[3], f32[3]) -> f32[3]
    yield(%t2) : (f32[3]) -> ()
  } {
    %e1 = sub(%a, %b) : (f32[3], f32[3]) -> f32[3]
    yield(%e1) : (f32[3]) -> ()
  }
  %after = sub(%a, %b) : (f32[3], f32[3]) -> f32[3]
  %sum1 = add(%y2, %k2) : (f32[3], f32[3]) -> f32[3]
  %sum2 = add(%sum1, %r2) : (f32[3], f32[3]) -> f32[3]
  %sum3 = add(%sum2, %i) : (f32[3], f32[3]) -> f32[3]
  %sum4 = add(%sum3, %after) : (f32[3], f32[3]) -> f32[3]
  return(%sum4) : (f32[3]) -> ()
})");
  Function &f = *m->functions()[0];
  size_t before = countOps(f.body());
  std::string err;
  REQUIRE(createCSEPass()->run(*m, err));
  std::string out = toString(f);
  INFO(out);
  CHECK(verifyModule(*m, err));
  // Removed: x2, y2 (becomes mul(x1, x1) = y1? no: y1 = mul(x1, x1) after x2 -> x1), k2, r2, t1.
  CHECK(out.find("%x2") == std::string::npos);
  CHECK(out.find("%y2") == std::string::npos);
  CHECK(out.find("%k2") == std::string::npos);
  CHECK(out.find("%r2") == std::string::npos);
  CHECK(out.find("%t1") == std::string::npos);
  // Kept: different attributes or types, effects, sibling-region values.
  CHECK(out.find("%z1") != std::string::npos);
  CHECK(out.find("%z2") != std::string::npos);
  CHECK(out.find("%k3") != std::string::npos);
  CHECK(out.find("%r3") != std::string::npos);
  CHECK(out.find("%t2") != std::string::npos);
  CHECK(out.find("%e1") != std::string::npos);
  CHECK(out.find("%after") != std::string::npos);
  CHECK(out.find("%sum1 = add(%y1, %k1)") != std::string::npos);
  CHECK(out.find("%sum2 = add(%sum1, %r1)") != std::string::npos);
  CHECK(countOps(f.body()) == before - 5);
  size_t prints = 0;
  for (size_t p = out.find("print("); p != std::string::npos; p = out.find("print(", p + 1))
    ++prints;
  CHECK(prints == 2);
}

TEST_CASE("CSE reuses outer values inside regions", "[ir][passes]") {
  auto m = parseOk(R"(func @f(%a: f32) -> (f32) {
  %o = exp(%a) : (f32) -> f32
  %l = for(%a) {hi = 2, lo = 0} : (f32) -> f32 {
  ^(%i: i32, %c: f32):
    %in = exp(%a) : (f32) -> f32
    %s = add(%c, %in) : (f32, f32) -> f32
    yield(%s) : (f32) -> ()
  }
  %r = add(%l, %o) : (f32, f32) -> f32
  return(%r) : (f32) -> ()
})");
  std::string err;
  REQUIRE(createCSEPass()->run(*m, err));
  std::string out = toString(*m);
  INFO(out);
  CHECK(out.find("%in") == std::string::npos);
  CHECK(out.find("%s = add(%c, %o)") != std::string::npos);
  CHECK(verifyModule(*m, err));
}

TEST_CASE("PassManager runs, prints after each pass and verifies", "[ir][passes]") {
  const char *text = R"(func @f(%a: f32) -> (f32) {
  %x = exp(%a) : (f32) -> f32
  %y = exp(%a) : (f32) -> f32
  %d = neg(%a) : (f32) -> f32
  %r = add(%x, %y) : (f32, f32) -> f32
  return(%r) : (f32) -> ()
}
)";
  auto m = parseOk(text);
  PassManager pm;
  pm.add(createCSEPass());
  pm.add(createDCEPass());
  std::ostringstream dump;
  pm.setPrintAfterAll(&dump);
  std::string err;
  REQUIRE(pm.run(*m, err));
  CHECK(pm.passNames() == std::vector<std::string>{"cse", "dce"});
  CHECK(dump.str() == "// ----- IR after cse -----\n"
                      "func @f(%a: f32) -> (f32) {\n"
                      "  %x = exp(%a) : (f32) -> f32\n"
                      "  %d = neg(%a) : (f32) -> f32\n"
                      "  %r = add(%x, %x) : (f32, f32) -> f32\n"
                      "  return(%r) : (f32) -> ()\n"
                      "}\n"
                      "// ----- IR after dce -----\n"
                      "func @f(%a: f32) -> (f32) {\n"
                      "  %x = exp(%a) : (f32) -> f32\n"
                      "  %r = add(%x, %x) : (f32, f32) -> f32\n"
                      "  return(%r) : (f32) -> ()\n"
                      "}\n");
  // The dump parses back (comments are allowed).
  CHECK(parseModuleText(dump.str().substr(dump.str().find("// ----- IR after dce")), err));

  // A pass that breaks the IR is an internal error carrying the IR.
  struct Breaker : Pass {
    const char *name() const override { return "breaker"; }
    bool run(Module &m, std::string &) override {
      Function &f = *m.functions()[0];
      f.setResultTypes({f64()});
      return true;
    }
  };
  PassManager bad;
  bad.add(std::make_unique<Breaker>());
  std::string internal;
  try {
    bad.run(*m, err);
  } catch (const InternalError &e) {
    internal = e.what();
  }
  CHECK(internal.rfind("internal error: IR verification failed after breaker: verifier: in function @f: "
                       "return: returns (f32) but the function's result types are (f64)",
                       0) == 0);
  CHECK(internal.find("--- IR ---\nfunc @f(%a: f32) -> (f64) {") != std::string::npos);

  // A failing pass reports its own error.
  struct Failer : Pass {
    const char *name() const override { return "failer"; }
    bool run(Module &, std::string &e) override {
      e = "nope";
      return false;
    }
  };
  PassManager fp;
  fp.setVerifyEach(false);
  fp.add(std::make_unique<Failer>());
  CHECK_FALSE(fp.run(*m, err));
  CHECK(err == "failer: nope");
}

namespace {
/// `m` after simplify and DCE (verified), printed.
std::string simplified(Module &m) {
  std::string err;
  REQUIRE(createSimplifyPass()->run(m, err));
  REQUIRE(createDCEPass()->run(m, err));
  REQUIRE(verifyModule(m, err));
  return toString(m);
}
} // namespace

TEST_CASE("Simplify folds constants with the interpreter's kernels and applies exact identities", "[ir][passes]") {
  auto m = parseOk(R"(func @f(%x: f32[3], %k: i32) -> (f32[3], f32[3], f32[3], f32[3], i32, f32) {
  %two = constant() {value = dense<2.0>} : () -> f32
  %one = constant() {value = dense<1.0>} : () -> f32
  %e = sub(%two, %one) : (f32, f32) -> f32
  %p1 = pow(%x, %e) : (f32[3], f32) -> f32[3]
  %p2 = pow(%x, %two) : (f32[3], f32) -> f32[3]
  %m1 = mul(%one, %x) : (f32, f32[3]) -> f32[3]
  %z = constant() {value = dense<0.0>} : () -> f32
  %c = eq(%two, %z) : (f32, f32) -> bool
  %s = select(%c, %z, %x) : (bool, f32, f32[3]) -> f32[3]
  %i0 = constant() {value = dense<0>} : () -> i32
  %d = div(%k, %i0) : (i32, i32) -> i32
  %t = tanh(%two) : (f32) -> f32
  return(%p1, %p2, %m1, %s, %d, %t) : (f32[3], f32[3], f32[3], f32[3], i32, f32) -> ()
})");
  std::string out = simplified(*m);
  INFO(out);
  // x ^ (2 - 1) = x, x ^ 2 = x * x, 1 * x = x, select(2 == 0, 0, x) = x
  CHECK(out.find("pow(") == std::string::npos);
  CHECK(out.find("mul(%x, %x)") != std::string::npos);
  CHECK(out.find("select(") == std::string::npos);
  CHECK(out.find("return(%x, %") != std::string::npos);
  // tanh(2) folded to the bits the engines compute; k / 0 left to fault at run time
  CHECK(out.find("tanh(") == std::string::npos);
  const Op *ret = m->lookup("f")->body().terminator();
  const Op *t = ret->operand(5)->definingOp();
  REQUIRE(t);
  REQUIRE(t->kind() == OpKind::Constant);
  CHECK(std::get<Dense>(t->attrs().at("value")).values == std::vector<double>{(double)ptl::math::tanhF32(2.0f)});
  CHECK(out.find("div(%k,") != std::string::npos);
}

TEST_CASE("Simplify turns a transpose that moves no element into a reshape", "[ir][passes]") {
  auto m = parseOk(R"(func @f(%c: f32[40, 1], %x: f32[2, 1, 3], %y: f32[4, 5]) -> (f32[1, 40], f32[3, 1, 2], f32[1, 3, 2], f32[5, 4]) {
  %r = transpose(%c) {perm = [1, 0]} : (f32[40, 1]) -> f32[1, 40]
  %moves = transpose(%x) {perm = [2, 1, 0]} : (f32[2, 1, 3]) -> f32[3, 1, 2]
  %still = transpose(%x) {perm = [1, 0, 2]} : (f32[2, 1, 3]) -> f32[1, 2, 3]
  %t = transpose(%still) {perm = [0, 2, 1]} : (f32[1, 2, 3]) -> f32[1, 3, 2]
  %yt = transpose(%y) {perm = [1, 0]} : (f32[4, 5]) -> f32[5, 4]
  return(%r, %moves, %t, %yt) : (f32[1, 40], f32[3, 1, 2], f32[1, 3, 2], f32[5, 4]) -> ()
})");
  std::string out = simplified(*m);
  INFO(out);
  // [40, 1] -> [1, 40] and [2, 1, 3] -> [1, 2, 3] move nothing; [2, 1, 3] ->
  // [3, 1, 2], [1, 2, 3] -> [1, 3, 2] and [4, 5] -> [5, 4] move elements.
  CHECK(out.find("reshape(%c) : (f32[40, 1]) -> f32[1, 40]") != std::string::npos);
  CHECK(out.find("reshape(%x) : (f32[2, 1, 3]) -> f32[1, 2, 3]") != std::string::npos);
  CHECK(out.find("%moves = transpose(%x)") != std::string::npos);
  CHECK(out.find("%t = transpose(") != std::string::npos);
  CHECK(out.find("%yt = transpose(%y)") != std::string::npos);
  // and the values are the transposes' (both engines read a reshape as the same buffer)
  InterpOptions io;
  Interpreter interp(*m, io);
  std::vector<Tensor> args;
  for (Shape s : {Shape{40, 1}, Shape{2, 1, 3}, Shape{4, 5}}) {
    Tensor a = Tensor::zeros(DType::F32, s);
    for (int64_t e = 0; e < a.numel(); ++e) a.setDouble(e, (double)e + 0.5);
    args.push_back(a);
  }
  std::vector<Tensor> got = interp.call("f", args);
  for (int64_t e = 0; e < 40; ++e) CHECK(got[0].getDouble(e) == (double)e + 0.5);
  // %t[0, j, i] = x[i, 0, j]
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 3; ++j) CHECK(got[2].getDouble(j * 2 + i) == (double)(i * 3 + j) + 0.5);
}

TEST_CASE("LICM moves pure, non-faulting loop-invariant ops out of for and map bodies", "[ir][passes]") {
  auto m = parseOk(R"(func @f(%x: f32[4], %n: i32) -> (f32[4], f32[2, 4]) {
  %l = for(%x) {hi = 3, lo = 0} : (f32[4]) -> f32[4] {
  ^(%i: i32, %c: f32[4]):
    %lx = log(%x) : (f32[4]) -> f32[4]
    %sq = mul(%lx, %lx) : (f32[4], f32[4]) -> f32[4]
    %q = div(%n, %n) : (i32, i32) -> i32
    %qf = convert(%q) : (i32) -> f32
    %s = add(%c, %sq) : (f32[4], f32[4]) -> f32[4]
    %t = add(%s, %qf) : (f32[4], f32) -> f32[4]
    yield(%t) : (f32[4]) -> ()
  }
  %mp = map() {hi = 2, lo = 0} : () -> f32[2, 4] {
  ^(%j: i32):
    %e = exp(%x) : (f32[4]) -> f32[4]
    %jf = convert(%j) : (i32) -> f32
    %r = mul(%e, %jf) : (f32[4], f32) -> f32[4]
    yield(%r) : (f32[4]) -> ()
  }
  return(%l, %mp) : (f32[4], f32[2, 4]) -> ()
})");
  std::string err;
  REQUIRE(createLICMPass()->run(*m, err));
  REQUIRE(verifyModule(*m, err));
  Function &f = *m->lookup("f");
  auto &top = f.body().ops();
  // log(x) and its square, then exp(x), now run before their loops; the
  // integer division (which can fault) and everything reading %i, %c or %j stay.
  REQUIRE(top.size() >= 5);
  CHECK(top[0]->kind() == OpKind::Log);
  CHECK(top[1]->kind() == OpKind::Mul);
  CHECK(top[2]->kind() == OpKind::For);
  CHECK(top[3]->kind() == OpKind::Exp);
  CHECK(top[4]->kind() == OpKind::Map);
  std::string out = toString(*m);
  INFO(out);
  CHECK(countOps(*top[2]->region(0)) == 5); // div, convert, add, add, yield
  CHECK(countOps(*top[4]->region(0)) == 3); // convert, mul, yield
}

TEST_CASE("fold-transpose lets matmul read transposes in place; simplify cancels double transposes", "[ir][passes]") {
  auto m = parseOk(R"(func @f(%x: f32[16, 4], %w: f32[32, 4], %big: f32[64, 784], %W: f32[256, 784]) -> (f32[4, 32], f32[16, 32], f32[64, 256], f32[32, 4]) {
  %xt = transpose(%x) {perm = [1, 0]} : (f32[16, 4]) -> f32[4, 16]
  %wt = transpose(%w) {perm = [1, 0]} : (f32[32, 4]) -> f32[4, 32]
  %a = matmul(%xt, %x) : (f32[4, 16], f32[16, 4]) -> f32[4, 4]
  %s = matmul(%a, %wt) : (f32[4, 4], f32[4, 32]) -> f32[4, 32]
  %small = matmul(%x, %wt) : (f32[16, 4], f32[4, 32]) -> f32[16, 32]
  %Wt = transpose(%W) {perm = [1, 0]} : (f32[256, 784]) -> f32[784, 256]
  %h = matmul(%big, %Wt) : (f32[64, 784], f32[784, 256]) -> f32[64, 256]
  %back = transpose(%wt) {perm = [1, 0]} : (f32[4, 32]) -> f32[32, 4]
  return(%s, %small, %h, %back) : (f32[4, 32], f32[16, 32], f32[64, 256], f32[32, 4]) -> ()
})");
  std::string err;
  PassManager pm;
  pm.add(createSimplifyPass());
  pm.add(createFoldTransposePass());
  pm.add(createDCEPass());
  REQUIRE(pm.run(*m, err));
  std::string out = toString(*m);
  INFO(out);
  // left operands always; the right operand only where BLAS multiplies
  CHECK(out.find("%a = matmul(%x, %x) {transpose_a = true}") != std::string::npos);
  CHECK(out.find("%small = matmul(%x, %wt) :") != std::string::npos);
  CHECK(out.find("%h = matmul(%big, %W) {transpose_b = true}") != std::string::npos);
  CHECK(out.find("%Wt") == std::string::npos);
  CHECK(out.find("%xt") == std::string::npos);
  CHECK(out.find("return(%s, %small, %h, %w)") != std::string::npos); // (w.T).T = w
}

TEST_CASE("the verifier checks matmul's transpose flags", "[ir][verifier]") {
  auto m = parseOk(R"(func @f(%x: f32[4], %y: f32[4, 3]) -> (f32[3]) {
  %r = matmul(%x, %y) {transpose_a = true} : (f32[4], f32[4, 3]) -> f32[3]
  return(%r) : (f32[3]) -> ()
})");
  std::string err;
  CHECK_FALSE(verifyModule(*m, err));
  CHECK(err.find("transpose_a needs an operand of rank >= 2") != std::string::npos);
}

TEST_CASE("fold-transpose computes the transpose of a product as the swapped product", "[ir][passes]") {
  // the weight adjoint of x @ W.T: transpose(hᵀ @ g) = gᵀ @ h
  auto m = parseOk(R"(func @f(%h: f32[16, 32], %g: f32[16, 8], %k: f32[8, 32]) -> (f32[8, 32], f32[32, 8]) {
  %ht = transpose(%h) {perm = [1, 0]} : (f32[16, 32]) -> f32[32, 16]
  %p = matmul(%ht, %g) : (f32[32, 16], f32[16, 8]) -> f32[32, 8]
  %w = transpose(%p) {perm = [1, 0]} : (f32[32, 8]) -> f32[8, 32]
  %q = matmul(%ht, %g) : (f32[32, 16], f32[16, 8]) -> f32[32, 8]
  %u = transpose(%q) {perm = [1, 0]} : (f32[32, 8]) -> f32[8, 32]
  %s = add(%w, %u) : (f32[8, 32], f32[8, 32]) -> f32[8, 32]
  return(%s, %q) : (f32[8, 32], f32[32, 8]) -> ()
})");
  std::string err;
  PassManager pm;
  pm.add(createFoldTransposePass());
  pm.add(createDCEPass());
  REQUIRE(pm.run(*m, err));
  std::string out = toString(*m);
  INFO(out);
  // %p's only use was the transpose: it is now gᵀ @ h; %q is also returned, so its transpose stays
  CHECK(out.find("%p = matmul(%g, %h) {transpose_a = true, transpose_b = false} : (f32[16, 8], f32[16, 32]) -> f32[8, 32]") !=
        std::string::npos);
  CHECK(out.find("%w = transpose") == std::string::npos);
  CHECK(out.find("%u = transpose(%q)") != std::string::npos);
  CHECK(out.find("%s = add(%p, %u)") != std::string::npos);
}
