// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// Nanda, Chan, Lieberum, Smith & Steinhardt (2023), "Progress measures for grokking via
// mechanistic interpretability" (REFERENCES §3): their one-layer transformer (d_model 128, 4 heads,
// d_mlp 512, ReLU, no LayerNorm) on (a + b) mod p with inputs "a b =", full-batch AdamW (lr 1e-3,
// weight decay 1, betas 0.9/0.98, 10-step warm-up), cross-entropy, 30 % of the p² pairs with
// their split (seed 0 is exactly their 3 830 pairs at p = 113).
//
// The parameters are kept every --measure-every steps. After training, the key frequencies are
// read from the final model (the frequencies that the MLP neurons' activations over the (a, b)
// grid concentrate on, §3.3) and every kept state is measured with them fixed, as Nanda et al. do:
//   restricted loss   cross-entropy of the logits' key-frequency part cos/sin(w_k(a + b)) plus
//                     their grid mean (train and test pairs)
//   excluded loss     training cross-entropy with the key-frequency part removed (all keys, and
//                     each key alone)
//   Gini              of the Fourier component norms of the embedding W_E (token axis) and of the
//                     neuron-to-logit map W_L = W_Uᵀ W_out (output axis), over the p basis rows
//   Σθ²               the sum of squared weights
// Losses here are over the p answers (the "=" logit dropped), as in the paper's measures.
//
// Phases (§3.2): memorisation (train loss falls; excluded loss falls with it), circuit formation
// (train and test flat; excluded loss rises, restricted loss falls), clean-up (test loss falls;
// Σθ² falls sharply; Gini jumps). Per seed it reports t_mem, t_grok (detectors), the first steps
// at which the restricted (test) loss and the test loss fall below --loss-threshold, and the
// step at which the excluded loss peaks after t_mem.
//
// Writes OUT/seed_<s>/{history.csv, summary.json, progress.csv}, OUT/summary.json and
// OUT/nanda_progress.png (tools/plot_nanda_progress.py). --quick runs p = 31 (50 % of pairs,
// lr 3e-3, 3 000 steps, one thread in CTest; about 50 s) and exits 1 unless the model groks, the restricted loss
// crosses the threshold before the test loss, the excluded loss rises after memorisation while the training loss stays
// low, and Σθ² and the Gini coefficient of W_L end beyond their values at t_mem.

#include <grokscope/grokscope.hpp>

#include <grokscope/detect/slingshot.hpp>
#include <grokscope/nn/transformer.hpp>
#include <grokscope/optim/adam.hpp>
#include <grokscope/optim/schedule.hpp>

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
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

namespace {
using namespace grokscope;

/// The key frequencies of the final model: each MLP neuron's activations over the grid are
/// assigned their dominant frequency (key_frequencies); a frequency is key when at least
/// `min_neurons` neurons with an explained share ≥ `share` use it.
struct Keys {
  std::vector<Index> freqs;
  std::vector<Index> neurons;     ///< per key: how many well-explained neurons use it
  double explained_fraction = 0;  ///< share of neurons with explained share ≥ `share`
};

Keys find_keys(Transformer<float>& net, const ModelInput<float>& grid, Index p, double share, Index min_neurons) {
  const Eigen::MatrixXd acts = readout_input<float>(grid, "blocks.0.mlp.W_out")(net);  // (p², d_mlp)
  const KeyFrequencies kf = key_frequencies(acts);
  std::vector<Index> count(static_cast<std::size_t>((p - 1) / 2 + 1), 0);
  Index good = 0;
  for (Index n = 0; n < acts.cols(); ++n)
    if (kf.explained(n) >= share) {
      ++count[static_cast<std::size_t>(kf.neuron_frequency[static_cast<std::size_t>(n)])];
      ++good;
    }
  Keys k;
  for (Index f = 1; f <= (p - 1) / 2; ++f)
    if (count[static_cast<std::size_t>(f)] >= min_neurons) {
      k.freqs.push_back(f);
      k.neurons.push_back(count[static_cast<std::size_t>(f)]);
    }
  k.explained_fraction = static_cast<double>(good) / static_cast<double>(acts.cols());
  return k;
}

std::string format_share(double v) { return " (" + std::to_string(static_cast<int>(std::lround(100 * v))) + " %)"; }

/// Nanda et al.'s measures of the model's current state, key frequencies fixed.
Record measure(Transformer<float>& net, const ModelInput<float>& grid, const IndexList& labels, const IndexList& train,
               const IndexList& test, const std::vector<Index>& keys, Index p, Index step) {
  Tape<float> t;
  const Eigen::MatrixXd full = net.forward(t, grid).value().cast<double>();
  const Eigen::MatrixXd L = full.leftCols(p);  // the p answers; "=" dropped
  Eigen::MatrixXd R = project_frequencies(L, keys);
  R.rowwise() += L.colwise().mean();
  const Eigen::MatrixXd W_E = net.parameter("embed.W_E").value.cast<double>();
  const Eigen::MatrixXd W_U = net.parameter("unembed.W_U").value.cast<double>();
  const Eigen::MatrixXd W_out = net.parameter("blocks.0.mlp.W_out").value.cast<double>();
  const Eigen::MatrixXd W_L = W_U.leftCols(p).transpose() * W_out;  // (p answers, d_mlp)
  double sq = 0;
  for (Parameter<float>* q : net.parameters()) sq += q->value.cast<double>().squaredNorm();
  Record r{{"step", static_cast<double>(step)},
           {"train_loss", excluded_loss(L, labels, {}, train)},
           {"test_loss", excluded_loss(L, labels, {}, test)},
           {"restricted_loss_train", restricted_loss(L, labels, keys, train)},
           {"restricted_loss_test", restricted_loss(L, labels, keys, test)},
           {"excluded_loss", excluded_loss(L, labels, keys, train)}};
  for (Index k : keys) r.emplace_back("excluded_loss_k" + std::to_string(k), excluded_loss(L, labels, {k}, train));
  r.emplace_back("gini_W_E", gini(fourier_component_norms(W_E.leftCols(p).transpose())));
  r.emplace_back("gini_W_L", gini(fourier_component_norms(W_L)));
  r.emplace_back("sum_sq_weights", sq);
  return r;
}

/// The final model's circuits from its captured activations over the grid (Nanda et al. §5.2,
/// Figs. 3–5): MLP neurons clustered by key frequency with the variance each neuron's frequency
/// explains; the 2-D Fourier spectrum of the MLP activations and of each head's attention from
/// "=" to a, as the share of each frequency k (terms involving k along a or b).
nlohmann::ordered_json circuits_of(Transformer<float>& net, const ModelInput<float>& grid, Index p) {
  const ActivationCache<float> cache =
      net.run_with_cache(grid, {{"blocks.0.mlp.hook_post", "blocks.0.attn.hook_pattern"}});
  const Eigen::MatrixXd acts = cache["blocks.0.mlp.hook_post"].cast<double>();  // (p², d_mlp), final position
  const NeuronClusters nc = neuron_clusters(acts);
  const auto vec = [](const Eigen::VectorXd& v) { return std::vector<double>(v.data(), v.data() + v.size()); };
  nlohmann::ordered_json j;
  j["neuron_clusters"] = nlohmann::ordered_json::array();
  std::string line;
  for (std::size_t i = 0; i < nc.frequencies.size(); ++i) {
    j["neuron_clusters"].push_back(
        {{"frequency", nc.frequencies[i]}, {"neurons", nc.neurons[i].size()}, {"explained", nc.explained[i]}});
    if (i < 6)
      line += (i ? ", " : "") + std::to_string(nc.frequencies[i]) + " (" + std::to_string(nc.neurons[i].size()) + ")";
  }
  j["variance_explained"] = nc.fraction_explained;
  const GridSpectrum mlp = grid_spectrum(acts);
  j["mlp_per_frequency"] = vec(mlp.per_frequency);
  // the last block's pattern: one query (the "=" position) per example and head; column 0 is a
  const Matrix<float>& P = cache["blocks.0.attn.hook_pattern"];
  const Index heads = net.transformer_config().heads;
  j["attention_per_frequency"] = nlohmann::ordered_json::array();
  std::string heads_line;
  for (Index h = 0; h < heads; ++h) {
    Eigen::VectorXd to_a(p * p);
    for (Index i = 0; i < p * p; ++i) to_a(i) = static_cast<double>(P(i * heads + h, 0));
    const GridSpectrum g = grid_spectrum(to_a);
    j["attention_per_frequency"].push_back(vec(g.per_frequency));
    Index top = 1;
    g.per_frequency.tail(g.per_frequency.size() - 1).maxCoeff(&top);
    heads_line += (h ? ", " : "") + std::to_string(top + 1) + format_share(g.per_frequency(top + 1));
  }
  j["line"] = "neuron clusters by frequency " + line + "; their frequencies explain " +
              std::to_string(static_cast<int>(std::lround(100 * nc.fraction_explained))) +
              " % of the MLP's variance; each head's attention to a peaks at frequency " + heads_line;
  return j;
}

std::optional<double> first_below(const std::vector<double>& steps, const std::vector<double>& v, double threshold,
                                  double after = -1) {
  for (std::size_t i = 0; i < v.size(); ++i)
    if (steps[i] > after && v[i] < threshold) return steps[i];
  return std::nullopt;
}

/// The value of a column at the last measured step ≤ `step` (the first value if none).
double at_step(const std::vector<double>& steps, const std::vector<double>& v, double step) {
  double out = v.front();
  for (std::size_t i = 0; i < v.size() && steps[i] <= step; ++i) out = v[i];
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Nanda et al.'s progress measures over a grokking run of their one-layer transformer", "nanda_progress"};
  Index p = 113, steps = 15000, eval_every = 100, measure_every = 100, seeds = 1, min_neurons = 5;
  double fraction = 0.3, lr = 1e-3, weight_decay = 1.0, share = 0.85, threshold = 0.1;
  std::uint64_t seed = 0;
  std::string out = "runs/nanda_progress";
  bool quick = false, no_plot = false;
  CrossEntropyPrecision ce_precision = CrossEntropyPrecision::Stable;
  app.add_option("--p", p, "modulus (odd)")->check(CLI::Range(Index(3), Index(1000)))->capture_default_str();
  app.add_option("--fraction", fraction, "training fraction of the p² pairs")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--lr", lr, "AdamW learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--weight-decay", weight_decay, "AdamW weight decay")->capture_default_str();
  app.add_option("--steps", steps, "full-batch steps")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--eval-every", eval_every, "evaluation interval")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--measure-every", measure_every, "interval of the kept states that get the progress measures")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--key-share", share, "a neuron counts when this share of its Fourier mass is in one frequency")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--key-neurons", min_neurons, "a key frequency has at least this many such neurons")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--loss-threshold", threshold, "t_restricted and t_test: first step with the loss below this")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--seeds", seeds, "seeds (split and initialisation)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--seed", seed, "first seed (0: Nanda et al.'s split)")->capture_default_str();
  app.add_option("--ce-precision", ce_precision,
                 "cross-entropy gradient: stable (rows of dZ sum to zero) or native (PyTorch's float32 arithmetic)")
      ->transform(CLI::CheckedTransformer(std::map<std::string, CrossEntropyPrecision>{
          {"stable", CrossEntropyPrecision::Stable}, {"native", CrossEntropyPrecision::Native}}))
      ->capture_default_str();
  app.add_option("--out", out, "output folder")->capture_default_str();
  app.add_flag("--quick", quick, "p = 31, 50 % of pairs, lr 3e-3, 3 000 steps (the CTest run, on one thread)");
  app.add_flag("--no-plot", no_plot, "do not call tools/plot_nanda_progress.py");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (quick) {
    if (app.count("--p") == 0) p = 31;
    if (app.count("--fraction") == 0) fraction = 0.5;
    if (app.count("--lr") == 0) lr = 3e-3;
    if (app.count("--steps") == 0) steps = 3000;
    if (app.count("--eval-every") == 0) eval_every = 25;
    if (app.count("--measure-every") == 0) measure_every = 25;
    if (app.count("--key-neurons") == 0) min_neurons = 3;
  }
  try {
    require(p % 2 == 1, "nanda_progress", "p must be odd (the Fourier basis over Z_p), got " + std::to_string(p));
    require(fraction > 0 && fraction < 1, "nanda_progress", "the training fraction must be in (0, 1)");
    require(weight_decay >= 0 && std::isfinite(weight_decay), "nanda_progress", "weight decay must be >= 0");
    const auto t_all = std::chrono::steady_clock::now();
    nlohmann::ordered_json runs = nlohmann::ordered_json::array();
    std::vector<GrokReport> reports;
    bool ok = true;
    for (Index r = 0; r < seeds; ++r) {
      const std::uint64_t s = seed + static_cast<std::uint64_t>(r);
      Dataset ds = modular_dataset({ModOp::Add, p, ModEncoding::NandaTokens});
      apply_split(ds, nanda_split(ds, fraction, s), "nanda(seed " + std::to_string(s) + ")");
      require(!ds.train.empty() && !ds.test.empty(), "nanda_progress", "the split leaves no training or test pairs");
      Transformer<float> net(TransformerConfig::nanda2023(p, s));
      AdamConfig ac = AdamConfig::grokking(weight_decay);
      ac.lr = lr;
      Adam<float> opt(net.parameters(), ac);
      TrainConfig tc;
      tc.steps = steps;
      tc.eval_every = eval_every;
      tc.loss = LossKind::CrossEntropy;
      tc.ce_precision = ce_precision;
      tc.schedule = Schedule::linear_warmup(10);
      tc.seed = s;
      tc.out_dir = out + "/seed_" + std::to_string(s);
      Trainer<float> tr(net, ds, opt, tc);
      // keep the parameters every measure_every steps (the key frequencies come from the end)
      struct Kept {
        Index step;
        std::vector<Matrix<float>> values;
      };
      auto kept = std::make_shared<std::vector<Kept>>();
      tr.add_probe(measure_every, [kept](Model<float>& m, Index step) {
        Kept k{step, {}};
        double sq = 0;
        for (Parameter<float>* q : m.parameters()) {
          k.values.push_back(q->value);
          sq += q->value.cast<double>().squaredNorm();
        }
        kept->push_back(std::move(k));
        return Record{{"sum_sq_weights", sq}};
      });
      // softmax collapse and the unembedding's norm at every evaluation (the slingshot detector's input)
      IndexList train_labels;
      for (Index i : ds.train) train_labels.push_back(ds.labels[static_cast<std::size_t>(i)]);
      tr.add_probe(eval_every, stability_probe<float>(ModelInput<float>::from_dataset(ds, ds.train),
                                                      std::move(train_labels), "unembed.W_U"));
      std::printf("seed %lu: p = %ld, %zu train / %zu test pairs, %ld parameters, %ld steps\n",
                  static_cast<unsigned long>(s), static_cast<long>(p), ds.train.size(), ds.test.size(),
                  static_cast<long>(net.num_parameters()), static_cast<long>(steps));
      std::fflush(stdout);
      const TrainResult res = tr.run();
      const GrokReport& rep = *res.report;
      reports.push_back(rep);

      // the whole grid in row order a·p + b
      IndexList all(static_cast<std::size_t>(ds.size()));
      std::iota(all.begin(), all.end(), Index(0));
      const ModelInput<float> grid = ModelInput<float>::from_dataset(ds, all);
      const SlingshotReport sling = detect_slingshots(res.history.column("step"), res.history.column("train_loss"),
                                                      res.history.column("last_layer_norm"));
      const Keys keys = find_keys(net, grid, p, share, min_neurons);
      require(!keys.freqs.empty(), "nanda_progress",
              "no key frequencies in the final model (no frequency has " + std::to_string(min_neurons) +
                  " neurons with share >= " + std::to_string(share) + "); the run did not form the circuit");
      History prog;
      const std::vector<Matrix<float>> final_values = [&] {
        std::vector<Matrix<float>> v;
        for (Parameter<float>* q : net.parameters()) v.push_back(q->value);
        return v;
      }();
      const std::vector<Parameter<float>*> ps = net.parameters();
      for (const Kept& k : *kept) {
        for (std::size_t i = 0; i < ps.size(); ++i) ps[i]->value = k.values[i];
        prog.add(measure(net, grid, ds.labels, ds.train, ds.test, keys.freqs, p, k.step));
      }
      for (std::size_t i = 0; i < ps.size(); ++i) ps[i]->value = final_values[i];
      prog.write_csv(tc.out_dir + "/progress.csv");

      const std::vector<double> st = prog.column("step"), test = prog.column("test_loss"),
                                restr = prog.column("restricted_loss_test"), excl = prog.column("excluded_loss"),
                                train = prog.column("train_loss"), sq = prog.column("sum_sq_weights"),
                                gl = prog.column("gini_W_L"), ge = prog.column("gini_W_E");
      const std::optional<double> t_restricted = first_below(st, restr, threshold);
      const std::optional<double> t_test = first_below(st, test, threshold);
      const double t_mem = rep.t_mem ? *rep.t_mem : std::nan("");
      // excluded loss: its value at t_mem and its peak after t_mem (while the training loss stays low)
      double excl_mem = std::nan(""), excl_peak = std::nan(""), t_peak = std::nan("");
      if (rep.t_mem) {
        excl_mem = at_step(st, excl, t_mem);
        for (std::size_t i = 0; i < st.size(); ++i)
          if (st[i] >= t_mem && !(excl[i] <= excl_peak)) excl_peak = excl[i], t_peak = st[i];
      }
      const double sq_mem = rep.t_mem ? at_step(st, sq, t_mem) : std::nan("");
      const double gl_mem = rep.t_mem ? at_step(st, gl, t_mem) : std::nan("");
      const double ge_mem = rep.t_mem ? at_step(st, ge, t_mem) : std::nan("");
      std::string key_list;
      for (std::size_t i = 0; i < keys.freqs.size(); ++i)
        key_list += (i ? ", " : "") + std::to_string(keys.freqs[i]) + " (" + std::to_string(keys.neurons[i]) + ")";
      std::printf(
          "seed %lu: %s, t_mem %s, t_grok %s (%.0f s); key frequencies %s, %.0f %% of neurons explained\n"
          "  restricted test loss < %g at %s, test loss < %g at %s; excluded loss %.3g at t_mem, peak %.3g at "
          "%.0f\n  Σθ² %.1f at t_mem -> %.1f; Gini W_E %.2f -> %.2f, W_L %.2f -> %.2f\n"
          "  slingshot detector: %ld training-loss spikes after fitting, %ld cycles (norm burst first)\n",
          static_cast<unsigned long>(s), verdict_name(rep.verdict), examples::show_step(rep.t_mem).c_str(),
          examples::show_step(rep.t_grok).c_str(), res.seconds, key_list.c_str(), 100 * keys.explained_fraction,
          threshold, examples::show_step(t_restricted).c_str(), threshold, examples::show_step(t_test).c_str(),
          excl_mem, excl_peak, t_peak, sq_mem, sq.back(), ge_mem, ge.back(), gl_mem, gl.back(),
          static_cast<long>(sling.spikes), static_cast<long>(sling.cycles));
      std::fflush(stdout);
      const nlohmann::ordered_json circuits = circuits_of(net, grid, p);
      std::printf("  circuits: %s\n", circuits["line"].get<std::string>().c_str());
      const bool restricted_first = t_restricted && t_test && *t_restricted < *t_test;
      const bool excluded_rises = std::isfinite(excl_peak) && excl_peak >= 2 * excl_mem;
      const bool cleanup = std::isfinite(sq_mem) && sq.back() < sq_mem && gl.back() > gl_mem;
      const bool circuit_explains = circuits["variance_explained"].get<double>() > 0.5;  // a Fourier circuit
      ok = ok && rep.verdict == GrokVerdict::Grokked && restricted_first && excluded_rises && cleanup &&
           circuit_explains;
      nlohmann::ordered_json kj = nlohmann::ordered_json::array();
      for (std::size_t i = 0; i < keys.freqs.size(); ++i)
        kj.push_back({{"frequency", keys.freqs[i]}, {"neurons", keys.neurons[i]}});
      runs.push_back({{"seed", s},
                      {"dir", tc.out_dir},
                      {"report", to_json(rep)},
                      {"status", train_status_name(res.status)},
                      {"key_frequencies", kj},
                      {"neurons_explained_fraction", keys.explained_fraction},
                      {"t_restricted", examples::opt_json(t_restricted)},
                      {"t_test_loss", examples::opt_json(t_test)},
                      {"excluded_loss_at_t_mem", examples::opt_json(excl_mem)},
                      {"excluded_loss_peak", examples::opt_json(excl_peak)},
                      {"excluded_loss_peak_step", examples::opt_json(t_peak)},
                      {"sum_sq_weights_at_t_mem", examples::opt_json(sq_mem)},
                      {"sum_sq_weights_final", sq.back()},
                      {"gini_W_E_at_t_mem", examples::opt_json(ge_mem)},
                      {"gini_W_E_final", ge.back()},
                      {"gini_W_L_at_t_mem", examples::opt_json(gl_mem)},
                      {"gini_W_L_final", gl.back()},
                      {"final_train_loss", train.back()},
                      {"slingshot", to_json(sling)},
                      {"circuits", circuits},
                      {"final_test_loss", test.back()},
                      {"checks",
                       {{"restricted_before_test", restricted_first},
                        {"excluded_rises_after_t_mem", excluded_rises},
                        {"cleanup", cleanup},
                        {"circuit_explains_half_the_mlp_variance", circuit_explains}}},
                      {"seconds", res.seconds}});
    }
    const GrokAggregate agg = aggregate_reports(reports);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_all).count();
    nlohmann::ordered_json summary{{"experiment", "nanda_progress"},
                                   {"paper", "Nanda et al. 2023 (REFERENCES §3)"},
                                   {"config",
                                    {{"p", p},
                                     {"fraction", fraction},
                                     {"lr", lr},
                                     {"weight_decay", weight_decay},
                                     {"ce_precision", cross_entropy_precision_name(ce_precision)},
                                     {"betas", {0.9, 0.98}},
                                     {"warmup", 10},
                                     {"steps", steps},
                                     {"eval_every", eval_every},
                                     {"measure_every", measure_every},
                                     {"key_share", share},
                                     {"key_neurons", min_neurons},
                                     {"loss_threshold", threshold},
                                     {"seeds", seeds},
                                     {"first_seed", seed}}},
                                   {"runs", runs},
                                   {"aggregate", to_json(agg)},
                                   {"wall_seconds", wall}};
    std::filesystem::create_directories(out);
    std::ofstream(out + "/summary.json") << summary.dump(2) << "\n";
    std::printf("wrote %s/summary.json and seed_<s>/progress.csv (%.0f s)\n", out.c_str(), wall);
    if (!no_plot) examples::plot("plot_nanda_progress.py", out, "nanda_progress.png");
    if (quick && !ok) {
      std::fprintf(
          stderr,
          "nanda_progress: --quick expected, on every seed, grokking, the restricted loss below the "
          "threshold before the test loss, the excluded loss at least doubling after t_mem, and Σθ² "
          "falling and the Gini of W_L rising from t_mem to the end, and the neurons' frequencies explaining more "
          "than half the MLP's variance\n");
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nanda_progress: %s\n", e.what());
    return 2;
  }
}
