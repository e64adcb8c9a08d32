// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Adam with its two kinds of weight decay, as two clearly different optimisers:
/// AdamW (decoupled: θ ← θ(1 − lr·wd) before the Adam update; Loshchilov & Hutter 2019;
/// torch.optim.AdamW) and Adam+L2 (coupled: g ← g + wd·θ inside the moments; torch.optim.Adam
/// with weight_decay, as Grokfast's reference code). Operation order follows PyTorch 1.13.

#include <grokscope/core/config.hpp>
#include <grokscope/core/parallel.hpp>
#include <grokscope/optim/optimizer.hpp>

#include <cmath>

namespace grokscope {

/// How weight decay enters Adam.
enum class WeightDecayMode {
  Decoupled,  ///< AdamW: θ ← θ(1 − lr·wd), then the Adam update of the plain gradient
  CoupledL2   ///< Adam+L2: g ← g + wd·θ, then the Adam update of g
};

/// Hyperparameters of Adam (PyTorch's defaults except where the grokking papers differ).
struct AdamConfig {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  WeightDecayMode decay = WeightDecayMode::Decoupled;

  /// The AdamW recipe of Power et al. and Nanda et al.: lr 1e-3, betas (0.9, 0.98), wd 1.
  static AdamConfig grokking(double weight_decay = 1.0) {
    AdamConfig c;
    c.beta2 = 0.98;
    c.weight_decay = weight_decay;
    return c;
  }
};

/// Adam / AdamW / Adam+L2. With step t (from 1): m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
/// θ ← θ − (lr/(1−β₁ᵗ)) · m / (√v/√(1−β₂ᵗ) + ε).
template <typename S>
class Adam : public Optimizer<S> {
 public:
  Adam(std::vector<Parameter<S>*> params, const AdamConfig& c) : Optimizer<S>(std::move(params)), m_c(c) {
    require(std::isfinite(c.lr) && c.lr >= 0 && std::isfinite(c.eps) && c.eps >= 0 && std::isfinite(c.weight_decay) &&
                c.weight_decay >= 0,
            "Adam", "lr, eps and weight_decay must be finite and >= 0");
    if (!(c.beta1 >= 0 && c.beta1 < 1 && c.beta2 >= 0 && c.beta2 < 1))
      throw_invalid("Adam",
                    "betas must be in [0, 1), got (" + std::to_string(c.beta1) + ", " + std::to_string(c.beta2) + ")");
    for (auto* p : this->m_params) {
      m_m.push_back(Matrix<S>::Zero(p->rows(), p->cols()));
      m_v.push_back(Matrix<S>::Zero(p->rows(), p->cols()));
    }
  }

  void step(double lr) override {
    ++m_t;
    const double bc1 = 1.0 - std::pow(m_c.beta1, static_cast<double>(m_t));
    const double bc2_sqrt = std::sqrt(1.0 - std::pow(m_c.beta2, static_cast<double>(m_t)));
    const S b1 = static_cast<S>(m_c.beta1), b2 = static_cast<S>(m_c.beta2);
    const S step_size = static_cast<S>(lr / bc1), eps = static_cast<S>(m_c.eps), wd = static_cast<S>(m_c.weight_decay);
    const S decay = static_cast<S>(1.0 - lr * m_c.weight_decay), bc2 = static_cast<S>(bc2_sqrt);
    const bool decoupled = m_c.decay == WeightDecayMode::Decoupled;
    for (std::size_t i = 0; i < this->m_params.size(); ++i) {
      Parameter<S>& p = *this->m_params[i];
      if (!p.requires_grad) continue;
      Matrix<S>& mm = m_m[i];
      Matrix<S>& vv = m_v[i];
      detail::parallel_rows(p.rows(), p.cols() * 10, [&](Index r0, Index r1) {
        auto theta = detail::row_range(p.value, r0, r1).array();
        auto m = detail::row_range(mm, r0, r1).array();
        auto v = detail::row_range(vv, r0, r1).array();
        const auto grad = detail::row_range(p.grad, r0, r1).array();
        if (decoupled) {
          if (m_c.weight_decay != 0) theta *= decay;  // θ ← θ(1 − lr·wd)
          m = b1 * m + (S(1) - b1) * grad;
          v = b2 * v + (S(1) - b2) * grad.square();
        } else {
          const auto g = grad + wd * theta;  // g ← g + wd·θ
          m = b1 * m + (S(1) - b1) * g;
          v = b2 * v + (S(1) - b2) * g.square();
        }
        theta -= step_size * m / (v.sqrt() / bc2 + eps);
      });
    }
  }

  double lr() const override { return m_c.lr; }
  /// Number of steps taken.
  Index steps() const { return m_t; }
  nlohmann::ordered_json config() const override {
    return {{"optimizer", m_c.decay == WeightDecayMode::Decoupled ? "adamw" : "adam_l2"},
            {"lr", m_c.lr},
            {"beta1", m_c.beta1},
            {"beta2", m_c.beta2},
            {"eps", m_c.eps},
            {"weight_decay", m_c.weight_decay}};
  }

 private:
  AdamConfig m_c;
  std::vector<Matrix<S>> m_m, m_v;
  Index m_t = 0;
};

// Provided by the compiled library in compiled mode (core/config.hpp).
GROKSCOPE_EXTERN_CLASS(Adam)

}  // namespace grokscope
