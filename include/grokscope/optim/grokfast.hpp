// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Grokfast gradient filters (Lee et al. 2024): amplify the slow component of the
/// gradient, ĝ = g + λ·(low-pass of g), before any optimiser. Semantics of the reference code
/// (ironjr/grokfast, grokfast.py): EMA initialised with the first gradient (so step 1 gives
/// ĝ = (1 + λ) g); MA over a window that includes the current gradient, unfiltered during the
/// first w − 1 steps when warm-up is on.
///
/// `normalize` (not in the reference code) is the control for the "effective learning rate"
/// question: the filtered gradient is rescaled so that its global L2 norm (over all parameters that
/// require gradients) equals the raw gradient's, so only the direction changes. Under SGD the
/// unnormalised filter multiplies the step by up to 1 + λ; Adam's update is nearly invariant to
/// the gradient's scale, so there the two differ mostly through ε and the moment estimates.

#include <grokscope/core/config.hpp>
#include <grokscope/optim/optimizer.hpp>

#include <cmath>
#include <deque>

namespace grokscope {

namespace detail {

template <typename S>
double grad_sq_norm(const std::vector<Parameter<S>*>& params) {
  double s = 0;
  for (auto* p : params)
    if (p->requires_grad) s += p->grad.template cast<double>().squaredNorm();
  return s;
}

/// Rescales every gradient so that the global norm becomes sqrt(target_sq) (nothing if it is 0).
template <typename S>
void rescale_grads(const std::vector<Parameter<S>*>& params, double target_sq) {
  const double now = grad_sq_norm(params);
  if (!(now > 0) || !std::isfinite(now)) return;
  const S f = static_cast<S>(std::sqrt(target_sq / now));
  for (auto* p : params)
    if (p->requires_grad) p->grad *= f;
}

}  // namespace detail

/// Grokfast-EMA: μ ← α μ + (1 − α) g (μ = g on the first call), ĝ = g + λ μ.
template <typename S>
class GrokfastEma : public GradientFilter<S> {
 public:
  explicit GrokfastEma(double alpha = 0.98, double lamb = 2.0, bool normalize = false)
      : m_alpha(alpha), m_lamb(lamb), m_normalize(normalize) {
    if (!(alpha >= 0 && alpha < 1))
      throw_invalid("GrokfastEma", "alpha must be in [0, 1), got " + std::to_string(alpha));
    require(std::isfinite(lamb), "GrokfastEma", "lamb must be finite");
  }
  void apply(const std::vector<Parameter<S>*>& params) override {
    if (m_mu.empty())
      for (auto* p : params) m_mu.push_back(p->grad);  // first call: μ = g
    require(m_mu.size() == params.size(), "GrokfastEma::apply", "the parameter list changed between calls");
    const double raw = m_normalize ? detail::grad_sq_norm(params) : 0.0;
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (!params[i]->requires_grad) continue;
      m_mu[i] = static_cast<S>(m_alpha) * m_mu[i] + static_cast<S>(1 - m_alpha) * params[i]->grad;
      params[i]->grad += static_cast<S>(m_lamb) * m_mu[i];
    }
    if (m_normalize) detail::rescale_grads(params, raw);
  }
  nlohmann::ordered_json config() const override {
    return {{"filter", "grokfast_ema"}, {"alpha", m_alpha}, {"lamb", m_lamb}, {"normalize", m_normalize}};
  }

 private:
  double m_alpha, m_lamb;
  bool m_normalize;
  std::vector<Matrix<S>> m_mu;
};

/// Grokfast-MA: keep the last w gradients (including the current one); ĝ = g + λ·mean (or sum)
/// once the window is full (always, without warm-up).
template <typename S>
class GrokfastMa : public GradientFilter<S> {
 public:
  explicit GrokfastMa(Index window = 100, double lamb = 5.0, bool warmup = true, bool use_sum = false,
                      bool normalize = false)
      : m_window(window), m_lamb(lamb), m_warmup(warmup), m_sum(use_sum), m_normalize(normalize) {
    if (!(window >= 1)) throw_invalid("GrokfastMa", "window must be >= 1, got " + std::to_string(window));
    require(std::isfinite(lamb), "GrokfastMa", "lamb must be finite");
  }
  void apply(const std::vector<Parameter<S>*>& params) override {
    std::vector<Matrix<S>> g;
    for (auto* p : params) g.push_back(p->grad);
    m_queue.push_back(std::move(g));
    if (static_cast<Index>(m_queue.size()) > m_window) m_queue.pop_front();
    if (m_warmup && static_cast<Index>(m_queue.size()) < m_window) return;
    const double raw = m_normalize ? detail::grad_sq_norm(params) : 0.0;
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (!params[i]->requires_grad) continue;
      Matrix<S> acc = Matrix<S>::Zero(params[i]->rows(), params[i]->cols());
      for (const auto& q : m_queue) acc += q[i];
      if (!m_sum) acc /= static_cast<S>(m_queue.size());
      params[i]->grad += static_cast<S>(m_lamb) * acc;
    }
    if (m_normalize) detail::rescale_grads(params, raw);
  }
  nlohmann::ordered_json config() const override {
    return {{"filter", "grokfast_ma"},        {"window", m_window},      {"lamb", m_lamb}, {"warmup", m_warmup},
            {"type", m_sum ? "sum" : "mean"}, {"normalize", m_normalize}};
  }

 private:
  Index m_window;
  double m_lamb;
  bool m_warmup, m_sum, m_normalize;
  std::deque<std::vector<Matrix<S>>> m_queue;
};

// Provided by the compiled library in compiled mode (core/config.hpp).
GROKSCOPE_EXTERN_CLASS(GrokfastEma)
GROKSCOPE_EXTERN_CLASS(GrokfastMa)

}  // namespace grokscope
