// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file History: the records of a run (one row per evaluation, named columns), written as CSV
/// and JSON Lines with round-trip number formatting, so the same run gives the same bytes.

#include <grokscope/core/check.hpp>
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
  void add(const Record& r) {
    if (m_columns.empty())
      for (const auto& kv : r) {
        require(std::find(m_columns.begin(), m_columns.end(), kv.first) == m_columns.end(), "History::add",
                "column '" + kv.first + "' appears twice in the record (two probes write the same name?)");
        m_columns.push_back(kv.first);
      }
    require(r.size() == m_columns.size(), "History::add",
            "record has " + std::to_string(r.size()) + " columns, history has " + std::to_string(m_columns.size()));
    std::vector<double> row;
    for (std::size_t i = 0; i < r.size(); ++i) {
      require(r[i].first == m_columns[i], "History::add",
              "column " + std::to_string(i) + " is '" + r[i].first + "', expected '" + m_columns[i] + "'");
      row.push_back(r[i].second);
    }
    m_rows.push_back(std::move(row));
  }

  const std::vector<std::string>& columns() const { return m_columns; }
  std::size_t size() const { return m_rows.size(); }
  bool empty() const { return m_rows.empty(); }

  /// A column by name.
  std::vector<double> column(const std::string& name) const {
    for (std::size_t c = 0; c < m_columns.size(); ++c)
      if (m_columns[c] == name) {
        std::vector<double> v;
        for (const auto& r : m_rows) v.push_back(r[c]);
        return v;
      }
    throw_invalid("History::column", "no column '" + name + "'");
  }

  /// The last value of a column (NaN if there are no records).
  double last(const std::string& name) const {
    const auto v = column(name);
    return v.empty() ? std::nan("") : v.back();
  }

  /// CSV with a header row; numbers in shortest round-trip form, "nan" for missing values.
  std::string to_csv() const {
    std::string s;
    for (std::size_t c = 0; c < m_columns.size(); ++c) s += (c ? "," : "") + csv_field(m_columns[c]);
    s += "\n";
    for (const auto& r : m_rows) {
      for (std::size_t c = 0; c < r.size(); ++c) s += (c ? "," : "") + format_number(r[c]);
      s += "\n";
    }
    return s;
  }

  /// JSON Lines: one object per record (non-finite values as null).
  std::string to_jsonl() const {
    std::string s;
    for (const auto& r : m_rows) {
      s += "{";
      for (std::size_t c = 0; c < r.size(); ++c) {
        s += (c ? ",\"" : "\"") + m_columns[c] + "\":";
        s += std::isfinite(r[c]) ? format_number(r[c]) : "null";
      }
      s += "}\n";
    }
    return s;
  }

  void write_csv(const std::string& path) const { write_text(path, to_csv()); }
  void write_jsonl(const std::string& path) const { write_text(path, to_jsonl()); }

  /// Writes text to a file (std::runtime_error naming the path on failure).
  static void write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("grokscope::History: " + path + ": cannot open file for writing");
    out << text;
    out.flush();
    if (!out) throw std::runtime_error("grokscope::History: " + path + ": write failed");
  }

 private:
  std::vector<std::string> m_columns;
  std::vector<std::vector<double>> m_rows;
};

}  // namespace grokscope
