// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Multitask sparse parity (Michaud, Liu, Girit & Tegmark 2023, "The quantization model of
/// neural scaling", arXiv 2303.13506): many sparse-parity subtasks, each named by control bits and
/// each with its own k-subset of the data bits, drawn with Zipf frequencies p_t ∝ t^−exponent. Each
/// subtask is learned abruptly while the mean loss falls smoothly; per-subtask accuracy curves go to
/// the detectors one task at a time (subtask_accuracy).
///
/// An input is [one-hot of the task (n_tasks) | n data bits in {0, 1}]; its label is the parity of
/// the task's k bits (0 or 1). `exponent` is the Zipf exponent of the authors' code (their `alpha`,
/// α + 1 in the theory's notation).

#include <grokscope/core/check.hpp>
#include <grokscope/core/rng.hpp>
#include <grokscope/data/dataset.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace grokscope {

/// Options of multitask_sparse_parity.
struct MultitaskParityOptions {
  Index n_tasks = 500;
  Index n = 100;          ///< data bits
  Index k = 3;            ///< bits per subtask
  double exponent = 1.4;  ///< Zipf exponent of the task frequencies
  Index n_train = 100000;
  Index n_test = 10000;
  std::uint64_t seed = 0;       ///< subsets and training draws
  std::uint64_t test_seed = 1;  ///< test draws
};

/// The task frequencies t^−exponent / Σ (t = 1 … n_tasks).
inline std::vector<double> zipf_frequencies(Index n_tasks, double exponent) {
  require(n_tasks >= 1, "zipf_frequencies", "n_tasks must be >= 1");
  require(exponent >= 0 && std::isfinite(exponent), "zipf_frequencies", "exponent must be finite and >= 0");
  std::vector<double> p(static_cast<std::size_t>(n_tasks));
  double z = 0;
  for (Index t = 0; t < n_tasks; ++t)
    z += p[static_cast<std::size_t>(t)] = std::pow(static_cast<double>(t + 1), -exponent);
  for (double& v : p) v /= z;
  return p;
}

/// The dataset: features (N + M) × (n_tasks + n), labels 0/1 (num_classes 2), train = the first N
/// rows, test = the last M (independent draws); arrays["task"] (N + M) × 1 the task of each row,
/// arrays["subsets"] n_tasks × k each task's bits (an oracle reads the label from them). The
/// feature matrix takes (N + M)(n_tasks + n) doubles: refused above 2·10⁹ entries.
inline Dataset multitask_sparse_parity(const MultitaskParityOptions& o) {
  const char* where = "multitask_sparse_parity";
  require(o.n_tasks >= 1 && o.n >= 1 && o.k >= 1 && o.k <= o.n, where, "need n_tasks >= 1 and 1 <= k <= n");
  require(o.n_train >= 1 && o.n_test >= 1, where, "need n_train >= 1 and n_test >= 1");
  const double entries = static_cast<double>(o.n_train + o.n_test) * static_cast<double>(o.n_tasks + o.n);
  require(entries <= 2e9, where,
          "the features would take " + std::to_string(entries * 8 / 1e9) + " GB (" +
              std::to_string(o.n_train + o.n_test) + " rows of " + std::to_string(o.n_tasks + o.n) +
              "); lower n_train, n_test or n_tasks");
  const std::vector<double> p = zipf_frequencies(o.n_tasks, o.exponent);
  std::vector<double> cdf(p.size());
  double c = 0;
  for (std::size_t t = 0; t < p.size(); ++t) cdf[t] = c += p[t];
  Rng rng(o.seed);
  Matrix<double> subsets(o.n_tasks, o.k);
  for (Index t = 0; t < o.n_tasks; ++t) {
    const IndexList bits = rng.choice(o.n, o.k);
    for (Index j = 0; j < o.k; ++j) subsets(t, j) = static_cast<double>(bits[static_cast<std::size_t>(j)]);
  }
  Dataset ds;
  ds.name = "multitask_sparse_parity";
  const Index N = o.n_train + o.n_test, D = o.n_tasks + o.n;
  ds.features = Matrix<double>::Zero(N, D);
  ds.labels.resize(static_cast<std::size_t>(N));
  ds.num_classes = 2;
  Matrix<double> task(N, 1);
  Rng test_rng(o.test_seed);
  for (Index i = 0; i < N; ++i) {
    Rng& r = i < o.n_train ? rng : test_rng;
    const double u = r.uniform();
    const Index t =
        std::min<Index>(o.n_tasks - 1, static_cast<Index>(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin()));
    ds.features(i, t) = 1;
    for (Index b = 0; b < o.n; ++b) ds.features(i, o.n_tasks + b) = r.integer(2) ? 1.0 : 0.0;
    Index parity = 0;
    for (Index j = 0; j < o.k; ++j)
      parity += static_cast<Index>(ds.features(i, o.n_tasks + static_cast<Index>(subsets(t, j))));
    ds.labels[static_cast<std::size_t>(i)] = parity % 2;
    task(i, 0) = static_cast<double>(t);
  }
  ds.arrays["task"] = task;
  ds.arrays["subsets"] = subsets;
  for (Index i = 0; i < N; ++i) (i < o.n_train ? ds.train : ds.test).push_back(i);
  ds.meta = {{"name", ds.name},    {"n_tasks", o.n_tasks},   {"n", o.n},
             {"k", o.k},           {"exponent", o.exponent}, {"n_train", o.n_train},
             {"n_test", o.n_test}, {"seed", o.seed},         {"test_seed", o.test_seed}};
  ds.validate();
  return ds;
}

/// Accuracy per task of predictions (0/1 or class ids) against labels, over the rows given:
/// NaN for a task with no row. `tasks` are the rows' task ids (arrays["task"]).
inline std::vector<double> subtask_accuracy(const IndexList& predictions, const IndexList& labels,
                                            const IndexList& tasks, Index n_tasks) {
  require(predictions.size() == labels.size() && labels.size() == tasks.size(), "subtask_accuracy",
          "predictions, labels and tasks differ in length");
  std::vector<double> hit(static_cast<std::size_t>(n_tasks), 0.0), count(static_cast<std::size_t>(n_tasks), 0.0);
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    require(tasks[i] >= 0 && tasks[i] < n_tasks, "subtask_accuracy",
            "task " + std::to_string(tasks[i]) + " at row " + std::to_string(i) + " is outside [0, n_tasks)");
    count[static_cast<std::size_t>(tasks[i])] += 1;
    hit[static_cast<std::size_t>(tasks[i])] += predictions[i] == labels[i] ? 1.0 : 0.0;
  }
  for (std::size_t t = 0; t < hit.size(); ++t) hit[t] = count[t] > 0 ? hit[t] / count[t] : std::nan("");
  return hit;
}

}  // namespace grokscope
