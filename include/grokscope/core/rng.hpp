// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Rng: a seeded random source that gives the same numbers on every compiler and platform.
///
/// The engine is std::mt19937_64, whose output sequence the C++ standard specifies exactly. The
/// transforms on top of it (uniform reals, bounded integers, normals, permutations) are the
/// library's own, because the std::*_distribution classes differ between standard libraries.

#include <grokscope/core/check.hpp>
#include <grokscope/core/types.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace grokscope {

/// Seeded random source; every sampling function in grokscope takes one by reference.
class Rng {
 public:
  /// The bit generator: fully specified by the C++ standard.
  using Engine = std::mt19937_64;

  /// Seeds the engine with `seed` (the standard's single-integer seeding).
  explicit Rng(std::uint64_t seed = 0) : m_seed(seed), m_engine(seed) {}

  /// The seed this generator was created with.
  std::uint64_t seed() const { return m_seed; }

  /// Next raw 64-bit word.
  std::uint64_t next_u64() { return m_engine(); }

  /// Uniform double in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

  /// Uniform double in [a, b).
  double uniform(double a, double b) {
    require(a < b, "Rng::uniform", "empty interval [" + std::to_string(a) + ", " + std::to_string(b) + ")");
    return a + (b - a) * uniform();
  }

  /// Uniform integer in [0, n), without modulo bias (rejection sampling).
  Index integer(Index n) {
    require(n > 0, "Rng::integer", "n must be positive, got " + std::to_string(n));
    const std::uint64_t range = static_cast<std::uint64_t>(n);
    const std::uint64_t limit = UINT64_MAX - (UINT64_MAX % range);
    std::uint64_t x;
    do {
      x = next_u64();
    } while (x >= limit);
    return static_cast<Index>(x % range);
  }

  /// Standard normal deviate (Box–Muller; the second deviate of each pair is cached).
  double normal() {
    if (m_has_spare) {
      m_has_spare = false;
      return m_spare;
    }
    const double u1 = 1.0 - uniform();  // (0, 1]: log is finite
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double theta = 2.0 * 3.14159265358979323846 * u2;
    m_spare = r * std::sin(theta);
    m_has_spare = true;
    return r * std::cos(theta);
  }

  /// Normal deviate with the given mean and standard deviation.
  double normal(double mean, double stddev) { return mean + stddev * normal(); }

  /// rows × cols matrix of i.i.d. N(mean, stddev²) entries, filled in row-major order.
  template <typename S = double>
  Matrix<S> normal_matrix(Index rows, Index cols, double mean = 0.0, double stddev = 1.0) {
    require(rows >= 0 && cols >= 0, "Rng::normal_matrix",
            "negative shape " + std::to_string(rows) + "x" + std::to_string(cols));
    Matrix<S> m(rows, cols);
    for (Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<S>(normal(mean, stddev));
    return m;
  }

  /// Fills out[0 … n) with i.i.d. N(0, 1) draws, several times faster than n calls of normal():
  /// Marsaglia's polar method on blocks of 256 candidate pairs (u, v uniform on (−1, 1)², kept
  /// when 0 < s = u² + v² < 1, giving u·√(−2 ln s / s) and v·√(−2 ln s / s)), the logarithm
  /// vectorised by Eigen. A different stream from normal(): the same seed gives the same numbers
  /// on every compiler for a given instruction set; between instruction sets (with and without
  /// FMA) the last bit of a draw can differ. Leaves normal()'s spare value untouched.
  void fill_normal(double* out, Index n) {
    require(n >= 0, "Rng::fill_normal", "n must be non-negative, got " + std::to_string(n));
    constexpr Index block = 256;
    Eigen::Array<double, block, 1> u, v, s, f;
    Index filled = 0;
    while (filled < n) {
      for (Index i = 0; i < block; ++i) {
        u(i) = 2.0 * uniform() - 1.0;
        v(i) = 2.0 * uniform() - 1.0;
      }
      s = u * u + v * v;
      // rejected candidates (s = 0 or s ≥ 1) give NaN or inf here and are skipped below
      f = (-2.0 * s.log() / s).sqrt();
      for (Index i = 0; i < block && filled < n; ++i) {
        if (!(s(i) > 0.0 && s(i) < 1.0)) continue;
        out[filled++] = u(i) * f(i);
        if (filled < n) out[filled++] = v(i) * f(i);
      }
    }
  }

  /// Matrix of N(mean, stddev²) entries with the shape of `like`.
  template <typename Derived>
  Matrix<typename Derived::Scalar> normal_like(const Eigen::EigenBase<Derived>& like, double mean = 0.0,
                                               double stddev = 1.0) {
    return normal_matrix<typename Derived::Scalar>(like.rows(), like.cols(), mean, stddev);
  }

  /// rows × cols matrix of i.i.d. U[a, b) entries, filled in row-major order.
  template <typename S = double>
  Matrix<S> uniform_matrix(Index rows, Index cols, double a = 0.0, double b = 1.0) {
    require(rows >= 0 && cols >= 0, "Rng::uniform_matrix",
            "negative shape " + std::to_string(rows) + "x" + std::to_string(cols));
    Matrix<S> m(rows, cols);
    for (Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<S>(uniform(a, b));
    return m;
  }

  /// Shuffles [first, last) in place (Fisher–Yates, from the back).
  template <typename It>
  void shuffle(It first, It last) {
    const Index n = static_cast<Index>(last - first);
    for (Index i = n - 1; i > 0; --i) {
      const Index j = integer(i + 1);
      using std::swap;
      swap(first[i], first[j]);
    }
  }

  /// A uniformly random permutation of 0, ..., n-1.
  IndexList permutation(Index n) {
    require(n >= 0, "Rng::permutation", "n must be non-negative, got " + std::to_string(n));
    IndexList p(static_cast<std::size_t>(n));
    for (Index i = 0; i < n; ++i) p[static_cast<std::size_t>(i)] = i;
    shuffle(p.begin(), p.end());
    return p;
  }

  /// k indices from [0, n): distinct (a uniformly random k-subset in random order) unless `replace`.
  IndexList choice(Index n, Index k, bool replace = false) {
    require(k >= 0, "Rng::choice", "k must be non-negative, got " + std::to_string(k));
    require(n > 0 || k == 0, "Rng::choice", "cannot choose from an empty range (n = 0)");
    IndexList out(static_cast<std::size_t>(k));
    if (replace) {
      for (auto& v : out) v = integer(n);
      return out;
    }
    require(k <= n, "Rng::choice",
            "cannot choose k = " + std::to_string(k) + " distinct indices from n = " + std::to_string(n));
    // Partial Fisher–Yates from the front: the first k slots are the sample.
    IndexList p(static_cast<std::size_t>(n));
    for (Index i = 0; i < n; ++i) p[static_cast<std::size_t>(i)] = i;
    for (Index i = 0; i < k; ++i) {
      const Index j = i + integer(n - i);
      std::swap(p[static_cast<std::size_t>(i)], p[static_cast<std::size_t>(j)]);
    }
    std::copy(p.begin(), p.begin() + k, out.begin());
    return out;
  }

  /// An independent generator for sub-stream `stream` (e.g. one per seed of a sweep, or one for
  /// the data split and one for the initialisation). Derived from this generator's seed only, so
  /// it does not depend on how many numbers have been drawn.
  Rng fork(std::uint64_t stream) const {
    return Rng(splitmix64(splitmix64(m_seed) ^ (stream + 0x9E3779B97F4A7C15ULL)));
  }

  /// The SplitMix64 finaliser (Steele, Lea & Flood 2014), used to derive seeds.
  static std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
  }

 private:
  std::uint64_t m_seed;
  Engine m_engine;
  bool m_has_spare = false;
  double m_spare = 0.0;
};

}  // namespace grokscope
