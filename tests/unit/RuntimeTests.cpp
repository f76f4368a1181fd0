//===- tests/unit/RuntimeTests.cpp - Tensor, printing, RNG and file formats ===//
//
// Expected printing strings are literal outputs of NumPy's print(np.array(..))
// with default options; Philox vectors are Random123's kat_vectors.
//
//===----------------------------------------------------------------------===//
#include "runtime/Errors.h"
#include "runtime/Formats.h"
#include "runtime/Rng.h"
#include "runtime/Tensor.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

using namespace ptl;
namespace fs = std::filesystem;

namespace {

Tensor f32(Shape s, std::vector<float> v) {
  Tensor t = Tensor::zeros(DType::F32, std::move(s));
  std::memcpy(t.raw(), v.data(), v.size() * 4);
  return t;
}
Tensor f64(Shape s, std::vector<double> v) {
  Tensor t = Tensor::zeros(DType::F64, std::move(s));
  if (!v.empty()) std::memcpy(t.raw(), v.data(), v.size() * 8);
  return t;
}
Tensor i32(Shape s, std::vector<int32_t> v) {
  Tensor t = Tensor::zeros(DType::I32, std::move(s));
  std::memcpy(t.raw(), v.data(), v.size() * 4);
  return t;
}
Tensor boolean(Shape s, std::vector<int> v) {
  Tensor t = Tensor::zeros(DType::Bool, std::move(s));
  for (size_t i = 0; i < v.size(); ++i) t.data<uint8_t>()[i] = (uint8_t)v[i];
  return t;
}
Tensor arange(DType dt, int64_t n) {
  Tensor t = Tensor::zeros(dt, {n});
  for (int64_t i = 0; i < n; ++i) t.setDouble(i, (double)i);
  return t;
}

/// A fresh scratch directory per test.
fs::path scratch(const std::string &name) {
  fs::path p = fs::temp_directory_path() / ("ptl_rt_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

std::string slurp(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void spit(const fs::path &p, const std::string &s) {
  std::ofstream out(p, std::ios::binary);
  out << s;
}

bool sameTensor(const Tensor &a, const Tensor &b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

} // namespace

TEST_CASE("dtype and shape helpers", "[runtime]") {
  DType d;
  REQUIRE(parseDType("f64", d));
  CHECK(d == DType::F64);
  CHECK_FALSE(parseDType("f16", d));
  CHECK(dtypeSize(DType::Bool) == 1);
  CHECK(numElements({}) == 1);
  CHECK(numElements({3, 0}) == 0);
  CHECK(typeString(DType::F32, {64, 4}) == "f32[64, 4]");
  CHECK(typeString(DType::I32, {}) == "i32");
}

TEST_CASE("tensor storage, clone, reshape and counters", "[runtime]") {
  int64_t live = Tensor::liveAllocations();
  {
    Tensor a = Tensor::zeros(DType::F32, {2, 3});
    CHECK(Tensor::liveAllocations() == live + 1);
    a.setDouble(4, 2.5);
    Tensor b = a; // shares
    CHECK(b.getDouble(4) == 2.5);
    Tensor c = a.clone();
    c.setDouble(4, 1.0);
    CHECK(a.getDouble(4) == 2.5);
    Tensor r = a.reshaped({3, 2});
    CHECK(r.shape() == Shape{3, 2});
    CHECK(r.getDouble(4) == 2.5);
    CHECK(Tensor::liveAllocations() == live + 2);
    float host[2] = {1, 2};
    Tensor v = Tensor::view(DType::F32, {2}, host);
    host[1] = 7;
    CHECK(v.getDouble(1) == 7);
    CHECK(Tensor::scalar(DType::I32, -2.7).getDouble(0) == -2);
    CHECK(Tensor::scalar(DType::Bool, 3).getDouble(0) == 1);
  }
  CHECK(Tensor::liveAllocations() == live);
}

TEST_CASE("formatTensor matches NumPy for floats", "[runtime][print]") {
  CHECK(formatTensor(f64({3}, {1, 2, 3})) == "[1. 2. 3.]");
  CHECK(formatTensor(f32({2, 2}, {1, 2, 3, 4})) == "[[1. 2.]\n [3. 4.]]");
  CHECK(formatTensor(f32({1}, {0.1f})) == "[0.1]");
  CHECK(formatTensor(f32({3}, {0.1f, 0.2f, 0.3f})) == "[0.1 0.2 0.3]");
  CHECK(formatTensor(f64({2}, {1.5, 2.25})) == "[1.5  2.25]");
  CHECK(formatTensor(f64({2}, {-1, 2.5})) == "[-1.   2.5]");
  CHECK(formatTensor(f64({2}, {100, 0.5})) == "[100.    0.5]");
  CHECK(formatTensor(f64({1}, {1.0 / 3})) == "[0.33333333]");
  CHECK(formatTensor(f64({1}, {0.1 + 0.2})) == "[0.3]");
  CHECK(formatTensor(f64({2}, {1e-5, 1})) == "[1.e-05 1.e+00]");
  CHECK(formatTensor(f64({2}, {1.5e-5, 1})) == "[1.5e-05 1.0e+00]");
  CHECK(formatTensor(f64({2}, {0, 1e-5})) == "[0.e+00 1.e-05]");
  CHECK(formatTensor(f64({1}, {1e10})) == "[1.e+10]");
  CHECK(formatTensor(f64({2}, {-1e-5, 1e100})) == "[-1.e-005  1.e+100]");
  CHECK(formatTensor(f64({2}, {NAN, 1})) == "[nan  1.]");
  CHECK(formatTensor(f64({2}, {1, INFINITY})) == "[ 1. inf]");
  CHECK(formatTensor(f64({2}, {1, -INFINITY})) == "[  1. -inf]");
  CHECK(formatTensor(f64({2}, {NAN, INFINITY})) == "[nan inf]");
  CHECK(formatTensor(f64({2}, {-0.0, 1})) == "[-0.  1.]");
  CHECK(formatTensor(f64({0}, {})) == "[]");
  CHECK(formatTensor(f64({2, 2, 2}, {0, 0, 0, 0, 0, 0, 0, 0})) ==
        "[[[0. 0.]\n  [0. 0.]]\n\n [[0. 0.]\n  [0. 0.]]]");
}

TEST_CASE("formatTensor wraps lines at 75 characters", "[runtime][print]") {
  CHECK(formatTensor(arange(DType::F64, 30)) ==
        "[ 0.  1.  2.  3.  4.  5.  6.  7.  8.  9. 10. 11. 12. 13. 14. 15. 16. 17.\n"
        " 18. 19. 20. 21. 22. 23. 24. 25. 26. 27. 28. 29.]");
  CHECK(formatTensor(arange(DType::I32, 40)) ==
        "[ 0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15 16 17 18 19 20 21 22 23\n"
        " 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39]");
}

TEST_CASE("formatTensor summarises more than 1000 elements", "[runtime][print]") {
  CHECK(formatTensor(arange(DType::F64, 2000)) ==
        "[0.000e+00 1.000e+00 2.000e+00 ... 1.997e+03 1.998e+03 1.999e+03]");
  CHECK(formatTensor(arange(DType::I32, 2000)) == "[   0    1    2 ... 1997 1998 1999]");
  Tensor m = arange(DType::I32, 1100).reshaped({100, 11});
  CHECK(formatTensor(m) == "[[   0    1    2 ...    8    9   10]\n"
                           " [  11   12   13 ...   19   20   21]\n"
                           " [  22   23   24 ...   30   31   32]\n"
                           " ...\n"
                           " [1067 1068 1069 ... 1075 1076 1077]\n"
                           " [1078 1079 1080 ... 1086 1087 1088]\n"
                           " [1089 1090 1091 ... 1097 1098 1099]]");
}

TEST_CASE("formatTensor for ints, bools and scalars", "[runtime][print]") {
  CHECK(formatTensor(i32({3}, {1, 2, 3})) == "[1 2 3]");
  CHECK(formatTensor(i32({2}, {1, -10})) == "[  1 -10]");
  CHECK(formatTensor(boolean({2}, {1, 0})) == "[ True False]");
  CHECK(formatTensor(boolean({2, 1}, {0, 1})) == "[[False]\n [ True]]");
  CHECK(formatTensor(Tensor::scalar(DType::F32, 2.5)) == "2.5");
  CHECK(formatTensor(Tensor::scalar(DType::F64, 1.0)) == "1.0");
  CHECK(formatTensor(Tensor::scalar(DType::F32, 0.1)) == "0.1");
  CHECK(formatTensor(Tensor::scalar(DType::F64, 0.1 + 0.2)) == "0.30000000000000004");
  CHECK(formatTensor(Tensor::scalar(DType::F64, 1e-5)) == "1e-05");
  CHECK(formatTensor(Tensor::scalar(DType::F64, 1.5e16)) == "1.5e+16");
  CHECK(formatTensor(Tensor::scalar(DType::F64, 123456789.0)) == "123456789.0");
  CHECK(formatTensor(Tensor::scalar(DType::F64, -0.0)) == "-0.0");
  CHECK(formatTensor(Tensor::scalar(DType::F64, NAN)) == "nan");
  CHECK(formatTensor(Tensor::scalar(DType::I32, 3)) == "3");
  CHECK(formatTensor(Tensor::scalar(DType::Bool, 1)) == "True");
}

TEST_CASE("Philox-4x32-10 matches the Random123 known-answer vectors", "[runtime][rng]") {
  using A4 = std::array<uint32_t, 4>;
  CHECK(rng::philox4x32_10({0, 0, 0, 0}, {0, 0}) ==
        A4{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
  CHECK(rng::philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
                           {0xffffffff, 0xffffffff}) ==
        A4{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
  CHECK(rng::philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
                           {0xa4093822, 0x299f31d0}) ==
        A4{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
  CHECK(rng::fnv1a64("") == 0xcbf29ce484222325ull);
  CHECK(rng::fnv1a64("a") == 0xaf63dc4c8601ec8cull);
}

TEST_CASE("random fills depend only on (seed, key, index)", "[runtime][rng]") {
  Tensor a = Tensor::zeros(DType::F32, {4, 5});
  Tensor b = Tensor::zeros(DType::F32, {4, 5});
  rng::fillNormal(a, 7, "l1.W", 0, 1);
  Tensor other = Tensor::zeros(DType::F32, {100});
  rng::fillNormal(other, 7, "l2.W", 0, 1); // drawing other keys in between changes nothing
  rng::fillNormal(b, 7, "l1.W", 0, 1);
  CHECK(sameTensor(a, b));
  Tensor c = Tensor::zeros(DType::F32, {4, 5});
  rng::fillNormal(c, 8, "l1.W", 0, 1);
  CHECK_FALSE(sameTensor(a, c));
  rng::fillNormal(c, 7, "l1.b", 0, 1);
  CHECK_FALSE(sameTensor(a, c));
  // Element i is the same whatever the tensor's size.
  Tensor small = Tensor::zeros(DType::F64, {3});
  rng::fillNormal(small, 7, "k", 0, 1);
  CHECK(small.getDouble(2) == rng::standardNormal(7, "k", 2));
}

TEST_CASE("random distributions have the right moments and ranges", "[runtime][rng]") {
  const int64_t n = 20000;
  Tensor t = Tensor::zeros(DType::F64, {n});
  rng::fillNormal(t, 1, "normal", 2.0, 3.0);
  double sum = 0, sq = 0;
  for (int64_t i = 0; i < n; ++i) sum += t.getDouble(i);
  double mean = sum / n;
  for (int64_t i = 0; i < n; ++i) sq += (t.getDouble(i) - mean) * (t.getDouble(i) - mean);
  CHECK(std::abs(mean - 2.0) < 0.1);
  CHECK(std::abs(std::sqrt(sq / n) - 3.0) < 0.1);

  Tensor u = Tensor::zeros(DType::F32, {n});
  rng::fillUniform(u, 1, "u", -1, 1);
  double lo = 1, hi = -1, us = 0;
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, u.getDouble(i));
    hi = std::max(hi, u.getDouble(i));
    us += u.getDouble(i);
  }
  CHECK(lo >= -1);
  CHECK(hi < 1);
  CHECK(lo < -0.99);
  CHECK(hi > 0.99);
  CHECK(std::abs(us / n) < 0.03);

  Tensor r = Tensor::zeros(DType::I32, {n});
  rng::fillRandint(r, 1, "r", -2, 3);
  int counts[5] = {0, 0, 0, 0, 0};
  for (int64_t i = 0; i < n; ++i) {
    int v = r.data<int32_t>()[i];
    REQUIRE(v >= -2);
    REQUIRE(v < 3);
    counts[v + 2]++;
  }
  for (int c : counts) CHECK(std::abs(c - n / 5) < n / 50);
  CHECK_THROWS_AS(rng::fillRandint(r, 1, "r", 3, 3), RuntimeFault);

  Tensor g = Tensor::zeros(DType::F32, {64, 4});
  rng::fillGlorot(g, 0, "W_in", 1.0);
  double bound = std::sqrt(6.0 / 68.0), gmax = 0;
  for (int64_t i = 0; i < g.numel(); ++i) gmax = std::max(gmax, std::abs(g.getDouble(i)));
  CHECK(gmax <= bound);
  CHECK(gmax > 0.9 * bound);
}

TEST_CASE("fold_in and the keyed permutation have their documented values", "[runtime][rng]") {
  // Values of an independent Python transcription of runtime/Rng.h's formulas.
  CHECK(rng::foldIn(7, 1) == -1851647790);
  CHECK(rng::foldIn(7, 2) == -434382474);
  CHECK(rng::foldIn(-3, 5) == -990657185);
  std::vector<int64_t> p;
  for (int64_t i = 0; i < 10; ++i) p.push_back(rng::permuteIndex(3, 10, i));
  CHECK(p == std::vector<int64_t>{3, 2, 7, 4, 5, 6, 0, 8, 1, 9});
}

TEST_CASE("the keyed permutation is a bijection of [0, n) for every n", "[runtime][rng]") {
  for (int64_t n = 0; n <= 300; ++n)
    for (uint64_t seed : std::vector<uint64_t>{0, 1, (uint64_t)(int64_t)-5, 123456789}) {
      std::vector<int> seen((size_t)n, 0);
      for (int64_t i = 0; i < n; ++i) {
        int64_t v = rng::permuteIndex(seed, n, i);
        REQUIRE(v >= 0);
        REQUIRE(v < n);
        ++seen[(size_t)v];
      }
      for (int64_t i = 0; i < n; ++i) REQUIRE(seen[(size_t)i] == 1);
    }
  // A window is the same elements as the whole permutation's slice.
  Tensor w = Tensor::zeros(DType::I32, {4});
  rng::fillPermutation(w, 9, 50, 46);
  for (int64_t j = 0; j < 4; ++j) CHECK(w.getDouble(j) == (double)rng::permuteIndex(9, 50, 46 + j));
  CHECK_THROWS_AS(rng::fillPermutation(w, 9, 50, 47), RuntimeFault);
  CHECK_THROWS_AS(rng::fillPermutation(w, 9, 50, -1), RuntimeFault);
}

TEST_CASE("every position of the keyed permutation is uniform over keys", "[runtime][rng]") {
  // For n in {3, 5, 10}: over K keys, count[i][v] = #keys with P(i) = v;
  // each count is Binomial(K, 1/n); all must be within 5 standard deviations,
  // and the chi-square statistic of each row must be below a loose bound.
  const int K = 6000;
  for (int64_t n : {3, 5, 10}) {
    std::vector<std::vector<int>> count((size_t)n, std::vector<int>((size_t)n, 0));
    for (int k = 0; k < K; ++k)
      for (int64_t i = 0; i < n; ++i) ++count[(size_t)i][(size_t)rng::permuteIndex((uint64_t)k, n, i)];
    double expect = (double)K / (double)n, sd = std::sqrt(K * (1.0 / n) * (1.0 - 1.0 / n));
    for (int64_t i = 0; i < n; ++i) {
      double chi2 = 0;
      for (int64_t v = 0; v < n; ++v) {
        double d = count[(size_t)i][(size_t)v] - expect;
        INFO("n = " << n << ", P(" << i << ") = " << v << ": " << count[(size_t)i][(size_t)v] << " of " << K);
        CHECK(std::abs(d) < 5 * sd);
        chi2 += d * d / expect;
      }
      CHECK(chi2 < 3.0 * (double)(n - 1) + 20.0);
    }
  }
}

TEST_CASE("orthogonal initialisation gives Q^T Q = gain^2 I", "[runtime][rng]") {
  for (auto shape : {Shape{6, 6}, Shape{8, 3}, Shape{3, 8}}) {
    Tensor q = Tensor::zeros(DType::F64, shape);
    rng::fillOrthogonal(q, 3, "W_rec", 0.9);
    int64_t rows = shape[0], cols = shape[1];
    // The smaller Gram matrix is gain^2 I.
    bool colsOrtho = rows >= cols;
    int64_t k = colsOrtho ? cols : rows;
    for (int64_t a = 0; a < k; ++a)
      for (int64_t b = 0; b < k; ++b) {
        double dot = 0;
        for (int64_t i = 0; i < (colsOrtho ? rows : cols); ++i)
          dot += colsOrtho ? q.getDouble(i * cols + a) * q.getDouble(i * cols + b)
                           : q.getDouble(a * cols + i) * q.getDouble(b * cols + i);
        CHECK(dot == Approx(a == b ? 0.81 : 0.0).margin(1e-12));
      }
  }
  Tensor v = Tensor::zeros(DType::F32, {5});
  CHECK_THROWS_AS(rng::fillOrthogonal(v, 0, "v", 1), RuntimeFault);
}

TEST_CASE("npy round trip and header inspection", "[runtime][npy]") {
  fs::path dir = scratch("npy");
  std::vector<Tensor> ts = {f32({3, 4}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}),
                            f64({2}, {0.5, -1e300}), i32({1, 1, 2}, {-7, 9}),
                            boolean({3}, {1, 0, 1}), Tensor::scalar(DType::F32, 4.5)};
  for (size_t k = 0; k < ts.size(); ++k) {
    std::string p = (dir / ("t" + std::to_string(k) + ".npy")).string();
    writeNpy(p, ts[k]);
    std::string bytes = slurp(p);
    CHECK((bytes.size() - ts[k].nbytes()) % 64 == 0);
    TensorInfo info = inspectNpy(p);
    CHECK(info.dtype == ts[k].dtype());
    CHECK(info.shape == ts[k].shape());
    CHECK(sameTensor(readNpy(p), ts[k]));
  }
  // The header NumPy writes for f32[3, 4].
  std::string bytes = slurp(dir / "t0.npy");
  CHECK(bytes.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
  CHECK(bytes.substr(10, 60).rfind("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", 0) == 0);
  CHECK(slurp(dir / "t1.npy").find("'shape': (2,)") != std::string::npos);
}

TEST_CASE("npy errors name the file", "[runtime][npy]") {
  fs::path dir = scratch("npyerr");
  std::string p = (dir / "a.npy").string();
  writeNpy(p, f32({2, 2}, {1, 2, 3, 4}));
  std::string good = slurp(p);
  std::string fortran = good;
  fortran.replace(fortran.find("False"), 5, "True ");
  spit(dir / "f.npy", fortran);
  CHECK_THROWS_WITH(readNpy((dir / "f.npy").string()), Catch::Contains("f.npy") && Catch::Contains("fortran"));
  std::string i8 = good;
  i8.replace(i8.find("<f4"), 3, "<i8");
  spit(dir / "i8.npy", i8);
  CHECK_THROWS_WITH(inspectNpy((dir / "i8.npy").string()), Catch::Contains("unsupported dtype '<i8'"));
  CHECK_THROWS_WITH(readNpy((dir / "missing.npy").string()), Catch::Contains("missing.npy"));
  for (size_t n = 0; n < good.size(); ++n) {
    spit(dir / "t.npy", good.substr(0, n));
    CHECK_THROWS_AS(readNpy((dir / "t.npy").string()), RuntimeFault);
  }
}

TEST_CASE("CSV reading and errors", "[runtime][csv]") {
  fs::path dir = scratch("csv");
  spit(dir / "d.csv", "x, y\r\n1, 2.5\r\n-3e1,\"4\"\r\n\r\n");
  CsvInfo info = inspectCsv((dir / "d.csv").string());
  CHECK(info.columns == std::vector<std::string>{"x", "y"});
  CHECK(info.rows == 2);
  auto cols = readCsv((dir / "d.csv").string());
  REQUIRE(cols.size() == 2);
  CHECK(cols[0].name == "x");
  CHECK(sameTensor(cols[0].tensor, f32({2}, {1, -30})));
  CHECK(sameTensor(cols[1].tensor, f32({2}, {2.5f, 4})));
  CHECK_THROWS_WITH(readCsv((dir / "nope.csv").string()), Catch::Contains("nope.csv"));
  spit(dir / "r.csv", "a,b\n1,2\n3\n");
  CHECK_THROWS_WITH(inspectCsv((dir / "r.csv").string()),
                    Catch::Contains("r.csv") && Catch::Contains("line 3 has 1 cells"));
  spit(dir / "n.csv", "a,b\n1,2\n3,abc\n");
  CHECK_THROWS_WITH(readCsv((dir / "n.csv").string()),
                    Catch::Contains("row 2") && Catch::Contains("column 'b'") && Catch::Contains("'abc'"));
  spit(dir / "e.csv", "");
  CHECK_THROWS_AS(readCsv((dir / "e.csv").string()), RuntimeFault);
}

TEST_CASE("CSV: a number out of f32's range is an error naming the cell; inf and nan as written are data",
          "[runtime][csv]") {
  fs::path dir = scratch("csv_range");
  for (const char *big : {"1e999", "-1e999", "3.5e38", "1e39"}) {
    INFO(big);
    spit(dir / "big.csv", std::string("a,b\n1,2\n3,") + big + "\n");
    std::string where = (dir / "big.csv").string() + ": line 3 (row 2), column 'b': '" + big +
                        "' is out of range for f32";
    CHECK_THROWS_WITH(inspectCsv((dir / "big.csv").string()), Catch::StartsWith(where));
    CHECK_THROWS_WITH(readCsv((dir / "big.csv").string()), Catch::StartsWith(where));
  }
  // The largest finite f32, tiny numbers (rounded to zero or a subnormal),
  // and infinities and NaN written as such load as they are.
  spit(dir / "ok.csv", "a,b,c,d\n3.4028235e38,1e-50,inf,nan\n-3.4028235e38,1e-40,-inf,-nan\n");
  auto cols = readCsv((dir / "ok.csv").string());
  REQUIRE(cols.size() == 4);
  CHECK(cols[0].tensor.getDouble(0) == (double)std::numeric_limits<float>::max());
  CHECK(cols[0].tensor.getDouble(1) == -(double)std::numeric_limits<float>::max());
  CHECK(cols[1].tensor.getDouble(0) == 0.0);
  CHECK(cols[1].tensor.getDouble(1) > 0.0);
  CHECK(std::isinf(cols[2].tensor.getDouble(0)));
  CHECK(cols[2].tensor.getDouble(1) < 0);
  CHECK(std::isnan(cols[3].tensor.getDouble(0)));
  CHECK(std::isnan(cols[3].tensor.getDouble(1)));
}

TEST_CASE("safetensors round trip with metadata", "[runtime][safetensors]") {
  fs::path dir = scratch("st");
  std::string p = (dir / "m.safetensors").string();
  std::vector<NamedTensor> ts = {{"l1.W", f32({2, 3}, {1, 2, 3, 4, 5, 6})},
                                 {"a", f64({}, {2.5})},
                                 {"idx", i32({2}, {3, -4})},
                                 {"mask", boolean({3}, {1, 0, 1})}};
  writeSafetensors(p, ts, {{"a", "softplus"}});
  std::string bytes = slurp(p);
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; --i) hlen = (hlen << 8) | (unsigned char)bytes[i];
  CHECK(hlen % 8 == 0);
  SafetensorsInfo info = inspectSafetensors(p);
  REQUIRE(info.tensors.size() == 4);
  CHECK(info.tensors[0].first == "l1.W");
  CHECK(info.tensors[1].second.dtype == DType::F64);
  CHECK(info.metadata.at("a") == "softplus");
  SafetensorsFile f = readSafetensors(p);
  for (size_t k = 0; k < ts.size(); ++k) {
    CHECK(f.tensors[k].name == ts[k].name);
    CHECK(sameTensor(f.tensors[k].tensor, ts[k].tensor));
  }
  // Every truncation is a clean fault.
  for (size_t n = 0; n < bytes.size(); ++n) {
    spit(dir / "t.safetensors", bytes.substr(0, n));
    CHECK_THROWS_AS(readSafetensors((dir / "t.safetensors").string()), RuntimeFault);
    CHECK_THROWS_AS(inspectSafetensors((dir / "t.safetensors").string()), RuntimeFault);
  }
}

TEST_CASE("a hand-built safetensors file reads as published", "[runtime][safetensors]") {
  fs::path dir = scratch("sthand");
  // Header exactly as the format describes: u64 LE length, JSON, then data.
  std::string json = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                     R"("n":{"dtype":"I32","shape":[],"data_offsets":[8,12]},)"
                     R"("__metadata__":{"format":"pt"}})";
  std::string file;
  for (int i = 0; i < 8; ++i) file.push_back((char)((json.size() >> (8 * i)) & 0xff));
  file += json;
  const unsigned char data[12] = {0x00, 0x00, 0x80, 0x3f,  // 1.0f
                                  0x00, 0x00, 0x20, 0xc0,  // -2.5f
                                  0x2a, 0x00, 0x00, 0x00}; // 42
  file.append(reinterpret_cast<const char *>(data), 12);
  spit(dir / "h.safetensors", file);
  SafetensorsFile f = readSafetensors((dir / "h.safetensors").string());
  REQUIRE(f.tensors.size() == 2);
  CHECK(f.tensors[0].name == "w");
  CHECK(sameTensor(f.tensors[0].tensor, f32({2}, {1.0f, -2.5f})));
  CHECK(f.tensors[1].name == "n");
  CHECK(f.tensors[1].tensor.getDouble(0) == 42);
  CHECK(f.metadata.at("format") == "pt");

  auto corrupt = [&](const std::string &j, const std::string &needle, size_t dataBytes = 12) {
    std::string b;
    for (int i = 0; i < 8; ++i) b.push_back((char)((j.size() >> (8 * i)) & 0xff));
    b += j + std::string(dataBytes, '\0');
    spit(dir / "c.safetensors", b);
    CHECK_THROWS_WITH(readSafetensors((dir / "c.safetensors").string()),
                      Catch::Contains("c.safetensors") && Catch::Contains(needle));
  };
  corrupt(R"({"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", "unsupported dtype 'F16'", 4);
  corrupt(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", "needs 12 bytes", 8);
  corrupt(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", "cover 8", 12);
  corrupt(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", "gap", 12);
  corrupt(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", "non-negative", 8);
  corrupt(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", "data_offsets", 8);
  corrupt(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", "unknown field", 8);
  corrupt(R"({"w":[1,2]})", "not a JSON object", 8);
  corrupt(R"({"w":)", "not valid JSON", 8);
  corrupt(R"({"__metadata__":{"a":1}})", "not a string", 0);
  corrupt(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
          R"("b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", "overlap", 4);
  std::string huge = std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8) + "{}";
  spit(dir / "huge.safetensors", huge);
  CHECK_THROWS_WITH(inspectSafetensors((dir / "huge.safetensors").string()),
                    Catch::Contains("exceeds"));
}
