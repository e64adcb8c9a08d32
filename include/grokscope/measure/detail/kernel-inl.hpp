// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Definitions of the non-template functions declared in <grokscope/measure/kernel.hpp>: included by it in
/// header-only mode, compiled once into grokscope::compiled otherwise (core/config.hpp).

#include <grokscope/measure/kernel.hpp>

#if defined(GROKSCOPE_COMPILED) && !defined(GROKSCOPE_BUILDING_LIBRARY)
#error "grokscope: in compiled mode these definitions are in the library; include the header without -inl"
#endif

namespace grokscope::detail {

GROKSCOPE_DEFERRED_DEF void require_square(const char* where, const char* name, const Eigen::MatrixXd& K) {
  require(K.rows() == K.cols() && K.rows() > 0, where,
          std::string(name) + " is " + shape_string(K) + ", not a non-empty square matrix");
  require_finite(where, name, K);
}

}  // namespace grokscope::detail

namespace grokscope {

GROKSCOPE_DEFERRED_DEF KernelRegressionResult kernel_regression(const Eigen::MatrixXd& K_train,
                                                                const Eigen::MatrixXd& y_train,
                                                                const Eigen::MatrixXd& K_test_train, double ridge,
                                                                const Eigen::MatrixXd& y_test) {
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

GROKSCOPE_DEFERRED_DEF double centered_alignment(const Eigen::MatrixXd& K, const Eigen::MatrixXd& Y) {
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

GROKSCOPE_DEFERRED_DEF double kumar_alignment(const Eigen::MatrixXd& K, const Eigen::MatrixXd& Y) {
  detail::require_square("kumar_alignment", "K", K);
  require(Y.rows() == K.rows(), "kumar_alignment", "Y is " + shape_string(Y) + " but K is " + shape_string(K));
  Eigen::MatrixXd Yc = Y;
  Yc.rowwise() -= Yc.colwise().mean();
  Eigen::MatrixXd Kc = K;
  Kc.rowwise() -= Kc.colwise().mean();
  const double den = Kc.norm() * Yc.squaredNorm();
  return den > 0 ? (Yc.transpose() * Kc * Yc).trace() / den : 0.0;
}

GROKSCOPE_DEFERRED_DEF double kernel_distance(const Eigen::MatrixXd& K0, const Eigen::MatrixXd& Kt) {
  require(K0.rows() == Kt.rows() && K0.cols() == Kt.cols(), "kernel_distance",
          "K0 is " + shape_string(K0) + " but Kt is " + shape_string(Kt));
  const double den = K0.norm() * Kt.norm();
  return den > 0 ? 1.0 - K0.cwiseProduct(Kt).sum() / den : 0.0;
}

GROKSCOPE_DEFERRED_DEF double kernel_velocity(const Eigen::MatrixXd& K_prev, const Eigen::MatrixXd& K_next, double dt) {
  require(dt > 0, "kernel_velocity", "dt must be positive");
  return kernel_distance(K_prev, K_next) / dt;
}

GROKSCOPE_INLINE double KernelSpectrum::effective_rank() const {
  const Eigen::VectorXd l = eigenvalues.cwiseMax(0.0);
  const double s = l.sum();
  if (!(s > 0)) return 0.0;
  double h = 0;
  for (Index i = 0; i < l.size(); ++i)
    if (l(i) > 0) h -= (l(i) / s) * std::log(l(i) / s);
  return std::exp(h);
}

GROKSCOPE_INLINE double KernelSpectrum::participation_ratio() const {
  const Eigen::VectorXd l = eigenvalues.cwiseMax(0.0);
  const double q = l.squaredNorm();
  return q > 0 ? l.sum() * l.sum() / q : 0.0;
}

GROKSCOPE_INLINE double KernelSpectrum::target_fraction(const Eigen::VectorXd& y, Index k) const {
  require(y.size() == eigenvectors.rows(), "KernelSpectrum::target_fraction",
          "y has " + std::to_string(y.size()) + " entries but the kernel is " + std::to_string(eigenvectors.rows()) +
              "x" + std::to_string(eigenvectors.rows()));
  require(k >= 0 && k <= eigenvalues.size(), "KernelSpectrum::target_fraction", "k out of range");
  const double yy = y.squaredNorm();
  return yy > 0 ? (eigenvectors.leftCols(k).transpose() * y).squaredNorm() / yy : 0.0;
}

GROKSCOPE_DEFERRED_DEF KernelSpectrum kernel_spectrum(const Eigen::MatrixXd& K) {
  detail::require_square("kernel_spectrum", "K", K);
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(0.5 * (K + K.transpose()));
  require(es.info() == Eigen::Success, "kernel_spectrum", "eigen-decomposition failed");
  KernelSpectrum s;
  s.eigenvalues = es.eigenvalues().reverse();
  s.eigenvectors = es.eigenvectors().rowwise().reverse();
  return s;
}

}  // namespace grokscope
