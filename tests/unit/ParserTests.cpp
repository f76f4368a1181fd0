//===- tests/unit/ParserTests.cpp - Grammar, AST builder and printer tests ----===//
//
// Parses the example programs of LANGUAGE.md and many small snippets, and
// checks the AST (structure, values, locations) and the parser's diagnostics
// (messages and positions). Expressions are compared through a compact
// one-line rendering: `-x^2` is "(neg (^ x 2))".
//
//===----------------------------------------------------------------------===//
#include "frontend/ASTPrinter.h"
#include "frontend/Parser.h"

#include <catch2/catch.hpp>

#include <sstream>

using namespace ptl;

namespace {

/// A parsed buffer with its sources and diagnostics kept alive.
struct Parsed {
  SourceManager sm;
  DiagnosticEngine diags{sm, nullptr};
  std::unique_ptr<ast::Program> program;

  bool ok() const { return program != nullptr; }
  /// "LINE:COL: MESSAGE" of every diagnostic, one per line.
  std::string errors() const {
    std::string s;
    for (const auto &d : diags.all())
      s += std::to_string(d.loc.line) + ":" + std::to_string(d.loc.col) + ": " + d.message + "\n";
    return s;
  }
  const ReportedDiagnostic &firstError() const { return diags.all().at(0); }
};

std::unique_ptr<Parsed> parse(const std::string &src) {
  auto p = std::make_unique<Parsed>();
  p->diags.setQuiet(true);
  int id = p->sm.addBuffer("test.ptl", src);
  p->program = parseProgram(p->sm, id, p->diags);
  return p;
}

/// Parses and requires success, printing the diagnostics otherwise.
std::unique_ptr<Parsed> parseOk(const std::string &src) {
  auto p = parse(src);
  INFO(p->errors());
  REQUIRE(p->ok());
  return p;
}

std::string sx(const ast::Expr &e);

std::string sxArgs(const std::vector<ast::Arg> &args) {
  std::string s;
  for (const auto &a : args)
    s += " " + (a.name.empty() ? "" : a.name + "=") + sx(*a.value);
  return s;
}

std::string sxBlock(const ast::Block &b) {
  std::string s = "{";
  s += std::to_string(b.stmts.size()) + " stmts";
  if (b.result)
    s += "; " + sx(*b.result);
  return s + "}";
}

/// A compact one-line rendering of an expression.
std::string sx(const ast::Expr &e) {
  using namespace ast;
  switch (e.kind) {
  case ExprKind::IntLit: return std::to_string(as<IntLit>(e).value);
  case ExprKind::FloatLit: return as<FloatLit>(e).spelling;
  case ExprKind::BoolLit: return as<BoolLit>(e).value ? "true" : "false";
  case ExprKind::StringLit: return "\"" + as<StringLit>(e).value + "\"";
  case ExprKind::Name: return as<NameExpr>(e).name;
  case ExprKind::Unary:
    return std::string("(") + (as<UnaryExpr>(e).op == UnaryOp::Neg ? "neg" : "not") + " " +
           sx(*as<UnaryExpr>(e).operand) + ")";
  case ExprKind::Binary: {
    auto &b = as<BinaryExpr>(e);
    return std::string("(") + binaryOpSpelling(b.op) + " " + sx(*b.lhs) + " " + sx(*b.rhs) + ")";
  }
  case ExprKind::Call: {
    auto &c = as<CallExpr>(e);
    return "(call " + sx(*c.callee) + sxArgs(c.args) + ")";
  }
  case ExprKind::Field: return "(. " + sx(*as<FieldExpr>(e).base) + " " + as<FieldExpr>(e).field + ")";
  case ExprKind::Index: {
    auto &ix = as<IndexExpr>(e);
    std::string s = "(index " + sx(*ix.base);
    for (const auto &it : ix.items) {
      if (!it.isSlice)
        s += " " + sx(*it.value);
      else
        s += " " + (it.lo ? sx(*it.lo) : "") + ".." + (it.hi ? sx(*it.hi) : "");
    }
    return s + ")";
  }
  case ExprKind::Tuple: {
    std::string s = "(tuple";
    for (const auto &el : as<TupleExpr>(e).elems)
      s += " " + sx(*el);
    return s + ")";
  }
  case ExprKind::List: {
    std::string s = "[";
    for (const auto &el : as<ListExpr>(e).elems)
      s += (s.size() > 1 ? " " : "") + sx(*el);
    return s + "]";
  }
  case ExprKind::BlockExpr: return sxBlock(*as<BlockExpr>(e).block);
  case ExprKind::If: {
    auto &i = as<IfExpr>(e);
    return "(if " + sx(*i.cond) + " " + sxBlock(*i.thenBlock) +
           (i.elseBlock ? " else " + sxBlock(*i.elseBlock) : "") + ")";
  }
  case ExprKind::Map: {
    auto &m = as<MapExpr>(e);
    return "(map " + m.var + " " + sx(*m.lo) + ".." + sx(*m.hi) + " " + sxBlock(*m.body) + ")";
  }
  case ExprKind::Grad: {
    auto &g = as<GradExpr>(e);
    return std::string(g.withValue ? "(value_and_grad " : "(grad ") + sx(*g.target) + " " +
           sx(*g.wrt) + ")";
  }
  case ExprKind::StopGradBlock: {
    auto &s = as<StopGradBlockExpr>(e);
    std::string r = "(stop_grad_block";
    if (s.selector.all)
      r += " *";
    if (s.selector.all && !s.selector.globs.empty())
      r += " except";
    for (const auto &g : s.selector.globs)
      r += " " + g;
    return r + " " + sxBlock(*s.body) + ")";
  }
  }
  return "?";
}

/// Parses `let x = SRC` and renders the value.
std::string exprOf(const std::string &src) {
  auto p = parseOk("let x = " + src + "\n");
  REQUIRE(p->program->statements.size() == 1);
  return sx(*ast::as<ast::LetStmt>(*p->program->statements[0]).value);
}

const ast::Stmt &stmtAt(const Parsed &p, size_t i) { return *p.program->statements.at(i); }

} // namespace

//===----------------------------------------------------------------------===//
// The example programs of LANGUAGE.md
//===----------------------------------------------------------------------===//

TEST_CASE("parser: powerlaw example", "[parser]") {
  auto p = parseOk(R"(// powerlaw.ptl: fit y = a * x^p with a, p > 0
model PowerLaw {
  param a: f32 = 1.0 constrain > 0          // optimiser sees an unconstrained u, a = softplus(u)
  param p: f32 = 0.5 reparam exp            // optimiser sees log(p)
  fn apply(x: f32[N]) -> f32[N] = a * x ^ p
}

fn loss(m: PowerLaw, x: f32[N], y: f32[N]) -> f32 = mean((m.apply(x) - y) ^ 2)

let data = load_csv("powerlaw.csv")          // columns x, y
var m = PowerLaw(seed = 0)
train m minimizing loss(m, data.x, data.y) with adam(lr = 0.05) for 2000 steps
print(m.a, m.p)
save("powerlaw.safetensors", m)
)");
  const ast::Program &prog = *p->program;
  REQUIRE(prog.models.size() == 1);
  REQUIRE(prog.functions.size() == 1);
  REQUIRE(prog.statements.size() == 5);
  REQUIRE(prog.order.size() == 7);
  CHECK(prog.order[0].first == ast::Program::Model);
  CHECK(prog.order[1].first == ast::Program::Function);

  const ast::ModelDecl &m = *prog.models[0];
  CHECK(m.name == "PowerLaw");
  CHECK(m.loc.line == 2);
  CHECK(m.loc.col == 1);
  CHECK(m.nameLoc.col == 7);
  REQUIRE(m.params.size() == 2);
  const ast::ParamDecl &a = m.params[0];
  CHECK(a.name == "a");
  CHECK(a.nameLoc.line == 3);
  CHECK(a.nameLoc.col == 9);
  CHECK(a.type->kind == ast::TypeExpr::Tensor);
  CHECK(a.type->elem == "f32");
  CHECK(a.type->dims.empty());
  CHECK(sx(*a.init) == "1.0");
  REQUIRE(a.constraints.size() == 1);
  CHECK(a.constraints[0].kind == ast::ConstrainSpec::Greater);
  CHECK(a.constraints[0].mode == ast::ConstrainSpec::Transform);
  CHECK(sx(*a.constraints[0].lo) == "0");
  CHECK(a.constraints[0].loc.col == 22);
  const ast::ParamDecl &pp = m.params[1];
  REQUIRE(pp.reparams.size() == 1);
  CHECK(pp.reparams[0].bijector == "exp");
  REQUIRE(m.methods.size() == 1);
  const ast::FnDecl &apply = m.methods[0];
  CHECK(apply.name == "apply");
  REQUIRE(apply.params.size() == 1);
  CHECK(apply.params[0].type->dims.size() == 1);
  CHECK(apply.params[0].type->dims[0].name == "N");
  REQUIRE(apply.bodyExpr);
  CHECK(sx(*apply.bodyExpr) == "(* a (^ x p))");
  CHECK(m.order.size() == 3);

  const ast::FnDecl &loss = *prog.functions[0];
  CHECK(loss.params.size() == 3);
  CHECK(loss.params[0].type->kind == ast::TypeExpr::Named);
  CHECK(loss.params[0].type->name == "PowerLaw");
  CHECK(loss.returnType->elem == "f32");
  CHECK(sx(*loss.bodyExpr) == "(call mean (^ (- (call (. m apply) x) y) 2))");

  auto &var = ast::as<ast::VarStmt>(stmtAt(*p, 1));
  CHECK(var.name == "m");
  CHECK(sx(*var.value) == "(call PowerLaw seed=0)");

  REQUIRE(stmtAt(*p, 2).kind == ast::StmtKind::Train);
  auto &train = ast::as<ast::TrainStmt>(stmtAt(*p, 2));
  CHECK(train.var == "m");
  CHECK(train.varLoc.col == 7);
  CHECK(sx(*train.loss) == "(call loss m (. data x) (. data y))");
  CHECK(train.optimizer == "adam");
  REQUIRE(train.optArgs.size() == 1);
  CHECK(train.optArgs[0].name == "lr");
  CHECK(sx(*train.steps) == "2000");
  CHECK(train.logEvery == nullptr);
  CHECK(stmtAt(*p, 3).kind == ast::StmtKind::Expr);
}

TEST_CASE("parser: online RNN example", "[parser]") {
  auto p = parseOk(R"(// online.ptl: an RNN whose readout learns within the trial (per-timestep update)
model RNN {
  param W_in:  f32[64, 4]  = glorot()
  param W_rec: f32[64, 64] = orthogonal(gain = 0.9)
  param b:     f32[64]     = zeros()
  param W_out: f32[2, 64]  = zeros()
  param eta:   f32 = 0.05 constrain in (0, 1)   // a learned online learning rate
}

fn trial(m: RNN, xs: f32[T, B, 4], ys: f32[T, B, 2]) -> f32 {
  var net = m
  var h = zeros[B, 64]
  var total = 0.0
  for t in 0..T {
    h = tanh(xs[t] @ net.W_in.T + h @ net.W_rec.T + net.b)
    let l = mean((h @ net.W_out.T - ys[t]) ^ 2)
    net.W_out -= net.eta * grad(l, net.W_out)   // a new value each step; differentiable
    total += l
  }
  return total / T
}
)");
  const ast::ModelDecl &m = *p->program->models[0];
  REQUIRE(m.params.size() == 5);
  CHECK(m.params[0].type->dims[0].value == 64);
  CHECK(m.params[0].type->dims[1].value == 4);
  CHECK(sx(*m.params[1].init) == "(call orthogonal gain=0.9)");
  const auto &eta = m.params[4].constraints.at(0);
  CHECK(eta.kind == ast::ConstrainSpec::Interval);
  CHECK_FALSE(eta.closed);
  CHECK(sx(*eta.lo) == "0");
  CHECK(sx(*eta.hi) == "1");

  const ast::FnDecl &trial = *p->program->functions[0];
  REQUIRE(trial.body);
  const ast::Block &body = *trial.body;
  REQUIRE(body.stmts.size() == 5);
  CHECK(body.result == nullptr);
  CHECK(sx(*ast::as<ast::VarStmt>(*body.stmts[1]).value) == "(index zeros B 64)");
  CHECK(sx(*ast::as<ast::VarStmt>(*body.stmts[2]).value) == "0.0");
  REQUIRE(body.stmts[3]->kind == ast::StmtKind::For);
  auto &loop = ast::as<ast::ForStmt>(*body.stmts[3]);
  CHECK(loop.var == "t");
  CHECK(sx(*loop.lo) == "0");
  CHECK(sx(*loop.hi) == "T");
  REQUIRE(loop.body->stmts.size() == 4);
  auto &h = ast::as<ast::AssignStmt>(*loop.body->stmts[0]);
  CHECK(h.op == ast::AssignOp::Set);
  CHECK(sx(*h.value) == "(call tanh (+ (+ (@ (index xs t) (. (. net W_in) T)) "
                       "(@ h (. (. net W_rec) T))) (. net b)))");
  auto &upd = ast::as<ast::AssignStmt>(*loop.body->stmts[2]);
  CHECK(upd.op == ast::AssignOp::Sub);
  CHECK(sx(*upd.target) == "(. net W_out)");
  CHECK(sx(*upd.value) == "(* (. net eta) (grad l (. net W_out)))");
  CHECK(upd.loc.line == 17);
  CHECK(upd.loc.col == 5);
  auto &tot = ast::as<ast::AssignStmt>(*loop.body->stmts[3]);
  CHECK(tot.op == ast::AssignOp::Add);
  auto &ret = ast::as<ast::ReturnStmt>(*body.stmts[4]);
  CHECK(sx(*ret.value) == "(/ total T)");
}

TEST_CASE("parser: MAML example", "[parser]") {
  auto p = parseOk(R"(// maml.ptl: second-order MAML on sine regression
import "std/nn"                               // Linear, MLP, relu, mse, ...

fn adapt(m: MLP, x: f32[K, 1], y: f32[K, 1]) -> MLP {
  var fast = m                                // gradients flow back to m through every step
  for i in 0..5 {
    fast -= 0.01 * grad(mse(fast.apply(x), y), fast)
    // first order instead: fast -= 0.01 * stop_grad(grad(...))
    // start from a detached copy instead: var fast = stop_grad(m)
  }
  return fast
}

fn meta_loss(m: MLP, xs: f32[M, K, 1], ys: f32[M, K, 1],
             xq: f32[M, Q, 1], yq: f32[M, Q, 1]) -> f32 =
  mean(map i in 0..M { mse(adapt(m, xs[i], ys[i]).apply(xq[i]), yq[i]) })
)");
  const ast::Program &prog = *p->program;
  REQUIRE(prog.imports.size() == 1);
  CHECK(prog.imports[0].path == "std/nn");
  REQUIRE(prog.functions.size() == 2);
  const ast::FnDecl &adapt = *prog.functions[0];
  CHECK(adapt.returnType->kind == ast::TypeExpr::Named);
  CHECK(adapt.returnType->name == "MLP");
  auto &loop = ast::as<ast::ForStmt>(*adapt.body->stmts[1]);
  REQUIRE(loop.body->stmts.size() == 1);
  auto &upd = ast::as<ast::AssignStmt>(*loop.body->stmts[0]);
  CHECK(sx(*upd.target) == "fast");
  CHECK(sx(*upd.value) == "(* 0.01 (grad (call mse (call (. fast apply) x) y) fast))");
  const ast::FnDecl &meta = *prog.functions[1];
  CHECK(meta.params.size() == 5);
  CHECK(meta.params[4].name == "yq");
  CHECK(sx(*meta.bodyExpr) ==
        "(call mean (map i 0..M {0 stmts; (call mse (call (. (call adapt m (index xs i) "
        "(index ys i)) apply) (index xq i)) (index yq i))}))");
}

TEST_CASE("parser: partial stop-gradient example", "[parser]") {
  auto p = parseOk(R"(// partial stop-gradient, one forward pass (the expensive scan runs once)
fn infer(enc: Encoder, obs: f32[B, D]) -> (f32, f32) {
  // a block is an expression; the selector says which parameters it may not train
  let msg = stop_grad * { enc.code_message(obs) }            // no parameter of enc
  let gln_loss = stop_grad * except gln.* {                  // only enc.gln.*
    enc.sample(stop_grad(msg), steps = 100)
  }
  let code_loss = mean((stop_grad(msg) - enc.code_message(obs)) ^ 2)
  return (gln_loss, code_loss)
}
)");
  const ast::FnDecl &f = *p->program->functions[0];
  REQUIRE(f.returnType->kind == ast::TypeExpr::Tuple);
  REQUIRE(f.returnType->elems.size() == 2);
  CHECK(f.returnType->elems[1]->elem == "f32");
  const auto &stmts = f.body->stmts;
  REQUIRE(stmts.size() == 4);
  auto &msg = ast::as<ast::LetStmt>(*stmts[0]);
  CHECK(sx(*msg.value) == "(stop_grad_block * {0 stmts; (call (. enc code_message) obs)})");
  auto &gln = ast::as<ast::LetStmt>(*stmts[1]);
  REQUIRE(gln.value->kind == ast::ExprKind::StopGradBlock);
  auto &sg = ast::as<ast::StopGradBlockExpr>(*gln.value);
  CHECK(sg.selector.all);
  REQUIRE(sg.selector.globs.size() == 1);
  CHECK(sg.selector.globs[0] == "gln.*");
  CHECK(sg.selector.globLocs[0].line == 5);
  CHECK(sg.selector.globLocs[0].col == 37);
  CHECK(sg.selector.globLocs[0].length == 5);
  CHECK(sx(*sg.body->result) == "(call (. enc sample) (call stop_grad msg) steps=100)");
  auto &code = ast::as<ast::LetStmt>(*stmts[2]);
  CHECK(sx(*code.value) ==
        "(call mean (^ (- (call stop_grad msg) (call (. enc code_message) obs)) 2))");
  auto &ret = ast::as<ast::ReturnStmt>(*stmts[3]);
  CHECK(sx(*ret.value) == "(tuple gln_loss code_loss)");
}

TEST_CASE("parser: Linear and MLP models", "[parser]") {
  auto p = parseOk(R"(model Linear(n_in: i32, n_out: i32) {
  param W: f32[n_out, n_in] = glorot()
  param b: f32[n_out] = zeros()
  fn apply(x: f32[B, n_in]) -> f32[B, n_out] = x @ W.T + b
}
model MLP {
  l1: Linear(1, 40)                          // sub-models give parameters paths: l1.W
  l2: Linear(40, 40)
  l3: Linear(40, 1)
  fn apply(x: f32[B, 1]) -> f32[B, 1] = l3.apply(relu(l2.apply(relu(l1.apply(x)))))
}
)");
  const ast::ModelDecl &lin = *p->program->models[0];
  REQUIRE(lin.typeParams.size() == 2);
  CHECK(lin.typeParams[0].name == "n_in");
  CHECK(lin.typeParams[0].type->elem == "i32");
  CHECK(lin.params[0].type->dims[0].name == "n_out");
  CHECK(sx(*lin.methods[0].bodyExpr) == "(+ (@ x (. W T)) b)");
  const ast::ModelDecl &mlp = *p->program->models[1];
  REQUIRE(mlp.submodels.size() == 3);
  CHECK(mlp.submodels[0].name == "l1");
  CHECK(mlp.submodels[0].type->name == "Linear");
  CHECK(mlp.submodels[0].type->hasTypeArgs);
  REQUIRE(mlp.submodels[0].type->typeArgs.size() == 2);
  CHECK(sx(*mlp.submodels[0].type->typeArgs[1]) == "40");
  CHECK(mlp.order.size() == 4);
  CHECK(mlp.order[3].first == ast::ModelDecl::Method);
}

TEST_CASE("parser: annotations as body statements and derived values", "[parser]") {
  auto p = parseOk(R"(model M {
  l1: Linear(1, 40)
  param g: f32[40] = ones()
  param v: f32[40, 40] = glorot() stop_grad
  param s: f32[3] = zeros() constrain : simplex project
  param q: f32 constrain < 5 check reparam sigmoid(0, 1)
  constrain l1.W in [-1, 1] check
  reparam l1.b softplus
  stop_grad l1.*
  reparam W = g * v / norm(v, axis = 1)
}
)");
  const ast::ModelDecl &m = *p->program->models[0];
  REQUIRE(m.params.size() == 4);
  CHECK(m.params[1].stopGrad);
  CHECK(m.params[1].stopGradLoc.col == 35);
  CHECK(m.params[2].constraints.at(0).kind == ast::ConstrainSpec::Simplex);
  CHECK(m.params[2].constraints.at(0).mode == ast::ConstrainSpec::Project);
  CHECK(m.params[3].init == nullptr);
  CHECK(m.params[3].constraints.at(0).kind == ast::ConstrainSpec::Less);
  CHECK(m.params[3].constraints.at(0).mode == ast::ConstrainSpec::Check);
  REQUIRE(m.params[3].reparams.size() == 1);
  CHECK(m.params[3].reparams[0].bijector == "sigmoid");
  CHECK(m.params[3].reparams[0].args.size() == 2);
  REQUIRE(m.annotations.size() == 3);
  CHECK(m.annotations[0].path == "l1.W");
  REQUIRE(m.annotations[0].constrain);
  CHECK(m.annotations[0].constrain->closed);
  CHECK(m.annotations[0].constrain->mode == ast::ConstrainSpec::Check);
  CHECK(sx(*m.annotations[0].constrain->lo) == "(neg 1)");
  CHECK(m.annotations[1].path == "l1.b");
  CHECK(m.annotations[1].reparam->bijector == "softplus");
  CHECK(m.annotations[2].path == "l1.*");
  CHECK(m.annotations[2].stopGrad);
  REQUIRE(m.derived.size() == 1);
  CHECK(m.derived[0].name == "W");
  CHECK(sx(*m.derived[0].value) == "(/ (* g v) (call norm v axis=1))");
  CHECK(m.order.size() == 9);
  CHECK(m.order[5].first == ast::ModelDecl::Annotation);
  CHECK(m.order[8].first == ast::ModelDecl::Derived);
}

TEST_CASE("parser: script features", "[parser]") {
  auto p = parseOk(R"(let xs: f32[100, 32, 4] = load_npy("xs.npy")
var m = RNN(seed = 0, W_in = w, l1.b = zeros[40])
fn sgd_step<M>(m: M, g: M, lr: f32 = 1e-3) -> M = m - lr * g
@checkpoint(every = 32)
for i in 0..10 { m = sgd_step(m, g) }
train m minimizing loss(m) with momentum(0.1, beta = 0.9) for n steps log every 10 to "log.csv"
raw(m.a) = v
let (a, (b, _)) = f()
(s, m) = step(s, m)
let y = full[3, 4](1.5)
)");
  auto &xs = ast::as<ast::LetStmt>(stmtAt(*p, 0));
  CHECK(xs.pattern.name == "xs");
  REQUIRE(xs.type);
  CHECK(xs.type->dims.size() == 3);
  auto &m = ast::as<ast::VarStmt>(stmtAt(*p, 1));
  auto &call = ast::as<ast::CallExpr>(*m.value);
  REQUIRE(call.args.size() == 3);
  CHECK(call.args[2].name == "l1.b");
  CHECK(sx(*call.args[2].value) == "(index zeros 40)");
  const ast::FnDecl &f = *p->program->functions[0];
  REQUIRE(f.generics.size() == 1);
  CHECK(f.generics[0] == "M");
  CHECK(f.genericLocs[0].col == 13);
  CHECK(sx(*f.params[2].defaultValue) == "1e-3");
  CHECK(f.params[0].type->kind == ast::TypeExpr::Named);
  auto &loop = ast::as<ast::ForStmt>(stmtAt(*p, 2));
  REQUIRE(loop.attrs.size() == 1);
  CHECK(loop.attrs[0].name == "checkpoint");
  CHECK(loop.attrs[0].loc.line == 4);
  CHECK(loop.attrs[0].args[0].name == "every");
  CHECK(sx(*loop.attrs[0].args[0].value) == "32");
  CHECK(loop.body->stmts.size() == 1);
  auto &train = ast::as<ast::TrainStmt>(stmtAt(*p, 3));
  CHECK(train.optimizer == "momentum");
  CHECK(sxArgs(train.optArgs) == " 0.1 beta=0.9");
  CHECK(sx(*train.steps) == "n");
  REQUIRE(train.logEvery);
  CHECK(sx(*train.logEvery) == "10");
  CHECK(train.logFile == "log.csv");
  auto &raw = ast::as<ast::AssignStmt>(stmtAt(*p, 4));
  CHECK(sx(*raw.target) == "(call raw (. m a))");
  auto &let = ast::as<ast::LetStmt>(stmtAt(*p, 5));
  REQUIRE(let.pattern.isTuple());
  REQUIRE(let.pattern.elems.size() == 2);
  CHECK(let.pattern.elems[1].elems[1].name == "_");
  auto &tup = ast::as<ast::AssignStmt>(stmtAt(*p, 6));
  CHECK(sx(*tup.target) == "(tuple s m)");
  CHECK(sx(*ast::as<ast::LetStmt>(stmtAt(*p, 7)).value) == "(call (index full 3 4) 1.5)");
}

TEST_CASE("parser: train keywords are identifiers elsewhere", "[parser]") {
  auto p = parseOk(R"(let steps = 100
let to = log(every) + with
f(steps = 100, minimizing = 1)
train m minimizing steps * to with sgd(lr = 0.1) for steps steps
log(2)
)");
  CHECK(sx(*ast::as<ast::LetStmt>(stmtAt(*p, 1)).value) == "(+ (call log every) with)");
  auto &t = ast::as<ast::TrainStmt>(stmtAt(*p, 3));
  CHECK(sx(*t.loss) == "(* steps to)");
  CHECK(sx(*t.steps) == "steps");
  CHECK(t.logEvery == nullptr);
  CHECK(stmtAt(*p, 4).kind == ast::StmtKind::Expr);
}

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

TEST_CASE("parser: precedence and associativity", "[parser]") {
  CHECK(exprOf("-x^2") == "(neg (^ x 2))");
  CHECK(exprOf("a + b * c @ d") == "(+ a (@ (* b c) d))");
  CHECK(exprOf("x ^ -1") == "(^ x (neg 1))");
  CHECK(exprOf("a ^ b ^ c") == "(^ a (^ b c))");
  CHECK(exprOf("a - b - c") == "(- (- a b) c)");
  CHECK(exprOf("a / b * c % d") == "(% (* (/ a b) c) d)");
  CHECK(exprOf("a || b && c == d + e") == "(|| a (&& b (== c (+ d e))))");
  CHECK(exprOf("a < b && c >= d || !e") == "(|| (&& (< a b) (>= c d)) (not e))");
  CHECK(exprOf("-a.b[0]^2") == "(neg (^ (index (. a b) 0) 2))");
  CHECK(exprOf("!x != y") == "(!= (not x) y)");
  CHECK(exprOf("2 * -x") == "(* 2 (neg x))");
  CHECK(exprOf("x ^ -y ^ 2") == "(^ x (neg (^ y 2)))");
  CHECK(exprOf("(a + b) * c") == "(* (+ a b) c)");
  CHECK(exprOf("a <= b") == "(<= a b)");
}

TEST_CASE("parser: binary expression locations", "[parser]") {
  auto p = parseOk("let x = a + b * c\n");
  auto &v = ast::as<ast::BinaryExpr>(*ast::as<ast::LetStmt>(stmtAt(*p, 0)).value);
  CHECK(v.loc.col == 9);
  CHECK(v.loc.length == 9);
  CHECK(v.opLoc.col == 11);
  auto &r = ast::as<ast::BinaryExpr>(*v.rhs);
  CHECK(r.loc.col == 13);
  CHECK(r.loc.length == 5);
  CHECK(r.opLoc.col == 15);
}

TEST_CASE("parser: literals", "[parser]") {
  CHECK(exprOf("0x1F") == "31");
  CHECK(exprOf("2147483647") == "2147483647");
  CHECK(exprOf(".5") == ".5");
  CHECK(exprOf("1e-3") == "1e-3");
  CHECK(exprOf("2.5E+4") == "2.5E+4");
  CHECK(exprOf("true && false") == "(&& true false)");
  auto p = parseOk(R"(let s = "a\"b\\c\nd")");
  auto &s = ast::as<ast::StringLit>(*ast::as<ast::LetStmt>(stmtAt(*p, 0)).value);
  CHECK(s.value == "a\"b\\c\nd");
  auto f = parseOk("let y = 0.25\n");
  auto &fl = ast::as<ast::FloatLit>(*ast::as<ast::LetStmt>(stmtAt(*f, 0)).value);
  CHECK(fl.value == 0.25);
  CHECK(fl.loc.length == 4);
}

TEST_CASE("parser: tuple fields, ranges and dots", "[parser]") {
  CHECK(exprOf("t.0") == "(. t 0)");
  CHECK(exprOf("t.0.1") == "(. (. t 0) 1)");
  CHECK(exprOf("f(a).1") == "(. (call f a) 1)");
  CHECK(exprOf("xs[0].1 + t.1.x") == "(+ (. (index xs 0) 1) (. (. t 1) x))");
  CHECK(exprOf("x.T") == "(. x T)");
  CHECK(exprOf("a*.5") == "(* a .5)");
  CHECK(exprOf("map i in 0..T { i }") == "(map i 0..T {0 stmts; i})");
  CHECK(exprOf("map i in 0..N+1 { 0.5 }") == "(map i 0..(+ N 1) {0 stmts; 0.5})");
}

TEST_CASE("parser: indexing and slices", "[parser]") {
  CHECK(exprOf("x[t]") == "(index x t)");
  CHECK(exprOf("x[i, j]") == "(index x i j)");
  CHECK(exprOf("x[a..b]") == "(index x a..b)");
  CHECK(exprOf("x[..b]") == "(index x ..b)");
  CHECK(exprOf("x[a..]") == "(index x a..)");
  CHECK(exprOf("x[.., 0]") == "(index x .. 0)");
  CHECK(exprOf("x[1..n-1, ..]") == "(index x 1..(- n 1) ..)");
  CHECK(exprOf("zeros[B, 64]") == "(index zeros B 64)");
}

TEST_CASE("parser: tuples, lists, blocks and if", "[parser]") {
  CHECK(exprOf("(a, b)") == "(tuple a b)");
  CHECK(exprOf("(a,)") == "(tuple a)");
  CHECK(exprOf("()") == "(tuple)");
  CHECK(exprOf("[1.0, 2.0]") == "[1.0 2.0]");
  CHECK(exprOf("[[1, 2], [3, 4]]") == "[[1 2] [3 4]]");
  CHECK(exprOf("{ let y = 2; y * 3 }") == "{1 stmts; (* y 3)}");
  CHECK(exprOf("{ print(y); }") == "{1 stmts}");
  CHECK(exprOf("if a < b { 1 } else { 2 }") == "(if (< a b) {0 stmts; 1} else {0 stmts; 2})");
  CHECK(exprOf("if a { 1 } else if b { 2 } else { 3 }") ==
        "(if a {0 stmts; 1} else {0 stmts; (if b {0 stmts; 2} else {0 stmts; 3})})");
  CHECK(exprOf("value_and_grad(loss(m), m.l2)") == "(value_and_grad (call loss m) (. m l2))");
  CHECK(exprOf("stop_grad(m).apply(x)") == "(call (. (call stop_grad m) apply) x)");
}

TEST_CASE("parser: a list of numbers is one token that builds the grammar's nodes", "[parser]") {
  // Numbers only (each perhaps negated, a trailing comma, comments and lines
  // between): the token source's LITERAL_LIST. Anything else: the list rule.
  CHECK(exprOf("[1.0, -2, 3e5,]") == "[1.0 (neg 2) 3e5]");
  CHECK(exprOf("[\n  1.5, // one\n  -2.5\n]") == "[1.5 (neg 2.5)]");
  CHECK(exprOf("[[1, 2], [-3, 4]]") == "[[1 2] [(neg 3) 4]]");
  CHECK(exprOf("[1, x]") == "[1 x]");
  CHECK(exprOf("[1, -x, 2]") == "[1 (neg x) 2]");
  CHECK(exprOf("[1, 2][0]") == "(index [1 2] 0)");
  CHECK(exprOf("[1, 2].0") == "(. [1 2] 0)");
  CHECK(exprOf("v[1, 2]") == "(index v 1 2)");  // an index, not a list
  CHECK(exprOf("-[1, 2] ^ 2") == "(neg (^ [1 2] 2))");
  // Element locations are those of the written numbers ('-' included).
  auto p = parseOk("let a = [10, -2.5]\n");
  auto &l = ast::as<ast::ListExpr>(*ast::as<ast::LetStmt>(stmtAt(*p, 0)).value);
  CHECK(l.loc.col == 9);
  CHECK(l.loc.length == 10);
  CHECK(l.elems[0]->loc.col == 10);
  CHECK(l.elems[0]->loc.length == 2);
  CHECK(l.elems[1]->loc.col == 14);
  CHECK(l.elems[1]->loc.length == 4);
  // A constraint's closed interval is not a list.
  parseOk("model M { param a: f32 constrain in [0.0, 1.0] }\n");
  // Literal errors inside are still reported at the number.
  auto q = parse("let a = [1, 99999999999]\n");
  REQUIRE_FALSE(q->ok());
  CHECK(q->errors() == "1:13: integer literal '99999999999' is out of range for i32 (at most 2147483647)\n");
}

TEST_CASE("parser: stop_grad selectors", "[parser]") {
  CHECK(exprOf("stop_grad * { f(x) }") == "(stop_grad_block * {0 stmts; (call f x)})");
  CHECK(exprOf("stop_grad gln.*, code.W { 1 }") == "(stop_grad_block gln.* code.W {0 stmts; 1})");
  CHECK(exprOf("stop_grad * except enc.gln.*, l* { 1 }") ==
        "(stop_grad_block * except enc.gln.* l* {0 stmts; 1})");
  CHECK(exprOf("stop_grad *_W.b { 1 }") == "(stop_grad_block *_W.b {0 stmts; 1})");
}

//===----------------------------------------------------------------------===//
// Statements and layout
//===----------------------------------------------------------------------===//

TEST_CASE("parser: newlines separate statements", "[parser]") {
  auto p = parseOk("var s = 0\nf(x)\n(s, m) = g()\nlet y = a\n[1, 2]\nlet z = b\n  + c\n");
  REQUIRE(p->program->statements.size() == 6);
  CHECK(sx(*ast::as<ast::ExprStmt>(stmtAt(*p, 1)).expr) == "(call f x)");
  auto &a = ast::as<ast::AssignStmt>(stmtAt(*p, 2));
  CHECK(sx(*a.target) == "(tuple s m)");
  CHECK(sx(*ast::as<ast::LetStmt>(stmtAt(*p, 3)).value) == "a");
  CHECK(sx(*ast::as<ast::ExprStmt>(stmtAt(*p, 4)).expr) == "[1 2]");
  // A line that starts with a binary operator continues the expression.
  CHECK(sx(*ast::as<ast::LetStmt>(stmtAt(*p, 5)).value) == "(+ b c)");
}

TEST_CASE("parser: a line starting with a paren, a bracket or an at-sign starts something new", "[parser]") {
  auto p = parseOk("let a = f\n(b, c) = (1, 2)\nlet d = g\n  [0]\nlet e = h\n  (0)\n");
  REQUIRE(p->program->statements.size() == 6);
  CHECK(stmtAt(*p, 1).kind == ast::StmtKind::Assign);
  CHECK(sx(*ast::as<ast::ExprStmt>(stmtAt(*p, 3)).expr) == "[0]");
  CHECK(sx(*ast::as<ast::ExprStmt>(stmtAt(*p, 5)).expr) == "0");
  // Inside a call's parentheses, arguments may span lines freely.
  auto q = parseOk("let z = f(\n  (a),\n  [b]\n)\nmodel M(\n  n: i32\n) { }\n");
  CHECK(sx(*ast::as<ast::LetStmt>(stmtAt(*q, 0)).value) == "(call f a [b])");
}

TEST_CASE("parser: semicolons and same-line statements", "[parser]") {
  auto p = parseOk("let a = 1; let b = 2;; var c = a\nc += b; c *= 2; c /= 3; c -= 1\n");
  CHECK(p->program->statements.size() == 7);
  CHECK(ast::as<ast::AssignStmt>(stmtAt(*p, 4)).op == ast::AssignOp::Mul);
  CHECK(ast::as<ast::AssignStmt>(stmtAt(*p, 5)).op == ast::AssignOp::Div);
}

TEST_CASE("parser: an @ that starts a line is an attribute", "[parser]") {
  auto p = parseOk("var x = a @ b\n@checkpoint(every = 4)\nfor i in 0..8 { x = x @\n b }\n");
  REQUIRE(p->program->statements.size() == 2);
  CHECK(sx(*ast::as<ast::VarStmt>(stmtAt(*p, 0)).value) == "(@ a b)");
  auto &f = ast::as<ast::ForStmt>(stmtAt(*p, 1));
  CHECK(f.attrs.size() == 1);
}

TEST_CASE("parser: return without a value", "[parser]") {
  auto p = parseOk("fn f() {\n  return\n}\nfn g() -> f32 { return 1.0 }\n");
  auto &r = ast::as<ast::ReturnStmt>(*p->program->functions[0]->body->stmts.at(0));
  CHECK(r.value == nullptr);
  auto &r2 = ast::as<ast::ReturnStmt>(*p->program->functions[1]->body->stmts.at(0));
  CHECK(sx(*r2.value) == "1.0");
}

TEST_CASE("parser: comments", "[parser]") {
  auto p = parseOk("/* a block\n comment ** */ let a = 1 // line\n/**/let b = /* inline */ 2\n");
  CHECK(p->program->statements.size() == 2);
  CHECK(stmtAt(*p, 1).loc.line == 3);
  CHECK(stmtAt(*p, 1).loc.col == 5);
}

TEST_CASE("parser: UTF-8 in strings and comments, and a BOM", "[parser]") {
  auto p = parseOk("\xEF\xBB\xBF// \xC3\xA9t\xC3\xA9\nlet s = \"\xCE\xBB\" + x\n");
  auto &b = ast::as<ast::BinaryExpr>(*ast::as<ast::LetStmt>(stmtAt(*p, 0)).value);
  CHECK(ast::as<ast::StringLit>(*b.lhs).value == "\xCE\xBB");
  CHECK(b.lhs->loc.length == 3); // characters: the lambda is one (two bytes)
  CHECK(b.rhs->loc.col == 15);   // the column counts characters, not bytes
}

TEST_CASE("parser errors: the caret counts characters, not bytes", "[parser][errors]") {
  // "é" and "λ" are two bytes each; `1.2.3` starts at character 23 (byte 25).
  auto p = parse("let s = \"\xC3\xA9\xCE\xBB\"; let y = 1.2.3\n");
  REQUIRE_FALSE(p->ok());
  CHECK(p->errors() == "1:23: malformed number '1.2.3'\n");
  std::string shown = p->diags.render(p->firstError());
  CHECK(shown == "test.ptl:1:23: error: malformed number '1.2.3'\n"
                 "  let s = \"\xC3\xA9\xCE\xBB\"; let y = 1.2.3\n" +
                 std::string("  ") + std::string(22, ' ') + "^~~~~\n"); // 22 characters before it
  // Tabs are kept so the caret lines up however the terminal expands them.
  auto t = parse("\tlet \xCE\xB1 = 1\n");
  REQUIRE_FALSE(t->ok());
  CHECK(t->diags.render(t->firstError()) == "test.ptl:1:6: error: invalid character '\xCE\xB1'\n"
                                            "  \tlet \xCE\xB1 = 1\n"
                                            "  \t    ^\n");
}

TEST_CASE("parser: the printer dumps every node with its position", "[parser]") {
  auto p = parseOk("let y = -x ^ 2\n");
  std::ostringstream os;
  printAST(*p->program, os);
  CHECK(os.str() == "(Program\n"
                    "  (Let y @1:1\n"
                    "    value: (Unary - @1:9\n"
                    "      (Binary ^ @1:10\n"
                    "        lhs: (Name x @1:10)\n"
                    "        rhs: (Int 2 @1:14)))))\n");
}

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

TEST_CASE("parser errors: syntax errors name the token and position", "[parser][errors]") {
  auto p = parse("let x = f(a, b\nlet y = 2\n");
  REQUIRE_FALSE(p->ok());
  CHECK(p->errors().find("2:1: unexpected 'let'; expected ")!= std::string::npos);

  auto q = parse("let x = (a + b\n");
  REQUIRE_FALSE(q->ok());
  CHECK(q->firstError().message == "unexpected end of file; expected ')' or ','");
  CHECK(q->firstError().loc.line == 1);
  CHECK(q->firstError().loc.col == 15);
  REQUIRE(q->firstError().notes.size() == 1);
  CHECK(q->firstError().notes[0].message == "to match this '('");
  CHECK(q->firstError().notes[0].loc.col == 9);

  auto e = parse("let x = (1 +\n");
  REQUIRE_FALSE(e->ok());
  CHECK(e->errors() == "1:13: unexpected end of file; expected an expression\n");

  auto b = parse("fn f() {\n  let a = 1\n");
  REQUIRE_FALSE(b->ok());
  CHECK(b->errors() == "2:12: unexpected end of file; expected '}'\n");

  auto m = parse("let x = (1]\n");
  REQUIRE_FALSE(m->ok());
  CHECK(m->errors() == "1:11: unexpected ']'; expected ')' or ','\n");

  auto k = parse("model M {\n  param a f32\n}\n");
  REQUIRE_FALSE(k->ok());
  CHECK(k->errors() == "2:11: unexpected 'f32'; expected ':'\n");

  auto r = parse("fn f(x: f32 { }\n");
  REQUIRE_FALSE(r->ok());
  CHECK(r->firstError().message.rfind("unexpected '{'", 0) == 0);
  CHECK(r->firstError().loc.col == 13);

  auto s = parse("let = 3\n");
  REQUIRE_FALSE(s->ok());
  CHECK(s->firstError().message.rfind("unexpected '='", 0) == 0);
  CHECK(s->firstError().loc.col == 5);
}

TEST_CASE("parser errors: several errors per file", "[parser][errors]") {
  auto p = parse("let a = )\nlet b = 1\nlet c = ]\n");
  REQUIRE_FALSE(p->ok());
  CHECK(p->diags.errorCount() >= 2);
  CHECK(p->errors().find("1:9:") != std::string::npos);
  CHECK(p->errors().find("3:9:") != std::string::npos);
}

TEST_CASE("parser errors: lexical errors", "[parser][errors]") {
  auto p = parse("let a = 1\nlet b = a $ 2\n");
  REQUIRE_FALSE(p->ok());
  CHECK(p->errors() == "2:11: invalid character '$'\n");

  auto s = parse("let s = \"abc\nlet t = 1\n");
  REQUIRE_FALSE(s->ok());
  CHECK(s->errors() == "1:9: unterminated string\n");

  auto c = parse("let a = 1\n/* never closed\nlet b = 2\n");
  REQUIRE_FALSE(c->ok());
  CHECK(c->errors() == "2:1: unterminated block comment\n");

  auto e = parse("let s = \"a\\qb\"\n");
  REQUIRE_FALSE(e->ok());
  CHECK(e->errors() == "1:11: unknown escape sequence '\\q' in string\n");

  auto u = parse("let a = \xCE\xBB\n");
  REQUIRE_FALSE(u->ok());
  CHECK(u->errors() == "1:9: invalid character '\xCE\xBB'\n");
}

TEST_CASE("parser errors: invalid UTF-8", "[parser][errors]") {
  auto p = parse("let a = 1\nlet b = \"\xC3\x28\"\n");
  REQUIRE_FALSE(p->ok());
  CHECK(p->errors() == "2:10: invalid UTF-8 byte 0xC3 at offset 19\n");
  auto q = parse("let a = 1 // \xFF\n");
  REQUIRE_FALSE(q->ok());
  CHECK(q->errors() == "1:14: invalid UTF-8 byte 0xFF at offset 13\n");
  auto r = parse("let a = \"\xE2\x82\"");
  REQUIRE_FALSE(r->ok());
  CHECK(r->firstError().message.rfind("invalid UTF-8 byte 0x", 0) == 0);
}

TEST_CASE("parser errors: empty file", "[parser][errors]") {
  for (const char *src : {"", "   \n\n", "// only a comment\n", "/* */\n  // x"}) {
    auto p = parse(src);
    REQUIRE_FALSE(p->ok());
    CHECK(p->errors() == "1:1: file is empty\n");
  }
}

TEST_CASE("parser errors: literals and targets", "[parser][errors]") {
  auto p = parse("let a = 2147483648\n");
  REQUIRE_FALSE(p->ok());
  CHECK(p->errors() ==
        "1:9: integer literal '2147483648' is out of range for i32 (at most 2147483647)\n");
  auto h = parse("let a = 0x1FFFFFFFF\n");
  REQUIRE_FALSE(h->ok());
  auto f = parse("let a = 1e999\n");
  REQUIRE_FALSE(f->ok());
  CHECK(f->errors() == "1:9: float literal '1e999' is out of range\n");
  auto t = parse("f(x) = 3\n");
  REQUIRE_FALSE(t->ok());
  CHECK(t->firstError().message.rfind("cannot assign to this expression", 0) == 0);
  auto c = parse("(a, b) += 3\n");
  REQUIRE_FALSE(c->ok());
  CHECK(c->errors() == "1:8: '+=' needs a single target, not a tuple\n");
  auto g = parse("let d = grad(l, f(x))\n");
  REQUIRE_FALSE(g->ok());
  CHECK(g->firstError().loc.col == 17);
  auto k = parse("model M { param a: f32 constrain : sorted }\n");
  REQUIRE_FALSE(k->ok());
  CHECK(k->errors() == "1:36: unknown constraint 'sorted'; expected simplex, ordered or cholesky\n");
  auto r = parse("model M { param a: f32 reparam log }\n");
  REQUIRE_FALSE(r->ok());
  CHECK(r->errors() ==
        "1:32: unknown reparameterisation 'log'; expected exp, softplus or sigmoid(lo, hi)\n");
}

TEST_CASE("parser errors: 10 000 levels of nesting", "[parser][errors]") {
  SECTION("parentheses") {
    std::string src = "let x = " + std::string(10000, '(') + "1" + std::string(10000, ')') + "\n";
    auto p = parse(src);
    REQUIRE_FALSE(p->ok());
    CHECK(p->errors() == "1:1009: nesting deeper than 1000 levels\n");
  }
  SECTION("mixed brackets") {
    std::string open, close;
    for (int i = 0; i < 4000; ++i) {
      open += "([{"[i % 3];
      close = ")]}"[i % 3] + close;
    }
    auto p = parse("let x = " + open + close + "\n");
    REQUIRE_FALSE(p->ok());
    CHECK(p->firstError().message == "nesting deeper than 1000 levels");
  }
  SECTION("unary operators") {
    auto p = parse("let x = " + std::string(10000, '-') + "1\n");
    REQUIRE_FALSE(p->ok());
    CHECK(p->firstError().message == "nesting deeper than 1000 levels");
  }
  SECTION("a long operator chain") {
    std::string src = "let x = 1";
    for (int i = 0; i < 10000; ++i)
      src += " ^ 1";
    auto p = parse(src + "\n");
    REQUIRE_FALSE(p->ok());
    CHECK(p->firstError().message == "nesting deeper than 1000 levels");
  }
  SECTION("else-if chains and member chains") {
    std::string chain = "let x = if a { 1 }";
    for (int i = 0; i < 2000; ++i)
      chain += " else if a { 1 }";
    auto p = parse(chain + "\n");
    REQUIRE_FALSE(p->ok());
    CHECK(p->firstError().message == "nesting deeper than 1000 levels");
    std::string dots = "let y = a";
    for (int i = 0; i < 2000; ++i)
      dots += "\n  .b()";
    auto q = parse(dots + "\n");
    REQUIRE_FALSE(q->ok());
    CHECK(q->firstError().message == "nesting deeper than 1000 levels");
  }
  SECTION("exactly at the limit parses") {
    std::string src = "let x = " + std::string(999, '(') + "1" + std::string(999, ')') + "\n";
    auto p = parseOk(src);
    CHECK(sx(*ast::as<ast::LetStmt>(stmtAt(*p, 0)).value) == "1");
  }
  SECTION("many statements are not nesting") {
    std::string src;
    for (int i = 0; i < 3000; ++i)
      src += "x = a.b + c.d(e)\n";
    auto p = parseOk(src);
    CHECK(p->program->statements.size() == 3000);
  }
}
