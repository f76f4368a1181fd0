//===- backend/CodeGen.cpp - PTL IR functions to LLVM IR ----------------------===//
//
// One Lowering per LLVM module: it declares every function first (so calls
// can refer to any of them), then emits each body op by op. Each op's
// formula is the interpreter kernel's (ir/interp/Kernels.cpp); the comment
// above each case says what it computes.
//
//===----------------------------------------------------------------------===//
#include "backend/CodeGen.h"
#include "runtime/Check.h"

#include "backend/DebugInfo.h"
#include "backend/MathEmitter.h"
#include "backend/NativeRuntime.h"
#include "ir/interp/Kernels.h"
#include "runtime/Gemm.h"

#include <llvm/IR/BasicBlock.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/GlobalVariable.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace ptl::backend {

using ir::OpKind;

//===----------------------------------------------------------------------===//
// What can be compiled
//===----------------------------------------------------------------------===//

namespace {

bool isFloatT(DType t) { return t == DType::F32 || t == DType::F64; }

std::string lineOf(const ir::Op &op) {
  return op.loc().line > 0 ? " (line " + std::to_string(op.loc().line) + ")" : "";
}

/// Axes reduced by a reduction op (all when the attribute is empty).
std::vector<bool> reducedAxes(const ir::Op &op, size_t rank) {
  std::vector<int64_t> axes = op.hasAttr("axes") ? op.intsAttr("axes") : std::vector<int64_t>{};
  std::vector<bool> r(rank, axes.empty());
  for (int64_t a : axes) r[(size_t)(a < 0 ? a + (int64_t)rank : a)] = true;
  return r;
}

/// Why one op (not its regions) cannot be lowered; empty if it can. Every
/// op of a verified module can, except `grad` (the autodiff pass expands it
/// first) and a slice whose static bounds are malformed. For standalone
/// (AOT) code, file I/O and a `train` log file are refused too: they need
/// the interpreter, which an AOT host does not have.
std::string opProblem(const ir::Op &op, bool standalone) {
  auto no = [&](const std::string &what) {
    return std::string("op '") + op.name() + "'" + lineOf(op) + " " + what;
  };
  switch (op.kind()) {
  case OpKind::LoadNpy:
  case OpKind::SaveNpy:
  case OpKind::LoadCsv:
  case OpKind::Save:
  case OpKind::Load:
    return standalone ? no("reads or writes files, which needs the interpreter (not in AOT code)") : "";
  case OpKind::TrainProgress:
    if (standalone && (op.hasAttr("metrics") || op.hasAttr("until") || op.hasAttr("plot")))
      return no("has metrics, 'until' conditions or a plot, which need the interpreter (not in AOT code)");
    return standalone && op.intAttr("every", 0) > 0 && !op.strAttr("file").empty()
               ? no("writes a training log file, which needs the interpreter (not in AOT code)")
               : "";
  case OpKind::Slice: {
    const Shape &s = op.operand(0)->type().shape;
    std::vector<int64_t> st = op.intsAttr("starts"), en = op.intsAttr("ends");
    if (st.size() != s.size() || en.size() != s.size()) return no("with malformed bounds");
    for (size_t a = 0; a < s.size(); ++a)
      if (st[a] < 0 || st[a] > en[a] || en[a] > s[a]) return no("out of range");
    return "";
  }
  case OpKind::Pad: {
    const Shape &s = op.operand(0)->type().shape, &t = op.result()->type().shape;
    std::vector<int64_t> st = op.intsAttr("starts");
    if (st.size() != s.size() || t.size() != s.size()) return no("with malformed starts");
    for (size_t a = 0; a < s.size(); ++a)
      if (st[a] < 0 || st[a] + s[a] > t[a]) return no("out of range");
    return "";
  }
  case OpKind::Random: {
    std::string d = op.strAttr("dist");
    if (d != "normal" && d != "uniform" && d != "randint" && d != "glorot" && d != "orthogonal" && d != "fold_in" &&
        d != "permutation")
      return no("with distribution '" + d + "' is not supported");
    return "";
  }
  case OpKind::CheckBounds:
    return ConstraintSpec::kindFromName(op.strAttr("kind")) ? "" : no("of an unknown kind");
  case OpKind::Grad:
    return no("must be expanded by the autodiff pass first");
  default:
    return "";
  }
}

bool regionOk(const ir::Region &r, std::string &why, bool standalone) {
  for (const auto &op : r.ops()) {
    std::string p = opProblem(*op, standalone);
    if (!p.empty()) {
      why = p;
      return false;
    }
    for (unsigned i = 0; i < op->numRegions(); ++i)
      if (!regionOk(*op->region(i), why, standalone)) return false;
  }
  return true;
}

void collectCallees(const ir::Region &r, std::set<std::string> &out) {
  for (const auto &op : r.ops()) {
    if (op->kind() == OpKind::Call) out.insert(op->strAttr("callee"));
    for (unsigned i = 0; i < op->numRegions(); ++i) collectCallees(*op->region(i), out);
  }
}

} // namespace

bool canCompile(const ir::Function &f, std::string &why, bool standalone) {
  return regionOk(f.body(), why, standalone);
}

std::vector<const ir::Function *> compilableFunctions(const ir::Module &m,
                                                      std::vector<std::pair<std::string, std::string>> &why,
                                                      bool standalone) {
  std::map<std::string, std::string> bad; // name -> reason
  std::map<std::string, std::set<std::string>> callees;
  for (const auto &f : m.functions()) {
    std::string w;
    if (!canCompile(*f, w, standalone)) bad[f->name()] = w;
    collectCallees(f->body(), callees[f->name()]);
  }
  // A function calling an uncompilable (or unknown) one is uncompilable.
  for (bool changed = true; changed;) {
    changed = false;
    for (const auto &f : m.functions()) {
      if (bad.count(f->name())) continue;
      for (const std::string &c : callees[f->name()]) {
        if (!m.lookup(c)) {
          bad[f->name()] = "calls unknown function '" + c + "'";
        } else if (bad.count(c)) {
          std::string inner = bad[c];
          bad[f->name()] = "calls '" + c + "': " + inner;
        } else {
          continue;
        }
        changed = true;
        break;
      }
    }
  }
  std::vector<const ir::Function *> ok;
  for (const auto &f : m.functions()) {
    auto it = bad.find(f->name());
    if (it == bad.end()) ok.push_back(f.get());
    else why.emplace_back(f->name(), it->second);
  }
  return ok;
}

std::string entrySymbol(const std::string &prefix, const std::string &function) {
  return prefix + "entry." + function;
}

/// The ops native code hands to the host's interpreter kernels
/// (ptlrt_host_op): file I/O and `train` progress.
bool runsOnHost(OpKind k) {
  switch (k) {
  case OpKind::LoadNpy:
  case OpKind::SaveNpy:
  case OpKind::LoadCsv:
  case OpKind::Save:
  case OpKind::Load:
  case OpKind::TrainProgress:
  case OpKind::TrainNonfinite: return true;
  default: return false;
  }
}

/// Whether a map's iterations may run on several threads: nothing in its
/// body, or in the functions it calls, prints, touches files, reports
/// training progress or runs a `train` loop (whose order and host state a
/// serial run defines). Everything else an iteration does is private to it.
bool iterationsIndependent(const ir::Region &r, const ir::Module &m, std::set<std::string> &seen) {
  for (const auto &op : r.ops()) {
    if (runsOnHost(op->kind())) return false;
    switch (op->kind()) {
    case OpKind::Print: return false;
    case OpKind::For:
      if (op->hasAttr("train")) return false;
      break;
    case OpKind::Call: {
      std::string callee = op->strAttr("callee");
      const ir::Function *f = m.lookup(callee);
      if (seen.insert(callee).second && f && !iterationsIndependent(f->body(), m, seen)) return false;
      break;
    }
    default: break;
    }
    for (unsigned i = 0; i < op->numRegions(); ++i)
      if (!iterationsIndependent(*op->region(i), m, seen)) return false;
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Lowering
//===----------------------------------------------------------------------===//

namespace {

std::vector<int64_t> rowMajorStrides(const Shape &s) {
  std::vector<int64_t> st(s.size(), 1);
  for (int64_t a = (int64_t)s.size() - 2; a >= 0; --a) st[(size_t)a] = st[(size_t)a + 1] * s[(size_t)a + 1];
  return st;
}

/// Strides into a buffer of shape `in` NumPy-broadcast to `out` (0 on broadcast axes).
std::vector<int64_t> broadcastStrides(const Shape &in, const Shape &out) {
  std::vector<int64_t> inSt = rowMajorStrides(in), st(out.size(), 0);
  size_t lead = out.size() - in.size();
  for (size_t a = 0; a < in.size(); ++a) st[lead + a] = in[a] == 1 ? 0 : inSt[a];
  return st;
}

Shape broadcastPair(const Shape &a, const Shape &b) {
  Shape r;
  ir::broadcastShapes(a, b, r);
  return r;
}

int64_t bytesOf(const ir::Type &t) { return numElements(t.shape) * (int64_t)dtypeSize(t.dtype); }

class Lowering {
public:
  Lowering(const ir::Module &m, llvm::Module &out, SiteTables &sites, std::string prefix)
      : m_(m), mod_(out), c_(out.getContext()), b_(c_), sites_(sites), prefix_(std::move(prefix)),
        debug_(out, m.files()) {}

  /// Declares f's LLVM function: internal, or exported when the program is
  /// split across modules; `defined` false: only a declaration (another
  /// module of the split defines it).
  void declare(const ir::Function &f, bool defined = true);
  /// Lowers a part of a split program: every function defined is exported
  /// and recorded in `lowered`.
  void splitInto(std::vector<LoweredFunction> &lowered) { lowered_ = &lowered; }
  /// Completes the module's debug information (after the last define).
  void finish() { debug_.finalize(); }
  void define(const ir::Function &f);
  void defineEntry(const ir::Function &f);

private:
  using LV = llvm::Value *;
  using Indices = std::vector<LV>;

  // ---- types and constants
  llvm::Type *elemTy(DType t) {
    switch (t) {
    case DType::F32: return b_.getFloatTy();
    case DType::F64: return b_.getDoubleTy();
    case DType::I32: return b_.getInt32Ty();
    case DType::Bool: break;
    }
    return b_.getInt8Ty();
  }
  LV i64(int64_t v) { return b_.getInt64((uint64_t)v); }
  LV i32(int32_t v) { return b_.getInt32((uint32_t)v); }
  LV fconst(DType t, double v) { return llvm::ConstantFP::get(elemTy(t), v); }
  LV zeroOf(DType t) { return llvm::Constant::getNullValue(elemTy(t)); }
  LV boolByte(LV i1) { return b_.CreateZExt(i1, b_.getInt8Ty()); }
  LV truthy(LV byte) { return b_.CreateICmpNE(byte, b_.getInt8(0)); }

  // ---- buffers
  /// A temporary of `bytes` bytes in this call's frame.
  LV slot(int64_t bytes) {
    int64_t off = frameSize_;
    frameSize_ += (bytes + 63) / 64 * 64;
    if (bytes > largestSlot_) { // where an out-of-memory frame is reported
      largestSlot_ = bytes;
      largestSlotOp_ = curOp_;
    }
    return b_.CreateInBoundsGEP(b_.getInt8Ty(), frame_, i64(off));
  }
  LV slot(const ir::Type &t) { return slot(bytesOf(t)); }
  /// Whether `y`, yielded or returned by `r`, can be computed straight into a
  /// buffer chosen for it: made in `r` by a call or a fused loop, and not
  /// placed already (a value yielded twice goes into the first place).
  bool placeable(const ir::Value &y, const ir::Region &r) {
    const ir::Op *def = y.definingOp();
    return def && def->parentRegion() == &r && !placed_.count(&y) &&
           (def->kind() == OpKind::Call ||
            (fusable(*def) && def->kind() != OpKind::Broadcast && !inlined_.count(def)));
  }
  /// Where `v` is computed: the buffer lowerFor or define placed it in, else a new slot.
  LV resultSlot(const ir::Value *v) {
    auto it = placed_.find(v);
    return it != placed_.end() ? it->second : slot(v->type());
  }
  LV elemPtr(DType t, LV base, LV index) { return b_.CreateInBoundsGEP(elemTy(t), base, index); }
  LV load(DType t, LV base, LV index) { return b_.CreateLoad(elemTy(t), elemPtr(t, base, index)); }
  void store(DType t, LV v, LV base, LV index) { b_.CreateStore(v, elemPtr(t, base, index)); }
  void copy(LV dst, LV src, int64_t bytes) {
    if (bytes > 0) b_.CreateMemCpy(dst, llvm::MaybeAlign(1), src, llvm::MaybeAlign(1), i64(bytes));
  }
  LV buf(const ir::Value *v) {
    auto it = bufs_.find(v);
    PTL_CHECK(it != bufs_.end(), "value lowered before its definition" +
              (v->definingOp() ? ": result of " + ir::describeOp(*v->definingOp()) : std::string()));
    return it->second;
  }
  llvm::AllocaInst *entryAlloca(llvm::Type *t, const char *name = "") {
    llvm::IRBuilder<> eb(&fn_->getEntryBlock(), fn_->getEntryBlock().begin());
    return eb.CreateAlloca(t, nullptr, name);
  }

  // ---- control
  llvm::BasicBlock *block(const char *name) { return llvm::BasicBlock::Create(c_, name, fn_); }
  /// for (iv = lo; iv < hi; ++iv) body(iv), iv an i64.
  void loop(int64_t lo, int64_t hi, const std::function<void(LV)> &body);
  /// Loops over every index of `shape` (row-major), calling body(indices).
  void loopNest(const Shape &shape, const std::function<void(const Indices &)> &body, size_t axis = 0,
                Indices idx = {});
  /// sum_k idx[k] * strides[k] + base
  LV offset(const Indices &idx, const std::vector<int64_t> &strides, int64_t base = 0);
  /// Branches to a fault block (which calls `report`, then fails) when `bad` holds.
  void faultIf(LV bad, const std::function<void()> &report);
  int32_t locSite(const ir::Op &op) {
    sites_.locs.push_back(op.loc());
    return (int32_t)sites_.locs.size() - 1;
  }

  // ---- helpers and math
  llvm::FunctionCallee helper(const char *name, llvm::Type *ret, std::vector<llvm::Type *> params) {
    return mod_.getOrInsertFunction(name, llvm::FunctionType::get(ret, params, false));
  }
  /// A libm call the optimiser must leave alone (nobuiltin): the same function
  /// the interpreter calls, so the same bits.
  LV libm(const char *f32Name, const char *f64Name, DType t, std::vector<LV> args);
  /// e^x, ln x and tanh x in the element type: PTL's own inline code for f32
  /// (runtime/Math.h, vectorisable), glibc's for f64 (as the interpreter).
  LV expOf(DType t, LV x) { return t == DType::F32 ? emitExpF32(b_, x) : libm("expf", "exp", t, {x}); }
  LV logOf(DType t, LV x) { return t == DType::F32 ? emitLogF32(b_, x) : libm("logf", "log", t, {x}); }
  LV tanhOf(DType t, LV x) { return t == DType::F32 ? emitTanhF32(b_, x) : libm("tanhf", "tanh", t, {x}); }
  LV intrinsic(llvm::Intrinsic::ID id, DType t, std::vector<LV> args) {
    return b_.CreateIntrinsic(id, {elemTy(t)}, args);
  }

  // ---- elementwise formulas (one element)
  LV unaryElem(const ir::Op &op, DType t, LV x);
  LV binaryElem(const ir::Op &op, DType t, LV a, LV b, int32_t &site);
  LV compareElem(OpKind k, DType t, LV a, LV b);
  LV convertElem(DType from, DType to, LV x);
  LV maxNan(DType t, LV a, LV b);
  LV minNan(DType t, LV a, LV b);
  /// out[i] = f(operands at i), with NumPy broadcasting of every operand to out.
  void elementwise(const ir::Type &out, LV outBuf, const std::vector<const ir::Value *> &ins,
                   const std::function<LV(const std::vector<LV> &)> &f);
  /// out[o] = src[base + sum o_k * strides[k]] over out's shape (a strided
  /// innermost axis with vector gathers).
  void gather(const ir::Type &out, LV outBuf, LV src, const std::vector<int64_t> &strides, int64_t base = 0);

  // ---- fusion of elementwise ops (see the definitions)
  static bool fusable(const ir::Op &op);
  /// Marks the fusable ops of `body` (recursively) that their user computes.
  void findFusion(const ir::Region &body);
  /// One element of a fusable op from its operands' elements.
  LV elemOf(const ir::Op &op, const std::vector<LV> &x);
  /// One loop computing `root` and the ops inlined into it.
  void lowerFused(const ir::Op &root);
  std::unordered_set<const ir::Op *> inlined_; ///< ops computed in their user's loop
  std::unordered_map<const ir::Value *, LV> placed_; ///< values computed into a given buffer (lowerFor)

  // ---- ops
  /// Lowers the ops of `r`; returns the buffers of its terminator's operands.
  std::vector<LV> lowerRegion(const ir::Region &r);
  void lowerOp(const ir::Op &op);
  void lowerConstant(const ir::Op &op);
  void lowerReduce(const ir::Op &op);
  void lowerMatMul(const ir::Op &op);
  /// A transpose of the last two axes, by blocks transposed in registers.
  void lowerMatrixTranspose(const ir::Op &op);
  std::vector<LV> transposeBlock(const std::vector<LV> &rows);
  /// The interpreter's laneSum of n contiguous float elements at p.
  LV laneSum(DType dt, LV p, int64_t n);
  /// c0[M, N] = a0[M, K] @ b0[K, N] inline (below BLAS size; see the
  /// definition); ta / tb: a0 is stored as [K, M] / b0 as [N, K].
  void inlineGemm(DType dt, LV a0, LV b0, LV c0, int64_t M, int64_t N, int64_t K, bool ta, bool tb);
  /// The module's function computing inlineGemm for this shape (made once).
  llvm::Function *gemmKernel(const ir::Op &op, DType dt, int64_t M, int64_t N, int64_t K, bool ta, bool tb);
  /// The module's function `name`, void(`pointers` pointers), made by `body` on first need.
  llvm::Function *kernelFunction(const std::string &name, unsigned pointers, const ir::Op &op,
                                 const std::function<void(llvm::Function &)> &body);
  /// out[C, R] = x[R, C] by blocks transposed in registers (lowerMatrixTranspose).
  void transposeMatrix(DType dt, LV x, LV out, int64_t R, int64_t C);
  static constexpr int64_t kGemmRows = 4; ///< rows of an inline product's tile
  void lowerPowF32(const ir::Op &op);
  /// `fast` where f32 a^b takes runtime/Math.h's fast path, else powf(a, b).
  LV powF32Fixup(LV a, LV b, LV fast);
  void lowerIndex(const ir::Op &op);
  void lowerFor(const ir::Op &op);
  void lowerIf(const ir::Op &op);
  void lowerCall(const ir::Op &op);
  void lowerPrint(const ir::Op &op);
  void lowerMap(const ir::Op &op);
  void lowerParallelMap(const ir::Op &op);
  void storeMapRow(const ir::Op &op, const std::vector<LV> &outs, const std::vector<LV> &ys, LV iv);
  /// Starts the body of fn_: an entry block taking the call's frame from the
  /// context (sized by finishBody), a fail block (pops it, returns 1) and the
  /// block lowering goes on in. Returns the frame push.
  llvm::CallInst *beginBody();
  /// Pops the frame, returns 0, and sizes the frame beginBody pushed.
  void finishBody(llvm::CallInst *push);
  llvm::Function *outlineMapBody(const ir::Op &op, const std::vector<ir::Value *> &captured);
  void lowerStackConcat(const ir::Op &op);
  void lowerIota(const ir::Op &op);
  void lowerRandom(const ir::Op &op);
  void lowerCheckBounds(const ir::Op &op);
  void lowerLogSumExp(const ir::Op &op);
  void lowerArgMax(const ir::Op &op);
  void lowerSoftmax(const ir::Op &op);
  void lowerCumSum(const ir::Op &op);
  void lowerTake(const ir::Op &op);
  void lowerScatterAdd(const ir::Op &op);
  void lowerIndexAdd(const ir::Op &op);
  void lowerPad(const ir::Op &op);
  void lowerOneHot(const ir::Op &op);
  void lowerHostOp(const ir::Op &op);
  /// Fills pointer array `array` (of type `arrT`) with `ptrs`, by a loop over
  /// constant tables where the pointers are known when compiling.
  void fillPointerArray(llvm::ArrayType *arrT, LV array, const std::vector<LV> &ptrs, const char *name);
  /// An unconditional fault with a fixed message at op's location (for a
  /// condition known statically, e.g. the maximum of no elements); code
  /// emitted after it is unreachable.
  void staticFault(const ir::Op &op, const std::string &message);
  /// Faults (index out of range) unless 0 <= i < n, i an i64.
  void checkIndex(LV i, int64_t axis, int64_t n, int32_t site);
  /// a + b in the element type (i32 and bool wrap)
  LV addElem(DType t, LV a, LV b) { return isFloatT(t) ? b_.CreateFAdd(a, b) : b_.CreateAdd(a, b); }
  LV isNan(LV x) { return b_.CreateFCmpUNO(x, x); }
  void zeroFill(LV dst, int64_t bytes) {
    if (bytes > 0) b_.CreateMemSet(dst, b_.getInt8(0), i64(bytes), llvm::MaybeAlign(1));
  }
  /// Branches to the fail block when a helper's status is not 0.
  void checkStatus(LV status, const char *name) {
    llvm::BasicBlock *ok = block(name);
    b_.CreateCondBr(b_.CreateICmpNE(status, i32(0)), fail_, ok);
    b_.SetInsertPoint(ok);
  }

  const ir::Module &m_;
  llvm::Module &mod_;
  llvm::LLVMContext &c_;
  llvm::IRBuilder<> b_;
  SiteTables &sites_;
  std::string prefix_;
  DebugInfo debug_; ///< .ptl lines and columns on the instructions
  std::map<std::string, llvm::Function *> fns_;
  std::vector<LoweredFunction> *lowered_ = nullptr; ///< set when lowering one part of a split program
  /// Linkage of what other parts of a split program may refer to.
  llvm::GlobalValue::LinkageTypes shareable() const {
    return lowered_ ? llvm::GlobalValue::ExternalLinkage : llvm::GlobalValue::InternalLinkage;
  }

  // per function
  const ir::Function *owner_ = nullptr; ///< the function being defined
  llvm::Function *fn_ = nullptr;
  LV ctx_ = nullptr, frame_ = nullptr;
  int64_t frameSize_ = 0;
  /// The largest temporary of the frame and the op it is for: a frame that
  /// cannot be allocated is reported there (as the interpreter would fail
  /// allocating that op's result).
  int64_t largestSlot_ = 0;
  const ir::Op *largestSlotOp_ = nullptr;
  const ir::Op *curOp_ = nullptr; ///< the op being lowered
  llvm::BasicBlock *fail_ = nullptr;
  std::unordered_map<const ir::Value *, LV> bufs_;
  int mapCount_ = 0; ///< map bodies outlined from owner_ so far (for their names)
};

void Lowering::loop(int64_t lo, int64_t hi, const std::function<void(LV)> &body) {
  if (hi <= lo) return;
  if (hi == lo + 1) { // one iteration: no loop
    body(i64(lo));
    return;
  }
  llvm::BasicBlock *pre = b_.GetInsertBlock(), *head = block("loop"), *bodyBB = block("body"),
                   *exit = block("endloop");
  b_.CreateBr(head);
  b_.SetInsertPoint(head);
  llvm::PHINode *iv = b_.CreatePHI(b_.getInt64Ty(), 2, "i");
  iv->addIncoming(i64(lo), pre);
  b_.CreateCondBr(b_.CreateICmpSLT(iv, i64(hi)), bodyBB, exit);
  b_.SetInsertPoint(bodyBB);
  body(iv);
  LV next = b_.CreateAdd(iv, i64(1), "", /*HasNUW=*/true, /*HasNSW=*/true);
  iv->addIncoming(next, b_.GetInsertBlock());
  b_.CreateBr(head);
  b_.SetInsertPoint(exit);
}

void Lowering::loopNest(const Shape &shape, const std::function<void(const Indices &)> &body, size_t axis,
                        Indices idx) {
  if (axis == shape.size()) {
    body(idx);
    return;
  }
  loop(0, shape[axis], [&](LV iv) {
    Indices next = idx;
    next.push_back(iv);
    loopNest(shape, body, axis + 1, next);
  });
}

Lowering::LV Lowering::offset(const Indices &idx, const std::vector<int64_t> &strides, int64_t base) {
  LV off = i64(base);
  for (size_t k = 0; k < idx.size(); ++k)
    if (strides[k] != 0) off = b_.CreateAdd(off, b_.CreateMul(idx[k], i64(strides[k])));
  return off;
}

void Lowering::faultIf(LV bad, const std::function<void()> &report) {
  llvm::BasicBlock *faultBB = block("fault"), *ok = block("ok");
  b_.CreateCondBr(bad, faultBB, ok);
  b_.SetInsertPoint(faultBB);
  report();
  b_.CreateBr(fail_);
  b_.SetInsertPoint(ok);
}

Lowering::LV Lowering::libm(const char *f32Name, const char *f64Name, DType t, std::vector<LV> args) {
  llvm::Type *ty = elemTy(t);
  std::vector<llvm::Type *> params(args.size(), ty);
  llvm::FunctionCallee f = helper(t == DType::F32 ? f32Name : f64Name, ty, params);
  llvm::CallInst *call = b_.CreateCall(f, args);
  call->addFnAttr(llvm::Attribute::NoBuiltin);
  call->addFnAttr(llvm::Attribute::NoUnwind);
  return call;
}

Lowering::LV Lowering::maxNan(DType t, LV a, LV b) {
  // isNan(a) ? a : isNan(b) ? b : (b > a ? b : a)
  if (!isFloatT(t)) return b_.CreateSelect(t == DType::I32 ? b_.CreateICmpSGT(b, a) : b_.CreateICmpUGT(b, a), b, a);
  LV r = b_.CreateSelect(b_.CreateFCmpOGT(b, a), b, a);
  r = b_.CreateSelect(b_.CreateFCmpUNO(b, b), b, r);
  return b_.CreateSelect(b_.CreateFCmpUNO(a, a), a, r);
}

Lowering::LV Lowering::minNan(DType t, LV a, LV b) {
  // isNan(a) ? a : isNan(b) ? b : (b < a ? b : a)
  if (!isFloatT(t)) return b_.CreateSelect(t == DType::I32 ? b_.CreateICmpSLT(b, a) : b_.CreateICmpULT(b, a), b, a);
  LV r = b_.CreateSelect(b_.CreateFCmpOLT(b, a), b, a);
  r = b_.CreateSelect(b_.CreateFCmpUNO(b, b), b, r);
  return b_.CreateSelect(b_.CreateFCmpUNO(a, a), a, r);
}

Lowering::LV Lowering::unaryElem(const ir::Op &op, DType t, LV x) {
  bool fl = isFloatT(t);
  switch (op.kind()) {
  // neg: -x (i32 wraps)
  case OpKind::Neg: return fl ? b_.CreateFNeg(x) : b_.CreateSub(zeroOf(t), x);
  // not: x ? 0 : 1
  case OpKind::Not: return boolByte(b_.CreateICmpEQ(x, b_.getInt8(0)));
  case OpKind::Exp: return expOf(t, x);
  case OpKind::Log: return logOf(t, x);
  case OpKind::Log1p: return libm("log1pf", "log1p", t, {x});
  case OpKind::Expm1: return libm("expm1f", "expm1", t, {x});
  case OpKind::Tanh: return tanhOf(t, x);
  case OpKind::Sin: return libm("sinf", "sin", t, {x});
  case OpKind::Cos: return libm("cosf", "cos", t, {x});
  // sqrt, floor and round (ties to even) are exact (correctly rounded) operations: intrinsics
  case OpKind::Sqrt: return intrinsic(llvm::Intrinsic::sqrt, t, {x});
  case OpKind::Floor: return intrinsic(llvm::Intrinsic::floor, t, {x});
  case OpKind::Round: return intrinsic(llvm::Intrinsic::roundeven, t, {x});
  // sigmoid: x >= 0 ? 1 / (1 + e^-x) : e^x / (1 + e^x)
  case OpKind::Sigmoid: {
    LV one = fconst(t, 1.0);
    LV pos = b_.CreateFDiv(one, b_.CreateFAdd(one, expOf(t, b_.CreateFNeg(x))));
    LV e = expOf(t, x);
    LV neg = b_.CreateFDiv(e, b_.CreateFAdd(one, e));
    return b_.CreateSelect(b_.CreateFCmpOGE(x, zeroOf(t)), pos, neg);
  }
  // relu: isNan(x) ? x : (x > 0 ? x : 0)
  case OpKind::Relu: {
    if (!fl) return b_.CreateSelect(b_.CreateICmpSGT(x, zeroOf(t)), x, zeroOf(t));
    LV r = b_.CreateSelect(b_.CreateFCmpOGT(x, zeroOf(t)), x, zeroOf(t));
    return b_.CreateSelect(b_.CreateFCmpUNO(x, x), x, r);
  }
  // softplus: (x > 0 ? x : 0) + log1p(e^-|x|)
  case OpKind::Softplus: {
    LV m = b_.CreateSelect(b_.CreateFCmpOGT(x, zeroOf(t)), x, zeroOf(t));
    LV e = expOf(t, b_.CreateFNeg(intrinsic(llvm::Intrinsic::fabs, t, {x})));
    return b_.CreateFAdd(m, libm("log1pf", "log1p", t, {e}));
  }
  // abs: |x| (i32: x < 0 ? -x : x, wrapping)
  case OpKind::Abs:
    if (fl) return intrinsic(llvm::Intrinsic::fabs, t, {x});
    return b_.CreateSelect(b_.CreateICmpSLT(x, zeroOf(t)), b_.CreateSub(zeroOf(t), x), x);
  // sign: x > 0 ? 1 : (x < 0 ? -1 : (x == 0 ? +0 : x)), so +-0 -> +0 and NaN -> NaN
  case OpKind::Sign: {
    LV one = fl ? fconst(t, 1.0) : i32(1), mone = fl ? fconst(t, -1.0) : i32(-1);
    LV gt = fl ? b_.CreateFCmpOGT(x, zeroOf(t)) : b_.CreateICmpSGT(x, zeroOf(t));
    LV lt = fl ? b_.CreateFCmpOLT(x, zeroOf(t)) : b_.CreateICmpSLT(x, zeroOf(t));
    LV rest = fl ? b_.CreateSelect(b_.CreateFCmpOEQ(x, zeroOf(t)), zeroOf(t), x) : x;
    return b_.CreateSelect(gt, one, b_.CreateSelect(lt, mone, rest));
  }
  default: break;
  }
  PTL_UNREACHABLE("not a unary op: " + ir::describeOp(op));
  return x;
}

Lowering::LV Lowering::binaryElem(const ir::Op &op, DType t, LV a, LV b, int32_t &site) {
  bool fl = isFloatT(t);
  auto siteOf = [&] {
    if (site < 0) site = locSite(op);
    return site;
  };
  switch (op.kind()) {
  // add, sub, mul: i32 wraps
  case OpKind::Add: return fl ? b_.CreateFAdd(a, b) : b_.CreateAdd(a, b);
  case OpKind::Sub: return fl ? b_.CreateFSub(a, b) : b_.CreateSub(a, b);
  case OpKind::Mul: return fl ? b_.CreateFMul(a, b) : b_.CreateMul(a, b);
  // div: a / b; i32 truncates ((int64)a / b, wrapping), b = 0 is a fault
  case OpKind::Div: {
    if (fl) return b_.CreateFDiv(a, b);
    int32_t s = siteOf();
    faultIf(b_.CreateICmpEQ(b, i32(0)), [&] {
      b_.CreateCall(helper("ptlrt_fault_arith", b_.getVoidTy(), {b_.getPtrTy(), b_.getInt32Ty(), b_.getInt32Ty()}),
                    {ctx_, i32(s), i32(kIntDivByZero)});
    });
    LV q = b_.CreateSDiv(b_.CreateSExt(a, b_.getInt64Ty()), b_.CreateSExt(b, b_.getInt64Ty()));
    return b_.CreateTrunc(q, b_.getInt32Ty());
  }
  // mod: r = fmod(a, b) (i32: %, b = 0 a fault); r += b if r != 0 and sign(r) != sign(b);
  // float r == 0 becomes copysign(0, b)
  case OpKind::Mod: {
    if (!fl) {
      int32_t s = siteOf();
      faultIf(b_.CreateICmpEQ(b, i32(0)), [&] {
        b_.CreateCall(helper("ptlrt_fault_arith", b_.getVoidTy(), {b_.getPtrTy(), b_.getInt32Ty(), b_.getInt32Ty()}),
                      {ctx_, i32(s), i32(kIntModByZero)});
      });
      LV a64 = b_.CreateSExt(a, b_.getInt64Ty()), b64 = b_.CreateSExt(b, b_.getInt64Ty());
      LV r = b_.CreateSRem(a64, b64);
      LV adjust = b_.CreateAnd(b_.CreateICmpNE(r, i64(0)),
                               b_.CreateXor(b_.CreateICmpSLT(r, i64(0)), b_.CreateICmpSLT(b64, i64(0))));
      return b_.CreateTrunc(b_.CreateSelect(adjust, b_.CreateAdd(r, b64), r), b_.getInt32Ty());
    }
    LV r = b_.CreateFRem(a, b);
    LV adjust = b_.CreateAnd(b_.CreateFCmpUNE(r, zeroOf(t)),
                             b_.CreateXor(b_.CreateFCmpOLT(r, zeroOf(t)), b_.CreateFCmpOLT(b, zeroOf(t))));
    LV zero = intrinsic(llvm::Intrinsic::copysign, t, {zeroOf(t), b});
    LV other = b_.CreateSelect(b_.CreateFCmpOEQ(r, zeroOf(t)), zero, r);
    return b_.CreateSelect(adjust, b_.CreateFAdd(r, b), other);
  }
  // pow: f32 runtime/Math.h's powF32 (lowerPowF32 splits it in two loops), f64
  // libm pow; i32 by repeated squaring, 0 to a negative power a fault
  case OpKind::Pow: {
    if (t == DType::F32) return powF32Fixup(a, b, emitPowF32Core(b_, a, b));
    if (fl) return libm("powf", "pow", t, {a, b});
    int32_t s = siteOf();
    faultIf(b_.CreateAnd(b_.CreateICmpSLT(b, i32(0)), b_.CreateICmpEQ(a, i32(0))), [&] {
      b_.CreateCall(helper("ptlrt_fault_arith", b_.getVoidTy(), {b_.getPtrTy(), b_.getInt32Ty(), b_.getInt32Ty()}),
                    {ctx_, i32(s), i32(kIntPowZeroNegative)});
    });
    return b_.CreateCall(helper("ptlrt_ipow", b_.getInt32Ty(), {b_.getInt32Ty(), b_.getInt32Ty()}), {a, b});
  }
  case OpKind::Max: return maxNan(t, a, b);
  case OpKind::Min: return minNan(t, a, b);
  // and, or: on bool bytes
  case OpKind::And: return boolByte(b_.CreateAnd(truthy(a), truthy(b)));
  case OpKind::Or: return boolByte(b_.CreateOr(truthy(a), truthy(b)));
  default: break;
  }
  PTL_UNREACHABLE("not a binary op: " + ir::describeOp(op));
  return a;
}

Lowering::LV Lowering::compareElem(OpKind k, DType t, LV a, LV b) {
  using P = llvm::CmpInst::Predicate;
  P p = P::ICMP_EQ;
  bool fl = isFloatT(t), sgn = t == DType::I32;
  switch (k) {
  case OpKind::Eq: p = fl ? P::FCMP_OEQ : P::ICMP_EQ; break;
  case OpKind::Ne: p = fl ? P::FCMP_UNE : P::ICMP_NE; break;
  case OpKind::Lt: p = fl ? P::FCMP_OLT : sgn ? P::ICMP_SLT : P::ICMP_ULT; break;
  case OpKind::Le: p = fl ? P::FCMP_OLE : sgn ? P::ICMP_SLE : P::ICMP_ULE; break;
  case OpKind::Gt: p = fl ? P::FCMP_OGT : sgn ? P::ICMP_SGT : P::ICMP_UGT; break;
  case OpKind::Ge: p = fl ? P::FCMP_OGE : sgn ? P::ICMP_SGE : P::ICMP_UGE; break;
  default: PTL_UNREACHABLE(std::string("not a comparison: ") + ir::mnemonic(k));
  }
  return boolByte(fl ? b_.CreateFCmp(p, a, b) : b_.CreateICmp(p, a, b));
}

// convert: float -> i32 truncates toward zero, saturating, NaN -> 0; -> bool is x != 0
Lowering::LV Lowering::convertElem(DType from, DType to, LV x) {
  if (from == to && to != DType::Bool) return x;
  if (to == DType::Bool)
    return boolByte(isFloatT(from) ? b_.CreateFCmpUNE(x, zeroOf(from)) : b_.CreateICmpNE(x, zeroOf(from)));
  if (to == DType::I32) {
    if (from == DType::Bool) return b_.CreateZExt(x, b_.getInt32Ty());
    LV hi = fconst(from, from == DType::F32 ? (double)(float)2147483647.0 : 2147483647.0);
    LV lo = fconst(from, -2147483648.0);
    LV r = b_.CreateFPToSI(x, b_.getInt32Ty());
    r = b_.CreateSelect(b_.CreateFCmpOLE(x, lo), i32(INT32_MIN), r);
    r = b_.CreateSelect(b_.CreateFCmpOGE(x, hi), i32(INT32_MAX), r);
    return b_.CreateSelect(b_.CreateFCmpUNO(x, x), i32(0), r);
  }
  // to a float type
  if (from == DType::Bool) return b_.CreateUIToFP(x, elemTy(to));
  if (from == DType::I32) return b_.CreateSIToFP(x, elemTy(to));
  return to == DType::F64 ? b_.CreateFPExt(x, elemTy(to)) : b_.CreateFPTrunc(x, elemTy(to));
}

void Lowering::elementwise(const ir::Type &out, LV outBuf, const std::vector<const ir::Value *> &ins,
                           const std::function<LV(const std::vector<LV> &)> &f) {
  // Flat when every operand has out's shape or a single element.
  bool flat = true;
  for (const ir::Value *v : ins)
    flat = flat && (v->type().shape == out.shape || numElements(v->type().shape) == 1);
  if (flat) {
    loop(0, numElements(out.shape), [&](LV i) {
      std::vector<LV> xs;
      for (const ir::Value *v : ins)
        xs.push_back(load(v->type().dtype, buf(v), v->type().shape == out.shape ? i : i64(0)));
      store(out.dtype, f(xs), outBuf, i);
    });
    return;
  }
  std::vector<std::vector<int64_t>> strides;
  for (const ir::Value *v : ins) strides.push_back(broadcastStrides(v->type().shape, out.shape));
  std::vector<int64_t> outSt = rowMajorStrides(out.shape);
  loopNest(out.shape, [&](const Indices &idx) {
    std::vector<LV> xs;
    for (size_t k = 0; k < ins.size(); ++k) xs.push_back(load(ins[k]->type().dtype, buf(ins[k]), offset(idx, strides[k])));
    store(out.dtype, f(xs), outBuf, offset(idx, outSt));
  });
}

// ---- Fusion of elementwise ops
//
// An op computing each output element from its operands' elements at the
// same (broadcast) index, that cannot fault and calls nothing (fusable), is
// computed inside the loop of its user, with no buffer of its own, when it
// is that user's only operand use of it, the user is fusable too, in the same
// region and of the same shape (findFusion). So `tanh(x @ W.T + b)` is one
// matmul and one loop that adds b (read through its broadcast) and takes the
// tanh, writing once. Every element gets the same operations in the same
// order as unfused, so the bits do not change.

bool Lowering::fusable(const ir::Op &op) {
  OpKind k = op.kind();
  if (op.numResults() != 1 || op.numRegions() != 0) return false;
  if (ir::isUnaryElementwise(k) || ir::isComparison(k)) return true;
  if (ir::isBinaryElementwise(k)) {
    DType dt = op.operand(0)->type().dtype;
    if (k == OpKind::Pow && dt == DType::F32) return false; // two loops (lowerPowF32)
    return !(dt == DType::I32 && (k == OpKind::Div || k == OpKind::Mod || k == OpKind::Pow)); // may fault
  }
  return k == OpKind::Convert || k == OpKind::Select || k == OpKind::Clamp || k == OpKind::Broadcast;
}

void Lowering::findFusion(const ir::Region &body) {
  std::unordered_map<const ir::Value *, int> uses;
  std::unordered_map<const ir::Value *, const ir::Op *> user;
  std::function<void(const ir::Region &)> count = [&](const ir::Region &r) {
    for (const auto &op : r.ops()) {
      for (const ir::Value *v : op->operands()) {
        ++uses[v];
        user[v] = op.get();
      }
      for (unsigned i = 0; i < op->numRegions(); ++i) count(*op->region(i));
    }
  };
  count(body);
  std::function<void(const ir::Region &)> mark = [&](const ir::Region &r) {
    for (const auto &op : r.ops()) {
      for (unsigned i = 0; i < op->numRegions(); ++i) mark(*op->region(i));
      if (!fusable(*op) || uses[op->result()] != 1) continue;
      const ir::Op *u = user[op->result()];
      if (fusable(*u) && u->parentRegion() == op->parentRegion() &&
          u->result()->type().shape == op->result()->type().shape)
        inlined_.insert(op.get());
    }
  };
  mark(body);
}

Lowering::LV Lowering::elemOf(const ir::Op &op, const std::vector<LV> &x) {
  OpKind k = op.kind();
  DType dt = op.operand(0)->type().dtype, rt = op.result()->type().dtype;
  int32_t site = -1; // (fusable ops do not fault)
  if (ir::isUnaryElementwise(k)) return unaryElem(op, dt, x[0]);
  if (ir::isComparison(k)) return compareElem(k, dt, x[0], x[1]);
  if (ir::isBinaryElementwise(k)) return binaryElem(op, dt, x[0], x[1], site);
  switch (k) {
  // convert: y = T(x)
  case OpKind::Convert: return convertElem(dt, rt, x[0]);
  // select: y = c ? a : b
  case OpKind::Select: return b_.CreateSelect(truthy(x[0]), x[1], x[2]);
  // clamp: y = min(max(x, lo), hi)
  case OpKind::Clamp: return minNan(rt, maxNan(rt, x[0], x[1]), x[2]);
  // broadcast (inlined): the operand's element, read at the broadcast index
  case OpKind::Broadcast: return x[0];
  default: break;
  }
  PTL_UNREACHABLE("not a fusable op: " + ir::describeOp(op));
  return x[0];
}

void Lowering::lowerFused(const ir::Op &root) {
  // The tree's leaves: the operands that are not inlined ops, each once.
  std::vector<const ir::Value *> leaves;
  std::unordered_map<const ir::Value *, size_t> leafIndex;
  std::function<void(const ir::Op &)> collect = [&](const ir::Op &op) {
    for (const ir::Value *v : op.operands()) {
      const ir::Op *def = v->definingOp();
      if (def && inlined_.count(def)) collect(*def);
      else if (leafIndex.emplace(v, leaves.size()).second) leaves.push_back(v);
    }
  };
  collect(root);
  std::function<LV(const ir::Op &, const std::vector<LV> &)> eval = [&](const ir::Op &op,
                                                                        const std::vector<LV> &xs) {
    std::vector<LV> vals;
    for (const ir::Value *v : op.operands()) {
      const ir::Op *def = v->definingOp();
      vals.push_back(def && inlined_.count(def) ? eval(*def, xs) : xs[leafIndex.at(v)]);
    }
    b_.SetCurrentDebugLocation(debug_.at(op.loc())); // each op's instructions at its own line
    return elemOf(op, vals);
  };
  const ir::Type &t = root.result()->type();
  LV out = resultSlot(root.result());
  elementwise(t, out, leaves, [&](const std::vector<LV> &xs) { return eval(root, xs); });
  b_.SetCurrentDebugLocation(debug_.at(root.loc()));
  bufs_[root.result()] = out;
}

void Lowering::gather(const ir::Type &out, LV outBuf, LV src, const std::vector<int64_t> &strides, int64_t base) {
  std::vector<int64_t> outSt = rowMajorStrides(out.shape);
  if (strides == outSt) { // a contiguous block
    copy(outBuf, elemPtr(out.dtype, src, i64(base)), bytesOf(out));
    return;
  }
  size_t r = out.shape.size();
  const int64_t es = (int64_t)dtypeSize(out.dtype), width = 64 / es;
  int64_t inner = r ? out.shape[r - 1] : 0, innerStride = r ? strides[r - 1] : 0;
  if (r == 0 || inner < width || innerStride == 1 || innerStride == 0 || es < 4) {
    loopNest(out.shape, [&](const Indices &idx) {
      store(out.dtype, load(out.dtype, src, offset(idx, strides, base)), outBuf, offset(idx, outSt));
    });
    return;
  }
  // A strided innermost axis (a transpose): one vector gather per 64 bytes of
  // output, then the rest one element at a time.
  llvm::Type *vt = llvm::FixedVectorType::get(elemTy(out.dtype), (unsigned)width);
  std::vector<llvm::Constant *> lanes;
  for (int64_t l = 0; l < width; ++l) lanes.push_back(b_.getInt64((uint64_t)(l * innerStride)));
  LV laneOffsets = llvm::ConstantVector::get(lanes);
  Shape outer(out.shape.begin(), out.shape.end() - 1);
  std::vector<int64_t> outerSt(strides.begin(), strides.end() - 1), outerOutSt(outSt.begin(), outSt.end() - 1);
  const int64_t full = inner / width * width;
  loopNest(outer, [&](const Indices &idx) {
    LV from = offset(idx, outerSt, base), to = offset(idx, outerOutSt);
    loop(0, full / width, [&](LV q) {
      LV j0 = b_.CreateMul(q, i64(width));
      LV first = b_.CreateAdd(from, b_.CreateMul(j0, i64(innerStride)));
      LV ptrs = b_.CreateInBoundsGEP(elemTy(out.dtype), elemPtr(out.dtype, src, first), laneOffsets);
      LV v = b_.CreateMaskedGather(vt, ptrs, llvm::Align(es));
      b_.CreateAlignedStore(v, elemPtr(out.dtype, outBuf, b_.CreateAdd(to, j0)), llvm::Align(es));
    });
    loop(full, inner, [&](LV j) {
      store(out.dtype, load(out.dtype, src, b_.CreateAdd(from, b_.CreateMul(j, i64(innerStride)))), outBuf,
            b_.CreateAdd(to, j));
    });
  });
}

std::vector<Lowering::LV> Lowering::lowerRegion(const ir::Region &r) {
  for (const auto &op : r.ops()) {
    if (ir::isTerminator(op->kind())) {
      std::vector<LV> out;
      for (const ir::Value *v : op->operands()) out.push_back(buf(v));
      return out;
    }
    lowerOp(*op);
  }
  PTL_UNREACHABLE("region without terminator");
  return {};
}

void Lowering::lowerOp(const ir::Op &op) {
  struct CurrentOp { // curOp_ is `op` while it is lowered
    const ir::Op *&cur, *saved;
    ~CurrentOp() { cur = saved; }
  } current{curOp_, curOp_};
  curOp_ = &op;
  b_.SetCurrentDebugLocation(debug_.at(op.loc()));
  OpKind k = op.kind();
  if (inlined_.count(&op)) return; // computed inside its user's loop (lowerFused)
  if (fusable(op) && k != OpKind::Broadcast) {
    lowerFused(op);
    return;
  }
  if (k == OpKind::Pow && op.result()->type().dtype == DType::F32) {
    lowerPowF32(op);
    return;
  }
  // the integer division, modulo and power that can fault: a loop of their own
  if (ir::isBinaryElementwise(k)) {
    const ir::Type &t = op.result()->type();
    LV out = slot(t);
    DType dt = op.operand(0)->type().dtype;
    int32_t site = -1;
    elementwise(t, out, {op.operand(0), op.operand(1)},
                [&](const std::vector<LV> &x) { return binaryElem(op, dt, x[0], x[1], site); });
    bufs_[op.result()] = out;
    return;
  }
  if (runsOnHost(k)) {
    lowerHostOp(op);
    return;
  }
  switch (k) {
  case OpKind::Constant: lowerConstant(op); return;
  // broadcast: y[o] = x[o with broadcast axes at 0]
  case OpKind::Broadcast: {
    const ir::Type &t = op.result()->type();
    LV out = slot(t);
    gather(t, out, buf(op.operand(0)), broadcastStrides(op.operand(0)->type().shape, t.shape));
    bufs_[op.result()] = out;
    return;
  }
  // reshape, stop_grad: the same buffer
  case OpKind::Reshape:
  case OpKind::StopGrad: bufs_[op.result()] = buf(op.operand(0)); return;
  // transpose: y[o] = x[i] with i[perm[j]] = o[j]
  case OpKind::Transpose: {
    const ir::Type &t = op.result()->type();
    std::vector<int64_t> perm = op.intsAttr("perm");
    if (ir::swapsLastTwoAxes(perm) && (dtypeSize(t.dtype) == 4 || dtypeSize(t.dtype) == 8)) {
      lowerMatrixTranspose(op);
      return;
    }
    std::vector<int64_t> xs = rowMajorStrides(op.operand(0)->type().shape), st(perm.size());
    for (size_t j = 0; j < perm.size(); ++j) st[j] = xs[(size_t)perm[j]];
    LV out = slot(t);
    gather(t, out, buf(op.operand(0)), st);
    bufs_[op.result()] = out;
    return;
  }
  // slice: y[o] = x[starts + o]
  case OpKind::Slice: {
    const ir::Type &t = op.result()->type();
    std::vector<int64_t> starts = op.intsAttr("starts");
    std::vector<int64_t> st = rowMajorStrides(op.operand(0)->type().shape);
    int64_t base = 0;
    for (size_t a = 0; a < starts.size(); ++a) base += starts[a] * st[a];
    LV out = slot(t);
    gather(t, out, buf(op.operand(0)), st, base);
    bufs_[op.result()] = out;
    return;
  }
  case OpKind::ReduceSum:
  case OpKind::ReduceMean:
  case OpKind::ReduceMax:
  case OpKind::ReduceMin: lowerReduce(op); return;
  case OpKind::MatMul: lowerMatMul(op); return;
  case OpKind::Index: lowerIndex(op); return;
  case OpKind::For: lowerFor(op); return;
  case OpKind::If: lowerIf(op); return;
  case OpKind::Call: lowerCall(op); return;
  case OpKind::Print: lowerPrint(op); return;
  case OpKind::Map: lowerMap(op); return;
  case OpKind::Stack:
  case OpKind::Concat: lowerStackConcat(op); return;
  case OpKind::Iota: lowerIota(op); return;
  case OpKind::Random: lowerRandom(op); return;
  case OpKind::CheckBounds: lowerCheckBounds(op); return;
  case OpKind::LogSumExp: lowerLogSumExp(op); return;
  case OpKind::ArgMax: lowerArgMax(op); return;
  case OpKind::Softmax:
  case OpKind::LogSoftmax: lowerSoftmax(op); return;
  case OpKind::CumSum: lowerCumSum(op); return;
  case OpKind::Take: lowerTake(op); return;
  case OpKind::ScatterAdd: lowerScatterAdd(op); return;
  case OpKind::IndexAdd: lowerIndexAdd(op); return;
  case OpKind::Pad: lowerPad(op); return;
  case OpKind::OneHot: lowerOneHot(op); return;

  default: break;
  }
  PTL_UNREACHABLE("op not lowerable (canCompile should have refused it): " + ir::describeOp(op));
}

// constant: the dense value converted to T exactly as the interpreter does
// (Tensor::setDouble): a read-only global, or a fill loop for a splat
void Lowering::lowerConstant(const ir::Op &op) {
  const ir::Type &t = op.result()->type();
  const ir::Dense &d = std::get<ir::Dense>(op.attrs().at("value"));
  int64_t n = numElements(t.shape);
  if (d.values.size() == 1 && n > 1) {
    Tensor one = Tensor::zeros(t.dtype, {});
    one.setDouble(0, d.values[0]);
    llvm::Constant *v = llvm::ConstantDataArray::getRaw(
        llvm::StringRef(static_cast<const char *>(one.raw()), dtypeSize(t.dtype)), 1, elemTy(t.dtype));
    LV elem = v->getAggregateElement(0u);
    LV out = slot(t);
    loop(0, n, [&](LV i) { store(t.dtype, elem, out, i); });
    bufs_[op.result()] = out;
    return;
  }
  Tensor data = Tensor::zeros(t.dtype, t.shape);
  for (int64_t i = 0; i < n; ++i) data.setDouble(i, d.values.size() == 1 ? d.values[0] : d.values[(size_t)i]);
  llvm::Constant *init = llvm::ConstantDataArray::getRaw(
      llvm::StringRef(static_cast<const char *>(data.raw()), data.nbytes()), (uint64_t)n, elemTy(t.dtype));
  auto *g = new llvm::GlobalVariable(mod_, init->getType(), /*isConstant=*/true,
                                     llvm::GlobalValue::PrivateLinkage, init, "const");
  g->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
  g->setAlignment(llvm::Align(16));
  bufs_[op.result()] = g;
}

// reduce_sum/mean/max/min over axes: for each output element, accumulate the
// reduced elements in row-major order (sum from 0; max/min from the first
// element, maxNan/minNan after), as the interpreter does
void Lowering::lowerReduce(const ir::Op &op) {
  const ir::Type &t = op.result()->type();
  const Shape &xs = op.operand(0)->type().shape;
  DType dt = t.dtype;
  std::vector<bool> red = reducedAxes(op, xs.size());
  std::vector<int64_t> st = rowMajorStrides(xs);
  Shape keptShape, redShape;
  std::vector<int64_t> keptSt, redSt;
  for (size_t a = 0; a < xs.size(); ++a) {
    (red[a] ? redShape : keptShape).push_back(xs[a]);
    (red[a] ? redSt : keptSt).push_back(st[a]);
  }
  int64_t count = numElements(redShape);
  OpKind k = op.kind();
  if (count == 0 && (k == OpKind::ReduceMax || k == OpKind::ReduceMin))
    staticFault(op, std::string(op.name()) + " of an empty tensor " + typeString(dt, xs));
  LV x = buf(op.operand(0));
  LV out = slot(t);
  std::vector<int64_t> outSt = rowMajorStrides(keptShape);
  bool sum = k == OpKind::ReduceSum || k == OpKind::ReduceMean;
  // mean: sum / (T)count (NaN for no elements)
  auto finish = [&](LV s) {
    if (k != OpKind::ReduceMean) return s;
    if (isFloatT(dt)) return count ? b_.CreateFDiv(s, fconst(dt, (double)count)) : fconst(dt, NAN);
    return b_.CreateSDiv(s, i32((int32_t)count));
  };
  if (sum && isFloatT(dt) && count >= ir::kernels::kLaneSumMin &&
      ir::kernels::reducesTrailingAxes(xs, op.hasAttr("axes") ? op.intsAttr("axes") : std::vector<int64_t>{})) {
    // Contiguous runs: the interpreter's laneSum with one vector accumulator.
    loopNest(keptShape, [&](const Indices &kept) {
      store(dt, finish(laneSum(dt, elemPtr(dt, x, offset(kept, keptSt)), count)), out, offset(kept, outSt));
    });
    bufs_[op.result()] = out;
    return;
  }
  if (sum && !xs.empty() && !red.back() && count > 0) {
    // The last axis is kept: out = 0, then add the slices of x in row-major
    // order of the reduced indices, so the inner loop runs along contiguous
    // outputs (and vectorises) and each output gets its terms in the same
    // order as one running sum.
    zeroFill(out, bytesOf(t));
    loopNest(redShape, [&](const Indices &r) {
      LV base = offset(r, redSt);
      loopNest(keptShape, [&](const Indices &kept) {
        LV o = offset(kept, outSt);
        store(dt, addElem(dt, load(dt, out, o), load(dt, x, b_.CreateAdd(base, offset(kept, keptSt)))), out, o);
      });
    });
    if (k == OpKind::ReduceMean)
      loop(0, numElements(keptShape), [&](LV o) { store(dt, finish(load(dt, out, o)), out, o); });
    bufs_[op.result()] = out;
    return;
  }
  llvm::AllocaInst *acc = entryAlloca(elemTy(dt), "acc");
  loopNest(keptShape, [&](const Indices &kept) {
    LV base = offset(kept, keptSt);
    if (k == OpKind::ReduceMax || k == OpKind::ReduceMin) b_.CreateStore(load(dt, x, base), acc);
    else b_.CreateStore(zeroOf(dt), acc);
    loopNest(redShape, [&](const Indices &r) {
      LV v = load(dt, x, b_.CreateAdd(base, offset(r, redSt)));
      LV a = b_.CreateLoad(elemTy(dt), acc);
      LV n = k == OpKind::ReduceMax   ? maxNan(dt, a, v)
             : k == OpKind::ReduceMin ? minNan(dt, a, v)
             : isFloatT(dt)           ? b_.CreateFAdd(a, v)
                                      : b_.CreateAdd(a, v);
      b_.CreateStore(n, acc);
    });
    store(dt, finish(b_.CreateLoad(elemTy(dt), acc)), out, offset(kept, outSt));
  });
  bufs_[op.result()] = out;
}

// pow of f32 (runtime/Math.h powF32): a vectorisable loop computes every
// element by the fast path and notes whether any is outside it (a <= 0,
// infinities, NaN); only then a scalar loop replaces those with glibc's
// powf, as the interpreter does.
void Lowering::lowerPowF32(const ir::Op &op) {
  const ir::Type &t = op.result()->type();
  LV out = slot(t);
  llvm::AllocaInst *anySlow = entryAlloca(b_.getInt1Ty(), "anyslow");
  b_.CreateStore(b_.getFalse(), anySlow);
  elementwise(t, out, {op.operand(0), op.operand(1)}, [&](const std::vector<LV> &x) {
    LV slow = b_.CreateNot(emitPowF32Fast(b_, x[0], x[1]));
    b_.CreateStore(b_.CreateOr(b_.CreateLoad(b_.getInt1Ty(), anySlow), slow), anySlow);
    return emitPowF32Core(b_, x[0], x[1]);
  });
  bufs_[op.result()] = out;
  llvm::BasicBlock *fixup = block("pow.fixup"), *done = block("pow.done");
  b_.CreateCondBr(b_.CreateLoad(b_.getInt1Ty(), anySlow), fixup, done);
  b_.SetInsertPoint(fixup);
  elementwise(t, out, {op.operand(0), op.operand(1), op.result()},
              [&](const std::vector<LV> &x) { return powF32Fixup(x[0], x[1], x[2]); });
  b_.CreateBr(done);
  b_.SetInsertPoint(done);
}

// fast if a^b takes the fast path, else powf(a, b) (a branch: the call only
// where needed)
Lowering::LV Lowering::powF32Fixup(LV a, LV b, LV fast) {
  llvm::BasicBlock *from = b_.GetInsertBlock(), *slow = block("pow.slow"), *join = block("pow.join");
  b_.CreateCondBr(emitPowF32Fast(b_, a, b), join, slow);
  b_.SetInsertPoint(slow);
  LV r = libm("powf", "pow", DType::F32, {a, b});
  b_.CreateBr(join);
  b_.SetInsertPoint(join);
  llvm::PHINode *y = b_.CreatePHI(b_.getFloatTy(), 2);
  y->addIncoming(fast, from);
  y->addIncoming(r, slow);
  return y;
}

// The sum of n >= kLaneSumMin contiguous elements at p as the interpreter's
// laneSum: a vector of kSumLanes partial sums takes n / kSumLanes full
// vectors, then the rest into its first lanes, then is halved pairwise.
Lowering::LV Lowering::laneSum(DType dt, LV p, int64_t n) {
  const unsigned lanes = (unsigned)ir::kernels::kSumLanes;
  llvm::Type *vt = llvm::FixedVectorType::get(elemTy(dt), lanes);
  llvm::AllocaInst *acc = entryAlloca(vt, "lanes");
  b_.CreateStore(llvm::Constant::getNullValue(vt), acc);
  const int64_t full = n / lanes, rest = n % lanes;
  loop(0, full, [&](LV q) {
    LV v = b_.CreateAlignedLoad(vt, elemPtr(dt, p, b_.CreateMul(q, i64(lanes))), llvm::Align(dtypeSize(dt)));
    b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(vt, acc), v), acc);
  });
  LV s = b_.CreateLoad(vt, acc);
  if (rest > 0) { // lanes < rest get one more element; the others are left alone
    LV tail = llvm::Constant::getNullValue(vt);
    std::vector<int> pick(lanes);
    for (unsigned j = 0; j < lanes; ++j) {
      if (j < rest) tail = b_.CreateInsertElement(tail, load(dt, p, i64(full * lanes + j)), (uint64_t)j);
      pick[j] = j < rest ? (int)(lanes + j) : (int)j; // from the sum, else from s
    }
    s = b_.CreateShuffleVector(s, b_.CreateFAdd(s, tail), pick);
  }
  for (unsigned w = lanes / 2; w >= 1; w /= 2) {
    std::vector<int> lo(w), hi(w);
    for (unsigned j = 0; j < w; ++j) lo[j] = (int)j, hi[j] = (int)(j + w);
    s = b_.CreateFAdd(b_.CreateShuffleVector(s, lo), b_.CreateShuffleVector(s, hi));
  }
  return b_.CreateExtractElement(s, (uint64_t)0);
}

// transpose of the last two axes, x[.., R, C] -> y[.., C, R]: square blocks of
// kBlock x kBlock elements (8 of 4 bytes, 4 of 8 bytes: one 32-byte vector a
// row) are loaded as rows, transposed in registers by a shuffle network
// (interleave pairs of rows, then pairs of pairs, then halves) and stored as
// rows; the strips at the right and bottom edges go one element at a time.
//
// One kernel function per shape (kernelFunction): a differentiated loop
// transposes the same weights many times.
void Lowering::lowerMatrixTranspose(const ir::Op &op) {
  const ir::Type &t = op.result()->type();
  DType dt = t.dtype;
  const Shape &xs = op.operand(0)->type().shape;
  const int64_t R = xs[xs.size() - 2], C = xs.back();
  Shape batch(xs.begin(), xs.end() - 2);
  std::vector<int64_t> bSt = rowMajorStrides(batch);
  for (int64_t &st : bSt) st *= R * C;
  LV x = buf(op.operand(0)), out = slot(t);
  std::string name = prefix_ + "transpose." + dtypeName(dt) + "." + std::to_string(R) + "x" + std::to_string(C);
  llvm::Function *kernel = kernelFunction(name, 2, op, [&](llvm::Function &f) {
    transposeMatrix(dt, f.getArg(0), f.getArg(1), R, C);
  });
  loopNest(batch, [&](const Indices &bi) {
    LV base = offset(bi, bSt);
    b_.CreateCall(kernel, {elemPtr(dt, x, base), elemPtr(dt, out, base)});
  });
  bufs_[op.result()] = out;
}

void Lowering::transposeMatrix(DType dt, LV x, LV out, int64_t R, int64_t C) {
  const int64_t blk = 32 / (int64_t)dtypeSize(dt);
  const int64_t fullR = R / blk * blk, fullC = C / blk * blk;
  llvm::Type *vt = llvm::FixedVectorType::get(elemTy(dt), (unsigned)blk);
  llvm::Align align(dtypeSize(dt));
  auto element = [&](LV r, LV c) { // out[c, r] = x[r, c]
    store(dt, load(dt, x, b_.CreateAdd(b_.CreateMul(r, i64(C)), c)), out, b_.CreateAdd(b_.CreateMul(c, i64(R)), r));
  };
  loop(0, fullR / blk, [&](LV rb) {
    loop(0, fullC / blk, [&](LV cb) {
      LV r0 = b_.CreateMul(rb, i64(blk)), c0 = b_.CreateMul(cb, i64(blk));
      std::vector<LV> rows;
      for (int64_t r = 0; r < blk; ++r)
        rows.push_back(b_.CreateAlignedLoad(
            vt, elemPtr(dt, x, b_.CreateAdd(b_.CreateMul(b_.CreateAdd(r0, i64(r)), i64(C)), c0)), align));
      std::vector<LV> cols = transposeBlock(rows);
      for (int64_t c = 0; c < blk; ++c)
        b_.CreateAlignedStore(cols[(size_t)c],
                              elemPtr(dt, out, b_.CreateAdd(b_.CreateMul(b_.CreateAdd(c0, i64(c)), i64(R)), r0)),
                              align);
    });
    loop(fullC, C, [&](LV c) { // the right edge of these rows
      for (int64_t r = 0; r < blk; ++r) element(b_.CreateAdd(b_.CreateMul(rb, i64(blk)), i64(r)), c);
    });
  });
  loop(fullR, R, [&](LV r) { loop(0, C, [&](LV c) { element(r, c); }); }); // the bottom edge
}

// The transpose of a square block given as its rows (4 or 8 vectors of as
// many elements): the columns.
std::vector<Lowering::LV> Lowering::transposeBlock(const std::vector<LV> &rows) {
  auto shuffle = [&](LV a, LV b, std::vector<int> mask) { return b_.CreateShuffleVector(a, b, mask); };
  if (rows.size() == 4) { // [a b c d] rows of 4
    LV t0 = shuffle(rows[0], rows[1], {0, 4, 2, 6}), t1 = shuffle(rows[0], rows[1], {1, 5, 3, 7});
    LV t2 = shuffle(rows[2], rows[3], {0, 4, 2, 6}), t3 = shuffle(rows[2], rows[3], {1, 5, 3, 7});
    return {shuffle(t0, t2, {0, 1, 4, 5}), shuffle(t1, t3, {0, 1, 4, 5}), shuffle(t0, t2, {2, 3, 6, 7}),
            shuffle(t1, t3, {2, 3, 6, 7})};
  }
  PTL_CHECK(rows.size() == 8, "a register transpose of " + std::to_string(rows.size()) + " rows");
  std::vector<LV> t(8), u(8), o(8);
  for (int p = 0; p < 4; ++p) { // interleave rows 2p and 2p + 1
    t[2 * p] = shuffle(rows[2 * p], rows[2 * p + 1], {0, 8, 1, 9, 4, 12, 5, 13});
    t[2 * p + 1] = shuffle(rows[2 * p], rows[2 * p + 1], {2, 10, 3, 11, 6, 14, 7, 15});
  }
  for (int q = 0; q < 2; ++q) // pairs of pairs: t[4q], t[4q + 2] and t[4q + 1], t[4q + 3]
    for (int h = 0; h < 2; ++h) {
      u[4 * q + 2 * h] = shuffle(t[4 * q + h], t[4 * q + 2 + h], {0, 1, 8, 9, 4, 5, 12, 13});
      u[4 * q + 2 * h + 1] = shuffle(t[4 * q + h], t[4 * q + 2 + h], {2, 3, 10, 11, 6, 7, 14, 15});
    }
  for (int c = 0; c < 4; ++c) { // halves: column c from u[c] and u[4 + c], column c + 4 likewise
    o[c] = shuffle(u[c], u[4 + c], {0, 1, 2, 3, 8, 9, 10, 11});
    o[c + 4] = shuffle(u[c], u[4 + c], {4, 5, 6, 7, 12, 13, 14, 15});
  }
  return o;
}

// matmul: y[b, i, j] = sum_k a[b, i, k] * b[b, k, j], k ascending from 0; a rank-1
// operand is a row (left) or column (right) vector; batch axes broadcast
void Lowering::lowerMatMul(const ir::Op &op) {
  const ir::Type &t = op.result()->type();
  DType dt = t.dtype;
  // transpose_a/_b: the operand is stored with its last two axes swapped;
  // `as` and `bs` are the shapes of the matrices multiplied
  bool ta = op.boolAttr("transpose_a"), tb = op.boolAttr("transpose_b");
  Shape as = op.operand(0)->type().shape, bs = op.operand(1)->type().shape;
  if (ta) std::swap(as[as.size() - 1], as[as.size() - 2]);
  if (tb) std::swap(bs[bs.size() - 1], bs[bs.size() - 2]);
  bool aVec = as.size() == 1, bVec = bs.size() == 1;
  int64_t M = aVec ? 1 : as[as.size() - 2], K = as.back(), N = bVec ? 1 : bs.back();
  Shape aBatch = aVec ? Shape{} : Shape(as.begin(), as.end() - 2);
  Shape bBatch = bVec ? Shape{} : Shape(bs.begin(), bs.end() - 2);
  Shape batch = broadcastPair(aBatch, bBatch);
  std::vector<int64_t> aSt = broadcastStrides(aBatch, batch), bSt = broadcastStrides(bBatch, batch);
  for (int64_t &s : aSt) s *= M * K;
  for (int64_t &s : bSt) s *= K * N;
  std::vector<int64_t> cSt = rowMajorStrides(batch);
  for (int64_t &s : cSt) s *= M * N;
  LV A = buf(op.operand(0)), B = buf(op.operand(1));
  LV C = slot(t);
  int64_t es = (int64_t)dtypeSize(dt);
  auto at = [&](LV base, LV elems) { return b_.CreateInBoundsGEP(b_.getInt8Ty(), base, b_.CreateMul(elems, i64(es))); };
  if (!(isFloatT(dt) && gemmSizeUsesBlas(M, N, K))) {
    llvm::Function *kernel = gemmKernel(op, dt, M, N, K, ta, tb);
    loopNest(batch, [&](const Indices &bi) {
      b_.CreateCall(kernel, {at(A, offset(bi, aSt)), at(B, offset(bi, bSt)), at(C, offset(bi, cSt))});
    });
    bufs_[op.result()] = C;
    return;
  }
  // Larger float products: runtime/Gemm.h, which hands them to BLAS; the
  // interpreter's kernel calls the same function, so both engines agree.
  const char *name = dt == DType::F32 ? "ptlrt_gemm_f32" : "ptlrt_gemm_f64";
  llvm::FunctionCallee gemm = helper(name, b_.getVoidTy(),
                                     {b_.getPtrTy(), b_.getPtrTy(), b_.getPtrTy(), b_.getInt64Ty(), b_.getInt64Ty(),
                                      b_.getInt64Ty(), b_.getInt32Ty(), b_.getInt32Ty()});
  loopNest(batch, [&](const Indices &bi) {
    b_.CreateCall(gemm, {at(A, offset(bi, aSt)), at(B, offset(bi, bSt)), at(C, offset(bi, cSt)), i64(M), i64(N),
                         i64(K), i32(ta), i32(tb)});
  });
  bufs_[op.result()] = C;
}

// The kernel of inline products of one shape: void(a, b, c), made once per
// module (a program multiplies the same shapes many times: forward,
// backward, every inner step), so LLVM optimises and compiles each shape's
// tiles once.
llvm::Function *Lowering::gemmKernel(const ir::Op &op, DType dt, int64_t M, int64_t N, int64_t K, bool ta, bool tb) {
  std::string name = prefix_ + "gemm." + dtypeName(dt) + "." + std::to_string(M) + "x" + std::to_string(N) + "x" +
                     std::to_string(K) + (ta ? "t" : "n") + (tb ? "t" : "n");
  return kernelFunction(name, 3, op, [&](llvm::Function &f) {
    inlineGemm(dt, f.getArg(0), f.getArg(1), f.getArg(2), M, N, K, ta, tb);
  });
}

// A kernel: void(ptr...) made once per module under `name` and never
// inlined. In a split program it is a unit of its own, compiled in one part
// and called from the others; its owner is the first function that needed
// it. `body` emits its code (no frame: it may not use slots).
llvm::Function *Lowering::kernelFunction(const std::string &name, unsigned pointers, const ir::Op &op,
                                         const std::function<void(llvm::Function &)> &body) {
  if (llvm::Function *f = mod_.getFunction(name)) return f;
  llvm::Function *savedFn = fn_;
  llvm::IRBuilderBase::InsertPoint savedIp = b_.saveIP();
  llvm::DebugLoc savedLoc = b_.getCurrentDebugLocation();
  DebugInfo::Scope savedScope = debug_.scope();
  std::vector<llvm::Type *> params(pointers, b_.getPtrTy());
  auto *ft = llvm::FunctionType::get(b_.getVoidTy(), params, false);
  fn_ = llvm::Function::Create(ft, shareable(), name, mod_);
  fn_->addFnAttr(llvm::Attribute::NoUnwind);
  fn_->addFnAttr(llvm::Attribute::NoInline);
  if (lowered_) lowered_->push_back({name, name, owner_});
  debug_.beginFunction(*fn_, name, op.loc());
  b_.SetCurrentDebugLocation(debug_.at(op.loc()));
  b_.SetInsertPoint(llvm::BasicBlock::Create(c_, "entry", fn_));
  body(*fn_);
  b_.CreateRetVoid();
  llvm::Function *kernel = fn_;
  fn_ = savedFn;
  debug_.restore(savedScope);
  b_.restoreIP(savedIp);
  b_.SetCurrentDebugLocation(savedLoc);
  return kernel;
}

// A product below BLAS size, inlined with its sizes as constants: each
// output is 0 + a[i, 0] b[0, j] + a[i, 1] b[1, j] + ... (k ascending), the
// order of runtime/Gemm.cpp's loop, so the bits are the interpreter's. The
// outputs are computed in tiles of kGemmRows rows by one vector of up to 64
// bytes of columns, held in registers while k runs (accumulators in allocas
// that LLVM promotes), so each tile reads every b row once and no output
// goes through memory between the k steps.
void Lowering::inlineGemm(DType dt, LV a0, LV b0, LV c0, int64_t M, int64_t N, int64_t K, bool ta, bool tb) {
  const int64_t width = 64 / (int64_t)dtypeSize(dt), fullCols = N / width * width;
  const int64_t fullRows = M / kGemmRows * kGemmRows;
  // One tile: rows i0..i0+rows-1, columns j0..j0+w-1.
  auto tile = [&](LV i0, int64_t rows, LV j0, int64_t w) {
    llvm::Type *vt = llvm::FixedVectorType::get(elemTy(dt), (unsigned)w);
    std::vector<llvm::AllocaInst *> acc;
    for (int64_t r = 0; r < rows; ++r) {
      acc.push_back(entryAlloca(vt, "acc"));
      b_.CreateStore(llvm::Constant::getNullValue(vt), acc.back());
    }
    auto rowOf = [&](int64_t r) { return b_.CreateAdd(i0, i64(r)); };
    loop(0, K, [&](LV k) {
      LV bv;
      if (!tb) {
        bv = b_.CreateAlignedLoad(vt, elemPtr(dt, b0, b_.CreateAdd(b_.CreateMul(k, i64(N)), j0)),
                                  llvm::Align(dtypeSize(dt)));
      } else { // b[k, j0 + jj] = b0[j0 + jj, k], one element at a time
        bv = llvm::UndefValue::get(vt);
        for (int64_t jj = 0; jj < w; ++jj)
          bv = b_.CreateInsertElement(bv, load(dt, b0, b_.CreateAdd(b_.CreateMul(b_.CreateAdd(j0, i64(jj)), i64(K)), k)),
                                      (uint64_t)jj);
      }
      for (int64_t r = 0; r < rows; ++r) {
        LV a = load(dt, a0, ta ? b_.CreateAdd(b_.CreateMul(k, i64(M)), rowOf(r))
                               : b_.CreateAdd(b_.CreateMul(rowOf(r), i64(K)), k));
        LV av = b_.CreateVectorSplat((unsigned)w, a);
        LV prod = isFloatT(dt) ? b_.CreateFMul(av, bv) : b_.CreateMul(av, bv);
        b_.CreateStore(addElem(dt, b_.CreateLoad(vt, acc[(size_t)r]), prod), acc[(size_t)r]);
      }
    });
    for (int64_t r = 0; r < rows; ++r)
      b_.CreateAlignedStore(b_.CreateLoad(vt, acc[(size_t)r]),
                            elemPtr(dt, c0, b_.CreateAdd(b_.CreateMul(rowOf(r), i64(N)), j0)),
                            llvm::Align(dtypeSize(dt)));
  };
  // Every tile of the rows i0..i0+rows-1: full-width column blocks, then the rest.
  auto rowBlock = [&](LV i0, int64_t rows) {
    if (fullCols > 0)
      loop(0, fullCols / width, [&](LV jb) { tile(i0, rows, b_.CreateMul(jb, i64(width)), width); });
    if (N > fullCols) tile(i0, rows, i64(fullCols), N - fullCols);
  };
  if (fullRows > 0)
    loop(0, fullRows / kGemmRows, [&](LV ib) { rowBlock(b_.CreateMul(ib, i64(kGemmRows)), kGemmRows); });
  // The last M mod kGemmRows rows one at a time (a loop: one tile's code).
  if (M > fullRows) loop(fullRows, M, [&](LV i) { rowBlock(i, 1); }); // (K = 0 stores zeros)
}

// index: y = x[i] along axis 0 (a view), 0 <= i < x.shape[0], else a fault
void Lowering::lowerIndex(const ir::Op &op) {
  const ir::Type &xt = op.operand(0)->type();
  int64_t n = xt.shape.empty() ? 0 : xt.shape[0];
  int64_t rowBytes = bytesOf(op.result()->type());
  LV i = b_.CreateSExt(load(DType::I32, buf(op.operand(1)), i64(0)), b_.getInt64Ty());
  int32_t site = locSite(op);
  LV bad = b_.CreateOr(b_.CreateICmpSLT(i, i64(0)), b_.CreateICmpSGE(i, i64(n)));
  faultIf(bad, [&] {
    b_.CreateCall(helper("ptlrt_fault_index", b_.getVoidTy(),
                         {b_.getPtrTy(), b_.getInt32Ty(), b_.getInt64Ty(), b_.getInt64Ty(), b_.getInt64Ty()}),
                  {ctx_, i32(site), i, i64(0), i64(n)});
  });
  bufs_[op.result()] = b_.CreateInBoundsGEP(b_.getInt8Ty(), buf(op.operand(0)), b_.CreateMul(i, i64(rowBytes)));
}

// for: c = init; for i in lo..hi: (c, s_i) = body(i, c); y = (c, stack_i s_i).
// The carried values are double-buffered (cur/next, swapped per iteration), so
// a yield that reads any carried value is copied before anything is overwritten.
// A train loop (attr train) runs between ptlrt_train_begin and _end (progress,
// log file, Ctrl-C handler, as the interpreter's runFor) and after each step
// asks ptlrt_train_stop whether to stop early, keeping that step's values, or
// (the step diverged: its train_nonfinite op ran and found a NaN or an
// infinity) to fail through ptlrt_train_diverged with the values from before
// the step. (A fault inside it leaves the loop to Engine::call, which ends it.)
void Lowering::lowerFor(const ir::Op &op) {
  int64_t lo = op.intAttr("lo"), hi = op.intAttr("hi");
  bool train = op.boolAttr("train");
  const ir::Region &body = *op.region(0);
  unsigned n = op.numOperands(), m = op.numResults() - n;
  std::vector<LV> bufA, bufB, stacks;
  std::vector<int64_t> bytes;
  for (unsigned k = 0; k < n; ++k) {
    bytes.push_back(bytesOf(op.operand(k)->type()));
    bufA.push_back(slot(bytes[k]));
    bufB.push_back(slot(bytes[k]));
    copy(bufA[k], buf(op.operand(k)), bytes[k]);
  }
  for (unsigned s = 0; s < m; ++s) stacks.push_back(slot(op.result(n + s)->type()));
  LV iSlot = slot(4);
  llvm::FunctionCallee trainEnd = helper("ptlrt_train_end", b_.getVoidTy(), {b_.getPtrTy()});
  if (train)
    b_.CreateCall(helper("ptlrt_train_begin", b_.getVoidTy(), {b_.getPtrTy(), b_.getInt64Ty()}),
                  {ctx_, i64(hi - lo)});
  if (hi <= lo) {
    if (train) b_.CreateCall(trainEnd, {ctx_});
    for (unsigned k = 0; k < n; ++k) bufs_[op.result(k)] = bufA[k];
    for (unsigned s = 0; s < m; ++s) bufs_[op.result(n + s)] = stacks[s];
    return;
  }
  llvm::BasicBlock *pre = b_.GetInsertBlock(), *head = block("for"), *bodyBB = block("for.body"),
                   *exit = block("for.end");
  b_.CreateBr(head);
  b_.SetInsertPoint(head);
  llvm::PHINode *iv = b_.CreatePHI(b_.getInt64Ty(), 2, "i");
  iv->addIncoming(i64(lo), pre);
  std::vector<llvm::PHINode *> cur, next;
  for (unsigned k = 0; k < n; ++k) {
    cur.push_back(b_.CreatePHI(b_.getPtrTy(), 2, "cur"));
    next.push_back(b_.CreatePHI(b_.getPtrTy(), 2, "next"));
    cur[k]->addIncoming(bufA[k], pre);
    next[k]->addIncoming(bufB[k], pre);
  }
  b_.CreateCondBr(b_.CreateICmpSLT(iv, i64(hi)), bodyBB, exit);
  b_.SetInsertPoint(bodyBB);
  store(DType::I32, b_.CreateTrunc(iv, b_.getInt32Ty()), iSlot, i64(0));
  bufs_[body.argument(0)] = iSlot;
  for (unsigned k = 0; k < n; ++k) bufs_[body.argument(k + 1)] = cur[k];
  // A carried value made in the body by a call or a fused loop is written
  // straight into its `next` buffer (nothing reads that buffer during the
  // iteration), saving the copy: a training step's new parameters.
  std::vector<const ir::Value *> placedHere;
  for (unsigned k = 0; k < n; ++k) {
    const ir::Value *y = body.terminator()->operand(k);
    if (placeable(*y, body)) {
      placed_[y] = next[k];
      placedHere.push_back(y);
    }
  }
  std::vector<LV> ys = lowerRegion(body);
  for (const ir::Value *y : placedHere) placed_.erase(y);
  for (unsigned k = 0; k < n; ++k)
    if (ys[k] != next[k]) copy(next[k], ys[k], bytes[k]);
  for (unsigned s = 0; s < m; ++s) {
    int64_t sb = bytesOf(body.terminator()->operand(n + s)->type());
    if (sb == 0) continue;
    LV dst = b_.CreateInBoundsGEP(b_.getInt8Ty(), stacks[s], b_.CreateMul(b_.CreateSub(iv, i64(lo)), i64(sb)));
    copy(dst, ys[n + s], sb);
  }
  llvm::BasicBlock *stopBB = nullptr;
  if (train) {
    LV stop = b_.CreateCall(
        helper("ptlrt_train_stop", b_.getInt32Ty(), {b_.getPtrTy(), b_.getInt64Ty(), b_.getInt64Ty()}),
        {ctx_, b_.CreateAdd(b_.CreateSub(iv, i64(lo)), i64(1)), i64(hi - lo)});
    stopBB = block("for.stop");
    llvm::BasicBlock *cont = block("for.next"), *divergedBB = block("for.diverged"), *interrupted = block("for.intr");
    b_.CreateCondBr(b_.CreateICmpEQ(stop, i32(0)), cont, interrupted);
    b_.SetInsertPoint(interrupted);
    b_.CreateCondBr(b_.CreateICmpEQ(stop, i32(2)), divergedBB, stopBB);
    // diverged: fail with the model leaves (after the state's) of `cur`
    b_.SetInsertPoint(divergedBB);
    HostOpSite h;
    h.op = &op;
    h.name = "train_diverged";
    h.loc = locSite(op);
    std::vector<LV> kept;
    for (unsigned k = (unsigned)op.intAttr("model_from", 0); k < n; ++k) {
      h.operands.push_back(op.operand(k)->type());
      kept.push_back(cur[k]);
    }
    sites_.hostOps.push_back(h);
    llvm::ArrayType *keptT = llvm::ArrayType::get(b_.getPtrTy(), std::max<size_t>(1, kept.size()));
    LV keptArr = entryAlloca(keptT, "kept");
    for (size_t k = 0; k < kept.size(); ++k) b_.CreateStore(kept[k], b_.CreateConstInBoundsGEP2_64(keptT, keptArr, 0, k));
    checkStatus(b_.CreateCall(helper("ptlrt_train_diverged", b_.getInt32Ty(), {b_.getPtrTy(), b_.getInt32Ty(), b_.getPtrTy()}),
                              {ctx_, i32((int32_t)sites_.hostOps.size() - 1), keptArr}),
                "diverged.ok");
    b_.CreateBr(stopBB); // not reached: the helper always fails
    b_.SetInsertPoint(stopBB);
    b_.CreateBr(exit);
    b_.SetInsertPoint(cont);
  }
  llvm::BasicBlock *latch = b_.GetInsertBlock();
  iv->addIncoming(b_.CreateAdd(iv, i64(1)), latch);
  for (unsigned k = 0; k < n; ++k) {
    cur[k]->addIncoming(next[k], latch);
    next[k]->addIncoming(cur[k], latch);
  }
  b_.CreateBr(head);
  b_.SetInsertPoint(exit);
  for (unsigned k = 0; k < n; ++k) {
    if (!stopBB) {
      bufs_[op.result(k)] = cur[k];
      continue;
    }
    // stopped early: the values of the step just done
    llvm::PHINode *r = b_.CreatePHI(b_.getPtrTy(), 2, "carried");
    r->addIncoming(cur[k], head);
    r->addIncoming(next[k], stopBB);
    bufs_[op.result(k)] = r;
  }
  for (unsigned s = 0; s < m; ++s) bufs_[op.result(n + s)] = stacks[s];
  if (train) b_.CreateCall(trainEnd, {ctx_});
}

// if: y = cond ? then() : else(), the chosen region's yields copied into y
void Lowering::lowerIf(const ir::Op &op) {
  std::vector<LV> outs;
  for (unsigned r = 0; r < op.numResults(); ++r) outs.push_back(slot(op.result(r)->type()));
  LV c = truthy(load(DType::Bool, buf(op.operand(0)), i64(0)));
  llvm::BasicBlock *thenBB = block("then"), *elseBB = block("else"), *merge = block("endif");
  b_.CreateCondBr(c, thenBB, elseBB);
  for (unsigned side = 0; side < 2; ++side) {
    b_.SetInsertPoint(side == 0 ? thenBB : elseBB);
    std::vector<LV> ys = lowerRegion(*op.region(side));
    for (unsigned r = 0; r < op.numResults(); ++r) copy(outs[r], ys[r], bytesOf(op.result(r)->type()));
    b_.CreateBr(merge);
  }
  b_.SetInsertPoint(merge);
  for (unsigned r = 0; r < op.numResults(); ++r) bufs_[op.result(r)] = outs[r];
}

// call: the callee writes its results into fresh buffers of this frame
void Lowering::lowerCall(const ir::Op &op) {
  llvm::Function *callee = fns_.at(op.strAttr("callee"));
  std::vector<LV> args{ctx_};
  for (const ir::Value *v : op.operands()) args.push_back(buf(v));
  for (unsigned r = 0; r < op.numResults(); ++r) {
    LV out = resultSlot(op.result(r));
    bufs_[op.result(r)] = out;
    args.push_back(out);
  }
  LV status = b_.CreateCall(callee, args);
  llvm::BasicBlock *ok = block("call.ok");
  b_.CreateCondBr(b_.CreateICmpNE(status, i32(0)), fail_, ok);
  b_.SetInsertPoint(ok);
}

// print: the runtime formats the operands like the interpreter
void Lowering::lowerPrint(const ir::Op &op) {
  PrintSite p;
  p.labels = op.strsAttr("labels");
  p.seps = op.strsAttr("seps");
  p.tail = op.strAttr("tail");
  for (const ir::Value *v : op.operands()) p.types.push_back(v->type());
  sites_.prints.push_back(std::move(p));
  int32_t site = (int32_t)sites_.prints.size() - 1;
  unsigned n = op.numOperands();
  llvm::ArrayType *at = llvm::ArrayType::get(b_.getPtrTy(), std::max(1u, n));
  LV arr = entryAlloca(at, "print.args");
  for (unsigned k = 0; k < n; ++k) b_.CreateStore(buf(op.operand(k)), b_.CreateConstInBoundsGEP2_64(at, arr, 0, k));
  LV status = b_.CreateCall(
      helper("ptlrt_print", b_.getInt32Ty(), {b_.getPtrTy(), b_.getInt32Ty(), b_.getPtrTy()}), {ctx_, i32(site), arr});
  llvm::BasicBlock *ok = block("print.ok");
  b_.CreateCondBr(b_.CreateICmpNE(status, i32(0)), fail_, ok);
  b_.SetInsertPoint(ok);
}

// map: y_k = stack over i in lo..hi of body(i)_k (new axis 0)
void Lowering::lowerMap(const ir::Op &op) {
  int64_t lo = op.intAttr("lo"), hi = op.intAttr("hi");
  const ir::Region &body = *op.region(0);
  std::set<std::string> seen;
  if (hi - lo >= 2 && iterationsIndependent(body, m_, seen)) {
    lowerParallelMap(op);
    return;
  }
  std::vector<LV> outs;
  for (unsigned r = 0; r < op.numResults(); ++r) outs.push_back(slot(op.result(r)->type()));
  LV iSlot = slot(4);
  loop(lo, hi, [&](LV iv) {
    store(DType::I32, b_.CreateTrunc(iv, b_.getInt32Ty()), iSlot, i64(0));
    bufs_[body.argument(0)] = iSlot;
    storeMapRow(op, outs, lowerRegion(body), iv);
  });
  for (unsigned r = 0; r < op.numResults(); ++r) bufs_[op.result(r)] = outs[r];
}

/// Copies iteration iv's values `ys` of map `op` into row iv - lo of each result `outs`.
void Lowering::storeMapRow(const ir::Op &op, const std::vector<LV> &outs, const std::vector<LV> &ys, LV iv) {
  const ir::Region &body = *op.region(0);
  for (unsigned r = 0; r < op.numResults(); ++r) {
    int64_t bytes = bytesOf(body.terminator()->operand(r)->type());
    if (bytes == 0) continue;
    LV row = b_.CreateMul(b_.CreateSub(iv, i64(op.intAttr("lo"))), i64(bytes));
    copy(b_.CreateInBoundsGEP(b_.getInt8Ty(), outs[r], row), ys[r], bytes);
  }
}

// map, in parallel: the body becomes a function of (ctx, env, iv) that
// writes row iv - lo of each result; env holds the buffers it reads from
// outside (the map's free values) and the result buffers. The runtime
// (ptlrt_parallel_map) runs the iterations on the worker pool, each in a
// context of its own, and reports the lowest failing iteration's fault.
void Lowering::lowerParallelMap(const ir::Op &op) {
  int64_t lo = op.intAttr("lo"), hi = op.intAttr("hi");
  std::vector<ir::Value *> captured = ir::freeValuesOf(op);
  std::vector<LV> outs;
  for (unsigned r = 0; r < op.numResults(); ++r) outs.push_back(slot(op.result(r)->type()));
  LV env = slot((int64_t)(8 * (captured.size() + outs.size())));
  size_t k = 0;
  for (ir::Value *v : captured)
    b_.CreateStore(buf(v), b_.CreateConstInBoundsGEP1_64(b_.getPtrTy(), env, k++));
  for (LV o : outs) b_.CreateStore(o, b_.CreateConstInBoundsGEP1_64(b_.getPtrTy(), env, k++));
  llvm::Function *bodyFn = outlineMapBody(op, captured);
  LV status = b_.CreateCall(helper("ptlrt_parallel_map", b_.getInt32Ty(),
                                   {b_.getPtrTy(), b_.getPtrTy(), b_.getPtrTy(), b_.getInt64Ty(), b_.getInt64Ty()}),
                            {ctx_, bodyFn, env, i64(lo), i64(hi)});
  llvm::BasicBlock *ok = block("map.ok");
  b_.CreateCondBr(b_.CreateICmpNE(status, i32(0)), fail_, ok);
  b_.SetInsertPoint(ok);
  for (unsigned r = 0; r < op.numResults(); ++r) bufs_[op.result(r)] = outs[r];
}

/// The body of `op` (a map) as a function i32(ctx, env, iv) with a frame of
/// its own, lowered with this Lowering's state saved around it.
llvm::Function *Lowering::outlineMapBody(const ir::Op &op, const std::vector<ir::Value *> &captured) {
  // Save the enclosing function's state.
  llvm::Function *savedFn = fn_;
  LV savedCtx = ctx_, savedFrame = frame_;
  int64_t savedFrameSize = frameSize_, savedLargest = largestSlot_;
  const ir::Op *savedLargestOp = largestSlotOp_;
  llvm::BasicBlock *savedFail = fail_;
  auto savedBufs = bufs_;
  llvm::IRBuilderBase::InsertPoint savedIp = b_.saveIP();
  llvm::DebugLoc savedLoc = b_.getCurrentDebugLocation();
  DebugInfo::Scope savedScope = debug_.scope();

  const ir::Region &body = *op.region(0);
  auto *ft = llvm::FunctionType::get(b_.getInt32Ty(), {b_.getPtrTy(), b_.getPtrTy(), b_.getInt64Ty()}, false);
  fn_ = llvm::Function::Create(ft, shareable(), savedFn->getName() + ".map" + std::to_string(mapCount_++), mod_);
  fn_->addFnAttr(llvm::Attribute::NoUnwind);
  if (lowered_) lowered_->push_back({fn_->getName().str(), fn_->getName().str(), owner_});
  debug_.beginFunction(*fn_, fn_->getName().str(), op.loc());
  b_.SetCurrentDebugLocation(debug_.at(op.loc()));
  llvm::CallInst *push = beginBody();
  LV env = fn_->getArg(1), iv = fn_->getArg(2);
  bufs_.clear();
  size_t k = 0;
  for (ir::Value *v : captured)
    bufs_[v] = b_.CreateLoad(b_.getPtrTy(), b_.CreateConstInBoundsGEP1_64(b_.getPtrTy(), env, k++));
  std::vector<LV> outs;
  for (unsigned r = 0; r < op.numResults(); ++r)
    outs.push_back(b_.CreateLoad(b_.getPtrTy(), b_.CreateConstInBoundsGEP1_64(b_.getPtrTy(), env, k++)));
  LV iSlot = slot(4);
  store(DType::I32, b_.CreateTrunc(iv, b_.getInt32Ty()), iSlot, i64(0));
  bufs_[body.argument(0)] = iSlot;
  storeMapRow(op, outs, lowerRegion(body), iv);
  finishBody(push);
  llvm::Function *outlined = fn_;

  // Back to the enclosing function.
  fn_ = savedFn;
  ctx_ = savedCtx;
  frame_ = savedFrame;
  frameSize_ = savedFrameSize;
  largestSlot_ = savedLargest;
  largestSlotOp_ = savedLargestOp;
  fail_ = savedFail;
  bufs_ = std::move(savedBufs);
  debug_.restore(savedScope);
  b_.restoreIP(savedIp);
  b_.SetCurrentDebugLocation(savedLoc);
  return outlined;
}

// stack: y[.., j, ..] = x_j along a new axis; concat: y = x1 ++ ... ++ xn along
// an existing axis. Both copy rows of `inner` elements.
void Lowering::lowerStackConcat(const ir::Op &op) {
  const ir::Type &t = op.result()->type();
  const Shape &s = t.shape;
  int64_t axis = op.intAttr("axis");
  if (axis < 0) axis += (int64_t)s.size();
  int64_t outer = 1, inner = 1;
  for (int64_t a = 0; a < axis; ++a) outer *= s[(size_t)a];
  for (size_t a = (size_t)axis + 1; a < s.size(); ++a) inner *= s[a];
  int64_t es = (int64_t)dtypeSize(t.dtype);
  int64_t rowOut = s[(size_t)axis] * inner * es, at = 0;
  LV out = slot(t);
  for (const ir::Value *x : op.operands()) {
    // bytes of one input row: one slice (stack) or its extent along axis (concat)
    int64_t rowIn = (op.kind() == OpKind::Stack ? 1 : x->type().shape[(size_t)axis]) * inner * es;
    LV src = buf(x);
    int64_t dstAt = at;
    loop(0, outer, [&](LV o) {
      LV dst = b_.CreateInBoundsGEP(b_.getInt8Ty(), out, b_.CreateAdd(b_.CreateMul(o, i64(rowOut)), i64(dstAt)));
      copy(dst, b_.CreateInBoundsGEP(b_.getInt8Ty(), src, b_.CreateMul(o, i64(rowIn))), rowIn);
    });
    at += rowIn;
  }
  bufs_[op.result()] = out;
}

// iota: y[i] = i (converted from a double, as Tensor::setDouble)
void Lowering::lowerIota(const ir::Op &op) {
  const ir::Type &t = op.result()->type();
  LV out = slot(t);
  loop(0, numElements(t.shape), [&](LV i) {
    LV v;
    if (isFloatT(t.dtype)) v = b_.CreateFPTrunc(b_.CreateSIToFP(i, b_.getDoubleTy()), elemTy(t.dtype));
    else if (t.dtype == DType::I32) v = b_.CreateTrunc(i, b_.getInt32Ty());
    else v = boolByte(b_.CreateICmpNE(i, i64(0)));
    store(t.dtype, v, out, i);
  });
  bufs_[op.result()] = out;
}

// random: the runtime fills the buffer (Philox keyed by seed and key)
void Lowering::lowerRandom(const ir::Op &op) {
  RandomSite r;
  r.dist = op.strAttr("dist");
  r.key = op.strAttr("key");
  bool gain = r.dist == "glorot" || r.dist == "orthogonal";
  r.a = op.floatAttr("a", gain ? 1.0 : 0.0);
  r.b = op.floatAttr("b", 1.0);
  r.type = op.result()->type();
  r.loc = locSite(op);
  sites_.randoms.push_back(r);
  LV out = slot(r.type);
  LV data = op.numOperands() > 1 ? buf(op.operand(1)) : llvm::ConstantPointerNull::get(b_.getPtrTy());
  LV status = b_.CreateCall(
      helper("ptlrt_random", b_.getInt32Ty(),
             {b_.getPtrTy(), b_.getInt32Ty(), b_.getPtrTy(), b_.getPtrTy(), b_.getPtrTy()}),
      {ctx_, i32((int32_t)sites_.randoms.size() - 1), buf(op.operand(0)), data, out});
  checkStatus(status, "random.ok");
  bufs_[op.result()] = out;
}

// check_bounds: y = x, after the runtime has checked the constraint
void Lowering::lowerCheckBounds(const ir::Op &op) {
  CheckSite c;
  c.spec.kind = *ConstraintSpec::kindFromName(op.strAttr("kind"));
  c.spec.lo = op.floatAttr("lo");
  c.spec.hi = op.floatAttr("hi");
  c.spec.closed = op.boolAttr("closed");
  c.path = op.strAttr("path");
  c.message = op.strAttr("message");
  c.type = op.operand(0)->type();
  c.loc = locSite(op);
  sites_.checks.push_back(c);
  LV step = op.numOperands() > 1 ? buf(op.operand(1)) : llvm::ConstantPointerNull::get(b_.getPtrTy());
  LV status = b_.CreateCall(
      helper("ptlrt_check_bounds", b_.getInt32Ty(), {b_.getPtrTy(), b_.getInt32Ty(), b_.getPtrTy(), b_.getPtrTy()}),
      {ctx_, i32((int32_t)sites_.checks.size() - 1), buf(op.operand(0)), step});
  checkStatus(status, "check.ok");
  bufs_[op.result()] = buf(op.operand(0));
}

void Lowering::staticFault(const ir::Op &op, const std::string &message) {
  sites_.messages.push_back(message);
  int32_t msg = (int32_t)sites_.messages.size() - 1;
  int32_t site = locSite(op);
  b_.CreateCall(helper("ptlrt_fault_msg", b_.getVoidTy(), {b_.getPtrTy(), b_.getInt32Ty(), b_.getInt32Ty()}),
                {ctx_, i32(site), i32(msg)});
  b_.CreateBr(fail_);
  b_.SetInsertPoint(block("unreachable"));
}

void Lowering::checkIndex(LV i, int64_t axis, int64_t n, int32_t site) {
  LV bad = b_.CreateOr(b_.CreateICmpSLT(i, i64(0)), b_.CreateICmpSGE(i, i64(n)));
  faultIf(bad, [&] {
    b_.CreateCall(helper("ptlrt_fault_index", b_.getVoidTy(),
                         {b_.getPtrTy(), b_.getInt32Ty(), b_.getInt64Ty(), b_.getInt64Ty(), b_.getInt64Ty()}),
                  {ctx_, i32(site), i, i64(axis), i64(n)});
  });
}

namespace {
/// outer * n * inner elements around `axis` of `s`.
void splitAxis(const Shape &s, int64_t axis, int64_t &outer, int64_t &n, int64_t &inner) {
  outer = 1;
  inner = 1;
  for (int64_t a = 0; a < axis; ++a) outer *= s[(size_t)a];
  n = s[(size_t)axis];
  for (size_t a = (size_t)axis + 1; a < s.size(); ++a) inner *= s[a];
}
int64_t normAxis(int64_t axis, size_t rank) { return axis < 0 ? axis + (int64_t)rank : axis; }
} // namespace

// logsumexp over axes: per output element m = max (maxNan from -inf) of the
// reduced elements in row-major order, s = sum of exp(x - m) from 0 in the
// same order if m is finite; y = m finite ? m + log(s) : m (runLogSumExp)
void Lowering::lowerLogSumExp(const ir::Op &op) {
  const ir::Type &t = op.result()->type();
  const Shape &xs = op.operand(0)->type().shape;
  DType dt = t.dtype;
  std::vector<bool> red = reducedAxes(op, xs.size());
  std::vector<int64_t> st = rowMajorStrides(xs);
  Shape keptShape, redShape;
  std::vector<int64_t> keptSt, redSt;
  for (size_t a = 0; a < xs.size(); ++a) {
    (red[a] ? redShape : keptShape).push_back(xs[a]);
    (red[a] ? redSt : keptSt).push_back(st[a]);
  }
  LV x = buf(op.operand(0));
  LV out = slot(t);
  llvm::AllocaInst *mx = entryAlloca(elemTy(dt), "max"), *acc = entryAlloca(elemTy(dt), "acc");
  std::vector<int64_t> outSt = rowMajorStrides(keptShape);
  llvm::Type *et = elemTy(dt);
  loopNest(keptShape, [&](const Indices &kept) {
    LV base = offset(kept, keptSt);
    b_.CreateStore(fconst(dt, -INFINITY), mx);
    loopNest(redShape, [&](const Indices &r) {
      LV v = load(dt, x, b_.CreateAdd(base, offset(r, redSt)));
      b_.CreateStore(maxNan(dt, b_.CreateLoad(et, mx), v), mx);
    });
    LV m = b_.CreateLoad(et, mx);
    LV finite = b_.CreateFCmpOLT(intrinsic(llvm::Intrinsic::fabs, dt, {m}), fconst(dt, INFINITY));
    b_.CreateStore(zeroOf(dt), acc);
    llvm::BasicBlock *sumBB = block("lse.sum"), *done = block("lse.done");
    b_.CreateCondBr(finite, sumBB, done);
    b_.SetInsertPoint(sumBB);
    loopNest(redShape, [&](const Indices &r) {
      LV v = load(dt, x, b_.CreateAdd(base, offset(r, redSt)));
      LV e = expOf(dt, b_.CreateFSub(v, m));
      b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(et, acc), e), acc);
    });
    b_.CreateBr(done);
    b_.SetInsertPoint(done);
    LV s = b_.CreateLoad(et, acc);
    // log only on the finite path (select of a call would still call it)
    llvm::BasicBlock *logBB = block("lse.log"), *merge = block("lse.merge");
    llvm::BasicBlock *from = b_.GetInsertBlock();
    b_.CreateCondBr(finite, logBB, merge);
    b_.SetInsertPoint(logBB);
    LV withLog = b_.CreateFAdd(m, logOf(dt, s));
    b_.CreateBr(merge);
    b_.SetInsertPoint(merge);
    llvm::PHINode *y = b_.CreatePHI(et, 2);
    y->addIncoming(m, from);
    y->addIncoming(withLog, logBB);
    store(dt, y, out, offset(kept, outSt));
  });
  bufs_[op.result()] = out;
}

// argmax along axis (or over all elements, flat, for axis -1): the index of
// the first maximum, or of the first NaN (runArgMax); no elements is a fault
void Lowering::lowerArgMax(const ir::Op &op) {
  const ir::Type &xt = op.operand(0)->type();
  DType dt = xt.dtype;
  int64_t axis = op.intAttr("axis", -1);
  int64_t total = numElements(xt.shape);
  if (total == 0) staticFault(op, "argmax of an empty tensor " + typeString(dt, xt.shape));
  int64_t outer = 1, n = total, inner = 1;
  if (axis >= 0) splitAxis(xt.shape, axis, outer, n, inner);
  LV x = buf(op.operand(0));
  LV out = slot(op.result()->type());
  llvm::Type *et = elemTy(dt);
  llvm::AllocaInst *bvA = entryAlloca(et, "best.v"), *biA = entryAlloca(b_.getInt64Ty(), "best.i");
  bool fl = isFloatT(dt);
  if (total > 0)
    loop(0, outer, [&](LV o) {
      loop(0, inner, [&](LV in) {
        LV first = b_.CreateAdd(b_.CreateMul(o, i64(n * inner)), in);
        b_.CreateStore(load(dt, x, first), bvA);
        b_.CreateStore(i64(0), biA);
        loop(1, n, [&](LV j) {
          LV v = load(dt, x, b_.CreateAdd(first, b_.CreateMul(j, i64(inner))));
          LV bv = b_.CreateLoad(et, bvA);
          // once the best is NaN nothing replaces it
          LV take = fl ? b_.CreateAnd(b_.CreateNot(isNan(bv)), b_.CreateOr(isNan(v), b_.CreateFCmpOGT(v, bv)))
                       : b_.CreateICmpSGT(v, bv);
          b_.CreateStore(b_.CreateSelect(take, v, bv), bvA);
          b_.CreateStore(b_.CreateSelect(take, j, b_.CreateLoad(b_.getInt64Ty(), biA)), biA);
        });
        store(DType::I32, b_.CreateTrunc(b_.CreateLoad(b_.getInt64Ty(), biA), b_.getInt32Ty()), out,
              b_.CreateAdd(b_.CreateMul(o, i64(inner)), in));
      });
    });
  bufs_[op.result()] = out;
}

// softmax / log_softmax along axis: m = max (maxNan from -inf), s = sum of
// exp(x - m) from 0, j ascending; softmax y = exp(x - m) / s, log_softmax
// y = (x - m) - log s (softmaxLike)
void Lowering::lowerSoftmax(const ir::Op &op) {
  const ir::Type &t = op.result()->type();
  DType dt = t.dtype;
  int64_t outer, n, inner;
  splitAxis(t.shape, normAxis(op.intAttr("axis"), t.shape.size()), outer, n, inner);
  bool isLog = op.kind() == OpKind::LogSoftmax;
  LV x = buf(op.operand(0));
  LV out = slot(t);
  llvm::Type *et = elemTy(dt);
  llvm::AllocaInst *mx = entryAlloca(et, "max"), *acc = entryAlloca(et, "sum");
  loop(0, outer, [&](LV o) {
    loop(0, inner, [&](LV in) {
      LV first = b_.CreateAdd(b_.CreateMul(o, i64(n * inner)), in);
      auto at = [&](LV j) { return b_.CreateAdd(first, b_.CreateMul(j, i64(inner))); };
      b_.CreateStore(fconst(dt, -INFINITY), mx);
      loop(0, n, [&](LV j) { b_.CreateStore(maxNan(dt, b_.CreateLoad(et, mx), load(dt, x, at(j))), mx); });
      LV m = b_.CreateLoad(et, mx);
      b_.CreateStore(zeroOf(dt), acc);
      loop(0, n, [&](LV j) {
        LV e = expOf(dt, b_.CreateFSub(load(dt, x, at(j)), m));
        b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(et, acc), e), acc);
      });
      LV s = b_.CreateLoad(et, acc);
      if (isLog) {
        LV ls = logOf(dt, s);
        loop(0, n, [&](LV j) { store(dt, b_.CreateFSub(b_.CreateFSub(load(dt, x, at(j)), m), ls), out, at(j)); });
      } else {
        loop(0, n, [&](LV j) {
          LV e = expOf(dt, b_.CreateFSub(load(dt, x, at(j)), m));
          store(dt, b_.CreateFDiv(e, s), out, at(j));
        });
      }
    });
  });
  bufs_[op.result()] = out;
}

// cumsum along axis: acc = 0; y_j = acc = acc + x_j, j ascending (i32 wraps)
void Lowering::lowerCumSum(const ir::Op &op) {
  const ir::Type &t = op.result()->type();
  DType dt = t.dtype;
  int64_t outer, n, inner;
  splitAxis(t.shape, normAxis(op.intAttr("axis"), t.shape.size()), outer, n, inner);
  LV x = buf(op.operand(0));
  LV out = slot(t);
  llvm::AllocaInst *acc = entryAlloca(elemTy(dt), "acc");
  loop(0, outer, [&](LV o) {
    loop(0, inner, [&](LV in) {
      LV first = b_.CreateAdd(b_.CreateMul(o, i64(n * inner)), in);
      b_.CreateStore(zeroOf(dt), acc);
      loop(0, n, [&](LV j) {
        LV i = b_.CreateAdd(first, b_.CreateMul(j, i64(inner)));
        LV a = addElem(dt, b_.CreateLoad(elemTy(dt), acc), load(dt, x, i));
        b_.CreateStore(a, acc);
        store(dt, a, out, i);
      });
    });
  });
  bufs_[op.result()] = out;
}

// take along axis: every index checked first (0 <= idx[j] < n, in order of
// j), then y[o, j, in] = x[o, idx[j], in] (runTake)
void Lowering::lowerTake(const ir::Op &op) {
  const ir::Type &xt = op.operand(0)->type();
  DType dt = xt.dtype;
  int64_t axis = normAxis(op.intAttr("axis"), xt.shape.size());
  int64_t outer, n, inner;
  splitAxis(xt.shape, axis, outer, n, inner);
  int64_t m = numElements(op.operand(1)->type().shape);
  LV x = buf(op.operand(0)), idx = buf(op.operand(1));
  LV out = slot(op.result()->type());
  int32_t site = locSite(op);
  auto indexAt = [&](LV j) { return b_.CreateSExt(load(DType::I32, idx, j), b_.getInt64Ty()); };
  loop(0, m, [&](LV j) { checkIndex(indexAt(j), axis, n, site); });
  int64_t es = (int64_t)dtypeSize(dt);
  loop(0, outer, [&](LV o) {
    loop(0, m, [&](LV j) {
      LV src = b_.CreateMul(b_.CreateAdd(b_.CreateMul(o, i64(n)), indexAt(j)), i64(inner));
      LV dst = b_.CreateMul(b_.CreateAdd(b_.CreateMul(o, i64(m)), j), i64(inner));
      if (inner == 1) store(dt, load(dt, x, src), out, dst);
      else copy(elemPtr(dt, out, dst), elemPtr(dt, x, src), inner * es);
    });
  });
  bufs_[op.result()] = out;
}

// scatter_add along axis: indices checked first; y = x; then
// y[o, idx[j], in] += v[o, j, in] for o, j, in ascending (runScatterAdd)
void Lowering::lowerScatterAdd(const ir::Op &op) {
  const ir::Type &xt = op.operand(0)->type();
  DType dt = xt.dtype;
  int64_t axis = normAxis(op.intAttr("axis"), xt.shape.size());
  int64_t outer, n, inner;
  splitAxis(xt.shape, axis, outer, n, inner);
  int64_t m = numElements(op.operand(1)->type().shape);
  LV x = buf(op.operand(0)), idx = buf(op.operand(1)), v = buf(op.operand(2));
  LV out = slot(xt);
  int32_t site = locSite(op);
  auto indexAt = [&](LV j) { return b_.CreateSExt(load(DType::I32, idx, j), b_.getInt64Ty()); };
  loop(0, m, [&](LV j) { checkIndex(indexAt(j), axis, n, site); });
  copy(out, x, bytesOf(xt));
  loop(0, outer, [&](LV o) {
    loop(0, m, [&](LV j) {
      LV dstBase = b_.CreateMul(b_.CreateAdd(b_.CreateMul(o, i64(n)), indexAt(j)), i64(inner));
      LV srcBase = b_.CreateMul(b_.CreateAdd(b_.CreateMul(o, i64(m)), j), i64(inner));
      loop(0, inner, [&](LV in) {
        LV d = b_.CreateAdd(dstBase, in);
        store(dt, addElem(dt, load(dt, out, d), load(dt, v, b_.CreateAdd(srcBase, in))), out, d);
      });
    });
  });
  bufs_[op.result()] = out;
}

// index_add: 0 <= i < x.shape[0], else a fault; y = x; y[i] += v (runIndexAdd)
void Lowering::lowerIndexAdd(const ir::Op &op) {
  const ir::Type &xt = op.operand(0)->type();
  DType dt = xt.dtype;
  int64_t n = xt.shape.empty() ? 0 : xt.shape[0];
  int64_t row = numElements(op.operand(2)->type().shape);
  LV i = b_.CreateSExt(load(DType::I32, buf(op.operand(1)), i64(0)), b_.getInt64Ty());
  checkIndex(i, 0, n, locSite(op));
  LV out = slot(xt), v = buf(op.operand(2));
  copy(out, buf(op.operand(0)), bytesOf(xt));
  LV base = b_.CreateMul(i, i64(row));
  loop(0, row, [&](LV j) {
    LV d = b_.CreateAdd(base, j);
    store(dt, addElem(dt, load(dt, out, d), load(dt, v, j)), out, d);
  });
  bufs_[op.result()] = out;
}

// pad: y = zeros of T; y[starts + o] = x[o] (runPad)
void Lowering::lowerPad(const ir::Op &op) {
  const ir::Type &t = op.result()->type(), &xt = op.operand(0)->type();
  std::vector<int64_t> starts = op.intsAttr("starts");
  std::vector<int64_t> st = rowMajorStrides(t.shape), xst = rowMajorStrides(xt.shape);
  int64_t base = 0;
  for (size_t a = 0; a < starts.size(); ++a) base += starts[a] * st[a];
  LV out = slot(t), x = buf(op.operand(0));
  zeroFill(out, bytesOf(t));
  if (numElements(xt.shape) > 0)
    loopNest(xt.shape, [&](const Indices &idx) {
      store(t.dtype, load(t.dtype, x, offset(idx, xst)), out, offset(idx, st, base));
    });
  bufs_[op.result()] = out;
}

// one_hot: y = zeros; y[i, labels[i]] = 1 for i ascending, a label outside
// [0, depth) a fault (runOneHot)
void Lowering::lowerOneHot(const ir::Op &op) {
  const ir::Type &t = op.result()->type();
  int64_t depth = t.shape.back();
  int64_t n = numElements(op.operand(0)->type().shape);
  LV out = slot(t), labels = buf(op.operand(0));
  zeroFill(out, bytesOf(t));
  int32_t site = locSite(op);
  loop(0, n, [&](LV i) {
    LV v = b_.CreateSExt(load(DType::I32, labels, i), b_.getInt64Ty());
    faultIf(b_.CreateOr(b_.CreateICmpSLT(v, i64(0)), b_.CreateICmpSGE(v, i64(depth))), [&] {
      b_.CreateCall(helper("ptlrt_fault_one_hot", b_.getVoidTy(),
                           {b_.getPtrTy(), b_.getInt32Ty(), b_.getInt64Ty(), b_.getInt64Ty()}),
                    {ctx_, i32(site), v, i64(depth)});
    });
    LV one = isFloatT(t.dtype) ? fconst(t.dtype, 1.0) : t.dtype == DType::I32 ? i32(1) : b_.getInt8(1);
    store(t.dtype, one, out, b_.CreateAdd(b_.CreateMul(i, i64(depth)), v));
  });
  bufs_[op.result()] = out;
}

// load_npy, save_npy, load_csv, save, load, train_progress: the interpreter's
// kernel runs on the host (ptlrt_host_op), reading the operand buffers and
// filling the result buffers
void Lowering::lowerHostOp(const ir::Op &op) {
  HostOpSite h;
  h.op = &op;
  h.name = op.name();
  if (op.kind() == OpKind::TrainProgress) h.total = op.intAttr("total");
  if (op.kind() == OpKind::TrainNonfinite) h.paths = op.strsAttr("paths");
  for (const ir::Value *v : op.operands()) h.operands.push_back(v->type());
  h.loc = locSite(op);
  sites_.hostOps.push_back(h);
  int32_t site = (int32_t)sites_.hostOps.size() - 1;
  unsigned nIn = op.numOperands(), nOut = op.numResults();
  llvm::ArrayType *inT = llvm::ArrayType::get(b_.getPtrTy(), std::max(1u, nIn));
  llvm::ArrayType *outT = llvm::ArrayType::get(b_.getPtrTy(), std::max(1u, nOut));
  LV ins = entryAlloca(inT, "host.in"), outs = entryAlloca(outT, "host.out");
  std::vector<LV> inPtrs, outPtrs;
  for (unsigned k = 0; k < nIn; ++k) inPtrs.push_back(buf(op.operand(k)));
  for (unsigned r = 0; r < nOut; ++r) {
    bufs_[op.result(r)] = slot(op.result(r)->type());
    outPtrs.push_back(bufs_[op.result(r)]);
  }
  fillPointerArray(inT, ins, inPtrs, "host.in");
  fillPointerArray(outT, outs, outPtrs, "host.out");
  LV status = b_.CreateCall(helper("ptlrt_host_op", b_.getInt32Ty(),
                                   {b_.getPtrTy(), b_.getInt32Ty(), b_.getPtrTy(), b_.getPtrTy()}),
                            {ctx_, i32(site), ins, outs});
  checkStatus(status, "host.ok");
}

// array[k] = ptrs[k]: the pointers known when compiling (constants, and
// frame slots: frame + a constant offset) from constant tables by one loop,
//   array[index[j]] = (base[j] ? base[j] : frame) + offset[j],
// the others stored one by one. One straight-line store per pointer made a
// block whose instruction scheduling grows with the square of its size (a
// 20000-column load_csv, or saving a model of 3000 parameters, took most of a
// minute to compile).
void Lowering::fillPointerArray(llvm::ArrayType *arrT, LV array, const std::vector<LV> &ptrs, const char *name) {
  std::vector<llvm::Constant *> index, base, offset;
  llvm::Constant *none = llvm::ConstantPointerNull::get(b_.getPtrTy());
  for (size_t k = 0; k < ptrs.size(); ++k) {
    LV p = ptrs[k];
    auto *gep = llvm::dyn_cast<llvm::GetElementPtrInst>(p);
    if (auto *c = llvm::dyn_cast<llvm::Constant>(p)) {
      base.push_back(c);
      offset.push_back(b_.getInt64(0));
    } else if (gep && gep->getPointerOperand() == frame_ && gep->getNumIndices() == 1 &&
               gep->getSourceElementType()->isIntegerTy(8) && llvm::isa<llvm::ConstantInt>(gep->getOperand(1))) {
      base.push_back(none);
      offset.push_back(llvm::cast<llvm::ConstantInt>(gep->getOperand(1)));
    } else {
      b_.CreateStore(p, b_.CreateConstInBoundsGEP2_64(arrT, array, 0, k));
      continue;
    }
    index.push_back(b_.getInt64(k));
  }
  if (index.empty()) return;
  auto table = [&](llvm::Type *elem, const std::vector<llvm::Constant *> &values, const std::string &what) {
    llvm::ArrayType *t = llvm::ArrayType::get(elem, values.size());
    return new llvm::GlobalVariable(mod_, t, /*isConstant=*/true, llvm::GlobalValue::PrivateLinkage,
                                    llvm::ConstantArray::get(t, values), std::string(name) + "." + what);
  };
  llvm::GlobalVariable *indexT = table(b_.getInt64Ty(), index, "index"), *baseT = table(b_.getPtrTy(), base, "base"),
                       *offsetT = table(b_.getInt64Ty(), offset, "offset");
  auto at = [&](llvm::GlobalVariable *g, llvm::Type *elem, LV j) {
    return b_.CreateLoad(elem, b_.CreateInBoundsGEP(g->getValueType(), g, {i64(0), j}));
  };
  loop(0, (int64_t)index.size(), [&](LV j) {
    LV b = at(baseT, b_.getPtrTy(), j);
    LV from = b_.CreateSelect(b_.CreateIsNull(b), frame_, b);
    LV p = b_.CreateInBoundsGEP(b_.getInt8Ty(), from, at(offsetT, b_.getInt64Ty(), j));
    b_.CreateStore(p, b_.CreateInBoundsGEP(arrT, array, {i64(0), at(indexT, b_.getInt64Ty(), j)}));
  });
}

void Lowering::declare(const ir::Function &f, bool defined) {
  std::vector<llvm::Type *> params(1 + f.body().numArguments() + f.resultTypes().size(), b_.getPtrTy());
  auto *ft = llvm::FunctionType::get(b_.getInt32Ty(), params, false);
  llvm::Function *lf = llvm::Function::Create(ft, defined ? shareable() : llvm::GlobalValue::ExternalLinkage,
                                              prefix_ + f.name(), mod_);
  lf->addFnAttr(llvm::Attribute::NoUnwind);
  // Result buffers are fresh: they alias nothing else.
  for (size_t r = 0; r < f.resultTypes().size(); ++r)
    lf->addParamAttr((unsigned)(1 + f.body().numArguments() + r), llvm::Attribute::NoAlias);
  fns_[f.name()] = lf;
}

llvm::CallInst *Lowering::beginBody() {
  frameSize_ = 0;
  largestSlot_ = 0;
  largestSlotOp_ = nullptr;
  llvm::BasicBlock *entry = block("entry");
  llvm::BasicBlock *noFrame = block("noframe"), *start = block("start");
  fail_ = block("fail");
  b_.SetInsertPoint(entry);
  ctx_ = fn_->getArg(0);
  llvm::CallInst *push = b_.CreateCall(
      helper("ptlrt_frame_push", b_.getPtrTy(), {b_.getPtrTy(), b_.getInt64Ty(), b_.getInt32Ty()}),
      {ctx_, i64(0), i32(-1)});
  frame_ = push;
  b_.CreateCondBr(b_.CreateIsNull(push), noFrame, start);
  b_.SetInsertPoint(noFrame);
  b_.CreateRet(i32(1));
  b_.SetInsertPoint(fail_);
  b_.CreateCall(helper("ptlrt_frame_pop", b_.getVoidTy(), {b_.getPtrTy()}), {ctx_});
  b_.CreateRet(i32(1));
  b_.SetInsertPoint(start);
  return push;
}

void Lowering::finishBody(llvm::CallInst *push) {
  b_.CreateCall(helper("ptlrt_frame_pop", b_.getVoidTy(), {b_.getPtrTy()}), {ctx_});
  b_.CreateRet(i32(0));
  push->setArgOperand(1, i64(frameSize_));
  if (largestSlotOp_) push->setArgOperand(2, i32(locSite(*largestSlotOp_)));
}

void Lowering::define(const ir::Function &f) {
  owner_ = &f;
  mapCount_ = 0;
  fn_ = fns_.at(f.name());
  if (lowered_) lowered_->push_back({fn_->getName().str(), fn_->getName().str(), &f});
  debug_.beginFunction(*fn_, f.name(), f.loc());
  b_.SetCurrentDebugLocation(debug_.at(f.loc()));
  bufs_.clear();
  inlined_.clear();
  findFusion(f.body());
  llvm::CallInst *push = beginBody();
  unsigned nArgs = f.body().numArguments();
  for (unsigned i = 0; i < nArgs; ++i) bufs_[f.body().argument(i)] = fn_->getArg(1 + i);
  // Results made by a call or a fused loop go straight into the caller's
  // result buffers (as lowerFor does for carried values).
  for (unsigned r = 0; r < f.resultTypes().size(); ++r) {
    const ir::Value *y = f.body().terminator()->operand(r);
    if (placeable(*y, f.body())) placed_[y] = fn_->getArg(1 + nArgs + r);
  }
  std::vector<LV> results = lowerRegion(f.body());
  placed_.clear();
  for (size_t r = 0; r < results.size(); ++r) {
    LV dst = fn_->getArg((unsigned)(1 + nArgs + r));
    if (results[r] != dst) copy(dst, results[r], bytesOf(f.resultTypes()[r]));
  }
  b_.SetCurrentDebugLocation(debug_.at(f.loc()));
  finishBody(push);
  debug_.endFunction();
  b_.SetCurrentDebugLocation(llvm::DebugLoc());
}

void Lowering::defineEntry(const ir::Function &f) {
  auto *ft = llvm::FunctionType::get(b_.getInt32Ty(), {b_.getPtrTy(), b_.getPtrTy(), b_.getPtrTy()}, false);
  llvm::Function *e = llvm::Function::Create(ft, llvm::GlobalValue::ExternalLinkage,
                                             entrySymbol(prefix_, f.name()), mod_);
  e->addFnAttr(llvm::Attribute::NoUnwind);
  if (lowered_) lowered_->push_back({e->getName().str(), fns_.at(f.name())->getName().str(), &f, true});
  b_.SetInsertPoint(llvm::BasicBlock::Create(c_, "entry", e));
  std::vector<LV> args{e->getArg(0)};
  for (unsigned i = 0; i < f.body().numArguments(); ++i)
    args.push_back(b_.CreateLoad(b_.getPtrTy(), b_.CreateConstInBoundsGEP1_64(b_.getPtrTy(), e->getArg(1), i)));
  for (unsigned r = 0; r < f.resultTypes().size(); ++r)
    args.push_back(b_.CreateLoad(b_.getPtrTy(), b_.CreateConstInBoundsGEP1_64(b_.getPtrTy(), e->getArg(2), r)));
  b_.CreateRet(b_.CreateCall(fns_.at(f.name()), args));
}

} // namespace

void verifyLowered(const llvm::Module &m) {
  std::string message;
  llvm::raw_string_ostream os(message);
  if (!llvm::verifyModule(m, &os)) return;
  os.flush();
  PTL_UNREACHABLE("invalid LLVM IR generated: " + message);
}

void lowerFunctions(const ir::Module &m, const std::vector<const ir::Function *> &functions,
                    const std::string &prefix, llvm::Module &out, SiteTables &sites, SplitLowering *split) {
  sites.files = m.files();
  Lowering l(m, out, sites, prefix);
  if (split) l.splitInto(split->lowered);
  for (const ir::Function *f : functions) l.declare(*f);
  if (split)
    for (const ir::Function *f : split->elsewhere) l.declare(*f, /*defined=*/false);
  for (const ir::Function *f : functions) {
    l.define(*f);
    l.defineEntry(*f);
  }
  l.finish();
}

} // namespace ptl::backend
