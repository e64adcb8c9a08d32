// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Row-parallel loops for the tape's elementwise work, on the threads Eigen's GEMMs use.
///
/// When the program is compiled with OpenMP (-fopenmp), a loop over many rows is split into
/// contiguous row ranges, one per thread; the thread count is Eigen::nbThreads(), so
/// Eigen::setNbThreads() (or OMP_NUM_THREADS) governs these loops and the GEMMs alike. Without
/// OpenMP, or for small loops, or inside an enclosing parallel region, everything runs on the
/// calling thread. Each row is computed by exactly one thread with the same instructions as a
/// serial loop, so results do not depend on the thread count. The bodies must not throw.

#include <grokscope/core/types.hpp>

#include <algorithm>
#include <utility>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace grokscope {
namespace detail {

/// Below this many scalar operations per thread a loop stays on the calling thread: starting a
/// parallel region costs a few microseconds.
inline constexpr Index kParallelGrain = Index(1) << 14;

/// Threads a loop of `rows` rows costing about `work_per_row` scalar operations each would use.
inline int parallel_threads(Index rows, Index work_per_row) {
#ifdef _OPENMP
  if (rows < 2 || omp_in_parallel()) return 1;
  const Index total = rows * std::max<Index>(work_per_row, 1);
  const Index by_work = total / kParallelGrain;
  const Index t = std::min<Index>({static_cast<Index>(Eigen::nbThreads()), by_work, rows});
  return static_cast<int>(std::max<Index>(t, 1));
#else
  (void)rows;
  (void)work_per_row;
  return 1;
#endif
}

/// The contiguous share [begin, end) of thread t of nt in a loop of `rows` rows (the split
/// parallel_rows uses, so that consecutive loops over the same rows stay on the same core).
inline std::pair<Index, Index> thread_share(Index rows, Index t, Index nt) {
  return {rows * t / nt, rows * (t + 1) / nt};
}

/// Calls fn(begin, end) on disjoint contiguous ranges covering [0, rows), in parallel when the
/// loop is large enough (see the file comment).
template <typename F>
void parallel_rows(Index rows, Index work_per_row, F&& fn) {
  if (rows <= 0) return;
  const int threads = parallel_threads(rows, work_per_row);
  if (threads <= 1) {
    fn(Index(0), rows);
    return;
  }
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
  {
    const auto [begin, end] = thread_share(rows, omp_get_thread_num(), omp_get_num_threads());
    if (begin < end) fn(begin, end);
  }
#endif
}

/// Calls fn(t, threads) once for each t in [0, threads), on `threads` threads when OpenMP is
/// enabled and threads > 1 (else in order on the calling thread).
template <typename F>
void parallel_team(int threads, F&& fn) {
#ifdef _OPENMP
  if (threads > 1) {
#pragma omp parallel num_threads(threads)
    fn(omp_get_thread_num(), omp_get_num_threads());
    return;
  }
#endif
  for (int t = 0; t < threads; ++t) fn(t, threads);
}

/// Rows [begin, end) of a row-major matrix (a contiguous block).
template <typename M>
auto row_range(M& m, Index begin, Index end) {
  return m.middleRows(begin, end - begin);
}

}  // namespace detail
}  // namespace grokscope
