// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Heavy-tailed self-regularisation (Martin & Mahoney; Prakash & Martin 2025, arXiv
/// 2506.04434 §3): the power-law exponent α of a weight matrix's eigenvalue spectrum and its
/// correlation traps, the measures reported to separate pre-grokking, grokking and anti-grokking.
///
/// Empirical spectral density. For a weight matrix W, oriented N × M with N ≥ M (transposed if
/// needed), the eigenvalues of X = WᵀW / N, λᵢ = σᵢ² / N.
///
/// α (fit_power_law). A power-law tail ρ(λ) ∝ λ^−α above λ_min, fitted as Clauset, Shalizi &
/// Newman (2009) do for continuous data: for each candidate λ_min (every value with at least
/// `min_tail` values at or above it), the maximum-likelihood α̂ = 1 + n_tail / Σ ln(λᵢ / λ_min),
/// and the Kolmogorov–Smirnov distance between the tail's empirical distribution and the fitted
/// one; λ_min is the candidate with the smallest distance. α ≳ 5–6 reads as random-like, 2–6 as
/// well trained, < 2 as over-correlated (the paper's phases).
///
/// Correlation traps (correlation_traps). W's entries are shuffled (a seeded permutation), which
/// keeps their distribution and destroys their correlations; the shuffled matrix's spectrum should
/// then follow the Marchenko–Pastur law of its entries' variance σ², with bulk edge
/// λ⁺ = σ² (1 + √(M/N))². A trap is an eigenvalue of the shuffled matrix beyond λ⁺ by more than
/// the Tracy–Widom fluctuation of the largest eigenvalue: Johnstone's (2001) scale for real
/// Wishart matrices, s = σ² (√(N−½) + √(M−½)) (1/√(N−½) + 1/√(M−½))^{1/3} / N, times 2.02 (the
/// 0.99 quantile of the Tracy–Widom law for real matrices), so that a matrix of i.i.d. entries has
/// a trap by chance about once in a hundred. Large entries, or entries with a common mean, make
/// traps (a mean m adds an eigenvalue near m² M).

#include <grokscope/core/check.hpp>
#include <grokscope/core/rng.hpp>
#include <grokscope/core/types.hpp>

#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <Eigen/SVD>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace grokscope {

/// A power-law tail fitted by Clauset et al.'s method (see the file comment).
struct PowerLawFit {
  double alpha = 0;  ///< density exponent: ρ(x) ∝ x^−alpha above xmin
  double xmin = 0;   ///< the tail's lower bound
  double ks = 0;     ///< KS distance between the tail and the fitted law
  Index n_tail = 0;  ///< values at or above xmin
  Index n = 0;       ///< positive values given
};

/// Fits a power-law tail to the positive values of `x` (zeros are dropped: a matrix's null
/// space). Throws std::invalid_argument for a non-finite or negative value, or when fewer than
/// `min_tail` (≥ 2) positive values are given.
inline PowerLawFit fit_power_law(const Eigen::VectorXd& x, Index min_tail = 10) {
  const char* where = "fit_power_law";
  require(min_tail >= 2, where, "min_tail must be >= 2");
  std::vector<double> v;
  v.reserve(static_cast<std::size_t>(x.size()));
  for (Index i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x(i)) || x(i) < 0)
      throw_invalid(where, "value " + std::to_string(i) + " is " + std::to_string(x(i)) +
                               " (the values must be finite and >= 0)");
    if (x(i) > 0) v.push_back(x(i));
  }
  const Index n = static_cast<Index>(v.size());
  if (n < min_tail)
    throw_invalid(where, std::to_string(n) + " positive values, fewer than min_tail = " + std::to_string(min_tail));
  std::sort(v.begin(), v.end());
  // suffix sums of ln x: Σ_{j ≥ i} ln x_j, so that each candidate's α̂ is O(1)
  std::vector<double> suffix(static_cast<std::size_t>(n) + 1, 0.0);
  for (Index i = n - 1; i >= 0; --i)
    suffix[static_cast<std::size_t>(i)] =
        suffix[static_cast<std::size_t>(i) + 1] + std::log(v[static_cast<std::size_t>(i)]);
  PowerLawFit best;
  best.n = n;
  best.ks = INFINITY;
  for (Index i = 0; i + min_tail <= n; ++i) {
    if (i > 0 && v[static_cast<std::size_t>(i)] == v[static_cast<std::size_t>(i) - 1]) continue;  // same candidate
    const double xmin = v[static_cast<std::size_t>(i)];
    const Index m = n - i;
    const double s = suffix[static_cast<std::size_t>(i)] - static_cast<double>(m) * std::log(xmin);
    if (!(s > 0)) continue;  // every tail value equals xmin: no exponent
    const double alpha = 1.0 + static_cast<double>(m) / s;
    // KS distance over the tail's sorted values: the empirical CDF steps at each value
    double d = 0;
    for (Index j = i; j < n; ++j) {
      const double F = 1.0 - std::pow(v[static_cast<std::size_t>(j)] / xmin, 1.0 - alpha);
      const double lo = static_cast<double>(j - i) / static_cast<double>(m);
      const double hi = static_cast<double>(j - i + 1) / static_cast<double>(m);
      d = std::max({d, std::abs(F - lo), std::abs(hi - F)});
    }
    if (d < best.ks) {
      best.ks = d;
      best.alpha = alpha;
      best.xmin = xmin;
      best.n_tail = m;
    }
  }
  if (!std::isfinite(best.ks))
    throw_invalid(where, "no tail of at least min_tail = " + std::to_string(min_tail) + " distinct values");
  return best;
}

/// The eigenvalues λᵢ = σᵢ² / N of X = WᵀW / N, W oriented N × M with N ≥ M; descending.
inline Eigen::VectorXd esd_eigenvalues(const Eigen::MatrixXd& W) {
  require(W.rows() > 0 && W.cols() > 0, "esd_eigenvalues", "the matrix is empty");
  require(W.allFinite(), "esd_eigenvalues", "the matrix has a non-finite entry");
  const Index N = std::max(W.rows(), W.cols());
  const Eigen::VectorXd s = Eigen::BDCSVD<Eigen::MatrixXd>(W).singularValues();
  return s.array().square() / static_cast<double>(N);
}

/// Correlation traps of W (see the file comment).
struct CorrelationTraps {
  Index traps = 0;           ///< eigenvalues of the shuffled matrix beyond λ⁺ + 2.02 s
  double sigma2 = 0;         ///< variance of W's entries (the Marchenko–Pastur σ²)
  double lambda_plus = 0;    ///< σ² (1 + √(M/N))²
  double tracy_widom = 0;    ///< s, Johnstone's scale of the largest eigenvalue's fluctuation
  double largest = 0;        ///< the shuffled matrix's largest eigenvalue
  Eigen::VectorXd shuffled;  ///< the shuffled matrix's eigenvalues (descending)
};

/// Shuffles W's entries with `seed` and counts the shuffled spectrum's eigenvalues beyond the
/// Marchenko–Pastur edge. Needs at least 2 rows and 2 columns.
inline CorrelationTraps correlation_traps(const Eigen::MatrixXd& W, std::uint64_t seed = 0) {
  const char* where = "correlation_traps";
  require(W.rows() >= 2 && W.cols() >= 2, where,
          "the matrix is " + std::to_string(W.rows()) + "x" + std::to_string(W.cols()) + " (needs at least 2x2)");
  require(W.allFinite(), where, "the matrix has a non-finite entry");
  Eigen::MatrixXd R = W;
  Rng rng(seed);
  rng.shuffle(R.data(), R.data() + R.size());
  CorrelationTraps t;
  const double N = static_cast<double>(std::max(W.rows(), W.cols())),
               M = static_cast<double>(std::min(W.rows(), W.cols()));
  const double mean = R.mean();
  t.sigma2 = (R.array() - mean).square().sum() / static_cast<double>(R.size());
  t.lambda_plus = t.sigma2 * std::pow(1.0 + std::sqrt(M / N), 2);
  const double a = std::sqrt(N - 0.5), b = std::sqrt(M - 0.5);
  t.tracy_widom = t.sigma2 * (a + b) * std::cbrt(1.0 / a + 1.0 / b) / N;
  t.shuffled = esd_eigenvalues(R);
  t.largest = t.shuffled(0);
  const double edge = t.lambda_plus + 2.02 * t.tracy_widom;
  for (Index i = 0; i < t.shuffled.size(); ++i) t.traps += t.shuffled(i) > edge;
  return t;
}

}  // namespace grokscope
