// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// Merrill, Tsilivis & Shukla (2023), "A Tale of Two Circuits" (REFERENCES §6.2): sparse (40, 3)
// parity learned by f(x) = uᵀ ReLU(Wx + b) (width 1000, PyTorch default init) with the hinge loss
// and SGD (lr 0.1, batch 32, coupled weight decay 0.01) on 1 000 training points, 100 test
// points. Generalisation jumps from chance to 100 % at the same time as the effective sparsity —
// the smallest set of top-norm neurons that reproduces the network's training accuracy — falls by
// orders of magnitude; the active neurons' norm grows while the others decay.
//
// Tracked every --probe-every steps: effective_sparsity, active_neuron_norm, other_neuron_norm
// (grokscope::sparsity_probe). Reported per seed: t_mem, t_grok (detectors), t_sparse (the first
// evaluation after t_mem with effective sparsity --collapse (10) times below its value at t_mem),
// the sparsity at t_mem and at the end.
// Writes OUT/seed_<s>/{history.csv, summary.json}, OUT/summary.json and OUT/sparse_parity.png
// (tools/plot_sparse_parity.py). --quick (2 seeds, 160 epochs) exits 1 unless on every seed the
// network generalises (test accuracy ≥ 0.95), the sparsity at the end is at least 10× below its
// value at t_mem, and t_sparse lies within a factor of 2 of t_grok.

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

int main(int argc, char** argv) {
  using namespace grokscope;
  CLI::App app{"Merrill et al.'s sparse parity: generalisation and the collapse of effective sparsity coincide",
               "sparse_parity"};
  Index n = 40, k = 3, n_train = 1000, n_test = 100, width = 1000, batch = 32, epochs = 300, probe_every = 100;
  Index seeds = 3;
  double collapse = 10;
  double lr = 0.1, weight_decay = 0.01;
  std::uint64_t seed = 0;
  std::string out = "runs/sparse_parity";
  bool quick = false, no_plot = false;
  app.add_option("--n", n, "input bits")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--k", k, "parity bits")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--train", n_train, "training points")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--test", n_test, "test points")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--width", width, "hidden width")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--lr", lr, "SGD learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--weight-decay", weight_decay, "coupled weight decay")->capture_default_str();
  app.add_option("--batch", batch, "mini-batch size")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--epochs", epochs, "epochs")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--probe-every", probe_every, "steps between evaluations and sparsity probes")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--collapse", collapse, "t_sparse: effective sparsity this many times below its value at t_mem")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--seeds", seeds, "seeds")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--seed", seed, "first seed")->capture_default_str();
  app.add_option("--out", out, "output folder")->capture_default_str();
  app.add_flag("--quick", quick, "2 seeds, 160 epochs (the CTest run)");
  app.add_flag("--no-plot", no_plot, "do not call tools/plot_sparse_parity.py");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (quick) seeds = 2, epochs = 160;
  try {
    const auto t_all = std::chrono::steady_clock::now();
    const Index steps = epochs * ((n_train + batch - 1) / batch);
    std::printf(
        "sparse_parity: (%ld, %ld)-parity, %ld train / %ld test, width %ld, SGD lr %g wd %g batch %ld, %ld "
        "steps, %ld seeds\n",
        static_cast<long>(n), static_cast<long>(k), static_cast<long>(n_train), static_cast<long>(n_test),
        static_cast<long>(width), lr, weight_decay, static_cast<long>(batch), static_cast<long>(steps),
        static_cast<long>(seeds));
    nlohmann::ordered_json runs = nlohmann::ordered_json::array();
    std::vector<GrokReport> reports;
    bool ok = true;
    for (Index r = 0; r < seeds; ++r) {
      const std::uint64_t s = seed + static_cast<std::uint64_t>(r);
      ParityOptions po;
      po.n = n, po.k = k, po.n_train = n_train, po.n_test = n_test;
      po.train_seed = 17 * s + 1;  // the test set keeps its own fixed seed (2001), as the reference code
      const Dataset ds = sparse_parity(po);
      Mlp<float> net(MlpConfig::merrill(n, width, s));
      SgdConfig sc;
      sc.lr = lr;
      sc.weight_decay = weight_decay;
      Sgd<float> opt(net.parameters(), sc);
      TrainConfig tc;
      tc.steps = steps;
      tc.batch_size = batch;
      tc.eval_every = probe_every;
      tc.loss = LossKind::Hinge;
      tc.seed = s;
      tc.out_dir = out + "/seed_" + std::to_string(s);
      Trainer<float> tr(net, ds, opt, tc);
      IndexList pm;  // ±1 labels of the training points, for the sign accuracy
      for (Index i : ds.train) pm.push_back(ds.targets(i, 0) > 0 ? 1 : -1);
      tr.add_probe(probe_every, sparsity_probe<float>(ModelInput<float>::from_dataset(ds, ds.train), pm));
      const TrainResult res = tr.run();
      const GrokReport& rep = *res.report;
      reports.push_back(rep);
      const std::vector<double> step = res.history.column("step"), sp = res.history.column("effective_sparsity"),
                                acc = res.history.column("test_acc");
      std::optional<double> t_sparse, t_95;
      // sparsity at t_mem: the last evaluation at or before it
      double sp_mem = std::nan("");
      if (rep.t_mem)
        for (std::size_t i = 0; i < step.size(); ++i)
          if (step[i] <= *rep.t_mem && std::isfinite(sp[i])) sp_mem = sp[i];
      // t_sparse: the first probe after memorisation with a small active subnetwork (at
      // initialisation a handful of neurons can already match the chance-level accuracy)
      double sp_end = std::nan("");
      for (std::size_t i = 0; i < step.size(); ++i) {
        if (!std::isfinite(sp[i])) continue;
        sp_end = sp[i];
        if (!t_sparse && std::isfinite(sp_mem) && step[i] >= *rep.t_mem && sp[i] * collapse <= sp_mem)
          t_sparse = step[i];
      }
      for (std::size_t i = 0; i < step.size() && !t_95; ++i)
        if (acc[i] >= 0.95) t_95 = step[i];
      std::printf(
          "seed %lu: t_mem %s, t_grok %s, t_sparse %s; effective sparsity %g at t_mem, %g at the end; test acc "
          "%.2f; %s (%.1f s)\n",
          static_cast<unsigned long>(s), examples::show_step(rep.t_mem).c_str(),
          examples::show_step(rep.t_grok).c_str(), examples::show_step(t_sparse).c_str(), sp_mem, sp_end,
          res.history.last("test_acc"), verdict_name(rep.verdict), res.seconds);
      std::fflush(stdout);
      const bool together = t_sparse && rep.t_grok && *t_sparse <= 2 * *rep.t_grok && *rep.t_grok <= 2 * *t_sparse;
      const bool seed_ok = t_95 && std::isfinite(sp_mem) && sp_end * collapse <= sp_mem && together;
      ok = ok && seed_ok;
      runs.push_back({{"seed", s},
                      {"dir", tc.out_dir},
                      {"report", to_json(rep)},
                      {"t_sparse", examples::opt_json(t_sparse)},
                      {"t_test_95", examples::opt_json(t_95)},
                      {"sparsity_at_t_mem", std::isfinite(sp_mem) ? nlohmann::json(sp_mem) : nlohmann::json(nullptr)},
                      {"sparsity_final", sp_end},
                      {"final_test_acc", res.history.last("test_acc")},
                      {"together", together},
                      {"seconds", res.seconds}});
    }
    const GrokAggregate agg = aggregate_reports(reports);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_all).count();
    nlohmann::ordered_json summary{{"experiment", "sparse_parity"},
                                   {"config",
                                    {{"n", n},
                                     {"k", k},
                                     {"train", n_train},
                                     {"test", n_test},
                                     {"width", width},
                                     {"lr", lr},
                                     {"weight_decay", weight_decay},
                                     {"batch", batch},
                                     {"epochs", epochs},
                                     {"steps", steps},
                                     {"probe_every", probe_every},
                                     {"collapse", collapse},
                                     {"seeds", seeds},
                                     {"first_seed", seed}}},
                                   {"runs", runs},
                                   {"aggregate", to_json(agg)},
                                   {"wall_seconds", wall}};
    std::filesystem::create_directories(out);
    std::ofstream(out + "/summary.json") << summary.dump(2) << "\n";
    std::printf("wrote %s/summary.json (%.0f s)\n", out.c_str(), wall);
    if (!no_plot) {
      examples::plot("plot_sparse_parity.py", out, "sparse_parity.png");
    }
    if (quick && !ok) {
      std::fprintf(stderr,
                   "sparse_parity: --quick expected, on every seed, test accuracy 0.95, final effective sparsity %gx "
                   "below its value at t_mem, and t_sparse within 2x of t_grok\n",
                   collapse);
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sparse_parity: %s\n", e.what());
    return 2;
  }
}
