// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Definitions of the non-template functions declared in <grokscope/measure/hessian.hpp>: included by it in
/// header-only mode, compiled once into grokscope::compiled otherwise (core/config.hpp).

#include <grokscope/measure/hessian.hpp>

#if defined(GROKSCOPE_COMPILED) && !defined(GROKSCOPE_BUILDING_LIBRARY)
#error "grokscope: in compiled mode these definitions are in the library; include the header without -inl"
#endif

#include <grokscope/core/memory.hpp>

#include <Eigen/Eigenvalues>
#include <Eigen/QR>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

namespace grokscope {

namespace detail {

// The operator is usable, and `vectors` vectors of its dimension fit in memory.
GROKSCOPE_DEFERRED void require_operator(const SymmetricOperator& op, const char* where, double vectors = 8,
                                         std::size_t max_bytes = 0) {
  require(op.dim >= 1, where, "the operator has dimension " + std::to_string(op.dim));
  require(static_cast<bool>(op.apply), where, "the operator has no apply function");
  detail::require_memory(
      where, std::to_string(static_cast<long long>(vectors)) + " vectors of dimension " + std::to_string(op.dim),
      8.0 * vectors * static_cast<double>(op.dim), max_bytes, "max_bytes or GROKSCOPE_MAX_MEMORY",
      "lower the iterations, or measure fewer parameters");
}

GROKSCOPE_DEFERRED Eigen::VectorXd checked_apply(const SymmetricOperator& op, const Eigen::VectorXd& v,
                                                 const char* where) {
  Eigen::VectorXd w = op.apply(v);
  require(w.size() == op.dim, where,
          "the operator returned " + std::to_string(w.size()) + " entries for dimension " + std::to_string(op.dim));
  require(w.allFinite(), where, "the operator returned a non-finite vector");
  return w;
}

GROKSCOPE_DEFERRED Eigen::VectorXd random_unit(Index n, Rng& rng) {
  Eigen::VectorXd v(n);
  for (Index i = 0; i < n; ++i) v(i) = rng.normal();
  return v / v.norm();
}

// m steps of Lanczos with full re-orthogonalisation from q0 (unit). Returns the basis Q (n × m'),
// the tridiagonal's diagonal a and off-diagonal b (m' − 1 entries used; b(m'−1) is the last
// residual norm); m' < m when an invariant subspace is found.
struct LanczosRun {
  Eigen::MatrixXd Q;
  Eigen::VectorXd a, b;
  Index matvecs = 0;
};

// When the Krylov space closes before m steps (the start vector lies in an invariant subspace, as it
// does for an operator with repeated eigenvalues), the run continues from a random vector
// orthogonal to the basis, with a zero coupling: the tridiagonal matrix splits into blocks, and a
// repeated eigenvalue shows up once per block. It stops early only when the basis spans R^n.
GROKSCOPE_DEFERRED LanczosRun lanczos_run(const SymmetricOperator& op, Eigen::VectorXd q, Index m, const char* where,
                                          Rng& rng) {
  const Index n = op.dim;
  LanczosRun r;
  r.Q.resize(n, m);
  r.a.resize(m);
  r.b.resize(m);
  Index j = 0;
  double scale = 0;
  for (; j < m; ++j) {
    r.Q.col(j) = q;
    Eigen::VectorXd w = checked_apply(op, q, where);
    ++r.matvecs;
    r.a(j) = q.dot(w);
    scale = std::max(scale, std::abs(r.a(j)));
    for (int pass = 0; pass < 2; ++pass)  // full re-orthogonalisation, twice
      w -= r.Q.leftCols(j + 1) * (r.Q.leftCols(j + 1).transpose() * w);
    r.b(j) = w.norm();
    scale = std::max(scale, r.b(j));
    if (j + 1 == m) {
      ++j;
      break;
    }
    if (r.b(j) <= 1e-12 * scale) {  // invariant subspace: restart orthogonally to the basis
      r.b(j) = 0;
      w = random_unit(n, rng);
      for (int pass = 0; pass < 2; ++pass) w -= r.Q.leftCols(j + 1) * (r.Q.leftCols(j + 1).transpose() * w);
      if (w.norm() <= 1e-8) {
        ++j;
        break;
      }
      q = w.normalized();
      continue;
    }
    q = w / r.b(j);
  }
  r.Q.conservativeResize(n, j);
  r.a.conservativeResize(j);
  r.b.conservativeResize(j);
  return r;
}

// The operator's symmetry on two random unit vectors: |uᵀ(Aw) − wᵀ(Au)| / (‖Au‖ + ‖Aw‖).
GROKSCOPE_DEFERRED double symmetry_error(const SymmetricOperator& op, Rng& rng, const char* where) {
  const Eigen::VectorXd u = random_unit(op.dim, rng), w = random_unit(op.dim, rng);
  const Eigen::VectorXd Au = checked_apply(op, u, where), Aw = checked_apply(op, w, where);
  const double scale = Au.norm() + Aw.norm();
  return scale > 0 ? std::abs(u.dot(Aw) - w.dot(Au)) / scale : 0.0;
}

// Warnings of a finished estimate: residuals above 1e-3 of the largest |λ| found (not converged,
// or not a linear operator), a symmetry error above 1e-8.
GROKSCOPE_DEFERRED void check_estimate(EigenEstimate& e, const char* what) {
  const double scale = e.eigenvalues.size() > 0 ? e.eigenvalues.cwiseAbs().maxCoeff() : 0.0;
  for (Index i = 0; i < e.residuals.size(); ++i)
    if (!(e.residuals(i) <= 1e-3 * std::max(scale, 1e-300)))
      e.warnings.push_back(
          std::string(what) + ": eigenpair " + std::to_string(i) + " (λ = " + std::to_string(e.eigenvalues(i)) +
          ") has residual " + std::to_string(e.residuals(i)) +
          " against the operator: not converged (raise the iterations), or the operator is not linear");
  if (e.symmetry_error > 1e-8)
    e.warnings.push_back(std::string(what) + ": the operator is not symmetric (relative error " +
                         std::to_string(e.symmetry_error) + " on random vectors): not a Hessian–vector product");
}

// The Krylov basis of m vectors fits in memory (checked before anything of that size is made).
GROKSCOPE_DEFERRED void require_krylov(const SymmetricOperator& op, Index m, const char* where, std::size_t max_bytes) {
  require_operator(op, where, 8, max_bytes);
  detail::require_memory(where, "the Krylov basis (" + std::to_string(op.dim) + " × " + std::to_string(m) + " doubles)",
                         8.0 * static_cast<double>(op.dim) * static_cast<double>(m), max_bytes,
                         "max_bytes or GROKSCOPE_MAX_MEMORY", "lower the iterations");
}

// eigen-decomposition of the run's tridiagonal matrix (ascending)
GROKSCOPE_DEFERRED Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> tridiagonal_eigen(const LanczosRun& r) {
  const Index m = r.a.size();
  Eigen::MatrixXd T = Eigen::MatrixXd::Zero(m, m);
  for (Index i = 0; i < m; ++i) {
    T(i, i) = r.a(i);
    if (i + 1 < m) T(i, i + 1) = T(i + 1, i) = r.b(i);
  }
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(T);
  require(es.info() == Eigen::Success, "lanczos", "eigen-decomposition of the tridiagonal matrix failed");
  return es;
}

}  // namespace detail

GROKSCOPE_DEFERRED_DEF SymmetricOperator matrix_operator(const Eigen::MatrixXd& A) {
  require(A.rows() == A.cols() && A.rows() >= 1, "matrix_operator",
          "A is " + std::to_string(A.rows()) + "x" + std::to_string(A.cols()) + ", not a non-empty square matrix");
  require(A.allFinite(), "matrix_operator", "A has non-finite entries");
  const Eigen::MatrixXd S = 0.5 * (A + A.transpose());
  return {A.rows(), [S](const Eigen::VectorXd& v) { return Eigen::VectorXd(S * v); }};
}

GROKSCOPE_DEFERRED_DEF EigenEstimate lanczos_eigenvalues(const SymmetricOperator& op, const LanczosOptions& o) {
  const char* where = "lanczos_eigenvalues";
  detail::require_operator(op, where);
  require(o.k >= 1 && o.k <= op.dim, where,
          "k must be in [1, " + std::to_string(op.dim) + "], got " + std::to_string(o.k));
  require(o.iterations >= 0, where, "iterations must be >= 0");
  const Index m =
      o.iterations > 0 ? std::min(o.iterations, op.dim) : std::min(op.dim, std::max<Index>(2 * o.k + 20, 40));
  require(m >= o.k, where, std::to_string(m) + " iterations cannot give " + std::to_string(o.k) + " eigenvalues");
  detail::require_krylov(op, m, where, o.max_bytes);
  Rng rng(o.seed);
  const detail::LanczosRun r = detail::lanczos_run(op, detail::random_unit(op.dim, rng), m, where, rng);
  const auto es = detail::tridiagonal_eigen(r);
  const Index got = r.a.size(), k = std::min(o.k, got);
  EigenEstimate e;
  e.eigenvalues.resize(k);
  e.eigenvectors.resize(op.dim, k);
  e.residuals.resize(k);
  e.matvecs = r.matvecs;
  for (Index i = 0; i < k; ++i) {
    const Index c = o.largest ? got - 1 - i : i;  // ascending order in es
    e.eigenvalues(i) = es.eigenvalues()(c);
    e.eigenvectors.col(i) = (r.Q * es.eigenvectors().col(c)).normalized();
    // the Lanczos residual ‖A y − θ y‖ = |b_m · s_m|, or the residual against the operator itself
    e.residuals(i) =
        o.verify ? (detail::checked_apply(op, e.eigenvectors.col(i), where) - e.eigenvalues(i) * e.eigenvectors.col(i))
                       .norm()
                 : std::abs(r.b(got - 1) * es.eigenvectors()(got - 1, c));
    if (o.verify) ++e.matvecs;
  }
  require(k == o.k, where,
          "the Krylov space closed after " + std::to_string(got) +
              " steps (the start vector spans an invariant "
              "subspace); fewer than " +
              std::to_string(o.k) + " eigenvalues are reachable from it");
  if (o.verify) {
    e.symmetry_error = detail::symmetry_error(op, rng, where);
    e.matvecs += 2;
    detail::check_estimate(e, where);
  }
  return e;
}

GROKSCOPE_DEFERRED_DEF EigenEstimate power_iteration(const SymmetricOperator& op, const PowerIterationOptions& o) {
  const char* where = "power_iteration";
  detail::require_operator(op, where);
  require(o.top_n >= 1 && o.top_n <= op.dim, where, "top_n must be in [1, " + std::to_string(op.dim) + "]");
  require(o.max_iter >= 1, where, "max_iter must be >= 1");
  require(std::isfinite(o.tol) && o.tol >= 0, where, "tol must be finite and >= 0");
  Rng rng(o.seed);
  EigenEstimate e;
  e.eigenvalues.resize(o.top_n);
  e.eigenvectors.resize(op.dim, o.top_n);
  e.residuals.resize(o.top_n);
  for (Index k = 0; k < o.top_n; ++k) {
    const auto deflate = [&](Eigen::VectorXd& v) {
      for (Index j = 0; j < k; ++j) v -= e.eigenvectors.col(j).dot(v) * e.eigenvectors.col(j);
    };
    Eigen::VectorXd v(op.dim);
    for (Index i = 0; i < op.dim; ++i) v(i) = rng.normal();
    deflate(v);
    v.normalize();
    double lambda = 0;
    bool have = false;
    Eigen::VectorXd Hv;
    for (Index it = 0; it < o.max_iter; ++it) {
      deflate(v);
      Hv = detail::checked_apply(op, v, where);
      ++e.matvecs;
      const double l = Hv.dot(v);
      const double nh = Hv.norm();
      const bool done = have && std::abs(l - lambda) / (std::abs(lambda) + 1e-6) < o.tol;
      lambda = l;
      have = true;
      if (nh == 0) break;
      v = Hv / nh;
      if (done) break;
    }
    deflate(v);
    v.normalize();
    e.eigenvalues(k) = lambda;
    e.eigenvectors.col(k) = v;
    e.residuals(k) = (detail::checked_apply(op, v, where) - lambda * v).norm();
    ++e.matvecs;
  }
  if (o.verify) {
    e.symmetry_error = detail::symmetry_error(op, rng, where);
    e.matvecs += 2;
    // power iteration stops at PyHessian's loose tolerance: only a residual above 1e-2 of |λ| is
    // reported (the symmetry check is the sharp one)
    if (e.symmetry_error > 1e-8)
      e.warnings.push_back(std::string(where) + ": the operator is not symmetric (relative error " +
                           std::to_string(e.symmetry_error) + " on random vectors): not a Hessian–vector product");
    for (Index k = 0; k < o.top_n; ++k)
      if (!(e.residuals(k) <= 1e-2 * std::max(std::abs(e.eigenvalues(k)), 1e-300)))
        e.warnings.push_back(std::string(where) + ": eigenpair " + std::to_string(k) + " has residual " +
                             std::to_string(e.residuals(k)) + " against the operator: not converged");
  }
  return e;
}

GROKSCOPE_DEFERRED_DEF TraceEstimate hutchinson_trace(const SymmetricOperator& op, const TraceOptions& o) {
  const char* where = "hutchinson_trace";
  detail::require_operator(op, where);
  require(o.max_iter >= 1, where, "max_iter must be >= 1");
  require(std::isfinite(o.tol) && o.tol >= 0, where, "tol must be finite and >= 0");
  Rng rng(o.seed);
  TraceEstimate t;
  double mean = 0;
  for (Index it = 0; it < o.max_iter; ++it) {
    Eigen::VectorXd v(op.dim);
    for (Index i = 0; i < op.dim; ++i) v(i) = rng.uniform() < 0.5 ? -1.0 : 1.0;
    t.samples.push_back(v.dot(detail::checked_apply(op, v, where)));
    const double next =
        std::accumulate(t.samples.begin(), t.samples.end(), 0.0) / static_cast<double>(t.samples.size());
    const bool done = it > 0 && std::abs(next - mean) / (std::abs(mean) + 1e-6) < o.tol;
    mean = next;
    if (done) break;
  }
  t.trace = mean;
  const double c = static_cast<double>(t.samples.size());
  if (t.samples.size() > 1) {
    double ss = 0;
    for (double s : t.samples) ss += (s - mean) * (s - mean);
    t.standard_error = std::sqrt(ss / (c - 1)) / std::sqrt(c);
  }
  return t;
}

GROKSCOPE_DEFERRED_DEF TraceEstimate hutchpp_trace(const SymmetricOperator& op, const HutchppOptions& o) {
  const char* where = "hutchpp_trace";
  detail::require_operator(op, where);
  require(o.matvecs >= 3 && o.matvecs % 3 == 0, where,
          "matvecs must be a positive multiple of 3, got " + std::to_string(o.matvecs));
  const Index s = std::min(o.matvecs / 3, op.dim);
  detail::require_memory(where, "three " + std::to_string(op.dim) + " × " + std::to_string(s) + " blocks",
                         3 * 8.0 * static_cast<double>(op.dim) * static_cast<double>(s), o.max_bytes,
                         "max_bytes or GROKSCOPE_MAX_MEMORY", "lower matvecs");
  Rng rng(o.seed);
  const auto rademacher = [&](Index cols) {
    Eigen::MatrixXd M(op.dim, cols);
    for (Index j = 0; j < cols; ++j)
      for (Index i = 0; i < op.dim; ++i) M(i, j) = rng.uniform() < 0.5 ? -1.0 : 1.0;
    return M;
  };
  const auto apply_cols = [&](const Eigen::MatrixXd& X) {
    Eigen::MatrixXd Y(op.dim, X.cols());
    for (Index j = 0; j < X.cols(); ++j) Y.col(j) = detail::checked_apply(op, X.col(j), where);
    return Y;
  };
  const Eigen::MatrixXd AS = apply_cols(rademacher(s));
  const Eigen::MatrixXd Q =
      Eigen::HouseholderQR<Eigen::MatrixXd>(AS).householderQ() * Eigen::MatrixXd::Identity(op.dim, s);
  TraceEstimate t;
  t.trace = (Q.transpose() * apply_cols(Q)).trace();
  const Index g = o.matvecs / 3;
  if (s < op.dim) {  // Hutchinson on (I − QQᵀ) A (I − QQᵀ)
    Eigen::MatrixXd G = rademacher(g);
    G -= Q * (Q.transpose() * G);
    const Eigen::MatrixXd AG = apply_cols(G);
    for (Index j = 0; j < g; ++j) {
      const Eigen::VectorXd r = AG.col(j) - Q * (Q.transpose() * AG.col(j));
      t.samples.push_back(G.col(j).dot(r));
    }
    const double mean = std::accumulate(t.samples.begin(), t.samples.end(), 0.0) / static_cast<double>(g);
    t.trace += mean;
    if (g > 1) {
      double ss = 0;
      for (double x : t.samples) ss += (x - mean) * (x - mean);
      t.standard_error = std::sqrt(ss / static_cast<double>(g - 1)) / std::sqrt(static_cast<double>(g));
    }
  }
  return t;
}

GROKSCOPE_DEFERRED_DEF SpectralDensity slq_density(const SymmetricOperator& op, const DensityOptions& o) {
  const char* where = "slq_density";
  detail::require_operator(op, where);
  require(o.iterations >= 1, where, "iterations must be >= 1");
  require(o.runs >= 1, where, "runs must be >= 1");
  detail::require_krylov(op, std::min(o.iterations, op.dim), where, o.max_bytes);
  Rng rng(o.seed);
  SpectralDensity d;
  for (Index r = 0; r < o.runs; ++r) {
    const detail::LanczosRun run =
        detail::lanczos_run(op, detail::random_unit(op.dim, rng), std::min(o.iterations, op.dim), where, rng);
    const auto es = detail::tridiagonal_eigen(run);
    d.nodes.push_back(es.eigenvalues());
    d.weights.push_back(es.eigenvectors().row(0).transpose().array().square().matrix());
  }
  return d;
}

GROKSCOPE_INLINE Eigen::VectorXd SpectralDensity::smoothed(const Eigen::VectorXd& grid, double sigma) const {
  require(std::isfinite(sigma) && sigma > 0, "SpectralDensity::smoothed", "sigma must be finite and > 0");
  require(!nodes.empty(), "SpectralDensity::smoothed", "no runs");
  Eigen::VectorXd out = Eigen::VectorXd::Zero(grid.size());
  const double c = 1.0 / (sigma * std::sqrt(2 * 3.14159265358979323846));
  for (std::size_t r = 0; r < nodes.size(); ++r)
    for (Index i = 0; i < nodes[r].size(); ++i)
      for (Index g = 0; g < grid.size(); ++g) {
        const double z = (grid(g) - nodes[r](i)) / sigma;
        out(g) += weights[r](i) * c * std::exp(-0.5 * z * z);
      }
  return out / static_cast<double>(nodes.size());
}

GROKSCOPE_DEFERRED_DEF double gauss_newton_sharpness(const Eigen::MatrixXd& K_full, Index targets) {
  require(K_full.rows() == K_full.cols() && K_full.rows() >= 1, "gauss_newton_sharpness",
          "K is " + std::to_string(K_full.rows()) + "x" + std::to_string(K_full.cols()) + ", not square");
  require(targets == K_full.rows(), "gauss_newton_sharpness",
          "the full kernel has one row per target entry: " + std::to_string(K_full.rows()) + " rows for " +
              std::to_string(targets) + " targets");
  require(K_full.allFinite(), "gauss_newton_sharpness", "K has non-finite entries");
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(0.5 * (K_full + K_full.transpose()), Eigen::EigenvaluesOnly);
  require(es.info() == Eigen::Success, "gauss_newton_sharpness", "eigen-decomposition failed");
  return 2.0 * es.eigenvalues().maxCoeff() / static_cast<double>(targets);
}

}  // namespace grokscope
