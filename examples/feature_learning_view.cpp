// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// The two sections the seed blog post leaves empty, measured.
//
// (a) Grokking without weight decay: two runs with no regulariser at all.
//     kumar_gd    Kumar et al.'s centered committee machine on ½(β·x)² (D 30, N 100, P 150, ε 0.25,
//                 α 1, full-batch gradient descent η = 50, as examples/lazy_to_rich);
//     modular_gd  Gromov's quadratic MLP on (a + b) mod p under plain full-batch gradient descent
//                 (Gromov reports grokking with no regularisation).
//     Recorded: the weight norm, which rises instead of falling.
// (b) Grokking where features move from the start: modular_adamw, the weight-decay run of the same
//     MLP (AdamW lr 5e-3, wd 0.1), with the empirical NTK on held-out pairs tracked from step one.
// The modular runs use the CI-scale Gromov setting of REFERENCES §4.1: p 23, width 200, 60 % of the
// pairs (at p 59 plain GD needs a far larger step budget than the examples can spend).
//     Reported for every run: the kernel distance from initialisation at t_mem and at the end, and
//     the share of the final distance already covered at t_mem — if it is not near zero the kernel
//     was moving during memorisation, i.e. there was no lazy phase — and the kernel–target
//     alignment at 0, t_mem, t_grok and the end.
//
// Writes OUT/<run>/seed_<s>/{history.csv, summary.json}, OUT/summary.json and
// OUT/feature_learning_view.png (tools/plot_feature_learning_view.py). Kumar's run also reports
// its loss-based times (train or test loss below a tenth of the initial test loss, as
// examples/lazy_to_rich). --quick (one seed, shorter budgets) exits 1 unless modular_adamw groks with its kernel at
// least a tenth of the way to its final distance by t_mem; modular_gd memorises, ends above 5× chance on the test set
// and at least doubles its weight norm; kumar_gd's weight norm rises while its test loss falls.

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
#include <optional>
#include <string>
#include <vector>

namespace {
using namespace grokscope;

/// Value of `col` at the last record with step ≤ t that has it (NaN if none).
double value_at(const History& h, const std::string& col, double t) {
  const std::vector<double> s = h.column("step"), v = h.column(col);
  double out = std::nan("");
  for (std::size_t i = 0; i < s.size() && s[i] <= t; ++i)
    if (std::isfinite(v[i])) out = v[i];
  return out;
}

double last_finite(const History& h, const std::string& col) {
  return value_at(h, col, std::numeric_limits<double>::infinity());
}

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
nlohmann::json num(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

/// A subset of at most m test rows (the first m of the shuffled test split), as model input and targets.
template <typename S>
std::pair<ModelInput<S>, Eigen::MatrixXd> probe_set(const Dataset& ds, Index m) {
  IndexList rows(ds.test.begin(), ds.test.begin() + std::min<std::size_t>(ds.test.size(), static_cast<std::size_t>(m)));
  Eigen::MatrixXd Y = ds.targets.rows() > 0 ? ds.targets_of(rows) : ds.one_hot_of(rows);
  return {ModelInput<S>::from_dataset(ds, rows), Y};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Grokking without weight decay, and whether a lazy phase exists: weight norms and NTK movement",
               "feature_learning_view"};
  Index p = 23, width = 200, adamw_steps = 3000, gd_steps = 20000, kumar_steps = 20000, ntk_every = 100,
        ntk_points = 256, seeds = 3;
  double fraction = 0.6, adamw_lr = 5e-3, weight_decay = 0.1, gd_lr = 5000;
  std::uint64_t seed = 0;
  std::string out = "runs/feature_learning_view";
  bool quick = false, no_plot = false;
  app.add_option("--p", p, "modulus")->check(CLI::Range(2, 100000))->capture_default_str();
  app.add_option("--width", width, "hidden width of the modular MLP")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--fraction", fraction, "training fraction")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_option("--adamw-lr", adamw_lr, "AdamW learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--weight-decay", weight_decay, "AdamW weight decay")->capture_default_str();
  app.add_option("--adamw-steps", adamw_steps, "steps of the AdamW run")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--gd-lr", gd_lr, "learning rate of the plain-GD modular run")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--gd-steps", gd_steps, "steps of the plain-GD modular run")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--kumar-steps", kumar_steps, "steps of Kumar's run")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--ntk-every", ntk_every, "steps between NTK probes")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--ntk-points", ntk_points, "held-out points the NTK is taken on")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--seeds", seeds, "seeds")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--seed", seed, "first seed")->capture_default_str();
  app.add_option("--out", out, "output folder")->capture_default_str();
  app.add_flag("--quick", quick, "one seed, shorter budgets (the CTest run)");
  app.add_flag("--no-plot", no_plot, "do not call tools/plot_feature_learning_view.py");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (quick) gd_steps = 4000, kumar_steps = 2000, ntk_every = 200, ntk_points = 128, seeds = 1;
  try {
    const auto t_all = std::chrono::steady_clock::now();
    nlohmann::ordered_json runs = nlohmann::ordered_json::array();
    bool ok = true;
    for (Index r = 0; r < seeds; ++r) {
      const std::uint64_t s = seed + static_cast<std::uint64_t>(r);
      for (const std::string name : {"kumar_gd", "modular_gd", "modular_adamw"}) {
        TrainConfig tc;
        tc.loss = LossKind::Mse;
        tc.seed = s;
        tc.progress = false;
        tc.eval_every = name == "kumar_gd" ? 20 : 50;
        tc.out_dir = out + "/" + name + "/seed_" + std::to_string(s);
        TrainResult res;
        if (name == "kumar_gd") {
          KumarOptions ko;
          ko.D = 30, ko.n_train = 150, ko.n_test = 1000, ko.epsilon = 0.25, ko.convention = KumarConvention::B;
          ko.seed = s;
          Dataset ds = kumar_polynomial(ko);
          ds.targets *= 0.5;  // convention A in distribution, as examples/lazy_to_rich
          Mlp<double> net(MlpConfig::kumar(30, 100, 0.25, 1.0, true, s));
          SgdConfig sc;
          sc.lr = 50;
          Sgd<double> opt(net.parameters(), sc);
          tc.steps = kumar_steps;
          // Kumar's runs have no labels: accuracy = fraction of points with squared error below
          // a tenth of the initial test loss's scale (the targets' variance is ~0.75)
          tc.regression_threshold = 0.075;
          Trainer<double> tr(net, ds, opt, tc);
          const auto [X, Y] = probe_set<double>(ds, ntk_points);
          tr.add_probe(ntk_every, ntk_probe<double>(X, Y));
          res = tr.run();
        } else {
          Dataset ds = modular_dataset({ModOp::Add, p, ModEncoding::PairIndices});
          Rng split_rng = Rng(s).fork(1);
          apply_split(ds, split_by_fraction(ds.size(), fraction, split_rng), "random(seed " + std::to_string(s) + ")");
          Mlp<float> net(MlpConfig::gromov(p, width, s));
          std::unique_ptr<Optimizer<float>> opt;
          if (name == "modular_gd") {
            SgdConfig sc;
            sc.lr = gd_lr;
            opt = std::make_unique<Sgd<float>>(net.parameters(), sc);
            tc.steps = gd_steps;
          } else {
            AdamConfig ac = AdamConfig::grokking(weight_decay);
            ac.lr = adamw_lr;
            opt = std::make_unique<Adam<float>>(net.parameters(), ac);
            tc.steps = adamw_steps;
          }
          Trainer<float> tr(net, ds, *opt, tc);
          const auto [X, Y] = probe_set<float>(ds, ntk_points);
          tr.add_probe(ntk_every, ntk_probe<float>(X, Y));
          res = tr.run();
        }
        const History& h = res.history;
        const GrokReport& rep = *res.report;
        const double tm = rep.t_mem.value_or(std::nan("")), tg = rep.t_grok.value_or(std::nan(""));
        const double w0 = h.column("weight_norm").front(), w_mem = value_at(h, "weight_norm", tm),
                     w_end = h.last("weight_norm");
        double w_max = w0;
        for (double w : h.column("weight_norm")) w_max = std::max(w_max, w);
        const double d_mem = value_at(h, "kernel_distance", tm), d_grok = value_at(h, "kernel_distance", tg),
                     d_end = last_finite(h, "kernel_distance");
        const double share = d_mem / d_end;
        // loss-based times (Kumar's runs have no labels; examples/lazy_to_rich uses the same rule)
        std::optional<double> t_train_loss, t_test_loss;
        {
          const std::vector<double> st = h.column("step"), trl = h.column("train_loss"), tel = h.column("test_loss");
          for (std::size_t i = 0; i < st.size(); ++i) {
            if (!t_train_loss && trl[i] < 0.1 * tel.front()) t_train_loss = st[i];
            if (!t_test_loss && tel[i] < 0.1 * tel.front()) t_test_loss = st[i];
          }
        }
        const double a0 = value_at(h, "ntk_alignment", 0), a_mem = value_at(h, "ntk_alignment", tm),
                     a_grok = value_at(h, "ntk_alignment", tg), a_end = last_finite(h, "ntk_alignment");
        std::printf(
            "%-14s seed %lu: %s, t_mem %s, t_grok %s | weight norm %.3g -> %.3g (t_mem) -> %.3g (max %.3g) | "
            "kernel distance %.3f at t_mem, %.3f at t_grok, %.3f at the end (%.0f %% by t_mem) | alignment "
            "%.3f -> %.3f -> %.3f -> %.3f | loss times %s / %s (%.1f s)\n",
            name.c_str(), static_cast<unsigned long>(s), verdict_name(rep.verdict),
            rep.t_mem ? std::to_string(static_cast<long>(tm)).c_str() : "never",
            rep.t_grok ? std::to_string(static_cast<long>(tg)).c_str() : "never", w0, w_mem, w_end, w_max, d_mem,
            d_grok, d_end, 100 * share, a0, a_mem, a_grok, a_end, examples::show_step(t_train_loss).c_str(),
            examples::show_step(t_test_loss).c_str(), res.seconds);
        std::fflush(stdout);
        if (quick) {
          const double chance = 1.0 / static_cast<double>(p);
          if (name == "modular_adamw" && !(rep.verdict == GrokVerdict::Grokked && share >= 0.1)) ok = false;
          if (name == "modular_gd" && !(rep.t_mem && h.last("test_acc") > 5 * chance && w_end > 2 * w0)) ok = false;
          if (name == "kumar_gd" && !(w_end > w0 && h.last("test_loss") < h.column("test_loss").front())) ok = false;
        }
        runs.push_back({{"run", name},
                        {"seed", s},
                        {"dir", tc.out_dir},
                        {"status", train_status_name(res.status)},
                        {"report", to_json(rep)},
                        {"weight_norm", {{"initial", w0}, {"t_mem", num(w_mem)}, {"final", w_end}, {"max", w_max}}},
                        {"kernel_distance", {{"t_mem", num(d_mem)}, {"t_grok", num(d_grok)}, {"final", num(d_end)}}},
                        {"share_of_kernel_movement_by_t_mem", num(share)},
                        {"t_train_loss", num(t_train_loss)},
                        {"t_test_loss", num(t_test_loss)},
                        {"ntk_alignment",
                         {{"initial", num(a0)}, {"t_mem", num(a_mem)}, {"t_grok", num(a_grok)}, {"final", num(a_end)}}},
                        {"final_test_acc", h.last("test_acc")},
                        {"final_test_loss", h.last("test_loss")},
                        {"seconds", res.seconds}});
      }
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_all).count();
    nlohmann::ordered_json summary{
        {"experiment", "feature_learning_view"},
        {"config",
         {{"p", p},
          {"width", width},
          {"fraction", fraction},
          {"adamw_lr", adamw_lr},
          {"weight_decay", weight_decay},
          {"adamw_steps", adamw_steps},
          {"gd_lr", gd_lr},
          {"gd_steps", gd_steps},
          {"kumar", {{"D", 30}, {"N", 100}, {"P", 150}, {"epsilon", 0.25}, {"alpha", 1}, {"eta", 50}}},
          {"kumar_steps", kumar_steps},
          {"ntk_every", ntk_every},
          {"ntk_points", ntk_points},
          {"seeds", seeds},
          {"first_seed", seed}}},
        {"runs", runs},
        {"wall_seconds", wall}};
    std::filesystem::create_directories(out);
    std::ofstream(out + "/summary.json") << summary.dump(2) << "\n";
    std::printf("wrote %s/summary.json (%.0f s)\n", out.c_str(), wall);
    if (!no_plot) {
      examples::plot("plot_feature_learning_view.py", out, "feature_learning_view.png");
    }
    if (quick && !ok) {
      std::fprintf(
          stderr,
          "feature_learning_view: --quick expected the AdamW run to grok with its kernel a tenth of the way by "
          "t_mem, and the runs without weight decay to generalise with rising weight norms\n");
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "feature_learning_view: %s\n", e.what());
    return 2;
  }
}
