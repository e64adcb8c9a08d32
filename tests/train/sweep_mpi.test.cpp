// run_sweep_mpi (train/sweep_mpi.hpp) under `mpirun -np 2`: its own executable, with a main that
// starts MPI before doctest runs the cases (every rank runs every case, in order, so the
// collective calls inside run_sweep_mpi meet). Built only when CMake finds MPI.
#define DOCTEST_CONFIG_IMPLEMENT
#include <grokscope/train/sweep_mpi.hpp>

#include "../test_util.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

using namespace grokscope;

namespace {
int g_rank = 0, g_size = 1;

SweepOutcome synthetic(const SweepPoint& p) {
  const double wd = p.number("wd");
  const double t_grok = 100.0 + 1000.0 * wd + 10.0 * static_cast<double>(p.seed);
  SweepOutcome o;
  for (int s = 0; s <= 2000; s += 20)
    o.result.history.add(Record{{"step", double(s)},
                                {"train_loss", 0.0},
                                {"test_loss", 0.0},
                                {"train_acc", s >= 60 ? 1.0 : 0.1},
                                {"test_acc", s >= t_grok ? 1.0 : 0.05}});
  o.result.report = detect_grokking(o.result.history.column("step"), o.result.history.column("train_acc"),
                                    o.result.history.column("test_acc"));
  o.extra = {{"rank", static_cast<double>(g_rank)}};
  return o;
}

SweepGrid grid() {
  SweepGrid g;
  g.axis("wd", std::vector<double>{0.1, 0.3, 0.5, 1.0}).seeds(2);
  return g;
}

SweepOptions quiet(const std::string& dir) {
  SweepOptions o;
  o.out_dir = dir;
  o.verbose = false;
  o.use_slurm_env = false;
  return o;
}

Index sum_over_ranks(Index v) {
  long long x = v, total = 0;
  MPI_Allreduce(&x, &total, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
  return static_cast<Index>(total);
}
}  // namespace

TEST_CASE("launched by mpirun with two ranks") {
  CHECK(mpi_launched());
  CHECK(g_size == 2);
}

TEST_CASE("every point runs exactly once across the ranks, and the table equals a local sweep's") {
  const std::string dir = test::tmp_path("sweep_mpi"), local = test::tmp_path("sweep_mpi_local");
  if (g_rank == 0) std::filesystem::remove_all(dir), std::filesystem::remove_all(local);
  MPI_Barrier(MPI_COMM_WORLD);
  const SweepSummary s = run_sweep_mpi(grid(), synthetic, quiet(dir));
  CHECK(s.rank == g_rank);
  // rank 0 records every point (its own and the workers'); a worker counts the points it ran
  const Index by_workers = sum_over_ranks(g_rank == 0 ? 0 : s.ran);
  if (g_rank == 0) {
    CHECK(s.ran == 8);
    CHECK(by_workers <= 8);
    CHECK(s.total == 8);
    CHECK(s.table["finished"] == 8);
    CHECK(s.table["damaged"].empty());
    run_sweep(grid(), synthetic, quiet(local));
    // identical apart from the rank column, which says where each point ran
    const auto rows = s.table["rows"], ref = collect_sweep(grid(), local)["rows"];
    REQUIRE(rows.size() == ref.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      CHECK(rows[i]["id"] == ref[i]["id"]);
      CHECK(rows[i]["verdict"] == ref[i]["verdict"]);
      CHECK(rows[i]["t_grok"] == ref[i]["t_grok"]);
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
  // a rerun skips everything
  const SweepSummary again = run_sweep_mpi(grid(), synthetic, quiet(dir));
  CHECK(sum_over_ranks(again.ran) == 0);
  if (g_rank == 0) CHECK(again.skipped == 8);
}

TEST_CASE("a damaged result.json is redone under MPI too, and the table is whole again") {
  const std::string dir = test::tmp_path("sweep_mpi");  // left finished by the previous case
  const std::vector<SweepPoint> pts = grid().points();
  const std::string file = dir + "/points/" + pts[5].id + "/result.json";
  if (g_rank == 0) std::ofstream(file, std::ios::trunc) << R"({"complete": true, "id": 5})";
  MPI_Barrier(MPI_COMM_WORLD);
  const SweepSummary s = run_sweep_mpi(grid(), synthetic, quiet(dir));
  if (g_rank == 0) {
    CHECK(s.ran == 1);
    CHECK(s.damaged == 1);
    CHECK(s.table["finished"] == 8);
    CHECK(s.table["damaged"].empty());
    CHECK(test::slurp(file).find("\"verdict\"") != std::string::npos);
  }
}

int main(int argc, char** argv) {
  MpiSession mpi(argc, argv);
  g_rank = mpi.rank();
  g_size = mpi.size();
  doctest::Context ctx(argc, argv);
  if (g_rank != 0) ctx.setOption("out", "/dev/null");  // one report, from rank 0
  const int failed = ctx.run();
  int any = failed != 0, all = 0;
  MPI_Allreduce(&any, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return all;
}
