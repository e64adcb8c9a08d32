// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Kumar et al. (2024, §3 eq. 6) sufficient statistics and the exact test-loss
/// decomposition of their committee machine f(x) = (α/N) Σᵢ φ(wᵢ·x), φ(h) = h + (ε/2) h², on
/// x ~ N(0, I_D/D) with target y = c (β·x)² (c = ½ in their convention A).
///
/// With w̄ = (1/N) Σ wᵢ and M = (1/N) Σ wᵢwᵢᵀ, f(x) = α w̄·x + (αε/2) xᵀMx, and Isserlis'
/// theorem gives the population MSE as the sum of three terms (for c = ½):
///   variance      ¼ (|β|²/D − αε Tr M/D)²
///   misalignment  (1/(2D²)) ‖αεM − ββᵀ‖²_F
///   linear power  (α²/D) |w̄|²
/// A general c is the same with β replaced by √(2c) β. For a centered predictor
/// α (f(θ) − f(θ₀)) the statistics are those of θ − θ₀ (f is linear in w̄ and M).
/// Convention B (x ~ N(0, I), h = w·x/√D, y = (β·x/√D)²) is the same population with c = 1.

#include <grokscope/core/check.hpp>
#include <grokscope/core/types.hpp>

#include <cmath>
#include <string>

namespace grokscope {

/// The three terms of the population test loss and their sum.
struct KumarDecomposition {
  double variance = 0;      ///< error in the trace of the quadratic part
  double misalignment = 0;  ///< error in its direction
  double linear_power = 0;  ///< power left in the linear modes
  double total = 0;         ///< the population test MSE
  double trace_M = 0;       ///< Tr M (of θ − θ₀ when centered)
  double mean_norm = 0;     ///< |w̄|
};

/// Decomposition for hidden weights W (N × D, rows wᵢ as in PyTorch's layers.0.weight), teacher
/// β (D entries), α, ε, target coefficient c; W0 (same shape as W) for a centered predictor, or
/// empty.
template <typename DW, typename DB>
KumarDecomposition kumar_decomposition(const Eigen::MatrixBase<DW>& W, const Eigen::MatrixBase<DB>& beta, double alpha,
                                       double epsilon, double c = 0.5, const Eigen::MatrixXd& W0 = Eigen::MatrixXd()) {
  const char* where = "kumar_decomposition";
  require(W.rows() >= 1 && W.cols() >= 1, where, "W is empty");
  require(beta.size() == W.cols(), where,
          "beta has " + std::to_string(beta.size()) + " entries but W is " + shape_string(W) + " (N x D)");
  require(W0.size() == 0 || (W0.rows() == W.rows() && W0.cols() == W.cols()), where,
          "W0 is " + shape_string(W0) + " but W is " + shape_string(W));
  require(std::isfinite(alpha) && std::isfinite(epsilon) && std::isfinite(c) && c >= 0, where,
          "alpha, epsilon must be finite and c finite and >= 0");
  require_finite(where, "W", W);
  require_finite(where, "beta", beta);
  const double N = static_cast<double>(W.rows()), D = static_cast<double>(W.cols());
  const Eigen::MatrixXd Wd = W.template cast<double>();
  const Eigen::VectorXd b = std::sqrt(2.0 * c) * Eigen::VectorXd(beta.template cast<double>().reshaped());
  const Eigen::VectorXd wbar = (Wd.colwise().sum() / N).transpose();
  Eigen::MatrixXd M = Wd.transpose() * Wd / N;
  Eigen::VectorXd wb = wbar;
  if (W0.size()) {
    wb -= (W0.colwise().sum() / N).transpose();
    M -= W0.transpose() * W0 / N;
  }
  KumarDecomposition r;
  r.trace_M = M.trace();
  r.mean_norm = wb.norm();
  const double ae = alpha * epsilon;
  const double v = b.squaredNorm() / D - ae * r.trace_M / D;
  r.variance = 0.25 * v * v;
  r.misalignment = (ae * M - b * b.transpose()).squaredNorm() / (2.0 * D * D);
  r.linear_power = alpha * alpha / D * wb.squaredNorm();
  r.total = r.variance + r.misalignment + r.linear_power;
  return r;
}

}  // namespace grokscope
