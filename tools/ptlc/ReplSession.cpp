//===- tools/ptlc/ReplSession.cpp - The REPL's state and entries -----------===//
//
// See ReplSession.h. Declarations are kept as source text, cut out of the
// entry that declared them (from the item's start to the next top-level
// item's start), and each is loaded as its own buffer `<repl: NAME>` in
// later compilations; an entry that declares a name replaces the old text.
//
//===----------------------------------------------------------------------===//
#include "tools/ptlc/ReplSession.h"

#include "backend/Engine.h"
#include "frontend/Compiler.h"
#include "ir/Printer.h"
#include "ir/passes/Passes.h"
#include "ir/interp/Interpreter.h"
#include "runtime/Check.h"
#include "runtime/Errors.h"
#include "runtime/Sandbox.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace fs = std::filesystem;

namespace ptl::repl {

namespace {

std::string trim(const std::string &s) {
  size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return "";
  size_t b = s.find_last_not_of(" \t\r\n");
  return s.substr(a, b - a + 1);
}

bool isIdentifier(const std::string &s) {
  if (s.empty() || !(std::isalpha((unsigned char)s[0]) || s[0] == '_')) return false;
  for (char c : s)
    if (!(std::isalnum((unsigned char)c) || c == '_' || c == '.')) return false;
  return true;
}

/// Byte offset of (line, col) (both 1-based; col counts characters) in `text`.
size_t offsetOf(const std::string &text, SourceLoc loc) {
  size_t off = 0;
  for (int line = 1; line < loc.line && off < text.size(); ++line) {
    size_t nl = text.find('\n', off);
    if (nl == std::string::npos) return text.size();
    off = nl + 1;
  }
  std::string_view line = std::string_view(text).substr(off, text.find('\n', off) - off);
  return off + byteOffsetOfColumn(line, loc.col);
}

/// One declaration cut out of an entry.
struct CutDecl {
  std::string name;
  std::string text;
};

/// The declarations of `p` (parsed from `text`), each with its source text.
std::vector<CutDecl> cutDeclarations(const ast::Program &p, const std::string &text) {
  struct Item {
    size_t begin;
    std::string name; ///< empty for a statement
  };
  std::vector<Item> items;
  for (auto [kind, i] : p.order) {
    switch (kind) {
    case ast::Program::Import:
      items.push_back({offsetOf(text, p.imports[i].loc), "import " + p.imports[i].path});
      break;
    case ast::Program::Model: items.push_back({offsetOf(text, p.models[i]->loc), p.models[i]->name}); break;
    case ast::Program::Function:
      items.push_back({offsetOf(text, p.functions[i]->loc), p.functions[i]->name});
      break;
    case ast::Program::Statement: items.push_back({offsetOf(text, p.statements[i]->loc), ""}); break;
    }
  }
  std::stable_sort(items.begin(), items.end(), [](const Item &a, const Item &b) { return a.begin < b.begin; });
  std::vector<CutDecl> out;
  for (size_t k = 0; k < items.size(); ++k) {
    if (items[k].name.empty()) continue;
    size_t end = k + 1 < items.size() ? items[k + 1].begin : text.size();
    std::string t = text.substr(items[k].begin, end - items[k].begin);
    // An attribute of the next statement (`@checkpoint(...) for`) is not ours.
    size_t lastLine = t.find_last_of('\n', t.find_last_not_of(" \t\r\n"));
    if (lastLine != std::string::npos && trim(t.substr(lastLine)).rfind("@", 0) == 0) t.resize(lastLine);
    out.push_back({items[k].name, trim(t) + "\n"});
  }
  return out;
}

/// Diagnostics go to a FILE: stderr itself, or a memory stream copied to
/// the session's `err` stream.
class DiagSink {
public:
  explicit DiagSink(std::ostream *err) : err_(err) {
    if (err == &std::cerr) {
      file_ = stderr;
    } else {
      file_ = open_memstream(&buf_, &len_);
    }
  }
  ~DiagSink() {
    flush();
    if (file_ != stderr) {
      std::fclose(file_);
      std::free(buf_);
    }
  }
  FILE *file() { return file_; }
  void flush() {
    std::fflush(file_);
    if (file_ == stderr) return;
    if (len_ > copied_) err_->write(buf_ + copied_, (std::streamsize)(len_ - copied_));
    copied_ = len_;
    err_->flush();
  }

private:
  std::ostream *err_;
  FILE *file_ = nullptr;
  char *buf_ = nullptr;
  size_t len_ = 0, copied_ = 0;
};

/// A stream that drops everything (finite-difference evaluations).
struct NullBuf : std::streambuf {
  int overflow(int c) override { return c; }
};

} // namespace

/// A compiled entry: the compilation (sources, diagnostics), the module and
/// what the session mode reported. Released when the entry is done.
struct Session::EntryRun {
  std::unique_ptr<DiagSink> sink;
  std::unique_ptr<Compilation> comp;
  SessionOptions options;
  SessionResult result;
  std::unique_ptr<ir::Module> module;
  std::vector<CutDecl> newDecls;
  std::string baseDir;
};

Session::Session(SessionConfig config) : config_(std::move(config)) {}
Session::~Session() = default;

bool Session::needsMore(const std::string &text) {
  int depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      i = text.find('\n', i);
      if (i == std::string::npos) break;
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      size_t e = text.find("*/", i + 2);
      if (e == std::string::npos) return true;
      i = e + 1;
    } else if (c == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i)
        if (text[i] == '\\') ++i;
      if (i >= text.size()) return true;
    } else if (c == '{' || c == '(' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ')' || c == ']') {
      --depth;
    }
  }
  return depth > 0;
}

void Session::interrupt() {
  if (ir::Interpreter *i = running_.load()) {
    if (i->currentTrain()) i->requestStop();
    else i->requestInterrupt();
  } else if (busy_) {
    pendingInterrupt_ = true;
  }
}

const Binding *Session::binding(const std::string &name) const {
  for (const Binding &b : bindings_)
    if (b.decl.name == name) return &b;
  return nullptr;
}

std::vector<std::string> Session::declarationNames() const {
  std::vector<std::string> out;
  for (const Declaration &d : decls_) out.push_back(d.name);
  return out;
}

void Session::reportError(const std::string &message) {
  config_.out->flush();
  *config_.err << "error: " << message << "\n";
  config_.err->flush();
}

/// Whether `text` holds nothing but whitespace and comments.
static bool onlyComments(const std::string &text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (std::isspace((unsigned char)text[i])) continue;
    if (text.compare(i, 2, "//") == 0) {
      i = text.find('\n', i);
      if (i == std::string::npos) return true;
    } else if (text.compare(i, 2, "/*") == 0) {
      i = text.find("*/", i + 2);
      if (i == std::string::npos) return false; // let the parser report it
      ++i;
    } else {
      return false;
    }
  }
  return true;
}

bool Session::handle(const std::string &entry) {
  std::string t = trim(entry);
  if (onlyComments(t)) return true;
  pendingInterrupt_ = false;
  busy_ = true;
  bool ok = false;
  try {
    ok = t[0] == ':' ? command(t) : runSource(entry, "<repl>", false);
  } catch (const InternalError &e) {
    // A bug in PTL (runtime/Check.h): the entry fails, the session keeps
    // the state it had before it.
    reportError(e.what());
  }
  busy_ = false;
  return ok;
}

std::unique_ptr<Session::EntryRun> Session::compileEntry(const std::string &text, const std::string &file,
                                                         bool fromDisk, bool printTrailing, bool passes) {
  auto e = std::make_unique<EntryRun>();
  e->sink = std::make_unique<DiagSink>(config_.err);
  e->comp = std::make_unique<Compilation>(e->sink->file());
  e->baseDir = fromDisk ? fs::path(file).parent_path().string() : std::string();
  config_.out->flush();
  bool ok = fromDisk ? e->comp->loadFile(file) : e->comp->loadSource(file, text);
  if (!ok) return nullptr;
  e->newDecls = cutDeclarations(*e->comp->mainProgram(), text);
  std::set<std::string> replaced;
  for (const CutDecl &d : e->newDecls) replaced.insert(d.name);
  for (const Declaration &d : decls_)
    if (!replaced.count(d.name) && !e->comp->loadSource("<repl: " + d.name + ">", d.text)) return nullptr;
  for (const Binding &b : bindings_) e->options.prelude.push_back(b.decl);
  e->options.printTrailing = printTrailing;
  e->options.result = &e->result;
  ElaborateOptions eo;
  eo.baseDir = e->baseDir;
  eo.session = &e->options;
  e->module = e->comp->elaborate(eo);
  if (!e->module) return nullptr;
  std::string error;
  if (passes && !e->comp->runDefaultPipeline(*e->module, error)) {
    reportError(error);
    return nullptr;
  }
  return e;
}

// A `train` loop of the entry diverged: its top-level variable keeps the
// parameters from before the diverging step (the entry's other bindings are
// as before the entry), so that `save(m, ...)` works next. A variable the
// entry itself defined is added.
void Session::keepTrainedParams(const EntryRun &e, const TrainStop &stop) {
  if (!stop.topLevel) return;
  auto fits = [&](const std::vector<Tensor> &old) {
    if (old.size() != stop.params.size()) return false;
    for (size_t k = 0; k < old.size(); ++k)
      if (old[k].dtype() != stop.params[k].dtype() || old[k].shape() != stop.params[k].shape()) return false;
    return true;
  };
  for (Binding &b : bindings_)
    if (!b.decl.string && b.decl.name == stop.variable && fits(b.values)) {
      b.values = stop.params;
      return;
    }
  for (const SessionBinding &sb : e.result.bindings)
    if (!sb.string && sb.name == stop.variable && sb.type.flat().size() == stop.params.size()) {
      bindings_.erase(std::remove_if(bindings_.begin(), bindings_.end(),
                                     [&](const Binding &b) { return b.decl.name == stop.variable; }),
                      bindings_.end());
      bindings_.push_back(Binding{sb, stop.params});
      return;
    }
}

bool Session::runEntry(EntryRun &e, const std::vector<Tensor> *override, std::vector<Tensor> &results) {
  std::vector<Tensor> args;
  if (override) {
    args = *override;
  } else {
    std::set<std::string> dropped;
    for (auto &[name, why] : e.result.dropped) dropped.insert(name);
    for (const Binding &b : bindings_)
      if (!b.decl.string && !dropped.count(b.decl.name)) args.insert(args.end(), b.values.begin(), b.values.end());
  }
  NullBuf nullBuf;
  std::ostream nullOut(&nullBuf);
  ir::InterpOptions io;
  io.out = override ? &nullOut : config_.out;
  io.err = config_.err;
  io.baseDir = e.baseDir;
  io.pathPolicy = config_.pathPolicy;
  ir::Interpreter interp(*e.module, io);
  running_ = &interp;
  try {
    if (pendingInterrupt_.exchange(false)) throw RuntimeFault("interrupted");
    results = interp.call("main", args);
  } catch (const RuntimeFault &f) {
    running_ = nullptr;
    config_.out->flush();
    if (f.trainStop && !override) keepTrainedParams(e, *f.trainStop);
    SourceManager &sm = e.comp->sources();
    for (int id = 0; id < sm.fileCount(); ++id) {
      if (sm.file(id).path == f.loc.file && f.loc.line > 0) {
        e.comp->diagnostics().error(SourceLoc{id, f.loc.line, f.loc.col, 1}) << f.what();
        e.sink->flush();
        return false;
      }
    }
    reportError(f.what());
    return false;
  }
  running_ = nullptr;
  config_.out->flush();
  return true;
}

bool Session::runSource(const std::string &text, const std::string &file, bool fromDisk) {
  bool disk = fromDisk;
  std::unique_ptr<EntryRun> e = compileEntry(text, file, disk, !disk, true);
  if (!e) return false;
  std::vector<Tensor> results;
  if (!runEntry(*e, nullptr, results)) return false;
  // Commit: the new bindings (copied out of the run), then the declarations.
  std::vector<Binding> next;
  size_t k = 0;
  for (const SessionBinding &sb : e->result.bindings) {
    Binding b;
    b.decl = sb;
    size_t n = sb.string ? 0 : sb.type.flat().size();
    for (size_t i = 0; i < n && k < results.size(); ++i) b.values.push_back(results[k++].clone());
    next.push_back(std::move(b));
  }
  bindings_ = std::move(next);
  for (auto &[name, why] : e->result.dropped)
    *config_.out << "note: '" << name << "' is no longer defined: " << why << "\n";
  for (CutDecl &d : e->newDecls) {
    auto it = std::find_if(decls_.begin(), decls_.end(), [&](const Declaration &x) { return x.name == d.name; });
    if (it != decls_.end()) it->text = d.text;
    else decls_.push_back({d.name, d.text});
  }
  config_.out->flush();
  return true;
}

//===----------------------------------------------------------------------===//
// Commands
//===----------------------------------------------------------------------===//

void Session::help() {
  // The pipeline :ir shows is the one runDefaultPipeline runs, named from its definition.
  std::string pipeline;
  for (const std::string &p : ir::defaultPipeline()) pipeline += (pipeline.empty() ? "" : ", ") + p;
  *config_.out << "Enter PTL declarations (model, fn, import), statements (let, var, train, ...) or an\n"
                  "expression, whose value is printed. A line with an unclosed bracket continues.\n"
                  "  :type EXPR            the type of EXPR (not run)\n"
                  "  :ir NAME              the IR of function NAME after the default passes:\n"
                  "                        "
               << pipeline
               << "\n"
                  "                        (:ir EXPR: the IR of an entry computing EXPR)\n"
                  "  :llvm NAME            the optimised LLVM IR of function NAME\n"
                  "  :load FILE            run a script's declarations and statements into the session\n"
                  "  :gradcheck EXPR, VAR  compare grad(EXPR, VAR) with central finite differences\n"
                  "  :help                 this list\n"
                  "  :quit                 leave (also Ctrl-D)\n"
                  "Ctrl-C clears the line, or interrupts a running entry (a train stops after its step).\n";
  config_.out->flush();
}

bool Session::command(const std::string &line) {
  size_t sp = line.find_first_of(" \t\n");
  std::string name = line.substr(0, sp);
  std::string arg = sp == std::string::npos ? "" : trim(line.substr(sp));
  if (name == ":quit" || name == ":q" || name == ":exit") {
    quit_ = true;
    return true;
  }
  if (name == ":help" || name == ":h" || name == ":?") {
    help();
    return true;
  }
  if (name == ":type" || name == ":t") return cmdType(arg);
  if (name == ":ir") return cmdIR(arg, false);
  if (name == ":llvm") return cmdIR(arg, true);
  if (name == ":load") return cmdLoad(arg);
  if (name == ":gradcheck") return cmdGradCheck(arg);
  reportError("unknown command '" + name + "' (:help lists the commands)");
  return false;
}

bool Session::cmdType(const std::string &expr) {
  if (expr.empty()) {
    reportError(":type expects an expression");
    return false;
  }
  std::unique_ptr<EntryRun> e = compileEntry(expr, "<repl>", false, false, false);
  if (!e) return false;
  *config_.out << (e->result.trailing ? e->result.trailing->spelling : std::string("()")) << "\n";
  config_.out->flush();
  return true;
}

bool Session::cmdIR(const std::string &arg, bool llvm) {
  if (arg.empty()) {
    reportError(std::string(llvm ? ":llvm" : ":ir") + " expects a function name");
    return false;
  }
  // A declared function is compiled as the entry itself, so a function with
  // a concrete signature is specialised even if nothing calls it.
  bool byName = isIdentifier(arg);
  std::string text = arg;
  if (byName) {
    // A method (`Model.method`) comes with its model's declaration.
    std::string declName = arg.substr(0, arg.find('.'));
    text.clear();
    for (const Declaration &d : decls_)
      if (d.name == declName) text = d.text;
    if (text.empty()) {
      reportError("no function '" + arg + "' is declared (" + (llvm ? ":llvm" : ":ir") +
                  " EXPR shows the code of an expression)");
      return false;
    }
  }
  std::unique_ptr<EntryRun> e = compileEntry(text, "<repl>", false, false, true);
  if (!e) return false;
  auto wanted = [&](const std::string &fn) {
    if (!byName) return true;
    return fn == arg || (fn.rfind(arg + ".", 0) == 0 &&
                         fn.find_first_not_of("0123456789", arg.size() + 1) == std::string::npos);
  };
  std::vector<const ir::Function *> fns;
  for (const auto &f : e->module->functions())
    if (wanted(f->name())) fns.push_back(f.get());
  if (byName && fns.empty()) {
    reportError("'" + arg + "' has shape variables or generic parameters, so it is compiled per call; try `" +
                (llvm ? ":llvm" : ":ir") + " EXPR` with a call");
    return false;
  }
  if (!llvm) {
    for (const ir::Function *f : fns) ir::printFunction(*f, *config_.out);
    config_.out->flush();
    return true;
  }
  std::ostringstream ll;
  std::string error;
  if (!backend::emitNative(*e->module, 2, backend::NativeStage::Llvm, ll, error)) {
    reportError(error);
    return false;
  }
  // Keep the `define`s of the wanted functions (symbols end in their names).
  std::istringstream in(ll.str());
  std::string l;
  bool printing = false, any = false;
  while (std::getline(in, l)) {
    if (l.rfind("define ", 0) == 0) {
      size_t at = l.find('@'), paren = l.find('(', at);
      std::string sym = at == std::string::npos ? "" : l.substr(at + 1, paren - at - 1);
      sym.erase(std::remove(sym.begin(), sym.end(), '"'), sym.end());
      printing = false;
      for (const ir::Function *f : fns) {
        const std::string &n = f->name();
        if (sym.size() >= n.size() && sym.compare(sym.size() - n.size(), n.size(), n) == 0 &&
            (sym.size() == n.size() || !std::isalnum((unsigned char)sym[sym.size() - n.size() - 1])))
          printing = true;
      }
    }
    if (printing) {
      *config_.out << l << "\n";
      any = true;
      if (l == "}") {
        printing = false;
        *config_.out << "\n";
      }
    }
  }
  if (!any) {
    // The header comment says why a function is not compiled.
    std::istringstream again(ll.str());
    std::string why;
    while (std::getline(again, l) && l.rfind(";", 0) == 0)
      for (const ir::Function *f : fns)
        if (l.find(f->name()) != std::string::npos) why += l + "\n";
    reportError("'" + arg + "' has no native code" + (why.empty() ? std::string() : ":\n" + why));
    return false;
  }
  config_.out->flush();
  return true;
}

bool Session::cmdLoad(const std::string &path) {
  if (path.empty()) {
    reportError(":load expects a file");
    return false;
  }
  std::string p = path;
  if (p.size() >= 2 && p.front() == '"' && p.back() == '"') p = p.substr(1, p.size() - 2);
  // The session's sandbox (ptlc's, runtime/Sandbox.h) governs scripts as data files.
  std::string denied = currentPathPolicy()->denial(p, PathAccess::Read);
  if (!denied.empty()) {
    reportError(":load: " + denied);
    return false;
  }
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    reportError("cannot open '" + p + "'");
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return runSource(ss.str(), p, true);
}

std::optional<GradCheckResult> Session::gradCheck(const std::string &expr, const std::string &var) {
  const Binding *b = binding(var);
  if (!b || b->decl.string) {
    reportError("'" + var + "' is not a binding of the session");
    return std::nullopt;
  }
  // grad at the current values, and the value alone for the differences.
  std::unique_ptr<EntryRun> g = compileEntry("value_and_grad(" + expr + ", " + var + ")", "<repl>", false, false, true);
  if (!g) return std::nullopt;
  std::vector<Tensor> gres;
  if (!runEntry(*g, nullptr, gres)) return std::nullopt;
  std::unique_ptr<EntryRun> f = compileEntry(expr, "<repl>", false, false, true);
  if (!f) return std::nullopt;
  // Both entries take the same arguments: every binding, in order.
  std::vector<Tensor> args;
  size_t varOffset = 0;
  for (const Binding &x : bindings_) {
    if (&x == b) varOffset = args.size();
    if (!x.decl.string) args.insert(args.end(), x.values.begin(), x.values.end());
  }
  size_t n = b->values.size();
  PTL_CHECK(gres.size() >= n + 1, "value_and_grad returned " + std::to_string(gres.size()) + " values");
  std::vector<Tensor> grads(gres.end() - (std::ptrdiff_t)n, gres.end());
  auto evalAt = [&](const std::vector<Tensor> &a, double &out) {
    std::vector<Tensor> r;
    if (!runEntry(*f, &a, r) || r.empty()) return false;
    out = r.back().getDouble(0);
    return true;
  };
  // Which leaves are trainable floats (a model's stop_grad leaves have a zero gradient).
  std::vector<size_t> leaves;
  for (size_t j = 0; j < n; ++j) {
    DType dt = b->values[j].dtype();
    if (dt != DType::F32 && dt != DType::F64) continue;
    if (b->decl.type.kind == HostType::Model && !b->decl.type.leaves[b->decl.type.leafBegin + j].trainable)
      continue;
    leaves.push_back(j);
  }
  int64_t total = 0;
  for (size_t j : leaves) total += b->values[j].numel();
  const int64_t kMaxChecked = 256; // evenly spaced elements beyond this
  int64_t stride = std::max<int64_t>(1, (total + kMaxChecked - 1) / kMaxChecked);
  GradCheckResult res;
  bool allF64 = true;
  int64_t flat = 0;
  for (size_t j : leaves) {
    Tensor &slot = args[varOffset + j];
    Tensor original = slot;
    bool f64 = original.dtype() == DType::F64;
    allF64 = allF64 && f64;
    for (int64_t i = 0; i < original.numel(); ++i, ++flat) {
      if (flat % stride) continue;
      double x0 = original.getDouble(i);
      double h = (f64 ? 1e-6 : 1e-3) * std::max(1.0, std::abs(x0));
      Tensor plus = original.clone(), minus = original.clone();
      plus.setDouble(i, x0 + h);
      minus.setDouble(i, x0 - h);
      double fp, fm;
      slot = plus;
      bool ok = evalAt(args, fp);
      slot = minus;
      ok = ok && evalAt(args, fm);
      slot = original;
      if (!ok) return std::nullopt;
      // The step actually taken (x0 + h rounds in f32).
      double fd = (fp - fm) / (plus.getDouble(i) - minus.getDouble(i));
      double gv = grads[j].getDouble(i);
      double abs = std::abs(gv - fd);
      res.maxAbsError = std::max(res.maxAbsError, abs);
      res.maxRelError = std::max(res.maxRelError, abs / std::max(1.0, std::abs(fd)));
      if (std::isnan(gv) || std::isnan(fd)) res.maxRelError = res.maxAbsError = NAN;
      ++res.checked;
    }
  }
  double tol = allF64 ? 1e-6 : 1e-2;
  res.pass = res.checked > 0 && res.maxRelError <= tol;
  return res;
}

bool Session::cmdGradCheck(const std::string &arg) {
  // The last comma outside brackets separates EXPR from VAR.
  int depth = 0;
  size_t comma = std::string::npos;
  for (size_t i = 0; i < arg.size(); ++i) {
    char c = arg[i];
    if (c == '(' || c == '[' || c == '{') ++depth;
    else if (c == ')' || c == ']' || c == '}') --depth;
    else if (c == ',' && depth == 0) comma = i;
  }
  if (comma == std::string::npos) {
    reportError(":gradcheck expects EXPR, VAR");
    return false;
  }
  std::string expr = trim(arg.substr(0, comma)), var = trim(arg.substr(comma + 1));
  std::optional<GradCheckResult> r = gradCheck(expr, var);
  if (!r) return false;
  char line[256];
  std::snprintf(line, sizeof line, "gradcheck: %lld elements, max abs error %.3g, max rel error %.3g: %s\n",
                (long long)r->checked, r->maxAbsError, r->maxRelError, r->pass ? "PASS" : "FAIL");
  *config_.out << line;
  config_.out->flush();
  return r->pass;
}

} // namespace ptl::repl
