// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Definitions of the non-template functions declared in <grokscope/detect/smooth.hpp>: included by it in
/// header-only mode, compiled once into grokscope::compiled otherwise (core/config.hpp).

#include <grokscope/detect/smooth.hpp>

#if defined(GROKSCOPE_COMPILED) && !defined(GROKSCOPE_BUILDING_LIBRARY)
#error "grokscope: in compiled mode these definitions are in the library; include the header without -inl"
#endif

namespace grokscope::detail {

GROKSCOPE_DEFERRED_DEF void check_curve(const char* where, const std::vector<double>& steps,
                                        const std::vector<double>& values) {
  require(steps.size() == values.size(), where,
          "steps has " + std::to_string(steps.size()) + " entries but values has " + std::to_string(values.size()));
  for (std::size_t i = 1; i < steps.size(); ++i)
    if (!(steps[i] >= steps[i - 1]))
      throw_invalid(where, "steps must be sorted ascending (step[" + std::to_string(i) + "] < step[" +
                               std::to_string(i - 1) + "])");
}

}  // namespace grokscope::detail

namespace grokscope {

GROKSCOPE_DEFERRED_DEF std::vector<double> moving_average(const std::vector<double>& steps,
                                                          const std::vector<double>& values, double width) {
  detail::check_curve("moving_average", steps, values);
  // +inf is a window over every record (a step span near ±1e308 makes its fraction overflow).
  require(width >= 0 && !std::isnan(width), "moving_average", "width must be >= 0 (inf: every record)");
  const std::size_t n = values.size();
  std::vector<double> prefix(n + 1, 0.0), out(n);
  for (std::size_t i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + values[i];
  std::size_t lo = 0, hi = 0;
  for (std::size_t i = 0; i < n; ++i) {
    while (steps[lo] < steps[i] - width / 2) ++lo;
    if (hi < i) hi = i;
    while (hi + 1 < n && steps[hi + 1] <= steps[i] + width / 2) ++hi;
    out[i] = (prefix[hi + 1] - prefix[lo]) / static_cast<double>(hi + 1 - lo);
  }
  return out;
}

GROKSCOPE_DEFERRED_DEF std::vector<double> moving_average_records(const std::vector<double>& values, Index window) {
  require(window >= 1, "moving_average_records", "window must be >= 1, got " + std::to_string(window));
  const Index n = static_cast<Index>(values.size());
  std::vector<double> prefix(values.size() + 1, 0.0), out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) prefix[i + 1] = prefix[i] + values[i];
  const Index left = (window - 1) / 2, right = window / 2;
  for (Index i = 0; i < n; ++i) {
    const Index a = i - left < 0 ? 0 : i - left;
    const Index b = i + right >= n ? n - 1 : i + right;
    out[static_cast<std::size_t>(i)] = (prefix[static_cast<std::size_t>(b + 1)] - prefix[static_cast<std::size_t>(a)]) /
                                       static_cast<double>(b - a + 1);
  }
  return out;
}

GROKSCOPE_DEFERRED_DEF std::vector<double> ema(const std::vector<double>& steps, const std::vector<double>& values,
                                               double half_life) {
  detail::check_curve("ema", steps, values);
  require(half_life > 0 && std::isfinite(half_life), "ema", "half_life must be finite and > 0");
  std::vector<double> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i == 0) {
      out[i] = values[i];
      continue;
    }
    const double a = 1.0 - std::exp2(-(steps[i] - steps[i - 1]) / half_life);
    out[i] = out[i - 1] + a * (values[i] - out[i - 1]);
  }
  return out;
}

GROKSCOPE_DEFERRED_DEF std::vector<double> ema_records(const std::vector<double>& values, double beta) {
  require(beta >= 0 && beta < 1, "ema_records", "beta must be in [0, 1), got " + std::to_string(beta));
  std::vector<double> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i)
    out[i] = i == 0 ? values[0] : beta * out[i - 1] + (1 - beta) * values[i];
  return out;
}

}  // namespace grokscope
