// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Slingshot detection (Thilak et al. 2022, "The Slingshot Mechanism"): cycles in which the
/// norm of the last layer grows fast and the training loss then spikes, seen with Adam-family
/// optimisers late in training and, without regularisation, at the onset of generalisation.
///
/// Over a history (steps, training loss, last-layer norm), with the options below:
///   - a **spike** starts at a record whose training loss exceeds `spike_factor` × the lowest loss
///     so far, once that lowest loss is below `fitted_fraction` × the first loss (the model has
///     fitted); it lasts until the loss is back under √spike_factor × that lowest loss;
///   - the **growth rate** of the norm at record i is (ln ‖W‖_i − ln ‖W‖_{i−1}) / (step_i − step_{i−1});
///     a **growth burst** is a rate above `growth_factor` × the median |rate| over the history;
///   - a spike preceded by a growth burst within `growth_window` records (the onset included) is a
///     **slingshot cycle**.
/// Records with a non-finite step, loss or norm are skipped, unsorted steps sorted (both noted).
/// The norm is the last layer's Frobenius norm: stability_probe's `last_layer_norm` or
/// weight_norm_probe's per-parameter column.

#include <grokscope/core/config.hpp>
#include <grokscope/core/types.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace grokscope {

/// Thresholds of detect_slingshots (see the file comment).
struct SlingshotOptions {
  double spike_factor = 10;      ///< a spike: loss above this × the lowest loss so far
  double fitted_fraction = 0.1;  ///< ... once the lowest loss is below this × the first loss
  double growth_factor = 3;      ///< a burst: norm growth rate above this × the median |rate|
  Index growth_window = 5;       ///< records before a spike's onset in which the burst must lie
};

/// What detect_slingshots found.
struct SlingshotReport {
  Index spikes = 0;                 ///< training-loss spikes after fitting
  Index cycles = 0;                 ///< spikes preceded by a norm-growth burst
  std::vector<double> spike_steps;  ///< onset step of every spike
  std::vector<double> peak_losses;  ///< the highest loss of every spike
  std::vector<double> cycle_steps;  ///< onset steps of the spikes that are cycles
  std::vector<double> burst_steps;  ///< step of every growth burst
  std::vector<std::string> notes;
};

/// Spikes, norm-growth bursts and slingshot cycles of one run.
GROKSCOPE_DEFERRED SlingshotReport detect_slingshots(const std::vector<double>& steps,
                                                     const std::vector<double>& train_loss,
                                                     const std::vector<double>& last_layer_norm,
                                                     const SlingshotOptions& o = {});

/// The report as JSON (every field).
GROKSCOPE_DEFERRED nlohmann::ordered_json to_json(const SlingshotReport& r);

}  // namespace grokscope

#if GROKSCOPE_HEADER_ONLY
#include <grokscope/detect/detail/slingshot-inl.hpp>
#endif
