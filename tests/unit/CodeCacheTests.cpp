//===- tests/unit/CodeCacheTests.cpp - The persistent code cache -------------===//
//
// backend/CodeCache.h and its use by backend::Engine: entries that decode
// only when whole and intact (every flipped byte and every truncation of an
// entry is refused), key framing, a bad file deleted on load, LRU eviction,
// and engines that miss then hit (bit-identical results), with a key that
// follows the optimisation level and the lowered program, and two live
// engines of one program side by side. Every cache lives in a temporary
// directory (EngineOptions::cache.dir), never in ~/.cache.
//
//===----------------------------------------------------------------------===//
#include "backend/CodeCache.h"
#include "backend/Engine.h"
#include "frontend/Compiler.h"
#include "ir/IR.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

using namespace ptl;
using namespace ptl::backend;
namespace fs = std::filesystem;

namespace {

/// A fresh, empty directory under the system's temporary directory, removed at the end.
struct TempDir {
  fs::path path;
  TempDir() {
    static int n = 0;
    path = fs::temp_directory_path() /
           ("ptl-code-cache-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

CacheKey keyOf(const std::string &s) {
  KeyBuilder k;
  k.add("test", s);
  return k.digest();
}

size_t entryCount(const fs::path &dir) {
  size_t n = 0;
  for (auto &e : fs::directory_iterator(dir))
    if (e.path().extension() == ".ptlo") ++n;
  return n;
}

std::string readFile(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeFile(const fs::path &p, const std::string &bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

std::unique_ptr<ir::Module> compileSource(const std::string &src) {
  Compilation c(nullptr);
  c.diagnostics().setQuiet(true);
  std::unique_ptr<ir::Module> m;
  if (c.loadSource("cache_test.ptl", src)) m = c.elaborate({});
  REQUIRE(m);
  std::string error;
  REQUIRE(c.runDefaultPipeline(*m, error));
  return m;
}

const char *kProgram = R"(
fn f(x: f32[5]) -> f32[5] = tanh(x) * exp(x * 0.5) + 0.125
)";

EngineOptions cached(const fs::path &dir, int optLevel = 2) {
  EngineOptions o;
  o.optLevel = optLevel;
  o.compileThreads = 1;
  o.cache.dir = dir.string();
  return o;
}

Tensor input() {
  Tensor t = Tensor::zeros(DType::F32, {5});
  const double xs[] = {-1.5, -0.25, 0.0, 0.75, 2.0};
  for (int i = 0; i < 5; ++i) t.setDouble(i, xs[i]);
  return t;
}

bool sameBits(const Tensor &a, const Tensor &b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

} // namespace

TEST_CASE("Code cache: an entry decodes only when whole and intact", "[cache]") {
  CacheKey key = keyOf("program");
  std::vector<std::string> objects = {"first object \x01\x02", std::string("second\0object", 13)};
  std::string entry = encodeCacheEntry(key, objects);
  std::vector<std::string> back;
  std::string why;
  REQUIRE(decodeCacheEntry(entry, key, back, why));
  CHECK(back == objects);
  // Another key's entry is not this key's.
  CHECK_FALSE(decodeCacheEntry(entry, keyOf("other"), back, why));
  CHECK(why == "another key");
  // Every single flipped byte is noticed (header fields or checksummed payload).
  for (size_t i = 0; i < entry.size(); ++i) {
    std::string bad = entry;
    bad[i] = (char)~bad[i];
    INFO("byte " << i);
    CHECK_FALSE(decodeCacheEntry(bad, key, back, why));
  }
  // Every truncation, and extra bytes at the end.
  for (size_t n = 0; n < entry.size(); ++n) {
    INFO("length " << n);
    CHECK_FALSE(decodeCacheEntry(entry.substr(0, n), key, back, why));
  }
  CHECK_FALSE(decodeCacheEntry(entry + "x", key, back, why));
}

TEST_CASE("Code cache: key parts are framed, so concatenations differ", "[cache]") {
  KeyBuilder a, b, c;
  a.add("x", "ab");
  a.add("y", "c");
  b.add("x", "a");
  b.add("y", "bc");
  c.begin("x");
  c.append("a");
  c.append("b");
  c.end();
  c.add("y", "c");
  CHECK(a.digest() != b.digest());
  CHECK(a.digest() == c.digest()); // pieces appended are one part
  CHECK(keyHex(a.digest()).size() == 64);
}

TEST_CASE("Code cache: a bad file is deleted on load, a good one is a hit", "[cache]") {
  TempDir dir;
  CodeCacheOptions o;
  o.dir = dir.path.string();
  CodeCache cache(o);
  REQUIRE(cache.enabled());
  CacheKey key = keyOf("k");
  std::vector<std::string> objects;
  CHECK_FALSE(cache.load(key, objects)); // nothing yet
  cache.store(key, {"object bytes"});
  REQUIRE(fs::exists(cache.entryPath(key)));
  REQUIRE(cache.load(key, objects));
  CHECK(objects == std::vector<std::string>{"object bytes"});
  std::string bytes = readFile(cache.entryPath(key));
  bytes[bytes.size() - 1] ^= 1;
  writeFile(cache.entryPath(key), bytes);
  CHECK_FALSE(cache.load(key, objects));
  CHECK_FALSE(fs::exists(cache.entryPath(key)));
}

TEST_CASE("Code cache: disabled, nothing is read or written", "[cache]") {
  TempDir dir;
  CodeCacheOptions o;
  o.dir = dir.path.string();
  o.enabled = false;
  CodeCache cache(o);
  CHECK_FALSE(cache.enabled());
  cache.store(keyOf("k"), {"x"});
  CHECK(entryCount(dir.path) == 0);
}

TEST_CASE("Code cache: the least recently used entries are evicted down to the bound", "[cache]") {
  TempDir dir;
  CodeCacheOptions o;
  o.dir = dir.path.string();
  std::string object(1000, 'o');
  size_t entryBytes = encodeCacheEntry(keyOf("0"), {object}).size();
  o.maxBytes = (int64_t)(entryBytes * 3); // three entries fit, not four
  CodeCache cache(o);
  auto later = [] { std::this_thread::sleep_for(std::chrono::milliseconds(20)); };
  for (const char *k : {"0", "1", "2"}) {
    cache.store(keyOf(k), {object});
    later();
  }
  std::vector<std::string> objects;
  REQUIRE(cache.load(keyOf("0"), objects)); // "0" is now the most recently used
  later();
  cache.store(keyOf("3"), {object});
  CHECK(entryCount(dir.path) == 3);
  CHECK(fs::exists(cache.entryPath(keyOf("0"))));
  CHECK_FALSE(fs::exists(cache.entryPath(keyOf("1")))); // the least recently used
  CHECK(fs::exists(cache.entryPath(keyOf("2"))));
  CHECK(fs::exists(cache.entryPath(keyOf("3"))));
  // An entry bigger than the whole bound is not stored at all.
  cache.store(keyOf("big"), {std::string(entryBytes * 4, 'b')});
  CHECK_FALSE(fs::exists(cache.entryPath(keyOf("big"))));
  CHECK(entryCount(dir.path) == 3);
}

TEST_CASE("Code cache: an engine misses, then hits with bit-identical results", "[cache][jit]") {
  TempDir dir;
  auto m = compileSource(kProgram);
  std::string error;
  Tensor x = input();
  std::vector<Tensor> first, second, uncached;
  {
    auto e = Engine::create(*m, cached(dir.path), error);
    REQUIRE(e);
    CHECK(e->cacheOutcome() == CacheOutcome::Miss);
    first = e->call("f", {x});
  }
  CHECK(entryCount(dir.path) == 1);
  {
    auto e = Engine::create(*m, cached(dir.path), error);
    REQUIRE(e);
    CHECK(e->cacheOutcome() == CacheOutcome::Hit);
    second = e->call("f", {x});
  }
  {
    EngineOptions o = cached(dir.path);
    o.cache.enabled = false;
    auto e = Engine::create(*m, o, error);
    REQUIRE(e);
    CHECK(e->cacheOutcome() == CacheOutcome::Off);
    uncached = e->call("f", {x});
  }
  REQUIRE(first.size() == 1);
  CHECK(sameBits(first[0], second[0]));
  CHECK(sameBits(first[0], uncached[0]));
  CHECK(entryCount(dir.path) == 1);
}

TEST_CASE("Code cache: the key follows the optimisation level and the program", "[cache][jit]") {
  TempDir dir;
  auto m = compileSource(kProgram);
  auto other = compileSource(R"(
fn f(x: f32[5]) -> f32[5] = tanh(x) * exp(x * 0.5) + 0.25
)");
  std::string error;
  auto outcome = [&](const ir::Module &mod, int level) {
    auto e = Engine::create(mod, cached(dir.path, level), error);
    REQUIRE(e);
    return e->cacheOutcome();
  };
  CHECK(outcome(*m, 2) == CacheOutcome::Miss);
  CHECK(outcome(*m, 1) == CacheOutcome::Miss);
  CHECK(outcome(*m, 2) == CacheOutcome::Hit);
  CHECK(outcome(*m, 1) == CacheOutcome::Hit);
  CHECK(outcome(*other, 2) == CacheOutcome::Miss);
  CHECK(entryCount(dir.path) == 3);
}

TEST_CASE("Code cache: two live engines of one program coexist, each from the cache", "[cache][jit]") {
  TempDir dir;
  auto m = compileSource(kProgram);
  std::string error;
  Tensor x = input();
  // Warm the cache for the first and second live instance of the program.
  {
    auto a = Engine::create(*m, cached(dir.path), error);
    auto b = Engine::create(*m, cached(dir.path), error);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->cacheOutcome() == CacheOutcome::Miss);
    CHECK(b->cacheOutcome() == CacheOutcome::Miss); // its symbols are named apart
  }
  auto a = Engine::create(*m, cached(dir.path), error);
  auto b = Engine::create(*m, cached(dir.path), error);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->cacheOutcome() == CacheOutcome::Hit);
  CHECK(b->cacheOutcome() == CacheOutcome::Hit);
  CHECK(a->compiledParts()[0] != b->compiledParts()[0]);
  CHECK(sameBits(a->call("f", {x})[0], b->call("f", {x})[0]));
}

TEST_CASE("Code cache: an intact entry whose objects do not link is dropped and recompiled", "[cache][jit]") {
  auto m = compileSource(kProgram);
  std::string error;
  Tensor x = input();
  std::vector<Tensor> want = Engine::create(*m, EngineOptions{}, error)->call("f", {x});
  // Entries that pass every check of the format but hold no usable object:
  // bytes that are not an object file, the first half of the real one, and
  // another program's object (it links, but defines none of our symbols).
  std::string foreign;
  {
    TempDir other;
    auto m2 = compileSource("fn g(x: f32[5]) -> f32[5] = x * 3.0\n");
    REQUIRE(Engine::create(*m2, cached(other.path), error));
    std::string bytes = readFile(fs::directory_iterator(other.path)->path());
    CacheKey key;
    std::memcpy(key.data(), bytes.data() + 16, key.size());
    std::vector<std::string> objects;
    std::string why;
    REQUIRE(decodeCacheEntry(bytes, key, objects, why));
    foreign = objects.at(0);
  }
  for (int kind = 0; kind < 3; ++kind) {
    INFO((kind == 0 ? "not an object file" : kind == 1 ? "half an object file" : "another program's object"));
    TempDir dir;
    {
      auto e = Engine::create(*m, cached(dir.path), error);
      REQUIRE(e);
      REQUIRE(e->cacheOutcome() == CacheOutcome::Miss);
    }
    fs::path file = fs::directory_iterator(dir.path)->path();
    std::string bytes = readFile(file);
    CacheKey key;
    std::memcpy(key.data(), bytes.data() + 16, key.size()); // the header's key (CodeCache.h)
    std::vector<std::string> objects;
    std::string why;
    REQUIRE(decodeCacheEntry(bytes, key, objects, why));
    REQUIRE(objects.size() == 1);
    objects[0] = kind == 0   ? std::string(objects[0].size(), 'x')
                 : kind == 1 ? objects[0].substr(0, objects[0].size() / 2)
                             : foreign;
    writeFile(file, encodeCacheEntry(key, objects));
    auto e = Engine::create(*m, cached(dir.path), error);
    INFO(error);
    REQUIRE(e);
    CHECK(e->cacheOutcome() == CacheOutcome::Miss); // recompiled and stored again
    CHECK(sameBits(e->call("f", {x})[0], want[0]));
    std::string again = readFile(file);
    CHECK(decodeCacheEntry(again, key, objects, why));
    CHECK(again == bytes); // the rebuilt entry is the original one
  }
}
