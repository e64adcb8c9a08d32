// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Liu et al.'s (2022, arXiv 2205.10343, App. / Fig. 6–7) four learning phases of a run,
/// from the first steps at which the training and the test accuracy reach a threshold (90 %) within
/// a budget (10⁵ steps):
///
///   comprehension  both reach it, the test accuracy less than `max_gap` (10³) steps after the training accuracy
///   grokking       both reach it, the test accuracy `max_gap` steps or more later
///   memorisation   the training accuracy reaches it, the test accuracy does not
///   confusion      the training accuracy does not reach it
///
/// The thresholds are settings; the steps are those of the evaluations given (a run evaluated
/// every 100 steps resolves t to 100 steps).

#include <grokscope/core/check.hpp>
#include <grokscope/core/types.hpp>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

namespace grokscope {

/// Liu et al.'s phases.
enum class LiuPhase { Comprehension, Grokking, Memorization, Confusion };

/// Name of a phase ("comprehension", "grokking", "memorization", "confusion").
inline const char* liu_phase_name(LiuPhase p) {
  switch (p) {
    case LiuPhase::Comprehension:
      return "comprehension";
    case LiuPhase::Grokking:
      return "grokking";
    case LiuPhase::Memorization:
      return "memorization";
    case LiuPhase::Confusion:
      return "confusion";
  }
  return "?";
}

/// Settings of classify_liu_phase (Liu et al.'s values by default).
struct LiuPhaseOptions {
  double threshold = 0.9;  ///< accuracy that counts as reached
  double budget = 1e5;     ///< steps within which it must be reached
  double max_gap = 1e3;    ///< t_test − t_train below this: comprehension, else grokking
};

/// A run's phase with the steps that decided it.
struct LiuPhaseResult {
  LiuPhase phase = LiuPhase::Confusion;
  std::optional<double> t_train;  ///< first step with train accuracy ≥ threshold (within the budget)
  std::optional<double> t_test;   ///< the same for the test accuracy
};

/// Classifies a run from its evaluation steps and accuracies (equal lengths, steps ascending;
/// NaN entries are skipped). Throws std::invalid_argument for mismatched lengths, unsorted steps or
/// impossible settings.
inline LiuPhaseResult classify_liu_phase(const std::vector<double>& steps, const std::vector<double>& train_acc,
                                         const std::vector<double>& test_acc, const LiuPhaseOptions& o = {}) {
  const char* where = "classify_liu_phase";
  require(steps.size() == train_acc.size() && steps.size() == test_acc.size(), where,
          "steps, train_acc and test_acc differ in length");
  require(o.threshold > 0 && o.threshold <= 1, where, "threshold must be in (0, 1]");
  require(o.budget > 0 && o.max_gap > 0, where, "budget and max_gap must be > 0");
  for (std::size_t i = 1; i < steps.size(); ++i)
    require(steps[i] > steps[i - 1], where, "steps must be strictly ascending");
  const auto first = [&](const std::vector<double>& acc) -> std::optional<double> {
    for (std::size_t i = 0; i < steps.size(); ++i)
      if (steps[i] <= o.budget && std::isfinite(acc[i]) && acc[i] >= o.threshold) return steps[i];
    return std::nullopt;
  };
  LiuPhaseResult r;
  r.t_train = first(train_acc);
  r.t_test = first(test_acc);
  if (!r.t_train)
    r.phase = LiuPhase::Confusion;
  else if (!r.t_test)
    r.phase = LiuPhase::Memorization;
  else
    r.phase = *r.t_test - *r.t_train < o.max_gap ? LiuPhase::Comprehension : LiuPhase::Grokking;
  return r;
}

}  // namespace grokscope
