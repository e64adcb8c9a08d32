// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file The library's matrix product, C (=|+=) α·op(A)·op(B), without allocating per call.
///
/// Eigen's own product (`C.noalias() = A * B`) allocates its packing buffers on every call once
/// they pass 128 KB, and its multi-threaded path allocates one per thread again: about thirty
/// allocations of 0.2–1.1 MB in each step of Nanda et al.'s transformer. `gemm` runs the same
/// Eigen kernels (`general_matrix_matrix_product`) with packing buffers that each thread keeps
/// and only grows (`gemm_workspace`), so a step that repeats the same shapes allocates nothing.
///
/// Threads. The rows of C are split into one contiguous range per thread (the load-aware count
/// of core/parallel.hpp), and every range is computed with the blocking of the whole product:
/// each entry of C is summed in the same order whatever the thread count, so the result does not
/// depend on it (tested bit for bit).
///
/// BLAS. Compiled with GROKSCOPE_USE_CBLAS (the CMake option GROKSCOPE_BLAS=openblas|blis), large
/// products go to the library's cblas_?gemm instead, which keeps its own buffers; its threads
/// are the BLAS's (OPENBLAS_NUM_THREADS, BLIS_NUM_THREADS). docs/performance.md compares the
/// backends.

#include <grokscope/core/check.hpp>
#include <grokscope/core/parallel.hpp>
#include <grokscope/core/types.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <new>
#include <string>
#include <type_traits>

#ifdef GROKSCOPE_USE_CBLAS
#include <cblas.h>
#endif

namespace grokscope {
namespace detail {

/// Packing buffers of the calling thread for scalar S, grown to the largest product seen and kept
/// until the thread ends.
template <typename S>
class GemmWorkspace {
 public:
  GemmWorkspace() = default;
  GemmWorkspace(const GemmWorkspace&) = delete;
  GemmWorkspace& operator=(const GemmWorkspace&) = delete;
  ~GemmWorkspace() {
    Eigen::internal::aligned_free(m_a);
    Eigen::internal::aligned_free(m_b);
  }
  S* a(std::size_t n) { return grow(m_a, m_a_size, n); }
  S* b(std::size_t n) { return grow(m_b, m_b_size, n); }
  /// Bytes held (both buffers).
  std::size_t bytes() const { return (m_a_size + m_b_size) * sizeof(S); }

 private:
  static S* grow(S*& p, std::size_t& have, std::size_t n) {
    if (n > have) {
      Eigen::internal::aligned_free(p);
      p = nullptr;
      have = 0;
      p = static_cast<S*>(Eigen::internal::aligned_malloc(n * sizeof(S)));  // throws std::bad_alloc
      have = n;
    }
    return p;
  }
  S* m_a = nullptr;
  S* m_b = nullptr;
  std::size_t m_a_size = 0, m_b_size = 0;
};

template <typename S>
GemmWorkspace<S>& gemm_workspace() {
  static thread_local GemmWorkspace<S> w;
  return w;
}

/// Eigen's blocking description over the calling thread's kept buffers.
template <typename S>
class KeptBlocking : public Eigen::internal::level3_blocking<S, S> {
 public:
  KeptBlocking(Index mc, Index nc, Index kc) {
    this->m_mc = mc;
    this->m_nc = nc;
    this->m_kc = kc;
    GemmWorkspace<S>& w = gemm_workspace<S>();
    this->m_blockA = w.a(static_cast<std::size_t>(mc * kc));
    this->m_blockB = w.b(static_cast<std::size_t>(kc * nc));
  }
};

/// C (=|+=) α·op(A)·op(B) on raw row-major storage: op(A) is m × k, op(B) is k × n, C is m × n
/// with row stride ldc; A is stored m × k (row stride lda) or, when ta, k × m; likewise B.
template <typename S>
void gemm_raw(Index m, Index n, Index k, S alpha, const S* A, Index lda, bool ta, const S* B, Index ldb, bool tb,
              bool accumulate, S* C, Index ldc) {
  static_assert(is_real_scalar_v<S>, "grokscope::detail::gemm_raw: scalar must be float or double");
  if (m <= 0 || n <= 0) return;
  if (!accumulate)
    for (Index i = 0; i < m; ++i) std::memset(C + i * ldc, 0, static_cast<std::size_t>(n) * sizeof(S));
  if (k <= 0 || alpha == S(0)) return;
  using Stride = Eigen::OuterStride<>;
  using Map = Eigen::Map<const Matrix<S>, 0, Stride>;
  using MutMap = Eigen::Map<Matrix<S>, 0, Stride>;
  if (m + n + k < 20) {  // tiny: Eigen's coefficient-wise product, as its own product does
    const Map Am(A, ta ? k : m, ta ? m : k, Stride(lda)), Bm(B, tb ? n : k, tb ? k : n, Stride(ldb));
    MutMap Cm(C, m, n, Stride(ldc));
    const auto run = [&](const auto& a, const auto& b) { Cm.noalias() += alpha * a.lazyProduct(b); };
    if (ta)
      tb ? run(Am.transpose(), Bm.transpose()) : run(Am.transpose(), Bm);
    else
      tb ? run(Am, Bm.transpose()) : run(Am, Bm);
    return;
  }
#ifdef GROKSCOPE_USE_CBLAS
  if constexpr (std::is_same_v<S, float>)
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(m),
                static_cast<int>(n), static_cast<int>(k), alpha, A, static_cast<int>(lda), B, static_cast<int>(ldb),
                1.0f, C, static_cast<int>(ldc));
  else
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(m),
                static_cast<int>(n), static_cast<int>(k), alpha, A, static_cast<int>(lda), B, static_cast<int>(ldb),
                1.0, C, static_cast<int>(ldc));
#else
  // Eigen's kernel for a row-major C computes the column-major Cᵀ = op(B)ᵀ op(A)ᵀ; its blocking
  // is over (mc, nc, kc) = (n, m, k), fixed here from the whole product.
  Index mc = n, nc = m, kc = k;
  Eigen::internal::computeProductBlockingSizes<S, S, 1>(kc, mc, nc, Index(1));
  const auto rows = [&](Index r0, Index r1) {
    KeptBlocking<S> blocking(mc, nc, kc);
    const S* a = ta ? A + r0 : A + r0 * lda;
    S* c = C + r0 * ldc;
    const Index mm = r1 - r0;
    using Eigen::ColMajor;
    using Eigen::RowMajor;
    if (ta) {
      if (tb)
        Eigen::internal::general_matrix_matrix_product<Index, S, ColMajor, false, S, ColMajor, false, RowMajor, 1>::run(
            mm, n, k, a, lda, B, ldb, c, 1, ldc, alpha, blocking, nullptr);
      else
        Eigen::internal::general_matrix_matrix_product<Index, S, ColMajor, false, S, RowMajor, false, RowMajor, 1>::run(
            mm, n, k, a, lda, B, ldb, c, 1, ldc, alpha, blocking, nullptr);
    } else {
      if (tb)
        Eigen::internal::general_matrix_matrix_product<Index, S, RowMajor, false, S, ColMajor, false, RowMajor, 1>::run(
            mm, n, k, a, lda, B, ldb, c, 1, ldc, alpha, blocking, nullptr);
      else
        Eigen::internal::general_matrix_matrix_product<Index, S, RowMajor, false, S, RowMajor, false, RowMajor, 1>::run(
            mm, n, k, a, lda, B, ldb, c, 1, ldc, alpha, blocking, nullptr);
    }
  };
  // At least 32 rows per thread, and about 50 000 multiply-adds (Eigen's own threshold).
  const Index by_rows = m / 32;
  const int threads = by_rows >= 2 ? parallel_threads(by_rows, n * k * 32 / 3) : 1;
  if (threads <= 1) {
    rows(0, m);
    return;
  }
  parallel_team(threads, [&](int t, int nt) {
    // whole 32-row slabs per thread, so the kernel's row tiles are the same as in one pass
    const Index slabs = (m + 31) / 32;
    const Index r0 = std::min(m, slabs * t / nt * 32), r1 = std::min(m, slabs * (t + 1) / nt * 32);
    if (r0 < r1) rows(r0, r1);
  });
#endif
}

/// C (=|+=) α·op(A)·op(B). A, B and C are row-major dense objects with unit inner stride: a
/// Matrix<S> or a block of rows or columns of one (`middleRows`, `block`, `row_range`). A Matrix
/// C is resized when not accumulating; a block must have the product's shape. C must not
/// overlap A or B.
template <typename S, typename DC, typename DA, typename DB>
void gemm(DC&& C, bool accumulate, S alpha, const DA& A, bool ta, const DB& B, bool tb) {
  static_assert(is_real_scalar_v<S>, "grokscope::detail::gemm: scalar must be float or double");
  using CT = std::decay_t<DC>;
  static_assert((CT::Flags & Eigen::RowMajorBit) != 0 && (DA::Flags & Eigen::RowMajorBit) != 0 &&
                    (DB::Flags & Eigen::RowMajorBit) != 0,
                "grokscope::detail::gemm: operands must be row-major");
  const Index m = ta ? A.cols() : A.rows(), k = ta ? A.rows() : A.cols();
  const Index kb = tb ? B.cols() : B.rows(), n = tb ? B.rows() : B.cols();
  const auto shape = [](Index r, Index c) { return std::to_string(r) + "x" + std::to_string(c); };
  if (k != kb) throw_invalid("gemm", "op(A) is " + shape(m, k) + " but op(B) is " + shape(kb, n));
  if (A.innerStride() != 1 || B.innerStride() != 1 || C.innerStride() != 1)
    throw_invalid("gemm", "operands must have unit inner stride");
  if constexpr (std::is_same_v<CT, Matrix<S>>) {
    if (!accumulate) C.resize(m, n);
  }
  if (C.rows() != m || C.cols() != n)
    throw_invalid("gemm", "C is " + shape(C.rows(), C.cols()) + " but op(A) op(B) is " + shape(m, n));
  gemm_raw<S>(m, n, k, alpha, A.data(), A.outerStride(), ta, B.data(), B.outerStride(), tb, accumulate, C.data(),
              C.outerStride());
}

}  // namespace detail
}  // namespace grokscope
