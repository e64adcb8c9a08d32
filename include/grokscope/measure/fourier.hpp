// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Progress measures for modular arithmetic: Nanda et al.'s (2023) Fourier basis over Z_p,
/// 2-D DFT over the (a, b) input grid, restricted and excluded losses, key frequencies; the Gini
/// coefficient (Hurley & Rickard 2009); Gromov's (2023) inverse participation ratio; and Liu et
/// al.'s (2022) representation quality index (RQI).
///
/// Logits or activations over the whole grid are (p², c) matrices with row a·p + b (the order of
/// modular_dataset). Basis (rows orthonormal): F₀ = 1/√p, F_{2k−1} ∝ cos(2πk x/p),
/// F_{2k} ∝ sin(2πk x/p), k = 1..(p−1)/2 (p odd).

#include <grokscope/core/check.hpp>
#include <grokscope/core/config.hpp>
#include <grokscope/core/types.hpp>

#include <unsupported/Eigen/FFT>

#include <algorithm>
#include <cmath>
#include <complex>
#include <set>
#include <string>
#include <vector>

namespace grokscope {

/// Nanda et al.'s Fourier basis over Z_p (p odd ≥ 3): a p × p matrix with orthonormal rows.
GROKSCOPE_DEFERRED Eigen::MatrixXd fourier_basis(Index p);

namespace detail {
GROKSCOPE_DEFERRED Index grid_p(const char* where, Index rows);
}  // namespace detail

/// 2-D DFT over the input grid: out[(f·p + g), c] = Σ_{a,b} F_f[a] F_g[b] L[(a·p + b), c].
GROKSCOPE_DEFERRED Eigen::MatrixXd fourier_2d(const Eigen::MatrixXd& L);

/// Projection of grid logits onto the directions cos(w_k(a + b)) and sin(w_k(a + b)) for the
/// frequencies in `freqs` (Nanda et al.'s P_K), per output column.
GROKSCOPE_DEFERRED Eigen::MatrixXd project_frequencies(const Eigen::MatrixXd& L, const std::vector<Index>& freqs);

namespace detail {
GROKSCOPE_DEFERRED double grid_cross_entropy(const Eigen::MatrixXd& L, const IndexList& labels, const IndexList& rows);
}  // namespace detail

/// Restricted loss (Nanda et al. §5.1): cross-entropy on `rows` of P_K(L) + the grid mean of L.
GROKSCOPE_DEFERRED double restricted_loss(const Eigen::MatrixXd& L, const IndexList& labels,
                                          const std::vector<Index>& key_freqs, const IndexList& rows);

/// Excluded loss (Nanda et al. §5.1): cross-entropy on `rows` of L − P_K(L) (usually the training rows).
GROKSCOPE_DEFERRED double excluded_loss(const Eigen::MatrixXd& L, const IndexList& labels,
                                        const std::vector<Index>& excluded, const IndexList& rows);

/// Key frequencies of neuron activations over the grid (Nanda et al.'s code): each neuron's
/// activations are centred over inputs, 2-D DFT'd, and assigned the frequency k in 1..(p−1)/2
/// whose 3 × 3 block {const, cos_k, sin_k}² holds the largest share of the squared mass.
struct KeyFrequencies {
  std::vector<Index> frequencies;  ///< distinct frequencies, ascending
  IndexList neuron_frequency;      ///< per neuron
  Eigen::VectorXd explained;       ///< per neuron: share of squared mass in its block
};

GROKSCOPE_DEFERRED KeyFrequencies key_frequencies(const Eigen::MatrixXd& activations);

/// Norms of the Fourier components of a matrix indexed by residues along its rows (p × m with p
/// odd, e.g. the token columns of an embedding transposed, or the unembedding to p classes):
/// ‖(F M)_f‖ for each basis row f = const, cos₁, sin₁, …. With `per_frequency`, the (p+1)/2 values
/// ‖const‖, √(‖cos_k‖² + ‖sin_k‖²). Parseval: the squares sum to ‖M‖²_F either way.
GROKSCOPE_DEFERRED Eigen::VectorXd fourier_component_norms(const Eigen::MatrixXd& M, bool per_frequency = false);

/// Gini coefficient of non-negative values Σᵢ Σⱼ |cᵢ − cⱼ| / (2 n Σ c): 0 when equal, → 1 when
/// concentrated in one entry (Hurley & Rickard 2009). 0 for an all-zero input.
GROKSCOPE_DEFERRED double gini(const Eigen::VectorXd& c);

/// Gromov's inverse participation ratio of a weight vector: ν = |rFFT(w)|,
/// IPR_r = Σₖ (νₖ/‖ν‖₂)^{2r} (r = 2 by default): 1/K for K equal peaks, → 1 for one frequency.
GROKSCOPE_DEFERRED double inverse_participation_ratio(const Eigen::VectorXd& w, int r = 2);

/// Liu et al.'s representation quality index for addition: with embeddings E (m values × dims)
/// standardised per dimension (unbiased std), the share of the quadruples i < j ≤ k < l with
/// i + l = j + k whose mean squared (Ẽᵢ + Ẽₗ − Ẽⱼ − Ẽₖ) is below `threshold` (0.01 in their code).
GROKSCOPE_DEFERRED double representation_quality_index(const Eigen::MatrixXd& E, double threshold = 0.01);

}  // namespace grokscope

#if GROKSCOPE_HEADER_ONLY
#include <grokscope/measure/detail/fourier-inl.hpp>
#endif
