// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Constant-norm training (Liu, Michaud & Tegmark 2023, "Omnigrok", §3): after every step of
/// the wrapped optimiser the parameters are rescaled, all together, so that their L2 norm stays at
/// a fixed value — `factor`·‖θ₀‖, with θ₀ the parameters when the wrapper is made:
///
///   θ ← θ · target / ‖θ‖,   target = factor · ‖θ₀‖
///
/// as their landscape notebook does (θ ← θ·√(L2₀/L2(θ)), L2 the sum of squares). Omnigrok's Fig. 6
/// shows that at a small fixed norm the delay between memorisation and generalisation vanishes.
/// Only parameters that require gradients take part; the norm is computed in double.

#include <grokscope/core/check.hpp>
#include <grokscope/core/config.hpp>
#include <grokscope/core/text.hpp>
#include <grokscope/optim/optimizer.hpp>

#include <cmath>
#include <limits>
#include <vector>

namespace grokscope {

/// Wraps an optimiser (kept by reference: it must outlive the wrapper) and projects back to the
/// sphere ‖θ‖ = factor·‖θ₀‖ after each of its steps.
template <typename S>
class ConstantNorm : public Optimizer<S> {
 public:
  ConstantNorm(Optimizer<S>& inner, double factor = 1.0) : Optimizer<S>(inner.params()), m_inner(inner) {
    require(factor > 0 && std::isfinite(factor), "ConstantNorm", "factor must be finite and > 0");
    const double n0 = norm();
    require(n0 > 0 && std::isfinite(n0), "ConstantNorm", "the parameters' initial norm must be finite and > 0");
    m_target = factor * n0;
    // every entry stays finite in S only if the target norm does (a float model's 1e39 is inf)
    if (!(m_target < static_cast<double>(std::numeric_limits<S>::max())))
      throw_invalid("ConstantNorm", "the target norm " + format_number(m_target) + " (factor " + format_number(factor) +
                                        " × ‖θ₀‖ " + format_number(n0) + ") is beyond the range of the model's scalar");
    m_factor = factor;
  }
  void step(double lr) override {
    m_inner.step(lr);
    const double n = norm();
    if (!(std::isfinite(n) && n > 0))
      throw_invalid("ConstantNorm", "the parameters' norm is " + std::to_string(n) + " after a step");
    const S f = static_cast<S>(m_target / n);
    for (Parameter<S>* p : this->m_params)
      if (p->requires_grad) p->value *= f;
  }
  double lr() const override { return m_inner.lr(); }
  nlohmann::ordered_json config() const override {
    return {
        {"optimizer", "constant_norm"}, {"factor", m_factor}, {"target_norm", m_target}, {"inner", m_inner.config()}};
  }
  /// The norm the parameters are kept at.
  double target_norm() const { return m_target; }
  /// ‖θ‖ over the parameters that require gradients, in double.
  double norm() const {
    double s = 0;
    for (const Parameter<S>* p : this->m_params)
      if (p->requires_grad) s += p->value.template cast<double>().squaredNorm();
    return std::sqrt(s);
  }

 private:
  Optimizer<S>& m_inner;
  double m_target = 0, m_factor = 1;
};

// Provided by the compiled library in compiled mode (core/config.hpp).
GROKSCOPE_EXTERN_CLASS(ConstantNorm)

}  // namespace grokscope
