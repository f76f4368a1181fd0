//===- backend/CodeCache.cpp - Compiled objects kept across processes ---------===//
//
// See CodeCache.h. Entries are immutable once renamed into place, so reading
// needs no lock; a file deleted by another process's eviction while we read
// it stays readable through our descriptor (POSIX unlink semantics).
//
//===----------------------------------------------------------------------===//
#include "backend/CodeCache.h"

#include "runtime/Errors.h"
#include "runtime/SafeWrite.h"
#include "runtime/Sandbox.h"

#include <llvm/Support/BLAKE3.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>

namespace fs = std::filesystem;

namespace ptl::backend {

namespace {
constexpr char kMagic[8] = {'P', 'T', 'L', 'O', 'B', 'J', 'C', '\n'};
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kHeaderBytes = 8 + 4 + 4 + 32 + 8 + 32;
constexpr const char *kEntrySuffix = ".ptlo";

void putU32(std::string &s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back((char)((v >> (8 * i)) & 0xff));
}
void putU64(std::string &s, uint64_t v) {
  for (int i = 0; i < 8; ++i) s.push_back((char)((v >> (8 * i)) & 0xff));
}
uint64_t getLE(const std::string &s, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= (uint64_t)(uint8_t)s[at + (size_t)i] << (8 * i);
  return v;
}

CacheKey blake3(std::string_view bytes) {
  llvm::BLAKE3 h;
  h.update(llvm::StringRef(bytes.data(), bytes.size()));
  CacheKey out;
  h.final(out);
  return out;
}

/// A non-empty environment variable, or null.
const char *env(const char *name) {
  const char *v = std::getenv(name);
  return v && *v ? v : nullptr;
}

/// The cache directory from the options and the environment ("" if none).
std::string resolveDirectory(const CodeCacheOptions &o) {
  if (!o.dir.empty()) return o.dir;
  if (const char *d = env("PTL_CACHE_DIR")) return d;
  if (const char *x = env("XDG_CACHE_HOME")) return (fs::path(x) / "ptl").string();
  if (const char *h = env("HOME")) return (fs::path(h) / ".cache" / "ptl").string();
  return "";
}

/// The size bound from the options and $PTL_CACHE_MAX_MB (a number of
/// megabytes >= 0; anything else is ignored).
int64_t resolveBound(const CodeCacheOptions &o) {
  if (o.maxBytes > 0) return o.maxBytes;
  if (const char *m = env("PTL_CACHE_MAX_MB")) {
    char *end = nullptr;
    double mb = std::strtod(m, &end);
    if (end && *end == 0 && mb >= 0 && mb < 1e9) return (int64_t)(mb * (1 << 20));
    cacheDebug(std::string("ignoring PTL_CACHE_MAX_MB='") + m + "' (not a number of megabytes)");
  }
  return kDefaultCacheMaxBytes;
}
} // namespace

void cacheDebug(const std::string &line) {
  static const bool on = env("PTL_CACHE_DEBUG") != nullptr;
  if (on) std::cerr << "ptl-cache: " << line << "\n";
}

std::string keyHex(const CacheKey &key) {
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : key) {
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return s;
}

//===----------------------------------------------------------------------===//
// Keys
//===----------------------------------------------------------------------===//

struct KeyBuilder::Impl {
  llvm::BLAKE3 hasher;
  uint64_t pending = 0; ///< bytes appended to the open part
};

KeyBuilder::KeyBuilder() : impl_(new Impl) {}
KeyBuilder::~KeyBuilder() { delete impl_; }

void KeyBuilder::add(std::string_view label, std::string_view value) {
  begin(label);
  append(value);
  end();
}

void KeyBuilder::begin(std::string_view label) {
  std::string frame;
  putU64(frame, label.size());
  impl_->hasher.update(llvm::StringRef(frame));
  impl_->hasher.update(llvm::StringRef(label.data(), label.size()));
  impl_->pending = 0;
}

void KeyBuilder::append(std::string_view piece) {
  impl_->hasher.update(llvm::StringRef(piece.data(), piece.size()));
  impl_->pending += piece.size();
}

void KeyBuilder::end() {
  // The length after the value: "a"+"bc" and "ab"+"c" differ in it.
  std::string frame;
  putU64(frame, impl_->pending);
  impl_->hasher.update(llvm::StringRef(frame));
}

CacheKey KeyBuilder::digest() const {
  CacheKey out;
  llvm::BLAKE3 copy = impl_->hasher; // final() leaves the hasher usable, but keep digest() const-clean
  copy.final(out);
  return out;
}

//===----------------------------------------------------------------------===//
// Entries
//===----------------------------------------------------------------------===//

std::string encodeCacheEntry(const CacheKey &key, const std::vector<std::string> &objects) {
  std::string payload;
  for (const std::string &o : objects) {
    putU64(payload, o.size());
    payload += o;
  }
  std::string out(kMagic, sizeof kMagic);
  putU32(out, kFormatVersion);
  putU32(out, (uint32_t)objects.size());
  out.append((const char *)key.data(), key.size());
  putU64(out, payload.size());
  CacheKey sum = blake3(payload);
  out.append((const char *)sum.data(), sum.size());
  out += payload;
  return out;
}

bool decodeCacheEntry(const std::string &bytes, const CacheKey &key, std::vector<std::string> &objects,
                      std::string &why) {
  objects.clear();
  if (bytes.size() < kHeaderBytes) return why = "shorter than its header", false;
  if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) return why = "not a PTL cache entry", false;
  if (getLE(bytes, 8, 4) != kFormatVersion) return why = "another format version", false;
  uint64_t count = getLE(bytes, 12, 4);
  if (std::memcmp(bytes.data() + 16, key.data(), key.size()) != 0) return why = "another key", false;
  uint64_t payloadBytes = getLE(bytes, 48, 8);
  if (payloadBytes != bytes.size() - kHeaderBytes) return why = "truncated or padded", false;
  std::string_view payload(bytes.data() + kHeaderBytes, (size_t)payloadBytes);
  CacheKey sum = blake3(payload);
  if (std::memcmp(bytes.data() + 56, sum.data(), sum.size()) != 0) return why = "checksum mismatch", false;
  size_t at = kHeaderBytes;
  for (uint64_t i = 0; i < count; ++i) {
    if (bytes.size() - at < 8) return why = "object table overruns the entry", false;
    uint64_t n = getLE(bytes, at, 8);
    at += 8;
    if (n > bytes.size() - at) return why = "object overruns the entry", false;
    objects.emplace_back(bytes, at, (size_t)n);
    at += (size_t)n;
  }
  if (at != bytes.size() || objects.empty()) return why = "object table does not fill the entry", false;
  return true;
}

//===----------------------------------------------------------------------===//
// The directory
//===----------------------------------------------------------------------===//

CodeCache::CodeCache(const CodeCacheOptions &opts) {
  dir_ = opts.enabled ? resolveDirectory(opts) : "";
  enabled_ = !dir_.empty();
  maxBytes_ = resolveBound(opts);
}

std::string CodeCache::entryPath(const CacheKey &key) const {
  return (fs::path(dir_) / (keyHex(key) + kEntrySuffix)).string();
}

bool CodeCache::load(const CacheKey &key, std::vector<std::string> &objects) const {
  if (!enabled_) return false;
  std::string path = entryPath(key);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    cacheDebug("miss " + keyHex(key));
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string why;
  if (!decodeCacheEntry(ss.str(), key, objects, why)) {
    std::error_code ec;
    fs::remove(path, ec);
    cacheDebug("bad entry " + keyHex(key) + " (" + why + "): removed; miss");
    return false;
  }
  ::utimensat(AT_FDCWD, path.c_str(), nullptr, 0); // recently used (best effort)
  cacheDebug("hit " + keyHex(key));
  return true;
}

void CodeCache::store(const CacheKey &key, const std::vector<std::string> &objects) const {
  if (!enabled_) return;
  std::string bytes = encodeCacheEntry(key, objects);
  if ((int64_t)bytes.size() > maxBytes_) {
    cacheDebug("not stored " + keyHex(key) + ": " + std::to_string(bytes.size()) + " bytes exceed the bound");
    return;
  }
  std::error_code ec;
  fs::create_directories(dir_, ec);
  try {
    // The compiler's own file, not a script's: outside the script's sandbox.
    ScopedPathPolicy anyPath{PathPolicy()};
    writeFileAtomically(entryPath(key), bytes);
  } catch (const RuntimeFault &f) {
    cacheDebug(std::string("not stored: ") + f.what());
    return;
  }
  cacheDebug("stored " + keyHex(key) + " (" + std::to_string(bytes.size()) + " bytes)");
  evict();
}

void CodeCache::remove(const CacheKey &key) const {
  std::error_code ec;
  if (enabled_) fs::remove(entryPath(key), ec);
}

void CodeCache::evict() const {
  struct Entry {
    fs::path path;
    int64_t bytes;
    fs::file_time_type time;
  };
  std::vector<Entry> entries;
  int64_t total = 0;
  std::error_code ec;
  auto now = fs::file_time_type::clock::now();
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code e2;
    std::string name = it->path().filename().string();
    bool entry = name.size() > 5 && name.compare(name.size() - 5, 5, kEntrySuffix) == 0;
    bool partial = name.find(".ptlo.ptl-partial-") != std::string::npos;
    if (!entry && !partial) continue; // not ours
    int64_t bytes = (int64_t)it->file_size(e2);
    fs::file_time_type time = it->last_write_time(e2);
    if (e2) continue; // gone meanwhile
    if (partial) {    // a writer killed between naming and renaming its file
      if (now - time > std::chrono::hours(1)) fs::remove(it->path(), e2);
      continue;
    }
    entries.push_back({it->path(), bytes, time});
    total += bytes;
  }
  if (total <= maxBytes_) return;
  std::sort(entries.begin(), entries.end(), [](const Entry &a, const Entry &b) { return a.time < b.time; });
  for (const Entry &e : entries) {
    if (total <= maxBytes_) break;
    std::error_code e2;
    fs::remove(e.path, e2); // another process may have removed it first
    total -= e.bytes;
    cacheDebug("evicted " + e.path.filename().string());
  }
}

} // namespace ptl::backend
