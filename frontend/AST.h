//===- frontend/AST.h - The PTL abstract syntax tree --------------------------===//
//
// A closed hierarchy of nodes built from the ANTLR parse tree at once (see
// ASTBuilder). Every node carries a SourceLoc; children are owned by
// unique_ptr. Nodes carry no semantics: names, types and shapes are resolved
// by the elaborator, which walks this tree per function specialisation.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/SourceManager.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ptl::ast {

struct Expr;
struct Stmt;
struct TypeExpr;
struct Block;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using TypePtr = std::unique_ptr<TypeExpr>;
using BlockPtr = std::unique_ptr<Block>;

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

/// One dimension of a tensor type: an integer literal or a shape-variable
/// name (`N`) or a model type-argument name (`n_in`).
struct Dim {
  SourceLoc loc;
  std::optional<long long> value; ///< set for a literal dimension
  std::string name;               ///< set for a named dimension
};

/// typeExpr ::= ELEM ('[' dim (',' dim)* ']')?    -- tensor (no brackets: scalar)
///            | NAME ('(' expr (',' expr)* ')')?  -- model or generic param
///            | '(' typeExpr (',' typeExpr)* ')'  -- tuple
struct TypeExpr {
  enum Kind { Tensor, Named, Tuple } kind;
  SourceLoc loc;
  // Tensor
  std::string elem;        ///< "f32" | "f64" | "i32" | "bool"
  std::vector<Dim> dims;   ///< empty for a scalar
  // Named: a model type (with optional type arguments) or a generic parameter.
  std::string name;
  std::vector<ExprPtr> typeArgs;
  bool hasTypeArgs = false; ///< `Linear(1, 40)` vs `Linear`
  // Tuple
  std::vector<TypePtr> elems;
  explicit TypeExpr(Kind k) : kind(k) {}
};

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

enum class ExprKind {
  IntLit, FloatLit, BoolLit, StringLit,
  Name,       ///< x
  Unary,      ///< -x, !x
  Binary,     ///< a + b, a @ b, a ^ b, a < b, a && b ...
  Call,       ///< f(a, name = b); m.apply(x); zeros[3](..) is Call(Index(..))
  Field,      ///< x.name, x.T, t.0
  Index,      ///< x[i], x[a..b], zeros[B, 64], x[i, j]
  Tuple,      ///< (a, b)
  List,       ///< [a, b, c]
  BlockExpr,  ///< { stmts; expr }
  If,         ///< if c { } else { }
  Map,        ///< map i in a..b { expr }
  Grad,       ///< grad(e, x), value_and_grad(e, x)
  StopGradBlock, ///< stop_grad SELECTOR { ... }
};

enum class UnaryOp { Neg, Not };
enum class BinaryOp {
  Add, Sub, Mul, Div, Mod, MatMul, Pow,
  Eq, Ne, Lt, Le, Gt, Ge, And, Or,
};
/// The source spelling of an operator ("+", "@", "&&").
const char *binaryOpSpelling(BinaryOp op);
const char *unaryOpSpelling(UnaryOp op);

struct Expr {
  ExprKind kind;
  SourceLoc loc;
  explicit Expr(ExprKind k, SourceLoc l) : kind(k), loc(l) {}
  virtual ~Expr() = default;
};

struct IntLit : Expr {
  long long value;
  IntLit(SourceLoc l, long long v) : Expr(ExprKind::IntLit, l), value(v) {}
};
struct FloatLit : Expr {
  double value;
  std::string spelling; ///< as written, for printing
  FloatLit(SourceLoc l, double v, std::string s)
      : Expr(ExprKind::FloatLit, l), value(v), spelling(std::move(s)) {}
};
struct BoolLit : Expr {
  bool value;
  BoolLit(SourceLoc l, bool v) : Expr(ExprKind::BoolLit, l), value(v) {}
};
struct StringLit : Expr {
  std::string value; ///< escapes already processed
  StringLit(SourceLoc l, std::string v) : Expr(ExprKind::StringLit, l), value(std::move(v)) {}
};
struct NameExpr : Expr {
  std::string name;
  NameExpr(SourceLoc l, std::string n) : Expr(ExprKind::Name, l), name(std::move(n)) {}
};
struct UnaryExpr : Expr {
  UnaryOp op;
  ExprPtr operand;
  UnaryExpr(SourceLoc l, UnaryOp o, ExprPtr e)
      : Expr(ExprKind::Unary, l), op(o), operand(std::move(e)) {}
};
struct BinaryExpr : Expr {
  BinaryOp op;
  ExprPtr lhs, rhs;
  SourceLoc opLoc; ///< the operator token
  BinaryExpr(SourceLoc l, BinaryOp o, ExprPtr a, ExprPtr b)
      : Expr(ExprKind::Binary, l), op(o), lhs(std::move(a)), rhs(std::move(b)) {}
};

/// One call argument, positional (name empty) or named (`lr = 0.1`,
/// `l1.b = zeros[40]` — a dotted name for construction overrides).
struct Arg {
  SourceLoc loc;
  std::string name; ///< empty for positional; may contain dots
  ExprPtr value;
};

struct CallExpr : Expr {
  ExprPtr callee;             ///< NameExpr, FieldExpr (method) or IndexExpr (zeros[..](v))
  std::vector<TypePtr> typeArgs; ///< explicit generic args `f<M>(...)` (rare)
  std::vector<Arg> args;
  CallExpr(SourceLoc l, ExprPtr c) : Expr(ExprKind::Call, l), callee(std::move(c)) {}
};
struct FieldExpr : Expr {
  ExprPtr base;
  std::string field; ///< identifier, "T", or a tuple index "0", "1", ...
  SourceLoc fieldLoc;
  FieldExpr(SourceLoc l, ExprPtr b, std::string f)
      : Expr(ExprKind::Field, l), base(std::move(b)), field(std::move(f)) {}
};

/// One item inside `[...]`: an expression, or a slice `a..b` (either bound
/// may be omitted: `..b`, `a..`, `..`).
struct IndexItem {
  SourceLoc loc;
  bool isSlice = false;
  ExprPtr value;    ///< when !isSlice
  ExprPtr lo, hi;   ///< when isSlice (either may be null)
};
struct IndexExpr : Expr {
  ExprPtr base;
  std::vector<IndexItem> items;
  IndexExpr(SourceLoc l, ExprPtr b) : Expr(ExprKind::Index, l), base(std::move(b)) {}
};
struct TupleExpr : Expr {
  std::vector<ExprPtr> elems;
  explicit TupleExpr(SourceLoc l) : Expr(ExprKind::Tuple, l) {}
};
struct ListExpr : Expr {
  std::vector<ExprPtr> elems;
  explicit ListExpr(SourceLoc l) : Expr(ExprKind::List, l) {}
};

/// block ::= '{' stmt* expr? '}'  -- the trailing expression is its value.
struct Block {
  SourceLoc loc;
  std::vector<StmtPtr> stmts;
  ExprPtr result; ///< may be null (the block's value is then ())
};
struct BlockExpr : Expr {
  BlockPtr block;
  BlockExpr(SourceLoc l, BlockPtr b) : Expr(ExprKind::BlockExpr, l), block(std::move(b)) {}
};
struct IfExpr : Expr {
  ExprPtr cond;
  BlockPtr thenBlock;
  BlockPtr elseBlock; ///< null when there is no else; an `else if` is a block holding one IfExpr
  IfExpr(SourceLoc l) : Expr(ExprKind::If, l) {}
};
struct MapExpr : Expr {
  std::string var;
  SourceLoc varLoc;
  ExprPtr lo, hi;
  BlockPtr body;
  MapExpr(SourceLoc l) : Expr(ExprKind::Map, l) {}
};
struct GradExpr : Expr {
  bool withValue = false; ///< value_and_grad
  ExprPtr target;         ///< the scalar expression e
  ExprPtr wrt;            ///< x: a name or a field path (m.l2, net.W_out)
  GradExpr(SourceLoc l) : Expr(ExprKind::Grad, l) {}
};

/// selector ::= '*' ('except' glob (',' glob)*)? | glob (',' glob)*
/// glob     ::= a dotted path whose segments may be '*' or contain '*'
struct Selector {
  SourceLoc loc;
  bool all = false;                 ///< starts with '*'
  std::vector<std::string> globs;   ///< the listed globs (after `except` when all)
  std::vector<SourceLoc> globLocs;
};
struct StopGradBlockExpr : Expr {
  Selector selector;
  BlockPtr body;
  StopGradBlockExpr(SourceLoc l) : Expr(ExprKind::StopGradBlock, l) {}
};

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

enum class StmtKind { Let, Var, Assign, Expr, For, Return, Train };

struct Stmt {
  StmtKind kind;
  SourceLoc loc;
  explicit Stmt(StmtKind k, SourceLoc l) : kind(k), loc(l) {}
  virtual ~Stmt() = default;
};

/// A binding target: a name, or a (possibly nested) tuple of them.
struct Pattern {
  SourceLoc loc;
  std::string name;            ///< set for a single name ("_" ignores)
  std::vector<Pattern> elems;  ///< set for a tuple pattern
  bool isTuple() const { return name.empty(); }
};

/// let PATTERN (: TYPE)? = EXPR
struct LetStmt : Stmt {
  Pattern pattern;
  TypePtr type;
  ExprPtr value;
  LetStmt(SourceLoc l) : Stmt(StmtKind::Let, l) {}
};
/// var NAME (: TYPE)? = EXPR
struct VarStmt : Stmt {
  std::string name;
  SourceLoc nameLoc;
  TypePtr type;
  ExprPtr value;
  VarStmt(SourceLoc l) : Stmt(StmtKind::Var, l) {}
};

enum class AssignOp { Set, Add, Sub, Mul, Div };
/// TARGET (= | += | -= | *= | /=) EXPR. TARGET is a NameExpr, a FieldExpr
/// chain rooted at a name (`net.W_out`, `m.l1.b`), a call `raw(m.a)`, or a
/// TupleExpr of names (`(s, m) = ...`).
struct AssignStmt : Stmt {
  AssignOp op;
  ExprPtr target;
  ExprPtr value;
  AssignStmt(SourceLoc l) : Stmt(StmtKind::Assign, l) {}
};
struct ExprStmt : Stmt {
  ExprPtr expr;
  ExprStmt(SourceLoc l, ExprPtr e) : Stmt(StmtKind::Expr, l), expr(std::move(e)) {}
};
/// An attribute before a statement: `@checkpoint(every = 32)`.
struct Attribute {
  SourceLoc loc;
  std::string name;
  std::vector<Arg> args;
};
/// (@attr)* for NAME in LO..HI BLOCK
struct ForStmt : Stmt {
  std::vector<Attribute> attrs;
  std::string var;
  SourceLoc varLoc;
  ExprPtr lo, hi;
  BlockPtr body;
  ForStmt(SourceLoc l) : Stmt(StmtKind::For, l) {}
};
struct ReturnStmt : Stmt {
  ExprPtr value; ///< may be null
  ReturnStmt(SourceLoc l) : Stmt(StmtKind::Return, l) {}
};
/// One metric column of a `train` log: `NAME = EXPR`.
struct TrainMetric {
  std::string name;
  SourceLoc nameLoc;
  ExprPtr value;
};
/// One early-stopping condition of `train ... until`: a bool expression
/// (`val < 1e-3`), or `NAME stalls for P` (metric NAME reached no new
/// minimum in P consecutive evaluations).
struct StopCond {
  SourceLoc loc;
  std::string text;     ///< the condition as written (the stop reason)
  ExprPtr cond;         ///< the bool expression; null for `stalls`
  std::string stalls;   ///< the metric of `NAME stalls for P`
  SourceLoc stallsLoc;
  ExprPtr patience;     ///< P of `stalls for P`
};
/// train VAR minimizing EXPR with OPT(ARGS) for STEPS steps
///       (log every K (to "file.csv")? (with NAME = EXPR, ...)? (plot to "file.svg")?)?
///       (until COND, ...)?
struct TrainStmt : Stmt {
  std::string var;
  SourceLoc varLoc;
  ExprPtr loss;
  std::string optimizer;
  SourceLoc optimizerLoc;
  std::vector<Arg> optArgs;
  ExprPtr steps;
  std::string stepName;   ///< `as NAME`; empty: the step is named `step`
  SourceLoc stepNameLoc;
  ExprPtr logEvery; ///< null without a log clause
  bool hasLogFile = false;
  std::string logFile;
  SourceLoc logFileLoc;
  std::vector<TrainMetric> metrics; ///< the log's `with` columns
  bool hasPlotFile = false;
  std::string plotFile;             ///< `plot to "file.svg"`
  SourceLoc plotFileLoc;
  std::vector<StopCond> until;      ///< early stopping: stop when any holds
  TrainStmt(SourceLoc l) : Stmt(StmtKind::Train, l) {}
};

//===----------------------------------------------------------------------===//
// Declarations
//===----------------------------------------------------------------------===//

/// constrain > c | < c | in (lo, hi) | in [lo, hi] | : simplex|ordered|cholesky,
/// optionally followed by `check` or `project`.
struct ConstrainSpec {
  enum Kind { Greater, Less, Interval, Simplex, Ordered, Cholesky } kind;
  enum Mode { Transform, Check, Project } mode = Transform;
  SourceLoc loc;
  ExprPtr lo, hi;       ///< bound(s): Greater/Less use lo only
  bool closed = false;  ///< `in [lo, hi]` (closed) vs `in (lo, hi)` (open)
};
/// reparam exp | softplus | sigmoid(lo, hi)
struct ReparamSpec {
  SourceLoc loc;
  std::string bijector;        ///< "exp", "softplus", "sigmoid"
  std::vector<ExprPtr> args;   ///< (lo, hi) for sigmoid
};

/// param NAME : TYPE (= INIT)? ANNOTATION*
struct ParamDecl {
  SourceLoc loc;
  std::string name;
  SourceLoc nameLoc;
  TypePtr type;
  ExprPtr init; ///< null: zeros
  std::vector<ConstrainSpec> constraints;
  std::vector<ReparamSpec> reparams;
  bool stopGrad = false;
  SourceLoc stopGradLoc;
};
/// NAME : MODEL(ARGS)  -- a sub-model field
struct SubmodelDecl {
  SourceLoc loc;
  std::string name;
  SourceLoc nameLoc;
  TypePtr type; ///< Named, possibly with type arguments
};
/// A body statement naming a path: `constrain l1.W in [-1, 1] check`,
/// `reparam p exp`, `stop_grad l1.*`.
struct PathAnnotation {
  SourceLoc loc;
  std::string path;
  SourceLoc pathLoc;
  std::optional<ConstrainSpec> constrain;
  std::optional<ReparamSpec> reparam;
  bool stopGrad = false;
};
/// reparam NAME = EXPR (a derived, read-only value)
struct DerivedDecl {
  SourceLoc loc;
  std::string name;
  SourceLoc nameLoc;
  ExprPtr value;
};

/// One function parameter: NAME : TYPE (= DEFAULT)?
struct FnParam {
  SourceLoc loc;
  std::string name;
  TypePtr type;
  ExprPtr defaultValue;
};
/// fn NAME <GENERICS>? (PARAMS) (-> TYPE)? (= EXPR | BLOCK)
struct FnDecl {
  SourceLoc loc;
  std::string name;
  SourceLoc nameLoc;
  std::vector<std::string> generics;
  std::vector<SourceLoc> genericLocs;
  std::vector<FnParam> params;
  TypePtr returnType; ///< null: the unit type ()
  ExprPtr bodyExpr;   ///< `= EXPR` form
  BlockPtr body;      ///< block form
};

/// A model's type parameter: `n_in: i32`.
struct ModelTypeParam {
  SourceLoc loc;
  std::string name;
  TypePtr type;
  ExprPtr defaultValue;
};
/// model NAME (TYPEPARAMS)? { members }
struct ModelDecl {
  SourceLoc loc;
  std::string name;
  SourceLoc nameLoc;
  std::vector<ModelTypeParam> typeParams;
  std::vector<ParamDecl> params;
  std::vector<SubmodelDecl> submodels;
  std::vector<FnDecl> methods;
  std::vector<PathAnnotation> annotations;
  std::vector<DerivedDecl> derived;
  /// Members in source order, for the AST printer: (kind, index into its list).
  enum MemberKind { Param, Submodel, Method, Annotation, Derived };
  std::vector<std::pair<MemberKind, size_t>> order;
};

struct ImportDecl {
  SourceLoc loc;
  std::string path; ///< "std/nn"
};

/// A whole file: declarations and top-level statements in source order.
struct Program {
  int fileId = -1;
  std::vector<ImportDecl> imports;
  std::vector<std::unique_ptr<ModelDecl>> models;
  std::vector<std::unique_ptr<FnDecl>> functions;
  std::vector<StmtPtr> statements; ///< top-level statements, in order
  /// Top-level items in source order, for the AST printer.
  enum ItemKind { Import, Model, Function, Statement };
  std::vector<std::pair<ItemKind, size_t>> order;
};

/// Checked downcast: `as<CallExpr>(e)`.
template <class T, class U> T &as(U &node) { return static_cast<T &>(node); }
template <class T, class U> const T &as(const U &node) { return static_cast<const T &>(node); }

} // namespace ptl::ast
