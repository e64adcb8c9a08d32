#include <grokscope/train/sweep.hpp>

#include "../test_util.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

using namespace grokscope;

namespace {
// A point function without training: a synthetic grokking history whose t_grok depends on the
// axes, so the table and the aggregate can be checked exactly.
SweepOutcome synthetic(const SweepPoint& p) {
  const double wd = p.number("weight_decay"), frac = p.number("fraction");
  const double t_grok = std::round(10.0 + 10.0 * (1.0 - frac) / wd) * 10.0 + 10.0 * static_cast<double>(p.seed);
  SweepOutcome o;
  for (int s = 0; s <= 400; s += 10) {
    const double train = s >= 50 ? 1.0 : 0.1, test = s >= t_grok ? 1.0 : 0.05;
    o.result.history.add(Record{{"step", double(s)},
                                {"train_loss", 1.0 - train},
                                {"test_loss", 1.0 - test},
                                {"train_acc", train},
                                {"test_acc", test}});
  }
  o.result.report = detect_grokking(o.result.history.column("step"), o.result.history.column("train_acc"),
                                    o.result.history.column("test_acc"));
  o.extra = {{"wd_times_frac", wd * frac}};
  std::ofstream(p.dir + "/history.csv") << o.result.history.to_csv();
  return o;
}

SweepGrid grid() {
  SweepGrid g;
  g.axis("weight_decay", std::vector<double>{0.5, 1.0}).axis("fraction", std::vector<double>{0.3, 0.6}).seeds(2);
  return g;
}

SweepOptions quiet(const std::string& dir, Index workers = 1) {
  SweepOptions o;
  o.out_dir = dir;
  o.workers = workers;
  o.verbose = false;
  o.use_slurm_env = false;
  return o;
}
}  // namespace

TEST_CASE("a grid: cartesian product, explicit points, seeds, stable ids") {
  SweepGrid g = grid();
  g.point({{"weight_decay", 2.0}, {"fraction", 0.9}});
  const auto pts = g.points();
  REQUIRE(pts.size() == 10);
  CHECK(pts[0].id == "weight_decay=0.5_fraction=0.3_seed=0");
  CHECK(pts[1].id == "weight_decay=0.5_fraction=0.3_seed=1");
  CHECK(pts[2].id == "weight_decay=0.5_fraction=0.6_seed=0");
  CHECK(pts[9].id == "weight_decay=2_fraction=0.9_seed=1");
  CHECK(pts[9].index == 9);
  CHECK(pts[3].number("fraction") == 0.6);
  CHECK_THROWS_WITH_AS(pts[3].number("lr"), doctest::Contains("no numeric axis 'lr'"), std::invalid_argument);
  SweepGrid s;
  s.axis("optimizer", std::vector<std::string>{"adamw", "sgd/momentum"});
  CHECK(s.points()[1].id == "optimizer=sgd-momentum_seed=0");
  CHECK(s.points()[1].text("optimizer") == "sgd/momentum");
  CHECK_THROWS_AS(SweepGrid().axis("x", std::vector<double>{}), std::invalid_argument);
  CHECK_THROWS_AS(SweepGrid().axis("seed", std::vector<double>{1}), std::invalid_argument);
  CHECK_THROWS_AS(SweepGrid().axis("x", std::vector<double>{1}).axis("x", std::vector<double>{2}),
                  std::invalid_argument);
  // seeds alone: one configuration, run with each seed
  const auto seeds_only = SweepGrid().seeds(std::vector<std::uint64_t>{3, 7}).points();
  REQUIRE(seeds_only.size() == 2);
  CHECK(seeds_only[0].id == "seed=3");
  CHECK(seeds_only[1].params.empty());
  CHECK(SweepGrid().points().size() == 1);  // seed 0 by default
  CHECK_THROWS_AS(SweepGrid().axis("x", std::vector<double>{1, 1}).points(), std::invalid_argument);  // same id
}

TEST_CASE("run_sweep writes one result per point and the combined table; workers give the same table") {
  const std::string a = test::tmp_path("sweep_one"), b = test::tmp_path("sweep_two");
  std::filesystem::remove_all(a);
  std::filesystem::remove_all(b);
  const SweepSummary s1 = run_sweep(grid(), synthetic, quiet(a, 1));
  const SweepSummary s2 = run_sweep(grid(), synthetic, quiet(b, 2));
  CHECK(s1.total == 8);
  CHECK(s1.ran == 8);
  CHECK(s1.skipped == 0);
  CHECK(s2.ran == 8);
  const std::string csv = test::slurp(a + "/results.csv");
  CHECK(csv == test::slurp(b + "/results.csv"));
  CHECK(
      csv.rfind("id,weight_decay,fraction,seed,status,verdict,t_mem,t_grok,gap,train_loss,test_loss,train_acc,test_acc,"
                "wd_times_frac\n",
                0) == 0);
  CHECK(csv.find("weight_decay=1_fraction=0.6_seed=1,1,0.6,1,completed,grokked,50,") != std::string::npos);
  const auto& agg = s1.table["aggregate"];
  REQUIRE(agg.size() == 4);
  CHECK(agg[0]["summary"]["runs"] == 2);
  CHECK(agg[0]["summary"]["verdicts"]["grokked"] == 2);
  CHECK(std::filesystem::exists(a + "/points/weight_decay=0.5_fraction=0.3_seed=0/history.csv"));
  CHECK(std::filesystem::exists(a + "/results.json"));
}

TEST_CASE("a killed sweep resumes: finished points are skipped, unfinished and failed ones are redone") {
  const std::string dir = test::tmp_path("sweep_resume");
  std::filesystem::remove_all(dir);
  std::atomic<int> calls{0};
  // first run: the third point throws, like a crash in the middle of the sweep
  auto flaky = [&](const SweepPoint& p) {
    ++calls;
    if (p.index == 2) throw std::runtime_error("out of memory");
    return synthetic(p);
  };
  const SweepSummary s1 = run_sweep(grid(), flaky, quiet(dir));
  CHECK(s1.errors == 1);
  CHECK(test::slurp(dir + "/points/weight_decay=0.5_fraction=0.6_seed=0/result.json").find("out of memory") !=
        std::string::npos);
  CHECK(test::slurp(dir + "/results.csv").find(",error,") != std::string::npos);
  // simulate a kill: one point's result is half-written (only the temporary file), another's
  // result.json is truncated
  const std::string p5 = dir + "/points/weight_decay=1_fraction=0.3_seed=1";
  std::filesystem::rename(p5 + "/result.json", p5 + "/result.json.tmp");
  const std::string p7 = dir + "/points/weight_decay=1_fraction=0.6_seed=1/result.json";
  const std::string full = test::slurp(p7);
  std::ofstream(p7, std::ios::trunc) << full.substr(0, full.size() / 2);
  calls = 0;
  std::vector<Index> redone;
  std::mutex m;
  const SweepSummary s2 = run_sweep(
      grid(),
      [&](const SweepPoint& p) {
        std::lock_guard<std::mutex> lock(m);
        redone.push_back(p.index);
        return synthetic(p);
      },
      quiet(dir));
  CHECK(s2.skipped == 5);
  CHECK(s2.ran == 3);
  std::sort(redone.begin(), redone.end());
  CHECK(redone == std::vector<Index>{2, 5, 7});
  // the table now equals that of an uninterrupted sweep
  const std::string clean = test::tmp_path("sweep_clean");
  std::filesystem::remove_all(clean);
  run_sweep(grid(), synthetic, quiet(clean));
  CHECK(test::slurp(dir + "/results.csv") == test::slurp(clean + "/results.csv"));
  // a third run does nothing
  CHECK(run_sweep(grid(), synthetic, quiet(dir)).ran == 0);
}

TEST_CASE("shards split the points disjointly and any shard can collect the whole table") {
  const std::string dir = test::tmp_path("sweep_shards");
  std::filesystem::remove_all(dir);
  std::set<Index> seen;
  for (Index i = 0; i < 3; ++i) {
    SweepOptions o = quiet(dir);
    o.shard_index = i;
    o.shard_count = 3;
    std::vector<Index> mine;
    const SweepSummary s = run_sweep(
        grid(),
        [&](const SweepPoint& p) {
          mine.push_back(p.index);
          return synthetic(p);
        },
        o);
    CHECK(s.assigned == static_cast<Index>(mine.size()));
    for (Index k : mine) {
      CHECK(k % 3 == i);
      CHECK(seen.insert(k).second);
    }
  }
  CHECK(seen.size() == 8);
  const nlohmann::ordered_json t = collect_sweep(grid(), dir);
  CHECK(t["finished"] == 8);
  CHECK(t["missing"].empty());
  SweepOptions bad = quiet(dir);
  bad.shard_index = 3;
  bad.shard_count = 3;
  CHECK_THROWS_AS(run_sweep(grid(), synthetic, bad), std::invalid_argument);
}

TEST_CASE("a damaged result.json is reported by path, left out of the table and redone, never a crash") {
  const std::string dir = test::tmp_path("sweep_damaged");
  std::filesystem::remove_all(dir);
  run_sweep(grid(), synthetic, quiet(dir));
  const std::vector<SweepPoint> pts = grid().points();
  const std::string file = dir + "/points/" + pts[3].id + "/result.json";
  const nlohmann::ordered_json good = nlohmann::ordered_json::parse(test::slurp(file));
  const std::string good_csv = test::slurp(dir + "/results.csv");
  // Each damage in turn: a key the table reads removed, a key of the wrong type, another
  // point's record, text that is not JSON, a folder where the file should be.
  std::vector<std::pair<std::string, std::string>> cases;  // damaged text, expected problem
  for (const char* key : {"complete", "id", "params", "seed", "status", "verdict", "t_mem", "t_grok", "gap", "final"}) {
    nlohmann::ordered_json j = good;
    j.erase(key);
    cases.emplace_back(j.dump(), std::string("no '") + key + "'");
  }
  auto with = [&](const char* key, nlohmann::ordered_json v) {
    nlohmann::ordered_json j = good;
    j[key] = std::move(v);
    return j.dump();
  };
  cases.emplace_back(with("id", 5), "'id' is not a string");
  cases.emplace_back(with("complete", "yes"), "'complete' is not true or false");
  cases.emplace_back(with("seed", -1), "'seed' is not a non-negative integer");
  cases.emplace_back(with("t_grok", "soon"), "'t_grok' is not a number or null");
  cases.emplace_back(with("final", {{"test_acc", "high"}}), "final 'test_acc' is not a number or null");
  cases.emplace_back(with("id", pts[0].id), "is not this point's");
  cases.emplace_back(with("params", {{"weight_decay", 7}}), "its params are not this point's");
  cases.emplace_back("[1, 2, 3]", "not a JSON object");
  cases.emplace_back(std::string("\x89PNG\r\n\x1a\n\0\0", 10), "not valid JSON");
  for (const auto& [text, problem] : cases) {
    CAPTURE(problem);
    std::ofstream(file, std::ios::trunc) << text;
    nlohmann::ordered_json table;
    REQUIRE_NOTHROW(table = collect_sweep(grid(), dir));
    CHECK(table["finished"] == pts.size() - 1);
    REQUIRE(table["damaged"].size() == 1);
    CHECK(table["damaged"][0]["path"] == file);
    CHECK(table["damaged"][0]["problem"].get<std::string>().find(problem) != std::string::npos);
    // run_sweep redoes exactly that point and the table is whole again
    std::vector<Index> redone;
    const SweepSummary s = run_sweep(
        grid(),
        [&](const SweepPoint& p) {
          redone.push_back(p.index);
          return synthetic(p);
        },
        quiet(dir));
    CHECK(s.damaged == 1);
    CHECK(redone == std::vector<Index>{3});
    CHECK(s.table["damaged"].empty());
    CHECK(test::slurp(dir + "/results.csv") == good_csv);
  }
  std::filesystem::remove(file);
  std::filesystem::create_directories(file);
  const nlohmann::ordered_json table = collect_sweep(grid(), dir);
  REQUIRE(table["damaged"].size() == 1);
  CHECK(table["damaged"][0]["problem"] == "not a regular file");
}

TEST_CASE("a point whose error message is not UTF-8 is recorded, not fatal to the sweep") {
  const std::string dir = test::tmp_path("sweep_bad_utf8");
  std::filesystem::remove_all(dir);
  const SweepSummary s = run_sweep(
      grid(),
      [](const SweepPoint& p) -> SweepOutcome {
        if (p.index == 1) throw std::runtime_error("bad bytes \xff\xfe here");
        return synthetic(p);
      },
      quiet(dir));
  CHECK(s.errors == 1);
  CHECK(s.ran == 8);
  CHECK(s.table["finished"] == 8);
}
