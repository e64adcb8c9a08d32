// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// A phase diagram of the flagship experiment: Gromov's quadratic MLP on (a + b) mod p, trained
// with full-batch AdamW, over weight decay × training fraction × seeds (Liu et al.'s Omnigrok
// diagrams: comprehension / grokking / memorisation / confusion). Every point is one run of
// grokscope::run_sweep: resumable (rerun the same command after a kill and only unfinished points
// run), parallel over --workers threads, and shardable for job arrays (--shard i/n, or SLURM's
// array variables). Built with MPI (when CMake finds it), the same command under mpirun spreads
// the points over the ranks: `mpirun -np 8 phase_diagram --out runs/pd` (rank 0 hands out points
// and writes the table).
//
// Writes OUT/points/<id>/{history.csv, summary.json, result.json}, OUT/results.csv,
// OUT/results.json and OUT/phase_diagram.png (tools/plot_phase_diagram.py). --quick runs a 2 × 2
// grid with one seed (p = 23) and exits 1 unless all four points completed and the point of
// modular_addition --quick (weight decay 0.1, fraction 0.6) grokked.

#include <grokscope/grokscope.hpp>

#include <grokscope/train/sweep.hpp>
#include "common.hpp"
#ifdef GROKSCOPE_WITH_MPI
#include <grokscope/train/sweep_mpi.hpp>

#include <memory>
#endif

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  using namespace grokscope;
  CLI::App app{"Phase diagram of grokking on (a + b) mod p over weight decay x training fraction", "phase_diagram"};
  std::vector<double> wds{0.0, 0.01, 0.03, 0.1, 0.3}, fractions{0.2, 0.3, 0.4, 0.6, 0.8};
  Index p = 59, width = 512, steps = 8000, eval_every = 100, seeds = 1, workers = 1;
  double lr = 3e-3;
  std::string out = "runs/phase_diagram", shard;
  bool quick = false, no_plot = false;
  app.add_option("--weight-decays", wds, "AdamW weight decays (one axis)")->capture_default_str();
  app.add_option("--fractions", fractions, "training fractions (the other axis)")->capture_default_str();
  app.add_option("--seeds", seeds, "seeds per configuration")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--p", p, "modulus")->check(CLI::Range(2, 100000))->capture_default_str();
  app.add_option("--width", width, "hidden width")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--lr", lr, "AdamW learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--steps", steps, "full-batch steps per run")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--eval-every", eval_every, "evaluation interval")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--workers", workers, "runs at once (threads)")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--shard", shard, "run shard i of n (i/n) of the points, e.g. for a job array");
  app.add_option("--out", out, "output folder")->capture_default_str();
  app.add_flag("--quick", quick, "2 x 2 grid, one seed, p 23 (the CTest run)");
  app.add_flag("--no-plot", no_plot, "do not call tools/plot_phase_diagram.py");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (quick) {
    wds = {0.1, 0.3}, fractions = {0.6, 0.8};
    p = 23, width = 200, lr = 5e-3, steps = 3000, eval_every = 50, seeds = 1;
  }
  try {
    bool root = true;
#ifdef GROKSCOPE_WITH_MPI
    std::unique_ptr<MpiSession> mpi;
    if (mpi_launched()) {
      mpi = std::make_unique<MpiSession>(argc, argv);
      root = mpi->root();
    }
#endif
    SweepOptions so;
    so.out_dir = out;
    so.workers = workers;
    if (!shard.empty()) {
      const auto slash = shard.find('/');
      require(slash != std::string::npos, "phase_diagram", "--shard must be i/n, got '" + shard + "'");
      so.shard_index = std::stol(shard.substr(0, slash));
      so.shard_count = std::stol(shard.substr(slash + 1));
    }
    SweepGrid grid;
    grid.axis("weight_decay", wds).axis("fraction", fractions).seeds(seeds);
    const Dataset full = modular_dataset({ModOp::Add, p, ModEncoding::PairIndices});
    auto run_point = [&](const SweepPoint& pt) {
      examples::FlagshipRun r;
      r.p = p, r.width = width, r.lr = lr, r.steps = steps, r.eval_every = eval_every;
      r.fraction = pt.number("fraction"), r.weight_decay = pt.number("weight_decay");
      r.seed = pt.seed, r.out_dir = pt.dir;
      SweepOutcome o;
      o.result = examples::run_flagship(full, r);
      return o;
    };
    if (root)
      std::printf("phase_diagram: %zu weight decays x %zu fractions x %ld seeds, p = %ld, %ld steps, %ld workers\n",
                  wds.size(), fractions.size(), static_cast<long>(seeds), static_cast<long>(p),
                  static_cast<long>(steps), static_cast<long>(workers));
#ifdef GROKSCOPE_WITH_MPI
    const SweepSummary s = mpi ? run_sweep_mpi(grid, run_point, so) : run_sweep(grid, run_point, so);
    if (root && mpi && mpi->size() > 1) std::printf("(%d MPI ranks)\n", mpi->size());
#else
    const SweepSummary s = run_sweep(grid, run_point, so);
#endif
    if (!root) return s.errors == 0 ? 0 : 1;
    std::printf("%ld points in this shard: %ld already finished, %ld run now (%ld errors); table has %zu of %ld\n",
                static_cast<long>(s.assigned), static_cast<long>(s.skipped), static_cast<long>(s.ran),
                static_cast<long>(s.errors), s.table["rows"].size(), static_cast<long>(s.total));
    std::printf("wrote %s/results.csv and results.json\n", out.c_str());
    if (!no_plot && s.table["missing"].empty()) {
      examples::plot("plot_phase_diagram.py", out, "phase_diagram.png");
    }
    if (quick) {
      bool ok = s.errors == 0 && s.table["rows"].size() == 4;
      for (const auto& r : s.table["rows"]) {
        ok = ok && r["status"] == "completed";
        if (r["params"]["weight_decay"] == 0.1 && r["params"]["fraction"] == 0.6) ok = ok && r["verdict"] == "grokked";
      }
      if (!ok) {
        std::fprintf(stderr, "phase_diagram: --quick expected 4 completed points and (0.1, 0.6) grokked\n");
        return 1;
      }
    }
    return s.errors == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "phase_diagram: %s\n", e.what());
    return 2;
  }
}
