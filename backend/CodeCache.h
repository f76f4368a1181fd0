//===- backend/CodeCache.h - Compiled objects kept across processes -----------===//
//
// The persistent code cache: the object files the JIT compiled for a
// program, stored on disk under a key that names everything that determines
// them (backend/Engine.cpp builds it; docs/design.md lists its parts), so an
// unchanged program run again skips LLVM's optimisation and code generation.
//
// Where: CodeCacheOptions::dir, else $PTL_CACHE_DIR, else
// $XDG_CACHE_HOME/ptl, else $HOME/.cache/ptl; no directory (no HOME): no
// cache. One file per entry, `<64 hex digits of the key>.ptlo`:
//
//   "PTLOBJC\n" (8 bytes)  u32 format version   u32 object count
//   key (32 bytes)         u64 payload bytes    BLAKE3 of the payload (32 bytes)
//   payload: for each object, u64 length, then its bytes
//
// (integers little-endian). An entry is written whole to a temporary file
// and renamed into place (runtime/SafeWrite.h), and never changed after, so
// any number of processes may read and write one directory at once without
// locks: a reader sees the old entry, the new one or none. An entry is
// checked before use -- magic, version, key, length, checksum, every object
// length -- and one that fails (truncated, flipped bits, another version) is
// deleted and treated as a miss: it is rebuilt, never executed.
//
// Size bound: CodeCacheOptions::maxBytes, else $PTL_CACHE_MAX_MB megabytes,
// else 256 MB. After a store, the least recently used entries (by mtime; a
// hit touches its entry) are deleted until the directory fits.
//
// $PTL_CACHE_DEBUG (non-empty) prints one `ptl-cache:` line to stderr per
// event (hit, miss, store, bad entry, eviction), for tests and the curious.
// The cache never makes a compilation fail: a directory it cannot create or
// write is simply not used.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ptl::backend {

/// Where and whether compiled code is cached (see the top of this file).
struct CodeCacheOptions {
  bool enabled = true;  ///< false: neither read nor write the cache
  std::string dir;      ///< empty: $PTL_CACHE_DIR, $XDG_CACHE_HOME/ptl or ~/.cache/ptl
  int64_t maxBytes = 0; ///< size bound; 0: $PTL_CACHE_MAX_MB MB, else 256 MB
};

/// The default size bound of the cache directory.
constexpr int64_t kDefaultCacheMaxBytes = 256ll << 20;

/// A cache key: a BLAKE3 digest.
using CacheKey = std::array<uint8_t, 32>;

/// The key as 64 lowercase hex digits.
std::string keyHex(const CacheKey &key);

/// Builds a key from labelled parts. Each part is framed by its label and
/// length, so no two different lists of parts hash alike by concatenation.
class KeyBuilder {
public:
  KeyBuilder();
  ~KeyBuilder();
  KeyBuilder(const KeyBuilder &) = delete;
  KeyBuilder &operator=(const KeyBuilder &) = delete;

  /// Adds the part `label` = `value`.
  void add(std::string_view label, std::string_view value);
  /// Adds a part whose value arrives in pieces: begin, any number of
  /// append, then end (which frames it with the total length).
  void begin(std::string_view label);
  void append(std::string_view piece);
  void end();
  /// The digest of everything added so far.
  CacheKey digest() const;

private:
  struct Impl;
  Impl *impl_;
};

/// The bytes of an entry for `key` holding `objects` (format above).
std::string encodeCacheEntry(const CacheKey &key, const std::vector<std::string> &objects);
/// Decodes an entry; false with `why` unless `bytes` is a whole, intact
/// entry of this format for `key`.
bool decodeCacheEntry(const std::string &bytes, const CacheKey &key, std::vector<std::string> &objects,
                      std::string &why);

/// A cache directory, as configured by CodeCacheOptions and the environment.
class CodeCache {
public:
  explicit CodeCache(const CodeCacheOptions &opts);

  /// Whether the cache is used (enabled and a directory is known).
  bool enabled() const { return enabled_; }
  const std::string &directory() const { return dir_; }
  int64_t maxBytes() const { return maxBytes_; }
  /// The file of `key`'s entry.
  std::string entryPath(const CacheKey &key) const;

  /// The objects stored under `key`; false on a miss. A bad entry is
  /// deleted (a miss); a hit marks the entry as recently used.
  bool load(const CacheKey &key, std::vector<std::string> &objects) const;
  /// Stores `objects` under `key` (atomically), then evicts down to the
  /// bound. Failures are ignored (reported only with $PTL_CACHE_DEBUG).
  void store(const CacheKey &key, const std::vector<std::string> &objects) const;
  /// Deletes `key`'s entry (if any).
  void remove(const CacheKey &key) const;
  /// Deletes the least recently used entries until the directory holds at
  /// most maxBytes() of them (and leftover temporary files older than an hour).
  void evict() const;

private:
  bool enabled_ = false;
  std::string dir_;
  int64_t maxBytes_ = kDefaultCacheMaxBytes;
};

/// Whether $PTL_CACHE_DEBUG asks for `ptl-cache:` lines; prints `line` if so.
void cacheDebug(const std::string &line);

} // namespace ptl::backend
