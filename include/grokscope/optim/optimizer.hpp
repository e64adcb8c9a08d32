// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Optimizer and GradientFilter: the interfaces of grokscope's optimisers (which update
/// parameters from their gradients) and gradient filters (which rewrite gradients before the
/// update, e.g. Grokfast).

#include <grokscope/autodiff/tape.hpp>
#include <grokscope/core/check.hpp>
#include <grokscope/core/config.hpp>

#include <nlohmann/json.hpp>

#include <vector>

namespace grokscope {

/// Updates a fixed list of parameters from their gradients.
template <typename S>
class Optimizer {
 public:
  explicit Optimizer(std::vector<Parameter<S>*> params) : m_params(std::move(params)) {
    require(!m_params.empty(), "Optimizer", "no parameters to optimise");
    for (auto* p : m_params) require(p != nullptr, "Optimizer", "null parameter");
  }
  virtual ~Optimizer() = default;
  /// One update with learning rate `lr` (the schedule's value for this step).
  virtual void step(double lr) = 0;
  /// The configured (peak) learning rate.
  virtual double lr() const = 0;
  /// Name and hyperparameters, for run summaries.
  virtual nlohmann::ordered_json config() const = 0;
  /// Parameters in update order.
  const std::vector<Parameter<S>*>& params() const { return m_params; }

 protected:
  std::vector<Parameter<S>*> m_params;
};

/// Rewrites the parameters' gradients in place before the optimiser step.
template <typename S>
class GradientFilter {
 public:
  virtual ~GradientFilter() = default;
  virtual void apply(const std::vector<Parameter<S>*>& params) = 0;
  virtual nlohmann::ordered_json config() const = 0;
};

// Provided by the compiled library in compiled mode (core/config.hpp).
GROKSCOPE_EXTERN_CLASS(Optimizer)
GROKSCOPE_EXTERN_CLASS(GradientFilter)

}  // namespace grokscope
