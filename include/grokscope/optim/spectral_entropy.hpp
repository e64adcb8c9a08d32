// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file The spectral entropy of a weight matrix and DeMoss et al.'s (2024, arXiv 2412.09810
/// §4) spectral-entropy regulariser, which pushes each matrix towards low effective rank.
///
/// With the singular values σᵢ of W (m × n, r = min(m, n) of them), s = Σ σᵢ and σ̄ᵢ = σᵢ / s,
///
///   H(W) = − Σᵢ σ̄ᵢ ln(σ̄ᵢ + ε)          (ε = 1e-10 as in the authors' code; H(Iₙ) ≈ ln n,
///                                         H = 0 at rank 1; exp H is the effective rank)
///
/// and its gradient. H depends on W only through its singular values and treats each alike, so
/// ∂H/∂W = U diag(∂H/∂σ) Vᵀ exactly, also where singular values repeat (Lewis 1995, spectral
/// functions), with
///
///   hᵢ = ∂H/∂σ̄ᵢ = −ln(σ̄ᵢ + ε) − σ̄ᵢ / (σ̄ᵢ + ε),   ∂H/∂σⱼ = (hⱼ − Σᵢ hᵢ σ̄ᵢ) / s,
///
/// which at ε = 0 is −(ln σ̄ⱼ + H)/s. A zero matrix has H = 0 and gradient 0 (s = 0).
///
/// The regulariser adds β · (1/M) Σ_W H(W) to the loss, the mean over the M weight matrices (every
/// trainable parameter with at least two rows and two columns: embeddings, attention and MLP
/// weights, the unembedding; not biases or LayerNorm gains), as the authors' `spectral_entropy_penalty`
/// does. It is a GradientFilter that adds the penalty's gradient to the loss gradient: add it first
/// (Trainer::add_filter order), so that filters after it (Grokfast, ⊥Grad) see the whole
/// gradient. Each call takes the SVD of every matrix in double (Eigen's BDCSVD).

#include <grokscope/core/check.hpp>
#include <grokscope/core/config.hpp>
#include <grokscope/core/types.hpp>
#include <grokscope/optim/optimizer.hpp>

#include <Eigen/Core>
#include <Eigen/SVD>

#include <cmath>
#include <string>
#include <vector>

namespace grokscope {

namespace detail {

inline void require_finite_matrix(const Eigen::MatrixXd& W, const char* where) {
  require(W.size() > 0, where, "the matrix is empty");
  require(W.allFinite(), where, "the matrix has a NaN or Inf entry");
}

// H and ∂H/∂σ from the singular values (see the file comment); dsigma empty when not wanted.
inline double spectral_entropy_of(const Eigen::VectorXd& sigma, double eps, Eigen::VectorXd* dsigma) {
  const double s = sigma.sum();
  if (dsigma) dsigma->setZero(sigma.size());
  if (!(s > 0)) return 0.0;
  double H = 0;
  for (Index i = 0; i < sigma.size(); ++i) {
    const double p = sigma(i) / s;
    H -= p * std::log(p + eps);
  }
  if (dsigma) {
    Eigen::VectorXd h(sigma.size());
    double mean_h = 0;
    for (Index i = 0; i < sigma.size(); ++i) {
      const double p = sigma(i) / s;
      h(i) = -std::log(p + eps) - (eps > 0 ? p / (p + eps) : 1.0);
      mean_h += h(i) * p;
    }
    *dsigma = (h.array() - mean_h) / s;
  }
  return H;
}

inline void check_entropy_eps(double eps, const char* where) {
  require(eps >= 0 && std::isfinite(eps), where, "eps must be finite and >= 0, got " + std::to_string(eps));
}

}  // namespace detail

/// Spectral entropy H(W) of a matrix (see the file comment). Throws std::invalid_argument for an
/// empty matrix, a NaN or Inf entry, or a negative eps.
inline double spectral_entropy(const Eigen::MatrixXd& W, double eps = 1e-10) {
  const char* where = "spectral_entropy";
  detail::require_finite_matrix(W, where);
  detail::check_entropy_eps(eps, where);
  const Eigen::BDCSVD<Eigen::MatrixXd> svd(W);
  return detail::spectral_entropy_of(svd.singularValues(), eps, nullptr);
}

/// H(W) and its gradient ∂H/∂W = U diag(∂H/∂σ) Vᵀ (written to `dW`, W's shape).
inline double spectral_entropy_gradient(const Eigen::MatrixXd& W, Eigen::MatrixXd& dW, double eps = 1e-10) {
  const char* where = "spectral_entropy_gradient";
  detail::require_finite_matrix(W, where);
  detail::check_entropy_eps(eps, where);
  const Eigen::BDCSVD<Eigen::MatrixXd> svd(W, Eigen::ComputeThinU | Eigen::ComputeThinV);
  Eigen::VectorXd dsigma;
  const double H = detail::spectral_entropy_of(svd.singularValues(), eps, &dsigma);
  dW.noalias() = svd.matrixU() * dsigma.asDiagonal() * svd.matrixV().transpose();
  return H;
}

/// Whether the regulariser counts a parameter as a weight matrix (trainable, ≥ 2 rows and ≥ 2 columns).
template <typename S>
bool is_weight_matrix(const Parameter<S>& p) {
  return p.requires_grad && p.rows() >= 2 && p.cols() >= 2;
}

/// Mean spectral entropy (1/M) Σ_W H(W) over a model's weight matrices (0 when it has none).
template <typename S>
double mean_spectral_entropy(const std::vector<Parameter<S>*>& params, double eps = 1e-10) {
  double sum = 0;
  Index M = 0;
  for (const Parameter<S>* p : params)
    if (is_weight_matrix(*p)) {
      sum += spectral_entropy(p->value.template cast<double>(), eps);
      ++M;
    }
  return M ? sum / static_cast<double>(M) : 0.0;
}

/// DeMoss et al.'s spectral-entropy regulariser as a gradient filter: adds β (1/M) ∂H(W)/∂W to
/// the gradient of each of the M weight matrices (see the file comment). `last_penalty()` is the
/// mean entropy (1/M) Σ H at the last call, before the factor β.
template <typename S>
class SpectralEntropyPenalty : public GradientFilter<S> {
 public:
  /// `beta`: the regulariser's weight (the authors use 0.1 with weight decay 1); `eps` inside the log.
  explicit SpectralEntropyPenalty(double beta, double eps = 1e-10) : m_beta(beta), m_eps(eps) {
    require(beta >= 0 && std::isfinite(beta), "SpectralEntropyPenalty",
            "beta must be finite and >= 0, got " + std::to_string(beta));
    detail::check_entropy_eps(eps, "SpectralEntropyPenalty");
  }
  void apply(const std::vector<Parameter<S>*>& params) override {
    Index M = 0;
    for (const Parameter<S>* p : params) M += is_weight_matrix(*p) ? 1 : 0;
    m_last = 0;
    if (M == 0) return;
    const double f = m_beta / static_cast<double>(M);
    for (Parameter<S>* p : params) {
      if (!is_weight_matrix(*p)) continue;
      m_W = p->value.template cast<double>();
      if (!m_W.allFinite()) continue;  // the Trainer reports the divergence after the step
      m_last += spectral_entropy_gradient(m_W, m_dW, m_eps);
      if (f != 0) p->grad += (f * m_dW).template cast<S>();
    }
    m_last /= static_cast<double>(M);
  }
  nlohmann::ordered_json config() const override {
    return {{"filter", "spectral_entropy"}, {"beta", m_beta}, {"eps", m_eps}};
  }
  double beta() const { return m_beta; }
  double last_penalty() const { return m_last; }

 private:
  double m_beta, m_eps, m_last = 0;
  Eigen::MatrixXd m_W, m_dW;
};

// Provided by the compiled library in compiled mode (core/config.hpp).
GROKSCOPE_EXTERN_CLASS(SpectralEntropyPenalty)

}  // namespace grokscope
