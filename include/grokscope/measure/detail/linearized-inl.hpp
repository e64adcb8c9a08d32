// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Definitions of the non-template functions declared in <grokscope/measure/linearized.hpp>: included by it in
/// header-only mode, compiled once into grokscope::compiled otherwise (core/config.hpp).

#include <grokscope/measure/linearized.hpp>

#if defined(GROKSCOPE_COMPILED) && !defined(GROKSCOPE_BUILDING_LIBRARY)
#error "grokscope: in compiled mode these definitions are in the library; include the header without -inl"
#endif

#include <Eigen/Eigenvalues>

#include <cmath>
#include <limits>
#include <string>

namespace grokscope {

namespace detail {

GROKSCOPE_DEFERRED void require_finite_matrix(const Eigen::MatrixXd& M, const char* where, const char* what) {
  for (Index j = 0; j < M.cols(); ++j)
    for (Index i = 0; i < M.rows(); ++i)
      if (!std::isfinite(M(i, j)))  // the message is built only for the entry that fails
        throw_invalid(where, std::string(what) + " entry (" + std::to_string(i) + ", " + std::to_string(j) + ") is " +
                                 std::to_string(M(i, j)));
}

GROKSCOPE_DEFERRED std::string dims(const Eigen::MatrixXd& M) {
  return std::to_string(M.rows()) + "x" + std::to_string(M.cols());
}

}  // namespace detail

GROKSCOPE_DEFERRED_DEF LinearizedDynamics::LinearizedDynamics(const Eigen::MatrixXd& K_train,
                                                              const Eigen::MatrixXd& y_train,
                                                              const Eigen::MatrixXd& f0_train,
                                                              const LinearizedOptions& options)
    : m_n(y_train.rows()), m_k(y_train.cols()), m_opt(options) {
  const char* where = "LinearizedDynamics";
  require(m_n >= 1 && m_k >= 1, where, "y_train is empty (" + detail::dims(y_train) + ")");
  require(f0_train.rows() == m_n && f0_train.cols() == m_k, where,
          "f0_train is " + detail::dims(f0_train) + " but y_train is " + detail::dims(y_train));
  require(K_train.rows() == K_train.cols(), where, "K_train is " + detail::dims(K_train) + ", not square");
  require(K_train.rows() == m_n || K_train.rows() == m_n * m_k, where,
          "K_train is " + detail::dims(K_train) + "; for " + std::to_string(m_n) + " examples and " +
              std::to_string(m_k) + " outputs it must be " + std::to_string(m_n) + "x" + std::to_string(m_n) +
              " (per output) or " + std::to_string(m_n * m_k) + "x" + std::to_string(m_n * m_k) + " (full)");
  require(std::isfinite(options.learning_rate) && options.learning_rate > 0, where,
          "the learning rate must be finite and > 0, got " + std::to_string(options.learning_rate));
  require(std::isfinite(options.diag_reg) && options.diag_reg >= 0, where,
          "diag_reg must be finite and >= 0, got " + std::to_string(options.diag_reg));
  detail::require_finite_matrix(K_train, where, "K_train");
  detail::require_finite_matrix(y_train, where, "y_train");
  detail::require_finite_matrix(f0_train, where, "f0_train");
  m_full = m_k > 1 && K_train.rows() == m_n * m_k;
  Eigen::MatrixXd K = 0.5 * (K_train + K_train.transpose());
  if (options.diag_reg > 0) K.diagonal().array() += options.diag_reg * K.trace() / static_cast<double>(K.rows());
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(K);
  require(es.info() == Eigen::Success, where, "eigen-decomposition of the kernel failed");
  m_lambda = es.eigenvalues().reverse().cwiseMax(0.0);
  m_V = es.eigenvectors().rowwise().reverse();
  m_c = 2.0 * options.learning_rate / static_cast<double>(m_n * m_k);
  m_y = y_train;
  m_f0 = f0_train;
  m_proj = m_V.transpose() * to_kernel_space(f0_train - y_train);
}

GROKSCOPE_DEFERRED_DEF Eigen::MatrixXd LinearizedDynamics::to_kernel_space(const Eigen::MatrixXd& f) const {
  if (!m_full) return f;
  Eigen::MatrixXd v(f.rows() * f.cols(), 1);
  for (Index i = 0; i < f.rows(); ++i)
    for (Index a = 0; a < f.cols(); ++a) v(i * f.cols() + a, 0) = f(i, a);
  return v;
}

GROKSCOPE_DEFERRED_DEF Eigen::MatrixXd LinearizedDynamics::from_kernel_space(const Eigen::MatrixXd& v,
                                                                             Index rows) const {
  if (!m_full) return v;
  Eigen::MatrixXd f(rows, m_k);
  for (Index i = 0; i < rows; ++i)
    for (Index a = 0; a < m_k; ++a) f(i, a) = v(i * m_k + a, 0);
  return f;
}

GROKSCOPE_DEFERRED_DEF void LinearizedDynamics::check_time(double t, const char* where) const {
  require(std::isfinite(t) && t >= 0, where, "the step must be finite and >= 0, got " + std::to_string(t));
  if (m_opt.time == LinearizedTime::Discrete)
    require(t == std::floor(t), where,
            "discrete time needs a whole number of steps, got " + std::to_string(t) +
                " (LinearizedTime::GradientFlow takes any t)");
}

GROKSCOPE_DEFERRED_DEF Eigen::VectorXd LinearizedDynamics::residual_factor(double t) const {
  Eigen::VectorXd f(m_lambda.size());
  for (Index i = 0; i < f.size(); ++i) {
    const double x = m_c * m_lambda(i);
    if (m_opt.time == LinearizedTime::GradientFlow)
      f(i) = std::exp(-x * t);
    else
      f(i) = x < 1 ? std::exp(t * std::log1p(-x)) : std::pow(1.0 - x, t);
  }
  return f;
}

GROKSCOPE_DEFERRED_DEF Eigen::VectorXd LinearizedDynamics::test_factor(double t) const {
  Eigen::VectorXd f(m_lambda.size());
  for (Index i = 0; i < f.size(); ++i) {
    const double l = m_lambda(i), x = m_c * l;
    if (l == 0)
      f(i) = -m_c * t;
    else if (m_opt.time == LinearizedTime::GradientFlow)
      f(i) = std::expm1(-x * t) / l;
    else
      f(i) = x < 1 ? std::expm1(t * std::log1p(-x)) / l : (std::pow(1.0 - x, t) - 1.0) / l;
  }
  return f;
}

GROKSCOPE_DEFERRED_DEF Eigen::MatrixXd LinearizedDynamics::train_outputs(double t) const {
  check_time(t, "LinearizedDynamics::train_outputs");
  return m_y + from_kernel_space(m_V * (residual_factor(t).asDiagonal() * m_proj), m_n);
}

GROKSCOPE_DEFERRED_DEF Eigen::MatrixXd LinearizedDynamics::test_outputs(double t, const Eigen::MatrixXd& K_test_train,
                                                                        const Eigen::MatrixXd& f0_test) const {
  const char* where = "LinearizedDynamics::test_outputs";
  check_time(t, where);
  const Index m = f0_test.rows();
  require(f0_test.cols() == m_k, where,
          "f0_test has " + std::to_string(f0_test.cols()) + " outputs, the training targets " + std::to_string(m_k));
  const Index rows = m_full ? m * m_k : m, cols = m_full ? m_n * m_k : m_n;
  require(K_test_train.rows() == rows && K_test_train.cols() == cols, where,
          "K_test_train is " + detail::dims(K_test_train) + " but must be " + std::to_string(rows) + "x" +
              std::to_string(cols) + " for " + std::to_string(m) + " test examples" +
              (m_full ? " (the full kernel, as K_train)" : ""));
  detail::require_finite_matrix(K_test_train, where, "K_test_train");
  detail::require_finite_matrix(f0_test, where, "f0_test");
  return f0_test + from_kernel_space(K_test_train * (m_V * (test_factor(t).asDiagonal() * m_proj)), m);
}

GROKSCOPE_DEFERRED_DEF double LinearizedDynamics::train_loss(double t) const {
  check_time(t, "LinearizedDynamics::train_loss");
  // V is orthonormal: ‖f_t − y‖² = ‖diag(factor) Vᵀ(f₀ − y)‖²
  return (residual_factor(t).asDiagonal() * m_proj).squaredNorm() / static_cast<double>(m_n * m_k);
}

GROKSCOPE_DEFERRED_DEF double LinearizedDynamics::max_learning_rate() const {
  const double l = m_lambda.size() ? m_lambda(0) : 0.0;
  return l > 0 ? static_cast<double>(m_n * m_k) / l : std::numeric_limits<double>::infinity();
}

GROKSCOPE_DEFERRED_DEF std::optional<double> linearization_exit(const std::vector<double>& steps,
                                                                const std::vector<double>& gap, double threshold) {
  require(steps.size() == gap.size(), "linearization_exit",
          std::to_string(steps.size()) + " steps but " + std::to_string(gap.size()) + " gap values");
  require(std::isfinite(threshold) && threshold > 0, "linearization_exit",
          "the threshold must be finite and > 0, got " + std::to_string(threshold));
  bool was_linear = false;
  for (std::size_t i = 0; i < gap.size(); ++i) {
    if (std::isnan(gap[i])) continue;
    if (gap[i] <= threshold)
      was_linear = true;
    else if (was_linear)
      return steps[i];
  }
  return std::nullopt;
}

}  // namespace grokscope
