//===- ptl/ptl.hpp - The C++ embedding API of PTL ---------------------------===//
//
// Compile `.ptl` files or source text and call their functions from C++:
//
//   ptl::Engine engine;                                   // owns the JIT
//   ptl::Module mod = engine.load_file("online.ptl");     // throws ptl::CompileError
//   ptl::Value m = mod.make("RNN", /*seed=*/0);
//   ptl::Tensor xs = ptl::Tensor::view(data, {100, 32, 4});   // no copy
//   float loss = mod.function("trial")(m, xs, ys).scalar<float>();
//
// A function is specialised for the types of the arguments it is called
// with (shape variables bind at each call, as in PTL itself), compiled to
// native code by the JIT on the first call with those types and cached;
// later calls with the same types go straight to the compiled code.
// Arguments are passed to compiled code without copying.
//
// Every error is an exception derived from ptl::Error (a std::runtime_error)
// that carries the diagnostics: CompileError for a file or string that does
// not compile, RuntimeError for arguments that do not fit a function, a
// failed `constrain ... check`, an out-of-range index or a file error. The
// engine survives every one of them. Calls are thread-safe: several threads
// may call functions of one module, even one Function, at once (the whole
// contract is in docs/embedding.md, "Threads").
//
// This header exposes no LLVM or ANTLR type; it needs only <ptl/tensor.hpp>
// and the standard library. Link with ptl::ptl (find_package(ptl)).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ptl/tensor.hpp"
#include "ptl/train_stop.hpp"

#include <cstdint>
#include <iosfwd>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace ptl {

namespace detail {
struct EngineImpl;
struct ModuleImpl;
struct FunctionImpl;
struct ValueData;
struct Access;
} // namespace detail

/// One message of the compiler or the runtime.
struct Diagnostic {
  std::string severity; ///< "error", "warning" or "note"
  std::string file;     ///< empty when there is no location
  int line = 0, col = 0;
  std::string message;
  /// As ptlc prints it: "file:line:col: error: message", the source line and a caret.
  std::string rendered;
};

/// Every error the API reports.
class Error : public std::runtime_error {
public:
  Error(const std::string &what, std::vector<Diagnostic> diagnostics)
      : std::runtime_error(what), diagnostics_(std::move(diagnostics)) {}
  /// What the compiler or runtime said, errors first.
  const std::vector<Diagnostic> &diagnostics() const { return diagnostics_; }

private:
  std::vector<Diagnostic> diagnostics_;
};

/// A file or source text that does not compile.
class CompileError : public Error {
public:
  using Error::Error;
};

/// A failure while calling into PTL: arguments that do not fit a function,
/// a failed check, an out-of-range index, a file error, a `train` loop that
/// diverged (train_stop()).
class RuntimeError : public Error {
public:
  using Error::Error;
  RuntimeError(const std::string &what, std::vector<Diagnostic> diagnostics, std::shared_ptr<const TrainStop> stop)
      : Error(what, std::move(diagnostics)), train_stop_(std::move(stop)) {}
  /// Set when a `train` loop stopped on a NaN or an infinity: the step, the
  /// reason and leaf, and the parameters it kept; null for other errors.
  const TrainStop *train_stop() const { return train_stop_.get(); }

private:
  std::shared_ptr<const TrainStop> train_stop_;
};

/// How an engine compiles and runs.
struct EngineOptions {
  int opt_level = 2;   ///< LLVM optimisation level of the JIT, 0..3
  bool jit = true;     ///< false: run everything in the reference interpreter
  /// Directories scripts may read and write under, besides the script's
  /// own directory and the working directory (see docs/language.md, Sandbox).
  std::vector<std::string> allowed_dirs;
  bool sandbox = true;         ///< false: scripts may touch any file
  /// Budgets of one call (0: none): a call that runs longer, or whose
  /// tensors grow by more bytes, stops with a RuntimeError. Calls with a
  /// budget run in the reference interpreter, which checks it between ops.
  double time_budget_seconds = 0;
  int64_t memory_budget_bytes = 0;
  std::ostream *out = nullptr; ///< where `print` writes (null: std::cout)
  std::ostream *err = nullptr; ///< training progress and warnings (null: std::cerr)
  /// The persistent code cache (docs/embedding.md): compiled code is kept
  /// on disk and reused by later processes. false: neither read nor write it.
  bool code_cache = true;
  /// The cache's directory; empty: $PTL_CACHE_DIR, else
  /// $XDG_CACHE_HOME/ptl, else ~/.cache/ptl.
  std::string code_cache_dir;
};

class Module;

/// A PTL value: a tensor, a tuple, a model (its stored leaves by path) or a
/// record (what `load_csv` gives). Copies share the tensors.
class Value {
public:
  enum class Kind { Unit, Tensor, Tuple, Model, Record };

  Value();                    ///< the unit value `()`
  Value(Tensor t);            ///< a tensor (not copied)
  Value(float x);             ///< an f32 scalar
  Value(double x);            ///< an f64 scalar
  Value(int32_t x);           ///< an i32 scalar
  /// A tuple of values.
  static Value tuple(std::vector<Value> elements);

  Kind kind() const;
  bool is_tensor() const { return kind() == Kind::Tensor; }
  bool is_model() const { return kind() == Kind::Model; }
  /// The type as written in PTL: "f32[100, 32, 4]", "RNN", "(f32, f32[3])".
  std::string type() const;

  /// The tensor (throws ptl::Error if the value is not a tensor).
  const Tensor &tensor() const;
  /// The single element of a one-element tensor, converted to T.
  template <class T> T scalar() const { return tensor().scalar<T>(); }

  /// Tuple and record elements.
  size_t size() const;
  const Value &operator[](size_t i) const;
  /// A record's field by name (a `load_csv` column).
  const Value &field(const std::string &name) const;

  /// A model's parameter paths ("W_in", "l1.W"), in storage order.
  std::vector<std::string> paths() const;
  /// The constrained value of a parameter, as `m.eta` reads it in PTL.
  Tensor param(const std::string &path) const;
  /// Writes a parameter in constrained coordinates, as `m.eta = v` does:
  /// checked against its domain and bounds (RuntimeError if outside).
  void set_param(const std::string &path, const Tensor &value);
  /// The stored (unconstrained, optimiser-side) tensor of a parameter, as
  /// `raw(m.eta)` reads it.
  Tensor raw(const std::string &path) const;
  /// Replaces a stored tensor (same dtype and shape, else RuntimeError).
  void set_raw(const std::string &path, const Tensor &value);
  /// Whether the optimiser may change the parameter (no `stop_grad`).
  bool trainable(const std::string &path) const;

private:
  friend struct detail::Access;
  explicit Value(std::shared_ptr<detail::ValueData> d) : d_(std::move(d)) {}
  std::shared_ptr<detail::ValueData> d_;
};

/// A function of a module, callable like a C++ function. Cheap to copy;
/// copies share the specialisations found so far. One Function may be
/// called from several threads at once (docs/embedding.md, Threads).
class Function {
public:
  /// Calls the function; arguments convert to Value (tensors, models,
  /// scalars). Returns its result (a tuple for several results).
  template <class... Args> Value operator()(const Args &...args) const { return call({Value(args)...}); }
  Value call(const std::vector<Value> &args) const;

  /// The fast call form: calls the function with `args` and writes its
  /// results into `outputs`, tensors the caller allocated once (see
  /// make_outputs) -- one per result tensor: a tuple result is its elements
  /// in order, a model result its stored leaves in path order. Their data
  /// is overwritten (it need not be zeroed); they must not overlap the
  /// arguments. A call whose argument types were seen before compiles
  /// nothing and, with the JIT, makes no heap allocation. Throws
  /// RuntimeError if an output's dtype or shape is not the result's.
  void call_into(const std::vector<Value> &args, std::vector<Tensor> &outputs) const;
  /// Zero-filled tensors of the result types of a call with `args`
  /// (specialising the function for them): the `outputs` of call_into.
  std::vector<Tensor> make_outputs(const std::vector<Value> &args) const;

  /// This function, but converting an argument whose dtype is not its
  /// parameter's where a call in PTL would (an i32 tensor or scalar passed
  /// for an f32 or f64 parameter). Without it such an argument is a
  /// RuntimeError naming the parameter. Converting calls copy the
  /// converted arguments (they allocate).
  Function with_conversion() const;

  const std::string &name() const;

private:
  friend class Module;
  explicit Function(std::shared_ptr<detail::FunctionImpl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<detail::FunctionImpl> impl_;
  bool convert_ = false; ///< with_conversion()
};

/// A compiled `.ptl` file or source text. Cheap to copy (shared).
class Module {
public:
  /// A free function of the file (or of what it imports); throws
  /// CompileError if there is none of that name. A lookup in the names
  /// found when the module was loaded (it compiles nothing).
  Function function(const std::string &name) const;
  /// A new model value, as `TYPE(seed = seed, path = value, ...)` builds it
  /// in PTL: `type` is a model name with its type arguments, if any
  /// ("RNN", "Linear(1, 40)"); `overrides` set parameters by path in
  /// constrained coordinates (checked against their domains). `seed` must
  /// fit an i32. Compiled once per type and override types, whatever the seed.
  Value make(const std::string &type, int64_t seed = 0, const std::map<std::string, Value> &overrides = {}) const;
  /// Saves a model as safetensors (stored leaves named by path), as `save` does.
  void save(const std::string &path, const Value &model) const;
  /// Loads a model of `type` saved by `save`, as `load(TYPE, path)` does.
  Value load(const std::string &type, const std::string &path) const;
  /// Runs the file's top-level statements, as `ptlc run` does.
  void run() const;
  /// The warnings compiling the file gave (unused parameters, ...).
  const std::vector<Diagnostic> &warnings() const;

private:
  friend class Engine;
  explicit Module(std::shared_ptr<detail::ModuleImpl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<detail::ModuleImpl> impl_;
};

/// Owns the JIT and the options; modules keep what they need alive, so they
/// may outlive the engine.
class Engine {
public:
  Engine();
  explicit Engine(EngineOptions options);
  ~Engine();
  Engine(const Engine &) = delete;
  Engine &operator=(const Engine &) = delete;

  /// Compiles a file (checking everything in it; its top-level statements
  /// run only on Module::run). `args` are its `arg(name, default)` values.
  Module load_file(const std::string &path, const std::map<std::string, std::string> &args = {});
  /// Compiles source text; `name` appears in diagnostics, and relative
  /// imports and data paths resolve against the working directory.
  Module load_string(const std::string &source, const std::string &name = "<string>",
                     const std::map<std::string, std::string> &args = {});

private:
  std::shared_ptr<detail::EngineImpl> impl_;
};

} // namespace ptl
