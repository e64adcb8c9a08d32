// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Learning-rate schedules: constant, the linear warm-up of Power, Nanda and Grokfast
/// (factor min(k/W, 1) for the k-th optimiser step counted from 0, so the first step has lr 0),
/// and cosine decay after the warm-up.

#include <grokscope/core/check.hpp>
#include <grokscope/core/types.hpp>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace grokscope {

/// A multiplicative learning-rate factor as a function of the optimiser step k = 0, 1, 2, ...
struct Schedule {
  enum class Kind { Constant, Warmup, Cosine };
  Kind kind = Kind::Constant;
  Index warmup = 0;         ///< W: linear ramp from 0 over steps 0..W (Warmup, Cosine)
  Index total = 0;          ///< Cosine: the step at which the factor reaches min_factor
  double min_factor = 0.0;  ///< Cosine: final factor

  static Schedule constant() { return {}; }
  /// min(k/W, 1): the references' LambdaLR(min(step/10, 1)) with W = 10.
  static Schedule linear_warmup(Index W = 10) {
    require(W >= 1, "Schedule::linear_warmup", "W must be >= 1");
    return {Kind::Warmup, W, 0, 0.0};
  }
  /// Warm-up over W steps, then ½(1 + cos(π (k − W)/(total − W))) down to min_factor at `total`.
  static Schedule cosine(Index total, Index W = 0, double min_factor = 0.0) {
    require(total > W && W >= 0, "Schedule::cosine", "total must exceed the warm-up");
    require(min_factor >= 0 && min_factor <= 1, "Schedule::cosine", "min_factor must be in [0, 1]");
    return {Kind::Cosine, W, total, min_factor};
  }

  /// The factor for optimiser step k (counted from 0).
  double factor(Index k) const {
    if (kind == Kind::Constant) return 1.0;
    if (warmup > 0 && k < warmup) return static_cast<double>(k) / static_cast<double>(warmup);
    if (kind == Kind::Warmup) return 1.0;
    const double prog = std::min(1.0, static_cast<double>(k - warmup) / static_cast<double>(total - warmup));
    return min_factor + (1.0 - min_factor) * 0.5 * (1.0 + std::cos(3.14159265358979323846 * prog));
  }

  nlohmann::ordered_json to_json() const {
    const char* names[] = {"constant", "warmup", "cosine"};
    return {
        {"schedule", names[static_cast<int>(kind)]}, {"warmup", warmup}, {"total", total}, {"min_factor", min_factor}};
  }
};

}  // namespace grokscope
