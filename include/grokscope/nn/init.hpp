// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Parameter initialisation: PyTorch's nn.Linear default, Gaussian, and the
/// parameterisations that set the lazy/rich regime (standard, NTK, mean-field).

#include <grokscope/core/check.hpp>
#include <grokscope/core/rng.hpp>
#include <grokscope/core/types.hpp>

#include <cmath>
#include <string>

namespace grokscope {

/// How a layer's weights are initialised and scaled in the forward pass (fan_in = n):
/// - Standard: PyTorch's nn.Linear default, w, b ~ U(−1/√n, 1/√n); h = x wᵀ + b.
/// - Ntk: w ~ N(0, σ²), b = 0; h = x wᵀ/√n + b (Jacot et al. 2018).
/// - MeanField: as Ntk in hidden layers, and h = x wᵀ/n in the readout (Mei et al. 2018; the
///   parameterisation of Gromov 2023 and Kumar et al. 2024).
enum class Parameterization { Standard, Ntk, MeanField };

/// Name of a parameterisation ("standard", "ntk", "mean_field").
inline const char* parameterization_name(Parameterization p) {
  switch (p) {
    case Parameterization::Standard:
      return "standard";
    case Parameterization::Ntk:
      return "ntk";
    case Parameterization::MeanField:
      return "mean_field";
  }
  return "?";
}

/// (out, in) weights of PyTorch's nn.Linear default init: U(−1/√in, 1/√in)
/// (kaiming_uniform with a = √5 gives exactly this bound).
template <typename S>
Matrix<S> pytorch_linear_weight(Rng& rng, Index out, Index in) {
  require(out >= 1 && in >= 1, "pytorch_linear_weight", "shape must be positive");
  const double b = 1.0 / std::sqrt(static_cast<double>(in));
  return rng.uniform_matrix<S>(out, in, -b, b);
}

/// (1, out) bias of PyTorch's nn.Linear default init: U(−1/√in, 1/√in).
template <typename S>
Matrix<S> pytorch_linear_bias(Rng& rng, Index out, Index in) {
  const double b = 1.0 / std::sqrt(static_cast<double>(in));
  return rng.uniform_matrix<S>(1, out, -b, b);
}

/// Forward multiplier of a layer with the given fan-in under a parameterisation.
inline double forward_multiplier(Parameterization p, Index fan_in, bool readout) {
  switch (p) {
    case Parameterization::Standard:
      return 1.0;
    case Parameterization::Ntk:
      return 1.0 / std::sqrt(static_cast<double>(fan_in));
    case Parameterization::MeanField:
      return readout ? 1.0 / static_cast<double>(fan_in) : 1.0 / std::sqrt(static_cast<double>(fan_in));
  }
  return 1.0;
}

}  // namespace grokscope
