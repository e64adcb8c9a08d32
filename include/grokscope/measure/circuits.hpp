// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Mechanistic analyses of a transformer from its captured activations (run_with_cache),
/// as in Nanda et al. (2023) and TransformerLens:
///
/// - logit lens: a residual-stream site read out through the final layer norm (pre-LN models) and
///   the unembedding, at the final position;
/// - direct logit attribution: the final residual stream at the final position is the sum of the
///   embedding, the positional embedding and every block's attention and MLP outputs; each one's
///   contribution to the correct logit, α (c − mean(c)) / σ ⊙ γ · W_U[:, y] with the final layer
///   norm's scale σ frozen (pre-LN) or c · W_U[:, y] (no layer norm), sums with the bias terms to
///   the model's logit exactly;
/// - the 2-D Fourier spectrum of values over the (a, b) grid (neuron activations, attention
///   patterns): the share of each pair of frequencies (k_a, k_b);
/// - neuron clusters: neurons grouped by their key frequency, with the share of the MLP's
///   variance that each neuron's own frequency block explains (Nanda et al. §5.2).
///
/// Grid values are (p², m) with row a·p + b, as in measure/fourier.hpp.

#include <grokscope/core/check.hpp>
#include <grokscope/core/config.hpp>
#include <grokscope/core/types.hpp>
#include <grokscope/measure/fourier.hpp>
#include <grokscope/nn/capture.hpp>
#include <grokscope/nn/transformer.hpp>

#include <cmath>
#include <string>
#include <vector>

namespace grokscope {

namespace detail {
// The rows of the final position: every T-th row of an (n·T, d) site, or the site itself (n, d).
template <typename S>
Eigen::MatrixXd final_position_rows(const Matrix<S>& v, Index n, Index T, const std::string& site) {
  if (v.rows() == n) return v.template cast<double>();
  if (T < 1 || v.rows() != n * T)
    throw_invalid("circuits", "'" + site + "' has " + std::to_string(v.rows()) + " rows; expected " +
                                  std::to_string(n) + " or " + std::to_string(n * T));
  Eigen::MatrixXd out(n, v.cols());
  for (Index i = 0; i < n; ++i) out.row(i) = v.row(i * T + T - 1).template cast<double>();
  return out;
}

template <typename S>
void require_readable(Transformer<S>& model, const char* where) {
  const TransformerConfig& c = model.transformer_config();
  if (c.layer_norm == LayerNormPlacement::Post)
    throw_invalid(where,
                  "a post-LN transformer's residual stream is normalised after every block: it is not a sum "
                  "of the components' outputs");
  if (c.centered) throw_invalid(where, "a centered model's logits subtract f(θ₀): read its uncentered copy instead");
}

// The final layer norm (pre-LN) of residual rows X: the normalised rows and each row's scale σ.
inline Eigen::MatrixXd final_norm(const Eigen::MatrixXd& X, const Eigen::RowVectorXd& gamma,
                                  const Eigen::RowVectorXd& beta, Eigen::VectorXd& sigma) {
  const Eigen::VectorXd mu = X.rowwise().mean();
  const Eigen::MatrixXd C = X.colwise() - mu;
  sigma = (C.rowwise().squaredNorm() / static_cast<double>(X.cols())).array().unaryExpr([](double v) {
    return std::sqrt(v + 1e-5);  // layer_norm's eps
  });
  Eigen::MatrixXd Y = C.array().colwise() / sigma.array();
  Y = (Y.array().rowwise() * gamma.array()).rowwise() + beta.array();
  return Y;
}
}  // namespace detail

/// Logit lens: the residual-stream site `site` of a cache (hook_resid_pre / mid / post of any
/// block, or hook_embed) at the final position, through the final layer norm (pre-LN), W_U, b_U
/// and the output scale: (n, outputs). At the last block's hook_resid_post it is hook_logits.
template <typename S>
Eigen::MatrixXd logit_lens(Transformer<S>& model, const ActivationCache<S>& cache, const std::string& site) {
  const char* where = "logit_lens";
  detail::require_readable(model, where);
  const Index n = cache.examples, T = cache.context;
  Eigen::MatrixXd X = detail::final_position_rows(cache.at(site), n, T, site);
  const Eigen::MatrixXd W_U = model.parameter("unembed.W_U").value.template cast<double>();
  if (X.cols() != W_U.rows())
    throw_invalid(where, "'" + site + "' has " + std::to_string(X.cols()) + " columns, not d_model = " +
                             std::to_string(W_U.rows()) + ": it is not on the residual stream");
  const TransformerConfig& c = model.transformer_config();
  if (c.layer_norm == LayerNormPlacement::Pre) {
    Eigen::VectorXd sigma;
    X = detail::final_norm(X, model.parameter("ln_final.w").value.template cast<double>(),
                           model.parameter("ln_final.b").value.template cast<double>(), sigma);
  }
  Eigen::MatrixXd L = X * W_U;
  if (c.unembed_bias) L.rowwise() += Eigen::RowVectorXd(model.parameter("unembed.b_U").value.template cast<double>());
  return c.output_scale * L;
}

/// Direct logit attribution at the final position.
struct LogitAttribution {
  std::vector<std::string> components;  ///< "embed", "pos_embed", "blocks.<l>.attn", "blocks.<l>.mlp", "bias"
  Eigen::MatrixXd contributions;        ///< (n, components): each one's share of the logit of `labels`
  Eigen::VectorXd logit;                ///< (n): their sum, the model's logit of the label
};

/// Direct logit attribution of the logit of `labels` (one class per example) from a cache holding
/// hook_embed, hook_pos_embed and every block's hook_attn_out and hook_mlp_out (run_with_cache
/// with the default filter keeps them). "bias" holds b_U and, for pre-LN models, the final layer
/// norm's β. Exact: the contributions sum to the logit (tested against hook_logits).
template <typename S>
LogitAttribution direct_logit_attribution(Transformer<S>& model, const ActivationCache<S>& cache,
                                          const IndexList& labels) {
  const char* where = "direct_logit_attribution";
  detail::require_readable(model, where);
  const Index n = cache.examples, T = cache.context;
  if (static_cast<Index>(labels.size()) != n)
    throw_invalid(where, std::to_string(labels.size()) + " labels for " + std::to_string(n) + " examples");
  const TransformerConfig& c = model.transformer_config();
  const Eigen::MatrixXd W_U = model.parameter("unembed.W_U").value.template cast<double>();
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0 || labels[i] >= W_U.cols())
      throw_invalid(where, "label " + std::to_string(labels[i]) + " at " + std::to_string(i) +
                               " is not an output in [0, " + std::to_string(W_U.cols()) + ")");
  LogitAttribution r;
  std::vector<Eigen::MatrixXd> parts;
  const auto take = [&](const std::string& name, const std::string& site) {
    r.components.push_back(name);
    parts.push_back(detail::final_position_rows(cache.at(site), n, T, site));
    if (parts.back().cols() != W_U.rows())  // a cache of another model: refused before any product
      throw_invalid(where, "the cache's " + site + " has width " + std::to_string(parts.back().cols()) +
                               " but the model's unembed.W_U has d_model " + std::to_string(W_U.rows()) +
                               " (is the cache from another model?)");
  };
  take("embed", "hook_embed");
  take("pos_embed", "hook_pos_embed");
  for (Index l = 0; l < c.layers; ++l) {
    const std::string b = "blocks." + std::to_string(l);
    take(b + ".attn", b + ".hook_attn_out");
    take(b + ".mlp", b + ".hook_mlp_out");
  }
  Eigen::MatrixXd resid = Eigen::MatrixXd::Zero(n, W_U.rows());
  for (const Eigen::MatrixXd& P : parts) resid += P;
  Eigen::VectorXd sigma = Eigen::VectorXd::Ones(n);
  Eigen::RowVectorXd gamma = Eigen::RowVectorXd::Ones(W_U.rows()), beta = Eigen::RowVectorXd::Zero(W_U.rows());
  const bool pre = c.layer_norm == LayerNormPlacement::Pre;
  if (pre) {
    gamma = model.parameter("ln_final.w").value.template cast<double>();
    beta = model.parameter("ln_final.b").value.template cast<double>();
    detail::final_norm(resid, gamma, beta, sigma);
  }
  const Index k = static_cast<Index>(parts.size());
  r.contributions.resize(n, k + 1);
  for (Index i = 0; i < n; ++i) {
    const Eigen::VectorXd u = gamma.transpose().cwiseProduct(W_U.col(labels[static_cast<std::size_t>(i)]));
    for (Index j = 0; j < k; ++j) {
      Eigen::RowVectorXd v = parts[static_cast<std::size_t>(j)].row(i);
      if (pre) v.array() -= v.mean();  // LN's centring is linear: each component loses its own mean
      r.contributions(i, j) = c.output_scale * v.dot(u) / sigma(i);
    }
    double bias = pre ? beta.dot(W_U.col(labels[static_cast<std::size_t>(i)])) : 0.0;
    if (c.unembed_bias)
      bias += static_cast<double>(model.parameter("unembed.b_U").value(0, labels[static_cast<std::size_t>(i)]));
    r.contributions(i, k) = c.output_scale * bias;
  }
  r.components.push_back("bias");
  r.logit = r.contributions.rowwise().sum();
  return r;
}

/// The 2-D Fourier spectrum of values over the (a, b) grid, centred over the grid and summed over
/// columns: share(k_a, k_b) of the squared mass in the basis terms of frequency k_a along a and
/// k_b along b (0 = constant), (p+1)/2 × (p+1)/2, summing to 1 (0 everywhere for constant values).
struct GridSpectrum {
  Eigen::MatrixXd share;
  Index dominant_a = 0, dominant_b = 0;  ///< the largest entry
  double dominant_share = 0;
  Eigen::VectorXd per_frequency;  ///< k = 0..(p−1)/2: the share of terms involving k along a or b (k = 0: none)
};

GROKSCOPE_DEFERRED GridSpectrum grid_spectrum(const Eigen::MatrixXd& values);

/// Neurons grouped by key frequency (measure/fourier.hpp's key_frequencies), largest group first.
struct NeuronClusters {
  std::vector<Index> frequencies;  ///< one per cluster
  std::vector<IndexList> neurons;  ///< the neurons of each cluster
  std::vector<double> explained;   ///< per cluster: mean share of its neurons' mass in their block
  double fraction_explained = 0;   ///< share of the whole layer's centred mass in each neuron's block
};

GROKSCOPE_DEFERRED NeuronClusters neuron_clusters(const Eigen::MatrixXd& activations);

}  // namespace grokscope

#if GROKSCOPE_HEADER_ONLY
#include <grokscope/measure/detail/circuits-inl.hpp>
#endif
