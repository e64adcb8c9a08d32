// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// Kumar et al. (2024), "Grokking as the transition from lazy to rich training dynamics", Fig. 1
// and §4 at a size that runs in seconds per α (REFERENCES §1.17 B):
//
//   f(x) = α/N Σᵢ [φ(wᵢ·x) − φ(wᵢ⁰·x)],  φ(h) = h + (ε/2) h²,  y = ½ (β·x)²,  x ~ N(0, I/D)
//   D = 30, N = 100, 150 training and 1 000 test points, ε = 0.25, full-batch gradient descent
//   on the MSE with η = η₀/α² (η₀ = 50), 20 000 steps, centered predictor.
//
// For every α (default 0.5, 1, 2, 4) it trains the network, tracks the NTK on the test set
// (alignment with the targets, distance from the initial kernel) and the relative weight
// movement, and solves kernel regression with the initial NTK (the "lazy" baseline: the
// network's limit as α → ∞). Kumar et al.'s reading: larger α keeps the network lazy longer,
// so the delay between fitting the training set and generalising grows with α, and so does the
// test loss at a fixed training time. Loss thresholds follow §1.17 B: t_train and t_test are the
// first steps at which the train / test loss falls below 0.1 × the initial test loss.
//
// Writes OUT/alpha_<α>/seed_<s>/{history.csv, summary.json, ...}, OUT/summary.json (table and
// ordering checks) and OUT/lazy_to_rich.png (tools/plot_lazy_to_rich.py). --quick runs 5 000
// steps and exits 1 unless both orderings hold.

#include <grokscope/grokscope.hpp>

#include "common.hpp"

#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace {
using namespace grokscope;

std::optional<double> first_below(const History& h, const std::string& col, double threshold) {
  const auto steps = h.column("step");
  const auto v = h.column(col);
  for (std::size_t i = 0; i < v.size(); ++i)
    if (v[i] < threshold) return steps[i];
  return std::nullopt;
}

std::string alpha_name(double a) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", a);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Kumar et al.'s lazy-to-rich grokking: an α sweep of the centered committee machine", "lazy_to_rich"};
  std::vector<double> alphas{0.5, 1, 2, 4};
  Index D = 30, N = 100, P = 150, n_test = 1000, steps = 20000, eval_every = 10, ntk_every = 200, seeds = 1;
  double epsilon = 0.25, eta0 = 50;
  std::uint64_t seed = 0;
  std::string out = "runs/lazy_to_rich";
  bool quick = false, no_plot = false;
  app.add_option("--alphas", alphas, "output scales α")->capture_default_str();
  app.add_option("--D", D, "input dimension")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--N", N, "hidden width")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--P", P, "training points")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--test", n_test, "test points")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--epsilon", epsilon, "ε of φ(h) = h + (ε/2) h²")->capture_default_str();
  app.add_option("--eta0", eta0, "learning rate η₀ (η = η₀/α²)")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--steps", steps, "gradient-descent steps")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--eval-every", eval_every, "loss evaluation interval")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--ntk-every", ntk_every, "NTK / weight probe interval")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--seeds", seeds, "number of seeds (data and initialisation)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--seed", seed, "first seed")->capture_default_str();
  app.add_option("--out", out, "output folder")->capture_default_str();
  app.add_flag("--quick", quick, "5 000 steps, 500 test points; exit 1 unless delay and test loss grow with α");
  app.add_flag("--no-plot", no_plot, "do not call tools/plot_lazy_to_rich.py");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (quick) {
    if (app.count("--steps") == 0) steps = 5000;
    if (app.count("--test") == 0) n_test = 500;
    if (app.count("--ntk-every") == 0) ntk_every = 500;
  }
  try {
    require(!alphas.empty(), "lazy_to_rich", "no α given");
    for (double a : alphas) require(a > 0 && std::isfinite(a), "lazy_to_rich", "every α must be positive");
    std::sort(alphas.begin(), alphas.end());
    const auto t_start = std::chrono::steady_clock::now();
    nlohmann::ordered_json runs = nlohmann::ordered_json::array();
    // per α: the seeds' final test losses and delays
    std::vector<std::vector<double>> final_test(alphas.size()), delay(alphas.size());
    for (Index s = 0; s < seeds; ++s) {
      const std::uint64_t sd = seed + static_cast<std::uint64_t>(s);
      // Convention B inputs x ~ N(0, I) with the model's 1/√D pre-activation scale are convention A
      // (x/√D ~ N(0, I/D)); halving B's target (β·x/√D)² gives A's ½ (β·x)².
      KumarOptions ko;
      ko.D = D, ko.n_train = P, ko.n_test = n_test, ko.epsilon = epsilon, ko.convention = KumarConvention::B;
      ko.seed = sd;
      Dataset ds = kumar_polynomial(ko);
      ds.targets *= 0.5;
      ds.meta["target"] = "0.5 (beta . x / sqrt(D))^2 (convention A in distribution)";
      const ModelInput<double> Xtr = ModelInput<double>::from_dataset(ds, ds.train);
      const ModelInput<double> Xte = ModelInput<double>::from_dataset(ds, ds.test);
      const Matrix<double> ytr = ds.targets_of(ds.train), yte = ds.targets_of(ds.test);
      for (std::size_t ai = 0; ai < alphas.size(); ++ai) {
        const double alpha = alphas[ai];
        Mlp<double> net(MlpConfig::kumar(D, N, epsilon, alpha, true, sd));
        // the lazy baseline: kernel regression with the initial NTK (hidden weights only)
        const Eigen::MatrixXd K_tr = empirical_ntk(net, Xtr), K_te = empirical_ntk(net, Xte, Xtr);
        const KernelRegressionResult kr = kernel_regression(K_tr, ytr, K_te, 0.0, yte);
        SgdConfig sc;
        sc.lr = eta0 / (alpha * alpha);
        Sgd<double> opt(net.parameters(), sc);
        TrainConfig tc;
        tc.steps = steps;
        tc.eval_every = eval_every;
        tc.loss = LossKind::Mse;
        tc.seed = sd;
        tc.progress = false;
        tc.out_dir = out + "/alpha_" + alpha_name(alpha) + "/seed_" + std::to_string(sd);
        Trainer<double> tr(net, ds, opt, tc);
        tr.add_probe(ntk_every, ntk_probe<double>(Xte, yte));
        tr.add_probe(ntk_every, weight_norm_probe<double>());
        const TrainResult res = tr.run();
        const History& h = res.history;
        const double test0 = h.column("test_loss").front();
        const std::optional<double> t_tr = first_below(h, "train_loss", 0.1 * test0);
        const std::optional<double> t_te = first_below(h, "test_loss", 0.1 * test0);
        const double inf = std::numeric_limits<double>::infinity();
        const double d = t_te ? (t_tr ? *t_te - *t_tr : *t_te) : inf;
        final_test[ai].push_back(h.last("test_loss"));
        delay[ai].push_back(d);
        runs.push_back({{"alpha", alpha},
                        {"seed", sd},
                        {"status", train_status_name(res.status)},
                        {"seconds", res.seconds},
                        {"initial_test_loss", test0},
                        {"t_train", examples::opt_json(t_tr)},
                        {"t_test", examples::opt_json(t_te)},
                        {"delay", std::isfinite(d) ? nlohmann::json(d) : nlohmann::json(nullptr)},
                        {"final_train_loss", h.last("train_loss")},
                        {"final_test_loss", h.last("test_loss")},
                        {"final_ntk_alignment", h.last("ntk_alignment")},
                        {"final_kernel_distance", h.last("kernel_distance")},
                        {"final_relative_movement", h.last("relative_movement")},
                        {"ntk_regression_test_mse", kr.test_mse},
                        {"ntk_regression_solver", kr.solver == KernelSolve::Cholesky ? "cholesky" : "pseudo-inverse"},
                        {"dir", tc.out_dir}});
        std::printf(
            "seed %llu  α = %-4s  t_train %-6s t_test %-6s  test loss %.4f (initial %.3f, NTK regression %.4f)  "
            "alignment %.3f  kernel distance %.3f  %.1f s\n",
            static_cast<unsigned long long>(sd), alpha_name(alpha).c_str(), examples::show_step(t_tr).c_str(),
            examples::show_step(t_te).c_str(), h.last("test_loss"), test0, kr.test_mse, h.last("ntk_alignment"),
            h.last("kernel_distance"), res.seconds);
      }
    }
    // Kumar et al.'s ordering (REFERENCES §1.17 B): delay and final test loss grow with α.
    bool delay_ordered = true, loss_ordered = true;
    nlohmann::ordered_json agg = nlohmann::ordered_json::array();
    for (std::size_t ai = 0; ai < alphas.size(); ++ai) {
      const double md = examples::median(delay[ai]), ml = examples::median(final_test[ai]);
      agg.push_back({{"alpha", alphas[ai]},
                     {"median_delay", std::isfinite(md) ? nlohmann::json(md) : nlohmann::json("never")},
                     {"median_final_test_loss", ml}});
      if (ai > 0) {
        delay_ordered = delay_ordered && md >= examples::median(delay[ai - 1]);
        loss_ordered = loss_ordered && ml > examples::median(final_test[ai - 1]);
      }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    nlohmann::ordered_json summary{{"experiment", "lazy_to_rich"},
                                   {"paper", "Kumar et al. 2024, Fig. 1 / §4 (REFERENCES §1.17 B)"},
                                   {"config",
                                    {{"alphas", alphas},
                                     {"D", D},
                                     {"N", N},
                                     {"P", P},
                                     {"n_test", n_test},
                                     {"epsilon", epsilon},
                                     {"eta0", eta0},
                                     {"steps", steps},
                                     {"eval_every", eval_every},
                                     {"ntk_every", ntk_every},
                                     {"seeds", seeds},
                                     {"seed", seed}}},
                                   {"runs", runs},
                                   {"aggregate", agg},
                                   {"delay_grows_with_alpha", delay_ordered},
                                   {"final_test_loss_grows_with_alpha", loss_ordered},
                                   {"wall_seconds", seconds}};
    std::filesystem::create_directories(out);
    std::ofstream(out + "/summary.json") << summary.dump(2) << "\n";
    std::printf("delay grows with α: %s; final test loss grows with α: %s (%.1f s)\n", delay_ordered ? "yes" : "no",
                loss_ordered ? "yes" : "no", seconds);
    std::printf("wrote %s/summary.json and one run folder per α and seed\n", out.c_str());
    if (!no_plot) {
      examples::plot("plot_lazy_to_rich.py", out, "lazy_to_rich.png");
    }
    if (quick && !(delay_ordered && loss_ordered)) {
      std::fprintf(stderr, "lazy_to_rich: --quick expected delay and final test loss to grow with α\n");
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lazy_to_rich: %s\n", e.what());
    return 2;
  }
}
