// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Kernel measurements of the lazy-to-rich picture: kernel regression (Kumar et al.'s
/// "initial-NTK regression" baseline), kernel–target alignment (centered, Cortes et al. 2012,
/// equal to linear CKA between K and yyᵀ; and Kumar et al.'s one-sided variant), kernel distance
/// and velocity, eigen-spectrum, effective rank, and the share of the target in the top
/// eigenvectors. Kernels are n × n Gram matrices (e.g. the empirical NTK) in double.

#include <grokscope/core/check.hpp>
#include <grokscope/core/config.hpp>
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
GROKSCOPE_DEFERRED void require_square(const char* where, const char* name, const Eigen::MatrixXd& K);
}  // namespace detail

/// Kernel regression: a = (K_train + ridge·I)⁻¹ y_train, predictions K_test_train · a. Uses
/// Cholesky; when K + ridge·I is not positive definite it falls back to the eigen-decomposition
/// pseudo-inverse (eigenvalues below n·ε·max|λ| dropped) and says so in `solver`.
/// K_train (n, n), y_train (n, k), K_test_train (m, n), y_test (m, k) or empty.
GROKSCOPE_DEFERRED KernelRegressionResult kernel_regression(const Eigen::MatrixXd& K_train,
                                                            const Eigen::MatrixXd& y_train,
                                                            const Eigen::MatrixXd& K_test_train, double ridge = 0.0,
                                                            const Eigen::MatrixXd& y_test = Eigen::MatrixXd());

/// Centered kernel–target alignment (Cortes, Mohri & Rostamizadeh 2012):
/// tr(Y_cᵀ K Y_c) / (‖HKH‖_F ‖Y_c Y_cᵀ‖_F), equal to linear CKA between K and YYᵀ. Y (n, k).
/// Returns 0 when K or Y is constant (undefined alignment).
GROKSCOPE_DEFERRED double centered_alignment(const Eigen::MatrixXd& K, const Eigen::MatrixXd& Y);

/// Kumar et al.'s "NTK alignment" (their code's `kalignment`): y_c = y − mean(y),
/// K_c = K minus its column means, tr(y_cᵀ K_c y_c) / (‖K_c‖_F ‖y_c‖²). Differs from
/// centered_alignment only in the denominator. Returns 0 when undefined.
GROKSCOPE_DEFERRED double kumar_alignment(const Eigen::MatrixXd& K, const Eigen::MatrixXd& Y);

/// Kernel distance 1 − ⟨K₀, K_t⟩_F / (‖K₀‖_F ‖K_t‖_F) (Fort et al. 2020): 0 for proportional
/// kernels, up to 2. Returns 0 when either kernel is zero.
GROKSCOPE_DEFERRED double kernel_distance(const Eigen::MatrixXd& K0, const Eigen::MatrixXd& Kt);

/// Kernel velocity: kernel_distance between consecutive kernels per unit of time (steps).
GROKSCOPE_DEFERRED double kernel_velocity(const Eigen::MatrixXd& K_prev, const Eigen::MatrixXd& K_next, double dt);

/// Eigen-decomposition of a symmetric kernel, largest eigenvalue first.
struct KernelSpectrum {
  Eigen::VectorXd eigenvalues;   ///< descending
  Eigen::MatrixXd eigenvectors;  ///< column i belongs to eigenvalues(i)

  /// exp(entropy) of the normalised non-negative spectrum (Roy & Vetterli 2007).
  double effective_rank() const;
  /// Participation ratio (Σλ)² / Σλ² of the non-negative spectrum.
  double participation_ratio() const;
  /// Share of ‖y‖² in the span of the top-k eigenvectors: Σ_{i<k} (v_iᵀ y)² / ‖y‖² (y is n × 1).
  double target_fraction(const Eigen::VectorXd& y, Index k) const;
};

/// Spectrum of a symmetric kernel (symmetrised first: (K + Kᵀ)/2).
GROKSCOPE_DEFERRED KernelSpectrum kernel_spectrum(const Eigen::MatrixXd& K);

}  // namespace grokscope

#if GROKSCOPE_HEADER_ONLY
#include <grokscope/measure/detail/kernel-inl.hpp>
#endif
