//===- frontend/ASTPrinter.cpp - Textual dump of the AST ----------------------===//
//
// Example:  let y = -x ^ 2   prints as
//   (Let y @1:1
//     value: (Unary - @1:9
//       (Binary ^ @1:10
//         lhs: (Name x @1:10)
//         rhs: (Int 2 @1:14))))
//
//===----------------------------------------------------------------------===//
#include "frontend/ASTPrinter.h"

#include <string>

namespace ptl {
namespace {

/// A string literal as written in PTL (quotes and escapes).
std::string quote(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\t': out += "\\t"; break;
    default: out += c;
    }
  }
  return out + "\"";
}

class Printer {
public:
  explicit Printer(std::ostream &os) : os_(os) {}

  void program(const ast::Program &p);
  void expr(const ast::Expr &e, const std::string &role = "");
  void finish() { os_ << "\n"; }

private:
  std::ostream &os_;
  int indent_ = 0;
  bool atStart_ = true;

  /// Starts a node: a new line, `role: (head @line:col`.
  void open(const std::string &role, const std::string &head, SourceLoc loc) {
    if (!atStart_)
      os_ << "\n";
    atStart_ = false;
    os_ << std::string(indent_, ' ');
    if (!role.empty())
      os_ << role << (role.back() == '=' ? " " : ": ");
    os_ << "(" << head;
    if (loc.valid())
      os_ << " @" << loc.line << ":" << loc.col;
    indent_ += 2;
  }
  void close() {
    os_ << ")";
    indent_ -= 2;
  }
  void leaf(const std::string &role, const std::string &head, SourceLoc loc) {
    open(role, head, loc);
    close();
  }
  /// A line with a plain value: `role: value`.
  void value(const std::string &role, const std::string &v) {
    os_ << "\n" << std::string(indent_, ' ') << role << ": " << v;
  }

  void import(const ast::ImportDecl &d);
  void model(const ast::ModelDecl &m);
  void param(const ast::ParamDecl &p);
  void constrain(const ast::ConstrainSpec &c);
  void reparam(const ast::ReparamSpec &r);
  void fn(const ast::FnDecl &f);
  void type(const ast::TypeExpr &t, const std::string &role = "");
  void stmt(const ast::Stmt &s);
  void block(const ast::Block &b, const std::string &role = "");
  void args(const std::vector<ast::Arg> &args);
  static std::string pattern(const ast::Pattern &p);
  static std::string typeText(const ast::TypeExpr &t);
};

void Printer::program(const ast::Program &p) {
  open("", "Program", {});
  for (auto [kind, i] : p.order) {
    switch (kind) {
    case ast::Program::Import: import(p.imports[i]); break;
    case ast::Program::Model: model(*p.models[i]); break;
    case ast::Program::Function: fn(*p.functions[i]); break;
    case ast::Program::Statement: stmt(*p.statements[i]); break;
    }
  }
  close();
}

void Printer::import(const ast::ImportDecl &d) { leaf("", "Import " + quote(d.path), d.loc); }

void Printer::model(const ast::ModelDecl &m) {
  open("", "Model " + m.name, m.loc);
  for (const auto &tp : m.typeParams) {
    open("", "TypeParam " + tp.name, tp.loc);
    type(*tp.type, "type");
    if (tp.defaultValue)
      expr(*tp.defaultValue, "default");
    close();
  }
  for (auto [kind, i] : m.order) {
    switch (kind) {
    case ast::ModelDecl::Param: param(m.params[i]); break;
    case ast::ModelDecl::Submodel: {
      const auto &s = m.submodels[i];
      open("", "Submodel " + s.name, s.loc);
      type(*s.type, "type");
      close();
      break;
    }
    case ast::ModelDecl::Method: fn(m.methods[i]); break;
    case ast::ModelDecl::Annotation: {
      const auto &a = m.annotations[i];
      open("", "PathAnnotation " + a.path, a.loc);
      if (a.constrain)
        constrain(*a.constrain);
      if (a.reparam)
        reparam(*a.reparam);
      if (a.stopGrad)
        leaf("", "StopGrad", a.pathLoc);
      close();
      break;
    }
    case ast::ModelDecl::Derived: {
      const auto &d = m.derived[i];
      open("", "Derived " + d.name, d.loc);
      expr(*d.value, "value");
      close();
      break;
    }
    }
  }
  close();
}

void Printer::param(const ast::ParamDecl &p) {
  open("", "Param " + p.name, p.loc);
  type(*p.type, "type");
  if (p.init)
    expr(*p.init, "init");
  for (const auto &c : p.constraints)
    constrain(c);
  for (const auto &r : p.reparams)
    reparam(r);
  if (p.stopGrad)
    leaf("", "StopGrad", p.stopGradLoc);
  close();
}

void Printer::constrain(const ast::ConstrainSpec &c) {
  std::string head = "Constrain ";
  switch (c.kind) {
  case ast::ConstrainSpec::Greater: head += ">"; break;
  case ast::ConstrainSpec::Less: head += "<"; break;
  case ast::ConstrainSpec::Interval: head += c.closed ? "in []" : "in ()"; break;
  case ast::ConstrainSpec::Simplex: head += "simplex"; break;
  case ast::ConstrainSpec::Ordered: head += "ordered"; break;
  case ast::ConstrainSpec::Cholesky: head += "cholesky"; break;
  }
  switch (c.mode) {
  case ast::ConstrainSpec::Transform: head += " transform"; break;
  case ast::ConstrainSpec::Check: head += " check"; break;
  case ast::ConstrainSpec::Project: head += " project"; break;
  }
  open("", head, c.loc);
  if (c.lo)
    expr(*c.lo, "lo");
  if (c.hi)
    expr(*c.hi, "hi");
  close();
}

void Printer::reparam(const ast::ReparamSpec &r) {
  open("", "Reparam " + r.bijector, r.loc);
  for (const auto &a : r.args)
    expr(*a, "arg");
  close();
}

void Printer::fn(const ast::FnDecl &f) {
  std::string head = "Fn " + f.name;
  if (!f.generics.empty()) {
    head += "<";
    for (size_t i = 0; i < f.generics.size(); ++i)
      head += (i ? ", " : "") + f.generics[i];
    head += ">";
  }
  open("", head, f.loc);
  for (const auto &p : f.params) {
    open("", "Param " + p.name, p.loc);
    type(*p.type, "type");
    if (p.defaultValue)
      expr(*p.defaultValue, "default");
    close();
  }
  if (f.returnType)
    type(*f.returnType, "returns");
  if (f.bodyExpr)
    expr(*f.bodyExpr, "body");
  if (f.body)
    block(*f.body, "body");
  close();
}

std::string Printer::typeText(const ast::TypeExpr &t) {
  switch (t.kind) {
  case ast::TypeExpr::Tensor: {
    std::string s = t.elem;
    if (!t.dims.empty()) {
      s += "[";
      for (size_t i = 0; i < t.dims.size(); ++i) {
        if (i)
          s += ", ";
        s += t.dims[i].value ? std::to_string(*t.dims[i].value) : t.dims[i].name;
      }
      s += "]";
    }
    return s;
  }
  case ast::TypeExpr::Named:
    return t.name + (t.hasTypeArgs ? "(...)" : "");
  case ast::TypeExpr::Tuple: {
    std::string s = "(";
    for (size_t i = 0; i < t.elems.size(); ++i)
      s += (i ? ", " : "") + typeText(*t.elems[i]);
    return s + ")";
  }
  }
  return "?";
}

void Printer::type(const ast::TypeExpr &t, const std::string &role) {
  switch (t.kind) {
  case ast::TypeExpr::Tensor:
    leaf(role, "Type " + typeText(t), t.loc);
    return;
  case ast::TypeExpr::Named:
    open(role, "Type " + t.name + (t.hasTypeArgs ? "()" : ""), t.loc);
    for (const auto &a : t.typeArgs)
      expr(*a, "arg");
    close();
    return;
  case ast::TypeExpr::Tuple:
    open(role, "TupleType", t.loc);
    for (const auto &e : t.elems)
      type(*e);
    close();
    return;
  }
}

std::string Printer::pattern(const ast::Pattern &p) {
  if (!p.isTuple())
    return p.name;
  std::string s = "(";
  for (size_t i = 0; i < p.elems.size(); ++i)
    s += (i ? ", " : "") + pattern(p.elems[i]);
  return s + ")";
}

void Printer::block(const ast::Block &b, const std::string &role) {
  open(role, "Block", b.loc);
  for (const auto &s : b.stmts)
    stmt(*s);
  if (b.result)
    expr(*b.result, "result");
  close();
}

void Printer::args(const std::vector<ast::Arg> &args) {
  for (const auto &a : args)
    expr(*a.value, a.name.empty() ? "arg" : a.name + " =");
}

void Printer::stmt(const ast::Stmt &s) {
  switch (s.kind) {
  case ast::StmtKind::Let: {
    auto &l = ast::as<ast::LetStmt>(s);
    open("", "Let " + pattern(l.pattern), s.loc);
    if (l.type)
      type(*l.type, "type");
    expr(*l.value, "value");
    close();
    return;
  }
  case ast::StmtKind::Var: {
    auto &v = ast::as<ast::VarStmt>(s);
    open("", "Var " + v.name, s.loc);
    if (v.type)
      type(*v.type, "type");
    expr(*v.value, "value");
    close();
    return;
  }
  case ast::StmtKind::Assign: {
    auto &a = ast::as<ast::AssignStmt>(s);
    static const char *ops[] = {"=", "+=", "-=", "*=", "/="};
    open("", std::string("Assign ") + ops[(int)a.op], s.loc);
    expr(*a.target, "target");
    expr(*a.value, "value");
    close();
    return;
  }
  case ast::StmtKind::Expr:
    open("", "ExprStmt", s.loc);
    expr(*ast::as<ast::ExprStmt>(s).expr);
    close();
    return;
  case ast::StmtKind::For: {
    auto &f = ast::as<ast::ForStmt>(s);
    open("", "For " + f.var, s.loc);
    for (const auto &a : f.attrs) {
      open("", "Attribute " + a.name, a.loc);
      args(a.args);
      close();
    }
    expr(*f.lo, "lo");
    expr(*f.hi, "hi");
    block(*f.body, "body");
    close();
    return;
  }
  case ast::StmtKind::Return: {
    auto &r = ast::as<ast::ReturnStmt>(s);
    open("", "Return", s.loc);
    if (r.value)
      expr(*r.value);
    close();
    return;
  }
  case ast::StmtKind::Train: {
    auto &t = ast::as<ast::TrainStmt>(s);
    open("", "Train " + t.var, s.loc);
    expr(*t.loss, "minimizing");
    open("with", "Optimizer " + t.optimizer, t.optimizerLoc);
    args(t.optArgs);
    close();
    expr(*t.steps, "steps");
    if (!t.stepName.empty()) value("as", t.stepName);
    if (t.logEvery) {
      expr(*t.logEvery, "logEvery");
      if (t.hasLogFile) value("logTo", quote(t.logFile));
      for (const ast::TrainMetric &m : t.metrics) expr(*m.value, "metric " + m.name);
      if (t.hasPlotFile) value("plotTo", quote(t.plotFile));
    }
    for (const ast::StopCond &c : t.until) {
      if (c.cond) expr(*c.cond, "until");
      else expr(*c.patience, "until " + c.stalls + " stalls for");
    }
    close();
    return;
  }
  }
}

void Printer::expr(const ast::Expr &e, const std::string &role) {
  switch (e.kind) {
  case ast::ExprKind::IntLit:
    leaf(role, "Int " + std::to_string(ast::as<ast::IntLit>(e).value), e.loc);
    return;
  case ast::ExprKind::FloatLit:
    leaf(role, "Float " + ast::as<ast::FloatLit>(e).spelling, e.loc);
    return;
  case ast::ExprKind::BoolLit:
    leaf(role, ast::as<ast::BoolLit>(e).value ? "Bool true" : "Bool false", e.loc);
    return;
  case ast::ExprKind::StringLit:
    leaf(role, "String " + quote(ast::as<ast::StringLit>(e).value), e.loc);
    return;
  case ast::ExprKind::Name:
    leaf(role, "Name " + ast::as<ast::NameExpr>(e).name, e.loc);
    return;
  case ast::ExprKind::Unary: {
    auto &u = ast::as<ast::UnaryExpr>(e);
    open(role, std::string("Unary ") + ast::unaryOpSpelling(u.op), e.loc);
    expr(*u.operand);
    close();
    return;
  }
  case ast::ExprKind::Binary: {
    auto &b = ast::as<ast::BinaryExpr>(e);
    open(role, std::string("Binary ") + ast::binaryOpSpelling(b.op), e.loc);
    expr(*b.lhs, "lhs");
    expr(*b.rhs, "rhs");
    close();
    return;
  }
  case ast::ExprKind::Call: {
    auto &c = ast::as<ast::CallExpr>(e);
    open(role, "Call", e.loc);
    expr(*c.callee, "callee");
    for (const auto &t : c.typeArgs)
      type(*t, "typeArg");
    args(c.args);
    close();
    return;
  }
  case ast::ExprKind::Field: {
    auto &f = ast::as<ast::FieldExpr>(e);
    open(role, "Field " + f.field, e.loc);
    expr(*f.base);
    close();
    return;
  }
  case ast::ExprKind::Index: {
    auto &ix = ast::as<ast::IndexExpr>(e);
    open(role, "Index", e.loc);
    expr(*ix.base, "base");
    for (const auto &item : ix.items) {
      if (!item.isSlice) {
        expr(*item.value, "index");
        continue;
      }
      open("index", "Slice", item.loc);
      if (item.lo)
        expr(*item.lo, "lo");
      if (item.hi)
        expr(*item.hi, "hi");
      close();
    }
    close();
    return;
  }
  case ast::ExprKind::Tuple:
    open(role, "Tuple", e.loc);
    for (const auto &el : ast::as<ast::TupleExpr>(e).elems)
      expr(*el);
    close();
    return;
  case ast::ExprKind::List:
    open(role, "List", e.loc);
    for (const auto &el : ast::as<ast::ListExpr>(e).elems)
      expr(*el);
    close();
    return;
  case ast::ExprKind::BlockExpr:
    block(*ast::as<ast::BlockExpr>(e).block, role);
    return;
  case ast::ExprKind::If: {
    auto &i = ast::as<ast::IfExpr>(e);
    open(role, "If", e.loc);
    expr(*i.cond, "cond");
    block(*i.thenBlock, "then");
    if (i.elseBlock)
      block(*i.elseBlock, "else");
    close();
    return;
  }
  case ast::ExprKind::Map: {
    auto &m = ast::as<ast::MapExpr>(e);
    open(role, "Map " + m.var, e.loc);
    expr(*m.lo, "lo");
    expr(*m.hi, "hi");
    block(*m.body, "body");
    close();
    return;
  }
  case ast::ExprKind::Grad: {
    auto &g = ast::as<ast::GradExpr>(e);
    open(role, g.withValue ? "ValueAndGrad" : "Grad", e.loc);
    expr(*g.target, "of");
    expr(*g.wrt, "wrt");
    close();
    return;
  }
  case ast::ExprKind::StopGradBlock: {
    auto &s = ast::as<ast::StopGradBlockExpr>(e);
    std::string head = "StopGradBlock";
    if (s.selector.all)
      head += s.selector.globs.empty() ? " *" : " * except";
    for (size_t i = 0; i < s.selector.globs.size(); ++i)
      head += (i ? ", " : " ") + s.selector.globs[i];
    open(role, head, e.loc);
    block(*s.body, "body");
    close();
    return;
  }
  }
}

} // namespace

void printAST(const ast::Program &p, std::ostream &os) {
  Printer pr(os);
  pr.program(p);
  pr.finish();
}

void printAST(const ast::Expr &e, std::ostream &os) {
  Printer pr(os);
  pr.expr(e);
  pr.finish();
}

} // namespace ptl
