//===- backend/ProgramKey.cpp - The code cache's key of a program -------------===//
//
// See ProgramKey.h. The modules are printed straight into the hasher (no
// copy of the text is kept).
//
//===----------------------------------------------------------------------===//
#include "backend/ProgramKey.h"

#include "backend/JIT.h"

#include <llvm/Config/llvm-config.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/raw_ostream.h>

#include <cstdlib>

#include <dlfcn.h>
#include <sys/stat.h>

#ifndef PTL_VERSION
#define PTL_VERSION "unknown"
#endif

namespace ptl::backend {

namespace {
/// An output stream that feeds a KeyBuilder's open part.
class HashingStream : public llvm::raw_ostream {
public:
  explicit HashingStream(KeyBuilder &key) : key_(key) {}
  ~HashingStream() override { flush(); }

private:
  void write_impl(const char *p, size_t n) override {
    key_.append(std::string_view(p, n));
    pos_ += n;
  }
  uint64_t current_pos() const override { return pos_; }
  KeyBuilder &key_;
  uint64_t pos_ = 0;
};
} // namespace

const std::string &buildIdentity() {
  static const std::string id = [] {
    std::string s = std::string("ptl ") + PTL_VERSION;
    Dl_info info{};
    struct stat st {};
    if (::dladdr(reinterpret_cast<void *>(&programKey), &info) && info.dli_fname &&
        ::stat(info.dli_fname, &st) == 0)
      s += std::string(" build ") + info.dli_fname + " size=" + std::to_string((long long)st.st_size) +
           " mtime=" + std::to_string((long long)st.st_mtim.tv_sec) + "." +
           std::to_string((long long)st.st_mtim.tv_nsec) + " inode=" + std::to_string((long long)st.st_ino);
    else
      s += " build " __DATE__ " " __TIME__; // no file to stat: the compile time of this file
    return s;
  }();
  return id;
}

CacheKey programKey(const std::vector<const llvm::Module *> &modules, const JIT &jit, int optLevel) {
  KeyBuilder key;
  key.add("format", "ptl code cache 1");
  key.add("build", buildIdentity());
  key.add("llvm", LLVM_VERSION_STRING);
  key.add("target", jit.targetDescription());
  key.add("opt-level", std::to_string(optLevel));
  const char *llvmArgs = std::getenv("PTL_LLVM_ARGS");
  key.add("llvm-args", llvmArgs ? llvmArgs : "");
  key.add("parts", std::to_string(modules.size()));
  for (const llvm::Module *m : modules) {
    key.begin("module");
    {
      HashingStream os(key);
      m->print(os, nullptr);
    }
    key.end();
  }
  return key.digest();
}

CacheKey entryKey(const CacheKey &program, const std::string &prefix) {
  KeyBuilder key;
  key.add("program", std::string_view((const char *)program.data(), program.size()));
  key.add("prefix", prefix);
  return key.digest();
}

} // namespace ptl::backend
