#include <grokscope/core/rng.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>

using namespace grokscope;

TEST_CASE("the engine is the standard's mt19937_64") {
  // [rand.predef]: the 10000th output of a default-seeded (5489) mt19937_64 is fixed.
  Rng rng(5489);
  std::uint64_t x = 0;
  for (int i = 0; i < 10000; ++i) x = rng.next_u64();
  CHECK(x == 9981545732273789042ULL);
}

TEST_CASE("pinned first values of each stream (identical on every platform)") {
  {
    Rng rng(42);
    CHECK(rng.next_u64() == 13930160852258120406ULL);
  }
  {
    Rng rng(42);  // uniform = top 53 bits / 2^53 of the raw word
    CHECK(rng.uniform() == static_cast<double>(13930160852258120406ULL >> 11) * 0x1.0p-53);
    CHECK(rng.uniform() == 0.63903139385469743);  // 17 significant digits round-trip exactly
  }
  {
    Rng rng(42);
    CHECK(rng.normal() == doctest::Approx(-1.0771745442782885).epsilon(1e-15));
    CHECK(rng.normal() == doctest::Approx(-1.2860634502166481).epsilon(1e-15));
    CHECK(rng.normal() == doctest::Approx(1.0945198485006107).epsilon(1e-15));
  }
  {
    Rng rng(42);
    const IndexList p = rng.permutation(10);
    CHECK(p == IndexList{1, 7, 9, 0, 3, 8, 4, 2, 5, 6});
  }
  {
    Rng rng(42);
    CHECK(rng.choice(100, 5) == IndexList{6, 78, 98, 16, 57});
  }
}

TEST_CASE("Box–Muller pairs come from one pair of uniforms") {
  Rng a(7), b(7);
  const double z0 = a.normal(), z1 = a.normal();
  const double u1 = 1.0 - b.uniform(), u2 = b.uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  CHECK(z0 == doctest::Approx(r * std::cos(2 * M_PI * u2)).epsilon(1e-15));
  CHECK(z1 == doctest::Approx(r * std::sin(2 * M_PI * u2)).epsilon(1e-15));
}

TEST_CASE("normal and uniform moments") {
  Rng rng(3);
  const int n = 200000;
  double s = 0, s2 = 0, u = 0, u2 = 0;
  for (int i = 0; i < n; ++i) {
    const double z = rng.normal();
    s += z;
    s2 += z * z;
    const double v = rng.uniform();
    CHECK_MESSAGE((v >= 0 && v < 1), "uniform out of [0,1)");
    u += v;
    u2 += v * v;
  }
  CHECK(std::abs(s / n) < 0.01);         // sd of the mean: 0.0022
  CHECK(std::abs(s2 / n - 1.0) < 0.02);  // sd: 0.0032
  CHECK(std::abs(u / n - 0.5) < 0.003);  // sd: 0.00065
  CHECK(std::abs(u2 / n - 1.0 / 3.0) < 0.003);
  const Matrix<float> m = rng.normal_matrix<float>(3, 4, 2.0, 0.5);
  CHECK(m.rows() == 3);
  CHECK(m.cols() == 4);
  const Matrix<double> like = rng.normal_like(Matrix<double>::Zero(5, 2));
  CHECK(like.rows() == 5);
}

TEST_CASE("fill_normal: N(0, 1) by the polar method, reproducible, a prefix-consistent stream") {
  const Index n = 1000000;
  std::vector<double> x(static_cast<std::size_t>(n));
  Rng rng(11);
  rng.fill_normal(x.data(), n);
  double m1 = 0, m2 = 0, m3 = 0, m4 = 0;
  Index nonfinite = 0;
  for (double v : x) {
    nonfinite += !std::isfinite(v);
    m1 += v, m2 += v * v, m3 += v * v * v, m4 += v * v * v * v;
  }
  REQUIRE(nonfinite == 0);
  m1 /= n, m2 /= n, m3 /= n, m4 /= n;
  // standard errors at n = 1e6: mean 1e-3, E x² 1.4e-3, E x³ 3.9e-3, E x⁴ 9.8e-3; 5 of them
  CHECK(std::abs(m1) < 5e-3);
  CHECK(std::abs(m2 - 1) < 7e-3);
  CHECK(std::abs(m3) < 2e-2);
  CHECK(std::abs(m4 - 3) < 5e-2);
  // Kolmogorov–Smirnov distance to Φ below the 1 % critical value 1.63 / √n
  std::sort(x.begin(), x.end());
  double ks = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double F = 0.5 * std::erfc(-x[i] / std::sqrt(2.0));
    ks = std::max({ks, std::abs(F - static_cast<double>(i) / n), std::abs(F - static_cast<double>(i + 1) / n)});
  }
  CHECK(ks < 1.63 / std::sqrt(static_cast<double>(n)));
  CHECK(x.front() < -4.5);  // the tails are there (P(|x| > 4.5) · 1e6 ≈ 7)
  CHECK(x.back() > 4.5);

  // the same seed gives the same draws; a shorter fill is a prefix of a longer one (odd lengths too)
  std::vector<double> a(1001), b(7), c(1001);
  Rng r1(3), r2(3), r3(4);
  r1.fill_normal(a.data(), 1001);
  r2.fill_normal(b.data(), 7);
  r3.fill_normal(c.data(), 1001);
  CHECK(std::equal(b.begin(), b.end(), a.begin()));
  CHECK(a != c);
  Rng r4(3);
  r4.fill_normal(nullptr, 0);  // nothing drawn, nothing consumed
  std::vector<double> d(1001);
  r4.fill_normal(d.data(), 1001);
  CHECK(d == a);
  CHECK_THROWS_WITH_AS(r4.fill_normal(d.data(), -1), doctest::Contains("n must be non-negative"),
                       std::invalid_argument);
}

TEST_CASE("integer is unbiased enough and within range") {
  Rng rng(11);
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i) {
    const Index k = rng.integer(7);
    REQUIRE(k >= 0);
    REQUIRE(k < 7);
    ++counts[static_cast<std::size_t>(k)];
  }
  for (int c : counts) CHECK(std::abs(c - 10000) < 500);  // 5 sd
}

TEST_CASE("permutation, choice and shuffle") {
  Rng rng(5);
  IndexList p = rng.permutation(1000);
  std::sort(p.begin(), p.end());
  for (Index i = 0; i < 1000; ++i) CHECK(p[static_cast<std::size_t>(i)] == i);
  const IndexList c = rng.choice(50, 50);
  CHECK(std::set<Index>(c.begin(), c.end()).size() == 50);
  const IndexList r = rng.choice(3, 20, true);
  CHECK(r.size() == 20);
  CHECK(rng.permutation(0).empty());
  CHECK(rng.choice(0, 0).empty());
}

TEST_CASE("fork gives reproducible, distinct streams independent of draws") {
  Rng a(9), b(9);
  b.normal();
  b.next_u64();
  Rng a1 = a.fork(1), b1 = b.fork(1), a2 = a.fork(2);
  CHECK(a1.next_u64() == b1.next_u64());
  CHECK(a.fork(1).next_u64() != a2.next_u64());
  CHECK(a1.seed() != a.seed());
}

TEST_CASE("bad arguments name the function and the value") {
  Rng rng(0);
  CHECK_THROWS_WITH_AS(rng.integer(0), "grokscope::Rng::integer: n must be positive, got 0", std::invalid_argument);
  CHECK_THROWS_WITH_AS(rng.choice(3, 4), "grokscope::Rng::choice: cannot choose k = 4 distinct indices from n = 3",
                       std::invalid_argument);
  CHECK_THROWS_AS(rng.choice(0, 1, true), std::invalid_argument);
  CHECK_THROWS_AS(rng.permutation(-1), std::invalid_argument);
  CHECK_THROWS_AS(rng.uniform(1.0, 1.0), std::invalid_argument);
  CHECK_THROWS_AS(rng.normal_matrix(-1, 2), std::invalid_argument);
}
