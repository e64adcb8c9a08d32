// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// The local learning coefficient, the Hessian and the distance from the linearized model over a
// grokking run. devinterp's grokking notebook (notes/peer-semantics §2.1) reports that the LLC,
// although it is computed on the training set only, rises during memorisation and falls as the
// model groks, tracking the test loss. Its model (a shared 12-dimensional embedding feeding two
// 12 → 48 maps that are summed) is not one of grokscope's models, so this example uses the
// flagship instead: Gromov's quadratic MLP on (a + b) mod 59, 40 % of the pairs, MSE, full-batch
// AdamW (lr 3e-3, betas (0.9, 0.98), weight decay 0.03), 8 000 steps.
//
// Every --every steps, on the trained network's current parameters:
//   llc_mean, ...            estimate_llc on the training pairs (SGLD with --epsilon, --nbeta,
//                            --gamma, --draws, one chain per checkpoint as in the notebook,
//                            mini-batches of 128), with its MALA acceptance and warnings
//   hessian_top, _trace      the training loss's Hessian (the same network copied into double):
//                            the top eigenvalue by 20 Lanczos steps, the trace by 20 Hutchinson
//                            probes
//   taylor_gap               ‖f(θ_t) − f_lin(θ_t)‖ / ‖f_lin(θ_t) − f(θ₀)‖ on the test pairs, with
//                            f_lin(θ) = f(θ₀) + J(θ₀)(θ − θ₀) the first-order Taylor model at
//                            initialisation (the Jacobian–vector product by central differences in
//                            double): how far the network is from its lazy linearization along its
//                            own (AdamW) trajectory; the step where it passes 0.1 is reported
// Reported per seed: t_mem, t_grok, the step of the LLC's peak, the Pearson correlation over
// checkpoints between the LLC and the test loss (and the training loss), and the Taylor-gap exit.
//
// Writes OUT/seed_<s>/{history.csv, summary.json}, OUT/summary.json and OUT/llc_grokking.png
// (tools/plot_llc_grokking.py). --quick (p 23, width 256, 60 % of pairs, 2 000 steps, 2 seeds,
// 100 draws) exits 1 unless every run groks, every settled LLC estimate (<= 10 % of draws below L0) is finite and
// positive, and the LLC peaks after t_mem.
//
// Calibration (devinterp's advice: scan ε and nβ, keep the MALA acceptance high and the trace
// above L₀): the flagship's loss is a mean over 59 outputs of a mean-field network, so its
// curvature is small (Hessian top ~1e-6 at initialisation, ~1e-4 once fitted) and nβ = m/ln m
// would leave the chain localized by γ alone. The defaults nβ = 1e4, γ = 10, ε = 1e-3 give MALA
// acceptance 0.6–0.9 on the fitted checkpoints; at initialisation (not a minimum) the estimate is
// negative, as devinterp's diagnostics warn.

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
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace grokscope;

double pearson(const std::vector<double>& a, const std::vector<double>& b) {
  const double n = static_cast<double>(a.size());
  double ma = 0, mb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) ma += a[i], mb += b[i];
  ma /= n, mb /= n;
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : std::nan("");
}

void copy_values(Model<float>& from, Model<double>& to) {
  const std::vector<Parameter<float>*> a = from.parameters();
  const std::vector<Parameter<double>*> b = to.parameters();
  require(a.size() == b.size(), "llc_grokking", "models differ");
  for (std::size_t i = 0; i < a.size(); ++i) b[i]->value = a[i]->value.cast<double>();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"LLC, Hessian and linearization gap over a grokking run of the flagship", "llc_grokking"};
  Index p = 59, width = 512, steps = 8000, every = 200, seeds = 3, draws = 200, batch = 128;
  double fraction = 0.4, weight_decay = 0.03, lr = 3e-3, epsilon = 1e-3, nbeta = 1e4, gamma = 10;
  std::uint64_t seed = 0;
  std::string out = "runs/llc_grokking";
  bool quick = false, no_plot = false;
  app.add_option("--p", p, "modulus")->check(CLI::Range(Index(3), Index(1000)))->capture_default_str();
  app.add_option("--width", width, "hidden width")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--fraction", fraction, "training fraction")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_option("--weight-decay", weight_decay, "AdamW weight decay")->capture_default_str();
  app.add_option("--lr", lr, "AdamW learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--steps", steps, "full-batch steps")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--every", every, "checkpoint interval of the measurements")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--epsilon", epsilon, "SGLD step size ε")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--nbeta", nbeta, "nβ (0: m / ln m for batch size m)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--gamma", gamma, "localization γ")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--draws", draws, "SGLD draws per checkpoint (one chain)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--batch", batch, "SGLD mini-batch")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--seeds", seeds, "seeds")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--seed", seed, "first seed")->capture_default_str();
  app.add_option("--out", out, "output folder")->capture_default_str();
  app.add_flag("--quick", quick, "p 23, width 256, 60 % of pairs, 2 000 steps, 2 seeds, 100 draws (the CTest run)");
  app.add_flag("--no-plot", no_plot, "do not call tools/plot_llc_grokking.py");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (quick) {
    if (app.count("--p") == 0) p = 23;
    if (app.count("--width") == 0) width = 256;
    if (app.count("--fraction") == 0) fraction = 0.6;
    if (app.count("--weight-decay") == 0) weight_decay = 0.1;
    if (app.count("--lr") == 0) lr = 5e-3;
    if (app.count("--steps") == 0) steps = 2000;
    if (app.count("--every") == 0) every = 100;
    if (app.count("--seeds") == 0) seeds = 2;
    if (app.count("--draws") == 0) draws = 100;
  }
  try {
    const auto t_all = std::chrono::steady_clock::now();
    const Dataset full = modular_dataset({ModOp::Add, p, ModEncoding::PairIndices});
    nlohmann::ordered_json runs = nlohmann::ordered_json::array();
    std::vector<GrokReport> reports;
    bool ok = true;
    for (Index k = 0; k < seeds; ++k) {
      const std::uint64_t s = seed + static_cast<std::uint64_t>(k);
      Dataset ds = full;
      Rng split_rng = Rng(s).fork(1);
      apply_split(ds, split_by_fraction(ds.size(), fraction, split_rng), "random(seed " + std::to_string(s) + ")");
      Mlp<float> net(MlpConfig::gromov(p, width, s));
      Mlp<double> twin(MlpConfig::gromov(p, width, s));  // the same network in double, for the Hessian
      AdamConfig ac = AdamConfig::grokking(weight_decay);
      ac.lr = lr;
      Adam<float> opt(net.parameters(), ac);
      TrainConfig tc;
      tc.steps = steps;
      tc.eval_every = every;
      tc.loss = LossKind::Mse;
      tc.seed = s;
      tc.out_dir = out + "/seed_" + std::to_string(s);
      Trainer<float> tr(net, ds, opt, tc);
      LlcOptions lo;
      lo.epsilon = epsilon, lo.nbeta = nbeta, lo.gamma = gamma, lo.chains = 1, lo.draws = draws;
      lo.batch_size = std::min<Index>(batch, static_cast<Index>(ds.train.size()));
      lo.seed = s;
      auto warnings = std::make_shared<Index>(0);
      BatchLossFn<float> batch_loss = dataset_batch_loss<float>(ds, ds.train, LossKind::Mse);
      const Index n_train = static_cast<Index>(ds.train.size());
      tr.add_probe(every, [&, warnings](Model<float>& m, Index) {
        const LlcResult r = estimate_llc<float>(m, batch_loss, n_train, lo);
        *warnings += static_cast<Index>(r.warnings.size());
        return Record{{"llc_mean", r.llc_mean},
                      {"llc_mala_acceptance", r.mala_acceptance},
                      {"llc_fraction_below_init", r.fraction_below_init},
                      {"llc_warnings", static_cast<double>(r.warnings.size())}};
      });
      const LossFn<double> full_loss = dataset_loss<double>(ds, ds.train, LossKind::Mse);
      tr.add_probe(every, [&](Model<float>& m, Index step) {
        copy_values(m, twin);
        HessianOperator H(twin, full_loss);
        LanczosOptions l;
        l.iterations = 20;
        l.seed = static_cast<std::uint64_t>(step);
        const EigenEstimate e = lanczos_eigenvalues(H.as_operator(), l);
        TraceOptions to;
        to.max_iter = 20;
        to.tol = 0;
        to.seed = static_cast<std::uint64_t>(step) + 1;
        return Record{{"hessian_top", e.eigenvalues(0)},
                      {"hessian_trace", hutchinson_trace(H.as_operator(), to).trace}};
      });
      // the first-order Taylor model at initialisation, along the AdamW trajectory
      const ModelInput<double> X_test = ModelInput<double>::from_dataset(ds, ds.test);
      auto theta0 = std::make_shared<std::vector<Matrix<double>>>();
      auto f0 = std::make_shared<Eigen::MatrixXd>();
      tr.add_probe(every, [&, theta0, f0](Model<float>& m, Index) {
        copy_values(m, twin);
        const std::vector<Parameter<double>*> ps = twin.parameters();
        const auto outputs = [&] {
          Tape<double> t;
          return Eigen::MatrixXd(twin.forward(t, X_test).value());
        };
        if (theta0->empty()) {
          for (const Parameter<double>* q : ps) theta0->push_back(q->value);
          *f0 = outputs();
          return Record{{"taylor_gap", 0.0}};
        }
        const Eigen::MatrixXd f = outputs();
        std::vector<Matrix<double>> now;
        double dn = 0, tn = 0;
        for (std::size_t i = 0; i < ps.size(); ++i) {
          now.push_back(ps[i]->value);
          dn += (now[i] - (*theta0)[i]).squaredNorm();
          tn += (*theta0)[i].squaredNorm();
        }
        const double h = 1e-4 * (1 + std::sqrt(tn)) / std::max(std::sqrt(dn), 1e-300);
        for (std::size_t i = 0; i < ps.size(); ++i) ps[i]->value = (*theta0)[i] + h * (now[i] - (*theta0)[i]);
        const Eigen::MatrixXd fp = outputs();
        for (std::size_t i = 0; i < ps.size(); ++i) ps[i]->value = (*theta0)[i] - h * (now[i] - (*theta0)[i]);
        const Eigen::MatrixXd fm = outputs();
        const Eigen::MatrixXd jvp = (fp - fm) / (2 * h);  // J(θ₀)(θ_t − θ₀)
        const double moved = jvp.norm();
        return Record{{"taylor_gap", moved > 0 ? (f - *f0 - jvp).norm() / moved : 0.0}};
      });
      std::printf("seed %lu: (a + b) mod %ld, %zu train pairs, width %ld, %ld steps, measurements every %ld\n",
                  static_cast<unsigned long>(s), static_cast<long>(p), ds.train.size(), static_cast<long>(width),
                  static_cast<long>(steps), static_cast<long>(every));
      std::fflush(stdout);
      const TrainResult res = tr.run();
      const History& h = res.history;
      const GrokReport& rep = *res.report;
      reports.push_back(rep);
      std::vector<double> st, llc, test_loss, train_loss, top;
      const std::vector<double> s_all = h.column("step"), l_all = h.column("llc_mean"), te = h.column("test_loss"),
                                tr_l = h.column("train_loss"), ht = h.column("hessian_top");
      for (std::size_t i = 0; i < s_all.size(); ++i)
        if (std::isfinite(l_all[i])) {
          st.push_back(s_all[i]), llc.push_back(l_all[i]), test_loss.push_back(te[i]), train_loss.push_back(tr_l[i]);
          top.push_back(ht[i]);
        }
      const std::size_t peak = static_cast<std::size_t>(std::max_element(llc.begin(), llc.end()) - llc.begin());
      const double r_test = pearson(llc, test_loss), r_train = pearson(llc, train_loss);
      const std::optional<double> t_exit = linearization_exit(h.column("step"), h.column("taylor_gap"), 0.1);
      // every estimate that devinterp's diagnostics call settled (at most 10 % of the draws below
      // L0: the chain stayed at a minimum) is finite and positive, at least a third of the
      // checkpoints are settled, and the LLC keeps rising past t_mem. (Before the training loss
      // has converged, half the draws fall below L0 and the estimate is near zero either sign.)
      const std::vector<double> below = h.column("llc_fraction_below_init");
      bool positive = true;
      std::size_t settled = 0, measured = 0;
      for (std::size_t i = 0; i < below.size(); ++i) {
        if (!std::isfinite(below[i])) continue;  // a record without an LLC measurement
        ++measured;
        if (below[i] <= 0.1) ++settled, positive = positive && std::isfinite(l_all[i]) && l_all[i] > 0;
      }
      positive = positive && 3 * settled >= measured;
      const bool rises = rep.t_mem && st[peak] > *rep.t_mem;
      ok = ok && rep.verdict == GrokVerdict::Grokked && positive && rises;
      std::printf(
          "seed %lu: %s, t_mem %s, t_grok %s; LLC %.3g at 0, peak %.3g at %.0f, %.3g at the end; corr(LLC, test "
          "loss) %.2f, corr(LLC, train loss) %.2f; Hessian top %.3g -> %.3g; leaves its linearization at %s; %ld "
          "LLC warnings; %.0f s\n",
          static_cast<unsigned long>(s), verdict_name(rep.verdict), examples::show_step(rep.t_mem).c_str(),
          examples::show_step(rep.t_grok).c_str(), llc.front(), llc[peak], st[peak], llc.back(), r_test, r_train,
          top.front(), top.back(), examples::show_step(t_exit).c_str(), static_cast<long>(*warnings), res.seconds);
      std::fflush(stdout);
      runs.push_back({{"seed", s},
                      {"dir", tc.out_dir},
                      {"report", to_json(rep)},
                      {"llc_initial", llc.front()},
                      {"llc_peak", llc[peak]},
                      {"llc_peak_step", st[peak]},
                      {"llc_final", llc.back()},
                      {"corr_llc_test_loss", r_test},
                      {"corr_llc_train_loss", r_train},
                      {"hessian_top_initial", top.front()},
                      {"hessian_top_final", top.back()},
                      {"taylor_exit", examples::opt_json(t_exit)},
                      {"llc_warnings", *warnings},
                      {"seconds", res.seconds}});
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_all).count();
    nlohmann::ordered_json summary{{"experiment", "llc_grokking"},
                                   {"config",
                                    {{"p", p},
                                     {"width", width},
                                     {"fraction", fraction},
                                     {"weight_decay", weight_decay},
                                     {"lr", lr},
                                     {"steps", steps},
                                     {"every", every},
                                     {"llc",
                                      {{"epsilon", epsilon},
                                       {"nbeta", nbeta},
                                       {"gamma", gamma},
                                       {"draws", draws},
                                       {"chains", 1},
                                       {"batch", batch}}},
                                     {"seeds", seeds},
                                     {"first_seed", seed}}},
                                   {"runs", runs},
                                   {"aggregate", to_json(aggregate_reports(reports))},
                                   {"wall_seconds", wall}};
    std::filesystem::create_directories(out);
    std::ofstream(out + "/summary.json") << summary.dump(2) << "\n";
    std::printf("wrote %s/summary.json (%.0f s)\n", out.c_str(), wall);
    if (!no_plot) examples::plot("plot_llc_grokking.py", out, "llc_grokking.png");
    if (quick && !ok) {
      std::fputs(
          "llc_grokking: --quick expected every run to grok, finite positive LLC estimates wherever the chains settled "
          "(<= 10 % of draws below L0, on a third of the checkpoints or more), "
          "and the LLC's peak after t_mem\n",
          stderr);
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "llc_grokking: %s\n", e.what());
    return 2;
  }
}
