// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Dataset: inputs (integer tokens or dense features), targets (class ids or dense rows),
/// an explicit train/test split, and metadata; splits, subsets and seeded mini-batches.

#include <grokscope/core/check.hpp>
#include <grokscope/core/rng.hpp>
#include <grokscope/core/types.hpp>
#include <grokscope/io/npy.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace grokscope {

/// Integer token matrix: one example per row, T tokens per example.
using TokenMatrix = Eigen::Matrix<Index, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Train and test index lists into a dataset.
struct Split {
  IndexList train, test;
};

/// A supervised dataset with its split. Exactly one of `tokens` / `features` holds the inputs,
/// and `labels` (class ids) and/or `targets` (dense rows) hold the outputs.
struct Dataset {
  std::string name;
  TokenMatrix tokens;       ///< (n, T) token ids in [0, vocab_size), or empty
  Matrix<double> features;  ///< (n, d) dense inputs, or empty
  IndexList labels;         ///< class id per example in [0, num_classes), or empty
  Matrix<double> targets;   ///< (n, k) dense targets, or empty
  Index vocab_size = 0;     ///< input vocabulary for token inputs
  Index num_classes = 0;    ///< output classes when labels are present
  IndexList train, test;    ///< the split: indices into the examples
  nlohmann::ordered_json meta = nlohmann::ordered_json::object();  ///< name, parameters, seed, provenance
  std::map<std::string, Matrix<double>> arrays;                    ///< auxiliary arrays (teacher vector β, ...)

  /// Number of examples.
  Index size() const { return tokens.rows() > 0 ? tokens.rows() : features.rows(); }
  bool has_tokens() const { return tokens.rows() > 0; }
  /// Tokens per example (T).
  Index context() const { return tokens.cols(); }

  /// Token ids of the given examples, flattened row by row (for `embedding(W, ids, T)`).
  IndexList token_ids(const IndexList& rows) const {
    require(has_tokens(), "Dataset::token_ids", "dataset '" + name + "' has no token inputs");
    IndexList out;
    out.reserve(rows.size() * static_cast<std::size_t>(context()));
    for (Index r : rows) {
      check_row("Dataset::token_ids", r);
      for (Index t = 0; t < context(); ++t) out.push_back(tokens(r, t));
    }
    return out;
  }

  /// Dense features of the given examples.
  Matrix<double> features_of(const IndexList& rows) const {
    require(features.rows() > 0, "Dataset::features_of", "dataset '" + name + "' has no dense features");
    Matrix<double> out(static_cast<Index>(rows.size()), features.cols());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      check_row("Dataset::features_of", rows[i]);
      out.row(static_cast<Index>(i)) = features.row(rows[i]);
    }
    return out;
  }

  /// Class labels of the given examples.
  IndexList labels_of(const IndexList& rows) const {
    require(!labels.empty(), "Dataset::labels_of", "dataset '" + name + "' has no class labels");
    IndexList out;
    out.reserve(rows.size());
    for (Index r : rows) {
      check_row("Dataset::labels_of", r);
      out.push_back(labels[static_cast<std::size_t>(r)]);
    }
    return out;
  }

  /// Dense targets of the given examples.
  Matrix<double> targets_of(const IndexList& rows) const {
    require(targets.rows() > 0, "Dataset::targets_of", "dataset '" + name + "' has no dense targets");
    Matrix<double> out(static_cast<Index>(rows.size()), targets.cols());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      check_row("Dataset::targets_of", rows[i]);
      out.row(static_cast<Index>(i)) = targets.row(rows[i]);
    }
    return out;
  }

  /// One-hot rows (n, num_classes) of the labels of the given examples (MSE on classes).
  Matrix<double> one_hot_of(const IndexList& rows) const {
    const IndexList l = labels_of(rows);
    Matrix<double> out = Matrix<double>::Zero(static_cast<Index>(l.size()), num_classes);
    for (std::size_t i = 0; i < l.size(); ++i) out(static_cast<Index>(i), l[i]) = 1.0;
    return out;
  }

  /// Checks internal consistency (shapes, id ranges, split disjoint and in range).
  void validate() const {
    const std::string where = "Dataset::validate";
    require(tokens.rows() == 0 || features.rows() == 0, where, "'" + name + "' has both tokens and features");
    const Index n = size();
    require(n > 0, where, "'" + name + "' has no examples");
    if (has_tokens())
      for (Index i = 0; i < tokens.size(); ++i)
        require(tokens.data()[i] >= 0 && tokens.data()[i] < vocab_size, where,
                "'" + name + "' has token " + std::to_string(tokens.data()[i]) + " outside [0, " +
                    std::to_string(vocab_size) + ")");
    if (!labels.empty()) {
      require(static_cast<Index>(labels.size()) == n, where,
              "'" + name + "' has " + std::to_string(labels.size()) + " labels for " + std::to_string(n) + " examples");
      for (Index l : labels)
        require(l >= 0 && l < num_classes, where,
                "'" + name + "' has label " + std::to_string(l) + " outside [0, " + std::to_string(num_classes) + ")");
    }
    if (targets.rows() > 0)
      require(targets.rows() == n, where,
              "'" + name + "' has " + std::to_string(targets.rows()) + " target rows for " + std::to_string(n) +
                  " examples");
    require(!labels.empty() || targets.rows() > 0, where, "'" + name + "' has neither labels nor targets");
    std::vector<char> seen(static_cast<std::size_t>(n), 0);
    for (const IndexList* part : {&train, &test})
      for (Index i : *part) {
        require(i >= 0 && i < n, where,
                "'" + name + "' split index " + std::to_string(i) + " outside [0, " + std::to_string(n) + ")");
        require(!seen[static_cast<std::size_t>(i)], where,
                "'" + name + "' split index " + std::to_string(i) + " appears twice");
        seen[static_cast<std::size_t>(i)] = 1;
      }
  }

  /// Writes the split next to a run as train_idx.npy and test_idx.npy (int64) in `dir`.
  void save_split(const std::string& dir) const {
    save_npy(dir + "/train_idx.npy", std::vector<std::int64_t>(train.begin(), train.end()));
    save_npy(dir + "/test_idx.npy", std::vector<std::int64_t>(test.begin(), test.end()));
  }

  /// Reads a split written by save_split and installs it (checked against this dataset).
  void load_split(const std::string& dir) {
    auto read = [&](const std::string& file) {
      const NpyArray<std::int64_t> a = load_npy_array<std::int64_t>(dir + "/" + file, true);
      if (a.shape.size() != 1)
        throw std::runtime_error("grokscope::Dataset::load_split: " + dir + "/" + file + ": expected a rank-1 array");
      return IndexList(a.data.begin(), a.data.end());
    };
    Dataset copy = *this;
    copy.train = read("train_idx.npy");
    copy.test = read("test_idx.npy");
    copy.validate();
    train = std::move(copy.train);
    test = std::move(copy.test);
  }

 private:
  void check_row(const char* where, Index r) const {
    if (r < 0 || r >= size())
      throw_invalid(where,
                    "example " + std::to_string(r) + " outside [0, " + std::to_string(size()) + ") of '" + name + "'");
  }
};

/// Random split: a uniformly random subset of round(fraction · n) examples is the training set
/// (in random order), the rest the test set (in random order). fraction in (0, 1).
inline Split split_by_fraction(Index n, double fraction, Rng& rng) {
  require(n > 0, "split_by_fraction", "n must be positive, got " + std::to_string(n));
  require(fraction > 0 && fraction < 1, "split_by_fraction",
          "fraction must be in (0, 1), got " + std::to_string(fraction));
  const IndexList perm = rng.permutation(n);
  const Index n_train = static_cast<Index>(std::llround(fraction * static_cast<double>(n)));
  require(n_train > 0 && n_train < n, "split_by_fraction",
          "fraction " + std::to_string(fraction) + " of " + std::to_string(n) + " examples leaves an empty side");
  Split s;
  s.train.assign(perm.begin(), perm.begin() + n_train);
  s.test.assign(perm.begin() + n_train, perm.end());
  return s;
}

/// A fixed split from given indices (checked: in range, disjoint, both non-empty). Every example
/// not in `train` is in the test set when `test` is empty.
inline Split fixed_split(Index n, IndexList train, IndexList test = {}) {
  require(!train.empty(), "fixed_split", "empty training set");
  std::vector<char> in_train(static_cast<std::size_t>(std::max<Index>(n, 0)), 0);
  for (Index i : train) {
    require(i >= 0 && i < n, "fixed_split",
            "train index " + std::to_string(i) + " outside [0, " + std::to_string(n) + ")");
    require(!in_train[static_cast<std::size_t>(i)], "fixed_split",
            "train index " + std::to_string(i) + " appears twice");
    in_train[static_cast<std::size_t>(i)] = 1;
  }
  if (test.empty()) {
    for (Index i = 0; i < n; ++i)
      if (!in_train[static_cast<std::size_t>(i)]) test.push_back(i);
  } else {
    std::vector<char> in_test(static_cast<std::size_t>(n), 0);
    for (Index i : test) {
      require(i >= 0 && i < n, "fixed_split",
              "test index " + std::to_string(i) + " outside [0, " + std::to_string(n) + ")");
      require(!in_train[static_cast<std::size_t>(i)], "fixed_split",
              "index " + std::to_string(i) + " is in both the train and the test set");
      require(!in_test[static_cast<std::size_t>(i)], "fixed_split",
              "test index " + std::to_string(i) + " appears twice");
      in_test[static_cast<std::size_t>(i)] = 1;
    }
  }
  require(!test.empty(), "fixed_split", "empty test set");
  return Split{std::move(train), std::move(test)};
}

/// The examples `rows` of a dataset as a new dataset (the split is reset to all-train).
inline Dataset subset(const Dataset& ds, const IndexList& rows) {
  require(!rows.empty(), "subset", "no rows selected");
  Dataset out;
  out.name = ds.name;
  out.meta = ds.meta;
  out.meta["subset_of"] = ds.size();
  out.arrays = ds.arrays;
  out.vocab_size = ds.vocab_size;
  out.num_classes = ds.num_classes;
  if (ds.has_tokens()) {
    out.tokens.resize(static_cast<Index>(rows.size()), ds.context());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      require(rows[i] >= 0 && rows[i] < ds.size(), "subset", "row " + std::to_string(rows[i]) + " out of range");
      out.tokens.row(static_cast<Index>(i)) = ds.tokens.row(rows[i]);
    }
  }
  if (ds.features.rows() > 0) out.features = ds.features_of(rows);
  if (!ds.labels.empty()) out.labels = ds.labels_of(rows);
  if (ds.targets.rows() > 0) out.targets = ds.targets_of(rows);
  for (Index i = 0; i < static_cast<Index>(rows.size()); ++i) out.train.push_back(i);
  return out;
}

/// Seeded mini-batches over a list of indices: each epoch is a fresh permutation (or the given
/// order when not shuffling), cut into batches of `batch_size`; the last short batch is kept
/// unless `drop_last`. Deterministic for a given Rng seed.
class MiniBatcher {
 public:
  MiniBatcher(IndexList indices, Index batch_size, Rng rng, bool shuffle = true, bool drop_last = false)
      : m_indices(std::move(indices)),
        m_batch(batch_size),
        m_rng(std::move(rng)),
        m_shuffle(shuffle),
        m_drop_last(drop_last) {
    require(!m_indices.empty(), "MiniBatcher", "no indices to batch");
    require(batch_size >= 1, "MiniBatcher", "batch_size must be >= 1, got " + std::to_string(batch_size));
    require(!drop_last || batch_size <= static_cast<Index>(m_indices.size()), "MiniBatcher",
            "batch_size " + std::to_string(batch_size) + " exceeds the " + std::to_string(m_indices.size()) +
                " indices with drop_last");
    m_order = m_indices;
    start_epoch();
  }

  /// The next batch (starts a new epoch when the current one is exhausted).
  IndexList next() {
    const std::size_t n = m_order.size(), b = static_cast<std::size_t>(m_batch);
    if (m_pos >= n || (m_drop_last && m_pos + b > n)) start_epoch();
    const std::size_t end = std::min(n, m_pos + b);
    IndexList out(m_order.begin() + static_cast<long>(m_pos), m_order.begin() + static_cast<long>(end));
    m_pos = end;
    return out;
  }

  /// Epochs started so far (1 after construction).
  Index epoch() const { return m_epoch; }
  /// Batches per epoch.
  Index batches_per_epoch() const {
    const Index n = static_cast<Index>(m_indices.size());
    return m_drop_last ? n / m_batch : (n + m_batch - 1) / m_batch;
  }

 private:
  void start_epoch() {
    if (m_shuffle) {
      m_order = m_indices;
      m_rng.shuffle(m_order.begin(), m_order.end());
    }
    m_pos = 0;
    ++m_epoch;
  }

  IndexList m_indices, m_order;
  Index m_batch;
  Rng m_rng;
  bool m_shuffle, m_drop_last;
  std::size_t m_pos = 0;
  Index m_epoch = 0;
};

}  // namespace grokscope
