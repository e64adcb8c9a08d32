// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Kernel measurements of the lazy-to-rich picture: kernel regression (Kumar et al.'s
/// "initial-NTK regression" baseline), kernel–target alignment (centered, Cortes et al. 2012,
/// equal to linear CKA between K and yyᵀ; and Kumar et al.'s one-sided variant), kernel distance
/// and velocity, eigen-spectrum, effective rank, and the share of the target in the top
/// eigenvectors. Kernels are n × n Gram matrices (e.g. the empirical NTK) in double.

#include <grokscope/core/check.hpp>
#include <grokscope/core/types.hpp>

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace grokscope {

/// Which solver kernel_regression used.
enum class KernelSolve { Cholesky, PseudoInverse };

/// Predictions of kernel regression and how they were obtained.
struct KernelRegressionResult {
  Eigen::MatrixXd coefficients;  ///< (n, k): (K + ridge·I)⁻¹ y
  Eigen::MatrixXd predictions;   ///< (m, k) on the test points
  KernelSolve solver = KernelSolve::Cholesky;
  Index rank = 0;  ///< numerical rank used by the pseudo-inverse (n with Cholesky)
  double test_mse = std::numeric_limits<double>::quiet_NaN();  ///< mean over entries, when y_test is given
};

namespace detail {
inline void require_square(const char* where, const char* name, const Eigen::MatrixXd& K) {
  require(K.rows() == K.cols() && K.rows() > 0, where,
          std::string(name) + " is " + shape_string(K) + ", not a non-empty square matrix");
  require_finite(where, name, K);
}
}  // namespace detail

/// Kernel regression: a = (K_train + ridge·I)⁻¹ y_train, predictions K_test_train · a. Uses
/// Cholesky; when K + ridge·I is not positive definite it falls back to the eigen-decomposition
/// pseudo-inverse (eigenvalues below n·ε·max|λ| dropped) and says so in `solver`.
/// K_train (n, n), y_train (n, k), K_test_train (m, n), y_test (m, k) or empty.
inline KernelRegressionResult kernel_regression(const Eigen::MatrixXd& K_train, const Eigen::MatrixXd& y_train,
                                                const Eigen::MatrixXd& K_test_train, double ridge = 0.0,
                                                const Eigen::MatrixXd& y_test = Eigen::MatrixXd()) {
  detail::require_square("kernel_regression", "K_train", K_train);
  const Index n = K_train.rows();
  require(y_train.rows() == n && y_train.cols() >= 1, "kernel_regression",
          "y_train is " + shape_string(y_train) + " but K_train is " + shape_string(K_train));
  require(K_test_train.cols() == n, "kernel_regression",
          "K_test_train is " + shape_string(K_test_train) + " but there are " + std::to_string(n) + " training points");
  require(ridge >= 0 && std::isfinite(ridge), "kernel_regression", "ridge must be finite and >= 0");
  require(y_test.size() == 0 || (y_test.rows() == K_test_train.rows() && y_test.cols() == y_train.cols()),
          "kernel_regression",
          "y_test is " + shape_string(y_test) + " but predictions are " + std::to_string(K_test_train.rows()) + "x" +
              std::to_string(y_train.cols()));
  require_finite("kernel_regression", "y_train", y_train);
  KernelRegressionResult r;
  Eigen::MatrixXd A = K_train;
  A.diagonal().array() += ridge;
  const Eigen::LLT<Eigen::MatrixXd> llt(A);
  if (llt.info() == Eigen::Success) {
    r.coefficients = llt.solve(y_train);
    r.rank = n;
  }
  if (llt.info() != Eigen::Success || !r.coefficients.allFinite()) {
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(0.5 * (A + A.transpose()));
    const Eigen::VectorXd& l = es.eigenvalues();
    const double cut = static_cast<double>(n) * std::numeric_limits<double>::epsilon() * l.cwiseAbs().maxCoeff();
    Eigen::VectorXd inv = Eigen::VectorXd::Zero(n);
    r.rank = 0;
    for (Index i = 0; i < n; ++i)
      if (std::abs(l(i)) > cut) inv(i) = 1.0 / l(i), ++r.rank;
    r.coefficients = es.eigenvectors() * inv.asDiagonal() * (es.eigenvectors().transpose() * y_train);
    r.solver = KernelSolve::PseudoInverse;
  }
  r.predictions = K_test_train * r.coefficients;
  if (y_test.size() > 0) r.test_mse = (r.predictions - y_test).squaredNorm() / static_cast<double>(y_test.size());
  return r;
}

/// Centered kernel–target alignment (Cortes, Mohri & Rostamizadeh 2012):
/// tr(Y_cᵀ K Y_c) / (‖HKH‖_F ‖Y_c Y_cᵀ‖_F), equal to linear CKA between K and YYᵀ. Y (n, k).
/// Returns 0 when K or Y is constant (undefined alignment).
inline double centered_alignment(const Eigen::MatrixXd& K, const Eigen::MatrixXd& Y) {
  detail::require_square("centered_alignment", "K", K);
  require(Y.rows() == K.rows(), "centered_alignment", "Y is " + shape_string(Y) + " but K is " + shape_string(K));
  Eigen::MatrixXd Yc = Y;
  Yc.rowwise() -= Yc.colwise().mean();
  Eigen::MatrixXd Kc = K;
  Kc.rowwise() -= Kc.colwise().mean();
  Kc.colwise() -= Kc.rowwise().mean();  // HKH
  const double den = Kc.norm() * (Yc * Yc.transpose()).norm();
  return den > 0 ? (Yc.transpose() * K * Yc).trace() / den : 0.0;
}

/// Kumar et al.'s "NTK alignment" (their code's `kalignment`): y_c = y − mean(y),
/// K_c = K minus its column means, tr(y_cᵀ K_c y_c) / (‖K_c‖_F ‖y_c‖²). Differs from
/// centered_alignment only in the denominator. Returns 0 when undefined.
inline double kumar_alignment(const Eigen::MatrixXd& K, const Eigen::MatrixXd& Y) {
  detail::require_square("kumar_alignment", "K", K);
  require(Y.rows() == K.rows(), "kumar_alignment", "Y is " + shape_string(Y) + " but K is " + shape_string(K));
  Eigen::MatrixXd Yc = Y;
  Yc.rowwise() -= Yc.colwise().mean();
  Eigen::MatrixXd Kc = K;
  Kc.rowwise() -= Kc.colwise().mean();
  const double den = Kc.norm() * Yc.squaredNorm();
  return den > 0 ? (Yc.transpose() * Kc * Yc).trace() / den : 0.0;
}

/// Kernel distance 1 − ⟨K₀, K_t⟩_F / (‖K₀‖_F ‖K_t‖_F) (Fort et al. 2020): 0 for proportional
/// kernels, up to 2. Returns 0 when either kernel is zero.
inline double kernel_distance(const Eigen::MatrixXd& K0, const Eigen::MatrixXd& Kt) {
  require(K0.rows() == Kt.rows() && K0.cols() == Kt.cols(), "kernel_distance",
          "K0 is " + shape_string(K0) + " but Kt is " + shape_string(Kt));
  const double den = K0.norm() * Kt.norm();
  return den > 0 ? 1.0 - K0.cwiseProduct(Kt).sum() / den : 0.0;
}

/// Kernel velocity: kernel_distance between consecutive kernels per unit of time (steps).
inline double kernel_velocity(const Eigen::MatrixXd& K_prev, const Eigen::MatrixXd& K_next, double dt) {
  require(dt > 0, "kernel_velocity", "dt must be positive");
  return kernel_distance(K_prev, K_next) / dt;
}

/// Eigen-decomposition of a symmetric kernel, largest eigenvalue first.
struct KernelSpectrum {
  Eigen::VectorXd eigenvalues;   ///< descending
  Eigen::MatrixXd eigenvectors;  ///< column i belongs to eigenvalues(i)

  /// exp(entropy) of the normalised non-negative spectrum (Roy & Vetterli 2007).
  double effective_rank() const {
    const Eigen::VectorXd l = eigenvalues.cwiseMax(0.0);
    const double s = l.sum();
    if (!(s > 0)) return 0.0;
    double h = 0;
    for (Index i = 0; i < l.size(); ++i)
      if (l(i) > 0) h -= (l(i) / s) * std::log(l(i) / s);
    return std::exp(h);
  }
  /// Participation ratio (Σλ)² / Σλ² of the non-negative spectrum.
  double participation_ratio() const {
    const Eigen::VectorXd l = eigenvalues.cwiseMax(0.0);
    const double q = l.squaredNorm();
    return q > 0 ? l.sum() * l.sum() / q : 0.0;
  }
  /// Share of ‖y‖² in the span of the top-k eigenvectors: Σ_{i<k} (v_iᵀ y)² / ‖y‖² (y is n × 1).
  double target_fraction(const Eigen::VectorXd& y, Index k) const {
    require(y.size() == eigenvectors.rows(), "KernelSpectrum::target_fraction",
            "y has " + std::to_string(y.size()) + " entries but the kernel is " + std::to_string(eigenvectors.rows()) +
                "x" + std::to_string(eigenvectors.rows()));
    require(k >= 0 && k <= eigenvalues.size(), "KernelSpectrum::target_fraction", "k out of range");
    const double yy = y.squaredNorm();
    return yy > 0 ? (eigenvectors.leftCols(k).transpose() * y).squaredNorm() / yy : 0.0;
  }
};

/// Spectrum of a symmetric kernel (symmetrised first: (K + Kᵀ)/2).
inline KernelSpectrum kernel_spectrum(const Eigen::MatrixXd& K) {
  detail::require_square("kernel_spectrum", "K", K);
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(0.5 * (K + K.transpose()));
  require(es.info() == Eigen::Success, "kernel_spectrum", "eigen-decomposition failed");
  KernelSpectrum s;
  s.eigenvalues = es.eigenvalues().reverse();
  s.eigenvectors = es.eigenvectors().rowwise().reverse();
  return s;
}

}  // namespace grokscope
