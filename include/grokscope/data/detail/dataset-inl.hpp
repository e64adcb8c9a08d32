// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Definitions of the non-template functions declared in <grokscope/data/dataset.hpp>: included by it in
/// header-only mode, compiled once into grokscope::compiled otherwise (core/config.hpp).

#include <grokscope/data/dataset.hpp>

#if defined(GROKSCOPE_COMPILED) && !defined(GROKSCOPE_BUILDING_LIBRARY)
#error "grokscope: in compiled mode these definitions are in the library; include the header without -inl"
#endif

namespace grokscope {

GROKSCOPE_INLINE IndexList Dataset::token_ids(const IndexList& rows) const {
  require(has_tokens(), "Dataset::token_ids", "dataset '" + name + "' has no token inputs");
  IndexList out;
  out.reserve(rows.size() * static_cast<std::size_t>(context()));
  for (Index r : rows) {
    check_row("Dataset::token_ids", r);
    for (Index t = 0; t < context(); ++t) out.push_back(tokens(r, t));
  }
  return out;
}

GROKSCOPE_INLINE Matrix<double> Dataset::features_of(const IndexList& rows) const {
  require(features.rows() > 0, "Dataset::features_of", "dataset '" + name + "' has no dense features");
  Matrix<double> out(static_cast<Index>(rows.size()), features.cols());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    check_row("Dataset::features_of", rows[i]);
    out.row(static_cast<Index>(i)) = features.row(rows[i]);
  }
  return out;
}

GROKSCOPE_INLINE IndexList Dataset::labels_of(const IndexList& rows) const {
  require(!labels.empty(), "Dataset::labels_of", "dataset '" + name + "' has no class labels");
  IndexList out;
  out.reserve(rows.size());
  for (Index r : rows) {
    check_row("Dataset::labels_of", r);
    out.push_back(labels[static_cast<std::size_t>(r)]);
  }
  return out;
}

GROKSCOPE_INLINE Matrix<double> Dataset::targets_of(const IndexList& rows) const {
  require(targets.rows() > 0, "Dataset::targets_of", "dataset '" + name + "' has no dense targets");
  Matrix<double> out(static_cast<Index>(rows.size()), targets.cols());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    check_row("Dataset::targets_of", rows[i]);
    out.row(static_cast<Index>(i)) = targets.row(rows[i]);
  }
  return out;
}

GROKSCOPE_INLINE Matrix<double> Dataset::one_hot_of(const IndexList& rows) const {
  const IndexList l = labels_of(rows);
  Matrix<double> out = Matrix<double>::Zero(static_cast<Index>(l.size()), num_classes);
  for (std::size_t i = 0; i < l.size(); ++i) out(static_cast<Index>(i), l[i]) = 1.0;
  return out;
}

GROKSCOPE_INLINE void Dataset::validate() const {
  const std::string where = "Dataset::validate";
  require(tokens.rows() == 0 || features.rows() == 0, where, "'" + name + "' has both tokens and features");
  const Index n = size();
  require(n > 0, where, "'" + name + "' has no examples");
  if (has_tokens())
    for (Index i = 0; i < tokens.size(); ++i)
      if (!(tokens.data()[i] >= 0 && tokens.data()[i] < vocab_size))
        throw_invalid(where, "'" + name + "' has token " + std::to_string(tokens.data()[i]) + " outside [0, " +
                                 std::to_string(vocab_size) + ")");
  if (!labels.empty()) {
    require(static_cast<Index>(labels.size()) == n, where,
            "'" + name + "' has " + std::to_string(labels.size()) + " labels for " + std::to_string(n) + " examples");
    for (Index l : labels)
      if (!(l >= 0 && l < num_classes))
        throw_invalid(where, "'" + name + "' has label " + std::to_string(l) + " outside [0, " +
                                 std::to_string(num_classes) + ")");
  }
  if (targets.rows() > 0)
    require(
        targets.rows() == n, where,
        "'" + name + "' has " + std::to_string(targets.rows()) + " target rows for " + std::to_string(n) + " examples");
  require(!labels.empty() || targets.rows() > 0, where, "'" + name + "' has neither labels nor targets");
  std::vector<char> seen(static_cast<std::size_t>(n), 0);
  for (const IndexList* part : {&train, &test})
    for (Index i : *part) {
      if (!(i >= 0 && i < n))
        throw_invalid(where,
                      "'" + name + "' split index " + std::to_string(i) + " outside [0, " + std::to_string(n) + ")");
      if (seen[static_cast<std::size_t>(i)])
        throw_invalid(where, "'" + name + "' split index " + std::to_string(i) + " appears twice");
      seen[static_cast<std::size_t>(i)] = 1;
    }
}

GROKSCOPE_INLINE void Dataset::load_split(const std::string& dir) {
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

GROKSCOPE_DEFERRED_DEF Split split_by_fraction(Index n, double fraction, Rng& rng) {
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

GROKSCOPE_DEFERRED_DEF Split fixed_split(Index n, IndexList train, IndexList test) {
  require(!train.empty(), "fixed_split", "empty training set");
  std::vector<char> in_train(static_cast<std::size_t>(std::max<Index>(n, 0)), 0);
  for (Index i : train) {
    if (!(i >= 0 && i < n))
      throw_invalid("fixed_split", "train index " + std::to_string(i) + " outside [0, " + std::to_string(n) + ")");
    if (in_train[static_cast<std::size_t>(i)])
      throw_invalid("fixed_split", "train index " + std::to_string(i) + " appears twice");
    in_train[static_cast<std::size_t>(i)] = 1;
  }
  if (test.empty()) {
    for (Index i = 0; i < n; ++i)
      if (!in_train[static_cast<std::size_t>(i)]) test.push_back(i);
  } else {
    std::vector<char> in_test(static_cast<std::size_t>(n), 0);
    for (Index i : test) {
      if (!(i >= 0 && i < n))
        throw_invalid("fixed_split", "test index " + std::to_string(i) + " outside [0, " + std::to_string(n) + ")");
      if (in_train[static_cast<std::size_t>(i)])
        throw_invalid("fixed_split", "index " + std::to_string(i) + " is in both the train and the test set");
      require(!in_test[static_cast<std::size_t>(i)], "fixed_split",
              "test index " + std::to_string(i) + " appears twice");
      in_test[static_cast<std::size_t>(i)] = 1;
    }
  }
  require(!test.empty(), "fixed_split", "empty test set");
  return Split{std::move(train), std::move(test)};
}

GROKSCOPE_DEFERRED_DEF Dataset subset(const Dataset& ds, const IndexList& rows) {
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
      if (!(rows[i] >= 0 && rows[i] < ds.size()))
        throw_invalid("subset", "row " + std::to_string(rows[i]) + " out of range");
      out.tokens.row(static_cast<Index>(i)) = ds.tokens.row(rows[i]);
    }
  }
  if (ds.features.rows() > 0) out.features = ds.features_of(rows);
  if (!ds.labels.empty()) out.labels = ds.labels_of(rows);
  if (ds.targets.rows() > 0) out.targets = ds.targets_of(rows);
  for (Index i = 0; i < static_cast<Index>(rows.size()); ++i) out.train.push_back(i);
  return out;
}

GROKSCOPE_INLINE IndexList MiniBatcher::next() {
  IndexList out;
  next(out);
  return out;
}

GROKSCOPE_INLINE void MiniBatcher::next(IndexList& out) {
  const std::size_t n = m_order.size(), b = static_cast<std::size_t>(m_batch);
  if (m_pos >= n || (m_drop_last && m_pos + b > n)) start_epoch();
  const std::size_t end = std::min(n, m_pos + b);
  out.assign(m_order.begin() + static_cast<long>(m_pos), m_order.begin() + static_cast<long>(end));
  m_pos = end;
}

GROKSCOPE_INLINE void MiniBatcher::start_epoch() {
  if (m_shuffle) {
    m_order = m_indices;
    m_rng.shuffle(m_order.begin(), m_order.end());
  }
  m_pos = 0;
  ++m_epoch;
}

}  // namespace grokscope
