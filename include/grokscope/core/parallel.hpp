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
///
/// Shared machines. A parallel region waits for its slowest thread, and a thread whose core is
/// taken by another job waits for a time slice, so on 2 cores with one other busy process two
/// threads were 8 times slower than one. With OpenMP on Linux the thread count therefore follows
/// the load: at most every 50 ms (on the next loop or NTK call) grokscope counts the runnable
/// threads of other processes (/proc/stat's procs_running less this process's own running
/// threads; a core counts as taken when two samples in a row say so) and uses at most the cores
/// they leave free, never fewer than one and never more than the limit you set: set_thread_limit
/// (below), or Eigen::setNbThreads / OMP_NUM_THREADS. It applies the count with Eigen::setNbThreads,
/// so Eigen's GEMMs follow too; a later Eigen::setNbThreads is read as the new limit when it changes
/// the count, but one that sets the count the load has already brought it to cannot be told from
/// the budget's own setting: set_thread_limit is always taken as the limit. Set
/// GROKSCOPE_ADAPT_THREADS=0 to switch this off (for instance on a machine whose /proc shows other
/// tenants' processes); it is off by itself where /proc/stat's CPUs differ from the ones this
/// process may run on.

#include <grokscope/core/check.hpp>
#include <grokscope/core/types.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__linux__)
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>
#endif

namespace grokscope {
namespace detail {

#if defined(_OPENMP) && defined(__linux__)
// Reads a small /proc file into buf (NUL-terminated); the number of bytes, or -1.
inline long read_proc(const char* path, char* buf, long size) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  long got = 0;
  while (got < size - 1) {
    const long r = static_cast<long>(::read(fd, buf + got, static_cast<std::size_t>(size - 1 - got)));
    if (r <= 0) break;
    got += r;
  }
  ::close(fd);
  buf[got] = '\0';
  return got;
}

// This process's threads in state R. The directory is read with getdents64 into a stack
// buffer (opendir would allocate 32 KB on every refresh).
inline int own_running_threads() {
  int own = 0;
  const int fd = ::open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return 0;
  alignas(8) char entries[4096];
  char path[64], st[512];
  for (;;) {
    const long got = static_cast<long>(::getdents64(fd, entries, sizeof entries));
    if (got <= 0) break;
    for (long off = 0; off < got;) {
      const auto* e = reinterpret_cast<const dirent64*>(entries + off);
      off += e->d_reclen;
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      std::snprintf(path, sizeof path, "/proc/self/task/%.20s/stat", e->d_name);
      if (read_proc(path, st, sizeof st) <= 0) continue;
      const char* close = std::strrchr(st, ')');  // "tid (comm) S ...": comm may hold spaces
      if (close && close[1] == ' ' && close[2] == 'R') ++own;
    }
  }
  ::close(fd);
  return own;
}

// Cores this process may use, and how many of them other processes' runnable threads occupy
// now; {0, 0} when that cannot be told (no /proc, or /proc/stat describes other CPUs).
inline std::pair<int, int> cores_and_busy() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return {0, 0};
  const int cores = CPU_COUNT(&set);
  const int own_before = own_running_threads();
  // /proc/stat: about 150 bytes per CPU; the buffer is the thread's, allocated once
  static thread_local std::unique_ptr<char[]> storage(new char[1 << 16]);
  char* buf = storage.get();
  if (read_proc("/proc/stat", buf, 1 << 16) <= 0) return {0, 0};
  int cpus = 0;
  for (const char* p = buf; (p = std::strstr(p, "\ncpu")) != nullptr; ++p) ++cpus;  // "cpuN" lines
  const char* r = std::strstr(buf, "procs_running ");
  if (!r || cpus != cores) return {0, 0};
  const int running = std::atoi(r + 14);
  // This process's own threads in state R (the caller, busy or spinning OpenMP workers), counted
  // before and after /proc/stat was read: a worker that went to sleep in between still counts.
  const int own = std::max(own_before, own_running_threads());
  return {cores, std::max(0, running - std::max(own, 1))};
}

struct ThreadBudget {
  std::atomic<long long> next_ns{0};
  std::atomic<int> base{-1};     // the limit: the count the user (or OpenMP) set
  std::atomic<int> applied{-1};  // the count this budget last set
  std::atomic<int> busy_before{0};
  std::atomic<int> enabled{-1};
};

inline ThreadBudget& thread_budget() {
  static ThreadBudget b;
  return b;
}
#endif

/// Busy cores seen by the load-aware thread count: {cores this process may use, cores other
/// processes' runnable threads occupy}; {0, 0} where it cannot tell (not Linux, no OpenMP).
inline std::pair<int, int> load_snapshot() {
#if defined(_OPENMP) && defined(__linux__)
  return cores_and_busy();
#else
  return {0, 0};
#endif
}

/// Applies the load-aware thread count (see the file comment); cheap between refreshes.
inline void refresh_thread_budget() {
#if defined(_OPENMP) && defined(__linux__)
  ThreadBudget& b = thread_budget();
  if (b.enabled < 0) {
    const char* env = std::getenv("GROKSCOPE_ADAPT_THREADS");
    b.enabled = !(env && env[0] == '0');
    b.applied = -1;
  }
  if (!b.enabled || omp_in_parallel()) return;
  const long long now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  long long next = b.next_ns.load(std::memory_order_relaxed);
  if (now < next || !b.next_ns.compare_exchange_strong(next, now + 50'000'000)) return;
  const int current = Eigen::nbThreads();
  if (current != b.applied.load()) b.base = current;  // set by the user since: their new maximum
  const auto [cores, busy_now] = cores_and_busy();
  if (cores == 0) return;
  // A core counts as taken when two samples in a row (50 ms apart) say so: kernel threads and
  // short-lived processes are runnable for moments, a competing job stays.
  const int busy = std::min(busy_now, b.busy_before.exchange(busy_now));
  const int want = std::max(1, std::min(b.base.load(), cores - busy));
  if (want != current) Eigen::setNbThreads(want);
  b.applied = want;
#endif
}

/// Below this many scalar operations per thread a loop stays on the calling thread: starting a
/// parallel region costs a few microseconds.
inline constexpr Index kParallelGrain = Index(1) << 14;

/// Threads a loop of `rows` rows costing about `work_per_row` scalar operations each would use.
inline int parallel_threads(Index rows, Index work_per_row) {
#ifdef _OPENMP
  if (rows < 2 || omp_in_parallel()) return 1;
  refresh_thread_budget();
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

/// Switches the load-aware thread count on or off for the whole process (on by default, off
/// with GROKSCOPE_ADAPT_THREADS=0). Off leaves Eigen::nbThreads() as it is now; on starts from
/// the current count as the maximum, and the next refresh follows the load at once.
inline void adapt_threads_to_load(bool on) {
#if defined(_OPENMP) && defined(__linux__)
  detail::ThreadBudget& b = detail::thread_budget();
  b.enabled = on ? 1 : 0;
  b.applied = -1;
  b.busy_before = 0;
  b.next_ns = 0;
#else
  (void)on;
#endif
}

/// The most threads grokscope's loops and Eigen's GEMMs may use now: the limit the load-aware
/// count keeps to (see the file comment), which may be more than Eigen::nbThreads() while other
/// processes take cores. Save and restore this, not Eigen::nbThreads(), around a section that
/// needs another count.
inline int thread_limit() {
#if defined(_OPENMP) && defined(__linux__)
  const detail::ThreadBudget& b = detail::thread_budget();
  const int current = Eigen::nbThreads();
  const int base = b.base.load();
  if (b.enabled.load() > 0 && base > 0 && current == b.applied.load()) return base;
  return current;
#else
  return Eigen::nbThreads();
#endif
}

/// Sets the limit of thread_limit() (and Eigen::setNbThreads(n)): the load-aware count never goes
/// above it. Unlike a bare Eigen::setNbThreads, it is taken as the limit even when n equals the
/// count the load had already brought Eigen to. n must be at least 1.
inline void set_thread_limit(int n) {
  require(n >= 1, "set_thread_limit", "the thread limit must be at least 1, got " + std::to_string(n));
  Eigen::setNbThreads(n);
#if defined(_OPENMP) && defined(__linux__)
  detail::ThreadBudget& b = detail::thread_budget();
  b.base = n;
  b.applied = n;  // the next refresh sees no change of Eigen's count and keeps n as the limit
  b.next_ns = 0;  // and follows the load at once
#endif
}

}  // namespace grokscope
