// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file ⊥Grad (Prieto et al. 2025, "Grokking at the edge of numerical stability"): the part of
/// each parameter's gradient along its own weights is removed and the rest rescaled to the
/// gradient's norm, so that training cannot follow the naive-loss-minimisation direction (scaling
/// the weights up, which scales the logits and drives the softmax into collapse).
///
///   per parameter tensor w with gradient g:
///   g⊥ = g − (w·g)/(w·w + 1e-30)·w,   g̃ = g⊥·‖g‖/(‖g⊥‖ + 1e-30)
///
/// as in their `orthograd.py` (per tensor, not over all parameters at once), with the dot
/// products in double. It is a GradientFilter: it runs between backward and the step, before or
/// after Grokfast's filters (Trainer::add_filter order), and with any optimiser (their runs use
/// AdamW, or SGD with momentum 0.8).

#include <grokscope/core/check.hpp>
#include <grokscope/core/config.hpp>
#include <grokscope/optim/optimizer.hpp>

#include <cmath>
#include <vector>

namespace grokscope {

/// ⊥Grad as a gradient filter (see the file comment).
template <typename S>
class OrthoGrad : public GradientFilter<S> {
 public:
  /// `eps`: the 1e-30 that the reference adds to w·w and to ‖g⊥‖ (so a zero tensor passes through).
  explicit OrthoGrad(double eps = 1e-30) : m_eps(eps) {
    require(eps >= 0 && std::isfinite(eps), "OrthoGrad", "eps must be finite and >= 0");
  }
  void apply(const std::vector<Parameter<S>*>& params) override {
    for (Parameter<S>* p : params) {
      if (!p->requires_grad) continue;
      const auto w = p->value.template cast<double>().array();
      const auto g = p->grad.template cast<double>().array();
      const double wg = (w * g).sum(), ww = (w * w).sum(), gg = (g * g).sum();
      // a zero tensor has nothing to project out, and a zero g⊥ stays zero (with eps = 0 both
      // would be 0/0)
      const double c = ww + m_eps > 0 ? wg / (ww + m_eps) : 0.0;
      const double perp2 = (g - c * w).square().sum();
      const double denom = std::sqrt(perp2) + m_eps;
      const double f = denom > 0 ? std::sqrt(gg) / denom : 0.0;
      p->grad = ((g - c * w) * f).matrix().template cast<S>();
    }
  }
  nlohmann::ordered_json config() const override { return {{"filter", "orthograd"}, {"eps", m_eps}}; }

 private:
  double m_eps;
};

// Provided by the compiled library in compiled mode (core/config.hpp).
GROKSCOPE_EXTERN_CLASS(OrthoGrad)

}  // namespace grokscope
