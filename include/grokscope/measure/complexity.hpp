// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Loss-bounded coarse-grained complexity of a network's weights (DeMoss et al. 2024,
/// arXiv 2412.09810 §3): the smallest compressed size of a low-rank, quantised version of the
/// weights whose training loss stays within ε of the original's.
///
/// Coarse-graining at (τ, Δ). Every weight matrix W (m × n, a parameter with ≥ 2 rows and ≥ 2
/// columns; Parameter layout) is truncated to its first k singular components, k the smallest
/// k ≥ 1 with Σ_{i≤k} σᵢ ≥ τ Σᵢ σᵢ (the paper's Eq. 13; the authors' code keeps one component
/// fewer, `searchsorted` counted from 0); when the factors are smaller, k (m + n) < m n, it is
/// stored as A = Q(U_k diag σ_k) (m × k) and B = Q(V_kᵀ) (k × n) and becomes A B, otherwise it is
/// stored and used as Q(W) (not truncated). Every other parameter becomes Q(w).
/// Q(x) = Δ · round(x / Δ), rounding half to even as NumPy does, −0 written as +0.
///
/// Size. The stored arrays, in the model's parameter order and row-major, as float32 bytes (float
/// and double models alike), compressed by bzip2 (libbz2, block size 900 k, Python's
/// `bz2.compress` default). The authors compress `pickle.dumps` of the same arrays, so their sizes
/// carry a few hundred bytes of pickle framing that these do not. `raw_bytes` is bzip2 of the
/// weights as they are (float32, lossless): the naive compression they compare against.
///
/// Search (deterministic; the authors use Bayesian optimisation over (τ, log Δ), which makes the
/// estimate depend on its seed). For every τ of a grid, the largest Δ of a log-spaced grid whose
/// coarse-grained training loss is within ε (L(τ, Δ) ≤ L + ε) is found by bisection over the Δ
/// grid (which assumes that feasibility does not come back once lost as Δ grows); the size is taken
/// there, and the smallest size over τ is the complexity. τ values that give the same ranks are
/// evaluated once. When no grid point is within ε, the weights are not coarse-grained: bytes is
/// raw_bytes and `bounded` is false.
///
/// Cost: one SVD per matrix, then about (1 + log₂ of the Δ grid's size) loss evaluations and one
/// compression per distinct τ.

#include <grokscope/autodiff/ops.hpp>
#include <grokscope/autodiff/tape.hpp>
#include <grokscope/core/check.hpp>
#include <grokscope/core/text.hpp>
#include <grokscope/core/types.hpp>
#include <grokscope/measure/hessian.hpp>
#include <grokscope/nn/model.hpp>
#include <grokscope/optim/spectral_entropy.hpp>

#include <bzlib.h>
#include <Eigen/Core>
#include <Eigen/SVD>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace grokscope {

/// Bytes of `data` compressed by bzip2 (block size 900 k, as Python's bz2.compress).
inline std::size_t bzip2_size(const void* data, std::size_t size) {
  require(size <= std::numeric_limits<unsigned int>::max() / 2, "bzip2_size",
          "input of " + std::to_string(size) + " bytes is larger than one libbz2 buffer call takes");
  // bzip2's documented worst case: 1 % larger plus 600 bytes
  unsigned int out_len = static_cast<unsigned int>(size + size / 100 + 600);
  std::vector<char> out(out_len);
  // libbz2 takes a non-const source but only reads it
  char empty = 0;
  char* in = size ? const_cast<char*>(static_cast<const char*>(data)) : &empty;
  const int rc = BZ2_bzBuffToBuffCompress(out.data(), &out_len, in, static_cast<unsigned int>(size), 9, 0, 0);
  if (rc != BZ_OK) throw std::runtime_error("grokscope::bzip2_size: libbz2 failed with code " + std::to_string(rc));
  return out_len;
}

/// The rank that the threshold τ keeps of the singular values σ (descending): the smallest k ≥ 1
/// with Σ_{i≤k} σᵢ ≥ τ Σ σᵢ (the paper's Eq. 13; all of them at τ ≥ 1, 1 for an all-zero σ).
inline Index rank_for_threshold(const Eigen::VectorXd& sigma, double tau) {
  require(sigma.size() > 0, "rank_for_threshold", "no singular values");
  require(tau >= 0 && tau <= 1, "rank_for_threshold", "tau must be in [0, 1], got " + std::to_string(tau));
  if (tau >= 1) return sigma.size();
  const double total = sigma.sum();
  double c = 0;
  for (Index k = 0; k < sigma.size(); ++k) {
    c += sigma(k);
    if (c >= tau * total) return k + 1;
  }
  return sigma.size();
}

/// Settings of coarse_grained_complexity.
struct CoarseGrainOptions {
  /// τ grid (each in (0, 1]); default 0.05, 0.10, …, 1.00.
  std::vector<double> taus;
  double delta_min = 1e-5;      ///< smallest quantisation step (the authors' bound)
  double delta_max = 1e-1;      ///< largest quantisation step (the authors' bound)
  Index points_per_decade = 8;  ///< Δ grid density (log-spaced, both ends included)
};

/// Coarse-grained complexity of a model (see the file comment).
struct CoarseGrainedComplexity {
  std::size_t bytes = 0;       ///< bzip2 bytes of the coarse-grained weights (raw_bytes when not bounded)
  std::size_t raw_bytes = 0;   ///< bzip2 bytes of the float32 weights as they are (naive compression)
  bool bounded = false;        ///< a grid point kept the loss within ε
  double epsilon = 0;          ///< the loss bound
  double tau = 1;              ///< chosen truncation threshold
  double delta = 0;            ///< chosen quantisation step (0 when not bounded)
  Index kept_components = 0;   ///< Σ over weight matrices of the components used (min(m, n) when not factored)
  Index total_components = 0;  ///< Σ over weight matrices of min(m, n)
  double rank_fraction = 1;    ///< kept_components / total_components (1 without matrices)
  double loss = 0;             ///< training loss of the weights as they are
  double coarse_loss = 0;      ///< training loss of the coarse-grained weights
  double test_loss = std::numeric_limits<double>::quiet_NaN();         ///< with a test loss given
  double coarse_test_loss = std::numeric_limits<double>::quiet_NaN();  ///< with a test loss given
  Index evaluations = 0;                                               ///< training-loss evaluations the search made
  std::string search;                                                  ///< the search, in words
};

namespace detail {

template <typename S>
double scalar_loss(Tape<S>& t, Model<S>& m, const LossFn<S>& fn, const char* where) {
  t.reset();
  const Var<S> l = fn(t, m);
  require(l.rows() == 1 && l.cols() == 1, where, "the loss must be a 1 x 1 value, got " + shape_string(l.value()));
  const Node<S>& n = t.node(l.id);
  if (n.kind == OpKind::CrossEntropy || n.kind == OpKind::StableMaxCrossEntropy) return loss_in_double(l);
  return static_cast<double>(l.item());
}

inline double quantize(double x, double delta) {
  if (!(delta > 0)) return x;
  return delta * std::nearbyint(x / delta) + 0.0;  // + 0.0 turns −0 into +0
}

// One parameter's SVD (matrices only) and original values, in double.
struct CoarseSource {
  bool matrix = false;
  Eigen::MatrixXd W, U, V;
  Eigen::VectorXd sigma;
};

// The coarse-grained value of one parameter at (k, Δ); appends its stored floats when `store`.
inline Eigen::MatrixXd coarse_value(const CoarseSource& c, Index k, double delta, std::vector<float>* store,
                                    bool* factored) {
  const Index m = c.W.rows(), n = c.W.cols();
  const auto q = [delta](double x) { return quantize(x, delta); };
  *factored = c.matrix && k * (m + n) < m * n;
  if (*factored) {
    const Eigen::MatrixXd A = (c.U.leftCols(k) * c.sigma.head(k).asDiagonal()).unaryExpr(q);
    const Eigen::MatrixXd B = c.V.leftCols(k).transpose().unaryExpr(q);
    if (store) {
      for (Index i = 0; i < A.rows(); ++i)
        for (Index j = 0; j < A.cols(); ++j) store->push_back(static_cast<float>(A(i, j)));
      for (Index i = 0; i < B.rows(); ++i)
        for (Index j = 0; j < B.cols(); ++j) store->push_back(static_cast<float>(B(i, j)));
    }
    return A * B;
  }
  Eigen::MatrixXd Q = c.W.unaryExpr(q);
  if (store)
    for (Index i = 0; i < Q.rows(); ++i)
      for (Index j = 0; j < Q.cols(); ++j) store->push_back(static_cast<float>(Q(i, j)));
  return Q;
}

// A parameter's values in double and, for a matrix, its thin SVD.
template <typename S>
CoarseSource coarse_source(const Parameter<S>& p, const char* where) {
  CoarseSource c;
  c.W = p.value.template cast<double>();
  require(c.W.allFinite(), where, "parameter '" + p.name + "' has a NaN or Inf entry");
  c.matrix = p.rows() >= 2 && p.cols() >= 2;
  if (c.matrix) {
    const Eigen::BDCSVD<Eigen::MatrixXd> svd(c.W, Eigen::ComputeThinU | Eigen::ComputeThinV);
    c.U = svd.matrixU(), c.V = svd.matrixV(), c.sigma = svd.singularValues();
  }
  return c;
}

inline std::size_t float_bytes_bzip2(const std::vector<float>& v) {
  return bzip2_size(v.data(), v.size() * sizeof(float));
}

}  // namespace detail

/// The weights coarse-grained at one point (τ, Δ) and their size (see the file comment).
struct CoarseGrainedWeights {
  std::vector<Eigen::MatrixXd> values;  ///< per parameter, in the order given
  std::size_t bytes = 0;                ///< bzip2 bytes of the stored arrays
  Index kept_components = 0;            ///< as in CoarseGrainedComplexity
  Index total_components = 0;
};

/// Coarse-grains `params` at truncation threshold τ ∈ (0, 1] and quantisation step Δ ≥ 0 (0: no
/// quantisation) without touching them. Throws std::invalid_argument for a NaN or Inf weight or
/// a setting out of range.
template <typename S>
CoarseGrainedWeights coarse_grain(const std::vector<Parameter<S>*>& params, double tau, double delta) {
  const char* where = "coarse_grain";
  require(tau > 0 && tau <= 1, where, "tau must be in (0, 1], got " + std::to_string(tau));
  require(delta >= 0 && std::isfinite(delta), where, "delta must be finite and >= 0, got " + std::to_string(delta));
  CoarseGrainedWeights r;
  std::vector<float> store;
  for (const Parameter<S>* p : params) {
    const detail::CoarseSource c = detail::coarse_source(*p, where);
    Index k = 0;
    if (c.matrix) {
      k = rank_for_threshold(c.sigma, tau);
      r.total_components += c.sigma.size();
    }
    bool factored = false;
    r.values.push_back(detail::coarse_value(c, k, delta, &store, &factored));
    if (c.matrix) r.kept_components += factored ? k : c.sigma.size();
  }
  r.bytes = detail::float_bytes_bzip2(store);
  return r;
}

/// The loss-bounded coarse-grained complexity of `model` (see the file comment): `train_loss`
/// is the loss whose increase is bounded by `epsilon` (≥ 0); `test_loss`, when given, is
/// evaluated at the original and the chosen coarse-grained weights. The model's parameters are
/// restored before returning (also when an exception leaves). Throws std::invalid_argument for a
/// model without parameters, non-finite weights or loss, or impossible options.
template <typename S>
CoarseGrainedComplexity coarse_grained_complexity(Model<S>& model, const LossFn<S>& train_loss, double epsilon,
                                                  const CoarseGrainOptions& options = {},
                                                  const LossFn<S>& test_loss = nullptr) {
  const char* where = "coarse_grained_complexity";
  require(static_cast<bool>(train_loss), where, "no training loss");
  require(epsilon >= 0 && std::isfinite(epsilon), where,
          "epsilon must be finite and >= 0, got " + std::to_string(epsilon));
  std::vector<double> taus = options.taus;
  if (taus.empty())
    for (int i = 1; i <= 20; ++i) taus.push_back(i / 20.0);
  for (double t : taus) require(t > 0 && t <= 1, where, "every tau must be in (0, 1], got " + std::to_string(t));
  require(options.delta_min > 0 && std::isfinite(options.delta_min) && options.delta_max >= options.delta_min &&
              std::isfinite(options.delta_max),
          where, "need 0 < delta_min <= delta_max (finite)");
  require(options.points_per_decade >= 1 && options.points_per_decade <= 1000, where,
          "points_per_decade must be in [1, 1000]");
  const std::vector<Parameter<S>*> params = model.parameters();
  require(!params.empty(), where, "the model has no parameters");

  // the Δ grid, log-spaced with both ends
  const double decades = std::log10(options.delta_max / options.delta_min);
  const Index steps = std::max<Index>(0, static_cast<Index>(std::ceil(decades * options.points_per_decade - 1e-9)));
  std::vector<double> deltas;
  for (Index j = 0; j <= steps; ++j)
    deltas.push_back(steps == 0 ? options.delta_min
                                : options.delta_min * std::pow(10.0, decades * static_cast<double>(j) / steps));

  CoarseGrainedComplexity r;
  r.epsilon = epsilon;
  std::vector<detail::CoarseSource> src(params.size());
  std::vector<Matrix<S>> original(params.size());
  std::vector<float> raw;
  for (std::size_t i = 0; i < params.size(); ++i) {
    src[i] = detail::coarse_source(*params[i], where);
    original[i] = params[i]->value;
    for (Index a = 0; a < src[i].W.rows(); ++a)
      for (Index b = 0; b < src[i].W.cols(); ++b) raw.push_back(static_cast<float>(src[i].W(a, b)));
    if (src[i].matrix) r.total_components += src[i].sigma.size();
  }
  r.raw_bytes = detail::float_bytes_bzip2(raw);

  // the parameters are the coarse-grained ones only inside this scope
  struct Restore {
    const std::vector<Parameter<S>*>& ps;
    const std::vector<Matrix<S>>& orig;
    ~Restore() {
      for (std::size_t i = 0; i < ps.size(); ++i) ps[i]->value = orig[i];
    }
  } restore{params, original};

  Tape<S> tape;
  r.loss = detail::scalar_loss(tape, model, train_loss, where);
  require(std::isfinite(r.loss), where, "the training loss of the weights as they are is " + std::to_string(r.loss));
  if (test_loss) r.test_loss = detail::scalar_loss(tape, model, test_loss, where);

  const auto ranks_of = [&](double tau) {
    std::vector<Index> ks(src.size(), 0);
    for (std::size_t i = 0; i < src.size(); ++i)
      if (src[i].matrix) ks[i] = rank_for_threshold(src[i].sigma, tau);
    return ks;
  };
  // sets the model to the coarse-grained weights at (ks, Δ); returns the stored floats' count
  const auto apply = [&](const std::vector<Index>& ks, double delta, std::vector<float>* store, Index* kept) {
    if (kept) *kept = 0;
    for (std::size_t i = 0; i < src.size(); ++i) {
      bool factored = false;
      params[i]->value = detail::coarse_value(src[i], ks[i], delta, store, &factored).template cast<S>();
      if (kept && src[i].matrix) *kept += factored ? ks[i] : src[i].sigma.size();
    }
  };
  const auto feasible = [&](const std::vector<Index>& ks, double delta, double* loss_out) {
    apply(ks, delta, nullptr, nullptr);
    const double l = detail::scalar_loss(tape, model, train_loss, where);
    ++r.evaluations;
    if (loss_out) *loss_out = l;
    return std::isfinite(l) && l <= r.loss + epsilon;
  };

  std::map<std::vector<Index>, bool> seen;
  std::optional<std::size_t> best;
  for (double tau : taus) {
    const std::vector<Index> ks = ranks_of(tau);
    if (!seen.emplace(ks, true).second) continue;
    double l0 = 0;
    if (!feasible(ks, deltas[0], &l0)) continue;
    std::size_t lo = 0, hi = deltas.size();  // deltas[lo] feasible, deltas[hi] (if any) not
    double l_lo = l0;
    while (hi - lo > 1) {
      const std::size_t mid = lo + (hi - lo) / 2;
      double l = 0;
      if (feasible(ks, deltas[mid], &l))
        lo = mid, l_lo = l;
      else
        hi = mid;
    }
    std::vector<float> store;
    Index kept = 0;
    apply(ks, deltas[lo], &store, &kept);
    const std::size_t size = detail::float_bytes_bzip2(store);
    if (!best || size < *best) {
      best = size;
      r.bytes = size, r.bounded = true, r.tau = tau, r.delta = deltas[lo], r.kept_components = kept;
      r.coarse_loss = l_lo;
      if (test_loss) r.coarse_test_loss = detail::scalar_loss(tape, model, test_loss, where);
    }
  }
  if (!best) {
    r.bytes = r.raw_bytes, r.tau = 1, r.delta = 0, r.kept_components = r.total_components;
    r.coarse_loss = r.loss, r.coarse_test_loss = r.test_loss;
  }
  r.rank_fraction = r.total_components ? static_cast<double>(r.kept_components) / r.total_components : 1.0;
  r.search = "grid over tau (" + std::to_string(taus.size()) + " values) x bisection over a log grid of " +
             std::to_string(deltas.size()) + " quantisation steps in [" + format_number(options.delta_min) + ", " +
             format_number(options.delta_max) + "]; rank rule: smallest k with cumulative share >= tau (Eq. 13)";
  return r;
}

}  // namespace grokscope
