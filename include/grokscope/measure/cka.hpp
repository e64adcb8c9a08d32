// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Centered kernel alignment (Kornblith, Norouzi, Lee & Hinton 2019): linear CKA in
/// feature space and in Gram form, RBF CKA with the median heuristic, debiased CKA from the
/// unbiased HSIC estimator (Song et al. 2012, U-centering as in Kornblith et al.'s code),
/// minibatch CKA (Nguyen, Raghu & Kornblith 2021), and CKA matrices between lists of
/// representations.
///
///   HSIC(K, L) = tr(K H L H)/(n − 1)²,  CKA(K, L) = HSIC(K, L) / √(HSIC(K, K) HSIC(L, L))
///   linear, feature form (column-centred X, Y): ‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F)
///   RBF: K_ij = exp(−‖x_i − x_j‖² / (2σ²)), σ² = threshold² · median of all n² squared distances
///
/// Inputs are rows = examples and are centred (in double) before any product, so float data with
/// a large mean offset stays accurate. A constant representation has zero HSIC with itself: the
/// result is then `defined = false` with value 0 and a note, never NaN. Debiased CKA can be
/// negative.
///
/// A non-finite entry (a diverged model) is an std::invalid_argument naming the matrix and the
/// entry, not a "constant" representation. CKA is invariant to scaling each representation, and
/// every route uses that: inputs are scaled by a power of two (exact) so that their largest
/// centred entry is about 1 before any second or fourth moment is formed, so magnitudes from
/// 1e-300 to 1e300 give the same value as magnitude 1. The Gram routes (RBF, and linear or
/// debiased when a representation has at least as many features as examples) hold about five
/// n × n double matrices: that estimate is checked against default_memory_limit()
/// (core/memory.hpp) first, and refused with a message naming n and what fits.

#include <grokscope/core/check.hpp>
#include <grokscope/core/config.hpp>
#include <grokscope/core/memory.hpp>
#include <grokscope/core/types.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace grokscope {

/// Kernel and estimator.
enum class CkaKind { Linear, Rbf, DebiasedLinear };

/// How the value was computed.
enum class CkaMethod { Feature, Gram };

/// Value of a CKA computation and how it was obtained.
struct CkaResult {
  double value = 0;
  CkaKind kind = CkaKind::Linear;
  CkaMethod method = CkaMethod::Feature;
  Index n = 0;
  bool defined = true;  ///< false when a representation is constant (value reported as 0)
  std::string note;
};

/// Name of a kind ("linear", "rbf", "debiased").
GROKSCOPE_DEFERRED const char* cka_kind_name(CkaKind k);

namespace detail {

template <typename D>
Eigen::MatrixXd centered_columns(const Eigen::MatrixBase<D>& X) {
  Eigen::MatrixXd Xc = X.template cast<double>();
  Xc.rowwise() -= Xc.colwise().mean();
  return Xc;
}

// The power of two 2^-e that brings max|x| to [0.5, 1): exact to apply in any precision, and
// CKA does not change under it. 1 for an all-zero (or empty) matrix.
inline double unit_scale(double max_abs) {
  if (!(max_abs > 0) || !std::isfinite(max_abs)) return 1.0;
  int e = 0;
  std::frexp(max_abs, &e);
  return std::ldexp(1.0, -e);
}

template <typename D>
double max_abs_of(const Eigen::MatrixBase<D>& X) {
  return X.size() == 0 ? 0.0 : static_cast<double>(X.cwiseAbs().maxCoeff());
}

// Column-centred X scaled so that its largest entry is about 1: the mean is taken of X scaled
// by its largest magnitude (so that the sum cannot overflow), then the centred values are
// scaled again (so that a large offset over a small spread cannot underflow the moments).
template <typename D>
Eigen::MatrixXd centered_unit(const Eigen::MatrixBase<D>& X) {
  Eigen::MatrixXd Xc = X.template cast<double>() * unit_scale(max_abs_of(X));
  Xc.rowwise() -= Xc.colwise().mean();
  Xc *= unit_scale(max_abs_of(Xc));
  return Xc;
}

GROKSCOPE_DEFERRED CkaResult cka_from(double xy, double xx, double yy, CkaKind kind, CkaMethod method, Index n);

// Whether every row equals the first, exactly: a constant representation, whose centred values
// are zero in exact arithmetic (and rounding noise in floating point, which the unit scaling
// must not blow up into a spurious "defined" CKA).
template <typename D>
bool rows_identical(const Eigen::MatrixBase<D>& X) {
  for (Index i = 1; i < X.rows(); ++i)
    if (X.row(i) != X.row(0)) return false;
  return true;
}

// The documented result for a constant X or Y (value 0, defined = false, a note); nullopt otherwise.
template <typename DX, typename DY>
std::optional<CkaResult> constant_cka(const Eigen::MatrixBase<DX>& X, const Eigen::MatrixBase<DY>& Y, CkaKind kind,
                                      CkaMethod method) {
  const bool cx = rows_identical(X), cy = rows_identical(Y);
  if (!cx && !cy) return std::nullopt;
  return cka_from(0, cx ? 0 : 1, cy ? 0 : 1, kind, method, X.rows());
}

// Requires every entry finite, naming the first offending one (a diverged model's activations).
template <typename D>
void require_finite_rep(const char* where, const char* name, const Eigen::MatrixBase<D>& X) {
  if (X.allFinite()) return;
  require_finite(where, name, X);
}

// The Gram routes' peak memory: about five n × n doubles (both Gram matrices, their centred
// copies, one transient) plus the centred inputs.
inline void cka_require_gram_memory(const char* where, Index n, Index dx, Index dy) {
  const double nn = static_cast<double>(n);
  require_memory(where, "the Gram route for n = " + std::to_string(n) + " examples",
                 8.0 * (5.0 * nn * nn + nn * static_cast<double>(dx + dy)), 0, "default_memory_limit()",
                 "use fewer examples (a random subset), linear CKA with fewer features than examples (its "
                 "feature route needs no n x n matrix), MinibatchCka, or raise GROKSCOPE_MAX_MEMORY");
}

// Lower triangle of A Aᵀ by recursive halving: the off-diagonal halves are (multi-threaded) GEMMs,
// so about half the flops of A Aᵀ at GEMM speed.
template <typename S>
void sym_gram_lower(const Eigen::Ref<const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>>& A,
                    Eigen::Ref<Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>> G) {
  const Index n = A.rows();
  if (n <= 256) {
    G.noalias() = A * A.transpose();
    return;
  }
  const Index h = n / 2;
  G.bottomLeftCorner(n - h, h).noalias() = A.bottomRows(n - h) * A.topRows(h).transpose();
  sym_gram_lower<S>(A.topRows(h), G.topLeftCorner(h, h));
  sym_gram_lower<S>(A.bottomRows(n - h), G.bottomRightCorner(n - h, n - h));
}

// ‖G‖²_F from the lower triangle of a symmetric G.
GROKSCOPE_DEFERRED double sym_squared_norm(const Eigen::MatrixXd& G);

// The centred cross moments of linear CKA in feature space: ‖XcᵀYc‖², ‖XcᵀXc‖², ‖YcᵀYc‖². The
// column means are taken in double; rows are centred in the input's precision by the rounded
// mean and multiplied in blocks of rows at the input's precision, and the blocks' products are
// summed in double. The rounding of the mean leaves every centred column with a small constant
// offset δ, which is removed exactly at the end (ΣxᵢyᵢᵀΣ − n δx δyᵀ), so a large mean offset in
// float data costs no accuracy. XcᵀXc and YcᵀYc use only their lower triangles.
template <typename DX, typename DY>
std::array<double, 3> feature_moments(const Eigen::MatrixBase<DX>& X, const Eigen::MatrixBase<DY>& Y) {
  using S = std::common_type_t<typename DX::Scalar, typename DY::Scalar>;
  using MatS = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
  const Index n = X.rows(), dx = X.cols(), dy = Y.cols();
  // Scales (powers of two, exact): the first keeps the sums from overflowing, the second brings
  // the largest centred entry to about 1, so that fourth moments neither overflow nor underflow.
  const double ax = unit_scale(max_abs_of(X)), ay = unit_scale(max_abs_of(Y));
  Eigen::RowVectorXd mx = Eigen::RowVectorXd::Zero(dx), my = Eigen::RowVectorXd::Zero(dy);
  for (Index i = 0; i < n; ++i) {  // row by row: contiguous for the row-major grokscope::Matrix
    mx += X.row(i).template cast<double>() * ax;
    my += Y.row(i).template cast<double>() * ay;
  }
  mx /= static_cast<double>(n);
  my /= static_cast<double>(n);
  double cx = 0, cy = 0;
  for (Index i = 0; i < n; ++i) {
    cx = std::max(cx, (X.row(i).template cast<double>() * ax - mx).cwiseAbs().maxCoeff());
    cy = std::max(cy, (Y.row(i).template cast<double>() * ay - my).cwiseAbs().maxCoeff());
  }
  const double bx = unit_scale(cx), by = unit_scale(cy);
  mx *= bx;
  my *= by;
  const double sxall = ax * bx, syall = ay * by;
  const Eigen::Matrix<S, 1, Eigen::Dynamic> mxs = mx.cast<S>(), mys = my.cast<S>();
  Eigen::MatrixXd Cxy = Eigen::MatrixXd::Zero(dx, dy), Cxx = Eigen::MatrixXd::Zero(dx, dx),
                  Cyy = Eigen::MatrixXd::Zero(dy, dy);
  Eigen::VectorXd sx = Eigen::VectorXd::Zero(dx), sy = Eigen::VectorXd::Zero(dy);
  const Index B = 4096;
  MatS Xt, Yt, G;
  for (Index r0 = 0; r0 < n; r0 += B) {
    const Index nb = std::min(B, n - r0);
    Xt.resize(dx, nb);  // centred rows as columns, copied row by row (contiguous on both sides)
    Yt.resize(dy, nb);
    Eigen::Matrix<S, Eigen::Dynamic, 1> tx = Eigen::Matrix<S, Eigen::Dynamic, 1>::Zero(dx),
                                        ty = Eigen::Matrix<S, Eigen::Dynamic, 1>::Zero(dy);
    for (Index i = 0; i < nb; ++i) {
      // scaled in double (a float input scaled by 2^-300 would underflow in float), then rounded
      Xt.col(i) = ((X.row(r0 + i).template cast<double>() * sxall).template cast<S>() - mxs).transpose();
      Yt.col(i) = ((Y.row(r0 + i).template cast<double>() * syall).template cast<S>() - mys).transpose();
      tx += Xt.col(i);
      ty += Yt.col(i);
    }
    sx += tx.template cast<double>();
    sy += ty.template cast<double>();
    G.noalias() = Xt * Yt.transpose();
    Cxy += G.template cast<double>();
    G.resize(dx, dx);
    sym_gram_lower<S>(Xt, G);
    Cxx.template triangularView<Eigen::Lower>() += G.template cast<double>();
    G.resize(dy, dy);
    sym_gram_lower<S>(Yt, G);
    Cyy.template triangularView<Eigen::Lower>() += G.template cast<double>();
  }
  const double nn = static_cast<double>(n);
  const Eigen::VectorXd ex = sx / nn, ey = sy / nn;  // the offsets δ left by the rounded means
  Cxy -= nn * ex * ey.transpose();
  Cxx.template triangularView<Eigen::Lower>() -= nn * ex * ex.transpose();
  Cyy.template triangularView<Eigen::Lower>() -= nn * ey * ey.transpose();
  return {Cxy.squaredNorm(), sym_squared_norm(Cxx), sym_squared_norm(Cyy)};
}

GROKSCOPE_DEFERRED void check_pair(const char* where, Index nx, Index ny, Index cols_x, Index cols_y);

// Unbiased HSIC through U-centering (the 1/(n(n−3)) factor cancels in CKA and is left out).
GROKSCOPE_DEFERRED Eigen::MatrixXd u_center(Eigen::MatrixXd G);

GROKSCOPE_DEFERRED Eigen::MatrixXd double_center(Eigen::MatrixXd G);

}  // namespace detail

/// Centered Gram matrix HKH (without forming H).
GROKSCOPE_DEFERRED Eigen::MatrixXd center_gram(const Eigen::MatrixXd& K);

/// Linear Gram matrix X Xᵀ of column-centred X (double).
template <typename D>
Eigen::MatrixXd gram_linear(const Eigen::MatrixBase<D>& X) {
  const Eigen::MatrixXd Xc = detail::centered_columns(X);
  Eigen::MatrixXd K = Eigen::MatrixXd::Zero(Xc.rows(), Xc.rows());
  K.selfadjointView<Eigen::Lower>().rankUpdate(Xc);
  return K.selfadjointView<Eigen::Lower>();
}

/// RBF Gram matrix with σ² = threshold² · median(‖x_i − x_j‖² over all i, j, zeros included).
template <typename D>
Eigen::MatrixXd gram_rbf(const Eigen::MatrixBase<D>& X, double threshold) {
  require(threshold > 0 && std::isfinite(threshold), "gram_rbf", "threshold must be positive");
  detail::require_finite_rep("gram_rbf", "X", X);
  // Distances of the unit-scaled rows: the kernel depends only on their ratio to the median, and
  // neither ‖x‖² nor the median can overflow or underflow.
  const Eigen::MatrixXd Xc = detail::centered_unit(X);
  const Eigen::VectorXd sq = Xc.rowwise().squaredNorm();
  Eigen::MatrixXd D2 = -2.0 * Xc * Xc.transpose();
  D2.colwise() += sq;
  D2.rowwise() += sq.transpose();
  D2 = D2.cwiseMax(0.0);
  D2.diagonal().setZero();
  std::vector<double> v(D2.data(), D2.data() + D2.size());
  const std::size_t m = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<long>(m), v.end());
  double med = v[m];
  if (v.size() % 2 == 0) med = 0.5 * (med + *std::max_element(v.begin(), v.begin() + static_cast<long>(m)));
  if (!(med > 0)) return Eigen::MatrixXd::Ones(D2.rows(), D2.cols());  // all points equal: constant kernel
  return (-D2 / (2.0 * threshold * threshold * med)).array().exp().matrix();
}

/// CKA between two Gram matrices (biased HSIC with HKH, or debiased with U-centering).
GROKSCOPE_DEFERRED CkaResult cka_from_grams(const Eigen::MatrixXd& K, const Eigen::MatrixXd& L, bool debiased = false,
                                            CkaKind kind = CkaKind::Linear);

/// Linear CKA; in feature space when both representations have fewer features than examples,
/// otherwise through the Gram matrices (the same value either way).
template <typename DX, typename DY>
CkaResult linear_cka(const Eigen::MatrixBase<DX>& X, const Eigen::MatrixBase<DY>& Y) {
  detail::check_pair("linear_cka", X.rows(), Y.rows(), X.cols(), Y.cols());
  detail::require_finite_rep("linear_cka", "X", X);
  detail::require_finite_rep("linear_cka", "Y", Y);
  if (const auto c = detail::constant_cka(
          X, Y, CkaKind::Linear, (X.cols() < X.rows() && Y.cols() < X.rows() ? CkaMethod::Feature : CkaMethod::Gram)))
    return *c;
  const Index n = X.rows();
  if (X.cols() < n && Y.cols() < n) {
    const std::array<double, 3> m = detail::feature_moments(X, Y);
    return detail::cka_from(m[0], m[1], m[2], CkaKind::Linear, CkaMethod::Feature, n);
  }
  detail::cka_require_gram_memory("linear_cka", n, X.cols(), Y.cols());
  return cka_from_grams(gram_linear(detail::centered_unit(X)), gram_linear(detail::centered_unit(Y)), false,
                        CkaKind::Linear);
}

/// Debiased linear CKA (unbiased HSIC); in feature space when both have fewer features than
/// examples (Kornblith et al.'s feature-space formula), otherwise with U-centred Gram matrices.
template <typename DX, typename DY>
CkaResult debiased_linear_cka(const Eigen::MatrixBase<DX>& X, const Eigen::MatrixBase<DY>& Y) {
  detail::check_pair("debiased_linear_cka", X.rows(), Y.rows(), X.cols(), Y.cols());
  detail::require_finite_rep("debiased_linear_cka", "X", X);
  detail::require_finite_rep("debiased_linear_cka", "Y", Y);
  if (const auto c =
          detail::constant_cka(X, Y, CkaKind::DebiasedLinear,
                               (X.cols() < X.rows() && Y.cols() < X.rows() ? CkaMethod::Feature : CkaMethod::Gram)))
    return *c;
  const Index n = X.rows();
  require(n >= 4, "debiased_linear_cka", "need at least 4 examples, got " + std::to_string(n));
  if (X.cols() < n && Y.cols() < n) {
    const Eigen::MatrixXd Xc = detail::centered_unit(X), Yc = detail::centered_unit(Y);
    const double nn = static_cast<double>(n);
    auto dot = [nn](const Eigen::MatrixXd& A, const Eigen::MatrixXd& B) {
      // ‖BᵀA‖² − n/(n−2) (r_A·r_B) + s_A s_B/((n−1)(n−2)), r = row squared norms, s = ‖·‖²_F
      const Eigen::VectorXd ra = A.rowwise().squaredNorm(), rb = B.rowwise().squaredNorm();
      return (B.transpose() * A).squaredNorm() - nn / (nn - 2) * ra.dot(rb) +
             A.squaredNorm() * B.squaredNorm() / ((nn - 1) * (nn - 2));
    };
    return detail::cka_from(dot(Xc, Yc), dot(Xc, Xc), dot(Yc, Yc), CkaKind::DebiasedLinear, CkaMethod::Feature, n);
  }
  detail::cka_require_gram_memory("debiased_linear_cka", n, X.cols(), Y.cols());
  return cka_from_grams(gram_linear(detail::centered_unit(X)), gram_linear(detail::centered_unit(Y)), true,
                        CkaKind::DebiasedLinear);
}

/// RBF CKA with bandwidth threshold × √(median squared distance) (Kornblith et al. use 0.5).
template <typename DX, typename DY>
CkaResult rbf_cka(const Eigen::MatrixBase<DX>& X, const Eigen::MatrixBase<DY>& Y, double threshold = 0.5,
                  bool debiased = false) {
  detail::check_pair("rbf_cka", X.rows(), Y.rows(), X.cols(), Y.cols());
  detail::require_finite_rep("rbf_cka", "X", X);
  detail::require_finite_rep("rbf_cka", "Y", Y);
  if (const auto c = detail::constant_cka(X, Y, CkaKind::Rbf, CkaMethod::Gram)) return *c;
  detail::cka_require_gram_memory("rbf_cka", X.rows(), X.cols(), Y.cols());
  return cka_from_grams(gram_rbf(X, threshold), gram_rbf(Y, threshold), debiased, CkaKind::Rbf);
}

/// CKA of a given kind (threshold used by Rbf only).
template <typename DX, typename DY>
CkaResult cka(const Eigen::MatrixBase<DX>& X, const Eigen::MatrixBase<DY>& Y, CkaKind kind, double threshold = 0.5) {
  switch (kind) {
    case CkaKind::Linear:
      return linear_cka(X, Y);
    case CkaKind::Rbf:
      return rbf_cka(X, Y, threshold);
    case CkaKind::DebiasedLinear:
      return debiased_linear_cka(X, Y);
  }
  return {};
}

/// Minibatch linear CKA (Nguyen et al. 2021): unbiased HSIC summed over batches, so the estimate
/// does not depend on how examples are grouped beyond the batch composition.
class MinibatchCka {
 public:
  /// Adds one batch (rows = the same examples in X and Y; at least 4).
  template <typename DX, typename DY>
  void update(const Eigen::MatrixBase<DX>& X, const Eigen::MatrixBase<DY>& Y) {
    detail::check_pair("MinibatchCka::update", X.rows(), Y.rows(), X.cols(), Y.cols());
    require(X.rows() >= 4, "MinibatchCka::update", "batches need at least 4 examples, got " + std::to_string(X.rows()));
    detail::require_finite_rep("MinibatchCka::update", "X", X);
    detail::require_finite_rep("MinibatchCka::update", "Y", Y);
    const Eigen::MatrixXd K = detail::u_center(gram_linear(X)), L = detail::u_center(gram_linear(Y));
    const double n = static_cast<double>(X.rows()), norm = 1.0 / (n * (n - 3));
    m_xy += norm * K.cwiseProduct(L).sum();
    m_xx += norm * K.squaredNorm();
    m_yy += norm * L.squaredNorm();
    m_n += X.rows();
    ++m_batches;
  }
  /// The CKA of everything added so far.
  CkaResult value() const {
    require(m_batches > 0, "MinibatchCka::value", "no batches were added");
    return detail::cka_from(m_xy, m_xx, m_yy, CkaKind::DebiasedLinear, CkaMethod::Gram, m_n);
  }

 private:
  double m_xy = 0, m_xx = 0, m_yy = 0;
  Index m_n = 0, m_batches = 0;
};

/// CKA between every pair of two lists of representations (layer × layer, checkpoint ×
/// checkpoint): entry (i, j) compares As[i] with Bs[j]; undefined pairs are 0.
GROKSCOPE_DEFERRED Eigen::MatrixXd cka_matrix(const std::vector<Eigen::MatrixXd>& As,
                                              const std::vector<Eigen::MatrixXd>& Bs, CkaKind kind = CkaKind::Linear,
                                              double threshold = 0.5);

/// The CKA templates' instantiations for the library's matrix types (Eigen's column-major
/// MatrixXf/MatrixXd and grokscope's row-major Matrix<float>/Matrix<double>, the same type for both
/// arguments), listed once: `X` is `extern template` in the headers (compiled mode) and `template`
/// in the compiled library. Other argument types (blocks, expressions, mixed pairs) instantiate
/// from the header in either mode.
#define GROKSCOPE_CKA_INSTANTIATIONS(X, M)                                                           \
  X Eigen::MatrixXd gram_linear<M>(const Eigen::MatrixBase<M>&);                                     \
  X Eigen::MatrixXd gram_rbf<M>(const Eigen::MatrixBase<M>&, double);                                \
  X CkaResult linear_cka<M, M>(const Eigen::MatrixBase<M>&, const Eigen::MatrixBase<M>&);            \
  X CkaResult debiased_linear_cka<M, M>(const Eigen::MatrixBase<M>&, const Eigen::MatrixBase<M>&);   \
  X CkaResult rbf_cka<M, M>(const Eigen::MatrixBase<M>&, const Eigen::MatrixBase<M>&, double, bool); \
  X CkaResult cka<M, M>(const Eigen::MatrixBase<M>&, const Eigen::MatrixBase<M>&, CkaKind, double);  \
  X void MinibatchCka::update<M, M>(const Eigen::MatrixBase<M>&, const Eigen::MatrixBase<M>&);

#if defined(GROKSCOPE_COMPILED)
GROKSCOPE_CKA_INSTANTIATIONS(extern template, Eigen::MatrixXf)
GROKSCOPE_CKA_INSTANTIATIONS(extern template, Eigen::MatrixXd)
GROKSCOPE_CKA_INSTANTIATIONS(extern template, Matrix<float>)
GROKSCOPE_CKA_INSTANTIATIONS(extern template, Matrix<double>)
#endif

}  // namespace grokscope

#if GROKSCOPE_HEADER_ONLY
#include <grokscope/measure/detail/cka-inl.hpp>
#endif
