// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Sweeps: a grid of named axes × seeds, a resumable runner that calls your function once per
/// point (a small pool of worker threads, or one shard of a job array), and the combined table.
///
/// Every point has a stable id built from its axis values and seed (`weight_decay=0.03_fraction=0.4_seed=0`),
/// its own folder OUT/points/<id>/ for your run's files, and a result file OUT/points/<id>/result.json
/// that the runner writes through a temporary file and a rename: a point is finished exactly when
/// its result.json exists, is a complete record of that point and says `"complete": true`, so a
/// killed sweep never leaves a result that looks finished, and a damaged or foreign record is
/// reported and redone. A rerun skips finished points (a point that ended in `diverged` is
/// finished; one whose function threw is recorded with status `error` and its message, and is
/// retried by the next run). The combined table OUT/results.csv and OUT/results.json has one row
/// per finished point (axes, seed, status, verdict, t_mem, t_grok, gap, final metrics; results.json also Liu et al.'s
/// phase) and the seeds of each configuration aggregated with the detectors' multi-seed summary.
///
/// Sharding for job arrays: `SweepOptions::shard_index / shard_count` (or, when both are left at
/// their defaults, SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT from the environment) run the
/// points whose index ≡ shard_index (mod shard_count); any shard can rebuild the combined table
/// from the result files (`collect_sweep`).

#include <grokscope/core/check.hpp>
#include <grokscope/core/config.hpp>
#include <grokscope/detect/grokking.hpp>
#include <grokscope/detect/phase.hpp>
#include <grokscope/io/csv.hpp>
#include <grokscope/train/trainer.hpp>

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace grokscope {

/// One point of a sweep: its axis values, seed, stable id and folder.
struct SweepPoint {
  Index index = 0;                ///< position in the grid's order (for sharding)
  nlohmann::ordered_json params;  ///< axis name -> value (number or string)
  std::uint64_t seed = 0;
  std::string id;           ///< stable, readable, file-name safe
  std::string dir;          ///< OUT/points/<id> (set by the runner)
  std::string fingerprint;  ///< SweepOptions::fingerprint (set by the runner; written to result.json)

  /// A numeric axis value; std::invalid_argument naming the axis if absent or not a number.
  double number(const std::string& axis) const {
    require(params.contains(axis) && params[axis].is_number(), "SweepPoint::number",
            "point " + id + " has no numeric axis '" + axis + "'");
    return params[axis].get<double>();
  }
  /// A string axis value.
  std::string text(const std::string& axis) const {
    require(params.contains(axis) && params[axis].is_string(), "SweepPoint::text",
            "point " + id + " has no string axis '" + axis + "'");
    return params[axis].get<std::string>();
  }
};

/// What a point's function reports: the training result (history, status, detector report) and
/// any extra scalar metrics for the table.
struct SweepOutcome {
  TrainResult result;
  Record extra;
};

/// Axes (cartesian product), explicit points and seeds (seeds alone: one configuration run with each).
class SweepGrid {
 public:
  /// A numeric axis.
  SweepGrid& axis(const std::string& name, const std::vector<double>& values) {
    std::vector<nlohmann::json> v(values.begin(), values.end());
    return add_axis(name, v);
  }
  /// A string axis (e.g. optimiser names).
  SweepGrid& axis(const std::string& name, const std::vector<std::string>& values) {
    std::vector<nlohmann::json> v(values.begin(), values.end());
    return add_axis(name, v);
  }
  /// An explicit point (axis name -> value), run in addition to the cartesian product.
  SweepGrid& point(const nlohmann::ordered_json& params);
  /// The seeds every configuration runs with (default {0}).
  SweepGrid& seeds(const std::vector<std::uint64_t>& s) {
    require(!s.empty(), "SweepGrid::seeds", "need at least one seed");
    m_seeds = s;
    return *this;
  }
  /// Seeds 0 .. n−1.
  SweepGrid& seeds(Index n) {
    require(n >= 1, "SweepGrid::seeds", "need at least one seed");
    m_seeds.clear();
    for (Index i = 0; i < n; ++i) m_seeds.push_back(static_cast<std::uint64_t>(i));
    return *this;
  }

  /// Every point in a fixed order: the cartesian product (first axis slowest), then the explicit
  /// points; seeds innermost.
  std::vector<SweepPoint> points() const;

  /// The id of a configuration and seed: axis=value pairs joined by '_', values printed in their
  /// shortest round-trip form, characters outside [A-Za-z0-9.+-=] replaced by '-'.
  static std::string point_id(const nlohmann::ordered_json& params, std::uint64_t seed);

 private:
  SweepGrid& add_axis(const std::string& name, const std::vector<nlohmann::json>& values);

  std::vector<std::pair<std::string, std::vector<nlohmann::json>>> m_axes;
  std::vector<nlohmann::ordered_json> m_points;
  std::vector<std::uint64_t> m_seeds{0};
};

/// How a sweep runs.
struct SweepOptions {
  std::string out_dir = "runs/sweep";
  Index workers = 1;          ///< points run at once on threads (Eigen runs single-threaded when > 1)
  Index shard_index = 0;      ///< this shard ...
  Index shard_count = 1;      ///< ... of this many (1: no sharding; see the file comment for SLURM)
  bool use_slurm_env = true;  ///< take the shard from SLURM_ARRAY_TASK_ID / _COUNT when not set here
  bool verbose = true;        ///< one line per point on stdout
  /// What the points run besides their axis values and seed (grokscope-run: a hash of the resolved
  /// base configuration). Written into each result.json; a finished result with another
  /// fingerprint (or none) is not resumed: the sweep refuses with std::runtime_error naming the
  /// folder, or redoes the point when `redo_mismatched`. Empty: not checked.
  std::string fingerprint;
  bool redo_mismatched = false;
};

/// What a sweep did.
struct SweepSummary {
  Index total = 0;               ///< points in the grid
  Index assigned = 0;            ///< points of this shard
  Index skipped = 0;             ///< already finished before this run
  Index damaged = 0;             ///< had a damaged result.json (named on stderr when verbose) and were redone
  Index ran = 0;                 ///< run now (including errors)
  Index errors = 0;              ///< run now and threw
  nlohmann::ordered_json table;  ///< the combined table (as written to results.json; MPI: rank 0 only)
  int rank = 0;                  ///< MPI rank of this process (0 without MPI)
};

namespace detail {

GROKSCOPE_DEFERRED void write_atomically(const std::string& path, const std::string& text);

enum class ReadJson { Ok, Absent, Damaged };

/// Reads a JSON file; Damaged (with the reason in `problem`) if it exists but is not readable JSON.
GROKSCOPE_DEFERRED ReadJson read_json(const std::string& path, nlohmann::ordered_json& out,
                                      std::string* problem = nullptr);

/// Why a point's result record cannot be used (a key missing or of the wrong type, another
/// point's id, seed or params), or "" when it has every key the table reads.
GROKSCOPE_DEFERRED std::string result_problem(const nlohmann::ordered_json& j, const SweepPoint& p);

/// Whether the point in `dir` has a usable, complete record whose status is not "error".
GROKSCOPE_DEFERRED bool finished(const std::string& dir, const SweepPoint& p);

GROKSCOPE_DEFERRED nlohmann::json opt_json(const std::optional<double>& v);

GROKSCOPE_DEFERRED nlohmann::ordered_json result_json(const SweepPoint& p, const SweepOutcome& o, double seconds);

GROKSCOPE_DEFERRED GrokVerdict verdict_from_name(const std::string& s);

GROKSCOPE_DEFERRED std::optional<double> opt_of(const nlohmann::ordered_json& j, const char* key);

}  // namespace detail

/// Reads every finished point of `grid` under `out_dir` and writes the combined table
/// (results.csv, results.json); returns the JSON. Points not finished yet are listed as missing;
/// a result.json that is not valid JSON, lacks a key, has a key of the wrong type or belongs to
/// another point is listed under "damaged" with its path and the problem, and left out of the
/// rows (run_sweep redoes it). It never throws on the contents of a result file.
GROKSCOPE_DEFERRED nlohmann::ordered_json collect_sweep(const SweepGrid& grid, const std::string& out_dir);

namespace detail {

/// Takes the shard from SLURM's array variables when the options leave it at its default; checks it.
GROKSCOPE_DEFERRED void resolve_shard(SweepOptions& o);

/// The unfinished points of this shard, with their folders set; counts total/assigned/skipped.
GROKSCOPE_DEFERRED std::vector<SweepPoint> pending_points(const SweepGrid& grid, const SweepOptions& o,
                                                          SweepSummary& s);

/// Runs one point and returns its result record; an exception from `fn` becomes status "error".
GROKSCOPE_DEFERRED nlohmann::ordered_json run_point(const std::function<SweepOutcome(const SweepPoint&)>& fn,
                                                    const SweepPoint& p);

/// The one-line log entry of a finished point.
GROKSCOPE_DEFERRED std::string point_line(const nlohmann::ordered_json& j);

}  // namespace detail

/// Runs `fn(point)` for every unfinished point of this shard, `workers` at a time, recording each
/// outcome atomically; then writes the combined table of every finished point. `fn` writes its
/// own files into point.dir (e.g. TrainConfig::out_dir = point.dir). Across several machines,
/// see run_sweep_mpi (grokscope/train/sweep_mpi.hpp).
GROKSCOPE_DEFERRED SweepSummary run_sweep(const SweepGrid& grid,
                                          const std::function<SweepOutcome(const SweepPoint&)>& fn,
                                          SweepOptions o = {});

}  // namespace grokscope

#if GROKSCOPE_HEADER_ONLY
#include <grokscope/train/detail/sweep-inl.hpp>
#endif
