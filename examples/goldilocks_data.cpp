// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// Kumar et al. (2024), Fig. 9 (REFERENCES §1.4, §1.17 D): grokking needs a "Goldilocks" amount of
// data, D ≪ P ≪ D²/(2ε²). The centered committee machine of lazy_to_rich with D = 40, N = 100,
// ε = 0.5, α = 1, gradient descent with the absolute η = 50, on P ∈ {50, 120, 500} training
// points (1 000 test points), 10 000 steps: too little data never generalises, a middle amount
// generalises late, plenty generalises at once. The initial-NTK kernel regression (ridge 1e-6,
// as their code) is the lazy baseline for each P.
//
// Writes OUT/P_<P>/seed_<s>/history.csv ..., OUT/summary.json and OUT/goldilocks_data.png
// (tools/plot_loss_ratios.py). --quick (3 000 steps, 500 test points) exits 1 unless the final test loss is ordered
// P = 500 < P = 120 < P = 50 on every seed, the robust assertion of §1.17 D.

#include <grokscope/grokscope.hpp>

#include "common.hpp"

#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  using namespace grokscope;
  CLI::App app{"Kumar et al.'s Goldilocks data: grokking needs a middle amount of data", "goldilocks_data"};
  std::vector<Index> Ps{50, 120, 500};
  Index D = 40, N = 100, n_test = 1000, steps = 10000, eval_every = 10, seeds = 1;
  double epsilon = 0.5, eta = 50, ridge = 1e-6;
  std::uint64_t seed = 0;
  std::string out = "runs/goldilocks_data";
  bool quick = false, no_plot = false;
  app.add_option("--P", Ps, "training-set sizes")->capture_default_str();
  app.add_option("--D", D, "input dimension")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--N", N, "hidden width")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--test", n_test, "test points")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--epsilon", epsilon, "ε of φ(h) = h + (ε/2) h²")->capture_default_str();
  app.add_option("--eta", eta, "learning rate (absolute, as their Fig. 9 code)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--ridge", ridge, "ridge of the initial-NTK regression")->capture_default_str();
  app.add_option("--steps", steps, "gradient-descent steps")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--eval-every", eval_every, "evaluation interval")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--seeds", seeds, "seeds")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--seed", seed, "first seed")->capture_default_str();
  app.add_option("--out", out, "output folder")->capture_default_str();
  app.add_flag("--quick", quick,
               "3 000 steps, 500 test points; exit 1 unless final test loss is ordered P = 500 < 120 < 50");
  app.add_flag("--no-plot", no_plot, "do not call tools/plot_loss_ratios.py");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (quick) {
    if (app.count("--steps") == 0) steps = 3000;
    if (app.count("--eval-every") == 0) eval_every = 50;
    if (app.count("--test") == 0) n_test = 500;
  }
  try {
    for (Index P : Ps) require(P >= 1, "goldilocks_data", "every P must be >= 1");
    std::sort(Ps.begin(), Ps.end());
    const auto t_start = std::chrono::steady_clock::now();
    nlohmann::ordered_json runs = nlohmann::ordered_json::array();
    Index ordered_seeds = 0;
    for (Index s = 0; s < seeds; ++s) {
      const std::uint64_t sd = seed + static_cast<std::uint64_t>(s);
      std::vector<double> finals;
      for (Index P : Ps) {
        // convention B inputs with halved targets = convention A in distribution (see lazy_to_rich)
        KumarOptions ko;
        ko.D = D, ko.n_train = P, ko.n_test = n_test, ko.epsilon = epsilon, ko.convention = KumarConvention::B;
        ko.seed = sd;
        Dataset ds = kumar_polynomial(ko);
        ds.targets *= 0.5;
        Mlp<double> net(MlpConfig::kumar(D, N, epsilon, 1.0, true, sd));
        const ModelInput<double> Xtr = ModelInput<double>::from_dataset(ds, ds.train);
        const ModelInput<double> Xte = ModelInput<double>::from_dataset(ds, ds.test);
        const KernelRegressionResult kr =
            kernel_regression(empirical_ntk(net, Xtr), ds.targets_of(ds.train), empirical_ntk(net, Xte, Xtr), ridge,
                              ds.targets_of(ds.test));
        SgdConfig sc;
        sc.lr = eta;
        Sgd<double> opt(net.parameters(), sc);
        TrainConfig tc;
        tc.steps = steps;
        tc.eval_every = eval_every;
        tc.loss = LossKind::Mse;
        tc.progress = false;
        tc.seed = sd;
        tc.out_dir = out + "/P_" + std::to_string(P) + "/seed_" + std::to_string(sd);
        Trainer<double> tr(net, ds, opt, tc);
        const TrainResult res = tr.run();
        const History& h = res.history;
        const double test0 = h.column("test_loss").front();
        auto first_below = [&](const char* col) -> std::optional<double> {
          const auto st = h.column("step"), v = h.column(col);
          for (std::size_t i = 0; i < v.size(); ++i)
            if (v[i] < 0.1 * test0) return st[i];
          return std::nullopt;
        };
        const auto t_tr = first_below("train_loss"), t_te = first_below("test_loss");
        finals.push_back(h.last("test_loss"));
        auto js = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
        runs.push_back({{"P", P},
                        {"seed", sd},
                        {"initial_test_loss", test0},
                        {"final_test_loss", h.last("test_loss")},
                        {"final_train_loss", h.last("train_loss")},
                        {"t_train", js(t_tr)},
                        {"t_test", js(t_te)},
                        {"ntk_regression_test_mse", kr.test_mse},
                        {"dir", tc.out_dir}});
        std::printf(
            "seed %llu  P = %-4ld t_train %-6s t_test %-6s test loss %.4f → %.4f (initial-NTK regression %.4f)\n",
            static_cast<unsigned long long>(sd), static_cast<long>(P), examples::show_step(t_tr).c_str(),
            examples::show_step(t_te).c_str(), test0, h.last("test_loss"), kr.test_mse);
      }
      bool ordered = true;  // larger P, lower final test loss
      for (std::size_t i = 1; i < finals.size(); ++i) ordered = ordered && finals[i] < finals[i - 1];
      ordered_seeds += ordered;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    nlohmann::ordered_json summary{{"experiment", "goldilocks_data"},
                                   {"paper", "Kumar et al. 2024, Fig. 9 (REFERENCES §1.17 D)"},
                                   {"config",
                                    {{"P", Ps},
                                     {"D", D},
                                     {"N", N},
                                     {"n_test", n_test},
                                     {"epsilon", epsilon},
                                     {"eta", eta},
                                     {"ridge", ridge},
                                     {"steps", steps},
                                     {"seeds", seeds},
                                     {"seed", seed}}},
                                   {"runs", runs},
                                   {"seeds_with_loss_decreasing_in_P", ordered_seeds},
                                   {"wall_seconds", seconds}};
    std::filesystem::create_directories(out);
    std::ofstream(out + "/summary.json") << summary.dump(2) << "\n";
    std::printf("final test loss decreases with P on %ld of %ld seeds (%.1f s); wrote %s/summary.json\n",
                static_cast<long>(ordered_seeds), static_cast<long>(seeds), seconds, out.c_str());
    if (!no_plot) {
      examples::plot("plot_loss_ratios.py", out, "goldilocks_data.png",
                     {"--key", "P", "--name", "goldilocks_data.png", "--title", "Goldilocks data: P training points"});
    }
    if (quick && ordered_seeds != seeds) {
      std::fprintf(stderr, "goldilocks_data: --quick expected final test loss P = 500 < 120 < 50 on every seed\n");
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "goldilocks_data: %s\n", e.what());
    return 2;
  }
}
