// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file The Hessian of a training loss through Hessian–vector products, with PyHessian's
/// measurements (Yao et al. 2020, amirgholami/PyHessian) and the Gauss–Newton sharpness from the
/// NTK.
///
/// Hessian–vector products are central differences of gradients in double:
///   Hv ≈ [∇L(θ + hv) − ∇L(θ − hv)] / (2h),   h = ε^{1/3} (1 + ‖θ‖) / ‖v‖,  ε = 2.2e-16,
/// two gradient evaluations per product. The error is O(h²) from the third derivative plus
/// O(ε‖∇L‖/h) from rounding: measured against exact Hessians (tests/measure/hessian.test.cpp) it
/// is 2e-11 relative for a quadratic loss (rounding only) and 2e-10 for a tanh MLP with
/// cross-entropy against PyTorch's double backward (tested below 1e-9 and 1e-7); at ReLU kinks the product is that of
/// the piecewise-smooth loss the differences see. The model must be in double (`HessianOperator` takes a Model<double>;
/// train in float and copy the values into the same model in double to measure it).
///
/// On any symmetric operator (a HessianOperator, or a matrix through `matrix_operator`):
///   lanczos_eigenvalues   the k largest (or smallest) eigenvalues by Lanczos with full
///                         re-orthogonalisation, with their residual norms
///   power_iteration       PyHessian's `eigenvalues(maxIter, tol, top_n)`: power iteration from
///                         N(0, I) with deflation against the eigenvectors found; it converges to
///                         the largest |λ|, which can be negative
///   hutchinson_trace      PyHessian's `trace`: the mean of vᵀHv over Rademacher v, stopping once
///                         the running mean changes by less than tol (relative)
///   slq_density           PyHessian's `density`: stochastic Lanczos quadrature, per run the Ritz
///                         values and the squared first components of their eigenvectors
///                         (weights summing to 1)
/// PyHessian's Hessian is that of the criterion only: weight decay (AdamW's, or an L2 term) is not
/// part of it, here neither.

#include <grokscope/autodiff/tape.hpp>
#include <grokscope/core/check.hpp>
#include <grokscope/core/config.hpp>
#include <grokscope/core/rng.hpp>
#include <grokscope/core/types.hpp>
#include <grokscope/nn/model.hpp>

#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace grokscope {

/// A symmetric linear operator on R^dim: y = A x.
struct SymmetricOperator {
  Index dim = 0;
  std::function<Eigen::VectorXd(const Eigen::VectorXd&)> apply;
};

/// A dense symmetric matrix as an operator (for tests and small problems).
GROKSCOPE_DEFERRED SymmetricOperator matrix_operator(const Eigen::MatrixXd& A);

/// Options of lanczos_eigenvalues.
struct LanczosOptions {
  Index k = 1;           ///< eigenvalues wanted
  Index iterations = 0;  ///< Krylov dimension (0: min(dim, max(2k + 20, 40)))
  bool largest = true;   ///< largest (true) or smallest (false) algebraic eigenvalues
  std::uint64_t seed = 0;
};

/// Eigenvalues and eigenvectors found by an iterative method.
struct EigenEstimate {
  Eigen::VectorXd eigenvalues;   ///< descending for largest, ascending for smallest / by |λ| for power
  Eigen::MatrixXd eigenvectors;  ///< dim × k, unit columns
  Eigen::VectorXd residuals;     ///< ‖A v − λ v‖ per pair
  Index matvecs = 0;             ///< operator applications used
};

/// The k extreme eigenvalues of `op` by Lanczos with full re-orthogonalisation.
GROKSCOPE_DEFERRED EigenEstimate lanczos_eigenvalues(const SymmetricOperator& op, const LanczosOptions& o = {});

/// Options of power_iteration (PyHessian's defaults).
struct PowerIterationOptions {
  Index top_n = 1;
  Index max_iter = 100;
  double tol = 1e-3;  ///< stop when |λ_new − λ| / (|λ| + 1e-6) < tol (PyHessian's test)
  std::uint64_t seed = 0;
};

/// PyHessian's eigenvalues(): power iteration with deflation (see the file comment).
GROKSCOPE_DEFERRED EigenEstimate power_iteration(const SymmetricOperator& op, const PowerIterationOptions& o = {});

/// Options of hutchinson_trace (PyHessian's defaults).
struct TraceOptions {
  Index max_iter = 100;
  double tol = 1e-3;  ///< stop when |mean_new − mean| / (|mean| + 1e-6) < tol
  std::uint64_t seed = 0;
};

/// Hutchinson's estimate of tr A.
struct TraceEstimate {
  double trace = 0;             ///< the mean of the samples
  std::vector<double> samples;  ///< vᵀAv per Rademacher vector
  double standard_error = 0;    ///< sample standard deviation / √count (0 for one sample)
};

/// PyHessian's trace(): Rademacher probes until the running mean settles.
GROKSCOPE_DEFERRED TraceEstimate hutchinson_trace(const SymmetricOperator& op, const TraceOptions& o = {});

/// Options of slq_density (PyHessian's defaults: 100 iterations, 1 run).
struct DensityOptions {
  Index iterations = 100;  ///< Lanczos steps per run (capped at dim)
  Index runs = 1;          ///< independent starting vectors
  std::uint64_t seed = 0;
};

/// Stochastic Lanczos quadrature: per run the nodes (Ritz values) and weights.
struct SpectralDensity {
  std::vector<Eigen::VectorXd> nodes;
  std::vector<Eigen::VectorXd> weights;  ///< sum to 1 per run
  /// The density smoothed by Gaussians of width `sigma` on `grid`, averaged over runs (PyHessian's
  /// get_esd_plot uses sigma = 1e-5 on a grid over [λ_min − 1, λ_max + 1] after normalising).
  Eigen::VectorXd smoothed(const Eigen::VectorXd& grid, double sigma) const;
};

/// PyHessian's density(): stochastic Lanczos quadrature.
GROKSCOPE_DEFERRED SpectralDensity slq_density(const SymmetricOperator& op, const DensityOptions& o = {});

/// The top eigenvalue of the Gauss–Newton matrix of grokscope's MSE, (2/N) JᵀJ with N = n·k, from
/// the full NTK K = J Jᵀ ((n·k) × (n·k), NtkOutput::Full; or n × n for one output): 2λ_max(K)/N. For
/// a network linear in its parameters it is the Hessian's top eigenvalue; otherwise the cheap
/// sharpness that ignores the residual-weighted second derivatives.
GROKSCOPE_DEFERRED double gauss_newton_sharpness(const Eigen::MatrixXd& K_full, Index targets);

/// A scalar loss of a model, recorded on a tape (forward pass and loss, no backward).
template <typename S>
using LossFn = std::function<Var<S>(Tape<S>&, Model<S>&)>;

/// The Hessian of `loss` with respect to a model's parameters (every one with requires_grad, or
/// the named ones), as an operator through central differences of gradients (see the file
/// comment). The parameters are restored exactly after every product, and their gradients are
/// left as they were found.
class HessianOperator {
 public:
  HessianOperator(Model<double>& model, LossFn<double> loss, std::vector<std::string> names = {})
      : m_model(model), m_loss(std::move(loss)) {
    for (Parameter<double>* p : model.parameters()) {
      bool chosen = names.empty() ? p->requires_grad : false;
      for (const std::string& n : names) chosen = chosen || p->name == n;
      if (chosen) m_params.push_back(p);
    }
    for (const std::string& n : names) {
      bool found = false;
      for (const Parameter<double>* p : m_params) found = found || p->name == n;
      require(found, "HessianOperator", "the model has no parameter '" + n + "'");
    }
    require(!m_params.empty(), "HessianOperator", "no parameter to differentiate (none requires grad)");
    for (const Parameter<double>* p : m_params) m_dim += p->size();
  }

  Index dim() const { return m_dim; }
  /// Gradient evaluations so far (two per product).
  Index gradients() const { return m_gradients; }

  /// θ flattened in parameter order (row-major within each parameter).
  Eigen::VectorXd parameters() const {
    Eigen::VectorXd v(m_dim);
    Index o = 0;
    for (const Parameter<double>* p : m_params)
      for (Index i = 0; i < p->rows(); ++i)
        for (Index j = 0; j < p->cols(); ++j) v(o++) = p->value(i, j);
    return v;
  }

  /// The loss and its gradient at the current parameters.
  double loss_and_gradient(Eigen::VectorXd& g) {
    const std::vector<Parameter<double>*> all = m_model.parameters();
    std::vector<Matrix<double>> saved;  // every parameter's gradient, restored below
    for (Parameter<double>* p : all) saved.push_back(p->grad);
    for (Parameter<double>* p : all) p->zero_grad();
    const auto restore = [&] {
      for (std::size_t k = 0; k < all.size(); ++k) all[k]->grad = saved[k];
    };
    Tape<double>& t = *m_tape;  // reused: its buffers stay allocated between products
    t.reset();
    const Var<double> L = m_loss(t, m_model);
    if (L.value().rows() != 1 || L.value().cols() != 1) {
      restore();
      throw_invalid("HessianOperator", "the loss is not a scalar");
    }
    const double value = L.value()(0, 0);
    if (!std::isfinite(value)) {
      restore();
      throw_invalid("HessianOperator", "the loss is " + std::to_string(value));
    }
    t.backward(L);
    g.resize(m_dim);
    Index o = 0;
    for (std::size_t k = 0; k < m_params.size(); ++k) {
      const Parameter<double>* p = m_params[k];
      for (Index i = 0; i < p->rows(); ++i)
        for (Index j = 0; j < p->cols(); ++j) g(o++) = p->grad(i, j);
    }
    restore();
    ++m_gradients;
    return value;
  }

  /// H v by central differences.
  Eigen::VectorXd apply(const Eigen::VectorXd& v) {
    require(v.size() == m_dim, "HessianOperator::apply",
            "v has " + std::to_string(v.size()) + " entries for " + std::to_string(m_dim) + " parameters");
    const double nv = v.norm();
    if (nv == 0) return Eigen::VectorXd::Zero(m_dim);
    require(std::isfinite(nv), "HessianOperator::apply", "v is not finite");
    std::vector<Matrix<double>> saved;
    for (const Parameter<double>* p : m_params) saved.push_back(p->value);
    double theta = 0;
    for (const Matrix<double>& s : saved) theta += s.squaredNorm();
    const double h = std::cbrt(2.220446049250313e-16) * (1 + std::sqrt(theta)) / nv;
    Eigen::VectorXd gp, gm;
    shift(saved, v, h);
    loss_and_gradient(gp);
    shift(saved, v, -h);
    loss_and_gradient(gm);
    for (std::size_t k = 0; k < m_params.size(); ++k) m_params[k]->value = saved[k];
    return (gp - gm) / (2 * h);
  }

  /// This operator for the iterative methods (it refers to *this: keep it alive while used).
  SymmetricOperator as_operator() {
    return {m_dim, [this](const Eigen::VectorXd& v) { return apply(v); }};
  }

 private:
  void shift(const std::vector<Matrix<double>>& base, const Eigen::VectorXd& v, double h) {
    Index o = 0;
    for (std::size_t k = 0; k < m_params.size(); ++k) {
      Parameter<double>* p = m_params[k];
      for (Index i = 0; i < p->rows(); ++i)
        for (Index j = 0; j < p->cols(); ++j) p->value(i, j) = base[k](i, j) + h * v(o++);
    }
  }

  Model<double>& m_model;
  LossFn<double> m_loss;
  std::vector<Parameter<double>*> m_params;
  Index m_dim = 0, m_gradients = 0;
  std::unique_ptr<Tape<double>> m_tape = std::make_unique<Tape<double>>();
};

}  // namespace grokscope

#if GROKSCOPE_HEADER_ONLY
#include <grokscope/measure/detail/hessian-inl.hpp>
#endif
