// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file What the examples share: calling a plotting script, small summaries of runs, and the
/// flagship run (Gromov's quadratic MLP on (a + b) mod p with full-batch AdamW) that the sweeps
/// repeat. Not part of the library.

#include <grokscope/grokscope.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#ifndef GROKSCOPE_SOURCE_DIR
#define GROKSCOPE_SOURCE_DIR "."
#endif

namespace grokscope::examples {

/// `s` quoted for /bin/sh.
inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

/// Runs tools/<script> OUT [args...] with /usr/bin/python3 and says where `png` (inside OUT) went,
/// or that matplotlib is missing. Returns whether the script succeeded.
inline bool plot(const std::string& script, const std::string& out, const std::string& png,
                 const std::vector<std::string>& args = {}) {
  std::string cmd = "/usr/bin/python3 " + shell_quote(std::string(GROKSCOPE_SOURCE_DIR) + "/tools/" + script) + " " +
                    shell_quote(out);
  for (const std::string& a : args) cmd += " " + shell_quote(a);
  cmd += " > /dev/null 2>&1";
  const bool ok = std::system(cmd.c_str()) == 0;
  if (ok)
    std::printf("wrote %s/%s\n", out.c_str(), png.c_str());
  else
    std::printf("no plot: /usr/bin/python3 with matplotlib is needed for tools/%s\n", script.c_str());
  return ok;
}

/// Median of a sample (NaN when empty).
inline double median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/// A time or value for JSON: null when absent or not finite.
inline nlohmann::json opt_json(const std::optional<double>& v) {
  return v && std::isfinite(*v) ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

/// A step for printing: the integer, or "never".
inline std::string show_step(const std::optional<double>& v) {
  return v ? std::to_string(static_cast<long>(*v)) : std::string("never");
}

/// The flagship run: Gromov's quadratic MLP (mean-field, no biases) on (a + b) mod p one-hot pairs,
/// MSE on one-hot labels, full-batch AdamW with betas (0.9, 0.98), constant learning rate.
struct FlagshipRun {
  Index p = 59;
  Index width = 512;
  double fraction = 0.4;
  double weight_decay = 0.03;
  double lr = 3e-3;
  Index steps = 8000;
  Index eval_every = 50;
  Index log_points = 0;
  std::uint64_t seed = 0;  ///< split and initialisation
  std::string out_dir;
  bool progress = false;
};

/// Trains one flagship run on `full` (modular_dataset({ModOp::Add, p, PairIndices})).
inline TrainResult run_flagship(const Dataset& full, const FlagshipRun& c) {
  Dataset ds = full;
  Rng split_rng = Rng(c.seed).fork(1);
  apply_split(ds, split_by_fraction(ds.size(), c.fraction, split_rng), "random(seed " + std::to_string(c.seed) + ")");
  Mlp<float> net(MlpConfig::gromov(c.p, c.width, c.seed));
  AdamConfig ac = AdamConfig::grokking(c.weight_decay);
  ac.lr = c.lr;
  Adam<float> opt(net.parameters(), ac);
  TrainConfig tc;
  tc.steps = c.steps;
  tc.eval_every = c.eval_every;
  tc.log_points = c.log_points;
  tc.loss = LossKind::Mse;
  tc.seed = c.seed;
  tc.progress = c.progress;
  tc.out_dir = c.out_dir;
  Trainer<float> tr(net, ds, opt, tc);
  return tr.run();
}

}  // namespace grokscope::examples
