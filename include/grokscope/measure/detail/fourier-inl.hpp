// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Definitions of the non-template functions declared in <grokscope/measure/fourier.hpp>: included by it in
/// header-only mode, compiled once into grokscope::compiled otherwise (core/config.hpp).

#include <grokscope/measure/fourier.hpp>

#if defined(GROKSCOPE_COMPILED) && !defined(GROKSCOPE_BUILDING_LIBRARY)
#error "grokscope: in compiled mode these definitions are in the library; include the header without -inl"
#endif

namespace grokscope {

GROKSCOPE_DEFERRED_DEF Eigen::MatrixXd fourier_basis(Index p) {
  require(p >= 3 && p % 2 == 1, "fourier_basis", "p must be odd and >= 3, got " + std::to_string(p));
  Eigen::MatrixXd F(p, p);
  const double pi = 3.14159265358979323846;
  F.row(0).setConstant(1.0 / std::sqrt(static_cast<double>(p)));
  for (Index k = 1; k <= (p - 1) / 2; ++k)
    for (Index x = 0; x < p; ++x) {
      F(2 * k - 1, x) = std::cos(2 * pi * static_cast<double>(k * x) / static_cast<double>(p));
      F(2 * k, x) = std::sin(2 * pi * static_cast<double>(k * x) / static_cast<double>(p));
    }
  for (Index r = 1; r < p; ++r) F.row(r).normalize();
  return F;
}

}  // namespace grokscope

namespace grokscope::detail {

GROKSCOPE_DEFERRED_DEF Index grid_p(const char* where, Index rows) {
  const Index p = static_cast<Index>(std::llround(std::sqrt(static_cast<double>(rows))));
  require(p * p == rows && p >= 3 && p % 2 == 1, where,
          "expected p² rows over the (a, b) grid with p odd, got " + std::to_string(rows) + " rows");
  return p;
}

}  // namespace grokscope::detail

namespace grokscope {

GROKSCOPE_DEFERRED_DEF Eigen::MatrixXd fourier_2d(const Eigen::MatrixXd& L) {
  const Index p = detail::grid_p("fourier_2d", L.rows());
  const Eigen::MatrixXd F = fourier_basis(p);
  Eigen::MatrixXd out(L.rows(), L.cols());
  Eigen::MatrixXd G(p, p);
  for (Index c = 0; c < L.cols(); ++c) {
    for (Index a = 0; a < p; ++a) G.row(a) = L.col(c).segment(a * p, p).transpose();
    const Eigen::MatrixXd H = F * G * F.transpose();
    for (Index f = 0; f < p; ++f) out.col(c).segment(f * p, p) = H.row(f).transpose();
  }
  return out;
}

GROKSCOPE_DEFERRED_DEF Eigen::MatrixXd project_frequencies(const Eigen::MatrixXd& L, const std::vector<Index>& freqs) {
  const Index p = detail::grid_p("project_frequencies", L.rows());
  const Eigen::MatrixXd F = fourier_basis(p);
  Eigen::MatrixXd P = Eigen::MatrixXd::Zero(L.rows(), L.cols());
  for (Index k : freqs) {
    if (!(k >= 1 && k <= (p - 1) / 2))
      throw_invalid("project_frequencies",
                    "frequency " + std::to_string(k) + " outside [1, " + std::to_string((p - 1) / 2) + "]");
    Eigen::VectorXd uc(p * p), us(p * p);
    for (Index a = 0; a < p; ++a)
      for (Index b = 0; b < p; ++b) {
        uc(a * p + b) = (F(2 * k - 1, a) * F(2 * k - 1, b) - F(2 * k, a) * F(2 * k, b)) / std::sqrt(2.0);
        us(a * p + b) = (F(2 * k, a) * F(2 * k - 1, b) + F(2 * k - 1, a) * F(2 * k, b)) / std::sqrt(2.0);
      }
    P += uc * (uc.transpose() * L) + us * (us.transpose() * L);
  }
  return P;
}

}  // namespace grokscope

namespace grokscope::detail {

GROKSCOPE_DEFERRED_DEF double grid_cross_entropy(const Eigen::MatrixXd& L, const IndexList& labels,
                                                 const IndexList& rows) {
  require(static_cast<Index>(labels.size()) == L.rows(), "cross_entropy", "one label per grid row needed");
  require(!rows.empty(), "cross_entropy", "no rows to evaluate");
  double total = 0;
  for (Index r : rows) {
    require(r >= 0 && r < L.rows(), "cross_entropy", "row out of range");
    const auto row = L.row(r);
    const double m = row.maxCoeff();
    total += std::log((row.array() - m).exp().sum()) + m - row(labels[static_cast<std::size_t>(r)]);
  }
  return total / static_cast<double>(rows.size());
}

}  // namespace grokscope::detail

namespace grokscope {

GROKSCOPE_DEFERRED_DEF double restricted_loss(const Eigen::MatrixXd& L, const IndexList& labels,
                                              const std::vector<Index>& key_freqs, const IndexList& rows) {
  Eigen::MatrixXd R = project_frequencies(L, key_freqs);
  R.rowwise() += L.colwise().mean();
  return detail::grid_cross_entropy(R, labels, rows);
}

GROKSCOPE_DEFERRED_DEF double excluded_loss(const Eigen::MatrixXd& L, const IndexList& labels,
                                            const std::vector<Index>& excluded, const IndexList& rows) {
  return detail::grid_cross_entropy(L - project_frequencies(L, excluded), labels, rows);
}

GROKSCOPE_DEFERRED_DEF KeyFrequencies key_frequencies(const Eigen::MatrixXd& activations) {
  const Index p = detail::grid_p("key_frequencies", activations.rows());
  Eigen::MatrixXd A = activations;
  A.rowwise() -= A.colwise().mean();
  const Eigen::MatrixXd D = fourier_2d(A);
  KeyFrequencies r;
  r.explained.resize(A.cols());
  std::set<Index> seen;
  for (Index n = 0; n < A.cols(); ++n) {
    const double total = D.col(n).squaredNorm();
    Index best = 1;
    double best_share = -1;
    for (Index k = 1; k <= (p - 1) / 2; ++k) {
      const Index idx[3] = {0, 2 * k - 1, 2 * k};
      double s = 0;
      for (Index f : idx)
        for (Index g : idx) s += D(f * p + g, n) * D(f * p + g, n);
      const double share = total > 0 ? s / total : 0.0;
      if (share > best_share) best_share = share, best = k;
    }
    r.neuron_frequency.push_back(best);
    r.explained(n) = best_share;
    seen.insert(best);
  }
  r.frequencies.assign(seen.begin(), seen.end());
  return r;
}

GROKSCOPE_DEFERRED_DEF Eigen::VectorXd fourier_component_norms(const Eigen::MatrixXd& M, bool per_frequency) {
  const Index p = M.rows();
  require(p >= 3 && p % 2 == 1, "fourier_component_norms",
          "expected p rows (one per residue, p odd >= 3), got " + std::to_string(p));
  require(M.cols() >= 1, "fourier_component_norms", "no columns");
  require(M.allFinite(), "fourier_component_norms", "matrix has NaN or Inf entries");
  const Eigen::VectorXd rows = (fourier_basis(p) * M).rowwise().norm();
  if (!per_frequency) return rows;
  Eigen::VectorXd out((p + 1) / 2);
  out(0) = rows(0);
  for (Index k = 1; k <= (p - 1) / 2; ++k) out(k) = std::hypot(rows(2 * k - 1), rows(2 * k));
  return out;
}

GROKSCOPE_DEFERRED_DEF double gini(const Eigen::VectorXd& c) {
  require(c.size() > 0, "gini", "empty input");
  require((c.array() >= 0).all(), "gini", "values must be non-negative");
  const double s = c.sum();
  if (!(s > 0)) return 0.0;
  std::vector<double> v(c.data(), c.data() + c.size());
  std::sort(v.begin(), v.end());
  const double n = static_cast<double>(v.size());
  double acc = 0;  // Σᵢ (2i − n + 1) c_(i) = ½ Σᵢ Σⱼ |cᵢ − cⱼ|, sorted ascending
  for (std::size_t i = 0; i < v.size(); ++i) acc += (2.0 * static_cast<double>(i) - n + 1.0) * v[i];
  return acc / (n * s);
}

GROKSCOPE_DEFERRED_DEF double inverse_participation_ratio(const Eigen::VectorXd& w, int r) {
  require(w.size() >= 2, "inverse_participation_ratio", "need at least 2 values");
  require(r >= 1, "inverse_participation_ratio", "r must be >= 1");
  Eigen::FFT<double> fft;
  std::vector<double> in(w.data(), w.data() + w.size());
  std::vector<std::complex<double>> out;
  fft.fwd(out, in);
  const std::size_t half = in.size() / 2 + 1;  // rFFT: frequencies 0..⌊n/2⌋
  Eigen::VectorXd nu(static_cast<Index>(half));
  for (std::size_t k = 0; k < half; ++k) nu(static_cast<Index>(k)) = std::abs(out[k]);
  const double norm = nu.norm();
  if (!(norm > 0)) return 0.0;
  return (nu / norm).array().pow(2.0 * r).sum();
}

GROKSCOPE_DEFERRED_DEF double representation_quality_index(const Eigen::MatrixXd& E, double threshold) {
  require(E.rows() >= 4 && E.cols() >= 1, "representation_quality_index", "need at least 4 embeddings");
  Eigen::MatrixXd Z = E;
  Z.rowwise() -= Z.colwise().mean();
  const Eigen::RowVectorXd sd = (Z.colwise().squaredNorm() / static_cast<double>(Z.rows() - 1)).cwiseSqrt();
  for (Index d = 0; d < Z.cols(); ++d)
    if (sd(d) > 0) Z.col(d) /= sd(d);
  const Index m = Z.rows();
  double good = 0, total = 0;
  for (Index i = 0; i < m; ++i)
    for (Index j = i + 1; j < m; ++j)
      for (Index k = j; k < m; ++k) {
        const Index l = j + k - i;
        if (l >= m || l <= k) continue;
        ++total;
        good += (Z.row(i) + Z.row(l) - Z.row(j) - Z.row(k)).squaredNorm() / static_cast<double>(Z.cols()) < threshold;
      }
  return total > 0 ? good / total : 0.0;
}

}  // namespace grokscope
