// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// Liu, Michaud & Tegmark (2023), "Omnigrok: grokking beyond algorithmic data", image grokking
// (Fig. 3d; REFERENCES §4.2) on Fashion-MNIST from Debian's dataset-fashion-mnist package: the
// first 1 000 training images, a 784-200-200-10 ReLU MLP with PyTorch's default initialisation
// and every parameter multiplied by the init scale α, MSE against one-hot labels, AdamW
// (lr 1e-3, betas 0.9/0.999) on shuffled mini-batches of 200, evaluated on the 10 000 test images.
// The paper uses weight decay 0.01 for 100 000 steps; its own scaling law (time to generalise
// ∝ 1/γ, App. C) lets this example default to γ = 0.1 for 15 000 steps, which runs in about a
// minute per α on 2 cores. `--weight-decay 0.01 --steps 100000` is the paper's setting.
//
// Omnigrok's reading: a large initial weight norm puts the network where it memorises but does
// not generalise; weight decay shrinks the norm slowly, and the network generalises once the norm
// reaches the "Goldilocks zone", so test accuracy rises long after train accuracy. At small α
// the norm starts in the zone and there is no delay. For every α (default 0.5, 1, 2, 4, 8) and
// seed: t_mem (train accuracy ≥ 0.99) and t_grok (test accuracy ≥ --test-threshold, 0.75 by
// default: Fashion-MNIST from 1 000 images tops out near 0.8), the detectors' verdict, and the
// weight norm at both times.
//
// Writes OUT/alpha_<α>/seed_<s>/{history.csv, summary.json, ...}, OUT/summary.json (per-run
// reports, per-α aggregates, checks) and OUT/omnigrok_images.png (tools/plot_omnigrok.py).
// --quick runs α ∈ {1, 8} on one seed (at most 14 000 steps, each run ending once both
// thresholds are held, 1 000 test images) and exits 1
// unless α = 8 groks (the detectors' verdict: t_grok ≥ 2 t_mem), α = 1 reaches the test
// threshold without a delay (t_grok < 2 t_mem), and the delay ratio is larger at the larger α.
//
// --constant-norm is Omnigrok's constant-norm training (their §2 and Fig. 7b, the landscape
// notebooks): weight decay 0 and, after every AdamW step, θ rescaled to its initial norm α‖θ₀‖
// (ConstantNorm), so the norm cannot drift into the Goldilocks zone. With --quick (α ∈ {1, 8},
// 4 000 steps) it exits 1 unless α = 1 reaches the test threshold without a delay and α = 8
// memorises without ever reaching it.

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

std::string num_name(double a) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", a);
  return buf;
}

/// A column's value at the last record with step ≤ `step`.
double at_step(const History& h, const std::string& col, double step) {
  const std::vector<double> s = h.column("step"), v = h.column(col);
  double out = std::nan("");
  for (std::size_t i = 0; i < s.size() && s[i] <= step; ++i) out = v[i];
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Omnigrok's image grokking: Fashion-MNIST, large initialisation, weight decay", "omnigrok_images"};
  std::vector<double> alphas{0.5, 1, 2, 4, 8};
  std::string data_dir = fashion_mnist_dir();
  Index n_train = 1000, n_test = 10000, width = 200, batch = 200, steps = 15000, log_points = 150, seeds = 1;
  double lr = 1e-3, weight_decay = 0.1, test_threshold = 0.75, train_threshold = 0.99;
  std::uint64_t seed = 0;
  std::string out = "runs/omnigrok_images";
  bool quick = false, no_plot = false, stop_at_grok = false, constant_norm = false;
  app.add_option("--alphas", alphas, "init scales α (every parameter × α after PyTorch's init)")->capture_default_str();
  app.add_option("--data", data_dir, "folder with the four Fashion-MNIST (or MNIST) .gz IDX files")
      ->capture_default_str();
  app.add_option("--train", n_train, "training images (the first n)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--test", n_test, "test images (the first n)")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--width", width, "hidden width (two hidden layers)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--batch", batch, "mini-batch size")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--steps", steps, "optimiser steps")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--log-points", log_points, "log-spaced evaluations")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--lr", lr, "AdamW learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--weight-decay", weight_decay, "AdamW weight decay")->capture_default_str();
  app.add_option("--train-threshold", train_threshold, "t_mem: train accuracy reaches this")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--test-threshold", test_threshold, "t_grok: test accuracy reaches this")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--seeds", seeds, "seeds (initialisation and batch order)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--seed", seed, "first seed")->capture_default_str();
  app.add_option("--out", out, "output folder")->capture_default_str();
  app.add_flag("--quick", quick, "α ∈ {1, 8}, at most 14 000 steps, --stop-at-grok, 1 000 test images (the CTest run)");
  app.add_flag("--stop-at-grok", stop_at_grok,
               "end a run once train and test accuracy have both reached their thresholds for 3 evaluations");
  app.add_flag("--constant-norm", constant_norm,
               "Omnigrok's constant-norm training: θ projected back to its initial norm α‖θ₀‖ after every step "
               "(ConstantNorm), weight decay 0 unless given");
  app.add_flag("--no-plot", no_plot, "do not call tools/plot_omnigrok.py");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (quick) {
    if (app.count("--alphas") == 0) alphas = {1, 8};
    if (app.count("--steps") == 0) steps = constant_norm ? 4000 : 14000;
    stop_at_grok = true;
    if (app.count("--test") == 0) n_test = 1000;
    if (app.count("--log-points") == 0) log_points = 80;
  }
  if (constant_norm && app.count("--weight-decay") == 0) weight_decay = 0;
  try {
    require(!alphas.empty(), "omnigrok_images", "no init scale given");
    for (double a : alphas)
      require(a > 0 && std::isfinite(a), "omnigrok_images", "every init scale must be positive and finite");
    require(weight_decay >= 0 && std::isfinite(weight_decay), "omnigrok_images", "weight decay must be >= 0");
    std::sort(alphas.begin(), alphas.end());
    IdxOptions io;
    io.n_train = n_train, io.n_test = n_test;
    const Dataset ds = fashion_mnist(io, data_dir);
    require(batch <= static_cast<Index>(ds.train.size()), "omnigrok_images",
            "batch " + std::to_string(batch) + " exceeds the " + std::to_string(ds.train.size()) + " training images");
    std::printf(
        "omnigrok_images: %zu train / %zu test images from %s, MLP 784-%ld-%ld-10, AdamW lr %g wd %g, batch "
        "%ld, %ld steps\n",
        ds.train.size(), ds.test.size(), data_dir.c_str(), static_cast<long>(width), static_cast<long>(width), lr,
        weight_decay, static_cast<long>(batch), static_cast<long>(steps));
    std::fflush(stdout);
    DetectOptions dopt;
    dopt.threshold = train_threshold;
    dopt.test_threshold = test_threshold;
    dopt.log_x = true;
    const auto t_all = std::chrono::steady_clock::now();
    nlohmann::ordered_json runs = nlohmann::ordered_json::array(), per_alpha = nlohmann::ordered_json::array();
    std::vector<std::vector<GrokReport>> reports(alphas.size());
    for (std::size_t ai = 0; ai < alphas.size(); ++ai) {
      const double alpha = alphas[ai];
      for (Index r = 0; r < seeds; ++r) {
        const std::uint64_t s = seed + static_cast<std::uint64_t>(r);
        MlpConfig mc;
        mc.input = ds.features.cols();
        mc.hidden = {width, width};
        mc.output = ds.num_classes;
        mc.activation = Activation::Relu;
        mc.init_scale = alpha;
        mc.seed = s;
        Mlp<float> net(mc);
        AdamConfig ac;
        ac.lr = lr;
        ac.weight_decay = weight_decay;
        Adam<float> adam(net.parameters(), ac);
        ConstantNorm<float> fixed(adam, 1.0);  // keeps ‖θ‖ at its α-scaled initial value
        Optimizer<float>& opt = constant_norm ? static_cast<Optimizer<float>&>(fixed) : adam;
        TrainConfig tc;
        tc.steps = steps;
        tc.batch_size = batch;
        tc.eval_every = 0;
        tc.log_points = log_points;
        tc.loss = LossKind::Mse;
        if (stop_at_grok) tc.stop_train_acc = train_threshold, tc.stop_test_acc = test_threshold, tc.stop_patience = 3;
        tc.seed = s;
        tc.out_dir = out + "/alpha_" + num_name(alpha) + "/seed_" + std::to_string(s);
        Trainer<float> tr(net, ds, opt, tc);
        const TrainResult res = tr.run();
        const History& h = res.history;
        const GrokReport rep = detect_grokking(h.column("step"), h.column("train_acc"), h.column("test_acc"), dopt);
        reports[ai].push_back(rep);
        const std::vector<double> test_acc = h.column("test_acc");
        const double max_test = *std::max_element(test_acc.begin(), test_acc.end());
        const double norm0 = h.column("weight_norm").front();
        const double norm_mem = rep.t_mem ? at_step(h, "weight_norm", *rep.t_mem) : std::nan("");
        const double test_mem = rep.t_mem ? at_step(h, "test_acc", *rep.t_mem) : std::nan("");
        const double norm_grok = rep.t_grok ? at_step(h, "weight_norm", *rep.t_grok) : std::nan("");
        std::printf(
            "α = %-4s seed %lu: t_mem %s (test acc %.2f), t_grok %s, %s; test acc %.3f (max %.3f); weight norm %.1f -> "
            "%.1f at t_mem, "
            "%s at t_grok, %.1f at the end (%.0f s)\n",
            num_name(alpha).c_str(), static_cast<unsigned long>(s), examples::show_step(rep.t_mem).c_str(), test_mem,
            examples::show_step(rep.t_grok).c_str(), verdict_name(rep.verdict), h.last("test_acc"), max_test, norm0,
            norm_mem, std::isfinite(norm_grok) ? num_name(std::round(norm_grok * 10) / 10).c_str() : "-",
            h.last("weight_norm"), res.seconds);
        std::fflush(stdout);
        runs.push_back({{"alpha", alpha},
                        {"seed", s},
                        {"dir", tc.out_dir},
                        {"status", train_status_name(res.status)},
                        {"report", to_json(rep)},
                        {"initial_weight_norm", norm0},
                        {"weight_norm_at_t_mem", examples::opt_json(norm_mem)},
                        {"test_acc_at_t_mem", examples::opt_json(test_mem)},
                        {"weight_norm_at_t_grok", examples::opt_json(norm_grok)},
                        {"final_weight_norm", h.last("weight_norm")},
                        {"final_train_acc", h.last("train_acc")},
                        {"final_test_acc", h.last("test_acc")},
                        {"max_test_acc", max_test},
                        {"seconds", res.seconds}});
      }
      per_alpha.push_back({{"alpha", alpha}, {"aggregate", to_json(aggregate_reports(reports[ai]))}});
    }
    // Omnigrok's picture: the delay t_grok / t_mem grows with α; at the largest α the run groks,
    // at small α the test threshold is reached without a delay.
    auto median_ratio = [&](std::size_t ai) {
      std::vector<double> v;
      for (const GrokReport& r : reports[ai])  // never generalising after memorising: an infinite delay
        if (r.t_mem) v.push_back(r.t_grok ? *r.t_grok / std::max(1.0, *r.t_mem) : HUGE_VAL);
      return examples::median(v);
    };
    bool largest_groks = true, largest_stuck = true;
    for (const GrokReport& r : reports.back()) {
      largest_groks = largest_groks && r.verdict == GrokVerdict::Grokked;
      // at a fixed large norm: memorised, and the test threshold never reached
      largest_stuck = largest_stuck && r.t_mem.has_value() && !r.t_grok.has_value();
    }
    const double ratio_big = median_ratio(alphas.size() - 1), ratio_small = median_ratio(0);
    const bool small_no_delay = std::isfinite(ratio_small) && ratio_small < dopt.min_delay_ratio;
    const bool delay_grows = std::isfinite(ratio_big) && std::isfinite(ratio_small) && ratio_big > ratio_small;
    // the whole sequence, reported: a run that never reaches a threshold has no ratio (NaN)
    nlohmann::ordered_json ratios = nlohmann::ordered_json::array();
    for (std::size_t ai = 0; ai < alphas.size(); ++ai) {
      const double r = median_ratio(ai);
      ratios.push_back(std::isfinite(r) ? nlohmann::ordered_json(r) : nlohmann::ordered_json(nullptr));
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_all).count();
    nlohmann::ordered_json summary{
        {"experiment", "omnigrok_images"},
        {"paper", "Liu, Michaud & Tegmark 2023 (Omnigrok), Fig. 3d (REFERENCES §4.2), on Fashion-MNIST"},
        {"config",
         {{"data", data_dir},
          {"train", ds.train.size()},
          {"test", ds.test.size()},
          {"model", "784-" + std::to_string(width) + "-" + std::to_string(width) + "-10 ReLU, PyTorch init x alpha"},
          {"alphas", alphas},
          {"loss", "mse"},
          {"optimizer", {{"name", "adamw"}, {"lr", lr}, {"weight_decay", weight_decay}, {"betas", {0.9, 0.999}}}},
          {"batch", batch},
          {"steps", steps},
          {"log_points", log_points},
          {"stop_at_grok", stop_at_grok},
          {"constant_norm", constant_norm},
          {"train_threshold", train_threshold},
          {"test_threshold", test_threshold},
          {"seeds", seeds},
          {"first_seed", seed}}},
        {"runs", runs},
        {"per_alpha", per_alpha},
        {"checks",
         {{"largest_alpha_groks", largest_groks},
          {"smallest_alpha_without_delay", small_no_delay},
          {"delay_grows_with_alpha", delay_grows},
          {"largest_alpha_memorises_without_generalising", largest_stuck}}},
        {"median_t_grok_over_t_mem", ratios},
        {"wall_seconds", wall}};
    std::filesystem::create_directories(out);
    std::ofstream(out + "/summary.json") << summary.dump(2) << "\n";
    std::printf("α = %g groks: %s; α = %g without delay: %s (t_grok / t_mem %.1f vs %.1f); %.0f s\n", alphas.back(),
                largest_groks ? "yes" : "no", alphas.front(), small_no_delay ? "yes" : "no", ratio_big, ratio_small,
                wall);
    std::printf("wrote %s/summary.json and one run folder per α and seed\n", out.c_str());
    if (!no_plot) examples::plot("plot_omnigrok.py", out, "omnigrok_images.png");
    if (quick && constant_norm && !(small_no_delay && largest_stuck)) {
      std::fprintf(stderr,
                   "omnigrok_images: --quick --constant-norm expected the smallest α to reach the test threshold "
                   "without a delay and the largest to memorise without ever reaching it (its norm cannot shrink)\n");
      return 1;
    }
    if (quick && !constant_norm && !(largest_groks && small_no_delay && delay_grows)) {
      std::fprintf(stderr,
                   "omnigrok_images: --quick expected the largest α to grok, the smallest to reach the test threshold "
                   "without a delay (t_grok < 2 t_mem), and a larger delay ratio at the larger α\n");
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "omnigrok_images: %s\n", e.what());
    return 2;
  }
}
