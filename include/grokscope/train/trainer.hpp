// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Trainer: the training loop of a grokking experiment. Full-batch or seeded mini-batch
/// steps; evaluation on the whole train and test sets every `eval_every` steps and/or on a
/// log-spaced grid; probes adding their own columns; checkpoints; stop rules; divergence
/// detection; history.csv, history.jsonl, summary.json and the split written to a run folder.
///
/// A record holds: step, train_loss, test_loss, train_acc, test_acc, weight_norm (‖θ‖₂),
/// grad_norm (‖∇L‖₂ of the last step, before any gradient filter), update_norm (‖Δθ‖₂ of the
/// last step), lr (of the last step), then every probe's columns. Accuracy is the argmax match
/// for classification, and for regression the fraction of examples whose mean squared error over
/// the outputs is below `regression_threshold` (Omnigrok's criterion); with the hinge loss, the
/// fraction whose output has the sign of its ±1 target.

#include <grokscope/autodiff/ops.hpp>
#include <grokscope/core/config.hpp>
#include <grokscope/core/rng.hpp>
#include <grokscope/data/dataset.hpp>
#include <grokscope/detect/grokking.hpp>
#include <grokscope/io/params.hpp>
#include <grokscope/nn/model.hpp>
#include <grokscope/optim/optimizer.hpp>
#include <grokscope/optim/schedule.hpp>
#include <grokscope/train/history.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

namespace grokscope {

/// The training objective.
enum class LossKind {
  CrossEntropy,  ///< softmax cross-entropy on class labels (accumulated in double; TrainConfig::ce_precision)
  StableMax,     ///< StableMax cross-entropy on class labels (Prieto et al. 2025; stablemax_cross_entropy)
  Mse,           ///< mean squared error against dense targets, or against one-hot labels
  Hinge          ///< mean of max(0, 1 − f·y) with one output and targets y = ±1 (Merrill et al.)
};

/// Name of a loss as written in summaries ("cross_entropy", "stablemax", "mse", "hinge").
inline const char* loss_name(LossKind k) {
  switch (k) {
    case LossKind::CrossEntropy:
      return "cross_entropy";
    case LossKind::StableMax:
      return "stablemax";
    case LossKind::Mse:
      return "mse";
    case LossKind::Hinge:
      return "hinge";
  }
  return "?";
}

/// How a run ended.
enum class TrainStatus { Completed, Stopped, Diverged, Interrupted };

/// Name of a status ("completed", "stopped", "diverged", "interrupted").
inline const char* train_status_name(TrainStatus s) {
  switch (s) {
    case TrainStatus::Completed:
      return "completed";
    case TrainStatus::Stopped:
      return "stopped";
    case TrainStatus::Diverged:
      return "diverged";
    case TrainStatus::Interrupted:
      return "interrupted";
  }
  return "?";
}

/// Settings of a run.
struct TrainConfig {
  Index steps = 1000;      ///< optimiser steps
  Index batch_size = 0;    ///< 0: full batch
  Index eval_every = 100;  ///< evaluate when step % eval_every == 0 (0: never on this grid)
  Index log_points = 0;    ///< also evaluate on this many log-spaced steps in [1, steps]
  LossKind loss = LossKind::CrossEntropy;
  CrossEntropyPrecision ce_precision = CrossEntropyPrecision::Stable;  ///< how cross_entropy forms dZ
  double regression_threshold = 1e-3;  ///< regression accuracy: per-example MSE below this
  double stop_test_acc = -1;           ///< stop once test accuracy ≥ this (≤ 0: no condition) ...
  double stop_train_acc = -1;          ///< ... and train accuracy ≥ this (≤ 0: no condition) ...
  Index stop_patience = 1;             ///< ... for this many consecutive evaluations (≤ 0 disables)
  /// Asked after every evaluation with the history so far (when set): true stops the run there
  /// (status Stopped), e.g. convergence_stop("weight_norm") of measure/circuit_efficiency.hpp.
  std::function<bool(const History&)> stop_when;
  std::vector<Index> checkpoint_steps;  ///< save parameters at these steps (needs out_dir)
  std::string out_dir;                  ///< run folder for history, summary, split, checkpoints ("" = none)
  std::uint64_t seed = 0;               ///< mini-batch order
  Schedule schedule;                    ///< learning-rate factor per step
  Index eval_chunk = 4096;              ///< evaluate in chunks of this many examples
  /// Weight noise (DeMoss et al. 2024, their `noisy_update_step`): each step's gradient, the
  /// filters' included, is taken at θ + δ ξ with ξ ~ N(0, I) drawn afresh per step, and the
  /// optimiser then updates θ itself. δ (a standard deviation) = 0: off. The noise is its own seeded
  /// stream (weight_noise_seed), independent of the mini-batch order.
  double weight_noise = 0;
  std::uint64_t weight_noise_seed = 0;
  bool progress = true;          ///< one-line progress on stderr when it is a terminal
  bool detect = true;            ///< run the grokking detectors at the end ...
  DetectOptions detect_options;  ///< ... with these settings: on train/test_acc, or on train/test_loss
                                 ///< with metric Loss
  /// Asked between steps (when set): true ends the run there with status Interrupted, the history
  /// up to that step written and detected as for a finished run (e.g. Ctrl-C in the Python module).
  std::function<bool()> interrupt;
  /// Called after every record (when set) with its step: a progress display (the Python module's
  /// tqdm bar). It must not touch the model.
  std::function<void(Index step, const Record& record)> on_record;
};

/// What a run produced.
struct TrainResult {
  TrainStatus status = TrainStatus::Completed;
  Index steps_done = 0;
  std::optional<Index> diverged_at;
  History history;
  double seconds = 0;
  std::optional<GrokReport> report;
  nlohmann::ordered_json summary;
};

/// A probe: called at evaluation steps that are multiples of `every`; returns named values that
/// become history columns (NaN at evaluations where it did not run).
template <typename S>
using ProbeFn = std::function<Record(Model<S>&, Index step)>;

/// Trains a model on a dataset's training split with an optimiser and optional gradient filters.
template <typename S>
class Trainer {
 public:
  Trainer(Model<S>& model, const Dataset& data, Optimizer<S>& opt, TrainConfig cfg)
      : m_model(model), m_data(data), m_opt(opt), m_cfg(std::move(cfg)) {
    m_data.validate();
    require(!m_data.train.empty() && !m_data.test.empty(), "Trainer",
            "dataset '" + m_data.name + "' needs a non-empty train and test split");
    require(m_cfg.steps >= 0 && m_cfg.batch_size >= 0 && m_cfg.eval_every >= 0 && m_cfg.log_points >= 0 &&
                m_cfg.eval_chunk >= 1,
            "Trainer", "steps, batch_size, eval_every, log_points must be >= 0 and eval_chunk >= 1");
    require(m_cfg.weight_noise >= 0 && std::isfinite(m_cfg.weight_noise), "Trainer",
            "weight_noise must be finite and >= 0, got " + format_number(m_cfg.weight_noise));
    {
      // Every evaluation is a row of the history: bounded before the schedule is built, so that
      // log_points = 10^9 or eval_every = 1 over 10^12 steps is a message, not a stall.
      constexpr double max_evaluations = 1e7;
      const double every = m_cfg.eval_every > 0 ? static_cast<double>(m_cfg.steps) / m_cfg.eval_every + 1 : 0;
      require(every + static_cast<double>(m_cfg.log_points) <= max_evaluations, "Trainer",
              "eval_every = " + std::to_string(m_cfg.eval_every) +
                  " and log_points = " + std::to_string(m_cfg.log_points) + " over " + std::to_string(m_cfg.steps) +
                  " steps ask for more than 10^7 evaluations");
    }
    if (classification())
      require(!m_data.labels.empty(), "Trainer",
              std::string(m_cfg.loss == LossKind::StableMax ? "StableMax cross-entropy" : "cross-entropy") +
                  " needs class labels; dataset '" + m_data.name + "' has none");
    if (m_cfg.loss == LossKind::Hinge) {
      require(m_data.targets.rows() > 0 && m_data.targets.cols() == 1, "Trainer",
              "the hinge loss needs one column of ±1 targets; dataset '" + m_data.name + "' has " +
                  std::to_string(m_data.targets.cols()) + " target columns");
      for (Index i = 0; i < m_data.targets.rows(); ++i)
        require(m_data.targets(i, 0) == 1.0 || m_data.targets(i, 0) == -1.0, "Trainer",
                "the hinge loss needs targets ±1; row " + std::to_string(i) + " has " +
                    std::to_string(m_data.targets(i, 0)));
    }
    for (Index s : m_cfg.checkpoint_steps)
      require(!m_cfg.out_dir.empty() && s >= 0 && s <= m_cfg.steps, "Trainer",
              "checkpoint step " + std::to_string(s) + " needs out_dir and must be in [0, steps]");
  }

  /// Adds a gradient filter (applied in the order added, after backward, before the step).
  void add_filter(GradientFilter<S>& f) { m_filters.push_back(&f); }

  /// Adds a probe run every `every` steps (at evaluation steps only); `prefix` is put before each
  /// of its column names (two probes of the same kind need different prefixes: a column name that
  /// is already taken is an error at the first evaluation).
  void add_probe(Index every, ProbeFn<S> fn, std::string prefix = "") {
    require(every >= 1, "Trainer::add_probe", "every must be >= 1");
    require(static_cast<bool>(fn), "Trainer::add_probe", "the probe is empty");
    m_probes.push_back({every, std::move(fn), std::move(prefix), {}});
  }

  /// Runs the whole schedule and returns the history (also written to out_dir if set).
  TrainResult run() {
    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    TrainResult res;
    std::vector<Parameter<S>*> params = m_model.parameters();
    const std::set<Index> evals = eval_steps();
    std::optional<MiniBatcher> batcher;
    const bool full = m_cfg.batch_size == 0 || m_cfg.batch_size >= static_cast<Index>(m_data.train.size());
    if (!full) batcher.emplace(m_data.train, m_cfg.batch_size, Rng(m_cfg.seed));
    ModelInput<S> full_in;
    IndexList full_labels;
    Matrix<S> full_targets;
    if (full) prepare_batch(m_data.train, full_in, full_labels, full_targets);
    if (!m_cfg.out_dir.empty()) prepare_out_dir();

    Tape<S> tape;
    // a mini-batch's rows, inputs, labels and targets: kept across steps
    IndexList batch_rows, lab_b;
    ModelInput<S> in_b;
    Matrix<S> tgt_b;
    double grad_norm = std::nan(""), update_norm = std::nan(""), last_lr = std::nan("");
    std::vector<Matrix<S>> before;
    // weight noise: θ kept here while the gradient is taken at θ + δξ, and the draws' buffer
    std::vector<Matrix<S>> clean;
    std::vector<double> xi;
    Rng noise_rng(m_cfg.weight_noise_seed);
    Index held = 0;
    const bool tty = m_cfg.progress && stderr_is_tty();
    for (Index step = 0;; ++step) {
      if (evals.count(step)) {
        const Record r = evaluate(step, grad_norm, update_norm, last_lr);
        res.history.add(r);
        if (tty) progress(step, r, t0);
        if (m_cfg.on_record) m_cfg.on_record(step, r);
        if ((m_cfg.stop_test_acc > 0 || m_cfg.stop_train_acc > 0) && m_cfg.stop_patience > 0) {
          const bool reached = (m_cfg.stop_test_acc <= 0 || r[4].second >= m_cfg.stop_test_acc) &&
                               (m_cfg.stop_train_acc <= 0 || r[3].second >= m_cfg.stop_train_acc);
          held = reached ? held + 1 : 0;
          if (held >= m_cfg.stop_patience) {
            res.status = TrainStatus::Stopped;
            res.steps_done = step;
            break;
          }
        }
        if (m_cfg.stop_when && m_cfg.stop_when(res.history)) {
          res.status = TrainStatus::Stopped;
          res.steps_done = step;
          break;
        }
      }
      if (!m_cfg.out_dir.empty() && std::count(m_cfg.checkpoint_steps.begin(), m_cfg.checkpoint_steps.end(), step))
        save_parameters(m_cfg.out_dir + "/checkpoints/step_" + std::to_string(step), params);
      if (step == m_cfg.steps) {
        res.steps_done = step;
        break;
      }
      if (m_cfg.interrupt && m_cfg.interrupt()) {
        res.status = TrainStatus::Interrupted;
        res.steps_done = step;
        break;
      }
      // one optimiser step
      if (!full) {
        batcher->next(batch_rows);
        prepare_batch(batch_rows, in_b, lab_b, tgt_b);
      }
      const ModelInput<S>& in = full ? full_in : in_b;
      if (m_cfg.weight_noise > 0) perturb(params, clean, xi, noise_rng);
      tape.reset();
      m_model.zero_grad();
      const Var<S> out = m_model.forward(tape, in);
      const Var<S> loss = loss_of(tape, out, full ? full_labels : lab_b, full ? full_targets : tgt_b);
      const double lv = classification() ? loss_in_double(loss) : static_cast<double>(loss.item());
      if (!std::isfinite(lv)) {
        if (m_cfg.weight_noise > 0) restore(params, clean);
        diverge(res, step, "loss is " + format_number(lv));
        break;
      }
      tape.backward(loss);
      grad_norm = 0;
      for (auto* p : params) grad_norm += p->grad.template cast<double>().squaredNorm();
      grad_norm = std::sqrt(grad_norm);
      for (auto* f : m_filters) f->apply(params);
      if (m_cfg.weight_noise > 0) restore(params, clean);
      const bool record_next = evals.count(step + 1) > 0;
      if (record_next) {
        before.clear();
        for (auto* p : params) before.push_back(p->value);
      }
      last_lr = m_opt.lr() * m_cfg.schedule.factor(step);
      m_opt.step(last_lr);
      bool finite = true;
      for (auto* p : params) finite = finite && p->value.allFinite();
      if (!finite) {
        diverge(res, step + 1, "a parameter became NaN or Inf");
        break;
      }
      if (record_next) {
        update_norm = 0;
        for (std::size_t i = 0; i < params.size(); ++i)
          update_norm += (params[i]->value - before[i]).template cast<double>().squaredNorm();
        update_norm = std::sqrt(update_norm);
      }
    }
    if (tty) std::fprintf(stderr, "\n");
    res.seconds = std::chrono::duration<double>(clock::now() - t0).count();
    finish(res);
    return res;
  }

  /// Loss and accuracy of the model on the examples `rows` (evaluated in chunks).
  std::pair<double, double> loss_and_accuracy(const IndexList& rows) {
    double loss_sum = 0, hits = 0;
    // the evaluation's tape and chunk buffers are the trainer's, kept from one evaluation to the
    // next (a fresh tape would fault its pages in again every time)
    Tape<S>& t = *m_eval.tape;
    IndexList& chunk = m_eval.chunk;
    ModelInput<S>& in = m_eval.in;
    IndexList& lab = m_eval.labels;
    Matrix<S>& tgt = m_eval.targets;
    for (std::size_t a = 0; a < rows.size(); a += static_cast<std::size_t>(m_cfg.eval_chunk)) {
      const std::size_t b = std::min(rows.size(), a + static_cast<std::size_t>(m_cfg.eval_chunk));
      chunk.assign(rows.begin() + static_cast<long>(a), rows.begin() + static_cast<long>(b));
      prepare_batch(chunk, in, lab, tgt);
      t.reset();
      const Var<S> out = m_model.forward(t, in);
      const Var<S> l = loss_of(t, out, lab, tgt);
      const double lv = classification() ? loss_in_double(l) : static_cast<double>(l.item());
      loss_sum += lv * static_cast<double>(chunk.size());
      const Matrix<S>& o = out.value();
      for (Index i = 0; i < o.rows(); ++i) {
        if (m_cfg.loss == LossKind::Hinge) {
          hits += o(i, 0) * tgt(i, 0) > 0;
        } else if (!lab.empty()) {
          Index arg = 0;
          o.row(i).maxCoeff(&arg);
          hits += arg == lab[static_cast<std::size_t>(i)];
        } else {
          hits += (o.row(i) - tgt.row(i)).template cast<double>().squaredNorm() / static_cast<double>(o.cols()) <
                  m_cfg.regression_threshold;
        }
      }
    }
    return {loss_sum / static_cast<double>(rows.size()), hits / static_cast<double>(rows.size())};
  }

 private:
  struct ProbeEntry {
    Index every;
    ProbeFn<S> fn;
    std::string prefix;
    std::vector<std::string> columns;  // with the prefix
  };

  std::set<Index> eval_steps() const {
    std::set<Index> s{0, m_cfg.steps};
    if (m_cfg.eval_every > 0)
      for (Index k = 0; k <= m_cfg.steps; k += m_cfg.eval_every) s.insert(k);
    if (m_cfg.log_points > 0 && m_cfg.steps > 0)
      for (Index i = 0; i < m_cfg.log_points; ++i) {
        const double e =
            m_cfg.log_points == 1 ? 1.0 : static_cast<double>(i) / static_cast<double>(m_cfg.log_points - 1);
        s.insert(static_cast<Index>(std::llround(std::pow(static_cast<double>(m_cfg.steps), e))));
      }
    return s;
  }

  bool classification() const { return m_cfg.loss == LossKind::CrossEntropy || m_cfg.loss == LossKind::StableMax; }

  // The batch's inputs, labels and targets, written into the given buffers (no allocation once
  // they are large enough: the training loop keeps them across steps).
  void prepare_batch(const IndexList& rows, ModelInput<S>& in, IndexList& labels, Matrix<S>& targets) const {
    in.assign_from(m_data, rows);
    labels.clear();
    if (classification()) {
      detail::gather_labels(m_data, rows, labels);
    } else if (m_data.targets.rows() > 0) {
      detail::gather_targets(m_data, rows, targets);
    } else {
      detail::gather_labels(m_data, rows, labels);
      detail::gather_targets(m_data, rows, targets);
    }
  }

  // θ → clean, θ += δξ for every trainable parameter (buffers kept across steps)
  void perturb(const std::vector<Parameter<S>*>& params, std::vector<Matrix<S>>& clean, std::vector<double>& xi,
               Rng& rng) const {
    clean.resize(params.size());
    for (std::size_t i = 0; i < params.size(); ++i) {
      Parameter<S>& p = *params[i];
      clean[i] = p.value;
      if (!p.requires_grad) continue;
      xi.resize(static_cast<std::size_t>(p.size()));
      rng.fill_normal(xi.data(), p.size());
      for (Index e = 0; e < p.size(); ++e)
        p.value.data()[e] += static_cast<S>(m_cfg.weight_noise * xi[static_cast<std::size_t>(e)]);
    }
  }
  static void restore(const std::vector<Parameter<S>*>& params, const std::vector<Matrix<S>>& clean) {
    for (std::size_t i = 0; i < params.size(); ++i) params[i]->value = clean[i];
  }

  Var<S> loss_of(Tape<S>& t, const Var<S>& out, const IndexList& labels, const Matrix<S>& targets) const {
    if (m_cfg.loss == LossKind::CrossEntropy) return cross_entropy(out, labels, m_cfg.ce_precision);
    if (m_cfg.loss == LossKind::StableMax) return stablemax_cross_entropy(out, labels);
    if (m_cfg.loss == LossKind::Hinge) {
      require(out.cols() == 1, "Trainer",
              "the hinge loss needs one model output, the model has " + std::to_string(out.cols()));
      return mean(relu(add_scalar(scale(mul(out, t.constant(targets)), -1.0), 1.0)));
    }
    require(out.cols() == targets.cols(), "Trainer",
            "model outputs " + std::to_string(out.cols()) + " columns but the MSE targets have " +
                std::to_string(targets.cols()));
    return mse(out, t.constant(targets));
  }

  Record evaluate(Index step, double grad_norm, double update_norm, double lr) {
    const auto [trl, tra] = loss_and_accuracy(m_data.train);
    const auto [tel, tea] = loss_and_accuracy(m_data.test);
    double wn = 0;
    for (auto* p : m_model.parameters()) wn += p->value.template cast<double>().squaredNorm();
    Record r{{"step", static_cast<double>(step)},
             {"train_loss", trl},
             {"test_loss", tel},
             {"train_acc", tra},
             {"test_acc", tea},
             {"weight_norm", std::sqrt(wn)},
             {"grad_norm", grad_norm},
             {"update_norm", update_norm},
             {"lr", lr}};
    for (ProbeEntry& p : m_probes) {
      // a probe never run yet is run now, so that every record has its columns
      const bool ran = step % p.every == 0 || p.columns.empty();
      Record values;
      if (ran) {
        values = p.fn(m_model, step);
        if (p.columns.empty())
          for (const auto& kv : values) {
            const std::string name = p.prefix + kv.first;
            // r holds the built-in columns and those of the probes before this one
            const auto same = [&](const auto& have) { return have.first == name; };
            if (std::any_of(r.begin(), r.end(), same) ||
                std::find(p.columns.begin(), p.columns.end(), name) != p.columns.end())
              throw_invalid("Trainer::add_probe",
                            "two columns are named '" + name +
                                "' (two probes of the same kind? give add_probe a prefix, e.g. \"train_\")");
            p.columns.push_back(name);
          }
        require(values.size() == p.columns.size(), "Trainer", "a probe changed its number of columns");
      }
      for (std::size_t c = 0; c < p.columns.size(); ++c)
        r.emplace_back(p.columns[c], ran ? values[c].second : std::nan(""));
    }
    return r;
  }

  void diverge(TrainResult& res, Index step, const std::string& why) {
    res.status = TrainStatus::Diverged;
    res.diverged_at = step;
    res.steps_done = step;
    m_divergence = why;
  }

  void prepare_out_dir() {
    std::error_code ec;
    std::filesystem::create_directories(m_cfg.out_dir, ec);
    if (ec)
      throw std::runtime_error("grokscope::Trainer: " + m_cfg.out_dir + ": cannot create directory: " + ec.message());
    m_data.save_split(m_cfg.out_dir);
  }

  void finish(TrainResult& res) {
    if (m_cfg.detect && res.history.size() >= 1) {
      const bool loss = m_cfg.detect_options.metric == GrokMetric::Loss;
      res.report = detect_grokking(res.history.column("step"), res.history.column(loss ? "train_loss" : "train_acc"),
                                   res.history.column(loss ? "test_loss" : "test_acc"), m_cfg.detect_options);
    }
    nlohmann::ordered_json s;
    s["status"] = train_status_name(res.status);
    s["steps_done"] = res.steps_done;
    s["diverged_at"] = res.diverged_at ? nlohmann::ordered_json(*res.diverged_at) : nlohmann::ordered_json(nullptr);
    if (!m_divergence.empty()) s["divergence"] = m_divergence;
    s["seconds"] = res.seconds;
    s["model"] = m_model.config();
    s["num_parameters"] = m_model.num_parameters();
    s["optimizer"] = m_opt.config();
    nlohmann::ordered_json filters = nlohmann::ordered_json::array();
    for (auto* f : m_filters) filters.push_back(f->config());
    s["filters"] = filters;
    s["schedule"] = m_cfg.schedule.to_json();
    s["train"] = {{"steps", m_cfg.steps},
                  {"batch_size", m_cfg.batch_size},
                  {"eval_every", m_cfg.eval_every},
                  {"log_points", m_cfg.log_points},
                  {"loss", loss_name(m_cfg.loss)},
                  {"ce_precision", cross_entropy_precision_name(m_cfg.ce_precision)},
                  {"regression_threshold", m_cfg.regression_threshold},
                  {"seed", m_cfg.seed},
                  {"weight_noise", m_cfg.weight_noise},
                  {"weight_noise_seed", m_cfg.weight_noise_seed},
                  {"scalar", std::is_same_v<S, float> ? "float32" : "float64"}};
    s["dataset"] = m_data.meta;
    s["dataset"]["name"] = m_data.name;
    nlohmann::ordered_json fin = nlohmann::ordered_json::object();
    if (!res.history.empty())
      for (const auto& c : res.history.columns()) {
        const double v = res.history.last(c);
        fin[c] = std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
      }
    s["final"] = fin;
    s["grokking"] = res.report ? to_json(*res.report) : nlohmann::ordered_json(nullptr);
    s["detect"] = m_cfg.detect ? to_json(m_cfg.detect_options) : nlohmann::ordered_json(nullptr);
    res.summary = s;
    if (!m_cfg.out_dir.empty()) {
      res.history.write_csv(m_cfg.out_dir + "/history.csv");
      res.history.write_jsonl(m_cfg.out_dir + "/history.jsonl");
      History::write_text(m_cfg.out_dir + "/summary.json", s.dump(2) + "\n");
    }
  }

  static bool stderr_is_tty() {
#if defined(__unix__) || defined(__APPLE__)
    return isatty(fileno(stderr)) != 0;
#else
    return false;
#endif
  }

  void progress(Index step, const Record& r, std::chrono::steady_clock::time_point t0) const {
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double rate = el > 0 ? static_cast<double>(step) / el : 0;
    const double eta = rate > 0 ? static_cast<double>(m_cfg.steps - step) / rate : 0;
    std::fprintf(stderr, "\rstep %ld/%ld  %.0f steps/s  ETA %.0fs  train %.4g (acc %.3f)  test %.4g (acc %.3f)   ",
                 static_cast<long>(step), static_cast<long>(m_cfg.steps), rate, eta, r[1].second, r[3].second,
                 r[2].second, r[4].second);
  }

  Model<S>& m_model;
  const Dataset& m_data;
  Optimizer<S>& m_opt;
  TrainConfig m_cfg;
  std::vector<GradientFilter<S>*> m_filters;
  std::vector<ProbeEntry> m_probes;
  struct EvalBuffers {
    std::unique_ptr<Tape<S>> tape = std::make_unique<Tape<S>>();
    IndexList chunk, labels;
    ModelInput<S> in;
    Matrix<S> targets;
  };
  EvalBuffers m_eval;
  std::string m_divergence;
};

// Provided by the compiled library in compiled mode (core/config.hpp).
GROKSCOPE_EXTERN_CLASS(Trainer)

}  // namespace grokscope
