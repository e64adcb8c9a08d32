// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file The linearized model's predictions under full-batch gradient descent on the MSE, in
/// closed form at any step, from an empirical NTK (the semantics of neural-tangents'
/// predict.gradient_descent_mse, Lee et al. 2019, with grokscope's loss normalisation).
///
/// grokscope's `mse` is L = ‖f − y‖²_F / N with N = y.size() (no ½). Gradient descent with learning
/// rate η on the linearized model f_lin(θ) = f₀ + J(θ − θ₀) moves the training outputs by
///   f_{t+1} = f_t − (2η/N) K (f_t − y),        K = J Jᵀ (the NTK on the training inputs),
/// and any other inputs by Δf_x = −(2η/N) K_x· (f_t − y), K_x· = J_x Jᵀ. With K = V Λ Vᵀ and
/// c = 2η/N, the two time conventions are
///   Discrete (default; exact for t steps of GD):  f_t − y = V (1 − cΛ)^t Vᵀ (f₀ − y)
///                                                 f_x,t − f_x,0 = K_x· V diag(((1 − cλ)^t − 1)/λ) Vᵀ (f₀ − y)
///   GradientFlow (neural-tangents' continuous time, df/dt = −cK(f − y)):
///                                                 (1 − cλ)^t replaced by e^{−cλt}
/// (the λ → 0 limit of the test factor is −ct). neural-tangents' loss is ‖f − y‖²/(2N), so its time
/// or learning rate is twice grokscope's: NT's predict_fn(t) at learning_rate η equals
/// GradientFlow at η/2 and the same t. Like NT, eigenvalues below 0 (rounding in a PSD kernel)
/// are clamped to 0, and `diag_reg` adds r·(tr K / n)·I to K first.
///
/// Kernels: either n × n, applied to every output column alike (exact for one output, or a kernel
/// that is the same for every output and zero across outputs), or the full (n·k) × (n·k) kernel
/// with row i·k + a (empirical_ntk's NtkOutput::Full), which is exact for any number of outputs.
/// The stable learning rates of the discrete map are η < N / λ_max (max_learning_rate); NT's
/// max_learning_rate is 2N/λ_max for its halved loss.

#include <grokscope/core/check.hpp>
#include <grokscope/core/config.hpp>
#include <grokscope/core/types.hpp>

#include <Eigen/Core>

#include <optional>
#include <vector>

namespace grokscope {

/// Discrete gradient-descent steps or continuous gradient flow (see the file comment).
enum class LinearizedTime { Discrete, GradientFlow };

/// Options of LinearizedDynamics.
struct LinearizedOptions {
  double learning_rate = 1.0;  ///< η of grokscope's GD on mean((f − y)²)
  double diag_reg = 0.0;       ///< K + diag_reg·(tr K / n)·I (neural-tangents' relative diag_reg)
  LinearizedTime time = LinearizedTime::Discrete;
};

/// The linearized model's training and test outputs at any step (see the file comment).
class LinearizedDynamics {
 public:
  /// K_train: (n, n) or (n·k, n·k); y_train and f0_train: (n, k), the targets and the outputs at
  /// the point of linearisation.
  GROKSCOPE_DEFERRED LinearizedDynamics(const Eigen::MatrixXd& K_train, const Eigen::MatrixXd& y_train,
                                        const Eigen::MatrixXd& f0_train, const LinearizedOptions& options = {});

  /// Training outputs after t steps (t ≥ 0; an integer for Discrete), (n, k).
  GROKSCOPE_DEFERRED Eigen::MatrixXd train_outputs(double t) const;
  /// Outputs on other inputs after t steps: K_test_train (m, n) or (m·k, n·k), f0_test (m, k).
  GROKSCOPE_DEFERRED Eigen::MatrixXd test_outputs(double t, const Eigen::MatrixXd& K_test_train,
                                                  const Eigen::MatrixXd& f0_test) const;
  /// grokscope's training loss mean((f_t − y)²) of the linearized model after t steps.
  GROKSCOPE_DEFERRED double train_loss(double t) const;

  /// The largest learning rate at which the discrete map is stable: N / λ_max (∞ for a zero kernel).
  GROKSCOPE_DEFERRED double max_learning_rate() const;
  /// Eigenvalues of the (regularised, clamped) training kernel, descending.
  const Eigen::VectorXd& eigenvalues() const { return m_lambda; }
  Index examples() const { return m_n; }
  Index outputs() const { return m_k; }

 private:
  // per eigenvalue: the factor of the training residual and of the test update after t steps
  GROKSCOPE_DEFERRED Eigen::VectorXd residual_factor(double t) const;
  GROKSCOPE_DEFERRED Eigen::VectorXd test_factor(double t) const;
  GROKSCOPE_DEFERRED void check_time(double t, const char* where) const;
  // (n, k) <-> the coordinates the kernel acts on: n × k columns (per-output) or n·k × 1 (full)
  GROKSCOPE_DEFERRED Eigen::MatrixXd to_kernel_space(const Eigen::MatrixXd& f) const;
  GROKSCOPE_DEFERRED Eigen::MatrixXd from_kernel_space(const Eigen::MatrixXd& v, Index rows) const;

  Index m_n = 0, m_k = 0;
  bool m_full = false;
  LinearizedOptions m_opt;
  double m_c = 0;            // 2η / N
  Eigen::VectorXd m_lambda;  // descending
  Eigen::MatrixXd m_V;
  Eigen::MatrixXd m_y, m_f0;
  Eigen::MatrixXd m_proj;  // Vᵀ (f₀ − y) in kernel space
};

/// The first step at which `gap` exceeds `threshold` after it was at or below it (the step at
/// which a network leaves its linearization), or nullopt. NaN entries are skipped.
GROKSCOPE_DEFERRED std::optional<double> linearization_exit(const std::vector<double>& steps,
                                                            const std::vector<double>& gap, double threshold = 0.1);

}  // namespace grokscope

#if GROKSCOPE_HEADER_ONLY
#include <grokscope/measure/detail/linearized-inl.hpp>
#endif
