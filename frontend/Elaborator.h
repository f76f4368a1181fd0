//===- frontend/Elaborator.h - Types, shapes and IR generation --------------===//
//
// The elaborator checks names, types and shapes and emits IR in one walk per
// function specialisation: shapes in PTL are only known once a call binds a
// function's shape variables (and generic parameters), so the body is checked
// once per binding and each binding becomes its own IR function. Top-level
// statements become the function `main`. Sugar (train, compound and field
// assignment, model arithmetic, constrained field reads) is desugared here
// into plain SSA.
//
// Files: Elaborator.cpp (declarations, functions, statements),
// ElabExpr.cpp (expressions and operators), ElabModels.cpp (model types,
// construction, transforms), Builtins.cpp (the built-in function table),
// ElabTrainClip.cpp (gradient clipping inside `train`).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/AST.h"
#include "frontend/Diagnostics.h"
#include "frontend/Types.h"
#include "ir/Builder.h"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace ptl {

/// A PTL type outside the compilation that made it: what the C++ embedding
/// API and the REPL keep between compilations. It holds no pointer into a
/// compilation; a model is named by its declaration and type arguments (and
/// resolved again by the next compilation, which compares its leaves).
struct HostType {
  enum Kind { Unit, Tensor, Tuple, Model, Record } kind = Unit;
  ir::Type tensor;                 ///< Tensor
  std::vector<HostType> elems;     ///< Tuple, Record (field types)
  std::vector<std::string> names;  ///< Record field names
  /// SType::str(): "f32[3]", "(f32, f32[3])", "Linear(1, 40)", and for a
  /// model sub-tree "Linear(1, 40) (sub-tree)".
  std::string spelling;
  std::string model;               ///< Model: the declaration's name
  std::vector<int64_t> modelArgs;  ///< Model: type arguments, in declaration order
  /// One stored tensor of a model, in flattening order.
  struct Leaf {
    std::string path;      ///< "l1.W"
    ir::Type stored;       ///< what the optimiser sees
    ir::Type value;        ///< what a field read gives (after the transform)
    bool trainable = true;
    std::string transform; ///< Transform::describe(), "" for the identity
    bool operator==(const Leaf &o) const {
      return path == o.path && stored == o.stored && value == o.value && trainable == o.trainable &&
             transform == o.transform;
    }
  };
  std::vector<Leaf> leaves;          ///< Model: every leaf of the whole model
  size_t leafBegin = 0, leafEnd = 0; ///< Model: the leaves this value holds (a sub-tree if not all)
  bool tangent = false;              ///< Model: a gradient-like value (SType::tangent)
  /// A model value that holds only part of its model (`m.l2`).
  bool isSubtree() const { return kind == Model && (leafBegin != 0 || leafEnd != leaves.size()); }
  /// The IR types this type flattens to.
  std::vector<ir::Type> flat() const;
};

/// A top-level binding handed from one REPL entry to the next.
struct SessionBinding {
  std::string name;
  HostType type;
  bool isVar = false;
  std::optional<double> constant;      ///< a compile-time scalar (`let n = 3`) stays one
  bool weak = false;                   ///< an untyped literal keeps adapting its dtype
  std::optional<std::string> string;   ///< a string binding (no run-time value)
};

/// What a session compilation reports back (ElaborateOptions::session).
struct SessionResult {
  /// The top-level bindings after the entry, in the order of `main`'s results
  /// (each contributes its type's leaf count; strings none).
  std::vector<SessionBinding> bindings;
  /// The trailing expression's type, if the entry ends in a non-unit
  /// expression; its leaves follow the bindings' in `main`'s results.
  std::optional<HostType> trailing;
  /// Prelude bindings dropped because their type no longer resolves: name, why.
  std::vector<std::pair<std::string, std::string>> dropped;
};

/// REPL mode: `main` takes the prelude bindings as parameters (their leaves,
/// in order; a binding whose type no longer resolves is dropped and takes none) and
/// returns the final top-level bindings and the trailing expression's value.
struct SessionOptions {
  std::vector<SessionBinding> prelude;
  bool printTrailing = true;           ///< print the trailing value as `TYPE = VALUE`
  SessionResult *result = nullptr;     ///< filled in by elaboration
};

/// A host's request to specialise `function` for the parameter types of
/// `signature`, a function of the main file (such as `fn __sig(a: RNN, x:
/// f32[3]) {}`) whose body is ignored. Functions the script never calls
/// can so be called from the host for any argument types that fit; an
/// argument that does not fit is an error located at `signature`.
struct EntryRequest {
  std::string function;  ///< a free function of any loaded file
  std::string signature; ///< a function of the main file giving the argument types
};
/// What became of an EntryRequest.
struct EntryResult {
  bool ok = false;
  std::string irName;             ///< the specialisation's IR function
  std::vector<HostType> params;   ///< the argument types, as requested
  std::vector<std::string> paramNames; ///< the function's parameter names, in order
  HostType result;
};

/// Bounds on the compiler's own work, so that a short program cannot make
/// it build exponentially large types or IR (docs/language.md, "Limits").
/// Each is a located error when exceeded; a value <= 0 means no limit.
struct CompileLimits {
  /// Stored tensors of one model type, its sub-models' included.
  int64_t maxModelLeaves = 100'000;
  /// Tensors one value flattens to (a tuple of tuples of ...).
  int64_t maxValueLeaves = 100'000;
  /// Function specialisations (IR functions) of one program.
  int64_t maxSpecialisations = 10'000;
};

/// What the elaborator needs to know beyond the source.
struct ElaborateOptions {
  /// Bounds on the elaborator's work.
  CompileLimits limits;
  /// `--arg name=value` values for `arg(name, default)`.
  std::map<std::string, std::string> scriptArgs;
  /// Directory relative data paths resolve against (the script's directory).
  std::string baseDir;
  /// Non-null in a REPL session (tools/ptlc/ReplSession.h).
  const SessionOptions *session = nullptr;
  /// Specialisations a host asks for (see EntryRequest), and where their
  /// results go (one per request, in order; must be set if `entries` is not empty).
  std::vector<EntryRequest> entries;
  std::vector<EntryResult> *entryResults = nullptr;
};

/// Checks the programs (the main file first, then its imports) and builds
/// the IR module. Returns null if any error was reported.
std::unique_ptr<ir::Module> elaborate(const std::vector<const ast::Program *> &programs,
                                      const SourceManager &sm, DiagnosticEngine &diags,
                                      const ElaborateOptions &opts);

namespace sema {

/// A value during elaboration: its type, its flattened IR values, and what is
/// known of it at compile time.
struct SValue {
  SType type;
  std::vector<ir::Value *> leaves;
  std::optional<double> constant; ///< a compile-time scalar (literal, shape variable)
  bool weak = false;              ///< an untyped literal: takes the other operand's dtype
  SourceLoc literalLoc;           ///< weak: where the literal was written (range errors point there)
  bool isString = false;
  std::string string;
  bool poisoned = false;          ///< an error was reported; suppress follow-on errors

  static SValue poison() { SValue v; v.poisoned = true; return v; }
  static SValue unit() { return {}; }
};

class Elaborator;
struct Binding;
/// The var bindings a loop or branch body assigns (`names`), in declaration order.
std::vector<std::pair<std::string, Binding *>> carriedVars(Elaborator &E, const std::set<std::string> &names);

/// The elements of a tuple value, each with its own leaves.
std::vector<SValue> tupleElements(const SValue &v);

/// An elaborated call argument (positional when `name` is empty).
struct ArgValue {
  std::string name;
  SValue value;
  SourceLoc loc;     ///< the value
  SourceLoc nameLoc; ///< the name of a named argument
};

/// A name in scope.
struct Binding {
  SValue value;
  bool isVar = false;
  SourceLoc loc;
};

/// Gradient clipping asked of `train` (`clip_value = X`, `clip_norm = X` in
/// its `with` list; frontend/ElabTrainClip.cpp): the checked arguments, each
/// converted to f64 and unnamed, ready to pass to std/optim.
struct TrainClip {
  std::optional<ArgValue> value; ///< clip_by_value's bound
  std::optional<ArgValue> norm;  ///< clip_by_global_norm's max_norm
  bool ok = true;                ///< false: an error was reported
};

class Elaborator;

/// What a `train` loop reports each step besides the step and the loss
/// (Elaborator::elabTrainReport): extra operands of its train_progress op
/// (the metrics, then one bool per `until` expression) and their attributes
/// (metrics: names; until: the conditions as written; until_metric: -1 for
/// an expression, else the metric index of `NAME stalls for P`; patience: P).
struct TrainReport {
  std::vector<ir::Value *> operands;
  ir::AttrMap attrs;
};

/// The number of rows (after the header) of the log of a `train` loop of
/// `steps` steps logging every `every`: one every K steps and one at the
/// last step when it is not a multiple of K (0 without a log).
int64_t trainLogRows(int64_t steps, int64_t every);

/// A specialised function: the declaration, the model it is a method of,
/// and the argument types it was checked for.
struct FnInstance {
  const ast::FnDecl *decl = nullptr;
  const ModelType *self = nullptr;
  std::string key;
  ir::Function *fn = nullptr;
  SType result;
  bool ok = true;
};

/// Per-function elaboration state: the builder and the scopes.
struct FnContext {
  ir::Builder builder;
  std::vector<std::map<std::string, Binding>> scopes;
  const ModelType *selfType = nullptr;
  SValue self;                      ///< the model a method is called on
  const ast::FnDecl *decl = nullptr;
  std::optional<SType> returnType;  ///< declared return type
  /// Constrained reads already emitted, by stored leaf (reused when visible).
  std::map<ir::Value *, ir::Value *> readCache;
  /// Names whose `stop_grad` rebinding is active (selector blocks).
  int mapDepth = 0;
};

/// The elaborator proper (see the file comment).
class Elaborator {
public:
  Elaborator(const SourceManager &sm, DiagnosticEngine &diags, const ElaborateOptions &opts);
  std::unique_ptr<ir::Module> run(const std::vector<const ast::Program *> &programs);

  // ---- Declarations (Elaborator.cpp) -------------------------------------------------
  void collectDeclarations(const ast::Program &p);
  /// Reports `name` defined a second time at `loc`, with a note at `earlier`.
  void reportDuplicate(const std::string &name, SourceLoc loc, SourceLoc earlier);
  /// Checks the sub-model graph of all declarations: cycles and leaf counts
  /// (ModelGraph.cpp); fills in badModels_.
  void checkModelGraph(const std::vector<const ast::Program *> &programs);
  void checkUnused(const ast::FnDecl &fn);
  /// Specialises a host's EntryRequest (ElaborateOptions::entries).
  EntryResult elabEntry(const EntryRequest &req, const ast::Program &main);
  void checkSignature(const ast::FnDecl &fn, const ast::ModelDecl *owner);
  bool bindParamType(const ast::TypeExpr &t, const SType &actual, std::map<std::string, int64_t> &dims,
                     std::map<std::string, SType> &generics, const std::string &fnName,
                     const std::string &paramName, SourceLoc argLoc, std::string &why);
  std::optional<SType> resolveType(const ast::TypeExpr &t, const std::map<std::string, int64_t> &dims,
                                   const std::map<std::string, SType> &generics, bool report);

  // ---- Statements (Elaborator.cpp) -------------------------------------------------
  void elabBlockStmts(const ast::Block &b);
  SValue elabBlock(const ast::Block &b); ///< statements + result, in a new scope
  void elabStmt(const ast::Stmt &s);
  void elabLet(const ast::LetStmt &s);
  void elabVar(const ast::VarStmt &s);
  void elabAssign(const ast::AssignStmt &s);
  void elabFor(const ast::ForStmt &s);
  void elabTrain(const ast::TrainStmt &s);
  /// Takes train's clip_value / clip_norm out of the optimiser's arguments
  /// and checks them: scalar numbers, constants >= 0 (a run-time value gets
  /// a run-time check), each at most once, and not also a parameter of the
  /// optimiser's step function `stepFn` (ElabTrainClip.cpp).
  TrainClip takeTrainClip(std::vector<ArgValue> &optArgs, const ast::FnDecl &stepFn);
  /// The gradient `g` after `clip`: clip_by_value, then clip_by_global_norm.
  SValue applyTrainClip(const TrainClip &clip, const SValue &g, SourceLoc loc);
  /// The metrics and `until` conditions of a `train` statement, elaborated in
  /// its loop body (TrainLog.cpp): an `if` on "a log row is due after `step`"
  /// (every `every` steps and at step `steps`) computing them. nullopt after
  /// an error (reported).
  std::optional<TrainReport> elabTrainReport(const ast::TrainStmt &s, ir::Value *step, int64_t steps,
                                             int64_t every);
  // ---- train's step name and non-finite check (ElabTrainChecks.cpp) ------------------
  /// The name the step number has inside `train` (`step`, or `as NAME`), or
  /// "" after reporting that it would hide a visible binding.
  std::string trainStepName(const ast::TrainStmt &s);
  /// The `allow_nonfinite = true|false` argument of train's `with` list (not
  /// passed to the optimiser): its value, false when absent, none after an error.
  std::optional<bool> trainAllowNonfinite(const ast::TrainStmt &s);
  /// Removes train's own arguments (allow_nonfinite) from the optimiser's.
  static void dropTrainOwnArgs(std::vector<ArgValue> &args);
  /// The paths of the stored leaves of `v` (a model, or tuples of them),
  /// named after `var` where a leaf has no model path.
  static std::vector<std::string> leafPaths(const SType &t, const std::string &var);
  /// In a train loop's body: fails the loop (train_nonfinite, see
  /// ir/interp/Divergence.h) when the loss, a gradient leaf or an updated
  /// leaf is not finite.
  void emitNonfiniteCheck(ir::Value *step, ir::Value *loss, const std::vector<ir::Value *> &grads,
                          const std::vector<ir::Value *> &updated, const std::vector<std::string> &paths,
                          SourceLoc loc);
  bool bindPattern(const ast::Pattern &p, const SValue &v, bool isVar);
  void collectAssigned(const ast::Block &b, std::set<std::string> &out);
  void collectAssignedExpr(const ast::Expr &e, std::set<std::string> &out);

  // ---- Expressions (ElabExpr.cpp) -------------------------------------------------
  SValue elabExpr(const ast::Expr &e);
  SValue elabName(const ast::NameExpr &e);
  SValue elabUnary(const ast::UnaryExpr &e);
  SValue elabBinary(const ast::BinaryExpr &e);
  SValue binaryOp(ast::BinaryOp op, const SValue &a, const SValue &b, SourceLoc loc);
  SValue elabCall(const ast::CallExpr &e);
  SValue elabField(const ast::FieldExpr &e);
  SValue elabIndex(const ast::IndexExpr &e);
  SValue elabIf(const ast::IfExpr &e);
  SValue elabMap(const ast::MapExpr &e);
  SValue elabGrad(const ast::GradExpr &e);
  SValue elabStopGradBlock(const ast::StopGradBlockExpr &e);
  /// A list literal; `want` is the element type asked for by a conversion
  /// around it (`f64([0.1, 1e300])`), which literal elements take exactly.
  SValue elabList(const ast::ListExpr &e, std::optional<DType> want = std::nullopt);
  SValue callFunction(const ast::FnDecl &decl, const ModelType *self, const SValue *selfValue,
                      std::vector<ArgValue> args, SourceLoc loc, const std::string &displayName);
  std::vector<ArgValue> elabArgs(const std::vector<ast::Arg> &args);
  /// Differentiates the scalar `e` with respect to `x` (a grad op); both
  /// must have passed checkDifferentiand and checkGradWrt.
  SValue gradOf(const SValue &e, const SValue &x, bool withValue, SourceLoc loc);
  /// The one rule grad, value_and_grad and train share for what they
  /// differentiate: a scalar f32 or f64 (a literal takes its default dtype).
  /// Otherwise reports an error at `loc` naming `what` and returns false.
  bool checkDifferentiand(SValue &target, SourceLoc loc, const char *what);
  /// The rule they share for what they differentiate with respect to: a
  /// float tensor, or a model with at least one trainable (not stop_grad)
  /// parameter. Otherwise reports an error at `loc` and returns false.
  bool checkGradWrt(const SValue &x, SourceLoc loc, const char *what);
  std::optional<int64_t> constInt(const ast::Expr &e, const char *what);

  // ---- Values and conversions (ElabExpr.cpp) -----------------------------------------
  /// The single IR value of a tensor SValue, materialising literals as `dtype`.
  ir::Value *tensorValue(const SValue &v, std::optional<DType> dtype = std::nullopt);
  SValue fromValue(ir::Value *v) const;
  SValue constantValue(DType dt, double x, bool weak);
  /// Converts a tensor to `dt` (ints promote to floats; f32/f64 never mix silently).
  SValue convertTo(const SValue &v, DType dt);
  /// Brings two tensor operands to a common dtype (literals adapt, ints promote).
  bool unifyDTypes(SValue &a, SValue &b, SourceLoc loc);
  /// A literal (weak) value as a literal of element type `dt`, its exact value kept.
  SValue asWeak(const SValue &v, DType dt);
  /// The compile-time value of a literal (`2`, `-1.5`, `true`) without IR, or nullopt.
  std::optional<SValue> literalValue(const ast::Expr &e) const;
  /// The source location of IR location `l` (`fallback` if it names no loaded file).
  SourceLoc sourceLocOf(const ir::Loc &l, SourceLoc fallback) const;
  /// Reports every used f32 constant holding a finite value that f32 cannot.
  void checkLiteralRanges();
  /// Reports (once per location) a literal `x` that overflows element type `dt`.
  void reportLiteralRange(double x, DType dt, SourceLoc loc);
  ir::Value *emit(ir::OpKind kind, std::vector<ir::Value *> operands, ir::AttrMap attrs, SourceLoc loc);
  ir::Value *broadcastTo(ir::Value *v, const Shape &shape);
  bool requireTensor(const SValue &v, SourceLoc loc, const char *what);
  ir::Loc irLoc(SourceLoc l) const;

  // ---- Models (ElabModels.cpp) -------------------------------------------------------
  const ModelType *modelType(const ast::ModelDecl &decl, const std::vector<int64_t> &args,
                             SourceLoc loc);
  const ModelType *modelTypeFromArgs(const ast::ModelDecl &decl, const std::vector<ast::ExprPtr> &args,
                                     const std::map<std::string, int64_t> &env, SourceLoc loc);
  /// The type of a sub-model member whose leaves (`leaves`, the enclosing
  /// model's, in `sub`'s order) may carry the enclosing model's path
  /// annotations: `sub` when they change nothing, else its variant
  /// (ModelType::base), nested sub-models likewise. Variants are shared.
  const ModelType *annotatedVariant(const ModelType *sub, const Leaf *leaves);
  /// `v` as a value of `want` when both are the same declared model type
  /// with different annotations (a variant and its declaration): each leaf
  /// whose transform differs is read through its own transform, checked
  /// against the target's domain and stored through the target's inverse.
  /// Any other `v` is returned unchanged (the caller compares types).
  SValue coerceModel(const SValue &v, const SType &want, SourceLoc loc);
  /// Checks every `reparam NAME = EXPR` of a model type, whether or not it
  /// is read, on a scratch value of the model.
  void checkDerived(const ModelType &mt);
  SValue construct(const ModelType &mt, const std::vector<ast::Arg> &args, SourceLoc loc);
  SValue readMember(const SValue &model, const std::string &name, SourceLoc loc, bool constrained);
  SValue writeMember(const SValue &model, const std::vector<std::string> &path, const SValue &value,
                     SourceLoc loc, bool raw);
  /// x = forward(u) and u = inverse(x) of a leaf's bijector (frontend/Bijectors.h).
  ir::Value *applyTransform(const Transform &t, ir::Value *u);
  ir::Value *invertTransform(const Transform &t, ir::Value *x);
  /// Guards a write of the constrained value `x` to leaf `l` (construction,
  /// override, field write): a constant outside the bijector's domain or the
  /// leaf's check/project bound is a compile-time error at `loc` (returns
  /// null); any other value gets check_bounds ops located at `loc`. Returns
  /// the value to invert and store.
  ir::Value *guardWrite(const Leaf &l, ir::Value *x, SourceLoc loc);
  /// The checks of every write of a whole model (after `load`, after each
  /// optimiser step of `train`): each leaf with a `check` bound gets a
  /// check_bounds op (with `step`, an i32 scalar or null, for the message);
  /// with `project`, each leaf with a `project` bound is projected instead.
  /// Ops are located at `loc`. Returns the model to use from here on.
  SValue emitChecks(const SValue &model, ir::Value *step, SourceLoc loc, bool project);
  /// Validates a stored value `u` written to a transformed leaf (`load`, a
  /// raw write) like an initial value: forward(u) must lie strictly inside
  /// the bijector's domain (so `u` is finite), else a run-time error at `loc`.
  void guardStoredWrite(const Leaf &l, ir::Value *u, SourceLoc loc);
  /// The checks of a loaded model: every transformed leaf as in
  /// guardStoredWrite, then emitChecks' `check` bounds.
  SValue emitLoadChecks(const SValue &model, SourceLoc loc);
  SValue modelArith(ast::BinaryOp op, const SValue &a, const SValue &b, SourceLoc loc);
  SValue modelUnary(ir::OpKind kind, const SValue &a, SourceLoc loc);
  /// clamp(m, lo, hi) on a model: each trainable stored leaf clamped to
  /// [lo, hi], scalars (taken in the leaf's element type) or models of m's
  /// type (leaf by leaf); frozen leaves kept.
  SValue modelClamp(const SValue &m, SValue lo, SValue hi, SourceLoc loc);
  /// The whole-model reductions (docs/language.md, "Differentiation").
  enum class ModelReduction { Sum, Norm, Dot };
  /// sum(m), norm(m) or dot(m, other) of a model value (a model or a
  /// tangent; `other` only for Dot, of the same model type): one scalar
  /// over the stored values of every trainable leaf, f64 if any of them is
  /// f64 (each leaf is converted first), else f32. Each leaf is reduced as
  /// `sum` reduces a tensor and the leaf totals are added in leaf order, so
  /// the result does not depend on the engine or the thread count. A model
  /// with no trainable leaf is an error at `loc` naming `what`.
  SValue modelReduce(ModelReduction kind, const SValue &m, const SValue *other, SourceLoc loc, const char *what);
  SValue stopGradModel(const SValue &m, const std::function<bool(const std::string &)> &match);
  SValue printValue(const std::vector<SValue> &vals, SourceLoc loc);
  std::string modelPathOf(const ast::Expr &e, std::string &root);

  // ---- REPL sessions (ElabSession.cpp) -----------------------------------------------
  /// Adds the prelude's parameters to `main` and binds the ones that resolve.
  void sessionPrelude(ir::Region &mainBody);
  /// Elaborates the entry's trailing expression; prints it if asked.
  SValue sessionTrailing(const ast::ExprStmt &s);
  /// The values `main` returns; fills in the session's result.
  std::vector<ir::Value *> sessionResults(const SValue &trailing);
  std::optional<SType> fromHostType(const HostType &p, std::string &why);

  // ---- Built-ins (Builtins.cpp) ------------------------------------------------------
  /// Elaborates a call to a built-in; returns nullopt if `name` is not one.
  std::optional<SValue> callBuiltin(const std::string &name, const ast::CallExpr &call,
                                    const ast::IndexExpr *shapeIndex);

  // ---- Scopes ------------------------------------------------------------------------
  Binding *lookup(const std::string &name);
  void define(const std::string &name, SValue v, bool isVar, SourceLoc loc);
  void pushScope() { ctx().scopes.emplace_back(); }
  void popScope() { ctx().scopes.pop_back(); }
  FnContext &ctx() { return *ctx_; }
  ir::Builder &b() { return ctx_->builder; }

  // ---- Data ----------------------------------------------------------------------------
  const SourceManager &sm_;
  DiagnosticEngine &diags_;
  ElaborateOptions opts_;
  std::unique_ptr<ir::Module> module_;
  std::map<std::string, const ast::ModelDecl *> models_;
  std::map<std::string, const ast::FnDecl *> functions_;
  std::map<std::string, std::unique_ptr<ModelType>> modelTypes_; ///< by display key
  std::map<std::string, std::unique_ptr<ModelType>> variantTypes_; ///< by annotatedVariant's key
  std::set<const ast::DerivedDecl *> derivedSeen_; ///< `reparam NAME = EXPR` elaborated at least once
  std::map<std::string, std::unique_ptr<FnInstance>> instances_;  ///< by key
  std::map<std::string, int> fnNameCount_;                       ///< for unique IR names
  std::vector<const ast::FnDecl *> callStack_;                   ///< recursion detection
  FnInstance *lastInstance_ = nullptr; ///< the specialisation the latest callFunction used
  FnContext *ctx_ = nullptr;
  std::vector<std::string> bindingGenerics_; ///< generic names of the call being bound
  /// A file the script writes (save, save_npy, a `train` log) that a later
  /// load_csv or load_npy of the same compilation may read (WrittenFiles.cpp).
  struct WrittenFile {
    std::string writer;               ///< "save", "save_npy" or "train ... log"
    SourceLoc loc;                    ///< where
    std::optional<ir::Type> npy;      ///< save_npy: the saved tensor's type
    std::vector<std::string> columns; ///< train log: step, loss, the metrics
    int64_t rows = 0;                 ///< train log: the planned row count
  };
  std::map<std::string, WrittenFile> writtenFiles_; ///< by fileKey, the latest writer
  /// A script-relative path, resolved and lexically normalised (the key of writtenFiles_).
  std::string fileKey(const std::string &path) const;
  /// Records a file the script writes from here on.
  void noteWrittenFile(const std::string &path, WrittenFile f) { writtenFiles_[fileKey(path)] = std::move(f); }
  /// The log file of `train` statement `s` (steps, logging every `every`).
  void noteTrainLog(const ast::TrainStmt &s, int64_t steps, int64_t every);
  /// For a read of `path` at `loc` by `reader` (load_csv, load_npy) that takes
  /// its type from the file at compile time: the file's earlier writer, or
  /// null. A file the reader cannot take its type from (any writer for
  /// load_csv but a `train` log, any but save_npy for load_npy) is reported
  /// here, with a note at the writer, and `refused` set.
  const WrittenFile *writtenEarlier(const std::string &path, const std::string &reader, SourceLoc loc,
                                    bool &refused);
  /// The annotated type of the `let`/`var` being elaborated (for `load_npy`).
  const SType *expectedType_ = nullptr;
  std::set<const ast::FnDecl *> badSignatures_; ///< signatures with reported errors
  bool specialisationLimitReported_ = false; ///< CompileLimits::maxSpecialisations
  /// Models in a sub-model cycle or over the leaf limit (reported once).
  std::set<const ast::ModelDecl *> badModels_;
  /// Values outside a parameter's domain already reported (file, line, col):
  /// a declared initial value is checked at every construction, reported once.
  std::set<std::tuple<int, int, int>> reportedDomainErrors_;
  std::set<std::tuple<int, int, int>> reportedRangeErrors_; ///< literals out of range, by location
  int mainFile_ = -1;
};

/// Every built-in function's name (Builtins.cpp's table), sorted; the docs'
/// table of built-ins is tested against it (tests/unit/DocsTests.cpp).
std::vector<std::string> builtinNames();

} // namespace sema
} // namespace ptl
