// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// Explaining grokking through circuit efficiency (Varma et al. 2023, arXiv 2309.02390): a
// memorising circuit's parameter norm at convergence grows with the training-set size D while a
// generalising circuit's does not, so they cross at D_crit; a grokked network continued on a set
// smaller than D_crit "ungroks" (test accuracy falls while train accuracy stays 1), and near D_crit
// training "semi-groks" (test accuracy stalls part-way).
//
// Their setup (REFERENCES, notes/peer-semantics-2 §Varma): (a + b) mod 113, a one-layer transformer
// (d_model 128, 4 heads of 32, d_mlp 512), AdamW (0.9, 0.98), lr 1e-3, weight decay 1, full batch;
// ungrokking from a network trained on the full set, 7 geometric sizes D' in [390, 1494], 10 seeds;
// semi-grokking at D = 1532 (12 % of 12 769 pairs). The scale here fits a laptop: p = --p (47) with
// Nanda et al.'s transformer, the same optimiser, sizes as fractions of the p² pairs.
//
//   (i)   norm at convergence: for each of --sizes geometric sizes in [--d-min, --d-max] × p², a run
//         with random labels (random_labels: memorisation only) and one with the true labels, each
//         until the parameter norm converges (ConvergenceRule: relative change below --tol over
//         --window evaluations every --eval steps, at most --max-steps); D_crit = crossover_size.
//   (ii)  ungrokking: per seed, a network trained on --full of the pairs until it groks (test
//         accuracy >= 0.99), then continued for --continue steps on each of 7 nested subsets
//         (geometric, from D_crit / 3 to 3 D_crit, capped by the full set); final test accuracy.
//   (iii) semi-grokking: a run from scratch at D_crit for --semi-steps; the longest plateau of test
//         accuracy between 0.2 and 0.9.
// Besides the parameter norm, each run's trig_subspace_share (the C_gen proxy) on all p² pairs.
//
// Writes OUT/summary.json (and each run's history under OUT/). --quick (p 23, 3 sizes, 1 200
// steps at most, one ungrokking seed, 3 subsets of 400 steps) exits 1 unless the random-label runs' norm grows
// with D and every run fits its training set.

#include <grokscope/grokscope.hpp>

#include "common.hpp"

#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace grokscope;

struct Settings {
  Index p = 47, max_steps = 20000, eval = 100, window = 5;
  double lr = 1e-3, weight_decay = 1.0, tol = 2e-3;
  std::string out;
};

struct RunResult {
  double norm = 0, train_acc = 0, test_acc = 0, trig_share = 0, steps = 0;
  bool converged = false;
  History history;
};

IndexList all_rows(const Dataset& d) {
  IndexList r(static_cast<std::size_t>(d.size()));
  for (Index i = 0; i < d.size(); ++i) r[static_cast<std::size_t>(i)] = i;
  return r;
}

double trig_share_of(Transformer<float>& net, const Dataset& d) {
  Tape<float> t;
  const Eigen::MatrixXd logits = net.forward(t, ModelInput<float>::from_dataset(d, all_rows(d))).value().cast<double>();
  return trig_subspace_share(logits, d.labels, d.num_classes).share;
}

// Trains `net` on ds's training split (full batch) until the parameter norm converges or
// max_steps (stop_train_acc when `grok`: stop once test accuracy >= 0.99 and train 1).
RunResult train_run(Transformer<float>& net, const Dataset& ds, const Settings& st, Index max_steps,
                    bool until_converged, bool grok, const std::string& dir, const Dataset& truth) {
  AdamConfig ac = AdamConfig::grokking(st.weight_decay);
  ac.lr = st.lr;
  Adam<float> opt(net.parameters(), ac);
  TrainConfig tc;
  tc.steps = max_steps;
  tc.eval_every = st.eval;
  tc.log_points = 0;
  tc.progress = false;
  tc.detect = true;
  tc.out_dir = dir;
  ConvergenceRule rule;
  rule.window = st.window, rule.rel_tol = st.tol;
  if (until_converged) tc.stop_when = convergence_stop("weight_norm", rule);
  if (grok) tc.stop_test_acc = 0.99, tc.stop_train_acc = 0.999, tc.stop_patience = 3;
  Trainer<float> tr(net, ds, opt, tc);
  const TrainResult res = tr.run();
  RunResult r;
  r.history = res.history;
  r.norm = res.history.last("weight_norm");
  r.train_acc = res.history.last("train_acc");
  r.test_acc = res.history.last("test_acc");
  r.steps = static_cast<double>(res.steps_done);
  r.converged = res.status == TrainStatus::Stopped;
  r.trig_share = trig_share_of(net, truth);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Varma et al.'s circuit efficiency: norm at convergence, D_crit, ungrokking, semi-grokking",
               "circuit_efficiency"};
  Settings st;
  Index sizes = 6, seeds = 3, subsets = 7, continue_steps = 6000, semi_steps = 20000;
  double d_min = 0.08, d_max = 0.6, full = 0.6;
  std::uint64_t seed = 0;
  std::string out = "runs/circuit_efficiency";
  bool quick = false;
  app.add_option("--p", st.p, "modulus")->check(CLI::Range(Index(5), Index(200)))->capture_default_str();
  app.add_option("--lr", st.lr, "AdamW learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--weight-decay", st.weight_decay, "AdamW weight decay")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--sizes", sizes, "training-set sizes of part (i)")
      ->check(CLI::Range(Index(2), Index(50)))
      ->capture_default_str();
  app.add_option("--d-min", d_min, "smallest size, as a fraction of p^2")
      ->check(CLI::Range(0.001, 1.0))
      ->capture_default_str();
  app.add_option("--d-max", d_max, "largest size, as a fraction of p^2")
      ->check(CLI::Range(0.001, 1.0))
      ->capture_default_str();
  app.add_option("--full", full, "part (ii)'s full training set, fraction of p^2")
      ->check(CLI::Range(0.01, 0.99))
      ->capture_default_str();
  app.add_option("--max-steps", st.max_steps, "longest run of parts (i) and (ii)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--eval", st.eval, "evaluation interval")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--window", st.window, "convergence window (evaluations)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--tol", st.tol, "convergence: relative change of the norm over the window")->capture_default_str();
  app.add_option("--seeds", seeds, "ungrokking seeds")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--subsets", subsets, "ungrokking subset sizes")
      ->check(CLI::Range(Index(1), Index(20)))
      ->capture_default_str();
  app.add_option("--continue", continue_steps, "steps on each subset")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--semi-steps", semi_steps, "steps of the semi-grokking run (0: none)")->capture_default_str();
  app.add_option("--seed", seed, "first seed")->capture_default_str();
  app.add_option("--out", out, "output folder")->capture_default_str();
  app.add_flag("--quick", quick, "p 23, 3 sizes, at most 1 200 steps, one seed, 3 subsets of 400 steps (CTest)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (quick) {
    if (app.count("--p") == 0) st.p = 23;
    if (app.count("--sizes") == 0) sizes = 3;
    if (app.count("--d-min") == 0) d_min = 0.2;
    if (app.count("--max-steps") == 0) st.max_steps = 1200;
    if (app.count("--seeds") == 0) seeds = 1;
    if (app.count("--subsets") == 0) subsets = 3;
    if (app.count("--continue") == 0) continue_steps = 400;
    if (app.count("--semi-steps") == 0) semi_steps = 0;
    if (app.count("--lr") == 0) st.lr = 3e-3;
  }
  st.out = out;
  try {
    require(d_max > d_min, "circuit_efficiency", "--d-max must be above --d-min");
    const auto t_all = std::chrono::steady_clock::now();
    const Dataset truth = modular_dataset({ModOp::Add, st.p, ModEncoding::NandaTokens});
    const Index n = truth.size();
    const auto make_net = [&](std::uint64_t s) { return Transformer<float>(TransformerConfig::nanda2023(st.p, s)); };
    std::filesystem::create_directories(out);

    // (i) the norm at convergence against D, random and true labels
    const std::vector<Index> D = geometric_sizes(std::max<Index>(2, static_cast<Index>(std::llround(d_min * n))),
                                                 static_cast<Index>(std::llround(d_max * n)), sizes);
    Rng perm_rng(seed + 101);
    const IndexList order = perm_rng.permutation(n);
    std::vector<double> Dd, n_mem, n_gen;
    nlohmann::ordered_json part1 = nlohmann::ordered_json::array();
    bool fits = true;
    for (Index d : D) {
      IndexList train(order.begin(), order.begin() + d), test(order.begin() + d, order.end());
      double norms[2] = {0, 0};
      for (int labels = 0; labels < 2; ++labels) {  // 0: random labels, 1: true labels
        Dataset ds = labels == 0 ? random_labels(truth, seed + 7) : truth;
        apply_split(ds, fixed_split(n, train, test), "first " + std::to_string(d) + " of a permutation");
        Transformer<float> net = make_net(seed);
        const std::string dir = out + "/norm_" + (labels == 0 ? "random" : "true") + "_D" + std::to_string(d);
        const RunResult r = train_run(net, ds, st, st.max_steps, true, false, dir, truth);
        fits = fits && r.train_acc >= 0.99;
        norms[labels] = r.norm;
        std::printf(
            "(i) D = %ld, %s labels: norm %.2f at step %.0f (%s), train acc %.3f, test acc %.3f, trig share "
            "%.2f\n",
            static_cast<long>(d), labels == 0 ? "random" : "true", r.norm, r.steps,
            r.converged ? "converged" : "not converged", r.train_acc, r.test_acc, r.trig_share);
        std::fflush(stdout);
        part1.push_back({{"D", d},
                         {"labels", labels == 0 ? "random" : "true"},
                         {"norm", r.norm},
                         {"steps", r.steps},
                         {"converged", r.converged},
                         {"train_acc", r.train_acc},
                         {"test_acc", r.test_acc},
                         {"trig_share", r.trig_share},
                         {"dir", dir}});
      }
      Dd.push_back(static_cast<double>(d)), n_mem.push_back(norms[0]), n_gen.push_back(norms[1]);
    }
    const std::optional<double> d_crit = crossover_size(Dd, n_mem, n_gen);
    bool mem_grows = true;
    for (std::size_t i = 1; i < n_mem.size(); ++i) mem_grows = mem_grows && n_mem[i] > n_mem[i - 1];
    std::printf("(i) D_crit %s (N_mem %s with D)\n", d_crit ? std::to_string(*d_crit).c_str() : "not in range",
                mem_grows ? "grows" : "does not grow monotonically");

    // (ii) ungrokking: grok on the full set, continue on nested subsets around D_crit
    nlohmann::ordered_json part2 = nlohmann::ordered_json::array();
    const Index n_full = static_cast<Index>(std::llround(full * n));
    const double centre = d_crit ? *d_crit : 0.5 * (Dd.front() + Dd.back());
    const Index lo = std::max<Index>(2, static_cast<Index>(centre / 3)),
                hi = std::min(n_full, static_cast<Index>(3 * centre));
    for (Index k = 0; k < seeds; ++k) {
      const std::uint64_t s = seed + static_cast<std::uint64_t>(k);
      Dataset ds = truth;
      Rng split_rng = Rng(s).fork(1);
      apply_split(ds, split_by_fraction(n, full, split_rng), "random");
      Transformer<float> net = make_net(s);
      const RunResult g =
          train_run(net, ds, st, st.max_steps, false, true, out + "/grok_seed_" + std::to_string(s), truth);
      std::printf("(ii) seed %lu: trained on %zu pairs: test acc %.3f after %.0f steps\n",
                  static_cast<unsigned long>(s), ds.train.size(), g.test_acc, g.steps);
      std::vector<Matrix<float>> grokked;
      for (const Parameter<float>* q : net.parameters()) grokked.push_back(q->value);
      const std::vector<Index> sz = geometric_sizes(lo, std::max(hi, lo + subsets - 1), subsets);
      const std::vector<IndexList> subs = nested_subsets(ds.train, sz, s + 11);
      for (std::size_t j = 0; j < subs.size(); ++j) {
        Transformer<float> cont = make_net(s);
        const std::vector<Parameter<float>*> ps = cont.parameters();
        for (std::size_t i = 0; i < ps.size(); ++i) ps[i]->value = grokked[i];
        const Dataset sub = with_train_subset(ds, subs[j]);
        const std::string dir = out + "/ungrok_seed_" + std::to_string(s) + "_D" + std::to_string(sz[j]);
        const RunResult r = train_run(cont, sub, st, continue_steps, false, false, dir, truth);
        fits = fits && r.train_acc >= 0.99;
        std::printf("(ii) seed %lu, D' = %ld: train acc %.3f, test acc %.3f (from %.3f), trig share %.2f\n",
                    static_cast<unsigned long>(s), static_cast<long>(sz[j]), r.train_acc, r.test_acc, g.test_acc,
                    r.trig_share);
        std::fflush(stdout);
        part2.push_back({{"seed", s},
                         {"D_prime", sz[j]},
                         {"grokked_test_acc", g.test_acc},
                         {"train_acc", r.train_acc},
                         {"test_acc", r.test_acc},
                         {"trig_share", r.trig_share},
                         {"dir", dir}});
      }
    }

    // (iii) semi-grokking at D_crit
    nlohmann::ordered_json part3 = nullptr;
    if (semi_steps > 0 && d_crit) {
      const Index d = static_cast<Index>(std::llround(*d_crit));
      IndexList train(order.begin(), order.begin() + d), test(order.begin() + d, order.end());
      Dataset ds = truth;
      apply_split(ds, fixed_split(n, train, test), "D_crit");
      Transformer<float> net = make_net(seed);
      const RunResult r = train_run(net, ds, st, semi_steps, false, false, out + "/semi_D" + std::to_string(d), truth);
      const std::vector<double> steps = r.history.column("step"), acc = r.history.column("test_acc");
      double best = 0, start = -1, run_start = -1;
      for (std::size_t i = 0; i < acc.size(); ++i) {
        const bool mid = acc[i] > 0.2 && acc[i] < 0.9;
        if (mid && run_start < 0) run_start = steps[i];
        if (!mid) run_start = -1;
        if (run_start >= 0 && steps[i] - run_start > best) best = steps[i] - run_start, start = run_start;
      }
      std::printf(
          "(iii) D = %ld: final test acc %.3f; longest stretch with test acc in (0.2, 0.9): %.0f steps from %.0f\n",
          static_cast<long>(d), r.test_acc, best, start);
      part3 = {{"D", d},
               {"final_test_acc", r.test_acc},
               {"plateau_steps", best},
               {"plateau_start", start},
               {"trig_share", r.trig_share}};
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_all).count();
    nlohmann::ordered_json summary{{"experiment", "circuit_efficiency"},
                                   {"config",
                                    {{"p", st.p},
                                     {"lr", st.lr},
                                     {"weight_decay", st.weight_decay},
                                     {"sizes", D},
                                     {"full", full},
                                     {"max_steps", st.max_steps},
                                     {"eval", st.eval},
                                     {"window", st.window},
                                     {"tol", st.tol},
                                     {"continue", continue_steps},
                                     {"semi_steps", semi_steps},
                                     {"seeds", seeds},
                                     {"first_seed", seed}}},
                                   {"norm_at_convergence", part1},
                                   {"d_crit", examples::opt_json(d_crit)},
                                   {"n_mem_grows", mem_grows},
                                   {"ungrokking", part2},
                                   {"semi_grokking", part3},
                                   {"wall_seconds", wall}};
    std::ofstream(out + "/summary.json") << summary.dump(2) << "\n";
    std::printf("wrote %s/summary.json (%.0f s)\n", out.c_str(), wall);
    if (quick && !(mem_grows && fits)) {
      std::fputs(
          "circuit_efficiency: --quick expected the random-label norm to grow with D and every run to fit its "
          "training set\n",
          stderr);
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "circuit_efficiency: %s\n", e.what());
    return 2;
  }
}
