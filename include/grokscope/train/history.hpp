// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file History: the records of a run (one row per evaluation, named columns), written as CSV
/// and JSON Lines with round-trip number formatting, so the same run gives the same bytes.

#include <grokscope/core/check.hpp>
#include <grokscope/core/config.hpp>
#include <grokscope/io/csv.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace grokscope {

/// One record: (column, value) pairs in column order.
using Record = std::vector<std::pair<std::string, double>>;

/// A table of records with a fixed set of columns (fixed by the first record).
class History {
 public:
  /// Appends a record; its columns must be those of the first record, in the same order.
  void add(const Record& r);

  const std::vector<std::string>& columns() const { return m_columns; }
  std::size_t size() const { return m_rows.size(); }
  bool empty() const { return m_rows.empty(); }

  /// A column by name.
  std::vector<double> column(const std::string& name) const;

  /// The last value of a column (NaN if there are no records).
  double last(const std::string& name) const {
    const auto v = column(name);
    return v.empty() ? std::nan("") : v.back();
  }

  /// CSV with a header row; numbers in shortest round-trip form, "nan" for missing values.
  std::string to_csv() const;

  /// JSON Lines: one object per record (non-finite values as null).
  std::string to_jsonl() const;

  void write_csv(const std::string& path) const { write_text(path, to_csv()); }
  void write_jsonl(const std::string& path) const { write_text(path, to_jsonl()); }

  /// Writes text to a file (std::runtime_error naming the path on failure).
  static void write_text(const std::string& path, const std::string& text);

 private:
  std::vector<std::string> m_columns;
  std::vector<std::vector<double>> m_rows;
};

}  // namespace grokscope

#if GROKSCOPE_HEADER_ONLY
#include <grokscope/train/detail/history-inl.hpp>
#endif
