// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Sweeps across machines with MPI: the same grid and point function as run_sweep, with the
/// points handed out dynamically by rank 0.
///
/// Optional: include this header only when building against an MPI implementation (CMake:
/// `find_package(MPI COMPONENTS CXX)` and link `MPI::MPI_CXX`); the rest of grokscope never needs
/// MPI. Every rank builds the same SweepGrid (the same command line); rank 0 checks that they
/// agree, then
///  - hands the next unfinished point to whichever rank asks (a rank asks again when its point is
///    done), so long and short points balance themselves;
///  - runs `workers` points itself on threads meanwhile (MPI calls stay on its main thread, so
///    MPI_THREAD_FUNNELED suffices; with less thread support rank 0 only hands out work);
///  - receives each point's result record and writes OUT/points/<id>/result.json through a
///    temporary file and a rename, so finished work survives a killed job and a rerun of the same
///    command skips it (exactly as run_sweep);
///  - writes the combined table OUT/results.csv and results.json.
/// The point function writes its own files (history.csv, summary.json) into point.dir on the rank
/// that runs it: give OUT on a file system the ranks share to keep them together.
///
/// Eigen's threads: ranks that share a node split its cores (Eigen::setNbThreads(cores / ranks on
/// the node), 1 on rank 0 when it runs several points at once), restored on return.
///
/// A failure of the runner itself on rank 0 (a result it cannot write) aborts the job with
/// MPI_Abort after printing the reason: the other ranks would otherwise wait for work forever.
/// A point whose function throws is, as in run_sweep, recorded with status "error" and retried by
/// the next run.

#include <grokscope/core/parallel.hpp>
#include <grokscope/train/sweep.hpp>

// Only MPI's C interface is used; skip the deprecated C++ bindings (they need libmpi_cxx).
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace grokscope {

/// True when this process was started by an MPI launcher (mpirun/mpiexec of Open MPI or MPICH,
/// srun with PMI/PMIx): lets one executable run a sweep locally or under MPI unchanged.
inline bool mpi_launched() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(v)) return true;
  return false;
}

/// MPI_Init_thread(MPI_THREAD_FUNNELED) for the life of the object, MPI_Finalize after; a no-op
/// pair when MPI is already initialised elsewhere.
class MpiSession {
 public:
  MpiSession(int& argc, char**& argv) {
    int init = 0;
    MPI_Initialized(&init);
    if (!init) {
      MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided_);
      owned_ = true;
    } else {
      MPI_Query_thread(&provided_);
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~MpiSession() {
    if (owned_) MPI_Finalize();
  }
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool root() const { return rank_ == 0; }
  int thread_support() const { return provided_; }

 private:
  bool owned_ = false;
  int provided_ = MPI_THREAD_SINGLE;
  int rank_ = 0;
  int size_ = 1;
};

namespace detail {

constexpr int kSweepTagResult = 7301;  // worker -> rank 0: a result record (empty: "give me work")
constexpr int kSweepTagWork = 7302;    // rank 0 -> worker: a point index, or -1 for "no more"

inline std::uint64_t fnv1a(const std::string& s, std::uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

/// Cores per rank on this node (at least 1).
inline int mpi_threads_per_rank(MPI_Comm comm) {
  MPI_Comm node;
  MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int local = 1;
  MPI_Comm_size(node, &local);
  MPI_Comm_free(&node);
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores / std::max(1, local));
}

[[noreturn]] inline void mpi_fail(MPI_Comm comm, const std::string& what) {
  std::fprintf(stderr, "run_sweep_mpi: %s\n", what.c_str());
  std::fflush(stderr);
  MPI_Abort(comm, 3);
  std::abort();
}

}  // namespace detail

/// Runs the sweep over the ranks of `comm` (MPI must be initialised, e.g. by MpiSession). Call it
/// on every rank with the same grid and options. Returns on every rank once all points are done;
/// the combined table (SweepSummary::table) is written and returned on rank 0 only. Sharding
/// (SweepOptions::shard_*, SLURM arrays) still applies: the ranks share the points of one shard.
/// With one rank this is run_sweep.
inline SweepSummary run_sweep_mpi(const SweepGrid& grid, const std::function<SweepOutcome(const SweepPoint&)>& fn,
                                  SweepOptions o = {}, MPI_Comm comm = MPI_COMM_WORLD) {
  int init = 0;
  MPI_Initialized(&init);
  require(init != 0, "run_sweep_mpi", "MPI is not initialised (create a grokscope::MpiSession first)");
  require(o.workers >= 1, "run_sweep_mpi", "workers must be >= 1");
  int rank = 0, size = 1, provided = MPI_THREAD_SINGLE;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  MPI_Query_thread(&provided);
  if (size == 1) return run_sweep(grid, fn, o);
  detail::resolve_shard(o);

  // Every rank must see the same points in the same order.
  const std::vector<SweepPoint> all = grid.points();
  std::uint64_t mine = detail::fnv1a(std::to_string(all.size()));
  for (const SweepPoint& p : all) mine = detail::fnv1a(p.id + "/" + o.out_dir, mine);
  std::uint64_t root_hash = mine;
  MPI_Bcast(&root_hash, 1, MPI_UINT64_T, 0, comm);
  int agree = root_hash == mine ? 1 : 0, all_agree = 0;
  MPI_Allreduce(&agree, &all_agree, 1, MPI_INT, MPI_MIN, comm);
  require(all_agree == 1, "run_sweep_mpi",
          "the ranks built different grids or output folders (run every rank with the same arguments)");

  // The limit, not Eigen::nbThreads(): the load may have lowered the count.
  const int eigen_threads = thread_limit();
  const int per_rank = detail::mpi_threads_per_rank(comm);
  SweepSummary s;
  s.rank = rank;

  if (rank != 0) {  // worker: ask, run, report, until told to stop
    set_thread_limit(per_rank);
    try {
      std::string msg;  // the first request carries no result
      for (;;) {
        MPI_Send(msg.data(), static_cast<int>(msg.size()), MPI_CHAR, 0, detail::kSweepTagResult, comm);
        long long index = -1;
        MPI_Recv(&index, 1, MPI_LONG_LONG, 0, detail::kSweepTagWork, comm, MPI_STATUS_IGNORE);
        if (index < 0) break;
        require(index < static_cast<long long>(all.size()), "run_sweep_mpi", "rank 0 sent a point outside the grid");
        SweepPoint p = all[static_cast<std::size_t>(index)];
        p.dir = o.out_dir + "/points/" + p.id;
        const nlohmann::ordered_json j = detail::run_point(fn, p);
        ++s.ran;
        if (j["status"] == "error") ++s.errors;
        msg = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      }
    } catch (const std::exception& e) {
      detail::mpi_fail(comm, "rank " + std::to_string(rank) + ": " + e.what());
    }
    set_thread_limit(eigen_threads);
    MPI_Barrier(comm);
    return s;
  }

  // rank 0: hand out points, run some itself, write every result
  const std::vector<SweepPoint> pending = detail::pending_points(grid, o, s);
  std::atomic<std::size_t> next{0};
  std::atomic<Index> ran{0}, errors{0};
  std::mutex out_mutex;
  std::exception_ptr fatal;
  auto record = [&](const nlohmann::ordered_json& j, const std::string& where) {
    const std::string dir = o.out_dir + "/points/" + j.value("id", std::string());
    std::filesystem::create_directories(dir);
    detail::write_atomically(dir + "/result.json",
                             j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    if (j["status"] == "error") ++errors;
    ++ran;
    if (o.verbose) {
      std::lock_guard<std::mutex> lock(out_mutex);
      std::printf("[%ld/%ld] %s (%s)\n", static_cast<long>(ran.load()), static_cast<long>(pending.size()),
                  detail::point_line(j).c_str(), where.c_str());
      std::fflush(stdout);
    }
  };
  const bool root_works = provided >= MPI_THREAD_FUNNELED;
  const Index local = root_works ? std::min<Index>(o.workers, static_cast<Index>(pending.size())) : 0;
  set_thread_limit(local > 1 ? 1 : per_rank);
  std::vector<std::thread> threads;
  for (Index t = 0; t < local; ++t)
    threads.emplace_back([&]() {
      try {
        for (std::size_t i = next++; i < pending.size(); i = next++)
          record(detail::run_point(fn, pending[i]), "rank 0");
      } catch (...) {
        std::lock_guard<std::mutex> lock(out_mutex);
        if (!fatal) fatal = std::current_exception();
      }
    });
  try {
    int active = size - 1;
    std::vector<char> buf;
    while (active > 0) {
      int flag = 0;
      MPI_Status st;
      MPI_Iprobe(MPI_ANY_SOURCE, detail::kSweepTagResult, comm, &flag, &st);
      if (!flag) {  // sleep rather than spin: the cores belong to the points
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        continue;
      }
      int count = 0;
      MPI_Get_count(&st, MPI_CHAR, &count);
      buf.resize(static_cast<std::size_t>(count) + 1);
      MPI_Recv(buf.data(), count, MPI_CHAR, st.MPI_SOURCE, detail::kSweepTagResult, comm, MPI_STATUS_IGNORE);
      if (count > 0) {
        nlohmann::ordered_json j;
        try {
          j = nlohmann::ordered_json::parse(buf.begin(), buf.begin() + count);
        } catch (const nlohmann::json::exception& e) {
          throw std::runtime_error("unreadable result from rank " + std::to_string(st.MPI_SOURCE) + ": " + e.what());
        }
        record(j, "rank " + std::to_string(st.MPI_SOURCE));
      }
      const std::size_t i = next++;
      long long index = i < pending.size() ? static_cast<long long>(pending[i].index) : -1;
      MPI_Send(&index, 1, MPI_LONG_LONG, st.MPI_SOURCE, detail::kSweepTagWork, comm);
      if (index < 0) --active;
    }
  } catch (const std::exception& e) {
    detail::mpi_fail(comm, e.what());
  }
  for (auto& t : threads) t.join();
  set_thread_limit(eigen_threads);
  if (fatal) {
    try {
      std::rethrow_exception(fatal);
    } catch (const std::exception& e) {
      detail::mpi_fail(comm, e.what());
    }
  }
  s.ran = ran.load();
  s.errors = errors.load();
  s.table = collect_sweep(grid, o.out_dir);
  MPI_Barrier(comm);
  return s;
}

}  // namespace grokscope
