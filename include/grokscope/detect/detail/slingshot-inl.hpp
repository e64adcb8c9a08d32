// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Definitions of the non-template functions declared in <grokscope/detect/slingshot.hpp>: included by it in
/// header-only mode, compiled once into grokscope::compiled otherwise (core/config.hpp).

#include <grokscope/detect/slingshot.hpp>

#if defined(GROKSCOPE_COMPILED) && !defined(GROKSCOPE_BUILDING_LIBRARY)
#error "grokscope: in compiled mode these definitions are in the library; include the header without -inl"
#endif

#include <grokscope/core/check.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace grokscope {

GROKSCOPE_DEFERRED_DEF SlingshotReport detect_slingshots(const std::vector<double>& steps,
                                                         const std::vector<double>& train_loss,
                                                         const std::vector<double>& last_layer_norm,
                                                         const SlingshotOptions& o) {
  require(o.spike_factor > 1 && std::isfinite(o.spike_factor), "detect_slingshots", "spike_factor must be > 1");
  require(o.fitted_fraction > 0 && o.fitted_fraction <= 1, "detect_slingshots", "fitted_fraction must be in (0, 1]");
  require(o.growth_factor > 0 && std::isfinite(o.growth_factor), "detect_slingshots", "growth_factor must be > 0");
  require(o.growth_window >= 0, "detect_slingshots", "growth_window must be >= 0");
  SlingshotReport r;
  if (steps.size() != train_loss.size() || steps.size() != last_layer_norm.size()) {
    r.notes.push_back("steps, train_loss and last_layer_norm have " + std::to_string(steps.size()) + ", " +
                      std::to_string(train_loss.size()) + " and " + std::to_string(last_layer_norm.size()) +
                      " entries");
    return r;
  }
  std::vector<std::size_t> keep;
  for (std::size_t i = 0; i < steps.size(); ++i)
    if (std::isfinite(steps[i]) && std::isfinite(train_loss[i]) && std::isfinite(last_layer_norm[i]) &&
        last_layer_norm[i] > 0)
      keep.push_back(i);
  if (keep.size() < steps.size())
    r.notes.push_back(std::to_string(steps.size() - keep.size()) +
                      " record(s) with a non-finite value or a norm <= 0 skipped");
  if (!std::is_sorted(keep.begin(), keep.end(), [&](std::size_t a, std::size_t b) { return steps[a] < steps[b]; })) {
    std::stable_sort(keep.begin(), keep.end(), [&](std::size_t a, std::size_t b) { return steps[a] < steps[b]; });
    r.notes.push_back("steps were not sorted; sorted");
  }
  const std::size_t n = keep.size();
  if (n < 3) {
    r.notes.push_back("fewer than 3 usable records");
    return r;
  }
  auto s = [&](std::size_t i) { return steps[keep[i]]; };
  auto loss = [&](std::size_t i) { return train_loss[keep[i]]; };
  // growth rate of ln ‖W‖ per step (records with the same step give no rate)
  std::vector<double> rate(n, 0.0), mags;
  for (std::size_t i = 1; i < n; ++i) {
    const double ds = s(i) - s(i - 1);
    if (ds > 0) {
      rate[i] = (std::log(last_layer_norm[keep[i]]) - std::log(last_layer_norm[keep[i - 1]])) / ds;
      if (std::isfinite(rate[i]))
        mags.push_back(std::abs(rate[i]));
      else
        rate[i] = 0;
    }
  }
  double median = 0;
  if (!mags.empty()) {
    std::nth_element(mags.begin(), mags.begin() + static_cast<long>(mags.size() / 2), mags.end());
    median = mags[mags.size() / 2];
  }
  std::vector<bool> burst(n, false);
  for (std::size_t i = 1; i < n; ++i)
    if (rate[i] > 0 && rate[i] > o.growth_factor * median) {
      burst[i] = true;
      r.burst_steps.push_back(s(i));
    }
  const double first = loss(0);
  double lowest = loss(0);
  bool in_spike = false;
  for (std::size_t i = 1; i < n; ++i) {
    const double l = loss(i);
    if (!in_spike) {
      if (lowest < o.fitted_fraction * first && l > o.spike_factor * lowest) {
        in_spike = true;
        ++r.spikes;
        r.spike_steps.push_back(s(i));
        r.peak_losses.push_back(l);
        const std::size_t from =
            i >= static_cast<std::size_t>(o.growth_window) ? i - static_cast<std::size_t>(o.growth_window) : 0;
        bool cycle = false;
        for (std::size_t j = std::max<std::size_t>(from, 1); j <= i; ++j) cycle = cycle || burst[j];
        if (cycle) {
          ++r.cycles;
          r.cycle_steps.push_back(s(i));
        }
        continue;
      }
      lowest = std::min(lowest, l);
    } else {
      r.peak_losses.back() = std::max(r.peak_losses.back(), l);
      if (l <= std::sqrt(o.spike_factor) * lowest) {
        in_spike = false;
        lowest = std::min(lowest, l);
      }
    }
  }
  if (!(lowest < o.fitted_fraction * first))
    r.notes.push_back("the training loss never fell below fitted_fraction of its first value");
  return r;
}

GROKSCOPE_DEFERRED_DEF nlohmann::ordered_json to_json(const SlingshotReport& r) {
  return {{"spikes", r.spikes},
          {"cycles", r.cycles},
          {"spike_steps", r.spike_steps},
          {"peak_losses", r.peak_losses},
          {"cycle_steps", r.cycle_steps},
          {"burst_steps", r.burst_steps},
          {"notes", r.notes}};
}

}  // namespace grokscope
