// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file The dataset manipulations of Varma et al.'s (2023, arXiv 2309.02390) circuit-efficiency
/// experiments: random labels (a network that can only memorise), nested training subsets
/// D′₁ ⊂ D′₂ ⊂ … ⊂ D (the ungrokking sweep, where a trained network continues on a smaller set),
/// and a copy of a dataset whose training split is such a subset (the warm start: keep training the
/// same model, with the same test set, on the subset).

#include <grokscope/core/check.hpp>
#include <grokscope/core/rng.hpp>
#include <grokscope/core/types.hpp>
#include <grokscope/data/dataset.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace grokscope {

/// The dataset with its labels (or, without labels, its target rows) permuted over all examples by
/// a seeded permutation: every input keeps a label of the task's label distribution, but one that
/// no rule predicts, so only memorisation fits the training set and the test accuracy is chance.
/// `meta["random_labels_seed"]` records the seed. Throws std::invalid_argument for a dataset with
/// neither labels nor targets.
inline Dataset random_labels(Dataset ds, std::uint64_t seed) {
  require(!ds.labels.empty() || ds.targets.rows() > 0, "random_labels",
          "dataset '" + ds.name + "' has neither labels nor targets");
  Rng rng(seed);
  const IndexList perm = rng.permutation(ds.size());
  if (!ds.labels.empty()) {
    const IndexList old = ds.labels;
    for (Index i = 0; i < ds.size(); ++i)
      ds.labels[static_cast<std::size_t>(i)] = old[static_cast<std::size_t>(perm[static_cast<std::size_t>(i)])];
  } else {
    const Matrix<double> old = ds.targets;
    for (Index i = 0; i < ds.size(); ++i) ds.targets.row(i) = old.row(perm[static_cast<std::size_t>(i)]);
  }
  ds.meta["random_labels_seed"] = seed;
  return ds;
}

/// Nested subsets of `rows` with the given sizes (ascending, each in [1, rows.size()]): the first
/// sizes[k] rows of one seeded permutation of `rows`, so that every subset is inside each larger one.
inline std::vector<IndexList> nested_subsets(const IndexList& rows, const std::vector<Index>& sizes,
                                             std::uint64_t seed) {
  const char* where = "nested_subsets";
  require(!sizes.empty(), where, "no sizes");
  const Index n = static_cast<Index>(rows.size());
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    require(sizes[k] >= 1 && sizes[k] <= n, where,
            "size " + std::to_string(sizes[k]) + " is outside [1, " + std::to_string(n) + "]");
    require(k == 0 || sizes[k] > sizes[k - 1], where, "sizes must be strictly ascending");
  }
  Rng rng(seed);
  const IndexList perm = rng.permutation(n);
  IndexList order(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i)
    order[static_cast<std::size_t>(i)] = rows[static_cast<std::size_t>(perm[static_cast<std::size_t>(i)])];
  std::vector<IndexList> out;
  for (Index s : sizes) out.emplace_back(order.begin(), order.begin() + s);
  return out;
}

/// Geometrically spaced sizes: `count` integers from `lo` to `hi` (both included), rounded and made
/// strictly ascending — Varma et al.'s 7 geometric subset sizes in [390, 1494], for example.
inline std::vector<Index> geometric_sizes(Index lo, Index hi, Index count) {
  require(lo >= 1 && hi >= lo && count >= 1 && (count == 1 || hi - lo + 1 >= count), "geometric_sizes",
          "need 1 <= lo <= hi and count distinct integers in [lo, hi]");
  std::vector<Index> v;
  for (Index k = 0; k < count; ++k) {
    const double t = count == 1 ? 0.0 : static_cast<double>(k) / static_cast<double>(count - 1);
    Index s = static_cast<Index>(std::llround(static_cast<double>(lo) * std::pow(static_cast<double>(hi) / lo, t)));
    if (!v.empty()) s = std::max(s, v.back() + 1);
    v.push_back(s);
  }
  for (Index k = count - 1; k >= 0 && v[static_cast<std::size_t>(k)] > hi; --k)  // pushed past hi: pull back
    v[static_cast<std::size_t>(k)] = hi - (count - 1 - k);
  return v;
}

/// A copy of the dataset whose training split is `train` (each a training example of `ds`, no
/// repeats) and whose test split is unchanged: the warm start of the ungrokking protocol.
inline Dataset with_train_subset(Dataset ds, const IndexList& train) {
  const char* where = "with_train_subset";
  require(!train.empty(), where, "the subset is empty");
  std::vector<char> in_train(static_cast<std::size_t>(ds.size()), 0), seen(static_cast<std::size_t>(ds.size()), 0);
  for (Index r : ds.train) in_train[static_cast<std::size_t>(r)] = 1;
  for (Index r : train) {
    require(r >= 0 && r < ds.size(), where, "row " + std::to_string(r) + " is outside the dataset");
    require(in_train[static_cast<std::size_t>(r)], where, "row " + std::to_string(r) + " is not a training example");
    require(!seen[static_cast<std::size_t>(r)], where, "row " + std::to_string(r) + " is given twice");
    seen[static_cast<std::size_t>(r)] = 1;
  }
  ds.train = train;
  ds.meta["train_subset"] = static_cast<double>(train.size());
  return ds;
}

}  // namespace grokscope
