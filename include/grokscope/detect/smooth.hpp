// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Smoothing of logged curves whose steps may be irregularly spaced: moving averages and
/// exponential moving averages, in step units or in records.

#include <grokscope/core/check.hpp>
#include <grokscope/core/config.hpp>
#include <grokscope/core/types.hpp>

#include <cmath>
#include <string>
#include <vector>

namespace grokscope {

namespace detail {
GROKSCOPE_DEFERRED void check_curve(const char* where, const std::vector<double>& steps,
                                    const std::vector<double>& values);
}  // namespace detail

/// Centred moving average in step units: point i is the mean of the values whose step lies in
/// [step_i − width/2, step_i + width/2]. Irregular spacing is handled naturally; O(n). An
/// infinite width averages every value.
GROKSCOPE_DEFERRED std::vector<double> moving_average(const std::vector<double>& steps,
                                                      const std::vector<double>& values, double width);

/// Centred moving average over `window` records (window 1 returns the input); shrinks at the ends.
GROKSCOPE_DEFERRED std::vector<double> moving_average_records(const std::vector<double>& values, Index window);

/// Exponential moving average with a half-life in step units, exact for irregular spacing:
/// s_0 = v_0, s_i = s_{i−1} + (1 − 2^{−Δt/h})(v_i − s_{i−1}) with Δt = step_i − step_{i−1}.
GROKSCOPE_DEFERRED std::vector<double> ema(const std::vector<double>& steps, const std::vector<double>& values,
                                           double half_life);

/// Exponential moving average per record: s_0 = v_0, s_i = β s_{i−1} + (1 − β) v_i (β in [0, 1)).
GROKSCOPE_DEFERRED std::vector<double> ema_records(const std::vector<double>& values, double beta);

}  // namespace grokscope

#if GROKSCOPE_HEADER_ONLY
#include <grokscope/detect/detail/smooth-inl.hpp>
#endif
