// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Dataset: inputs (integer tokens or dense features), targets (class ids or dense rows),
/// an explicit train/test split, and metadata; splits, subsets and seeded mini-batches.

#include <grokscope/core/check.hpp>
#include <grokscope/core/config.hpp>
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
  IndexList token_ids(const IndexList& rows) const;

  /// Dense features of the given examples.
  Matrix<double> features_of(const IndexList& rows) const;

  /// Class labels of the given examples.
  IndexList labels_of(const IndexList& rows) const;

  /// Dense targets of the given examples.
  Matrix<double> targets_of(const IndexList& rows) const;

  /// One-hot rows (n, num_classes) of the labels of the given examples (MSE on classes).
  Matrix<double> one_hot_of(const IndexList& rows) const;

  /// Checks internal consistency (shapes, id ranges, split disjoint and in range).
  void validate() const;

  /// Writes the split next to a run as train_idx.npy and test_idx.npy (int64) in `dir`.
  void save_split(const std::string& dir) const {
    save_npy(dir + "/train_idx.npy", std::vector<std::int64_t>(train.begin(), train.end()));
    save_npy(dir + "/test_idx.npy", std::vector<std::int64_t>(test.begin(), test.end()));
  }

  /// Reads a split written by save_split and installs it (checked against this dataset).
  void load_split(const std::string& dir);

 private:
  void check_row(const char* where, Index r) const {
    if (r < 0 || r >= size())
      throw_invalid(where,
                    "example " + std::to_string(r) + " outside [0, " + std::to_string(size()) + ") of '" + name + "'");
  }
};

/// Random split: a uniformly random subset of round(fraction · n) examples is the training set
/// (in random order), the rest the test set (in random order). fraction in (0, 1).
GROKSCOPE_DEFERRED Split split_by_fraction(Index n, double fraction, Rng& rng);

/// A fixed split from given indices (checked: in range, disjoint, both non-empty). Every example
/// not in `train` is in the test set when `test` is empty.
GROKSCOPE_DEFERRED Split fixed_split(Index n, IndexList train, IndexList test = {});

/// The examples `rows` of a dataset as a new dataset (the split is reset to all-train).
GROKSCOPE_DEFERRED Dataset subset(const Dataset& ds, const IndexList& rows);

namespace detail {

// Throws unless every row is an example of `data`.
inline void check_rows_in(const Dataset& data, const IndexList& rows, const char* where) {
  for (const Index r : rows)
    if (r < 0 || r >= data.size())
      throw_invalid(where,
                    "row " + std::to_string(r) + " is outside the dataset's " + std::to_string(data.size()) + " rows");
}

// The labels of `rows` into `labels`, reusing its storage.
inline void gather_labels(const Dataset& data, const IndexList& rows, IndexList& labels) {
  require(!data.labels.empty(), "gather_labels", "the dataset has no class labels");
  check_rows_in(data, rows, "gather_labels");
  labels.resize(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) labels[i] = data.labels[static_cast<std::size_t>(rows[i])];
}

// Dense targets of `rows` (one-hot labels when the dataset has none) into `targets`, reusing its
// storage.
template <typename S>
void gather_targets(const Dataset& data, const IndexList& rows, Matrix<S>& targets) {
  check_rows_in(data, rows, "gather_targets");
  const Index n = static_cast<Index>(rows.size());
  if (data.targets.rows() > 0) {
    targets.resize(n, data.targets.cols());
    for (Index i = 0; i < n; ++i)
      targets.row(i) = data.targets.row(rows[static_cast<std::size_t>(i)]).template cast<S>();
  } else {
    require(!data.labels.empty() && data.num_classes > 0, "gather_targets", "the dataset has no targets or labels");
    targets.setZero(n, data.num_classes);
    for (Index i = 0; i < n; ++i)
      targets(i, data.labels[static_cast<std::size_t>(rows[static_cast<std::size_t>(i)])]) = S(1);
  }
}

}  // namespace detail

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
  IndexList next();
  /// The same, written into `out` (its storage is reused: no allocation once it is large enough).
  void next(IndexList& out);

  /// Epochs started so far (1 after construction).
  Index epoch() const { return m_epoch; }
  /// Batches per epoch.
  Index batches_per_epoch() const {
    const Index n = static_cast<Index>(m_indices.size());
    return m_drop_last ? n / m_batch : (n + m_batch - 1) / m_batch;
  }

 private:
  void start_epoch();

  IndexList m_indices, m_order;
  Index m_batch;
  Rng m_rng;
  bool m_shuffle, m_drop_last;
  std::size_t m_pos = 0;
  Index m_epoch = 0;
};

}  // namespace grokscope

#if GROKSCOPE_HEADER_ONLY
#include <grokscope/data/detail/dataset-inl.hpp>
#endif
