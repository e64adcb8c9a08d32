// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// The complexity dynamics of grokking (DeMoss et al. 2024, arXiv 2412.09810): the loss-bounded
// coarse-grained complexity of the weights rises while a regularised network memorises and falls
// when it generalises; without the regularisers it rises and stays high, and the network never
// generalises. Coarse-graining is 30–40× tighter than compressing the weights as they are.
//
// Their setup (notes/peer-semantics-2 §DeMoss; REFERENCES): (a + b) mod 113 as [a, op, b, =]
// (ModEncoding::OpTokens, vocabulary p + 2, loss on the last position), one pre-LN transformer
// layer (d_model 128, 4 heads of 32, d_mlp 512), AdamW lr 1e-3, betas (0.9, 0.98), mini-batches
// min(512, n_train / 2) reshuffled every epoch; "ours" = weight decay 1, the spectral-entropy
// regulariser β = 0.1 and weight noise δ, against no regularisation at all (weight decay 0);
// complexity with ε = 1 at log-spaced epochs, six seeds, 10 000 epochs.
//
// Here, per arm (regularised, unregularised) and seed, a Trainer run with complexity_probe at
// --log-points log-spaced steps (and every --every steps): complexity_bytes (coarse-grained, bzip2)
// beside complexity_raw_bytes (bzip2 of the float32 weights as they are) and the spectral entropy.
// Reported per run: t_mem, t_grok, the complexity's peak (value, step) and its final value, the
// final / peak ratio, and raw / coarse at the peak. The claim holds for a run when the
// regularised arm's final complexity is at most --fall of its peak (default 0.7) and the peak
// comes after the first measurement, and when the unregularised arm's final is above it.
//
// Writes OUT/<arm>_seed_<s>/{history.csv, summary.json}, OUT/summary.json and
// OUT/complexity_dynamics.png (tools/plot_complexity_dynamics.py). --quick (p 23, 40 % of pairs,
// 800 steps, one seed per arm, a coarser search) exits 1 unless every measurement is finite,
// coarse-graining is tighter than the raw size everywhere, and the regularised run's spectral
// entropy ends below the unregularised one's.

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
#include <string>
#include <vector>

namespace {

using namespace grokscope;

struct Arm {
  std::string name;
  double weight_decay, beta, noise;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Coarse-grained complexity over grokking, with and without DeMoss et al.'s regularisers",
               "complexity_dynamics"};
  Index p = 59, steps = 6000, batch = 512, log_points = 30, every = 0, seeds = 3, taus = 20, per_decade = 8;
  double fraction = 0.4, lr = 1e-3, weight_decay = 1.0, beta = 0.1, noise = 1e-3, epsilon = 1.0, fall = 0.7;
  std::uint64_t seed = 0;
  std::string out = "runs/complexity_dynamics";
  bool quick = false, no_plot = false;
  app.add_option("--p", p, "modulus")->check(CLI::Range(Index(5), Index(1000)))->capture_default_str();
  app.add_option("--fraction", fraction, "training fraction")->check(CLI::Range(0.01, 0.99))->capture_default_str();
  app.add_option("--steps", steps, "optimiser steps")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--batch", batch, "mini-batch (capped at n_train / 2 as the authors do)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--lr", lr, "AdamW learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--weight-decay", weight_decay, "the regularised arm's weight decay")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--beta", beta, "the regularised arm's spectral-entropy weight")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--noise", noise, "the regularised arm's weight noise δ")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--epsilon", epsilon, "the complexity's loss bound ε")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--log-points", log_points, "log-spaced measurements")->capture_default_str();
  app.add_option("--every", every, "also measure every this many steps (0: only the log-spaced ones)")
      ->capture_default_str();
  app.add_option("--taus", taus, "the τ grid 1/taus, ..., 1")
      ->check(CLI::Range(Index(1), Index(1000)))
      ->capture_default_str();
  app.add_option("--per-decade", per_decade, "Δ grid points per decade in [1e-5, 0.1]")
      ->check(CLI::Range(Index(1), Index(1000)))
      ->capture_default_str();
  app.add_option("--fall", fall, "the claim's final / peak threshold")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--seeds", seeds, "seeds per arm")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--seed", seed, "first seed")->capture_default_str();
  app.add_option("--out", out, "output folder")->capture_default_str();
  app.add_flag("--quick", quick, "p 23, 40 % of pairs, 800 steps, one seed per arm, a coarser search (CTest)");
  app.add_flag("--no-plot", no_plot, "do not call tools/plot_complexity_dynamics.py");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (quick) {
    if (app.count("--p") == 0) p = 23;
    if (app.count("--steps") == 0) steps = 800;
    if (app.count("--seeds") == 0) seeds = 1;
    if (app.count("--log-points") == 0) log_points = 10;
    if (app.count("--taus") == 0) taus = 5;
    if (app.count("--per-decade") == 0) per_decade = 3;
  }
  try {
    const auto t_all = std::chrono::steady_clock::now();
    const Dataset full = modular_dataset({ModOp::Add, p, ModEncoding::OpTokens});
    const std::vector<Arm> arms{{"regularised", weight_decay, beta, noise}, {"unregularised", 0.0, 0.0, 0.0}};
    CoarseGrainOptions co;
    for (Index i = 1; i <= taus; ++i) co.taus.push_back(static_cast<double>(i) / static_cast<double>(taus));
    co.points_per_decade = per_decade;
    nlohmann::ordered_json runs = nlohmann::ordered_json::array();
    bool finite = true, tighter = true, claim = true;
    std::vector<double> final_entropy[2];
    for (std::size_t a = 0; a < arms.size(); ++a) {
      const Arm& arm = arms[a];
      for (Index k = 0; k < seeds; ++k) {
        const std::uint64_t s = seed + static_cast<std::uint64_t>(k);
        Dataset ds = full;
        Rng split_rng = Rng(s).fork(1);
        apply_split(ds, split_by_fraction(ds.size(), fraction, split_rng), "random(seed " + std::to_string(s) + ")");
        TransformerConfig mc = TransformerConfig::nanda2023(p, s);
        mc.vocab = p + 2, mc.context = 4, mc.layer_norm = LayerNormPlacement::Pre;
        Transformer<float> net(mc);
        AdamConfig ac = AdamConfig::grokking(arm.weight_decay);
        ac.lr = lr;
        Adam<float> opt(net.parameters(), ac);
        TrainConfig tc;
        tc.steps = steps;
        tc.batch_size = std::min<Index>(batch, static_cast<Index>(ds.train.size()) / 2);
        tc.eval_every = every;
        tc.log_points = log_points;
        tc.seed = s;
        tc.weight_noise = arm.noise;
        tc.weight_noise_seed = s ^ 0x6e6f697365ULL;
        tc.out_dir = out + "/" + arm.name + "_seed_" + std::to_string(s);
        Trainer<float> tr(net, ds, opt, tc);
        SpectralEntropyPenalty<float> pen(arm.beta);
        if (arm.beta > 0) tr.add_filter(pen);
        tr.add_probe(1, complexity_probe<float>(ds, ds.train, ds.test, LossKind::CrossEntropy, epsilon, co));
        std::printf(
            "%s, seed %lu: (a + b) mod %ld as [a, op, b, =], %zu train pairs, batch %ld, wd %g, beta %g, "
            "noise %g, %ld steps\n",
            arm.name.c_str(), static_cast<unsigned long>(s), static_cast<long>(p), ds.train.size(),
            static_cast<long>(tc.batch_size), arm.weight_decay, arm.beta, arm.noise, static_cast<long>(steps));
        std::fflush(stdout);
        const TrainResult res = tr.run();
        const History& h = res.history;
        const GrokReport& rep = *res.report;
        const std::vector<double> st = h.column("step"), cb = h.column("complexity_bytes"),
                                  raw = h.column("complexity_raw_bytes"), ent = h.column("spectral_entropy");
        std::size_t peak = 0;
        for (std::size_t i = 0; i < cb.size(); ++i) {
          finite = finite && std::isfinite(cb[i]) && std::isfinite(raw[i]) && std::isfinite(ent[i]);
          tighter = tighter && cb[i] < raw[i];
          if (cb[i] > cb[peak]) peak = i;
        }
        const double ratio = cb.back() / cb[peak];
        const bool falls = peak > 0 && ratio <= fall;
        claim = claim && (a == 0 ? falls : !falls);
        final_entropy[a].push_back(ent.back());
        std::printf(
            "%s, seed %lu: %s, t_mem %s, t_grok %s, final test acc %.3f; complexity %.0f B at 0, peak %.0f B "
            "at %.0f, %.0f B at the end (final/peak %.2f); raw %.0f B at the peak (%.1fx the coarse "
            "size); spectral entropy %.2f -> %.2f; %.0f s\n",
            arm.name.c_str(), static_cast<unsigned long>(s), verdict_name(rep.verdict),
            examples::show_step(rep.t_mem).c_str(), examples::show_step(rep.t_grok).c_str(), h.last("test_acc"),
            cb.front(), cb[peak], st[peak], cb.back(), ratio, raw[peak], raw[peak] / cb[peak], ent.front(), ent.back(),
            res.seconds);
        std::fflush(stdout);
        runs.push_back({{"arm", arm.name},
                        {"seed", s},
                        {"dir", tc.out_dir},
                        {"report", to_json(rep)},
                        {"final_test_acc", h.last("test_acc")},
                        {"complexity_initial", cb.front()},
                        {"complexity_peak", cb[peak]},
                        {"complexity_peak_step", st[peak]},
                        {"complexity_final", cb.back()},
                        {"final_over_peak", ratio},
                        {"raw_at_peak", raw[peak]},
                        {"raw_over_coarse_at_peak", raw[peak] / cb[peak]},
                        {"raw_final", raw.back()},
                        {"spectral_entropy_initial", ent.front()},
                        {"spectral_entropy_final", ent.back()},
                        {"falls", falls},
                        {"seconds", res.seconds}});
      }
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_all).count();
    nlohmann::ordered_json summary{
        {"experiment", "complexity_dynamics"},
        {"config",
         {{"p", p},
          {"encoding", "op_tokens"},
          {"fraction", fraction},
          {"steps", steps},
          {"batch", batch},
          {"lr", lr},
          {"regularised", {{"weight_decay", weight_decay}, {"beta", beta}, {"weight_noise", noise}}},
          {"unregularised", {{"weight_decay", 0.0}, {"beta", 0.0}, {"weight_noise", 0.0}}},
          {"complexity",
           {{"epsilon", epsilon},
            {"taus", taus},
            {"delta_min", co.delta_min},
            {"delta_max", co.delta_max},
            {"points_per_decade", per_decade}}},
          {"log_points", log_points},
          {"every", every},
          {"fall", fall},
          {"seeds", seeds},
          {"first_seed", seed}}},
        {"runs", runs},
        {"claim_holds", claim},
        {"wall_seconds", wall}};
    std::filesystem::create_directories(out);
    std::ofstream(out + "/summary.json") << summary.dump(2) << "\n";
    std::printf("claim (regularised: rise then fall to <= %.2f of the peak; unregularised: no such fall): %s\n", fall,
                claim ? "holds on every run" : "does not hold on every run");
    std::printf("wrote %s/summary.json (%.0f s)\n", out.c_str(), wall);
    if (!no_plot) examples::plot("plot_complexity_dynamics.py", out, "complexity_dynamics.png");
    const bool entropy_lower = examples::median(final_entropy[0]) < examples::median(final_entropy[1]);
    if (quick && !(finite && tighter && entropy_lower)) {
      std::fputs(
          "complexity_dynamics: --quick expected finite measurements, coarse-grained sizes below the raw ones, "
          "and a lower final spectral entropy with the regularisers\n",
          stderr);
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "complexity_dynamics: %s\n", e.what());
    return 2;
  }
}
