//===- frontend/ASTBuilder.cpp - Parse tree to AST ----------------------------===//
//
// A hand-written recursive walk over the parse-tree contexts of
// grammar/PTL.g4 (no ANTLR visitor: antlrcpp::Any wants exact types). Each
// function builds one kind of AST node; the grammar rule it implements is in
// the comment above it. The parse tree is known to be free of syntax errors,
// so every child the grammar requires is present.
//
// Locations: a node's SourceLoc starts at its first token and spans to its
// last token, cut at the end of the first line for multi-line constructs.
//
//===----------------------------------------------------------------------===//
#include "frontend/ASTBuilder.h"
#include "frontend/LiteralListToken.h"

#include "PTLParser.h"
#include "antlr4-runtime.h"

#include <cerrno>
#include <climits>
#include <cstdlib>

namespace ptl {

using grammar::PTLParser;
using antlr4::ParserRuleContext;
using antlr4::Token;
using antlr4::tree::ParseTree;
using antlr4::tree::TerminalNode;

namespace {

const char *const kElementTypes[] = {"f32", "f64", "i32", "bool"};

bool isElementType(const std::string &name) {
  for (const char *e : kElementTypes)
    if (name == e)
      return true;
  return false;
}

/// The first token of a parse-tree node.
Token *firstToken(ParseTree *t) {
  if (auto *term = dynamic_cast<TerminalNode *>(t))
    return term->getSymbol();
  return static_cast<ParserRuleContext *>(t)->getStart();
}

/// The last token of a parse-tree node.
Token *lastToken(ParseTree *t) {
  if (auto *term = dynamic_cast<TerminalNode *>(t))
    return term->getSymbol();
  return static_cast<ParserRuleContext *>(t)->getStop();
}

class Builder {
public:
  Builder(const SourceLocator &locator, DiagnosticEngine &diags)
      : locator_(locator), diags_(diags), fileId_(locator.fileId()) {}

  std::unique_ptr<ast::Program> program(PTLParser::ProgramContext *ctx);

private:
  const SourceLocator &locator_;
  DiagnosticEngine &diags_;
  int fileId_;

  //===--- Locations and small helpers --------------------------------------===//

  SourceLoc loc(Token *t) const { return locator_.span(t->getStartIndex(), t->getStopIndex()); }
  SourceLoc loc(TerminalNode *n) const { return loc(n->getSymbol()); }
  SourceLoc loc(Token *first, Token *last) const {
    if (!last || last->getStopIndex() < first->getStartIndex())
      return loc(first);
    return locator_.span(first->getStartIndex(), last->getStopIndex());
  }
  SourceLoc loc(ParseTree *t) const { return loc(firstToken(t), lastToken(t)); }

  static std::string text(PTLParser::IdentContext *id) { return id->getText(); }

  void error(SourceLoc l, const std::string &msg) { diags_.error(l) << msg; }

  /// Reports each item of `ctx` (a child of type Item: a top-level item, a
  /// statement, a model member) that starts on the line where the previous
  /// item ends with no ';' between them: statements on one line need ';'.
  template <class Item> void checkSeparated(ParserRuleContext *ctx);

  //===--- Declarations -----------------------------------------------------===//
  ast::ImportDecl importDecl(PTLParser::ImportDeclContext *ctx);
  std::unique_ptr<ast::ModelDecl> modelDecl(PTLParser::ModelDeclContext *ctx);
  ast::ModelTypeParam modelTypeParam(PTLParser::ModelTypeParamContext *ctx);
  void member(PTLParser::MemberContext *ctx, ast::ModelDecl &model);
  ast::ParamDecl paramDecl(PTLParser::ParamDeclContext *ctx);
  ast::ConstrainSpec constrain(Token *first, PTLParser::ConstraintBodyContext *body,
                               PTLParser::ConstraintModeContext *mode);
  ast::ReparamSpec reparam(Token *first, PTLParser::ReparamBodyContext *body);
  ast::PathAnnotation pathAnnotation(PTLParser::PathAnnotationContext *ctx);
  std::unique_ptr<ast::FnDecl> fnDecl(PTLParser::FnDeclContext *ctx);

  //===--- Types ------------------------------------------------------------===//
  ast::TypePtr type(PTLParser::TypeContext *ctx);
  ast::Dim dim(PTLParser::DimContext *ctx);

  //===--- Statements -------------------------------------------------------===//
  ast::BlockPtr block(PTLParser::BlockContext *ctx);
  ast::StmtPtr stmt(PTLParser::StmtContext *ctx);
  ast::Pattern pattern(PTLParser::PatternContext *ctx);
  ast::StmtPtr exprStmt(PTLParser::ExprStmtContext *ctx);
  ast::StmtPtr forStmt(PTLParser::ForStmtContext *ctx);
  ast::StmtPtr trainStmt(PTLParser::TrainStmtContext *ctx);
  bool checkAssignTarget(const ast::Expr &e, bool allowTuple);

  //===--- Expressions ------------------------------------------------------===//
  ast::ExprPtr expr(PTLParser::ExprContext *ctx);
  template <class Operand, class BuildFn>
  ast::ExprPtr binaryChain(ParserRuleContext *ctx, BuildFn build);
  ast::ExprPtr cmpExpr(PTLParser::CmpExprContext *ctx);
  ast::ExprPtr addExpr(PTLParser::AddExprContext *ctx);
  ast::ExprPtr mulExpr(PTLParser::MulExprContext *ctx);
  ast::ExprPtr unaryExpr(PTLParser::UnaryExprContext *ctx);
  ast::ExprPtr powExpr(PTLParser::PowExprContext *ctx);
  ast::ExprPtr postfixExpr(PTLParser::PostfixExprContext *ctx);
  ast::ExprPtr primary(PTLParser::PrimaryContext *ctx);
  ast::ExprPtr ifExpr(PTLParser::IfExprContext *ctx);
  ast::ExprPtr gradExpr(ParserRuleContext *ctx, std::vector<PTLParser::ExprContext *> args,
                        bool withValue);
  std::vector<ast::Arg> argList(PTLParser::ArgListContext *ctx);
  ast::IndexItem indexItem(PTLParser::IndexItemContext *ctx);
  ast::Selector selector(PTLParser::SelectorContext *ctx);

  //===--- Literals ---------------------------------------------------------===//
  long long intValue(Token *t);
  long long intValue(const std::string &spelling, SourceLoc l);
  ast::ExprPtr floatLiteral(const std::string &spelling, SourceLoc l);
  std::string stringValue(Token *t);
};

//===----------------------------------------------------------------------===//
// Declarations
//===----------------------------------------------------------------------===//

/// Is `type` a word of a `train` statement's clauses after `for N steps`?
static bool isTrainClauseWord(size_t type) {
  switch (type) {
  case PTLParser::LOG: case PTLParser::EVERY: case PTLParser::TO: case PTLParser::WITH:
  case PTLParser::PLOT: case PTLParser::UNTIL: case PTLParser::STALLS:
    return true;
  default:
    return false;
  }
}

template <class Item> void Builder::checkSeparated(ParserRuleContext *ctx) {
  Token *prevLast = nullptr;  // the last token of the previous item, if no ';' followed it
  Token *prevFirst = nullptr; // and its first
  size_t quietLine = 0;       // a line whose malformed train clause was reported
  for (ParseTree *child : ctx->children) {
    if (auto *term = dynamic_cast<TerminalNode *>(child)) {
      if (term->getSymbol()->getType() == PTLParser::SEMI)
        prevLast = nullptr;
      continue;
    }
    if (!dynamic_cast<Item *>(child))
      continue;
    Token *first = firstToken(child);
    if (prevLast && first->getLine() == prevLast->getLine() && first->getLine() != quietLine) {
      std::string spelling = first->getText();
      if (spelling.size() > 24)
        spelling = spelling.substr(0, 20) + "...";
      if (prevFirst && prevFirst->getType() == PTLParser::TRAIN && isTrainClauseWord(first->getType())) {
        // A train clause the grammar could not take: say what it takes, once a line.
        error(loc(first), "'" + spelling + "' does not continue this train statement: after 'for N steps' come "
                          "'log every K' (then optionally 'to \"run.csv\"', 'with NAME = EXPR, ...', "
                          "'plot to \"run.svg\"') and 'until COND, ...' (COND: a bool expression or "
                          "'NAME stalls for P'), in that order");
        quietLine = first->getLine();
      } else {
        error(loc(first), "expected ';' or a newline before '" + spelling +
                              "': statements on one line are separated by ';'");
      }
    }
    prevLast = lastToken(child);
    prevFirst = first;
  }
}

// program ::= (import | model | fn | stmt | ';')* EOF
std::unique_ptr<ast::Program> Builder::program(PTLParser::ProgramContext *ctx) {
  auto prog = std::make_unique<ast::Program>();
  prog->fileId = fileId_;
  checkSeparated<PTLParser::TopItemContext>(ctx);
  for (PTLParser::TopItemContext *item : ctx->topItem()) {
    if (auto *imp = item->importDecl()) {
      prog->order.push_back({ast::Program::Import, prog->imports.size()});
      prog->imports.push_back(importDecl(imp));
    } else if (auto *model = item->modelDecl()) {
      prog->order.push_back({ast::Program::Model, prog->models.size()});
      prog->models.push_back(modelDecl(model));
    } else if (auto *fn = item->fnDecl()) {
      prog->order.push_back({ast::Program::Function, prog->functions.size()});
      prog->functions.push_back(fnDecl(fn));
    } else {
      prog->order.push_back({ast::Program::Statement, prog->statements.size()});
      prog->statements.push_back(stmt(item->stmt()));
    }
  }
  return prog;
}

// importDecl ::= 'import' STRING
ast::ImportDecl Builder::importDecl(PTLParser::ImportDeclContext *ctx) {
  ast::ImportDecl d;
  d.loc = loc(ctx);
  d.path = stringValue(ctx->STRING()->getSymbol());
  return d;
}

// modelDecl ::= 'model' NAME ('(' modelTypeParam, ... ')')? '{' (member | ';')* '}'
std::unique_ptr<ast::ModelDecl> Builder::modelDecl(PTLParser::ModelDeclContext *ctx) {
  auto m = std::make_unique<ast::ModelDecl>();
  m->loc = loc(ctx);
  m->name = text(ctx->ident());
  m->nameLoc = loc(ctx->ident());
  for (auto *tp : ctx->modelTypeParam())
    m->typeParams.push_back(modelTypeParam(tp));
  checkSeparated<PTLParser::MemberContext>(ctx);
  for (auto *mem : ctx->member())
    member(mem, *m);
  return m;
}

// modelTypeParam ::= NAME ':' type ('=' expr)?
ast::ModelTypeParam Builder::modelTypeParam(PTLParser::ModelTypeParamContext *ctx) {
  ast::ModelTypeParam p;
  p.loc = loc(ctx->ident());
  p.name = text(ctx->ident());
  p.type = type(ctx->type());
  if (ctx->expr())
    p.defaultValue = expr(ctx->expr());
  return p;
}

// member ::= paramDecl | submodelDecl | fnDecl | derivedDecl | pathAnnotation
void Builder::member(PTLParser::MemberContext *ctx, ast::ModelDecl &m) {
  using MK = ast::ModelDecl::MemberKind;
  if (auto *p = ctx->paramDecl()) {
    m.order.push_back({MK::Param, m.params.size()});
    m.params.push_back(paramDecl(p));
  } else if (auto *s = ctx->submodelDecl()) {
    // submodelDecl ::= NAME ':' type
    ast::SubmodelDecl d;
    d.loc = loc(s);
    d.name = text(s->ident());
    d.nameLoc = loc(s->ident());
    d.type = type(s->type());
    if (d.type->kind != ast::TypeExpr::Named)
      error(d.type->loc, "a sub-model field needs a model type, like 'l1: Linear(1, 40)'; "
                         "tensors are declared with 'param'");
    m.order.push_back({MK::Submodel, m.submodels.size()});
    m.submodels.push_back(std::move(d));
  } else if (auto *f = ctx->fnDecl()) {
    m.order.push_back({MK::Method, m.methods.size()});
    m.methods.push_back(std::move(*fnDecl(f)));
  } else if (auto *d = ctx->derivedDecl()) {
    // derivedDecl ::= 'reparam' NAME '=' expr
    ast::DerivedDecl dd;
    dd.loc = loc(d);
    dd.name = text(d->ident());
    dd.nameLoc = loc(d->ident());
    dd.value = expr(d->expr());
    m.order.push_back({MK::Derived, m.derived.size()});
    m.derived.push_back(std::move(dd));
  } else {
    m.order.push_back({MK::Annotation, m.annotations.size()});
    m.annotations.push_back(pathAnnotation(ctx->pathAnnotation()));
  }
}

// paramDecl ::= 'param' NAME ':' type ('=' expr)? annotation*
// annotation ::= constrainSpec | reparamSpec | 'stop_grad'
ast::ParamDecl Builder::paramDecl(PTLParser::ParamDeclContext *ctx) {
  ast::ParamDecl p;
  p.loc = loc(ctx);
  p.name = text(ctx->ident());
  p.nameLoc = loc(ctx->ident());
  p.type = type(ctx->type());
  if (ctx->expr())
    p.init = expr(ctx->expr());
  for (auto *a : ctx->annotation()) {
    if (auto *c = a->constrainSpec()) {
      p.constraints.push_back(
          constrain(c->CONSTRAIN()->getSymbol(), c->constraintBody(), c->constraintMode()));
    } else if (auto *r = a->reparamSpec()) {
      p.reparams.push_back(reparam(r->REPARAM()->getSymbol(), r->reparamBody()));
    } else {
      if (p.stopGrad)
        error(loc(a->STOP_GRAD()), "'stop_grad' given twice");
      p.stopGrad = true;
      p.stopGradLoc = loc(a->STOP_GRAD());
    }
  }
  return p;
}

// constraintBody ::= '>' addExpr | '<' addExpr | 'in' '(' expr ',' expr ')'
//                  | 'in' '[' expr ',' expr ']' | ':' NAME
// constraintMode ::= 'check' | 'project'
ast::ConstrainSpec Builder::constrain(Token *first, PTLParser::ConstraintBodyContext *body,
                                      PTLParser::ConstraintModeContext *mode) {
  ast::ConstrainSpec c;
  c.loc = loc(first, lastToken(mode ? (ParseTree *)mode : (ParseTree *)body));
  c.kind = ast::ConstrainSpec::Greater;
  if (auto *g = dynamic_cast<PTLParser::ConstrainGreaterContext *>(body)) {
    c.lo = addExpr(g->addExpr());
  } else if (auto *l = dynamic_cast<PTLParser::ConstrainLessContext *>(body)) {
    c.kind = ast::ConstrainSpec::Less;
    c.lo = addExpr(l->addExpr());
  } else if (auto *o = dynamic_cast<PTLParser::ConstrainOpenContext *>(body)) {
    c.kind = ast::ConstrainSpec::Interval;
    c.lo = expr(o->expr(0));
    c.hi = expr(o->expr(1));
  } else if (auto *cl = dynamic_cast<PTLParser::ConstrainClosedContext *>(body)) {
    c.kind = ast::ConstrainSpec::Interval;
    c.closed = true;
    c.lo = expr(cl->expr(0));
    c.hi = expr(cl->expr(1));
  } else {
    auto *n = static_cast<PTLParser::ConstrainNamedContext *>(body);
    std::string name = text(n->ident());
    if (name == "simplex")
      c.kind = ast::ConstrainSpec::Simplex;
    else if (name == "ordered")
      c.kind = ast::ConstrainSpec::Ordered;
    else if (name == "cholesky")
      c.kind = ast::ConstrainSpec::Cholesky;
    else
      error(loc(n->ident()), "unknown constraint '" + name +
                                 "'; expected simplex, ordered or cholesky");
  }
  if (mode)
    c.mode = mode->CHECK() ? ast::ConstrainSpec::Check : ast::ConstrainSpec::Project;
  return c;
}

// reparamBody ::= NAME ('(' expr, ... ')')?   -- exp | softplus | sigmoid(lo, hi)
ast::ReparamSpec Builder::reparam(Token *first, PTLParser::ReparamBodyContext *body) {
  ast::ReparamSpec r;
  r.loc = loc(first, body->getStop());
  r.bijector = text(body->ident());
  for (auto *e : body->expr())
    r.args.push_back(expr(e));
  bool hasParens = body->lparen() != nullptr;
  if (r.bijector == "exp" || r.bijector == "softplus") {
    if (hasParens)
      error(loc(body->lparen()), "'reparam " + r.bijector + "' takes no arguments");
  } else if (r.bijector == "sigmoid") {
    if (r.args.size() != 2)
      error(loc(body), "'reparam sigmoid' needs the bounds: sigmoid(lo, hi)");
  } else {
    error(loc(body->ident()), "unknown reparameterisation '" + r.bijector +
                                  "'; expected exp, softplus or sigmoid(lo, hi)");
  }
  return r;
}

// pathAnnotation ::= 'constrain' glob constraintBody constraintMode?
//                  | 'reparam' glob reparamBody | 'stop_grad' glob
ast::PathAnnotation Builder::pathAnnotation(PTLParser::PathAnnotationContext *ctx) {
  ast::PathAnnotation a;
  a.loc = loc(ctx);
  if (auto *c = dynamic_cast<PTLParser::PathConstrainContext *>(ctx)) {
    a.path = c->glob()->getText();
    a.pathLoc = loc(c->glob());
    a.constrain = constrain(c->CONSTRAIN()->getSymbol(), c->constraintBody(), c->constraintMode());
  } else if (auto *r = dynamic_cast<PTLParser::PathReparamContext *>(ctx)) {
    a.path = r->glob()->getText();
    a.pathLoc = loc(r->glob());
    a.reparam = reparam(r->REPARAM()->getSymbol(), r->reparamBody());
  } else {
    auto *s = static_cast<PTLParser::PathStopGradContext *>(ctx);
    a.path = s->glob()->getText();
    a.pathLoc = loc(s->glob());
    a.stopGrad = true;
  }
  return a;
}

// fnDecl ::= 'fn' NAME ('<' NAME, ... '>')? '(' fnParam, ... ')' ('->' type)? ('=' expr | block)
// fnParam ::= NAME ':' type ('=' expr)?
std::unique_ptr<ast::FnDecl> Builder::fnDecl(PTLParser::FnDeclContext *ctx) {
  auto f = std::make_unique<ast::FnDecl>();
  f->loc = loc(ctx);
  auto ids = ctx->ident();
  f->name = text(ids[0]);
  f->nameLoc = loc(ids[0]);
  for (size_t i = 1; i < ids.size(); ++i) {
    f->generics.push_back(text(ids[i]));
    f->genericLocs.push_back(loc(ids[i]));
  }
  for (auto *p : ctx->fnParam()) {
    ast::FnParam fp;
    fp.loc = loc(p->ident());
    fp.name = text(p->ident());
    fp.type = type(p->type());
    if (p->expr())
      fp.defaultValue = expr(p->expr());
    f->params.push_back(std::move(fp));
  }
  if (ctx->type())
    f->returnType = type(ctx->type());
  if (ctx->block())
    f->body = block(ctx->block());
  else
    f->bodyExpr = expr(ctx->expr());
  return f;
}

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

// type ::= NAME '[' dim, ... ']' | NAME '(' expr, ... ')' | NAME | '(' type, ... ')'
ast::TypePtr Builder::type(PTLParser::TypeContext *ctx) {
  if (auto *t = dynamic_cast<PTLParser::TensorTypeContext *>(ctx)) {
    auto ty = std::make_unique<ast::TypeExpr>(ast::TypeExpr::Tensor);
    ty->loc = loc(ctx);
    ty->elem = text(t->ident());
    if (!isElementType(ty->elem))
      error(loc(t->ident()), "'" + ty->elem +
                                 "' is not an element type; only f32, f64, i32 and bool "
                                 "tensors have dimensions");
    for (auto *d : t->dim())
      ty->dims.push_back(dim(d));
    return ty;
  }
  if (auto *t = dynamic_cast<PTLParser::AppliedTypeContext *>(ctx)) {
    auto ty = std::make_unique<ast::TypeExpr>(ast::TypeExpr::Named);
    ty->loc = loc(ctx);
    ty->name = text(t->ident());
    ty->hasTypeArgs = true;
    if (isElementType(ty->name))
      error(loc(t->ident()), "element type '" + ty->name + "' takes no arguments");
    for (auto *e : t->expr())
      ty->typeArgs.push_back(expr(e));
    return ty;
  }
  if (auto *t = dynamic_cast<PTLParser::NameTypeContext *>(ctx)) {
    std::string name = text(t->ident());
    bool elem = isElementType(name);
    auto ty = std::make_unique<ast::TypeExpr>(elem ? ast::TypeExpr::Tensor : ast::TypeExpr::Named);
    ty->loc = loc(ctx);
    (elem ? ty->elem : ty->name) = name;
    return ty;
  }
  auto *t = static_cast<PTLParser::TupleTypeContext *>(ctx);
  auto elems = t->type();
  if (elems.size() == 1 && t->COMMA().empty())
    return type(elems[0]); // a parenthesised type
  auto ty = std::make_unique<ast::TypeExpr>(ast::TypeExpr::Tuple);
  ty->loc = loc(ctx);
  for (auto *e : elems)
    ty->elems.push_back(type(e));
  return ty;
}

// dim ::= INT | NAME
ast::Dim Builder::dim(PTLParser::DimContext *ctx) {
  ast::Dim d;
  d.loc = loc(ctx);
  if (ctx->INT())
    d.value = intValue(ctx->INT()->getSymbol());
  else
    d.name = text(ctx->ident());
  return d;
}

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

// block ::= '{' (stmt | ';')* '}'  -- a final expression statement not
// followed by ';' is the block's value
ast::BlockPtr Builder::block(PTLParser::BlockContext *ctx) {
  auto b = std::make_unique<ast::Block>();
  b->loc = loc(ctx);
  checkSeparated<PTLParser::StmtContext>(ctx);
  auto stmts = ctx->stmt();
  // The child before '}' decides whether the last statement is the value.
  ParseTree *beforeClose = ctx->children[ctx->children.size() - 2];
  PTLParser::StmtContext *resultStmt = nullptr;
  if (!stmts.empty() && beforeClose == stmts.back() && stmts.back()->exprStmt() &&
      !stmts.back()->exprStmt()->assignOp())
    resultStmt = stmts.back();
  for (auto *s : stmts) {
    if (s == resultStmt)
      b->result = expr(s->exprStmt()->expr(0));
    else
      b->stmts.push_back(stmt(s));
  }
  return b;
}

// stmt ::= letStmt | varStmt | forStmt | returnStmt | trainStmt | exprStmt
ast::StmtPtr Builder::stmt(PTLParser::StmtContext *ctx) {
  if (auto *l = ctx->letStmt()) {
    // letStmt ::= 'let' pattern (':' type)? '=' expr
    auto s = std::make_unique<ast::LetStmt>(loc(l));
    s->pattern = pattern(l->pattern());
    if (l->type())
      s->type = type(l->type());
    s->value = expr(l->expr());
    return s;
  }
  if (auto *v = ctx->varStmt()) {
    // varStmt ::= 'var' NAME (':' type)? '=' expr
    auto s = std::make_unique<ast::VarStmt>(loc(v));
    s->name = text(v->ident());
    s->nameLoc = loc(v->ident());
    if (v->type())
      s->type = type(v->type());
    s->value = expr(v->expr());
    return s;
  }
  if (auto *f = ctx->forStmt())
    return forStmt(f);
  if (auto *r = ctx->returnStmt()) {
    // returnStmt ::= 'return' expr?
    auto s = std::make_unique<ast::ReturnStmt>(loc(r));
    if (r->expr())
      s->value = expr(r->expr());
    return s;
  }
  if (auto *t = ctx->trainStmt())
    return trainStmt(t);
  return exprStmt(ctx->exprStmt());
}

// pattern ::= NAME | '(' pattern, ... ')'
ast::Pattern Builder::pattern(PTLParser::PatternContext *ctx) {
  ast::Pattern p;
  p.loc = loc(ctx);
  if (ctx->ident()) {
    p.name = text(ctx->ident());
    return p;
  }
  auto elems = ctx->pattern();
  if (elems.size() == 1 && ctx->COMMA().empty())
    return pattern(elems[0]); // `(a)` is `a`
  for (auto *e : elems)
    p.elems.push_back(pattern(e));
  return p;
}

// exprStmt ::= expr (('=' | '+=' | '-=' | '*=' | '/=') expr)?
ast::StmtPtr Builder::exprStmt(PTLParser::ExprStmtContext *ctx) {
  ast::ExprPtr lhs = expr(ctx->expr(0));
  auto *op = ctx->assignOp();
  if (!op)
    return std::make_unique<ast::ExprStmt>(loc(ctx), std::move(lhs));
  auto s = std::make_unique<ast::AssignStmt>(loc(ctx));
  switch (op->getStart()->getType()) {
  case PTLParser::PLUS_ASSIGN: s->op = ast::AssignOp::Add; break;
  case PTLParser::MINUS_ASSIGN: s->op = ast::AssignOp::Sub; break;
  case PTLParser::STAR_ASSIGN: s->op = ast::AssignOp::Mul; break;
  case PTLParser::SLASH_ASSIGN: s->op = ast::AssignOp::Div; break;
  default: s->op = ast::AssignOp::Set; break;
  }
  if (s->op != ast::AssignOp::Set && lhs->kind == ast::ExprKind::Tuple)
    error(loc(op), "'" + op->getText() + "' needs a single target, not a tuple");
  else if (!checkAssignTarget(*lhs, true))
    error(lhs->loc, "cannot assign to this expression; the target must be a variable, "
                    "a field (net.W_out), raw(m.a) or a tuple of these");
  s->target = std::move(lhs);
  s->value = expr(ctx->expr(1));
  return s;
}

/// A NameExpr, a FieldExpr chain rooted at a name, raw(...) of such a path,
/// or (if allowed) a tuple of targets.
bool Builder::checkAssignTarget(const ast::Expr &e, bool allowTuple) {
  switch (e.kind) {
  case ast::ExprKind::Name:
    return true;
  case ast::ExprKind::Field:
    return checkAssignTarget(*ast::as<ast::FieldExpr>(e).base, false);
  case ast::ExprKind::Call: {
    auto &c = ast::as<ast::CallExpr>(e);
    return c.callee->kind == ast::ExprKind::Name &&
           ast::as<ast::NameExpr>(*c.callee).name == "raw" && c.args.size() == 1 &&
           c.args[0].name.empty() && c.args[0].value->kind == ast::ExprKind::Field &&
           checkAssignTarget(*c.args[0].value, false);
  }
  case ast::ExprKind::Tuple: {
    auto &t = ast::as<ast::TupleExpr>(e);
    if (!allowTuple || t.elems.empty())
      return false;
    for (auto &el : t.elems)
      if (!checkAssignTarget(*el, true))
        return false;
    return true;
  }
  default:
    return false;
  }
}

// forStmt ::= ('@' NAME ('(' argList? ')')?)* 'for' NAME 'in' expr '..' expr block
ast::StmtPtr Builder::forStmt(PTLParser::ForStmtContext *ctx) {
  auto attrs = ctx->attribute();
  Token *forTok = ctx->FOR()->getSymbol();
  auto s = std::make_unique<ast::ForStmt>(loc(forTok, ctx->getStop()));
  for (auto *a : attrs) {
    ast::Attribute at;
    at.loc = loc(a);
    at.name = text(a->ident());
    if (a->argList())
      at.args = argList(a->argList());
    s->attrs.push_back(std::move(at));
  }
  s->var = text(ctx->ident());
  s->varLoc = loc(ctx->ident());
  s->lo = expr(ctx->expr(0));
  s->hi = expr(ctx->expr(1));
  s->body = block(ctx->block());
  return s;
}

// trainStmt ::= 'train' NAME 'minimizing' expr 'with' NAME '(' argList? ')'
//               'for' expr 'steps' ('as' NAME)? ('log' 'every' expr 'to' STRING)?
ast::StmtPtr Builder::trainStmt(PTLParser::TrainStmtContext *ctx) {
  auto s = std::make_unique<ast::TrainStmt>(loc(ctx));
  auto ids = ctx->ident();
  s->var = text(ids[0]);
  s->varLoc = loc(ids[0]);
  s->loss = expr(ctx->expr(0));
  s->optimizer = text(ids[1]);
  s->optimizerLoc = loc(ids[1]);
  if (ctx->argList())
    s->optArgs = argList(ctx->argList());
  s->steps = expr(ctx->expr(1));
  if (ctx->AS()) {
    s->stepName = text(ids[2]);
    s->stepNameLoc = loc(ids[2]);
  }
  if (auto *lg = ctx->trainLog()) {
    s->logEvery = expr(lg->expr());
    // The strings in order: the log file's after `to`, then the plot's.
    auto strings = lg->STRING();
    size_t next = 0;
    if (lg->TO().size() > (lg->PLOT() ? 1u : 0u)) {
      s->hasLogFile = true;
      s->logFile = stringValue(strings[next]->getSymbol());
      s->logFileLoc = loc(strings[next]);
      ++next;
    }
    if (lg->PLOT()) {
      s->hasPlotFile = true;
      s->plotFile = stringValue(strings[next]->getSymbol());
      s->plotFileLoc = loc(strings[next]);
    }
    for (auto *m : lg->trainMetric())
      s->metrics.push_back(ast::TrainMetric{text(m->ident()), loc(m->ident()), expr(m->expr())});
  }
  if (auto *u = ctx->trainUntil()) {
    for (auto *c : u->stopCond()) {
      ast::StopCond sc;
      sc.loc = loc(c);
      sc.text = c->start->getInputStream()->getText(
          antlr4::misc::Interval(c->start->getStartIndex(), c->stop->getStopIndex()));
      if (c->STALLS()) {
        sc.stalls = text(c->ident());
        sc.stallsLoc = loc(c->ident());
        sc.patience = expr(c->expr());
      } else {
        sc.cond = expr(c->expr());
      }
      s->until.push_back(std::move(sc));
    }
  }
  return s;
}

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

ast::BinaryOp binaryOpFor(size_t tokenType) {
  switch (tokenType) {
  case PTLParser::PLUS: return ast::BinaryOp::Add;
  case PTLParser::MINUS: return ast::BinaryOp::Sub;
  case PTLParser::STAR: return ast::BinaryOp::Mul;
  case PTLParser::SLASH: return ast::BinaryOp::Div;
  case PTLParser::PERCENT: return ast::BinaryOp::Mod;
  case PTLParser::AT: return ast::BinaryOp::MatMul;
  case PTLParser::CARET: return ast::BinaryOp::Pow;
  case PTLParser::EQ: return ast::BinaryOp::Eq;
  case PTLParser::NE: return ast::BinaryOp::Ne;
  case PTLParser::LT: return ast::BinaryOp::Lt;
  case PTLParser::LE: return ast::BinaryOp::Le;
  case PTLParser::GT: return ast::BinaryOp::Gt;
  case PTLParser::GE: return ast::BinaryOp::Ge;
  case PTLParser::ANDAND: return ast::BinaryOp::And;
  default: return ast::BinaryOp::Or;
  }
}

/// Folds `operand (op operand)*` left-associatively; the children of `ctx`
/// alternate between operands (of context type Operand) and operators (a
/// token or an op rule).
template <class Operand, class BuildFn>
ast::ExprPtr Builder::binaryChain(ParserRuleContext *ctx, BuildFn build) {
  auto &ch = ctx->children;
  ast::ExprPtr lhs = build(static_cast<Operand *>(ch[0]));
  Token *first = ctx->getStart();
  for (size_t i = 1; i + 1 < ch.size(); i += 2) {
    Token *opTok = firstToken(ch[i]);
    ast::ExprPtr rhs = build(static_cast<Operand *>(ch[i + 1]));
    auto b = std::make_unique<ast::BinaryExpr>(loc(first, lastToken(ch[i + 1])),
                                               binaryOpFor(opTok->getType()), std::move(lhs),
                                               std::move(rhs));
    b->opLoc = loc(opTok);
    lhs = std::move(b);
  }
  return lhs;
}

// expr ::= andExpr ('||' andExpr)*     andExpr ::= cmpExpr ('&&' cmpExpr)*
ast::ExprPtr Builder::expr(PTLParser::ExprContext *ctx) {
  return binaryChain<PTLParser::AndExprContext>(ctx->orExpr(), [&](PTLParser::AndExprContext *a) {
    return binaryChain<PTLParser::CmpExprContext>(
        a, [&](PTLParser::CmpExprContext *c) { return cmpExpr(c); });
  });
}

// cmpExpr ::= addExpr (('==' | '!=' | '<' | '<=' | '>' | '>=') addExpr)*
ast::ExprPtr Builder::cmpExpr(PTLParser::CmpExprContext *ctx) {
  return binaryChain<PTLParser::AddExprContext>(
      ctx, [&](PTLParser::AddExprContext *a) { return addExpr(a); });
}

// addExpr ::= mulExpr (('+' | '-') mulExpr)*
ast::ExprPtr Builder::addExpr(PTLParser::AddExprContext *ctx) {
  return binaryChain<PTLParser::MulExprContext>(
      ctx, [&](PTLParser::MulExprContext *m) { return mulExpr(m); });
}

// mulExpr ::= unaryExpr (('*' | '/' | '%' | '@') unaryExpr)*
ast::ExprPtr Builder::mulExpr(PTLParser::MulExprContext *ctx) {
  return binaryChain<PTLParser::UnaryExprContext>(
      ctx, [&](PTLParser::UnaryExprContext *u) { return unaryExpr(u); });
}

// unaryExpr ::= ('-' | '!') unaryExpr | powExpr
ast::ExprPtr Builder::unaryExpr(PTLParser::UnaryExprContext *ctx) {
  if (ctx->powExpr())
    return powExpr(ctx->powExpr());
  ast::UnaryOp op = ctx->MINUS() ? ast::UnaryOp::Neg : ast::UnaryOp::Not;
  return std::make_unique<ast::UnaryExpr>(loc(ctx), op, unaryExpr(ctx->unaryExpr()));
}

// powExpr ::= postfixExpr ('^' unaryExpr)?   -- right-associative through unaryExpr
ast::ExprPtr Builder::powExpr(PTLParser::PowExprContext *ctx) {
  ast::ExprPtr base = postfixExpr(ctx->postfixExpr());
  if (!ctx->CARET())
    return base;
  auto b = std::make_unique<ast::BinaryExpr>(loc(ctx), ast::BinaryOp::Pow, std::move(base),
                                             unaryExpr(ctx->unaryExpr()));
  b->opLoc = loc(ctx->CARET());
  return b;
}

// postfixExpr ::= primary ('(' argList? ')' | '[' indexItem, ... ']' | '.' NAME | '.' INT)*
ast::ExprPtr Builder::postfixExpr(PTLParser::PostfixExprContext *ctx) {
  ast::ExprPtr e = primary(ctx->primary());
  Token *first = ctx->getStart();
  for (auto *op : ctx->postfixOp()) {
    SourceLoc l = loc(first, op->getStop());
    if (auto *c = dynamic_cast<PTLParser::CallOpContext *>(op)) {
      auto call = std::make_unique<ast::CallExpr>(l, std::move(e));
      if (c->argList())
        call->args = argList(c->argList());
      e = std::move(call);
    } else if (auto *ix = dynamic_cast<PTLParser::IndexOpContext *>(op)) {
      auto index = std::make_unique<ast::IndexExpr>(l, std::move(e));
      for (auto *item : ix->indexItem())
        index->items.push_back(indexItem(item));
      e = std::move(index);
    } else if (auto *f = dynamic_cast<PTLParser::FieldOpContext *>(op)) {
      auto field = std::make_unique<ast::FieldExpr>(l, std::move(e), text(f->ident()));
      field->fieldLoc = loc(f->ident());
      e = std::move(field);
    } else {
      auto *t = static_cast<PTLParser::TupleFieldOpContext *>(op);
      std::string digits = t->INT()->getText();
      if (digits.find_first_not_of("0123456789") != std::string::npos ||
          (digits.size() > 1 && digits[0] == '0') || digits.size() > 9)
        error(loc(t->INT()), "invalid tuple field '" + digits + "'");
      auto field = std::make_unique<ast::FieldExpr>(l, std::move(e), digits);
      field->fieldLoc = loc(t->INT());
      e = std::move(field);
    }
  }
  return e;
}

// argList ::= arg (',' arg)* ','?     arg ::= (NAME ('.' NAME)* '=')? expr
std::vector<ast::Arg> Builder::argList(PTLParser::ArgListContext *ctx) {
  std::vector<ast::Arg> args;
  for (auto *a : ctx->arg()) {
    ast::Arg arg;
    arg.loc = loc(a);
    if (a->ASSIGN()) {
      for (auto *id : a->ident()) {
        if (!arg.name.empty())
          arg.name += '.';
        arg.name += text(id);
      }
    }
    arg.value = expr(a->expr());
    args.push_back(std::move(arg));
  }
  return args;
}

// indexItem ::= expr ('..' expr?)? | '..' expr?
ast::IndexItem Builder::indexItem(PTLParser::IndexItemContext *ctx) {
  ast::IndexItem item;
  item.loc = loc(ctx);
  if (!ctx->range) {
    item.value = expr(ctx->lo);
    return item;
  }
  item.isSlice = true;
  if (ctx->lo)
    item.lo = expr(ctx->lo);
  if (ctx->hi)
    item.hi = expr(ctx->hi);
  return item;
}

// primary ::= INT | FLOAT | STRING | 'true' | 'false' | NAME | '(' expr, ... ')'
//           | '[' expr, ... ']' | block | ifExpr | 'map' NAME 'in' expr '..' expr block
//           | 'grad' '(' expr ',' expr ')' | 'value_and_grad' '(' expr ',' expr ')'
//           | 'stop_grad' '(' argList? ')' | 'stop_grad' selector block
ast::ExprPtr Builder::primary(PTLParser::PrimaryContext *ctx) {
  SourceLoc l = loc(ctx);
  if (auto *i = dynamic_cast<PTLParser::IntLitContext *>(ctx))
    return std::make_unique<ast::IntLit>(l, intValue(i->INT()->getSymbol()));
  if (auto *f = dynamic_cast<PTLParser::FloatLitContext *>(ctx))
    return floatLiteral(f->getText(), l);
  if (auto *s = dynamic_cast<PTLParser::StringLitContext *>(ctx))
    return std::make_unique<ast::StringLit>(l, stringValue(s->STRING()->getSymbol()));
  if (dynamic_cast<PTLParser::TrueLitContext *>(ctx))
    return std::make_unique<ast::BoolLit>(l, true);
  if (dynamic_cast<PTLParser::FalseLitContext *>(ctx))
    return std::make_unique<ast::BoolLit>(l, false);
  if (auto *n = dynamic_cast<PTLParser::NameExprContext *>(ctx))
    return std::make_unique<ast::NameExpr>(l, text(n->ident()));
  if (auto *p = dynamic_cast<PTLParser::ParenExprContext *>(ctx)) {
    auto elems = p->expr();
    if (elems.size() == 1 && !p->trailing)
      return expr(elems[0]); // a parenthesised expression
    auto t = std::make_unique<ast::TupleExpr>(l);
    for (auto *e : elems)
      t->elems.push_back(expr(e));
    return t;
  }
  if (auto *ll = dynamic_cast<PTLParser::LiteralListExprContext *>(ctx)) {
    // The numbers of a LITERAL_LIST token: the nodes the list rule would build.
    const auto *tok = static_cast<const LiteralListToken *>(ll->LITERAL_LIST()->getSymbol());
    auto list = std::make_unique<ast::ListExpr>(l);
    list->elems.reserve(tok->elements.size());
    for (const LiteralListToken::Element &el : tok->elements) {
      SourceLoc nl = locator_.span(el.start, el.stop);
      ast::ExprPtr num = el.isFloat ? floatLiteral(el.text, nl)
                                    : std::make_unique<ast::IntLit>(nl, intValue(el.text, nl));
      if (el.minusStart != (size_t)-1)
        num = std::make_unique<ast::UnaryExpr>(locator_.span(el.minusStart, el.stop), ast::UnaryOp::Neg,
                                               std::move(num));
      list->elems.push_back(std::move(num));
    }
    return list;
  }
  if (auto *li = dynamic_cast<PTLParser::ListExprContext *>(ctx)) {
    auto list = std::make_unique<ast::ListExpr>(l);
    for (auto *e : li->expr())
      list->elems.push_back(expr(e));
    return list;
  }
  if (auto *b = dynamic_cast<PTLParser::BlockExprContext *>(ctx))
    return std::make_unique<ast::BlockExpr>(l, block(b->block()));
  if (auto *i = dynamic_cast<PTLParser::IfPrimaryContext *>(ctx))
    return ifExpr(i->ifExpr());
  if (auto *m = dynamic_cast<PTLParser::MapExprContext *>(ctx)) {
    auto map = std::make_unique<ast::MapExpr>(l);
    map->var = text(m->ident());
    map->varLoc = loc(m->ident());
    map->lo = expr(m->expr(0));
    map->hi = expr(m->expr(1));
    map->body = block(m->block());
    return map;
  }
  if (auto *g = dynamic_cast<PTLParser::GradExprContext *>(ctx))
    return gradExpr(g, g->expr(), false);
  if (auto *g = dynamic_cast<PTLParser::ValueAndGradExprContext *>(ctx))
    return gradExpr(g, g->expr(), true);
  if (auto *s = dynamic_cast<PTLParser::StopGradCallContext *>(ctx)) {
    // stop_grad(e) is an ordinary call of the name `stop_grad`.
    auto call = std::make_unique<ast::CallExpr>(
        l, std::make_unique<ast::NameExpr>(loc(s->STOP_GRAD()), "stop_grad"));
    if (s->argList())
      call->args = argList(s->argList());
    return call;
  }
  auto *s = static_cast<PTLParser::StopGradBlockContext *>(ctx);
  auto sg = std::make_unique<ast::StopGradBlockExpr>(l);
  sg->selector = selector(s->selector());
  sg->body = block(s->block());
  return sg;
}

// ifExpr ::= 'if' expr block ('else' (ifExpr | block))?
ast::ExprPtr Builder::ifExpr(PTLParser::IfExprContext *ctx) {
  auto e = std::make_unique<ast::IfExpr>(loc(ctx));
  e->cond = expr(ctx->expr());
  auto blocks = ctx->block();
  e->thenBlock = block(blocks[0]);
  if (auto *elseIf = ctx->ifExpr()) {
    // `else if ...` is an else block holding the inner if as its value.
    e->elseBlock = std::make_unique<ast::Block>();
    e->elseBlock->loc = loc(elseIf);
    e->elseBlock->result = ifExpr(elseIf);
  } else if (blocks.size() > 1) {
    e->elseBlock = block(blocks[1]);
  }
  return e;
}

/// The second argument of grad must name what is differentiated against.
static bool isPath(const ast::Expr &e) {
  if (e.kind == ast::ExprKind::Name)
    return true;
  if (e.kind != ast::ExprKind::Field)
    return false;
  auto &f = ast::as<ast::FieldExpr>(e);
  return !f.field.empty() && !std::isdigit((unsigned char)f.field[0]) && isPath(*f.base);
}

// 'grad' '(' expr ',' expr ')' | 'value_and_grad' '(' expr ',' expr ')'
ast::ExprPtr Builder::gradExpr(ParserRuleContext *ctx, std::vector<PTLParser::ExprContext *> args,
                               bool withValue) {
  auto g = std::make_unique<ast::GradExpr>(loc(ctx));
  g->withValue = withValue;
  g->target = expr(args[0]);
  g->wrt = expr(args[1]);
  if (!isPath(*g->wrt))
    error(g->wrt->loc, std::string("the second argument of ") +
                           (withValue ? "value_and_grad" : "grad") +
                           " must be a variable or a field path such as m.l2");
  return g;
}

// selector ::= '*' ('except' glob (',' glob)*)? | glob (',' glob)*
ast::Selector Builder::selector(PTLParser::SelectorContext *ctx) {
  ast::Selector sel;
  sel.loc = loc(ctx);
  std::vector<PTLParser::GlobContext *> globs;
  if (auto *all = dynamic_cast<PTLParser::SelectAllContext *>(ctx)) {
    sel.all = true;
    globs = all->glob();
  } else {
    globs = static_cast<PTLParser::SelectGlobsContext *>(ctx)->glob();
  }
  for (auto *g : globs) {
    sel.globs.push_back(g->getText());
    sel.globLocs.push_back(loc(g));
  }
  return sel;
}

//===----------------------------------------------------------------------===//
// Literals
//===----------------------------------------------------------------------===//

// FLOAT ::= 3.0 | .5 | 1e-3 | 2.5E+4   -- must fit in f64
ast::ExprPtr Builder::floatLiteral(const std::string &spelling, SourceLoc l) {
  errno = 0;
  double v = std::strtod(spelling.c_str(), nullptr);
  if (errno == ERANGE && (v > 1.0 || v < -1.0))
    error(l, "float literal '" + spelling + "' is out of range");
  return std::make_unique<ast::FloatLit>(l, v, spelling);
}

long long Builder::intValue(Token *t) { return intValue(t->getText(), loc(t)); }

// INT ::= [0-9]+ | '0' [xX] [0-9a-fA-F]+   -- must fit in i32
long long Builder::intValue(const std::string &s, SourceLoc l) {
  bool hex = s.size() > 2 && (s[1] == 'x' || s[1] == 'X');
  unsigned long long v = 0;
  bool overflow = false;
  for (size_t i = hex ? 2 : 0; i < s.size(); ++i) {
    char c = s[i];
    unsigned d = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
    v = v * (hex ? 16 : 10) + d;
    if (v > (unsigned long long)INT_MAX) {
      overflow = true;
      break;
    }
  }
  if (overflow) {
    error(l, "integer literal '" + s + "' is out of range for i32 (at most 2147483647)");
    return 0;
  }
  return (long long)v;
}

// STRING ::= '"' (char | '\"' | '\\' | '\n' | '\t')* '"'
std::string Builder::stringValue(Token *t) {
  std::string raw = t->getText();
  std::string out;
  SourceLoc l = loc(t);
  for (size_t i = 1; i + 1 < raw.size(); ++i) {
    char c = raw[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    char e = raw[++i];
    switch (e) {
    case '"': out += '"'; break;
    case '\\': out += '\\'; break;
    case 'n': out += '\n'; break;
    case 't': out += '\t'; break;
    default: {
      // The backslash is at byte i - 1; columns count characters.
      SourceLoc el{l.file, l.line, l.col + (int)countChars(std::string_view(raw).substr(0, i - 1)), 2};
      error(el, std::string("unknown escape sequence '\\") + e + "' in string");
    }
    }
  }
  return out;
}

} // namespace

std::unique_ptr<ast::Program> buildAST(antlr4::ParserRuleContext *program,
                                       const SourceLocator &locator, DiagnosticEngine &diags) {
  int before = diags.errorCount();
  Builder builder(locator, diags);
  auto result = builder.program(static_cast<PTLParser::ProgramContext *>(program));
  if (diags.errorCount() > before)
    return nullptr;
  return result;
}

} // namespace ptl
