// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Singular-value spectra of weight matrices, per matrix and per attention head, and the
/// summaries grokking analyses track over training (the collapse of W_E's and W_U's spectra
/// during clean-up, Nanda et al. 2023; the low-rank bias under weight decay). For singular values
/// σ₁ ≥ … ≥ σ_r ≥ 0 of W (r = min(rows, cols)):
///   spectral_norm        σ₁ = ‖W‖₂
///   frobenius_norm       ‖W‖_F = √Σσᵢ²
///   stable_rank          ‖W‖_F² / ‖W‖₂² = Σσᵢ² / σ₁²                      (1 ≤ · ≤ r)
///   effective_rank       exp(−Σ pᵢ ln pᵢ) with pᵢ = σᵢ / Σσⱼ (Roy & Vetterli 2007)   (1 ≤ · ≤ r)
///   participation_ratio  (Σλᵢ)² / Σλᵢ² of the eigenvalues λᵢ = σᵢ² of WᵀW   (1 ≤ · ≤ r)
/// All three ranks are r for a matrix with equal singular values and 1 for a rank-one matrix; a
/// zero matrix has 0 for each. The SVD is Eigen's BDCSVD in double.

#include <grokscope/core/check.hpp>
#include <grokscope/core/config.hpp>
#include <grokscope/core/types.hpp>
#include <grokscope/nn/model.hpp>

#include <Eigen/Core>

#include <string>
#include <utility>
#include <vector>

namespace grokscope {

/// The singular values of one matrix and their summaries (see the file comment).
struct MatrixSpectrum {
  std::string name;                 ///< parameter name, with ".head<h>" for one attention head
  Eigen::VectorXd singular_values;  ///< descending
  double spectral_norm = 0;
  double frobenius_norm = 0;
  double stable_rank = 0;
  double effective_rank = 0;
  double participation_ratio = 0;
};

namespace detail {
// A template so that header-only code pays for Eigen's BDCSVD (about 20 s of GCC's time) only in
// a translation unit that computes a spectrum; compiled mode has the double instance in the
// library.
template <typename S>
MatrixSpectrum matrix_spectrum(const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>& W, std::string name);
}  // namespace detail

/// The spectrum of W (any shape with at least one entry; every entry finite), computed in double.
template <typename Derived>
MatrixSpectrum matrix_spectrum(const Eigen::MatrixBase<Derived>& W, std::string name = "") {
  return detail::matrix_spectrum<double>(W.template cast<double>().eval(), std::move(name));
}

#if defined(GROKSCOPE_COMPILED)
extern template MatrixSpectrum detail::matrix_spectrum<double>(const Eigen::MatrixXd&, std::string);
#endif

/// Options of parameter_spectra.
struct SpectraOptions {
  /// Split the attention projections into heads: rows of blocks.<l>.attn.W_Q / W_K / W_V
  /// (H·d_head, d_model) and columns of W_O (d_model, H·d_head) in blocks of d_head, as the
  /// Transformer stores them. 0 or 1: no split.
  Index heads = 0;
  /// Only these parameters (exact names); empty: every parameter with at least two rows and two
  /// columns.
  std::vector<std::string> names;
};

/// The spectra of a model's weight matrices (and of each head, when options.heads > 1: the whole
/// matrix first, then its heads).
template <typename S>
std::vector<MatrixSpectrum> parameter_spectra(const std::vector<Parameter<S>*>& params,
                                              const SpectraOptions& options = {}) {
  require(options.heads >= 0, "parameter_spectra", "heads must be >= 0, got " + std::to_string(options.heads));
  for (const std::string& n : options.names) {
    bool found = false;
    for (const Parameter<S>* p : params) found = found || p->name == n;
    require(found, "parameter_spectra", "the model has no parameter '" + n + "'");
  }
  std::vector<MatrixSpectrum> out;
  for (const Parameter<S>* p : params) {
    bool chosen = false;
    if (options.names.empty())
      chosen = p->rows() > 1 && p->cols() > 1;
    else
      for (const std::string& n : options.names) chosen = chosen || p->name == n;
    if (!chosen) continue;
    const Eigen::MatrixXd W = p->value.template cast<double>();
    out.push_back(matrix_spectrum(W, p->name));
    const auto ends_with = [&](const char* tail) {
      const std::string t(tail);
      return p->name.size() >= t.size() && p->name.compare(p->name.size() - t.size(), t.size(), t) == 0;
    };
    const bool by_rows = ends_with(".attn.W_Q") || ends_with(".attn.W_K") || ends_with(".attn.W_V");
    const bool by_cols = ends_with(".attn.W_O");
    const Index H = options.heads;
    if (H > 1 && (by_rows || by_cols)) {
      const Index width = by_rows ? W.rows() : W.cols();
      require(width % H == 0, "parameter_spectra",
              "'" + p->name + "' has " + std::to_string(width) + (by_rows ? " rows" : " columns") +
                  ", not a multiple of " + std::to_string(H) + " heads");
      const Index d = width / H;
      for (Index h = 0; h < H; ++h)
        out.push_back(
            matrix_spectrum(by_rows ? Eigen::MatrixXd(W.middleRows(h * d, d)) : Eigen::MatrixXd(W.middleCols(h * d, d)),
                            p->name + ".head" + std::to_string(h)));
    }
  }
  return out;
}

}  // namespace grokscope

#if GROKSCOPE_HEADER_ONLY
#include <grokscope/measure/detail/spectra-inl.hpp>
#endif
