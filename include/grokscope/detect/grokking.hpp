// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Grokking detectors: t_mem, t_grok, the gap, sigmoid-fit sharpness, a verdict, and
/// aggregation over seeds. They read any log: steps and two curves (train and test).
///
/// Definitions (every threshold is an option and is echoed in the report):
/// - a curve *reaches* the threshold at a record when accuracy ≥ threshold (metric Accuracy) or
///   loss ≤ threshold (metric Loss; with `loss_relative`, the threshold is a fraction of that
///   curve's first loss, as Kumar et al. judge grokking from loss curves);
/// - t_mem: the first step at which the train curve reaches the threshold and keeps reaching it
///   for `patience` consecutive records; t_grok: the same on the test curve;
///   gap = t_grok − t_mem; ratio = t_grok / t_mem (null when t_mem = 0);
/// - sharpness: a four-parameter logistic lower + (upper − lower) / (1 + exp(−k (x − t0))) fitted
///   to the test curve by Levenberg–Marquardt (Eigen's unsupported module), x = step or
///   log10(step); width = 2 ln 9 / k is the 10–90 % transition width in x units. Also the
///   tutorial's measures: gap / t_grok, the 10–90 % rise time of the test curve divided by t_grok,
///   and the largest slope of the smoothed test curve and where it occurs.
///
/// Verdicts, in the order they are decided:
/// - `undetermined`: the input could not be analysed (see `status`);
/// - `not_fit`: the train curve never reaches the threshold;
/// - `ungrokked`: the test curve reached the threshold, but its last `ungrok_patience` records
///   all miss it (it fell back and stayed there, Varma et al.'s ungrokking);
/// - `grokked`: the test curve reaches the threshold with t_grok ≥ min_delay_ratio · t_mem and
///   gap ≥ min_delay_steps;
/// - `no_delay`: the test curve reaches the threshold without that delay;
/// - `partial`: the test curve never reaches the threshold but covers at least `partial_fraction`
///   of the way from its first value towards it (semi-grokking);
/// - `memorized_only`: otherwise (train fitted, test barely moved).

#include <grokscope/core/check.hpp>
#include <grokscope/core/config.hpp>
#include <grokscope/core/types.hpp>
#include <grokscope/detect/smooth.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace grokscope {

/// Which kind of curve is analysed.
enum class GrokMetric { Accuracy, Loss };

/// Outcome class of a run (see the file comment for the rules).
enum class GrokVerdict { Grokked, NoDelay, MemorizedOnly, Partial, Ungrokked, NotFit, Undetermined };

/// Whether the input could be analysed.
enum class DetectStatus { Ok, MismatchedLengths, TooFewPoints };

/// Name of a verdict as written in reports ("grokked", "no_delay", ...).
GROKSCOPE_DEFERRED const char* verdict_name(GrokVerdict v);

/// Name of a status as written in reports.
GROKSCOPE_DEFERRED const char* status_name(DetectStatus s);

/// Thresholds and rules of detect_grokking.
struct DetectOptions {
  GrokMetric metric = GrokMetric::Accuracy;
  double threshold = 0.9;         ///< accuracy ≥ threshold, or loss ≤ threshold, counts as reached
  bool loss_relative = false;     ///< Loss: threshold is a fraction of each curve's first value
  Index patience = 1;             ///< consecutive records that must reach the threshold
  double min_delay_ratio = 2.0;   ///< grokked needs t_grok ≥ ratio · t_mem
  double min_delay_steps = 0.0;   ///< ... and t_grok − t_mem ≥ this many steps
  double partial_fraction = 0.5;  ///< partial: share of the way from the first test value to the threshold
  Index ungrok_patience = 3;      ///< ungrokked: the last this-many test records all miss the threshold
  bool log_x = false;             ///< fit the sigmoid and slopes against log10(step) (steps > 0 only)
  bool fit_sigmoid = true;
  double smooth_fraction = 0.02;  ///< moving-average width for slopes, as a fraction of the x range
  Index min_points = 5;           ///< fewer valid records in a curve gives status TooFewPoints
  /// The test curve's own threshold (same units and `loss_relative` rule) when the test metric
  /// cannot reach the memorisation level (e.g. images, where test accuracy tops out near 0.8).
  /// Last member, so that aggregate initialisation written for older versions keeps its meaning.
  std::optional<double> test_threshold = std::nullopt;
};

/// Result of fitting lower + (upper − lower) / (1 + exp(−k (x − t0))) to the test curve.
/// `lower` is the early asymptote and `upper` the late one (k > 0 always); with log_x, x is
/// log10(step), so k is per decade and width is in decades, while t0 is reported in steps.
struct SigmoidFit {
  double t0 = 0, k = 0, lower = 0, upper = 0, width = 0, r2 = 0;
  bool converged = false;
  bool log_x = false;
  Index iterations = 0;
};

/// Everything detect_grokking measured about one run.
struct GrokReport {
  DetectStatus status = DetectStatus::Ok;
  GrokVerdict verdict = GrokVerdict::Undetermined;
  std::optional<double> t_mem, t_grok, gap, ratio;
  std::optional<SigmoidFit> sigmoid;
  std::optional<double> gap_over_t_grok;           ///< (t_grok − t_mem) / t_grok
  std::optional<double> rise_time;                 ///< steps for the test curve to go from 10 % to 90 % of its rise
  std::optional<double> rise_over_t_grok;          ///< rise_time / t_grok (the tutorial's sharpness)
  std::optional<double> max_slope;                 ///< largest improving slope of the smoothed test curve (per x unit)
  std::optional<double> max_slope_step;            ///< where it occurs (in steps)
  double train_threshold = 0, test_threshold = 0;  ///< thresholds actually used
  double test_initial = 0, test_best = 0, test_final = 0;
  Index n_train = 0, n_test = 0;  ///< valid records after cleaning
  std::vector<std::string> notes;
};

namespace detail {

struct Curve {
  std::vector<double> x, y;
};

// Drops non-finite records, sorts by step, merges duplicate steps (mean of their values).
template <typename Real>
Curve clean_curve(const std::vector<Real>& steps, const std::vector<Real>& values, const char* name,
                  std::vector<std::string>& notes);

// Index of the first record from which `patience` consecutive records reach the threshold.
GROKSCOPE_DEFERRED std::optional<std::size_t> first_reaching(const Curve& c, double thr, bool higher_is_better,
                                                             Index patience);

GROKSCOPE_DEFERRED double median_of(std::vector<double> v);

}  // namespace detail

// fit_sigmoid and detect_grokking take curves of double or float (a float32 log is widened
// once) and compute in double. They are templates so that header-only code instantiates
// Eigen's Levenberg–Marquardt solver (3–4 s of GCC's time) only where a curve is analysed, not in
// every file that includes the Trainer; compiled mode has both instances in the library.

/// Fits the four-parameter logistic to (x, y) by Levenberg–Marquardt, started from the point of
/// largest smoothed slope and from the midpoint crossing (the better fit is kept). x must be
/// sorted ascending; returns nullopt for fewer than 5 points or a constant curve.
template <typename Real = double>
std::optional<SigmoidFit> fit_sigmoid(const std::vector<Real>& x, const std::vector<Real>& y,
                                      double smooth_fraction = 0.02);

/// Analyses one run: t_mem, t_grok, gap, ratio, sharpness measures and the verdict.
/// Never throws on bad data: NaN/Inf records are skipped, unsorted steps sorted, duplicates
/// merged (all noted); mismatched lengths or too few points give a status and `undetermined`.
template <typename Real = double>
GrokReport detect_grokking(const std::vector<Real>& steps, const std::vector<Real>& train,
                           const std::vector<Real>& test, const DetectOptions& opt = {});

#if defined(GROKSCOPE_COMPILED)
extern template std::optional<SigmoidFit> fit_sigmoid<double>(const std::vector<double>&, const std::vector<double>&,
                                                              double);
extern template std::optional<SigmoidFit> fit_sigmoid<float>(const std::vector<float>&, const std::vector<float>&,
                                                             double);
extern template GrokReport detect_grokking<double>(const std::vector<double>&, const std::vector<double>&,
                                                   const std::vector<double>&, const DetectOptions&);
extern template GrokReport detect_grokking<float>(const std::vector<float>&, const std::vector<float>&,
                                                  const std::vector<float>&, const DetectOptions&);
#endif

/// Median and inter-quartile range of a quantity over runs (linear interpolation, as NumPy).
struct Quartiles {
  double median = 0, q1 = 0, q3 = 0;
  Index count = 0;  ///< runs where the quantity is defined
};

/// Quantile q in [0, 1] of a non-empty sample, NumPy's default (linear) method.
GROKSCOPE_DEFERRED double quantile(std::vector<double> v, double q);

/// Multi-seed summary: quartiles of t_mem, t_grok and gap over the runs where they exist, and
/// the count of every verdict (runs that never grokked are counted, not dropped).
struct GrokAggregate {
  Index runs = 0;
  std::optional<Quartiles> t_mem, t_grok, gap;
  std::map<std::string, Index> verdicts;  ///< verdict name -> count (every verdict listed)
};

/// Aggregates reports of the same configuration over seeds.
GROKSCOPE_DEFERRED GrokAggregate aggregate_reports(const std::vector<GrokReport>& reports);

namespace detail {
GROKSCOPE_DEFERRED nlohmann::ordered_json number_or_null(const std::optional<double>& v);
GROKSCOPE_DEFERRED nlohmann::ordered_json finite_or_null(double v);
}  // namespace detail

/// JSON of a report: t_mem, t_grok, gap, ratio, sigmoid, verdict, notes, and the other measures.
/// Undefined quantities are null; no NaN ever appears.
GROKSCOPE_DEFERRED nlohmann::ordered_json to_json(const GrokReport& r);

/// JSON of a multi-seed aggregate.
GROKSCOPE_DEFERRED nlohmann::ordered_json to_json(const GrokAggregate& a);

/// JSON of the detector settings (every field; test_threshold null when unset), so that a report
/// can say how it was made.
GROKSCOPE_DEFERRED nlohmann::ordered_json to_json(const DetectOptions& o);

}  // namespace grokscope

#if GROKSCOPE_HEADER_ONLY
#include <grokscope/detect/detail/grokking-inl.hpp>
#endif
