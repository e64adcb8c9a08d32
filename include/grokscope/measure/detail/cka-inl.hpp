// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Definitions of the non-template functions declared in <grokscope/measure/cka.hpp>: included by it in
/// header-only mode, compiled once into grokscope::compiled otherwise (core/config.hpp).

#include <grokscope/measure/cka.hpp>

#if defined(GROKSCOPE_COMPILED) && !defined(GROKSCOPE_BUILDING_LIBRARY)
#error "grokscope: in compiled mode these definitions are in the library; include the header without -inl"
#endif

namespace grokscope {

GROKSCOPE_DEFERRED_DEF const char* cka_kind_name(CkaKind k) {
  switch (k) {
    case CkaKind::Linear:
      return "linear";
    case CkaKind::Rbf:
      return "rbf";
    case CkaKind::DebiasedLinear:
      return "debiased";
  }
  return "?";
}

}  // namespace grokscope

namespace grokscope::detail {

GROKSCOPE_DEFERRED_DEF double sym_squared_norm(const Eigen::MatrixXd& G) {
  double s = 0;
  for (Index j = 0; j < G.cols(); ++j) {
    s += G(j, j) * G(j, j);
    s += 2.0 * G.col(j).tail(G.rows() - j - 1).squaredNorm();
  }
  return s;
}

GROKSCOPE_DEFERRED_DEF void check_pair(const char* where, Index nx, Index ny, Index cols_x, Index cols_y) {
  require(nx == ny, where,
          "X has " + std::to_string(nx) + " rows but Y has " + std::to_string(ny) + " (rows are examples)");
  require(nx >= 2, where, "need at least 2 examples, got " + std::to_string(nx));
  require(cols_x >= 1 && cols_y >= 1, where, "representations must have at least one feature");
}

GROKSCOPE_DEFERRED_DEF CkaResult cka_from(double xy, double xx, double yy, CkaKind kind, CkaMethod method, Index n) {
  CkaResult r;
  r.kind = kind, r.method = method, r.n = n;
  const double tiny = 1e-300;
  if (!(xx > tiny) || !(yy > tiny)) {
    r.defined = false;
    r.value = 0;
    r.note = std::string(!(xx > tiny) ? "X" : "Y") + " is constant across examples: CKA is undefined (reported as 0)";
    return r;
  }
  r.value = xy / std::sqrt(xx * yy);
  return r;
}

GROKSCOPE_DEFERRED_DEF Eigen::MatrixXd u_center(Eigen::MatrixXd G) {
  const Index n = G.rows();
  G.diagonal().setZero();
  Eigen::VectorXd means = G.colwise().sum().transpose() / static_cast<double>(n - 2);
  means.array() -= means.sum() / (2.0 * static_cast<double>(n - 1));
  G.colwise() -= means;
  G.rowwise() -= means.transpose();
  G.diagonal().setZero();
  return G;
}

GROKSCOPE_DEFERRED_DEF Eigen::MatrixXd double_center(Eigen::MatrixXd G) {
  Eigen::VectorXd means = G.colwise().mean().transpose();
  means.array() -= means.mean() / 2;
  G.colwise() -= means;
  G.rowwise() -= means.transpose();
  return G;
}

}  // namespace grokscope::detail

namespace grokscope {

GROKSCOPE_DEFERRED_DEF Eigen::MatrixXd center_gram(const Eigen::MatrixXd& K) {
  require(K.rows() == K.cols(), "center_gram", "K is " + shape_string(K) + ", not square");
  return detail::double_center(K);
}

GROKSCOPE_DEFERRED_DEF CkaResult cka_from_grams(const Eigen::MatrixXd& K, const Eigen::MatrixXd& L, bool debiased,
                                                CkaKind kind) {
  require(K.rows() == K.cols() && L.rows() == L.cols() && K.rows() == L.rows(), "cka_from_grams",
          "K is " + shape_string(K) + " and L is " + shape_string(L) + " (expected equal square matrices)");
  require(K.rows() >= (debiased ? 4 : 2), "cka_from_grams",
          std::string("need at least ") + (debiased ? "4" : "2") + " examples, got " + std::to_string(K.rows()));
  detail::require_finite_rep("cka_from_grams", "K", K);
  detail::require_finite_rep("cka_from_grams", "L", L);
  // Unit-scaled (by powers of two, exactly) before the products: ‖K‖² cannot overflow.
  const double sk = detail::unit_scale(detail::max_abs_of(K)), sl = detail::unit_scale(detail::max_abs_of(L));
  const Eigen::MatrixXd Kc = debiased ? detail::u_center(K * sk) : detail::double_center(K * sk);
  const Eigen::MatrixXd Lc = debiased ? detail::u_center(L * sl) : detail::double_center(L * sl);
  // A constant kernel centres to rounding noise: measured against the kernel's own size.
  auto self = [](const Eigen::MatrixXd& C, const Eigen::MatrixXd& G, double sg) {
    const double c = C.squaredNorm();
    return c <= 1e-24 * (G * sg).squaredNorm() ? 0.0 : c;
  };
  return detail::cka_from(Kc.cwiseProduct(Lc).sum(), self(Kc, K, sk), self(Lc, L, sl),
                          debiased && kind == CkaKind::Linear ? CkaKind::DebiasedLinear : kind, CkaMethod::Gram,
                          K.rows());
}

GROKSCOPE_DEFERRED_DEF Eigen::MatrixXd cka_matrix(const std::vector<Eigen::MatrixXd>& As,
                                                  const std::vector<Eigen::MatrixXd>& Bs, CkaKind kind,
                                                  double threshold) {
  require(!As.empty() && !Bs.empty(), "cka_matrix", "empty list of representations");
  Eigen::MatrixXd M(static_cast<Index>(As.size()), static_cast<Index>(Bs.size()));
  for (std::size_t i = 0; i < As.size(); ++i)
    for (std::size_t j = 0; j < Bs.size(); ++j)
      M(static_cast<Index>(i), static_cast<Index>(j)) = cka(As[i], Bs[j], kind, threshold).value;
  return M;
}

}  // namespace grokscope
