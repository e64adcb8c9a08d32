// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// Grokfast (Lee et al. 2024, REFERENCES §5) on the flagship task, with the controls users asked
// for (notes N10). The flagship experiment — Gromov's quadratic MLP on (a + b) mod 59, 40 % of the
// pairs, full-batch AdamW (lr 3e-3, betas (0.9, 0.98), weight decay 0.03) — is trained in six arms
// at otherwise identical settings and seeds:
//   adamw           the baseline;
//   adamw_lr_x3     the baseline with lr × (1 + λ_EMA): the "they tripled the learning rate" control;
//   ema             Grokfast-EMA (α 0.98, λ 2, the reference README's EMA setting) before AdamW;
//   ema_normalized  the same filter with the filtered gradient rescaled to the raw gradient's norm;
//   ma              Grokfast-MA (window 100, λ 5, warm-up) before AdamW;
//   ma_normalized   the same, normalised.
// Each run stops once test accuracy reaches 0.95 (the paper's measure: steps to 95 % validation
// accuracy) or at the step budget. Reported per arm over seeds: median and IQR of the steps to
// 95 %, the speed-up against the baseline's median, wall-clock seconds to 95 %, the detectors'
// t_mem and t_grok, the median update norm ‖Δθ‖ (the step size the arms are matched on) and the
// count of runs that never got there. Whatever the speed-up is, it is printed as measured.
//
// Writes OUT/<arm>/seed_<s>/{history.csv, summary.json}, OUT/summary.json and OUT/grokfast.png
// (tools/plot_grokfast.py). --quick (p 23, width 200, 60 % of pairs, wd 0.1, 3 000 steps, 2 seeds)
// exits 1 unless every run of every arm finished without diverging, the baseline reached 95 % on
// both seeds, the normalised arms' filters kept the raw gradient norm (their grad_norm equals the
// norm the optimiser saw) and the lr × 3 control took larger steps than the baseline.

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
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

using grokscope::Index;

/// A gradient filter that only records the global norm of the gradient the optimiser receives
/// (after the filters before it), so the example can check what normalisation promised.
template <typename S>
class NormRecorder : public grokscope::GradientFilter<S> {
 public:
  void apply(const std::vector<grokscope::Parameter<S>*>& params) override {
    last = std::sqrt(grokscope::detail::grad_sq_norm(params));
  }
  nlohmann::ordered_json config() const override { return {{"filter", "norm_recorder"}}; }
  double last = 0;
};

}  // namespace

int main(int argc, char** argv) {
  using namespace grokscope;
  CLI::App app{"Grokfast-EMA and -MA against AdamW on (a + b) mod p, with effective-learning-rate controls",
               "grokfast"};
  std::vector<std::string> arms{"adamw", "adamw_lr_x3", "ema", "ema_normalized", "ma", "ma_normalized"};
  Index p = 59, width = 512, steps = 8000, eval_every = 50, seeds = 3, ma_window = 100;
  double fraction = 0.4, weight_decay = 0.03, lr = 3e-3, target = 0.95;
  double ema_alpha = 0.98, ema_lamb = 2.0, ma_lamb = 5.0;
  std::uint64_t seed = 0;
  std::string out = "runs/grokfast", optimizer = "adamw";
  Index batch = 0;
  bool quick = false, no_plot = false;
  app.add_option("--arms", arms, "arms to run (adamw, adamw_lr_x3, ema, ema_normalized, ma, ma_normalized)")
      ->check(CLI::IsMember({"adamw", "adamw_lr_x3", "ema", "ema_normalized", "ma", "ma_normalized"}))
      ->capture_default_str();
  app.add_option("--p", p, "modulus")->check(CLI::Range(2, 100000))->capture_default_str();
  app.add_option("--fraction", fraction, "training fraction")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_option("--width", width, "hidden width")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--lr", lr, "AdamW learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--weight-decay", weight_decay, "weight decay")->capture_default_str();
  app.add_option("--optimizer", optimizer, "adamw (decoupled decay) or adam_l2 (coupled, as the Grokfast paper's code)")
      ->check(CLI::IsMember({"adamw", "adam_l2"}))
      ->capture_default_str();
  app.add_option("--batch", batch, "mini-batch size (0: full batch)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--ema-alpha", ema_alpha, "Grokfast-EMA α")->capture_default_str();
  app.add_option("--ema-lamb", ema_lamb, "Grokfast-EMA λ (the lr control uses 1 + λ)")->capture_default_str();
  app.add_option("--ma-window", ma_window, "Grokfast-MA window")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--ma-lamb", ma_lamb, "Grokfast-MA λ")->capture_default_str();
  app.add_option("--target", target, "test accuracy that ends a run")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--steps", steps, "step budget per run")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--eval-every", eval_every, "evaluation interval")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--seeds", seeds, "seeds per arm")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--seed", seed, "first seed")->capture_default_str();
  app.add_option("--out", out, "output folder")->capture_default_str();
  app.add_flag("--quick", quick, "p 23, width 200, 60 % of pairs, wd 0.1, 3 000 steps, 2 seeds (the CTest run)");
  app.add_flag("--no-plot", no_plot, "do not call tools/plot_grokfast.py");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (quick) p = 23, width = 200, fraction = 0.6, weight_decay = 0.1, lr = 5e-3, steps = 3000, seeds = 2;

  try {
    const auto t_all = std::chrono::steady_clock::now();
    const Dataset full = modular_dataset({ModOp::Add, p, ModEncoding::PairIndices});
    const double lr_factor = 1 + ema_lamb;
    nlohmann::ordered_json per_arm = nlohmann::ordered_json::object();
    std::printf(
        "grokfast: (a + b) mod %ld, %.0f %% of pairs, width %ld, %s lr %g wd %g, batch %ld, until test acc %.2f or "
        "%ld steps, %ld seeds\n",
        static_cast<long>(p), 100 * fraction, static_cast<long>(width), optimizer.c_str(), lr, weight_decay,
        static_cast<long>(batch), target, static_cast<long>(steps), static_cast<long>(seeds));
    bool quick_ok = true;
    double baseline_median = std::nan(""), baseline_update = std::nan("");
    for (const std::string& arm : arms) {
      std::vector<double> t95, secs95, upd;
      std::vector<GrokReport> reports;
      nlohmann::ordered_json runs = nlohmann::ordered_json::array();
      Index never = 0;
      for (Index k = 0; k < seeds; ++k) {
        const std::uint64_t s = seed + static_cast<std::uint64_t>(k);
        Dataset ds = full;
        Rng split_rng = Rng(s).fork(1);
        apply_split(ds, split_by_fraction(ds.size(), fraction, split_rng), "random(seed " + std::to_string(s) + ")");
        Mlp<float> net(MlpConfig::gromov(p, width, s));
        AdamConfig ac = AdamConfig::grokking(weight_decay);
        ac.lr = arm == "adamw_lr_x3" ? lr * lr_factor : lr;
        if (optimizer == "adam_l2") ac.decay = WeightDecayMode::CoupledL2;
        Adam<float> opt(net.parameters(), ac);
        TrainConfig tc;
        tc.steps = steps;
        tc.batch_size = batch;
        tc.eval_every = eval_every;
        tc.loss = LossKind::Mse;
        tc.seed = s;
        tc.stop_test_acc = target;
        tc.out_dir = out + "/" + arm + "/seed_" + std::to_string(s);
        Trainer<float> tr(net, ds, opt, tc);
        std::unique_ptr<GradientFilter<float>> filter;
        const bool normalized = arm.size() > 11 && arm.compare(arm.size() - 11, 11, "_normalized") == 0;
        if (arm.rfind("ema", 0) == 0) filter = std::make_unique<GrokfastEma<float>>(ema_alpha, ema_lamb, normalized);
        if (arm.rfind("ma", 0) == 0)
          filter = std::make_unique<GrokfastMa<float>>(ma_window, ma_lamb, true, false, normalized);
        NormRecorder<float> seen;
        if (filter) tr.add_filter(*filter);
        tr.add_filter(seen);
        // the gradient norm before (Trainer's grad_norm) and after the filter, every evaluation
        tr.add_probe(eval_every, [&](Model<float>&, Index) { return Record{{"filtered_grad_norm", seen.last}}; });
        const TrainResult res = tr.run();
        const History& h = res.history;
        const std::vector<double> step = h.column("step"), acc = h.column("test_acc"), un = h.column("update_norm"),
                                  gn = h.column("grad_norm"), fgn = h.column("filtered_grad_norm");
        std::optional<double> reached;
        for (std::size_t i = 0; i < step.size() && !reached; ++i)
          if (acc[i] >= target) reached = step[i];
        // step size: median ‖Δθ‖ over the evaluations of the run
        std::vector<double> u;
        for (std::size_t i = 0; i < step.size(); ++i)
          if (step[i] > 0 && std::isfinite(un[i])) u.push_back(un[i]);
        const double med_update = examples::median(u);
        // normalisation check: the gradient the optimiser saw has the raw gradient's norm
        double worst = 0;
        if (normalized)
          for (std::size_t i = 0; i < step.size(); ++i)
            if (step[i] > 0 && gn[i] > 0) worst = std::max(worst, std::abs(fgn[i] - gn[i]) / gn[i]);
        if (normalized && worst > 1e-4) quick_ok = false;
        const double secs = res.seconds;
        if (reached) {
          t95.push_back(*reached);
          secs95.push_back(secs);
        } else {
          ++never;
        }
        upd.push_back(med_update);
        reports.push_back(*res.report);
        if (res.status == TrainStatus::Diverged) quick_ok = false;
        runs.push_back({{"seed", s},
                        {"status", train_status_name(res.status)},
                        {"steps_to_target", reached ? nlohmann::json(*reached) : nlohmann::json(nullptr)},
                        {"seconds", secs},
                        {"median_update_norm", med_update},
                        {"normalization_max_rel_error", normalized ? nlohmann::json(worst) : nlohmann::json(nullptr)},
                        {"report", to_json(*res.report)}});
        std::printf("  %-15s seed %lu: %s at step %s, %.1f s, median |dtheta| %.3g\n", arm.c_str(),
                    static_cast<unsigned long>(s), reached ? "reached" : "did not reach",
                    reached ? std::to_string(static_cast<long>(*reached)).c_str() : "-", secs, med_update);
        std::fflush(stdout);
      }
      nlohmann::ordered_json a{{"runs", runs}, {"never", never}};
      const double med = examples::median(t95);
      a["steps_to_target_median"] = t95.empty() ? nlohmann::json(nullptr) : nlohmann::json(med);
      if (!t95.empty()) a["steps_to_target_iqr"] = {quantile(t95, 0.25), quantile(t95, 0.75)};
      a["seconds_to_target_median"] =
          secs95.empty() ? nlohmann::json(nullptr) : nlohmann::json(examples::median(secs95));
      a["median_update_norm"] = examples::median(upd);
      a["detectors"] = to_json(aggregate_reports(reports));
      if (arm == "adamw") baseline_median = med, baseline_update = examples::median(upd);
      per_arm[arm] = a;
      if (quick && arm == "adamw" && never > 0) quick_ok = false;
      if (quick && arm == "adamw_lr_x3" && std::isfinite(baseline_update) && !(examples::median(upd) > baseline_update))
        quick_ok = false;
    }
    std::printf("\n%-15s %10s %9s %9s %12s %6s\n", "arm", "steps95", "speed-up", "seconds", "median|dθ|", "never");
    for (auto it = per_arm.begin(); it != per_arm.end(); ++it) {
      auto& a = it.value();
      const bool has = !a["steps_to_target_median"].is_null();
      const double med = has ? a["steps_to_target_median"].get<double>() : std::nan("");
      const double speedup = baseline_median / med;
      a["speedup_vs_adamw"] = std::isfinite(speedup) ? nlohmann::json(speedup) : nlohmann::json(nullptr);
      std::printf("%-15s %10s %8.2fx %9.1f %12.3g %6ld\n", it.key().c_str(),
                  has ? std::to_string(static_cast<long>(med)).c_str() : "never", speedup,
                  a["seconds_to_target_median"].is_null() ? std::nan("") : a["seconds_to_target_median"].get<double>(),
                  a["median_update_norm"].get<double>(), static_cast<long>(a["never"].get<Index>()));
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_all).count();
    nlohmann::ordered_json summary{{"experiment", "grokfast"},
                                   {"config",
                                    {{"p", p},
                                     {"fraction", fraction},
                                     {"width", width},
                                     {"lr", lr},
                                     {"weight_decay", weight_decay},
                                     {"target_test_acc", target},
                                     {"steps", steps},
                                     {"eval_every", eval_every},
                                     {"seeds", seeds},
                                     {"first_seed", seed},
                                     {"ema", {{"alpha", ema_alpha}, {"lamb", ema_lamb}}},
                                     {"ma", {{"window", ma_window}, {"lamb", ma_lamb}, {"warmup", true}}},
                                     {"lr_control_factor", lr_factor}}},
                                   {"arms", per_arm},
                                   {"wall_seconds", wall}};
    std::filesystem::create_directories(out);
    std::ofstream(out + "/summary.json") << summary.dump(2) << "\n";
    std::printf("wrote %s/summary.json (%.0f s)\n", out.c_str(), wall);
    if (!no_plot) {
      examples::plot("plot_grokfast.py", out, "grokfast.png");
    }
    if (quick && !quick_ok) {
      std::fprintf(stderr,
                   "grokfast: --quick expected no divergence, the baseline at %.2f on every seed, normalised filters "
                   "keeping the raw norm and larger steps under lr x %.0f\n",
                   target, lr_factor);
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "grokfast: %s\n", e.what());
    return 2;
  }
}
