// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Definitions of the non-template functions declared in <grokscope/measure/ntk.hpp>: included by it in
/// header-only mode, compiled once into grokscope::compiled otherwise (core/config.hpp).

#include <grokscope/measure/ntk.hpp>

#include <atomic>

#if defined(GROKSCOPE_COMPILED) && !defined(GROKSCOPE_BUILDING_LIBRARY)
#error "grokscope: in compiled mode these definitions are in the library; include the header without -inl"
#endif

namespace grokscope::detail {

GROKSCOPE_DEFERRED_DEF std::size_t ntk_default_max_bytes() { return default_memory_limit(); }

template <typename M>
void mirror_lower_impl(Eigen::Ref<M> K) {
  constexpr Index tile = 64;
  const Index n = K.rows(), tiles = (n + tile - 1) / tile;
  // each tile column j0 writes only its own part of the upper triangle: disjoint across threads
  parallel_rows(tiles, tile * n, [&](Index t0, Index t1) {
    for (Index j0 = t0 * tile; j0 < std::min(n, t1 * tile); j0 += tile)
      for (Index i0 = 0; i0 <= j0; i0 += tile) {
        const Index nj = std::min(tile, n - j0), ni = std::min(tile, n - i0);
        if (i0 == j0) {
          for (Index j = 1; j < nj; ++j)
            for (Index i = 0; i < j; ++i) K(i0 + i, j0 + j) = K(j0 + j, i0 + i);
        } else {
          K.block(i0, j0, ni, nj) = K.block(j0, i0, nj, ni).transpose();
        }
      }
  });
}

GROKSCOPE_DEFERRED_DEF void mirror_lower(Eigen::Ref<Eigen::MatrixXd> K) { mirror_lower_impl<Eigen::MatrixXd>(K); }

template <typename M>
void ntk_sym_gram_impl(const Eigen::Ref<const M>& A, Eigen::Ref<M> G) {
  const Index n = A.rows(), d = A.cols();
  // Tiles of 128: on the 2-core Xeon, float Grams of 1 000 × 500 took 12.0 ms on 2 threads
  // (median of 6 runs) against 12.9 ms with tiles of 256 and 15.9 ms with recursive halving into
  // products that Eigen threads itself.
  constexpr Index tile = 128;
  const Index tiles = (n + tile - 1) / tile, count = tiles * (tiles + 1) / 2;
  if (tiles <= 1) {
    G.noalias() = A * A.transpose();
    return;
  }
  // Lower-triangle tiles handed out one at a time; each is one GEMM on one thread (Eigen runs a
  // product inside a parallel region on the calling thread, and on one thread the tiles are
  // taken in order), so every entry is computed the same way for any thread count. Diagonal
  // tiles are computed whole.
  const int threads = parallel_threads(count, tile * tile * d);
  std::atomic<Index> next{0};
  parallel_team(threads, [&](int, int) {
    for (Index t; (t = next.fetch_add(1, std::memory_order_relaxed)) < count;) {
      Index I = 0;
      while ((I + 1) * (I + 2) / 2 <= t) ++I;
      const Index J = t - I * (I + 1) / 2;
      const Index i0 = I * tile, j0 = J * tile, ni = std::min(tile, n - i0), nj = std::min(tile, n - j0);
      G.block(i0, j0, ni, nj).noalias() = A.middleRows(i0, ni) * A.middleRows(j0, nj).transpose();
    }
  });
}

GROKSCOPE_DEFERRED_DEF void ntk_sym_gram(const Eigen::Ref<const Eigen::MatrixXd>& A, Eigen::Ref<Eigen::MatrixXd> G) {
  ntk_sym_gram_impl<Eigen::MatrixXd>(A, G);
}

GROKSCOPE_DEFERRED_DEF void ntk_sym_gram_single(const Eigen::Ref<const Eigen::MatrixXf>& A,
                                                Eigen::Ref<Eigen::MatrixXf> G) {
  ntk_sym_gram_impl<Eigen::MatrixXf>(A, G);
}

GROKSCOPE_DEFERRED_DEF Eigen::MatrixXf& ntk_single_scratch() {
  thread_local Eigen::MatrixXf G;
  return G;
}

GROKSCOPE_DEFERRED_DEF void ntk_to_single(std::vector<NtkUse>& uses) {
  // the double data stay alive until every factor that shares them has its copy
  std::vector<std::pair<std::shared_ptr<const Eigen::MatrixXd>, std::shared_ptr<const Eigen::MatrixXf>>> done;
  auto convert = [&](NtkFactor& f) {
    if (f.sparse() || !f.dense) return;
    std::shared_ptr<const Eigen::MatrixXf> copy;
    for (const auto& d : done)
      if (d.first == f.dense) copy = d.second;
    if (!copy) {
      copy = std::make_shared<const Eigen::MatrixXf>(f.dense->cast<float>());
      done.emplace_back(f.dense, copy);
    }
    f.dense.reset();
    f.single = std::move(copy);
  };
  for (NtkUse& u : uses) {
    convert(u.L);
    convert(u.R);
  }
}

GROKSCOPE_DEFERRED_DEF void ntk_gram_single(const NtkFactor& A, Index a0, Index na, const NtkFactor& B, Index b0,
                                            Index nb, Eigen::MatrixXf& G) {
  GROKSCOPE_ASSERT(!A.sparse() && !B.sparse() && A.single && B.single);
  if (A.single == B.single && a0 == b0 && na == nb) {
    G.resize(na, na);
    ntk_sym_gram_single(A.single->middleRows(a0, na), G);
    mirror_lower_impl<Eigen::MatrixXf>(G);
  } else {
    G.noalias() = A.single->middleRows(a0, na) * B.single->middleRows(b0, nb).transpose();
  }
}

GROKSCOPE_DEFERRED_DEF void ntk_gram(const NtkFactor& A, Index a0, Index na, const NtkFactor& B, Index b0, Index nb,
                                     Eigen::MatrixXd& G) {
  if (!A.sparse() && !B.sparse() && A.single) {  // float Gram, one conversion to double
    Eigen::MatrixXf& Gf = ntk_single_scratch();
    ntk_gram_single(A, a0, na, B, b0, nb, Gf);
    G.resize(Gf.rows(), Gf.cols());
    parallel_rows(G.cols(), G.rows(),
                  [&](Index c0, Index c1) { G.middleCols(c0, c1 - c0) = Gf.middleCols(c0, c1 - c0).cast<double>(); });
    return;
  }
  if (!A.sparse() && !B.sparse()) {
    if (A.dense == B.dense && a0 == b0 && na == nb) {  // symmetric: half the work
      G.resize(na, na);
      ntk_sym_gram(A.D().middleRows(a0, na), G);
      mirror_lower(G);
      return;
    }
    G.noalias() = A.D().middleRows(a0, na) * B.D().middleRows(b0, nb).transpose();
    return;
  }
  G.setZero(na, nb);
  if (A.sparse() && B.sparse()) {
    if (A.ones() && B.ones()) {
      G.setOnes();
      return;
    }
    for (Index t = 0; t < na; ++t)
      for (Index s = 0; s < nb; ++s) {
        double c = 0;
        for (Index x = 0; x < A.k; ++x)
          for (Index y = 0; y < B.k; ++y) c += A.id(a0 + t, x) == B.id(b0 + s, y);
        G(t, s) = c;
      }
    return;
  }
  const bool a_sparse = A.sparse();
  const NtkFactor& S = a_sparse ? A : B;
  const NtkFactor& D = a_sparse ? B : A;
  const Index s0 = a_sparse ? a0 : b0, ns = a_sparse ? na : nb;
  const Index d0 = a_sparse ? b0 : a0, nd = a_sparse ? nb : na;
  // (onehot sum of row t) · D_s = Σ_x D(s, id_tx)
  auto add = [&](const auto& M) {
    for (Index t = 0; t < ns; ++t)
      for (Index x = 0; x < S.k; ++x) {
        const Index id = S.id(s0 + t, x);
        if (a_sparse)
          G.row(t) += M.col(id).segment(d0, nd).transpose().template cast<double>();
        else
          G.col(t) += M.col(id).segment(d0, nd).template cast<double>();
      }
  };
  if (D.single)
    add(*D.single);
  else
    add(D.D());
}

GROKSCOPE_DEFERRED_DEF const char* op_name(OpKind k) {
  switch (k) {
    case OpKind::MatMul:
      return "matmul";
    case OpKind::Linear:
      return "linear";
    case OpKind::Add:
      return "add";
    case OpKind::Sub:
      return "sub";
    case OpKind::Mul:
      return "mul";
    case OpKind::LayerNorm:
      return "layer_norm";
    case OpKind::Embedding:
      return "embedding";
    case OpKind::OneHotMatmul:
      return "onehot_matmul";
    case OpKind::Attention:
      return "attention";
    case OpKind::Custom:
      return "a custom op";
    default:
      return "an op";
  }
}

// K(i,j) += w Σ_{t,s} H(i·Ta + t, j·Tb + s), H a double or float matrix (expression), summed in double.
template <typename Derived>
void ntk_block_sum_any(const Eigen::MatrixBase<Derived>& H, Index Ta, Index Tb, double w,
                       Eigen::Ref<Eigen::MatrixXd> K) {
  if (Ta == 1 && Tb == 1) {
    K += w * H.template cast<double>();
    return;
  }
  for (Index j = 0; j < K.cols(); ++j)
    for (Index i = 0; i < K.rows(); ++i) K(i, j) += w * H.block(i * Ta, j * Tb, Ta, Tb).template cast<double>().sum();
}

GROKSCOPE_DEFERRED_DEF void ntk_block_sum(const Eigen::MatrixXd& H, Index Ta, Index Tb, double w,
                                          Eigen::Ref<Eigen::MatrixXd> K) {
  ntk_block_sum_any(H, Ta, Tb, w, K);
}

GROKSCOPE_DEFERRED_DEF NtkPlan ntk_plan(const NtkOptions& o, Index n1, Index n2, bool symmetric, Index k) {
  require(o.block_examples >= 1, "empirical_ntk", "block_examples must be >= 1");
  require(!o.diagonal || symmetric, "empirical_ntk", "the diagonal needs a single input set (no X2)");
  require(o.precision == NtkPrecision::Double || o.method == NtkMethod::Structured, "empirical_ntk",
          "NtkPrecision::ModelScalar applies to the Structured method; JacobianContraction, the reference, is "
          "always double");
  NtkPlan p;
  p.n1 = n1, p.n2 = n2, p.k = k, p.symmetric = symmetric;
  if (o.output == NtkOutput::Single) {
    require(
        o.output_index >= 0 && o.output_index < k, "empirical_ntk",
        "output_index " + std::to_string(o.output_index) + " is out of range for " + std::to_string(k) + " outputs");
    p.outputs = {o.output_index};
  } else {
    for (Index a = 0; a < k; ++a) p.outputs.push_back(a);
  }
  return p;
}

GROKSCOPE_DEFERRED_DEF std::size_t ntk_kernel_bytes(const NtkOptions& o, const NtkPlan& p) {
  const std::size_t kk = o.output == NtkOutput::Full ? static_cast<std::size_t>(p.k) : 1;
  if (o.diagonal) return static_cast<std::size_t>(p.n1) * kk * sizeof(double);
  return static_cast<std::size_t>(p.n1) * static_cast<std::size_t>(p.n2) * kk * kk * sizeof(double);
}

GROKSCOPE_DEFERRED_DEF void ntk_require_memory(const NtkOptions& o, const NtkMemoryEstimate& e) {
  const std::size_t cap = o.max_bytes ? o.max_bytes : ntk_default_max_bytes();
  if (e.total() > cap)
    throw MemoryLimitError("empirical_ntk: this kernel needs about " + gib(double(e.total())) + " (kernel " +
                           gib(double(e.kernel)) + ", gradients " + gib(double(e.gradients)) + ", workspace " +
                           gib(double(e.workspace)) + "), more than the limit of " + gib(double(cap)) +
                           " (NtkOptions::max_bytes); ask for fewer examples, the trace or one output, or the "
                           "diagonal");
}

GROKSCOPE_INLINE NtkGram NtkGramCache::take(Index rows, Index cols, bool single) {
  if (pool)
    for (std::size_t i = 0; i < pool->size(); ++i) {
      const NtkGram& g = (*pool)[i];
      const bool fits = g.single == single &&
                        (single ? g.f.rows() == rows && g.f.cols() == cols : g.d.rows() == rows && g.d.cols() == cols);
      if (fits) {
        NtkGram m = std::move((*pool)[i]);
        pool->erase(pool->begin() + static_cast<std::ptrdiff_t>(i));
        return m;
      }
    }
  NtkGram g;
  g.single = single;
  if (single)
    g.f.resize(rows, cols);
  else
    g.d.resize(rows, cols);
  return g;
}

// Calls fn(GL, GR) with each Gram as the matrix it is stored in (double or float).
template <typename Fn>
void ntk_visit_grams(const NtkGram& l, const NtkGram& r, Fn&& fn) {
  if (l.single && r.single)
    fn(l.f, r.f);
  else if (l.single)
    fn(l.f, r.d);
  else if (r.single)
    fn(l.d, r.f);
  else
    fn(l.d, r.d);
}

template <typename Fn>
void ntk_visit_gram(const NtkGram& g, Fn&& fn) {
  if (g.single)
    fn(g.f);
  else
    fn(g.d);
}

GROKSCOPE_DEFERRED_DEF const void* ntk_data_id(const NtkFactor& f) {
  if (f.sparse()) return f.ids.get();
  return f.single ? static_cast<const void*>(f.single.get()) : static_cast<const void*>(f.dense.get());
}

GROKSCOPE_DEFERRED_DEF const NtkGram& ntk_cached_gram(const NtkFactor& fa, Index ra, Index na, const NtkFactor& fb,
                                                      Index rb, Index nb, NtkGramCache& cache) {
  const NtkGramCache::Key key{ntk_data_id(fa), ntk_data_id(fb), ra, na, rb, nb};
  auto it = cache.map.find(key);
  if (it != cache.map.end()) return it->second;
  const bool single = !fa.sparse() && !fb.sparse() && fa.single;
  NtkGram G = cache.take(na, nb, single);
  if (single)
    ntk_gram_single(fa, ra, na, fb, rb, nb, G.f);
  else
    ntk_gram(fa, ra, na, fb, rb, nb, G.d);
  cache.bytes += G.bytes();
  return cache.map.emplace(key, std::move(G)).first->second;
}

GROKSCOPE_DEFERRED_DEF void ntk_accumulate_block(const std::vector<NtkUse>& U1, const std::vector<NtkUse>& U2, Index i0,
                                                 Index ni, Index j0, Index nj, Eigen::Ref<Eigen::MatrixXd> K,
                                                 NtkGramCache& persistent) {
  NtkGramCache local;
  local.pool = persistent.pool;
  for (std::size_t u = 0; u < U1.size(); ++u)
    for (std::size_t v = 0; v < U2.size(); ++v) {
      const NtkUse& a = U1[u];
      const NtkUse& b = U2[v];
      if (a.param != b.param) continue;
      if (local.map.size() > 4) local.clear();  // reuse is between neighbouring uses only
      const Index ra = i0 * a.T, na = ni * a.T, rb = j0 * b.T, nb = nj * b.T;
      const double w = a.weight * b.weight;
      auto gram = [&](const NtkFactor& fa, const NtkFactor& fb, bool both_shared) -> const NtkGram& {
        if (both_shared && persistent.budget > 0) {
          const bool single = !fa.sparse() && !fb.sparse() && fa.single;
          const std::size_t need = static_cast<std::size_t>(na * nb) * (single ? sizeof(float) : sizeof(double));
          const NtkGramCache::Key key{ntk_data_id(fa), ntk_data_id(fb), ra, na, rb, nb};
          if (persistent.map.count(key) || persistent.bytes + need <= persistent.budget)
            return ntk_cached_gram(fa, ra, na, fb, rb, nb, persistent);
        }
        return ntk_cached_gram(fa, ra, na, fb, rb, nb, local);
      };
      const bool l_ones = a.L.ones() && b.L.ones();
      const bool r_ones = a.R.ones() && b.R.ones();
      auto block_sum = [&](const auto& H) { ntk_block_sum_any(H, a.T, b.T, w, K); };
      if (l_ones && r_ones) {
        block_sum(Eigen::MatrixXd::Ones(na, nb));
      } else if (l_ones) {
        ntk_visit_gram(gram(a.R, b.R, a.R_shared && b.R_shared), block_sum);
      } else if (r_ones) {
        ntk_visit_gram(gram(a.L, b.L, a.L_shared && b.L_shared), block_sum);
      } else {
        const NtkGram& gl = gram(a.L, b.L, a.L_shared && b.L_shared);
        const NtkGram& gr = gram(a.R, b.R, a.R_shared && b.R_shared);
        // Float Grams are read as they are: each product is formed in double from the two floats.
        ntk_visit_grams(gl, gr, [&](const auto& L, const auto& R) {
          if (a.T == 1 && b.T == 1)  // column ranges: each entry is computed as on one thread
            parallel_rows(nj, ni, [&](Index c0, Index c1) {
              K.middleCols(c0, c1 - c0).noalias() +=
                  w * L.middleCols(c0, c1 - c0)
                          .template cast<double>()
                          .cwiseProduct(R.middleCols(c0, c1 - c0).template cast<double>());
            });
          else
            block_sum(L.template cast<double>().cwiseProduct(R.template cast<double>()));
        });
      }
    }
}

GROKSCOPE_DEFERRED_DEF double ntk_self(const std::vector<NtkUse>& U, Index i, Eigen::MatrixXd& GL,
                                       Eigen::MatrixXd& GR) {
  double s = 0;
  for (const NtkUse& a : U)
    for (const NtkUse& b : U) {
      if (a.param != b.param) continue;
      ntk_gram(a.L, i * a.T, a.T, b.L, i * b.T, b.T, GL);
      ntk_gram(a.R, i * a.T, a.T, b.R, i * b.T, b.T, GR);
      s += a.weight * b.weight * GL.cwiseProduct(GR).sum();
    }
  return s;
}

}  // namespace grokscope::detail
