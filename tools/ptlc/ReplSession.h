//===- tools/ptlc/ReplSession.h - The REPL's state and entries -------------===//
//
// The part of the REPL that does not touch the terminal: it keeps the
// session's declarations (source text by name) and top-level bindings (types
// and host values), and handles one complete entry at a time — PTL source
// or a `:command`. Each source entry is compiled as its own Compilation from
// the declarations plus the entry; its `main` takes the bindings as
// arguments and returns them updated (frontend/ElabSession.cpp), runs in the
// reference interpreter, and the module is released afterwards. An entry
// that fails changes nothing. tools/ptlc/Repl.h adds line editing.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/Elaborator.h"
#include "runtime/Errors.h"
#include "runtime/Sandbox.h"
#include "runtime/Tensor.h"

#include <atomic>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ptl {
namespace ir {
class Interpreter;
}

namespace repl {

/// Where a session writes and which files its programs may touch.
struct SessionConfig {
  std::ostream *out = &std::cout; ///< `print`, values, command output
  std::ostream *err = &std::cerr; ///< diagnostics (std::cerr: straight to stderr, coloured on a terminal)
  std::shared_ptr<const PathPolicy> pathPolicy; ///< null: no restriction
};

/// A top-level binding of the session: its name, type and stored leaves.
struct Binding {
  SessionBinding decl;        ///< name, portable type, let/var
  std::vector<Tensor> values; ///< the leaves (host tensors), as `main` flattens them
};

/// The outcome of a finite-difference gradient check.
struct GradCheckResult {
  double maxAbsError = 0; ///< max |grad - fd| over the checked elements
  double maxRelError = 0; ///< max |grad - fd| / max(|fd|, 1)
  int64_t checked = 0;    ///< elements compared
  bool pass = false;
};

/// The REPL's state; handles complete entries.
class Session {
public:
  explicit Session(SessionConfig config = {});
  ~Session();

  /// Handles one complete entry (PTL source, or a line starting with `:`).
  /// Returns false if it reported an error; the state is then unchanged.
  bool handle(const std::string &entry);
  /// Whether `:quit` was entered.
  bool quitRequested() const { return quit_; }
  /// Whether `text` needs more lines: an unclosed `{`, `(`, `[`, string or
  /// block comment (comments and strings are skipped when counting).
  static bool needsMore(const std::string &text);

  /// Ctrl-C while an entry runs: stops a running `train` after its current
  /// step (the entry then goes on), or else interrupts the entry with an
  /// error (also when it comes while the entry still compiles).
  /// Async-signal-safe; does nothing when no entry is being handled.
  void interrupt();

  /// The binding `name`, or null.
  const Binding *binding(const std::string &name) const;
  /// The names of the stored declarations (`model`, `fn`, `import "path"`).
  std::vector<std::string> declarationNames() const;

  /// `:gradcheck EXPR, VAR` without printing: compares grad(EXPR, VAR) at
  /// the current values with central finite differences. Null (with a
  /// diagnostic printed) if it does not compile or run.
  std::optional<GradCheckResult> gradCheck(const std::string &expr, const std::string &var);

private:
  /// One declaration of the session, by name.
  struct Declaration {
    std::string name; ///< "f", "Linear", or "import std/nn"
    std::string text;
  };
  /// A compiled and optionally run entry.
  struct EntryRun;

  /// Compiles and runs an entry (or a file read from disk) and commits it.
  bool runSource(const std::string &text, const std::string &file, bool fromDisk);
  bool command(const std::string &line);
  bool cmdType(const std::string &expr);
  bool cmdIR(const std::string &arg, bool llvm);
  bool cmdLoad(const std::string &path);
  bool cmdGradCheck(const std::string &arg);
  void help();

  /// Compiles `text` (named `file`, or a file on disk when `fromDisk`) with
  /// the declarations and bindings; runs `main` when `run` is set.
  std::unique_ptr<EntryRun> compileEntry(const std::string &text, const std::string &file, bool fromDisk,
                                         bool printTrailing, bool passes);
  bool runEntry(EntryRun &e, const std::vector<Tensor> *override, std::vector<Tensor> &results);
  /// After a diverged `train` (a fault with a TrainStop): its top-level variable keeps the kept parameters.
  void keepTrainedParams(const EntryRun &e, const TrainStop &stop);
  void reportError(const std::string &message);

  SessionConfig config_;
  std::vector<Declaration> decls_;
  std::vector<Binding> bindings_;
  bool quit_ = false;
  std::atomic<ir::Interpreter *> running_{nullptr};
  std::atomic<bool> busy_{false};             ///< an entry is being handled
  std::atomic<bool> pendingInterrupt_{false}; ///< Ctrl-C before its interpreter ran
};

} // namespace repl
} // namespace ptl
