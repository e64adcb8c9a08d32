// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// Prieto, Barsbey, Mediano & Birdal (2025), "Grokking at the edge of numerical stability"
// (REFERENCES, notes/peer-semantics §2.6): without weight decay, training with float32 softmax
// cross-entropy drives the logits until the softmax collapses (Σ_j exp(z_j − max z) rounds to 1,
// the loss and its gradient vanish) before the network generalises; StableMax and ⊥Grad are their
// two remedies. Their setting: (a + b) mod 113, one-hot pairs, an MLP [200, 200] with ReLU and no
// biases (PyTorch's default init), 40 % of the pairs, full-batch AdamW with lr 0.01, betas
// (0.9, 0.99), ε 1e-25 and no weight decay, float32 parameters. Five arms at identical seeds:
//   ce_float32           softmax cross-entropy in float32 as PyTorch computes it
//                        (CrossEntropyPrecision::Native): their default, --softmax_precision 32
//   ce_float64           log-softmax in double and dZ rounded once to float32
//                        (CrossEntropyPrecision::Stable): their --softmax_precision 64
//   stablemax            StableMax cross-entropy (LossKind::StableMax), formed in double
//   orthograd            ⊥Grad (OrthoGrad filter) before AdamW, float32 cross-entropy
//   stablemax_orthograd  both
// Every evaluation records the stability probe on the training pairs (softmax collapse share,
// zero-loss share, cos(−∇L, θ), mean logit norm, last-layer norm), of the softmax for the
// cross-entropy arms and of StableMax's s(z) for the StableMax arms. Reported per arm over seeds:
// the detectors' verdicts, t_mem, t_grok, the best and final test accuracy, the first step at
// which half the training rows have collapsed, and the largest NLM cosine. Whatever happens is
// printed as measured.
//
// Writes OUT/<arm>/seed_<s>/{history.csv, summary.json}, OUT/summary.json and
// OUT/numerical_stability.png (tools/plot_numerical_stability.py). --quick (p 23, 60 % of
// pairs, 1 600 steps, 2 seeds, arms ce_float32 and orthograd) exits 1 unless every run finished
// without diverging, float32 cross-entropy memorised and reached softmax collapse on at least
// half of its training rows, and ⊥Grad reached a higher best test accuracy than float32
// cross-entropy on every seed.

#include <grokscope/grokscope.hpp>

#include <grokscope/optim/orthograd.hpp>

#include "common.hpp"

#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace {

using grokscope::Index;

/// What one arm changes.
struct Arm {
  grokscope::LossKind loss = grokscope::LossKind::CrossEntropy;
  grokscope::CrossEntropyPrecision precision = grokscope::CrossEntropyPrecision::Native;
  bool orthograd = false;
};

Arm arm_of(const std::string& name) {
  using grokscope::CrossEntropyPrecision;
  using grokscope::LossKind;
  if (name == "ce_float32") return {LossKind::CrossEntropy, CrossEntropyPrecision::Native, false};
  if (name == "ce_float64") return {LossKind::CrossEntropy, CrossEntropyPrecision::Stable, false};
  if (name == "stablemax") return {LossKind::StableMax, CrossEntropyPrecision::Native, false};
  if (name == "orthograd") return {LossKind::CrossEntropy, CrossEntropyPrecision::Native, true};
  return {LossKind::StableMax, CrossEntropyPrecision::Native, true};  // stablemax_orthograd
}

nlohmann::json json_or_null(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

}  // namespace

int main(int argc, char** argv) {
  using namespace grokscope;
  CLI::App app{"float32 and float64 cross-entropy, StableMax and ⊥Grad on (a + b) mod p without weight decay",
               "numerical_stability"};
  const std::vector<std::string> all_arms{"ce_float32", "ce_float64", "stablemax", "orthograd", "stablemax_orthograd"};
  std::vector<std::string> arms = all_arms;
  Index p = 113, steps = 3000, seeds = 3, log_points = 60, eval_every = 100;
  std::vector<Index> hidden{200, 200};
  double fraction = 0.4, lr = 0.01, beta2 = 0.99, adam_eps = 1e-25, weight_decay = 0, stop_at = 1.0;
  std::uint64_t seed = 0;
  std::string out = "runs/numerical_stability";
  bool quick = false, no_plot = false;
  app.add_option("--arms", arms, "arms to run (ce_float32, ce_float64, stablemax, orthograd, stablemax_orthograd)")
      ->check(CLI::IsMember(all_arms))
      ->capture_default_str();
  app.add_option("--p", p, "modulus")->check(CLI::Range(Index(2), Index(1000)))->capture_default_str();
  app.add_option("--fraction", fraction, "training fraction of the p² pairs")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--hidden", hidden, "hidden widths")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--lr", lr, "AdamW learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--beta2", beta2, "AdamW β₂ (their Fig. 1 StableMax run: 0.999)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--adam-eps", adam_eps, "AdamW ε")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--weight-decay", weight_decay, "AdamW weight decay (0: the paper's setting)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--steps", steps, "full-batch steps")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--eval-every", eval_every, "evaluation interval (plus --log-points log-spaced evaluations)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--log-points", log_points, "log-spaced evaluations in [1, steps]")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--stop-at", stop_at, "stop a run once its test accuracy reaches this (1: only at 100 %)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--seeds", seeds, "seeds (split and initialisation)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--seed", seed, "first seed")->capture_default_str();
  app.add_option("--out", out, "output folder")->capture_default_str();
  app.add_flag("--quick", quick, "p 23, 60 % of pairs, 1 600 steps, 2 seeds, arms ce_float32 and orthograd (CTest)");
  app.add_flag("--no-plot", no_plot, "do not call tools/plot_numerical_stability.py");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (quick) {
    if (app.count("--p") == 0) p = 23;
    if (app.count("--fraction") == 0) fraction = 0.6;
    if (app.count("--steps") == 0) steps = 1600;
    if (app.count("--eval-every") == 0) eval_every = 20;
    if (app.count("--seeds") == 0) seeds = 2;
    if (app.count("--arms") == 0) arms = {"ce_float32", "orthograd"};
  }

  try {
    const auto t_all = std::chrono::steady_clock::now();
    const Dataset full = modular_dataset({ModOp::Add, p, ModEncoding::PairIndices});
    std::printf(
        "numerical_stability: (a + b) mod %ld, %.0f %% of pairs, MLP %ld-[%s]-%ld (ReLU, no bias), AdamW lr %g betas "
        "(0.9, %g) eps %g wd %g, %ld steps, %ld seeds\n",
        static_cast<long>(p), 100 * fraction, static_cast<long>(2 * p),
        [&] {
          std::string s;
          for (std::size_t i = 0; i < hidden.size(); ++i) s += (i ? ", " : "") + std::to_string(hidden[i]);
          return s;
        }()
            .c_str(),
        static_cast<long>(p), lr, beta2, adam_eps, weight_decay, static_cast<long>(steps), static_cast<long>(seeds));
    std::fflush(stdout);
    nlohmann::ordered_json per_arm = nlohmann::ordered_json::object();
    bool quick_ok = true;
    std::vector<double> best_f32, best_orth;  // per seed, for --quick
    bool f32_collapsed = true;
    for (const std::string& name : arms) {
      const Arm arm = arm_of(name);
      std::vector<GrokReport> reports;
      std::vector<double> best_acc, final_acc, sc_half;
      nlohmann::ordered_json runs = nlohmann::ordered_json::array();
      for (Index k = 0; k < seeds; ++k) {
        const std::uint64_t s = seed + static_cast<std::uint64_t>(k);
        Dataset ds = full;
        Rng split_rng = Rng(s).fork(1);
        apply_split(ds, split_by_fraction(ds.size(), fraction, split_rng), "random(seed " + std::to_string(s) + ")");
        require(!ds.train.empty() && !ds.test.empty(), "numerical_stability",
                "the split leaves no training or test pairs");
        MlpConfig mc;
        mc.input = 2 * p;
        mc.hidden = hidden;
        mc.output = p;
        mc.activation = Activation::Relu;
        mc.bias = false;
        mc.seed = s;
        Mlp<float> net(mc);
        AdamConfig ac;
        ac.lr = lr;
        ac.beta1 = 0.9;
        ac.beta2 = beta2;
        ac.eps = adam_eps;
        ac.weight_decay = weight_decay;
        Adam<float> opt(net.parameters(), ac);
        TrainConfig tc;
        tc.steps = steps;
        tc.eval_every = eval_every;
        tc.log_points = log_points;
        tc.loss = arm.loss;
        tc.ce_precision = arm.precision;
        tc.seed = s;
        if (stop_at < 1) tc.stop_test_acc = stop_at;
        tc.out_dir = out + "/" + name + "/seed_" + std::to_string(s);
        Trainer<float> tr(net, ds, opt, tc);
        OrthoGrad<float> ortho;
        if (arm.orthograd) tr.add_filter(ortho);
        IndexList train_labels;
        for (Index i : ds.train) train_labels.push_back(ds.labels[static_cast<std::size_t>(i)]);
        // the probe measures the normalisation the arm trains with (softmax, or StableMax's s)
        tr.add_probe(1, stability_probe<float>(ModelInput<float>::from_dataset(ds, ds.train), std::move(train_labels),
                                               "", arm.loss));
        const TrainResult res = tr.run();
        const History& h = res.history;
        const std::vector<double> st = h.column("step"), acc = h.column("test_acc"), sc = h.column("softmax_collapse"),
                                  nlm = h.column("nlm_cosine"), zero = h.column("zero_loss_fraction");
        double best = 0, max_nlm = -1, max_sc = 0, max_zero = 0;
        std::optional<double> t_sc;
        for (std::size_t i = 0; i < st.size(); ++i) {
          if (std::isfinite(acc[i])) best = std::max(best, acc[i]);
          if (std::isfinite(nlm[i])) max_nlm = std::max(max_nlm, nlm[i]);
          if (std::isfinite(sc[i])) max_sc = std::max(max_sc, sc[i]);
          if (std::isfinite(zero[i])) max_zero = std::max(max_zero, zero[i]);
          if (!t_sc && sc[i] >= 0.5) t_sc = st[i];
        }
        const GrokReport& rep = *res.report;
        reports.push_back(rep);
        best_acc.push_back(best);
        final_acc.push_back(acc.back());
        if (t_sc) sc_half.push_back(*t_sc);
        if (res.status == TrainStatus::Diverged) quick_ok = false;
        if (name == "ce_float32") {
          best_f32.push_back(best);
          f32_collapsed = f32_collapsed && max_sc >= 0.5 && rep.t_mem.has_value();
        }
        if (name == "orthograd") best_orth.push_back(best);
        runs.push_back({{"seed", s},
                        {"status", train_status_name(res.status)},
                        {"steps_done", res.steps_done},
                        {"best_test_acc", best},
                        {"final_test_acc", acc.back()},
                        {"final_train_loss", h.column("train_loss").back()},
                        {"softmax_collapse_half_step", json_or_null(t_sc)},
                        {"softmax_collapse_max", max_sc},
                        {"zero_loss_fraction_max", max_zero},
                        {"nlm_cosine_max", max_nlm},
                        {"final_last_layer_norm", h.column("last_layer_norm").back()},
                        {"seconds", res.seconds},
                        {"report", to_json(rep)}});
        std::printf(
            "  %-19s seed %lu: %-14s t_mem %6s t_grok %6s | test acc best %.3f final %.3f | SC >= 50 %% at %6s (max "
            "%.2f) | max cos(-g, θ) %.2f | %.1f s\n",
            name.c_str(), static_cast<unsigned long>(s), verdict_name(rep.verdict),
            examples::show_step(rep.t_mem).c_str(), examples::show_step(rep.t_grok).c_str(), best, acc.back(),
            examples::show_step(t_sc).c_str(), max_sc, max_nlm, res.seconds);
        std::fflush(stdout);
      }
      per_arm[name] = {{"runs", runs},
                       {"best_test_acc_median", examples::median(best_acc)},
                       {"final_test_acc_median", examples::median(final_acc)},
                       {"collapsed_runs", sc_half.size()},
                       {"softmax_collapse_half_step_median",
                        sc_half.empty() ? nlohmann::json(nullptr) : nlohmann::json(examples::median(sc_half))},
                       {"detectors", to_json(aggregate_reports(reports))}};
    }
    std::printf("\n%-19s %9s %9s %9s %9s %14s\n", "arm", "grokked", "best acc", "final acc", "collapsed",
                "median t_grok");
    for (auto it = per_arm.begin(); it != per_arm.end(); ++it) {
      const auto& a = it.value();
      const auto& det = a["detectors"];
      Index grokked = 0;
      for (const auto& r : a["runs"]) grokked += r["report"]["verdict"] == "grokked";
      std::printf(
          "%-19s %5ld / %ld %9.3f %9.3f %5ld / %ld %14s\n", it.key().c_str(), static_cast<long>(grokked),
          static_cast<long>(seeds), a["best_test_acc_median"].get<double>(), a["final_test_acc_median"].get<double>(),
          static_cast<long>(a["collapsed_runs"].get<Index>()), static_cast<long>(seeds),
          examples::show_step(det["t_grok"].is_null() ? std::optional<double>()
                                                      : std::optional<double>(det["t_grok"]["median"].get<double>()))
              .c_str());
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_all).count();
    nlohmann::ordered_json summary{{"experiment", "numerical_stability"},
                                   {"paper", "Prieto et al. 2025 (notes/peer-semantics §2.6)"},
                                   {"config",
                                    {{"p", p},
                                     {"fraction", fraction},
                                     {"hidden", hidden},
                                     {"lr", lr},
                                     {"betas", {0.9, beta2}},
                                     {"adam_eps", adam_eps},
                                     {"weight_decay", weight_decay},
                                     {"steps", steps},
                                     {"eval_every", eval_every},
                                     {"log_points", log_points},
                                     {"stop_at", stop_at},
                                     {"seeds", seeds},
                                     {"first_seed", seed}}},
                                   {"arms", per_arm},
                                   {"wall_seconds", wall}};
    std::filesystem::create_directories(out);
    std::ofstream(out + "/summary.json") << summary.dump(2) << "\n";
    std::printf("wrote %s/summary.json (%.0f s)\n", out.c_str(), wall);
    if (!no_plot) examples::plot("plot_numerical_stability.py", out, "numerical_stability.png");
    if (quick) {
      bool better = !best_f32.empty() && best_f32.size() == best_orth.size();
      for (std::size_t i = 0; better && i < best_f32.size(); ++i) better = best_orth[i] > best_f32[i];
      if (!(quick_ok && f32_collapsed && better)) {
        std::fprintf(stderr,
                     "numerical_stability: --quick expected no divergence, float32 cross-entropy memorising with "
                     "softmax collapse on >= 50 %% of training rows, and ⊥Grad's best test accuracy above float32 "
                     "cross-entropy's on every seed\n");
        return 1;
      }
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "numerical_stability: %s\n", e.what());
    return 2;
  }
}
