// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Definitions of the functions declared in <grokscope/measure/spectra.hpp>: included by it in
/// header-only mode, compiled once into grokscope::compiled otherwise (core/config.hpp; the
/// template is instantiated there for double).

#include <grokscope/measure/spectra.hpp>

#if defined(GROKSCOPE_COMPILED) && !defined(GROKSCOPE_BUILDING_LIBRARY)
#error "grokscope: in compiled mode these definitions are in the library; include the header without -inl"
#endif

#include <Eigen/SVD>

#include <cmath>

namespace grokscope {

template <typename S>
MatrixSpectrum detail::matrix_spectrum(const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>& W, std::string name) {
  const std::string where = name.empty() ? "matrix_spectrum" : "matrix_spectrum(" + name + ")";
  require(W.size() > 0, where,
          "the matrix is empty (" + std::to_string(W.rows()) + "x" + std::to_string(W.cols()) + ")");
  for (Index j = 0; j < W.cols(); ++j)
    for (Index i = 0; i < W.rows(); ++i)
      if (!std::isfinite(W(i, j)))  // the message is built only for the entry that fails
        throw_invalid(where,
                      "entry (" + std::to_string(i) + ", " + std::to_string(j) + ") is " + std::to_string(W(i, j)));
  MatrixSpectrum s;
  s.name = std::move(name);
  // Scale by a power of two so that squares neither overflow nor underflow; exact, undone below.
  const double mx = W.cwiseAbs().maxCoeff();
  int e = 0;
  if (mx > 0) std::frexp(mx, &e);
  // in two halves: 2^−e alone overflows for a subnormal maximum (1e-310: e = −1029)
  const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> Ws =
      std::ldexp(S(1), -e / 2) * (std::ldexp(S(1), -e + e / 2) * W);
  Eigen::BDCSVD<Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>> svd(Ws);
  const Eigen::VectorXd sv = svd.singularValues().template cast<double>().cwiseMax(0.0);  // descending
  s.singular_values = sv.unaryExpr([e](double x) { return std::ldexp(x, e); });  // 2^e alone overflows for e = 1024
  const double sum = sv.sum(), sq = sv.squaredNorm(), q = sv.array().pow(4).sum();
  if (!(sum > 0)) return s;  // zero matrix: every summary 0
  s.spectral_norm = std::ldexp(sv(0), e);
  s.frobenius_norm = std::ldexp(std::sqrt(sq), e);
  s.stable_rank = sq / (sv(0) * sv(0));
  double h = 0;
  for (Index i = 0; i < sv.size(); ++i)
    if (sv(i) > 0) h -= (sv(i) / sum) * std::log(sv(i) / sum);
  s.effective_rank = std::exp(h);
  s.participation_ratio = q > 0 ? sq * sq / q : 1.0;
  return s;
}

}  // namespace grokscope
