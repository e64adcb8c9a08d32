// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file The local learning coefficient (LLC) of a trained model by localized SGLD, with the
/// semantics of devinterp (timaeus-research/devinterp; Lau et al. 2023):
///   λ̂ = nβ · (mean over draws of L_b(w_t) − L₀)
/// per chain, where the chain starts at the trained parameters w* and moves by
///   w ← w − (ε/2) (nβ ∇L̄_b(w) + γ (w − w*)) + √ε ξ,   ξ ~ N(0, I),
/// L̄_b the mean loss of a fresh mini-batch b at every step, L_b(w_t) the batch loss recorded at a
/// draw, and L₀ the loss at w* (the mean over `init_loss_batches` seeded batches, devinterp's
/// num_init_loss_batches; or the loss on every row). The result is the mean and the standard
/// deviation (n − 1 in the denominator) of λ̂ over chains.
///
/// Defaults and conventions (stated, because λ̂ is linear in nβ: compare λ̂ only at fixed ε, nβ, γ
/// and batch size): nβ = m / ln m with m the batch size (devinterp's default_nbeta; the full
/// data set's n when batch_size is 0), ε = 1e-3, γ = 100, 4 chains × 200 draws, no burn-in,
/// one step between draws, batch 32, 32 batches for L₀. Chain c draws its batches and noise from
/// Rng(seed).fork(c + 1) (the noise by Rng::fill_normal), L₀'s batches from Rng(seed).fork(0), so chains are
/// independent and the result does not depend on threads (devinterp #40, #98).
///
/// Diagnostics devinterp users read: the loss trace (chains × draws); the MALA acceptance
/// estimate between consecutive steps, exp of
///   U(w) − U(w′) + [‖w′ − w + (ε/2)∇U(w)‖² − ‖w − w′ + (ε/2)∇U(w′)‖²] / (2ε),
/// U = nβ L_b + (γ/2)‖w − w*‖², capped at 1, averaged (devinterp's MalaAcceptanceRate, over all
/// parameters at once; aim near 0.9); the share of draws below L₀; the distance ‖w − w*‖ at the
/// end of every chain. `warnings` says when λ̂ is negative, when more than 10 % of the draws are
/// below L₀, when the trace has not settled (the chain-averaged mean of the last quarter of draws
/// differs from that of the second quarter by more than 20 % of the mean excess over L₀), and when
/// the acceptance is below 0.5 (ε too large). A non-finite loss stops with an error naming the chain
/// and step. The parameters are restored afterwards.

#include <grokscope/autodiff/tape.hpp>
#include <grokscope/core/check.hpp>
#include <grokscope/core/memory.hpp>
#include <grokscope/core/rng.hpp>
#include <grokscope/core/types.hpp>
#include <grokscope/nn/model.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace grokscope {

/// The mean loss of a model on some of its training rows (positions 0 … n − 1 of the training set).
template <typename S>
using BatchLossFn = std::function<Var<S>(Tape<S>&, Model<S>&, const IndexList& rows)>;

/// Settings of estimate_llc (see the file comment for the defaults' sources).
struct LlcOptions {
  double epsilon = 1e-3;  ///< ε, SGLD's step size (devinterp's lr)
  double nbeta = 0;       ///< nβ; 0: m / ln m for batch size m (n for full batch)
  double gamma = 100;     ///< γ, the localization strength
  Index chains = 4;
  Index draws = 200;
  Index burnin = 0;  ///< steps before the first draw
  Index steps_between_draws = 1;
  Index batch_size = 32;                ///< 0: full batch
  Index init_loss_batches = 32;         ///< batches for L₀; 0: the loss on every row
  std::vector<std::string> parameters;  ///< sample only these (the weight-restricted LLC); empty: every trainable one
  std::uint64_t seed = 0;
};

/// What estimate_llc measured.
struct LlcResult {
  double llc_mean = 0;
  double llc_std = 0;  ///< over chains (0 for one chain)
  std::vector<double> llc_per_chain;
  Eigen::MatrixXd loss_trace;          ///< chains × draws: the batch loss at each draw
  double init_loss = 0;                ///< L₀
  double nbeta = 0;                    ///< the nβ used
  double mala_acceptance = 0;          ///< mean MALA acceptance estimate
  double fraction_below_init = 0;      ///< share of draws with loss < L₀
  std::vector<double> final_distance;  ///< ‖w − w*‖ at the end of each chain
  Index steps = 0;                     ///< SGLD steps per chain
  std::vector<std::string> warnings;
};

/// devinterp's default inverse temperature: m / ln m for batch size m (1 when m ≤ 1).
inline double default_nbeta(Index batch) {
  return batch <= 1 ? 1.0 : static_cast<double>(batch) / std::log(static_cast<double>(batch));
}

/// The LLC of `model` at its current parameters w* (see the file comment). `rows` is the number of
/// training rows the loss draws batches from.
template <typename S>
LlcResult estimate_llc(Model<S>& model, const BatchLossFn<S>& loss, Index rows, const LlcOptions& o = {}) {
  const char* where = "estimate_llc";
  require(rows >= 1, where, "no training rows");
  require(std::isfinite(o.epsilon) && o.epsilon > 0, where, "epsilon must be finite and > 0");
  require(std::isfinite(o.nbeta) && o.nbeta >= 0, where, "nbeta must be finite and >= 0 (0: the default m / ln m)");
  require(std::isfinite(o.gamma) && o.gamma >= 0, where, "gamma must be finite and >= 0");
  require(o.chains >= 1 && o.draws >= 1, where, "chains and draws must be >= 1");
  require(o.burnin >= 0 && o.steps_between_draws >= 1, where, "burnin must be >= 0 and steps_between_draws >= 1");
  require(
      o.batch_size >= 0 && o.batch_size <= rows, where,
      "batch_size must be in [0, " + std::to_string(rows) + "] (0: full batch), got " + std::to_string(o.batch_size));
  require(o.init_loss_batches >= 0, where, "init_loss_batches must be >= 0");
  // the loss trace (chains × draws) and the step count, before anything is drawn
  detail::require_memory(
      where, "the loss trace of " + std::to_string(o.chains) + " chains × " + std::to_string(o.draws) + " draws",
      8.0 * static_cast<double>(o.chains) * static_cast<double>(o.draws), 0, "GROKSCOPE_MAX_MEMORY",
      "ask for fewer chains or draws");
  require(static_cast<double>(o.burnin) + static_cast<double>(o.draws) * static_cast<double>(o.steps_between_draws) <
              9.0e18,
          where, "burnin + draws × steps_between_draws overflows the step count");
  const Index m = o.batch_size == 0 ? rows : o.batch_size;

  std::vector<Parameter<S>*> ps;
  for (Parameter<S>* p : model.parameters()) {
    bool chosen = o.parameters.empty() ? p->requires_grad : false;
    for (const std::string& n : o.parameters) chosen = chosen || p->name == n;
    if (chosen) ps.push_back(p);
  }
  for (const std::string& n : o.parameters) {
    bool found = false;
    for (const Parameter<S>* p : ps) found = found || p->name == n;
    require(found, where, "the model has no parameter '" + n + "'");
  }
  require(!ps.empty(), where, "no parameter to sample (none requires grad)");

  // restore w* and the gradients however this ends
  std::vector<Matrix<S>> w_star, saved_grads;
  for (Parameter<S>* p : model.parameters()) saved_grads.push_back(p->grad);
  for (const Parameter<S>* p : ps) w_star.push_back(p->value);
  struct Restore {
    Model<S>& model;
    std::vector<Parameter<S>*>& ps;
    std::vector<Matrix<S>>& w_star;
    std::vector<Matrix<S>>& grads;
    ~Restore() {
      for (std::size_t k = 0; k < ps.size(); ++k) ps[k]->value = w_star[k];
      const std::vector<Parameter<S>*> all = model.parameters();
      for (std::size_t k = 0; k < all.size(); ++k) all[k]->grad = grads[k];
    }
  } restore{model, ps, w_star, saved_grads};

  Tape<S> t;  // reused by every step: its buffers stay allocated
  const auto batch_loss = [&](const IndexList& batch, bool backward) {
    for (Parameter<S>* p : model.parameters()) p->zero_grad();
    t.reset();
    const Var<S> L = loss(t, model, batch);
    require(L.value().rows() == 1 && L.value().cols() == 1, where, "the loss is not a scalar");
    const double v = static_cast<double>(L.value()(0, 0));
    if (backward && std::isfinite(v)) t.backward(L);
    return v;
  };
  // batches: consecutive slices of per-epoch permutations
  struct Batches {
    Rng rng;
    Index n, m, pos = 0;
    IndexList perm, b;  // b: the current batch, its storage reused from step to step
    const IndexList& next() {
      b.resize(static_cast<std::size_t>(m));
      if (m == n) {
        std::iota(b.begin(), b.end(), Index(0));
        return b;
      }
      for (Index i = 0; i < m; ++i) {
        if (pos == 0 || pos >= n) {
          perm.resize(static_cast<std::size_t>(n));  // rng.permutation(n), in the kept storage
          std::iota(perm.begin(), perm.end(), Index(0));
          rng.shuffle(perm.begin(), perm.end());
          pos = 0;
        }
        b[static_cast<std::size_t>(i)] = perm[static_cast<std::size_t>(pos++)];
      }
      return b;
    }
  };

  LlcResult r;
  r.nbeta = o.nbeta > 0 ? o.nbeta : default_nbeta(m);
  {
    if (o.init_loss_batches == 0) {
      IndexList all(static_cast<std::size_t>(rows));
      std::iota(all.begin(), all.end(), Index(0));
      r.init_loss = batch_loss(all, false);
    } else {
      Batches b{Rng(o.seed).fork(0), rows, m, 0, {}, {}};
      double s = 0;
      for (Index i = 0; i < o.init_loss_batches; ++i) s += batch_loss(b.next(), false);
      r.init_loss = s / static_cast<double>(o.init_loss_batches);
    }
    require(std::isfinite(r.init_loss), where, "the loss at w* is " + std::to_string(r.init_loss));
  }
  std::vector<Matrix<double>> w_star_d;
  for (const Matrix<S>& v : w_star) w_star_d.push_back(v.template cast<double>());
  const double eps = o.epsilon, nb = r.nbeta, gamma = o.gamma, sq = std::sqrt(eps);
  r.steps = o.burnin + o.draws * o.steps_between_draws;
  r.loss_trace.resize(o.chains, o.draws);
  double accept_sum = 0;
  Index accept_count = 0, below = 0;
  for (Index c = 0; c < o.chains; ++c) {
    for (std::size_t k = 0; k < ps.size(); ++k) ps[k]->value = w_star[k];
    Batches batches{Rng(o.seed).fork(static_cast<std::uint64_t>(c) + 1), rows, m, 0, {}, {}};
    Rng noise = Rng(o.seed).fork(static_cast<std::uint64_t>(c) + 1).fork(1);
    // per sampled parameter, in double: w, ∇U, their values at the previous step, the noise
    const std::size_t np = ps.size();
    std::vector<Matrix<double>> w(np), dU(np), w_prev(np), dU_prev(np), xi(np);
    for (std::size_t k = 0; k < np; ++k) xi[k].resize(ps[k]->rows(), ps[k]->cols());
    double U_prev = 0;
    Index draw = 0;
    for (Index s = 0; s < r.steps; ++s) {
      const double L = batch_loss(batches.next(), true);
      if (!std::isfinite(L))
        throw std::runtime_error("estimate_llc: chain " + std::to_string(c) + " reached a loss of " +
                                 std::to_string(L) + " at step " + std::to_string(s) +
                                 "; epsilon = " + std::to_string(eps) + " is too large for this model");
      double dist2 = 0;
      for (std::size_t k = 0; k < np; ++k) {
        w[k] = ps[k]->value.template cast<double>();
        dU[k] = nb * ps[k]->grad.template cast<double>() + gamma * (w[k] - w_star_d[k]);
        dist2 += (w[k] - w_star_d[k]).squaredNorm();
      }
      const double U = nb * L + 0.5 * gamma * dist2;
      if (s > 0) {
        double fwd = 0, bwd = 0;
        for (std::size_t k = 0; k < np; ++k) {
          fwd += (w[k] - w_prev[k] + 0.5 * eps * dU_prev[k]).squaredNorm();
          bwd += (w_prev[k] - w[k] + 0.5 * eps * dU[k]).squaredNorm();
        }
        const double log_a = U_prev - U + (fwd - bwd) / (2 * eps);
        accept_sum += log_a >= 0 ? 1.0 : std::exp(log_a);
        ++accept_count;
      }
      if (s >= o.burnin && (s - o.burnin) % o.steps_between_draws == 0 && draw < o.draws) {
        r.loss_trace(c, draw++) = L;
        below += L < r.init_loss;
      }
      std::swap(w_prev, w), std::swap(dU_prev, dU), U_prev = U;
      // the SGLD step
      for (std::size_t k = 0; k < np; ++k) {
        Matrix<double>& n = xi[k];
        noise.fill_normal(n.data(), n.size());
        ps[k]->value = (w_prev[k] - 0.5 * eps * dU_prev[k] + sq * n).template cast<S>();
      }
    }
    double d2 = 0;
    for (std::size_t k = 0; k < ps.size(); ++k) d2 += (ps[k]->value - w_star[k]).template cast<double>().squaredNorm();
    r.final_distance.push_back(std::sqrt(d2));
    r.llc_per_chain.push_back(nb * (r.loss_trace.row(c).mean() - r.init_loss));
  }
  const double nc = static_cast<double>(o.chains);
  r.llc_mean = std::accumulate(r.llc_per_chain.begin(), r.llc_per_chain.end(), 0.0) / nc;
  if (o.chains > 1) {
    double ss = 0;
    for (double v : r.llc_per_chain) ss += (v - r.llc_mean) * (v - r.llc_mean);
    r.llc_std = std::sqrt(ss / (nc - 1));
  }
  r.mala_acceptance = accept_count > 0 ? accept_sum / static_cast<double>(accept_count) : 1.0;
  r.fraction_below_init = static_cast<double>(below) / static_cast<double>(o.chains * o.draws);

  // diagnostics
  if (r.llc_mean < 0)
    r.warnings.push_back(
        "negative LLC estimate: the chains found losses below L0 (w* is not a local minimum, or "
        "epsilon is too large)");
  if (r.fraction_below_init > 0.1)
    r.warnings.push_back(std::to_string(static_cast<int>(std::lround(100 * r.fraction_below_init))) +
                         " % of the draws are below L0");
  if (o.draws >= 8) {
    const Eigen::VectorXd avg = r.loss_trace.colwise().mean().transpose();
    const Index q = o.draws / 4;
    const double second = avg.segment(q, q).mean(), last = avg.tail(q).mean();
    const double excess = std::abs(avg.mean() - r.init_loss);
    if (excess > 0 && std::abs(last - second) > 0.2 * excess)
      r.warnings.push_back(
          "the loss trace has not settled: the mean of the last quarter of draws differs from the "
          "second quarter's by " +
          std::to_string(static_cast<int>(std::lround(100 * std::abs(last - second) / excess))) +
          " % of the mean excess over L0 (more burn-in or draws, or a smaller epsilon)");
  }
  if (r.mala_acceptance < 0.5)
    r.warnings.push_back("MALA acceptance estimate " + std::to_string(r.mala_acceptance) +
                         " is below 0.5: epsilon is probably too large (aim near 0.9)");
  return r;
}

}  // namespace grokscope
