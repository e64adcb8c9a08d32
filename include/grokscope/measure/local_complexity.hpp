// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Local complexity of a network's input-space partition (Humayun, Balestriero & Baraniuk
/// 2024, "Deep networks always grok", arXiv 2402.15555 §3): around each input x, the number of
/// neurons whose pre-activation changes sign within a small neighbourhood, i.e. how many of the
/// network's (ReLU) hyperplanes pass near x. It rises and then falls over training as the linear
/// regions migrate from the training points towards the decision boundary ("region migration").
///
/// The neighbourhood is the cross-polytope with the 2m vertices x ± r vᵢ (i = 1 … m), v an
/// orthonormal set of m directions in the input space (random: the Q of a seeded Gaussian d × m
/// matrix; or the first m coordinate axes); their defaults are 2m = 40 vertices and r = 0.005.
/// Every vertex goes through the network in one forward pass, and a neuron counts at x when its
/// pre-activation takes both signs over the vertices (strictly: min < 0 < max). For the first
/// layer, whose pre-activation is affine in the input, this is exact: neuron j with w_j·x + b_j = z
/// counts iff |z| < r maxᵢ |w_j·vᵢ|. Deeper layers are tested on the vertices as the authors do.
///
/// The neurons are those at the capture sites `<name>.hook_pre` whose `<name>.hook_post` the model
/// also captures (an Mlp's hidden layers; a transformer's MLP needs token inputs, which have no
/// neighbourhood: only dense inputs are accepted). Forward only: 2m forward rows per input.

#include <grokscope/core/check.hpp>
#include <grokscope/core/rng.hpp>
#include <grokscope/core/types.hpp>
#include <grokscope/nn/capture.hpp>
#include <grokscope/nn/model.hpp>

#include <Eigen/Core>
#include <Eigen/QR>

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace grokscope {

/// Settings of local_complexity.
struct LocalComplexityOptions {
  Index vertices = 40;           ///< 2m: an even number, m ≤ the input width
  double radius = 0.005;         ///< r
  bool axis_directions = false;  ///< vᵢ = eᵢ (the first m axes) instead of random orthonormal ones
  std::uint64_t seed = 0;        ///< the random directions (one draw for all inputs)
  Index chunk = 256;             ///< inputs per forward pass (each one 2m rows)
};

/// Local complexity per input and per layer (see the file comment).
struct LocalComplexity {
  double mean = 0;                                        ///< mean over the inputs of the neurons counted
  Eigen::VectorXd per_example;                            ///< neurons counted at each input (all layers)
  std::vector<std::pair<std::string, double>> per_layer;  ///< mean over the inputs, per hook_pre site
  Index neurons = 0;                                      ///< the neurons tested (all layers)
};

/// Local complexity of `model` at the rows of X (n × d, dense inputs). Throws
/// std::invalid_argument for empty or non-finite X, an odd or too large vertex count, a radius ≤ 0
/// or a model without hidden pre-activation sites.
template <typename S>
LocalComplexity local_complexity(Model<S>& model, const Eigen::MatrixXd& X, const LocalComplexityOptions& o = {}) {
  const char* where = "local_complexity";
  require(X.rows() > 0 && X.cols() > 0, where, "X is empty");
  require(X.allFinite(), where, "X has a NaN or Inf entry");
  require(o.vertices >= 2 && o.vertices % 2 == 0, where,
          "vertices must be an even number >= 2, got " + std::to_string(o.vertices));
  const Index m = o.vertices / 2, d = X.cols();
  require(m <= d, where,
          std::to_string(o.vertices) + " vertices need " + std::to_string(m) +
              " orthogonal directions but the input has " + std::to_string(d) + " dimensions");
  require(o.radius > 0 && std::isfinite(o.radius), where, "radius must be finite and > 0");
  require(o.chunk >= 1, where, "chunk must be >= 1");
  std::vector<std::string> sites;
  const std::vector<std::string> all = model.capture_sites();
  for (const std::string& s : all) {
    const std::string suffix = ".hook_pre";
    if (s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0) {
      const std::string post = s.substr(0, s.size() - suffix.size()) + ".hook_post";
      if (std::find(all.begin(), all.end(), post) != all.end()) sites.push_back(s);
    }
  }
  require(!sites.empty(), where, "the model has no hidden pre-activation site (<layer>.hook_pre with a hook_post)");

  Eigen::MatrixXd V(d, m);  // the directions, as columns
  if (o.axis_directions) {
    V.setZero();
    for (Index i = 0; i < m; ++i) V(i, i) = 1;
  } else {
    Rng rng(o.seed);
    const Eigen::MatrixXd G = rng.normal_matrix<double>(d, m);
    V = Eigen::HouseholderQR<Eigen::MatrixXd>(G).householderQ() * Eigen::MatrixXd::Identity(d, m);
  }
  const Eigen::MatrixXd offsets = o.radius * V.transpose();  // row k: r·v_k
  const Index n = X.rows(), P = 2 * m;
  LocalComplexity r;
  r.per_example.setZero(n);
  std::vector<double> layer_sum(sites.size(), 0.0);
  CaptureFilter keep;
  keep.names = sites;
  ModelInput<S> in;
  for (Index a = 0; a < n; a += o.chunk) {
    const Index b = std::min(n, a + o.chunk);
    in.x.resize((b - a) * P, d);
    for (Index i = a; i < b; ++i)
      for (Index k = 0; k < m; ++k) {
        in.x.row((i - a) * P + 2 * k) = (X.row(i) + offsets.row(k)).template cast<S>();
        in.x.row((i - a) * P + 2 * k + 1) = (X.row(i) - offsets.row(k)).template cast<S>();
      }
    const ActivationCache<S> cache = model.run_with_cache(in, keep);
    for (std::size_t s = 0; s < sites.size(); ++s) {
      const Matrix<S>& H = cache.at(sites[s]);
      if (a == 0) r.neurons += H.cols();
      for (Index i = a; i < b; ++i) {
        const auto block = H.middleRows((i - a) * P, P);
        const Index count =
            ((block.colwise().minCoeff().array() < S(0)) && (block.colwise().maxCoeff().array() > S(0))).count();
        r.per_example(i) += static_cast<double>(count);
        layer_sum[s] += static_cast<double>(count);
      }
    }
  }
  r.mean = r.per_example.mean();
  for (std::size_t s = 0; s < sites.size(); ++s)
    r.per_layer.emplace_back(sites[s], layer_sum[s] / static_cast<double>(n));
  return r;
}

}  // namespace grokscope
