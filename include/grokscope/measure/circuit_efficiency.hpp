// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file The measurements of Varma, Shah, Kenton, Kramár & Kumar (2023, arXiv 2309.02390),
/// "Explaining grokking through circuit efficiency": a generalising circuit C_gen and a memorising
/// circuit C_mem compete; with weight decay the one that makes the larger logits per unit of
/// parameter norm wins. C_gen's efficiency does not depend on the training-set size D, C_mem's
/// falls as D grows, so they cross at a critical size D_crit: below it a grokked network
/// "ungroks", near it it "semi-groks".
///
/// - trig_subspace_share: the share of the (row-centred) logits in the subspace of functions of
///   (y(a, b) − c) mod p, y the correct answer and c the class — for a cyclic-group task the span of
///   cos(w(y − c)) and sin(w(y − c)) over every frequency w, the form of C_gen's logits. The authors
///   note (App. B) that the two circuits' logits are correlated, so this share overestimates C_gen:
///   it is a proxy, reported as one.
/// - logit_efficiency: ‖f(X)‖_F / ‖θ‖^L — the logit size per parameter norm that the argument
///   compares; for a network positively homogeneous of degree L in its parameters (a bias-free
///   ReLU MLP with L layers, f(cθ) = c^L f(θ)) it does not change when θ is scaled.
/// - converged_at / convergence_stop: a convergence rule (relative change of a history column
///   within a window of evaluations below a tolerance) and a Trainer stop condition made from it,
///   for the parameter norm at convergence N(D).
/// - crossover_size: D_crit, where the norm-at-convergence curve of memorising runs (random labels)
///   meets that of generalising runs, interpolated piecewise-linearly in (log D, log N).

#include <grokscope/autodiff/tape.hpp>
#include <grokscope/core/check.hpp>
#include <grokscope/core/types.hpp>
#include <grokscope/nn/model.hpp>
#include <grokscope/train/history.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace grokscope {

/// The logits split into the trigonometric subspace (C_gen's form) and the rest.
struct TrigShare {
  double share = 0;     ///< ‖P L‖² / ‖L‖² of the row-centred logits (0 when L is 0)
  double gen_norm = 0;  ///< ‖P L‖_F
  double mem_norm = 0;  ///< ‖L − P L‖_F
};

/// Trigonometric-subspace share of logits L (n × C, C ≥ p classes of which the first p are the
/// residues) on examples with correct answers y (n, in [0, p)). Each row is first centred over its
/// first p classes (softmax does not see a constant per row); the projection replaces every entry
/// L(i, c) by the mean of the entries with the same (yᵢ − c) mod p. Throws std::invalid_argument
/// for mismatched shapes, an answer outside [0, p) or a non-finite logit.
inline TrigShare trig_subspace_share(const Eigen::MatrixXd& logits, const IndexList& y, Index p) {
  const char* where = "trig_subspace_share";
  require(p >= 2, where, "p must be >= 2");
  require(logits.rows() == static_cast<Index>(y.size()) && logits.rows() > 0, where,
          "logits have " + std::to_string(logits.rows()) + " rows for " + std::to_string(y.size()) + " answers");
  require(logits.cols() >= p, where, "logits have " + std::to_string(logits.cols()) + " classes, fewer than p");
  require(logits.allFinite(), where, "the logits have a NaN or Inf entry");
  Eigen::MatrixXd L = logits.leftCols(p);
  L.colwise() -= L.rowwise().mean();
  Eigen::VectorXd sum = Eigen::VectorXd::Zero(p), count = Eigen::VectorXd::Zero(p);
  for (Index i = 0; i < L.rows(); ++i) {
    const Index yi = y[static_cast<std::size_t>(i)];
    require(yi >= 0 && yi < p, where,
            "answer " + std::to_string(yi) + " at row " + std::to_string(i) + " is outside [0, p)");
    for (Index c = 0; c < p; ++c) {
      const Index s = ((yi - c) % p + p) % p;
      sum(s) += L(i, c), count(s) += 1;
    }
  }
  double gen = 0, mem = 0;
  for (Index i = 0; i < L.rows(); ++i) {
    const Index yi = y[static_cast<std::size_t>(i)];
    for (Index c = 0; c < p; ++c) {
      const Index s = ((yi - c) % p + p) % p;
      const double proj = sum(s) / count(s);
      gen += proj * proj;
      mem += (L(i, c) - proj) * (L(i, c) - proj);
    }
  }
  // P is an orthogonal projection: ‖L‖² = ‖PL‖² + ‖L − PL‖²
  TrigShare r;
  r.gen_norm = std::sqrt(gen);
  r.mem_norm = std::sqrt(mem);
  r.share = gen + mem > 0 ? gen / (gen + mem) : 0.0;
  return r;
}

/// ‖f(X)‖_F / ‖θ‖^degree: logit size per parameter norm (see the file comment).
template <typename S>
double logit_efficiency(Model<S>& model, const ModelInput<S>& X, double degree) {
  const char* where = "logit_efficiency";
  require(X.examples() > 0, where, "X has no examples");
  require(degree > 0 && std::isfinite(degree), where, "degree must be finite and > 0");
  double sq = 0;
  for (const Parameter<S>* p : model.parameters()) sq += p->value.template cast<double>().squaredNorm();
  require(sq > 0, where, "the parameters are all zero");
  Tape<S> t;
  const double f = model.forward(t, X).value().template cast<double>().norm();
  return f / std::pow(std::sqrt(sq), degree);
}

/// A convergence rule: converged at evaluation i when the values of the window of evaluations
/// ending at i (window + 1 of them) all lie within rel_tol · |vᵢ| of vᵢ.
struct ConvergenceRule {
  Index window = 5;
  double rel_tol = 1e-3;
};

/// The step at which `values` (one per entry of `steps`) first satisfies the rule, if it does.
inline std::optional<double> converged_at(const std::vector<double>& steps, const std::vector<double>& values,
                                          const ConvergenceRule& rule) {
  require(steps.size() == values.size(), "converged_at", "steps and values differ in length");
  require(rule.window >= 1 && rule.rel_tol >= 0, "converged_at", "window must be >= 1 and rel_tol >= 0");
  const std::size_t w = static_cast<std::size_t>(rule.window);
  for (std::size_t i = w; i < values.size(); ++i) {
    const double v = values[i];
    if (!std::isfinite(v)) continue;
    bool ok = true;
    for (std::size_t j = i - w; j < i && ok; ++j)
      ok = std::isfinite(values[j]) && std::abs(values[j] - v) <= rule.rel_tol * std::abs(v);
    if (ok) return steps[i];
  }
  return std::nullopt;
}

/// A Trainer stop condition (TrainConfig::stop_when): true once `column` of the history has
/// converged by the rule, e.g. the parameter norm ("weight_norm") for N(D) at convergence.
inline std::function<bool(const History&)> convergence_stop(std::string column, ConvergenceRule rule = {}) {
  return [column = std::move(column), rule](const History& h) {
    const std::vector<std::string>& cols = h.columns();
    if (std::find(cols.begin(), cols.end(), column) == cols.end()) return false;
    return converged_at(h.column("step"), h.column(column), rule).has_value();
  };
}

/// D_crit: the size at which the memorising runs' norm at convergence N_mem(D) meets the
/// generalising runs' N_gen(D), both measured at the same sizes (ascending, > 0) and interpolated
/// piecewise-linearly in (log D, log N); the first crossing, or nothing when the curves do not cross
/// in the measured range. Exact when both are power laws (N_mem = a√D against a constant N_gen
/// gives (N_gen / a)²).
inline std::optional<double> crossover_size(const std::vector<double>& sizes, const std::vector<double>& n_mem,
                                            const std::vector<double>& n_gen) {
  const char* where = "crossover_size";
  require(sizes.size() >= 2, where, "need at least two sizes");
  require(n_mem.size() == sizes.size() && n_gen.size() == sizes.size(), where, "need one N_mem and one N_gen per size");
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    require(sizes[i] > 0 && (i == 0 || sizes[i] > sizes[i - 1]), where, "sizes must be positive and ascending");
    require(n_mem[i] > 0 && n_gen[i] > 0 && std::isfinite(n_mem[i]) && std::isfinite(n_gen[i]), where,
            "norms must be finite and > 0");
  }
  const auto gap = [&](std::size_t i) { return std::log(n_mem[i]) - std::log(n_gen[i]); };
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
    const double g0 = gap(i), g1 = gap(i + 1);
    if (g0 == 0) return sizes[i];
    if ((g0 < 0) != (g1 < 0) || g1 == 0) {
      const double t = g0 / (g0 - g1);
      return std::exp(std::log(sizes[i]) + t * (std::log(sizes[i + 1]) - std::log(sizes[i])));
    }
  }
  return std::nullopt;
}

}  // namespace grokscope
