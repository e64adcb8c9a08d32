// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Sgd: (full-batch) gradient descent with momentum, Nesterov and coupled weight decay,
/// step for step as torch.optim.SGD.

#include <grokscope/core/config.hpp>
#include <grokscope/core/parallel.hpp>
#include <grokscope/optim/optimizer.hpp>

#include <cmath>

namespace grokscope {

/// Hyperparameters of Sgd (PyTorch's defaults).
struct SgdConfig {
  double lr = 1e-2;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;  ///< coupled: g ← g + wd·θ
  bool nesterov = false;
};

/// g ← ∇ + wd·θ; b ← g (first step) or μb + (1 − dampening)g; g ← b (or g + μb with Nesterov);
/// θ ← θ − lr·g.
template <typename S>
class Sgd : public Optimizer<S> {
 public:
  Sgd(std::vector<Parameter<S>*> params, const SgdConfig& c) : Optimizer<S>(std::move(params)), m_c(c) {
    require(std::isfinite(c.lr) && c.lr >= 0 && std::isfinite(c.momentum) && c.momentum >= 0 &&
                std::isfinite(c.weight_decay) && c.weight_decay >= 0 && std::isfinite(c.dampening),
            "Sgd", "lr, momentum and weight_decay must be finite and >= 0, dampening finite");
    require(!c.nesterov || (c.momentum > 0 && c.dampening == 0), "Sgd", "Nesterov needs momentum > 0 and dampening 0");
    m_buf.resize(this->m_params.size());
  }

  void step(double lr) override {
    const S lr_s = static_cast<S>(lr), wd = static_cast<S>(m_c.weight_decay), mom = static_cast<S>(m_c.momentum);
    const S damp = static_cast<S>(1 - m_c.dampening);
    for (std::size_t i = 0; i < this->m_params.size(); ++i) {
      Parameter<S>& p = *this->m_params[i];
      if (!p.requires_grad) continue;
      const bool first = m_c.momentum != 0 && m_buf[i].size() == 0;
      if (first) m_buf[i].resize(p.rows(), p.cols());
      detail::parallel_rows(p.rows(), p.cols() * 6, [&](Index r0, Index r1) {
        auto theta = detail::row_range(p.value, r0, r1);
        const auto grad = detail::row_range(p.grad, r0, r1);
        auto update = [&](const auto& g) {  // g = ∇ (+ wd·θ)
          if (m_c.momentum == 0) {
            theta -= lr_s * g;
            return;
          }
          auto buf = detail::row_range(m_buf[i], r0, r1);
          if (first)
            buf = g;
          else
            buf = mom * buf + damp * g;
          if (m_c.nesterov)
            theta -= lr_s * (g + mom * buf);
          else
            theta -= lr_s * buf;
        };
        if (m_c.weight_decay != 0)
          update(grad + wd * theta);
        else
          update(grad);
      });
    }
  }

  double lr() const override { return m_c.lr; }
  nlohmann::ordered_json config() const override {
    return {{"optimizer", "sgd"},
            {"lr", m_c.lr},
            {"momentum", m_c.momentum},
            {"dampening", m_c.dampening},
            {"weight_decay", m_c.weight_decay},
            {"nesterov", m_c.nesterov}};
  }

 private:
  SgdConfig m_c;
  std::vector<Matrix<S>> m_buf;
};

// Provided by the compiled library in compiled mode (core/config.hpp).
GROKSCOPE_EXTERN_CLASS(Sgd)

}  // namespace grokscope
